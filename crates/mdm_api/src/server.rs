//! Building and running the actix-web server: routes, extractor limits and error shapes,
//! the request-id/tracing/metrics middleware, and the background webhook dispatchers.

use crate::config::ApiConfig;
use crate::error::{json_error, ApiError};
use crate::idempotency::{json_writes, pushes, upserts};
use crate::metrics::Metrics;
use crate::routes::{
    admin, audit, feed, golden, health, households, matching, push, push_links, quality,
    relationships, steward,
};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::middleware::Next;
use actix_web::{web, App, HttpResponse, HttpServer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] mdm_store::StoreError),
    // Each message carries its cause's, so none is also a `source()`: a printed chain
    // (`{:#}`) says it once.
    #[error("cannot listen on {addr}: {error}")]
    Bind { addr: String, error: std::io::Error },
    #[error("server error: {0}")]
    Io(std::io::Error),
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Runs the server until SIGINT/SIGTERM. `on_bound` is told the bound address (useful with
/// port 0) before the first request is served.
pub fn serve(config: ApiConfig, on_bound: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    actix_web::rt::System::new().block_on(run(config, on_bound))
}

async fn run(config: ApiConfig, on_bound: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let config = Arc::new(config);
    let pool = mdm_store::pool::build(
        &config.database_url,
        config.pool_size,
        Duration::from_secs(10),
    )?;
    {
        let mut conn = pool
            .get()
            .map_err(|e| mdm_store::StoreError::Migration(e.to_string()))?;
        let declared: Vec<_> = config
            .declared_systems
            .iter()
            .map(|(name, rank)| mdm_store::systems::DeclaredSystem {
                name: name.clone(),
                trust_rank: *rank,
            })
            .collect();
        mdm_store::systems::sync_declared(&mut conn, &declared)?;
    }
    let state = web::Data::new(AppState::new(
        pool,
        config.clone(),
        Arc::new(Metrics::default()),
    ));
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .configure(|cfg| routes(cfg, &app_state.config))
            .wrap(from_fn(no_nul_in_url))
            .wrap_fn(|req, srv| {
                let (span, id, route, start) = request_span(&req);
                let metrics = req
                    .app_data::<web::Data<AppState>>()
                    .map(|s| s.metrics.clone());
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    finish(&mut res, &id, &route, start, metrics.as_deref());
                    Ok(res)
                }
                .instrument(span)
            })
    })
    .shutdown_timeout(5);
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server
        .bind(&config.listen)
        .map_err(|error| ServeError::Bind {
            addr: config.listen.clone(),
            error,
        })?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| ServeError::Bind {
            addr: config.listen.clone(),
            error: std::io::Error::other("no address bound"),
        })?;
    tracing::info!(%addr, "listening");
    on_bound(addr);
    let running = server.run();
    crate::webhooks::spawn_all(state.clone());
    Metrics::spawn_upkeep(state.metrics.clone());
    if let Some(nats) = &config.nats {
        crate::nats::spawn(state.clone(), nats.clone());
    }
    running.await.map_err(ServeError::Io)?;
    Ok(())
}

