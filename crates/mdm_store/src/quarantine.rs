//! Quarantined rows: input rows that could not be staged, with where they came from (file,
//! row, field) and why, so a steward can fix the source. Nothing read is ever dropped
//! silently: a row is either staged or quarantined.

use crate::schema::quarantined_rows::dsl as qr;
use crate::{on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Rows per INSERT statement: keeps bind parameters under SQLite's 32766 limit.
const ROWS_PER_INSERT: usize = 1000;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::quarantined_rows)]
pub struct NewQuarantinedRow<'a> {
    pub batch_id: i64,
    pub domain: &'a str,
    pub system: &'a str,
    pub source: &'a str,
    pub row_number: i64,
    pub source_id: Option<String>,
    pub field: Option<String>,
    pub reason: &'static str,
    pub detail: String,
    pub raw: Option<String>,
    pub quarantined_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::quarantined_rows)]
pub struct QuarantinedRow {
    pub id: i64,
    pub batch_id: i64,
    pub domain: String,
    pub system: String,
    pub source: String,
    pub row_number: i64,
    pub source_id: Option<String>,
    pub field: Option<String>,
    pub reason: String,
    pub detail: String,
    pub raw: Option<String>,
    pub quarantined_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, rows: &[NewQuarantinedRow<'_>]) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(qr::quarantined_rows).values(part).execute(c))?;
    }
    Ok(())
}

/// A batch's quarantined rows in file order.
pub fn for_batch(
    conn: &mut DbConnection,
    batch_id: i64,
) -> Result<Vec<QuarantinedRow>, StoreError> {
    Ok(qr::quarantined_rows
        .filter(qr::batch_id.eq(batch_id))
        .order((qr::row_number, qr::id))
        .select(QuarantinedRow::as_select())
        .load(conn)?)
}

/// Which quarantined rows to list. Without a batch, a row that several loads of the same
/// file quarantined (same domain, system, source, line and raw text) is listed once, as
/// its latest occurrence: re-loading a bad file does not count its rows twice.
#[derive(Debug, Clone, Default)]
pub struct QuarantineFilter {
    pub domain: Option<String>,
    pub system: Option<String>,
    pub batch_id: Option<i64>,
    /// Only rows with a larger id (paging, oldest first).
    pub after_id: Option<i64>,
}

/// The latest occurrence of each distinct quarantined row (see [`QuarantineFilter`]).
/// GROUP BY treats NULL raw or field as one value on both backends.
const LATEST_OCCURRENCE: &str = "quarantined_rows.id IN (SELECT MAX(q2.id) FROM \
     quarantined_rows q2 GROUP BY q2.domain, q2.system, q2.source, q2.row_number, q2.field, \
     q2.reason, q2.raw)";

/// Quarantined rows matching `f`, oldest first (so a batch's rows come in file order), at
/// most `limit`.
pub fn list(
    conn: &mut DbConnection,
    f: &QuarantineFilter,
    limit: i64,
) -> Result<Vec<QuarantinedRow>, StoreError> {
    let mut q = qr::quarantined_rows.into_boxed();
    if let Some(d) = &f.domain {
        q = q.filter(qr::domain.eq(d.clone()));
    }
    if let Some(s) = &f.system {
        q = q.filter(qr::system.eq(s.clone()));
    }
    match f.batch_id {
        Some(b) => q = q.filter(qr::batch_id.eq(b)),
        None => {
            q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                LATEST_OCCURRENCE,
            ))
        }
    }
    if let Some(id) = f.after_id {
        q = q.filter(qr::id.gt(id));
    }
    Ok(q.order(qr::id)
        .limit(limit)
        .select(QuarantinedRow::as_select())
        .load(conn)?)
}

/// One quarantined row by its id.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<QuarantinedRow>, StoreError> {
    Ok(qr::quarantined_rows
        .filter(qr::id.eq(id))
        .select(QuarantinedRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// (domain, system, reason, rows) of the distinct quarantined rows (each counted once
/// however often it was re-loaded), of one domain or all.
pub fn summary(
    conn: &mut DbConnection,
    domain: Option<&str>,
) -> Result<Vec<(String, String, String, i64)>, StoreError> {
    let mut q = qr::quarantined_rows
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            LATEST_OCCURRENCE,
        ))
        .group_by((qr::domain, qr::system, qr::reason))
        .select((
            qr::domain,
            qr::system,
            qr::reason,
            diesel::dsl::count_star(),
        ))
        .order((qr::domain, qr::system, qr::reason))
        .into_boxed();
    if let Some(d) = domain {
        q = q.filter(qr::domain.eq(d.to_string()));
    }
    Ok(q.load(conn)?)
}
