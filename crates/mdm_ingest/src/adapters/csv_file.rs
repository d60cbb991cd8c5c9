//! CSV adapter: a header row naming the columns, then one record per row. Handles quoting,
//! a configurable delimiter (sniffed from the header when not given), UTF-8 with or without
//! a byte-order mark, and Windows line ends. Reads byte records so a row with invalid UTF-8
//! is quarantined rather than failing the file. A line longer than `ingest.max_line_bytes`
//! never reaches the CSV parser (`lines::LineCap` skips it unread) and is quarantined
//! naming its line and length; an overlong header line fails the file.

use super::csv_tap::{Tap, TapReader};
use super::lines::{LineCap, SkippedLines, DEFAULT_MAX_LINE_BYTES};
use super::{cap_raw, RecordSource, RowSink};
use crate::row::{ColumnName, QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvOptions {
    /// Field delimiter; `None` sniffs `,` `;` tab or `|` from the header line.
    pub delimiter: Option<u8>,
}

pub struct CsvSource<R: Read> {
    reader: csv::Reader<TapReader<LineCap<BufReader<R>>>>,
    /// Lines the parser never saw because they were too long, to be quarantined in order.
    skipped: SkippedLines,
    max_line_bytes: usize,
    /// A copy of the bytes of the record being read, for recovering a broken one.
    tap: Tap,
    shape: Shape,
    /// Line numbers are counted here, from the bytes: csv counts a `\r\n` line end's
    /// newline only when the next record starts, so its count was one short with Windows
    /// line ends, and off by one after a line with a bare `\n` in such a file (found by
    /// fuzzing). `counted_to` is the input offset up to which lines are counted; `line`
    /// is the line number there.
    counted_to: u64,
    line: u64,
}

/// What a record is read against: the file, its header and its delimiter.
pub(super) struct Shape {
    pub(super) label: String,
    pub(super) columns: Vec<ColumnName>,
    pub(super) delimiter: u8,
}

impl CsvSource<File> {
    pub fn open(path: &Path, options: CsvOptions) -> Result<Self, IngestError> {
        Self::open_capped(path, options, DEFAULT_MAX_LINE_BYTES)
    }

    /// `open` with lines longer than `max_line_bytes` quarantined unread
    /// (`ingest.max_line_bytes`).
    pub fn open_capped(
        path: &Path,
        options: CsvOptions,
        max_line_bytes: usize,
    ) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|error| IngestError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Self::from_reader_capped(file, path.display().to_string(), options, max_line_bytes)
    }
}

impl<R: Read> CsvSource<R> {
    pub fn from_reader(input: R, label: String, options: CsvOptions) -> Result<Self, IngestError> {
        Self::from_reader_capped(input, label, options, DEFAULT_MAX_LINE_BYTES)
    }

    /// `from_reader` with lines longer than `max_line_bytes` quarantined unread.
    pub fn from_reader_capped(
        input: R,
        label: String,
        options: CsvOptions,
        max_line_bytes: usize,
    ) -> Result<Self, IngestError> {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let first_line = first_line(&mut input).map_err(|e| input_err(&label, e.to_string()))?;
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| sniff_delimiter(&first_line));
        let tap = Tap::default();
        let (input, skipped) = LineCap::new(input, max_line_bytes);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(tap.reader(input));
        let header = reader
            .byte_headers()
            .map_err(|e| input_err(&label, format!("reading the header: {e}")))?;
        if let Some((_, long, _)) = lock(&skipped).iter().find(|(line, ..)| *line == 1) {
            return Err(input_err(
                &label,
                format!(
                    "the header line is {} bytes long, more than ingest.max_line_bytes \
                     ({max_line_bytes}) allows",
                    long.bytes
                ),
            ));
        }
        // Every row of a wider file would be quarantined (`prepare::MAX_COLUMNS`); and a
        // header of 200k names took minutes to check for repeats one by one.
        if header.len() > crate::prepare::MAX_COLUMNS {
            return Err(input_err(
                &label,
                format!(
                    "the header has {} columns; at most {} are read",
                    header.len(),
                    crate::prepare::MAX_COLUMNS
                ),
            ));
        }
        let mut columns: Vec<ColumnName> = Vec::with_capacity(header.len());
        let mut seen = std::collections::HashSet::with_capacity(header.len());
        for (i, name) in header.iter().enumerate() {
            let name = std::str::from_utf8(name)
                .map_err(|_| input_err(&label, format!("header column {} is not UTF-8", i + 1)))?
                .trim();
            // A quote that opens in the header and never closes makes the whole file one
            // header field: no rows, and a snapshot load would delete every record. A NUL
            // would be in every quarantine entry that names the column (found by fuzzing).
            if name.contains(['\n', '\r', '\0']) {
                return Err(input_err(
                    &label,
                    format!(
                        "header column {} holds a line break or NUL (an unterminated quote?)",
                        i + 1
                    ),
                ));
            }
            if name.is_empty() {
                return Err(input_err(
                    &label,
                    format!("header column {} has no name", i + 1),
                ));
            }
            if !seen.insert(name) {
                return Err(input_err(
                    &label,
                    format!("header names column `{name}` twice"),
                ));
            }
            columns.push(ColumnName::from(name));
        }
        if columns.is_empty() {
            return Err(input_err(&label, "empty file: no header row".into()));
        }
        let counted_to = reader.position().byte();
        let line = reader.position().line();
        Ok(Self {
            reader,
            skipped,
            max_line_bytes,
            tap,
            shape: Shape {
                label,
                columns,
                delimiter,
            },
            counted_to,
            line,
        })
    }
}

