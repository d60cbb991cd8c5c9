//! The incremental run: reads and re-matches only what a change can affect.
//!
//! 1. Changed records: current staged versions the last run did not see (new, or a new
//!    version), and xref rows whose record is gone, found among the records that the load
//!    batches since the last run's read touched (`staged_read`), not by comparing all of
//!    staging with the xref. Seeds also include records named by steward decisions and
//!    golden records with locks made since the last run.
//! 2. Their blocks: the changed records' blocking keys (with the frozen model) find, through
//!    `match_keys`, every record sharing a block with them; pairs touching a changed record
//!    are scored. Whole blocks are read, so block caps select the same records as a full run.
//! 3. The closure: starting from the seeds and their new partners, add every record linked by
//!    a kept pair (`match_pairs`), by a previous golden record (xref) or by a decision, until
//!    nothing new comes in. Clustering, IDs and survivorship depend only on what is inside
//!    such a closed set, so running them on it gives what a full run gives.
//!
//! Steps 2 and 3 overlap: once the blocks are read, they are scored on a scoped thread
//! while the closure of the seeds is read on the run's connection, and the auto-match
//! partners that scoring finds grow the closure after.

use super::input::{key_strings, Common, Input};
use super::matching::{carried_pairs, finish, key_rows, Boundary, Keys, Matched};
use super::RunStats;
use crate::ServiceError;
use mdm_core::pipeline::features::RawTable;
use mdm_core::pipeline::{Prepared, ScoredPair};
use mdm_core::rematch::{self, Model};
use mdm_core::rules::matching::Decision;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::matchstate::{CurrentRecord, PairRow, StagedRead};
use mdm_store::xref::XrefRow;
use mdm_store::DbConnection;
use std::collections::{BTreeSet, HashMap, HashSet};

type Key = (String, String);

#[allow(clippy::too_many_arguments)]
pub fn prepare(
    conn: &mut DbConnection,
    reader: Option<&mut DbConnection>,
    rules: &DomainRules,
    ctx: &StdContext,
    model: super::matching::PendingModel,
    since: Option<chrono::NaiveDateTime>,
    batches: Option<&[i64]>,
    stats: &mut RunStats,
) -> Result<(Input, Matched), ServiceError> {
    let domain = rules.domain.as_str();
    let mut t = std::time::Instant::now();
    let mut lap = |name: &str, stats: &mut RunStats| {
        let now = std::time::Instant::now();
        let secs = (now - t).as_secs_f64();
        t = now;
        stats.timings.push((format!("match.{name}"), secs));
    };
    let (changed, vanished) = changes(conn, domain, batches)?;
    lap("changes", stats);
    stats.dirty_records = changed.len() as u64;
    stats.vanished_records = vanished.len() as u64;
    let common = Common::load(conn, domain)?;
    let mut seeds: Vec<Key> = changed
        .iter()
        .map(|r| (r.system.clone(), r.source_id.clone()))
        .chain(
            vanished
                .iter()
                .map(|x| (x.system.clone(), x.source_id.clone())),
        )
        .collect();
    if let Some(t) = since {
        for d in mdm_store::decisions::decisions_changed_since(conn, domain, t)? {
            seeds.push((d.a_system, d.a_source_id));
            seeds.push((d.b_system, d.b_source_id));
        }
        let locked = mdm_store::decisions::lock_changes_since(conn, domain, t)?;
        let ids: Vec<&str> = locked.iter().map(String::as_str).collect();
        seeds.extend(
            mdm_store::xref::by_golden_ids(conn, &ids)?
                .into_iter()
                .map(|x| (x.system, x.source_id)),
        );
    }
    let model = &model.wait()?;
    lap("model", stats);
    let block = read_blocks(conn, reader, rules, ctx, model, &changed, stats)?;
    stats.block_records = block.records.len() as u64;
    lap("blocks", stats);
    // The blocks are scored (CPU) while the closure of the seeds is read (database).
    let mut grower = Grower::new(&block);
    let (scored, grown) = std::thread::scope(|s| {
        let scoring = s.spawn(|| score_block(rules, ctx, model, &block));
        let grown = grower.grow(conn, domain, seeds, &common);
        let scored = scoring
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (scored, grown)
    });
    let scored = scored?;
    grown?;
    lap("closure.overlap", stats);
    stats.candidate_pairs = scored.candidate_pairs;
    stats.pairs_scored = scored.candidate_pairs;
    let (fresh, new_keys, fresh_rows) = (scored.fresh, scored.keys, scored.rows);
    grower.grow(conn, domain, scored.neighbours, &common)?;
    let closure = grower.finish(stats);
    let mut xref = closure.xref;
    xref.extend(vanished);
    let gids: Vec<&str> = closure.golden_ids.iter().map(String::as_str).collect();
    let goldens: Vec<_> = mdm_store::golden::by_ids(conn, &gids)?
        .into_iter()
        .filter(|g| g.status == "active")
        .collect();
    lap("closure", stats);
    let input = Input::build(rules, closure.records, xref, goldens, common)?;
    let dirty = input.dirty();
    let mut stored = closure.pairs;
    stored.sort_by_key(|p| (p.a_staging_id, p.b_staging_id));
    stored.dedup_by_key(|p| (p.a_staging_id, p.b_staging_id));
    let boundary = boundary(conn, domain, &input, &stored, &fresh)?;
    let mut kept = carried_pairs(&input, &dirty, stored);
    let fresh = remap(&input, fresh);
    kept.extend_from_slice(&fresh);
    lap("input", stats);
    let previous = super::matching::previous_keys(conn, rules, ctx, model, &input, &dirty)?;
    lap("previous_keys", stats);
    let mut matched = finish(rules, &input, kept, dirty, None, Keys::Rows(new_keys), true);
    lap("cluster", stats);
    matched.previous_keys = previous;
    matched.fresh_rows = fresh_rows;
    matched.boundary = boundary;
    Ok((input, matched))
}

