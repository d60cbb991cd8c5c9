//! Load test of `mdm serve` with a real HTTP client over loopback (wrk), on SQLite:
//!
//! 1. golden record by ID and xref lookup against 1M golden records (seeded through the
//!    store's write functions, as reconcile writes them);
//! 2. real-time matching (dry run) against golden records made by a real reconcile run of
//!    generated customers.
//!
//! Prints requests/s and latency percentiles as wrk measures them. Needs `wrk` on PATH
//! (`apt-get install wrk`).
//!
//!     cargo bench --bench serve_load
//!     MDM_BENCH_GOLDEN=100000 MDM_BENCH_MATCH_ENTITIES=5000 cargo bench --bench serve_load
//!
//! Other knobs: MDM_BENCH_SECS (10), MDM_BENCH_CONNS (32), MDM_BENCH_MATCH_CONNS (4);
//! MDM_BENCH_LOG sets the server's MDM_LOG (e.g. `mdm_api=debug` shows each real-time
//! match's phase timings) and MDM_BENCH_SERVER_LOG=FILE sends its log to a file.

use mdm_store::golden::GoldenRecord;
use mdm_store::xref::XrefRow;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn golden_id(i: u64) -> String {
    format!("{:08x}-0000-7000-8000-{:012x}", i >> 16, i)
}

const GIVEN: [&str; 8] = [
    "Anna", "Bernd", "Clara", "David", "Eva", "Felix", "Greta", "Hans",
];
const FAMILY: [&str; 8] = [
    "Müller", "Schmidt", "Weber", "Meyer", "Wagner", "Becker", "Koch", "Richter",
];

