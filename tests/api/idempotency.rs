//! `Idempotency-Key` on writes (issue 21): a replay within 24 hours gets the first answer
//! again and writes nothing; the same key with another request is refused; of concurrent
//! requests with one key, one writes. Pushes, upserts and steward actions, over real HTTP.

use crate::helpers::{backends, Case};
use crate::server::Server;
use serde_json::{json, Value};

backends!(
    push_replay_writes_nothing,
    concurrent_requests_with_one_key_write_once,
    upsert_and_merge_replays,
);

/// One answer with the headers these tests look at.
#[derive(Debug)]
struct Answer {
    status: u16,
    replayed: bool,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.json()["code"], code, "{}", self.body);
    }
}

fn send(
    s: &Server,
    method: reqwest::Method,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> Answer {
    let mut rb = s
        .client()
        .request(method, s.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(k) = key {
        rb = rb.header("idempotency-key", k);
    }
    let r = rb.send().expect("answered");
    let replayed = r
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    Answer {
        status: r.status().as_u16(),
        replayed,
        body: r.text().unwrap(),
    }
}

fn post(s: &Server, path: &str, token: &str, key: Option<&str>, body: &Value) -> Answer {
    send(s, reqwest::Method::POST, path, token, key, body)
}

fn batches(case: &Case) -> usize {
    mdm_store::batches::states_since(&mut case.conn(), 0, &[])
        .unwrap()
        .len()
}

fn push_replay_writes_nothing(case: &Case) {
    let s = Server::start(case, &[]);
    let tok = case.token("writer", Some("WEB"));
    let path = "/v1/customer/records/WEB";
    let records = json!([{"source_id": "A1", "city": "Ulm"}, {"source_id": "A2", "city": "Bonn"}]);

    let first = post(&s, path, &tok, Some("push-1"), &records);
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(!first.replayed);
    assert_eq!(batches(case), 1);

    // The replay: the same answer, byte for byte, and no second batch.
    let again = post(&s, path, &tok, Some("push-1"), &records);
    assert_eq!(again.status, 200, "{}", again.body);
    assert!(again.replayed, "the replay says so");
    assert_eq!(again.body, first.body);
    assert_eq!(batches(case), 1, "a replay writes nothing");

    // Without a key the same push is a new batch: what the key prevented.
    let unkeyed = post(&s, path, &tok, None, &records);
    assert_eq!(unkeyed.status, 200);
    assert_ne!(unkeyed.json()["batch_id"], first.json()["batch_id"]);
    assert_eq!(batches(case), 2);

    // The same key with another body, or another query, is refused and writes nothing.
    let other = json!([{"source_id": "A1", "city": "Köln"}]);
    post(&s, path, &tok, Some("push-1"), &other).problem(422, "idempotency_key_reused");
    post(
        &s,
        &format!("{path}?snapshot=true"),
        &tok,
        Some("push-1"),
        &records,
    )
    .problem(422, "idempotency_key_reused");
    assert_eq!(batches(case), 2);
    assert_eq!(case.attributes("WEB", "A1")["city"], "Ulm");

    // Keys belong to a token: another token's "push-1" is its own.
    let tok2 = case.token("writer", Some("WEB"));
    let theirs = post(&s, path, &tok2, Some("push-1"), &other);
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(!theirs.replayed);
    assert_eq!(batches(case), 3);

    // A malformed key is refused before anything runs.
    post(&s, path, &tok, Some("two words"), &records).problem(400, "invalid_idempotency_key");
    assert_eq!(batches(case), 3);

    // Past 24 hours the key is free again: another claim a day later purges it.
    let later = mdm_store::now() + chrono::TimeDelta::hours(25);
    let purge = mdm_store::idempotency::KeyRef {
        token_id: "nobody".into(),
        route: "POST /nowhere".into(),
        key: "k".into(),
    };
    mdm_store::idempotency::claim(&mut case.conn(), &purge, "h", later).unwrap();
    let fresh = post(&s, path, &tok, Some("push-1"), &records);
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert!(!fresh.replayed);
    assert_eq!(batches(case), 4);
}

fn concurrent_requests_with_one_key_write_once(case: &Case) {
    let s = Server::start(case, &[]);
    let tok = case.token("writer", Some("WEB"));
    // Large enough that the first is still loading when the others arrive.
    let records: Vec<Value> = (0..3000)
        .map(|i| json!({"source_id": format!("C{i}"), "city": "Ulm", "given_name": "Anna"}))
        .collect();
    let records = json!(records);
    let answers: Vec<Answer> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..6)
            .map(|_| {
                scope.spawn(|| post(&s, "/v1/customer/records/WEB", &tok, Some("once"), &records))
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(batches(case), 1, "one of them wrote: {answers:?}");
    let ran: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == 200 && !a.replayed)
        .collect();
    assert_eq!(ran.len(), 1, "{answers:?}");
    for a in &answers {
        match (a.status, a.replayed) {
            (200, _) => assert_eq!(a.body, ran[0].body),
            _ => a.problem(409, "idempotency_key_in_flight"),
        }
    }
    // Once it finished, a retry gets its answer.
    let after = post(&s, "/v1/customer/records/WEB", &tok, Some("once"), &records);
    assert!(after.replayed && after.body == ran[0].body, "{after:?}");
}

/// Two golden records of one source record each.
fn two_singletons(case: &Case) -> (String, String) {
    let xref = mdm_store::xref::load(&mut case.conn(), "customer").unwrap();
    let mut count = std::collections::HashMap::new();
    for x in &xref {
        *count.entry(x.golden_id.clone()).or_insert(0) += 1;
    }
    let mut singles = xref.iter().filter(|x| count[&x.golden_id] == 1);
    let a = singles.next().expect("a singleton").golden_id.clone();
    let b = singles.next().expect("two singletons").golden_id.clone();
    (a, b)
}

fn events(case: &Case) -> usize {
    mdm_store::outbox::after(&mut case.conn(), 0, 100_000)
        .unwrap()
        .len()
}

fn upsert_and_merge_replays(case: &Case) {
    case.generated_customers(150, &["ERP", "CRM"], 5, 1.0);
    case.reconcile_customers();
    let s = Server::start(case, &[]);
    let writer = case.token("writer", Some("WEB"));

    // Upsert: the replay is the stored answer; a changed record under the key is refused.
    let upsert = json!({"system": "WEB", "source_id": "W1", "upsert": true,
        "attributes": {"given_name": "Xaverine", "family_name": "Quobbelsworth",
            "birth_date": "1911-11-11", "city": "Zzyzx", "email": "xq@nowhere.invalid"}});
    let first = post(&s, "/v1/customer/match", &writer, Some("u-1"), &upsert);
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["created"], true);
    let n = events(case);
    let again = post(&s, "/v1/customer/match", &writer, Some("u-1"), &upsert);
    assert!(again.replayed && again.body == first.body, "{again:?}");
    assert_eq!(events(case), n);
    let mut changed = upsert.clone();
    changed["attributes"]["city"] = json!("Bonn");
    post(&s, "/v1/customer/match", &writer, Some("u-1"), &changed)
        .problem(422, "idempotency_key_reused");
    let staged = mdm_store::staging::history(&mut case.conn(), "customer", "WEB", "W1").unwrap();
    assert_eq!(staged.len(), 1, "the refused upsert staged nothing");
    // A dry-run match takes no key: it writes nothing anyway.
    let dry = json!({"attributes": {"given_name": "Xaverine"}});
    let d = post(&s, "/v1/customer/match", &writer, Some("u-1"), &dry);
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(!d.replayed);

    // Merge: under a new key a repeated merge is a conflict (stale version, or retired); under
    // the same key the repeat gets the first answer, and one `merged` event was written.
    let steward = case.token("steward", None);
    let (g1, g2) = two_singletons(case);
    let version = |id: &str| {
        s.get(&format!("/v1/customer/golden/{id}"), Some(&steward))
            .ok()["version"]
            .as_i64()
            .unwrap()
    };
    let merge = json!({"other": g2, "version": version(&g1), "other_version": version(&g2),
        "reason": "same customer"});
    let path = format!("/v1/customer/golden/{g1}/merge");
    let m1 = post(&s, &path, &steward, Some("merge-1"), &merge);
    assert_eq!(m1.status, 200, "{}", m1.body);
    let n = events(case);
    let m2 = post(&s, &path, &steward, Some("merge-1"), &merge);
    assert!(m2.replayed && m2.body == m1.body, "{m2:?}");
    assert_eq!(events(case), n, "the replayed merge wrote no event");
    let unkeyed = post(&s, &path, &steward, Some("merge-2"), &merge);
    assert_eq!(
        unkeyed.status, 409,
        "a new key runs the merge again: {unkeyed:?}"
    );

    // An edit (PUT) under a key: the replay answers the first edit's record.
    let survivor = m1.json()["survivor"].as_str().unwrap().to_string();
    let edit_path = format!("/v1/customer/golden/{survivor}/attributes/city");
    let edit = json!({"value": "Lübeck", "version": version(&survivor), "reason": "moved"});
    let put = |key| {
        send(
            &s,
            reqwest::Method::PUT,
            &edit_path,
            &steward,
            Some(key),
            &edit,
        )
    };
    let e1 = put("edit-1");
    assert_eq!(e1.status, 200, "{}", e1.body);
    let e2 = put("edit-1");
    assert!(e2.replayed && e2.body == e1.body, "{e2:?}");
    assert_eq!(version(&survivor), e1.json()["version"].as_i64().unwrap());
}
