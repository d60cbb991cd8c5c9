//! Writes a run's plan in one transaction: golden records, history, redirects, xref, change
//! events, kept pairs, review items, the model, and the ledger's final row. Nothing of a run
//! is visible before it commits, and a killed run leaves the previous state untouched.

use super::input::{key_strings, Input};
use super::key_table::KeyTable;
use super::matching::{pair_row, Keys, Matched};
use super::plan::{Change, ChunkData, Plan};
use super::RunStats;
use crate::ServiceError;
use mdm_core::pipeline::ScoredPair;
use mdm_core::rules::matching::Decision;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::decisions::ReviewItemRow;
use mdm_store::golden::{GoldenRecord, NewHistoryEntry, Redirect};
use mdm_store::outbox::NewEvent;
use mdm_store::runs::RunCounts;
use mdm_store::xref::XrefRow;
use mdm_store::{now, DbConnection, StoreError};
use std::time::Instant;

#[allow(clippy::too_many_arguments)]
pub fn write(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    m: &Matched,
    plan: Plan,
    run_id: i64,
    group_part: usize,
    stats: &mut RunStats,
) -> Result<RunCounts, ServiceError> {
    let t0 = Instant::now();
    let domain = rules.domain.as_str();
    let t = now();
    let reviews = review_rows(domain, input, m, &plan, run_id, t);
    let mut counts = RunCounts {
        records: input.records.len() as u64,
        ..Default::default()
    };
    // Sub-phase laps (`write.golden`, ...) show in the run ledger where the write goes.
    let mut lap_start = t0;
    let mut lap = |name: &str, stats: &mut RunStats| {
        let now = Instant::now();
        stats
            .timings
            .push((format!("write.{name}"), (now - lap_start).as_secs_f64()));
        stats.note_memory(&format!("write.{name}"));
        lap_start = now;
    };
    lap("prepare", stats);
    let body_done = conn.write_transaction::<_, ServiceError, _>(|c| {
        super::guard::no_concurrent_run(c, domain, run_id)?;
        // Survived and written a chunk of clusters at a time: at millions of records, all
        // golden records at once would hold several copies of every record's JSON.
        let mut redirects = Vec::new();
        let mut events = 0;
        let mut survive_secs = 0.0;
        let clusters = plan.cluster_count();
        for start in (0..clusters).step_by(CLUSTERS_PER_WRITE) {
            let ts = Instant::now();
            let range = start..(start + CLUSTERS_PER_WRITE).min(clusters);
            let (records, priors) = plan.needs(m, range.clone());
            let data = ChunkData::read(c, rules, input, &records, &priors)?;
            let changes = plan.changes(rules, ctx, input, m, run_id, range, &data, &mut counts);
            drop(data);
            survive_secs += ts.elapsed().as_secs_f64();
            events += write_changes(c, domain, input, m, &changes, run_id, t, &mut redirects)?;
        }
        let data = ChunkData::read(c, rules, input, &[], &plan.retiring())?;
        let retired = plan.retirements(input, &data, &mut counts);
        drop(data);
        events += write_changes(c, domain, input, m, &retired, run_id, t, &mut redirects)?;
        stats.events = events;
        stats.timings.push(("write.survive".into(), survive_secs));
        lap("golden", stats);
        mdm_store::golden::insert_redirects(c, &redirects)?;
        for r in &redirects {
            mdm_store::decisions::move_locks(c, &r.retired_id, &r.survivor_id)?;
        }
        lap("redirects", stats);
        mdm_store::xref::delete_keys(c, domain, &input.vanished())?;
        for start in (0..input.records.len()).step_by(XREF_PER_WRITE) {
            let range = start..(start + XREF_PER_WRITE).min(input.records.len());
            let xref = xref_changes(domain, input, &plan, m, range, run_id, t);
            mdm_store::xref::update(c, &xref.update)?;
            mdm_store::xref::update_versions(c, &xref.reversion)?;
            mdm_store::xref::insert(c, &xref.insert)?;
        }
        mdm_store::xref::clear_realtime(c, domain)?;
        lap("xref", stats);
        write_pairs(c, domain, input, m)?;
        lap("pairs", stats);
        write_keys(c, domain, input, m)?;
        lap("keys", stats);
        if m.subset {
            let mut keys: Vec<(String, String)> =
                input.records.iter().map(|r| key_strings(&r.key)).collect();
            keys.extend(input.vanished());
            if !keys.is_empty() {
                mdm_store::decisions::delete_review_items_touching(c, domain, &keys)?;
                mdm_store::decisions::insert_review_items(c, &reviews)?;
            }
        } else if review_changed(c, domain, &reviews)? {
            mdm_store::decisions::replace_review_items(c, domain, &reviews)?;
        }
        // The ledger keeps the whole backlog after the run (an incremental run rewrites
        // only its part of it).
        counts.review_items = mdm_store::decisions::review_count(c, domain)? as u64;
        lap("reviews", stats);
        // After the rows: on a first run the search values are written once, in key order,
        // which is much cheaper than growing the table record by record.
        mdm_store::search::ensure(c, domain, &search_attributes(rules))?;
        lap("search", stats);
        stats.relationships = super::relationships::resolve(c, rules, run_id, t, group_part)?;
        lap("relationships", stats);
        if let Some(model) = &m.trained {
            let json = serde_json::to_string(model).expect("model serializes");
            mdm_store::matchstate::put_model(c, domain, &m.rules_hash, &json, run_id)?;
        }
        stats
            .timings
            .push(("write".into(), t0.elapsed().as_secs_f64()));
        let json = serde_json::to_value(&*stats).expect("stats serialize");
        mdm_store::runs::finish(c, run_id, "completed", &counts, &json, None)?;
        Ok(Instant::now())
    })?;
    // The ledger row is written before the commit, so only the returned summary has this.
    stats
        .timings
        .push(("commit".into(), body_done.elapsed().as_secs_f64()));
    Ok(counts)
}

