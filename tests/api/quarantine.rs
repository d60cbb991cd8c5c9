//! Every quarantine reason, with nothing lost: rows read = rows staged + rows quarantined,
//! and each quarantined row names its file, row, field and reason.

use crate::helpers::{backends, counts, run_ok, text, Case};

backends!(
    every_reason_quarantined_nothing_lost,
    ndjson_bad_lines_quarantined,
    stray_quote_loses_no_row_and_deletes_nothing,
    nul_characters_quarantined_by_ingest_and_push,
    random_bytes_fail_the_load_and_stage_nothing,
    mostly_bad_rows_fail_the_load_and_stage_nothing,
    a_tenth_bad_loads_and_stored_quarantine_is_capped,
    a_refused_load_leaves_staging_as_it_was,
    overlong_lines_quarantined_and_nothing_lost,
    overlong_pushed_line_and_element_quarantined,
);

fn every_reason_quarantined_nothing_lost(case: &Case) {
    let mut csv = Vec::new();
    csv.extend_from_slice(b"source_id,given_name,birth_date,city\n"); // line 1
    csv.extend_from_slice(b"1,Anna,1987-03-09,Ulm\n"); // 2 ok
    csv.extend_from_slice(b" ,NoId,1990-01-01,Bonn\n"); // 3 no source_id
    csv.extend_from_slice(b"2,Bernd,1990-01-01\n"); // 4 wrong field count
    csv.extend_from_slice(b"3,J\xF6rg,1990-01-01,Hof\n"); // 5 invalid UTF-8
    csv.extend_from_slice(b"4,Dora,not a date,Kiel\n"); // 6 fails the date check
    csv.extend_from_slice(b"5,Emil,1970-01-01,Hof\n"); // 7 ok
    csv.extend_from_slice(b"1,Anna,1987-03-09,Ulm\n"); // 8 duplicate (an earlier chunk)
    csv.extend_from_slice(b"8,Gus,1971-01-01,Aue\n"); // 9 ok
    csv.extend_from_slice(b"8,Gus,1971-01-01,Aue\n"); // 10 duplicate (the same chunk)
    csv.extend_from_slice(b"6,Fritz,1980-02-02,\"Ulm\x07\"\n"); // 11 control character
    let file = case.write("dirty.csv", &csv);
    // Chunks of 3 rows, so duplicates are caught within a chunk and across chunks.
    let out = run_ok(
        case.mdm()
            .env("MDM__INGEST__CHUNK_SIZE", "3")
            .args([
                "ingest", "--domain", "customer", "--source", "ERP", "--json",
            ])
            .arg(&file),
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (read, new, changed, unchanged, deleted, quarantined) = counts(&s);
    assert_eq!(read, 10, "{s}");
    assert_eq!(
        read,
        new + changed + unchanged + quarantined,
        "nothing lost: {s}"
    );
    assert_eq!((new, quarantined, deleted), (3, 7, 0), "{s}");

    let batch = s["batch_id"].as_i64().unwrap();
    let rows = mdm_store::quarantine::for_batch(&mut case.conn(), batch).unwrap();
    let got: Vec<(i64, &str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.row_number, r.reason.as_str(), r.field.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, "missing_source_id", Some("source_id")),
            (4, "malformed_row", None),
            (5, "invalid_utf8", Some("given_name")),
            (6, "invalid_value", Some("birth_date")),
            (8, "duplicate_source_id", Some("source_id")),
            (10, "duplicate_source_id", Some("source_id")),
            (11, "invalid_value", Some("city")),
        ]
    );
    for r in &rows {
        assert_eq!(r.source, file.display().to_string());
        assert!(!r.detail.is_empty() && r.raw.is_some(), "{r:?}");
    }
    assert_eq!(rows[1].raw.as_deref(), Some("2,Bernd,1990-01-01"));
    assert_eq!(rows[4].source_id.as_deref(), Some("1"));
    let staged: Vec<String> = case.live("ERP").into_iter().map(|v| v.source_id).collect();
    assert_eq!(staged, ["1", "5", "8"]);
    let batch_row = mdm_store::batches::get(&mut case.conn(), batch)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            batch_row.status.as_str(),
            batch_row.rows_read,
            batch_row.rows_quarantined
        ),
        ("completed", 10, 7)
    );
}

