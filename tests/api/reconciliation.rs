//! The reconciliation service (W3C Entity Reconciliation API 0.2, what OpenRefine speaks)
//! over real HTTP on golden records made by a real reconcile run. Every answer is validated
//! against the specification's JSON Schemas (`reconciliation-0.2/`), and the validator is
//! first shown to accept the specification's valid examples and reject its invalid ones.

use crate::helpers::{backends, Case};
use crate::server::Server;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

backends!(
    reconciliation_api_answers_as_the_specification_says,
    reconciliation_access_and_cors
);

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/reconciliation-0.2")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The schemas that others refer to, by the URI they are referred to as.
struct LocalSchemas(HashMap<String, Value>);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let key = uri.as_str().split('#').next().unwrap_or_default();
        self.0
            .get(key)
            .cloned()
            .ok_or_else(|| format!("no local copy of {uri}").into())
    }
}

fn validator(schema: &str) -> jsonschema::Validator {
    let dir = spec_dir().join("schemas");
    let local = LocalSchemas(HashMap::from([
        (
            "https://reconciliation-api.github.io/specs/0.2/schemas/type.json".to_string(),
            load(&dir.join("type.json")),
        ),
        (
            "http://swagger.io/v2/schema.json".to_string(),
            load(&dir.join("openapi.json")),
        ),
    ]));
    jsonschema::options()
        .with_retriever(local)
        .build(&load(&dir.join(format!("{schema}.json"))))
        .unwrap_or_else(|e| panic!("schema {schema}: {e}"))
}

