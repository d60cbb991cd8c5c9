//! Per-token rate limits on writes (issue 21): `server.writes_per_second` and
//! `server.write_burst`; a write beyond the burst is answered 429 `rate_limited` with
//! `Retry-After` and writes nothing; other tokens and reads are not affected.

use crate::helpers::{backends, Case};
use crate::server::Server;
use serde_json::json;
use std::time::{Duration, Instant};

backends!(burst_then_429_with_retry_after);

const BURST: usize = 3;

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

fn push(s: &Server, token: &str, id: &str) -> Answer {
    let r = s
        .client()
        .post(s.url("/v1/customer/records/WEB"))
        .bearer_auth(token)
        .json(&json!([{"source_id": id, "city": "Ulm"}]))
        .send()
        .expect("answered");
    Answer {
        status: r.status().as_u16(),
        retry_after: r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: r.text().unwrap(),
    }
}

fn batches(case: &Case) -> usize {
    mdm_store::batches::states_since(&mut case.conn(), 0, &[])
        .unwrap()
        .len()
}

fn burst_then_429_with_retry_after(case: &Case) {
    let burst = BURST.to_string();
    let s = Server::start(
        case,
        &[
            ("MDM__SERVER__WRITES_PER_SECOND", "1"),
            ("MDM__SERVER__WRITE_BURST", &burst),
        ],
    );
    let tok = case.token("writer", Some("WEB"));

    // Rapid writes until the first 429: the burst passes, the next one is refused (one
    // more per whole second the writes took, as the bucket refills at one a second).
    let start = Instant::now();
    let mut ok = 0;
    let limited = loop {
        let a = push(&s, &tok, &format!("R{ok}"));
        if a.status != 200 {
            break a;
        }
        ok += 1;
        assert!(ok <= BURST + 10, "no write was limited");
    };
    let took = start.elapsed().as_secs() as usize;
    assert!(
        (BURST..=BURST + took).contains(&ok),
        "{ok} writes passed in {took} s"
    );
    assert_eq!(limited.status, 429, "{}", limited.body);
    let p: serde_json::Value = serde_json::from_str(&limited.body).unwrap();
    assert_eq!(p["code"], "rate_limited", "{p}");
    let wait: u64 = limited
        .retry_after
        .as_deref()
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=1).contains(&wait), "retry after {wait} s at 1 write/s");
    assert_eq!(batches(case), ok, "the refused write wrote nothing");

    // Another token has its own bucket; reads of the limited token are not limited.
    let other = case.token("writer", Some("WEB"));
    assert_eq!(push(&s, &other, "O1").status, 200);
    for _ in 0..BURST + 2 {
        s.get("/v1/whoami", Some(&tok)).ok();
        s.get("/v1/customer/golden?city=ulm&limit=1", Some(&tok))
            .ok();
    }
    // A match without upsert stores nothing: not a write, not limited (no model yet).
    s.post_json(
        "/v1/customer/match",
        Some(&tok),
        &json!({"attributes": {"city": "Ulm"}}),
    )
    .problem(409, "no_model");

    // After Retry-After the token may write again.
    std::thread::sleep(Duration::from_secs(wait));
    let again = push(&s, &tok, "after");
    assert_eq!(again.status, 200, "{}", again.body);
}
