//! Golden-record reads and the pull change feed over real HTTP, against golden records,
//! xref, history, redirects and change events written through the store's own write
//! functions (the ones reconcile uses): a merge, a retired ID, versions at known times.

use crate::helpers::{backends, Case};
use crate::server::Server;
use chrono::NaiveDateTime;
use mdm_store::golden::{GoldenRecord, NewHistoryEntry, Redirect};
use mdm_store::outbox::NewEvent;
use mdm_store::xref::XrefRow;
use serde_json::json;

backends!(
    golden_by_id_redirect_and_lineage,
    golden_as_of_and_history,
    xref_lookup,
    search_with_cursor,
    feed_order_cursor_and_restart,
    feed_ack_needs_a_writer_of_the_consumer,
    a_nul_in_a_path_or_query_is_a_bad_parameter,
);

const G1: &str = "0190a000-0000-7000-8000-000000000001";
const G2: &str = "0190a000-0000-7000-8000-000000000002";
const G3: &str = "0190a000-0000-7000-8000-000000000003";

fn t(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn record(
    id: &str,
    version: i32,
    status: &str,
    attrs: serde_json::Value,
    at: &str,
) -> GoldenRecord {
    GoldenRecord {
        golden_id: id.into(),
        domain: "customer".into(),
        version,
        status: status.into(),
        attributes: attrs.to_string(),
        lineage: json!({"family_name": {"system": "ERP", "source_id": "E1", "rule": "trust"}})
            .to_string(),
        members: 1,
        run_id: 1,
        created_run_id: 1,
        created_at: t("2024-01-01 10:00:00"),
        updated_at: t(at),
    }
}

fn hist(
    id: &str,
    version: i32,
    reason: &str,
    status: &str,
    attrs: serde_json::Value,
    at: &str,
) -> NewHistoryEntry {
    NewHistoryEntry {
        domain: "customer".into(),
        golden_id: id.into(),
        version,
        reason: reason.into(),
        status: status.into(),
        attributes: attrs.to_string(),
        lineage: "{}".into(),
        detail: None,
        run_id: version as i64,
        valid_from: t(at),
    }
}

fn xref(system: &str, source_id: &str, golden: &str) -> XrefRow {
    XrefRow {
        domain: "customer".into(),
        system: system.into(),
        source_id: source_id.into(),
        golden_id: golden.into(),
        staging_id: 1,
        run_id: 2,
        updated_at: t("2024-06-01 10:00:00"),
    }
}

fn event(golden: &str, kind: &str, retired: Option<&str>, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        domain: "customer".into(),
        golden_id: golden.into(),
        kind: kind.into(),
        retired_ids: retired.map(|r| json!([r]).to_string()),
        run_id: Some(1),
        payload: payload.to_string(),
        created_at: t("2024-06-01 10:00:00"),
    }
}

/// G1 (Ng, Ulm) and G2 (Ng, Köln) are created on 2024-01-01; on 2024-06-01 G2 is merged
/// into G1, which becomes version 2 (Ng, Berlin). G3 (Ng, Bonn) stands alone.
fn fixture(case: &Case) {
    let mut c = case.conn();
    for s in ["ERP", "CRM", "MES"] {
        mdm_store::systems::ensure_registered(&mut c, s).unwrap();
    }
    let g1v1 = json!({"family_name": "Ng", "city": "Ulm"});
    let g1v2 = json!({"family_name": "Ng", "city": "Berlin"});
    let g2 = json!({"family_name": "Ng", "city": "Köln"});
    let g3 = json!({"family_name": "Ng", "city": "Bonn"});
    mdm_store::golden::put_records(
        &mut c,
        &[
            record(G1, 2, "active", g1v2.clone(), "2024-06-01 10:00:00"),
            record(G2, 2, "retired", g2.clone(), "2024-06-01 10:00:00"),
            record(G3, 1, "active", g3.clone(), "2024-01-01 10:00:00"),
        ],
    )
    .unwrap();
    mdm_store::golden::insert_history(
        &mut c,
        &[
            hist(G1, 1, "created", "active", g1v1, "2024-01-01 10:00:00"),
            hist(
                G2,
                1,
                "created",
                "active",
                g2.clone(),
                "2024-01-01 10:00:00",
            ),
            hist(G3, 1, "created", "active", g3, "2024-01-01 10:00:00"),
            hist(G1, 2, "merged", "active", g1v2, "2024-06-01 10:00:00"),
            hist(G2, 2, "merged", "retired", g2, "2024-06-01 10:00:00"),
        ],
    )
    .unwrap();
    mdm_store::golden::insert_redirects(
        &mut c,
        &[Redirect {
            retired_id: G2.into(),
            domain: "customer".into(),
            survivor_id: G1.into(),
            run_id: 2,
            created_at: t("2024-06-01 10:00:00"),
        }],
    )
    .unwrap();
    mdm_store::xref::insert(
        &mut c,
        &[
            xref("ERP", "E1", G1),
            xref("CRM", "C1", G1),
            xref("MES", "M3", G3),
            xref("ERP", "E3", G3),
        ],
    )
    .unwrap();
    mdm_store::outbox::insert(
        &mut c,
        &[
            event(G1, "created", None, json!({"attributes": {"city": "Ulm"}})),
            event(G2, "created", None, json!({})),
            event(G3, "created", None, json!({})),
            event(G1, "merged", Some(G2), json!({})),
        ],
    )
    .unwrap();
}