fn ndjson_bad_lines_quarantined(case: &Case) {
    let mut text = Vec::new();
    text.extend_from_slice(b"{\"source_id\":\"a\"}\n");
    text.extend_from_slice(b"{\"source_id\":\"b\"\n"); // broken JSON
    text.extend_from_slice(b"[\"not\",\"an object\"]\n");
    text.extend_from_slice(b"{\"source_id\":\"c\",\"city\":\"K\xF6ln\"}\n");
    text.extend_from_slice(b"{\"city\":\"Ulm\"}\n");
    let file = case.write("crm.ndjson", &text);
    let s = case.ingest_customers("CRM", &file);
    assert_eq!(counts(&s), (5, 1, 0, 0, 0, 4), "{s}");
    let rows = mdm_store::quarantine::for_batch(&mut case.conn(), s["batch_id"].as_i64().unwrap())
        .unwrap();
    let got: Vec<(i64, &str)> = rows
        .iter()
        .map(|r| (r.row_number, r.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "malformed_row"),
            (3, "malformed_row"),
            (4, "invalid_utf8"),
            (5, "missing_source_id")
        ]
    );
}

/// Issue 21: a stray quote on line 12 of a 1,000-row snapshot used to swallow every row
/// after it (read 11) and the snapshot then deleted them (deleted 990).
fn stray_quote_loses_no_row_and_deletes_nothing(case: &Case) {
    let row = |i: u32| format!("ID{i},Anna{i},Schmidt,a{i}@example.com,,Berlin\n");
    let header = "source_id,given_name,family_name,email,phone,city\n";
    let full: String = std::iter::once(header.to_string())
        .chain((0..1000).map(row))
        .collect();
    let bad: String = std::iter::once(header.to_string())
        .chain((0..1000).map(|i| match i {
            10 => "ID10,\"Anna,Schmidt,a10@example.com,,Berlin\n".to_string(),
            _ => row(i),
        }))
        .collect();
    let full = case.write("full.csv", &full);
    let bad_file = case.write("full_badquote.csv", &bad);
    let args = |f: &std::path::Path| {
        run_ok(
            case.mdm()
                .args(["ingest", "--domain", "customer", "--source", "ERP"])
                .arg(f)
                .args(["--snapshot", "--json"]),
        )
    };
    args(&full);
    let out = args(&bad_file);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (read, new, changed, unchanged, deleted, quarantined) = counts(&s);
    // Counted here, not by the CSV reader: every non-blank line after the header.
    let data_lines = bad.lines().skip(1).filter(|l| !l.trim().is_empty()).count() as u64;
    assert_eq!(data_lines, 1000);
    assert_eq!(read, data_lines, "{s}");
    assert_eq!(new + changed + unchanged + quarantined, data_lines, "{s}");
    assert_eq!((unchanged, quarantined), (999, 1), "{s}");
    assert_eq!(
        deleted, 0,
        "a snapshot with an unreadable row deletes nothing: {s}"
    );
    assert_eq!(
        s["snapshot_deletions_skipped"]["reason"], "unreadable_rows",
        "{s}"
    );
    assert!(
        text(&out.stderr).contains("snapshot_deletions_skipped"),
        "logged: {}",
        text(&out.stderr)
    );
    assert_eq!(
        case.live("ERP").len(),
        1000,
        "ID10 keeps its staged version"
    );

    let rows = mdm_store::quarantine::for_batch(&mut case.conn(), s["batch_id"].as_i64().unwrap())
        .unwrap();
    assert_eq!(rows.len(), 1);
    let q = &rows[0];
    assert_eq!(
        (q.row_number, q.reason.as_str(), q.field.as_deref()),
        (12, "malformed_row", Some("given_name"))
    );
    assert!(q.detail.contains("unterminated quote"), "{}", q.detail);
    assert!(q.detail.contains("full_badquote.csv"), "{}", q.detail);
    assert_eq!(
        q.raw.as_deref(),
        Some("ID10,\"Anna,Schmidt,a10@example.com,,Berlin")
    );
}

