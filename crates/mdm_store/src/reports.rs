//! Aggregate queries for the run report: staged records per system and status, and
//! data-quality findings (quarantined rows) per system and reason.

use crate::schema::quarantined_rows::dsl as qr;
use crate::schema::staging_records::dsl as sr;
use crate::{DbConnection, StoreError};
use diesel::prelude::*;

/// (system, status, records) for the live versions (current or deleted) of a domain.
pub fn staged_counts(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(sr::staging_records
        .filter(sr::domain.eq(domain))
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "staging_records.status <> 'superseded'",
        ))
        .group_by((sr::system, sr::status))
        .select((sr::system, sr::status, diesel::dsl::count_star()))
        .order((sr::system, sr::status))
        .load(conn)?)
}

/// (system, reason, rows) of quarantined rows of a domain.
pub fn quarantine_counts(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(qr::quarantined_rows
        .filter(qr::domain.eq(domain))
        .group_by((qr::system, qr::reason))
        .select((qr::system, qr::reason, diesel::dsl::count_star()))
        .order((qr::system, qr::reason))
        .load(conn)?)
}
