//! Reconcile throughput: generates synthetic customers of ERP, CRM and MES (about 1M staged
//! records by default), ingests them into a fresh SQLite file and a fresh PostgreSQL
//! database, and times through the same `mdm_service::reconcile` the CLI calls:
//!
//! 1. the first run (trains the model, full match, writes every golden record and xref row);
//! 2. a forced full re-match with the frozen model (`--full`; nothing changed, so it writes
//!    nothing new);
//! 3. a forced full re-match after 1% of the records (10k of 1M) changed: what the nightly
//!    job would run without the incremental path;
//! 4. an incremental run after another 1% (other records, same kind of change) changed.
//!
//! Each run is a process of its own (this binary, started again with `MDM_BENCH_RUN` set),
//! as every nightly `mdm reconcile` is: no run inherits the heap or page cache state of the
//! runs before it in the same process, and each reports its own peak RSS.
//!
//! Commands:
//!
//! ```text
//! cargo bench --bench reconcile                        # ~1M records, both backends
//! MDM_BENCH_ROWS=100000 cargo bench --bench reconcile  # smaller
//! MDM_TEST_PG=skip cargo bench --bench reconcile       # SQLite only
//! # also a full re-match partition by partition (issue 23), without the 1% runs:
//! MDM_BENCH_PARTITION_RECORDS=200000 MDM_BENCH_SKIP_CHANGES=1 cargo bench --bench reconcile
//! # and on PostgreSQL the same partitions scored by 1, then 2 `mdm worker` processes:
//! MDM_BENCH_PARTITION_RECORDS=200000 MDM_BENCH_WORKERS=1,2 MDM_BENCH_SKIP_CHANGES=1 \
//!   MDM_BENCH_BACKENDS=postgres cargo bench --bench reconcile
//! ```

use mdm_core::standardize::StdContext;
use mdm_core::SystemName;
use mdm_ingest::{ColumnMapping, CsvOptions, CsvSource, LoadOptions};
use mdm_service::reconcile::Workers;
use mdm_service::{ReconcileOptions, RunSummary};
use mdm_store::systems::DeclaredSystem;
use mdm_store::testing::TestDb;
use mdm_testkit::{Domain, GenConfig};
use std::path::Path;
use std::time::Instant;

/// The allocator the `mdm` binary runs with, so the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Records per generated entity (measured on the customer generator's defaults).
const RECORDS_PER_ENTITY: f64 = 2.11;