/// Issue 21: PostgreSQL refused a whole chunk (`invalid byte sequence for encoding "UTF8":
/// 0x00`) for one NUL in a source_id or value, naming no row (over HTTP, a 500), while
/// SQLite staged it. Both now quarantine the row, naming the field.
fn nul_characters_quarantined_by_ingest_and_push(case: &Case) {
    let file = case.write(
        "nul.csv",
        b"source_id,given_name,city\nA1,Anna,Ulm\nA\x002,Bernd,Bonn\nA3,Carl,K\x00ln\nA4,Dora,Hof\n",
    );
    let s = case.ingest_customers("ERP", &file);
    assert_eq!(counts(&s), (4, 2, 0, 0, 0, 2), "{s}");
    let expected = vec![
        (
            3,
            "invalid_value".to_string(),
            Some("source_id".to_string()),
        ),
        (4, "invalid_value".to_string(), Some("city".to_string())),
    ];
    let quarantined = |batch: i64| -> Vec<(i64, String, Option<String>)> {
        mdm_store::quarantine::for_batch(&mut case.conn(), batch)
            .unwrap()
            .into_iter()
            .map(|q| {
                assert!(q.detail.contains("NUL"), "{q:?}");
                (q.row_number, q.reason, q.field)
            })
            .collect()
    };
    assert_eq!(quarantined(s["batch_id"].as_i64().unwrap()), expected);

    let server = crate::server::Server::start(case, &[]);
    let tok = case.token("writer", Some("WEB"));
    let body = "{\"source_id\":\"W1\",\"city\":\"Ulm\"}\n\
                {\"source_id\":\"W\\u00002\",\"city\":\"Bonn\"}\n\
                {\"source_id\":\"W3\",\"city\":\"K\\u0000ln\"}\n\
                {\"source_id\":\"W4\",\"city\":\"Hof\"}\n";
    let r = server
        .post(
            "/v1/customer/records/WEB",
            Some(&tok),
            "application/x-ndjson",
            body.as_bytes().to_vec(),
        )
        .ok();
    assert_eq!(counts(&r), (4, 2, 0, 0, 0, 2), "{r}");
    let mut staged: Vec<String> = case.live("WEB").into_iter().map(|v| v.source_id).collect();
    staged.sort();
    assert_eq!(staged, ["W1", "W4"]);
    let pushed = quarantined(r["batch_id"].as_i64().unwrap());
    assert_eq!(
        pushed.iter().map(|q| q.2.clone()).collect::<Vec<_>>(),
        [Some("source_id".to_string()), Some("city".to_string())]
    );
}

/// `rows` customer rows, the ones `bad(i)` picks with a birth date that fails its check.
fn rows_with_bad(rows: usize, bad: impl Fn(usize) -> bool) -> String {
    let mut csv = String::from("source_id,given_name,birth_date,city\n");
    for i in 0..rows {
        let date = if bad(i) { "not a date" } else { "1980-02-03" };
        csv.push_str(&format!("{i},Anna{i},{date},Ulm\n"));
    }
    csv
}

/// `mdm ingest` that must fail; returns its load batch (named in the error) and stderr.
fn failed_load(case: &Case, file: &std::path::Path) -> (i64, String) {
    let err = crate::helpers::run_err(
        case.mdm()
            .args([
                "ingest", "--domain", "customer", "--source", "ERP", "--json",
            ])
            .arg(file),
    );
    assert!(err.contains("max_quarantine_share"), "{err}");
    let b = refused_batch(case, &err);
    assert_eq!(b.status, "failed", "{b:?}");
    assert!(case.live("ERP").is_empty(), "nothing staged");
    (b.id, err)
}

/// Issue 21: a file of random bytes (behind a valid header) fails instead of becoming a
/// quarantine row per line and exit status 0.
fn random_bytes_fail_the_load_and_stage_nothing(case: &Case) {
    let mut bytes = b"source_id,given_name,birth_date,city\n".to_vec();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..2_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.push((x >> 24) as u8);
    }
    let file = case.write("random.csv", &bytes);
    let (batch, _) = failed_load(case, &file);
    let stored = mdm_store::quarantine::for_batch(&mut case.conn(), batch).unwrap();
    assert!(
        stored.is_empty(),
        "{} quarantined rows stored",
        stored.len()
    );
}

