//! Derived groups (households): what the reconcile step reads to derive them (the active
//! golden records' values), the steward decisions on them (`group_decisions`), and a
//! group's members for readers. The groups themselves are golden relationships of a derived
//! type (`relationships`), `to_golden_id` being the group's ID.

use crate::relationships::Relationship;
use crate::schema::golden_records::dsl as gr;
use crate::schema::golden_relationships::dsl as rel;
use crate::schema::group_decisions::dsl as gd;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// (golden ID, attributes JSON) of up to `limit` active golden records of `domain` with IDs
/// after `after`, by ID: a page of what the reconcile step derives groups from. Only the
/// values: the lineage stays on disk.
pub fn active_values_page(
    conn: &mut DbConnection,
    domain: &str,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    Ok(gr::golden_records
        .filter(gr::domain.eq(domain))
        .filter(gr::status.eq("active"))
        .filter(gr::golden_id.gt(after))
        .order(gr::golden_id)
        .limit(limit)
        .select((gr::golden_id, gr::attributes))
        .load(conn)?)
}

/// A steward decision on two golden records of a derived type.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::group_decisions)]
pub struct GroupDecisionRow {
    pub id: i64,
    pub domain: String,
    pub rel_type: String,
    /// `must_link` (one group) or `cannot_link` (never one group).
    pub kind: String,
    pub a_golden_id: String,
    pub b_golden_id: String,
    /// The group the steward acted on.
    pub group_id: Option<String>,
    pub decided_by: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// A decision to record.
pub struct NewGroupDecision<'a> {
    pub domain: &'a str,
    pub rel_type: &'a str,
    pub kind: &'a str,
    pub a: &'a str,
    pub b: &'a str,
    pub group_id: Option<&'a str>,
    pub decided_by: &'a str,
    pub reason: &'a str,
}

/// Records a decision; returns its id.
pub fn insert_decision(
    conn: &mut DbConnection,
    d: &NewGroupDecision<'_>,
) -> Result<i64, StoreError> {
    if !matches!(d.kind, "must_link" | "cannot_link") {
        return Err(StoreError::Corrupt(format!("decision kind `{}`", d.kind)));
    }
    let values = (
        gd::domain.eq(d.domain),
        gd::rel_type.eq(d.rel_type),
        gd::kind.eq(d.kind),
        gd::a_golden_id.eq(d.a),
        gd::b_golden_id.eq(d.b),
        gd::group_id.eq(d.group_id),
        gd::decided_by.eq(d.decided_by),
        gd::reason.eq(d.reason),
        gd::created_at.eq(now()),
    );
    Ok(
        on_backend!(conn, c => diesel::insert_into(gd::group_decisions)
        .values(values)
        .returning(gd::id)
        .get_result::<i64>(c))?,
    )
}

/// Withdraws a decision (it stays on record); true when it was active.
pub fn withdraw_decision(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    let n = diesel::update(
        gd::group_decisions
            .find(id)
            .filter(gd::withdrawn_at.is_null()),
    )
    .set(gd::withdrawn_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n > 0)
}

pub fn decision(conn: &mut DbConnection, id: i64) -> Result<Option<GroupDecisionRow>, StoreError> {
    Ok(gd::group_decisions
        .find(id)
        .select(GroupDecisionRow::as_select())
        .get_result(conn)
        .optional()?)
}

/// Decisions of one derived type, oldest first (only active ones when `active_only`).
pub fn decisions(
    conn: &mut DbConnection,
    domain: &str,
    rel_type: &str,
    active_only: bool,
) -> Result<Vec<GroupDecisionRow>, StoreError> {
    let mut q = gd::group_decisions
        .filter(gd::domain.eq(domain))
        .filter(gd::rel_type.eq(rel_type))
        .into_boxed();
    if active_only {
        q = q.filter(gd::withdrawn_at.is_null());
    }
    Ok(q.order(gd::id)
        .select(GroupDecisionRow::as_select())
        .load(conn)?)
}

/// The active memberships of group `group_id` (relationships pointing at it), by member.
pub fn members(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
    group_id: &str,
) -> Result<Vec<Relationship>, StoreError> {
    Ok(rel::golden_relationships
        .filter(rel::to_golden_id.eq(group_id))
        .filter(rel::from_domain.eq(from_domain))
        .filter(rel::rel_type.eq(rel_type))
        .filter(rel::status.eq("active"))
        .order(rel::from_golden_id)
        .select(Relationship::as_select())
        .load(conn)?)
}

/// The group golden record `member` is in now, if any.
pub fn group_of(
    conn: &mut DbConnection,
    from_domain: &str,
    rel_type: &str,
    member: &str,
) -> Result<Option<String>, StoreError> {
    Ok(rel::golden_relationships
        .filter(rel::from_golden_id.eq(member))
        .filter(rel::from_domain.eq(from_domain))
        .filter(rel::rel_type.eq(rel_type))
        .filter(rel::status.eq("active"))
        .select(rel::to_golden_id)
        .load::<String>(conn)?
        .into_iter()
        .next())
}
