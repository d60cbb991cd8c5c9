//! Reading the change feed (`change_events`, written by reconcile in the same transaction as
//! each golden-record change) for the publish API and webhooks.
//!
//! Gap safety: on PostgreSQL a sequence value is taken before its transaction commits, so a
//! reader could see event 11 while event 10 is still uncommitted, move its cursor past 10
//! and never see it. [`events_after`] therefore first takes `SHARE` lock on the table, which
//! waits for every transaction that inserted events to finish (and lets other readers in).
//! SQLite has a single writer, so commit order is seq order there.

use crate::schema::change_events::dsl as ce;
use crate::schema::xref::dsl as xr;
use crate::{DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

/// How long a feed read waits for a writer before giving up with [`FeedError::Busy`].
const LOCK_TIMEOUT: &str = "5s";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::change_events)]
pub struct ChangeEvent {
    pub seq: i64,
    pub domain: String,
    pub golden_id: String,
    pub kind: String,
    /// JSON array of golden ids a merge retired.
    pub retired_ids: Option<String>,
    pub run_id: Option<i64>,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("a writer holds the change feed; retry shortly")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for FeedError {
    fn from(e: diesel::result::Error) -> Self {
        FeedError::Store(e.into())
    }
}

/// Up to `limit` events after `after`, in seq order, with no gaps that a later commit could
/// fill (see the module doc).
pub fn events_after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeEvent>, FeedError> {
    locked(conn, |c| {
        ce::change_events
            .filter(ce::seq.gt(after))
            .order(ce::seq)
            .limit(limit)
            .select(ChangeEvent::as_select())
            .load(c)
    })
}

/// [`events_after`] with the payloads left empty: for a consumer that reads the current
/// state itself (write-back), at a fraction of the bytes.
pub fn event_heads_after(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeEvent>, FeedError> {
    locked(conn, |c| {
        ce::change_events
            .filter(ce::seq.gt(after))
            .order(ce::seq)
            .limit(limit)
            .select((
                ce::seq,
                ce::domain,
                ce::golden_id,
                ce::kind,
                ce::retired_ids,
                ce::run_id,
                diesel::dsl::sql::<diesel::sql_types::Text>("''"),
                ce::created_at,
            ))
            .load(c)
    })
}

/// Runs a read of the feed behind the gap lock (see [`events_after`]).
fn locked<T>(
    conn: &mut DbConnection,
    read: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T>,
) -> Result<T, FeedError> {
    conn.transaction(|c| {
        if let DbConnection::Pg(pg) = c {
            pg.batch_execute(&format!(
                "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; LOCK TABLE change_events IN SHARE MODE"
            ))
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(_, ref info)
                    if info.message().contains("lock timeout") =>
                {
                    FeedError::Busy
                }
                other => FeedError::from(other),
            })?;
        }
        Ok(read(c)?)
    })
}

/// The highest seq written so far (0 for an empty feed).
pub fn latest_seq(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(ce::change_events
        .select(diesel::dsl::max(ce::seq))
        .first::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// One event by seq.
pub fn event(conn: &mut DbConnection, seq: i64) -> Result<Option<ChangeEvent>, StoreError> {
    Ok(ce::change_events
        .find(seq)
        .select(ChangeEvent::as_select())
        .first(conn)
        .optional()?)
}

/// The current xref entries of `system` for these golden ids: (golden_id, source_id).
pub fn xref_of_system(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    golden_ids: &[&str],
) -> Result<Vec<(String, String)>, StoreError> {
    if golden_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(xr::xref
        .filter(xr::golden_id.eq_any(golden_ids))
        .filter(xr::domain.eq(domain))
        .filter(xr::system.eq(system))
        .order((xr::golden_id, xr::source_id))
        .select((xr::golden_id, xr::source_id))
        .load(conn)?)
}