/// What this run reads of staging, and the load batches of `domain` in which changes since
/// the previous completed run (`prev_run`) can be: those after its read or open at it.
/// `None` when that run recorded no read (it predates the record).
pub fn staged_read(
    conn: &mut DbConnection,
    domain: &str,
    prev_run: Option<i64>,
) -> Result<(StagedRead, Option<Vec<i64>>), ServiceError> {
    let prev = match prev_run {
        Some(id) => mdm_store::matchstate::staged_read(conn, id)?,
        None => None,
    };
    let (after, also) = prev
        .as_ref()
        .map_or((0, &[][..]), |p| (p.through, p.open.as_slice()));
    let states = mdm_store::batches::states_since(conn, after, also)?;
    let through = states
        .iter()
        .map(|b| b.id)
        .max()
        .unwrap_or(after)
        .max(after);
    let status: HashMap<i64, &str> = states.iter().map(|b| (b.id, b.status.as_str())).collect();
    // A batch still running may add rows, and an id without a visible row (PostgreSQL hands
    // out ids before their inserts commit) may still get some: both stay open.
    let open = also
        .iter()
        .copied()
        .chain(after + 1..=through)
        .filter(|id| status.get(id).is_none_or(|s| *s == "running"))
        .collect();
    let mine = states
        .iter()
        .filter(|b| b.domain == domain)
        .map(|b| b.id)
        .collect();
    Ok((StagedRead { through, open }, prev.map(|_| mine)))
}

