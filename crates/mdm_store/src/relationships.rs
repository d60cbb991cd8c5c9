//! Golden relationships, their history, and the relationship types in force.
//!
//! `golden_relationships` holds one row per (from domain, type, from golden ID, to golden
//! ID) ever resolved: `active`, or `ended` once no source link supports it. Every change is
//! also a row of `golden_relationship_history`, so relationships can be read as of any
//! time. The reconcile run writes them in its one transaction, with the change events.

use crate::schema::golden_relationship_history::dsl as rh;
use crate::schema::golden_relationships::dsl as gr;
use crate::schema::relationship_types::dsl as rt;
use crate::{on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Rows per multi-row INSERT (13 binds each stays under both backends' limits).
const ROWS_PER_INSERT: usize = 2000;
const KEYS_PER_LOOKUP: usize = 10_000;

/// A relationship type as stored (`definition` is its JSON).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::relationship_types)]
pub struct TypeRow {
    pub from_domain: String,
    pub name: String,
    pub to_domain: String,
    pub cardinality: String,
    pub definition: String,
    pub updated_at: NaiveDateTime,
}

/// Makes the stored types those given (by key and definition); unchanged rows are left.
pub fn sync_types(conn: &mut DbConnection, types: &[TypeRow]) -> Result<(), StoreError> {
    let stored = load_types(conn)?;
    let same = |a: &TypeRow, b: &TypeRow| {
        (
            &a.from_domain,
            &a.name,
            &a.to_domain,
            &a.cardinality,
            &a.definition,
        ) == (
            &b.from_domain,
            &b.name,
            &b.to_domain,
            &b.cardinality,
            &b.definition,
        )
    };
    if stored.len() == types.len() && types.iter().all(|t| stored.iter().any(|s| same(s, t))) {
        return Ok(());
    }
    conn.write_transaction(|c| {
        diesel::delete(rt::relationship_types).execute(c)?;
        on_backend!(c, c => diesel::insert_into(rt::relationship_types).values(types).execute(c))?;
        Ok(())
    })
}

/// The stored types, by (from domain, name).
pub fn load_types(conn: &mut DbConnection) -> Result<Vec<TypeRow>, StoreError> {
    Ok(rt::relationship_types
        .order((rt::from_domain, rt::name))
        .select(TypeRow::as_select())
        .load(conn)?)
}

/// The types in force, parsed: what ingest derives reference links from and what reconcile
/// runs resolve.
pub fn rules_in_force(
    conn: &mut DbConnection,
) -> Result<mdm_core::relationships::RelationshipRules, StoreError> {
    let types = load_types(conn)?
        .into_iter()
        .map(|row| {
            serde_json::from_str(&row.definition).map_err(|e| {
                StoreError::Corrupt(format!(
                    "relationship type {}/{}: {e}",
                    row.from_domain, row.name
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(mdm_core::relationships::RelationshipRules { types })
}

/// A golden relationship as stored.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, serde::Serialize,
)]
#[diesel(table_name = crate::schema::golden_relationships)]
pub struct Relationship {
    pub from_domain: String,
    pub rel_type: String,
    pub from_golden_id: String,
    pub to_golden_id: String,
    pub to_domain: String,
    /// `active` or `ended`.
    pub status: String,
    pub version: i32,
    /// JSON object: attribute -> value.
    pub attributes: String,
    /// JSON array of the source links behind it.
    pub lineage: String,
    pub run_id: i64,
    pub created_run_id: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// One version of a golden relationship.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::golden_relationship_history)]
pub struct HistoryRow {
    pub id: i64,
    pub from_domain: String,
    pub rel_type: String,
    pub from_golden_id: String,
    pub to_golden_id: String,
    pub to_domain: String,
    pub version: i32,
    /// `added`, `changed` or `ended`.
    pub reason: String,
    pub status: String,
    pub attributes: String,
    pub lineage: String,
    pub run_id: i64,
    pub valid_from: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::golden_relationship_history)]
pub struct NewHistoryRow {
    pub from_domain: String,
    pub rel_type: String,
    pub from_golden_id: String,
    pub to_golden_id: String,
    pub to_domain: String,
    pub version: i32,
    pub reason: String,
    pub status: String,
    pub attributes: String,
    pub lineage: String,
    pub run_id: i64,
    pub valid_from: NaiveDateTime,
}

// ---- writes (reconcile) ----

/// Every stored relationship of one type, active or ended.
pub fn of_type(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
) -> Result<Vec<Relationship>, StoreError> {
    Ok(gr::golden_relationships
        .filter(gr::from_domain.eq(from_domain))
        .filter(gr::rel_type.eq(rel_type))
        .select(Relationship::as_select())
        .load(conn)?)
}

pub fn insert(conn: &mut DbConnection, rows: &[Relationship]) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(gr::golden_relationships).values(part).execute(c))?;
    }
    Ok(())
}

/// Rewrites stored relationships in place (a new version, or ended).
pub fn update(conn: &mut DbConnection, rows: &[Relationship]) -> Result<(), StoreError> {
    for r in rows {
        diesel::update(gr::golden_relationships.find((
            &r.from_domain,
            &r.rel_type,
            &r.from_golden_id,
            &r.to_golden_id,
        )))
        .set(r)
        .execute(conn)?;
    }
    Ok(())
}

pub fn insert_history(conn: &mut DbConnection, rows: &[NewHistoryRow]) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(rh::golden_relationship_history).values(part).execute(c))?;
    }
    Ok(())
}

