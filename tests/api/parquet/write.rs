//! Writes the Parquet files the tests read, with the parquet crate's column API: typed
//! columns, a nested list column, bytes that are not UTF-8, and several row groups.

use parquet::basic::{LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One column's values, row by row (`None` is null).
pub enum Col {
    /// STRING-annotated bytes (not checked: a test may put invalid UTF-8 in).
    Text(Vec<Option<Vec<u8>>>),
    Date(Vec<Option<i32>>),
    Int64(Vec<Option<i64>>),
    Double(Vec<Option<f64>>),
    Bool(Vec<Option<bool>>),
    /// DECIMAL(12, scale) stored as INT64.
    Decimal(i32, Vec<Option<i64>>),
    /// TIMESTAMP(MICROS, UTC).
    Timestamp(Vec<Option<i64>>),
    /// A LIST of strings.
    List(Vec<Option<Vec<&'static str>>>),
}

pub fn text(values: &[Option<&str>]) -> Col {
    Col::Text(
        values
            .iter()
            .map(|v| v.map(|s| s.as_bytes().to_vec()))
            .collect(),
    )
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Col::Text(v) => v.len(),
            Col::Date(v) => v.len(),
            Col::Int64(v) | Col::Decimal(_, v) | Col::Timestamp(v) => v.len(),
            Col::Double(v) => v.len(),
            Col::Bool(v) => v.len(),
            Col::List(v) => v.len(),
        }
    }

    fn schema(&self, name: &str) -> Type {
        let prim = |physical, logical: Option<LogicalType>| {
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
        };
        match self {
            Col::Text(_) => prim(Physical::BYTE_ARRAY, Some(LogicalType::String)).build(),
            Col::Date(_) => prim(Physical::INT32, Some(LogicalType::Date)).build(),
            Col::Int64(_) => prim(Physical::INT64, None).build(),
            Col::Double(_) => prim(Physical::DOUBLE, None).build(),
            Col::Bool(_) => prim(Physical::BOOLEAN, None).build(),
            Col::Decimal(scale, _) => prim(Physical::INT64, Some(LogicalType::decimal(*scale, 12)))
                .with_precision(12)
                .with_scale(*scale)
                .build(),
            Col::Timestamp(_) => prim(
                Physical::INT64,
                Some(LogicalType::timestamp(true, TimeUnit::MICROS)),
            )
            .build(),
            Col::List(_) => {
                let element = Type::primitive_type_builder("element", Physical::BYTE_ARRAY)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(Some(LogicalType::String))
                    .build()
                    .unwrap();
                let list = Type::group_type_builder("list")
                    .with_repetition(Repetition::REPEATED)
                    .with_fields(vec![Arc::new(element)])
                    .build()
                    .unwrap();
                Type::group_type_builder(name)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(Some(LogicalType::List))
                    .with_fields(vec![Arc::new(list)])
                    .build()
            }
        }
        .unwrap()
    }
}

/// Non-null values and definition levels (1 = present) of rows `rows` of `v`.
fn flat<T: Clone>(v: &[Option<T>], rows: std::ops::Range<usize>) -> (Vec<T>, Vec<i16>) {
    let slice = &v[rows];
    let values = slice.iter().flatten().cloned().collect();
    let defs = slice.iter().map(|x| i16::from(x.is_some())).collect();
    (values, defs)
}

/// Writes `columns` as a Parquet file, `group_rows` rows per row group.
pub fn write(path: &Path, columns: &[(&str, Col)], group_rows: usize) -> PathBuf {
    let fields = columns
        .iter()
        .map(|(name, col)| Arc::new(col.schema(name)))
        .collect();
    let schema = Type::group_type_builder("test")
        .with_fields(fields)
        .build()
        .unwrap();
    let props = Arc::new(WriterProperties::builder().build());
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, Arc::new(schema), props).unwrap();
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    let mut start = 0;
    while start < rows {
        let range = start..(start + group_rows).min(rows);
        let mut group = w.next_row_group().unwrap();
        for (_, col) in columns {
            let mut c = group.next_column().unwrap().unwrap();
            write_range(&mut c, col, range.clone());
            c.close().unwrap();
        }
        group.close().unwrap();
        start = range.end;
    }
    w.close().unwrap();
    path.to_path_buf()
}

fn write_range(
    c: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    col: &Col,
    rows: std::ops::Range<usize>,
) {
    match col {
        Col::Text(v) => {
            let (values, defs) = flat(v, rows);
            let values: Vec<ByteArray> = values.into_iter().map(ByteArray::from).collect();
            c.typed::<ByteArrayType>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
        }
        Col::Date(v) => {
            let (values, defs) = flat(v, rows);
            c.typed::<Int32Type>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
        }
        Col::Int64(v) | Col::Decimal(_, v) | Col::Timestamp(v) => {
            let (values, defs) = flat(v, rows);
            c.typed::<Int64Type>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
        }
        Col::Double(v) => {
            let (values, defs) = flat(v, rows);
            c.typed::<DoubleType>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
        }
        Col::Bool(v) => {
            let (values, defs) = flat(v, rows);
            c.typed::<BoolType>()
                .write_batch(&values, Some(&defs), None)
                .unwrap();
        }
        Col::List(v) => {
            // Levels: 0 the list is null, 1 empty, 3 an element (2 would be a null element).
            let (mut values, mut defs, mut reps) = (Vec::new(), Vec::new(), Vec::new());
            for row in &v[rows] {
                match row {
                    None => {
                        defs.push(0);
                        reps.push(0);
                    }
                    Some(items) if items.is_empty() => {
                        defs.push(1);
                        reps.push(0);
                    }
                    Some(items) => {
                        for (i, item) in items.iter().enumerate() {
                            values.push(ByteArray::from(*item));
                            defs.push(3);
                            reps.push(i16::from(i > 0));
                        }
                    }
                }
            }
            c.typed::<ByteArrayType>()
                .write_batch(&values, Some(&defs), Some(&reps))
                .unwrap();
        }
    }
}

/// A CSV file (header, rows) as a Parquet file of text columns, empty fields null.
pub fn from_csv(csv_path: &Path, out: &Path, group_rows: usize) -> PathBuf {
    let mut rdr = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let mut cols: Vec<Vec<Option<Vec<u8>>>> = vec![Vec::new(); header.len()];
    for rec in rdr.records() {
        let rec = rec.unwrap();
        for (i, col) in cols.iter_mut().enumerate() {
            let v = rec.get(i).filter(|v| !v.is_empty());
            col.push(v.map(|s| s.as_bytes().to_vec()));
        }
    }
    let columns: Vec<(&str, Col)> = header
        .iter()
        .map(String::as_str)
        .zip(cols.into_iter().map(Col::Text))
        .collect();
    write(out, &columns, group_rows)
}