/// Attributes downstream systems look golden records up by: identifiers, e-mail, phone.
pub fn search_attributes(rules: &DomainRules) -> Vec<&str> {
    use mdm_core::AttrType as T;
    rules
        .attributes
        .iter()
        .filter(|a| {
            matches!(
                a.ty,
                T::Email | T::Phone | T::Identifier | T::TaxId | T::Gtin | T::Iban | T::Duns
            )
        })
        .map(|a| a.name.as_str())
        .collect()
}

/// Golden rows (whether the record existed before), history, events, redirects.
type GoldenRows = (
    Vec<(bool, GoldenRecord)>,
    Vec<NewHistoryEntry>,
    Vec<NewEvent>,
    Vec<Redirect>,
);

/// Clusters survived and written per step.
const CLUSTERS_PER_WRITE: usize = 20_000;

/// Writes `changes`: their audit entries, golden rows, history and events (redirects are
/// collected, written once every golden row is). Returns the number of events.
#[allow(clippy::too_many_arguments)]
fn write_changes(
    c: &mut DbConnection,
    domain: &str,
    input: &Input,
    m: &Matched,
    changes: &[Change],
    run_id: i64,
    t: chrono::NaiveDateTime,
    redirects: &mut Vec<Redirect>,
) -> Result<u64, ServiceError> {
    let audit = super::audit::automatic_changes(domain, input, m, changes, run_id, t);
    mdm_store::audit::append(c, &audit)?;
    let (records, history, events, r) = golden_rows(domain, changes, run_id, t);
    let (existing, new): (Vec<_>, Vec<_>) = records.into_iter().partition(|(existed, _)| *existed);
    let strip = |v: Vec<(bool, GoldenRecord)>| v.into_iter().map(|(_, r)| r).collect::<Vec<_>>();
    mdm_store::golden::update_records(c, &strip(existing))?;
    mdm_store::golden::put_records(c, &strip(new))?;
    mdm_store::golden::insert_history(c, &history)?;
    mdm_store::outbox::insert(c, &events)?;
    redirects.extend(r);
    Ok(events.len() as u64)
}

fn golden_rows(
    domain: &str,
    changes: &[Change],
    run_id: i64,
    t: chrono::NaiveDateTime,
) -> GoldenRows {
    use rayon::prelude::*;
    // Rows of each change on the thread pool (the event payloads are JSON built from the
    // attributes' JSON): the written rows keep the changes' order.
    let rows: Vec<_> = changes
        .par_iter()
        .map(|ch| change_rows(domain, ch, run_id, t))
        .collect();
    let mut out: GoldenRows = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
        Vec::new(),
        Vec::new(),
    );
    for (record, history, event, redirect) in rows {
        out.0.push(record);
        out.1.push(history);
        out.2.extend(event);
        out.3.extend(redirect);
    }
    out
}

