//! Golden records, their history and the redirects of retired IDs.
//!
//! `golden_records` holds one row per canonical ID ever issued: `active`, `retired` (merged
//! into another record; `golden_redirects` says which) or `deleted` (no source record left).
//! Every change is also a row of `golden_history` (version, reason, run, `valid_from`), so a
//! record can be shown as of any time. The reconcile run writes all of it in one
//! transaction with the xref and the change events; readers (the API) use the functions at
//! the end of this module.

use crate::schema::golden_history::dsl as gh;
use crate::schema::golden_records::dsl as gr;
use crate::schema::golden_redirects::dsl as rd;
use crate::values::{column, PG_ROWS_PER_UNNEST};
use crate::{on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Rows per multi-row INSERT (11-12 binds per row stays under SQLite's parameter limit).
const ROWS_PER_INSERT: usize = 2000;
const KEYS_PER_LOOKUP: usize = 10_000;

/// A golden record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::schema::golden_records)]
pub struct GoldenRecord {
    pub golden_id: String,
    pub domain: String,
    pub version: i32,
    /// `active`, `retired` or `deleted`.
    pub status: String,
    /// JSON object: canonical attribute name -> value.
    pub attributes: String,
    /// JSON object: attribute -> {system, source_id, batch_id, rule}.
    pub lineage: String,
    /// Source records in the cluster (0 once retired or deleted).
    pub members: i32,
    /// The run that last changed it.
    pub run_id: i64,
    pub created_run_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One version of a golden record.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::golden_history)]
pub struct HistoryEntry {
    pub id: i64,
    pub domain: String,
    pub golden_id: String,
    pub version: i32,
    /// `created`, `updated`, `merged`, `split` or `deleted`.
    pub reason: String,
    /// The record's status from this version on.
    pub status: String,
    pub attributes: String,
    pub lineage: String,
    /// JSON with the IDs involved (`absorbed`, `split_from`, `merged_into`), if any.
    pub detail: Option<String>,
    pub run_id: i64,
    pub valid_from: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::golden_history)]
pub struct NewHistoryEntry {
    pub domain: String,
    pub golden_id: String,
    pub version: i32,
    pub reason: String,
    pub status: String,
    pub attributes: String,
    pub lineage: String,
    pub detail: Option<String>,
    pub run_id: i64,
    pub valid_from: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::schema::golden_redirects)]
pub struct Redirect {
    pub retired_id: String,
    pub domain: String,
    pub survivor_id: String,
    pub run_id: i64,
    pub created_at: NaiveDateTime,
}

// ---- writes (reconcile) ----

/// Every golden record of a domain with status `active`.
pub fn load_active(conn: &mut DbConnection, domain: &str) -> Result<Vec<GoldenRecord>, StoreError> {
    Ok(gr::golden_records
        .filter(gr::domain.eq(domain))
        .filter(gr::status.eq("active"))
        .order(gr::golden_id)
        .select(GoldenRecord::as_select())
        .load(conn)?)
}

