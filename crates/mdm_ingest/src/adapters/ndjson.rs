//! NDJSON adapter: one JSON object per line. Blank lines are skipped; a line that is not a
//! JSON object, or not UTF-8, or longer than `ingest.max_line_bytes` (skipped unread, see
//! `lines`), is quarantined and reading goes on.

use super::lines::{read_line, Line, DEFAULT_MAX_LINE_BYTES};
use super::{cap_raw, json_object_fields, RecordSource, RowSink};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub struct NdjsonSource<R: Read> {
    label: String,
    input: BufReader<R>,
    max_line_bytes: usize,
}

impl NdjsonSource<File> {
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|error| IngestError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Ok(Self::from_reader(file, path.display().to_string()))
    }
}

impl<R: Read> NdjsonSource<R> {
    pub fn from_reader(input: R, label: String) -> Self {
        Self {
            label,
            input: BufReader::with_capacity(256 * 1024, input),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
        }
    }

    /// Lines longer than this many bytes are quarantined unread (`ingest.max_line_bytes`).
    pub fn max_line_bytes(mut self, max: usize) -> Self {
        self.max_line_bytes = max;
        self
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
            let read = read_line(&mut self.input, &mut line, self.max_line_bytes).map_err(|e| {
                IngestError::Input {
                    label: self.label.clone(),
                    message: e.to_string(),
                }
            })?;
            number += 1;
            match read {
                Line::Eof => return Ok(()),
                Line::Read => {}
                Line::TooLong(long) => {
                    let what = format!("line {number}");
                    let max = self.max_line_bytes;
                    sink(RawRow {
                        number,
                        content: Err(long.rejection(&what, &self.label, max, &line)),
                    })?;
                    continue;
                }
            }
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

    #[test]
    fn an_overlong_line_is_quarantined_unread() {
        let mut text = b"{\"source_id\":\"1\"}\n".to_vec();
        let start = text.len();
        text.extend_from_slice(b"{\"source_id\":\"2\",\"note\":\"");
        text.extend(std::iter::repeat_n(b'x', 5 << 20));
        text.extend_from_slice(b"\"}");
        let len = text.len() - start;
        text.extend_from_slice(b"\r\n{\"source_id\":\"3\"}\n");
        let mut src =
            NdjsonSource::from_reader(&text[..], "big.ndjson".into()).max_line_bytes(4096);
        let mut rows = Vec::new();
        src.for_each_row(&mut |r| {
            rows.push(r);
            Ok(())
        })
        .unwrap();
        let numbers: Vec<_> = rows.iter().map(|r| (r.number, r.content.is_ok())).collect();
        assert_eq!(numbers, [(1, true), (2, false), (3, true)]);
        let bad = rows[1].content.as_ref().unwrap_err();
        assert_eq!(bad.reason, QuarantineReason::MalformedRow);
        assert!(
            bad.detail
                .contains(&format!("line 2 of big.ndjson is {len} bytes long")),
            "{}",
            bad.detail
        );
        assert!(bad
            .raw
            .as_ref()
            .unwrap()
            .starts_with("{\"source_id\":\"2\""));
    }
}