/// Records changed since the last run: current versions it did not see (new, a new version,
/// or given a golden ID by real-time matching), and xref rows whose record is gone. With
/// `batches`, only records those load batches touched are read; else all (an anti-join).
fn changes(
    conn: &mut DbConnection,
    domain: &str,
    batches: Option<&[i64]>,
) -> Result<(Vec<CurrentRecord>, Vec<XrefRow>), ServiceError> {
    let Some(batches) = batches else {
        return Ok((
            mdm_store::matchstate::unseen_records(conn, domain)?,
            mdm_store::matchstate::vanished_xref(conn, domain)?,
        ));
    };
    let touched = mdm_store::matchstate::touched_by_batches(conn, batches)?;
    let (mut current, deleted) = (touched.loaded, touched.deleted);
    let loaded: HashSet<Key> = current
        .iter()
        .map(|r| (r.system.clone(), r.source_id.clone()))
        .collect();
    let others: Vec<Key> = deleted
        .into_iter()
        .chain(
            mdm_store::matchstate::unstaged_xref(conn, domain)?
                .into_iter()
                .map(|x| (x.system, x.source_id)),
        )
        .filter(|k| !loaded.contains(k))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    current.extend(mdm_store::matchstate::current_by_keys(
        conn, domain, &others,
    )?);
    let mut keys: Vec<Key> = loaded.into_iter().collect();
    keys.extend(others);
    let mut xref: HashMap<Key, XrefRow> = mdm_store::xref::by_keys(conn, domain, &keys)?
        .into_iter()
        .map(|x| ((x.system.clone(), x.source_id.clone()), x))
        .collect();
    let changed: Vec<CurrentRecord> = current
        .into_iter()
        .filter(|r| {
            // Removed from `xref` as seen, so what remains has no current record.
            let seen = xref.remove(&(r.system.clone(), r.source_id.clone()));
            seen.is_none_or(|x| x.staging_id != r.id)
        })
        .collect();
    let mut vanished: Vec<XrefRow> = xref.into_values().collect();
    vanished.sort_by(|a, b| (&a.system, &a.source_id).cmp(&(&b.system, &b.source_id)));
    Ok((changed, vanished))
}

/// Fresh pairs, by record key, of changed records with the records they share a block with.
struct KeyedPair {
    a: Key,
    b: Key,
    pair: ScoredPair,
}

/// The changed records and every current record sharing a block with one, sorted by key.
#[derive(Default)]
struct Block {
    records: Vec<CurrentRecord>,
    changed: HashSet<i64>,
}

/// Reads the blocks of the changed records: their keys (with the frozen model) name, through
/// `match_keys`, the records that share a block with them. With a `reader`, each read is
/// split between it and `conn`.
fn read_blocks(
    conn: &mut DbConnection,
    mut reader: Option<&mut DbConnection>,
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    changed: &[CurrentRecord],
    stats: &mut RunStats,
) -> Result<Block, ServiceError> {
    if changed.is_empty() {
        return Ok(Block::default());
    }
    let domain = rules.domain.as_str();
    let t = std::time::Instant::now();
    let own = prepare_subset(rules, ctx, model, changed.to_vec())?;
    let own_cands = own.1.candidates()?;
    // (rule, key), sorted: each half of it is a few lookups per rule.
    let mut lookups: Vec<(i32, i64)> = own_cands
        .rule_keys
        .iter()
        .enumerate()
        .flat_map(|(rule, keys)| keys.iter().flatten().map(move |k| (rule as i32, *k as i64)))
        .collect();
    lookups.sort_unstable();
    lookups.dedup();
    let found = read_split(conn, reader.as_deref_mut(), &lookups, |c, part| {
        let mut out = Vec::new();
        for run in part.chunk_by(|a, b| a.0 == b.0) {
            let keys: Vec<i64> = run.iter().map(|(_, k)| *k).collect();
            out.extend(mdm_store::matchstate::records_with_keys(
                c, domain, run[0].0, &keys,
            )?);
        }
        Ok(out)
    })?;
    let mut neighbours: BTreeSet<Key> = found.into_iter().collect();
    stats
        .timings
        .push(("match.blocks.keys".into(), t.elapsed().as_secs_f64()));
    for r in changed {
        neighbours.remove(&(r.system.clone(), r.source_id.clone()));
    }
    let others: Vec<Key> = neighbours.into_iter().collect();
    let mut records = changed.to_vec();
    // Keys of a previous run may name records deleted since: only current ones count.
    records.extend(read_split(conn, reader, &others, |c, part| {
        mdm_store::matchstate::current_by_keys(c, domain, part)
    })?);
    records.sort_by(|a, b| (&a.system, &a.source_id).cmp(&(&b.system, &b.source_id)));
    Ok(Block {
        records,
        changed: changed.iter().map(|r| r.id).collect(),
    })
}

