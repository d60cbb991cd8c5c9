//! `mdm match --report DIR` on FEBRL3: the page is self-contained (inline SVG, nothing
//! fetched), and the report's figures agree with what the same run writes with `--pairs`,
//! `--train` and `--explain-blocking`.

use crate::helpers::{mdm_in, run_ok};
use serde_json::Value;
use std::path::Path;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn report_agrees_with_pairs_params_and_blocking() {
    let work = tempfile::tempdir().expect("temp dir");
    let w = work.path();
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/febrl");
    let out = run_ok(
        mdm_in(w)
            .arg("--config")
            .arg(here.join("mdm.toml"))
            .args(["match", "--domain", "customer", "--input"])
            .arg(format!("FEBRL3={}", here.join("data/febrl3.csv").display()))
            .args([
                "--out",
                "clusters.csv",
                "--pairs",
                "pairs.csv",
                "--train",
                "params.json",
                "--report",
                "rep",
                "--explain-blocking",
            ]),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);

    // The page: inline SVG, no scripts, nothing from the network.
    let html = std::fs::read_to_string(w.join("rep/report.html")).expect("report.html");
    assert!(html.contains("<svg"), "no chart");
    for banned in ["http://", "https://", "<script", "<link", "src=", "url("] {
        assert!(!html.contains(banned), "report.html contains `{banned}`");
    }
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(w.join("rep/report.json")).expect("report.json"),
    )
    .expect("report.json parses");
    let num = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));

    // Decisions agree with the kept pairs of the same run.
    let mut rdr = csv::Reader::from_path(w.join("pairs.csv")).expect("pairs.csv");
    let (mut matches, mut reviews, mut match_prob) = (0u64, 0u64, 0.0);
    for row in rdr.records() {
        let row = row.expect("pairs row");
        let overridden = row[8].contains("override:");
        match (&row[4], overridden) {
            ("match", false) => {
                matches += 1;
                match_prob += row[5].parse::<f64>().expect("probability");
            }
            ("review", _) => reviews += 1,
            _ => {}
        }
    }
    assert!(
        matches > 1000,
        "FEBRL3 has thousands of matching pairs: {matches}"
    );
    let d = &report["decisions"];
    assert_eq!(num(&d["match_by_model"]) as u64, matches);
    assert_eq!(num(&d["review"]) as u64, reviews);
    let at_match = &report["at_match_threshold"];
    assert_eq!(
        num(&at_match["pairs"]) as u64,
        matches + num(&d["match_by_override"]) as u64
    );
    // Expected true matches above the threshold: the kept pairs' probabilities (printed to
    // 6 decimals), plus 1 per overridden match.
    assert!(
        (num(&at_match["expected_true_matches"]) - match_prob - num(&d["match_by_override"])).abs()
            < 1e-5 * matches as f64,
        "expected true matches {} vs pairs.csv {match_prob}",
        at_match["expected_true_matches"]
    );
    let (p, r) = (num(&at_match["precision"]), num(&at_match["recall"]));
    assert!(p > 0.99 && p <= 1.0 && r > 0.99 && r <= 1.0, "P {p} R {r}");
    let candidates = num(&report["candidate_pairs"]) as u64;
    assert!(stderr.contains(&format!("candidate pairs {candidates},")));
    let histogram: u64 = report["histogram"]
        .as_array()
        .expect("histogram")
        .iter()
        .map(|b| num(&b["pairs"]) as u64)
        .sum();
    assert_eq!(histogram, candidates);
    let t = &report["thresholds"];
    let pm = num(&t["match_probability"]);
    assert!(close(
        num(&t["match_weight"]),
        (pm / (1.0 - pm)).log2(),
        1e-12
    ));

    // Levels: the trained parameters, weight log2(m/u).
    let params: Value =
        serde_json::from_str(&std::fs::read_to_string(w.join("params.json")).expect("params.json"))
            .expect("params parse");
    let pcs = params["comparisons"].as_array().expect("comparisons");
    let rcs = report["comparisons"].as_array().expect("comparisons");
    assert_eq!(pcs.len(), rcs.len());
    for (pc, rc) in pcs.iter().zip(rcs) {
        assert_eq!(pc["name"], rc["name"]);
        let levels = rc["levels"].as_array().expect("levels");
        assert_eq!(levels.len(), pc["m"].as_array().expect("m").len());
        assert_eq!(levels.last().expect("else")["level"], "else");
        for (l, level) in levels.iter().enumerate() {
            let (m, u) = (num(&pc["m"][l]), num(&pc["u"][l]));
            assert!(close(num(&level["m"]), m, 1e-12));
            assert!(close(num(&level["u"]), u, 1e-12));
            assert!(
                close(num(&level["weight"]), (m / u).log2(), 1e-9),
                "{}[{l}]",
                rc["name"]
            );
        }
    }

    // Vetoes: as learned.
    let vetoes = params["vetoes"].as_array().expect("vetoes learned");
    for v in vetoes {
        let o = report["overrides"]
            .as_array()
            .expect("overrides")
            .iter()
            .find(|o| o["attr"] == v["attr"] && o["then"] == "non_match")
            .unwrap_or_else(|| panic!("override on {} missing", v["attr"]));
        assert!(close(num(&o["m"]), num(&v["m"]), 1e-12));
        assert!(close(num(&o["support"]), num(&v["support"]), 1e-12));
        let lifted = stderr.lines().any(|l| {
            l.starts_with(&format!("override {} ", v["attr"].as_str().unwrap_or("")))
                && l.ends_with("lifted: weighed as evidence")
        });
        assert_eq!(o["holds"].as_bool(), Some(!lifted), "{}", v["attr"]);
    }

    // Blocking: pairs per rule as `--explain-blocking` prints them; expected matches per
    // rule at most its pairs, and the first-produced shares add up to all expected matches.
    let mut expected_new = 0.0;
    for b in report["blocking"].as_array().expect("blocking") {
        let rule = b["rule"].as_str().expect("rule");
        let line = stderr
            .lines()
            .find(|l| l.split_whitespace().next() == Some(rule))
            .unwrap_or_else(|| panic!("no blocking line for {rule}"));
        let pairs: u64 = line
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .expect("pairs");
        assert_eq!(num(&b["pairs"]) as u64, pairs, "{rule}");
        assert!(num(&b["expected_matches"]) <= pairs as f64 + 1e-9);
        // What the rule alone finds is printed as well, and is part of what it found first.
        let words: Vec<&str> = line.split_whitespace().collect();
        let alone = words
            .iter()
            .position(|w| *w == "alone")
            .and_then(|i| words[i + 1].parse::<u64>().ok())
            .expect("alone");
        assert_eq!(num(&b["only_pairs"]) as u64, alone, "{rule}");
        assert!(alone <= num(&b["new_pairs"]) as u64, "{rule}");
        assert!(num(&b["expected_only_matches"]) <= num(&b["expected_new_matches"]) + 1e-9);
        expected_new += num(&b["expected_new_matches"]);
    }
    assert!(close(
        expected_new,
        num(&at_match["expected_matches"]),
        1e-9
    ));
}
