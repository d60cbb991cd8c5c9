//! The steward API over real HTTP against golden records made by real reconcile runs: the
//! review queue (order, filters, assignment, side-by-side explanation), decisions that the
//! next runs honour (also after a re-ingest), direct actions (merge, split, edit + lock,
//! unlock, undo a merge) with their events, version conflicts (also two stewards at once),
//! the append-only audit log and its export, the dashboard.

use crate::helpers::{backends, run_ok, Case};
use crate::server::{Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

backends!(
    review_queue_and_decisions,
    direct_actions_merge_split_edit_undo,
    audit_log_dashboard_and_roles,
    train_learns_from_decisions,
);

fn reconcile(case: &Case) -> mdm_service::RunSummary {
    case.reconcile_customers()
}

/// Generated customers of ERP and CRM, ingested and reconciled once.
fn world(case: &Case) {
    // Dirty enough that some pairs land in the review band.
    case.generated_customers(300, &["ERP", "CRM"], 11, 3.0);
    reconcile(case);
}

fn ingest(case: &Case) {
    case.ingest_generated(&["ERP", "CRM"]);
}

fn golden_of(case: &Case, system: &str, source_id: &str) -> String {
    mdm_store::xref::lookup(&mut case.conn(), "customer", system, source_id)
        .unwrap()
        .unwrap_or_else(|| panic!("no xref for {system}/{source_id}"))
        .golden_id
}

fn side(v: &Value) -> (String, String) {
    (
        v["system"].as_str().unwrap().to_string(),
        v["source_id"].as_str().unwrap().to_string(),
    )
}

fn review_queue_and_decisions(case: &Case) {
    world(case);
    let s = Server::start(case, &[]);
    let tok = case.labelled_token("steward", "alice");
    let t = Some(tok.as_str());

    let q = s.get("/v1/customer/review?limit=500", t).ok();
    let total = q["total"].as_u64().unwrap();
    let items = q["items"].as_array().unwrap();
    assert!(total > 0, "the generated data leaves pairs to review: {q}");
    let prio: Vec<f64> = items
        .iter()
        .map(|i| i["priority"].as_f64().unwrap())
        .collect();
    assert!(prio.windows(2).all(|w| w[0] >= w[1]), "ordered: {prio:?}");
    // Each record by its name (issue 22): given and family name of its staged version.
    for side in items.iter().flat_map(|i| [&i["a"], &i["b"]]) {
        let attrs = case.attributes(
            side["system"].as_str().unwrap(),
            side["source_id"].as_str().unwrap(),
        );
        let given_family: Vec<&str> = ["given_name", "family_name"]
            .iter()
            .filter_map(|k| attrs[k].as_str().map(str::trim).filter(|v| !v.is_empty()))
            .collect();
        if !given_family.is_empty() {
            assert_eq!(side["name"], given_family.join(" "), "{side} {attrs}");
        }
    }
    assert!(
        items.iter().any(|i| i["a"]["name"].is_string()),
        "names in the queue: {q}"
    );
    let erp = s.get("/v1/customer/review?system=ERP&limit=500", t).ok();
    for i in erp["items"].as_array().unwrap() {
        assert!(
            i["a"]["system"] == "ERP" || i["b"]["system"] == "ERP",
            "{i}"
        );
    }

    // Side by side, with each comparison's level and weight.
    let item = &items[0];
    let id = item["id"].as_i64().unwrap();
    let d = s.get(&format!("/v1/customer/review/{id}"), t).ok();
    let cmps = d["comparisons"].as_array().unwrap();
    assert!(!cmps.is_empty(), "{d}");
    assert!(cmps
        .iter()
        .all(|c| c["level"].is_string() && c["weight"].is_number()));
    // The explanation is the one the run scored the pair with.
    assert!(
        (d["probability"].as_f64().unwrap() - item["probability"].as_f64().unwrap()).abs() < 1e-9,
        "{d}"
    );
    assert!(d["a_values"].is_object() && d["b_values"].is_object());
    s.get("/v1/customer/review/999999", t)
        .problem(404, "not_found");

    // Assignment.
    let a = s
        .post_json(
            &format!("/v1/customer/review/{id}/assign"),
            t,
            &json!({"steward": "alice"}),
        )
        .ok();
    assert_eq!(a["assigned_to"], "alice");
    let mine = s.get("/v1/customer/review?assigned=me", t).ok();
    assert_eq!(mine["total"], 1, "{mine}");
    let un = s
        .get("/v1/customer/review?assigned=unassigned&limit=500", t)
        .ok();
    assert_eq!(un["total"].as_u64().unwrap(), total - 1);

    // "Same entity": stored, the pair leaves the queue at once; deciding again is a no-op,
    // the opposite decision is refused.
    let (ra, rb) = (side(&item["a"]), side(&item["b"]));
    let body =
        json!({"kind": "must_link", "a": item["a"], "b": item["b"], "reason": "same person"});
    let dec = s.post_json("/v1/customer/decisions", t, &body);
    assert_eq!(dec.status, 201, "{}", dec.body);
    let dec = dec.json();
    assert_eq!(dec["decided_by"], "alice");
    let again = s.post_json("/v1/customer/decisions", t, &body).ok();
    assert_eq!(again["id"], dec["id"]);
    s.post_json(
        "/v1/customer/decisions",
        t,
        &json!({"kind": "cannot_link", "a": item["b"], "b": item["a"], "reason": "x"}),
    )
    .problem(409, "conflict");
    let after = s.get("/v1/customer/review?limit=500", t).ok();
    assert_eq!(after["total"].as_u64().unwrap(), total - 1);
    s.post_json(
        "/v1/customer/decisions",
        t,
        &json!({"kind": "must_link", "a": item["a"], "b": {"system": "ERP", "source_id": "nope"}}),
    )
    .problem(404, "not_found");

    // The next run merges them; a re-ingest with a changed record and another run keep it.
    assert_ne!(golden_of(case, &ra.0, &ra.1), golden_of(case, &rb.0, &rb.1));
    let run = reconcile(case);
    // (The pair's other members follow only where the evidence supports it.)
    let c = run.counts;
    assert!(c.merged + c.updated + c.split >= 1, "{c:?}");
    let merged = golden_of(case, &ra.0, &ra.1);
    assert_eq!(merged, golden_of(case, &rb.0, &rb.1));
    let f = case.path("data").join(format!("{}.csv", ra.0));
    let mut rd = csv::Reader::from_path(&f).unwrap();
    let header = rd.headers().unwrap().clone();
    let line2 = header.iter().position(|h| h == "address_line2").unwrap();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&header).unwrap();
    for row in rd.records() {
        let mut row: Vec<String> = row.unwrap().iter().map(String::from).collect();
        if row[0] == ra.1 {
            row[line2] = "c/o steward test".into();
        }
        w.write_record(&row).unwrap();
    }
    std::fs::write(&f, w.into_inner().unwrap()).unwrap();
    ingest(case);
    let run = reconcile(case);
    assert!(
        run.stats.dirty_records >= 1,
        "the changed record is a new version"
    );
    assert_eq!(golden_of(case, &ra.0, &ra.1), golden_of(case, &rb.0, &rb.1));

    // Withdrawn: no longer active, and on record.
    let w = s
        .post_json(
            &format!("/v1/customer/decisions/{}/withdraw", dec["id"]),
            t,
            &json!({"reason": "clicked too fast"}),
        )
        .ok();
    assert!(!w["withdrawn_at"].is_null());
    s.post_json(
        &format!("/v1/customer/decisions/{}/withdraw", dec["id"]),
        t,
        &json!({}),
    )
    .problem(409, "conflict");
    let active = s.get("/v1/customer/decisions?active=true", t).ok();
    assert!(
        active["decisions"].as_array().unwrap().is_empty(),
        "{active}"
    );
    let all = s.get("/v1/customer/decisions", t).ok();
    assert_eq!(all["decisions"].as_array().unwrap().len(), 1);
}

