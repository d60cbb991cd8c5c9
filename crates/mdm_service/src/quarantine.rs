//! Data-quality findings a steward can act on: the rows ingest quarantined, each with its
//! file, line, field, reason and raw text, listed, counted per system and reason, and
//! exported as CSV or NDJSON (`mdm quarantine`, `GET /v1/quality/...`, the console's Data
//! quality page). A row that several loads of the same file quarantined counts once
//! (`mdm_store::quarantine::QuarantineFilter`).

use crate::export::Format;
use crate::ServiceError;
use mdm_store::quarantine::{QuarantineFilter, QuarantinedRow};
use mdm_store::DbConnection;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// Rows read per query while exporting.
const PAGE: i64 = 1000;

/// One quarantined row as users see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: i64,
    pub batch_id: i64,
    pub domain: String,
    pub system: String,
    /// The file (or push) the row came from.
    pub source: String,
    /// The row's line in the file (1 is a CSV's header).
    pub line: i64,
    pub source_id: Option<String>,
    pub field: Option<String>,
    /// `malformed_row`, `invalid_utf8`, `invalid_value`, `missing_source_id`, ...
    pub reason: String,
    /// What is wrong, in words.
    pub detail: String,
    /// The row's text as read (capped).
    pub raw: Option<String>,
    /// RFC 3339, UTC.
    pub quarantined_at: String,
}

impl From<QuarantinedRow> for Finding {
    fn from(r: QuarantinedRow) -> Self {
        Finding {
            id: r.id,
            batch_id: r.batch_id,
            domain: r.domain,
            system: r.system,
            source: r.source,
            line: r.row_number,
            source_id: r.source_id,
            field: r.field,
            reason: r.reason,
            detail: r.detail,
            raw: r.raw,
            quarantined_at: r
                .quarantined_at
                .and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// Distinct quarantined rows per domain, system and reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub domain: String,
    pub system: String,
    pub reason: String,
    pub rows: i64,
}

/// Findings matching `f`, oldest first, at most `limit`.
pub fn list(
    conn: &mut DbConnection,
    f: &QuarantineFilter,
    limit: i64,
) -> Result<Vec<Finding>, ServiceError> {
    Ok(mdm_store::quarantine::list(conn, f, limit)?
        .into_iter()
        .map(Finding::from)
        .collect())
}

/// One finding by id.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Finding, ServiceError> {
    mdm_store::quarantine::get(conn, id)?
        .map(Finding::from)
        .ok_or_else(|| ServiceError::NotFound(format!("no quarantined row has id {id}")))
}

/// Counts per domain, system and reason, of one domain or all.
pub fn summary(
    conn: &mut DbConnection,
    domain: Option<&str>,
) -> Result<Vec<ReasonCount>, ServiceError> {
    Ok(mdm_store::quarantine::summary(conn, domain)?
        .into_iter()
        .map(|(domain, system, reason, rows)| ReasonCount {
            domain,
            system,
            reason,
            rows,
        })
        .collect())
}

const CSV_HEADER: [&str; 12] = [
    "id",
    "batch_id",
    "domain",
    "system",
    "source",
    "line",
    "source_id",
    "field",
    "reason",
    "detail",
    "raw",
    "quarantined_at",
];

/// Writes every finding matching `f` (page by page); returns the rows written.
pub fn export(
    conn: &mut DbConnection,
    f: &QuarantineFilter,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ServiceError> {
    let err = |e: &dyn std::fmt::Display| ServiceError::Invalid(format!("writing: {e}"));
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_HEADER).map_err(|e| err(&e))?;
            let n = each_page(conn, f, |r| w.write_record(csv_row(r)).map_err(|e| err(&e)))?;
            w.flush().map_err(|e| err(&e))?;
            Ok(n)
        }
        Format::Ndjson => each_page(conn, f, |r| {
            let line = serde_json::to_string(r).map_err(|e| err(&e))?;
            writeln!(out, "{line}").map_err(|e| err(&e))
        }),
    }
}

/// Calls `each` on every finding matching `f`, a page at a time; returns how many.
fn each_page(
    conn: &mut DbConnection,
    f: &QuarantineFilter,
    mut each: impl FnMut(&Finding) -> Result<(), ServiceError>,
) -> Result<u64, ServiceError> {
    let mut page = f.clone();
    let mut written = 0u64;
    loop {
        let rows = list(conn, &page, PAGE)?;
        for r in &rows {
            each(r)?;
        }
        written += rows.len() as u64;
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => page.after_id = Some(last.id),
            _ => return Ok(written),
        }
    }
}

fn csv_row(r: &Finding) -> [String; 12] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        r.id.to_string(),
        r.batch_id.to_string(),
        r.domain.clone(),
        r.system.clone(),
        r.source.clone(),
        r.line.to_string(),
        opt(&r.source_id),
        opt(&r.field),
        r.reason.clone(),
        r.detail.clone(),
        opt(&r.raw),
        r.quarantined_at.clone(),
    ]
}
