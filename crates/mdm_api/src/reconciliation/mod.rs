//! The W3C Entity Reconciliation API 0.2 per domain at `/reconcile/{domain}`: what
//! OpenRefine's "Reconcile" menu speaks, so a spreadsheet column can be matched against the
//! golden records and pull canonical IDs and golden values into the sheet.
//!
//! - The service URL answers the manifest (no parameters), a batch of queries (`queries=`,
//!   GET or form POST) and data extension (`extend=`); `/properties` proposes properties,
//!   `/suggest/{entity|property|type}` completes what a user types, `/preview?id=` shows
//!   a small HTML card.
//! - Queries are scored by the real-time matcher with the last reconcile run's model
//!   (`crate::realtime`), so a score is the engine's match probability in percent and
//!   `match` is true only where the engine itself would merge. A query that carries only a
//!   name finds its candidates through the name index (`crate::name_index`).
//! - Every answer allows any origin (CORS), as the specification expects of a public
//!   service. Access: a bearer token of any role, or, since OpenRefine sends no custom
//!   headers, a `reconcile` token in the URL (`/reconcile/token/{token}/{domain}`): read-only
//!   and limited to these routes, because a URL lands in browser history and proxy logs.

pub mod messages;

use crate::auth::{self, Principal, Role};
use crate::error::ApiError;
use crate::routes::matching::{match_error, std_context};
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use mdm_core::DomainRules;
use mdm_store::DbConnection;
use messages::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

type Params = HashMap<String, String>;

/// A form-encoded batch (100 queries or IDs with properties fit easily).
const MAX_FORM_BYTES: usize = 1 << 20;

/// The two families of routes: bearer-token access and a `reconcile` token in the path.
const PREFIXES: [&str; 2] = ["/reconcile/token/{token}/{domain}", "/reconcile/{domain}"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    for prefix in PREFIXES {
        let service = resource(prefix)
            .app_data(
                web::FormConfig::default()
                    .limit(MAX_FORM_BYTES)
                    .error_handler(|e, _| ApiError::bad_param(format!("form body: {e}")).into()),
            )
            .route(web::get().to(service_get))
            .route(web::post().to(service_post));
        let properties = resource(&format!("{prefix}/properties")).route(web::get().to(propose));
        let suggest = resource(&format!("{prefix}/suggest/{{kind}}")).route(web::get().to(suggest));
        let preview = resource(&format!("{prefix}/preview")).route(web::get().to(preview));
        for r in [service, properties, suggest, preview] {
            cfg.service(r.wrap(from_fn(cors)));
        }
    }
}

fn resource(path: &str) -> actix_web::Resource {
    web::resource(path)
        .route(web::method(Method::OPTIONS).to(preflight))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the reconciliation service takes GET (and POST at the service URL)",
            ))
        }))
}

/// Any origin may call the service (OpenRefine runs in the user's browser).
async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(res)
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type",
        ))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
        .finish()
}

/// The caller may use the service, and the domain exists: a `reconcile` token in the path,
/// or any bearer token.
async fn access(req: &HttpRequest, state: &AppState) -> Result<Arc<DomainRules>, ApiError> {
    match req.match_info().get("token") {
        Some(token) => {
            let p = auth::authenticate(state, token.to_string()).await?;
            if p.role != Role::Reconcile {
                return Err(ApiError::forbidden(format!(
                    "only a `reconcile` token belongs in a URL; send a `{}` token as \
                     `Authorization: Bearer <token>` (and revoke this one: it has been in a URL)",
                    p.role.as_str()
                )));
            }
        }
        None => {
            Principal::extract(req).await?;
        }
    }
    state.rules(req.match_info().get("domain").unwrap_or_default())
}

async fn service_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<Params>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let body = answer(&req, &state, &params).await?;
    Ok(json_or_jsonp(body, params.get("callback")))
}