fn main() {
    if let Ok(spec) = std::env::var(RUN_ENV) {
        return child_run(&spec);
    }
    let rows: usize = std::env::var("MDM_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rules = mdm_rules::load_domain(None, "customer").expect("rules");
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Instant::now();
    let entities = (rows as f64 / RECORDS_PER_ENTITY) as usize;
    let cfg = GenConfig::new(Domain::Customer, entities, 42);
    let summary = mdm_testkit::generate_to_dir(&cfg, &rules, dir.path()).expect("generate");
    println!(
        "generated {} records of {} entities in {:.1} s",
        summary.records,
        entities,
        t.elapsed().as_secs_f64()
    );
    let n = (summary.records / 100) as usize;
    let changes = [
        write_changes(dir.path(), n, 0, "ERP-changes-a.csv"),
        write_changes(dir.path(), n, 1, "ERP-changes-b.csv"),
    ];
    let mut backends = vec![("sqlite", TestDb::sqlite())];
    if let Some(pg) = TestDb::postgres() {
        backends.push(("postgres", pg));
    }
    // MDM_BENCH_BACKENDS=postgres: one backend only (the worker runs are PostgreSQL's).
    let only = std::env::var("MDM_BENCH_BACKENDS").unwrap_or_default();
    backends.retain(|(label, _)| only.is_empty() || only.split(',').any(|b| b == *label));
    for (label, db) in &backends {
        bench(label, db.url(), dir.path(), &changes, &rules);
    }
}

/// Set in a child process: `LABEL|URL|full|PARTITION|WORKERS|WHAT` (full is `0` or `1`;
/// PARTITION the partition size, 0 for one pass; WORKERS the `mdm worker` processes, 0 for
/// in-process).
const RUN_ENV: &str = "MDM_BENCH_RUN";

/// One reconcile in a fresh process: prints its figures and, last, `SECONDS <s>`.
fn child_run(spec: &str) {
    let parts: Vec<&str> = spec.splitn(6, '|').collect();
    let [label, url, full, partition, workers, what] = parts[..] else {
        panic!("{RUN_ENV}={spec}: want LABEL|URL|FULL|PARTITION|WORKERS|WHAT");
    };
    let mut pool = BenchWorkers {
        count: workers.parse().expect("worker count"),
        url: url.to_string(),
        children: Vec::new(),
        label: label.to_string(),
    };
    let rules = mdm_rules::load_domain(None, "customer").expect("rules");
    let mut conn = mdm_store::open(url).expect("open");
    // As `mdm reconcile` does: a second session for an incremental run's reads.
    let mut reader = mdm_store::open_second(url).expect("open");
    let opts = ReconcileOptions {
        full: full == "1",
        retrain: false,
        partition_records: partition.parse().ok().filter(|&n: &usize| n > 0),
        train_sample: None,
    };
    let t = Instant::now();
    let workers = (pool.count > 0).then_some(&mut pool as &mut dyn Workers);
    let s = mdm_service::reconcile::reconcile_distributed(
        &mut conn,
        reader.as_mut(),
        &rules,
        &StdContext::default(),
        opts,
        workers,
        &|_, _, _| {},
    )
    .expect("reconcile");
    let secs = t.elapsed().as_secs_f64();
    print_run(label, what, secs, &s);
    println!("[{label}] {what}: peak RSS {} MB", peak_rss_mb());
    if s.stats.partitions > 0 {
        print_projection(label, secs, &s);
    }
    println!("SECONDS {secs}");
}

/// The partition figures of a partitioned run, the share of it that is serial (everything
/// but scoring partitions: reads, key pass, assignment, clustering, survivorship, the write)
/// and from them a projection to 100M records on k machines. It assumes both parts grow
/// linearly with the records (blocks of the same size, ~1.7 edges per record) and that k
/// machines score partitions k times as fast; the serial part runs on one machine and is
/// bound by the database's single write transaction.
fn print_projection(label: &str, secs: f64, s: &RunSummary) {
    let t = |name: &str| {
        s.stats
            .timings
            .iter()
            .find(|(p, _)| p == name)
            .map_or(0.0, |x| x.1)
    };
    let scoring = t("match.partitions");
    let serial = (secs - scoring).max(0.0);
    let n = s.stats.partitions.max(1) as f64;
    let sum = t("match.partition_sum");
    println!(
        "[{label}] partitions {}: scoring wall {scoring:.1} s, per partition mean {:.2} s max {:.2} s (worker time), serial {serial:.1} s = {:.0}% of the run",
        s.stats.partitions,
        sum / n,
        t("match.partition_max"),
        100.0 * serial / secs.max(1e-9)
    );
    let scale = 100_000_000.0 / (s.counts.records.max(1) as f64);
    let work = if sum > 0.0 { sum } else { scoring };
    let proj: Vec<String> = [1.0, 4.0, 16.0, 64.0]
        .iter()
        .map(|k| {
            format!(
                "{k} machines {:.0} min",
                (serial * scale + work * scale / k) / 60.0
            )
        })
        .collect();
    println!(
        "[{label}] projection to 100M records (linear; scoring spread over k machines, serial part on one): {}",
        proj.join(", ")
    );
}

/// `mdm worker --run R` processes for a benchmark run; each prints its summary with its
/// peak RSS when it exits.
struct BenchWorkers {
    count: usize,
    url: String,
    label: String,
    children: Vec<std::process::Child>,
}

impl Workers for BenchWorkers {
    fn start(&mut self, run_id: i64) -> Result<(), mdm_service::ServiceError> {
        for _ in 0..self.count {
            let child = std::process::Command::new(env!("CARGO_BIN_EXE_mdm"))
                .args(["worker", "--run", &run_id.to_string()])
                .env("MDM__DATABASE_URL", &self.url)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("mdm worker starts");
            self.children.push(child);
        }
        Ok(())
    }

    fn alive(&mut self) -> bool {
        self.children
            .iter_mut()
            .any(|c| matches!(c.try_wait(), Ok(None)))
    }

    fn stop(&mut self) {
        for c in self.children.drain(..) {
            let out = c.wait_with_output().expect("worker exits");
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                println!("[{}] worker: {line}", self.label);
            }
        }
    }
}

/// Runs one reconcile in a child process and returns its seconds.
fn run_child(
    label: &str,
    url: &str,
    full: bool,
    partition: usize,
    workers: usize,
    what: &str,
) -> f64 {
    let exe = std::env::current_exe().expect("own path");
    let spec = format!(
        "{label}|{url}|{}|{partition}|{workers}|{what}",
        u8::from(full)
    );
    let out = std::process::Command::new(exe)
        .env(RUN_ENV, spec)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("start the run's process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{what} failed: {stdout}");
    let mut secs = None;
    for line in stdout.lines() {
        match line.strip_prefix("SECONDS ") {
            Some(v) => secs = v.parse().ok(),
            None => println!("{line}"),
        }
    }
    secs.expect("the run printed its seconds")
}

