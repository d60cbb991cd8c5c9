//! Aggregate queries for the run report: staged records per system and status, and
//! data-quality findings (quarantined rows) per system and reason.

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

/// (system, reason, rows) of quarantined rows of a domain, each distinct row counted once
/// however often the same file was re-loaded ([`crate::quarantine::summary`]).
pub fn quarantine_counts(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(crate::quarantine::summary(conn, Some(domain))?
        .into_iter()
        .map(|(_, system, reason, n)| (system, reason, n))
        .collect())
}

#[derive(QueryableByName)]
struct SystemRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    system: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    records: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    duplicated: i64,
}

/// (system, records in xref, records whose golden record has another record of the same
/// system) for a domain: duplicates within each source.
pub fn duplicates_by_system(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let rows: Vec<SystemRow> = diesel::sql_query(
        "SELECT system, CAST(SUM(n) AS BIGINT) AS records, \
                CAST(SUM(CASE WHEN n > 1 THEN n ELSE 0 END) AS BIGINT) AS duplicated \
         FROM (SELECT system, golden_id, COUNT(*) AS n FROM xref WHERE domain = $1 \
               GROUP BY system, golden_id) per_golden \
         GROUP BY system ORDER BY system",
    )
    .bind::<diesel::sql_types::Text, _>(domain)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| (r.system, r.records, r.duplicated))
        .collect())
}
