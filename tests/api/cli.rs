//! Errors a user meets at the command line: a broken rules file, an unreachable database,
//! a file without a source_id column, an undeclared system.

use crate::helpers::{mdm_in, run_err, run_ok, text};
use std::time::{Duration, Instant};

#[test]
fn broken_rules_file_names_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("match-rules")).unwrap();
    std::fs::write(
        d.join("match-rules/customer.toml"),
        "domain = \"customer\"\n\n[attributes]\ngiven_name = { type = \"person_name\" }\nbirth_date = { type = \"dat\" }\n",
    )
    .unwrap();
    std::fs::write(d.join("c.csv"), "source_id\n1\n").unwrap();
    let err =
        run_err(mdm_in(d).args(["ingest", "--domain", "customer", "--source", "ERP", "c.csv"]));
    assert!(
        err.contains("customer.toml:5"),
        "names file and line: {err}"
    );
    assert!(err.contains("birth_date"), "names the key: {err}");
}

#[test]
fn unknown_domain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), "source_id\n1\n").unwrap();
    let err = run_err(
        mdm_in(dir.path()).args(["ingest", "--domain", "vehicle", "--source", "ERP", "c.csv"]),
    );
    assert!(err.contains("vehicle"), "{err}");
}

#[test]
fn unreachable_postgres_fails_fast_and_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let err = run_err(mdm_in(dir.path()).args([
        "--database-url",
        "postgres://mdm:s3cret@127.0.0.1:1/mdm",
        "migrate",
    ]));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.contains("cannot connect") && err.contains("127.0.0.1"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "password shown: {err}");
}

#[test]
fn file_without_source_id_column_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), "id,city\n1,Ulm\n").unwrap();
    let err = run_err(
        mdm_in(dir.path()).args(["ingest", "--domain", "customer", "--source", "ERP", "c.csv"]),
    );
    assert!(
        err.contains("source_id") && err.contains("id, city"),
        "{err}"
    );
}

#[test]
fn undeclared_system_warns_and_registers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.csv"), "source_id\n1\n").unwrap();
    let out = run_ok(
        mdm_in(dir.path()).args(["ingest", "--domain", "customer", "--source", "mes", "c.csv"]),
    );
    let err = text(&out.stderr);
    assert!(err.contains("MES") && err.contains("not declared"), "{err}");
    assert!(text(&out.stdout).contains("new 1"), "{}", text(&out.stdout));
}
