//! The cross-reference: `(domain, system, source_id) -> golden ID` for every current staged
//! record, rewritten by each reconcile run for the records whose golden ID or staging
//! version changed. `staging_id` is the staging version the run saw, so the next run can
//! tell changed records from unchanged ones without comparing attributes.

use crate::schema::xref::dsl as x;
use crate::values::column;
use crate::{on_backend, DbConnection, StoreError};
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

/// One page of a domain's xref in (system, source_id) order, after the key `after`.
pub fn page(
    conn: &mut DbConnection,
    domain: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> Result<Vec<XrefRow>, StoreError> {
    let mut q = x::xref.filter(x::domain.eq(domain)).into_boxed();
    if let Some((system, source_id)) = after {
        q = q.filter(
            x::system
                .gt(system)
                .or(x::system.eq(system).and(x::source_id.gt(source_id))),
        );
    }
    Ok(q.order((x::system, x::source_id))
        .limit(limit)
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

/// Notes that real-time matching wrote the xref rows of `marks` (system, source_id, and the
/// staging version its row had: what the last run saw), so the next reconcile finds them
/// without scanning xref. A key already marked keeps its first mark.
pub fn mark_realtime(
    conn: &mut DbConnection,
    domain: &str,
    marks: &[(String, String, Option<i64>)],
) -> Result<(), StoreError> {
    use crate::schema::xref_realtime::dsl as rt;
    let rows: Vec<_> = marks
        .iter()
        .map(|(s, id, seen)| {
            (
                rt::domain.eq(domain),
                rt::system.eq(s),
                rt::source_id.eq(id),
                rt::seen_staging_id.eq(seen.filter(|v| *v != 0)),
            )
        })
        .collect();
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(rt::xref_realtime)
            .values(part)
            .on_conflict_do_nothing()
            .execute(c))?;
    }
    Ok(())
}

/// An xref row's record: (system, source_id). (Not `mdm_core::RecordKey`, whose parts are
/// validated.)
pub type XrefKey = (String, String);

/// The staging versions the last run saw of records that real-time matching wrote since:
/// (system, source_id) -> version.
pub fn realtime_seen(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(XrefKey, i64)>, StoreError> {
    use crate::schema::xref_realtime::dsl as rt;
    let rows: Vec<(String, String, Option<i64>)> = rt::xref_realtime
        .filter(rt::domain.eq(domain))
        .select((rt::system, rt::source_id, rt::seen_staging_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, id, seen)| Some(((s, id), seen?)))
        .collect())
}

/// Forgets the real-time marks of a domain whose xref row a run has since rewritten (or
/// removed): what is left names the rows still at staging version 0.
pub fn clear_realtime(conn: &mut DbConnection, domain: &str) -> Result<usize, StoreError> {
    use crate::schema::xref_realtime::dsl as rt;
    use diesel::dsl::{exists, not};
    Ok(diesel::delete(
        rt::xref_realtime
            .filter(rt::domain.eq(domain))
            .filter(not(exists(
                x::xref
                    .filter(x::domain.eq(rt::domain))
                    .filter(x::system.eq(rt::system))
                    .filter(x::source_id.eq(rt::source_id))
                    .filter(x::staging_id.eq(0)),
            ))),
    )
    .execute(conn)?)
}

/// Rows of a domain, counted up to `limit`: `min(count, limit)`, without reading past the
/// first `limit` rows (a threshold check at a million records need not count them all).
pub fn count_up_to(conn: &mut DbConnection, domain: &str, limit: i64) -> Result<i64, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let row: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM xref WHERE domain = $1 LIMIT $2) AS first_rows",
    )
    .bind::<diesel::sql_types::Text, _>(domain)
    .bind::<diesel::sql_types::BigInt, _>(limit.max(0))
    .get_result(conn)?;
    Ok(row.n)
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
