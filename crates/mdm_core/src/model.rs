//! The domain model: typed identifiers, attribute types and source records.
//!
//! Raw input is parsed once into these types at the edge (ingest, CLI, API), so the rest
//! of the pipeline never sees an empty source key or an unnamed system.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier from the outside world was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("system name must be 1-64 characters of A-Z, 0-9, '_' or '-', got {0:?}")]
    BadSystemName(String),
    #[error("source_id is empty")]
    EmptySourceKey,
    #[error("source_id is longer than 256 characters")]
    SourceKeyTooLong,
    #[error("not a valid golden id (UUID): {0:?}")]
    BadGoldenId(String),
}

/// A source system such as `ERP`, `CRM` or `MES`. Stored upper-case so `erp` and `ERP`
/// name the same system. Shared, not copied: millions of records name a few systems.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SystemName(std::sync::Arc<str>);

impl SystemName {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = raw.trim();
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if ok {
            Ok(Self(s.to_ascii_uppercase().into()))
        } else {
            Err(IdError::BadSystemName(raw.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SystemName {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<SystemName> for String {
    fn from(s: SystemName) -> String {
        s.0.to_string()
    }
}
impl fmt::Display for SystemName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record's key in its source system (customer number, SKU, ...), trimmed and non-empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceKey(String);

impl SourceKey {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        let s = raw.trim();
        if s.is_empty() {
            Err(IdError::EmptySourceKey)
        } else if s.chars().count() > 256 {
            Err(IdError::SourceKeyTooLong)
        } else {
            Ok(Self(s.to_string()))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for SourceKey {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<SourceKey> for String {
    fn from(s: SourceKey) -> String {
        s.0
    }
}
impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// (system, source_id): the identity of one source record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    pub system: SystemName,
    pub source_id: SourceKey,
}

/// The canonical ID of a golden record. Never reused; retired IDs redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GoldenId(pub uuid::Uuid);

impl GoldenId {
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        uuid::Uuid::parse_str(raw.trim())
            .map(Self)
            .map_err(|_| IdError::BadGoldenId(raw.to_string()))
    }
}
impl fmt::Display for GoldenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How an attribute's values are cleaned, validated and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttrType {
    PersonName,
    OrganizationName,
    Date,
    Gender,
    Email,
    Phone,
    Street,
    HouseNumber,
    City,
    Postcode,
    Region,
    Country,
    /// A free identifier (SKU, part number, national ID): case and separators folded.
    Identifier,
    TaxId,
    Gtin,
    Iban,
    Duns,
    Url,
    Text,
    Number,
    Money,
    Currency,
    /// A short code from a small vocabulary (category, unit).
    Code,
}

impl AttrType {
    pub const ALL: [AttrType; 23] = [
        AttrType::PersonName,
        AttrType::OrganizationName,
        AttrType::Date,
        AttrType::Gender,
        AttrType::Email,
        AttrType::Phone,
        AttrType::Street,
        AttrType::HouseNumber,
        AttrType::City,
        AttrType::Postcode,
        AttrType::Region,
        AttrType::Country,
        AttrType::Identifier,
        AttrType::TaxId,
        AttrType::Gtin,
        AttrType::Iban,
        AttrType::Duns,
        AttrType::Url,
        AttrType::Text,
        AttrType::Number,
        AttrType::Money,
        AttrType::Currency,
        AttrType::Code,
    ];

    /// The name used in rules files (`person_name`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AttrType::PersonName => "person_name",
            AttrType::OrganizationName => "organization_name",
            AttrType::Date => "date",
            AttrType::Gender => "gender",
            AttrType::Email => "email",
            AttrType::Phone => "phone",
            AttrType::Street => "street",
            AttrType::HouseNumber => "house_number",
            AttrType::City => "city",
            AttrType::Postcode => "postcode",
            AttrType::Region => "region",
            AttrType::Country => "country",
            AttrType::Identifier => "identifier",
            AttrType::TaxId => "tax_id",
            AttrType::Gtin => "gtin",
            AttrType::Iban => "iban",
            AttrType::Duns => "duns",
            AttrType::Url => "url",
            AttrType::Text => "text",
            AttrType::Number => "number",
            AttrType::Money => "money",
            AttrType::Currency => "currency",
            AttrType::Code => "code",
        }
    }
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One attribute of a domain, as declared in its rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: AttrType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One source record, with raw values aligned to its domain's attribute order
/// (`DomainRules::attributes`). `None` is a missing value.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    pub key: RecordKey,
    pub values: Vec<Option<String>>,
}
