//! Many rows in one statement: on SQLite the row list `(?, ?, ...), (?, ?, ...)` of an
//! `UPDATE ... FROM (VALUES ...)`, on PostgreSQL one array per column read with `unnest`.

/// Rows per statement: well under SQLite's 32,766 bound parameters for the tables here.
pub const ROWS_PER_UPDATE: usize = 1000;

/// Placeholders for `rows` rows of `cols` columns (`v.column1` .. `v.columnN` in SQL).
pub fn placeholders(rows: usize, cols: usize) -> String {
    let row = format!("({})", vec!["?"; cols].join(", "));
    vec![row; rows].join(", ")
}

/// A SQLite statement with its parameters bound one by one.
pub type SqliteQuery<'a> = diesel::query_builder::BoxedSqlQuery<
    'a,
    diesel::sqlite::Sqlite,
    diesel::query_builder::SqlQuery,
>;

/// Inserts `rows` on SQLite, `ROWS_PER_UPDATE` per statement: `head` is the statement up to
/// `VALUES` (`INSERT INTO t (a, b) VALUES`), `bind` binds one row's `cols` parameters.
/// diesel's own batch insert steps one statement per row on SQLite, a third slower per row
/// for the million-row tables of a first reconcile.
pub fn sqlite_insert<'a, R>(
    c: &mut diesel::SqliteConnection,
    head: &str,
    cols: usize,
    rows: &'a [R],
    bind: impl Fn(SqliteQuery<'a>, &'a R) -> SqliteQuery<'a>,
) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    for part in rows.chunks(ROWS_PER_UPDATE) {
        let sql = format!("{head} {}", placeholders(part.len(), cols));
        let q = part.iter().fold(
            diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>(),
            &bind,
        );
        q.execute(c)?;
    }
    Ok(())
}

/// Rows per PostgreSQL statement that binds one array per column and reads them back as
/// rows with `unnest($1, ...)`: parsed once, where a multi-row `VALUES` list is parsed row by
/// row.
pub const PG_ROWS_PER_UNNEST: usize = 5_000;

/// One column of `rows`, as an array to bind for `unnest`.
pub fn column<'a, R, V>(rows: &'a [R], f: impl Fn(&'a R) -> V) -> Vec<V> {
    rows.iter().map(f).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_of_placeholders() {
        assert_eq!(super::placeholders(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