/// `read` of `items` on `conn`; with a `reader`, the second half is read on it on a thread
/// of its own at the same time.
fn read_split<T: Sync, R: Send>(
    conn: &mut DbConnection,
    reader: Option<&mut DbConnection>,
    items: &[T],
    read: impl Fn(&mut DbConnection, &[T]) -> Result<Vec<R>, mdm_store::StoreError> + Sync,
) -> Result<Vec<R>, ServiceError> {
    let Some(reader) = reader.filter(|_| items.len() > 1) else {
        return Ok(read(conn, items)?);
    };
    let (first, second) = items.split_at(items.len() / 2);
    let (a, b) = std::thread::scope(|s| {
        let other = s.spawn(|| read(reader, second));
        let a = read(conn, first);
        let b = other
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    });
    let mut out = a?;
    out.extend(b?);
    Ok(out)
}

/// What scoring the changed records against their blocks gives.
#[derive(Default)]
struct Scored {
    /// Kept pairs (review or better) touching a changed record.
    fresh: Vec<KeyedPair>,
    /// Records an auto-match links to a changed record.
    neighbours: Vec<Key>,
    /// The changed records' blocking-key rows.
    keys: Vec<mdm_store::matchstate::KeyRow>,
    /// `fresh` as stored rows.
    rows: Vec<PairRow>,
    candidate_pairs: u64,
}

/// Scores the pairs of a block that touch a changed record. CPU only: it runs while the
/// closure is read from the database.
fn score_block(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    block: &Block,
) -> Result<Scored, ServiceError> {
    if block.records.is_empty() {
        return Ok(Scored::default());
    }
    let domain = rules.domain.as_str();
    // `block.records` is sorted by key already.
    let records = &block.records;
    let prepared = prepare_sorted(rules, ctx, model, records)?;
    let cands = prepared.candidates()?;
    let is_changed: Vec<bool> = records
        .iter()
        .map(|r| block.changed.contains(&r.id))
        .collect();
    let pairs: Vec<(u32, u32)> = cands
        .pairs
        .iter()
        .copied()
        .filter(|&(a, b)| is_changed[a as usize] || is_changed[b as usize])
        .collect();
    let scored = rematch::score_pairs(&prepared, &model.params, &pairs);
    let key = |i: u32| {
        let r = &records[i as usize];
        (r.system.clone(), r.source_id.clone())
    };
    let neighbours = scored
        .iter()
        .filter(|p| p.decision == Decision::Match)
        .flat_map(|p| [key(p.a), key(p.b)])
        .collect();
    let rows = scored
        .iter()
        .map(|p| PairRow {
            a_staging_id: records[p.a as usize].id,
            b_staging_id: records[p.b as usize].id,
            domain: domain.to_string(),
            weight: p.weight,
            probability: p.probability,
            decision: p.decision.name().to_string(),
            overridden: p.override_idx.is_some(),
        })
        .collect();
    let fresh = scored
        .into_iter()
        .map(|p| KeyedPair {
            a: key(p.a),
            b: key(p.b),
            pair: p,
        })
        .collect();
    let record_keys: Vec<Key> = records
        .iter()
        .map(|r| (r.system.clone(), r.source_id.clone()))
        .collect();
    let keys = key_rows(domain, &cands.rule_keys, &record_keys, |i| is_changed[i]);
    Ok(Scored {
        fresh,
        neighbours,
        keys,
        rows,
        candidate_pairs: pairs.len() as u64,
    })
}

/// Records sorted by key, and their features with the model applied.
pub(super) fn prepare_subset<'r>(
    rules: &'r DomainRules,
    ctx: &StdContext,
    model: &Model,
    mut records: Vec<CurrentRecord>,
) -> Result<(Vec<CurrentRecord>, Prepared<'r>), ServiceError> {
    records.sort_by(|a, b| (&a.system, &a.source_id).cmp(&(&b.system, &b.source_id)));
    let prepared = prepare_sorted(rules, ctx, model, &records)?;
    Ok((records, prepared))
}