/// 60% bad rows: refused, nothing staged, batch failed.
fn mostly_bad_rows_fail_the_load_and_stage_nothing(case: &Case) {
    let file = case.write("bad.csv", rows_with_bad(1000, |i| i % 5 < 3));
    failed_load(case, &file);
    // Also when the bad rows come after a good first chunk's worth: that chunk fits the
    // limit; the chunk that crosses it is not staged.
    let file = case.write("late.csv", rows_with_bad(1000, |i| i >= 300));
    let err = crate::helpers::run_err(
        case.mdm()
            .env("MDM__INGEST__CHUNK_SIZE", "200")
            .args(["ingest", "--domain", "customer", "--source", "ERP"])
            .arg(&file),
    );
    assert!(err.contains("max_quarantine_share"), "{err}");
    assert!(case.live("ERP").is_empty(), "committed chunks rolled back");
}

/// 10% bad rows still load; stored quarantine rows are capped, the rest counted.
fn a_tenth_bad_loads_and_stored_quarantine_is_capped(case: &Case) {
    let file = case.write("tenth.csv", rows_with_bad(1000, |i| i % 10 == 0));
    let out = run_ok(
        case.mdm()
            .env("MDM__INGEST__MAX_QUARANTINED_ROWS", "40")
            .env("MDM__INGEST__CHUNK_SIZE", "300")
            .args([
                "ingest", "--domain", "customer", "--source", "ERP", "--json",
            ])
            .arg(&file),
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(counts(&s), (1000, 900, 0, 0, 0, 100), "{s}");
    assert_eq!(s["quarantine_not_stored"], 60, "{s}");
    let batch = s["batch_id"].as_i64().unwrap();
    let stored = mdm_store::quarantine::for_batch(&mut case.conn(), batch).unwrap();
    assert_eq!(stored.len(), 40);
    // The default stores them all.
    let file = case.write("tenth2.csv", rows_with_bad(1000, |i| i % 10 == 1));
    let s = case.ingest_customers("CRM", &file);
    assert_eq!(counts(&s).5, 100, "{s}");
    assert!(s.get("quarantine_not_stored").is_none(), "{s}");
    let out = run_ok(
        case.mdm()
            .args(["ingest", "--domain", "customer", "--source", "MES"])
            .arg(case.write("t3.csv", rows_with_bad(200, |i| i % 10 == 0)))
            .env("MDM__INGEST__MAX_QUARANTINED_ROWS", "5"),
    );
    assert!(text(&out.stdout).contains("15 quarantined rows were counted but not stored"));
}

/// What staging holds for ERP customers, as a refused load must leave it: every live
/// version (content, status, which batch wrote and ended it) and how many versions of each
/// status there are. `seen_batch_id` is left out: a refused load's note that it saw a row
/// unchanged is read only by that load.
fn staging_state(case: &Case) -> (Vec<String>, (u64, u64, u64)) {
    let live = case
        .live("ERP")
        .into_iter()
        .map(|v| {
            format!(
                "{} v{} {} {} {} b{} e{:?} {:?}",
                v.source_id,
                v.version,
                v.status,
                v.content_hash,
                v.attributes,
                v.batch_id,
                v.ended_batch_id,
                v.ended_at
            )
        })
        .collect();
    let counts = mdm_store::staging::status_counts(&mut case.conn(), "customer", "ERP").unwrap();
    (live, counts)
}

/// Issue 21: a load refused by ingest.max_quarantine_share stages nothing, even when chunks
/// within the limit had committed before the limit was crossed: their new versions are
/// removed, the versions they replaced (changed rows, records a snapshot had deleted and
/// that came back) are live again as they were, and the snapshot deletes nothing.
fn a_refused_load_leaves_staging_as_it_was(case: &Case) {
    const HEADER: &str = "source_id,given_name,birth_date,city\n";
    let row = |i: usize, city: &str| format!("{i},Anna{i},1980-02-03,{city}\n");
    let bad = |i: usize| format!("{i},Anna{i},not a date,Ulm\n");
    let load = |name: &str, body: String| {
        case.mdm()
            .env("MDM__INGEST__CHUNK_SIZE", "200")
            .args([
                "ingest",
                "--domain",
                "customer",
                "--source",
                "ERP",
                "--snapshot",
            ])
            .arg(case.write(name, body))
            .output()
            .unwrap()
    };
    let all: String = HEADER.to_string() + &(0..600).map(|i| row(i, "Ulm")).collect::<String>();
    assert!(load("all.csv", all).status.success());
    let most: String = HEADER.to_string() + &(0..500).map(|i| row(i, "Ulm")).collect::<String>();
    assert!(load("most.csv", most).status.success());
    let before = staging_state(case);
    assert_eq!(before.1, (500, 0, 100), "500 current, 100 deleted");

    // Chunk 1 (rows 1-200): 100 changed, 50 deleted ones back, 50 new. Chunk 2: 100
    // unchanged, 100 bad (25% so far). Chunk 3: 200 bad (50%, not more). Row 601, bad,
    // crosses the limit after three chunks committed.
    let mut refused = HEADER.to_string();
    refused.extend((0..100).map(|i| row(i, "Bonn")));
    refused.extend((550..600).map(|i| row(i, "Ulm")));
    refused.extend((1000..1050).map(|i| row(i, "Ulm")));
    refused.extend((100..200).map(|i| row(i, "Ulm")));
    refused.extend((2000..2400).map(bad));
    let out = load("refused.csv", refused);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "refused: {err}");
    assert!(err.contains("refused.csv"), "names the file: {err}");
    assert!(err.contains("max_quarantine_share"), "says why: {err}");
    assert!(err.contains("nothing of it is staged"), "{err}");
    let b = refused_batch(case, &err);
    assert_eq!(b.status, "failed", "{b:?}");
    assert_eq!(
        (b.rows_new, b.rows_changed, b.rows_unchanged, b.rows_deleted),
        (0, 0, 0, 0),
        "{b:?}"
    );
    assert_eq!(staging_state(case), before, "staging as it was");
    assert!(case.live("ERP").iter().all(|v| v.batch_id != b.id));

    // A load that is not refused still stages, on top of the state before.
    let fine: String = HEADER.to_string() + &(0..500).map(|i| row(i, "Kiel")).collect::<String>();
    let out = load("fine.csv", fine);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        mdm_store::staging::status_counts(&mut case.conn(), "customer", "ERP").unwrap(),
        (500, 500, 100)
    );
}

