//! Derived groups of golden records (households of customers): read one with its members
//! and the evidence that links them, and the steward's actions on it (confirm, remove a
//! member, split, add a member, list and withdraw decisions). Actions are stored as
//! decisions and applied at once by an incremental reconcile, like the match actions in
//! `steward`; every later run honours them.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::idempotency::KEY_DOC;
use crate::routes::steward::{self, check_reason};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use mdm_service::relationships::groups::{self, GroupOutcome, GroupSteward};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

const PROBLEM: &str = "application/problem+json";

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupReason {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MemberRequest {
    /// A golden record ID.
    pub member: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SplitGroupRequest {
    /// The members that leave together (the others stay together).
    pub members: Vec<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct GroupDecisionsQuery {
    /// Withdrawn decisions too (default false).
    #[serde(default)]
    pub all: bool,
}

/// Runs a steward action on groups: one at a time in this process, with the match actions.
async fn act<F>(
    state: &web::Data<AppState>,
    p: &Principal,
    domain: &str,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&mut GroupSteward<'_>) -> Result<GroupOutcome, mdm_service::ServiceError>
        + Send
        + 'static,
{
    let out = steward::act(state, p, domain, move |s| {
        f(&mut GroupSteward {
            conn: &mut *s.conn,
            rules: s.rules,
            ctx: s.ctx,
            actor: s.actor,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A household (a derived group) with its members, the evidence linking them and the
/// active steward decisions on them.
#[utoipa::path(get, path = "/v1/{domain}/households/{id}", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Household ID")),
    responses((status = 200, description = "`{id, type, domain, members: [{golden_id, basis, evidence, since}], decisions}`", body = Object),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = PROBLEM)),
    security(("bearer" = [])))]
pub async fn household(
    state: web::Data<AppState>,
    _reader: Principal,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    let g = state
        .db_read(move |c| Ok(groups::group(c, &domain, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(g))
}

/// Confirms a household as it is: its members stay together in every later run.
#[utoipa::path(post, path = "/v1/{domain}/households/{id}/confirm", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Household ID"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = GroupReason,
    responses((status = 200, description = "`{groups: {golden_id: household}, decisions, withdrawn, run_id}`", body = Object),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = PROBLEM)),
    security(("bearer" = [])))]
pub async fn confirm(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<GroupReason>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    act(&state, &p, &domain, move |s| s.confirm(&id, &b.reason)).await
}

/// Removes a member from a household: it is kept apart from the other members in every
/// later run.
#[utoipa::path(post, path = "/v1/{domain}/households/{id}/remove", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Household ID"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = MemberRequest,
    responses((status = 200, description = "`{groups, decisions, withdrawn, run_id}`", body = Object),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = PROBLEM),
        (status = 422, description = "`invalid_action`: not a member", body = crate::error::Problem, content_type = PROBLEM)),
    security(("bearer" = [])))]
pub async fn remove(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<MemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    act(&state, &p, &domain, move |s| {
        s.remove(&id, &b.member, &b.reason)
    })
    .await
}

/// Splits a household in two: the members named apart from the others.
#[utoipa::path(post, path = "/v1/{domain}/households/{id}/split", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Household ID"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = SplitGroupRequest,
    responses((status = 200, description = "`{groups, decisions, withdrawn, run_id}`", body = Object),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = PROBLEM),
        (status = 422, description = "`invalid_action`", body = crate::error::Problem, content_type = PROBLEM)),
    security(("bearer" = [])))]
pub async fn split(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<SplitGroupRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    act(&state, &p, &domain, move |s| {
        s.split(&id, &b.members, &b.reason)
    })
    .await
}

/// Adds a golden record to a household (it leaves any other one).
#[utoipa::path(post, path = "/v1/{domain}/households/{id}/add", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = String, Path, description = "Household ID"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = MemberRequest,
    responses((status = 200, description = "`{groups, decisions, withdrawn, run_id}`", body = Object),
        (status = 404, description = "`not_found`", body = crate::error::Problem, content_type = PROBLEM),
        (status = 422, description = "`invalid_action`: an organization, or a member already", body = crate::error::Problem, content_type = PROBLEM)),
    security(("bearer" = [])))]
pub async fn add(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
    body: web::Json<MemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    act(&state, &p, &domain, move |s| {
        s.add(&id, &b.member, &b.reason)
    })
    .await
}

/// The steward decisions on households, oldest first.
#[utoipa::path(get, path = "/v1/{domain}/household-decisions", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), GroupDecisionsQuery),
    responses((status = 200, description = "`[{id, kind, a, b, group_id, decided_by, reason, created_at, withdrawn_at}]`", body = Object)),
    security(("bearer" = [])))]
pub async fn decisions(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<String>,
    q: web::Query<GroupDecisionsQuery>,
) -> Result<HttpResponse, ApiError> {
    p.require_steward()?;
    let domain = path.into_inner();
    state.rules(&domain)?;
    let all = q.all;
    let d = state
        .db_read(move |c| Ok(groups::decisions(c, &domain, !all)?))
        .await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Withdraws a household decision; applied at once.
#[utoipa::path(post, path = "/v1/{domain}/household-decisions/{id}/withdraw", tag = "steward",
    params(("domain" = String, Path, description = "Domain"), ("id" = i64, Path, description = "Decision id"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = GroupReason,
    responses((status = 200, description = "`{groups, decisions, withdrawn, run_id}`", body = Object),
        (status = 409, description = "`conflict`: already withdrawn", body = crate::error::Problem, content_type = PROBLEM)),
    security(("bearer" = [])))]
pub async fn withdraw(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, i64)>,
    body: web::Json<GroupReason>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    let b = body.into_inner();
    check_reason(&b.reason)?;
    act(&state, &p, &domain, move |s| s.withdraw(id, &b.reason)).await
}
