//! `mdm serve` basics over real HTTP: health, readiness, metrics, request ids, problem+json
//! errors, size limits, the OpenAPI document; tokens and roles.

use crate::helpers::{backends, run_err, run_ok, text, Case};
use crate::server::Server;
use serde_json::json;

backends!(
    health_metrics_and_request_ids,
    errors_are_problems_with_stable_codes,
    tokens_and_roles,
);

fn health_metrics_and_request_ids(case: &Case) {
    let s = Server::start(case, &[]);
    assert_eq!(s.get("/healthz", None).ok()["status"], "ok");
    let ready = s.get("/readyz", None);
    assert_eq!(ready.ok()["status"], "ready");
    let id = ready.request_id.clone().expect("request id header");
    assert!(id.len() >= 16, "{id}");
    // A caller's request id is kept.
    let r = s
        .client()
        .get(s.url("/healthz"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-abc-123");
    let metrics = s.get("/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(metrics.content_type.starts_with("text/plain"));
    assert!(
        metrics
            .body
            .contains("mdm_http_requests_total{method=\"GET\",route=\"/readyz\",status=\"200\"} 1"),
        "{}",
        metrics.body
    );
    assert!(metrics
        .body
        .contains("mdm_http_request_duration_seconds_bucket{route=\"/healthz\""));
}

fn errors_are_problems_with_stable_codes(case: &Case) {
    let s = Server::start(
        case,
        &[
            ("MDM__SERVER__MAX_PUSH_BYTES", "1000"),
            ("MDM__SERVER__MAX_JSON_BYTES", "200"),
        ],
    );
    let admin = case.token("admin", None);
    let t = Some(admin.as_str());
    s.get("/no/such/route", t).problem(404, "not_found");
    s.post("/healthz", None, "text/plain", vec![])
        .problem(405, "method_not_allowed");
    s.post("/v1/customer/records/ERP", t, "text/csv", b"a,b".to_vec())
        .problem(415, "unsupported_media_type");
    let big = format!("[{}]", vec![r#"{"source_id":"1"}"#; 100].join(","));
    s.post(
        "/v1/customer/records/ERP",
        t,
        "application/json",
        big.into_bytes(),
    )
    .problem(413, "payload_too_large");
    s.post(
        "/v1/customer/records/ERP",
        t,
        "application/json",
        b"{\"not\":\"array\"}".to_vec(),
    )
    .problem(400, "invalid_body");
    s.post_json("/v1/nodomain/records/ERP", t, &json!([]))
        .problem(404, "unknown_domain");
    s.post_json("/v1/customer/records/E%20RP", t, &json!([]))
        .problem(400, "invalid_parameter");
    s.get("/v1/changes?consumer=ERP&limit=0", t)
        .problem(400, "invalid_parameter");
    s.get("/v1/changes", t).problem(400, "invalid_parameter");
    s.get("/v1/changes?consumer=NOBODY", t)
        .problem(404, "unknown_consumer");
    let long = json!({"consumer": "x".repeat(300), "seq": 1});
    s.post_json("/v1/changes/ack", t, &long)
        .problem(413, "payload_too_large");
    s.post("/v1/changes/ack", t, "application/json", b"{".to_vec())
        .problem(400, "invalid_body");
}

fn tokens_and_roles(case: &Case) {
    let s = Server::start(case, &[("MDM__SERVER__TOKEN_CACHE_SECS", "0")]);
    let reader = case.token("reader", None);
    let erp_writer = case.token("writer", Some("ERP"));
    let steward = case.token("steward", None);
    let admin = case.token("admin", None);
    let push = |token: Option<&str>, system: &str| {
        s.post_json(
            &format!("/v1/customer/records/{system}"),
            token,
            &json!([{"source_id": "1", "family_name": "Ng"}]),
        )
    };
    push(None, "ERP").problem(401, "unauthorized");
    push(Some("mdm_nope_nope"), "ERP").problem(401, "unauthorized");
    push(Some(&reader), "ERP").problem(403, "forbidden");
    push(Some(&erp_writer), "CRM").problem(403, "forbidden");
    assert_eq!(push(Some(&erp_writer), "ERP").ok()["new"], 1);
    assert_eq!(push(Some(&steward), "CRM").ok()["new"], 1);
    s.get("/v1/admin/consumers", Some(&steward))
        .problem(403, "forbidden");
    s.get("/v1/changes?consumer=CRM", Some(&erp_writer))
        .problem(403, "forbidden");
    s.get("/v1/changes?consumer=ERP", Some(&erp_writer)).ok();
    s.get("/v1/changes?consumer=CRM", Some(&reader)).ok();
    s.get("/v1/admin/consumers", Some(&admin)).ok();

    // Stored hashed: the database never holds a token.
    let listed = text(&run_ok(case.mdm().args(["token", "list"])).stdout);
    assert_eq!(listed.lines().count(), 5, "{listed}");
    for t in [&reader, &erp_writer, &steward, &admin] {
        assert!(!listed.contains(t.as_str()));
        let hash = mdm_api::auth::hash(t);
        let stored = mdm_store::tokens::find_active(&mut case.conn(), &hash)
            .unwrap()
            .expect("stored by hash");
        assert_ne!(stored.token_hash, **t);
    }
    // Revoked: 401 at once (the cache is off here).
    let id = reader.split('_').nth(1).unwrap();
    run_ok(case.mdm().args(["token", "revoke", id]));
    s.get("/v1/changes?consumer=ERP", Some(&reader))
        .problem(401, "unauthorized");
    let err = run_err(case.mdm().args(["token", "revoke", id]));
    assert!(err.contains("no live token"), "{err}");
    let err = run_err(case.mdm().args(["token", "create", "--role", "boss"]));
    assert!(err.contains("--role must be"), "{err}");
}

/// The OpenAPI document as served, snapshot-tested: any change to the API shows in review.
#[test]
fn openapi_document_snapshot() {
    let case = Case::sqlite();
    let s = Server::start(&case, &[]);
    let r = s.get("/openapi.json", None);
    assert_eq!(r.status, 200);
    let doc = r.json();
    for path in [
        "/v1/{domain}/golden/{id}",
        "/v1/{domain}/xref/{system}/{source_id}",
        "/v1/changes",
        "/healthz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
    insta::assert_json_snapshot!("openapi", doc);
    // The browsable UI, served from files built into the binary.
    let ui = s.get("/docs/", None);
    assert_eq!(ui.status, 200);
    assert!(ui.body.contains("swagger"), "{}", ui.body);
    let init = s.get("/docs/swagger-initializer.js", None);
    assert!(init.body.contains("/openapi.json"), "{}", init.body);
}

/// Configuration mistakes stop `mdm serve` with a message naming the key.
#[test]
fn serve_refuses_bad_configuration() {
    let case = Case::sqlite();
    case.write("mdm.toml", "[consumers.ERP]\nwebhook_url = \"ftp://x\"\n");
    let err = run_err(case.mdm().args(["serve", "--listen", "127.0.0.1:0"]));
    assert!(err.contains("[consumers.ERP] webhook_url"), "{err}");
    case.write("mdm.toml", "[webhooks]\nmax_attempts = 0\n");
    let err = run_err(case.mdm().args(["serve", "--listen", "127.0.0.1:0"]));
    assert!(err.contains("webhooks.max_attempts"), "{err}");
    // Issue 21: unsafe or malformed webhook targets are refused, naming the reason.
    for (url, why) in [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://10.0.0.1/", "private"),
        ("http://127.0.0.1:9/hook", "loopback"),
        (
            "http://user:secret@example.com/hook",
            "user name or password",
        ),
        ("http://exa mple.com/", "not a valid URL"),
        ("https://example.com/hook", "http://"),
    ] {
        case.write(
            "mdm.toml",
            format!("[consumers.ERP]\nwebhook_url = \"{url}\"\n"),
        );
        let err = run_err(case.mdm().args(["serve", "--listen", "127.0.0.1:0"]));
        assert!(
            err.contains("[consumers.ERP] webhook_url refused") && err.contains(why),
            "{url}: {err}"
        );
    }
    // Allowed explicitly: accepted (the server then fails on the listen address only).
    case.write(
        "mdm.toml",
        "[consumers.ERP]\nwebhook_url = \"http://127.0.0.1:9/hook\"\n[webhooks]\nallow_hosts = [\"127.0.0.1\"]\n",
    );
    let err = run_err(case.mdm().args(["serve", "--listen", "nowhere"]));
    assert!(err.contains("cannot listen on nowhere"), "{err}");
    case.write("mdm.toml", "");
    let err = run_err(case.mdm().args(["serve", "--listen", "nowhere"]));
    assert!(err.contains("cannot listen on nowhere"), "{err}");
}
