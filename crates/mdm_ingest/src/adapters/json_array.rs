//! JSON array adapter: `[{...}, {...}]`, the body of an HTTP push. The whole body is
//! checked to be a JSON array first (anything else fails it, before a row is loaded); then
//! each element is parsed on its own as its row is read, so only one element's values are
//! in memory at a time. An element that is not an object, or longer than
//! `ingest.max_line_bytes`, is quarantined (the longer one without being parsed).

use super::lines::{Overlong, DEFAULT_MAX_LINE_BYTES};
use super::{cap_raw, json_object_fields, RecordSource, RowSink};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use serde::de::IgnoredAny;

pub struct JsonArraySource {
    label: String,
    body: Vec<u8>,
    /// Where the array starts in `body` (past a byte-order mark).
    start: usize,
    len: usize,
    max_element_bytes: usize,
}

impl JsonArraySource {
    /// Parses a JSON array; anything else fails the whole body. An owned body (a file
    /// read whole) is kept as it is, not copied: a 200 MB file took 420 MB.
    pub fn parse(label: String, body: impl Into<Vec<u8>>) -> Result<Self, IngestError> {
        let body: Vec<u8> = body.into();
        let start = if body.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let mut len = 0;
        for element in Elements::new(&body[start..]) {
            element.map_err(|message| IngestError::Input {
                label: label.clone(),
                message: format!("expected a JSON array of records: {message}"),
            })?;
            len += 1;
        }
        Ok(Self {
            label,
            body,
            start,
            len,
            max_element_bytes: DEFAULT_MAX_LINE_BYTES,
        })
    }

    /// Elements longer than this many bytes are quarantined unparsed
    /// (`ingest.max_line_bytes`).
    pub fn max_element_bytes(mut self, max: usize) -> Self {
        self.max_element_bytes = max;
        self
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn element(
        &self,
        number: u64,
        bytes: &[u8],
    ) -> Result<Vec<(crate::row::ColumnName, String)>, Rejection> {
        if bytes.len() > self.max_element_bytes {
            let long = Overlong {
                bytes: bytes.len() as u64,
                ending: b"",
            };
            let what = format!("array element {number}");
            return Err(long.rejection(&what, &self.label, self.max_element_bytes, bytes));
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(obj)) => Ok(json_object_fields(obj)),
            Ok(other) => Err(Rejection::new(
                QuarantineReason::MalformedRow,
                "array element is not an object",
            )
            .raw(cap_raw(other.to_string()))),
            // The whole body was checked in `parse`.
            Err(e) => Err(
                Rejection::new(QuarantineReason::MalformedRow, e.to_string())
                    .raw(cap_raw(String::from_utf8_lossy(bytes).into_owned())),
            ),
        }
    }
}

impl RecordSource for JsonArraySource {
    fn label(&self) -> &str {
        &self.label
    }

    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        let body = std::mem::take(&mut self.body);
        for (i, element) in Elements::new(&body[self.start..]).enumerate() {
            let number = i as u64 + 1;
            let bytes = element.map_err(|message| IngestError::Input {
                label: self.label.clone(),
                message,
            })?;
            let content = self.element(number, bytes);
            sink(RawRow { number, content })?;
        }
        Ok(())
    }
}

/// The elements of a JSON array, each as its bytes, found without building values.
struct Elements<'b> {
    body: &'b [u8],
    at: usize,
    state: State,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    First,
    Next,
    Done,
}

impl<'b> Elements<'b> {
    fn new(body: &'b [u8]) -> Self {
        Self {
            body,
            at: 0,
            state: State::Start,
        }
    }

    fn skip_whitespace(&mut self) -> Option<u8> {
        while let Some(&b) = self.body.get(self.at) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    fn fail(&mut self, what: &str) -> Option<Result<&'b [u8], String>> {
        self.state = State::Done;
        Some(Err(format!("{what} at byte {}", self.at)))
    }

    /// The value starting at `self.at`, skipped over.
    fn value(&mut self) -> Result<&'b [u8], String> {
        let start = self.at;
        let mut values =
            serde_json::Deserializer::from_slice(&self.body[start..]).into_iter::<IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => {
                self.at = start + values.byte_offset();
                Ok(&self.body[start..self.at])
            }
            Some(Err(e)) => Err(e.to_string()),
            None => Err("the array is not closed".into()),
        }
    }
}

