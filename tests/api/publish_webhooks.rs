//! Webhook delivery over real HTTP to a real receiver: down for a while (retries, then
//! delivery in order, across a server restart, one success per idempotency key), and always
//! failing (dead letters, then an admin's replay). The receiver checks the Standard Webhooks
//! signature of every delivery with the consumer's secret, as a real one would, and answers
//! 401 when it does not verify.

use crate::helpers::run_err;
use crate::helpers::{backends, Case};
use crate::server::Server;
use mdm_api::webhook_signature::{self, VerifyError, WebhookSecret};
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
    signed_with_the_consumer_secret,
    unsigned_without_a_secret,
);

/// The secret every test configures for ERP (a 32-byte key), unless it tests without one.
const SECRET: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// One request the receiver got: its idempotency key, the event's seq, what it answered,
/// the Standard Webhooks headers and body as received, and whether they verified.
#[derive(Debug, Clone, PartialEq)]
struct Hit {
    key: String,
    seq: i64,
    status: u16,
    webhook_id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    verified: Result<(), VerifyError>,
}

/// A tiny HTTP receiver: answers 401 when a delivery's signature does not verify with
/// `secret` (when set), 500 while `fail_next` > 0 (counting down) or `always_fail` is set,
/// else 200; logs every request.
struct Receiver {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_next: Arc<AtomicU32>,
    always_fail: Arc<AtomicU32>,
    /// When set, every request is answered 307 to this URL.
    redirect_to: Arc<Mutex<Option<String>>>,
    /// Verifies every delivery with this secret (`SECRET` unless changed before `start`).
    secret: Option<WebhookSecret>,
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
            secret: Some(WebhookSecret::parse(SECRET).unwrap()),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Comes up: listens and serves until the test process ends.
    fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("receiver port free");
        let (hits, fail_next, always, redirect, secret) = (
            self.hits.clone(),
            self.fail_next.clone(),
            self.always_fail.clone(),
            self.redirect_to.clone(),
            self.secret.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = std::collections::HashMap::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
                    }
                }
                let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
                let len = header("content-length").parse().unwrap_or(0);
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let seq = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["seq"].as_i64())
                    .unwrap_or(-1);
                let (webhook_id, timestamp, signature) = (
                    header("webhook-id"),
                    header("webhook-timestamp"),
                    header("webhook-signature"),
                );
                let verified = match &secret {
                    Some(s) => webhook_signature::verify(
                        s,
                        &webhook_id,
                        &timestamp,
                        &signature,
                        &body,
                        chrono::Utc::now().timestamp(),
                    ),
                    None => Ok(()),
                };
                let fail = always.load(Ordering::SeqCst) > 0
                    || fail_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                let to = redirect.lock().unwrap().clone();
                let status = if verified.is_err() {
                    401
                } else if to.is_some() {
                    307
                } else if fail {
                    500
                } else {
                    200
                };
                hits.lock().unwrap().push(Hit {
                    key: header("idempotency-key"),
                    seq,
                    status,
                    webhook_id,
                    timestamp,
                    signature,
                    body,
                    verified,
                });
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
            "[consumers.ERP]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{SECRET}\"\n[webhooks]\nmax_attempts = {max_attempts}\ninitial_backoff_ms = 50\nmax_backoff_ms = 200\ntimeout_ms = 2000\npoll_interval_ms = 100\nlease_ms = 4000\nallow_hosts = [\"127.0.0.1\"]\n"
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
        assert_eq!(h.verified, Ok(()), "signed: {h:?}");
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
            "[consumers.ERP]\nwebhook_url = \"{}\"\nwebhook_secret = \"{SECRET}\"\n[webhooks]\ntimeout_ms = 500\npoll_interval_ms = 50\nlease_ms = 1500\nallow_hosts = [\"127.0.0.1\"]\n",
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

/// ERP's webhook to `url` with no secret in the file.
fn config_unsigned(case: &Case, url: &str) {
    case.write(
        "mdm.toml",
        format!(
            "[consumers.ERP]\nwebhook_url = \"{url}\"\n[webhooks]\nmax_attempts = 1000\ninitial_backoff_ms = 50\nmax_backoff_ms = 200\ntimeout_ms = 2000\npoll_interval_ms = 100\nlease_ms = 4000\nallow_hosts = [\"127.0.0.1\"]\n"
        ),
    );
}

