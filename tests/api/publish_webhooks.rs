//! Webhook delivery over real HTTP to a real receiver: down for a while (retries, then
//! delivery in order, across a server restart, one success per idempotency key), and always
//! failing (dead letters, then an admin's replay).

use crate::helpers::{backends, Case};
use crate::server::Server;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

backends!(
    retries_until_the_receiver_is_back,
    dead_letters_and_replay,
    two_servers_deliver_each_event_once,
    redirects_are_not_followed,
    refused_target_gets_nothing,
);

/// One request the receiver got: its idempotency key, the event's seq, what it answered.
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    key: String,
    seq: i64,
    status: u16,
}

/// A tiny HTTP receiver: answers 500 while `fail_next` > 0 (counting down) or `always_fail`
/// is set, else 200; logs every request.
struct Receiver {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_next: Arc<AtomicU32>,
    always_fail: Arc<AtomicU32>,
    /// When set, every request is answered 307 to this URL.
    redirect_to: Arc<Mutex<Option<String>>>,
}

impl Receiver {
    /// A receiver on a free port that is not listening yet ("down").
    fn reserve() -> Receiver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Receiver {
            port,
            hits: Arc::default(),
            fail_next: Arc::default(),
            always_fail: Arc::default(),
            redirect_to: Arc::default(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Comes up: listens and serves until the test process ends.
    fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("receiver port free");
        let (hits, fail_next, always, redirect) = (
            self.hits.clone(),
            self.fail_next.clone(),
            self.always_fail.clone(),
            self.redirect_to.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut len, mut key) = (0usize, String::new());
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if lower.starts_with("idempotency-key:") {
                        key = line["idempotency-key:".len()..].trim().to_string();
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let seq = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["seq"].as_i64())
                    .unwrap_or(-1);
                let fail = always.load(Ordering::SeqCst) > 0
                    || fail_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                let to = redirect.lock().unwrap().clone();
                let status = if to.is_some() {
                    307
                } else if fail {
                    500
                } else {
                    200
                };
                hits.lock().unwrap().push(Hit { key, seq, status });
                let location = to.map(|u| format!("location: {u}\r\n")).unwrap_or_default();
                let mut s = stream;
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\n{location}content-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<i64> {
        self.hits()
            .into_iter()
            .filter(|h| h.status == 200)
            .map(|h| h.seq)
            .collect()
    }
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `n` change events (the first ones of the feed); returns their seqs.
/// ERP's delivery of event `seq`, once it is dead-lettered.
fn dead_lettered(case: &Case, seq: i64) -> mdm_store::deliveries::Delivery {
    let get = || mdm_store::deliveries::get(&mut case.conn(), "ERP", seq).unwrap();
    wait_for("dead-lettered", Duration::from_secs(30), || {
        get().is_some_and(|d| d.status == "dead")
    });
    get().unwrap()
}

fn events(case: &Case, n: usize) -> Vec<i64> {
    mdm_store::systems::ensure_registered(&mut case.conn(), "ERP").unwrap();
    more_events(case, n, "g")
}

/// `n` more change events; returns every seq so far.
fn more_events(case: &Case, n: usize, tag: &str) -> Vec<i64> {
    let mut c = case.conn();
    let rows: Vec<_> = (0..n)
        .map(|i| mdm_store::outbox::NewEvent {
            domain: "customer".into(),
            golden_id: format!("{tag}{i}"),
            kind: "created".into(),
            retired_ids: None,
            run_id: Some(1),
            payload: json!({"n": i}).to_string(),
            created_at: mdm_store::now(),
        })
        .collect();
    mdm_store::outbox::insert(&mut c, &rows).unwrap();
    mdm_store::outbox::after(&mut c, 0, 1000)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect()
}

fn config(case: &Case, url: &str, max_attempts: u32) {
    case.write(
        "mdm.toml",
        format!(
            "[consumers.ERP]\nwebhook_url = \"{url}\"\n[webhooks]\nmax_attempts = {max_attempts}\ninitial_backoff_ms = 50\nmax_backoff_ms = 200\ntimeout_ms = 2000\npoll_interval_ms = 100\nlease_ms = 4000\nallow_hosts = [\"127.0.0.1\"]\n"
        ),
    );
}

fn retries_until_the_receiver_is_back(case: &Case) {
    let seqs = events(case, 4);
    let rx = Receiver::reserve();
    config(case, &rx.url(), 1000);
    let s = Server::start(case, &[]);
    // The receiver is down: attempts fail and are recorded; nothing moves on.
    let admin = case.token("admin", None);
    wait_for("failed attempts recorded", Duration::from_secs(20), || {
        let c = s.get("/v1/admin/consumers", Some(&admin)).ok();
        let erp = c
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["consumer"] == "ERP")
            .cloned()
            .unwrap();
        erp["webhook_seq"] == 0
            && mdm_store::deliveries::get(&mut case.conn(), "ERP", seqs[0])
                .unwrap()
                .is_some_and(|d| d.attempts >= 3)
    });
    // A restart keeps the attempt count: the retry state is in the database.
    s.stop();
    let before = mdm_store::deliveries::get(&mut case.conn(), "ERP", seqs[0])
        .unwrap()
        .unwrap();
    assert_eq!(before.status, "retrying");
    let s = Server::start(case, &[]);
    // It comes back, but answers 500 twice more before it is healthy.
    rx.fail_next.store(2, Ordering::SeqCst);
    rx.start();
    wait_for("all delivered", Duration::from_secs(30), || {
        rx.delivered().len() >= seqs.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.delivered(), seqs, "in order, each once: {:?}", rx.hits());
    for h in rx.hits() {
        assert_eq!(
            h.key,
            format!("mdm-ERP-{}", h.seq),
            "one key per event, on every try"
        );
    }
    assert!(rx
        .hits()
        .iter()
        .filter(|h| h.status == 500)
        .all(|h| h.seq == seqs[0]));
    assert!(mdm_store::deliveries::get(&mut case.conn(), "ERP", seqs[0])
        .unwrap()
        .is_none());
    let metrics = s.get("/metrics", None).body;
    assert!(
        metrics.contains("mdm_webhook_delivered_total{consumer=\"ERP\"} 4"),
        "{metrics}"
    );
}

fn dead_letters_and_replay(case: &Case) {
    let seqs = events(case, 3);
    let rx = Receiver::reserve();
    rx.always_fail.store(1, Ordering::SeqCst);
    rx.start();
    config(case, &rx.url(), 2);
    let s = Server::start(case, &[]);
    let admin = case.token("admin", None);
    let dead = || {
        s.get("/v1/admin/consumers/ERP/dead-letters", Some(&admin))
            .ok()
    };
    wait_for("all dead", Duration::from_secs(30), || {
        dead().as_array().unwrap().len() == seqs.len()
    });
    let d = dead();
    assert!(
        d.as_array()
            .unwrap()
            .iter()
            .all(|x| x["attempts"] == 2 && x["status"] == "dead"),
        "{d}"
    );
    assert_eq!(
        rx.hits().len(),
        2 * seqs.len(),
        "exactly max_attempts tries each"
    );
    // Only an admin may replay; replaying an event that is not dead is a 404.
    let reader = case.token("reader", None);
    s.post_json(
        "/v1/admin/consumers/ERP/dead-letters/replay",
        Some(&reader),
        &json!({}),
    )
    .problem(403, "forbidden");
    s.post_json(
        "/v1/admin/consumers/ERP/dead-letters/replay?seq=999",
        Some(&admin),
        &json!({}),
    )
    .problem(404, "dead_letter_not_found");
    // The receiver is fixed; a replay delivers every dead event.
    rx.always_fail.store(0, Ordering::SeqCst);
    let r = s
        .post_json(
            "/v1/admin/consumers/ERP/dead-letters/replay",
            Some(&admin),
            &json!({}),
        )
        .ok();
    assert_eq!(r["replayed"], seqs.len());
    wait_for("replayed", Duration::from_secs(20), || {
        rx.delivered().len() == seqs.len()
    });
    assert_eq!(rx.delivered(), seqs);
    wait_for("dead letters cleared", Duration::from_secs(5), || {
        dead().as_array().unwrap().is_empty()
    });
    // New events flow again after the dead ones.
    let more = events(case, 1);
    wait_for("new event", Duration::from_secs(20), || {
        rx.delivered().len() == seqs.len() + 1
    });
    assert_eq!(rx.delivered().last(), more.last());
}

/// With `[nats]`, every event also lands in a JetStream stream, once, in order, with the
/// xref of every system; after a restart the publisher resumes without re-publishing.
/// `MDM_TEST_NATS=skip` skips it where no NATS server runs.
#[test]
fn events_published_to_nats_jetstream() {
    // NATS with JetStream must run at 127.0.0.1:4222 unless skipped on purpose.
    if std::env::var("MDM_TEST_NATS").is_ok_and(|v| v.eq_ignore_ascii_case("skip")) {
        return;
    }
    let case = Case::sqlite();
    let seqs = events(&case, 3);
    let unique = mdm_store::testing::unique_name().to_uppercase();
    let (stream, prefix) = (format!("MDMTEST_{unique}"), format!("mdmtest.{unique}"));
    case.write(
        "mdm.toml",
        format!("[nats]\nurl = \"nats://127.0.0.1:4222\"\nstream = \"{stream}\"\nsubject_prefix = \"{prefix}\"\n[webhooks]\npoll_interval_ms = 100\n"),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut nats = rt
        .block_on(mdm_api::nats::Nats::connect("nats://127.0.0.1:4222"))
        .expect("NATS at 127.0.0.1:4222");
    let info = |nats: &mut mdm_api::nats::Nats| {
        rt.block_on(nats.api(&format!("$JS.API.STREAM.INFO.{stream}"), &json!({})))
            .map(|v| v["state"]["messages"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    let s = Server::start(&case, &[]);
    wait_for("published", Duration::from_secs(20), || {
        info(&mut nats) == 3
    });
    s.stop();
    events(&case, 1);
    let _s = Server::start(&case, &[]);
    wait_for("resumed", Duration::from_secs(20), || info(&mut nats) == 4);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(info(&mut nats), 4, "nothing published twice");
    let first = rt
        .block_on(nats.api(
            &format!("$JS.API.STREAM.MSG.GET.{stream}"),
            &json!({"seq": 1}),
        ))
        .unwrap();
    assert_eq!(
        first["message"]["subject"],
        format!("{prefix}.customer.created")
    );
    let _ = rt.block_on(nats.api(&format!("$JS.API.STREAM.DELETE.{stream}"), &json!({})));
    assert_eq!(seqs.len(), 3);
}

/// Two servers on one database: only the lease holder delivers, so each event arrives once;
/// when the holder dies, the other takes over after the lease runs out.
fn two_servers_deliver_each_event_once(case: &Case) {
    let rx = Receiver::reserve();
    rx.start();
    case.write(
        "mdm.toml",
        format!(
            "[consumers.ERP]\nwebhook_url = \"{}\"\n[webhooks]\ntimeout_ms = 500\npoll_interval_ms = 50\nlease_ms = 1500\nallow_hosts = [\"127.0.0.1\"]\n",
            rx.url()
        ),
    );
    let seqs = events(case, 3);
    let first = Server::start(case, &[]);
    wait_for("first batch", Duration::from_secs(20), || {
        rx.delivered().len() >= seqs.len()
    });
    // A second server comes up while the first holds the lease.
    let second = Server::start(case, &[]);
    let seqs = more_events(case, 20, "b");
    wait_for("second batch", Duration::from_secs(20), || {
        rx.delivered().len() >= seqs.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.delivered(), seqs, "each once, in order: {:?}", rx.hits());
    // The holder dies: the other server delivers what comes next, once the lease expires.
    first.stop();
    let seqs = more_events(case, 5, "c");
    wait_for("after takeover", Duration::from_secs(20), || {
        rx.delivered().len() >= seqs.len()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(rx.delivered(), seqs, "each once, in order: {:?}", rx.hits());
    drop(second);
}

/// Issue 21: a receiver answering 307 to another listener does not get the event delivered
/// there; the 3xx is a failed attempt.
fn redirects_are_not_followed(case: &Case) {
    let seqs = events(case, 1);
    let second = Receiver::reserve();
    second.start();
    let first = Receiver::reserve();
    *first.redirect_to.lock().unwrap() = Some(second.url());
    first.start();
    config(case, &first.url(), 2);
    let s = Server::start(case, &[]);
    let d = dead_lettered(case, seqs[0]);
    assert!(
        d.last_error.as_deref().unwrap_or("").contains("307"),
        "{d:?}"
    );
    assert!(first.hits().iter().all(|h| h.status == 307) && !first.hits().is_empty());
    assert!(second.hits().is_empty(), "followed: {:?}", second.hits());
    s.stop();
}

/// A name that resolves to loopback, not in webhooks.allow_hosts: every attempt fails with
/// the reason, and the listener behind it gets nothing.
fn refused_target_gets_nothing(case: &Case) {
    let seqs = events(case, 1);
    let rx = Receiver::reserve();
    rx.start();
    let url = format!("http://localhost:{}/hook", rx.port);
    case.write(
        "mdm.toml",
        format!(
            "[consumers.ERP]\nwebhook_url = \"{url}\"\n[webhooks]\nmax_attempts = 2\ninitial_backoff_ms = 50\nmax_backoff_ms = 100\ntimeout_ms = 2000\npoll_interval_ms = 100\nlease_ms = 4000\n"
        ),
    );
    let s = Server::start(case, &[]);
    let d = dead_lettered(case, seqs[0]);
    let e = d.last_error.unwrap_or_default();
    assert!(
        e.contains("loopback") && e.contains("webhooks.allow_hosts"),
        "{e}"
    );
    assert!(rx.hits().is_empty(), "{:?}", rx.hits());
    s.stop();
}
