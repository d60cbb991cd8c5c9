//! The steward console: static HTML, CSS and JavaScript compiled into the binary and served
//! at `/console` (no build step, nothing fetched from elsewhere at runtime). The pages call
//! the steward API with the token the steward pastes; the server needs no session of its own.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// An embedded file: name under `/console/assets/`, content type, bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $ctype:expr) => {
        Asset {
            name: $name,
            content_type: $ctype,
            body: include_bytes!(concat!("../assets/console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("charts.js", JS),
    asset!("signin.js", JS),
    asset!("queue.js", JS),
    asset!("compare.js", JS),
    asset!("golden.js", JS),
    asset!("audit.js", JS),
    asset!("dashboard.js", JS),
    asset!("quality.js", JS),
    asset!("relations.js", JS),
];

/// Only this origin's scripts and styles (no inline code); API calls go to the same origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The console's routes: the page at `/console` and `/console/`, files under `/console/assets/`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["/console", "/console/"]).route(web::get().to(page)))
        .service(web::resource("/console/assets/{file}").route(web::get().to(file)));
}

async fn page(req: HttpRequest) -> HttpResponse {
    serve(&req, find("index.html").expect("index.html is embedded"))
}

async fn file(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset =
        find(&name).ok_or_else(|| ApiError::not_found("not_found", "no such console file"))?;
    Ok(serve(&req, asset))
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// Answers the file, or 304 when the browser's copy (by ETag) is current. `no-cache` makes
/// the browser revalidate each time, so a new binary's files are picked up at once.
fn serve(req: &HttpRequest, asset: &'static Asset) -> HttpResponse {
    let etag = etag(asset);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    if asset.name == "index.html" {
        res.insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
    if fresh {
        return res.finish();
    }
    res.content_type(asset.content_type).body(asset.body)
}

/// A strong ETag per file, computed once: the first 16 hex digits of its SHA-256.
fn etag(asset: &'static Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..16]))
            .collect()
    });
    let i = ASSETS
        .iter()
        .position(|a| std::ptr::eq(a, asset))
        .expect("asset from the table");
    &tags[i]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_named_once_and_every_link_and_import_is_embedded() {
        let mut names: Vec<_> = ASSETS.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ASSETS.len());
        let index = std::str::from_utf8(find("index.html").unwrap().body).unwrap();
        let links: Vec<String> = index
            .split("/console/assets/")
            .skip(1)
            .map(|p| p.chars().take_while(|c| *c != '"').collect())
            .collect();
        assert!(links.len() >= 3, "{links:?}");
        for name in links {
            assert!(find(&name).is_some(), "index.html links {name}");
        }
        // ES module imports between the scripts must name embedded files too.
        for a in ASSETS.iter().filter(|a| a.content_type == JS) {
            let src = std::str::from_utf8(a.body).unwrap();
            for part in src.split("from './").skip(1) {
                let name: String = part.chars().take_while(|c| *c != '\'').collect();
                assert!(find(&name).is_some(), "{} imports {name}", a.name);
            }
        }
    }
}
