//! Real-time matching over HTTP against golden records made by a real reconcile run: a
//! dry run stores nothing; an upsert returns the canonical ID that the next reconcile run
//! then agrees with (for a duplicate of a known customer, and for a new one).

use crate::helpers::{backends, Case};
use crate::server::Server;
use serde_json::json;

backends!(
    dry_run_and_upsert_agree_with_reconcile,
    an_upsert_reads_a_national_phone_in_its_systems_country
);

fn reconcile(case: &Case) -> mdm_service::RunSummary {
    case.reconcile_customers()
}

fn dry_run_and_upsert_agree_with_reconcile(case: &Case) {
    case.generated_customers(300, &["ERP", "CRM"], 11, 1.0);
    let s = Server::start(case, &[]);
    let tok = case.token("writer", Some("WEB"));
    let t = Some(tok.as_str());
    // No model before the first reconcile run.
    s.post_json(
        "/v1/customer/match",
        t,
        &json!({"attributes": {"family_name": "x"}}),
    )
    .problem(409, "no_model");
    reconcile(case);

    // A CRM record's own values find its golden record first, as a match, explained.
    let crm = case.live("CRM");
    let probe = &crm[0];
    let attrs: serde_json::Value = serde_json::from_str(&probe.attributes).unwrap();
    let expected = mdm_store::xref::lookup(&mut case.conn(), "customer", "CRM", &probe.source_id)
        .unwrap()
        .unwrap()
        .golden_id;
    let events_before = mdm_store::feed::latest_seq(&mut case.conn()).unwrap();
    let r = s
        .post_json("/v1/customer/match", t, &json!({"attributes": attrs}))
        .ok();
    let top = &r["candidates"][0];
    assert_eq!(top["golden_id"], expected.as_str(), "{r}");
    assert_eq!(top["decision"], "match", "{r}");
    assert!(top["probability"].as_f64().unwrap() > 0.9);
    assert!(!top["explanation"]["terms"].as_array().unwrap().is_empty());
    assert!(r["golden_id"].is_null());
    assert!(case.live("WEB").is_empty(), "a dry run stores nothing");
    assert_eq!(
        mdm_store::feed::latest_seq(&mut case.conn()).unwrap(),
        events_before
    );

    // Upsert a duplicate of that customer, and a customer nobody has seen.
    let dup = s
        .post_json(
            "/v1/customer/match",
            t,
            &json!({"system": "WEB", "source_id": "W1", "attributes": attrs, "upsert": true}),
        )
        .ok();
    assert_eq!(dup["golden_id"], expected.as_str(), "{dup}");
    assert_eq!(dup["created"], false);
    let fresh_attrs = json!({"given_name": "Xaverine", "family_name": "Quobbelsworth", "birth_date": "1911-11-11", "city": "Zzyzx", "email": "xq@nowhere.invalid"});
    let fresh = s
        .post_json(
            "/v1/customer/match",
            t,
            &json!({"system": "WEB", "source_id": "W2", "attributes": fresh_attrs, "upsert": true}),
        )
        .ok();
    assert_eq!(fresh["created"], true, "{fresh}");
    let new_id = fresh["golden_id"].as_str().unwrap().to_string();
    // Readable at once: golden record, xref, and a `created` event for consumer WEB.
    let g = s.get(&format!("/v1/customer/golden/{new_id}"), t).ok();
    assert_eq!(g["attributes"]["family_name"], "Quobbelsworth");
    assert_eq!(
        s.get("/v1/customer/xref/WEB/W2", t).ok()["golden_id"],
        new_id.as_str()
    );
    let feed = s
        .get(
            &format!("/v1/changes?consumer=WEB&after={events_before}"),
            t,
        )
        .ok();
    let created: Vec<_> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["golden_id"] == new_id.as_str())
        .collect();
    assert_eq!(created.len(), 1, "{feed}");
    assert_eq!(
        created[0]["xref"],
        json!([{"system": "WEB", "source_id": "W2"}])
    );
    // A writer of another system may not upsert WEB's records.
    let other = case.token("writer", Some("ERP"));
    s.post_json(
        "/v1/customer/match",
        Some(&other),
        &json!({"system": "WEB", "source_id": "W3", "attributes": {}, "upsert": true}),
    )
    .problem(403, "forbidden");
    s.post_json(
        "/v1/customer/match",
        t,
        &json!({"attributes": {}, "upsert": true}),
    )
    .problem(400, "invalid_body");

    // The next reconcile run agrees with both answers.
    reconcile(case);
    let mut c = case.conn();
    let mut after = |id: &str| {
        mdm_store::xref::lookup(&mut c, "customer", "WEB", id)
            .unwrap()
            .unwrap()
            .golden_id
    };
    assert_eq!(after("W1"), expected);
    assert_eq!(after("W2"), new_id);
    drop(c);

    // The same upsert again stages nothing new (its version is the one that run saw), but it
    // rewrites the xref row: the next run still finds and re-matches it, and then no mark is
    // left.
    s.post_json(
        "/v1/customer/match",
        t,
        &json!({"system": "WEB", "source_id": "W1", "attributes": attrs, "upsert": true}),
    )
    .ok();
    let unstaged = |c: &mut mdm_store::DbConnection| {
        mdm_store::matchstate::unstaged_xref(c, "customer")
            .unwrap()
            .into_iter()
            .map(|x| (x.system, x.source_id, x.staging_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        unstaged(&mut case.conn()),
        vec![("WEB".to_string(), "W1".to_string(), 0)]
    );
    let run = reconcile(case);
    assert_eq!(
        run.stats.dirty_records, 1,
        "the upserted record is re-matched"
    );
    let mut c = case.conn();
    assert!(unstaged(&mut c).is_empty());
    let w1 = mdm_store::xref::lookup(&mut c, "customer", "WEB", "W1")
        .unwrap()
        .unwrap();
    assert_eq!(w1.golden_id, expected);
    assert_ne!(w1.staging_id, 0);
}

/// `[systems.WEB] country = "US"`: a real-time upsert of a WEB record without a country
/// reads its national phone number as American, not in the default country (DE).
fn an_upsert_reads_a_national_phone_in_its_systems_country(case: &Case) {
    case.write(
        "mdm.toml",
        "[systems.ERP]\ntrust = 1\n[systems.CRM]\ntrust = 2\n[systems.WEB]\ntrust = 3\ncountry = \"US\"\n",
    );
    case.generated_customers(100, &["ERP", "CRM"], 5, 1.0);
    reconcile(case);
    let s = Server::start(case, &[]);
    let tok = case.token("writer", Some("WEB"));
    let t = Some(tok.as_str());
    let attrs = json!({"given_name": "Xaverine", "family_name": "Quobbelsworth", "city": "Zzyzx", "phone": "214 8954767"});
    let r = s
        .post_json(
            "/v1/customer/match",
            t,
            &json!({"system": "WEB", "source_id": "W9", "attributes": attrs, "upsert": true}),
        )
        .ok();
    assert_eq!(r["created"], true, "{r}");
    let id = r["golden_id"].as_str().unwrap();
    let g = s.get(&format!("/v1/customer/golden/{id}"), t).ok();
    assert_eq!(g["attributes"]["phone"], "+12148954767", "{g}");
}
