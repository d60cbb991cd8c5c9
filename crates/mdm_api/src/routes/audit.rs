//! The audit log (search, paging, export as CSV or NDJSON) and the console's dashboard.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::routes::golden::parse_as_of;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use mdm_store::audit::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const EXPORT_LIMIT: i64 = 1_000_000;

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    pub domain: Option<String>,
    /// A steward's name, or `reconcile` for automatic merges and splits.
    pub actor: Option<String>,
    /// An action (`golden.merge`), or a prefix ending in `.` (`golden.`).
    pub action: Option<String>,
    pub golden_id: Option<String>,
    /// Free text searched in the reason, before and after.
    pub q: Option<String>,
    /// From this time (`YYYY-MM-DD` or RFC 3339).
    pub from: Option<String>,
    /// Up to this time (`YYYY-MM-DD`: the end of that day, or RFC 3339).
    pub to: Option<String>,
    /// Entries older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    pub limit: Option<i64>,
    /// Export format: `csv` or `ndjson`.
    pub format: Option<String>,
}

/// An audit entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub domain: String,
    pub golden_ids: Vec<String>,
    pub reason: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub run_id: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

fn view(e: AuditEntry) -> AuditView {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    AuditView {
        id: e.id,
        at: e
            .at
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        actor: e.actor,
        action: e.action,
        domain: e.domain,
        golden_ids: serde_json::from_str(&e.golden_ids).unwrap_or_default(),
        reason: e.reason,
        before: json(e.before),
        after: json(e.after),
        run_id: e.run_id,
    }
}

fn filter(q: &AuditQuery) -> Result<AuditFilter, ApiError> {
    let day_start = |s: &str| -> Result<chrono::NaiveDateTime, ApiError> {
        match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => Ok(d.and_hms_opt(0, 0, 0).expect("midnight")),
            Err(_) => parse_as_of(s),
        }
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    Ok(AuditFilter {
        domain: nonempty(&q.domain),
        actor: nonempty(&q.actor),
        action: nonempty(&q.action),
        golden_id: nonempty(&q.golden_id),
        text: nonempty(&q.q),
        from: q.from.as_deref().map(day_start).transpose()?,
        to: q.to.as_deref().map(parse_as_of).transpose()?,
        before_id: q.before,
    })
}

/// Searches the audit log, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "steward", params(AuditQuery),
    responses((status = 200, body = AuditPage),
        (status = 403, description = "`forbidden`: not a steward or admin token", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn search(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let f = filter(&q)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = state
        .db_read(move |c| Ok(mdm_store::audit::search(c, &f, limit + 1)?))
        .await?;
    let more = rows.len() as i64 > limit;
    let entries: Vec<AuditView> = rows.into_iter().take(limit as usize).map(view).collect();
    let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(HttpResponse::Ok().json(AuditPage {
        entries,
        next_before,
    }))
}

/// Exports the matching audit entries (all pages) as CSV or NDJSON.
#[utoipa::path(get, path = "/v1/audit/export", tag = "steward", params(AuditQuery),
    responses((status = 200, description = "A CSV (`text/csv`) or NDJSON (`application/x-ndjson`) file", body = String, content_type = "text/csv")),
    security(("bearer" = [])))]
pub async fn export(
    state: web::Data<AppState>,
    p: Principal,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let f = filter(&q)?;
    let csv = match q.format.as_deref() {
        None | Some("csv") => true,
        Some("ndjson") => false,
        Some(other) => {
            return Err(ApiError::bad_param(format!(
                "format `{other}`: use csv or ndjson"
            )))
        }
    };
    let rows = state
        .db(move |c| Ok(mdm_store::audit::search(c, &f, EXPORT_LIMIT)?))
        .await?;
    let entries: Vec<AuditView> = rows.into_iter().map(view).collect();
    let (body, ctype, ext) = if csv {
        (to_csv(&entries)?, "text/csv; charset=utf-8", "csv")
    } else {
        let mut out = String::new();
        for e in &entries {
            out.push_str(&serde_json::to_string(e).map_err(ApiError::internal)?);
            out.push('\n');
        }
        (out.into_bytes(), "application/x-ndjson", "ndjson")
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"mdm-audit.{ext}\""),
        ))
        .body(body))
}

fn to_csv(entries: &[AuditView]) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "at",
        "actor",
        "action",
        "domain",
        "golden_ids",
        "reason",
        "before",
        "after",
        "run_id",
    ])
    .map_err(ApiError::internal)?;
    let text =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    for e in entries {
        w.write_record([
            e.id.to_string(),
            e.at.clone(),
            e.actor.clone(),
            e.action.clone(),
            e.domain.clone(),
            e.golden_ids.join(" "),
            e.reason.clone().unwrap_or_default(),
            text(&e.before),
            text(&e.after),
            e.run_id.map(|r| r.to_string()).unwrap_or_default(),
        ])
        .map_err(ApiError::internal)?;
    }
    w.into_inner().map_err(ApiError::internal)
}

/// Figures per domain for the console's dashboard.
#[utoipa::path(get, path = "/v1/dashboard", tag = "steward",
    responses((status = 200, description = "`{domains: [{domain, golden_records, source_records, review_backlog, systems, backlog_history, runs}]}`", body = Object)),
    security(("bearer" = [])))]
pub async fn dashboard(state: web::Data<AppState>, p: Principal) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let body = state
        .db(|c| {
            let mut domains = Vec::new();
            for d in mdm_store::matchstate::staged_domains(c)? {
                domains.push(mdm_service::steward::dashboard::domain_figures(c, &d)?);
            }
            Ok(serde_json::json!({ "domains": domains }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