/// Features, with the model applied, of records sorted by key.
fn prepare_sorted<'r>(
    rules: &'r DomainRules,
    ctx: &StdContext,
    model: &Model,
    records: &[CurrentRecord],
) -> Result<Prepared<'r>, ServiceError> {
    let parsed = super::input::parse_all(rules, records)?;
    let mut raw = RawTable::new(rules);
    for r in &parsed {
        raw.push(r.key.clone(), |i| r.values[i].as_deref());
    }
    let mut prepared = Prepared::new(rules, ctx, raw)?;
    model.apply(rules, &mut prepared.features);
    Ok(prepared)
}

/// A closed set of records.
#[derive(Default)]
struct Closure {
    records: Vec<CurrentRecord>,
    xref: Vec<XrefRow>,
    golden_ids: BTreeSet<String>,
    pairs: Vec<PairRow>,
}

/// Grows a set of records until no kept pair, previous golden record or decision links it to
/// a record outside. Growing from more seeds later gives the same set as growing from all of
/// them at once, so the closure of the changed records can be read while their blocks are
/// scored, and grown by the new partners after.
struct Grower<'b> {
    out: Closure,
    seen: HashSet<Key>,
    by_version: HashMap<i64, Key>,
    /// Current records already read (the blocks'): not read again.
    known: HashMap<Key, &'b CurrentRecord>,
    /// Versions no run has scored yet (the changed records'): no stored pair names them.
    unscored: &'b HashSet<i64>,
    /// Partners of auto-matches, read by version.
    partners: HashMap<Key, CurrentRecord>,
    /// xref rows of members, read with their golden record.
    xref_known: HashMap<Key, XrefRow>,
    /// Seconds spent reading records, xref rows, golden records' members, pairs.
    spent: [f64; 4],
}

impl<'b> Grower<'b> {
    fn new(block: &'b Block) -> Self {
        Grower {
            out: Closure::default(),
            seen: HashSet::new(),
            by_version: HashMap::new(),
            unscored: &block.changed,
            known: block
                .records
                .iter()
                .map(|r| ((r.system.clone(), r.source_id.clone()), r))
                .collect(),
            partners: HashMap::new(),
            xref_known: HashMap::new(),
            spent: [0.0; 4],
        }
    }

    fn grow(
        &mut self,
        conn: &mut DbConnection,
        domain: &str,
        seeds: Vec<Key>,
        common: &Common,
    ) -> Result<(), ServiceError> {
        let mut frontier: Vec<Key> = seeds
            .into_iter()
            .filter(|k| self.seen.insert(k.clone()))
            .collect();
        while !frontier.is_empty() {
            frontier = self.step(conn, domain, &frontier, common)?;
        }
        Ok(())
    }

