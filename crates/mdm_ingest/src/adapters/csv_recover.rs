//! Recovery from a stray quote. A quote that opens a field and is never closed makes the
//! CSV parser read every line after it, up to the next quote or the end of the file, as
//! that one field: one malformed record where there were hundreds of rows, and a snapshot
//! load would then delete them all. A record whose quoted field runs over line breaks is
//! taken as such a swallow when it does not fit the header (wrong field count), or when a
//! line inside the field reads as a whole row of its own; then only its first physical
//! line (where the quote opened) is quarantined, and the lines after it are parsed again
//! as rows. A quoted multi-line field in a record that fits the header loads as it is.

use super::csv_file::{input_err, Shape};
use super::{cap_raw, RowSink};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use csv::ByteRecord;

impl Shape {
    /// Sends one parsed record to the sink, recovering it first if a stray quote made it.
    /// `raw` gives the record's bytes as they are in the input; `number` is the line the
    /// record starts on.
    pub(super) fn emit(
        &self,
        rec: &ByteRecord,
        number: u64,
        raw: &dyn Fn() -> Vec<u8>,
        sink: &mut RowSink<'_>,
    ) -> Result<(), IngestError> {
        if !self.swallowed(rec) {
            return sink(RawRow {
                number,
                content: self.to_row(rec),
            });
        }
        let raw = raw();
        // The bytes may begin with the `\n` of a `\r\n` that ended the line before.
        let start = raw
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .unwrap_or(raw.len());
        let raw = &raw[start..];
        let (first, rest) = match raw.iter().position(|&b| b == b'\n') {
            Some(i) => (&raw[..i], &raw[i + 1..]),
            None => (raw, &[][..]),
        };
        let spanned = raw
            .iter()
            .rposition(|b| !matches!(b, b'\r' | b'\n'))
            .map_or(0, |end| bytecount_newlines(&raw[..end]));
        sink(RawRow {
            number,
            content: Err(self.unterminated_quote(first, number, number + spanned)),
        })?;
        self.reparse(rest, number + 1, sink)
    }

    /// Whether a record is a stray quote's swallow rather than a row (see the module doc).
    fn swallowed(&self, rec: &ByteRecord) -> bool {
        let multi_line = |f: &&[u8]| f.contains(&b'\n') || f.contains(&b'\r');
        if !rec.iter().any(|f| multi_line(&f)) {
            return false;
        }
        if rec.len() != self.columns.len() {
            return true;
        }
        // With one column every line would read as a row.
        self.columns.len() > 1
            && rec.iter().filter(multi_line).any(|f| {
                f.split(|&b| b == b'\n')
                    .skip(1)
                    .any(|line| self.fields_on(line) == self.columns.len())
            })
    }

    /// How many fields one physical line parses to on its own.
    fn fields_on(&self, line: &[u8]) -> usize {
        let mut reader = self.line_reader(line);
        let mut rec = ByteRecord::new();
        match reader.read_byte_record(&mut rec) {
            Ok(true) => rec.len(),
            _ => 0,
        }
    }

    fn line_reader<'b>(&self, bytes: &'b [u8]) -> csv::Reader<&'b [u8]> {
        csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(bytes)
    }

    /// The quarantine entry for the line a stray quote opened on; the quoted field ran on to
    /// line `last`.
    fn unterminated_quote(&self, line: &[u8], number: u64, last: u64) -> Rejection {
        // On its own the line parses with the open quote's field last.
        let at = self.fields_on(line).saturating_sub(1);
        let field = self
            .columns
            .get(at)
            .map_or_else(|| format!("field {}", at + 1), |c| c.to_string());
        let text = String::from_utf8_lossy(line);
        let rest = match last.saturating_sub(number) {
            0 => String::new(),
            1 => format!(", line {last} is read as a row of its own"),
            _ => format!(
                ", lines {}-{last} are read as rows of their own",
                number + 1
            ),
        };
        Rejection::new(
            QuarantineReason::MalformedRow,
            format!(
                "unterminated quote: an unclosed quote in `{field}` at line {number} of {} \
                 runs to line {last}; line {number} is quarantined{rest}",
                self.label
            ),
        )
        .field(field)
        .raw(cap_raw(text.trim_end_matches('\r').to_string()))
    }

    /// Parses the lines a stray quote swallowed as rows; `first_line` is the line number of
    /// `bytes`' first line.
    fn reparse(
        &self,
        bytes: &[u8],
        first_line: u64,
        sink: &mut RowSink<'_>,
    ) -> Result<(), IngestError> {
        let mut reader = self.line_reader(bytes);
        let mut rec = ByteRecord::new();
        // Line numbers are counted here: csv's own count is one short after a `\r\n`.
        let (mut counted_to, mut line) = (0usize, first_line);
        let offset = |o: u64| usize::try_from(o).map_or(bytes.len(), |o| o.min(bytes.len()));
        while reader
            .read_byte_record(&mut rec)
            .map_err(|e| input_err(&self.label, e.to_string()))?
        {
            let from = offset(rec.position().map_or(0, |p| p.byte()));
            let to = offset(reader.position().byte());
            let starts = from
                + bytes[from..]
                    .iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .count();
            line += bytecount_newlines(&bytes[counted_to..starts]);
            counted_to = starts;
            self.emit(&rec, line, &|| bytes[from..to].to_vec(), sink)?;
        }
        Ok(())
    }
}

fn bytecount_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}