/// `n` active golden records with one ERP xref entry each.
fn seed_golden(url: &str, n: u64) {
    let started = Instant::now();
    let mut conn = mdm_store::open(url).expect("open");
    mdm_store::systems::ensure_registered(&mut conn, "ERP").unwrap();
    let now = mdm_store::now();
    let chunk = 20_000u64;
    for start in (0..n).step_by(chunk as usize) {
        let end = (start + chunk).min(n);
        let goldens: Vec<GoldenRecord> = (start..end)
            .map(|i| GoldenRecord {
                golden_id: golden_id(i),
                domain: "customer".into(),
                version: 1,
                status: "active".into(),
                attributes: serde_json::json!({
                    "given_name": GIVEN[(i % 8) as usize],
                    "family_name": FAMILY[((i / 8) % 8) as usize],
                    "birth_date": format!("19{:02}-0{}-1{}", i % 100, 1 + i % 9, i % 10),
                    "city": "Berlin",
                    "postcode": format!("{:05}", i % 100_000),
                })
                .to_string(),
                lineage: "{}".into(),
                members: 1,
                run_id: 1,
                created_run_id: 1,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let xref: Vec<XrefRow> = (start..end)
            .map(|i| XrefRow {
                domain: "customer".into(),
                system: "ERP".into(),
                source_id: format!("E{i}"),
                golden_id: golden_id(i),
                staging_id: 1,
                run_id: 1,
                updated_at: now,
            })
            .collect();
        mdm_store::pool::in_transaction(&mut conn, |c| {
            mdm_store::golden::put_records(c, &goldens)?;
            mdm_store::xref::insert(c, &xref)
        })
        .expect("seed");
    }
    println!(
        "seeded {n} golden records and xref entries in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str, dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mdm"))
        .current_dir(dir)
        .args(["--database-url", url, "serve", "--listen", "127.0.0.1:0"])
        .env(
            "MDM_LOG",
            std::env::var("MDM_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(match std::env::var("MDM_BENCH_SERVER_LOG") {
            Ok(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            Err(_) => Stdio::inherit(),
        })
        .spawn()
        .expect("mdm serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().trim_start_matches("listening on ").to_string();
    Server { child, base }
}

/// Runs wrk with a Lua script that picks a random request line from `requests`
/// (`METHOD path [body]`, tab-separated); returns wrk's report.
fn wrk(base: &str, token: &str, requests: &[String], dir: &Path, conns: u64, secs: u64) -> String {
    let list = dir.join("requests.txt");
    std::fs::write(&list, requests.join("\n") + "\n").unwrap();
    let script = dir.join("bench.lua");
    std::fs::write(
        &script,
        format!(
            r#"local reqs = {{}}
for line in io.lines("{list}") do
  local m, p, b = line:match("^(%S+)\t(%S+)\t?(.*)$")
  reqs[#reqs + 1] = {{m, p, b}}
end
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time() + (tonumber(tostring({{}}):sub(8), 16) or 0))
request = function()
  local r = reqs[math.random(#reqs)]
  if r[3] ~= "" then return wrk.format(r[1], r[2], nil, r[3]) end
  return wrk.format(r[1], r[2])
end
"#,
            list = list.display()
        ),
    )
    .unwrap();
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{conns}"),
            &format!("-d{secs}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(base)
        .output()
        .expect("wrk runs (apt-get install wrk)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Requests/s, p50, p99 (ms) and non-2xx count from a wrk report.
fn figures(report: &str) -> (f64, f64, f64, u64) {
    let ms = |s: &str| -> f64 {
        let s = s.trim();
        if let Some(v) = s.strip_suffix("us") {
            v.parse::<f64>().unwrap_or(f64::NAN) / 1000.0
        } else if let Some(v) = s.strip_suffix("ms") {
            v.parse().unwrap_or(f64::NAN)
        } else if let Some(v) = s.strip_suffix('s') {
            v.parse::<f64>().unwrap_or(f64::NAN) * 1000.0
        } else {
            f64::NAN
        }
    };
    let pick = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix).map(str::to_string))
    };
    let rps = pick("Requests/sec:")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let p50 = pick("50%").map_or(f64::NAN, |v| ms(&v));
    let p99 = pick("99%").map_or(f64::NAN, |v| ms(&v));
    let bad = pick("Non-2xx or 3xx responses:")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (rps, p50, p99, bad)
}

fn report(name: &str, text: &str) {
    let (rps, p50, p99, bad) = figures(text);
    println!(
        "{name:<28} {rps:>10.0} req/s   p50 {p50:>7.2} ms   p99 {p99:>7.2} ms   non-2xx {bad}"
    );
    if rps.is_nan() {
        println!("{text}");
    }
}

fn main() {
    let n = env("MDM_BENCH_GOLDEN", 1_000_000);
    let entities = env("MDM_BENCH_MATCH_ENTITIES", 20_000);
    let secs = env("MDM_BENCH_SECS", 10);
    let conns = env("MDM_BENCH_CONNS", 32).max(2);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    seed_golden(&url, n);
    let token = mdm_api::auth::create(
        &mut mdm_store::open(&url).unwrap(),
        mdm_api::auth::Role::Reader,
        None,
        None,
    )
    .unwrap()
    .token;
    let server = serve(&url, dir.path());
    let sample: Vec<u64> = (0..20_000u64).map(|k| (k * 7_919 + 13) % n).collect();
    let golden: Vec<String> = sample
        .iter()
        .map(|&i| format!("GET\t/v1/customer/golden/{}", golden_id(i)))
        .collect();
    let xref: Vec<String> = sample
        .iter()
        .map(|&i| format!("GET\t/v1/customer/xref/ERP/E{i}"))
        .collect();
    println!("wrk -t2 -c{conns} -d{secs}s over loopback, {n} golden records, SQLite:");
    // Warm-up: caches, pool, token.
    wrk(&server.base, &token, &golden, dir.path(), conns, 2);
    report(
        "GET golden by id",
        &wrk(&server.base, &token, &golden, dir.path(), conns, secs),
    );
    report(
        "GET xref",
        &wrk(&server.base, &token, &xref, dir.path(), conns, secs),
    );
    drop(server);

    if entities > 0 {
        bench_match(dir.path(), entities, secs);
    }
}

/// Generated customers in ERP and CRM, ingested and reconciled; matches of CRM records'
/// values (as a new system would send them) against the golden records.
fn bench_match(dir: &Path, entities: u64, secs: u64) {
    let url = format!("sqlite://{}", dir.join("match.db").display());
    let data = dir.join("data");
    let mdm = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mdm"))
            .current_dir(dir)
            .args(["--database-url", &url])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let started = Instant::now();
    mdm(&[
        "generate",
        "--domain",
        "customer",
        "--entities",
        &entities.to_string(),
        "--systems",
        "ERP,CRM",
        "--seed",
        "5",
        "--out",
        data.to_str().unwrap(),
    ]);
    for s in ["ERP", "CRM"] {
        mdm(&[
            "ingest",
            "--domain",
            "customer",
            "--source",
            s,
            data.join(format!("{s}.csv")).to_str().unwrap(),
        ]);
    }
    let rules = mdm_rules::load_domain(None, "customer").unwrap();
    let mut conn = mdm_store::open(&url).unwrap();
    let run = mdm_service::reconcile(
        &mut conn,
        &rules,
        &Default::default(),
        Default::default(),
        &|_, _, _| {},
    )
    .expect("reconcile");
    println!(
        "\nmatch data: {entities} entities, reconciled into {} golden records in {:.1}s",
        run.counts.created,
        started.elapsed().as_secs_f64()
    );
    let token = mdm_api::auth::create(&mut conn, mdm_api::auth::Role::Reader, None, None)
        .unwrap()
        .token;
    let bodies: Vec<String> = mdm_store::staging::live(&mut conn, "customer", Some("CRM"))
        .unwrap()
        .into_iter()
        .take(5_000)
        .map(|v| {
            format!(
                "POST\t/v1/customer/match\t{{\"attributes\":{}}}",
                v.attributes
            )
        })
        .collect();
    let server = serve(&url, dir);
    let conns = env("MDM_BENCH_MATCH_CONNS", 4).max(2);
    let t = Instant::now();
    wrk(&server.base, &token, &bodies[..1], dir, 2, 1);
    println!(
        "match index warm-up (the first request builds it, then 1s of load): {:.1}s",
        t.elapsed().as_secs_f64()
    );
    println!("wrk -t2 -c{conns} -d{secs}s:");
    report(
        "POST match (dry run)",
        &wrk(&server.base, &token, &bodies, dir, conns, secs),
    );
    let _ = std::io::stdout().flush();
}
