//! The reconcile run ledger: one row per `mdm reconcile` of a domain, with its counts.
//!
//! A run is `running` while it works and `completed` or `failed` at the end. A run killed
//! before it could say so stays `running`; the next run of the domain marks it
//! `interrupted` (its writes were one transaction, so nothing of it is visible).

use crate::schema::reconcile_runs::dsl as rr;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::reconcile_runs)]
pub struct Run {
    pub id: i64,
    pub domain: String,
    /// `full` or `incremental`.
    pub mode: String,
    /// `running`, `completed`, `failed` or `interrupted`.
    pub status: String,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub records: i64,
    pub n_created: i64,
    pub n_updated: i64,
    pub n_merged: i64,
    pub n_split: i64,
    pub n_deleted: i64,
    pub n_unchanged: i64,
    pub review_items: i64,
    /// JSON: clusters, dirty records, pairs scored, events, phase timings.
    pub stats: String,
    pub error: Option<String>,
}

/// What a run did to golden records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunCounts {
    pub records: u64,
    pub created: u64,
    pub updated: u64,
    pub merged: u64,
    pub split: u64,
    pub deleted: u64,
    pub unchanged: u64,
    pub review_items: u64,
}

/// Opens a run; earlier runs of the domain still `running` are marked `interrupted`.
pub fn start(conn: &mut DbConnection, domain: &str, mode: &str) -> Result<i64, StoreError> {
    diesel::update(
        rr::reconcile_runs
            .filter(rr::domain.eq(domain))
            .filter(rr::status.eq("running")),
    )
    .set((
        rr::status.eq("interrupted"),
        rr::error.eq(Some(
            "the run ended without finishing (killed?); its changes were rolled back",
        )),
    ))
    .execute(conn)?;
    let values = (
        rr::domain.eq(domain),
        rr::mode.eq(mode),
        rr::status.eq("running"),
        rr::started_at.eq(now()),
    );
    Ok(
        on_backend!(conn, c => diesel::insert_into(rr::reconcile_runs)
        .values(values)
        .returning(rr::id)
        .get_result::<i64>(c))?,
    )
}

/// Closes a run with its counts.
pub fn finish(
    conn: &mut DbConnection,
    id: i64,
    status: &str,
    counts: &RunCounts,
    stats: &serde_json::Value,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    diesel::update(rr::reconcile_runs.find(id))
        .set((
            rr::status.eq(status),
            rr::finished_at.eq(Some(now())),
            rr::records.eq(n(counts.records)),
            rr::n_created.eq(n(counts.created)),
            rr::n_updated.eq(n(counts.updated)),
            rr::n_merged.eq(n(counts.merged)),
            rr::n_split.eq(n(counts.split)),
            rr::n_deleted.eq(n(counts.deleted)),
            rr::n_unchanged.eq(n(counts.unchanged)),
            rr::review_items.eq(n(counts.review_items)),
            rr::stats.eq(stats.to_string()),
            rr::error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<Run>, StoreError> {
    Ok(rr::reconcile_runs
        .find(id)
        .select(Run::as_select())
        .first(conn)
        .optional()?)
}

/// The last run of a domain with the given status (any domain when `domain` is None).
pub fn latest(
    conn: &mut DbConnection,
    domain: Option<&str>,
    status: Option<&str>,
) -> Result<Option<Run>, StoreError> {
    let mut q = rr::reconcile_runs.into_boxed();
    if let Some(d) = domain {
        q = q.filter(rr::domain.eq(d));
    }
    if let Some(s) = status {
        q = q.filter(rr::status.eq(s));
    }
    Ok(q.order(rr::id.desc())
        .select(Run::as_select())
        .first(conn)
        .optional()?)
}

/// Runs of a domain, newest first.
pub fn list(conn: &mut DbConnection, domain: &str, limit: i64) -> Result<Vec<Run>, StoreError> {
    Ok(rr::reconcile_runs
        .filter(rr::domain.eq(domain))
        .order(rr::id.desc())
        .limit(limit)
        .select(Run::as_select())
        .load(conn)?)
}

/// Another completed run of `domain` that finished at or after `since`, if any.
pub fn completed_since(
    conn: &mut DbConnection,
    domain: &str,
    except: i64,
    since: NaiveDateTime,
) -> Result<Option<i64>, StoreError> {
    Ok(rr::reconcile_runs
        .filter(rr::domain.eq(domain))
        .filter(rr::id.ne(except))
        .filter(rr::status.eq("completed"))
        .filter(rr::finished_at.ge(since))
        .select(rr::id)
        .first(conn)
        .optional()?)
}
