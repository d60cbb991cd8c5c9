//! The cross-reference: `(domain, system, source_id) -> golden ID` for every current staged
//! record, rewritten by each reconcile run for the records whose golden ID or staging
//! version changed. `staging_id` is the staging version the run saw, so the next run can
//! tell changed records from unchanged ones without comparing attributes.

use crate::schema::xref::dsl as x;
use crate::values::column;
use crate::{DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

const ROWS_PER_INSERT: usize = 4000;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::schema::xref)]
pub struct XrefRow {
    pub domain: String,
    pub system: String,
    pub source_id: String,
    pub golden_id: String,
    pub staging_id: i64,
    pub run_id: i64,
    pub updated_at: NaiveDateTime,
}

/// The golden ID of one source record (after the last reconcile run), or `None` when the
/// record is not staged or no run has seen it yet.
pub fn lookup(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    source_id: &str,
) -> Result<Option<XrefRow>, StoreError> {
    Ok(x::xref
        .find((domain, system, source_id))
        .select(XrefRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// A source record's golden record, found through its xref entry in one indexed join
/// (primary key of xref, then primary key of golden_records) instead of two round trips:
/// `(source_id, record)`. `None` when the record has no xref entry or its golden ID names
/// no golden record of the domain; a retired record is returned as found (the caller
/// follows the redirect).
pub fn lookup_golden(
    conn: &mut DbConnection,
    domain: &str,
    system: &str,
    source_id: &str,
) -> Result<Option<(String, crate::golden::GoldenRecord)>, StoreError> {
    use crate::golden::GoldenRecord;
    use crate::schema::golden_records::dsl as gr;
    Ok(x::xref
        .inner_join(
            gr::golden_records.on(gr::golden_id.eq(x::golden_id).and(gr::domain.eq(x::domain))),
        )
        .filter(x::domain.eq(domain))
        .filter(x::system.eq(system))
        .filter(x::source_id.eq(source_id))
        .select((x::source_id, GoldenRecord::as_select()))
        .get_result(conn)
        .optional()?)
}

/// The whole xref of a domain, ordered by (system, source_id).
pub fn load(conn: &mut DbConnection, domain: &str) -> Result<Vec<XrefRow>, StoreError> {
    Ok(x::xref
        .filter(x::domain.eq(domain))
        .order((x::system, x::source_id))
        .select(XrefRow::as_select())
        .load(conn)?)
}

/// Source records of one golden ID.
pub fn members(conn: &mut DbConnection, golden_id: &str) -> Result<Vec<XrefRow>, StoreError> {
    Ok(x::xref
        .filter(x::golden_id.eq(golden_id))
        .order((x::system, x::source_id))
        .select(XrefRow::as_select())
        .load(conn)?)
}

/// Removes the rows of the given (system, source_id) keys of a domain.
pub fn delete_keys(
    conn: &mut DbConnection,
    domain: &str,
    keys: &[(String, String)],
) -> Result<(), StoreError> {
    for (system, ids) in crate::by_system(keys) {
        for part in ids.chunks(10_000) {
            diesel::delete(
                x::xref
                    .filter(x::domain.eq(domain))
                    .filter(x::system.eq(system))
                    .filter(x::source_id.eq_any(part)),
            )
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Inserts rows (their keys must not be present: [`delete_keys`] first).
pub fn insert(conn: &mut DbConnection, rows: &[XrefRow]) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => {
            use diesel::sql_types::{BigInt, Text, Timestamp};
            crate::values::sqlite_insert(
                c,
                "INSERT INTO xref \
                   (domain, system, source_id, golden_id, staging_id, run_id, updated_at) \
                 VALUES",
                7,
                rows,
                |q, r| {
                    q.bind::<Text, _>(&r.domain)
                        .bind::<Text, _>(&r.system)
                        .bind::<Text, _>(&r.source_id)
                        .bind::<Text, _>(&r.golden_id)
                        .bind::<BigInt, _>(r.staging_id)
                        .bind::<BigInt, _>(r.run_id)
                        .bind::<Timestamp, _>(r.updated_at)
                },
            )?;
        }
        DbConnection::Pg(c) => {
            for part in rows.chunks(ROWS_PER_INSERT) {
                diesel::insert_into(x::xref).values(part).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Rewrites rows in place (golden ID, staging version, run). In place, not delete and
/// insert: the row keeps its place.
pub fn update(conn: &mut DbConnection, rows: &[XrefRow]) -> Result<(), StoreError> {
    update_rows(conn, rows, true)
}

/// Rewrites the staging version and run of rows whose golden ID stays as it is. The golden-ID
/// index is left alone: SQLite rewrites the entries of every indexed column an UPDATE sets,
/// even to the same value, and a nightly run moves many versions but few golden IDs.
pub fn update_versions(conn: &mut DbConnection, rows: &[XrefRow]) -> Result<(), StoreError> {
    update_rows(conn, rows, false)
}

fn update_rows(
    conn: &mut DbConnection,
    rows: &[XrefRow],
    set_golden: bool,
) -> Result<(), StoreError> {
    let golden = if set_golden {
        "golden_id = v.golden_id, "
    } else {
        ""
    };
    match conn {
        DbConnection::Sqlite(c) => {
            use crate::values::{placeholders, ROWS_PER_UPDATE};
            use diesel::sql_types::{BigInt, Text, Timestamp};
            for part in rows.chunks(ROWS_PER_UPDATE) {
                let sql = format!(
                    "UPDATE xref SET {}staging_id = v.column5, \
                     run_id = v.column6, updated_at = v.column7 FROM (VALUES {}) AS v \
                     WHERE xref.domain = v.column1 AND xref.system = v.column2 \
                     AND xref.source_id = v.column3",
                    golden.replace("v.golden_id", "v.column4"),
                    placeholders(part.len(), 7)
                );
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
                for r in part {
                    q = q
                        .bind::<Text, _>(&r.domain)
                        .bind::<Text, _>(&r.system)
                        .bind::<Text, _>(&r.source_id)
                        .bind::<Text, _>(&r.golden_id)
                        .bind::<BigInt, _>(r.staging_id)
                        .bind::<BigInt, _>(r.run_id)
                        .bind::<Timestamp, _>(r.updated_at);
                }
                q.execute(c)?;
            }
        }
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Text, Timestamp};
            // One statement per slice: a round trip per row would cost more than the update.
            for part in rows.chunks(ROWS_PER_INSERT) {
                diesel::sql_query(format!(
                    "UPDATE xref AS x SET {golden}staging_id = v.staging_id, \
                     run_id = v.run_id, updated_at = v.updated_at \
                     FROM unnest($1, $2, $3, $4, $5, $6, $7) \
                       AS v(domain, system, source_id, golden_id, staging_id, run_id, updated_at) \
                     WHERE x.domain = v.domain AND x.system = v.system AND x.source_id = v.source_id",
                ))
                .bind::<Array<Text>, _>(column(part, |r| r.domain.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.system.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.source_id.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.golden_id.as_str()))
                .bind::<Array<BigInt>, _>(column(part, |r| r.staging_id))
                .bind::<Array<BigInt>, _>(column(part, |r| r.run_id))
                .bind::<Array<Timestamp>, _>(column(part, |r| r.updated_at))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Rows of a domain (its staged records that a run has given a golden ID).
pub fn count(conn: &mut DbConnection, domain: &str) -> Result<i64, StoreError> {
    Ok(x::xref
        .filter(x::domain.eq(domain))
        .count()
        .get_result(conn)?)
}

/// Rows per golden ID of a domain: (golden_id, count) for IDs with more than `min` records.
pub fn cluster_sizes(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(x::xref
        .filter(x::domain.eq(domain))
        .group_by(x::golden_id)
        .select((x::golden_id, diesel::dsl::count_star()))
        .load(conn)?)
}

/// xref rows of the given keys (system, source_id) of a domain.
pub fn by_keys(
    conn: &mut DbConnection,
    domain: &str,
    keys: &[(String, String)],
) -> Result<Vec<XrefRow>, StoreError> {
    let mut out = Vec::new();
    for (system, ids) in crate::by_system(keys) {
        for part in ids.chunks(5_000) {
            out.extend(
                x::xref
                    .filter(x::domain.eq(domain))
                    .filter(x::system.eq(system))
                    .filter(x::source_id.eq_any(part))
                    .select(XrefRow::as_select())
                    .load(conn)?,
            );
        }
    }
    Ok(out)
}

/// xref rows of the given golden IDs.
pub fn by_golden_ids(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<XrefRow>, StoreError> {
    let mut out = Vec::new();
    for part in ids.chunks(5_000) {
        out.extend(
            x::xref
                .filter(x::golden_id.eq_any(part))
                .select(XrefRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}