/// One change's golden row, history entry, event and redirect.
fn change_rows(
    domain: &str,
    ch: &Change,
    run_id: i64,
    t: chrono::NaiveDateTime,
) -> (
    (bool, GoldenRecord),
    NewHistoryEntry,
    Option<NewEvent>,
    Option<Redirect>,
) {
    let record = (
        ch.created_at.is_some(),
        GoldenRecord {
            golden_id: ch.golden_id.clone(),
            domain: domain.to_string(),
            version: ch.version,
            status: ch.status.to_string(),
            attributes: ch.attributes.clone(),
            lineage: ch.lineage.clone(),
            members: ch.members,
            run_id,
            created_run_id: ch.created_run_id,
            created_at: ch.created_at.unwrap_or(t),
            updated_at: t,
        },
    );
    let detail = ch.detail.as_ref().map(|d| d.to_string());
    let history = NewHistoryEntry {
        domain: domain.to_string(),
        golden_id: ch.golden_id.clone(),
        version: ch.version,
        reason: ch.reason.to_string(),
        status: ch.status.to_string(),
        attributes: ch.attributes.clone(),
        lineage: ch.lineage.clone(),
        detail,
        run_id,
        valid_from: t,
    };
    let redirect = ch.merged_into.as_ref().map(|s| Redirect {
        retired_id: ch.golden_id.clone(),
        domain: domain.to_string(),
        survivor_id: s.clone(),
        run_id,
        created_at: t,
    });
    let event = ch.event.then(|| {
        let attributes: serde_json::Value =
            serde_json::from_str(&ch.attributes).unwrap_or(serde_json::Value::Null);
        let payload = serde_json::json!({
            "domain": domain,
            "golden_id": ch.golden_id,
            "version": ch.version,
            "status": ch.status,
            "reason": ch.reason,
            "members": ch.members,
            "attributes": attributes,
            "detail": ch.detail,
        });
        NewEvent {
            domain: domain.to_string(),
            golden_id: ch.golden_id.clone(),
            kind: ch.reason.to_string(),
            retired_ids: (!ch.retired_ids.is_empty())
                .then(|| serde_json::to_string(&ch.retired_ids).expect("ids serialize")),
            run_id: Some(run_id),
            payload: payload.to_string(),
            created_at: t,
        }
    });
    (record, history, event, redirect)
}

/// xref rows to rewrite in place (new golden ID; or only a new staging version) and to
/// insert (records the xref does not know yet); the rows of vanished records are deleted.
struct XrefChanges {
    update: Vec<XrefRow>,
    reversion: Vec<XrefRow>,
    insert: Vec<XrefRow>,
}

/// Records per xref write step.
const XREF_PER_WRITE: usize = 100_000;

/// The xref changes of the records in `range`.
fn xref_changes(
    domain: &str,
    input: &Input,
    plan: &Plan,
    m: &Matched,
    range: std::ops::Range<usize>,
    run_id: i64,
    t: chrono::NaiveDateTime,
) -> XrefChanges {
    let mut out = XrefChanges {
        update: Vec::new(),
        reversion: Vec::new(),
        insert: Vec::new(),
    };
    for i in range {
        let (r, old) = (&input.records[i], input.seen.get(i));
        let gid = plan.ids[m.cluster_of[i] as usize];
        if old.is_some_and(|x| x.golden_id == gid && x.staging_id == r.staging_id) {
            continue;
        }
        let key = key_strings(&r.key);
        let row = XrefRow {
            domain: domain.to_string(),
            system: key.0,
            source_id: key.1,
            golden_id: gid.to_string(),
            staging_id: r.staging_id,
            run_id,
            updated_at: t,
        };
        match old {
            Some(x) if x.golden_id == gid => out.reversion.push(row),
            Some(_) => out.update.push(row),
            None => out.insert.push(row),
        }
    }
    out
}

/// Blocking keys: all of them after a run that trained the model; else only the keys of
/// changed and vanished records that differ from the stored ones.
fn write_keys(
    conn: &mut DbConnection,
    domain: &str,
    input: &Input,
    m: &Matched,
) -> Result<(), ServiceError> {
    use mdm_store::matchstate::KeyRow;
    use std::collections::HashMap;
    if let (Some(_), Keys::All(rule_keys)) = (&m.trained, &m.keys) {
        return replace_all_keys(conn, domain, input, rule_keys);
    }
    if m.trained.is_some() {
        let rows = m.keys.rows(domain, input, |_| true)?;
        return Ok(mdm_store::matchstate::replace_keys(conn, domain, &rows)?);
    }
    // With an unchanged model, a record's keys change only when the record does.
    let slot = |k: &KeyRow| (k.system.clone(), k.source_id.clone(), k.rule);
    let changed = m.keys.rows(domain, input, |i| m.dirty[i])?;
    let new: HashMap<(String, String, i32), &KeyRow> =
        changed.iter().map(|k| (slot(k), k)).collect();
    let stored: HashMap<(String, String, i32), &KeyRow> =
        m.previous_keys.iter().map(|k| (slot(k), k)).collect();
    // A key that stays as it is needs no write at all; one that moved is deleted and
    // inserted.
    let same = |a: Option<&&KeyRow>, b: &KeyRow| a.is_some_and(|a| a.key_hash == b.key_hash);
    let fresh: Vec<KeyRow> = new
        .iter()
        .filter(|(s, n)| !same(stored.get(*s), n))
        .map(|(_, n)| (*n).clone())
        .collect();
    let stale: Vec<KeyRow> = stored
        .iter()
        .filter(|(s, k)| !same(new.get(*s), k))
        .map(|(_, k)| (*k).clone())
        .collect();
    mdm_store::matchstate::delete_keys(conn, &stale)?;
    Ok(mdm_store::matchstate::insert_keys(conn, &fresh)?)
}

