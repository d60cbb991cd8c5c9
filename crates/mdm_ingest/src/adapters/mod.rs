//! Source adapters: each turns one kind of input into [`RawRow`]s, in input order.
//!
//! Adapters push rows into a sink rather than returning an iterator, so an adapter that
//! borrows a database cursor (the SQL pull) fits the same shape as a file reader.

mod csv_file;
mod csv_recover;
mod csv_tap;
mod json_array;
mod lines;
mod ndjson;
mod parquet;
mod sql;

pub use self::parquet::ParquetSource;
pub use csv_file::{CsvOptions, CsvSource};
pub use json_array::JsonArraySource;
pub use lines::DEFAULT_MAX_LINE_BYTES;
pub use ndjson::NdjsonSource;
pub use sql::SqlSource;

use crate::row::{ColumnName, RawRow};
use crate::IngestError;

/// The sink adapters push rows into; an error from it stops the adapter.
pub type RowSink<'a> = dyn FnMut(RawRow) -> Result<(), IngestError> + 'a;

pub trait RecordSource {
    /// Where the rows come from, as batches and quarantine entries show it (a file path,
    /// `sql:ERP`, `http:ERP`).
    fn label(&self) -> &str;

    /// The columns, when the input declares them up front (a CSV header).
    fn columns(&self) -> Option<&[ColumnName]> {
        None
    }

    /// Pushes every row, in order, into `sink`.
    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError>;
}

/// A JSON object's members as text fields: strings as they are, numbers and booleans in
/// their JSON spelling, null as absent, arrays and objects as compact JSON.
pub(crate) fn json_object_fields(
    obj: serde_json::Map<String, serde_json::Value>,
) -> Vec<(ColumnName, String)> {
    obj.into_iter()
        .filter_map(|(k, v)| json_value_text(v).map(|v| (ColumnName::from(k), v)))
        .collect()
}

pub(crate) fn json_value_text(v: serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other @ (Value::Array(_) | Value::Object(_)) => Some(other.to_string()),
    }
}

/// Caps raw text kept in quarantine, so one giant broken line cannot bloat the store, and
/// shows a NUL character as `␀` (U+2400), since PostgreSQL text cannot hold U+0000.
pub(crate) fn cap_raw(s: String) -> String {
    const MAX: usize = 16 * 1024;
    let mut s = if s.contains('\0') {
        s.replace('\0', "\u{2400}")
    } else {
        s
    };
    if s.len() > MAX {
        let mut cut = MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("…[truncated]");
    }
    s
}
