//! What reconcile keeps between runs besides golden records: the frozen match model, the
//! scored pairs and blocking keys of the last run, how far each run read staging, and the
//! reads of the current staged records it matches.

use crate::schema::match_models::dsl as mm;
use crate::schema::match_pairs::dsl as mp;
use crate::schema::staging_records::dsl as sr;
use crate::schema::stale_pair_versions::dsl as sv;
use crate::values::{column, PG_ROWS_PER_UNNEST};
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

const ROWS_PER_INSERT: usize = 3000;

/// A current staged record as reconcile reads it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::staging_records)]
pub struct CurrentRecord {
    pub id: i64,
    pub system: String,
    pub source_id: String,
    pub attributes: String,
    pub batch_id: i64,
    pub loaded_at: NaiveDateTime,
}

/// Current (not superseded, not deleted) staged records of a domain, by (system, source_id).
pub fn current_records(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<CurrentRecord>, StoreError> {
    Ok(sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "staging_records.status <> 'superseded'",
        ))
        .filter(sr::status.eq("current"))
        .order((sr::system, sr::source_id))
        .select(CurrentRecord::as_select())
        .load(conn)?)
}

/// A page of [`current_records`] with the attribute JSON left empty, by staging version
/// after `after_id` (ascending): the run's record list at millions of records, read a page at
/// a time; the values are read later by version ([`versions_by_id`]).
pub fn current_heads_page(
    conn: &mut DbConnection,
    domain: &str,
    after_id: i64,
    limit: i64,
) -> Result<Vec<CurrentRecord>, StoreError> {
    Ok(sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(sr::status.eq("current"))
        .filter(sr::id.gt(after_id))
        .order(sr::id)
        .limit(limit)
        .select((
            sr::id,
            sr::system,
            sr::source_id,
            diesel::dsl::sql::<diesel::sql_types::Text>("''"),
            sr::batch_id,
            sr::loaded_at,
        ))
        .load::<CurrentRecord>(conn)?)
}

/// How many records of `domain` are current: a lean read sizes its table once with it
/// (grown page by page, a 10M-record table was copied at twice its size).
pub fn current_count(conn: &mut DbConnection, domain: &str) -> Result<i64, StoreError> {
    Ok(sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(sr::status.eq("current"))
        .count()
        .get_result(conn)?)
}

/// Staged versions by id (any status), e.g. the previous versions of changed records.
pub fn versions_by_id(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<CurrentRecord>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(10_000) {
        out.extend(
            sr::staging_records
                .filter(sr::id.eq_any(part))
                .select(CurrentRecord::as_select())
                .load::<CurrentRecord>(conn)?,
        );
    }
    Ok(out)
}

