//! Steward inputs that reconcile reads: must-link / cannot-link decisions on record pairs,
//! values locked on golden records; and its review output: pairs in the review band.

use crate::schema::golden_locks::dsl as gl;
use crate::schema::match_decisions::dsl as md;
use crate::schema::review_assignments::dsl as ra;
use crate::schema::review_items::dsl as ri;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

const ROWS_PER_INSERT: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::match_decisions)]
pub struct MatchDecision {
    pub id: i64,
    pub domain: String,
    /// `must_link` or `cannot_link`.
    pub kind: String,
    pub a_system: String,
    pub a_source_id: String,
    pub b_system: String,
    pub b_source_id: String,
    pub decided_by: String,
    pub reason: String,
    pub created_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision<'a> {
    pub domain: &'a str,
    pub kind: &'a str,
    pub a: (&'a str, &'a str),
    pub b: (&'a str, &'a str),
    pub decided_by: &'a str,
    pub reason: &'a str,
}

/// Records a steward decision; returns its id. `kind` is `must_link` or `cannot_link`.
pub fn insert_decision(conn: &mut DbConnection, d: &NewDecision<'_>) -> Result<i64, StoreError> {
    if !matches!(d.kind, "must_link" | "cannot_link") {
        return Err(StoreError::Corrupt(format!("decision kind `{}`", d.kind)));
    }
    let values = (
        md::domain.eq(d.domain),
        md::kind.eq(d.kind),
        md::a_system.eq(d.a.0),
        md::a_source_id.eq(d.a.1),
        md::b_system.eq(d.b.0),
        md::b_source_id.eq(d.b.1),
        md::decided_by.eq(d.decided_by),
        md::reason.eq(d.reason),
        md::created_at.eq(now()),
    );
    Ok(
        on_backend!(conn, c => diesel::insert_into(md::match_decisions)
        .values(values)
        .returning(md::id)
        .get_result::<i64>(c))?,
    )
}

/// Withdraws a decision (it stays on record); true when it was active.
pub fn withdraw_decision(conn: &mut DbConnection, id: i64) -> Result<bool, StoreError> {
    let n = diesel::update(
        md::match_decisions
            .find(id)
            .filter(md::withdrawn_at.is_null()),
    )
    .set(md::withdrawn_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n > 0)
}

/// One decision by id.
pub fn decision(conn: &mut DbConnection, id: i64) -> Result<Option<MatchDecision>, StoreError> {
    Ok(md::match_decisions
        .find(id)
        .select(MatchDecision::as_select())
        .first(conn)
        .optional()?)
}

/// Decisions of a domain (only those not withdrawn when `active_only`), newest first.
pub fn list_decisions(
    conn: &mut DbConnection,
    domain: &str,
    active_only: bool,
    limit: i64,
) -> Result<Vec<MatchDecision>, StoreError> {
    let mut q = md::match_decisions
        .filter(md::domain.eq(domain))
        .into_boxed();
    if active_only {
        q = q.filter(md::withdrawn_at.is_null());
    }
    Ok(q.order(md::id.desc())
        .limit(limit)
        .select(MatchDecision::as_select())
        .load(conn)?)
}

/// Decisions of a domain not withdrawn, oldest first.
pub fn active_decisions(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<Vec<MatchDecision>, StoreError> {
    Ok(md::match_decisions
        .filter(md::domain.eq(domain))
        .filter(md::withdrawn_at.is_null())
        .order(md::id)
        .select(MatchDecision::as_select())
        .load(conn)?)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::schema::golden_locks)]
pub struct GoldenLock {
    pub domain: String,
    pub golden_id: String,
    pub attribute: String,
    pub value: String,
    pub locked_by: String,
    pub locked_at: NaiveDateTime,
    /// Set when a steward unlocked it: the row stays as a tombstone so the next incremental
    /// run knows the record must be survived again.
    pub unlocked_at: Option<NaiveDateTime>,
}

/// Locks an attribute value on a golden record (replacing an earlier lock of it).
pub fn set_lock(conn: &mut DbConnection, lock: &GoldenLock) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        remove_lock(c, &lock.golden_id, &lock.attribute)?;
        diesel::insert_into(gl::golden_locks)
            .values(lock)
            .execute(c)?;
        Ok(())
    })
}

/// Unlocks an attribute (keeping a tombstone); true when it was locked.
pub fn unlock(
    conn: &mut DbConnection,
    golden_id: &str,
    attribute: &str,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        gl::golden_locks
            .filter(gl::golden_id.eq(golden_id))
            .filter(gl::attribute.eq(attribute))
            .filter(gl::unlocked_at.is_null()),
    )
    .set(gl::unlocked_at.eq(Some(now())))
    .execute(conn)?;
    Ok(n > 0)
}

