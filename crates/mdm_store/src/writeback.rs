//! Writing golden IDs back into a table of a source system's own database (SQLite or
//! PostgreSQL): one row per source record, keyed by the source's ID, holding its golden ID
//! and optionally golden values. The write-back job (`mdm_service::writeback`) decides what
//! to write; this module only checks the table and writes rows, one transaction per batch.
//!
//! Table and column names come from configuration, so they cannot be bound as parameters:
//! [`Ident`] accepts plain identifiers only (letters, digits, `_`), and every name is written
//! double-quoted, so a name can neither inject SQL nor be folded to another case. Values are
//! always bound.
//!
//! Idempotence lives in the SQL: an upsert changes a row only when its golden ID or a value
//! differs (`IS DISTINCT FROM`), so re-applying a batch reports 0 rows written and leaves
//! the rows (and any trigger on them) untouched.

use crate::{DbConnection, StoreError};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text};

/// Rows per statement on SQLite: (2 + values) parameters each, under its 32,766 bound.
const SQLITE_ROWS: usize = 500;
/// Rows per statement on PostgreSQL (one array per column).
const PG_ROWS: usize = 5_000;

/// A plain SQL identifier: an ASCII letter or `_`, then letters, digits or `_`, at most 63
/// characters (PostgreSQL's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident(String);

impl Ident {
    pub fn parse(raw: &str) -> Result<Self, WritebackError> {
        let ok = !raw.is_empty()
            && raw.len() <= 63
            && raw.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(WritebackError::BadIdentifier(raw.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Double-quoted; safe because [`Ident::parse`] admits no quote.
    fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

impl std::fmt::Display for Ident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where one system's golden IDs go: `[schema.]table`, the column of the source's own ID
/// (unique: the upsert's conflict target), the golden ID's column, and golden attribute ->
/// column for values the source wants back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetTable {
    pub schema: Option<Ident>,
    pub table: Ident,
    pub source_id: Ident,
    pub golden_id: Ident,
    pub values: Vec<(String, Ident)>,
}

impl TargetTable {
    /// `table` may be `schema.table`.
    pub fn parse_table(raw: &str) -> Result<(Option<Ident>, Ident), WritebackError> {
        match raw.split_once('.') {
            Some((s, t)) => Ok((Some(Ident::parse(s)?), Ident::parse(t)?)),
            None => Ok((None, Ident::parse(raw)?)),
        }
    }

    pub fn name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.table),
            None => self.table.to_string(),
        }
    }

    fn quoted_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", s.quoted(), self.table.quoted()),
            None => self.table.quoted(),
        }
    }

    /// Source ID, golden ID, then the value columns: the order of [`TargetRow`]'s fields.
    fn columns(&self) -> Vec<&Ident> {
        let mut c = vec![&self.source_id, &self.golden_id];
        c.extend(self.values.iter().map(|(_, col)| col));
        c
    }

    /// Columns set on a write or cleared on a removal (all but the source ID).
    fn written(&self) -> Vec<&Ident> {
        self.columns().into_iter().skip(1).collect()
    }
}

/// One source record's row as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub source_id: String,
    pub golden_id: String,
    /// In the order of [`TargetTable::values`]; `None` writes NULL.
    pub values: Vec<Option<String>>,
}

/// What happens to the row of a source record the hub no longer holds (it was deleted in
/// the source): its golden ID and values set to NULL, or the row deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnRemoved {
    #[default]
    Clear,
    Delete,
}