/// A page of a domain's active golden records as [`load_active`] reads them, by ID after
/// `after`, but with their attribute and lineage JSON left empty: what a run over millions
/// of records holds of each, reading the JSON a chunk at a time ([`by_ids`]).
pub fn active_heads_page(
    conn: &mut DbConnection,
    domain: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<GoldenRecord>, StoreError> {
    let empty = || diesel::dsl::sql::<diesel::sql_types::Text>("''");
    Ok(gr::golden_records
        .filter(gr::domain.eq(domain))
        .filter(gr::status.eq("active"))
        .filter(gr::golden_id.gt(after))
        .order(gr::golden_id)
        .limit(limit)
        .select((
            gr::golden_id,
            gr::domain,
            gr::version,
            gr::status,
            empty(),
            empty(),
            gr::members,
            gr::run_id,
            gr::created_run_id,
            gr::created_at,
            gr::updated_at,
        ))
        .load::<GoldenRecord>(conn)?)
}

/// Inserts or replaces golden records by ID (and their search values).
pub fn put_records(conn: &mut DbConnection, rows: &[GoldenRecord]) -> Result<(), StoreError> {
    crate::search::sync(conn, rows)?;
    for part in rows.chunks(ROWS_PER_INSERT) {
        let ids: Vec<&str> = part.iter().map(|r| r.golden_id.as_str()).collect();
        diesel::delete(gr::golden_records.filter(gr::golden_id.eq_any(&ids))).execute(conn)?;
        match conn {
            DbConnection::Sqlite(c) => {
                use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
                crate::values::sqlite_insert(
                    c,
                    "INSERT INTO golden_records (golden_id, domain, version, status, attributes, \
                       lineage, members, run_id, created_run_id, created_at, updated_at) VALUES",
                    11,
                    part,
                    |q, r| {
                        q.bind::<Text, _>(&r.golden_id)
                            .bind::<Text, _>(&r.domain)
                            .bind::<Integer, _>(r.version)
                            .bind::<Text, _>(&r.status)
                            .bind::<Text, _>(&r.attributes)
                            .bind::<Text, _>(&r.lineage)
                            .bind::<Integer, _>(r.members)
                            .bind::<BigInt, _>(r.run_id)
                            .bind::<BigInt, _>(r.created_run_id)
                            .bind::<Timestamp, _>(r.created_at)
                            .bind::<Timestamp, _>(r.updated_at)
                    },
                )?;
            }
            DbConnection::Pg(c) => {
                diesel::insert_into(gr::golden_records)
                    .values(part)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Rewrites existing golden records in place (a new version of the same ID). Unlike
/// [`put_records`], the row keeps its place, and the ID and status indexes are left alone;
/// search values are rewritten only where they change.
pub fn update_records(conn: &mut DbConnection, rows: &[GoldenRecord]) -> Result<(), StoreError> {
    crate::search::sync(conn, rows)?;
    match conn {
        DbConnection::Sqlite(c) => {
            use crate::values::{placeholders, ROWS_PER_UPDATE};
            use diesel::sql_types::{BigInt, Integer, Text, Timestamp};
            for part in rows.chunks(ROWS_PER_UPDATE) {
                let sql = format!(
                    "UPDATE golden_records SET version = v.column2, status = v.column3, \
                     attributes = v.column4, lineage = v.column5, members = v.column6, \
                     run_id = v.column7, updated_at = v.column8 \
                     FROM (VALUES {}) AS v WHERE golden_records.golden_id = v.column1",
                    placeholders(part.len(), 8)
                );
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
                for r in part {
                    q = q
                        .bind::<Text, _>(&r.golden_id)
                        .bind::<Integer, _>(r.version)
                        .bind::<Text, _>(&r.status)
                        .bind::<Text, _>(&r.attributes)
                        .bind::<Text, _>(&r.lineage)
                        .bind::<Integer, _>(r.members)
                        .bind::<BigInt, _>(r.run_id)
                        .bind::<Timestamp, _>(r.updated_at);
                }
                q.execute(c)?;
            }
        }
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Integer, Text, Timestamp};
            for part in rows.chunks(ROWS_PER_INSERT) {
                diesel::sql_query(
                    "UPDATE golden_records AS g SET version = v.version, status = v.status, \
                     attributes = v.attributes, lineage = v.lineage, members = v.members, \
                     run_id = v.run_id, updated_at = v.updated_at \
                     FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) \
                       AS v(golden_id, version, status, attributes, lineage, members, run_id, updated_at) \
                     WHERE g.golden_id = v.golden_id",
                )
                .bind::<Array<Text>, _>(column(part, |r| r.golden_id.as_str()))
                .bind::<Array<Integer>, _>(column(part, |r| r.version))
                .bind::<Array<Text>, _>(column(part, |r| r.status.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.attributes.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.lineage.as_str()))
                .bind::<Array<Integer>, _>(column(part, |r| r.members))
                .bind::<Array<BigInt>, _>(column(part, |r| r.run_id))
                .bind::<Array<Timestamp>, _>(column(part, |r| r.updated_at))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

pub fn insert_history(conn: &mut DbConnection, rows: &[NewHistoryEntry]) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => {
            use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
            crate::values::sqlite_insert(
                c,
                "INSERT INTO golden_history (domain, golden_id, version, reason, status, \
                   attributes, lineage, detail, run_id, valid_from) VALUES",
                10,
                rows,
                |q, r| {
                    q.bind::<Text, _>(&r.domain)
                        .bind::<Text, _>(&r.golden_id)
                        .bind::<Integer, _>(r.version)
                        .bind::<Text, _>(&r.reason)
                        .bind::<Text, _>(&r.status)
                        .bind::<Text, _>(&r.attributes)
                        .bind::<Text, _>(&r.lineage)
                        .bind::<Nullable<Text>, _>(r.detail.as_deref())
                        .bind::<BigInt, _>(r.run_id)
                        .bind::<Timestamp, _>(r.valid_from)
                },
            )?;
        }
        // One array per column (see `matchstate::insert_pairs`).
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
            for part in rows.chunks(PG_ROWS_PER_UNNEST) {
                diesel::sql_query(
                    "INSERT INTO golden_history (domain, golden_id, version, reason, status, \
                       attributes, lineage, detail, run_id, valid_from) \
                     SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind::<Array<Text>, _>(column(part, |r| r.domain.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.golden_id.as_str()))
                .bind::<Array<Integer>, _>(column(part, |r| r.version))
                .bind::<Array<Text>, _>(column(part, |r| r.reason.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.status.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.attributes.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.lineage.as_str()))
                .bind::<Array<Nullable<Text>>, _>(column(part, |r| r.detail.as_deref()))
                .bind::<Array<BigInt>, _>(column(part, |r| r.run_id))
                .bind::<Array<Timestamp>, _>(column(part, |r| r.valid_from))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Records redirects, and re-points older redirects at a retired ID to its survivor, so
/// every redirect resolves in one step.
pub fn insert_redirects(conn: &mut DbConnection, rows: &[Redirect]) -> Result<(), StoreError> {
    for r in rows {
        diesel::update(rd::golden_redirects.filter(rd::survivor_id.eq(&r.retired_id)))
            .set(rd::survivor_id.eq(&r.survivor_id))
            .execute(conn)?;
    }
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(rd::golden_redirects).values(part).execute(c))?;
    }
    Ok(())
}

// ---- reads (API, reports, tests) ----

/// A golden record as a reader asked for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resolved {
    pub record: GoldenRecord,
    /// The ID asked for, when it was retired by a merge and this is its survivor.
    pub redirected_from: Option<String>,
}

/// The golden record `id` of `domain`, following a redirect when `id` was retired by a merge
/// (then `redirected_from` is `Some(id)`). `None` when the ID was never issued in `domain`.
/// A deleted record is returned with status `deleted`.
pub fn get(
    conn: &mut DbConnection,
    domain: &str,
    id: &str,
) -> Result<Option<Resolved>, StoreError> {
    let target: Option<String> = rd::golden_redirects
        .filter(rd::retired_id.eq(id))
        .filter(rd::domain.eq(domain))
        .select(rd::survivor_id)
        .get_result(conn)
        .optional()?;
    let (lookup, redirected_from) = match target {
        Some(s) => (resolve_chain(conn, s)?, Some(id.to_string())),
        None => (id.to_string(), None),
    };
    let record = gr::golden_records
        .find(&lookup)
        .filter(gr::domain.eq(domain))
        .select(GoldenRecord::as_select())
        .get_result(conn)
        .optional()?;
    Ok(record.map(|record| Resolved {
        record,
        redirected_from,
    }))
}

/// Follows redirects to the end (they are kept one step long; this guards older data).
fn resolve_chain(conn: &mut DbConnection, mut id: String) -> Result<String, StoreError> {
    for _ in 0..64 {
        let next: Option<String> = rd::golden_redirects
            .filter(rd::retired_id.eq(&id))
            .select(rd::survivor_id)
            .get_result(conn)
            .optional()?;
        match next {
            Some(n) => id = n,
            None => return Ok(id),
        }
    }
    Err(StoreError::Corrupt(format!("redirect loop at {id}")))
}

/// The survivor a retired ID redirects to, if it was retired by a merge.
pub fn redirect_of(conn: &mut DbConnection, id: &str) -> Result<Option<String>, StoreError> {
    let s: Option<String> = rd::golden_redirects
        .filter(rd::retired_id.eq(id))
        .select(rd::survivor_id)
        .get_result(conn)
        .optional()?;
    s.map(|s| resolve_chain(conn, s)).transpose()
}

/// Every version of golden record `id`, oldest first (no redirect is followed: a retired
/// record's history ends with its `merged` version).
pub fn history(conn: &mut DbConnection, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
    Ok(gh::golden_history
        .filter(gh::golden_id.eq(id))
        .order(gh::version)
        .select(HistoryEntry::as_select())
        .load(conn)?)
}

/// The version of golden record `id` that was valid at `at` (the last one whose
/// `valid_from` is not after it), or `None` if the record did not exist yet.
pub fn as_of(
    conn: &mut DbConnection,
    id: &str,
    at: NaiveDateTime,
) -> Result<Option<HistoryEntry>, StoreError> {
    Ok(gh::golden_history
        .filter(gh::golden_id.eq(id))
        .filter(gh::valid_from.le(at))
        .order(gh::version.desc())
        .select(HistoryEntry::as_select())
        .first(conn)
        .optional()?)
}

/// Golden records of a domain with the given status, ordered by ID, a page at a time.
pub fn list(
    conn: &mut DbConnection,
    domain: &str,
    status: &str,
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<GoldenRecord>, StoreError> {
    let mut q = gr::golden_records
        .filter(gr::domain.eq(domain))
        .filter(gr::status.eq(status))
        .into_boxed();
    if let Some(a) = after_id {
        q = q.filter(gr::golden_id.gt(a));
    }
    Ok(q.order(gr::golden_id)
        .limit(limit)
        .select(GoldenRecord::as_select())
        .load(conn)?)
}

/// Golden records by ID (any status), for the IDs given.
pub fn by_ids(conn: &mut DbConnection, ids: &[&str]) -> Result<Vec<GoldenRecord>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        out.extend(
            gr::golden_records
                .filter(gr::golden_id.eq_any(part))
                .select(GoldenRecord::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// The attribute JSON of the given golden records, by ID (no lineage: for readers that
/// publish values, such as write-back).
pub fn attributes_by_ids(
    conn: &mut DbConnection,
    ids: &[&str],
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        out.extend(
            gr::golden_records
                .filter(gr::golden_id.eq_any(part))
                .select((gr::golden_id, gr::attributes))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}

/// Which of the given IDs name a golden record (any status: active, retired, deleted).
pub fn existing_ids(
    conn: &mut DbConnection,
    ids: &[mdm_core::GoldenId],
) -> Result<std::collections::HashSet<mdm_core::GoldenId>, StoreError> {
    let mut out = std::collections::HashSet::new();
    let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        let found: Vec<String> = gr::golden_records
            .filter(gr::golden_id.eq_any(part))
            .select(gr::golden_id)
            .load(conn)?;
        out.extend(
            found
                .iter()
                .filter_map(|s| mdm_core::GoldenId::parse(s).ok()),
        );
    }
    Ok(out)
}

/// Counts of golden records per status in a domain.
pub fn status_counts(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(gr::golden_records
        .filter(gr::domain.eq(domain))
        .group_by(gr::status)
        .select((gr::status, diesel::dsl::count_star()))
        .order(gr::status)
        .load(conn)?)
}

/// Every redirect of a domain.
pub fn redirects(conn: &mut DbConnection, domain: &str) -> Result<Vec<Redirect>, StoreError> {
    Ok(rd::golden_redirects
        .filter(rd::domain.eq(domain))
        .order(rd::retired_id)
        .select(Redirect::as_select())
        .load(conn)?)
}

/// The xref lookup, `(domain, system, source_id) -> golden ID`, for API callers that read
/// golden records: see [`crate::xref::lookup`].
pub use crate::xref::lookup as xref_lookup;
