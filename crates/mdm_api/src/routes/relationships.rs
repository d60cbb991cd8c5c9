//! Relationships between golden records: a record's relationships (by type and direction,
//! now or as of a time) and a hierarchy walked up to the ultimate parent or down through
//! the subtree. A retired ID answers for its survivor, as a read of the record does.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::routes::golden::parse_as_of;
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use mdm_service::relationships::{HierarchyPage, RelationshipView, Walk, WalkSpec};
use mdm_store::relationships::Direction;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct RelationshipsQuery {
    /// Only relationships of this type (`contact_of`, `parent_of`, ...).
    #[serde(rename = "type")]
    pub rel_type: Option<String>,
    /// `out` (the record is the `from` end), `in` (the `to` end) or `both` (default).
    pub direction: Option<String>,
    /// The relationships as they were at this time: `YYYY-MM-DD` (end of that day, UTC) or
    /// RFC 3339.
    pub as_of: Option<String>,
}

/// One relationship, seen from the record asked about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationshipDoc {
    #[serde(rename = "type")]
    pub rel_type: String,
    /// `out` or `in`.
    pub direction: String,
    pub from_domain: String,
    pub from_golden_id: String,
    pub to_domain: String,
    pub to_golden_id: String,
    /// The golden ID at the other end.
    pub other_golden_id: String,
    pub version: i32,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// The source links behind it: system, origin, from/to source ID, version, batch.
    #[schema(value_type = Vec<Object>)]
    pub lineage: serde_json::Value,
    pub valid_from: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RelationshipsView {
    pub golden_id: String,
    /// The ID asked for, when a merge retired it and this is its survivor.
    pub redirected_from: Option<String>,
    pub relationships: Vec<RelationshipDoc>,
    /// The types among these that are hierarchies (one parent per record, within the
    /// domain): the ones `/hierarchy` walks. A client offers the walk only for them.
    pub hierarchies: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HierarchyQuery {
    /// A `one_parent` type within the domain, e.g. `parent_of`.
    #[serde(rename = "type")]
    pub rel_type: String,
    /// `up` (ancestors, nearest first, to the ultimate parent) or `down` (the subtree).
    pub direction: String,
    /// Levels to walk, 1-50 (default 10).
    pub depth: Option<u32>,
    /// Subtree page size, 1-1000 (default 200).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous subtree page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HierarchyNodeDoc {
    pub golden_id: String,
    pub depth: u32,
    /// The record one step nearer the start.
    pub via: String,
    pub relationship: RelationshipDoc,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HierarchyView {
    pub golden_id: String,
    #[serde(rename = "type")]
    pub rel_type: String,
    pub direction: String,
    pub nodes: Vec<HierarchyNodeDoc>,
    /// Up: the ultimate parent was reached; down: the whole subtree is in the pages.
    pub complete: bool,
    pub next_cursor: Option<String>,
}

/// A golden record's relationships.
#[utoipa::path(get, path = "/v1/{domain}/golden/{id}/relationships", tag = "read",
    params(("domain" = String, Path, description = "Domain"),
        ("id" = String, Path, description = "Canonical (golden) ID; a retired one answers for its survivor"),
        RelationshipsQuery),
    responses(
        (status = 200, description = "Active relationships (or those valid at `as_of`)", body = RelationshipsView),
        (status = 400, description = "`invalid_parameter`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`golden_not_found`, `unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn relationships(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<RelationshipsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    let q = query.into_inner();
    let direction = match q.direction.as_deref() {
        None | Some("both") => Direction::Both,
        Some("out") => Direction::Out,
        Some("in") => Direction::In,
        Some(other) => {
            return Err(ApiError::bad_param(format!(
                "direction `{other}` is not out, in or both"
            )))
        }
    };
    let at = q.as_of.as_deref().map(parse_as_of).transpose()?;
    let out = state
        .db_read(move |c| {
            // As of a time, a retired ID shows its own past; now, its survivor's present.
            let (golden_id, redirected_from) = match at {
                Some(_) => (resolve(c, &domain, &id).map(|_| id)?, None),
                None => resolve(c, &domain, &id)?,
            };
            let rels = mdm_service::relationships::of_golden(
                c,
                &domain,
                &golden_id,
                q.rel_type.as_deref(),
                direction,
                at,
            )?;
            let types = mdm_service::relationships::load_types(c)?;
            let mut hierarchies: Vec<String> = rels
                .iter()
                .filter(|r| {
                    types
                        .get(&domain, &r.rel_type)
                        .is_some_and(|t| is_hierarchy(t, &domain))
                })
                .map(|r| r.rel_type.clone())
                .collect();
            hierarchies.sort();
            hierarchies.dedup();
            Ok(RelationshipsView {
                golden_id,
                redirected_from,
                relationships: rels.into_iter().map(doc).collect(),
                hierarchies,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A hierarchy walked from a golden record.
///
/// `direction=up` lists the ancestors, nearest first, up to the ultimate parent (or
/// `depth` levels); `direction=down` lists the subtree level by level, by parent then
/// child, in pages (`limit`, `next_cursor`).
#[utoipa::path(get, path = "/v1/{domain}/golden/{id}/hierarchy", tag = "read",
    params(("domain" = String, Path, description = "Domain"),
        ("id" = String, Path, description = "Canonical (golden) ID"),
        HierarchyQuery),
    responses(
        (status = 200, description = "The records reached", body = HierarchyView),
        (status = 400, description = "`invalid_parameter`: not a one_parent type of the domain, a bad direction, depth or cursor", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`golden_not_found`, `unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn hierarchy(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<HierarchyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    let q = query.into_inner();
    let walk = match q.direction.as_str() {
        "up" => Walk::Up,
        "down" => Walk::Down,
        other => {
            return Err(ApiError::bad_param(format!(
                "direction `{other}` is not up or down"
            )))
        }
    };
    let depth = q.depth.unwrap_or(10);
    if !(1..=50).contains(&depth) {
        return Err(ApiError::bad_param("depth must be 1-50"));
    }
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_param("limit must be 1-1000"));
    }
    let cursor = match q.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| ApiError::bad_param("cursor is not a next_cursor of this walk"))?,
    };
    let out = state
        .db_read(move |c| {
            let types = mdm_service::relationships::load_types(c)?;
            let (golden_id, _) = resolve(c, &domain, &id)?;
            let spec = WalkSpec {
                rel_type: q.rel_type,
                walk,
                depth,
                cursor,
                limit,
            };
            let page = mdm_service::relationships::hierarchy(c, &types, &domain, &golden_id, &spec)
                .map_err(|e| match e {
                    mdm_service::ServiceError::Invalid(m) => ApiError::bad_param(m),
                    other => other.into(),
                })?;
            Ok(hierarchy_doc(page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Whether `/hierarchy` walks type `t` from records of `domain` (as `hierarchy` checks).
fn is_hierarchy(t: &mdm_core::relationships::RelationshipType, domain: &str) -> bool {
    t.from == domain
        && t.to == domain
        && t.cardinality == mdm_core::relationships::Cardinality::OneParent
}

/// The golden ID to read for `id` (its survivor when a merge retired it) and the retired
/// ID, or 404.
fn resolve(
    c: &mut mdm_store::DbConnection,
    domain: &str,
    id: &str,
) -> Result<(String, Option<String>), ApiError> {
    if id.is_empty() || id.len() > 128 {
        return Err(ApiError::bad_param("a golden id is 1-128 characters"));
    }
    let r = mdm_store::search::golden(c, domain, id)?.ok_or_else(|| {
        ApiError::not_found("golden_not_found", format!("no golden record has id {id}"))
    })?;
    Ok((r.record.golden_id, r.redirected_from))
}

fn doc(v: RelationshipView) -> RelationshipDoc {
    RelationshipDoc {
        rel_type: v.rel_type,
        direction: v.direction,
        from_domain: v.from_domain,
        from_golden_id: v.from_golden_id,
        to_domain: v.to_domain,
        to_golden_id: v.to_golden_id,
        other_golden_id: v.other_golden_id,
        version: v.version,
        attributes: v.attributes,
        lineage: v.lineage,
        valid_from: v.valid_from,
    }
}

fn hierarchy_doc(p: HierarchyPage) -> HierarchyView {
    HierarchyView {
        golden_id: p.golden_id,
        rel_type: p.rel_type,
        direction: p.direction,
        nodes: p
            .nodes
            .into_iter()
            .map(|n| HierarchyNodeDoc {
                golden_id: n.golden_id,
                depth: n.depth,
                via: n.via,
                relationship: doc(n.relationship),
            })
            .collect(),
        complete: p.complete,
        next_cursor: p.next_cursor,
    }
}
