//! Parquet in and out: `mdm ingest` of Parquet files (typed values as text, bad rows
//! quarantined, the good ones loaded), `mdm export golden|xref|pairs` as Parquet, and
//! `mdm match` on Parquet inputs, against the same data as CSV.

mod write;

use crate::helpers::{backends, counts, mdm_in, run_err, run_ok, text, Case};
use mdm_ingest::RecordSource;
use std::collections::BTreeMap;
use std::path::Path;
use write::Col;

backends!(staged_and_golden_round_trip, typed_values_and_bad_rows,);

type Row = BTreeMap<String, String>;

/// Every row of a Parquet file as the ingest adapter reads it (bad rows panic).
fn parquet_rows(path: &Path) -> Vec<Row> {
    let mut src = mdm_ingest::ParquetSource::open(path).unwrap();
    let mut rows = Vec::new();
    src.for_each_row(&mut |r| {
        let fields = r
            .content
            .unwrap_or_else(|e| panic!("row {}: {e:?}", r.number));
        rows.push(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        Ok(())
    })
    .unwrap();
    rows
}

/// Every row of a CSV file, empty fields left out (as null is in Parquet).
fn csv_rows(path: &Path) -> Vec<Row> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect()
        })
        .collect()
}

/// (column, physical type, logical type) of a Parquet file's columns.
fn schema(path: &Path) -> Vec<(String, String, String)> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let r = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = r.metadata().file_metadata().schema_descr_ptr();
    schema
        .columns()
        .iter()
        .map(|c| {
            let logical = c.logical_type_ref().map(|l| format!("{l:?}"));
            let physical = c.physical_type().to_string();
            (c.name().to_string(), physical, logical.unwrap_or_default())
        })
        .collect()
}

fn export(case: &Case, what: &str, out: &str) -> std::path::PathBuf {
    let path = case.path(out);
    let p = path.to_str().unwrap();
    run_ok(
        case.mdm()
            .args(["export", what, "--domain", "customer", "--out", p]),
    );
    path
}

/// Staged records written to Parquet and loaded again change nothing; golden records, xref
/// and pairs exported as Parquet hold what the CSV exports hold, in typed columns, and a
/// golden Parquet export loads (twice: the second load changes nothing).
fn staged_and_golden_round_trip(case: &Case) {
    case.generated_customers(150, &["ERP", "CRM"], 11, 1.0);
    let erp_csv = case.path("data/ERP.csv");
    let first = case.ingest_customers("ERP", &erp_csv);
    // What a re-load may not change (seen_batch_id records that the load saw the row).
    let versions = || {
        case.live("ERP")
            .into_iter()
            .map(|v| {
                (
                    v.id,
                    v.source_id,
                    v.version,
                    v.attributes,
                    v.content_hash,
                    v.batch_id,
                )
            })
            .collect::<Vec<_>>()
    };
    let before = versions();
    // Row groups of 40 rows: the reader crosses several.
    let erp = write::from_csv(&erp_csv, &case.path("ERP.parquet"), 40);
    let s = case.ingest_customers("ERP", &erp);
    let (read, _, _, unchanged, _, quarantined) = counts(&first);
    assert!(read > 100, "{first}");
    assert_eq!(
        counts(&s),
        (read, 0, 0, unchanged, 0, quarantined),
        "a Parquet copy of the staged CSV changes nothing: {s}"
    );
    assert_eq!(before, versions(), "same versions, hashes and values");

    case.reconcile_customers();
    let golden = export(case, "golden", "golden.parquet");
    let golden_csv = export(case, "golden", "golden.csv");
    let mut from_parquet = parquet_rows(&golden);
    let stored =
        mdm_store::golden::list(&mut case.conn(), "customer", "active", None, 100_000).unwrap();
    assert!(stored.len() > 50, "{} golden records", stored.len());
    for (row, g) in from_parquet.iter_mut().zip(&stored) {
        let at = row.remove("updated_at").expect("updated_at");
        // Microseconds, as PostgreSQL keeps them (SQLite may hold nanoseconds).
        let want = g.updated_at.and_utc().timestamp_micros();
        let got = chrono::DateTime::parse_from_rfc3339(&at).unwrap();
        assert_eq!(got.timestamp_micros(), want, "{at}");
        assert!(at.ends_with('Z'), "{at}");
    }
    assert_eq!(from_parquet, csv_rows(&golden_csv), "golden: Parquet = CSV");
    let types = schema(&golden);
    assert_eq!(types[0].0, "golden_id");
    let at = types.last().unwrap();
    assert_eq!((at.0.as_str(), at.1.as_str()), ("updated_at", "INT64"));
    assert!(at.2.contains("Timestamp"), "{at:?}");

    let xref = export(case, "xref", "xref.parquet");
    let mut xrows = parquet_rows(&xref);
    xrows.iter_mut().for_each(|r| {
        r.remove("updated_at").expect("updated_at");
    });
    assert_eq!(xrows, csv_rows(&export(case, "xref", "xref.csv")), "xref");
    assert!(xrows.len() >= stored.len());

    let pairs = export(case, "pairs", "pairs.parquet");
    let (prows, crows) = (
        parquet_rows(&pairs),
        csv_rows(&export(case, "pairs", "pairs.csv")),
    );
    assert!(!prows.is_empty(), "the run kept scored pairs");
    assert_eq!(prows.len(), crows.len());
    for (p, c) in prows.iter().zip(&crows) {
        for k in [
            "left_system",
            "left_id",
            "right_id",
            "decision",
            "overridden",
        ] {
            assert_eq!(p[k], c[k], "{k}: {p:?} {c:?}");
        }
        for k in ["probability", "match_weight"] {
            let (a, b): (f64, f64) = (p[k].parse().unwrap(), c[k].parse().unwrap());
            assert!((a - b).abs() < 1e-3, "{k}: {a} vs {b}");
        }
    }
    let types = schema(&pairs);
    let ty = |name: &str| types.iter().find(|t| t.0 == name).unwrap().1.clone();
    assert_eq!(
        (ty("probability"), ty("match_weight"), ty("overridden")),
        ("DOUBLE".into(), "DOUBLE".into(), "BOOLEAN".into())
    );

    // The golden export loads as a source of its own, and loading it again changes nothing.
    case.write(
        "mdm.toml",
        "[systems.GOLD]\ntrust = 9\nmapping = { golden_id = \"source_id\" }\n",
    );
    let g1 = case.ingest_customers("GOLD", &golden);
    let n = stored.len() as u64;
    assert_eq!(counts(&g1), (n, n, 0, 0, 0, 0), "{g1}");
    let g2 = case.ingest_customers("GOLD", &golden);
    assert_eq!(counts(&g2), (n, 0, 0, n, 0, 0), "{g2}");
}