fn golden_by_id_redirect_and_lineage(case: &Case) {
    fixture(case);
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let t = Some(tok.as_str());
    let g = s.get(&format!("/v1/customer/golden/{G1}"), t).ok();
    assert_eq!(g["golden_id"], G1);
    assert_eq!(g["status"], "active");
    assert_eq!(g["version"], 2);
    assert_eq!(g["attributes"]["city"], "Berlin");
    assert!(g["redirected_from"].is_null());
    assert!(g.get("lineage").is_none(), "lineage only on request: {g}");
    let g = s
        .get(&format!("/v1/customer/golden/{G1}?lineage=true"), t)
        .ok();
    assert_eq!(g["lineage"]["family_name"]["system"], "ERP");
    // A retired ID answers with the survivor and says so.
    let r = s.get(&format!("/v1/customer/golden/{G2}"), t);
    let g = r.ok();
    assert_eq!(g["golden_id"], G1);
    assert_eq!(g["redirected_from"], G2);
    s.get("/v1/customer/golden/nope", t)
        .problem(404, "golden_not_found");
    s.get(&format!("/v1/product/golden/{G1}"), t)
        .problem(404, "golden_not_found");
    s.get(&format!("/v1/planets/golden/{G1}"), t)
        .problem(404, "unknown_domain");
    s.get(&format!("/v1/customer/golden/{G1}"), None)
        .problem(401, "unauthorized");
}

