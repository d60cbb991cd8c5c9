//! Parquet adapter: one row per Parquet row, its top-level columns as fields. Read row
//! group by row group and, within one, `BATCH` rows at a time from every column in step, so
//! memory holds one batch of values and each column's current page, never the file.
//!
//! Values become text as `text` says; null is an absent field (as in NDJSON). A value that
//! has no text form (bytes that are not UTF-8, a nested list, struct or map, NaN)
//! quarantines its row naming the row (1 for the first row of the file) and the column, like
//! a bad CSV row; the other rows load. The crate's column API is used rather than arrow's:
//! arrow refuses a whole batch over one non-UTF-8 string, where a row is what we quarantine.

mod columns;
mod text;

use super::{cap_raw, RecordSource, RowSink};
use crate::row::{ColumnName, RawRow, Rejection};
use crate::IngestError;
use columns::Column;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::fs::File;
use std::path::Path;
use text::Cell;

/// Rows decoded per step: big enough to amortize the per-column calls, small enough that a
/// batch of a wide file stays a few megabytes.
const BATCH: usize = 4096;

pub struct ParquetSource {
    label: String,
    reader: SerializedFileReader<File>,
    columns: Vec<ColumnName>,
    /// Per top-level column, the leaf read for it (a nested column's first leaf).
    leaves: Vec<usize>,
}

impl ParquetSource {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|error| IngestError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let label = path.display().to_string();
        let reader = SerializedFileReader::new(file)
            .map_err(|e| input_err(&label, format!("not a readable Parquet file: {e}")))?;
        let schema = reader.metadata().file_metadata().schema_descr_ptr();
        let top = schema.root_schema().get_fields();
        if top.len() > crate::prepare::MAX_COLUMNS {
            let max = crate::prepare::MAX_COLUMNS;
            let n = top.len();
            return Err(input_err(
                &label,
                format!("the file has {n} columns; at most {max} are read"),
            ));
        }
        let mut columns = Vec::with_capacity(top.len());
        let mut seen = std::collections::HashSet::new();
        for field in top {
            let name = field.name().trim();
            if name.is_empty() || name.contains(['\n', '\r', '\0']) {
                return Err(input_err(&label, format!("a column is named {name:?}")));
            }
            if !seen.insert(name.to_string()) {
                return Err(input_err(&label, format!("two columns are named `{name}`")));
            }
            columns.push(ColumnName::from(name));
        }
        // Leaves are in schema order, so the first leaf of each top-level column is the first
        // whose root is that column.
        let mut leaves = vec![usize::MAX; columns.len()];
        for leaf in (0..schema.num_columns()).rev() {
            leaves[schema.get_column_root_idx(leaf)] = leaf;
        }
        if let Some(i) = leaves.iter().position(|&l| l == usize::MAX) {
            let name = &columns[i];
            return Err(input_err(&label, format!("column `{name}` has no values")));
        }
        Ok(Self {
            label,
            reader,
            columns,
            leaves,
        })
    }

    fn row_group(
        &self,
        index: usize,
        first_row: u64,
        sink: &mut RowSink<'_>,
    ) -> Result<u64, IngestError> {
        let group = self.reader.get_row_group(index).map_err(|e| self.err(e))?;
        let rows = usize::try_from(group.metadata().num_rows()).unwrap_or(0);
        let schema = self.reader.metadata().file_metadata().schema_descr_ptr();
        let mut columns = self
            .leaves
            .iter()
            .map(|&leaf| {
                let reader = group.get_column_reader(leaf).map_err(|e| self.err(e))?;
                let nested = {
                    let root = schema.get_column_root(leaf);
                    !root.is_primitive()
                        || root.get_basic_info().repetition()
                            == parquet::basic::Repetition::REPEATED
                };
                Ok(Column::new(reader, &schema.column(leaf), nested))
            })
            .collect::<Result<Vec<_>, IngestError>>()?;
        let mut number = first_row;
        let mut left = rows;
        while left > 0 {
            let take = left.min(BATCH);
            for (name, column) in self.columns.iter().zip(&mut columns) {
                column
                    .fill(take)
                    .map_err(|e| input_err(&self.label, format!("column `{name}`: {e}")))?;
            }
            for _ in 0..take {
                number += 1;
                let content = self.row(&mut columns);
                sink(RawRow { number, content })?;
            }
            left -= take;
        }
        Ok(number)
    }

    /// The next row of every column, as fields, or the rejection of its first bad cell.
    fn row(&self, columns: &mut [Column]) -> Result<Vec<(ColumnName, String)>, Rejection> {
        let mut fields = Vec::with_capacity(columns.len());
        let mut bad: Option<Rejection> = None;
        for (i, column) in columns.iter_mut().enumerate() {
            // Every column advances, also past a bad cell, to stay in step for the next row.
            match column.next_cell() {
                Cell::Null => {}
                Cell::Text(v) => fields.push((self.columns[i].clone(), v)),
                Cell::Bad(reason, detail, shown) => {
                    if bad.is_none() {
                        bad = Some(Rejection::new(reason, detail).field(self.columns[i].as_ref()));
                    }
                    fields.push((self.columns[i].clone(), shown));
                }
            }
        }
        match bad {
            None => Ok(fields),
            Some(rejection) => Err(rejection.raw(raw_text(&fields))),
        }
    }

    fn err(&self, e: parquet::errors::ParquetError) -> IngestError {
        input_err(&self.label, e.to_string())
    }
}