/// Locks of one golden record (active only).
pub fn locks_of(conn: &mut DbConnection, golden_id: &str) -> Result<Vec<GoldenLock>, StoreError> {
    Ok(gl::golden_locks
        .filter(gl::golden_id.eq(golden_id))
        .filter(gl::unlocked_at.is_null())
        .order(gl::attribute)
        .select(GoldenLock::as_select())
        .load(conn)?)
}

/// Golden IDs of a domain whose locks were set or removed after `since`.
pub fn lock_changes_since(
    conn: &mut DbConnection,
    domain: &str,
    since: NaiveDateTime,
) -> Result<Vec<String>, StoreError> {
    Ok(gl::golden_locks
        .filter(gl::domain.eq(domain))
        .filter(gl::locked_at.gt(since).or(gl::unlocked_at.gt(since)))
        .select(gl::golden_id)
        .distinct()
        .load(conn)?)
}

/// Deletes a lock row (active or tombstone).
pub fn remove_lock(
    conn: &mut DbConnection,
    golden_id: &str,
    attribute: &str,
) -> Result<bool, StoreError> {
    let n = diesel::delete(
        gl::golden_locks
            .filter(gl::golden_id.eq(golden_id))
            .filter(gl::attribute.eq(attribute)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Every active lock of a domain.
pub fn locks(conn: &mut DbConnection, domain: &str) -> Result<Vec<GoldenLock>, StoreError> {
    Ok(gl::golden_locks
        .filter(gl::domain.eq(domain))
        .filter(gl::unlocked_at.is_null())
        .order((gl::golden_id, gl::attribute))
        .select(GoldenLock::as_select())
        .load(conn)?)
}

/// Moves the locks of retired golden IDs to their survivor (a merge keeps steward work).
pub fn move_locks(conn: &mut DbConnection, from: &str, to: &str) -> Result<(), StoreError> {
    let moved: Vec<GoldenLock> = gl::golden_locks
        .filter(gl::golden_id.eq(from))
        .select(GoldenLock::as_select())
        .load(conn)?;
    for mut l in moved {
        if l.unlocked_at.is_some() {
            remove_lock(conn, from, &l.attribute)?;
            continue;
        }
        let exists: i64 = gl::golden_locks
            .filter(gl::golden_id.eq(to))
            .filter(gl::attribute.eq(&l.attribute))
            .filter(gl::unlocked_at.is_null())
            .count()
            .get_result(conn)?;
        remove_lock(conn, from, &l.attribute)?;
        if exists == 0 {
            remove_lock(conn, to, &l.attribute)?;
            l.golden_id = to.to_string();
            diesel::insert_into(gl::golden_locks)
                .values(&l)
                .execute(conn)?;
        }
    }
    Ok(())
}

/// A review item as the queue shows it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::review_items)]
pub struct ReviewItem {
    pub id: i64,
    pub domain: String,
    pub run_id: i64,
    pub a_system: String,
    pub a_source_id: String,
    pub b_system: String,
    pub b_source_id: String,
    pub a_golden_id: String,
    pub b_golden_id: String,
    pub probability: f64,
    pub weight: f64,
    pub created_at: NaiveDateTime,
}

/// Every review item of a domain, in id order.
pub fn review_queue(conn: &mut DbConnection, domain: &str) -> Result<Vec<ReviewItem>, StoreError> {
    Ok(ri::review_items
        .filter(ri::domain.eq(domain))
        .order(ri::id)
        .select(ReviewItem::as_select())
        .load(conn)?)
}

pub fn review_item(conn: &mut DbConnection, id: i64) -> Result<Option<ReviewItem>, StoreError> {
    Ok(ri::review_items
        .find(id)
        .select(ReviewItem::as_select())
        .first(conn)
        .optional()?)
}

/// A review pair's key: (a_system, a_source_id, b_system, b_source_id).
pub type PairKey = (String, String, String, String);

/// Assigns a review pair to a steward (`None` clears the assignment).
pub fn assign(
    conn: &mut DbConnection,
    domain: &str,
    pair: &PairKey,
    steward: Option<&str>,
) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        diesel::delete(
            ra::review_assignments
                .filter(ra::domain.eq(domain))
                .filter(ra::a_system.eq(&pair.0))
                .filter(ra::a_source_id.eq(&pair.1))
                .filter(ra::b_system.eq(&pair.2))
                .filter(ra::b_source_id.eq(&pair.3)),
        )
        .execute(c)?;
        if let Some(s) = steward {
            diesel::insert_into(ra::review_assignments)
                .values((
                    ra::domain.eq(domain),
                    ra::a_system.eq(&pair.0),
                    ra::a_source_id.eq(&pair.1),
                    ra::b_system.eq(&pair.2),
                    ra::b_source_id.eq(&pair.3),
                    ra::steward.eq(s),
                    ra::assigned_at.eq(now()),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// Review pair -> steward, for a domain.
pub fn assignments(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<std::collections::HashMap<PairKey, String>, StoreError> {
    let rows: Vec<(String, String, String, String, String)> = ra::review_assignments
        .filter(ra::domain.eq(domain))
        .select((
            ra::a_system,
            ra::a_source_id,
            ra::b_system,
            ra::b_source_id,
            ra::steward,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(a, b, c, d, s)| ((a, b, c, d), s))
        .collect())
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = crate::schema::review_items)]
pub struct ReviewItemRow {
    pub domain: String,
    pub run_id: i64,
    pub a_system: String,
    pub a_source_id: String,
    pub b_system: String,
    pub b_source_id: String,
    pub a_golden_id: String,
    pub b_golden_id: String,
    pub probability: f64,
    pub weight: f64,
    pub created_at: NaiveDateTime,
}

/// Replaces the review backlog of a domain with the pairs of the latest run.
pub fn replace_review_items(
    conn: &mut DbConnection,
    domain: &str,
    rows: &[ReviewItemRow],
) -> Result<(), StoreError> {
    diesel::delete(ri::review_items.filter(ri::domain.eq(domain))).execute(conn)?;
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(ri::review_items).values(part).execute(c))?;
    }
    Ok(())
}

/// The review backlog of a domain, most likely matches first.
pub fn review_items(
    conn: &mut DbConnection,
    domain: &str,
    limit: i64,
) -> Result<Vec<ReviewItemRow>, StoreError> {
    Ok(ri::review_items
        .filter(ri::domain.eq(domain))
        .order((ri::probability.desc(), ri::id))
        .limit(limit)
        .select((
            ri::domain,
            ri::run_id,
            ri::a_system,
            ri::a_source_id,
            ri::b_system,
            ri::b_source_id,
            ri::a_golden_id,
            ri::b_golden_id,
            ri::probability,
            ri::weight,
            ri::created_at,
        ))
        .load(conn)?)
}

pub fn review_count(conn: &mut DbConnection, domain: &str) -> Result<i64, StoreError> {
    Ok(ri::review_items
        .filter(ri::domain.eq(domain))
        .count()
        .get_result(conn)?)
}

/// Decisions of a domain made or withdrawn after `since`.
pub fn decisions_changed_since(
    conn: &mut DbConnection,
    domain: &str,
    since: NaiveDateTime,
) -> Result<Vec<MatchDecision>, StoreError> {
    Ok(md::match_decisions
        .filter(md::domain.eq(domain))
        .filter(md::created_at.gt(since).or(md::withdrawn_at.gt(since)))
        .order(md::id)
        .select(MatchDecision::as_select())
        .load(conn)?)
}

/// Removes review items of which either record is one of `keys` (system, source_id).
pub fn delete_review_items_touching(
    conn: &mut DbConnection,
    domain: &str,
    keys: &[(String, String)],
) -> Result<(), StoreError> {
    use std::collections::HashSet;
    if keys.is_empty() {
        return Ok(());
    }
    // One pass over the domain's backlog, matched in memory, then deletes by id: the
    // backlog is small next to the records, and a filter by source key per side and chunk
    // would scan it once per statement (no index leads with the source key).
    let wanted: HashSet<(&str, &str)> =
        keys.iter().map(|(s, i)| (s.as_str(), i.as_str())).collect();
    let items: Vec<(i64, String, String, String, String)> = ri::review_items
        .filter(ri::domain.eq(domain))
        .select((
            ri::id,
            ri::a_system,
            ri::a_source_id,
            ri::b_system,
            ri::b_source_id,
        ))
        .load(conn)?;
    let ids: Vec<i64> = items
        .iter()
        .filter(|(_, a_s, a_i, b_s, b_i)| {
            wanted.contains(&(a_s.as_str(), a_i.as_str()))
                || wanted.contains(&(b_s.as_str(), b_i.as_str()))
        })
        .map(|(id, ..)| *id)
        .collect();
    for part in ids.chunks(10_000) {
        diesel::delete(ri::review_items.filter(ri::id.eq_any(part))).execute(conn)?;
    }
    Ok(())
}

/// Adds review items.
pub fn insert_review_items(
    conn: &mut DbConnection,
    rows: &[ReviewItemRow],
) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(ri::review_items).values(part).execute(c))?;
    }
    Ok(())
}
