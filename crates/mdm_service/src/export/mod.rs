//! `mdm export xref|golden`: the cross-reference (`source_system,source_id,golden_id`) or
//! the active golden records (`golden_id` and the domain's canonical attributes), as CSV or
//! NDJSON, streamed page by page.

use crate::ServiceError;
use mdm_core::DomainRules;
use mdm_store::DbConnection;
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
    let rows = mdm_store::xref::load(conn, domain)?;
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["source_system", "source_id", "golden_id"])
                .map_err(csv_err)?;
            for x in &rows {
                w.write_record([&x.system, &x.source_id, &x.golden_id])
                    .map_err(csv_err)?;
            }
            w.flush().map_err(io_err)?;
        }
        Format::Ndjson => {
            for x in &rows {
                let line = serde_json::json!({
                    "source_system": x.system,
                    "source_id": x.source_id,
                    "golden_id": x.golden_id,
                });
                writeln!(out, "{line}").map_err(io_err)?;
            }
        }
    }
    Ok(rows.len() as u64)
}

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
            let n = for_each_golden(conn, &rules.domain, |id, attrs| {
                let mut row = vec![id.to_string()];
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
        Format::Ndjson => for_each_golden(conn, &rules.domain, |id, attrs| {
            let mut obj = serde_json::Map::new();
            obj.insert("golden_id".into(), id.into());
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

/// Calls `f(golden_id, attributes)` for every active golden record, in ID order.
fn for_each_golden(
    conn: &mut DbConnection,
    domain: &str,
    mut f: impl FnMut(&str, &Attrs) -> Result<(), ServiceError>,
) -> Result<u64, ServiceError> {
    const PAGE: i64 = 10_000;
    let mut after: Option<String> = None;
    let mut n = 0u64;
    loop {
        let page = mdm_store::golden::list(conn, domain, "active", after.as_deref(), PAGE)?;
        for g in &page {
            let attrs: Attrs = serde_json::from_str(&g.attributes)
                .map_err(|e| ServiceError::Corrupt(format!("golden {}: {e}", g.golden_id)))?;
            f(&g.golden_id, &attrs)?;
            n += 1;
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.golden_id.clone()),
            _ => return Ok(n),
        }
    }
}
