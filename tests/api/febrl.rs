//! Match quality on data mdm did not generate: the public FEBRL 1-4 sets
//! (`benches/febrl/data/`), read by `mdm match` with the shipped customer rules and a column
//! mapping in configuration only (`benches/febrl/mdm.toml`), scored by `mdm evaluate`.
//! The floors sit just under the figures measured when they were set (see
//! `benches/febrl/README.md`), so losing recall or precision fails the test.

use crate::helpers::{mdm_in, run_ok};
use std::path::{Path, PathBuf};

fn febrl_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/febrl")
}

/// Runs `mdm match` on `inputs` (`SYSTEM=file` under the data directory) and returns the
/// pairwise (precision, recall, F1) against `truth`.
fn pairwise(inputs: &[(&str, &str)], truth: &str) -> (f64, f64, f64) {
    let work = tempfile::tempdir().expect("temp dir");
    let here = febrl_dir();
    let clusters = work.path().join("clusters.csv");
    let mut cmd = mdm_in(work.path());
    cmd.arg("--config")
        .arg(here.join("mdm.toml"))
        .args(["match", "--domain", "customer", "--out"])
        .arg(&clusters);
    for (system, file) in inputs {
        cmd.arg("--input").arg(format!(
            "{system}={}",
            here.join("data").join(file).display()
        ));
    }
    run_ok(&mut cmd);
    let out = run_ok(
        mdm_in(work.path())
            .arg("evaluate")
            .arg("--truth")
            .arg(here.join("data").join(truth))
            .arg("--clusters")
            .arg(&clusters)
            .arg("--json"),
    );
    let ev: serde_json::Value = serde_json::from_slice(&out.stdout).expect("evaluate JSON");
    let f = |k: &str| ev["pairwise"][k].as_f64().expect("pairwise score");
    (f("precision"), f("recall"), f("f1"))
}

fn assert_floor(set: &str, (p, r, f1): (f64, f64, f64), floor: f64) {
    assert!(
        f1 >= floor && p >= 0.995,
        "{set}: pairwise P {p:.4} R {r:.4} F1 {f1:.4}, floor F1 {floor} (P 0.995)"
    );
}

#[test]
fn febrl1_dedupe() {
    let s = pairwise(&[("FEBRL1", "febrl1.csv")], "febrl1_truth.csv");
    assert_floor("febrl1", s, 0.99);
}

#[test]
fn febrl2_dedupe() {
    let s = pairwise(&[("FEBRL2", "febrl2.csv")], "febrl2_truth.csv");
    assert_floor("febrl2", s, 0.99);
}

#[test]
fn febrl3_dedupe() {
    let s = pairwise(&[("FEBRL3", "febrl3.csv")], "febrl3_truth.csv");
    assert_floor("febrl3", s, 0.995);
}

#[test]
fn febrl4_link_two_files() {
    let s = pairwise(
        &[("A", "febrl4_A.csv"), ("B", "febrl4_B.csv")],
        "febrl4_truth.csv",
    );
    assert_floor("febrl4", s, 0.995);
}
