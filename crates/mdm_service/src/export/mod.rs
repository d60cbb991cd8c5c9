//! `mdm export xref|golden|pairs`: the cross-reference (`source_system,source_id,golden_id`),
//! the active golden records (`golden_id` and the domain's canonical attributes) or the last
//! run's kept scored pairs, as CSV or NDJSON here and as Parquet in [`parquet`], streamed
//! page by page.

pub mod parquet;
mod table;

use crate::ServiceError;
use mdm_core::DomainRules;
use mdm_store::golden::GoldenRecord;
use mdm_store::matchstate::PairRow;
use mdm_store::xref::XrefRow;
use mdm_store::DbConnection;
use std::collections::HashMap;
use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    /// From a file name: `.ndjson` / `.jsonl` is NDJSON, anything else CSV.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ndjson" | "jsonl" | "json") => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

fn csv_err(e: csv::Error) -> ServiceError {
    ServiceError::Invalid(format!("writing CSV: {e}"))
}

fn io_err(e: std::io::Error) -> ServiceError {
    ServiceError::Io {
        path: "<export>".into(),
        error: e,
    }
}

/// Writes every xref row of `domain`; returns the rows written.
pub fn xref(
    conn: &mut DbConnection,
    domain: &str,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ServiceError> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["source_system", "source_id", "golden_id"])
                .map_err(csv_err)?;
            let n = for_each_xref(conn, domain, |x| {
                w.write_record([&x.system, &x.source_id, &x.golden_id])
                    .map_err(csv_err)
            })?;
            w.flush().map_err(io_err)?;
            Ok(n)
        }
        Format::Ndjson => for_each_xref(conn, domain, |x| {
            let line = serde_json::json!({
                "source_system": x.system,
                "source_id": x.source_id,
                "golden_id": x.golden_id,
            });
            writeln!(out, "{line}").map_err(io_err)
        }),
    }
}

/// Writes the kept scored pairs of `domain`'s last run; returns the pairs written.
pub fn pairs(
    conn: &mut DbConnection,
    domain: &str,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ServiceError> {
    let prob = |p: &Pair| format!("{:.6}", p.row.probability);
    let weight = |p: &Pair| format!("{:.3}", p.row.weight);
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(PAIR_COLUMNS).map_err(csv_err)?;
            let n = for_each_pair(conn, domain, |p| {
                let overridden = p.row.overridden.to_string();
                w.write_record([
                    &p.left.0,
                    &p.left.1,
                    &p.right.0,
                    &p.right.1,
                    &p.row.decision,
                    &prob(p),
                    &weight(p),
                    &overridden,
                ])
                .map_err(csv_err)
            })?;
            w.flush().map_err(io_err)?;
            Ok(n)
        }
        Format::Ndjson => for_each_pair(conn, domain, |p| {
            let line = serde_json::json!({
                "left_system": p.left.0,
                "left_id": p.left.1,
                "right_system": p.right.0,
                "right_id": p.right.1,
                "decision": p.row.decision,
                "probability": p.row.probability,
                "match_weight": p.row.weight,
                "overridden": p.row.overridden,
            });
            writeln!(out, "{line}").map_err(io_err)
        }),
    }
}

const PAIR_COLUMNS: [&str; 8] = [
    "left_system",
    "left_id",
    "right_system",
    "right_id",
    "decision",
    "probability",
    "match_weight",
    "overridden",
];

/// Writes every active golden record of the rules' domain; returns the records written.
pub fn golden(
    conn: &mut DbConnection,
    rules: &DomainRules,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ServiceError> {
    let names: Vec<&str> = rules.attributes.iter().map(|a| a.name.as_str()).collect();
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            let mut header = vec!["golden_id"];
            header.extend(&names);
            w.write_record(&header).map_err(csv_err)?;
            let n = for_each_golden(conn, &rules.domain, |g, attrs| {
                let mut row = vec![g.golden_id.clone()];
                row.extend(names.iter().map(|a| match attrs.get(*a) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                }));
                w.write_record(&row).map_err(csv_err)
            })?;
            w.flush().map_err(io_err)?;
            Ok(n)
        }
        Format::Ndjson => for_each_golden(conn, &rules.domain, |g, attrs| {
            let mut obj = serde_json::Map::new();
            obj.insert("golden_id".into(), g.golden_id.clone().into());
            for a in &names {
                if let Some(v) = attrs.get(*a) {
                    obj.insert((*a).to_string(), v.clone());
                }
            }
            writeln!(out, "{}", serde_json::Value::Object(obj)).map_err(io_err)
        }),
    }
}

type Attrs = serde_json::Map<String, serde_json::Value>;

const PAGE: i64 = 10_000;

/// Calls `f(record, attributes)` for every active golden record, in ID order.
fn for_each_golden(
    conn: &mut DbConnection,
    domain: &str,
    mut f: impl FnMut(&GoldenRecord, &Attrs) -> Result<(), ServiceError>,
) -> Result<u64, ServiceError> {
    let mut after: Option<String> = None;
    let mut n = 0u64;
    loop {
        let page = mdm_store::golden::list(conn, domain, "active", after.as_deref(), PAGE)?;
        for g in &page {
            let attrs: Attrs = serde_json::from_str(&g.attributes)
                .map_err(|e| ServiceError::Corrupt(format!("golden {}: {e}", g.golden_id)))?;
            f(g, &attrs)?;
            n += 1;
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.golden_id.clone()),
            _ => return Ok(n),
        }
    }
}

/// Calls `f` for every xref row of `domain`, in (system, source_id) order, a page at a time.
fn for_each_xref(
    conn: &mut DbConnection,
    domain: &str,
    mut f: impl FnMut(&XrefRow) -> Result<(), ServiceError>,
) -> Result<u64, ServiceError> {
    let mut after: Option<(String, String)> = None;
    let mut n = 0u64;
    loop {
        let key = after.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
        let page = mdm_store::xref::page(conn, domain, key, PAGE)?;
        for x in &page {
            f(x)?;
            n += 1;
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => {
                after = Some((last.system.clone(), last.source_id.clone()))
            }
            _ => return Ok(n),
        }
    }
}

/// A kept pair with both records' (system, source_id).
struct Pair {
    row: PairRow,
    left: (String, String),
    right: (String, String),
}

/// Calls `f` for every kept pair of `domain` whose two staged versions are still stored,
/// in key order, a page at a time.
fn for_each_pair(
    conn: &mut DbConnection,
    domain: &str,
    mut f: impl FnMut(&Pair) -> Result<(), ServiceError>,
) -> Result<u64, ServiceError> {
    let mut after = None;
    let mut n = 0u64;
    loop {
        let page = mdm_store::matchstate::pairs_page(conn, domain, after, PAGE)?;
        let mut ids: Vec<i64> = page
            .iter()
            .flat_map(|p| [p.a_staging_id, p.b_staging_id])
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let keys: HashMap<i64, (String, String)> =
            mdm_store::matchstate::versions_by_id(conn, &ids)?
                .into_iter()
                .map(|r| (r.id, (r.system, r.source_id)))
                .collect();
        let full = page.len() as i64 == PAGE;
        after = page.last().map(|p| (p.a_staging_id, p.b_staging_id));
        for row in page {
            let (Some(left), Some(right)) =
                (keys.get(&row.a_staging_id), keys.get(&row.b_staging_id))
            else {
                continue;
            };
            let pair = Pair {
                left: left.clone(),
                right: right.clone(),
                row,
            };
            f(&pair)?;
            n += 1;
        }
        if !full {
            return Ok(n);
        }
    }
}