impl RecordSource for ParquetSource {
    fn label(&self) -> &str {
        &self.label
    }

    fn columns(&self) -> Option<&[ColumnName]> {
        Some(&self.columns)
    }

    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        let mut number = 0;
        for index in 0..self.reader.num_row_groups() {
            number = self.row_group(index, number, sink)?;
        }
        Ok(())
    }
}

/// The row as a JSON object of what could be read, for the quarantine's raw column.
fn raw_text(fields: &[(ColumnName, String)]) -> String {
    let obj: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
        .collect();
    cap_raw(serde_json::Value::Object(obj).to_string())
}

fn input_err(label: &str, message: String) -> IngestError {
    IngestError::Input {
        label: label.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::basic::{LogicalType, Repetition, Type as Physical};
    use parquet::data_type::{ByteArray, ByteArrayType, Int32Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;
    use std::sync::Arc;

    /// `rows` rows of a required text `source_id` and an optional INT32 `n` (null on every
    /// third row), in row groups of `group` rows and pages of 100 rows.
    fn write(path: &Path, rows: usize, group: usize) {
        let id = Type::primitive_type_builder("source_id", Physical::BYTE_ARRAY)
            .with_repetition(Repetition::REQUIRED)
            .with_logical_type(Some(LogicalType::String))
            .build()
            .unwrap();
        let n = Type::primitive_type_builder("n", Physical::INT32)
            .with_repetition(Repetition::OPTIONAL)
            .build()
            .unwrap();
        let schema = Type::group_type_builder("t")
            .with_fields(vec![Arc::new(id), Arc::new(n)])
            .build()
            .unwrap();
        let props = WriterProperties::builder()
            .set_data_page_row_count_limit(100)
            .set_write_batch_size(50)
            .build();
        let file = File::create(path).unwrap();
        let mut w = SerializedFileWriter::new(file, Arc::new(schema), Arc::new(props)).unwrap();
        for start in (0..rows).step_by(group) {
            let range = start..(start + group).min(rows);
            let mut g = w.next_row_group().unwrap();
            let ids: Vec<ByteArray> = range
                .clone()
                .map(|i| format!("R{i}").as_str().into())
                .collect();
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<ByteArrayType>()
                .write_batch(&ids, None, None)
                .unwrap();
            c.close().unwrap();
            let defs: Vec<i16> = range
                .clone()
                .map(|i| i16::from(!i.is_multiple_of(3)))
                .collect();
            let values: Vec<i32> = range
                .filter(|i| !i.is_multiple_of(3))
                .map(|i| i as i32)
                .collect();
            let mut c = g.next_column().unwrap().unwrap();
            c.typed::<Int32Type>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
            c.close().unwrap();
            g.close().unwrap();
        }
        w.close().unwrap();
    }

    #[test]
    fn rows_in_order_across_pages_batches_and_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        // More rows than a batch in one row group, and a short last group.
        write(&path, 10_250, 5_000);
        let mut src = ParquetSource::open(&path).unwrap();
        assert_eq!(
            src.columns()
                .unwrap()
                .iter()
                .map(|c| c.as_ref())
                .collect::<Vec<_>>(),
            ["source_id", "n"]
        );
        let mut seen = 0usize;
        src.for_each_row(&mut |r| {
            let i = seen;
            assert_eq!(r.number, i as u64 + 1);
            let fields = r.content.unwrap();
            let mut want = vec![(ColumnName::from("source_id"), format!("R{i}"))];
            if !i.is_multiple_of(3) {
                want.push((ColumnName::from("n"), i.to_string()));
            }
            assert_eq!(fields, want, "row {}", r.number);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, 10_250);
    }

    #[test]
    fn a_file_that_is_not_parquet_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, "source_id,city\n1,Ulm\n").unwrap();
        let e = ParquetSource::open(&path).err().unwrap().to_string();
        assert!(
            e.contains("x.parquet") && e.contains("not a readable Parquet file"),
            "{e}"
        );
    }
}