/// Issue 21, Standard Webhooks: every attempt is signed over the exact bytes sent, with
/// `webhook-id` the event's idempotency key (the same on each retry); a changed body or
/// another secret does not verify, and a receiver holding another secret refuses the
/// delivery, which is then a failed attempt. The secret comes from the environment here.
fn signed_with_the_consumer_secret(case: &Case) {
    let seqs = events(case, 2);
    let rx = Receiver::reserve();
    rx.fail_next.store(2, Ordering::SeqCst);
    rx.start();
    config_unsigned(case, &rx.url());
    let env = [("MDM__CONSUMERS__ERP__WEBHOOK_SECRET", SECRET)];
    let s = Server::start(case, &env);
    wait_for("delivered", Duration::from_secs(20), || {
        rx.delivered().len() >= seqs.len()
    });
    s.stop();
    let hits = rx.hits();
    assert_eq!(rx.delivered(), seqs, "{hits:?}");
    let first: Vec<&Hit> = hits.iter().filter(|h| h.seq == seqs[0]).collect();
    assert_eq!(first.len(), 3, "two failures, then success: {hits:?}");
    for h in &hits {
        assert_eq!(h.verified, Ok(()), "{h:?}");
        assert_eq!(h.webhook_id, format!("mdm-ERP-{}", h.seq), "{h:?}");
        assert_eq!(h.webhook_id, h.key);
        assert!(h.signature.starts_with("v1,"), "{h:?}");
    }
    // What a receiver checks, on a captured delivery.
    let h = first[2];
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let now: i64 = h.timestamp.parse().unwrap();
    let check = |secret: &WebhookSecret, body: &[u8]| {
        webhook_signature::verify(secret, &h.webhook_id, &h.timestamp, &h.signature, body, now)
    };
    assert_eq!(check(&secret, &h.body), Ok(()));
    let value: serde_json::Value = serde_json::from_slice(&h.body).unwrap();
    let mut changed = value.clone();
    changed["seq"] = json!(value["seq"].as_i64().unwrap() + 1);
    let changed = serde_json::to_vec(&changed).unwrap();
    assert_eq!(check(&secret, &changed), Err(VerifyError::NoMatch));
    // The same JSON, serialized again with other whitespace, is other bytes: parse after
    // verifying, never verify a re-serialization.
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert_eq!(check(&secret, &pretty), Err(VerifyError::NoMatch));
    let other =
        WebhookSecret::parse("whsec_YW5vdGhlciBrZXkgb2YgMjQrIGJ5dGVzLCB3cm9uZyBvbmU=").unwrap();
    assert_eq!(check(&other, &h.body), Err(VerifyError::NoMatch));
    // Signed with another secret: the receiver answers 401 and the attempt is a failure.
    let seqs = more_events(case, 1, "w");
    let wrong = "whsec_YW5vdGhlciBrZXkgb2YgMjQrIGJ5dGVzLCB3cm9uZyBvbmU=";
    let s = Server::start(case, &[("MDM__CONSUMERS__ERP__WEBHOOK_SECRET", wrong)]);
    let last = *seqs.last().unwrap();
    wait_for("refused attempt recorded", Duration::from_secs(20), || {
        mdm_store::deliveries::get(&mut case.conn(), "ERP", last)
            .unwrap()
            .is_some_and(|d| d.last_error.as_deref().unwrap_or("").contains("401"))
    });
    s.stop();
    let refused: Vec<Hit> = rx.hits().into_iter().filter(|h| h.seq == last).collect();
    assert!(
        !refused.is_empty()
            && refused
                .iter()
                .all(|h| h.status == 401 && h.verified == Err(VerifyError::NoMatch)),
        "{refused:?}"
    );
}

/// Without a `webhook_secret`, deliveries go out unsigned (the server warns at start).
fn unsigned_without_a_secret(case: &Case) {
    let seqs = events(case, 1);
    let mut rx = Receiver::reserve();
    rx.secret = None;
    rx.start();
    config_unsigned(case, &rx.url());
    let s = Server::start(case, &[]);
    wait_for("delivered", Duration::from_secs(20), || {
        rx.delivered() == seqs
    });
    s.stop();
    let h = &rx.hits()[0];
    assert!(
        h.webhook_id.is_empty() && h.timestamp.is_empty() && h.signature.is_empty(),
        "{h:?}"
    );
    assert_eq!(h.key, format!("mdm-ERP-{}", seqs[0]));
}

/// A malformed `webhook_secret` stops `mdm serve`, naming the key and the rule, never the
/// value.
#[test]
fn serve_refuses_a_malformed_webhook_secret() {
    let case = Case::sqlite();
    for (secret, why) in [
        ("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "whsec_"),
        ("whsec_not*base64", "base64"),
        ("whsec_c2hvcnQta2V5", "9 bytes"),
    ] {
        case.write(
            "mdm.toml",
            format!("[consumers.ERP]\nwebhook_url = \"http://127.0.0.1:9/hook\"\nwebhook_secret = \"{secret}\"\n[webhooks]\nallow_hosts = [\"127.0.0.1\"]\n"),
        );
        let err = run_err(case.mdm().args(["serve", "--listen", "127.0.0.1:0"]));
        assert!(
            err.contains("[consumers.ERP] webhook_secret refused") && err.contains(why),
            "{secret}: {err}"
        );
        let value = secret.trim_start_matches("whsec_");
        assert!(!err.contains(value), "the secret is shown: {err}");
    }
}
