//! NDJSON adapter: one JSON object per line. Blank lines are skipped; a line that is not a
//! JSON object, or not UTF-8, is quarantined and reading goes on.

use super::{cap_raw, json_object_fields, RecordSource, RowSink};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

pub struct NdjsonSource<R: Read> {
    label: String,
    input: BufReader<R>,
}

impl NdjsonSource<File> {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::from_reader(file, path.display().to_string()))
    }
}

impl<R: Read> NdjsonSource<R> {
    pub fn from_reader(input: R, label: String) -> Self {
        Self {
            label,
            input: BufReader::with_capacity(256 * 1024, input),
        }
    }
}

impl<R: Read> RecordSource for NdjsonSource<R> {
    fn label(&self) -> &str {
        &self.label
    }

    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        let mut line = Vec::with_capacity(1024);
        let mut number = 0u64;
        loop {
            line.clear();
            let n = self
                .input
                .read_until(b'\n', &mut line)
                .map_err(|e| IngestError::Input {
                    label: self.label.clone(),
                    message: e.to_string(),
                })?;
            if n == 0 {
                return Ok(());
            }
            number += 1;
            let mut bytes = line.as_slice();
            if number == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            sink(RawRow {
                number,
                content: parse_line(bytes),
            })?;
        }
    }
}

fn parse_line(bytes: &[u8]) -> Result<Vec<(crate::row::ColumnName, String)>, Rejection> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Rejection::new(
            QuarantineReason::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
        .raw(cap_raw(
            String::from_utf8_lossy(bytes).trim_end().to_string(),
        ))
    })?;
    let raw = || cap_raw(text.trim_end().to_string());
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(obj)) => Ok(json_object_fields(obj)),
        Ok(_) => Err(Rejection::new(
            QuarantineReason::MalformedRow,
            "the line is JSON but not an object",
        )
        .raw(raw())),
        Err(e) => {
            Err(Rejection::new(QuarantineReason::MalformedRow, format!("not JSON: {e}")).raw(raw()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_blank_lines_and_bad_lines() {
        let text =
            b"\xEF\xBB\xBF{\"source_id\":\"1\",\"n\":2,\"x\":null}\r\n\n[1]\n{broken\n\xFF\n";
        let mut src = NdjsonSource::from_reader(&text[..], "t.ndjson".into());
        let mut rows = Vec::new();
        src.for_each_row(&mut |r| {
            rows.push(r);
            Ok(())
        })
        .unwrap();
        let fields = rows[0].content.as_ref().unwrap();
        assert_eq!(fields.len(), 2, "null is absent: {fields:?}");
        assert!(fields.contains(&("n".into(), "2".into())), "{fields:?}");
        let reasons: Vec<_> = rows[1..]
            .iter()
            .map(|r| (r.number, r.content.as_ref().unwrap_err().reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (3, QuarantineReason::MalformedRow),
                (4, QuarantineReason::MalformedRow),
                (5, QuarantineReason::InvalidUtf8)
            ]
        );
    }
}