/// Takes the per-type lock on PostgreSQL, in the caller's transaction: two domains' runs
/// may resolve one type (`supplies`: suppliers and products). SQLite has one writer.
pub fn lock_type(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
) -> Result<(), StoreError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(format!(
                "mdm-relationship-{from_domain}-{rel_type}"
            ))
            .execute(c)?;
    }
    Ok(())
}

// ---- reads (API, export) ----

/// Which end of a relationship a golden record is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Relationships starting at the record.
    Out,
    /// Relationships pointing at it.
    In,
    Both,
}

/// Active relationships of golden record `id`, optionally of one type name, by (type,
/// from, to).
pub fn of_golden(
    conn: &mut DbConnection,
    id: &str,
    direction: Direction,
    rel_type: Option<&str>,
) -> Result<Vec<Relationship>, StoreError> {
    let mut out = Vec::new();
    if direction != Direction::In {
        let mut q = gr::golden_relationships
            .filter(gr::from_golden_id.eq(id))
            .filter(gr::status.eq("active"))
            .select(Relationship::as_select())
            .into_boxed();
        if let Some(t) = rel_type {
            q = q.filter(gr::rel_type.eq(t));
        }
        out.extend(q.load(conn)?);
    }
    if direction != Direction::Out {
        let mut q = gr::golden_relationships
            .filter(gr::to_golden_id.eq(id))
            .filter(gr::status.eq("active"))
            .select(Relationship::as_select())
            .into_boxed();
        if let Some(t) = rel_type {
            q = q.filter(gr::rel_type.eq(t));
        }
        out.extend(q.load(conn)?);
    }
    out.sort_by(|a, b| {
        (&a.rel_type, &a.from_golden_id, &a.to_golden_id).cmp(&(
            &b.rel_type,
            &b.from_golden_id,
            &b.to_golden_id,
        ))
    });
    out.dedup_by(|a, b| {
        (
            &a.from_domain,
            &a.rel_type,
            &a.from_golden_id,
            &a.to_golden_id,
        ) == (
            &b.from_domain,
            &b.rel_type,
            &b.from_golden_id,
            &b.to_golden_id,
        )
    });
    Ok(out)
}

