//! A full run matched partition by partition (`--partition-records`, issue 23) gives the
//! one-pass result: the same kept pairs with their scores, blocking keys, golden records,
//! IDs and xref, at several partition sizes, also with values the model never saw in the
//! columns whose blocking keys count words. Both backends.

use crate::helpers::{backends, Case};
use crate::reconcile::{generated, reconcile, xref};
use serde_json::Value;

backends!(
    partitioned_full_run_equals_one_pass,
    partitioned_first_run_trains_on_a_sample
);

/// What a run leaves: xref, golden records, kept pairs (scores as bits), keys and
/// households (their members: a new household's ID names the run), sorted.
pub(crate) type State = (
    Vec<((String, String), String)>,
    Vec<(String, i32, String, String, String)>,
    Vec<(i64, i64, u64, String, bool)>,
    Vec<(String, String, i32, i64)>,
    Vec<Vec<String>>,
);

pub(crate) fn state(case: &Case) -> State {
    let conn = &mut case.conn();
    let mut golden = Vec::new();
    for status in ["active", "retired", "deleted"] {
        for g in mdm_store::golden::list(conn, "customer", status, None, 1_000_000).unwrap() {
            golden.push((g.golden_id, g.version, g.status, g.attributes, g.lineage));
        }
    }
    golden.sort();
    let mut pairs: Vec<_> = mdm_store::matchstate::pairs(conn, "customer")
        .unwrap()
        .into_iter()
        .map(|p| {
            let p = p.oriented();
            let (a, b) = (p.a_staging_id, p.b_staging_id);
            (a, b, p.weight.to_bits(), p.decision, p.overridden)
        })
        .collect();
    pairs.sort();
    let mut keys: Vec<_> = mdm_store::matchstate::keys(conn, "customer")
        .unwrap()
        .into_iter()
        .map(|k| (k.system, k.source_id, k.rule, k.key_hash))
        .collect();
    keys.sort();
    let mut households: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in mdm_store::relationships::of_type(conn, "customer", "household").unwrap() {
        if r.status == "active" {
            households
                .entry(r.to_golden_id)
                .or_default()
                .push(r.from_golden_id);
        }
    }
    let mut households: Vec<Vec<String>> = households.into_values().collect();
    households.iter_mut().for_each(|m| m.sort());
    households.sort();
    let xref = xref(case).into_iter().collect();
    (xref, golden, pairs, keys, households)
}

/// CRM again with new street and organization names (words the model never counted,
/// shared by several records, so they make blocks) and new e-mails.
pub(crate) fn unseen_words(case: &Case) -> std::path::PathBuf {
    let src = case.path("gen").join("CRM.csv");
    let mut rd = csv::Reader::from_path(&src).unwrap();
    let headers = rd.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (street, org, email) = (col("street"), col("organization_name"), col("email"));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).unwrap();
    for (i, row) in rd.records().enumerate() {
        let mut row: Vec<String> = row.unwrap().iter().map(String::from).collect();
        match i % 9 {
            2 => row[street] = format!("Zwetschgenallee {}", i % 4),
            4 => row[org] = format!("Quarzwerk Nordost {} GmbH", i % 3),
            6 => row[email] = format!("moved{i}@example.org"),
            _ => {}
        }
        w.write_record(&row).unwrap();
    }
    case.write("CRM-2.csv", w.into_inner().unwrap())
}

pub(crate) fn partitions(s: &Value) -> u64 {
    s["stats"]["partitions"]
        .as_u64()
        .unwrap_or_else(|| panic!("{s}"))
}

