//! `mdm export`, `mdm report` and `mdm demo` end to end, through the real binary.

use crate::helpers::{backends, mdm_in, run_ok, text, Case};
use crate::reconcile::{generated, reconcile, xref};

backends!(
    export_xref_and_golden_as_csv_and_ndjson,
    report_writes_json_and_html
);

fn export_xref_and_golden_as_csv_and_ndjson(case: &Case) {
    generated(case, 100, 5);
    let s = reconcile(case, &[]);
    let golden_n = s["counts"]["created"].as_u64().unwrap() as usize;
    let x = xref(case);
    let out = case.path("xref.csv");
    run_ok(
        case.mdm()
            .args(["export", "xref", "--domain", "customer", "--out"])
            .arg(&out),
    );
    let mut rd = csv::Reader::from_path(&out).unwrap();
    assert_eq!(
        rd.headers().unwrap().iter().collect::<Vec<_>>(),
        ["source_system", "source_id", "golden_id"]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), x.len());
    for r in &rows {
        assert_eq!(x[&(r[0].to_string(), r[1].to_string())], r[2]);
    }
    let out = case.path("golden.csv");
    run_ok(
        case.mdm()
            .args(["export", "golden", "--domain", "customer", "--out"])
            .arg(&out),
    );
    let mut rd = csv::Reader::from_path(&out).unwrap();
    let h = rd.headers().unwrap().clone();
    assert_eq!(&h[0], "golden_id");
    assert!(h.iter().any(|c| c == "family_name") && h.iter().any(|c| c == "email"));
    assert_eq!(rd.records().count(), golden_n);
    let out = case.path("golden.ndjson");
    run_ok(
        case.mdm()
            .args(["export", "golden", "--domain", "customer", "--out"])
            .arg(&out),
    );
    let body = std::fs::read_to_string(&out).unwrap();
    assert_eq!(body.lines().count(), golden_n);
    let first: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert!(first["golden_id"].is_string());
    // --format wins over the extension.
    let out = case.path("xref.txt");
    run_ok(
        case.mdm()
            .args([
                "export", "xref", "--domain", "customer", "--format", "ndjson", "--out",
            ])
            .arg(&out),
    );
    let line = std::fs::read_to_string(&out).unwrap();
    let v: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert!(v["source_system"].is_string());
}

fn report_writes_json_and_html(case: &Case) {
    generated(case, 100, 6);
    let s = reconcile(case, &[]);
    let dir = case.path("rep");
    let out = run_ok(case.mdm().args(["report", "--out"]).arg(&dir));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("golden records"), "{stdout}");
    assert!(stdout.contains("review backlog"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["id"], s["run_id"]);
    assert_eq!(json["golden"]["active"], s["counts"]["created"]);
    let d = &json["duplicates"];
    assert!(d["across_systems"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(json["sources"].as_array().unwrap().len(), 3);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("Duplicates"));
    // An unknown run is a clear error.
    let out = case
        .mdm()
        .args(["report", "--run", "999"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no reconcile run 999"));
}

/// `mdm demo` on the embedded default: its own directory and SQLite database.
#[test]
fn demo_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(mdm_in(dir.path()).args(["demo", "--entities", "300"]));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("golden records"), "{stdout}");
    assert!(stdout.contains("Where to look next"), "{stdout}");
    let demo = dir.path().join("mdm-demo");
    for f in [
        "mdm.db",
        "report.json",
        "report.html",
        "data/ERP.csv",
        "data/CRM.csv",
        "data/MES.csv",
    ] {
        assert!(demo.join(f).exists(), "{f} missing");
    }
    let url = format!("sqlite://{}", demo.join("mdm.db").display());
    let mut conn = mdm_store::open(&url).unwrap();
    let active = mdm_store::golden::list(&mut conn, "customer", "active", None, 100_000).unwrap();
    assert!(
        active.len() >= 290 && active.len() < 600,
        "{}",
        active.len()
    );
    // Golden records a downstream system can trust: no filler phone or e-mail over a
    // member's valid one, no address assembled from several source records, no phone
    // given another country's code than the record's (issue 22's three counts).
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(demo.join("report.json")).unwrap()).unwrap();
    let q = &report["golden_quality"];
    assert_eq!(
        q["golden_records"].as_u64(),
        Some(active.len() as u64),
        "{q}"
    );
    for defect in [
        "placeholders_published",
        "groups_from_several_records",
        "phones_against_country",
    ] {
        assert_eq!(q[defect].as_u64(), Some(0), "{defect}: {q}");
    }
    assert!(stdout.contains("golden record defects: 0 "), "{stdout}");
    let html = std::fs::read_to_string(demo.join("report.html")).unwrap();
    assert!(html.contains("Golden record defects"));
    // Running it again changes nothing (same data, incremental run).
    let out = run_ok(mdm_in(dir.path()).args(["demo", "--entities", "300"]));
    assert!(
        text(&out.stdout).contains("created 0  updated 0"),
        "{}",
        text(&out.stdout)
    );
}
