//! Row preparation, between the adapters and the store: names mapped to canonical names,
//! the source_id taken out, typed values given their basic check, blanks dropped, and the
//! attribute map serialized canonically (keys sorted) and hashed.
//!
//! The content hash is SHA-256 over that canonical JSON, so a re-load of the same values in
//! another column order, or with an empty column added, hashes the same.

use crate::mapping::ColumnMapping;
use crate::row::{ColumnName, QuarantineReason, Rejection};
use mdm_core::{AttrType, DomainRules, SourceKey};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A row ready for staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedRow {
    pub source_id: String,
    /// Canonical JSON object of the attributes (canonical names plus extra columns).
    pub attributes: String,
    pub content_hash: String,
}

pub struct Preparer<'a> {
    types: HashMap<String, AttrType>,
    mapping: &'a ColumnMapping,
    /// Source column -> staged name; CSV rows share column names, so this is mostly hits.
    resolved: HashMap<ColumnName, ColumnName>,
}

pub const SOURCE_ID: &str = "source_id";

/// Most columns one row may have; a wider row is quarantined (an MDM record has tens).
pub const MAX_COLUMNS: usize = 4096;

impl<'a> Preparer<'a> {
    pub fn new(rules: &DomainRules, mapping: &'a ColumnMapping) -> Self {
        let types = rules
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty))
            .collect();
        Self {
            types,
            mapping,
            resolved: HashMap::new(),
        }
    }

    /// The name a source column is staged under.
    pub fn staged_name(&mut self, column: &ColumnName) -> ColumnName {
        if let Some(n) = self.resolved.get(column) {
            return n.clone();
        }
        let types = &self.types;
        let name: ColumnName = self
            .mapping
            .resolve(column, |s| s == SOURCE_ID || types.contains_key(s))
            .into();
        self.resolved.insert(column.clone(), name.clone());
        name
    }

    pub fn prepare(&mut self, fields: Vec<(ColumnName, String)>) -> Result<PreparedRow, Rejection> {
        if fields.len() > MAX_COLUMNS {
            let count = fields.len();
            let raw = raw_text(
                &fields
                    .into_iter()
                    .take(20)
                    .map(|(c, v)| (c.clone(), v, c))
                    .collect::<Vec<_>>(),
            );
            return Err(Rejection::new(
                QuarantineReason::MalformedRow,
                format!("{count} columns; at most {MAX_COLUMNS} per row"),
            )
            .raw(raw));
        }
        // A column a hostile row names for the first time is not remembered: the cache is
        // for the few names a source's rows share.
        if self.resolved.len() > MAX_COLUMNS {
            self.resolved.clear();
        }
        // (staged name, value, source column name)
        let named: Vec<(ColumnName, String, ColumnName)> = fields
            .into_iter()
            .map(|(col, value)| (self.staged_name(&col), value, col))
            .collect();
        let raw = || raw_text(&named);
        // A set, not a scan of the names before each: a row of 100k keys took minutes.
        let mut seen: HashSet<&ColumnName> = HashSet::with_capacity(named.len());
        if let Some((name, _, _)) = named.iter().find(|(name, _, _)| !seen.insert(name)) {
            return Err(Rejection::new(
                QuarantineReason::MalformedRow,
                format!("two columns are staged as `{name}`"),
            )
            .field(name.as_ref())
            .raw(raw()));
        }
        // PostgreSQL text cannot hold U+0000 and refused the whole chunk for one such value;
        // it is the row's fault, so it is quarantined here, on both backends alike.
        if let Some((name, _, _)) = named
            .iter()
            .find(|(name, value, _)| value.contains('\0') || name.contains('\0'))
        {
            let name = name.replace('\0', "\\0");
            return Err(Rejection::new(
                QuarantineReason::InvalidValue,
                format!("`{name}` contains a NUL character (U+0000)"),
            )
            .field(name)
            .raw(raw()));
        }
        let source_id = match named
            .iter()
            .find(|(n, _, _)| n.as_ref() == SOURCE_ID)
            .map(|(_, v, _)| SourceKey::parse(v))
        {
            Some(Ok(key)) => String::from(key),
            Some(Err(mdm_core::model::IdError::SourceKeyTooLong)) => {
                return Err(Rejection::new(
                    QuarantineReason::InvalidValue,
                    "source_id is longer than 256 characters",
                )
                .field(SOURCE_ID)
                .raw(raw()))
            }
            _ => {
                return Err(Rejection::new(
                    QuarantineReason::MissingSourceId,
                    "the row has no source_id",
                )
                .field(SOURCE_ID)
                .raw(raw()))
            }
        };
        let mut attributes: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value, _) in &named {
            if name.as_ref() == SOURCE_ID || value.trim().is_empty() {
                continue;
            }
            if let Some(ty) = self.types.get(name.as_ref()) {
                if let Err(why) = mdm_core::standardize::basic_check(*ty, value) {
                    let mut r = Rejection::new(
                        QuarantineReason::InvalidValue,
                        format!("not a valid {ty}: {why}"),
                    )
                    .field(name.as_ref())
                    .raw(raw());
                    r.source_id = Some(source_id);
                    return Err(r);
                }
            }
            attributes.insert(name, value);
        }
        let attributes = serde_json::to_string(&attributes).expect("a map of strings serializes");
        let content_hash = hex::encode(Sha256::digest(attributes.as_bytes()));
        Ok(PreparedRow {
            source_id,
            attributes,
            content_hash,
        })
    }
}

