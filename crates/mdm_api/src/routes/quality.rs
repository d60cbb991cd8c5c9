//! Data-quality findings: the rows ingest quarantined (file, line, field, reason, raw
//! text), paged and filtered, and their counts per system and reason; the staged values
//! no golden record will publish (invalid or placeholders); and the values a golden
//! record's source records disagree on (`mdm_service::conflicts`). Any token may read
//! them; a row re-loaded from the same file counts once (`mdm_service::quarantine`).

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use mdm_service::quarantine::{Finding, ReasonCount};
use mdm_store::quarantine::QuarantineFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct QuarantineQuery {
    pub domain: Option<String>,
    /// A source system.
    pub system: Option<String>,
    /// One load's rows (as `mdm ingest` printed its `batch_id`), re-loads included.
    pub batch: Option<i64>,
    /// Rows after this id (the previous page's `next_after`).
    pub after: Option<i64>,
    /// Rows per page (default 50, at most 500).
    pub limit: Option<i64>,
}

/// A quarantined row.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuarantineView {
    pub id: i64,
    pub batch_id: i64,
    pub domain: String,
    pub system: String,
    /// The file (or push) the row came from.
    pub source: String,
    /// The row's line in the file (1 is a CSV's header).
    pub line: i64,
    pub source_id: Option<String>,
    pub field: Option<String>,
    /// `malformed_row`, `invalid_utf8`, `invalid_value`, `missing_source_id`,
    /// `duplicate_source_id`, ...
    pub reason: String,
    /// What is wrong, in words.
    pub detail: String,
    /// The row's text as read (capped).
    pub raw: Option<String>,
    /// RFC 3339, UTC.
    pub quarantined_at: String,
}