fn bench(
    label: &str,
    url: &str,
    dir: &Path,
    changes: &[std::path::PathBuf; 2],
    rules: &mdm_core::DomainRules,
) {
    let mut conn = mdm_store::open(url).expect("open");
    let declared: Vec<DeclaredSystem> = ["ERP", "CRM", "MES"]
        .iter()
        .zip(1..)
        .map(|(n, r)| DeclaredSystem {
            name: (*n).into(),
            trust_rank: r,
        })
        .collect();
    mdm_store::systems::sync_declared(&mut conn, &declared).expect("systems");
    let t = Instant::now();
    for sys in ["ERP", "CRM", "MES"] {
        ingest(&mut conn, rules, sys, &dir.join(format!("{sys}.csv")));
    }
    println!("[{label}] ingest {:.1} s", t.elapsed().as_secs_f64());
    let run = |full: bool, what: &str| run_child(label, url, full, 0, 0, what);
    let first = run(false, "first run (train + full)");
    let full = run(true, "full re-match");
    let partition: usize = std::env::var("MDM_BENCH_PARTITION_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if partition > 0 {
        let what = format!("full re-match, partitions of {partition}");
        let secs = run_child(label, url, true, partition, 0, &what);
        println!(
            "[{label}] partitioned / one-pass full re-match = {:.0}%",
            100.0 * secs / full.max(1e-9)
        );
        let workers = std::env::var("MDM_BENCH_WORKERS").unwrap_or_default();
        for w in workers
            .split(',')
            .filter_map(|w| w.trim().parse::<usize>().ok())
        {
            if label != "postgres" || w == 0 {
                continue;
            }
            let what = format!("full re-match, partitions of {partition}, {w} workers");
            let secs = run_child(label, url, true, partition, w, &what);
            println!(
                "[{label}] {w} workers / one-pass full re-match = {:.0}%",
                100.0 * secs / full.max(1e-9)
            );
        }
    }
    if std::env::var("MDM_BENCH_SKIP_CHANGES").is_ok_and(|v| v == "1") {
        return;
    }
    let t = Instant::now();
    ingest(&mut conn, rules, "ERP", &changes[0]);
    println!(
        "[{label}] ingest of the changed records {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let full_changed = run(true, "full re-match after 1%");
    ingest(&mut conn, rules, "ERP", &changes[1]);
    let inc = run(false, "incremental after 1%");
    // Three yardsticks: the full reconcile that built the golden records, a forced full
    // re-match of unchanged data (which finds nothing to write, so it is the cheapest), and
    // a forced full re-match after a change of the same size (the same work to write).
    println!(
        "[{label}] incremental / first full run = {:.1}%, / full re-match of unchanged data = {:.1}%, / full re-match after 1% = {:.1}%",
        100.0 * inc / first.max(1e-9),
        100.0 * inc / full.max(1e-9),
        100.0 * inc / full_changed.max(1e-9)
    );
}

fn print_run(label: &str, what: &str, secs: f64, s: &RunSummary) {
    let c = &s.counts;
    let phases: Vec<String> = s
        .stats
        .timings
        .iter()
        .map(|(p, t)| format!("{p} {t:.1}s"))
        .collect();
    println!(
        "[{label}] {what}: {secs:.1} s  ({} records, {} golden, created {} updated {} merged {} split {}, changed records {}, pairs scored {} of {}, partitions {} (largest {} records); {})",
        c.records,
        s.stats.clusters,
        c.created,
        c.updated,
        c.merged,
        c.split,
        s.stats.dirty_records,
        s.stats.pairs_scored,
        s.stats.candidate_pairs,
        s.stats.partitions,
        s.stats.largest_partition,
        phases.join(", ")
    );
}

fn ingest(
    conn: &mut mdm_store::DbConnection,
    rules: &mdm_core::DomainRules,
    sys: &str,
    file: &Path,
) {
    let system = SystemName::parse(sys).unwrap();
    let mut source = CsvSource::open(file, CsvOptions { delimiter: None }).expect("csv");
    let opts = LoadOptions {
        domain: "customer",
        system: &system,
        snapshot: false,
        chunk_size: mdm_ingest::load::DEFAULT_CHUNK_SIZE,
    };
    mdm_ingest::load(
        conn,
        rules,
        &ColumnMapping::default(),
        &opts,
        &mut source,
        &mut |_| {},
    )
    .expect("load");
}

/// `n` records of ERP.csv with a changed e-mail, spread evenly over the file (every
/// `step`th from `offset`, so two sets with different offsets share no record).
fn write_changes(dir: &Path, n: usize, offset: usize, name: &str) -> std::path::PathBuf {
    let src = dir.join("ERP.csv");
    let total = csv::Reader::from_path(&src).unwrap().records().count();
    let step = (total / n.max(1)).max(2);
    let mut rd = csv::Reader::from_path(&src).unwrap();
    let headers = rd.headers().unwrap().clone();
    let email = headers.iter().position(|h| h == "email").unwrap();
    let out = dir.join(name);
    let mut w = csv::Writer::from_path(&out).unwrap();
    w.write_record(&headers).unwrap();
    let mut written = 0;
    for (i, row) in rd.records().enumerate() {
        if i % step != offset || written == n {
            continue;
        }
        let mut row: Vec<String> = row.unwrap().iter().map(String::from).collect();
        row[email] = format!("changed.{i}@example.org");
        w.write_record(&row).unwrap();
        written += 1;
    }
    w.flush().unwrap();
    out
}

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