fn version(s: &Server, t: Option<&str>, id: &str) -> i64 {
    s.get(&format!("/v1/customer/golden/{id}"), t).ok()["version"]
        .as_i64()
        .unwrap()
}

/// Two active golden records of one source record each.
fn two_singletons(case: &Case) -> (String, String, (String, String), (String, String)) {
    let mut conn = case.conn();
    let xref = mdm_store::xref::load(&mut conn, "customer").unwrap();
    let mut count = std::collections::HashMap::new();
    for x in &xref {
        *count.entry(x.golden_id.clone()).or_insert(0) += 1;
    }
    let singles: Vec<_> = xref
        .iter()
        .filter(|x| count[&x.golden_id] == 1)
        .take(2)
        .collect();
    assert_eq!(singles.len(), 2);
    (
        singles[0].golden_id.clone(),
        singles[1].golden_id.clone(),
        (singles[0].system.clone(), singles[0].source_id.clone()),
        (singles[1].system.clone(), singles[1].source_id.clone()),
    )
}

fn events_since(case: &Case, seq: i64) -> Vec<(String, String)> {
    mdm_store::outbox::after(&mut case.conn(), seq, 1000)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.golden_id))
        .collect()
}

fn direct_actions_merge_split_edit_undo(case: &Case) {
    world(case);
    let s = Server::start(case, &[]);
    let tok = case.labelled_token("steward", "bob");
    let t = Some(tok.as_str());
    let (g1, g2, r1, r2) = two_singletons(case);
    let (v1, v2) = (version(&s, t, &g1), version(&s, t, &g2));

    // A stale version changes nothing.
    let p = s
        .post_json(
            &format!("/v1/customer/golden/{g1}/merge"),
            t,
            &json!({"other": g2, "version": v1 + 1, "other_version": v2, "reason": "dup"}),
        )
        .problem(409, "version_conflict");
    assert_eq!(p["current_version"], v1);

    // Merge: one survivor, the other ID redirects to it; a merged event.
    let seq = mdm_store::feed::latest_seq(&mut case.conn()).unwrap();
    let m = s
        .post_json(
            &format!("/v1/customer/golden/{g1}/merge"),
            t,
            &json!({"other": g2, "version": v1, "other_version": v2, "reason": "same customer"}),
        )
        .ok();
    let survivor = m["survivor"].as_str().unwrap().to_string();
    let retired = m["retired"][0].as_str().unwrap().to_string();
    assert!(
        [&g1, &g2].contains(&&survivor) && survivor != retired,
        "{m}"
    );
    assert_eq!(golden_of(case, &r1.0, &r1.1), survivor);
    assert_eq!(golden_of(case, &r2.0, &r2.1), survivor);
    let got = s.get(&format!("/v1/customer/golden/{retired}"), t).ok();
    assert_eq!(got["redirected_from"], retired.as_str());
    assert!(events_since(case, seq).contains(&("merged".into(), survivor.clone())));
    // The nightly run keeps it merged.
    let run = reconcile(case);
    assert_eq!(run.counts.split, 0);
    assert_eq!(golden_of(case, &r2.0, &r2.1), survivor);

    // Undo the merge: the retired ID's record gets a golden record of its own again.
    let v = version(&s, t, &survivor);
    let seq = mdm_store::feed::latest_seq(&mut case.conn()).unwrap();
    let u = s
        .post_json(
            &format!("/v1/customer/golden/{survivor}/undo-merge"),
            t,
            &json!({"retired_id": retired, "version": v, "reason": "wrong merge"}),
        )
        .ok();
    let back = if retired == g1 { &r1 } else { &r2 };
    let stay = if retired == g1 { &r2 } else { &r1 };
    assert_ne!(
        golden_of(case, &back.0, &back.1),
        golden_of(case, &stay.0, &stay.1)
    );
    assert_eq!(
        u["restored"][0].as_str().unwrap(),
        golden_of(case, &back.0, &back.1)
    );
    assert!(events_since(case, seq).iter().any(|(k, _)| k == "split"));
    reconcile(case);
    assert_ne!(
        golden_of(case, &back.0, &back.1),
        golden_of(case, &stay.0, &stay.1)
    );

    // Split: merge again, then split one record out; it stays out on the next run.
    let (ga, gb) = (golden_of(case, &r1.0, &r1.1), golden_of(case, &r2.0, &r2.1));
    // The undo left cannot-links between the two: a steward merge withdraws them.
    let (va, vb) = (version(&s, t, &ga), version(&s, t, &gb));
    let merged = s.post_json(
        &format!("/v1/customer/golden/{ga}/merge"),
        t,
        &json!({"other": gb, "version": va, "other_version": vb, "reason": "again"}),
    );
    assert_eq!(merged.status, 200, "{}", merged.body);
    let g = golden_of(case, &r1.0, &r1.1);
    assert_eq!(g, golden_of(case, &r2.0, &r2.1));
    let sp = s
        .post_json(
            &format!("/v1/customer/golden/{g}/split"),
            t,
            &json!({"system": r2.0, "source_id": r2.1, "version": version(&s, t, &g), "reason": "different person"}),
        )
        .ok();
    assert_eq!(
        sp["new_golden_id"].as_str().unwrap(),
        golden_of(case, &r2.0, &r2.1)
    );
    assert_ne!(golden_of(case, &r1.0, &r1.1), golden_of(case, &r2.0, &r2.1));
    reconcile(case);
    assert_ne!(golden_of(case, &r1.0, &r1.1), golden_of(case, &r2.0, &r2.1));
    let g = golden_of(case, &r1.0, &r1.1);
    s.post_json(
        &format!("/v1/customer/golden/{g}/split"),
        t,
        &json!({"system": r1.0, "source_id": r1.1, "version": version(&s, t, &g), "reason": "x"}),
    )
    .problem(422, "invalid_action");

    // Edit: the value is locked and survives the nightly run; unlock gives it back.
    let before = s.get(&format!("/v1/customer/golden/{g}"), t).ok();
    let v = before["version"].as_i64().unwrap();
    let put = |value: &str, version: i64| {
        s.send(
            Method::PUT,
            &format!("/v1/customer/golden/{g}/attributes/family_name"),
            t,
            Some(&json!({"value": value, "version": version, "reason": "typo"})),
        )
    };
    let e = put("Zzyzx", v).ok();
    assert_eq!(e["attributes"]["family_name"], "Zzyzx", "{e}");
    assert_eq!(e["lineage"]["family_name"]["rule"], "steward_lock", "{e}");
    put("Other", v).problem(409, "version_conflict");
    reconcile(case);
    let now = s.get(&format!("/v1/customer/golden/{g}"), t).ok();
    assert_eq!(now["attributes"]["family_name"], "Zzyzx");
    let locks = s.get(&format!("/v1/customer/golden/{g}/locks"), t).ok();
    assert_eq!(locks["locks"][0]["locked_by"], "bob");
    let un = s
        .send(
            Method::DELETE,
            &format!(
                "/v1/customer/golden/{g}/attributes/family_name/lock?version={}&reason=ok",
                now["version"]
            ),
            t,
            None,
        )
        .ok();
    assert_eq!(
        un["attributes"]["family_name"], before["attributes"]["family_name"],
        "{un}"
    );
    reconcile(case);
    let later = s.get(&format!("/v1/customer/golden/{g}"), t).ok();
    assert_eq!(
        later["attributes"]["family_name"],
        before["attributes"]["family_name"]
    );
    s.send(
        Method::PUT,
        &format!("/v1/customer/golden/{g}/attributes/no_such"),
        t,
        Some(&json!({"value": "x", "version": later["version"]})),
    )
    .problem(422, "invalid_action");

    // Two stewards edit the same record at once: one wins, the other gets 409; nothing is
    // applied twice.
    let v = later["version"].as_i64().unwrap();
    let results: Vec<Reply> = std::thread::scope(|sc| {
        let hs: Vec<_> = ["Aaa", "Bbb"]
            .into_iter()
            .map(|val| sc.spawn(move || put(val, v)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let codes: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert!(codes.contains(&200) && codes.contains(&409), "{codes:?}");
    let winner = results.iter().find(|r| r.status == 200).unwrap().json();
    let final_ = s.get(&format!("/v1/customer/golden/{g}"), t).ok();
    assert_eq!(
        final_["attributes"]["family_name"],
        winner["attributes"]["family_name"]
    );
    assert_eq!(final_["version"].as_i64().unwrap(), v + 1);

    // Every action is in the audit log, with before and after.
    let audit = s.get("/v1/audit?actor=bob&limit=100", t).ok();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "golden.merge",
        "golden.undo_merge",
        "golden.split",
        "golden.edit",
        "golden.unlock",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let auto = s.get("/v1/audit?actor=reconcile&action=reconcile.", t).ok();
    let auto = auto["entries"].as_array().unwrap();
    assert!(auto.iter().any(|e| e["action"] == "reconcile.merge"));
    assert!(auto.iter().any(|e| e["action"] == "reconcile.split"));
    assert!(auto
        .iter()
        .all(|e| !e["before"].is_null() && !e["after"].is_null()));
}

fn audit_log_dashboard_and_roles(case: &Case) {
    world(case);
    let s = Server::start(case, &[]);
    let tok = case.labelled_token("steward", "carol");
    let t = Some(tok.as_str());
    let reader = case.token("reader", None);

    let me = s.get("/v1/whoami", t).ok();
    assert_eq!(
        (me["role"].as_str(), me["label"].as_str()),
        (Some("steward"), Some("carol"))
    );
    s.get("/v1/customer/review", Some(&reader))
        .problem(403, "forbidden");
    s.get("/v1/audit", Some(&reader)).problem(403, "forbidden");
    s.get("/v1/customer/review", None)
        .problem(401, "unauthorized");
    let (g1, g2, _, _) = two_singletons(case);
    s.post_json(
        &format!("/v1/customer/golden/{g1}/merge"),
        Some(&reader),
        &json!({"other": g2, "version": 1, "other_version": 1}),
    )
    .problem(403, "forbidden");

    // A few decisions to page through and export.
    let q = s.get("/v1/customer/review?limit=3", t).ok();
    let items = q["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{q}");
    for i in items {
        s.post_json(
            "/v1/customer/decisions",
            t,
            &json!({"kind": "cannot_link", "a": i["a"], "b": i["b"], "reason": "checked the tax id"}),
        )
        .ok();
    }
    let p1 = s.get("/v1/audit?actor=carol&limit=2", t).ok();
    assert_eq!(p1["entries"].as_array().unwrap().len(), 2);
    let before = p1["next_before"].as_i64().expect("a next page");
    let p2 = s
        .get(&format!("/v1/audit?actor=carol&limit=2&before={before}"), t)
        .ok();
    assert!(!p2["entries"].as_array().unwrap().is_empty());
    let ids: Vec<i64> = p1["entries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["entries"].as_array().unwrap())
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let found = s.get("/v1/audit?q=tax%20id", t).ok();
    assert_eq!(found["entries"].as_array().unwrap().len(), items.len());
    let gid = items[0]["a"]["golden_id"].as_str().unwrap();
    let by_golden = s.get(&format!("/v1/audit?golden_id={gid}"), t).ok();
    assert!(!by_golden["entries"].as_array().unwrap().is_empty());

    let csv = s.get("/v1/audit/export?format=csv&actor=carol", t);
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let mut lines = csv.body.lines();
    assert!(lines.next().unwrap().starts_with("id,at,actor,action"));
    assert!(csv.body.matches("decision.cannot_link").count() >= items.len());
    let nd = s.get("/v1/audit/export?format=ndjson&actor=carol", t);
    for l in nd.body.lines() {
        let e: Value = serde_json::from_str(l).unwrap();
        assert_eq!(e["actor"], "carol");
    }
    s.get("/v1/audit/export?format=xml", t)
        .problem(400, "invalid_parameter");

    // The database itself refuses to edit or delete audit entries.
    use diesel::RunQueryDsl;
    let mut conn = case.conn();
    let upd = mdm_store::on_backend!(&mut conn, c => diesel::sql_query("UPDATE audit_log SET actor = 'mallory'").execute(c));
    assert!(upd.is_err(), "audit_log accepted an UPDATE");
    let del = mdm_store::on_backend!(&mut conn, c => diesel::sql_query("DELETE FROM audit_log").execute(c));
    assert!(del.is_err(), "audit_log accepted a DELETE");

    // The dashboard.
    let d = s.get("/v1/dashboard", t).ok();
    let c = d["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == "customer")
        .expect("customer on the dashboard")
        .clone();
    assert!(c["golden_records"].as_i64().unwrap() > 0);
    let systems: Vec<&str> = c["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["CRM", "ERP"]);
    let recs: i64 = c["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["records"].as_i64().unwrap())
        .sum();
    assert_eq!(recs, c["source_records"].as_i64().unwrap());
    assert_eq!(c["runs"][0]["status"], "completed");
    assert!(!c["backlog_history"].as_array().unwrap().is_empty());
}

/// Decides every review pair by the generator's truth, then `mdm train`: the model changes,
/// the backlog shrinks, and a later full run with the installed model changes nothing.
fn train_learns_from_decisions(case: &Case) {
    world(case);
    let truth: std::collections::HashMap<(String, String), String> =
        csv::Reader::from_path(case.path("data").join("truth.csv"))
            .unwrap()
            .records()
            .map(|r| {
                let r = r.unwrap();
                ((r[0].to_string(), r[1].to_string()), r[2].to_string())
            })
            .collect();
    let mut conn = case.conn();
    let items = mdm_store::decisions::review_queue(&mut conn, "customer").unwrap();
    assert!(items.len() >= 4, "{} review items", items.len());
    let model_before = mdm_store::matchstate::model(&mut conn, "customer")
        .unwrap()
        .unwrap()
        .1;
    let rules = mdm_rules::load_domain(None, "customer").unwrap();
    let ctx = mdm_core::standardize::StdContext::default();
    let mut st = mdm_service::steward::actions::Steward {
        conn: &mut conn,
        rules: &rules,
        ctx: &ctx,
        actor: "dana",
    };
    for i in &items {
        let a = (i.a_system.clone(), i.a_source_id.clone());
        let b = (i.b_system.clone(), i.b_source_id.clone());
        let kind = if truth[&a] == truth[&b] {
            "must_link"
        } else {
            "cannot_link"
        };
        let r = |k: (String, String)| mdm_service::steward::RecordRef {
            system: k.0,
            source_id: k.1,
        };
        st.decide(kind, &r(a), &r(b), "truth").unwrap();
    }
    let out = run_ok(case.mdm().args(["train", "--domain", "customer", "--json"]));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["matches"].as_u64().unwrap() + r["non_matches"].as_u64().unwrap(),
        items.len() as u64,
        "{r}"
    );
    assert_eq!(r["review_before"].as_u64().unwrap(), items.len() as u64);
    assert!(
        r["review_after"].as_u64().unwrap() < items.len() as u64,
        "{r}"
    );
    let model_after = mdm_store::matchstate::model(&mut conn, "customer")
        .unwrap()
        .unwrap()
        .1;
    assert_ne!(model_before, model_after, "the decisions refined the model");
    // The installed model scored every pair: a forced full run changes nothing.
    let rules = mdm_rules::load_domain(None, "customer").unwrap();
    let full = mdm_service::reconcile(
        &mut conn,
        &rules,
        &ctx,
        mdm_service::ReconcileOptions {
            full: true,
            retrain: false,
            partition_records: None,
            train_sample: None,
        },
        &|_, _, _| {},
    )
    .unwrap();
    let c = full.counts;
    assert_eq!(
        (c.created, c.updated, c.merged, c.split, c.deleted),
        (0, 0, 0, 0, 0),
        "{c:?}"
    );
    assert_eq!(c.review_items, r["review_after"].as_u64().unwrap());
}
