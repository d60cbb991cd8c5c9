//! `mdm export golden|xref|pairs --format parquet`: the same rows as the CSV export, in
//! typed Parquet columns where the type is plain (text; the last change as a UTC
//! timestamp; probability and weight as doubles), streamed page by page from the store and
//! written a row group at a time (`table`), so memory does not grow with the domain.

use super::table::{ColType, TableWriter, Value};
use super::{for_each_golden, for_each_pair, for_each_xref};
use crate::ServiceError;
use mdm_core::DomainRules;
use mdm_store::DbConnection;
use std::io::Write;

fn parquet_err(e: parquet::errors::ParquetError) -> ServiceError {
    ServiceError::Invalid(format!("writing Parquet: {e}"))
}

fn micros(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

const TEXT: ColType = ColType::Text { required: true };
const MAYBE_TEXT: ColType = ColType::Text { required: false };

/// `golden_id`, the domain's attributes (null where the record has none) and `updated_at`.
pub fn golden<W: Write + Send>(
    conn: &mut DbConnection,
    rules: &DomainRules,
    out: W,
) -> Result<u64, ServiceError> {
    let names: Vec<&str> = rules.attributes.iter().map(|a| a.name.as_str()).collect();
    let mut columns = vec![("golden_id", TEXT)];
    columns.extend(names.iter().map(|n| (*n, MAYBE_TEXT)));
    columns.push(("updated_at", ColType::Timestamp));
    let mut w = TableWriter::new(out, &columns).map_err(parquet_err)?;
    for_each_golden(conn, &rules.domain, |g, attrs| {
        // Text as the CSV export writes it: strings as they are, other JSON as JSON.
        let texts: Vec<Option<String>> = names
            .iter()
            .map(|a| match attrs.get(*a) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Null) | None => None,
                Some(v) => Some(v.to_string()),
            })
            .collect();
        let mut row = Vec::with_capacity(columns.len());
        row.push(Value::Text(Some(g.golden_id.as_str())));
        row.extend(texts.iter().map(|t| Value::Text(t.as_deref())));
        row.push(Value::Timestamp(micros(g.updated_at)));
        w.push(&row).map_err(parquet_err)
    })?;
    w.finish().map_err(parquet_err)
}

/// `source_system`, `source_id`, `golden_id` and `updated_at` of every xref row.
pub fn xref<W: Write + Send>(
    conn: &mut DbConnection,
    domain: &str,
    out: W,
) -> Result<u64, ServiceError> {
    let columns = [
        ("source_system", TEXT),
        ("source_id", TEXT),
        ("golden_id", TEXT),
        ("updated_at", ColType::Timestamp),
    ];
    let mut w = TableWriter::new(out, &columns).map_err(parquet_err)?;
    for_each_xref(conn, domain, |x| {
        w.push(&[
            Value::Text(Some(x.system.as_str())),
            Value::Text(Some(x.source_id.as_str())),
            Value::Text(Some(x.golden_id.as_str())),
            Value::Timestamp(micros(x.updated_at)),
        ])
        .map_err(parquet_err)
    })?;
    w.finish().map_err(parquet_err)
}

/// The last run's kept scored pairs: both records, decision, probability, match weight
/// and whether an override decided.
pub fn pairs<W: Write + Send>(
    conn: &mut DbConnection,
    domain: &str,
    out: W,
) -> Result<u64, ServiceError> {
    let columns = [
        ("left_system", TEXT),
        ("left_id", TEXT),
        ("right_system", TEXT),
        ("right_id", TEXT),
        ("decision", TEXT),
        ("probability", ColType::Double),
        ("match_weight", ColType::Double),
        ("overridden", ColType::Bool),
    ];
    let mut w = TableWriter::new(out, &columns).map_err(parquet_err)?;
    for_each_pair(conn, domain, |p| {
        w.push(&[
            Value::Text(Some(p.left.0.as_str())),
            Value::Text(Some(p.left.1.as_str())),
            Value::Text(Some(p.right.0.as_str())),
            Value::Text(Some(p.right.1.as_str())),
            Value::Text(Some(p.row.decision.as_str())),
            Value::Double(p.row.probability),
            Value::Double(p.row.weight),
            Value::Bool(p.row.overridden),
        ])
        .map_err(parquet_err)
    })?;
    w.finish().map_err(parquet_err)
}
