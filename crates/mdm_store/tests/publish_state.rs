//! The publish side's state on both backends: feed cursors only move forward, webhook
//! delivery rows go retrying -> dead -> replay -> gone, and a feed read never skips an event
//! whose transaction is still open (PostgreSQL assigns seq before commit).

use mdm_store::deliveries::{self, DeliveryStatus};
use mdm_store::outbox::NewEvent;
use mdm_store::testing::TestDb;
use mdm_store::{cursors, feed, DbConnection};
use std::time::{Duration, Instant};

fn event(n: usize) -> NewEvent {
    NewEvent {
        domain: "customer".into(),
        golden_id: format!("g{n}"),
        kind: "created".into(),
        retired_ids: None,
        run_id: None,
        payload: "{}".into(),
        created_at: mdm_store::now(),
    }
}

fn cursors_and_deliveries(db: &TestDb) {
    let mut c = mdm_store::open(db.url()).unwrap();
    assert_eq!(cursors::get(&mut c, "ERP").unwrap().acked_seq, 0);
    assert_eq!(cursors::ack(&mut c, "ERP", 5).unwrap(), 5);
    assert_eq!(cursors::ack(&mut c, "ERP", 3).unwrap(), 5, "never back");
    cursors::advance_webhook(&mut c, "ERP", 2).unwrap();
    cursors::advance_webhook(&mut c, "ERP", 1).unwrap();
    assert_eq!(cursors::get(&mut c, "ERP").unwrap().webhook_seq, 2);

    let t = mdm_store::now();
    deliveries::record_failure(&mut c, "ERP", 3, DeliveryStatus::Retrying, 1, "HTTP 500", t)
        .unwrap();
    deliveries::record_failure(&mut c, "ERP", 3, DeliveryStatus::Retrying, 2, "HTTP 500", t)
        .unwrap();
    let d = deliveries::get(&mut c, "ERP", 3).unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.attempts), ("retrying", 2));
    assert_eq!(
        cursors::get(&mut c, "ERP").unwrap().webhook_seq,
        2,
        "retrying holds the queue"
    );
    deliveries::record_failure(&mut c, "ERP", 3, DeliveryStatus::Dead, 3, "HTTP 500", t).unwrap();
    assert_eq!(
        cursors::get(&mut c, "ERP").unwrap().webhook_seq,
        3,
        "dead moves on"
    );
    assert_eq!(
        deliveries::list(&mut c, "ERP", DeliveryStatus::Dead, 10)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(deliveries::replay(&mut c, "ERP", Some(99)).unwrap(), 0);
    assert_eq!(deliveries::replay(&mut c, "ERP", None).unwrap(), 1);
    let d = deliveries::get(&mut c, "ERP", 3).unwrap().unwrap();
    assert_eq!((d.status.as_str(), d.attempts), ("replay", 0));
    deliveries::remove(&mut c, "ERP", 3).unwrap();
    assert!(deliveries::get(&mut c, "ERP", 3).unwrap().is_none());
    deliveries::delivered(&mut c, "ERP", 4).unwrap();
    assert_eq!(cursors::get(&mut c, "ERP").unwrap().webhook_seq, 4);
}

#[test]
fn cursors_and_deliveries_sqlite() {
    cursors_and_deliveries(&TestDb::sqlite());
}

#[test]
fn cursors_and_deliveries_postgres() {
    if let Some(db) = TestDb::postgres() {
        cursors_and_deliveries(&db);
    }
}

/// A writer inserts an event and holds its transaction open; a feed read started meanwhile
/// waits for it and then sees the event, instead of reading past it.
#[test]
fn feed_read_waits_for_open_writers_postgres() {
    let Some(db) = TestDb::postgres() else {
        return;
    };
    let mut writer = mdm_store::open(db.url()).unwrap();
    mdm_store::outbox::insert(&mut writer, &[event(1)]).unwrap();
    let url = db.url().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut w = mdm_store::open(&url).unwrap();
        mdm_store::pool::in_transaction(&mut w, |c: &mut DbConnection| {
            mdm_store::outbox::insert(c, &[event(2)])?;
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(700));
            Ok::<_, mdm_store::StoreError>(())
        })
        .unwrap();
    });
    rx.recv().unwrap();
    let started = Instant::now();
    let mut reader = mdm_store::open(db.url()).unwrap();
    let events = feed::events_after(&mut reader, 0, 100).unwrap();
    let waited = started.elapsed();
    holder.join().unwrap();
    assert_eq!(events.len(), 2, "the open writer's event is not skipped");
    assert!(waited >= Duration::from_millis(300), "waited {waited:?}");
    assert!(events[0].seq < events[1].seq);
    assert_eq!(feed::latest_seq(&mut reader).unwrap(), events[1].seq);
}

/// A large load leaves the staging table analyzed on PostgreSQL (a small one does not pay
/// for it): the next run's keyset pages are planned on statistics, not on none.
#[test]
fn a_large_load_refreshes_the_staging_statistics() {
    use diesel::prelude::*;
    use diesel::sql_types::{Nullable, Timestamp};
    #[derive(QueryableByName)]
    struct Analyzed {
        #[diesel(sql_type = Nullable<Timestamp>)]
        last_analyze: Option<chrono::NaiveDateTime>,
    }
    let Some(db) = TestDb::postgres() else { return };
    let mut c = mdm_store::open(db.url()).unwrap();
    let analyzed = |c: &mut DbConnection| {
        let DbConnection::Pg(pg) = c else {
            unreachable!()
        };
        diesel::sql_query(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'staging_records'",
        )
        .get_result::<Analyzed>(pg)
        .unwrap()
        .last_analyze
    };
    let rows = mdm_store::staging::ANALYZE_AFTER_ROWS;
    mdm_store::staging::analyze_after_load(&mut c, rows - 1).unwrap();
    assert_eq!(
        analyzed(&mut c),
        None,
        "a small load leaves it to autovacuum"
    );
    mdm_store::staging::analyze_after_load(&mut c, rows).unwrap();
    // The statistics collector reports a moment later.
    let t = Instant::now();
    while analyzed(&mut c).is_none() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(analyzed(&mut c).is_some(), "analyzed after a large load");
}

/// A load refreshes the statistics while it writes, after `ANALYZE_AFTER_ROWS` rows and then
/// each time its rows have doubled (a system the statistics had not seen was planned as a
/// scan of all its rows per chunk lookup); SQLite has nothing to refresh.
#[test]
fn a_long_load_refreshes_the_statistics_as_it_grows() {
    use mdm_store::staging::{AnalyzeDuringLoad, ANALYZE_AFTER_ROWS as N};
    let Some(db) = TestDb::postgres() else { return };
    let mut c = mdm_store::open(db.url()).unwrap();
    let mut a = AnalyzeDuringLoad::default();
    let due: Vec<bool> = [
        N / 2,
        N - 1,
        N,
        N + 1,
        2 * N - 1,
        2 * N + 5,
        3 * N,
        4 * N + 10,
    ]
    .into_iter()
    .map(|w| a.note(&mut c, w).unwrap())
    .collect();
    assert_eq!(due, [false, false, true, false, false, true, false, true]);
    let sqlite = TestDb::sqlite();
    let mut s = mdm_store::open(sqlite.url()).unwrap();
    assert!(!AnalyzeDuringLoad::default().note(&mut s, 10 * N).unwrap());
}
