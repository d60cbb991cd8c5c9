//! Staging records: every version of every source record, as the sources sent it.
//!
//! A record is identified by (domain, system, source_id). Its rows form a version chain:
//! at most one *live* row (status `current`, or `deleted` when a snapshot no longer had
//! it), and any number of `superseded` rows kept for history. The partial unique index
//! `staging_records_live_key` enforces the "at most one live row" rule, so a version must be
//! ended ([`end_versions`]) before its successor is inserted ([`insert_versions`]).
//!
//! `seen_batch_id` is the last batch whose input contained the record, changed or not: a
//! second sighting within one batch is a duplicate, and a snapshot load deletes the current
//! records its batch did not see ([`delete_unseen`]).
//!
//! `ended_batch_id` is the batch that ended a version: the one that replaced a current
//! version, or the snapshot that deleted it (a deleted version later replaced keeps its
//! deleting batch). That is what lets [`roll_back_batch`] undo a refused load exactly.

use crate::schema::staging_records::dsl as sr;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

/// Rows per multi-row INSERT: 13 binds each stays under SQLite's 32766-parameter limit.
const ROWS_PER_INSERT: usize = 2000;
/// Keys per `IN (...)` lookup.
const KEYS_PER_LOOKUP: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    Current,
    Superseded,
    Deleted,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Current => "current",
            RecordStatus::Superseded => "superseded",
            RecordStatus::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "current" => Ok(RecordStatus::Current),
            "superseded" => Ok(RecordStatus::Superseded),
            "deleted" => Ok(RecordStatus::Deleted),
            other => Err(StoreError::Corrupt(format!("staging status `{other}`"))),
        }
    }
}

/// The live version of a record, as ingest needs it to classify an incoming row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveVersion {
    pub id: i64,
    pub version: i32,
    pub status: RecordStatus,
    pub content_hash: String,
    pub seen_batch_id: i64,
}

/// A new version to insert (the first one of a record, or a successor).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::staging_records)]
pub struct NewVersion<'a> {
    pub domain: &'a str,
    pub system: &'a str,
    pub source_id: String,
    pub version: i32,
    pub status: &'static str,
    pub attributes: String,
    pub content_hash: String,
    pub batch_id: i64,
    pub loaded_at: NaiveDateTime,
    pub seen_batch_id: i64,
}

/// A stored version, for reading back (reconcile, exports, tests).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::staging_records)]
pub struct StagedVersion {
    pub id: i64,
    pub domain: String,
    pub system: String,
    pub source_id: String,
    pub version: i32,
    pub status: String,
    pub attributes: String,
    pub content_hash: String,
    pub batch_id: i64,
    pub loaded_at: NaiveDateTime,
    pub seen_batch_id: i64,
    pub ended_batch_id: Option<i64>,
    pub ended_at: Option<NaiveDateTime>,
}

/// Live versions of the given records of one (domain, system), keyed by source_id.
pub fn lookup_live(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    source_ids: &[&str],
) -> Result<HashMap<String, LiveVersion>, StoreError> {
    let mut out = HashMap::with_capacity(source_ids.len());
    for keys in source_ids.chunks(KEYS_PER_LOOKUP) {
        let rows: Vec<(i64, String, i32, String, String, i64)> = sr::staging_records
            .filter(sr::domain.eq(domain))
            .filter(sr::system.eq(system))
            .filter(sr::source_id.eq_any(keys))
            .filter(live_predicate())
            .select((
                sr::id,
                sr::source_id,
                sr::version,
                sr::status,
                sr::content_hash,
                sr::seen_batch_id,
            ))
            .load(conn)?;
        for (id, source_id, version, status, content_hash, seen_batch_id) in rows {
            let status = RecordStatus::parse(&status)?;
            out.insert(
                source_id,
                LiveVersion {
                    id,
                    version,
                    status,
                    content_hash,
                    seen_batch_id,
                },
            );
        }
    }
    Ok(out)
}

/// `status <> 'superseded'` as a literal, exactly the partial index's predicate: with a bound
/// parameter instead, neither planner can prove the index applies.
fn live_predicate() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("staging_records.status <> 'superseded'")
}

/// Notes that `batch_id` saw these unchanged versions.
pub fn mark_seen(conn: &mut DbConnection, batch_id: i64, ids: &[i64]) -> Result<(), StoreError> {
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        diesel::update(sr::staging_records.filter(sr::id.eq_any(part)))
            .set(sr::seen_batch_id.eq(batch_id))
            .execute(conn)?;
    }
    Ok(())
}

