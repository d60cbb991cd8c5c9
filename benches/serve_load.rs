//! Load test of `mdm serve` with a real HTTP client over loopback (wrk), on SQLite, against
//! one database of 1M golden records:
//!
//! - generated customers of ERP and CRM (MDM_BENCH_MATCH_ENTITIES, 20k) are ingested and
//!   reconciled by a real run, which trains the match model;
//! - the rest, up to MDM_BENCH_GOLDEN (1M) golden records, are seeded through the store's
//!   write functions as reconcile writes them: one staged MES record, one xref entry and one
//!   golden record each, with varied names, dates, postcodes, e-mails and phones so that
//!   blocking keys spread as they would in real data.
//!
//! Then: golden record by ID, xref lookup, and real-time matching (dry run) of CRM records'
//! values against the whole set. The first match request builds the in-memory match index;
//! its time is printed. Prints requests/s and latency percentiles as wrk measures them
//! (these parts need `wrk` on PATH, `apt-get install wrk`; without it they are skipped).
//! Last, the reconciliation service (what OpenRefine sends): batches of 10 queries, as
//! OpenRefine sends them one after another, by name and e-mail and by name alone; prints
//! each batch's latency percentiles and the time of 1,000 spreadsheet rows.
//!
//!     cargo bench --bench serve_load
//!     MDM_BENCH_GOLDEN=100000 MDM_BENCH_MATCH_ENTITIES=5000 cargo bench --bench serve_load
//!
//! Other knobs: MDM_BENCH_SECS (10), MDM_BENCH_CONNS (32), MDM_BENCH_MATCH_CONNS (4);
//! MDM_BENCH_DIR=DIR keeps the database in DIR and reuses it on the next run (seeding 1M
//! records takes minutes; delete DIR after changing the schema or the seed);
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

const GIVEN: [&str; 24] = [
    "Anna", "Bernd", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas", "Karin",
    "Lukas", "Maria", "Niklas", "Olga", "Paul", "Rita", "Stefan", "Tanja", "Uwe", "Vera", "Walter",
    "Yvonne", "Zoe",
];
const FAMILY: [&str; 40] = [
    "Müller",
    "Schmidt",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Krause",
    "Lehmann",
    "Köhler",
    "Maier",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Berger",
];
const CITY: [&str; 8] = [
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Frankfurt",
    "Stuttgart",
    "Leipzig",
    "Dresden",
];

