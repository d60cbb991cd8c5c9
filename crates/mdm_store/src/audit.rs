//! The audit log: one append-only row per steward action and per automatic merge or split
//! (who, when, what, before and after). The database refuses updates and deletions
//! (triggers in the migration), so nothing here edits a row.

use crate::schema::audit_log::dsl as al;
use crate::{on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

const ROWS_PER_INSERT: usize = 1000;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::audit_log)]
pub struct NewAuditEntry {
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub domain: String,
    /// JSON array of golden IDs.
    pub golden_ids: String,
    pub reason: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub run_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub domain: String,
    pub golden_ids: String,
    pub reason: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub run_id: Option<i64>,
}

pub fn append(conn: &mut DbConnection, rows: &[NewAuditEntry]) -> Result<(), StoreError> {
    for part in rows.chunks(ROWS_PER_INSERT) {
        on_backend!(conn, c => diesel::insert_into(al::audit_log).values(part).execute(c))?;
    }
    Ok(())
}

/// What to look for; every field narrows the search.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub domain: Option<String>,
    pub actor: Option<String>,
    /// An action, or a prefix ending in `.` (`golden.` = every direct action).
    pub action: Option<String>,
    pub golden_id: Option<String>,
    /// Free text, matched in the reason, before and after.
    pub text: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Only entries older than this id (paging, newest first).
    pub before_id: Option<i64>,
}

/// Entries matching `f`, newest first, at most `limit`.
pub fn search(
    conn: &mut DbConnection,
    f: &AuditFilter,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut q = al::audit_log.into_boxed();
    if let Some(d) = &f.domain {
        q = q.filter(al::domain.eq(d.clone()));
    }
    if let Some(a) = &f.actor {
        q = q.filter(al::actor.eq(a.clone()));
    }
    match &f.action {
        Some(a) if a.ends_with('.') => q = q.filter(al::action.like(format!("{}%", escape(a)))),
        Some(a) => q = q.filter(al::action.eq(a.clone())),
        None => {}
    }
    if let Some(g) = &f.golden_id {
        q = q.filter(al::golden_ids.like(format!("%\"{}\"%", escape(g))));
    }
    if let Some(t) = &f.text {
        let pattern = format!("%{}%", escape(t));
        q = q.filter(
            al::reason
                .like(pattern.clone())
                .or(al::before.like(pattern.clone()))
                .or(al::after.like(pattern)),
        );
    }
    if let Some(t) = f.from {
        q = q.filter(al::at.ge(t));
    }
    if let Some(t) = f.to {
        q = q.filter(al::at.le(t));
    }
    if let Some(id) = f.before_id {
        q = q.filter(al::id.lt(id));
    }
    Ok(q.order(al::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// The newest entry of `domain` with `action` whose golden IDs include `golden_id`.
pub fn latest_for(
    conn: &mut DbConnection,
    domain: &str,
    actions: &[&str],
    golden_id: &str,
) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(al::audit_log
        .filter(al::domain.eq(domain))
        .filter(al::action.eq_any(actions))
        .filter(al::golden_ids.like(format!("%\"{}\"%", escape(golden_id))))
        .order(al::id.desc())
        .limit(50)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// `%` in user text would match anything; `_` may stay (it also matches itself).
fn escape(s: &str) -> String {
    s.replace('%', "")
}
