//! One top-level column of a row group, read a batch of rows at a time and handed out cell
//! by cell. A flat column has one level per row (its definition level says null or not);
//! a nested one (list, struct, map, repeated field) is read through its first leaf only to
//! find where each row's levels start and whether the row holds a value at all.

use super::text::{unsupported, Cell, Kind};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DataType, DoubleType, FixedLenByteArray,
    FixedLenByteArrayType, FloatType, Int32Type, Int64Type, Int96, Int96Type,
};
use parquet::errors::{ParquetError, Result};
use parquet::schema::types::ColumnDescriptor;

/// The decoded values of the current batch, by physical type.
enum Values {
    Bool(ColumnReaderImpl<BoolType>, Vec<bool>),
    Int32(ColumnReaderImpl<Int32Type>, Vec<i32>),
    Int64(ColumnReaderImpl<Int64Type>, Vec<i64>),
    Int96(ColumnReaderImpl<Int96Type>, Vec<Int96>),
    Float(ColumnReaderImpl<FloatType>, Vec<f32>),
    Double(ColumnReaderImpl<DoubleType>, Vec<f64>),
    Bytes(ColumnReaderImpl<ByteArrayType>, Vec<ByteArray>),
    Fixed(
        ColumnReaderImpl<FixedLenByteArrayType>,
        Vec<FixedLenByteArray>,
    ),
}

pub(super) struct Column {
    values: Values,
    kind: Kind,
    nested: bool,
    max_def: i16,
    defs: Vec<i16>,
    reps: Vec<i16>,
    /// Next level (`defs`/`reps` index) and next non-null value of the batch.
    level: usize,
    value: usize,
}

impl Column {
    pub(super) fn new(reader: ColumnReader, desc: &ColumnDescriptor, nested: bool) -> Self {
        let values = match reader {
            ColumnReader::BoolColumnReader(r) => Values::Bool(r, Vec::new()),
            ColumnReader::Int32ColumnReader(r) => Values::Int32(r, Vec::new()),
            ColumnReader::Int64ColumnReader(r) => Values::Int64(r, Vec::new()),
            ColumnReader::Int96ColumnReader(r) => Values::Int96(r, Vec::new()),
            ColumnReader::FloatColumnReader(r) => Values::Float(r, Vec::new()),
            ColumnReader::DoubleColumnReader(r) => Values::Double(r, Vec::new()),
            ColumnReader::ByteArrayColumnReader(r) => Values::Bytes(r, Vec::new()),
            ColumnReader::FixedLenByteArrayColumnReader(r) => Values::Fixed(r, Vec::new()),
        };
        Self {
            values,
            kind: Kind::of(desc),
            nested,
            max_def: desc.max_def_level(),
            defs: Vec::new(),
            reps: Vec::new(),
            level: 0,
            value: 0,
        }
    }

    /// Decodes the next `rows` rows of the column.
    pub(super) fn fill(&mut self, rows: usize) -> Result<()> {
        self.defs.clear();
        self.reps.clear();
        (self.level, self.value) = (0, 0);
        let (defs, reps) = (&mut self.defs, &mut self.reps);
        let read = match &mut self.values {
            Values::Bool(r, v) => read(r, v, rows, defs, reps)?,
            Values::Int32(r, v) => read(r, v, rows, defs, reps)?,
            Values::Int64(r, v) => read(r, v, rows, defs, reps)?,
            Values::Int96(r, v) => read(r, v, rows, defs, reps)?,
            Values::Float(r, v) => read(r, v, rows, defs, reps)?,
            Values::Double(r, v) => read(r, v, rows, defs, reps)?,
            Values::Bytes(r, v) => read(r, v, rows, defs, reps)?,
            Values::Fixed(r, v) => read(r, v, rows, defs, reps)?,
        };
        if read != rows {
            return Err(ParquetError::General(format!(
                "holds {read} rows where its row group has {rows}"
            )));
        }
        Ok(())
    }

    pub(super) fn next_cell(&mut self) -> Cell {
        if self.nested {
            return self.next_nested();
        }
        let present = self.max_def == 0 || self.defs.get(self.level) == Some(&self.max_def);
        self.level += 1;
        if !present {
            return Cell::Null;
        }
        let i = self.value;
        self.value += 1;
        let kind = &self.kind;
        match &self.values {
            Values::Bool(_, v) => match kind {
                Kind::Bool => Cell::Text(v[i].to_string()),
                other => unsupported(other),
            },
            Values::Int32(_, v) => kind.int(i64::from(v[i]), 32),
            Values::Int64(_, v) => kind.int(v[i], 64),
            Values::Int96(_, v) => kind.int96(v[i].to_nanos()),
            Values::Float(_, v) => kind.float(f64::from(v[i]), v[i].to_string()),
            Values::Double(_, v) => kind.float(v[i], v[i].to_string()),
            Values::Bytes(_, v) => kind.bytes(v[i].data()),
            Values::Fixed(_, v) => kind.bytes(v[i].data()),
        }
    }

    /// A nested row: absent when its first level says the column itself is null (or an
    /// empty repeated field), else a value mdm cannot stage as text.
    fn next_nested(&mut self) -> Cell {
        let first = self.defs.get(self.level).copied().unwrap_or(0);
        self.level += 1;
        while self.reps.get(self.level).is_some_and(|&r| r > 0) {
            self.level += 1;
        }
        if first == 0 {
            return Cell::Null;
        }
        Cell::Bad(
            crate::row::QuarantineReason::InvalidValue,
            "a nested value (list, struct or map) has no text form mdm can stage".into(),
            "<nested>".into(),
        )
    }
}

/// Reads `rows` whole rows into cleared buffers; returns the rows read (fewer at the end).
fn read<T: DataType>(
    reader: &mut ColumnReaderImpl<T>,
    values: &mut Vec<T::T>,
    rows: usize,
    defs: &mut Vec<i16>,
    reps: &mut Vec<i16>,
) -> Result<usize> {
    values.clear();
    let mut total = 0;
    while total < rows {
        let (n, _, _) =
            reader.read_records(rows - total, Some(&mut *defs), Some(&mut *reps), values)?;
        if n == 0 {
            break;
        }
        total += n;
    }
    Ok(total)
}
