//! A Parquet table writer for exports: typed columns (text, UTC timestamps, doubles,
//! booleans), rows buffered up to `ROW_GROUP_ROWS` and then written as one row group, so an
//! export of any size holds one row group in memory. Snappy compression: what Spark,
//! pandas and DuckDB read and write by default.

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::errors::Result;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::io::Write;
use std::sync::Arc;

pub const ROW_GROUP_ROWS: usize = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// UTF-8 text; `required: false` writes a missing value as null.
    Text {
        required: bool,
    },
    /// An instant, microseconds since the epoch, marked as UTC.
    Timestamp,
    Double,
    Bool,
}

/// One cell of a row, in the column's type.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(Option<&'a str>),
    Timestamp(i64),
    Double(f64),
    Bool(bool),
}

enum Buffer {
    Text {
        values: Vec<ByteArray>,
        defs: Vec<i16>,
        required: bool,
    },
    Timestamp(Vec<i64>),
    Double(Vec<f64>),
    Bool(Vec<bool>),
}

pub struct TableWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    buffers: Vec<Buffer>,
    rows: usize,
    written: u64,
}

impl<W: Write + Send> TableWriter<W> {
    pub fn new(out: W, columns: &[(&str, ColType)]) -> Result<Self> {
        let fields = columns
            .iter()
            .map(|(name, ty)| field(name, *ty).map(Arc::new))
            .collect::<Result<Vec<_>>>()?;
        let schema = Type::group_type_builder("mdm")
            .with_fields(fields)
            .build()?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("mdm {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?;
        let buffers = columns
            .iter()
            .map(|(_, ty)| match ty {
                ColType::Text { required } => Buffer::Text {
                    values: Vec::new(),
                    defs: Vec::new(),
                    required: *required,
                },
                ColType::Timestamp => Buffer::Timestamp(Vec::new()),
                ColType::Double => Buffer::Double(Vec::new()),
                ColType::Bool => Buffer::Bool(Vec::new()),
            })
            .collect();
        Ok(Self {
            writer,
            buffers,
            rows: 0,
            written: 0,
        })
    }

    /// Appends a row; its cells are in column order and of the columns' types.
    pub fn push(&mut self, row: &[Value<'_>]) -> Result<()> {
        if row.len() != self.buffers.len() {
            return Err(general(format!(
                "a row of {} cells for {} columns",
                row.len(),
                self.buffers.len()
            )));
        }
        for (buffer, value) in self.buffers.iter_mut().zip(row) {
            match (buffer, value) {
                (
                    Buffer::Text {
                        values,
                        defs,
                        required,
                    },
                    Value::Text(v),
                ) => match v {
                    Some(s) => {
                        values.push(ByteArray::from(*s));
                        defs.push(1);
                    }
                    None if *required => {
                        return Err(general("a required text column got no value".into()))
                    }
                    None => defs.push(0),
                },
                (Buffer::Timestamp(values), Value::Timestamp(v)) => values.push(*v),
                (Buffer::Double(values), Value::Double(v)) => values.push(*v),
                (Buffer::Bool(values), Value::Bool(v)) => values.push(*v),
                (_, v) => return Err(general(format!("a cell {v:?} of another column type"))),
            }
        }
        self.rows += 1;
        if self.rows >= ROW_GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for buffer in &mut self.buffers {
            let Some(mut column) = group.next_column()? else {
                return Err(general("fewer columns than buffers".into()));
            };
            match buffer {
                Buffer::Text {
                    values,
                    defs,
                    required,
                } => {
                    let defs = (!*required).then_some(defs.as_slice());
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(values, defs, None)?;
                }
                Buffer::Timestamp(v) => {
                    column.typed::<Int64Type>().write_batch(v, None, None)?;
                }
                Buffer::Double(v) => {
                    column.typed::<DoubleType>().write_batch(v, None, None)?;
                }
                Buffer::Bool(v) => {
                    column.typed::<BoolType>().write_batch(v, None, None)?;
                }
            }
            column.close()?;
            buffer.clear();
        }
        group.close()?;
        self.written += self.rows as u64;
        self.rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer; returns the rows written.
    pub fn finish(mut self) -> Result<u64> {
        self.flush_group()?;
        self.writer.close()?;
        Ok(self.written)
    }
}

impl Buffer {
    fn clear(&mut self) {
        match self {
            Buffer::Text { values, defs, .. } => {
                values.clear();
                defs.clear();
            }
            Buffer::Timestamp(v) => v.clear(),
            Buffer::Double(v) => v.clear(),
            Buffer::Bool(v) => v.clear(),
        }
    }
}

fn field(name: &str, ty: ColType) -> Result<Type> {
    let (physical, logical, repetition) = match ty {
        ColType::Text { required } => (
            Physical::BYTE_ARRAY,
            Some(LogicalType::String),
            if required {
                Repetition::REQUIRED
            } else {
                Repetition::OPTIONAL
            },
        ),
        ColType::Timestamp => (
            Physical::INT64,
            Some(LogicalType::timestamp(true, TimeUnit::MICROS)),
            Repetition::REQUIRED,
        ),
        ColType::Double => (Physical::DOUBLE, None, Repetition::REQUIRED),
        ColType::Bool => (Physical::BOOLEAN, None, Repetition::REQUIRED),
    };
    Type::primitive_type_builder(name, physical)
        .with_logical_type(logical)
        .with_repetition(repetition)
        .build()
}

fn general(message: String) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::General(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    /// Rows past `ROW_GROUP_ROWS` start a new row group (memory holds one), and every row
    /// reads back with its types, nulls included.
    #[test]
    fn rows_are_written_a_row_group_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let columns = [
            ("id", ColType::Text { required: true }),
            ("note", ColType::Text { required: false }),
            ("at", ColType::Timestamp),
            ("p", ColType::Double),
            ("ok", ColType::Bool),
        ];
        let mut w = TableWriter::new(std::fs::File::create(&path).unwrap(), &columns).unwrap();
        let n = 2 * ROW_GROUP_ROWS + 1;
        for i in 0..n {
            let id = format!("r{i}");
            let note = (i % 2 == 0).then_some("even");
            w.push(&[
                Value::Text(Some(&id)),
                Value::Text(note),
                Value::Timestamp(i as i64),
                Value::Double(i as f64 / 2.0),
                Value::Bool(i % 3 == 0),
            ])
            .unwrap();
        }
        assert!(
            w.push(&[Value::Double(1.0)]).is_err(),
            "a short row is refused"
        );
        assert_eq!(w.finish().unwrap(), n as u64);
        let r = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let groups: Vec<i64> = r
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        let full = ROW_GROUP_ROWS as i64;
        assert_eq!(groups, [full, full, 1]);
        let last = r.get_row_iter(None).unwrap().last().unwrap().unwrap();
        let fields: Vec<&Field> = last.get_column_iter().map(|(_, f)| f).collect();
        assert_eq!(fields[0], &Field::Str(format!("r{}", n - 1)));
        assert_eq!(fields[1], &Field::Str("even".into()));
        assert_eq!(fields[3], &Field::Double((n - 1) as f64 / 2.0));
        let second = r.get_row_iter(None).unwrap().nth(1).unwrap().unwrap();
        assert_eq!(second.get_column_iter().nth(1).unwrap().1, &Field::Null);
    }
}