    /// Reads what links to `frontier`; returns the records not seen before.
    fn step(
        &mut self,
        conn: &mut DbConnection,
        domain: &str,
        frontier: &[Key],
        common: &Common,
    ) -> Result<Vec<Key>, ServiceError> {
        let mut next: Vec<Key> = Vec::new();
        let mut recs = Vec::with_capacity(frontier.len());
        let mut unread = Vec::new();
        for k in frontier {
            match (self.partners.remove(k), self.known.get(k)) {
                (Some(r), _) => recs.push(r),
                (None, Some(r)) => recs.push((*r).clone()),
                (None, None) => unread.push(k.clone()),
            }
        }
        let t = std::time::Instant::now();
        recs.extend(mdm_store::matchstate::current_by_keys(
            conn, domain, &unread,
        )?);
        self.spent[0] += t.elapsed().as_secs_f64();
        let versions: Vec<i64> = recs
            .iter()
            .map(|r| r.id)
            .filter(|v| !self.unscored.contains(v))
            .collect();
        for r in &recs {
            self.by_version
                .insert(r.id, (r.system.clone(), r.source_id.clone()));
        }
        self.out.records.extend(recs);
        // Previous golden records of the frontier, and all their members.
        let mut xr = Vec::with_capacity(frontier.len());
        let mut unread = Vec::new();
        for k in frontier {
            match self.xref_known.remove(k) {
                Some(x) => xr.push(x),
                None => unread.push(k.clone()),
            }
        }
        let t = std::time::Instant::now();
        xr.extend(mdm_store::xref::by_keys(conn, domain, &unread)?);
        self.spent[1] += t.elapsed().as_secs_f64();
        let new_gids: Vec<String> = xr
            .iter()
            .map(|x| x.golden_id.clone())
            .filter(|g| self.out.golden_ids.insert(g.clone()))
            .collect();
        self.out.xref.extend(xr);
        let gids: Vec<&str> = new_gids.iter().map(String::as_str).collect();
        let t = std::time::Instant::now();
        let members = mdm_store::xref::by_golden_ids(conn, &gids)?;
        self.spent[2] += t.elapsed().as_secs_f64();
        for x in members {
            let k = (x.system.clone(), x.source_id.clone());
            if self.seen.insert(k.clone()) {
                next.push(k.clone());
                self.xref_known.insert(k, x);
            }
        }
        // Kept pairs of the frontier's current versions. Only auto-matches can put two
        // records in one cluster, so only they extend the set; review pairs and
        // non-matches matter only between records already inside (or at its boundary).
        let t = std::time::Instant::now();
        let pairs = mdm_store::matchstate::pairs_touching(conn, &versions)?;
        let unknown: Vec<i64> = pairs
            .iter()
            .filter(|p| p.decision == "match")
            .flat_map(|p| [p.a_staging_id, p.b_staging_id])
            .filter(|v| !self.by_version.contains_key(v))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let partners = mdm_store::matchstate::current_versions_by_id(conn, &unknown)?;
        self.spent[3] += t.elapsed().as_secs_f64();
        for r in partners {
            let k = (r.system.clone(), r.source_id.clone());
            self.by_version.insert(r.id, k.clone());
            if self.seen.insert(k.clone()) {
                next.push(k.clone());
                self.partners.insert(k, r);
            }
        }
        self.out.pairs.extend(pairs);
        // Steward decisions.
        let in_frontier: HashSet<&Key> = frontier.iter().collect();
        for d in &common.decisions {
            let a = (d.a_system.clone(), d.a_source_id.clone());
            let b = (d.b_system.clone(), d.b_source_id.clone());
            if in_frontier.contains(&a) && self.seen.insert(b.clone()) {
                next.push(b.clone());
            }
            if in_frontier.contains(&b) && self.seen.insert(a.clone()) {
                next.push(a);
            }
        }
        Ok(next)
    }

    /// The closed set. Pairs loaded by a version that later turned out not current are
    /// dropped by `carried_pairs` (their version is not among the records).
    fn finish(self, stats: &mut RunStats) -> Closure {
        for (name, secs) in ["records", "xref", "members", "pairs"]
            .iter()
            .zip(self.spent)
        {
            stats.timings.push((format!("match.closure.{name}"), secs));
        }
        self.out
    }
}

/// Fresh pairs from subset indices to the closure's record indices.
fn remap(input: &Input, fresh: Vec<KeyedPair>) -> Vec<ScoredPair> {
    fresh
        .into_iter()
        .filter_map(|k| {
            let a = input.position(&k.a.0, &k.a.1)?;
            let b = input.position(&k.b.0, &k.b.1)?;
            Some(ScoredPair {
                a: a.min(b),
                b: a.max(b),
                ..k.pair
            })
        })
        .collect()
}

