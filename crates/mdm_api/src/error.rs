//! The one error type of the HTTP edge. Every failure leaves as `application/problem+json`
//! (RFC 9457) with a stable `code` that clients may branch on; `title` and `detail` are for
//! people. Causes of 5xx answers go to the log (with the request id), never into the body.
//!
//! | status | code | when |
//! |---|---|---|
//! | 400 | `invalid_parameter` | a path or query parameter is malformed |
//! | 400 | `invalid_body` | the body is not what the endpoint takes |
//! | 400 | `invalid_idempotency_key` | the `Idempotency-Key` header is empty, too long or not visible ASCII |
//! | 401 | `unauthorized` | no bearer token, or an unknown or revoked one |
//! | 403 | `forbidden` | the token's role (or system) does not allow this |
//! | 404 | `not_found` | no such route |
//! | 404 | `unknown_domain` | no rules file declares the domain |
//! | 404 | `golden_not_found` | no golden record has this id |
//! | 404 | `xref_not_found` | no golden record holds this source record |
//! | 404 | `unknown_consumer` | the feed consumer is neither configured nor a known system |
//! | 404 | `dead_letter_not_found` | no dead webhook event with this sequence number |
//! | 405 | `method_not_allowed` | the route exists, the method does not |
//! | 404 | `not_found` | also: no such review item, decision, lock or staged record (steward API) |
//! | 409 | `ack_beyond_feed` | an acknowledgement names an event that does not exist yet |
//! | 409 | `version_conflict` | a steward acted on a stale version (`current_version` says which is current) |
//! | 409 | `conflict` | the action contradicts the current state (e.g. an opposite decision) |
//! | 409 | `idempotency_key_in_flight` | a request with this `Idempotency-Key` is still running |
//! | 422 | `invalid_action` | the steward action cannot apply to this record |
//! | 422 | `idempotency_key_reused` | the `Idempotency-Key` was used for a different request |
//! | 413 | `payload_too_large` | the body exceeds the configured limit |
//! | 415 | `unsupported_media_type` | the body's content type is not accepted here |
//! | 429 | `rate_limited` | the token's write rate limit is spent (`Retry-After` says when to retry) |
//! | 503 | `not_ready` | the database cannot be reached |
//! | 503 | `busy` | a writer holds the change feed, or (SQLite) another writer held the database longer than the busy timeout; retry shortly (`Retry-After`) |
//! | 500 | `internal` | a bug or an unexpected database error (see the log) |

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// For `version_conflict`: the golden record's current version.
    pub current_version: Option<i32>,
    /// For `rate_limited`: seconds until a retry may succeed (the `Retry-After` header).
    pub retry_after: Option<u64>,
}

/// The problem document.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type.
    pub title: String,
    pub status: u16,
    /// What went wrong in this case, for people.
    pub detail: String,
    /// The stable machine-readable code (see the table in the API description).
    pub code: String,
    /// With `version_conflict`: the current version of the golden record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            current_version: None,
            retry_after: None,
        }
    }
    pub fn bad_param(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", detail)
    }
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_body", detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }
    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }
    /// 429 `rate_limited`, retry after `secs` seconds.
    pub fn rate_limited(secs: u64) -> Self {
        Self {
            retry_after: Some(secs),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("this token's write rate limit is spent; retry in {secs} s"),
            )
        }
    }
    /// 422 `idempotency_key_reused`.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request (method, path, query, content type or body differ) within 24 hours; use a new key",
        )
    }
    /// 409 `idempotency_key_in_flight`.
    pub fn idempotency_key_in_flight() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_flight",
            "a request with this Idempotency-Key is still running; retry shortly for its answer",
        )
    }
    /// A 500 whose cause is logged here and kept out of the body.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "an internal error occurred; the server log has the details under this request's id",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("/problems/{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            current_version: self.current_version,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// `Retry-After` for a write that found the embedded database held by another writer.
const BUSY_RETRY_SECS: u64 = 5;

impl From<mdm_store::StoreError> for ApiError {
    fn from(e: mdm_store::StoreError) -> Self {
        match e {
            mdm_store::StoreError::Connect { .. } => {
                tracing::error!(error = %e, "database unreachable");
                Self::unavailable("not_ready", "the database cannot be reached")
            }
            e if e.is_busy() => {
                tracing::warn!(error = %e, "database held by another writer; answered 503");
                Self {
                    retry_after: Some(BUSY_RETRY_SECS),
                    ..Self::unavailable(
                        "busy",
                        "the database is held by another writer (a reconcile run writing its \
                         results); retry shortly, with the same Idempotency-Key",
                    )
                }
            }
            other => Self::internal(other),
        }
    }
}

impl From<mdm_service::ServiceError> for ApiError {
    fn from(e: mdm_service::ServiceError) -> Self {
        use mdm_service::ServiceError as S;
        match e {
            S::Store(e) => e.into(),
            S::StaleVersion { current, .. } => Self {
                current_version: Some(current),
                ..Self::new(StatusCode::CONFLICT, "version_conflict", e.to_string())
            },
            S::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            S::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "not_found", m),
            S::Invalid(m) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_action", m),
            other => Self::internal(other),
        }
    }
}

/// Extractor errors (bad JSON, query strings, paths, oversized bodies) as problems.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the JSON body exceeds the limit of {limit} bytes"),
        ),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        E::Deserialize(e) => ApiError::bad_body(format!("invalid JSON body: {e}")),
        other => ApiError::bad_body(other.to_string()),
    }
}