fn golden_as_of_and_history(case: &Case) {
    fixture(case);
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let t = Some(tok.as_str());
    let at = |id: &str, when: &str| s.get(&format!("/v1/customer/golden/{id}?as_of={when}"), t);
    let g = at(G1, "2024-03-01").ok();
    assert_eq!(
        (g["version"].as_i64(), g["attributes"]["city"].as_str()),
        (Some(1), Some("Ulm"))
    );
    let g = at(G1, "2024-06-01T10:00:00Z").ok();
    assert_eq!(g["attributes"]["city"], "Berlin");
    let g = at(G2, "2024-03-01").ok();
    assert_eq!(
        (g["golden_id"].as_str(), g["attributes"]["city"].as_str()),
        (Some(G2), Some("Köln"))
    );
    let g = at(G2, "2024-07-01").ok();
    assert_eq!(g["golden_id"], G1);
    assert_eq!(g["redirected_from"], G2);
    at(G1, "2023-12-31").problem(404, "golden_not_found");
    at(G1, "yesterday").problem(400, "invalid_parameter");

    let h = s.get(&format!("/v1/customer/golden/{G1}/history"), t).ok();
    let reasons: Vec<&str> = h["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["created", "merged"]);
    let h = s.get(&format!("/v1/customer/golden/{G2}/history"), t).ok();
    assert_eq!(h["versions"][1]["status"], "retired");
    s.get("/v1/customer/golden/nope/history", t)
        .problem(404, "golden_not_found");
}

fn xref_lookup(case: &Case) {
    fixture(case);
    let s = Server::start(case, &[]);
    let tok = case.token("writer", Some("ERP"));
    let t = Some(tok.as_str());
    let x = s.get("/v1/customer/xref/ERP/E1", t).ok();
    assert_eq!(x["golden_id"], G1);
    assert_eq!(x["golden"]["attributes"]["city"], "Berlin");
    let x = s.get("/v1/customer/xref/crm/C1", t).ok();
    assert_eq!(x["golden_id"], G1, "system names are case-insensitive");
    s.get("/v1/customer/xref/ERP/E404", t)
        .problem(404, "xref_not_found");
    s.get("/v1/customer/xref/E%20RP/E1", t)
        .problem(400, "invalid_parameter");
}

fn search_with_cursor(case: &Case) {
    fixture(case);
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let t = Some(tok.as_str());
    let p = s.get("/v1/customer/golden?family_name=ng&limit=1", t).ok();
    assert_eq!(p["records"].as_array().unwrap().len(), 1);
    assert_eq!(p["records"][0]["golden_id"], G1);
    let cursor = p["next_cursor"].as_str().expect("more pages").to_string();
    let p = s
        .get(
            &format!("/v1/customer/golden?family_name=ng&limit=1&cursor={cursor}"),
            t,
        )
        .ok();
    assert_eq!(p["records"][0]["golden_id"], G3, "retired G2 is not listed");
    assert!(p["next_cursor"].is_null(), "{p}");
    let p = s
        .get("/v1/customer/golden?family_name=Ng&city=BONN", t)
        .ok();
    let ids: Vec<&str> = p["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["golden_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [G3]);
    s.get("/v1/customer/golden?shoe_size=9", t)
        .problem(400, "invalid_parameter");
    s.get("/v1/customer/golden?limit=9999", t)
        .problem(400, "invalid_parameter");
}

fn feed_order_cursor_and_restart(case: &Case) {
    fixture(case);
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let t = Some(tok.as_str());
    let page = s.get("/v1/changes?consumer=ERP", t).ok();
    let events = page["events"].as_array().unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs.len(), 4);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["created", "created", "created", "merged"]);
    assert_eq!(events[3]["retired_ids"], json!([G2]));
    // Only the consumer's own system's xref entries.
    assert_eq!(
        events[3]["xref"],
        json!([{"system": "ERP", "source_id": "E1"}])
    );
    assert_eq!(
        events[2]["xref"],
        json!([{"system": "ERP", "source_id": "E3"}])
    );
    assert_eq!(events[0]["idempotency_key"], format!("mdm-ERP-{}", seqs[0]));
    let mes = s.get("/v1/changes?consumer=mes", t).ok();
    assert_eq!(
        mes["events"][2]["xref"],
        json!([{"system": "MES", "source_id": "M3"}])
    );
    assert_eq!(mes["events"][0]["xref"], json!([]));

    // Pages and acks (a writer of the consumer's system acknowledges).
    let p = s.get("/v1/changes?consumer=ERP&limit=2", t).ok();
    let erp = case.token("writer", Some("ERP"));
    let w = Some(erp.as_str());
    assert_eq!(p["next_after"], seqs[1]);
    let a = s
        .post_json(
            "/v1/changes/ack",
            w,
            &json!({"consumer": "ERP", "seq": seqs[1]}),
        )
        .ok();
    assert_eq!(a["acked"], seqs[1]);
    s.post_json(
        "/v1/changes/ack",
        w,
        &json!({"consumer": "ERP", "seq": seqs[0]}),
    )
    .ok();
    s.post_json(
        "/v1/changes/ack",
        w,
        &json!({"consumer": "ERP", "seq": seqs[3] + 1}),
    )
    .problem(409, "ack_beyond_feed");

    // After a restart the cursor is where it was: nothing skipped, nothing repeated.
    s.stop();
    let s = Server::start(case, &[]);
    let p = s.get("/v1/changes?consumer=ERP", t).ok();
    assert_eq!(p["acked"], seqs[1]);
    let after: Vec<i64> = p["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(after, seqs[2..]);
    // Other consumers keep their own cursors.
    assert_eq!(
        s.get("/v1/changes?consumer=CRM", t).ok()["events"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // An explicit `after` reads from there without moving the cursor.
    let p = s
        .get(&format!("/v1/changes?consumer=ERP&after={}", seqs[0]), t)
        .ok();
    assert_eq!(p["events"].as_array().unwrap().len(), 3);
    assert_eq!(p["acked"], seqs[1]);
}

/// Issue 21: a reader token moved any consumer's cursor forward, so the consumer would skip
/// events it never processed. Acknowledging is a write for the consumer's system.
fn feed_ack_needs_a_writer_of_the_consumer(case: &Case) {
    fixture(case);
    let s = Server::start(case, &[("MDM__SERVER__TOKEN_CACHE_SECS", "0")]);
    let reader = case.token("reader", None);
    let latest = s.get("/v1/changes?consumer=ERP", Some(&reader)).ok()["next_after"]
        .as_i64()
        .unwrap();
    let ack = |token: &str, consumer: &str| {
        s.post_json(
            "/v1/changes/ack",
            Some(token),
            &json!({"consumer": consumer, "seq": latest}),
        )
    };
    let acked = |consumer: &str| {
        s.get(&format!("/v1/changes?consumer={consumer}"), Some(&reader))
            .ok()["acked"]
            .as_i64()
            .unwrap()
    };
    ack(&reader, "ERP").problem(403, "forbidden");
    ack(&case.token("writer", Some("CRM")), "ERP").problem(403, "forbidden");
    assert_eq!(acked("ERP"), 0, "a refused ack moves nothing");
    assert_eq!(
        ack(&case.token("writer", Some("ERP")), "ERP").ok()["acked"],
        latest
    );
    assert_eq!(acked("ERP"), latest);
    assert_eq!(ack(&case.token("admin", None), "CRM").ok()["acked"], latest);
    assert_eq!(acked("CRM"), latest);
    ack(&reader, "MES").problem(403, "forbidden");
    assert_eq!(acked("MES"), 0);
}

/// Issue 21, defect 4 on reads: a NUL in a path or query parameter answered 500 on
/// PostgreSQL (it cannot hold one in text) and 200/404 on SQLite. Both answer 400 now.
fn a_nul_in_a_path_or_query_is_a_bad_parameter(case: &Case) {
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    for path in [
        "/v1/customer/golden?email=a%00b@x.com",
        "/v1/customer/golden?family_name=a%00b",
        "/v1/customer/xref/ERP/C%00001",
        "/v1/customer/golden/a%00b",
        "/v1/audit?actor=a%00b",
    ] {
        let r = s.get(path, Some(&tok));
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body.contains("invalid_parameter"), "{path}: {}", r.body);
    }
    // An encoded percent sign followed by zeros is no NUL.
    assert_eq!(
        s.get("/v1/customer/golden?family_name=a%2500", Some(&tok))
            .status,
        200
    );
}
