//! Ingest throughput: writes a synthetic customer CSV (1M rows by default) and loads it into
//! a fresh SQLite file and a fresh PostgreSQL database, first load and identical re-load,
//! through the same `mdm_ingest::load` the CLI calls. Prints rows/s and peak memory.
//!
//!     cargo bench --bench ingest                       # 1M rows, SQLite and PostgreSQL
//!     MDM_BENCH_ROWS=100000 cargo bench --bench ingest # smaller
//!     MDM_TEST_PG=skip cargo bench --bench ingest      # SQLite only
//!
//! Memory: the peak resident size is printed after a 10%-size load and after the full one;
//! streaming means the two stay close (the file never sits in memory).

use mdm_core::SystemName;
use mdm_ingest::{ColumnMapping, CsvOptions, CsvSource, LoadOptions};
use mdm_store::testing::TestDb;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// The allocator the `mdm` binary runs with, so the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const GIVEN: [&str; 12] = [
    "Anna", "Bernd", "Clara", "David", "Eva", "Felix", "Greta", "Hans", "Ida", "Jonas", "Karin",
    "Lukas",
];
const FAMILY: [&str; 12] = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
];
const CITY: [&str; 8] = [
    "Berlin",
    "Hamburg",
    "München",
    "Köln",
    "Frankfurt am Main",
    "Stuttgart",
    "Düsseldorf",
    "Leipzig",
];
const STREET: [&str; 6] = [
    "Hauptstraße",
    "Schulstraße",
    "Gartenweg",
    "Bahnhofstraße",
    "Lindenallee",
    "Am Markt",
];

fn main() {
    let rows: u64 = std::env::var("MDM_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let small = dir.path().join("customers_small.csv");
    let full = dir.path().join("customers.csv");
    let t = Instant::now();
    write_csv(&small, rows / 10);
    write_csv(&full, rows);
    let mb = std::fs::metadata(&full).map_or(0, |m| m.len()) / 1_000_000;
    println!(
        "generated {rows} rows ({mb} MB) in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    let mut backends = vec![("sqlite", TestDb::sqlite())];
    if let Some(pg) = TestDb::postgres() {
        backends.push(("postgres", pg));
    } else {
        println!("postgres: skipped (MDM_TEST_PG=skip)");
    }
    for (name, db) in &backends {
        let warmup = TestDb::sqlite();
        let small_db = if *name == "sqlite" { &warmup } else { db };
        run(
            &format!("{name} {:>8} rows first load", rows / 10),
            small_db.url(),
            &small,
        );
        let fresh = if *name == "sqlite" {
            TestDb::sqlite()
        } else {
            TestDb::postgres().expect("pg")
        };
        run(
            &format!("{name} {rows:>8} rows first load"),
            fresh.url(),
            &full,
        );
        run(
            &format!("{name} {rows:>8} rows re-load (unchanged)"),
            fresh.url(),
            &full,
        );
    }
}

fn run(label: &str, url: &str, file: &Path) {
    let rules = mdm_rules::load_domain(None, "customer").expect("shipped rules");
    let system = SystemName::parse("ERP").unwrap();
    let mut conn = mdm_store::open(url).expect("open store");
    let mut source = CsvSource::open(file, CsvOptions::default()).expect("csv");
    let opts = LoadOptions {
        domain: "customer",
        system: &system,
        snapshot: false,
        chunk_size: mdm_ingest::load::DEFAULT_CHUNK_SIZE,
    };
    let t = Instant::now();
    let s = mdm_ingest::load(
        &mut conn,
        &rules,
        &ColumnMapping::default(),
        &opts,
        &mut source,
        &mut |_| {},
    )
    .expect("load");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{label}: {secs:6.1}s  {:>9.0} rows/s  (read {} new {} unchanged {} quarantined {})  peak RSS {} MB",
        s.read as f64 / secs,
        s.read,
        s.new,
        s.unchanged,
        s.quarantined,
        peak_rss_mb()
    );
}

/// Peak resident set size of this process so far (Linux), in MB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// A customer extract like an ERP's: 12 columns, deterministic values.
fn write_csv(path: &Path, rows: u64) {
    let mut w = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(path).expect("create csv"),
    );
    writeln!(w, "source_id,given_name,family_name,birth_date,gender,email,phone,street,house_number,postcode,city,country").unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..rows {
        // xorshift: cheap and reproducible
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (g, f, c, s) = (
            GIVEN[(x % 12) as usize],
            FAMILY[(x >> 8) as usize % 12],
            CITY[(x >> 16) as usize % 8],
            STREET[(x >> 24) as usize % 6],
        );
        let (year, month, day) = (
            1940 + (x >> 32) % 65,
            1 + (x >> 40) % 12,
            1 + (x >> 44) % 28,
        );
        writeln!(
            w,
            "C{i:08},{g},{f},{year}-{month:02}-{day:02},{},{}.{}{}@example.com,+49 30 {:07},{s},{},{:05},{c},DE",
            if x & 1 == 0 { "F" } else { "M" },
            g.to_lowercase(),
            f.to_lowercase(),
            i % 1000,
            (x >> 20) % 10_000_000,
            1 + (x >> 48) % 200,
            10_000 + (x >> 12) % 89_999,
        )
        .unwrap();
    }
    w.flush().unwrap();
}