/// Issue 21: a 200 MB single NDJSON line took 475 MB of memory. A line longer than
/// ingest.max_line_bytes (here 64 KiB) is quarantined unread, naming file, line and length,
/// and every other row loads; rows in the file, counted here, = new + changed + unchanged
/// + quarantined. The same for a CSV line and a JSON array's element.
fn overlong_lines_quarantined_and_nothing_lost(case: &Case) {
    let long = "x".repeat(5 << 20);
    let mut csv = String::from("source_id,given_name,city\n");
    let mut ndjson = String::new();
    let mut json = Vec::new();
    for i in 0..300 {
        let note = if i == 150 { long.as_str() } else { "Anna" };
        csv += &format!("C{i},{note},Ulm\n");
        let object = serde_json::json!({"source_id": format!("N{i}"), "given_name": note});
        ndjson += &format!("{object}\n");
        json.push(object);
    }
    let json = serde_json::to_string(&json).unwrap();
    // (system, file, its text, the long row's number, the long row's length)
    let long_ndjson = ndjson.lines().nth(150).unwrap().len();
    let long_json =
        serde_json::to_string(&serde_json::json!({"source_id": "N150", "given_name": long}))
            .unwrap()
            .len();
    let cases = [
        (
            "ERP",
            "long.csv",
            &csv,
            152,
            csv.lines().nth(151).unwrap().len(),
        ),
        ("CRM", "long.ndjson", &ndjson, 151, long_ndjson),
        ("MES", "long.json", &json, 151, long_json),
    ];
    for (system, name, body, long_row, long_len) in cases {
        let file = case.write(name, body);
        let out = run_ok(
            case.mdm()
                .env("MDM__INGEST__MAX_LINE_BYTES", "65536")
                .args([
                    "ingest", "--domain", "customer", "--source", system, "--json",
                ])
                .arg(&file),
        );
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // Counted independently of the readers: data lines of the CSV and NDJSON files,
        // objects of the JSON array.
        let rows = match name {
            "long.csv" => body
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .count(),
            "long.ndjson" => body.lines().filter(|l| !l.trim().is_empty()).count(),
            _ => serde_json::from_str::<Vec<serde_json::Value>>(body)
                .unwrap()
                .len(),
        } as u64;
        assert_eq!(rows, 300);
        let (read, new, changed, unchanged, _, quarantined) = counts(&s);
        assert_eq!(read, rows, "{name}: {s}");
        assert_eq!(new + changed + unchanged + quarantined, rows, "{name}: {s}");
        assert_eq!((new, quarantined), (299, 1), "{name}: {s}");
        assert_eq!(case.live(system).len(), 299);
        let batch = s["batch_id"].as_i64().unwrap();
        let q = mdm_store::quarantine::for_batch(&mut case.conn(), batch).unwrap();
        assert_eq!(q.len(), 1, "{name}");
        let q = &q[0];
        assert_eq!(
            (q.row_number, q.reason.as_str()),
            (long_row, "malformed_row")
        );
        let what = if name == "long.json" {
            "array element"
        } else {
            "line"
        };
        let expected = format!(
            "{what} {long_row} of {} is {long_len} bytes long, more than \
             ingest.max_line_bytes (65536)",
            file.display()
        );
        assert!(q.detail.contains(&expected), "{name}: {}", q.detail);
        assert!(q.raw.as_ref().is_some_and(|r| r.len() < 2048), "{name}");
    }
}

