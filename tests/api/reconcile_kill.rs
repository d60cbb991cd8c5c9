//! Crash safety: the real `mdm reconcile` process is killed with SIGKILL at several moments
//! of a run; each time the previous golden state must be intact and readable, and the next
//! run must complete and leave a consistent state. Both backends.

use crate::helpers::{backends, run_ok, Case};
use crate::reconcile::{generated, perturb, reconcile, xref};
use std::time::{Duration, Instant};

backends!(killed_run_leaves_previous_state_and_next_run_completes);

/// Everything a reader can see: golden records, redirects, xref, events, history length.
fn visible_state(case: &Case) -> String {
    let mut conn = case.conn();
    let mut out = String::new();
    for status in ["active", "retired", "deleted"] {
        for g in mdm_store::golden::list(&mut conn, "customer", status, None, 1_000_000).unwrap() {
            out.push_str(&format!(
                "{} {} {} {}\n",
                g.golden_id, g.version, g.status, g.attributes
            ));
        }
    }
    for r in mdm_store::golden::redirects(&mut conn, "customer").unwrap() {
        out.push_str(&format!("redirect {} {}\n", r.retired_id, r.survivor_id));
    }
    for ((s, id), g) in xref(case) {
        out.push_str(&format!("xref {s} {id} {g}\n"));
    }
    let ev = mdm_store::outbox::after(&mut conn, 0, 10_000_000).unwrap();
    out.push_str(&format!("events {}\n", ev.len()));
    out
}

/// The latest run's id, if it is a run after `after` that is still running.
fn running_after(case: &Case, after: i64) -> Option<i64> {
    mdm_store::runs::latest(&mut case.conn(), Some("customer"), None)
        .unwrap()
        .filter(|r| r.status == "running" && r.id > after)
        .map(|r| r.id)
}

fn killed_run_leaves_previous_state_and_next_run_completes(case: &Case) {
    generated(case, 1500, 21);
    reconcile(case, &[]);
    let f = perturb(case, "ERP", 5);
    case.ingest_customers("ERP", &f);
    let before = visible_state(case);
    let mut killed = 0;
    let mut last_run = 0;
    let mut finished = false;
    for delay_ms in [0u64, 100, 300, 700, 1500] {
        let mut child = case
            .mdm()
            .args(["reconcile", "--domain", "customer", "--retrain"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mdm starts");
        // Wait for the run to open its ledger row, then let it work a little.
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if let Some(id) = running_after(case, last_run) {
                last_run = id;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_some() {
            // Finished before the kill: nothing more to learn from longer delays.
            finished = true;
            break;
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().unwrap();
        assert!(!status.success());
        // Killed after its commit (printing its summary): the run is done, not undone.
        let run = mdm_store::runs::get(&mut case.conn(), last_run).unwrap();
        if run.is_some_and(|r| r.status == "completed") {
            finished = true;
            break;
        }
        killed += 1;
        assert_eq!(
            visible_state(case),
            before,
            "state changed by a run killed after {delay_ms} ms"
        );
        // Still readable through the API functions.
        let x = xref(case);
        let (_, some_id) = x.iter().next().unwrap();
        assert!(
            mdm_store::golden::get(&mut case.conn(), "customer", some_id)
                .unwrap()
                .is_some()
        );
    }
    assert!(killed >= 2, "the run was too short to be killed ({killed})");
    // The next run completes (unless the last attempt already did), and marks the killed
    // ones as interrupted.
    let s = reconcile(case, &[]);
    if !finished {
        assert!(s["counts"]["updated"].as_u64().unwrap() > 0, "{s}");
    }
    assert_ne!(visible_state(case), before, "the changes were applied");
    let runs = mdm_store::runs::list(&mut case.conn(), "customer", 100).unwrap();
    assert_eq!(runs[0].status, "completed");
    let interrupted = runs.iter().filter(|r| r.status == "interrupted").count();
    assert_eq!(interrupted, killed);
    // Consistent: every staged record has an xref row, and a full re-match agrees.
    let staged = mdm_store::matchstate::current_records(&mut case.conn(), "customer")
        .unwrap()
        .len();
    assert_eq!(xref(case).len(), staged);
    let after = visible_state(case);
    let s = reconcile(case, &["--full"]);
    assert_eq!(s["stats"]["events"], 0, "{s}");
    assert_eq!(visible_state(case), after);
    run_ok(
        case.mdm()
            .args(["report", "--domain", "customer", "--out"])
            .arg(case.path("rep")),
    );
}
