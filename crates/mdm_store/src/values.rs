//! `(?, ?, ...), (?, ?, ...)`: the row list of a SQLite `UPDATE ... FROM (VALUES ...)`, which
//! rewrites many rows with one statement instead of one execution per row.

/// Rows per statement: well under SQLite's 32,766 bound parameters for the tables here.
pub const ROWS_PER_UPDATE: usize = 1000;

/// Placeholders for `rows` rows of `cols` columns (`v.column1` .. `v.columnN` in SQL).
pub fn placeholders(rows: usize, cols: usize) -> String {
    let row = format!("({})", vec!["?"; cols].join(", "));
    vec![row; rows].join(", ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_of_placeholders() {
        assert_eq!(super::placeholders(2, 3), "(?, ?, ?), (?, ?, ?)");
    }
}
