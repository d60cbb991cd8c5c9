//! Converts a CSV file (a header, then rows) into a Parquet file with the same columns, as
//! optional UTF-8 text (an empty field becomes null), in row groups of 50,000 rows with
//! Snappy compression: the shape a data engineer's Parquet extract of a CSV table has. For
//! `benches/parquet/run.sh`, which ingests both files and compares the times.
//!
//! `cargo run --release -p mdm_benches --bin csv_to_parquet -- IN.csv OUT.parquet`

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::sync::Arc;

const ROW_GROUP_ROWS: usize = 50_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        return Err("usage: csv_to_parquet IN.csv OUT.parquet".into());
    };
    let mut rdr = csv::Reader::from_path(input)?;
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let fields = header
        .iter()
        .map(|name| {
            Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                .with_logical_type(Some(LogicalType::String))
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = Arc::new(
        Type::group_type_builder("csv")
            .with_fields(fields)
            .build()?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let out = std::io::BufWriter::new(std::fs::File::create(output)?);
    let mut writer = SerializedFileWriter::new(out, schema, props)?;
    let mut columns: Vec<(Vec<ByteArray>, Vec<i16>)> = vec![Default::default(); header.len()];
    let (mut rows, mut total) = (0usize, 0u64);
    let mut rec = csv::StringRecord::new();
    loop {
        let more = rdr.read_record(&mut rec)?;
        if more {
            for (i, (values, defs)) in columns.iter_mut().enumerate() {
                match rec.get(i).filter(|v| !v.is_empty()) {
                    Some(v) => {
                        values.push(ByteArray::from(v));
                        defs.push(1);
                    }
                    None => defs.push(0),
                }
            }
            rows += 1;
        }
        if rows == ROW_GROUP_ROWS || (!more && rows > 0) {
            let mut group = writer.next_row_group()?;
            for (values, defs) in &mut columns {
                let mut col = group
                    .next_column()?
                    .ok_or("fewer columns than the header")?;
                col.typed::<ByteArrayType>()
                    .write_batch(values, Some(defs), None)?;
                col.close()?;
                values.clear();
                defs.clear();
            }
            group.close()?;
            total += rows as u64;
            rows = 0;
        }
        if !more {
            break;
        }
    }
    writer.close()?;
    eprintln!("wrote {total} rows to {output}");
    Ok(())
}
