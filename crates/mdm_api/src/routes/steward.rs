//! The steward API: the review queue, decisions, direct actions on golden records. Each
//! handler checks the role, translates the request into an `mdm_service::steward` call on
//! the blocking pool, and answers its result. Actions that change golden records run one at
//! a time in this process (they reconcile), so a second steward acting on the same record
//! sees the first one's new version and gets a 409.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::idempotency::KEY_DOC;
use crate::routes::golden::{view, GoldenView};
use crate::routes::matching::std_context;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use mdm_service::steward::actions::Steward;
use mdm_service::steward::queue::{self, Assigned, QueueFilter};
use mdm_service::steward::RecordRef;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const MAX_REASON: usize = 2_000;

/// Who the token belongs to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub token_id: String,
    /// `reader`, `writer`, `steward` or `admin`.
    pub role: String,
    /// The token's label: a steward's name in the audit log.
    pub label: Option<String>,
    pub system: Option<String>,
}

/// The caller's token: role, label and system.
#[utoipa::path(get, path = "/v1/whoami", tag = "steward",
    responses((status = 200, body = WhoAmI),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn whoami(p: Principal) -> HttpResponse {
    HttpResponse::Ok().json(WhoAmI {
        token_id: p.token_id,
        role: p.role.as_str().into(),
        label: p.label,
        system: p.system,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// Only pairs with a record of this source system.
    pub system: Option<String>,
    /// `me`, `unassigned`, or a steward's name.
    pub assigned: Option<String>,
    #[serde(default = "default_limit")]
    pub limit: usize,
    #[serde(default)]
    pub offset: usize,
}

fn default_limit() -> usize {
    50
}

/// One page of the review queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// Items after filtering.
    pub total: usize,
    /// Highest priority first: how unsure the engine is, then how many records the decision
    /// moves, then how trusted the sources are.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<queue::QueueItem>,
}

/// The review queue of a domain.
#[utoipa::path(get, path = "/v1/{domain}/review", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), QueueQuery),
    responses((status = 200, body = QueuePage),
        (status = 403, description = "`forbidden`: not a steward or admin token", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn review(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let domain = path.into_inner();
    let rules = state.rules(&domain)?;
    let q = q.into_inner();
    let filter = QueueFilter {
        system: q.system,
        assigned: match q.assigned.as_deref() {
            None | Some("") | Some("all") => Assigned::Any,
            Some("unassigned") => Assigned::Unassigned,
            Some("me") => Assigned::To(p.actor()),
            Some(name) => Assigned::To(name.to_string()),
        },
    };
    let limit = q.limit.clamp(1, 500);
    let (total, items) = state
        .db(move |c| Ok(queue::list(c, &rules, &filter, q.offset, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(QueuePage { total, items }))
}

/// One review item with both records side by side and each comparison's level and weight.
#[utoipa::path(get, path = "/v1/{domain}/review/{id}", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = i64, Path, description = "Review item id")),
    responses((status = 200, description = "The item in detail", body = Object),
        (status = 404, description = "`not_found`: a run replaced the backlog", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn review_item(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let (domain, id) = path.into_inner();
    let rules = state.rules(&domain)?;
    let ctx = std_context(&state);
    let detail = state
        .db(move |c| Ok(queue::detail(c, &rules, &ctx, id)?))
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// The steward to assign the item to; null releases it.
    pub steward: Option<String>,
}

/// Assigns a review item to a steward.
#[utoipa::path(post, path = "/v1/{domain}/review/{id}/assign", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = i64, Path, description = "Review item id"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = AssignRequest,
    responses((status = 200, description = "The item", body = Object)),
    security(("bearer" = [])))]
pub async fn assign(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, i64)>,
    body: web::Json<AssignRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    let actor = p.actor();
    let steward = body.into_inner().steward.filter(|s| !s.trim().is_empty());
    let item = state
        .db(move |c| Ok(queue::assign(c, &domain, id, steward.as_deref(), &actor)?))
        .await?;
    Ok(HttpResponse::Ok().json(item))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RecordRefBody {
    pub system: String,
    pub source_id: String,
}

impl From<RecordRefBody> for RecordRef {
    fn from(r: RecordRefBody) -> Self {
        RecordRef {
            system: r.system,
            source_id: r.source_id,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// `must_link` (same entity) or `cannot_link` (not the same).
    pub kind: String,
    pub a: RecordRefBody,
    pub b: RecordRefBody,
    #[serde(default)]
    pub reason: String,
}

/// Records a decision on a pair of source records; the next reconcile honours it.
#[utoipa::path(post, path = "/v1/{domain}/decisions", tag = "steward",
    params(("domain" = String, Path, description = "Domain"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = DecisionRequest,
    responses((status = 201, description = "The decision (the same one again if it was already made)", body = DecisionView),
        (status = 404, description = "`not_found`: a record is not staged", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`conflict`: the opposite decision is active", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn decide(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    body: web::Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let rules = state.rules(&path.into_inner())?;
    let b = body.into_inner();
    check_reason(&b.reason)?;
    let ctx = std_context(&state);
    let actor = p.actor();
    let d = state
        .db(move |c| {
            let mut s = Steward {
                conn: c,
                rules: &rules,
                ctx: &ctx,
                actor: &actor,
            };
            Ok(s.decide(&b.kind, &b.a.into(), &b.b.into(), &b.reason)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(DecisionView::from(d)))
}

/// A steward decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    pub id: i64,
    /// `must_link` or `cannot_link`.
    pub kind: String,
    pub a: RecordRefBody,
    pub b: RecordRefBody,
    pub decided_by: String,
    pub reason: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub withdrawn_at: Option<String>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl From<mdm_store::decisions::MatchDecision> for DecisionView {
    fn from(d: mdm_store::decisions::MatchDecision) -> Self {
        DecisionView {
            id: d.id,
            kind: d.kind,
            a: RecordRefBody {
                system: d.a_system,
                source_id: d.a_source_id,
            },
            b: RecordRefBody {
                system: d.b_system,
                source_id: d.b_source_id,
            },
            decided_by: d.decided_by,
            reason: d.reason,
            created_at: rfc3339(d.created_at),
            withdrawn_at: d.withdrawn_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DecisionsQuery {
    /// Only decisions not withdrawn.
    #[serde(default)]
    pub active: bool,
    #[serde(default = "default_limit")]
    pub limit: usize,
}

/// Decisions of a domain, newest first.
#[utoipa::path(get, path = "/v1/{domain}/decisions", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), DecisionsQuery),
    responses((status = 200, description = "`{decisions: [...]}`", body = Object)),
    security(("bearer" = [])))]
pub async fn decisions(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    q: web::Query<DecisionsQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let domain = path.into_inner();
    state.rules(&domain)?;
    let limit = q.limit.clamp(1, 1000) as i64;
    let active = q.active;
    let list = state
        .db(move |c| {
            Ok(mdm_store::decisions::list_decisions(
                c, &domain, active, limit,
            )?)
        })
        .await?;
    let list: Vec<DecisionView> = list.into_iter().map(DecisionView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "decisions": list })))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    #[serde(default)]
    pub reason: String,
}

/// Withdraws a decision: the next reconcile no longer honours it.
#[utoipa::path(post, path = "/v1/{domain}/decisions/{id}/withdraw", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = i64, Path, description = "Decision id"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = ReasonBody,
    responses((status = 200, description = "The withdrawn decision", body = DecisionView),
        (status = 409, description = "`conflict`: already withdrawn", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn withdraw(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, i64)>,
    body: web::Json<ReasonBody>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let (domain, id) = path.into_inner();
    let rules = state.rules(&domain)?;
    let reason = body.into_inner().reason;
    check_reason(&reason)?;
    let ctx = std_context(&state);
    let actor = p.actor();
    let d = state
        .db(move |c| {
            let mut s = Steward {
                conn: c,
                rules: &rules,
                ctx: &ctx,
                actor: &actor,
            };
            Ok(s.withdraw(id, &reason)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DecisionView::from(d)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The golden record to merge with this one.
    pub other: String,
    /// The version of this record the steward saw.
    pub version: i32,
    /// The version of `other` the steward saw.
    pub other_version: i32,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SplitRequest {
    pub system: String,
    pub source_id: String,
    pub version: i32,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditRequest {
    pub value: String,
    pub version: i32,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UndoMergeRequest {
    /// The ID the merge retired.
    pub retired_id: String,
    pub version: i32,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UnlockQuery {
    pub version: i32,
    #[serde(default)]
    pub reason: String,
}

/// Runs a direct action (on matches or on households): one at a time in this process, on
/// the blocking pool.
pub(crate) async fn act<T, F>(
    state: &web::Data<AppState>,
    p: &Principal,
    domain: &str,
    f: F,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut Steward<'_>) -> Result<T, mdm_service::ServiceError> + Send + 'static,
{
    p.require_steward()?;
    let rules = state.rules(domain)?;
    let ctx = std_context(state);
    let actor = p.actor();
    let serial = state.steward_actions.clone();
    let out = state
        .db(move |c| {
            let _one_at_a_time = serial.lock().unwrap_or_else(|e| e.into_inner());
            let mut s = Steward {
                conn: c,
                rules: &rules,
                ctx: &ctx,
                actor: &actor,
            };
            Ok(f(&mut s)?)
        })
        .await?;
    state.feed_written.notify_waiters();
    Ok(out)
}

pub(crate) fn check_reason(reason: &str) -> Result<(), ApiError> {
    if reason.len() > MAX_REASON {
        return Err(ApiError::bad_body(format!(
            "reason: at most {MAX_REASON} bytes"
        )));
    }
    Ok(())
}

const CONFLICT_DOC: &str = "`version_conflict` (with `current_version`) or `conflict`";

/// Merges two golden records (the ID sharing most source records survives; the other
/// redirects to it). Applied at once; publishes a `merged` event.
#[utoipa::path(post, path = "/v1/{domain}/golden/{id}/merge", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = MergeRequest,
    responses((status = 200, description = "`{survivor, retired, run_id}`", body = Object),
        (status = 409, description = CONFLICT_DOC, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_action`", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn merge(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    let out = act(&state, &p, &domain, move |s| {
        s.merge(&id, b.version, &b.other, b.other_version, &b.reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Splits a source record out of a golden record into one of its own. Applied at once;
/// publishes `split` events.
#[utoipa::path(post, path = "/v1/{domain}/golden/{id}/split", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = SplitRequest,
    responses((status = 200, description = "`{golden_id, new_golden_id, run_id}`", body = Object),
        (status = 409, description = CONFLICT_DOC, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_action`", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn split(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<SplitRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    let out = act(&state, &p, &domain, move |s| {
        let record = RecordRef {
            system: b.system,
            source_id: b.source_id,
        };
        s.split(&id, b.version, &record, &b.reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Undoes a merge: the records the retired ID brought get a golden record of their own.
#[utoipa::path(post, path = "/v1/{domain}/golden/{id}/undo-merge", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID (the survivor)"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = UndoMergeRequest,
    responses((status = 200, description = "`{golden_id, restored, run_id}`", body = Object),
        (status = 409, description = CONFLICT_DOC, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_action`", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn undo_merge(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<UndoMergeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    let out = act(&state, &p, &domain, move |s| {
        s.undo_merge(&id, b.version, &b.retired_id, &b.reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Sets a golden value; it stays locked against survivorship until unlocked.
#[utoipa::path(put, path = "/v1/{domain}/golden/{id}/attributes/{attribute}", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID"),
        ("attribute" = String, Path, description = "Canonical attribute name"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = EditRequest,
    responses((status = 200, description = "The golden record after the edit", body = GoldenView),
        (status = 409, description = CONFLICT_DOC, body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_action`: unknown attribute or empty value", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn edit(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String, String)>,
    body: web::Json<EditRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id, attribute) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    let g = act(&state, &p, &domain, move |s| {
        s.edit(&id, b.version, &attribute, &b.value, &b.reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(g, None, true)))
}

/// Removes a steward lock; survivorship decides the value again.
#[utoipa::path(delete, path = "/v1/{domain}/golden/{id}/attributes/{attribute}/lock", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID"),
        ("attribute" = String, Path, description = "Canonical attribute name"), UnlockQuery,
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    responses((status = 200, description = "The golden record after the unlock", body = GoldenView),
        (status = 404, description = "`not_found`: the attribute is not locked", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = CONFLICT_DOC, body = crate::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn unlock(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String, String)>,
    q: web::Query<UnlockQuery>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id, attribute) = path.into_inner();
    let q = q.into_inner();
    check_reason(&q.reason)?;
    let g = act(&state, &p, &domain, move |s| {
        s.unlock(&id, q.version, &attribute, &q.reason)
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(g, None, true)))
}

/// The source records of a golden record, with their current staged values.
#[utoipa::path(get, path = "/v1/{domain}/golden/{id}/members", tag = "read",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID")),
    responses((status = 200, description = "`{golden_id, members: [{system, source_id, values, loaded_at}]}`", body = Object)),
    security(("bearer" = [])))]
pub async fn members(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    let body = state
        .db_read(move |c| {
            let keys: Vec<(String, String)> = mdm_store::xref::members(c, &id)?
                .into_iter()
                .filter(|x| x.domain == domain)
                .map(|x| (x.system, x.source_id))
                .collect();
            let mut recs = mdm_store::matchstate::current_by_keys(c, &domain, &keys)?;
            recs.sort_by(|a, b| (&a.system, &a.source_id).cmp(&(&b.system, &b.source_id)));
            let members: Vec<serde_json::Value> = recs
                .into_iter()
                .map(|r| {
                    serde_json::json!({
                        "system": r.system,
                        "source_id": r.source_id,
                        "values": serde_json::from_str::<serde_json::Value>(&r.attributes).unwrap_or_default(),
                        "loaded_at": r.loaded_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    })
                })
                .collect();
            Ok(serde_json::json!({ "golden_id": id, "members": members }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Steward locks on a golden record.
#[utoipa::path(get, path = "/v1/{domain}/golden/{id}/locks", tag = "read",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Golden ID")),
    responses((status = 200, description = "`{locks: [{attribute, value, locked_by, locked_at}]}`", body = Object)),
    security(("bearer" = [])))]
pub async fn locks(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    let locks = state
        .db_read(move |c| Ok(mdm_store::decisions::locks_of(c, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "locks": locks })))
}
