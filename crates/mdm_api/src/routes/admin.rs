//! Admin: consumers' cursors and webhook state, dead letters and their replay.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::feed::resolve_consumer;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use mdm_store::deliveries::{self, DeliveryStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsumerState {
    pub consumer: String,
    pub acked_seq: i64,
    pub webhook_seq: i64,
    pub webhook: bool,
    pub latest_seq: i64,
    pub dead_letters: usize,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetter {
    pub seq: i64,
    /// `dead`, or `replay` while a replay is pending.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReplayQuery {
    /// Replay only this event; default: every dead event of the consumer.
    pub seq: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReplayResponse {
    pub consumer: String,
    pub replayed: u64,
}

/// Every consumer's cursors and webhook state.
#[utoipa::path(get, path = "/v1/admin/consumers", tag = "admin",
    responses(
        (status = 200, description = "Consumers", body = Vec<ConsumerState>),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn consumers(
    state: web::Data<AppState>,
    principal: Principal,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let config = state.config.clone();
    let out = state
        .db(move |c| {
            let latest = mdm_store::feed::latest_seq(c)?;
            let mut names: Vec<String> = config.consumers.iter().map(|c| c.name.clone()).collect();
            for cur in mdm_store::cursors::list(c)? {
                if !names.contains(&cur.consumer) {
                    names.push(cur.consumer);
                }
            }
            names
                .into_iter()
                .map(|name| {
                    let cur = mdm_store::cursors::get(c, &name)?;
                    let dead = deliveries::list(c, &name, DeliveryStatus::Dead, 100_000)?.len();
                    Ok(ConsumerState {
                        webhook: config
                            .consumer(&name)
                            .is_some_and(|k| k.webhook_url.is_some()),
                        consumer: name,
                        acked_seq: cur.acked_seq,
                        webhook_seq: cur.webhook_seq,
                        latest_seq: latest,
                        dead_letters: dead,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A consumer's dead (and replay-pending) webhook events.
#[utoipa::path(get, path = "/v1/admin/consumers/{consumer}/dead-letters", tag = "admin",
    params(("consumer" = String, Path, description = "Consumer name")),
    responses(
        (status = 200, description = "Dead letters, oldest first", body = Vec<DeadLetter>),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_consumer`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn dead_letters(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let config = state.config.clone();
    let raw = path.into_inner();
    let out = state
        .db(move |c| {
            let consumer = resolve_consumer(c, &config, &raw)?;
            let mut rows = deliveries::list(c, &consumer.name, DeliveryStatus::Dead, 10_000)?;
            rows.extend(deliveries::list(
                c,
                &consumer.name,
                DeliveryStatus::Replay,
                10_000,
            )?);
            rows.sort_by_key(|r| r.seq);
            Ok(rows
                .into_iter()
                .map(|r| DeadLetter {
                    seq: r.seq,
                    status: r.status,
                    attempts: r.attempts,
                    last_error: r.last_error,
                    updated_at: r.updated_at.and_utc().to_rfc3339(),
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Send dead webhook events again (all of the consumer's, or one), ahead of new events.
#[utoipa::path(post, path = "/v1/admin/consumers/{consumer}/dead-letters/replay", tag = "admin",
    params(("consumer" = String, Path, description = "Consumer name"), ReplayQuery),
    responses(
        (status = 200, description = "How many events will be sent again", body = ReplayResponse),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_consumer`, `dead_letter_not_found`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn replay(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    query: web::Query<ReplayQuery>,
) -> Result<HttpResponse, ApiError> {
    principal.require_admin()?;
    let config = state.config.clone();
    let raw = path.into_inner();
    let seq = query.seq;
    let out = state
        .db(move |c| {
            let consumer = resolve_consumer(c, &config, &raw)?;
            let n = deliveries::replay(c, &consumer.name, seq)?;
            if n == 0 && seq.is_some() {
                return Err(ApiError::not_found(
                    "dead_letter_not_found",
                    format!(
                        "consumer {} has no dead event {}",
                        consumer.name,
                        seq.unwrap_or(0)
                    ),
                ));
            }
            tracing::info!(consumer = %consumer.name, replayed = n, "dead letters replayed");
            Ok(ReplayResponse {
                consumer: consumer.name,
                replayed: n,
            })
        })
        .await?;
    state.feed_written.notify_waiters();
    Ok(HttpResponse::Ok().json(out))
}
