//! Partitions scored by `mdm worker` processes (issue 23; PostgreSQL): the result equals the
//! in-process and the one-pass run with 0, 1 and 2 workers; a worker killed with SIGKILL
//! while it holds a partition loses it when its lease runs out, another worker finishes it,
//! and nothing is counted twice; a coordinator killed mid-run leaves a run the next one
//! replaces cleanly; a worker pointed at SQLite refuses with the reason.

use crate::helpers::{run_err, Case};
use crate::partitioned::{partitions, state, unseen_words};
use crate::reconcile::{generated, reconcile};
use mdm_store::partitions::PartitionRow;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn ledger(case: &Case, run: i64) -> Vec<PartitionRow> {
    mdm_store::partitions::ledger(&mut case.conn(), run).unwrap()
}

/// A full run over partitions of about 30 block memberships with `workers` workers.
fn full(case: &Case, workers: &str) -> Value {
    let s = reconcile(
        case,
        &["--full", "--partition-records", "30", "--workers", workers],
    );
    assert!(partitions(&s) > 10, "{s}");
    s
}

fn run_id(s: &Value) -> i64 {
    s["run_id"].as_i64().unwrap()
}

/// A worker that claims one partition and holds it (renewing its 2 s lease) for ten minutes.
fn holding_worker(case: &Case) -> Child {
    case.mdm()
        .args([
            "worker",
            "--lease-secs",
            "2",
            "--hold-after-claim-ms",
            "600000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mdm worker starts")
}

/// `mdm reconcile --full` with one local worker and 2 s leases, in the background.
fn coordinator(case: &Case) -> Child {
    case.mdm()
        .env("MDM__RECONCILE__LEASE_SECS", "2")
        .args(["reconcile", "--domain", "customer", "--json", "--full"])
        .args(["--partition-records", "30", "--workers", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mdm reconcile starts")
}

/// The running run and the partition `holder` (a worker id ending in `:pid`) claimed.
fn claimed_by(case: &Case, holder: u32) -> (i64, i32) {
    let t = Instant::now();
    let suffix = format!(":{holder}");
    loop {
        let run =
            mdm_store::runs::latest(&mut case.conn(), Some("customer"), Some("running")).unwrap();
        if let Some(run) = run {
            let held = ledger(case, run.id).into_iter().find(|p| {
                p.state == "claimed" && p.worker.as_deref().is_some_and(|w| w.ends_with(&suffix))
            });
            if let Some(p) = held {
                return (run.id, p.part);
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "worker {holder} never claimed a partition"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for `child` at most two minutes (a partition nobody takes over would hang it).
fn finished(mut child: Child) -> std::process::Output {
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("the run did not finish: a partition was never taken over?");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn workers_give_the_in_process_result() {
    let Some(case) = Case::postgres() else { return };
    generated(&case, 250, 21);
    reconcile(&case, &[]);
    let trained = state(&case);
    let mut pairs = None;
    for workers in ["0", "1", "2", "4"] {
        let s = full(&case, workers);
        assert_eq!(s["stats"]["events"], 0, "{s}");
        assert!(state(&case) == trained, "{workers} workers: a change");
        let kept = pairs.get_or_insert_with(|| s["stats"]["candidate_pairs"].clone());
        assert_eq!(&s["stats"]["candidate_pairs"], kept, "{s}");
        if workers != "0" {
            let rows = ledger(&case, run_id(&s));
            assert_eq!(rows.len() as u64, partitions(&s).min(rows.len() as u64));
            assert!(rows.iter().all(|p| p.state == "done" && p.attempts == 1));
            let holders: std::collections::BTreeSet<_> =
                rows.iter().filter_map(|p| p.worker.clone()).collect();
            let most: usize = workers.parse().unwrap();
            assert!(!holders.is_empty() && holders.len() <= most, "{holders:?}");
            // The run's inputs, members and edges are gone once it has read them.
            let conn = &mut case.conn();
            assert!(mdm_store::partitions::inputs(conn, run_id(&s))
                .unwrap()
                .is_none());
            assert!(mdm_store::partitions::edges(conn, run_id(&s))
                .unwrap()
                .is_empty());
        }
    }

    // Changed data with words the model never saw: two workers give the one-pass result.
    let other = Case::postgres().expect("a PostgreSQL case");
    generated(&other, 250, 21);
    reconcile(&other, &[]);
    let f = unseen_words(&case);
    case.ingest_customers("CRM", &f);
    other.ingest_customers("CRM", &f);
    let one = reconcile(&other, &["--full"]);
    let two = full(&case, "2");
    assert!(one["counts"]["updated"].as_u64().unwrap() > 0, "{one}");
    assert_eq!(two["counts"], one["counts"]);
    let (a, b) = (state(&case), state(&other));
    assert_eq!(a.0, b.0, "xref");
    assert_eq!(a.1, b.1, "golden records");
    assert!(a.2 == b.2, "kept pairs and scores");
    assert!(a.3 == b.3, "blocking keys");
}

#[test]
fn killed_worker_partition_is_finished_by_another() {
    let Some(case) = Case::postgres() else { return };
    generated(&case, 250, 21);
    reconcile(&case, &[]);
    let trained = state(&case);
    let mut victim = holding_worker(&case);
    let run = coordinator(&case);
    let (run_id, part) = claimed_by(&case, victim.id());
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    let out = finished(run);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(run_id, self::run_id(&s));
    let rows = ledger(&case, run_id);
    let taken = rows.iter().find(|p| p.part == part).unwrap();
    assert_eq!(taken.state, "done");
    assert_eq!(taken.attempts, 2, "{taken:?}");
    assert!(!taken
        .worker
        .as_deref()
        .unwrap()
        .ends_with(&format!(":{}", victim.id())));
    assert!(rows
        .iter()
        .filter(|p| p.part != part)
        .all(|p| p.attempts == 1));
    // Each pair once: the same kept pairs, scores and golden records as before.
    assert!(state(&case) == trained, "a change after the takeover");
    assert_eq!(s["stats"]["events"], 0, "{s}");
    let timings = s["stats"]["timings"].as_array().unwrap();
    assert!(
        timings.contains(&serde_json::json!(["match.partitions_retried", 1.0])),
        "{s}"
    );
}

#[test]
fn killed_run_restarts_cleanly() {
    let Some(case) = Case::postgres() else { return };
    generated(&case, 250, 21);
    reconcile(&case, &[]);
    let trained = state(&case);
    let mut holder = holding_worker(&case);
    let mut run = coordinator(&case);
    let (killed, _) = claimed_by(&case, holder.id());
    run.kill().unwrap();
    run.wait().unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let left = mdm_store::runs::get(&mut case.conn(), killed)
        .unwrap()
        .unwrap();
    assert_eq!(left.status, "running", "killed mid-run");

    let s = full(&case, "2");
    assert!(state(&case) == trained, "a change after the restart");
    let conn = &mut case.conn();
    let old = mdm_store::runs::get(conn, killed).unwrap().unwrap();
    assert_eq!(old.status, "interrupted");
    assert!(mdm_store::partitions::inputs(conn, killed)
        .unwrap()
        .is_none());
    assert!(mdm_store::partitions::edges(conn, killed)
        .unwrap()
        .is_empty());
    assert!(ledger(&case, killed).iter().all(|p| p.state == "done"));
    assert!(ledger(&case, run_id(&s)).iter().all(|p| p.attempts == 1));
}

#[test]
fn worker_refuses_sqlite() {
    let case = Case::sqlite();
    let err = run_err(case.mdm().arg("worker"));
    assert!(err.contains("mdm worker needs PostgreSQL"), "{err}");
    assert!(err.contains("one writer"), "{err}");
    let err = run_err(case.mdm().args(["reconcile", "--full", "--workers", "2"]));
    assert!(err.contains("--workers needs PostgreSQL"), "{err}");
    if let Some(pg) = Case::postgres() {
        let err = run_err(pg.mdm().args(["reconcile", "--full", "--workers", "2"]));
        assert!(err.contains("--workers needs partitions"), "{err}");
    }
}