/// The row as the source named it, as a JSON object, for the quarantine's raw column.
fn raw_text(named: &[(ColumnName, String, ColumnName)]) -> String {
    let obj: serde_json::Map<String, serde_json::Value> = named
        .iter()
        .map(|(_, v, col)| (col.to_string(), serde_json::Value::String(v.clone())))
        .collect();
    super::adapters::cap_raw(serde_json::Value::Object(obj).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> DomainRules {
        mdm_rules::load_domain(None, "customer").unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(ColumnName, String)> {
        pairs
            .iter()
            .map(|(k, v)| (ColumnName::from(*k), v.to_string()))
            .collect()
    }

    #[test]
    fn hash_ignores_column_order_and_blanks() {
        let (r, m) = (rules(), ColumnMapping::default());
        let mut p = Preparer::new(&r, &m);
        let a = p
            .prepare(fields(&[
                ("source_id", "1"),
                ("city", "Ulm"),
                ("email", ""),
            ]))
            .unwrap();
        let b = p
            .prepare(fields(&[("City", "Ulm"), ("source_id", " 1 ")]))
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.attributes, r#"{"city":"Ulm"}"#);
        let c = p
            .prepare(fields(&[
                ("source_id", "1"),
                ("city", "Ulm "),
                ("tier", "gold"),
            ]))
            .unwrap();
        assert_ne!(a.content_hash, c.content_hash);
        assert_eq!(c.attributes, r#"{"city":"Ulm ","tier":"gold"}"#);
    }

    #[test]
    fn wide_rows_are_capped_and_duplicates_found_among_many() {
        let (r, m) = (rules(), ColumnMapping::default());
        let mut p = Preparer::new(&r, &m);
        let wide = |n: usize| {
            let mut f = vec![(ColumnName::from("source_id"), "1".to_string())];
            f.extend((0..n).map(|i| (ColumnName::from(format!("k{i}")), "v".to_string())));
            f
        };
        let e = p.prepare(wide(100_000)).unwrap_err();
        assert_eq!(e.reason, QuarantineReason::MalformedRow);
        assert!(e.detail.contains("100001 columns"), "{}", e.detail);
        assert!(p.prepare(wide(MAX_COLUMNS - 1)).is_ok());
        let mut dup = wide(MAX_COLUMNS - 2);
        dup.push((ColumnName::from("k7"), "again".to_string()));
        let e = p.prepare(dup).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("k7"));
    }

    #[test]
    fn nul_characters_are_quarantined_naming_the_field() {
        let (r, m) = (rules(), ColumnMapping::default());
        let mut p = Preparer::new(&r, &m);
        for (row, field) in [
            (
                fields(&[("source_id", "A\u{0}1"), ("city", "Ulm")]),
                "source_id",
            ),
            (fields(&[("source_id", "A1"), ("City", "U\0lm")]), "city"),
            (fields(&[("source_id", "A1"), ("note", "\0")]), "note"),
        ] {
            let e = p.prepare(row).unwrap_err();
            assert_eq!(e.reason, QuarantineReason::InvalidValue);
            assert_eq!(e.field.as_deref(), Some(field));
            assert!(e.detail.contains("NUL"), "{}", e.detail);
            assert!(!e.raw.unwrap().contains('\0'), "the raw text is storable");
        }
    }

    #[test]
    fn mapping_applies_and_source_id_required() {
        let r = rules();
        let m = ColumnMapping::new([("KUNNR", "source_id"), ("NAME1", "organization_name")]);
        let mut p = Preparer::new(&r, &m);
        let ok = p
            .prepare(fields(&[("KUNNR", "K1"), ("NAME1", "ACME")]))
            .unwrap();
        assert_eq!(
            (ok.source_id.as_str(), ok.attributes.as_str()),
            ("K1", r#"{"organization_name":"ACME"}"#)
        );
        let missing = p
            .prepare(fields(&[("KUNNR", "  "), ("NAME1", "ACME")]))
            .unwrap_err();
        assert_eq!(missing.reason, QuarantineReason::MissingSourceId);
        let twice = p
            .prepare(fields(&[("KUNNR", "K1"), ("source_id", "K2")]))
            .unwrap_err();
        assert_eq!(twice.reason, QuarantineReason::MalformedRow);
    }
}