/// Rows one batch changed in the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    /// Rows inserted or updated (rows already as they should be are not counted).
    pub written: u64,
    /// Rows cleared or deleted.
    pub removed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum WritebackError {
    #[error("`{0}` is not a plain SQL identifier (letters, digits and _, not starting with a digit, at most 63)")]
    BadIdentifier(String),
    #[error(
        "write-back table {0} does not exist (create it, or run `mdm publish --create-table`)"
    )]
    MissingTable(String),
    #[error("write-back table {table} has no column {columns} (names are matched exactly, case included)")]
    MissingColumns { table: String, columns: String },
    #[error("write-back table {table} needs a primary key or unique index on {column}, the source ID the rows are upserted by")]
    NotUnique { table: String, column: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for WritebackError {
    fn from(e: diesel::result::Error) -> Self {
        WritebackError::Store(e.into())
    }
}

#[derive(QueryableByName)]
struct ColumnInfo {
    #[diesel(sql_type = Text)]
    name: String,
    /// The column's SQL type on PostgreSQL (`format_type`), empty on SQLite.
    #[diesel(sql_type = Text)]
    sql_type: String,
}

/// The target's column types, checked against the table: every configured column exists
/// (else an error naming the table or the missing columns). On PostgreSQL the types are
/// what bound text is cast to, so a source ID column may be an integer or a UUID.
#[derive(Debug, Clone)]
pub struct CheckedTarget {
    pub target: TargetTable,
    /// Per column of [`TargetTable::columns`]: its PostgreSQL type (`text` on SQLite).
    types: Vec<String>,
}

/// Checks the target table, creating it first when `create` and it is missing (source ID
/// `TEXT PRIMARY KEY`, golden ID and values `TEXT`, an index on the golden ID, which the
/// job looks rows up by).
pub fn check(
    conn: &mut DbConnection,
    target: &TargetTable,
    create: bool,
) -> Result<CheckedTarget, WritebackError> {
    let mut found = columns_of(conn, target)?;
    if found.is_empty() && create {
        create_table(conn, target)?;
        found = columns_of(conn, target)?;
    }
    if found.is_empty() {
        return Err(WritebackError::MissingTable(target.name()));
    }
    let mut types = Vec::new();
    let mut missing = Vec::new();
    for col in target.columns() {
        match found.iter().find(|c| c.name == col.as_str()) {
            Some(c) if c.sql_type.is_empty() => types.push("text".to_string()),
            Some(c) => types.push(c.sql_type.clone()),
            None => missing.push(col.to_string()),
        }
    }
    if !missing.is_empty() {
        return Err(WritebackError::MissingColumns {
            table: target.name(),
            columns: missing.join(", "),
        });
    }
    Ok(CheckedTarget {
        target: target.clone(),
        types,
    })
}

fn columns_of(
    conn: &mut DbConnection,
    target: &TargetTable,
) -> Result<Vec<ColumnInfo>, WritebackError> {
    Ok(match conn {
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS sql_type \
             FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
        )
        .bind::<Text, _>(target.quoted_name())
        .load(c)?,
        DbConnection::Sqlite(c) => {
            diesel::sql_query("SELECT name, '' AS sql_type FROM pragma_table_info(?, ?)")
                .bind::<Text, _>(target.table.as_str())
                .bind::<Text, _>(target.schema.as_ref().map_or("main", Ident::as_str))
                .load(c)?
        }
    })
}

fn create_table(conn: &mut DbConnection, t: &TargetTable) -> Result<(), WritebackError> {
    let mut cols = vec![format!("{} TEXT PRIMARY KEY", t.source_id.quoted())];
    cols.extend(t.written().iter().map(|c| format!("{} TEXT", c.quoted())));
    let index = Ident(
        format!("{}_{}_idx", t.table, t.golden_id)
            .chars()
            .take(63)
            .collect(),
    );
    // SQLite names an index's schema on the index, PostgreSQL puts it in the table's.
    let (index, on) = match (conn.backend(), &t.schema) {
        (crate::Backend::Sqlite, Some(s)) => (
            format!("{}.{}", s.quoted(), index.quoted()),
            t.table.quoted(),
        ),
        _ => (index.quoted(), t.quoted_name()),
    };
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} ({}); CREATE INDEX IF NOT EXISTS {index} ON {on} ({})",
        t.quoted_name(),
        cols.join(", "),
        t.golden_id.quoted()
    );
    crate::on_backend!(conn, c => c.batch_execute(&sql))?;
    Ok(())
}

#[derive(QueryableByName)]
struct Pointing {
    #[diesel(sql_type = Text)]
    source_id: String,
    #[diesel(sql_type = Text)]
    golden_id: String,
}

