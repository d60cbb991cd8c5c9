//! The guard in front of every write route (pushes, upserts, steward actions): the token's
//! write rate limit ([`crate::rate_limit`]), then its `Idempotency-Key`.
//!
//! With an `Idempotency-Key` header (1-255 visible ASCII characters) a write runs at most
//! once per token, route and key within 24 hours: the key is claimed in the database before
//! the handler runs (`mdm_store::idempotency`), and the answer (status, content type, body)
//! is stored when it finishes. A replay of the same request gets the stored answer with
//! `Idempotent-Replayed: true` and writes nothing; the same key with a different request
//! (method, path, query, content type or body: their SHA-256 is stored) is answered 422
//! `idempotency_key_reused`; a replay while the first still runs is answered 409
//! `idempotency_key_in_flight`. A 5xx or 429 answer is not stored: the key is freed, so a
//! retry runs again. Without the header nothing changes.
//!
//! A middleware rather than a call in each handler: it needs the raw body for the hash,
//! which the handlers' JSON extractors do not keep, and it keeps the rule in one place for
//! every write route `server::routes` registers with it.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::rate_limit::retry_after_secs;
use crate::state::AppState;
use actix_web::body::{self, BoxBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};
use mdm_store::idempotency::{Answer, Claim, KeyRef};
use sha2::{Digest, Sha256};
use std::time::Instant;

pub const KEY_HEADER: &str = "idempotency-key";
/// The OpenAPI description of the header, on every write operation.
pub const KEY_DOC: &str = "Optional. A key (1-255 visible ASCII characters, e.g. a UUID) that makes the write run at most once: a replay by the same token within 24 hours gets the first answer again (with `Idempotent-Replayed: true`) and writes nothing; the same key with a different request answers 422 `idempotency_key_reused`, and while the first still runs 409 `idempotency_key_in_flight`. Writes beyond the token's rate limit answer 429 `rate_limited` with `Retry-After`.";
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const MAX_KEY_LEN: usize = 255;

/// How a route's body is read, and whether every request to it is a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writes {
    /// A push: the body may be as large as `max_push_bytes`.
    Push,
    /// A JSON body (steward actions).
    Json,
    /// `/match`: a write only with `"upsert": true`.
    Upsert,
}

type Res = Result<ServiceResponse<BoxBody>, Error>;

/// The guard of the push route.
pub async fn pushes(req: ServiceRequest, next: Next<BoxBody>) -> Res {
    guard(req, next, Writes::Push).await
}

/// The guard of write routes with a JSON body (or none).
pub async fn json_writes(req: ServiceRequest, next: Next<BoxBody>) -> Res {
    guard(req, next, Writes::Json).await
}

/// The guard of `/match`: only an upsert is limited and keyed.
pub async fn upserts(req: ServiceRequest, next: Next<BoxBody>) -> Res {
    guard(req, next, Writes::Upsert).await
}

async fn guard(mut req: ServiceRequest, next: Next<BoxBody>, kind: Writes) -> Res {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.call(req).await;
    }
    let key = match key_of(req.headers()) {
        Ok(k) => k,
        Err(e) => return Ok(req.error_response(e)),
    };
    let mut body = None;
    if kind == Writes::Upsert {
        let b = match buffer(&mut req, state.config.max_json_bytes).await {
            Ok(b) => b,
            Err(e) => return Ok(req.error_response(e)),
        };
        if !is_upsert(&b) {
            return next.call(req).await;
        }
        body = Some(b);
    }
    // Unauthenticated: the handler answers 401.
    let Ok(principal) = req.extract::<Principal>().await else {
        return next.call(req).await;
    };
    if let Some(limiter) = &state.write_limiter {
        if let Err(wait) = limiter.take(&principal.token_id, Instant::now()) {
            return Ok(req.error_response(ApiError::rate_limited(retry_after_secs(wait))));
        }
    }
    let Some(key) = key else {
        return next.call(req).await;
    };
    let body = match body {
        Some(b) => b,
        None => {
            let limit = match kind {
                Writes::Push => state.config.max_push_bytes,
                Writes::Json | Writes::Upsert => state.config.max_json_bytes,
            };
            match buffer(&mut req, limit).await {
                Ok(b) => b,
                Err(e) => return Ok(req.error_response(e)),
            }
        }
    };
    let key = KeyRef {
        token_id: principal.token_id,
        route: format!(
            "{} {}",
            req.method(),
            req.match_pattern().unwrap_or_default()
        ),
        key,
    };
    let hash = fingerprint(&req, &body);
    let claimed = key.clone();
    let claim = state
        .db(move |c| {
            Ok(mdm_store::idempotency::claim(
                c,
                &claimed,
                &hash,
                mdm_store::now(),
            )?)
        })
        .await;
    match claim {
        Ok(Claim::Claimed) => run_once(req, next, &state, key).await,
        Ok(Claim::Replay(answer)) => Ok(replay(req, answer)),
        Ok(Claim::InFlight) => Ok(req.error_response(ApiError::idempotency_key_in_flight())),
        Ok(Claim::Reused) => Ok(req.error_response(ApiError::idempotency_key_reused())),
        Err(e) => Ok(req.error_response(e)),
    }
}