fn assert_valid(schema: &str, v: &Value) {
    let errors: Vec<String> = validator(schema)
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{v:#}");
}

/// The validator set up as above tells the specification's examples apart.
#[test]
fn schemas_accept_the_valid_examples_and_reject_the_invalid() {
    let examples = spec_dir().join("examples");
    let mut checked = 0;
    for schema in [
        "manifest",
        "reconciliation-query-batch",
        "reconciliation-result-batch",
        "data-extension-response",
        "data-extension-property-proposal",
        "suggest-entities-response",
        "suggest-properties-response",
        "suggest-types-response",
    ] {
        let v = validator(schema);
        for (kind, want) in [("valid", true), ("invalid", false)] {
            let Ok(dir) = std::fs::read_dir(examples.join(schema).join(kind)) else {
                continue;
            };
            for f in dir.flatten() {
                let doc = load(&f.path());
                assert_eq!(v.is_valid(&doc), want, "{}", f.path().display());
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} examples checked");
}

/// A staged person with names and an e-mail, and its golden ID.
fn a_person_with_email(case: &Case, system: &str) -> (Value, String) {
    for v in case.live(system) {
        let a: Value = serde_json::from_str(&v.attributes).unwrap();
        let has = |k: &str| a[k].as_str().is_some_and(|s| !s.trim().is_empty());
        if has("email") && has("given_name") && has("family_name") {
            let g = mdm_store::xref::lookup(&mut case.conn(), "customer", system, &v.source_id)
                .unwrap()
                .unwrap()
                .golden_id;
            return (a, g);
        }
    }
    panic!("no person with an e-mail in {system}");
}

fn form(s: &Server, path: &str, token: Option<&str>, key: &str, value: &Value) -> Value {
    let body = format!("{key}={}", urlencode(&value.to_string()));
    s.post(
        path,
        token,
        "application/x-www-form-urlencoded",
        body.into_bytes(),
    )
    .ok()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn reconciliation_api_answers_as_the_specification_says(case: &Case) {
    case.generated_customers(300, &["ERP", "CRM"], 11, 1.0);
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let t = Some(tok.as_str());
    let svc = "/reconcile/customer";

    // The manifest needs no model; queries do.
    let m = s.get(svc, t).ok();
    assert_valid("manifest", &m);
    assert_eq!(m["defaultTypes"][0]["id"], "customer");
    assert!(m["preview"]["url"].as_str().unwrap().contains("{{id}}"));
    let no_model = s.post(
        svc,
        t,
        "application/x-www-form-urlencoded",
        format!("queries={}", urlencode(r#"{"q0":{"query":"x"}}"#)).into_bytes(),
    );
    assert_eq!(no_model.status, 409, "{}", no_model.body);
    case.reconcile_customers();

    // Name and e-mail of a known person: its golden record, first and a match.
    let (a, golden) = a_person_with_email(case, "CRM");
    let name = format!(
        "{} {}",
        a["given_name"].as_str().unwrap(),
        a["family_name"].as_str().unwrap()
    );
    let batch = json!({
        "q0": {"query": name, "type": "customer", "limit": 3,
               "properties": [{"pid": "email", "v": a["email"]}]},
        "q1": {"query": "Xaverine Quobbelsworth", "properties": [{"pid": "city", "v": "Zzyzx"}]},
        "q2": {"query": name},
    });
    let r = form(&s, svc, t, "queries", &batch);
    assert_valid("reconciliation-result-batch", &r);
    let top = &r["q0"]["result"][0];
    assert_eq!(top["id"], golden.as_str(), "{r:#}");
    assert_eq!(top["match"], true, "{r:#}");
    assert!(top["score"].as_f64().unwrap() > 90.0, "{r:#}");
    assert!(r["q0"]["result"].as_array().unwrap().len() <= 3);
    assert!(top["name"]
        .as_str()
        .unwrap()
        .contains(a["family_name"].as_str().unwrap()));
    // Nobody of that name: candidates perhaps, never a match.
    assert!(
        r["q1"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["match"] == false),
        "{r:#}"
    );
    // A name alone still finds the record (through the name index).
    assert!(
        r["q2"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == golden.as_str()),
        "{r:#}"
    );
    // The same batch by GET.
    let g = s
        .get(
            &format!("{svc}?queries={}", urlencode(&batch.to_string())),
            t,
        )
        .ok();
    assert_eq!(g["q0"]["result"][0]["id"], golden.as_str());
    // A malformed batch is refused with the reason.
    s.post(
        svc,
        t,
        "application/x-www-form-urlencoded",
        b"queries=%7Bnot%20json".to_vec(),
    )
    .problem(400, "invalid_parameter");

    // Data extension: golden values for IDs; an unknown ID gets an empty row.
    let ext = form(
        &s,
        svc,
        t,
        "extend",
        &json!({"ids": [golden, "no-such-id"], "properties": [{"id": "email"}, {"id": "family_name"}, {"id": "nosuch"}]}),
    );
    assert_valid("data-extension-response", &ext);
    assert_eq!(ext["meta"].as_array().unwrap().len(), 2, "{ext:#}");
    let golden_record = s.get(&format!("/v1/customer/golden/{golden}"), t).ok();
    assert_eq!(
        ext["rows"][golden.as_str()]["email"][0]["str"],
        golden_record["attributes"]["email"],
        "{ext:#}"
    );
    assert_eq!(ext["rows"]["no-such-id"]["email"], json!([]));

    let props = s
        .get(&format!("{svc}/properties?type=customer&limit=5"), t)
        .ok();
    assert_valid("data-extension-property-proposal", &props);
    assert_eq!(props["properties"].as_array().unwrap().len(), 5);

    // Suggestions: an entity by its name as typed so far, a property, the type.
    let family = a["family_name"].as_str().unwrap();
    let typed = format!("{} {}", family, &a["given_name"].as_str().unwrap()[..2]);
    let ent = s
        .get(
            &format!("{svc}/suggest/entity?prefix={}", urlencode(&typed)),
            t,
        )
        .ok();
    assert_valid("suggest-entities-response", &ent);
    assert!(
        ent["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == golden.as_str()),
        "{typed}: {ent:#}"
    );
    let p = s.get(&format!("{svc}/suggest/property?prefix=mai"), t).ok();
    assert_valid("suggest-properties-response", &p);
    assert_eq!(p["result"][0]["id"], "email");
    let ty = s.get(&format!("{svc}/suggest/type?prefix=cus"), t).ok();
    assert_valid("suggest-types-response", &ty);
    assert_eq!(ty["result"][0]["id"], "customer");
    let jsonp = s.get(&format!("{svc}/suggest/type?prefix=&callback=cb_1"), t);
    assert!(jsonp.body.starts_with("cb_1({"), "{}", jsonp.body);

    // Preview: an HTML card with the record's values, escaped.
    let pv = s.get(&format!("{svc}/preview?id={golden}"), t);
    assert_eq!(pv.status, 200, "{}", pv.body);
    assert!(pv.content_type.starts_with("text/html"));
    assert!(pv.body.contains(family), "{}", pv.body);
    s.get(&format!("{svc}/preview?id=no-such-id"), t)
        .problem(404, "golden_not_found");
}

fn reconciliation_access_and_cors(case: &Case) {
    let s = Server::start(case, &[]);
    let svc = "/reconcile/customer";
    s.get(svc, None).problem(401, "unauthorized");
    // A reconcile token works in the URL, and only there.
    let rec = case.token("reconcile", None);
    let m = s
        .get(&format!("/reconcile/token/{rec}/customer"), None)
        .ok();
    assert_valid("manifest", &m);
    let suggest = m["suggest"]["entity"]["service_url"].as_str().unwrap();
    assert!(
        suggest.ends_with(&format!("/reconcile/token/{rec}/customer")),
        "{m:#}"
    );
    s.get(svc, Some(&rec)).problem(403, "forbidden");
    s.get("/v1/customer/golden", Some(&rec))
        .problem(403, "forbidden");
    // Any other token belongs in a header, not in a URL.
    let reader = case.token("reader", None);
    s.get(&format!("/reconcile/token/{reader}/customer"), None)
        .problem(403, "forbidden");
    s.get("/reconcile/token/mdm_nope_nope/customer", None)
        .problem(401, "unauthorized");
    s.get(&format!("/reconcile/token/{rec}/nosuchdomain"), None)
        .problem(404, "unknown_domain");

    // CORS: any origin, and a preflight answered without a token.
    let r = s
        .client()
        .get(s.url(&format!("/reconcile/token/{rec}/customer")))
        .header("origin", "http://127.0.0.1:3333")
        .send()
        .unwrap();
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    let pre = s
        .client()
        .request(reqwest::Method::OPTIONS, s.url(svc))
        .header("origin", "http://127.0.0.1:3333")
        .header("access-control-request-method", "POST")
        .send()
        .unwrap();
    assert_eq!(pre.status().as_u16(), 204);
    assert!(pre
        .headers()
        .get("access-control-allow-methods")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|m| m.contains("POST")));
}
