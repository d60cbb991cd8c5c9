//! What adapters produce: raw rows (source column names and text values), or rejections
//! for rows that could not even be read as fields.

use std::sync::Arc;

/// Why a row was quarantined; the code is what the database and reports show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuarantineReason {
    /// No source_id, or only blanks.
    MissingSourceId,
    /// The row is not well-formed: wrong number of CSV fields, a line that is no JSON
    /// object, two columns mapped to one name.
    MalformedRow,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A source_id already seen earlier in the same load.
    DuplicateSourceId,
    /// A value that fails its attribute type's basic check.
    InvalidValue,
    /// A link that cannot be staged: unknown type, an end missing, a link to itself, an
    /// attribute its type does not declare or that fails its check.
    InvalidLink,
}

impl QuarantineReason {
    pub const ALL: [QuarantineReason; 6] = [
        QuarantineReason::MissingSourceId,
        QuarantineReason::MalformedRow,
        QuarantineReason::InvalidUtf8,
        QuarantineReason::DuplicateSourceId,
        QuarantineReason::InvalidValue,
        QuarantineReason::InvalidLink,
    ];

    /// The row could not be read as the source's fields, so it may be any record: a
    /// snapshot load that quarantined one cannot prove a record absent.
    pub fn hides_source_id(self) -> bool {
        matches!(
            self,
            QuarantineReason::MalformedRow | QuarantineReason::InvalidUtf8
        )
    }

    pub fn code(self) -> &'static str {
        match self {
            QuarantineReason::MissingSourceId => "missing_source_id",
            QuarantineReason::MalformedRow => "malformed_row",
            QuarantineReason::InvalidUtf8 => "invalid_utf8",
            QuarantineReason::DuplicateSourceId => "duplicate_source_id",
            QuarantineReason::InvalidValue => "invalid_value",
            QuarantineReason::InvalidLink => "invalid_link",
        }
    }
}

/// A row that cannot be staged, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: QuarantineReason,
    /// The field at fault, when one is (canonical name where known).
    pub field: Option<String>,
    pub detail: String,
    /// The row as read, for the steward fixing the source (never logged).
    pub raw: Option<String>,
    pub source_id: Option<String>,
}

impl Rejection {
    pub fn new(reason: QuarantineReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            field: None,
            detail: detail.into(),
            raw: None,
            source_id: None,
        }
    }
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn raw(mut self, raw: impl Into<String>) -> Self {
        self.raw = Some(raw.into());
        self
    }
}

/// Column name as the source spells it; shared between rows of a CSV file.
pub type ColumnName = Arc<str>;

/// One row from an adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// Line number in a file (the header is line 1), element number in a JSON array, row
    /// number of a SQL result.
    pub number: u64,
    pub content: Result<Vec<(ColumnName, String)>, Rejection>,
}
