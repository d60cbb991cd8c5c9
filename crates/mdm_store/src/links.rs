//! Staged links: what the sources said about links between their records, version by
//! version, like [`crate::staging`] for records.
//!
//! A link is identified by (from domain, type, system, origin, from source ID, to source
//! ID): both ends are records of `system`. Its rows form a version chain with at most one
//! live row (`current`, or `deleted` when a snapshot no longer had it); attributes are
//! canonical JSON with a content hash, so a re-load changes nothing. Links of origin
//! `reference` come from a record attribute and are replaced when the record changes.
//! [`resolved`] joins the current links of a type to the xref of both ends.

use crate::schema::source_systems::dsl as ss;
use crate::schema::staging_links::dsl as sl;
use crate::schema::xref::dsl as x;
use crate::staging::RecordStatus;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use std::collections::HashMap;

/// Rows per multi-row INSERT (13 binds each) and keys per `IN (...)` lookup.
const ROWS_PER_INSERT: usize = 2000;
const KEYS_PER_LOOKUP: usize = 10_000;

/// The identity of a link within one (from domain, system).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkKey {
    pub rel_type: String,
    pub origin: String,
    pub from_source_id: String,
    pub to_source_id: String,
}

/// The live version of a link, as ingest needs it to classify an incoming one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveLink {
    pub id: i64,
    pub version: i32,
    pub status: RecordStatus,
    pub content_hash: String,
    pub seen_batch_id: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::staging_links)]
pub struct NewLink<'a> {
    pub from_domain: &'a str,
    pub rel_type: String,
    pub system: &'a str,
    pub origin: &'static str,
    pub from_source_id: String,
    pub to_source_id: String,
    pub version: i32,
    pub status: &'static str,
    pub attributes: String,
    pub content_hash: String,
    pub batch_id: i64,
    pub loaded_at: NaiveDateTime,
    pub seen_batch_id: i64,
}

/// A stored link version (tests, exports).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::staging_links)]
pub struct StagedLink {
    pub id: i64,
    pub from_domain: String,
    pub rel_type: String,
    pub system: String,
    pub origin: String,
    pub from_source_id: String,
    pub to_source_id: String,
    pub version: i32,
    pub status: String,
    pub attributes: String,
    pub content_hash: String,
    pub batch_id: i64,
    pub loaded_at: NaiveDateTime,
    pub seen_batch_id: i64,
    pub ended_batch_id: Option<i64>,
    pub ended_at: Option<NaiveDateTime>,
}

fn live_predicate() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>("staging_links.status <> 'superseded'")
}

/// Live versions of the given links of one (from domain, system).
pub fn lookup_live(
    conn: &mut DbConnection,
    from_domain: &str,
    system: &str,
    keys: &[LinkKey],
) -> Result<HashMap<LinkKey, LiveLink>, StoreError> {
    let mut froms: Vec<&str> = keys.iter().map(|k| k.from_source_id.as_str()).collect();
    froms.sort_unstable();
    froms.dedup();
    let wanted: std::collections::HashSet<&LinkKey> = keys.iter().collect();
    let mut out = HashMap::with_capacity(keys.len());
    for part in froms.chunks(KEYS_PER_LOOKUP) {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            i32,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> = sl::staging_links
            .filter(sl::from_domain.eq(from_domain))
            .filter(sl::system.eq(system))
            .filter(sl::from_source_id.eq_any(part))
            .filter(live_predicate())
            .select((
                sl::id,
                sl::rel_type,
                sl::origin,
                sl::from_source_id,
                sl::to_source_id,
                sl::version,
                sl::status,
                sl::content_hash,
                sl::seen_batch_id,
            ))
            .load(conn)?;
        for (id, rel_type, origin, from, to, version, status, content_hash, seen_batch_id) in rows {
            let key = LinkKey {
                rel_type,
                origin,
                from_source_id: from,
                to_source_id: to,
            };
            if !wanted.contains(&key) {
                continue;
            }
            let status = RecordStatus::parse(&status)?;
            out.insert(
                key,
                LiveLink {
                    id,
                    version,
                    status,
                    content_hash,
                    seen_batch_id,
                },
            );
        }
    }
    Ok(out)
}