/// A typed Parquet file through a column mapping: values become the text the rest of mdm
/// reads; a row with bytes that are not UTF-8 and a row with a nested value are quarantined
/// naming file, row and field, and the other rows load. Selected by `.parquet` or
/// `--format parquet`; a file that is not Parquet is refused with the reason.
fn typed_values_and_bad_rows(case: &Case) {
    case.write(
        "mdm.toml",
        "[systems.SAP]\ntrust = 1\nmapping = { KUNNR = \"source_id\", VORNAME = \"given_name\" }\n",
    );
    let bad_name = b"K\xF6ln".to_vec();
    let columns = [
        (
            "KUNNR",
            write::text(&[Some("K1"), Some("K2"), Some("K3"), Some("K4"), Some("K5")]),
        ),
        (
            "VORNAME",
            Col::Text(vec![
                Some(b"Anna".to_vec()),
                Some(b"Bernd".to_vec()),
                Some(bad_name),
                Some(b"Dora".to_vec()),
                None,
            ]),
        ),
        (
            "birth_date",
            Col::Date(vec![Some(3685), None, Some(0), Some(-1), Some(19_000)]),
        ),
        (
            "visits",
            Col::Int64(vec![Some(3), Some(-7), None, Some(0), Some(1 << 40)]),
        ),
        (
            "score",
            Col::Double(vec![Some(0.5), Some(2.0), None, None, Some(-1.25)]),
        ),
        (
            "vip",
            Col::Bool(vec![Some(true), Some(false), None, None, None]),
        ),
        (
            "balance",
            Col::Decimal(2, vec![Some(1250), Some(-5), None, None, Some(0)]),
        ),
        (
            "changed",
            Col::Timestamp(vec![Some(1_704_164_645_000_000), None, None, None, Some(1)]),
        ),
        (
            "tags",
            Col::List(vec![None, None, None, Some(vec!["a", "b"]), None]),
        ),
    ];
    // Row groups of 2 rows: row numbers run on across groups.
    let file = write::write(&case.path("kna1.parquet"), &columns, 2);
    let s = case.ingest_customers("SAP", &file);
    assert_eq!(counts(&s), (5, 3, 0, 0, 0, 2), "{s}");
    assert_eq!(
        case.attributes("SAP", "K1"),
        serde_json::json!({
            "given_name": "Anna", "birth_date": "1980-02-03", "visits": "3", "score": "0.5",
            "vip": "true", "balance": "12.50", "changed": "2024-01-02T03:04:05Z",
        })
    );
    assert_eq!(
        case.attributes("SAP", "K2"),
        serde_json::json!({
            "given_name": "Bernd", "visits": "-7", "score": "2", "vip": "false",
            "balance": "-0.05",
        }),
        "null is absent"
    );
    assert_eq!(
        case.attributes("SAP", "K5"),
        serde_json::json!({
            "birth_date": "2022-01-08", "visits": "1099511627776", "score": "-1.25",
            "balance": "0.00", "changed": "1970-01-01T00:00:00.000001Z",
        })
    );
    let batch = s["batch_id"].as_i64().unwrap();
    let q = mdm_store::quarantine::for_batch(&mut case.conn(), batch).unwrap();
    let got: Vec<_> = q
        .iter()
        .map(|r| {
            (
                r.source.as_str(),
                r.row_number,
                r.field.as_deref(),
                r.reason.as_str(),
            )
        })
        .collect();
    let label = file.display().to_string();
    assert_eq!(
        got,
        [
            (label.as_str(), 3, Some("VORNAME"), "invalid_utf8"),
            (label.as_str(), 4, Some("tags"), "invalid_value"),
        ]
    );
    assert!(q[0].detail.contains("not UTF-8"), "{}", q[0].detail);
    assert!(q[1].detail.contains("nested"), "{}", q[1].detail);
    let raw = q[0].raw.as_deref().unwrap();
    assert!(raw.contains("\"KUNNR\":\"K3\""), "{raw}");

    // Another name, chosen by --format: the same rows, nothing changes.
    let copy = case.path("kna1.extract");
    std::fs::copy(&file, &copy).unwrap();
    let s = case.ingest(&[
        "--domain",
        "customer",
        "--source",
        "SAP",
        "--format",
        "parquet",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(counts(&s), (5, 0, 0, 3, 0, 2), "{s}");

    let fake = case.write("not.parquet", "source_id,city\n1,Ulm\n");
    let err = run_err(case.mdm().args([
        "ingest",
        "--domain",
        "customer",
        "--source",
        "SAP",
        fake.to_str().unwrap(),
    ]));
    assert!(
        err.contains("not.parquet") && err.contains("not a readable Parquet file"),
        "{err}"
    );
}

/// `mdm match` on Parquet copies of generated CSV files writes the same clusters and pairs.
#[test]
fn match_on_parquet_equals_match_on_csv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(mdm_in(d).args([
        "generate",
        "--domain",
        "customer",
        "--entities",
        "300",
        "--seed",
        "3",
        "--out",
        "gen",
    ]));
    let run = |ext: &str| {
        let mut cmd = mdm_in(d);
        cmd.args(["match", "--domain", "customer"]);
        for s in ["ERP", "CRM", "MES"] {
            cmd.args(["--input", &format!("{s}=gen/{s}.{ext}")]);
        }
        let (out, pairs) = (format!("clusters_{ext}.csv"), format!("pairs_{ext}.csv"));
        run_ok(cmd.args(["--out", &out, "--pairs", &pairs]));
        let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
        (read(&out), read(&pairs))
    };
    for s in ["ERP", "CRM", "MES"] {
        let csv = d.join(format!("gen/{s}.csv"));
        write::from_csv(&csv, &d.join(format!("gen/{s}.parquet")), 64);
    }
    let (csv_clusters, csv_pairs) = run("csv");
    let (pq_clusters, pq_pairs) = run("parquet");
    let merged = csv_clusters
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split(',').collect();
            f[2] != format!("{}:{}", f[0], f[1])
        })
        .count();
    assert!(merged > 100, "{merged} records joined another's cluster");
    for (what, pq, csv) in [
        ("clusters", &pq_clusters, &csv_clusters),
        ("pairs", &pq_pairs, &csv_pairs),
    ] {
        let differ = pq.lines().zip(csv.lines()).find(|(a, b)| a != b);
        assert_eq!(
            differ, None,
            "{what}: first line that differs (Parquet, CSV)"
        );
        assert_eq!(pq.lines().count(), csv.lines().count(), "{what}: lines");
    }
    let err = text(
        &mdm_in(d)
            .args([
                "match",
                "--domain",
                "customer",
                "--input",
                "ERP=gen/ERP.parquet",
            ])
            .args(["--input", "CRM=gen/nope.parquet", "--out", "x.csv"])
            .output()
            .unwrap()
            .stderr,
    );
    assert!(err.contains("nope.parquet"), "{err}");
}
