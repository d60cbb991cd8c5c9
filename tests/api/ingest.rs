//! `mdm ingest` from files: each adapter, and the staging semantics (idempotent re-load,
//! versioning of changed records, snapshot deletes).

use crate::helpers::{backends, counts, Case};
use mdm_store::staging::history;

backends!(
    csv_with_bom_crlf_and_semicolons,
    ndjson_file,
    json_array_file,
    json_array_body_through_the_crate,
    reload_changes_nothing,
    changed_record_becomes_new_version,
    snapshot_marks_absent_records_deleted,
    column_mapping_from_config,
    dead_loads_settled_at_start,
);

fn csv_with_bom_crlf_and_semicolons(case: &Case) {
    let file = case.write(
        "erp.csv",
        b"\xEF\xBB\xBFsource_id;given_name;city;loyalty_tier\r\nE1;Anna;\"Bad; Homburg\";gold\r\nE2;Bernd;Ulm;\r\n",
    );
    let s = case.ingest_customers("ERP", &file);
    assert_eq!(counts(&s), (2, 2, 0, 0, 0, 0), "{s}");
    assert_eq!(s["system"], "ERP");
    assert_eq!(s["domain"], "customer");
    assert!(s["batch_id"].as_i64().unwrap() > 0);
    let a = case.attributes("ERP", "E1");
    assert_eq!(
        a,
        serde_json::json!({"given_name": "Anna", "city": "Bad; Homburg", "loyalty_tier": "gold"})
    );
    let b = case.attributes("ERP", "E2");
    assert_eq!(
        b,
        serde_json::json!({"given_name": "Bernd", "city": "Ulm"}),
        "blank values are absent, not empty"
    );
}

fn ndjson_file(case: &Case) {
    let file = case.write(
        "crm.ndjson",
        "{\"source_id\":\"C1\",\"email\":\"a@x.de\",\"visits\":3,\"vip\":true,\"fax\":null}\r\n\n{\"source_id\":\"C2\",\"city\":\"Köln\"}\n",
    );
    let s = case.ingest_customers("CRM", &file);
    assert_eq!(counts(&s), (2, 2, 0, 0, 0, 0), "{s}");
    assert_eq!(
        case.attributes("CRM", "C1"),
        serde_json::json!({"email": "a@x.de", "visits": "3", "vip": "true"})
    );
    assert_eq!(case.attributes("CRM", "C2")["city"], "Köln");
}

fn json_array_file(case: &Case) {
    let file = case.write(
        "push.json",
        r#"[{"source_id":"P1","family_name":"Ng"},{"source_id":"P2"}, 7]"#,
    );
    let s = case.ingest_customers("WEB", &file);
    assert_eq!(counts(&s), (3, 2, 0, 0, 0, 1), "{s}");
    assert_eq!(case.attributes("WEB", "P1")["family_name"], "Ng");
}

