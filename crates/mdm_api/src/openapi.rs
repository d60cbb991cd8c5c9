//! The OpenAPI document, generated from the handlers' annotations (utoipa) and served at
//! `/openapi.json`. A snapshot test in `tests/api` shows every change to it in review.

use crate::routes;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mdm API",
        description = "Golden records, cross-references, the change feed, record pushes and stewardship of the mdm master data hub.\n\nErrors are `application/problem+json` with a stable `code`: invalid_parameter, invalid_body (400); unauthorized (401); forbidden (403); not_found, unknown_domain, golden_not_found, xref_not_found, unknown_consumer, dead_letter_not_found (404); method_not_allowed (405); ack_beyond_feed, version_conflict (with `current_version`), conflict (409); invalid_action (422); payload_too_large (413); unsupported_media_type (415); not_ready, busy (503); internal (500). Every answer carries an `X-Request-Id` header (the caller's, when sent).",
        license(name = "Apache-2.0"),
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        routes::health::openapi,
        routes::golden::get,
        routes::golden::history,
        routes::golden::xref,
        routes::golden::search,
        routes::relationships::relationships,
        routes::relationships::hierarchy,
        routes::push::push,
        routes::push_links::push_links,
        routes::matching::match_record,
        routes::feed::changes,
        routes::feed::ack,
        routes::admin::consumers,
        routes::admin::dead_letters,
        routes::admin::replay,
        routes::steward::whoami,
        routes::steward::review,
        routes::steward::review_item,
        routes::steward::assign,
        routes::steward::decide,
        routes::steward::decisions,
        routes::steward::withdraw,
        routes::steward::merge,
        routes::steward::split,
        routes::steward::undo_merge,
        routes::steward::edit,
        routes::steward::unlock,
        routes::steward::members,
        routes::steward::locks,
        routes::households::household,
        routes::households::confirm,
        routes::households::remove,
        routes::households::split,
        routes::households::add,
        routes::households::decisions,
        routes::households::withdraw,
        routes::audit::search,
        routes::audit::export,
        routes::audit::dashboard,
        routes::quality::quarantine,
        routes::quality::quarantined_row,
        routes::quality::summary,
        routes::quality::values,
        routes::quality::conflicts,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "read", description = "Golden records, cross-references, search, history and relationships"),
        (name = "write", description = "Pushing source records; real-time matching"),
        (name = "feed", description = "The change feed and its per-consumer cursors"),
        (name = "admin", description = "Consumers, webhooks, dead letters"),
        (name = "steward", description = "Review queue, decisions, merge/split/edit of golden records, audit log, dashboard (steward or admin tokens)"),
        (name = "quality", description = "Data-quality findings: quarantined rows with file, line, field, reason and raw text, and their counts; staged values no golden record publishes; values a golden record's sources disagree on (any token)"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `mdm token create --role reader|writer|steward|admin [--system S]`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as pretty JSON, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("OpenAPI serializes")
    })
}