/// A well-mixed 64-bit value of `i` (splitmix64), so that fields do not move in lockstep.
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Seeded customer `i`: values spread like real ones (a birth date among ~27k days, a
/// name among ~1k combinations, a postcode among 90k).
fn seeded_attributes(i: u64) -> serde_json::Value {
    let given = GIVEN[(mix(i, 1) % GIVEN.len() as u64) as usize];
    let family = FAMILY[(mix(i, 2) % FAMILY.len() as u64) as usize];
    let birth = chrono::NaiveDate::from_ymd_opt(1930, 1, 1).unwrap()
        + chrono::Days::new(mix(i, 3) % 27_000);
    serde_json::json!({
        "given_name": given,
        "family_name": family,
        "birth_date": birth.format("%Y-%m-%d").to_string(),
        "email": format!("{}.{}{}@example.com", given.to_lowercase(), i, mix(i, 4) % 100),
        "phone": format!("+49 30 {:08}", mix(i, 5) % 100_000_000),
        "street": format!("Hauptstraße {}", 1 + mix(i, 6) % 200),
        "city": CITY[(mix(i, 7) % CITY.len() as u64) as usize],
        "postcode": format!("{:05}", 10_000 + mix(i, 8) % 90_000),
        "country": "DE",
    })
}

/// `n` active golden records, each with one staged MES record (source id `M<i>`) and its
/// xref entry, written as reconcile writes them.
fn seed_golden(url: &str, n: u64) {
    let started = Instant::now();
    let mut conn = mdm_store::open(url).expect("open");
    mdm_store::systems::ensure_registered(&mut conn, "MES").unwrap();
    let batch = mdm_store::batches::start(&mut conn, "customer", "MES", "serve_load", false)
        .expect("batch");
    let now = mdm_store::now();
    let chunk = 20_000u64;
    for start in (0..n).step_by(chunk as usize) {
        let end = (start + chunk).min(n);
        let attrs: Vec<String> = (start..end)
            .map(|i| seeded_attributes(i).to_string())
            .collect();
        let staged: Vec<mdm_store::staging::NewVersion> = (start..end)
            .zip(&attrs)
            .map(|(i, a)| mdm_store::staging::NewVersion {
                domain: "customer",
                system: "MES",
                source_id: format!("M{i}"),
                version: 1,
                status: "current",
                attributes: a.clone(),
                content_hash: format!("{:016x}", mix(i, 9)),
                batch_id: batch,
                loaded_at: now,
                seen_batch_id: batch,
            })
            .collect();
        let goldens: Vec<GoldenRecord> = (start..end)
            .zip(attrs)
            .map(|(i, attributes)| GoldenRecord {
                golden_id: golden_id(i),
                domain: "customer".into(),
                version: 1,
                status: "active".into(),
                attributes,
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
                system: "MES".into(),
                source_id: format!("M{i}"),
                golden_id: golden_id(i),
                staging_id: 1,
                run_id: 1,
                updated_at: now,
            })
            .collect();
        mdm_store::pool::in_transaction(&mut conn, |c| {
            mdm_store::staging::insert_versions(c, &staged)?;
            mdm_store::golden::put_records(c, &goldens)?;
            mdm_store::xref::insert(c, &xref)
        })
        .expect("seed");
    }
    println!(
        "seeded {n} golden records with staged records and xref entries in {:.1}s",
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
    let entities = env("MDM_BENCH_MATCH_ENTITIES", 20_000).max(100);
    let secs = env("MDM_BENCH_SECS", 10);
    let conns = env("MDM_BENCH_CONNS", 32).max(2);
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var("MDM_BENCH_DIR").map_or(temp.path().to_path_buf(), Into::into);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("bench.db");
    let url = format!("sqlite://{}", db.display());
    let reuse = db.exists();
    let reconciled = if reuse {
        println!("reusing {}", db.display());
        count_reconciled(&url)
    } else {
        reconcile_generated(&url, &dir, entities)
    };
    let seeded = n.saturating_sub(reconciled).max(1);
    if !reuse {
        seed_golden(&url, seeded);
    }
    let bodies = match_bodies(&url);
    let dir = dir.as_path();
    let token = mdm_api::auth::create(
        &mut mdm_store::open(&url).unwrap(),
        mdm_api::auth::Role::Reader,
        None,
        None,
    )
    .unwrap()
    .token;
    // Read the database file once, so the figures measure the server and not a cold disk
    // (a server that has run for a while has its hot pages in the OS cache).
    std::io::copy(&mut std::fs::File::open(&db).unwrap(), &mut std::io::sink()).unwrap();
    let server = serve(&url, dir);
    let sample: Vec<u64> = (0..20_000u64).map(|k| (k * 7_919 + 13) % seeded).collect();
    let golden: Vec<String> = sample
        .iter()
        .map(|&i| format!("GET\t/v1/customer/golden/{}", golden_id(i)))
        .collect();
    let xref: Vec<String> = sample
        .iter()
        .map(|&i| format!("GET\t/v1/customer/xref/MES/M{i}"))
        .collect();
    let total = reconciled + seeded;
    if have_wrk() {
        println!("wrk -t2 -c{conns} -d{secs}s over loopback, {total} golden records, SQLite:");
        // Each endpoint is warmed up first: page caches, pool, token.
        for (name, requests) in [("GET golden by id", &golden), ("GET xref", &xref)] {
            wrk(&server.base, &token, requests, dir, conns, 2);
            report(name, &wrk(&server.base, &token, requests, dir, conns, secs));
        }
        bench_match(&server, &token, &bodies, dir, secs);
    } else {
        println!("wrk is not on PATH: golden, xref and match load skipped");
    }
    bench_reconciliation(&server, &token, &url, total);
}

fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The reconciliation service as OpenRefine uses it: batches of 10 queries posted one
/// after another. Queries come from CRM records (name and e-mail; then the name alone, as
/// a spreadsheet of names would ask). The first batch, timed alone, builds the index.
fn bench_reconciliation(server: &Server, token: &str, url: &str, total: u64) {
    let mut conn = mdm_store::open(url).unwrap();
    let people: Vec<(String, Option<String>)> =
        mdm_store::staging::live(&mut conn, "customer", Some("CRM"))
            .unwrap()
            .into_iter()
            .filter_map(|v| {
                let a: serde_json::Value = serde_json::from_str(&v.attributes).ok()?;
                let text = |k: &str| a[k].as_str().map(str::to_string);
                let name = match (text("given_name"), text("family_name")) {
                    (Some(g), Some(f)) => format!("{g} {f}"),
                    _ => text("full_name").or_else(|| text("organization_name"))?,
                };
                Some((name, text("email")))
            })
            .take(2_000)
            .collect();
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(1800))
        .build()
        .unwrap();
    let post = |batch: &serde_json::Value| {
        let t = Instant::now();
        let res = client
            .post(format!("{}/reconcile/customer", server.base))
            .bearer_auth(token)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("queries={}", urlencode(&batch.to_string())))
            .send()
            .expect("reconciliation batch");
        assert!(res.status().is_success(), "reconcile: {}", res.status());
        let _ = res.bytes();
        t.elapsed().as_secs_f64() * 1000.0
    };
    let batch = |rows: &[(String, Option<String>)], with_email: bool| {
        let mut b = serde_json::Map::new();
        for (i, (name, email)) in rows.iter().enumerate() {
            let mut q = serde_json::json!({"query": name, "limit": 3});
            if let (true, Some(e)) = (with_email, email) {
                q["properties"] = serde_json::json!([{"pid": "email", "v": e}]);
            }
            b.insert(format!("q{i}"), q);
        }
        serde_json::Value::Object(b)
    };
    println!(
        "reconciliation index build (the first batch): {:.1}s",
        post(&batch(&people[..10], true)) / 1000.0
    );
    println!("reconciliation, batches of 10 queries one after another, {total} golden records:");
    for (name, with_email) in [("name + e-mail", true), ("name only", false)] {
        let t = Instant::now();
        let mut ms: Vec<f64> = people
            .chunks(10)
            .take(100)
            .map(|rows| post(&batch(rows, with_email)))
            .collect();
        let rows = ms.len() * 10;
        let secs = t.elapsed().as_secs_f64();
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| ms[((ms.len() as f64 * p) as usize).min(ms.len() - 1)];
        println!(
            "  {name:<14} batch p50 {:>6.1} ms  p99 {:>6.1} ms   {rows} rows in {secs:.2}s",
            pct(0.50),
            pct(0.99)
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Generated customers in ERP and CRM, ingested and reconciled (this trains the model):
/// the number of golden records made.
fn reconcile_generated(url: &str, dir: &Path, entities: u64) -> u64 {
    let data = dir.join("data");
    let mdm = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mdm"))
            .current_dir(dir)
            .args(["--database-url", url])
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
    let mut conn = mdm_store::open(url).unwrap();
    let run = mdm_service::reconcile(
        &mut conn,
        &rules,
        &Default::default(),
        Default::default(),
        &|_, _, _| {},
    )
    .expect("reconcile");
    println!(
        "match model: {entities} generated entities reconciled into {} golden records in {:.1}s",
        run.counts.created,
        started.elapsed().as_secs_f64()
    );
    run.counts.created as u64
}

/// Golden records made by the reconcile run of a reused database.
fn count_reconciled(url: &str) -> u64 {
    let mut conn = mdm_store::open(url).unwrap();
    mdm_store::runs::latest(&mut conn, Some("customer"), Some("completed"))
        .unwrap()
        .expect("a completed run in the reused database")
        .n_created as u64
}

/// Match request lines built from CRM records' values (as a new system would send them).
fn match_bodies(url: &str) -> Vec<String> {
    let mut conn = mdm_store::open(url).unwrap();
    mdm_store::staging::live(&mut conn, "customer", Some("CRM"))
        .unwrap()
        .into_iter()
        .take(5_000)
        .map(|v| {
            format!(
                "POST\t/v1/customer/match\t{{\"attributes\":{}}}",
                v.attributes
            )
        })
        .collect()
}

/// Real-time matching (dry run) against every golden record: the first request, timed
/// alone, builds the match index.
fn bench_match(server: &Server, token: &str, bodies: &[String], dir: &Path, secs: u64) {
    let first = bodies[0].splitn(3, '\t').nth(2).unwrap().to_string();
    let t = Instant::now();
    let res = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(1800))
        .build()
        .unwrap()
        .post(format!("{}/v1/customer/match", server.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(first)
        .send()
        .expect("first match request");
    assert!(res.status().is_success(), "first match: {}", res.status());
    println!(
        "match index build (the first match request): {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let conns = env("MDM_BENCH_MATCH_CONNS", 4).max(2);
    // Warm-up: the scoring path's caches.
    wrk(&server.base, token, bodies, dir, conns, 2);
    println!("wrk -t2 -c{conns} -d{secs}s:");
    report(
        "POST match (dry run)",
        &wrk(&server.base, token, bodies, dir, conns, secs),
    );
    let _ = std::io::stdout().flush();
}
