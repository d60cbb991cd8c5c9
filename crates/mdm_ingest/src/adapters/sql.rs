//! SQL pull adapter: runs a configured query against a source system's own PostgreSQL or
//! SQLite database. With a watermark column it pulls only rows whose watermark is at or
//! above the last one a completed load reached (`>=`, so rows sharing the boundary value are
//! read again; an identical re-load changes nothing, so this costs nothing and loses
//! nothing). Rows stream through a cursor; the source database is never written.
//!
//! Each row is turned into a JSON object first (PostgreSQL: `row_to_json`; SQLite: the
//! column values by their storage class), so values arrive as the NDJSON adapter's do.

use super::{json_object_fields, RecordSource, RowSink};
use crate::row::RawRow;
use crate::IngestError;
use diesel::deserialize::{self, QueryableByName};
use diesel::pg::PgRowByRowLoadingMode;
use diesel::row::{Field, NamedRow, Row};
use diesel::sqlite::{Sqlite, SqliteType};
use diesel::RunQueryDsl;
use mdm_store::DbConnection;
use serde_json::{Map, Value};

pub struct SqlSource {
    label: String,
    url: String,
    query: String,
    watermark_column: Option<String>,
    since: Option<Value>,
    high_watermark: Option<Value>,
}

impl SqlSource {
    /// `since` is a watermark as [`SqlSource::high_watermark`] returned it (JSON text).
    pub fn new(
        label: String,
        url: String,
        query: String,
        watermark_column: Option<String>,
        since: Option<&str>,
    ) -> Result<Self, IngestError> {
        let since = since
            .map(serde_json::from_str::<Value>)
            .transpose()
            .map_err(|e| IngestError::Sql {
                label: label.clone(),
                message: format!("stored watermark is unreadable: {e}"),
            })?;
        Ok(Self {
            label,
            url,
            query,
            watermark_column,
            since,
            high_watermark: None,
        })
    }

    /// The highest watermark value pulled, as JSON text to store and pass back as `since`.
    pub fn high_watermark(&self) -> Option<String> {
        self.high_watermark.as_ref().map(Value::to_string)
    }

    fn wrapped(&self, select: &str) -> Result<String, IngestError> {
        let query = self.query.trim().trim_end_matches(';');
        let mut sql = format!("SELECT {select} FROM ({query}) AS mdm_q");
        if let Some(col) = &self.watermark_column {
            let col = identifier(col);
            if let Some(since) = &self.since {
                sql.push_str(&format!(" WHERE mdm_q.{col} >= {}", self.literal(since)?));
            }
            sql.push_str(&format!(" ORDER BY mdm_q.{col}"));
        }
        Ok(sql)
    }

    fn literal(&self, v: &Value) -> Result<String, IngestError> {
        match v {
            Value::Number(n) => Ok(n.to_string()),
            Value::String(s) => Ok(format!("'{}'", s.replace('\'', "''"))),
            other => Err(IngestError::Sql {
                label: self.label.clone(),
                message: format!(
                    "watermark value of type {} cannot be compared",
                    json_type(other)
                ),
            }),
        }
    }

    fn track(&mut self, obj: &Map<String, Value>) {
        let Some(col) = &self.watermark_column else {
            return;
        };
        let found = obj.get(col).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(col))
                .map(|(_, v)| v)
        });
        if let Some(v) = found.filter(|v| !v.is_null()) {
            // Rows arrive ordered by the watermark, so the last non-null value is the highest.
            self.high_watermark = Some(v.clone());
        }
    }

    fn emit(
        &mut self,
        number: u64,
        obj: Map<String, Value>,
        sink: &mut RowSink<'_>,
    ) -> Result<(), IngestError> {
        self.track(&obj);
        sink(RawRow {
            number,
            content: Ok(json_object_fields(obj)),
        })
    }

    fn sql_err(&self, e: impl std::fmt::Display) -> IngestError {
        IngestError::Sql {
            label: self.label.clone(),
            message: e.to_string(),
        }
    }
}

impl RecordSource for SqlSource {
    fn label(&self) -> &str {
        &self.label
    }

    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        let mut conn = mdm_store::connect(&self.url)?;
        let mut number = 0u64;
        match &mut conn {
            DbConnection::Pg(c) => {
                let sql = self.wrapped("row_to_json(mdm_q)::text AS mdm_row")?;
                let rows = diesel::sql_query(sql)
                    .load_iter::<PgJsonRow, PgRowByRowLoadingMode>(c)
                    .map_err(|e| self.sql_err(e))?;
                for row in rows {
                    let row = row.map_err(|e| self.sql_err(e))?;
                    let obj = serde_json::from_str::<Map<String, Value>>(&row.mdm_row)
                        .map_err(|e| self.sql_err(e))?;
                    number += 1;
                    self.emit(number, obj, sink)?;
                }
            }
            DbConnection::Sqlite(c) => {
                let sql = self.wrapped("*")?;
                let rows = diesel::sql_query(sql)
                    .load_iter::<SqliteDynRow, diesel::connection::DefaultLoadingMode>(c)
                    .map_err(|e| self.sql_err(e))?;
                for row in rows {
                    let row = row.map_err(|e| self.sql_err(e))?;
                    number += 1;
                    self.emit(number, row.0, sink)?;
                }
            }
        }
        Ok(())
    }
}

/// A plain identifier is left unquoted (so PostgreSQL folds its case as the query did);
/// anything else is quoted.
fn identifier(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[derive(diesel::QueryableByName)]
struct PgJsonRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    mdm_row: String,
}

/// Any SQLite result row, as a JSON object of its columns.
struct SqliteDynRow(Map<String, Value>);

impl QueryableByName<Sqlite> for SqliteDynRow {
    fn build<'a>(row: &impl NamedRow<'a, Sqlite>) -> deserialize::Result<Self> {
        let mut obj = Map::new();
        for i in 0..Row::field_count(row) {
            let Some(field) = Row::get(row, i) else {
                continue;
            };
            let name = field.field_name().unwrap_or("").to_string();
            let value = match field.value() {
                None => Value::Null,
                Some(mut v) => match v.value_type() {
                    Some(SqliteType::Long | SqliteType::Integer | SqliteType::SmallInt) => {
                        Value::from(v.read_long())
                    }
                    Some(SqliteType::Double | SqliteType::Float) => {
                        serde_json::Number::from_f64(v.read_double())
                            .map_or(Value::Null, Value::Number)
                    }
                    Some(SqliteType::Binary) => Value::String(hex::encode(v.read_blob())),
                    Some(SqliteType::Text) => Value::String(v.read_text().to_string()),
                    None => Value::Null,
                },
            };
            obj.insert(name, value);
        }
        Ok(SqliteDynRow(obj))
    }
}