/// The HTTP push endpoint of a later issue will call the crate like this.
fn json_array_body_through_the_crate(case: &Case) {
    let rules = mdm_rules::load_domain(None, "customer").unwrap();
    let system = mdm_core::SystemName::parse("shop").unwrap();
    let mut conn = case.conn();
    let mut body = mdm_ingest::JsonArraySource::parse(
        "http:SHOP".into(),
        br#"[{"source_id":"S1","city":"Ulm"}]"#,
    )
    .unwrap();
    let opts = mdm_ingest::LoadOptions {
        domain: "customer",
        system: &system,
        snapshot: false,
        chunk_size: 100,
    };
    let s = mdm_ingest::load(
        &mut conn,
        &rules,
        &mdm_ingest::ColumnMapping::default(),
        &opts,
        &mut body,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((s.read, s.new, s.file.as_str()), (1, 1, "http:SHOP"));
    assert!(s.registered_system);
    let systems = mdm_store::systems::list(&mut conn).unwrap();
    assert_eq!(systems[0].name, "SHOP");
    assert_eq!(
        (systems[0].trust_rank, systems[0].declared),
        (mdm_store::LOWEST_TRUST, false)
    );
}

const BASE: &str =
    "source_id,given_name,family_name,city\n1,Anna,Berg,Ulm\n2,Bernd,Czer,Bonn\n3,Cleo,Dahl,Kiel\n";

fn reload_changes_nothing(case: &Case) {
    let file = case.write("erp.csv", BASE);
    let args = [
        "--domain",
        "customer",
        "--source",
        "ERP",
        file.to_str().unwrap(),
    ];
    assert_eq!(counts(&case.ingest(&args)), (3, 3, 0, 0, 0, 0));
    let before = case.live("ERP");
    // Same content, other column order and line ends: still identical.
    let reordered = case.write("erp2.csv", "city,source_id,family_name,given_name\r\nUlm,1,Berg,Anna\r\nBonn,2,Czer,Bernd\r\nKiel,3,Dahl,Cleo\r\n");
    let s = case.ingest_customers("ERP", &reordered);
    assert_eq!(counts(&s), (3, 0, 0, 3, 0, 0), "{s}");
    let after = case.live("ERP");
    let key = |v: &mdm_store::staging::StagedVersion| {
        (
            v.id,
            v.version,
            v.status.clone(),
            v.content_hash.clone(),
            v.batch_id,
            v.attributes.clone(),
        )
    };
    assert_eq!(
        before.iter().map(key).collect::<Vec<_>>(),
        after.iter().map(key).collect::<Vec<_>>()
    );
    assert_eq!(
        history(&mut case.conn(), "customer", "ERP", "1")
            .unwrap()
            .len(),
        1
    );
}

fn changed_record_becomes_new_version(case: &Case) {
    let first = case.write("erp.csv", BASE);
    let s1 = case.ingest_customers("ERP", &first);
    let changed = case.write(
        "erp2.csv",
        BASE.replace("2,Bernd,Czer,Bonn", "2,Bernd,Czer,Berlin"),
    );
    let s2 = case.ingest_customers("ERP", &changed);
    assert_eq!(counts(&s2), (3, 0, 1, 2, 0, 0), "{s2}");
    let h = history(&mut case.conn(), "customer", "ERP", "2").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!((h[0].version, h[0].status.as_str()), (1, "superseded"));
    assert_eq!((h[1].version, h[1].status.as_str()), (2, "current"));
    assert_eq!(h[0].batch_id, s1["batch_id"].as_i64().unwrap());
    assert_eq!(h[0].ended_batch_id, s2["batch_id"].as_i64());
    assert_eq!(h[1].batch_id, s2["batch_id"].as_i64().unwrap());
    assert!(h[0].attributes.contains("Bonn") && h[1].attributes.contains("Berlin"));
    assert_ne!(h[0].content_hash, h[1].content_hash);
    // Changing it back is another version, not a revival of the old row.
    let s3 = case.ingest_customers("ERP", &first);
    assert_eq!(counts(&s3), (3, 0, 1, 2, 0, 0));
    assert_eq!(
        history(&mut case.conn(), "customer", "ERP", "2")
            .unwrap()
            .len(),
        3
    );
}

fn snapshot_marks_absent_records_deleted(case: &Case) {
    let full = case.write("erp.csv", BASE);
    case.ingest_customers("ERP", &full);
    let partial = case.write(
        "delta.csv",
        "source_id,given_name,family_name,city\n1,Anna,Berg,Ulm\n",
    );
    // Without --snapshot a partial file deletes nothing.
    let s = case.ingest_customers("ERP", &partial);
    assert_eq!(counts(&s), (1, 0, 0, 1, 0, 0));
    // Another system's records are untouched by ERP's snapshot.
    let crm = case.write("crm.csv", "source_id,city\n2,Ulm\n");
    case.ingest_customers("CRM", &crm);
    let s = case.ingest(&[
        "--domain",
        "customer",
        "--source",
        "ERP",
        "--snapshot",
        partial.to_str().unwrap(),
    ]);
    assert_eq!(counts(&s), (1, 0, 0, 1, 2, 0), "{s}");
    let mut conn = case.conn();
    assert_eq!(
        mdm_store::staging::status_counts(&mut conn, "customer", "ERP").unwrap(),
        (1, 0, 2)
    );
    assert_eq!(
        mdm_store::staging::status_counts(&mut conn, "customer", "CRM").unwrap(),
        (1, 0, 0)
    );
    // A deleted record that comes back is live again, as a new version.
    let s = case.ingest(&[
        "--domain",
        "customer",
        "--source",
        "ERP",
        "--snapshot",
        full.to_str().unwrap(),
    ]);
    assert_eq!(counts(&s), (3, 2, 0, 1, 0, 0), "{s}");
    let h = history(&mut conn, "customer", "ERP", "3").unwrap();
    assert_eq!(
        h.iter().map(|v| v.status.as_str()).collect::<Vec<_>>(),
        ["superseded", "current"]
    );
}

fn column_mapping_from_config(case: &Case) {
    case.write(
        "mdm.toml",
        "[systems.SAP]\ntrust = 1\nmapping = { KUNNR = \"source_id\", NAME1 = \"organization_name\", ORT01 = \"city\" }\n",
    );
    let file = case.write(
        "kna1.csv",
        "KUNNR|NAME1|ORT01|KTOKD\n0000100|ACME GmbH|Ulm|Z001\n",
    );
    let s = case.ingest(&[
        "--domain",
        "customer",
        "--source",
        "sap",
        "--delimiter",
        "|",
        file.to_str().unwrap(),
    ]);
    assert_eq!(counts(&s), (1, 1, 0, 0, 0, 0), "{s}");
    assert_eq!(
        case.attributes("SAP", "0000100"),
        serde_json::json!({"organization_name": "ACME GmbH", "city": "Ulm", "KTOKD": "Z001"})
    );
    let sys = mdm_store::systems::list(&mut case.conn()).unwrap();
    assert_eq!(
        (sys[0].name.as_str(), sys[0].trust_rank, sys[0].declared),
        ("SAP", 1, true)
    );
}

/// Issue 21: a load killed with `kill -9` (of `mdm ingest`, or of `mdm serve` during a push)
/// left its batch `running` forever, and a restart did not settle it. A batch with no
/// progress for `ingest.stale_batch_secs` is marked failed (interrupted) when `mdm serve`
/// or `mdm ingest` starts, or `mdm reconcile` runs; a batch that is still making progress is left alone (several
/// servers may share one database), and a load whose batch was settled stops writing.
fn dead_loads_settled_at_start(case: &Case) {
    use mdm_store::batches;
    let status = |id: i64| {
        let b = batches::get(&mut case.conn(), id).unwrap().unwrap();
        (b.status, b.error.unwrap_or_default())
    };
    let mut c = case.conn();
    mdm_store::systems::ensure_registered(&mut c, "ERP").unwrap();
    // What a killed load leaves behind: a batch `running`, its process gone.
    let dead = batches::start(&mut c, "customer", "ERP", "killed.csv", false).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2200));
    // Another process's load, making progress now.
    let live = batches::start(&mut c, "customer", "ERP", "live.csv", false).unwrap();
    let env = [("MDM__INGEST__STALE_BATCH_SECS", "2")];
    let server = crate::server::Server::start(case, &env);
    let (st, error) = status(dead);
    assert_eq!(st, "failed");
    assert!(error.starts_with("interrupted"), "{error}");
    assert_eq!(
        status(live).0,
        "running",
        "a batch with recent progress stays"
    );
    server.stop();
    // The settled batch's process, had it been alive after all, may write nothing more.
    assert!(!batches::heartbeat(&mut c, dead).unwrap());
    assert!(batches::heartbeat(&mut c, live).unwrap());

    // A server that keeps running settles too (a push whose database went away mid-load
    // could not mark its batch failed, and nothing restarts the server).
    let server = crate::server::Server::start(case, &env);
    let late = batches::start(&mut c, "customer", "ERP", "late.csv", false).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(4500));
    assert_eq!(status(late).0, "failed");
    server.stop();

    // `mdm ingest` settles too, and its own load completes.
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let file = case.write("erp.csv", "source_id,city\n1,Ulm\n");
    let mut cmd = case.mdm();
    cmd.envs(env).args([
        "ingest",
        "--domain",
        "customer",
        "--source",
        "ERP",
        "--json",
        file.to_str().unwrap(),
    ]);
    let out = crate::helpers::run_ok(&mut cmd);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts(&s), (1, 1, 0, 0, 0, 0), "{s}");
    assert_eq!(status(live).0, "failed");
    assert_eq!(status(s["batch_id"].as_i64().unwrap()).0, "completed");

    // So does the nightly `mdm reconcile`: a server that lost its database mid-push keeps
    // running and never restarts, and its batch must not stay open until it does.
    let orphan = batches::start(&mut c, "customer", "ERP", "orphan.csv", false).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2200));
    let mut cmd = case.mdm();
    cmd.envs(env)
        .args(["reconcile", "--domain", "customer", "--json"]);
    crate::helpers::run_ok(&mut cmd);
    assert_eq!(status(orphan).0, "failed");
}
