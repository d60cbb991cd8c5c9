//! Pushing source records over HTTP: the same load as `mdm ingest` (`mdm_ingest::load`),
//! with the same classification (new, changed, unchanged, duplicate) and the same
//! quarantine, from a JSON array or NDJSON body.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::idempotency::KEY_DOC;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use mdm_core::SystemName;
use mdm_ingest::{ColumnMapping, JsonArraySource, LoadOptions, NdjsonSource, RecordSource};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct PushQuery {
    /// The body is a full extract of the system: its current records that the body lacks
    /// are marked deleted.
    #[serde(default)]
    pub snapshot: bool,
}

/// What the load did; the same counts as `mdm ingest --json`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushSummary {
    pub batch_id: i64,
    pub domain: String,
    pub system: String,
    pub read: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub quarantined: u64,
    /// Quarantined rows beyond `ingest.max_quarantined_rows` per batch: counted, not stored.
    #[serde(default)]
    pub quarantine_not_stored: u64,
    /// The quarantined rows (first 1000): where and why, so the sender can fix them.
    pub quarantine: Vec<QuarantineEntry>,
    /// True when this push registered the system (no configuration declares it).
    pub registered_system: bool,
    /// Set when a snapshot push marked nothing deleted because a row could not be read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub snapshot_deletions_skipped: Option<SkippedDeletions>,
}

/// Why a snapshot push deleted nothing.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SkippedDeletions {
    /// `unreadable_rows`: rows were quarantined as malformed or not UTF-8, and may be any
    /// record, so no record can be proven absent.
    pub reason: String,
    pub unreadable_rows: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuarantineEntry {
    /// Element number in a JSON array, line number in NDJSON (from 1).
    pub row: i64,
    pub source_id: Option<String>,
    pub field: Option<String>,
    /// `missing_source_id`, `malformed_row`, `invalid_utf8`, `duplicate_source_id`,
    /// `invalid_value`; `invalid_link` for a pushed link.
    pub reason: String,
    pub detail: String,
}

/// Push source records of one system.
///
/// The body is a JSON array of objects (`application/json`) or one object per line
/// (`application/x-ndjson`). Each object holds `source_id` and attributes under their
/// canonical names (or the system's configured column names). Rows that cannot be staged are
/// quarantined and listed in the answer; they never fail the request.
#[utoipa::path(post, path = "/v1/{domain}/records/{system}", tag = "write",
    params(
        ("domain" = String, Path, description = "customer, product, supplier, ..."),
        ("system" = String, Path, description = "Source system, e.g. ERP"),
        PushQuery,
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC),
    ),
    request_body(description = "A JSON array of records, or NDJSON (one record per line)",
        content((Vec<Object> = "application/json"), (String = "application/x-ndjson"))),
    responses(
        (status = 200, description = "Loaded", body = PushSummary),
        (status = 400, description = "`invalid_body`, `invalid_parameter`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: a reader, or a writer of another system", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn push(
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
    let mapping = ColumnMapping::new(
        state
            .config
            .mappings
            .get(system.as_str())
            .cloned()
            .unwrap_or_default(),
    );
    let chunk_size = state.config.ingest_chunk_size;
    let max_line = state.config.max_line_bytes;
    let limits = state.config.quarantine_limits;
    let snapshot = query.snapshot;
    let label = format!("http:{system}");
    let summary = state
        .db(move |conn| {
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
            let s = mdm_ingest::load_with_limits(
                conn,
                &rules,
                &mapping,
                &opts,
                limits,
                source.as_mut(),
                &mut |_| {},
            )
            .map_err(ingest_error)?;
            summary_of(conn, s)
        })
        .await?;
    state.metrics.inc(
        "mdm_pushed_rows_total",
        crate::metrics::labels(&[("system", &summary.system)]),
        summary.read,
    );
    Ok(HttpResponse::Ok().json(summary))
}

/// The answer to a push: the load's counts and its quarantined rows.
pub(crate) fn summary_of(
    conn: &mut mdm_store::DbConnection,
    s: mdm_ingest::LoadSummary,
) -> Result<PushSummary, ApiError> {
    let quarantine = quarantine_of(conn, s.batch_id, s.quarantined)?;
    Ok(PushSummary {
        batch_id: s.batch_id,
        domain: s.domain,
        system: s.system,
        read: s.read,
        new: s.new,
        changed: s.changed,
        unchanged: s.unchanged,
        deleted: s.deleted,
        quarantined: s.quarantined,
        quarantine_not_stored: s.quarantine_not_stored,
        quarantine,
        registered_system: s.registered_system,
        snapshot_deletions_skipped: s.snapshot_deletions_skipped.map(|k| SkippedDeletions {
            reason: k.reason.to_string(),
            unreadable_rows: k.unreadable_rows,
        }),
    })
}

fn quarantine_of(
    conn: &mut mdm_store::DbConnection,
    batch_id: i64,
    n: u64,
) -> Result<Vec<QuarantineEntry>, ApiError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(mdm_store::quarantine::for_batch(conn, batch_id)?
        .into_iter()
        .take(1000)
        .map(|q| QuarantineEntry {
            row: q.row_number,
            source_id: q.source_id,
            field: q.field,
            reason: q.reason,
            detail: q.detail,
        })
        .collect())
}

pub(crate) fn ingest_error(e: mdm_ingest::IngestError) -> ApiError {
    match e {
        mdm_ingest::IngestError::Input { message, .. } => ApiError::bad_body(message),
        mdm_ingest::IngestError::NoSourceIdColumn { .. }
        | mdm_ingest::IngestError::TooManyQuarantined { .. } => ApiError::bad_body(e.to_string()),
        mdm_ingest::IngestError::Store(s) if s.is_busy() => s.into(),
        other => ApiError::internal(other),
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    Json,
    Ndjson,
}

pub(crate) fn body_format(req: &HttpRequest) -> Result<Format, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/json" => Ok(Format::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl"
        | "application/x-jsonlines" => Ok(Format::Ndjson),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type `{other}` is not accepted: send application/json (an array of records) or application/x-ndjson"),
        )),
    }
}

/// The whole body, refused with 413 as soon as it passes `limit`.
pub async fn read_limited(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body exceeds the limit of {limit} bytes; split it into several pushes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    match payload.to_bytes_limited(limit).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(ApiError::bad_body(format!("reading the body failed: {e}"))),
        Err(_) => Err(too_large()),
    }
}
