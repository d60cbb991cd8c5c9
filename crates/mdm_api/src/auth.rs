//! Bearer tokens and roles.
//!
//! A token reads `mdm_<id>_<secret>`: the id is public (`mdm token list` shows it), the
//! secret is 32 random bytes. Only SHA-256 of the whole token is stored; a high-entropy
//! token needs no slow password hash. Roles, each including the one before it for reading:
//!
//! - `reader`: every read endpoint, the change feed, dry-run matching.
//! - `writer`: a reader that may also push records and acknowledge the feed; a writer
//!   created with `--system S` may push (and upsert) only system S's records and read and
//!   acknowledge only consumer S's feed.
//! - `steward`: writes for every system.
//! - `admin`: everything, including dead-letter replay.
//!
//! Apart from these, a `reconcile` token reads the reconciliation service
//! (`crate::reconciliation`, what OpenRefine speaks) and nothing else. It is carried in the
//! service URL, since OpenRefine sends no custom headers, so it is never accepted as a
//! bearer token: a URL ends up in browser history and proxy logs, and such a token must not
//! open the rest of the API.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Reconcile,
    Reader,
    Writer,
    Steward,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Reconcile,
        Role::Reader,
        Role::Writer,
        Role::Steward,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reconcile => "reconcile",
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Steward => "steward",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// A new token: show `token` once, store `hash`.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub token: String,
    pub hash: String,
}

pub fn issue() -> IssuedToken {
    let mut rng = rand::rng();
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id = hex::encode(id);
    let token = format!("mdm_{id}_{}", hex::encode(secret));
    let hash = hash(&token);
    IssuedToken { id, token, hash }
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates and stores a token; returns it (the only time it is shown).
pub fn create(
    conn: &mut mdm_store::DbConnection,
    role: Role,
    system: Option<&str>,
    label: Option<&str>,
) -> Result<IssuedToken, mdm_store::StoreError> {
    let t = issue();
    mdm_store::tokens::insert(
        conn,
        &mdm_store::tokens::NewToken {
            id: &t.id,
            token_hash: &t.hash,
            role: role.as_str(),
            system,
            label,
        },
    )?;
    Ok(t)
}

/// Who is calling: the verified token's id, role and system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub role: Role,
    pub system: Option<String>,
    /// The token's label (a steward's name), if it has one.
    pub label: Option<String>,
}

impl Principal {
    /// May push (or upsert) records of `system`.
    pub fn require_write(&self, system: &str) -> Result<(), ApiError> {
        match (self.role, &self.system) {
            (Role::Reader | Role::Reconcile, _) => Err(ApiError::forbidden(format!(
                "this token's role `{}` cannot write records; a writer, steward or admin token can",
                self.role.as_str()
            ))),
            (Role::Writer, Some(own)) if own != system => Err(ApiError::forbidden(format!(
                "this writer token may write only system {own}'s records, not {system}'s"
            ))),
            _ => Ok(()),
        }
    }

    /// May read the feed of `consumer`.
    pub fn require_consumer(&self, consumer: &str) -> Result<(), ApiError> {
        match (self.role, &self.system) {
            (Role::Writer, Some(own)) if own != consumer => Err(ApiError::forbidden(format!(
                "this writer token may read only consumer {own}'s feed, not {consumer}'s"
            ))),
            _ => Ok(()),
        }
    }

    /// May acknowledge the feed of `consumer`, i.e. move its cursor: a write on the
    /// consumer's behalf, so what may write for its system may ack (a writer of that system
    /// or of every system, a steward, an admin), never a reader, which would make the
    /// consumer skip events it never processed.
    pub fn require_ack(&self, consumer: &str) -> Result<(), ApiError> {
        match (self.role, &self.system) {
            (Role::Reader | Role::Reconcile, _) => Err(ApiError::forbidden(format!(
                "this token's role `reader` cannot acknowledge consumer {consumer}'s feed; a \
                 writer token of system {consumer}, a steward or an admin token can"
            ))),
            (Role::Writer, Some(own)) if own != consumer => Err(ApiError::forbidden(format!(
                "this writer token may acknowledge only consumer {own}'s feed, not {consumer}'s"
            ))),
            _ => Ok(()),
        }
    }

    /// The name the audit log shows: the token's label, else its id.
    pub fn actor(&self) -> String {
        self.label.clone().unwrap_or_else(|| self.token_id.clone())
    }

    /// May act as a data steward (stewards and admins).
    pub fn require_steward(&self) -> Result<(), ApiError> {
        if matches!(self.role, Role::Steward | Role::Admin) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs a steward or admin token; this token's role is `{}`",
                self.role.as_str()
            )))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs an admin token; this token's role is `{}`",
                self.role.as_str()
            )))
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("no app state"))?;
            let p = authenticate(&state, presented?).await?;
            if p.role == Role::Reconcile {
                return Err(ApiError::forbidden(
                    "a `reconcile` token works only inside the reconciliation service URL \
                     (/reconcile/token/<token>/<domain>)",
                ));
            }
            Ok(p)
        })
    }
}

/// The principal a presented token stands for (cached for `token_cache`).
pub async fn authenticate(state: &AppState, token: String) -> Result<Principal, ApiError> {
    let h = hash(&token);
    if let Some(p) = state.tokens.get(&h) {
        return Ok(p);
    }
    let found = state
        .db(move |c| Ok(mdm_store::tokens::find_active(c, &h)?))
        .await?;
    let Some(row) = found else {
        return Err(ApiError::unauthorized("the token is unknown or revoked"));
    };
    let role = Role::parse(&row.role)
        .ok_or_else(|| ApiError::internal(format!("token {} has role {}", row.id, row.role)))?;
    let p = Principal {
        token_id: row.id,
        role,
        system: row.system,
        label: row.label,
    };
    state.tokens.put(row.token_hash, p.clone());
    tracing::debug!(token = %p.token_id, role = role.as_str(), "authenticated");
    Ok(p)
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "send a token as `Authorization: Bearer <token>` (create one with `mdm token create`)",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_string())
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header must read `Bearer <token>`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_distinct_and_hash_to_what_is_stored() {
        let a = issue();
        let b = issue();
        assert_ne!(a.token, b.token);
        assert!(a.token.starts_with(&format!("mdm_{}_", a.id)));
        assert_eq!(hash(&a.token), a.hash);
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token[4..]));
    }

    #[test]
    fn writer_limited_to_its_system() {
        let w = Principal {
            token_id: "x".into(),
            role: Role::Writer,
            system: Some("ERP".into()),
            label: None,
        };
        assert!(w.require_write("ERP").is_ok());
        assert_eq!(w.require_write("CRM").unwrap_err().code, "forbidden");
        let r = Principal {
            role: Role::Reader,
            system: None,
            ..w.clone()
        };
        assert!(r.require_write("ERP").is_err());
        assert!(r.require_admin().is_err());
        assert_eq!(Role::parse("Admin"), Some(Role::Admin));
    }
}