async fn service_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Form<Params>,
) -> Result<HttpResponse, ApiError> {
    let body = answer(&req, &state, &params).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A query batch, a data extension, or (without either) the manifest.
async fn answer(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    params: &Params,
) -> Result<serde_json::Value, ApiError> {
    let rules = access(req, state).await?;
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(ApiError::internal);
    if let Some(q) = params.get("queries") {
        let batch: BTreeMap<String, Query> =
            serde_json::from_str(q).map_err(|e| ApiError::bad_param(format!("queries: {e}")))?;
        if batch.len() > MAX_ITEMS {
            return Err(ApiError::bad_param(format!(
                "queries: at most {MAX_ITEMS} queries per batch, not {}",
                batch.len()
            )));
        }
        return json(serde_json::to_value(reconcile(state, rules, batch).await?));
    }
    if let Some(e) = params.get("extend") {
        let q: ExtendQuery =
            serde_json::from_str(e).map_err(|e| ApiError::bad_param(format!("extend: {e}")))?;
        if q.ids.len() > MAX_ITEMS {
            return Err(ApiError::bad_param(format!(
                "extend: at most {MAX_ITEMS} ids per request, not {}",
                q.ids.len()
            )));
        }
        return json(serde_json::to_value(extend(state, rules, q).await?));
    }
    Ok(manifest(req, &rules))
}

/// The service manifest, with URLs on the address the caller used.
fn manifest(req: &HttpRequest, rules: &DomainRules) -> serde_json::Value {
    let info = req.connection_info();
    let base = format!("{}://{}", info.scheme(), info.host());
    let service = format!("{base}{}", req.path().trim_end_matches('/'));
    let domain = &rules.domain;
    let at = |path: &str| serde_json::json!({ "service_url": service, "service_path": path });
    serde_json::json!({
        "versions": ["0.2"],
        "name": format!("mdm {domain} golden records"),
        "identifierSpace": format!("{base}/v1/{domain}/golden/"),
        "schemaSpace": format!("{base}/v1/{domain}/attributes/"),
        "serviceVersion": env!("CARGO_PKG_VERSION"),
        "documentation": format!("{base}/docs/"),
        "defaultTypes": [domain_type(rules)],
        "view": { "url": format!("{base}/console#/golden/{domain}/{{{{id}}}}") },
        "preview": { "url": format!("{service}/preview?id={{{{id}}}}"), "width": 400, "height": 240 },
        "suggest": {
            "entity": at("/suggest/entity"),
            "property": at("/suggest/property"),
            "type": at("/suggest/type"),
        },
        "extend": {
            "propose_properties": at("/properties"),
            "property_settings": [],
        },
    })
}

async fn reconcile(
    state: &web::Data<AppState>,
    rules: Arc<DomainRules>,
    batch: BTreeMap<String, Query>,
) -> Result<BTreeMap<String, ResultBatchEntry>, ApiError> {
    let matcher = state.matcher(&rules.domain);
    let ctx = std_context(state);
    state
        .db(move |c| {
            let index = matcher.current(c, &rules, &ctx)?;
            let mut found = Vec::with_capacity(batch.len());
            {
                let idx = index
                    .read()
                    .map_err(|_| ApiError::internal("match index lock poisoned"))?;
                for (key, q) in batch {
                    let values = query_values(&rules, &q);
                    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_ITEMS);
                    let cands = idx
                        .query_by_name(c, &rules, &ctx, &values)
                        .map_err(match_error)?;
                    found.push((key, limit, cands));
                }
            }
            let ids: Vec<&str> = found
                .iter()
                .flat_map(|(_, limit, cs)| cs.iter().take(*limit).map(|c| c.golden_id.as_str()))
                .collect();
            let names = golden_names(c, &rules, &ids)?;
            Ok(found
                .iter()
                .map(|(key, limit, cs)| {
                    let result = candidates(&rules, cs, &names, *limit);
                    (key.clone(), ResultBatchEntry { result })
                })
                .collect())
        })
        .await
}

/// Golden ID -> the name a person reads (`display_name` of its attributes).
fn golden_names(
    c: &mut DbConnection,
    rules: &DomainRules,
    ids: &[&str],
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(mdm_store::golden::by_ids(c, &ids)?
        .into_iter()
        .filter_map(|g| {
            let attrs = serde_json::from_str(&g.attributes).ok()?;
            let name = mdm_service::steward::queue::display_name(rules, &attrs)?;
            Some((g.golden_id, name))
        })
        .collect())
}

async fn extend(
    state: &web::Data<AppState>,
    rules: Arc<DomainRules>,
    q: ExtendQuery,
) -> Result<ExtendResponse, ApiError> {
    let meta: Vec<PropertyRef> = q
        .properties
        .iter()
        .filter_map(|p| properties(&rules).into_iter().find(|a| a.id == p.id))
        .collect();
    state
        .db_read(move |c| {
            let mut rows = BTreeMap::new();
            for id in &q.ids {
                let attrs = mdm_store::search::golden(c, &rules.domain, id)?
                    .filter(|r| r.record.status == "active")
                    .and_then(|r| {
                        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(
                            &r.record.attributes,
                        )
                        .ok()
                    })
                    .unwrap_or_default();
                let row = meta
                    .iter()
                    .map(|p| {
                        let values = attrs.get(&p.id).and_then(text).map(|str| StrValue { str });
                        (p.id.clone(), values.into_iter().collect())
                    })
                    .collect();
                rows.insert(id.clone(), row);
            }
            Ok(ExtendResponse { meta, rows })
        })
        .await
}

fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct ProposeParams {
    limit: Option<usize>,
}

/// The properties data extension can fetch: the domain's attributes.
async fn propose(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<ProposeParams>,
) -> Result<HttpResponse, ApiError> {
    let rules = access(&req, &state).await?;
    let mut props = properties(&rules);
    let limit = params.limit.unwrap_or(props.len()).min(props.len());
    props.truncate(limit);
    Ok(HttpResponse::Ok().json(PropertyProposal {
        ty: rules.domain.clone(),
        limit,
        properties: props,
    }))
}

