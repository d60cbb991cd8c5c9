//! The pull change feed: `GET /v1/changes?consumer=NAME[&after=SEQ]` and acknowledgements.
//! Without `after`, a consumer reads from its acknowledged cursor, which lives in the
//! database: after a restart (of the server or the consumer) it resumes where it stopped.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::feed::{page, resolve_consumer, FeedEvent};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const MAX_LIMIT: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct FeedQuery {
    /// The consumer: a configured one or a registered source system (ERP, CRM, MES, ...).
    pub consumer: String,
    /// Read events after this seq; default: the consumer's acknowledged cursor.
    pub after: Option<i64>,
    /// At most this many events (1-1000, default 100).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    pub consumer: String,
    /// The consumer's acknowledged cursor.
    pub acked: i64,
    pub events: Vec<FeedEvent>,
    /// Pass as `after` for the next page (and acknowledge it once processed).
    pub next_after: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AckRequest {
    pub consumer: String,
    /// Everything up to and including this seq is processed.
    pub seq: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AckResponse {
    pub consumer: String,
    /// The cursor after the acknowledgement (it never moves back).
    pub acked: i64,
}

/// Read the change feed from a cursor.
#[utoipa::path(get, path = "/v1/changes", tag = "feed", params(FeedQuery),
    responses(
        (status = 200, description = "Events in seq order", body = FeedPage),
        (status = 400, description = "`invalid_parameter`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a writer token of another system", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_consumer`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`busy`: a writer holds the feed", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn changes(
    state: web::Data<AppState>,
    principal: Principal,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_param(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    if q.after.is_some_and(|a| a < 0) {
        return Err(ApiError::bad_param("after must be 0 or more"));
    }
    let config = state.config.clone();
    let page = state
        .db(move |c| {
            let consumer = resolve_consumer(c, &config, &q.consumer)?;
            principal.require_consumer(&consumer.name)?;
            let acked = mdm_store::cursors::get(c, &consumer.name)?.acked_seq;
            let after = q.after.unwrap_or(acked);
            let events = page(c, &consumer, after, limit)?;
            let next_after = events.last().map_or(after, |e| e.seq);
            Ok(FeedPage {
                consumer: consumer.name,
                acked,
                events,
                next_after,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Acknowledge processed events: the consumer's cursor moves to `seq` (never back).
///
/// Needs a writer token of the consumer's system (or of every system), a steward or an admin
/// token: a reader may read the feed, not move a consumer's cursor.
#[utoipa::path(post, path = "/v1/changes/ack", tag = "feed", request_body = AckRequest,
    responses(
        (status = 200, description = "The cursor now", body = AckResponse),
        (status = 400, description = "`invalid_body`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a reader, or a writer of another system", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_consumer`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`ack_beyond_feed`: no event with this seq yet", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn ack(
    state: web::Data<AppState>,
    principal: Principal,
    body: web::Json<AckRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    if req.seq < 0 {
        return Err(ApiError::bad_body("seq must be 0 or more"));
    }
    let config = state.config.clone();
    let res = state
        .db(move |c| {
            let consumer = resolve_consumer(c, &config, &req.consumer)?;
            principal.require_ack(&consumer.name)?;
            let latest = mdm_store::feed::latest_seq(c)?;
            if req.seq > latest {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "ack_beyond_feed",
                    format!("seq {} is beyond the latest event ({latest})", req.seq),
                ));
            }
            let acked = mdm_store::cursors::ack(c, &consumer.name, req.seq)?;
            tracing::info!(consumer = %consumer.name, acked, "feed acknowledged");
            Ok(AckResponse {
                consumer: consumer.name,
                acked,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(res))
}
