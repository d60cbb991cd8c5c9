//! Write-back throughput (issue 26): golden IDs and two golden values of 1M source records
//! written into a table of a second PostgreSQL database by the same
//! `mdm_service::writeback::publish` that `mdm publish` runs, then an incremental write-back
//! after 1% of the golden records changed.
//!
//! The hub is seeded directly through the store (one golden record, one ERP xref row and
//! one `created` event per record; for the change, new values and an `updated` event per
//! changed record), because a 1M-record reconcile would be timed here otherwise; what is
//! timed reads the feed, the xref and the golden values exactly as after a real run.
//!
//! ```text
//! cargo bench --bench writeback                          # 1M rows, hub and target on PostgreSQL
//! MDM_BENCH_ROWS=100000 cargo bench --bench writeback    # smaller
//! MDM_BENCH_HUB=sqlite cargo bench --bench writeback     # hub on SQLite, target PostgreSQL
//! MDM_BENCH_BATCH=100000 cargo bench --bench writeback   # events per batch (`batch_events`)
//! ```

use mdm_store::golden::GoldenRecord;
use mdm_store::outbox::NewEvent;
use mdm_store::testing::TestDb;
use mdm_store::writeback::{Ident, OnRemoved, TargetTable};
use mdm_store::xref::XrefRow;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Records written per seeding statement group (keeps the seeding's memory flat).
const SEED_CHUNK: usize = 50_000;

fn main() {
    let rows: usize = std::env::var("MDM_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let hub_db = match std::env::var("MDM_BENCH_HUB").as_deref() {
        Ok("sqlite") => TestDb::sqlite(),
        _ => TestDb::postgres().expect("PostgreSQL (MDM_TEST_PG_URL) for the hub"),
    };
    let target_db = TestDb::postgres().expect("PostgreSQL (MDM_TEST_PG_URL) for the target");
    let mut hub = mdm_store::open(hub_db.url()).expect("hub");
    let t = Instant::now();
    seed(&mut hub, 0..rows, 1, "created");
    // As a full reconcile leaves the hub: its statistics refreshed after the commit.
    mdm_store::matchstate::vacuum_analyze(&mut hub).expect("analyze");
    println!(
        "seeded {rows} golden records, xref rows and events in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let table = TargetTable {
        schema: None,
        table: Ident::parse("erp_golden").unwrap(),
        source_id: Ident::parse("kunnr").unwrap(),
        golden_id: Ident::parse("mdm_id").unwrap(),
        values: vec![
            ("email".into(), Ident::parse("mdm_email").unwrap()),
            ("family_name".into(), Ident::parse("mdm_family").unwrap()),
        ],
    };
    let (mut target, checked) =
        mdm_service::writeback::open_target(target_db.url(), &table, true).expect("target");
    let job = mdm_service::writeback::Job {
        system: "ERP".into(),
        domain: "customer".into(),
        on_removed: OnRemoved::Clear,
        batch_events: std::env::var("MDM_BENCH_BATCH")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(mdm_service::writeback::DEFAULT_BATCH_EVENTS),
    };
    let mut publish = |label: &str| {
        let t = Instant::now();
        let s = mdm_service::writeback::publish(&mut hub, &mut target, &checked, &job, &mut |_| {})
            .expect("publish");
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{label}: {} events, {} rows written in {secs:.2} s ({:.0} rows/s); ms: {:?}",
            s.events,
            s.written,
            s.written as f64 / secs.max(1e-9),
            s.spent_ms
        );
    };
    publish("full write-back (target PostgreSQL, target < 60 s at 1M)");
    publish("re-run, nothing new");

    // 1%: every 100th record gets new values and an `updated` event.
    let mut hub = mdm_store::open(hub_db.url()).expect("hub");
    let changed: Vec<usize> = (0..rows).step_by(100).collect();
    reseed(&mut hub, &changed);
    let mut target2 = mdm_store::writeback::connect_target(target_db.url()).expect("target");
    let t = Instant::now();
    let s = mdm_service::writeback::publish(&mut hub, &mut target2, &checked, &job, &mut |_| {})
        .expect("publish");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "incremental after a 1% change (target < 5 s): {} events, {} rows written in {secs:.2} s",
        s.events, s.written
    );
}

fn record(i: usize, version: i32) -> GoldenRecord {
    let now = mdm_store::now();
    let attributes = serde_json::json!({
        "given_name": "Anna",
        "family_name": format!("Berg{i}"),
        "email": format!("anna.{i}.v{version}@example.com"),
    });
    GoldenRecord {
        golden_id: golden_id(i),
        domain: "customer".into(),
        version,
        status: "active".into(),
        attributes: attributes.to_string(),
        lineage: "{}".into(),
        members: 1,
        run_id: 1,
        created_run_id: 1,
        created_at: now,
        updated_at: now,
    }
}

fn golden_id(i: usize) -> String {
    format!("C{i:09}")
}

fn event(i: usize, kind: &str) -> NewEvent {
    NewEvent {
        domain: "customer".into(),
        golden_id: golden_id(i),
        kind: kind.into(),
        retired_ids: None,
        run_id: Some(1),
        payload: "{}".into(),
        created_at: mdm_store::now(),
    }
}

fn seed(
    hub: &mut mdm_store::DbConnection,
    range: std::ops::Range<usize>,
    version: i32,
    kind: &str,
) {
    let ids: Vec<usize> = range.collect();
    for part in ids.chunks(SEED_CHUNK) {
        let records: Vec<GoldenRecord> = part.iter().map(|&i| record(i, version)).collect();
        mdm_store::golden::put_records(hub, &records).expect("golden records");
        let xref: Vec<XrefRow> = part
            .iter()
            .map(|&i| XrefRow {
                domain: "customer".into(),
                system: "ERP".into(),
                source_id: format!("{}", 100_000_000 + i),
                golden_id: golden_id(i),
                staging_id: i as i64 + 1,
                run_id: 1,
                updated_at: mdm_store::now(),
            })
            .collect();
        mdm_store::xref::insert(hub, &xref).expect("xref");
        let events: Vec<NewEvent> = part.iter().map(|&i| event(i, kind)).collect();
        mdm_store::outbox::insert(hub, &events).expect("events");
    }
}

/// New values and an `updated` event for each of `changed`.
fn reseed(hub: &mut mdm_store::DbConnection, changed: &[usize]) {
    for part in changed.chunks(SEED_CHUNK) {
        let records: Vec<GoldenRecord> = part.iter().map(|&i| record(i, 2)).collect();
        mdm_store::golden::update_records(hub, &records).expect("golden records");
        let events: Vec<NewEvent> = part.iter().map(|&i| event(i, "updated")).collect();
        mdm_store::outbox::insert(hub, &events).expect("events");
    }
}
