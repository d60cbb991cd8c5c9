//! API tokens: only a SHA-256 hash of each token is stored, with its role and, for a source
//! writer, the one system it may write. The HTTP edge hashes what a client presents and
//! looks the hash up; `mdm token` creates, lists and revokes.

use crate::schema::api_tokens::dsl as t;
use crate::{now, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::api_tokens)]
pub struct ApiToken {
    pub id: String,
    pub token_hash: String,
    pub role: String,
    pub system: Option<String>,
    pub label: Option<String>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A token to store: its public id and the hash of the whole token.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub role: &'a str,
    pub system: Option<&'a str>,
    pub label: Option<&'a str>,
}

pub fn insert(conn: &mut DbConnection, token: &NewToken<'_>) -> Result<(), StoreError> {
    diesel::insert_into(t::api_tokens)
        .values((
            t::id.eq(token.id),
            t::token_hash.eq(token.token_hash),
            t::role.eq(token.role),
            t::system.eq(token.system),
            t::label.eq(token.label),
            t::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The live (not revoked) token with this hash.
pub fn find_active(conn: &mut DbConnection, hash: &str) -> Result<Option<ApiToken>, StoreError> {
    Ok(t::api_tokens
        .filter(t::token_hash.eq(hash))
        .filter(t::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(conn)
        .optional()?)
}

/// Every token, revoked ones included, oldest first.
pub fn list(conn: &mut DbConnection) -> Result<Vec<ApiToken>, StoreError> {
    Ok(t::api_tokens
        .order((t::created_at, t::id))
        .select(ApiToken::as_select())
        .load(conn)?)
}

/// Revokes a token by id; false when no live token has that id.
pub fn revoke(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    let n = diesel::update(t::api_tokens.find(id).filter(t::revoked_at.is_null()))
        .set(t::revoked_at.eq(Some(now())))
        .execute(conn)?;
    Ok(n > 0)
}