impl Shape {
    /// The row as CSV text again, for the quarantine's raw column.
    fn reassemble(&self, rec: &csv::ByteRecord) -> String {
        let mut w = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let _ = w.write_byte_record(rec);
        let bytes = w.into_inner().unwrap_or_default();
        cap_raw(
            String::from_utf8_lossy(&bytes)
                .trim_end_matches('\n')
                .to_string(),
        )
    }

    pub(super) fn to_row(
        &self,
        rec: &csv::ByteRecord,
    ) -> Result<Vec<(ColumnName, String)>, Rejection> {
        if rec.len() != self.columns.len() {
            return Err(Rejection::new(
                QuarantineReason::MalformedRow,
                format!(
                    "{} fields where the header has {}",
                    rec.len(),
                    self.columns.len()
                ),
            )
            .raw(self.reassemble(rec)));
        }
        let mut fields = Vec::with_capacity(rec.len());
        for (col, value) in self.columns.iter().zip(rec.iter()) {
            match std::str::from_utf8(value) {
                Ok(v) => fields.push((col.clone(), v.to_string())),
                Err(e) => {
                    return Err(Rejection::new(
                        QuarantineReason::InvalidUtf8,
                        format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                    )
                    .field(col.as_ref())
                    .raw(self.reassemble(rec)))
                }
            }
        }
        Ok(fields)
    }
}

impl<R: Read> RecordSource for CsvSource<R> {
    fn label(&self) -> &str {
        &self.shape.label
    }

    fn columns(&self) -> Option<&[ColumnName]> {
        Some(&self.shape.columns)
    }

    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        let mut rec = csv::ByteRecord::new();
        loop {
            match self.reader.read_byte_record(&mut rec) {
                Ok(false) => return self.emit_skipped(u64::MAX, sink),
                Ok(true) => {
                    let from = rec.position().map_or(0, |p| p.byte());
                    let to = self.reader.position().byte();
                    let tap = &self.tap;
                    let (before, start) = tap.newlines_to_content(self.counted_to, from, to);
                    let number = self.line + before;
                    self.emit_skipped(number, sink)?;
                    self.shape
                        .emit(&rec, number, &|| tap.slice(from, to), sink)?;
                    let (inside, _) = tap.newlines_to_content(start, to, to);
                    (self.counted_to, self.line) = (to, number + inside);
                    self.tap.release(to);
                }
                Err(e) => return Err(input_err(&self.shape.label, e.to_string())),
            }
        }
    }
}

impl<R: Read> CsvSource<R> {
    /// Quarantines the overlong lines before line `before`, in line order.
    fn emit_skipped(&self, before: u64, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        let due: Vec<_> = {
            let mut skipped = lock(&self.skipped);
            let n = skipped
                .iter()
                .take_while(|(line, ..)| *line < before)
                .count();
            skipped.drain(..n).collect()
        };
        for (number, long, prefix) in due {
            let what = format!("line {number}");
            let rejection = long.rejection(&what, &self.shape.label, self.max_line_bytes, &prefix);
            sink(RawRow {
                number,
                content: Err(rejection),
            })?;
        }
        Ok(())
    }
}

fn lock(skipped: &SkippedLines) -> std::sync::MutexGuard<'_, Vec<super::lines::Skipped>> {
    // Only this adapter's thread touches it; a poisoned lock still holds valid entries.
    skipped.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn input_err(label: &str, message: String) -> IngestError {
    IngestError::Input {
        label: label.to_string(),
        message,
    }
}