/// Current `reference` links of one type whose `from` (or `to`, when `by_to`) end is one of
/// `source_ids`: (id, from source ID, to source ID). A changed record's reference links.
pub fn live_references(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
    system: &str,
    by_to: bool,
    source_ids: &[&str],
) -> Result<Vec<(i64, String, String)>, StoreError> {
    let mut out = Vec::new();
    for part in source_ids.chunks(KEYS_PER_LOOKUP) {
        let q = sl::staging_links
            .filter(sl::from_domain.eq(from_domain))
            .filter(sl::rel_type.eq(rel_type))
            .filter(sl::system.eq(system))
            .filter(sl::origin.eq("reference"))
            .filter(sl::status.eq(RecordStatus::Current.as_str()))
            .select((sl::id, sl::from_source_id, sl::to_source_id))
            .into_boxed();
        let q = if by_to {
            q.filter(sl::to_source_id.eq_any(part))
        } else {
            q.filter(sl::from_source_id.eq_any(part))
        };
        out.extend(q.load::<(i64, String, String)>(conn)?);
    }
    Ok(out)
}

/// Marks deleted the current `reference` links of one type carried by records of
/// (`carrier_domain`, `system`) that snapshot batch `batch_id` deleted: a record that is gone
/// names nothing, and its links would otherwise wait for ever. Returns how many.
#[allow(clippy::too_many_arguments)]
pub fn delete_references_of_deleted(
    conn: &mut DbConnection,
    carrier_domain: &str,
    system: &str,
    batch_id: i64,
    from_domain: &str,
    rel_type: &str,
    by_to: bool,
) -> Result<u64, StoreError> {
    use crate::schema::staging_records::dsl as sr;
    // Two steps, not a subquery: the tables are not joinable in the schema, and a
    // snapshot's deletions are few.
    let gone: Vec<String> = sr::staging_records
        .filter(sr::domain.eq(carrier_domain))
        .filter(sr::system.eq(system))
        .filter(sr::status.eq(RecordStatus::Deleted.as_str()))
        .filter(sr::ended_batch_id.eq(Some(batch_id)))
        .select(sr::source_id)
        .load(conn)?;
    let mut n = 0;
    for part in gone.chunks(KEYS_PER_LOOKUP) {
        let refs: Vec<&str> = part.iter().map(String::as_str).collect();
        let ids: Vec<i64> = live_references(conn, from_domain, rel_type, system, by_to, &refs)?
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        n += delete(conn, batch_id, &ids)?;
    }
    Ok(n)
}

/// Notes that `batch_id` saw these unchanged links.
pub fn mark_seen(conn: &mut DbConnection, batch_id: i64, ids: &[i64]) -> Result<(), StoreError> {
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        diesel::update(sl::staging_links.filter(sl::id.eq_any(part)))
            .set(sl::seen_batch_id.eq(batch_id))
            .execute(conn)?;
    }
    Ok(())
}