/// The stored model of a domain: (rules hash, model JSON).
pub fn model(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Option<(String, String)>, StoreError> {
    Ok(mm::match_models
        .find(domain)
        .select((mm::rules_hash, mm::model))
        .first(conn)
        .optional()?)
}

pub fn put_model(
    conn: &mut DbConnection,
    domain: &str,
    rules_hash: &str,
    model: &str,
    run_id: i64,
) -> Result<(), StoreError> {
    diesel::delete(mm::match_models.find(domain)).execute(conn)?;
    diesel::insert_into(mm::match_models)
        .values((
            mm::domain.eq(domain),
            mm::rules_hash.eq(rules_hash),
            mm::model.eq(model),
            mm::run_id.eq(run_id),
            mm::trained_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A kept scored pair, by the staging versions of its two records.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::match_pairs)]
pub struct PairRow {
    pub a_staging_id: i64,
    pub b_staging_id: i64,
    pub domain: String,
    pub weight: f64,
    pub probability: f64,
    /// `match`, `review` or `non_match`.
    pub decision: String,
    /// Decided by a deterministic override.
    pub overridden: bool,
}

impl PairRow {
    /// The pair with the older (smaller) version as `a`. SQLite clusters pairs by the newer
    /// one, and a run's new pairs all have a version newer than any stored, so they append.
    pub fn oriented(self) -> Self {
        if self.a_staging_id <= self.b_staging_id {
            self
        } else {
            PairRow {
                a_staging_id: self.b_staging_id,
                b_staging_id: self.a_staging_id,
                ..self
            }
        }
    }
}

pub fn pairs(conn: &mut DbConnection, domain: &str) -> Result<Vec<PairRow>, StoreError> {
    Ok(mp::match_pairs
        .filter(mp::domain.eq(domain))
        .select(PairRow::as_select())
        .load(conn)?)
}

/// One page of a domain's kept pairs in key order, after the pair `after` (an export reads
/// them page by page, so memory does not grow with the domain).
pub fn pairs_page(
    conn: &mut DbConnection,
    domain: &str,
    after: Option<(i64, i64)>,
    limit: i64,
) -> Result<Vec<PairRow>, StoreError> {
    let mut q = mp::match_pairs.filter(mp::domain.eq(domain)).into_boxed();
    if let Some((a, b)) = after {
        q = q.filter(
            mp::a_staging_id
                .gt(a)
                .or(mp::a_staging_id.eq(a).and(mp::b_staging_id.gt(b))),
        );
    }
    Ok(q.order((mp::a_staging_id, mp::b_staging_id))
        .limit(limit)
        .select(PairRow::as_select())
        .load(conn)?)
}

/// Replaces all kept pairs of a domain (none is stale after).
pub fn replace_pairs(
    conn: &mut DbConnection,
    domain: &str,
    rows: &[PairRow],
) -> Result<(), StoreError> {
    diesel::delete(mp::match_pairs.filter(mp::domain.eq(domain))).execute(conn)?;
    diesel::delete(sv::stale_pair_versions.filter(sv::domain.eq(domain))).execute(conn)?;
    insert_pairs(conn, rows)
}

/// Adds pairs. One already stored (the same two versions) takes the new score.
pub fn insert_pairs(conn: &mut DbConnection, rows: &[PairRow]) -> Result<(), StoreError> {
    // In clustering order (newer version, then older), so SQLite appends them.
    let mut sorted: Vec<PairRow> = rows.iter().cloned().map(PairRow::oriented).collect();
    sorted.sort_unstable_by_key(|p| (p.b_staging_id, p.a_staging_id));
    match conn {
        DbConnection::Sqlite(c) => {
            use diesel::sql_types::{BigInt, Bool, Double, Text};
            crate::values::sqlite_insert(
                c,
                "REPLACE INTO match_pairs \
                   (a_staging_id, b_staging_id, domain, weight, probability, decision, overridden) \
                 VALUES",
                7,
                &sorted,
                |q, r| {
                    q.bind::<BigInt, _>(r.a_staging_id)
                        .bind::<BigInt, _>(r.b_staging_id)
                        .bind::<Text, _>(&r.domain)
                        .bind::<Double, _>(r.weight)
                        .bind::<Double, _>(r.probability)
                        .bind::<Text, _>(&r.decision)
                        .bind::<Bool, _>(r.overridden)
                },
            )?;
        }
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Bool, Double, Text};
            for part in sorted.chunks(PG_ROWS_PER_UNNEST) {
                diesel::sql_query(
                    "INSERT INTO match_pairs \
                       (a_staging_id, b_staging_id, domain, weight, probability, decision, overridden) \
                     SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (a_staging_id, b_staging_id) DO UPDATE SET \
                       domain = excluded.domain, weight = excluded.weight, \
                       probability = excluded.probability, decision = excluded.decision, \
                       overridden = excluded.overridden",
                )
                .bind::<Array<BigInt>, _>(column(part, |r| r.a_staging_id))
                .bind::<Array<BigInt>, _>(column(part, |r| r.b_staging_id))
                .bind::<Array<Text>, _>(column(part, |r| r.domain.as_str()))
                .bind::<Array<Double>, _>(column(part, |r| r.weight))
                .bind::<Array<Double>, _>(column(part, |r| r.probability))
                .bind::<Array<Text>, _>(column(part, |r| r.decision.as_str()))
                .bind::<Array<Bool>, _>(column(part, |r| r.overridden))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Removes kept pairs of which either side is one of the given staging versions.
pub fn delete_pairs_touching(
    conn: &mut DbConnection,
    staging_ids: &[i64],
) -> Result<(), StoreError> {
    for part in staging_ids.chunks(10_000) {
        diesel::delete(mp::match_pairs.filter(mp::a_staging_id.eq_any(part))).execute(conn)?;
        diesel::delete(mp::match_pairs.filter(mp::b_staging_id.eq_any(part))).execute(conn)?;
    }
    Ok(())
}

/// Notes versions that are no longer current (superseded or deleted): their kept pairs are
/// garbage, left in place for [`sweep_stale_pairs`]. Deleting them at once would touch a
/// page per pair all over the table (their partners are anywhere); a sweep of many
/// versions at a time dirties each page once. Readers look pairs up by current versions
/// and ignore a partner version that is not current, so the garbage is never used.
pub fn mark_stale_versions(
    conn: &mut DbConnection,
    domain: &str,
    staging_ids: &[i64],
) -> Result<(), StoreError> {
    let mut ids = staging_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let rows: Vec<_> = ids
        .iter()
        .map(|id| (sv::domain.eq(domain), sv::staging_id.eq(*id)))
        .collect();
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(sv::stale_pair_versions)
            .values(part)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// Versions of `domain` whose kept pairs await a sweep.
pub fn stale_versions(conn: &mut DbConnection, domain: &str) -> Result<Vec<i64>, StoreError> {
    Ok(sv::stale_pair_versions
        .filter(sv::domain.eq(domain))
        .select(sv::staging_id)
        .order(sv::staging_id)
        .load(conn)?)
}

/// How many versions of `domain` await a sweep.
pub fn stale_version_count(conn: &mut DbConnection, domain: &str) -> Result<i64, StoreError> {
    Ok(sv::stale_pair_versions
        .filter(sv::domain.eq(domain))
        .count()
        .get_result(conn)?)
}

/// Deletes the kept pairs of the stale versions of `domain`; returns how many versions.
pub fn sweep_stale_pairs(conn: &mut DbConnection, domain: &str) -> Result<usize, StoreError> {
    let stale = stale_versions(conn, domain)?;
    delete_pairs_touching(conn, &stale)?;
    diesel::delete(sv::stale_pair_versions.filter(sv::domain.eq(domain))).execute(conn)?;
    Ok(stale.len())
}

/// Domains that have staged records, sorted.
pub fn staged_domains(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    Ok(sr::staging_records
        .select(sr::domain)
        .distinct()
        .order(sr::domain)
        .load(conn)?)
}

/// One blocking key of a source record: (rule index, key hash). Keys belong to the record,
/// not to a staging version, so a new version with the same keys leaves its rows alone.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::match_keys)]
pub struct KeyRow {
    pub domain: String,
    pub system: String,
    pub source_id: String,
    pub rule: i32,
    pub key_hash: i64,
}

/// Every stored blocking key of a domain (tests and checks; a run looks keys up by block).
pub fn keys(conn: &mut DbConnection, domain: &str) -> Result<Vec<KeyRow>, StoreError> {
    use crate::schema::match_keys::dsl as mk;
    Ok(mk::match_keys
        .filter(mk::domain.eq(domain))
        .select(KeyRow::as_select())
        .load(conn)?)
}

/// Replaces every blocking key of a domain (a run that trained the model). Inserted in key
/// order: the table is clustered by key, so they go in as appends.
pub fn replace_keys(
    conn: &mut DbConnection,
    domain: &str,
    rows: &[KeyRow],
) -> Result<(), StoreError> {
    use crate::schema::match_keys::dsl as mk;
    diesel::delete(mk::match_keys.filter(mk::domain.eq(domain))).execute(conn)?;
    let mut sorted: Vec<&KeyRow> = rows.iter().collect();
    sorted.sort_unstable_by(|a, b| {
        (a.rule, a.key_hash, &a.system, &a.source_id).cmp(&(
            b.rule,
            b.key_hash,
            &b.system,
            &b.source_id,
        ))
    });
    insert_key_refs(conn, &sorted)
}

pub fn insert_keys(conn: &mut DbConnection, rows: &[KeyRow]) -> Result<(), StoreError> {
    insert_key_refs(conn, &rows.iter().collect::<Vec<_>>())
}

/// Inserts keys in the order given.
fn insert_key_refs(conn: &mut DbConnection, rows: &[&KeyRow]) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => {
            use diesel::sql_types::{BigInt, Integer, Text};
            crate::values::sqlite_insert(
                c,
                "INSERT INTO match_keys (domain, rule, key_hash, system, source_id) VALUES",
                5,
                rows,
                |q, r| {
                    q.bind::<Text, _>(&r.domain)
                        .bind::<Integer, _>(r.rule)
                        .bind::<BigInt, _>(r.key_hash)
                        .bind::<Text, _>(&r.system)
                        .bind::<Text, _>(&r.source_id)
                },
            )?;
        }
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Integer, Text};
            for part in rows.chunks(PG_ROWS_PER_UNNEST) {
                diesel::sql_query(
                    "INSERT INTO match_keys (domain, rule, key_hash, system, source_id) \
                     SELECT * FROM unnest($1, $2, $3, $4, $5)",
                )
                .bind::<Array<Text>, _>(column(part, |r| r.domain.as_str()))
                .bind::<Array<Integer>, _>(column(part, |r| r.rule))
                .bind::<Array<BigInt>, _>(column(part, |r| r.key_hash))
                .bind::<Array<Text>, _>(column(part, |r| r.system.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.source_id.as_str()))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Deletes the given keys (each one row, found by its whole primary key).
pub fn delete_keys(conn: &mut DbConnection, rows: &[KeyRow]) -> Result<(), StoreError> {
    use crate::schema::match_keys::dsl as mk;
    match conn {
        // One cached statement, stepped per key.
        DbConnection::Sqlite(c) => {
            for r in rows {
                diesel::delete(
                    mk::match_keys
                        .filter(mk::domain.eq(&r.domain))
                        .filter(mk::rule.eq(r.rule))
                        .filter(mk::key_hash.eq(r.key_hash))
                        .filter(mk::system.eq(&r.system))
                        .filter(mk::source_id.eq(&r.source_id)),
                )
                .execute(c)?;
            }
        }
        // A round trip per key would dominate: one statement per 5000 keys.
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Integer, Text};
            for part in rows.chunks(5000) {
                diesel::sql_query(
                    "DELETE FROM match_keys AS k \
                     USING unnest($1, $2, $3, $4, $5) AS v(domain, rule, key_hash, system, source_id) \
                     WHERE k.domain = v.domain AND k.rule = v.rule AND k.key_hash = v.key_hash \
                       AND k.system = v.system AND k.source_id = v.source_id",
                )
                .bind::<Array<Text>, _>(column(part, |r| r.domain.as_str()))
                .bind::<Array<Integer>, _>(column(part, |r| r.rule))
                .bind::<Array<BigInt>, _>(column(part, |r| r.key_hash))
                .bind::<Array<Text>, _>(column(part, |r| r.system.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.source_id.as_str()))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Records (system, source_id) of a domain that have key `key_hash` for `rule`, for each
/// given key.
pub fn records_with_keys(
    conn: &mut DbConnection,
    domain: &str,
    rule: i32,
    keys: &[i64],
) -> Result<Vec<(String, String)>, StoreError> {
    use crate::schema::match_keys::dsl as mk;
    let mut out = Vec::new();
    for part in keys.chunks(5_000) {
        out.extend(
            mk::match_keys
                .filter(mk::domain.eq(domain))
                .filter(mk::rule.eq(rule))
                .filter(mk::key_hash.eq_any(part))
                .select((mk::system, mk::source_id))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Kept pairs with either side among the given staging versions.
pub fn pairs_touching(
    conn: &mut DbConnection,
    staging_ids: &[i64],
) -> Result<Vec<PairRow>, StoreError> {
    let mut out = Vec::new();
    for part in staging_ids.chunks(5_000) {
        out.extend(
            mp::match_pairs
                .filter(mp::a_staging_id.eq_any(part))
                .select(PairRow::as_select())
                .load(conn)?,
        );
        out.extend(
            mp::match_pairs
                .filter(mp::b_staging_id.eq_any(part))
                .select(PairRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Current records of a domain that the last run did not see in this version: new ones
/// (no xref row) and changed ones (xref names another staging version).
pub fn unseen_records(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<CurrentRecord>, StoreError> {
    use crate::schema::xref::dsl as x;
    use diesel::dsl::{exists, not};
    Ok(sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(sr::status.eq("current"))
        .filter(not(exists(
            x::xref
                .filter(x::domain.eq(sr::domain))
                .filter(x::system.eq(sr::system))
                .filter(x::source_id.eq(sr::source_id))
                .filter(x::staging_id.eq(sr::id)),
        )))
        .select(CurrentRecord::as_select())
        .load(conn)?)
}

/// xref rows of a domain whose record has no current version any more.
pub fn vanished_xref(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<crate::xref::XrefRow>, StoreError> {
    use crate::schema::xref::dsl as x;
    use diesel::dsl::{exists, not};
    Ok(x::xref
        .filter(x::domain.eq(domain))
        .filter(not(exists(
            sr::staging_records
                .filter(sr::domain.eq(x::domain))
                .filter(sr::system.eq(x::system))
                .filter(sr::source_id.eq(x::source_id))
                .filter(sr::status.eq("current")),
        )))
        .select(crate::xref::XrefRow::as_select())
        .load(conn)?)
}

/// Current versions of the given records (system, source_id) of a domain.
pub fn current_by_keys(
    conn: &mut DbConnection,
    domain: &str,
    keys: &[(String, String)],
) -> Result<Vec<CurrentRecord>, StoreError> {
    let mut out = Vec::new();
    for (system, ids) in crate::by_system(keys) {
        for part in ids.chunks(5_000) {
            out.extend(
                sr::staging_records
                    .filter(sr::domain.eq(domain))
                    .filter(sr::system.eq(system))
                    .filter(sr::source_id.eq_any(part))
                    .filter(sr::status.eq("current"))
                    .select(CurrentRecord::as_select())
                    .load::<CurrentRecord>(conn)?,
            );
        }
    }
    Ok(out)
}

/// The given staged versions that are still current.
pub fn current_versions_by_id(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<CurrentRecord>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(10_000) {
        out.extend(
            sr::staging_records
                .filter(sr::id.eq_any(part))
                .filter(sr::status.eq("current"))
                .select(CurrentRecord::as_select())
                .load::<CurrentRecord>(conn)?,
        );
    }
    Ok(out)
}

/// How far a run read staging: every load batch with id up to `through` had finished before
/// the run read anything, except the `open` ones (still running, or not yet visible). Rows of
/// later or open batches are what the next incremental run must look at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedRead {
    pub through: i64,
    pub open: Vec<i64>,
}

/// Records what run `run_id` reads of staging (before it reads).
pub fn put_staged_read(
    conn: &mut DbConnection,
    run_id: i64,
    domain: &str,
    read: &StagedRead,
) -> Result<(), StoreError> {
    use crate::schema::reconcile_reads::dsl as rd;
    let open = serde_json::to_string(&read.open).expect("ids serialize");
    diesel::insert_into(rd::reconcile_reads)
        .values((
            rd::run_id.eq(run_id),
            rd::domain.eq(domain),
            rd::batch_through.eq(read.through),
            rd::open_batches.eq(open),
        ))
        .execute(conn)?;
    Ok(())
}

/// What run `run_id` read of staging; `None` for runs from before it was recorded.
pub fn staged_read(conn: &mut DbConnection, run_id: i64) -> Result<Option<StagedRead>, StoreError> {
    use crate::schema::reconcile_reads::dsl as rd;
    let row: Option<(i64, String)> = rd::reconcile_reads
        .find(run_id)
        .select((rd::batch_through, rd::open_batches))
        .first(conn)
        .optional()?;
    row.map(|(through, open)| {
        let open = serde_json::from_str(&open)
            .map_err(|e| StoreError::Corrupt(format!("reconcile_reads of run {run_id}: {e}")))?;
        Ok(StagedRead { through, open })
    })
    .transpose()
}

/// What some load batches did to staging.
#[derive(Debug, Default)]
pub struct BatchChanges {
    /// Versions they loaded that are still current.
    pub loaded: Vec<CurrentRecord>,
    /// Keys (system, source_id) of the records their snapshots deleted.
    pub deleted: Vec<(String, String)>,
}

/// What the given load batches did.
pub fn touched_by_batches(
    conn: &mut DbConnection,
    batches: &[i64],
) -> Result<BatchChanges, StoreError> {
    let mut loaded = Vec::new();
    let mut deleted = Vec::new();
    // No domain filter: a batch loads one domain, and the batch indexes alone pick the rows.
    for part in batches.chunks(1_000) {
        loaded.extend(
            sr::staging_records
                .filter(sr::batch_id.eq_any(part))
                .filter(sr::status.eq("current"))
                .select(CurrentRecord::as_select())
                .load::<CurrentRecord>(conn)?,
        );
        deleted.extend(
            sr::staging_records
                .filter(sr::ended_batch_id.eq_any(part))
                .filter(sr::status.eq("deleted"))
                .select((sr::system, sr::source_id))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(BatchChanges { loaded, deleted })
}

/// xref rows of a domain that real-time matching wrote (staging version 0, no run saw them).
pub fn unstaged_xref(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<crate::xref::XrefRow>, StoreError> {
    use crate::schema::xref::dsl as x;
    use crate::schema::xref_realtime::dsl as rt;
    Ok(x::xref
        .inner_join(
            rt::xref_realtime.on(rt::domain
                .eq(x::domain)
                .and(rt::system.eq(x::system))
                .and(rt::source_id.eq(x::source_id))),
        )
        .filter(x::domain.eq(domain))
        .filter(x::staging_id.eq(0))
        .select(crate::xref::XrefRow::as_select())
        .load(conn)?)
}

/// After a run that rewrote much of a domain (PostgreSQL only): refreshes planner statistics
/// of the tables reconcile reads with joins, and vacuums the two that incremental runs read
/// through index-only scans. After a bulk load the planner otherwise believes the tables
/// are tiny and picks nested loops over millions of rows for the incremental run's
/// anti-joins (and a scan of all search values for each chunk of the search values a run
/// deletes). The block lookups in `match_keys` and the pair lookups by older version in
/// `match_pairs` read only their indexes while the visibility map says a page holds only
/// rows every session sees, and only VACUUM sets it: autovacuum may be off, or not yet
/// there, and without it each key or pair found costs a heap page too.
pub fn vacuum_analyze(conn: &mut DbConnection) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Pg(c) = conn {
        // Two messages: statements sent in one run in one transaction, and VACUUM refuses to.
        c.batch_execute("VACUUM (ANALYZE) match_pairs, match_keys")?;
        c.batch_execute(
            "ANALYZE staging_records, xref, golden_records, golden_history, golden_search",
        )?;
    }
    Ok(())
}

/// Sum of match probabilities over the kept pairs of a domain (expected matches), stale
/// ones left out.
pub fn probability_sum(conn: &mut DbConnection, domain: &str) -> Result<f64, StoreError> {
    let all: Option<f64> = mp::match_pairs
        .filter(mp::domain.eq(domain))
        .select(diesel::dsl::sum(mp::probability))
        .first(conn)?;
    let versions = stale_versions(conn, domain)?;
    let mut stale = pairs_touching(conn, &versions)?;
    stale.sort_by_key(|p| (p.a_staging_id, p.b_staging_id));
    stale.dedup_by_key(|p| (p.a_staging_id, p.b_staging_id));
    let garbage: f64 = stale.iter().map(|p| p.probability).sum();
    Ok(all.unwrap_or(0.0) - garbage)
}
