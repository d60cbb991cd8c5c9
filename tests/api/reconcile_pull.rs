//! `mdm reconcile --pull`: the nightly job first pulls every system with a configured SQL
//! source (by its watermark), then reconciles what it staged; a second night pulls only
//! the delta and changes only what it touched.

use crate::helpers::{backends, run_ok, Case};
use diesel::RunQueryDsl;
use mdm_store::on_backend;

backends!(pull_then_reconcile);

fn exec(conn: &mut mdm_store::DbConnection, sql: &str) {
    on_backend!(conn, c => diesel::sql_query(sql).execute(c))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn reconcile_pull(case: &Case) -> serde_json::Value {
    let out = run_ok(
        case.mdm()
            .args(["reconcile", "--domain", "customer", "--pull", "--json"]),
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn pull_then_reconcile(case: &Case) {
    let url = format!("sqlite://{}", case.path("sap.db").display());
    case.write(
        "mdm.toml",
        format!(
            "[systems.SAP]\ntrust = 1\nmapping = {{ kunnr = \"source_id\", name1 = \"organization_name\", ort01 = \"city\" }}\n\
             sql = {{ url = \"{url}\", query = \"SELECT kunnr, name1, ort01, changed_at FROM kna1;\", watermark = \"changed_at\" }}\n"
        ),
    );
    let mut source = mdm_store::connect(&url).unwrap();
    exec(
        &mut source,
        "CREATE TABLE kna1 (kunnr TEXT PRIMARY KEY, name1 TEXT, ort01 TEXT, changed_at TEXT)",
    );
    exec(
        &mut source,
        "INSERT INTO kna1 VALUES ('1', 'Acme Tooling GmbH', 'Ulm', '2024-01-01 10:00:00'), \
         ('2', 'Bolt Fasteners AG', 'Bonn', '2024-01-02 10:00:00'), \
         ('3', 'Cogwheel Logistics Ltd', 'Kiel', '2024-01-03 10:00:00')",
    );
    let first = reconcile_pull(case);
    assert_eq!(first["counts"]["created"], 3, "{first}");
    let xref = mdm_store::xref::load(&mut case.conn(), "customer").unwrap();
    assert_eq!(xref.len(), 3);

    // The next night: one new customer, one changed city.
    exec(
        &mut source,
        "INSERT INTO kna1 VALUES ('4', 'Dynamo Pumps SE', 'Hof', '2024-02-02 09:00:00')",
    );
    exec(
        &mut source,
        "UPDATE kna1 SET ort01 = 'Berlin', changed_at = '2024-02-01 09:00:00' WHERE kunnr = '2'",
    );
    let second = reconcile_pull(case);
    assert_eq!(second["mode"], "incremental", "{second}");
    assert_eq!(second["counts"]["created"], 1, "{second}");
    assert_eq!(second["counts"]["updated"], 1, "{second}");
    let g = mdm_store::xref::lookup(&mut case.conn(), "customer", "SAP", "2")
        .unwrap()
        .unwrap();
    let rec = mdm_store::golden::get(&mut case.conn(), "customer", &g.golden_id)
        .unwrap()
        .unwrap()
        .record;
    assert!(rec.attributes.contains("Berlin"), "{}", rec.attributes);

    // Nothing new upstream: nothing changes.
    let third = reconcile_pull(case);
    let c = &third["counts"];
    assert_eq!(
        (c["created"].as_u64(), c["updated"].as_u64()),
        (Some(0), Some(0)),
        "{third}"
    );
}