fn partitioned_full_run_equals_one_pass(case: &Case) {
    generated(case, 250, 21);
    // A first run trains on a sample (here every record: fewer than the default sample
    // size), then scores partition by partition with the frozen model.
    let first = reconcile(case, &["--partition-records", "30"]);
    assert!(partitions(&first) > 10, "{first}");
    assert_eq!(first["stats"]["trained"], true, "{first}");
    let trained = state(case);
    assert!(
        trained.4.len() >= 3,
        "households, compared a part at a time: {first}"
    );
    for size in ["30", "500", "100000000"] {
        let s = reconcile(case, &["--full", "--partition-records", size]);
        assert_eq!(s["stats"]["events"], 0, "{s}");
        assert_eq!(
            s["stats"]["candidate_pairs"], first["stats"]["candidate_pairs"],
            "{s}"
        );
        if size == "30" {
            assert!(partitions(&s) > 10, "{s}");
        }
        assert!(state(case) == trained, "size {size}: a change");
    }

    // The same data and runs in a second database, matched in one pass.
    let other = if case.db.url().starts_with("postgres") {
        Case::postgres().expect("a PostgreSQL case")
    } else {
        Case::sqlite()
    };
    generated(&other, 250, 21);
    let one_first = reconcile(&other, &[]);
    assert_eq!(partitions(&one_first), 0);
    assert!(
        state(&other) == trained,
        "a partitioned first run gives the one-pass first run's result"
    );
    let f = unseen_words(case);
    case.ingest_customers("CRM", &f);
    other.ingest_customers("CRM", &f);
    let one = reconcile(&other, &["--full"]);
    assert_eq!(partitions(&one), 0);
    let part = reconcile(case, &["--full", "--partition-records", "30"]);
    assert!(partitions(&part) > 10, "{part}");
    assert!(
        one["counts"]["updated"].as_u64().unwrap() > 0,
        "the changes change golden records: {one}"
    );
    assert_eq!(part["counts"], one["counts"]);
    let (a, b) = (state(case), state(&other));
    assert_eq!(a.0, b.0, "xref");
    assert_eq!(a.1, b.1, "golden records");
    assert!(a.2 == b.2, "kept pairs and scores");
    assert!(a.3 == b.3, "blocking keys");
    assert_eq!(a.4, b.4, "households");
}

/// A first run trained on a sample of the records (`--train-sample`) matches every record
/// nearly as a model trained on all of them does.
fn partitioned_first_run_trains_on_a_sample(case: &Case) {
    generated(case, 250, 21);
    let s = reconcile(
        case,
        &["--partition-records", "30", "--train-sample", "250"],
    );
    let records = s["counts"]["records"].as_u64().unwrap();
    let sample = s["stats"]["train_sample"].as_u64().unwrap_or(0);
    assert!(
        (150..=350).contains(&sample) && sample < records,
        "about 250 of {records}: {s}"
    );
    assert!(partitions(&s) > 10, "{s}");
    let other = if case.db.url().starts_with("postgres") {
        Case::postgres().expect("a PostgreSQL case")
    } else {
        Case::sqlite()
    };
    generated(&other, 250, 21);
    reconcile(&other, &[]);
    // Same-golden pairs of records: most of the one-pass run's are found with the sample's
    // model, and it adds few of its own.
    let together = |c: &Case| {
        let mut by_golden: std::collections::BTreeMap<String, Vec<(String, String)>> =
            Default::default();
        for (k, g) in xref(c) {
            by_golden.entry(g).or_default().push(k);
        }
        let mut pairs = std::collections::BTreeSet::new();
        for members in by_golden.values() {
            for (i, a) in members.iter().enumerate() {
                for b in &members[i + 1..] {
                    pairs.insert((a.clone(), b.clone()));
                }
            }
        }
        pairs
    };
    let (sampled, full) = (together(case), together(&other));
    let both = sampled.intersection(&full).count() as f64;
    assert!(full.len() > 100, "{}", full.len());
    assert!(
        both / full.len() as f64 >= 0.9,
        "recall {both}/{}",
        full.len()
    );
    assert!(
        both / sampled.len() as f64 >= 0.9,
        "precision {both}/{}",
        sampled.len()
    );
}