/// Ends live versions that a successor from `batch_id` replaces. A current version ends
/// with `batch_id`; a deleted one keeps the batch that deleted it as `ended_batch_id`, so
/// that [`roll_back_batch`] can tell the two apart.
pub fn end_versions(conn: &mut DbConnection, batch_id: i64, ids: &[i64]) -> Result<(), StoreError> {
    let t = now();
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        diesel::update(
            sr::staging_records
                .filter(sr::id.eq_any(part))
                .filter(sr::status.eq(RecordStatus::Current.as_str())),
        )
        .set((
            sr::status.eq(RecordStatus::Superseded.as_str()),
            sr::ended_batch_id.eq(Some(batch_id)),
            sr::ended_at.eq(Some(t)),
        ))
        .execute(conn)?;
        diesel::update(
            sr::staging_records
                .filter(sr::id.eq_any(part))
                .filter(sr::status.eq(RecordStatus::Deleted.as_str())),
        )
        .set(sr::status.eq(RecordStatus::Superseded.as_str()))
        .execute(conn)?;
    }
    Ok(())
}

pub fn insert_versions(conn: &mut DbConnection, rows: &[NewVersion<'_>]) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(sr::staging_records).values(part).execute(c))?;
    }
    Ok(())
}

/// Snapshot semantics: current records of (domain, system) that `batch_id` did not see are
/// marked deleted (the row is kept). Returns how many.
pub fn delete_unseen(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    batch_id: i64,
) -> Result<u64, StoreError> {
    let n = diesel::update(
        sr::staging_records
            .filter(sr::domain.eq(domain))
            .filter(sr::system.eq(system))
            .filter(sr::status.eq(RecordStatus::Current.as_str()))
            .filter(sr::seen_batch_id.ne(batch_id)),
    )
    .set((
        sr::status.eq(RecordStatus::Deleted.as_str()),
        sr::ended_batch_id.eq(Some(batch_id)),
        sr::ended_at.eq(Some(now())),
    ))
    .execute(conn)?;
    Ok(n as u64)
}

/// Every version of one record, oldest first.
pub fn history(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    source_id: &str,
) -> Result<Vec<StagedVersion>, StoreError> {
    Ok(sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(sr::system.eq(system))
        .filter(sr::source_id.eq(source_id))
        .order(sr::version)
        .select(StagedVersion::as_select())
        .load(conn)?)
}

/// Live versions (current or deleted) of a domain, optionally of one system, by key.
pub fn live(
    conn: &mut DbConnection,
    domain: &str,
    system: Option<&str>,
) -> Result<Vec<StagedVersion>, StoreError> {
    let mut q = sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(live_predicate())
        .into_boxed();
    if let Some(s) = system {
        q = q.filter(sr::system.eq(s));
    }
    Ok(q.order((sr::system, sr::source_id))
        .select(StagedVersion::as_select())
        .load(conn)?)
}

/// Counts per status for (domain, system): (current, superseded, deleted).
pub fn status_counts(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
) -> Result<(u64, u64, u64), StoreError> {
    let rows: Vec<(String, i64)> = sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(sr::system.eq(system))
        .group_by(sr::status)
        .select((sr::status, diesel::dsl::count_star()))
        .load(conn)?;
    let get = |s: RecordStatus| {
        rows.iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n as u64)
    };
    Ok((
        get(RecordStatus::Current),
        get(RecordStatus::Superseded),
        get(RecordStatus::Deleted),
    ))
}

/// What [`roll_back_batch`] undid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolledBack {
    /// Versions the batch wrote that were removed.
    pub removed: u64,
    /// Versions it had ended (replaced or deleted) that are live again.
    pub restored: u64,
}