impl<'b> Iterator for Elements<'b> {
    type Item = Result<&'b [u8], String>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.state {
                State::Done => return None,
                State::Start => {
                    if self.skip_whitespace() != Some(b'[') {
                        return self.fail("not an array: no `[`");
                    }
                    self.at += 1;
                    self.state = State::First;
                    if self.skip_whitespace() == Some(b']') {
                        self.at += 1;
                        return self.end();
                    }
                }
                State::First | State::Next => {
                    if self.state == State::Next {
                        match self.skip_whitespace() {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                return self.end();
                            }
                            _ => return self.fail("expected `,` or `]`"),
                        }
                    }
                    self.skip_whitespace();
                    self.state = State::Next;
                    return match self.value() {
                        Ok(v) => Some(Ok(v)),
                        Err(e) => {
                            self.state = State::Done;
                            Some(Err(e))
                        }
                    };
                }
            }
        }
    }
}

impl<'b> Elements<'b> {
    /// After the closing `]`: only whitespace may follow.
    fn end(&mut self) -> Option<Result<&'b [u8], String>> {
        if self.skip_whitespace().is_some() {
            return self.fail("trailing characters after the array");
        }
        self.state = State::Done;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(src: &mut JsonArraySource) -> Vec<RawRow> {
        let mut rows = Vec::new();
        src.for_each_row(&mut |r| {
            rows.push(r);
            Ok(())
        })
        .unwrap();
        rows
    }

    #[test]
    fn objects_and_non_objects() {
        let mut src =
            JsonArraySource::parse("push".into(), br#"[{"source_id":"1","a":true},"x"]"#).unwrap();
        assert_eq!(src.len(), 2);
        let rows = rows(&mut src);
        assert!(rows[0]
            .content
            .as_ref()
            .unwrap()
            .contains(&("a".into(), "true".into())));
        assert_eq!(rows[1].number, 2);
        assert_eq!(
            rows[1].content.as_ref().unwrap_err().reason,
            QuarantineReason::MalformedRow
        );
        assert!(JsonArraySource::parse("push".into(), b"{}").is_err());
    }

    #[test]
    fn only_a_whole_array_parses() {
        for good in [
            &b"[]"[..],
            b" [ ] ",
            b"\xEF\xBB\xBF[1]",
            b"[1,\"a]\",[2,3],{\"b\":[]}]\n",
        ] {
            assert!(
                JsonArraySource::parse("t".into(), good).is_ok(),
                "{}",
                String::from_utf8_lossy(good)
            );
        }
        for bad in [
            &b""[..],
            b"[",
            b"[1,",
            b"[1,]",
            b"[1 2]",
            b"[1]x",
            b"[,1]",
            b"[1,2",
            b"[{]",
            b"1",
        ] {
            assert!(
                JsonArraySource::parse("t".into(), bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let src = JsonArraySource::parse("t".into(), b"[1,\"a]\",[2,3],{\"b\":[]}]").unwrap();
        assert_eq!(src.len(), 4);
    }

    #[test]
    fn an_element_over_the_cap_is_quarantined_unparsed() {
        let big = format!("{{\"source_id\":\"2\",\"note\":\"{}\"}}", "x".repeat(5000));
        let body = format!("[{{\"source_id\":\"1\"}},{big},{{\"source_id\":\"3\"}}]");
        let mut src = JsonArraySource::parse("http:ERP".into(), body.as_bytes())
            .unwrap()
            .max_element_bytes(1000);
        let rows = rows(&mut src);
        assert_eq!(rows.len(), 3);
        assert!(rows[0].content.is_ok() && rows[2].content.is_ok());
        let r = rows[1].content.as_ref().unwrap_err();
        assert_eq!(r.reason, QuarantineReason::MalformedRow);
        assert!(
            r.detail.contains(&format!(
                "array element 2 of http:ERP is {} bytes",
                big.len()
            )) && r.detail.contains("ingest.max_line_bytes (1000)"),
            "{}",
            r.detail
        );
    }
}