/// Rows whose golden ID is one of `golden_ids`: (source ID, golden ID). The job compares
/// them with the hub to find rows whose source record moved or went away.
pub fn rows_pointing_at(
    conn: &mut DbConnection,
    t: &CheckedTarget,
    golden_ids: &[&str],
) -> Result<Vec<(String, String)>, WritebackError> {
    let (s, g) = (t.target.source_id.quoted(), t.target.golden_id.quoted());
    let table = t.target.quoted_name();
    let mut out = Vec::new();
    match conn {
        DbConnection::Pg(c) => {
            let sql = format!(
                "SELECT CAST({s} AS text) AS source_id, CAST({g} AS text) AS golden_id \
                 FROM {table} WHERE {g} = ANY(CAST(CAST($1 AS text[]) AS {}[]))",
                t.types[1]
            );
            for part in golden_ids.chunks(PG_ROWS) {
                let rows: Vec<Pointing> = diesel::sql_query(&sql)
                    .bind::<Array<Text>, _>(part)
                    .load(c)?;
                out.extend(rows.into_iter().map(|r| (r.source_id, r.golden_id)));
            }
        }
        DbConnection::Sqlite(c) => {
            for part in golden_ids.chunks(SQLITE_ROWS) {
                let sql = format!(
                    "SELECT CAST({s} AS TEXT) AS source_id, CAST({g} AS TEXT) AS golden_id \
                     FROM {table} WHERE {g} IN ({})",
                    vec!["?"; part.len()].join(", ")
                );
                let q = part.iter().fold(
                    diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>(),
                    |q, id| q.bind::<Text, _>(*id),
                );
                let rows: Vec<Pointing> = q.load(c)?;
                out.extend(rows.into_iter().map(|r| (r.source_id, r.golden_id)));
            }
        }
    }
    Ok(out)
}

/// Upserts `rows` and removes the rows of `removed` source IDs, in one transaction: the
/// target holds the whole batch or none of it.
pub fn apply(
    conn: &mut DbConnection,
    t: &CheckedTarget,
    rows: &[TargetRow],
    removed: &[String],
    on_removed: OnRemoved,
) -> Result<Applied, WritebackError> {
    let result = conn.write_transaction(|c| {
        let written = upsert(c, t, rows)?;
        let removed = remove(c, t, removed, on_removed)?;
        Ok::<_, diesel::result::Error>(Applied { written, removed })
    });
    result.map_err(|e| match e {
        diesel::result::Error::DatabaseError(_, ref info)
            if info.message().contains("ON CONFLICT") =>
        {
            WritebackError::NotUnique {
                table: t.target.name(),
                column: t.target.source_id.to_string(),
            }
        }
        other => other.into(),
    })
}

/// `SET col = EXCLUDED.col, ... WHERE <some column differs>`.
fn upsert_tail(t: &TargetTable, distinct: &str) -> String {
    let written = t.written();
    let set: Vec<String> = written
        .iter()
        .map(|c| format!("{0} = EXCLUDED.{0}", c.quoted()))
        .collect();
    let differs: Vec<String> = written
        .iter()
        .map(|c| format!("mdm_target.{0} {distinct} EXCLUDED.{0}", c.quoted()))
        .collect();
    format!(
        "ON CONFLICT ({}) DO UPDATE SET {} WHERE {}",
        t.source_id.quoted(),
        set.join(", "),
        differs.join(" OR ")
    )
}