/// The first line of the input (without consuming it), as far as the buffer holds it.
fn first_line<R: Read>(input: &mut BufReader<R>) -> std::io::Result<Vec<u8>> {
    let buf = input.fill_buf()?;
    Ok(buf.split(|&b| b == b'\n').next().unwrap_or(&[]).to_vec())
}

/// Picks the delimiter that occurs most often in the header line (`,` when none does).
fn sniff_delimiter(header: &[u8]) -> u8 {
    [b',', b';', b'\t', b'|']
        .into_iter()
        .map(|d| (header.iter().filter(|&&b| b == d).count(), d))
        .max_by_key(|&(n, d)| (n, d == b','))
        .filter(|&(n, _)| n > 0)
        .map_or(b',', |(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::RawRow;

    fn rows(text: &[u8], options: CsvOptions) -> Vec<RawRow> {
        let mut src = CsvSource::from_reader(text, "t.csv".into(), options).unwrap();
        let mut out = Vec::new();
        src.for_each_row(&mut |r| {
            out.push(r);
            Ok(())
        })
        .unwrap();
        out
    }

    fn values(r: &RawRow) -> Vec<(String, String)> {
        r.content
            .as_ref()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn bom_crlf_and_quotes() {
        let text = b"\xEF\xBB\xBFsource_id,city\r\n1,\"Bad, Homburg\"\r\n2,\"say \"\"hi\"\"\"\r\n";
        let r = rows(text, CsvOptions::default());
        assert_eq!(r.len(), 2);
        assert_eq!(
            values(&r[0]),
            vec![
                ("source_id".into(), "1".into()),
                ("city".into(), "Bad, Homburg".into())
            ]
        );
        assert_eq!(values(&r[1])[1].1, "say \"hi\"");
        assert_eq!((r[0].number, r[1].number), (2, 3));
    }

    #[test]
    fn line_numbers_count_multiline_fields() {
        let lf = &b"h,x\n1,a\n2,\"b\nc\"\n3,d\n"[..];
        let crlf = &b"h,x\r\n1,a\r\n2,\"b\r\nc\"\r\n3,d\r\n"[..];
        for text in [lf, crlf] {
            let numbers: Vec<u64> = rows(text, CsvOptions::default())
                .iter()
                .map(|r| r.number)
                .collect();
            assert_eq!(numbers, [2, 3, 5], "{}", String::from_utf8_lossy(text));
        }
    }

    /// Found by fuzzing: a file that mixes line ends numbered the rows after an LF line one
    /// too far (the quarantine named the wrong line).
    #[test]
    fn line_numbers_with_mixed_line_ends() {
        for text in [
            &b"h,x\r\n1,a\n2,b\r\n3,c\n4,d"[..],
            b"h,x\n1,a\r\n2,b\n3,c\r\n4,d\r\n",
            b"h,x\r\n1,a\r\n\n2,b\n\r\n3,c\r\n4,d\n",
        ] {
            let numbers: Vec<u64> = rows(text, CsvOptions::default())
                .iter()
                .map(|r| r.number)
                .collect();
            let want: Vec<u64> = text
                .split(|&b| b == b'\n')
                .enumerate()
                .skip(1)
                .filter(|(_, l)| !l.iter().all(|&b| b == b'\r'))
                .map(|(i, _)| i as u64 + 1)
                .collect();
            assert_eq!(numbers, want, "{}", String::from_utf8_lossy(text));
        }
    }

    /// Each row's line number, and the detail and raw text of a rejected one.
    fn capped(text: &[u8], max: usize) -> Vec<(u64, Option<(String, String)>)> {
        let mut src =
            CsvSource::from_reader_capped(text, "t.csv".into(), CsvOptions::default(), max)
                .unwrap();
        let mut out = Vec::new();
        src.for_each_row(&mut |r| {
            let bad = r
                .content
                .err()
                .map(|e| (e.detail, e.raw.unwrap_or_default()));
            out.push((r.number, bad));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn an_overlong_line_is_quarantined_unread() {
        for eol in ["\n", "\r\n"] {
            let long = format!("2,{}", "x".repeat(5000));
            let text = format!(
                "source_id,city{eol}1,Ulm{eol}{long}{eol}3,Bonn{eol}4,\"Hof{eol}Aue\"{eol}5,Kiel"
            );
            let rows = capped(text.as_bytes(), 100);
            let numbers: Vec<u64> = rows.iter().map(|r| r.0).collect();
            assert_eq!(numbers, [2, 3, 4, 5, 7], "{eol:?}");
            let bad: Vec<_> = rows.iter().filter_map(|r| r.1.as_ref()).collect();
            assert_eq!(bad.len(), 1, "{rows:?}");
            let (detail, raw) = bad[0];
            assert!(
                detail.contains("line 3 of t.csv is 5002 bytes long")
                    && detail.contains("ingest.max_line_bytes (100)"),
                "{detail}"
            );
            assert!(
                raw.starts_with("2,xxx") && raw.len() < 1100,
                "{}",
                raw.len()
            );
        }
        // The last line, without a line end; a line of exactly the cap is read.
        let text = format!("h,x\n1,{}\n2,{}", "a".repeat(98), "b".repeat(99));
        let rows = capped(text.as_bytes(), 100);
        assert_eq!((rows[0].0, rows[0].1.is_none()), (2, true));
        assert_eq!((rows[1].0, rows[1].1.is_some()), (3, true));
        // An overlong header fails the file.
        let text = format!("{}\n1\n", "h".repeat(200));
        let err = CsvSource::from_reader_capped(
            text.as_bytes(),
            "t.csv".into(),
            CsvOptions::default(),
            100,
        )
        .err()
        .unwrap();
        assert!(
            err.to_string().contains("header line is 200 bytes long"),
            "{err}"
        );
    }

    #[test]
    fn semicolon_sniffed_and_explicit() {
        let text = b"source_id;city\n1;Ulm\n";
        assert_eq!(values(&rows(text, CsvOptions::default())[0])[1].1, "Ulm");
        assert_eq!(
            values(
                &rows(
                    text,
                    CsvOptions {
                        delimiter: Some(b';')
                    }
                )[0]
            )[1]
            .1,
            "Ulm"
        );
    }

    #[test]
    fn wrong_field_count_and_bad_utf8_are_rejections() {
        let text = b"source_id,city\n1,Ulm,extra\n2,K\xF6ln\n3,Bonn\n";
        let r = rows(text, CsvOptions::default());
        let reasons: Vec<_> = r
            .iter()
            .map(|r| r.content.as_ref().err().map(|e| e.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                Some(QuarantineReason::MalformedRow),
                Some(QuarantineReason::InvalidUtf8),
                None
            ]
        );
        let utf8 = r[1].content.as_ref().unwrap_err();
        assert_eq!(utf8.field.as_deref(), Some("city"));
        assert_eq!(
            r[0].content.as_ref().unwrap_err().raw.as_deref(),
            Some("1,Ulm,extra")
        );
    }

    /// The rows' line numbers, with the reason of each rejected one.
    fn outcome(text: &[u8]) -> Vec<(u64, Option<QuarantineReason>)> {
        rows(text, CsvOptions::default())
            .iter()
            .map(|r| (r.number, r.content.as_ref().err().map(|e| e.reason)))
            .collect()
    }

    #[test]
    fn stray_quote_says_which_lines_it_swallowed() {
        let text = "source_id,given_name,city\n1,Anna,Ulm\n2,Bernd,Bonn\n3,\"Carl,Hof\n4,Dora,Kiel\n5,Emil,Aue\n6,Gus,Ulm\"x\n7,Ida,Hof\n";
        let r = rows(text.as_bytes(), CsvOptions::default());
        let bad: Vec<(u64, &str)> = r
            .iter()
            .filter_map(|row| Some((row.number, row.content.as_ref().err()?.detail.as_str())))
            .collect();
        assert_eq!(
            bad,
            [(
                4,
                "unterminated quote: an unclosed quote in `given_name` at line 4 of t.csv runs \
                 to line 7; line 4 is quarantined, lines 5-7 are read as rows of their own"
            )]
        );
        assert_eq!(r.len(), 7, "every data line is a row");
    }

    #[test]
    fn stray_quote_quarantines_its_line_only() {
        for eol in ["\n", "\r\n"] {
            let mut text = format!("source_id,given_name,family_name,email,phone,city{eol}");
            for i in 0..1000 {
                if i == 10 {
                    text += &format!("ID10,\"Anna,Schmidt,a10@example.com,,Berlin{eol}");
                } else {
                    text += &format!("ID{i},G{i},F{i},a{i}@example.com,,Ulm{eol}");
                }
            }
            let r = rows(text.as_bytes(), CsvOptions::default());
            assert_eq!(r.len(), 1000, "every data line is a row ({eol:?})");
            for (i, row) in r.iter().enumerate() {
                assert_eq!(row.number, i as u64 + 2, "line numbers ({eol:?})");
                assert_eq!(
                    row.content.is_err(),
                    i == 10,
                    "line {} ({eol:?})",
                    row.number
                );
            }
            let bad = r[10].content.as_ref().unwrap_err();
            assert_eq!(bad.reason, QuarantineReason::MalformedRow);
            assert_eq!(bad.field.as_deref(), Some("given_name"));
            assert!(bad.detail.contains("unterminated quote"), "{}", bad.detail);
            assert!(
                bad.detail.contains(
                    "at line 12 of t.csv runs to line 1001; line 12 is quarantined, \
                     lines 13-1001 are read as rows of their own"
                ),
                "{}",
                bad.detail
            );
            assert_eq!(
                bad.raw.as_deref(),
                Some("ID10,\"Anna,Schmidt,a10@example.com,,Berlin")
            );
            assert_eq!(values(&r[999])[0].1, "ID999");
        }
    }

    #[test]
    fn stray_quote_closed_by_a_later_quote() {
        // The stray quote on line 3 pairs with the opening quote on line 5.
        let text = b"h,x,y\n1,a,b\n2,\"c,d\n3,e,f\n4,\"g, h\",i\n5,j,k\n";
        assert_eq!(
            outcome(text),
            vec![
                (2, None),
                (3, Some(QuarantineReason::MalformedRow)),
                (4, None),
                (5, None),
                (6, None)
            ]
        );
    }

    #[test]
    fn swallowed_rows_found_even_when_the_field_count_fits() {
        // `2,"a` opens a quote that `c",z` closes: three fields, but line 3 is a row.
        let text = b"h,x,y\n2,\"a\n3,b,b\nc\",z\n";
        let got = outcome(text);
        assert_eq!(got[0], (2, Some(QuarantineReason::MalformedRow)), "{got:?}");
        assert_eq!(got[1], (3, None), "{got:?}");
    }

    #[test]
    fn quoted_multiline_field_that_fits_loads() {
        let text = b"source_id,street,city\n1,\"Hauptstr. 1\nHinterhaus\",Ulm\n2,x,Bonn\n";
        let r = rows(text, CsvOptions::default());
        assert_eq!(r.len(), 2);
        assert_eq!(values(&r[0])[1].1, "Hauptstr. 1\nHinterhaus");
        assert_eq!((r[0].number, r[1].number), (2, 4));
    }

    #[test]
    fn header_problems_fail_the_file() {
        assert!(CsvSource::from_reader(&b""[..], "t".into(), CsvOptions::default()).is_err());
        // Found by fuzzing: a stray quote in the header swallowed every row into a column
        // name (zero rows read), and a NUL in a name reached quarantine entries.
        for header in [
            &b"source_id,\"name,city\n1,a,b\n2,c,d\n"[..],
            b"source_id,ci\0ty\n1,Ulm\n",
        ] {
            assert!(
                CsvSource::from_reader(header, "t".into(), CsvOptions::default()).is_err(),
                "{}",
                String::from_utf8_lossy(header)
            );
        }
        assert!(
            CsvSource::from_reader(&b"a,a\n1,2\n"[..], "t".into(), CsvOptions::default()).is_err()
        );
    }

    /// Issue 21 (defect 5, the header): 200,001 header names (952 KB, under the line cap)
    /// took 141 s to check for repeats one against all. Wider than a row may be, the file
    /// fails at once; up to the cap the check is one set lookup per name, and still finds
    /// a repeat at the end.
    #[test]
    fn a_wide_header_fails_at_once_and_the_repeat_check_is_linear() {
        let header = |n: usize| {
            let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            format!("{}\n", names.join(","))
        };
        let e = CsvSource::from_reader(
            header(120_001).as_bytes(),
            "t".into(),
            CsvOptions::default(),
        )
        .err()
        .expect("refused")
        .to_string();
        assert!(e.contains("120001 columns"), "{e}");
        let ok = header(crate::prepare::MAX_COLUMNS);
        assert!(CsvSource::from_reader(ok.as_bytes(), "t".into(), CsvOptions::default()).is_ok());
        let repeated = format!(
            "{}c0\n",
            header(crate::prepare::MAX_COLUMNS - 1)
                .trim_end()
                .to_string()
                + ","
        );
        assert!(
            CsvSource::from_reader(repeated.as_bytes(), "t".into(), CsvOptions::default()).is_err()
        );
    }
}