/// Review pairs between a record of the set and one outside it (stored, or fresh), with the
/// outside record's current golden ID.
fn boundary(
    conn: &mut DbConnection,
    domain: &str,
    input: &Input,
    stored: &[PairRow],
    fresh: &[KeyedPair],
) -> Result<Vec<Boundary>, ServiceError> {
    let inside: HashMap<i64, u32> = input
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.staging_id, i as u32))
        .collect();
    // (inside index, outside version or key, probability, weight)
    let mut by_version: Vec<(u32, i64, f64, f64)> = Vec::new();
    for p in stored.iter().filter(|p| p.decision == "review") {
        match (inside.get(&p.a_staging_id), inside.get(&p.b_staging_id)) {
            (Some(&a), None) => by_version.push((a, p.b_staging_id, p.probability, p.weight)),
            (None, Some(&b)) => by_version.push((b, p.a_staging_id, p.probability, p.weight)),
            _ => {}
        }
    }
    let ids: Vec<i64> = by_version.iter().map(|x| x.1).collect();
    let outside: HashMap<i64, Key> = mdm_store::matchstate::current_versions_by_id(conn, &ids)?
        .into_iter()
        .map(|r| (r.id, (r.system, r.source_id)))
        .collect();
    // Stored pairs are oriented by version; review items, like a full run's, by record key.
    let mut pending: Vec<(u32, Key, bool, f64, f64)> = by_version
        .into_iter()
        .filter_map(|(i, v, p, w)| {
            let out = outside.get(&v)?.clone();
            let inside_is_a = key_strings(&input.records[i as usize].key) < out;
            Some((i, out, inside_is_a, p, w))
        })
        .collect();
    for k in fresh.iter().filter(|k| k.pair.decision == Decision::Review) {
        match (
            input.position(&k.a.0, &k.a.1),
            input.position(&k.b.0, &k.b.1),
        ) {
            (Some(a), None) => {
                pending.push((a, k.b.clone(), true, k.pair.probability, k.pair.weight))
            }
            (None, Some(b)) => {
                pending.push((b, k.a.clone(), false, k.pair.probability, k.pair.weight))
            }
            _ => {}
        }
    }
    let keys: Vec<Key> = pending.iter().map(|x| x.1.clone()).collect();
    let golden: HashMap<Key, String> = mdm_store::xref::by_keys(conn, domain, &keys)?
        .into_iter()
        .map(|x| ((x.system, x.source_id), x.golden_id))
        .collect();
    Ok(pending
        .into_iter()
        .filter_map(|(inside, outside, inside_is_a, probability, weight)| {
            Some(Boundary {
                outside_golden: golden.get(&outside)?.clone(),
                inside,
                outside,
                inside_is_a,
                probability,
                weight,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::staged_read;
    use mdm_store::batches::{self, BatchCounts, BatchStatus};
    use mdm_store::matchstate::{put_staged_read, StagedRead};
    use mdm_store::testing::TestDb;

    fn backends() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres());
        dbs
    }

    #[test]
    fn a_running_batch_stays_open_until_it_finishes() {
        for db in backends() {
            let conn = &mut mdm_store::open(db.url()).unwrap();
            mdm_store::systems::ensure_registered(conn, "ERP").unwrap();
            let first = batches::start(conn, "customer", "ERP", "a.csv", false).unwrap();
            batches::finish(
                conn,
                first,
                &BatchCounts::default(),
                BatchStatus::Completed,
                None,
            )
            .unwrap();
            // Run 1 read everything up to the first batch.
            let (read, _) = staged_read(conn, "customer", None).unwrap();
            assert_eq!(
                read,
                StagedRead {
                    through: first,
                    open: vec![]
                }
            );
            put_staged_read(conn, 1, "customer", &read).unwrap();

            let running = batches::start(conn, "customer", "ERP", "b.csv", false).unwrap();
            let other = batches::start(conn, "product", "ERP", "c.csv", false).unwrap();
            batches::finish(
                conn,
                other,
                &BatchCounts::default(),
                BatchStatus::Failed,
                None,
            )
            .unwrap();
            let (read, mine) = staged_read(conn, "customer", Some(1)).unwrap();
            assert_eq!(
                read,
                StagedRead {
                    through: other,
                    open: vec![running]
                }
            );
            assert_eq!(mine, Some(vec![running]), "only the domain's own batches");
            put_staged_read(conn, 2, "customer", &read).unwrap();

            // The running batch finished after run 2 read: run 3 still looks at it.
            batches::finish(
                conn,
                running,
                &BatchCounts::default(),
                BatchStatus::Completed,
                None,
            )
            .unwrap();
            let (read, mine) = staged_read(conn, "customer", Some(2)).unwrap();
            assert_eq!(
                read,
                StagedRead {
                    through: other,
                    open: vec![]
                }
            );
            assert_eq!(mine, Some(vec![running]));

            // A run from before reads were recorded: no batch list (full comparison).
            let (_, mine) = staged_read(conn, "customer", Some(99)).unwrap();
            assert_eq!(mine, None);
        }
    }
}