/// The server applies ingest.max_line_bytes to pushes: an NDJSON line and a JSON array
/// element over it are quarantined and listed in the answer; the other records load.
fn overlong_pushed_line_and_element_quarantined(case: &Case) {
    let server = crate::server::Server::start(case, &[("MDM__INGEST__MAX_LINE_BYTES", "1024")]);
    let tok = case.token("writer", Some("WEB"));
    let long = "x".repeat(4096);
    let ndjson = format!(
        "{{\"source_id\":\"W1\"}}\n{{\"source_id\":\"W2\",\"given_name\":\"{long}\"}}\n{{\"source_id\":\"W3\"}}\n"
    );
    let json = serde_json::json!([{"source_id": "W4"}, {"source_id": "W5", "given_name": long}]);
    let line = format!(
        "line 2 of http:WEB is {} bytes",
        ndjson.lines().nth(1).unwrap().len()
    );
    let element = format!(
        "array element 2 of http:WEB is {} bytes",
        json[1].to_string().len()
    );
    let bodies = [
        ("application/x-ndjson", ndjson.into_bytes(), line),
        ("application/json", json.to_string().into_bytes(), element),
    ];
    for (content_type, body, detail) in bodies {
        let r = server
            .post("/v1/customer/records/WEB", Some(&tok), content_type, body)
            .ok();
        let q = &r["quarantine"][0];
        assert_eq!(
            (q["row"].as_i64(), q["reason"].as_str()),
            (Some(2), Some("malformed_row")),
            "{r}"
        );
        let text = q["detail"].as_str().unwrap();
        assert!(text.contains(&detail) && text.contains("(1024)"), "{text}");
    }
    let staged: Vec<String> = case.live("WEB").into_iter().map(|v| v.source_id).collect();
    assert_eq!(staged, ["W1", "W3", "W4"]);
}

/// The load batch a refused load's error names (`... load batch N ...`), from the database.
fn refused_batch(case: &Case, err: &str) -> mdm_store::batches::LoadBatch {
    let batch: i64 = err
        .split("load batch ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the error names the batch: {err}"));
    mdm_store::batches::get(&mut case.conn(), batch)
        .unwrap()
        .expect("batch row")
}