fn upsert(
    conn: &mut DbConnection,
    t: &CheckedTarget,
    rows: &[TargetRow],
) -> diesel::QueryResult<u64> {
    let cols: Vec<String> = t.target.columns().iter().map(|c| c.quoted()).collect();
    let head = format!(
        "INSERT INTO {} AS mdm_target ({})",
        t.target.quoted_name(),
        cols.join(", ")
    );
    let mut n = 0;
    match conn {
        DbConnection::Pg(c) => {
            let args: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let casts: Vec<String> = t
                .types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("CAST(v.c{i} AS {ty})"))
                .collect();
            let names: Vec<String> = (0..cols.len()).map(|i| format!("c{i}")).collect();
            let sql = format!(
                "{head} SELECT {} FROM unnest({}) AS v({}) {}",
                casts.join(", "),
                args.join(", "),
                names.join(", "),
                upsert_tail(&t.target, "IS DISTINCT FROM")
            );
            for part in rows.chunks(PG_ROWS) {
                let mut q = diesel::sql_query(&sql)
                    .into_boxed::<diesel::pg::Pg>()
                    .bind::<Array<Text>, _>(
                        part.iter().map(|r| r.source_id.clone()).collect::<Vec<_>>(),
                    )
                    .bind::<Array<Text>, _>(
                        part.iter().map(|r| r.golden_id.clone()).collect::<Vec<_>>(),
                    );
                for i in 0..t.target.values.len() {
                    let col: Vec<Option<String>> = part
                        .iter()
                        .map(|r| r.values.get(i).cloned().flatten())
                        .collect();
                    q = q.bind::<Array<Nullable<Text>>, _>(col);
                }
                n += q.execute(c)? as u64;
            }
        }
        DbConnection::Sqlite(c) => {
            for part in rows.chunks(SQLITE_ROWS) {
                let sql = format!(
                    "{head} VALUES {} {}",
                    crate::values::placeholders(part.len(), cols.len()),
                    upsert_tail(&t.target, "IS NOT")
                );
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
                for r in part {
                    q = q
                        .bind::<Text, _>(&r.source_id)
                        .bind::<Text, _>(&r.golden_id);
                    for i in 0..t.target.values.len() {
                        q = q.bind::<Nullable<Text>, _>(r.values.get(i).cloned().flatten());
                    }
                }
                n += q.execute(c)? as u64;
            }
        }
    }
    Ok(n)
}

fn remove(
    conn: &mut DbConnection,
    t: &CheckedTarget,
    source_ids: &[String],
    on_removed: OnRemoved,
) -> diesel::QueryResult<u64> {
    if source_ids.is_empty() {
        return Ok(0);
    }
    let table = t.target.quoted_name();
    let s = t.target.source_id.quoted();
    // Clearing skips rows already cleared, so a re-run counts (and writes) nothing.
    let action = match on_removed {
        OnRemoved::Delete => format!("DELETE FROM {table} WHERE"),
        OnRemoved::Clear => {
            let set: Vec<String> = t
                .target
                .written()
                .iter()
                .map(|c| format!("{} = NULL", c.quoted()))
                .collect();
            format!(
                "UPDATE {table} SET {} WHERE {} IS NOT NULL AND",
                set.join(", "),
                t.target.golden_id.quoted()
            )
        }
    };
    let mut n = 0;
    match conn {
        DbConnection::Pg(c) => {
            let sql = format!(
                "{action} {s} = ANY(CAST(CAST($1 AS text[]) AS {}[]))",
                t.types[0]
            );
            for part in source_ids.chunks(PG_ROWS) {
                n += diesel::sql_query(&sql)
                    .bind::<Array<Text>, _>(part)
                    .execute(c)? as u64;
            }
        }
        DbConnection::Sqlite(c) => {
            for part in source_ids.chunks(SQLITE_ROWS) {
                let sql = format!("{action} {s} IN ({})", vec!["?"; part.len()].join(", "));
                let q = part.iter().fold(
                    diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>(),
                    |q, id| q.bind::<Text, _>(id),
                );
                n += q.execute(c)? as u64;
            }
        }
    }
    Ok(n)
}

/// Opens the target database: connects without migrating (it is the source's database, not
/// mdm's) and, on SQLite, waits for the source's own writers instead of failing at once.
pub fn connect_target(url: &str) -> Result<DbConnection, StoreError> {
    let mut conn = crate::connect(url)?;
    if let DbConnection::Sqlite(c) = &mut conn {
        c.batch_execute("PRAGMA busy_timeout = 10000")?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_plain() {
        for ok in ["kna1", "_x", "MDM_ID", "a1"] {
            assert!(Ident::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "a b",
            "a\"b",
            "a;drop",
            "a-b",
            "ä",
            &"x".repeat(64),
        ] {
            assert!(Ident::parse(bad).is_err(), "{bad}");
        }
        let (s, t) = TargetTable::parse_table("erp.kna1").unwrap();
        assert_eq!((s.unwrap().as_str(), t.as_str()), ("erp", "kna1"));
        assert!(TargetTable::parse_table("erp.kna1.x").is_err());
    }
}