/// Every route, with JSON/query/path extractor errors answered as problems. Write routes
/// (pushes, upserts, steward actions) are wrapped in the write guard
/// (`crate::idempotency`: rate limit and `Idempotency-Key`).
pub fn routes(cfg: &mut web::ServiceConfig, config: &ApiConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(config.max_json_bytes)
            .error_handler(|e, _| json_error(e).into()),
    )
    .app_data(
        web::QueryConfig::default()
            .error_handler(|e, _| ApiError::bad_param(format!("query string: {e}")).into()),
    )
    .app_data(
        web::PathConfig::default()
            .error_handler(|e, _| ApiError::bad_param(format!("path: {e}")).into()),
    )
    .service(resource("/healthz").route(web::get().to(health::healthz)))
    .service(resource("/readyz").route(web::get().to(health::readyz)))
    .service(resource("/metrics").route(web::get().to(health::metrics)))
    .service(resource("/openapi.json").route(web::get().to(health::openapi)))
    .service(
        utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
            .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
    )
    .service(resource("/docs").route(web::get().to(|| async {
        HttpResponse::PermanentRedirect()
            .insert_header((actix_web::http::header::LOCATION, "/docs/"))
            .finish()
    })))
    .service(
        resource("/v1/{domain}/records/{system}")
            .route(web::post().to(push::push))
            .wrap(from_fn(pushes)),
    )
    .service(
        resource("/v1/{domain}/links/{system}")
            .route(web::post().to(push_links::push_links))
            .wrap(from_fn(pushes)),
    )
    .service(resource("/v1/{domain}/golden").route(web::get().to(golden::search)))
    .service(resource("/v1/{domain}/golden/{id}").route(web::get().to(golden::get)))
    .service(resource("/v1/{domain}/golden/{id}/history").route(web::get().to(golden::history)))
    .service(
        resource("/v1/{domain}/golden/{id}/relationships")
            .route(web::get().to(relationships::relationships)),
    )
    .service(
        resource("/v1/{domain}/golden/{id}/hierarchy")
            .route(web::get().to(relationships::hierarchy)),
    )
    .service(resource("/v1/{domain}/xref/{system}/{source_id}").route(web::get().to(golden::xref)))
    .service(
        resource("/v1/{domain}/match")
            .route(web::post().to(matching::match_record))
            .wrap(from_fn(upserts)),
    )
    .service(resource("/v1/whoami").route(web::get().to(steward::whoami)))
    .service(resource("/v1/audit").route(web::get().to(audit::search)))
    .service(resource("/v1/audit/export").route(web::get().to(audit::export)))
    .service(resource("/v1/dashboard").route(web::get().to(audit::dashboard)))
    .service(resource("/v1/quality/quarantine").route(web::get().to(quality::quarantine)))
    .service(resource("/v1/quality/quarantine/{id}").route(web::get().to(quality::quarantined_row)))
    .service(resource("/v1/quality/summary").route(web::get().to(quality::summary)))
    .service(resource("/v1/quality/values").route(web::get().to(quality::values)))
    .service(resource("/v1/quality/conflicts").route(web::get().to(quality::conflicts)))
    .service(resource("/v1/{domain}/review").route(web::get().to(steward::review)))
    .service(resource("/v1/{domain}/review/{id}").route(web::get().to(steward::review_item)))
    .service(
        resource("/v1/{domain}/review/{id}/assign")
            .route(web::post().to(steward::assign))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/decisions")
            .route(web::get().to(steward::decisions))
            .route(web::post().to(steward::decide))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/decisions/{id}/withdraw")
            .route(web::post().to(steward::withdraw))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/golden/{id}/merge")
            .route(web::post().to(steward::merge))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/golden/{id}/split")
            .route(web::post().to(steward::split))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/golden/{id}/undo-merge")
            .route(web::post().to(steward::undo_merge))
            .wrap(from_fn(json_writes)),
    )
    .service(resource("/v1/{domain}/golden/{id}/members").route(web::get().to(steward::members)))
    .service(resource("/v1/{domain}/golden/{id}/locks").route(web::get().to(steward::locks)))
    .service(
        resource("/v1/{domain}/golden/{id}/attributes/{attribute}")
            .route(web::put().to(steward::edit))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/golden/{id}/attributes/{attribute}/lock")
            .route(web::delete().to(steward::unlock))
            .wrap(from_fn(json_writes)),
    )
    .service(resource("/v1/{domain}/households/{id}").route(web::get().to(households::household)))
    .service(
        resource("/v1/{domain}/households/{id}/confirm")
            .route(web::post().to(households::confirm))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/households/{id}/remove")
            .route(web::post().to(households::remove))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/households/{id}/split")
            .route(web::post().to(households::split))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/households/{id}/add")
            .route(web::post().to(households::add))
            .wrap(from_fn(json_writes)),
    )
    .service(
        resource("/v1/{domain}/household-decisions").route(web::get().to(households::decisions)),
    )
    .service(
        resource("/v1/{domain}/household-decisions/{id}/withdraw")
            .route(web::post().to(households::withdraw))
            .wrap(from_fn(json_writes)),
    )
    .configure(crate::console::routes)
    .configure(crate::reconciliation::routes)
    .service(resource("/v1/changes").route(web::get().to(feed::changes)))
    .service(resource("/v1/changes/ack").route(web::post().to(feed::ack)))
    .service(resource("/v1/admin/consumers").route(web::get().to(admin::consumers)))
    .service(
        resource("/v1/admin/consumers/{consumer}/dead-letters")
            .route(web::get().to(admin::dead_letters)),
    )
    .service(
        resource("/v1/admin/consumers/{consumer}/dead-letters/replay")
            .route(web::post().to(admin::replay)),
    )
    .default_service(web::to(not_found));
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(
        "not_found",
        "no such route; /openapi.json lists them",
    ))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method; /openapi.json lists the methods",
    ))
}

/// The request's id (the caller's `X-Request-Id` when sane, else a new one) and its span.
fn request_span(req: &ServiceRequest) -> (tracing::Span, String, String, Instant) {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    (span, id, route, Instant::now())
}

fn finish<B: MessageBody>(
    res: &mut ServiceResponse<B>,
    id: &str,
    route: &str,
    start: Instant,
    metrics: Option<&Metrics>,
) {
    if let Ok(v) = HeaderValue::from_str(id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    let took = start.elapsed();
    let status = res.status().as_u16();
    if let Some(m) = metrics {
        m.request(res.request().method().as_str(), route, status, took);
    }
    if status >= 500 {
        tracing::warn!(status, micros = took.as_micros() as u64, "request failed");
    } else {
        tracing::debug!(status, micros = took.as_micros() as u64, "request");
    }
}

/// A NUL (`%00`) in a path or query parameter is refused with 400 before any handler runs:
/// PostgreSQL cannot hold one in text ("invalid byte sequence"), so a lookup by it answered
/// 500 there and 404 on SQLite; no identifier, value or filter contains one.
async fn no_nul_in_url(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Digits have no case: a plain substring test, no copy of the URI per request.
    let uri = req.uri();
    if uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00")) {
        let e = ApiError::bad_param("a path or query parameter contains a NUL character (%00)");
        return Ok(req.error_response(e).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
