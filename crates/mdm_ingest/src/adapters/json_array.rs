//! JSON array adapter: `[{...}, {...}]`, the body of an HTTP push. The body is bounded by
//! the endpoint's size limit, so it is parsed whole; an element that is not an object is
//! quarantined.

use super::{cap_raw, json_object_fields, RecordSource, RowSink};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;

pub struct JsonArraySource {
    label: String,
    elements: Vec<serde_json::Value>,
}

impl JsonArraySource {
    /// Parses a JSON array; anything else fails the whole body.
    pub fn parse(label: String, body: &[u8]) -> Result<Self, IngestError> {
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let elements = serde_json::from_slice::<Vec<serde_json::Value>>(body).map_err(|e| {
            IngestError::Input {
                label: label.clone(),
                message: format!("expected a JSON array of records: {e}"),
            }
        })?;
        Ok(Self { label, elements })
    }

    pub fn len(&self) -> usize {
        self.elements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }
}

impl RecordSource for JsonArraySource {
    fn label(&self) -> &str {
        &self.label
    }

    fn for_each_row(&mut self, sink: &mut RowSink<'_>) -> Result<(), IngestError> {
        for (i, element) in std::mem::take(&mut self.elements).into_iter().enumerate() {
            let number = i as u64 + 1;
            let content = match element {
                serde_json::Value::Object(obj) => Ok(json_object_fields(obj)),
                other => Err(Rejection::new(
                    QuarantineReason::MalformedRow,
                    "array element is not an object",
                )
                .raw(cap_raw(other.to_string()))),
            };
            sink(RawRow { number, content })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_and_non_objects() {
        let mut src =
            JsonArraySource::parse("push".into(), br#"[{"source_id":"1","a":true},"x"]"#).unwrap();
        let mut rows = Vec::new();
        src.for_each_row(&mut |r| {
            rows.push(r);
            Ok(())
        })
        .unwrap();
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
}
