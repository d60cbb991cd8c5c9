//! Reading golden records: by canonical ID (a retired ID answers with its survivor and says
//! so), as of a date, their history, by a source record's xref, and by attribute values.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{NaiveDate, NaiveDateTime};
use mdm_store::golden::{GoldenRecord, HistoryEntry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct GoldenQuery {
    /// Include per-attribute lineage (which source record and rule gave each value).
    #[serde(default)]
    pub lineage: bool,
    /// The record as it was at this time: `YYYY-MM-DD` (end of that day, UTC) or RFC 3339.
    pub as_of: Option<String>,
}

/// A golden record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GoldenView {
    pub golden_id: String,
    pub domain: String,
    /// `active`, `retired` or `deleted`.
    pub status: String,
    pub version: i32,
    /// Canonical attribute name -> surviving value.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    /// Attribute -> where its value came from; only with `lineage=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub lineage: Option<serde_json::Value>,
    /// The ID asked for, when a merge retired it and this is its survivor.
    pub redirected_from: Option<String>,
    /// When this version became valid (RFC 3339, UTC).
    pub valid_from: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct XrefView {
    pub system: String,
    pub source_id: String,
    /// The canonical ID of the source record.
    pub golden_id: String,
    pub golden: GoldenView,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryView {
    pub golden_id: String,
    pub versions: Vec<VersionView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    pub version: i32,
    /// `created`, `updated`, `merged`, `split` or `deleted`.
    pub reason: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub lineage: Option<serde_json::Value>,
    /// IDs involved in a merge or split.
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub run_id: i64,
    pub valid_from: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    pub records: Vec<GoldenView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

const MAX_PAGE: i64 = 500;

/// A golden record by canonical ID.
///
/// An ID retired by a merge answers with the surviving record: `redirected_from` names the
/// ID asked for and `Content-Location` the survivor's URL.
#[utoipa::path(get, path = "/v1/{domain}/golden/{id}", tag = "read",
    params(("domain" = String, Path, description = "customer, product, supplier, ..."),
        ("id" = String, Path, description = "Canonical (golden) ID"), GoldenQuery),
    responses(
        (status = 200, description = "The golden record", body = GoldenView),
        (status = 400, description = "`invalid_parameter`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`golden_not_found`, `unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<GoldenQuery>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    check_id(&id)?;
    let q = query.into_inner();
    let as_of = q.as_of.as_deref().map(parse_as_of).transpose()?;
    let d = domain.clone();
    let view = state
        .db_read(move |c| match as_of {
            None => {
                let r = mdm_store::search::golden(c, &d, &id)?.ok_or_else(|| not_found(&id))?;
                Ok(view(r.record, r.redirected_from, q.lineage))
            }
            Some(at) => as_of_view(c, &d, &id, at, q.lineage),
        })
        .await?;
    let mut res = HttpResponse::Ok();
    if view.redirected_from.is_some() {
        res.insert_header((
            header::CONTENT_LOCATION,
            format!("/v1/{domain}/golden/{}", view.golden_id),
        ));
    }
    Ok(res.json(view))
}

/// The version valid at `at`: the ID's own, or (when the ID was already retired then, or
/// never existed before its merge) its survivor's.
fn as_of_view(
    c: &mut mdm_store::DbConnection,
    domain: &str,
    id: &str,
    at: NaiveDateTime,
    lineage: bool,
) -> Result<GoldenView, ApiError> {
    let own = mdm_store::golden::as_of(c, id, at)?.filter(|h| h.domain == domain);
    match own {
        Some(h) if h.status != "retired" => Ok(version_view(h, None, lineage)),
        _ => {
            let Some(survivor) = mdm_store::golden::redirect_of(c, id)? else {
                return Err(ApiError::not_found(
                    "golden_not_found",
                    format!("golden record {id} did not exist at that time"),
                ));
            };
            let h = mdm_store::golden::as_of(c, &survivor, at)?
                .filter(|h| h.domain == domain)
                .ok_or_else(|| {
                    ApiError::not_found(
                        "golden_not_found",
                        format!("golden record {id} did not exist at that time"),
                    )
                })?;
            Ok(version_view(h, Some(id.to_string()), lineage))
        }
    }
}

/// Every version of a golden record, oldest first.
#[utoipa::path(get, path = "/v1/{domain}/golden/{id}/history", tag = "read",
    params(("domain" = String, Path, description = "Domain"),
        ("id" = String, Path, description = "Canonical (golden) ID; a retired one shows its own history up to the merge"),
        GoldenQuery),
    responses(
        (status = 200, description = "Versions", body = HistoryView),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`golden_not_found`, `unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn history(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String)>,
    query: web::Query<GoldenQuery>,
) -> Result<HttpResponse, ApiError> {
    let (domain, id) = path.into_inner();
    state.rules(&domain)?;
    check_id(&id)?;
    let lineage = query.lineage;
    let out = state
        .db(move |c| {
            let versions: Vec<HistoryEntry> = mdm_store::golden::history(c, &id)?
                .into_iter()
                .filter(|h| h.domain == domain)
                .collect();
            if versions.is_empty() {
                return Err(not_found(&id));
            }
            Ok(HistoryView {
                golden_id: id,
                versions: versions
                    .into_iter()
                    .map(|h| VersionView {
                        version: h.version,
                        reason: h.reason,
                        status: h.status,
                        attributes: json(&h.attributes),
                        lineage: lineage.then(|| mdm_core::lineage::expand(&h.lineage)),
                        detail: h.detail.as_deref().map(json),
                        run_id: h.run_id,
                        valid_from: rfc3339(h.valid_from),
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The canonical ID (and golden record) of one source record.
#[utoipa::path(get, path = "/v1/{domain}/xref/{system}/{source_id}", tag = "read",
    params(("domain" = String, Path, description = "Domain"),
        ("system" = String, Path, description = "Source system, e.g. ERP"),
        ("source_id" = String, Path, description = "The record's key in that system"),
        GoldenQuery),
    responses(
        (status = 200, description = "The canonical ID and golden record", body = XrefView),
        (status = 400, description = "`invalid_parameter`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`xref_not_found`, `unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn xref(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<(String, String, String)>,
    query: web::Query<GoldenQuery>,
) -> Result<HttpResponse, ApiError> {
    let (domain, system, source_id) = path.into_inner();
    state.rules(&domain)?;
    let system = mdm_core::SystemName::parse(&system)
        .map_err(|e| ApiError::bad_param(e.to_string()))?
        .to_string();
    let key =
        mdm_core::SourceKey::parse(&source_id).map_err(|e| ApiError::bad_param(e.to_string()))?;
    let lineage = query.lineage;
    let out = state
        .db_read(move |c| {
            let missing = || {
                ApiError::not_found(
                    "xref_not_found",
                    format!("no golden record holds {system} record {key} (not staged, or not reconciled yet)"),
                )
            };
            // One query in the usual case; a retired golden record (or a dangling entry)
            // takes the redirect path of a lookup by ID.
            let (source_id, record) =
                match mdm_store::xref::lookup_golden(c, &domain, &system, key.as_str())? {
                    Some((source_id, r)) if r.status != "retired" => (source_id, r),
                    _ => {
                        let x = mdm_store::xref::lookup(c, &domain, &system, key.as_str())?
                            .ok_or_else(missing)?;
                        let g = mdm_store::search::golden(c, &domain, &x.golden_id)?
                            .ok_or_else(missing)?;
                        (x.source_id, g.record)
                    }
                };
            Ok(XrefView {
                system,
                source_id,
                golden_id: record.golden_id.clone(),
                golden: view(record, None, lineage),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Search active golden records by attribute values.
///
/// Every query parameter other than `limit`, `cursor` and `lineage` names a canonical
/// attribute of the domain and the value it must have (exact, case-insensitive), e.g.
/// `?family_name=Ng&city=Ulm`. Pages follow `next_cursor`.
#[utoipa::path(get, path = "/v1/{domain}/golden", tag = "read",
    params(("domain" = String, Path, description = "Domain"),
        ("limit" = Option<i64>, Query, description = "Page size, 1-500 (default 50)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
        ("lineage" = Option<bool>, Query, description = "Include lineage"),
        ("attributes" = Option<std::collections::BTreeMap<String, String>>, Query, style = Form, explode,
            description = "attribute=value filters, e.g. family_name=Ng; a phone without a country code is read in the `country` given, else the configured default")),
    responses(
        (status = 200, description = "A page of matching records, by golden ID", body = SearchPage),
        (status = 400, description = "`invalid_parameter`: an unknown attribute, a bad limit", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthorized`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_domain`", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn search(
    state: web::Data<AppState>,
    _p: Principal,
    path: web::Path<String>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, ApiError> {
    let domain = path.into_inner();
    let rules = state.rules(&domain)?;
    let (mut limit, mut cursor, mut lineage, mut filters) = (50i64, None, false, Vec::new());
    let query = query.into_inner();
    // The query reads like a record: a national phone number is in the country the query
    // names (`country=US`), else in the configured default.
    let mut asked: Vec<Option<String>> = vec![None; rules.attributes.len()];
    for (k, v) in &query {
        if let Some(i) = rules.index_of(k) {
            asked[i] = Some(v.clone());
        }
    }
    let ctx = mdm_core::survive::record_context(
        &rules,
        &crate::routes::matching::std_context(&state),
        &asked,
    );
    for (k, v) in query {
        match k.as_str() {
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| ApiError::bad_param(format!("limit must be 1-{MAX_PAGE}")))?
            }
            "cursor" => cursor = Some(v),
            "lineage" => lineage = v == "true",
            name if rules.index_of(name).is_some() => {
                // Golden values are stored in canonical form (E.164 phones, folded e-mails,
                // ...): look up the canonical form of what was asked, when it has one.
                let ty = rules.attributes[rules.index_of(name).expect("checked")].ty;
                let v = mdm_core::survive::canonical_value(ty, &v, &ctx).unwrap_or(v);
                filters.push((k, v))
            }
            other => {
                return Err(ApiError::bad_param(format!(
                    "`{other}` is not an attribute of domain {domain}"
                )))
            }
        }
    }
    let out = state
        .db(move |c| {
            let mut rows =
                mdm_store::search::search(c, &domain, &filters, cursor.as_deref(), limit + 1)?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let next_cursor = more
                .then(|| rows.last().map(|r| r.golden_id.clone()))
                .flatten();
            Ok(SearchPage {
                records: rows.into_iter().map(|r| view(r, None, lineage)).collect(),
                next_cursor,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub(crate) fn view(r: GoldenRecord, redirected_from: Option<String>, lineage: bool) -> GoldenView {
    GoldenView {
        attributes: json(&r.attributes),
        lineage: lineage.then(|| mdm_core::lineage::expand(&r.lineage)),
        golden_id: r.golden_id,
        domain: r.domain,
        status: r.status,
        version: r.version,
        redirected_from,
        valid_from: rfc3339(r.updated_at),
    }
}

fn version_view(h: HistoryEntry, redirected_from: Option<String>, lineage: bool) -> GoldenView {
    GoldenView {
        attributes: json(&h.attributes),
        lineage: lineage.then(|| mdm_core::lineage::expand(&h.lineage)),
        golden_id: h.golden_id,
        domain: h.domain,
        status: h.status,
        version: h.version,
        redirected_from,
        valid_from: rfc3339(h.valid_from),
    }
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or(serde_json::Value::Null)
}

fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339()
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found("golden_not_found", format!("no golden record has id {id}"))
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > 128 {
        return Err(ApiError::bad_param("a golden id is 1-128 characters"));
    }
    Ok(())
}

/// `YYYY-MM-DD` (the end of that day, UTC) or an RFC 3339 time.
pub fn parse_as_of(s: &str) -> Result<NaiveDateTime, ApiError> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .expect("valid time"));
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_utc())
        .map_err(|_| ApiError::bad_param(format!("as_of `{s}` is neither YYYY-MM-DD nor RFC 3339")))
}