/// Undoes what load batch `batch_id` did to staging, for a load that was refused after some
/// of its chunks had committed: its versions that are still current are removed, the
/// versions they replaced are live again as they were (`current`, or `deleted` for a record
/// a snapshot had deleted before the batch brought it back), and records its snapshot
/// deleted are current again. Versions of the batch that a later batch has since replaced
/// or deleted stay, as history of that later batch's change. Run it in a write transaction.
/// `seen_batch_id` notes on unchanged versions are left: only the batch itself reads them.
/// A reconcile run that read the batch's committed chunks while it ran keeps what it made
/// of them until a full run (`reconcile --full`): an incremental run finds no rows of the
/// batch any more, and the restored versions are older than its last read.
pub fn roll_back_batch(conn: &mut DbConnection, batch_id: i64) -> Result<RolledBack, StoreError> {
    let mut done = RolledBack::default();
    let mut after = 0i64;
    loop {
        let page: Vec<i64> = sr::staging_records
            .filter(sr::batch_id.eq(batch_id))
            .filter(sr::status.eq(RecordStatus::Current.as_str()))
            .filter(sr::id.gt(after))
            .order(sr::id)
            .limit(KEYS_PER_LOOKUP as i64)
            .select(sr::id)
            .load(conn)?;
        let Some(&last) = page.last() else { break };
        after = last;
        let replaced = predecessors(conn, &page)?;
        done.removed +=
            diesel::delete(sr::staging_records.filter(sr::id.eq_any(&page))).execute(conn)? as u64;
        // Ended by this batch: was current. Ended by another: a snapshot had deleted it.
        let (current, deleted): (Vec<_>, Vec<_>) = replaced
            .into_iter()
            .partition(|(_, ended)| *ended == Some(batch_id));
        let ids = |v: Vec<(i64, Option<i64>)>| v.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
        done.restored += restore_current(conn, &ids(current))?;
        done.restored += diesel::update(sr::staging_records.filter(sr::id.eq_any(ids(deleted))))
            .set(sr::status.eq(RecordStatus::Deleted.as_str()))
            .execute(conn)? as u64;
    }
    // Its snapshot's deletions.
    done.restored += diesel::update(
        sr::staging_records
            .filter(sr::ended_batch_id.eq(batch_id))
            .filter(sr::status.eq(RecordStatus::Deleted.as_str())),
    )
    .set((
        sr::status.eq(RecordStatus::Current.as_str()),
        sr::ended_batch_id.eq(None::<i64>),
        sr::ended_at.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)? as u64;
    Ok(done)
}

/// The versions just before the given ones (same record, version one lower), with the
/// batch that ended each.
fn predecessors(
    conn: &mut DbConnection,
    ids: &[i64],
) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let next = diesel::alias!(crate::schema::staging_records as next_version);
    Ok(sr::staging_records
        .inner_join(
            next.on(next
                .field(sr::domain)
                .eq(sr::domain)
                .and(next.field(sr::system).eq(sr::system))
                .and(next.field(sr::source_id).eq(sr::source_id))
                .and(next.field(sr::version).eq(sr::version + 1))),
        )
        .filter(next.field(sr::id).eq_any(ids))
        .filter(sr::status.eq(RecordStatus::Superseded.as_str()))
        .select((sr::id, sr::ended_batch_id))
        .load(conn)?)
}

fn restore_current(conn: &mut DbConnection, ids: &[i64]) -> Result<u64, StoreError> {
    Ok(
        diesel::update(sr::staging_records.filter(sr::id.eq_any(ids)))
            .set((
                sr::status.eq(RecordStatus::Current.as_str()),
                sr::ended_batch_id.eq(None::<i64>),
                sr::ended_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)? as u64,
    )
}

/// Rows a load must write before the staging table's statistics are refreshed after it.
pub const ANALYZE_AFTER_ROWS: u64 = 100_000;

/// When a load refreshes the statistics while it writes: after `ANALYZE_AFTER_ROWS` rows,
/// then each time the rows written have doubled. Statistics taken before a system's first
/// load estimate its rows at about one, so each chunk's lookup of live versions
/// (`lookup_live`) was planned as a scan of every row of the system loaded so far, with the
/// source IDs as a filter: quadratic, a 4M-row load crawled at 200 rows/s after 2M.
#[derive(Debug)]
pub struct AnalyzeDuringLoad {
    next: u64,
}

impl Default for AnalyzeDuringLoad {
    fn default() -> Self {
        Self {
            next: ANALYZE_AFTER_ROWS,
        }
    }
}

impl AnalyzeDuringLoad {
    /// Notes that the load has written `written` rows in all; refreshes the statistics
    /// when due (PostgreSQL only). Whether it did.
    pub fn note(&mut self, conn: &mut DbConnection, written: u64) -> Result<bool, StoreError> {
        use diesel::connection::SimpleConnection;
        if written < self.next {
            return Ok(false);
        }
        self.next = written.saturating_mul(2);
        match conn {
            DbConnection::Pg(c) => {
                c.batch_execute("ANALYZE staging_records")?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Refreshes PostgreSQL's statistics of the staging table after a large load. Autovacuum
/// comes later (or never): until then a table loaded from empty has no statistics, and the
/// next run's keyset pages over it (`id > $after ORDER BY id`) were planned as a bitmap
/// scan and sort of everything after, 5 s a page at 10M rows instead of milliseconds.
pub fn analyze_after_load(conn: &mut DbConnection, rows_written: u64) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    if let (DbConnection::Pg(c), true) = (conn, rows_written >= ANALYZE_AFTER_ROWS) {
        c.batch_execute("ANALYZE staging_records")?;
    }
    Ok(())
}
