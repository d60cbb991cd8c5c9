//! Real-time matching: `POST /v1/{domain}/match` scores one record against the golden
//! records without storing anything; with `upsert` the record is staged (the same load as a
//! push), matched, and given its canonical ID at once: the best golden record it matches, or
//! a new golden record. The xref is written with a staging version that the next reconcile
//! run treats as changed, so that run re-scores the record with the whole data set.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::realtime::{Candidate, MatchError, MatchIndex};
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use mdm_core::standardize::StdContext;
use mdm_core::{DomainRules, SystemName};
use mdm_store::DbConnection;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// How often a match checks whether a newer reconcile run makes its index stale.
const FRESHNESS_CHECK: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize, ToSchema)]
pub struct MatchRequest {
    /// The record's system: required with `upsert`.
    pub system: Option<String>,
    /// The record's key in its system: required with `upsert`.
    pub source_id: Option<String>,
    /// Canonical attribute name -> value.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// Stage the record and assign its canonical ID.
    #[serde(default)]
    pub upsert: bool,
    /// At most this many candidates (default 10).
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MatchResponse {
    /// Candidate golden records, best first, with scores and explanations.
    pub candidates: Vec<Candidate>,
    /// With `upsert`: the record's canonical ID.
    pub golden_id: Option<String>,
    /// With `upsert`: a new golden record was created for it.
    pub created: bool,
    /// The reconcile run whose model and golden records were matched against.
    pub run_id: i64,
}

/// The match index of one domain, rebuilt when a newer reconcile run finished.
#[derive(Default)]
pub struct DomainMatcher {
    index: Mutex<Option<Arc<RwLock<MatchIndex>>>>,
    checked: Mutex<Option<Instant>>,
}

pub(crate) fn std_context(state: &AppState) -> StdContext {
    StdContext {
        default_country: state.config.default_country.clone(),
        date_order: if state.config.month_first_dates {
            mdm_core::standardize::DateOrder::MonthFirst
        } else {
            mdm_core::standardize::DateOrder::DayFirst
        },
        system_countries: state.config.system_countries.clone(),
        // The configured default is the hub's guess, not what a record states.
        country_stated: false,
    }
}

pub(crate) fn match_error(e: MatchError) -> ApiError {
    match e {
        MatchError::NoModel(_) => ApiError::new(StatusCode::CONFLICT, "no_model", e.to_string()),
        MatchError::Store(s) => s.into(),
        other => ApiError::internal(other),
    }
}

impl DomainMatcher {
    pub(crate) fn current(
        &self,
        conn: &mut DbConnection,
        rules: &DomainRules,
        ctx: &StdContext,
    ) -> Result<Arc<RwLock<MatchIndex>>, ApiError> {
        let mut slot = self.index.lock().expect("matcher lock");
        let due = {
            let mut checked = self.checked.lock().expect("matcher lock");
            let due = checked.is_none_or(|t| t.elapsed() >= FRESHNESS_CHECK);
            if due {
                *checked = Some(Instant::now());
            }
            due
        };
        if let Some(idx) = slot.as_ref() {
            if !due {
                return Ok(idx.clone());
            }
            let latest = crate::realtime::latest_run(conn, &rules.domain).map_err(match_error)?;
            if latest == idx.read().expect("index lock").run_id {
                return Ok(idx.clone());
            }
        }
        let built = Arc::new(RwLock::new(
            MatchIndex::build(conn, rules, ctx).map_err(match_error)?,
        ));
        *slot = Some(built.clone());
        Ok(built)
    }
}

/// Match a record against the golden records (and, with `upsert`, stage it and assign its ID).
#[utoipa::path(post, path = "/v1/{domain}/match", tag = "write",
    params(("domain" = String, Path, description = "Domain")),
    request_body = MatchRequest,
    responses(
        (status = 200, description = "Candidates (and the canonical ID with `upsert`)", body = MatchResponse),
        (status = 400, description = "`invalid_body`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: `upsert` by a reader or a writer of another system", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no_model`: no reconcile run has trained the domain's model yet", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`record_quarantined`: the record cannot be staged", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn match_record(
    state: web::Data<AppState>,
    principal: Principal,
    path: web::Path<String>,
    body: web::Json<MatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let domain = path.into_inner();
    let rules = state.rules(&domain)?;
    let req = body.into_inner();
    let limit = req.limit.unwrap_or(10).clamp(1, 100);
    let upsert = match (&req.upsert, &req.system, &req.source_id) {
        (false, _, _) => None,
        (true, Some(s), Some(id)) => {
            let s = SystemName::parse(s).map_err(|e| ApiError::bad_body(e.to_string()))?;
            let id =
                mdm_core::SourceKey::parse(id).map_err(|e| ApiError::bad_body(e.to_string()))?;
            principal.require_write(s.as_str())?;
            Some((s, id))
        }
        (true, _, _) => {
            return Err(ApiError::bad_body(
                "`upsert` needs `system` and `source_id`",
            ))
        }
    };
    let matcher = state.matcher(&rules.domain);
    let ctx = std_context(&state);
    let st = state.clone();
    let mut res = state
        .db(move |c| {
            let index = matcher.current(c, &rules, &ctx)?;
            match upsert {
                None => {
                    let values = crate::realtime::values_of(&rules, &req.attributes);
                    let idx = index.read().expect("index lock");
                    let (candidates, _) = idx
                        .query(c, &rules, &ctx, &values, None)
                        .map_err(match_error)?;
                    Ok(MatchResponse {
                        candidates,
                        golden_id: None,
                        created: false,
                        run_id: idx.run_id,
                    })
                }
                Some((system, key)) => crate::upsert::upsert(
                    c,
                    &st,
                    &rules,
                    &ctx,
                    &index,
                    &system,
                    &key,
                    req.attributes,
                ),
            }
        })
        .await?;
    if res.created || res.golden_id.is_some() {
        state.feed_written.notify_waiters();
    }
    res.candidates.truncate(limit);
    Ok(HttpResponse::Ok().json(res))
}