/// Ends live versions that a successor from `batch_id` replaces.
pub fn end_versions(conn: &mut DbConnection, batch_id: i64, ids: &[i64]) -> Result<(), StoreError> {
    let t = now();
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        diesel::update(sl::staging_links.filter(sl::id.eq_any(part)))
            .set((
                sl::status.eq(RecordStatus::Superseded.as_str()),
                sl::ended_batch_id.eq(Some(batch_id)),
                sl::ended_at.eq(Some(t)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Marks current links deleted (a record no longer names them).
pub fn delete(conn: &mut DbConnection, batch_id: i64, ids: &[i64]) -> Result<u64, StoreError> {
    let t = now();
    let mut n = 0;
    for part in ids.chunks(KEYS_PER_LOOKUP) {
        n += diesel::update(sl::staging_links.filter(sl::id.eq_any(part)))
            .set((
                sl::status.eq(RecordStatus::Deleted.as_str()),
                sl::ended_batch_id.eq(Some(batch_id)),
                sl::ended_at.eq(Some(t)),
            ))
            .execute(conn)?;
    }
    Ok(n as u64)
}

pub fn insert(conn: &mut DbConnection, rows: &[NewLink<'_>]) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(sl::staging_links).values(part).execute(c))?;
    }
    Ok(())
}

/// Snapshot semantics for a links file: current `file` links of (from domain, system) that
/// `batch_id` did not see are marked deleted. Returns how many.
pub fn delete_unseen(
    conn: &mut DbConnection,
    from_domain: &str,
    system: &str,
    batch_id: i64,
) -> Result<u64, StoreError> {
    let n = diesel::update(
        sl::staging_links
            .filter(sl::from_domain.eq(from_domain))
            .filter(sl::system.eq(system))
            .filter(sl::origin.eq("file"))
            .filter(sl::status.eq(RecordStatus::Current.as_str()))
            .filter(sl::seen_batch_id.ne(batch_id)),
    )
    .set((
        sl::status.eq(RecordStatus::Deleted.as_str()),
        sl::ended_batch_id.eq(Some(batch_id)),
        sl::ended_at.eq(Some(now())),
    ))
    .execute(conn)?;
    Ok(n as u64)
}

/// Live links (current or deleted) starting in `from_domain`, by key.
pub fn live(conn: &mut DbConnection, from_domain: &str) -> Result<Vec<StagedLink>, StoreError> {
    Ok(sl::staging_links
        .filter(sl::from_domain.eq(from_domain))
        .filter(live_predicate())
        .order((
            sl::rel_type,
            sl::system,
            sl::origin,
            sl::from_source_id,
            sl::to_source_id,
        ))
        .select(StagedLink::as_select())
        .load(conn)?)
}

/// A current link with the golden IDs of its ends (through xref) and its system's trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRow {
    pub system: String,
    pub origin: String,
    pub from_source_id: String,
    pub to_source_id: String,
    pub version: i32,
    pub batch_id: i64,
    pub attributes: String,
    pub trust_rank: Option<i32>,
    pub from_golden: Option<String>,
    pub to_golden: Option<String>,
}

/// Every current link of type (`from_domain`, `rel_type`) with the golden IDs of its ends,
/// in one query: the xref of the from domain and of `to_domain`, joined on both ends.
pub fn resolved(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
    to_domain: &str,
) -> Result<Vec<ResolvedRow>, StoreError> {
    let (fx, tx) = diesel::alias!(crate::schema::xref as fx, crate::schema::xref as tx);
    type Row = (
        String,
        String,
        String,
        String,
        i32,
        i64,
        String,
        Option<i32>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sl::staging_links
        .left_join(
            fx.on(fx
                .field(x::domain)
                .eq(sl::from_domain)
                .and(fx.field(x::system).eq(sl::system))
                .and(fx.field(x::source_id).eq(sl::from_source_id))),
        )
        .left_join(
            tx.on(tx
                .field(x::domain)
                .eq(to_domain.to_string())
                .and(tx.field(x::system).eq(sl::system))
                .and(tx.field(x::source_id).eq(sl::to_source_id))),
        )
        .left_join(ss::source_systems.on(ss::name.eq(sl::system)))
        .filter(sl::from_domain.eq(from_domain))
        .filter(sl::rel_type.eq(rel_type))
        .filter(sl::status.eq(RecordStatus::Current.as_str()))
        .select((
            sl::system,
            sl::origin,
            sl::from_source_id,
            sl::to_source_id,
            sl::version,
            sl::batch_id,
            sl::attributes,
            ss::trust_rank.nullable(),
            fx.field(x::golden_id).nullable(),
            tx.field(x::golden_id).nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ResolvedRow {
            system: r.0,
            origin: r.1,
            from_source_id: r.2,
            to_source_id: r.3,
            version: r.4,
            batch_id: r.5,
            attributes: r.6,
            trust_rank: r.7,
            from_golden: r.8,
            to_golden: r.9,
        })
        .collect())
}

/// Undoes what links batch `batch_id` wrote, for a load refused as garbage: its versions are
/// removed and the versions it ended are current again. Run it in a write transaction.
pub fn roll_back_batch(conn: &mut DbConnection, batch_id: i64) -> Result<u64, StoreError> {
    let removed =
        diesel::delete(sl::staging_links.filter(sl::batch_id.eq(batch_id))).execute(conn)?;
    diesel::update(sl::staging_links.filter(sl::ended_batch_id.eq(batch_id)))
        .set((
            sl::status.eq(RecordStatus::Current.as_str()),
            sl::ended_batch_id.eq(None::<i64>),
            sl::ended_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(removed as u64)
}