#[derive(serde::Deserialize)]
struct SuggestParams {
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    cursor: usize,
    callback: Option<String>,
}

/// Completions of what a user types: golden records by name, attributes, the domain.
async fn suggest(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<SuggestParams>,
) -> Result<HttpResponse, ApiError> {
    let rules = access(&req, &state).await?;
    let p = params.into_inner();
    let want = p.cursor.min(MAX_ITEMS) + SUGGESTIONS;
    let prefix = p.prefix.trim().to_lowercase();
    let result: Vec<Suggestion> = match req.match_info().get("kind").unwrap_or_default() {
        "entity" => entities(&state, rules.clone(), p.prefix.clone(), want).await?,
        "property" => properties(&rules)
            .into_iter()
            .filter(|a| {
                a.id.to_lowercase().contains(&prefix) || a.name.to_lowercase().contains(&prefix)
            })
            .map(|a| Suggestion {
                id: a.id,
                name: a.name,
                description: None,
            })
            .collect(),
        "type" => {
            let t = domain_type(&rules);
            (t.id.contains(&prefix) || t.name.to_lowercase().contains(&prefix))
                .then_some(Suggestion {
                    id: t.id,
                    name: t.name,
                    description: rules.description.clone(),
                })
                .into_iter()
                .collect()
        }
        other => {
            return Err(ApiError::not_found(
                "not_found",
                format!("suggest serves entity, property and type, not `{other}`"),
            ))
        }
    };
    let result = result
        .into_iter()
        .skip(p.cursor)
        .take(SUGGESTIONS)
        .collect();
    let body = serde_json::to_value(SuggestResponse { result }).map_err(ApiError::internal)?;
    Ok(json_or_jsonp(body, p.callback.as_ref()))
}

/// Suggestions per request.
const SUGGESTIONS: usize = 10;

async fn entities(
    state: &web::Data<AppState>,
    rules: Arc<DomainRules>,
    prefix: String,
    limit: usize,
) -> Result<Vec<Suggestion>, ApiError> {
    let matcher = state.matcher(&rules.domain);
    let ctx = std_context(state);
    state
        .db(move |c| {
            let ids = {
                let index = matcher.current(c, &rules, &ctx)?;
                let idx = index
                    .read()
                    .map_err(|_| ApiError::internal("match index lock poisoned"))?;
                idx.complete_name(&prefix, limit)
            };
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let names = golden_names(c, &rules, &refs)?;
            Ok(ids
                .into_iter()
                .map(|id| Suggestion {
                    name: names.get(&id).cloned().unwrap_or_else(|| id.clone()),
                    id,
                    description: None,
                })
                .collect())
        })
        .await
}

#[derive(serde::Deserialize)]
struct PreviewParams {
    id: String,
}

/// A small HTML card of one golden record, for OpenRefine's preview pop-up.
async fn preview(
    req: HttpRequest,
    state: web::Data<AppState>,
    params: web::Query<PreviewParams>,
) -> Result<HttpResponse, ApiError> {
    let rules = access(&req, &state).await?;
    let id = params.into_inner().id;
    let r = rules.clone();
    let found = state
        .db_read(move |c| Ok(mdm_store::search::golden(c, &r.domain, &id)?))
        .await?
        .filter(|r| r.record.status == "active")
        .ok_or_else(|| ApiError::not_found("golden_not_found", "no active golden record"))?;
    let attrs: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&found.record.attributes).map_err(ApiError::internal)?;
    let name = mdm_service::steward::queue::display_name(&rules, &attrs)
        .unwrap_or_else(|| found.record.golden_id.clone());
    let mut html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title><style>\
         body{{font:13px sans-serif;margin:8px}}td{{padding:1px 6px;vertical-align:top}}\
         td:first-child{{color:#555}}</style></head><body><h3>{}</h3><table>",
        esc(&name),
        esc(&name)
    );
    for a in &rules.attributes {
        if let Some(v) = attrs.get(&a.name).and_then(text) {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                esc(&a.name),
                esc(&v)
            ));
        }
    }
    html.push_str(&format!(
        "</table><p style=\"color:#777\">{}</p></body></html>",
        esc(&found.record.golden_id)
    ));
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'",
        ))
        .body(html))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// JSON, or JSONP when the caller names a plain JavaScript callback (older OpenRefine
/// widgets load suggestions that way).
fn json_or_jsonp(body: serde_json::Value, callback: Option<&String>) -> HttpResponse {
    match callback.filter(|c| is_callback_name(c)) {
        Some(cb) => HttpResponse::Ok()
            .content_type("application/javascript; charset=utf-8")
            .body(format!("{cb}({body});")),
        None => HttpResponse::Ok().json(body),
    }
}

fn is_callback_name(s: &str) -> bool {
    let mut chars = s.chars();
    s.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_$.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonp_only_for_plain_callback_names() {
        assert!(is_callback_name("jQuery123_456.cb"));
        assert!(!is_callback_name("alert(1)//"));
        assert!(!is_callback_name("1abc"));
        assert!(!is_callback_name(""));
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
