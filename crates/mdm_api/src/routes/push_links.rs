//! Pushing links between a system's records over HTTP: the same load as `mdm ingest
//! --links` (`mdm_ingest::load_links`), versioned, idempotent, with `invalid_link`
//! quarantine and snapshot deletions, from a JSON array or NDJSON body. The types are those
//! in force (what `mdm serve` stored at start).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::idempotency::KEY_DOC;
use crate::routes::push::{body_format, ingest_error, read_limited, summary_of, Format, PushQuery};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use mdm_core::SystemName;
use mdm_ingest::{JsonArraySource, LoadOptions, NdjsonSource, RecordSource};

/// Push links between records of one system.
///
/// Each object is one link: `type` (a relationship type starting in `domain`),
/// `from_source_id` and `to_source_id` (source IDs of `system`'s records), optionally
/// `system` (equal to the path's), and the type's attributes. A re-push of the same links
/// changes nothing; `snapshot=true` ends the pushed links of the system the body lacks.
/// Links that cannot be staged are quarantined (`invalid_link`) and listed in the answer.
#[utoipa::path(post, path = "/v1/{domain}/links/{system}", tag = "write",
    params(
        ("domain" = String, Path, description = "Domain the links start in (customer, supplier, product, ...)"),
        ("system" = String, Path, description = "Source system of both ends, e.g. ERP"),
        PushQuery,
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC),
    ),
    request_body(description = "A JSON array of links, or NDJSON (one link per line)",
        content((Vec<Object> = "application/json"), (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "Loaded", body = crate::routes::push::PushSummary),
        (status = 400, description = "`invalid_body`, `invalid_parameter`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a reader, or a writer of another system", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn push_links(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<PushQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (domain, system) = path.into_inner();
    let system = SystemName::parse(&system).map_err(|e| ApiError::bad_param(e.to_string()))?;
    principal.require_write(system.as_str())?;
    let rules = state.rules(&domain)?;
    let format = body_format(&req)?;
    let body = read_limited(&req, payload, state.config.max_push_bytes).await?;
    let (chunk_size, max_line) = (state.config.ingest_chunk_size, state.config.max_line_bytes);
    let limits = state.config.quarantine_limits;
    let snapshot = query.snapshot;
    let label = format!("http-links:{system}");
    let summary = state
        .db(move |conn| {
            let types = mdm_service::relationships::load_types(conn)?;
            let mut source: Box<dyn RecordSource> = match format {
                Format::Json => Box::new(
                    JsonArraySource::parse(label, &body[..])
                        .map_err(|e| ApiError::bad_body(e.to_string()))?
                        .max_element_bytes(max_line),
                ),
                Format::Ndjson => {
                    Box::new(NdjsonSource::from_reader(&body[..], label).max_line_bytes(max_line))
                }
            };
            let opts = LoadOptions {
                domain: &rules.domain,
                system: &system,
                snapshot,
                chunk_size,
            };
            let s =
                mdm_ingest::load_links(conn, &types, &opts, limits, source.as_mut(), &mut |_| {})
                    .map_err(ingest_error)?;
            summary_of(conn, s)
        })
        .await?;
    state.metrics.inc(
        "mdm_pushed_links_total",
        crate::metrics::labels(&[("system", &summary.system)]),
        summary.read,
    );
    Ok(HttpResponse::Ok().json(summary))
}