/// Every record's blocking keys, replacing the domain's, in the key table's order (rule,
/// key, record) and a slice of rows at a time: at a million records they are millions of
/// rows, which all at once were the run's peak of memory.
fn replace_all_keys(
    conn: &mut DbConnection,
    domain: &str,
    input: &Input,
    rule_keys: &KeyTable,
) -> Result<(), ServiceError> {
    use rayon::prelude::*;
    mdm_store::matchstate::replace_keys(conn, domain, &[])?;
    // Table order (rule, key, record), one rule's keys sorted at a time.
    for rule in 0..rule_keys.rules() {
        let mut order: Vec<(u64, u32)> = rule_keys
            .rule(rule)?
            .into_iter()
            .enumerate()
            .filter_map(|(i, k)| k.map(|k| (k, i as u32)))
            .collect();
        order.par_sort_unstable_by_key(|&(k, i)| (k as i64, i));
        for part in order.chunks(KEYS_PER_WRITE) {
            let rows: Vec<mdm_store::matchstate::KeyRow> = part
                .iter()
                .map(|&(key_hash, i)| {
                    let r = &input.records[i as usize];
                    mdm_store::matchstate::KeyRow {
                        domain: domain.to_string(),
                        system: r.key.system.to_string(),
                        source_id: r.key.source_id.to_string(),
                        rule: rule as i32,
                        key_hash: key_hash as i64,
                    }
                })
                .collect();
            mdm_store::matchstate::insert_keys(conn, &rows)?;
        }
    }
    Ok(())
}

/// Blocking-key rows per insert step.
const KEYS_PER_WRITE: usize = 200_000;

fn write_pairs(
    conn: &mut DbConnection,
    domain: &str,
    input: &Input,
    m: &Matched,
) -> Result<(), StoreError> {
    use mdm_store::matchstate as ms;
    // Rows a slice of pairs at a time: a first run at millions of records keeps millions.
    let insert = |conn: &mut DbConnection, pairs: &[&ScoredPair]| -> Result<(), StoreError> {
        for part in pairs.chunks(PAIRS_PER_WRITE) {
            let rows: Vec<_> = part.iter().map(|p| pair_row(domain, input, p)).collect();
            ms::insert_pairs(conn, &rows)?;
        }
        Ok(())
    };
    if m.trained.is_some() {
        ms::replace_pairs(conn, domain, &[])?;
        return insert(conn, &m.kept.iter().collect::<Vec<_>>());
    }
    // With an unchanged model, pairs of unchanged records keep their scores (the invariant
    // the incremental run rests on): only pairs touching changed records are new. The pairs
    // of the versions they replace are garbage, swept many versions at a time.
    let mut stale = input.seen_versions_of_changed(&m.dirty);
    if !input.realtime_seen.is_empty() {
        // A version seen before can still be current (real-time matching rewrote its xref
        // row only): its pairs are this run's too.
        let current: std::collections::HashSet<i64> =
            input.records.iter().map(|r| r.staging_id).collect();
        stale.retain(|v| !current.contains(v));
    }
    ms::mark_stale_versions(conn, domain, &stale)?;
    if m.subset {
        if sweep_due(conn, domain)? {
            ms::sweep_stale_pairs(conn, domain)?;
        }
        return ms::insert_pairs(conn, &m.fresh_rows);
    }
    ms::sweep_stale_pairs(conn, domain)?;
    let touching: Vec<&ScoredPair> = m
        .kept
        .iter()
        .filter(|p| m.dirty[p.a as usize] || m.dirty[p.b as usize])
        .collect();
    insert(conn, &touching)
}

