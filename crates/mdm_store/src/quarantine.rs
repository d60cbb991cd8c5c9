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
