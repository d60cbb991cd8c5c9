//! `mdm ingest --domain D --source SYSTEM` without a file pulls the system's configured SQL
//! source, incrementally by its watermark column; sources on SQLite and on PostgreSQL.

use crate::helpers::{backends, counts, Case};
use diesel::RunQueryDsl;
use mdm_store::testing::TestDb;
use mdm_store::{on_backend, DbConnection};

backends!(pull_from_sqlite_source, pull_from_postgres_source);

fn exec(conn: &mut DbConnection, sql: &str) {
    on_backend!(conn, c => diesel::sql_query(sql).execute(c))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn configure(case: &Case, source_url: &str) {
    case.write(
        "mdm.toml",
        format!(
            "[systems.SAP]\ntrust = 1\nmapping = {{ kunnr = \"source_id\", name1 = \"organization_name\", ort01 = \"city\" }}\n\
             sql = {{ url = \"{source_url}\", query = \"SELECT kunnr, name1, ort01, credit, changed_at FROM kna1;\", watermark = \"changed_at\" }}\n"
        ),
    );
}

/// Creates the source table, pulls three times (all, a delta, nothing new) and checks counts.
fn exercise(case: &Case, source: &mut DbConnection, timestamp_type: &str) {
    exec(source, &format!("CREATE TABLE kna1 (kunnr TEXT PRIMARY KEY, name1 TEXT, ort01 TEXT, credit INTEGER, changed_at {timestamp_type})"));
    exec(
        source,
        "INSERT INTO kna1 VALUES ('1', 'ACME', 'Ulm', 1500, '2024-01-01 10:00:00'), \
         ('2', 'Bolt AG', 'Bonn', NULL, '2024-01-02 10:00:00'), ('3', 'Cogs', 'Kiel', 7, '2024-01-03 10:00:00')",
    );
    let pull = ["--domain", "customer", "--source", "SAP"];
    let s = case.ingest(&pull);
    assert_eq!(counts(&s), (3, 3, 0, 0, 0, 0), "{s}");
    assert_eq!(s["file"], "sql:SAP");
    let a = case.attributes("SAP", "1");
    assert_eq!(
        (
            a["organization_name"].as_str(),
            a["city"].as_str(),
            a["credit"].as_str()
        ),
        (Some("ACME"), Some("Ulm"), Some("1500"))
    );
    assert!(
        case.attributes("SAP", "2").get("credit").is_none(),
        "NULL is absent"
    );

    exec(
        source,
        "UPDATE kna1 SET ort01 = 'Berlin', changed_at = '2024-02-01 09:00:00' WHERE kunnr = '2'",
    );
    exec(
        source,
        "INSERT INTO kna1 VALUES ('4', 'Dyn', 'Hof', 1, '2024-02-02 09:00:00')",
    );
    exec(
        source,
        "UPDATE kna1 SET ort01 = 'Not pulled' WHERE kunnr = '1'",
    ); // below the watermark
    let s = case.ingest(&pull);
    // Rows at or above the last watermark: 3 (the boundary, unchanged), 2 (changed), 4 (new).
    assert_eq!(counts(&s), (3, 1, 1, 1, 0, 0), "{s}");
    assert_eq!(case.attributes("SAP", "2")["city"], "Berlin");
    assert_eq!(case.attributes("SAP", "1")["city"], "Ulm");

    let s = case.ingest(&pull);
    assert_eq!(
        counts(&s),
        (1, 0, 0, 1, 0, 0),
        "only the boundary row again: {s}"
    );

    // A snapshot pull reads everything and catches the row below the watermark.
    let s = case.ingest(&["--domain", "customer", "--source", "SAP", "--snapshot"]);
    assert_eq!(counts(&s), (4, 0, 1, 3, 0, 0), "{s}");
}

fn pull_from_sqlite_source(case: &Case) {
    let url = format!("sqlite://{}", case.path("sap.db").display());
    configure(case, &url);
    let mut source = mdm_store::connect(&url).unwrap();
    exercise(case, &mut source, "TEXT");
}

fn pull_from_postgres_source(case: &Case) {
    let Some(source_db) = TestDb::postgres() else {
        return;
    };
    configure(case, source_db.url());
    let mut source = mdm_store::connect(source_db.url()).unwrap();
    exercise(case, &mut source, "TIMESTAMP");
    drop(source);
}