/// Kept pairs per insert step.
const PAIRS_PER_WRITE: usize = 100_000;

/// Whether stale versions have reached a twentieth of the domain's records: nightly runs
/// changing 1% of them sweep every fifth run, and the garbage stays a few percent of the
/// pairs.
fn sweep_due(conn: &mut DbConnection, domain: &str) -> Result<bool, StoreError> {
    let stale = mdm_store::matchstate::stale_version_count(conn, domain)?;
    let limit = stale.saturating_mul(20);
    Ok(stale > 0 && mdm_store::xref::count_up_to(conn, domain, limit.saturating_add(1))? <= limit)
}

/// Review-band pairs whose records ended in different golden records.
fn review_rows(
    domain: &str,
    input: &Input,
    m: &Matched,
    plan: &Plan,
    run_id: i64,
    t: chrono::NaiveDateTime,
) -> Vec<ReviewItemRow> {
    let decided = decided_pairs(input);
    let mut rows: Vec<ReviewItemRow> = m
        .kept
        .iter()
        .filter(|p| p.decision == Decision::Review)
        .filter(|p| m.cluster_of[p.a as usize] != m.cluster_of[p.b as usize])
        .filter(|p| {
            let (a, b) = (
                &input.records[p.a as usize].key,
                &input.records[p.b as usize].key,
            );
            !decided.contains(&ordered(key_strings(a), key_strings(b)))
        })
        .map(|p| {
            let (a_system, a_source_id) = key_strings(&input.records[p.a as usize].key);
            let (b_system, b_source_id) = key_strings(&input.records[p.b as usize].key);
            ReviewItemRow {
                domain: domain.to_string(),
                run_id,
                a_system,
                a_source_id,
                b_system,
                b_source_id,
                a_golden_id: plan.ids[m.cluster_of[p.a as usize] as usize].to_string(),
                b_golden_id: plan.ids[m.cluster_of[p.b as usize] as usize].to_string(),
                probability: p.probability,
                weight: p.weight,
                created_at: t,
            }
        })
        .collect();
    for b in &m.boundary {
        let inside = key_strings(&input.records[b.inside as usize].key);
        let inside_golden = plan.ids[m.cluster_of[b.inside as usize] as usize].to_string();
        if inside_golden == b.outside_golden
            || decided.contains(&ordered(inside.clone(), b.outside.clone()))
        {
            continue;
        }
        let (a, b_key, ag, bg) = if b.inside_is_a {
            (
                inside,
                b.outside.clone(),
                inside_golden,
                b.outside_golden.clone(),
            )
        } else {
            (
                b.outside.clone(),
                inside,
                b.outside_golden.clone(),
                inside_golden,
            )
        };
        rows.push(ReviewItemRow {
            domain: domain.to_string(),
            run_id,
            a_system: a.0,
            a_source_id: a.1,
            b_system: b_key.0,
            b_source_id: b_key.1,
            a_golden_id: ag,
            b_golden_id: bg,
            probability: b.probability,
            weight: b.weight,
            created_at: t,
        });
    }
    rows.sort_by(|x, y| review_key(x).cmp(&review_key(y)));
    rows
}

type Key = (String, String);

/// Pairs a steward decided (either way): they leave the review queue.
fn decided_pairs(input: &Input) -> std::collections::HashSet<(Key, Key)> {
    input
        .decisions
        .iter()
        .map(|d| {
            ordered(
                (d.a_system.clone(), d.a_source_id.clone()),
                (d.b_system.clone(), d.b_source_id.clone()),
            )
        })
        .collect()
}

fn ordered(a: Key, b: Key) -> (Key, Key) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

type ReviewKey<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a str, u64);

fn review_key(r: &ReviewItemRow) -> ReviewKey<'_> {
    (
        &r.a_system,
        &r.a_source_id,
        &r.b_system,
        &r.b_source_id,
        &r.a_golden_id,
        &r.b_golden_id,
        r.probability.to_bits(),
    )
}

/// Whether the review backlog differs from the stored one (so an idle run writes nothing).
fn review_changed(
    conn: &mut DbConnection,
    domain: &str,
    rows: &[ReviewItemRow],
) -> Result<bool, StoreError> {
    let mut old = mdm_store::decisions::review_items(conn, domain, i64::MAX)?;
    if old.len() != rows.len() {
        return Ok(true);
    }
    old.sort_by(|x, y| review_key(x).cmp(&review_key(y)));
    Ok(old
        .iter()
        .zip(rows)
        .any(|(a, b)| review_key(a) != review_key(b)))
}