/// The relationships of golden record `id` as they were at `at`: per relationship the last
/// version valid then, if it was active.
pub fn of_golden_as_of(
    conn: &mut DbConnection,
    id: &str,
    at: NaiveDateTime,
) -> Result<Vec<HistoryRow>, StoreError> {
    let mut rows: Vec<HistoryRow> = rh::golden_relationship_history
        .filter(rh::from_golden_id.eq(id))
        .filter(rh::valid_from.le(at))
        .select(HistoryRow::as_select())
        .load(conn)?;
    rows.extend(
        rh::golden_relationship_history
            .filter(rh::to_golden_id.eq(id))
            .filter(rh::valid_from.le(at))
            .select(HistoryRow::as_select())
            .load::<HistoryRow>(conn)?,
    );
    // Last version per relationship.
    rows.sort_by(|a, b| {
        (
            &a.from_domain,
            &a.rel_type,
            &a.from_golden_id,
            &a.to_golden_id,
            b.version,
        )
            .cmp(&(
                &b.from_domain,
                &b.rel_type,
                &b.from_golden_id,
                &b.to_golden_id,
                a.version,
            ))
    });
    rows.dedup_by(|a, b| {
        (
            &a.from_domain,
            &a.rel_type,
            &a.from_golden_id,
            &a.to_golden_id,
        ) == (
            &b.from_domain,
            &b.rel_type,
            &b.from_golden_id,
            &b.to_golden_id,
        )
    });
    rows.retain(|r| r.status == "active");
    Ok(rows)
}

/// Active relationships of one type from any of `from_ids` (a hierarchy's next level down).
pub fn children(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
    from_ids: &[&str],
) -> Result<Vec<Relationship>, StoreError> {
    let mut out = Vec::new();
    for part in from_ids.chunks(KEYS_PER_LOOKUP) {
        out.extend(
            gr::golden_relationships
                .filter(gr::from_golden_id.eq_any(part))
                .filter(gr::from_domain.eq(from_domain))
                .filter(gr::rel_type.eq(rel_type))
                .filter(gr::status.eq("active"))
                .order((gr::from_golden_id, gr::to_golden_id))
                .select(Relationship::as_select())
                .load::<Relationship>(conn)?,
        );
    }
    Ok(out)
}

/// The active relationships of one type pointing at `to_id` (its parent, in a hierarchy).
pub fn parents(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
    to_id: &str,
) -> Result<Vec<Relationship>, StoreError> {
    Ok(gr::golden_relationships
        .filter(gr::to_golden_id.eq(to_id))
        .filter(gr::from_domain.eq(from_domain))
        .filter(gr::rel_type.eq(rel_type))
        .filter(gr::status.eq("active"))
        .order(gr::from_golden_id)
        .select(Relationship::as_select())
        .load(conn)?)
}

/// Active relationships touching `domain` (either end), a page at a time in key order
/// after `after` (an export).
pub fn active_page(
    conn: &mut DbConnection,
    domain: &str,
    after: Option<(String, String, String, String)>,
    limit: i64,
) -> Result<Vec<Relationship>, StoreError> {
    let mut q = gr::golden_relationships
        .filter(gr::from_domain.eq(domain).or(gr::to_domain.eq(domain)))
        .filter(gr::status.eq("active"))
        .into_boxed();
    if let Some((d, t, f, to)) = after {
        q = q.filter(
            gr::from_domain
                .gt(d.clone())
                .or(gr::from_domain.eq(d.clone()).and(
                    gr::rel_type.gt(t.clone()).or(gr::rel_type.eq(t).and(
                        gr::from_golden_id
                            .gt(f.clone())
                            .or(gr::from_golden_id.eq(f).and(gr::to_golden_id.gt(to))),
                    )),
                )),
        );
    }
    Ok(q.order((
        gr::from_domain,
        gr::rel_type,
        gr::from_golden_id,
        gr::to_golden_id,
    ))
    .limit(limit)
    .select(Relationship::as_select())
    .load(conn)?)
}

/// Counts of active relationships per (from domain, type) (reports, tests).
pub fn active_counts(conn: &mut DbConnection) -> Result<Vec<(String, String, i64)>, StoreError> {
    Ok(gr::golden_relationships
        .filter(gr::status.eq("active"))
        .group_by((gr::from_domain, gr::rel_type))
        .select((gr::from_domain, gr::rel_type, diesel::dsl::count_star()))
        .order((gr::from_domain, gr::rel_type))
        .load(conn)?)
}