/// Runs the handler under a claimed key and stores its answer (or frees the key).
async fn run_once(
    req: ServiceRequest,
    next: Next<BoxBody>,
    state: &web::Data<AppState>,
    key: KeyRef,
) -> Res {
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            forget(state, key).await;
            return Err(e);
        }
    };
    let status = res.status();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        forget(state, key).await;
        return Ok(res);
    }
    let (request, response) = res.into_parts();
    let (head, payload) = response.into_parts();
    let bytes = match body::to_bytes(payload).await {
        Ok(b) => b,
        Err(e) => {
            forget(state, key).await;
            let e = ApiError::internal(format!("reading the answer: {e}"));
            return Ok(ServiceResponse::new(
                request,
                actix_web::ResponseError::error_response(&e),
            ));
        }
    };
    let content_type = head
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match std::str::from_utf8(&bytes) {
        Ok(text) => {
            let answer = Answer {
                status: i32::from(status.as_u16()),
                content_type,
                body: text.to_string(),
            };
            let stored = state
                .db(move |c| Ok(mdm_store::idempotency::complete(c, &key, &answer)?))
                .await;
            if let Err(e) = stored {
                // The answer goes out; the key stays in flight until its lease runs out.
                tracing::warn!(error = %e, "idempotency: the answer could not be stored");
            }
        }
        Err(_) => forget(state, key).await,
    }
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(bytes)),
    ))
}

async fn forget(state: &web::Data<AppState>, key: KeyRef) {
    let freed = state
        .db(move |c| Ok(mdm_store::idempotency::release(c, &key)?))
        .await;
    if let Err(e) = freed {
        tracing::warn!(error = %e, "idempotency: a key could not be freed");
    }
}

fn replay(req: ServiceRequest, answer: Answer) -> ServiceResponse<BoxBody> {
    let status = u16::try_from(answer.status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    if !answer.content_type.is_empty() {
        res.insert_header((header::CONTENT_TYPE, answer.content_type));
    }
    res.insert_header((REPLAYED, HeaderValue::from_static("true")));
    req.into_response(res.body(answer.body))
}

/// The request's key, if it sent one.
fn key_of(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get(KEY_HEADER) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters (a UUID is a good key)"),
        )
    };
    let k = v.to_str().map_err(|_| bad())?.trim();
    if k.is_empty() || k.len() > MAX_KEY_LEN || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(k.to_string()))
}

/// Reads the whole body and puts it back for the handler.
async fn buffer(req: &mut ServiceRequest, limit: usize) -> Result<web::Bytes, ApiError> {
    let payload = req
        .extract::<web::Payload>()
        .await
        .map_err(ApiError::internal)?;
    let body = crate::routes::push::read_limited(req.request(), payload, limit).await?;
    req.set_payload(actix_web::dev::Payload::from(body.clone()));
    Ok(body)
}

fn is_upsert(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Flag {
        #[serde(default)]
        upsert: bool,
    }
    serde_json::from_slice::<Flag>(body).is_ok_and(|f| f.upsert)
}

/// SHA-256 of what makes two requests the same: method, path, query, content type, body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let mut h = Sha256::new();
    for part in [
        req.method().as_str().as_bytes(),
        req.path().as_bytes(),
        req.query_string().as_bytes(),
        content_type,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(body);
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        let mut h = HeaderMap::new();
        assert_eq!(key_of(&h).unwrap(), None);
        h.insert(
            HeaderName::from_static(KEY_HEADER),
            HeaderValue::from_static("  abc-123 "),
        );
        assert_eq!(key_of(&h).unwrap().as_deref(), Some("abc-123"));
        for bad in ["", "a b", &"k".repeat(256)] {
            h.insert(
                HeaderName::from_static(KEY_HEADER),
                HeaderValue::from_str(bad).unwrap(),
            );
            assert_eq!(key_of(&h).unwrap_err().code, "invalid_idempotency_key");
        }
    }

    #[test]
    fn only_upserts_are_writes() {
        assert!(is_upsert(br#"{"upsert": true, "attributes": {}}"#));
        assert!(!is_upsert(br#"{"attributes": {}}"#));
        assert!(!is_upsert(br#"{"upsert": false}"#));
        assert!(!is_upsert(b"not json"));
    }
}
