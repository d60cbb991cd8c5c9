//! Load batches: one row per ingest run (a file, a SQL pull, an HTTP push), with its counts.
//!
//! Batch ids increase with time on both backends, so "what changed since batch N" is a
//! range query for the incremental reconcile ([`states_since`]).
//!
//! A running load notes its progress (`heartbeat_at`) with every chunk it commits. A batch
//! left `running` by a process that died (`kill -9`, a crash, a lost machine) would stay
//! open forever, and every incremental reconcile would read it again; [`settle_stale`] marks
//! it failed once it has been silent for longer than a load's chunk can take. That is safe
//! with several processes sharing one database: a live load whose batch was settled finds
//! out at its next chunk ([`heartbeat`] refuses) and stops, so a settled batch never gets
//! another row.

use crate::schema::load_batches::dsl as lb;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    Running,
    Completed,
    Failed,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Running => "running",
            BatchStatus::Completed => "completed",
            BatchStatus::Failed => "failed",
        }
    }
}

/// What a load did, row by row. `read == new + changed + unchanged + quarantined`
/// (deleted counts records absent from a snapshot, not rows of the file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchCounts {
    pub read: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub quarantined: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::load_batches)]
pub struct LoadBatch {
    pub id: i64,
    pub domain: String,
    pub system: String,
    pub source: String,
    pub snapshot: bool,
    pub status: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub rows_read: i64,
    pub rows_new: i64,
    pub rows_changed: i64,
    pub rows_unchanged: i64,
    pub rows_deleted: i64,
    pub rows_quarantined: i64,
    pub error: Option<String>,
}

/// Opens a batch in status `running` and returns its id.
pub fn start(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    source: &str,
    snapshot: bool,
) -> Result<i64, StoreError> {
    let values = (
        lb::domain.eq(domain),
        lb::system.eq(system),
        lb::source.eq(source),
        lb::snapshot.eq(snapshot),
        lb::status.eq(BatchStatus::Running.as_str()),
        lb::started_at.eq(now()),
        lb::heartbeat_at.eq(Some(now())),
    );
    let id = on_backend!(conn, c => diesel::insert_into(lb::load_batches)
        .values(values)
        .returning(lb::id)
        .get_result::<i64>(c))?;
    Ok(id)
}

/// Closes a batch with its final counts and status.
pub fn finish(
    conn: &mut DbConnection,
    id: i64,
    counts: &BatchCounts,
    status: BatchStatus,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    diesel::update(lb::load_batches.find(id))
        .set((
            lb::status.eq(status.as_str()),
            lb::finished_at.eq(Some(now())),
            lb::rows_read.eq(n(counts.read)),
            lb::rows_new.eq(n(counts.new)),
            lb::rows_changed.eq(n(counts.changed)),
            lb::rows_unchanged.eq(n(counts.unchanged)),
            lb::rows_deleted.eq(n(counts.deleted)),
            lb::rows_quarantined.eq(n(counts.quarantined)),
            lb::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// Notes that a running batch made progress; false when it is no longer running (another
/// process settled it as interrupted), and then the caller must stop writing to it.
pub fn heartbeat(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    let n = diesel::update(
        lb::load_batches
            .find(id)
            .filter(lb::status.eq(BatchStatus::Running.as_str())),
    )
    .set(lb::heartbeat_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks `failed` (error `interrupted: ...`) every running batch with no progress for
/// longer than `silent_for`: its process is gone. Returns their ids.
pub fn settle_stale(
    conn: &mut DbConnection,
    silent_for: std::time::Duration,
) -> Result<Vec<i64>, StoreError> {
    let t = now();
    let Some(cutoff) = chrono::Duration::from_std(silent_for)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
    else {
        return Ok(Vec::new());
    };
    let stale = lb::status.eq(BatchStatus::Running.as_str()).and(
        lb::heartbeat_at
            .lt(cutoff)
            // Batches started before heartbeats were recorded.
            .or(lb::heartbeat_at.is_null().and(lb::started_at.lt(cutoff))),
    );
    let error = format!(
        "interrupted: no progress for more than {}s, so the process loading it is gone",
        silent_for.as_secs()
    );
    let changes = (
        lb::status.eq(BatchStatus::Failed.as_str()),
        lb::finished_at.eq(Some(t)),
        lb::error.eq(Some(error)),
    );
    let mut ids = on_backend!(conn, c => diesel::update(lb::load_batches.filter(stale))
        .set(changes)
        .returning(lb::id)
        .get_results::<i64>(c))?;
    ids.sort_unstable();
    Ok(ids)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<LoadBatch>, StoreError> {
    Ok(lb::load_batches
        .find(id)
        .select(LoadBatch::as_select())
        .first(conn)
        .optional()?)
}

/// A batch as the incremental reconcile needs it: which domain it loaded, and whether it may
/// still write rows.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct BatchState {
    pub id: i64,
    pub domain: String,
    pub status: String,
}

/// Batches of any domain with id above `after` or among `also`, by id.
pub fn states_since(
    conn: &mut DbConnection,
    after: i64,
    also: &[i64],
) -> Result<Vec<BatchState>, StoreError> {
    let cols = (lb::id, lb::domain, lb::status);
    let mut out: Vec<BatchState> = lb::load_batches
        .filter(lb::id.gt(after))
        .select(cols)
        .load(conn)?;
    for part in also.chunks(10_000) {
        out.extend(
            lb::load_batches
                .filter(lb::id.eq_any(part))
                .filter(lb::id.le(after))
                .select(cols)
                .load::<BatchState>(conn)?,
        );
    }
    out.sort_by_key(|b| b.id);
    Ok(out)
}