impl From<Finding> for QuarantineView {
    fn from(f: Finding) -> Self {
        QuarantineView {
            id: f.id,
            batch_id: f.batch_id,
            domain: f.domain,
            system: f.system,
            source: f.source,
            line: f.line,
            source_id: f.source_id,
            field: f.field,
            reason: f.reason,
            detail: f.detail,
            raw: f.raw,
            quarantined_at: f.quarantined_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuarantinePage {
    pub rows: Vec<QuarantineView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct SummaryQuery {
    /// One domain (default: all).
    pub domain: Option<String>,
}

/// Distinct quarantined rows of a system with one reason.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReasonCountView {
    pub domain: String,
    pub system: String,
    pub reason: String,
    pub rows: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QualitySummary {
    /// Distinct quarantined rows in all.
    pub quarantined: i64,
    pub by_reason: Vec<ReasonCountView>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// Lists quarantined rows, oldest first: where each came from, why, and its raw text.
#[utoipa::path(get, path = "/v1/quality/quarantine", tag = "quality", params(QuarantineQuery),
    responses((status = 200, body = QuarantinePage),
        (status = 401, description = "`unauthorized`: no valid token", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn quarantine(
    state: web::Data<AppState>,
    _p: Principal,
    q: web::Query<QuarantineQuery>,
) -> Result<HttpResponse, ApiError> {
    let f = QuarantineFilter {
        domain: nonempty(&q.domain),
        system: nonempty(&q.system),
        batch_id: q.batch,
        after_id: q.after,
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let rows = state
        .db_read(move |c| Ok(mdm_service::quarantine::list(c, &f, limit + 1)?))
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<QuarantineView> = rows
        .into_iter()
        .take(limit as usize)
        .map(QuarantineView::from)
        .collect();
    let next_after = more.then(|| rows.last().map(|r| r.id)).flatten();
    Ok(HttpResponse::Ok().json(QuarantinePage { rows, next_after }))
}

/// One quarantined row by its id.
#[utoipa::path(get, path = "/v1/quality/quarantine/{id}", tag = "quality",
    params(("id" = i64, Path, description = "The row's id, as the list shows it")),
    responses((status = 200, body = QuarantineView),
        (status = 404, description = "`not_found`: no quarantined row has this id", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn quarantined_row(
    state: web::Data<AppState>,
    _p: Principal,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let row = state
        .db_read(move |c| Ok(mdm_store::quarantine::get(c, id)?))
        .await?
        .ok_or_else(|| {
            ApiError::not_found("not_found", format!("no quarantined row has id {id}"))
        })?;
    Ok(HttpResponse::Ok().json(QuarantineView::from(Finding::from(row))))
}

/// Counts distinct quarantined rows per domain, system and reason.
#[utoipa::path(get, path = "/v1/quality/summary", tag = "quality", params(SummaryQuery),
    responses((status = 200, body = QualitySummary)),
    security(("bearer" = [])))]
pub async fn summary(
    state: web::Data<AppState>,
    _p: Principal,
    q: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let domain = nonempty(&q.domain);
    let counts = state
        .db_read(move |c| Ok(mdm_service::quarantine::summary(c, domain.as_deref())?))
        .await?;
    let by_reason: Vec<ReasonCountView> = counts
        .into_iter()
        .map(|c: ReasonCount| ReasonCountView {
            domain: c.domain,
            system: c.system,
            reason: c.reason,
            rows: c.rows,
        })
        .collect();
    Ok(HttpResponse::Ok().json(QualitySummary {
        quarantined: by_reason.iter().map(|c| c.rows).sum(),
        by_reason,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ValuesQuery {
    pub domain: String,
    /// A source system.
    pub system: Option<String>,
    /// Findings to skip (the previous page's `next_offset`).
    pub offset: Option<usize>,
    /// Findings per page (default 50, at most 500).
    pub limit: Option<usize>,
}

/// A staged value no golden record will publish, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValueFindingView {
    pub system: String,
    pub source_id: String,
    pub attribute: String,
    pub value: String,
    /// `placeholder phone number`, `unknown country calling code`, ...
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValuesPage {
    pub findings: Vec<ValueFindingView>,
    /// All findings of the query.
    pub total: usize,
    pub next_offset: Option<usize>,
}

/// Staged values that are invalid for their type or placeholders (a dummy phone,
/// `noemail@...`, `1900-01-01`): survivorship never publishes them. By system, record and
/// attribute; computed from the current staged records on each call.
#[utoipa::path(get, path = "/v1/quality/values", tag = "quality", params(ValuesQuery),
    responses((status = 200, body = ValuesPage),
        (status = 404, description = "`unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn values(
    state: web::Data<AppState>,
    _p: Principal,
    q: web::Query<ValuesQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let rules = state.rules(&q.domain)?;
    let ctx = crate::routes::matching::std_context(&state);
    let system = nonempty(&q.system);
    let found = state
        .db_read(move |c| {
            Ok(mdm_service::reconcile::value_findings(
                c,
                &rules,
                &ctx,
                system.as_deref(),
            )?)
        })
        .await?;
    let (offset, limit) = (q.offset.unwrap_or(0), q.limit.unwrap_or(50).clamp(1, 500));
    let total = found.len();
    let findings = found
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|f| ValueFindingView {
            system: f.system,
            source_id: f.source_id,
            attribute: f.attribute,
            value: f.value,
            reason: f.reason,
        })
        .collect();
    let next_offset = (offset + limit < total).then_some(offset + limit);
    Ok(HttpResponse::Ok().json(ValuesPage {
        findings,
        total,
        next_offset,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConflictsQuery {
    pub domain: String,
    /// Only conflicts a record of this source system takes part in.
    pub system: Option<String>,
    /// Findings to skip (the previous page's `next_offset`).
    pub offset: Option<usize>,
    /// Findings per page (default 50, at most 500).
    pub limit: Option<usize>,
}

/// A source record holding a conflicting value.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SourceRefView {
    pub system: String,
    pub source_id: String,
}

/// One of the values the source records hold.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConflictingValueView {
    /// As the golden record would show it (an address's parts joined by `, `).
    pub value: String,
    pub sources: Vec<SourceRefView>,
    /// The golden record publishes this value.
    pub survived: bool,
}

/// An attribute (an address as a whole) whose source records hold different valid values.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConflictView {
    pub golden_id: String,
    /// The attribute, or the survivorship group (`address`).
    pub attribute: String,
    /// The survivor first.
    pub values: Vec<ConflictingValueView>,
    /// What the golden record publishes, if anything.
    pub survived: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConflictsPage {
    pub findings: Vec<ConflictView>,
    /// All findings of the query.
    pub total: usize,
    pub next_offset: Option<usize>,
}

impl From<mdm_service::conflicts::ConflictFinding> for ConflictView {
    fn from(f: mdm_service::conflicts::ConflictFinding) -> Self {
        ConflictView {
            golden_id: f.golden_id,
            attribute: f.attribute,
            values: f
                .values
                .into_iter()
                .map(|v| ConflictingValueView {
                    value: v.value,
                    sources: v
                        .sources
                        .into_iter()
                        .map(|s| SourceRefView {
                            system: s.system,
                            source_id: s.source_id,
                        })
                        .collect(),
                    survived: v.survived,
                })
                .collect(),
            survived: f.survived,
        }
    }
}

/// Attributes whose source records, matched into one golden record, hold different valid
/// values (two birth dates, two tax IDs; an address compared as a whole), each value with
/// the records holding it and the one that survived. Names and free text are not compared.
/// By golden ID; computed from the current staged records on each call.
#[utoipa::path(get, path = "/v1/quality/conflicts", tag = "quality", params(ConflictsQuery),
    responses((status = 200, body = ConflictsPage),
        (status = 404, description = "`unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn conflicts(
    state: web::Data<AppState>,
    _p: Principal,
    q: web::Query<ConflictsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let rules = state.rules(&q.domain)?;
    let ctx = crate::routes::matching::std_context(&state);
    let system = nonempty(&q.system);
    let (offset, limit) = (q.offset.unwrap_or(0), q.limit.unwrap_or(50).clamp(1, 500));
    let page = state
        .db_read(move |c| {
            Ok(mdm_service::conflicts::conflict_findings(
                c,
                &rules,
                &ctx,
                system.as_deref(),
                offset,
                limit,
            )?)
        })
        .await?;
    let next_offset = (offset + limit < page.total).then_some(offset + limit);
    Ok(HttpResponse::Ok().json(ConflictsPage {
        findings: page.findings.into_iter().map(ConflictView::from).collect(),
        total: page.total,
        next_offset,
    }))
}
