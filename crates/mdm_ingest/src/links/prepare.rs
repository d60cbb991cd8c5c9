//! A links file's row -> a link ready for staging, or a quarantine entry naming the field.
//!
//! Columns: `from_source_id`, `to_source_id`, `type`, optionally `system` (it must be the
//! system loaded), and the attributes the type declares. Blanks are dropped; attributes are
//! checked like record attributes of their type and hashed in canonical JSON (keys sorted),
//! so a re-load in another column order changes nothing.

use crate::row::{ColumnName, QuarantineReason, Rejection};
use mdm_core::relationships::{RelationshipRules, RelationshipType};
use mdm_core::SourceKey;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A link ready for staging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedLink {
    pub rel_type: String,
    pub from_source_id: String,
    pub to_source_id: String,
    /// Canonical JSON object of the attributes.
    pub attributes: String,
    pub content_hash: String,
}

pub struct LinkPreparer<'a> {
    pub rules: &'a RelationshipRules,
    pub domain: &'a str,
    pub system: &'a str,
}

impl LinkPreparer<'_> {
    pub fn prepare(&self, fields: Vec<(ColumnName, String)>) -> Result<PreparedLink, Rejection> {
        let raw = raw_text(&fields);
        let bad = |field: &str, detail: String| {
            Rejection::new(QuarantineReason::InvalidLink, detail)
                .field(field)
                .raw(raw.clone())
        };
        let mut named: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in &fields {
            if value.contains('\0') {
                return Err(bad(name, format!("`{name}` contains a NUL character")));
            }
            if named.insert(name.as_ref(), value.as_str()).is_some() {
                return Err(bad(name, format!("column `{name}` appears twice")));
            }
        }
        let get = |k: &str| named.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        if let Some(s) = get("system") {
            if s != self.system {
                return Err(bad(
                    "system",
                    format!("a link of system {s} in a load of system {}", self.system),
                ));
            }
        }
        let name = get("type").ok_or_else(|| bad("type", "the link has no type".into()))?;
        let ty = self.rules.get(self.domain, name).ok_or_else(|| {
            bad(
                "type",
                format!(
                    "`{name}` is not a relationship type from domain {}",
                    self.domain
                ),
            )
        })?;
        if ty.derived.is_some() {
            return Err(bad(
                "type",
                format!("`{name}` is derived by the hub: sources do not state it"),
            ));
        }
        let from = end(get("from_source_id")).map_err(|d| bad("from_source_id", d))?;
        let to = end(get("to_source_id")).map_err(|d| bad("to_source_id", d))?;
        if from == to && ty.from == ty.to {
            return Err(bad("to_source_id", "a link from a record to itself".into()));
        }
        let attributes = attributes(ty, &named).map_err(|(f, d)| bad(&f, d))?;
        let json = serde_json::to_string(&attributes).expect("a map serializes");
        let content_hash = hex::encode(Sha256::digest(json.as_bytes()));
        Ok(PreparedLink {
            rel_type: ty.name.clone(),
            from_source_id: from,
            to_source_id: to,
            attributes: json,
            content_hash,
        })
    }
}

fn end(v: Option<&str>) -> Result<String, String> {
    let v = v.ok_or("the link has no such end")?;
    SourceKey::parse(v)
        .map(String::from)
        .map_err(|e| e.to_string())
}

/// The declared attributes with values, each checked against its type.
fn attributes<'a>(
    ty: &RelationshipType,
    named: &BTreeMap<&str, &'a str>,
) -> Result<BTreeMap<String, &'a str>, (String, String)> {
    let mut out = BTreeMap::new();
    for (&k, &v) in named {
        if mdm_core::relationships::LINK_COLUMNS.contains(&k) || v.trim().is_empty() {
            continue;
        }
        let Some(&at) = ty.attributes.get(k) else {
            return Err((
                k.to_string(),
                format!("`{k}` is not an attribute of relationship type {}", ty.name),
            ));
        };
        mdm_core::standardize::basic_check(at, v)
            .map_err(|why| (k.to_string(), format!("not a valid {at}: {why}")))?;
        out.insert(k.to_string(), v);
    }
    Ok(out)
}

fn raw_text(fields: &[(ColumnName, String)]) -> String {
    let obj: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .take(64)
        .map(|(c, v)| (c.to_string(), serde_json::Value::String(v.clone())))
        .collect();
    crate::adapters::cap_raw(serde_json::Value::Object(obj).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prep(pairs: &[(&str, &str)]) -> Result<PreparedLink, Rejection> {
        let rules = mdm_rules::load_relationships(None).unwrap();
        let p = LinkPreparer {
            rules: &rules,
            domain: "supplier",
            system: "ERP",
        };
        p.prepare(
            pairs
                .iter()
                .map(|(k, v)| (ColumnName::from(*k), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn a_link_is_hashed_whatever_the_column_order() {
        let a = prep(&[
            ("type", "parent_of"),
            ("from_source_id", "1"),
            ("to_source_id", "2"),
            ("share", "51"),
        ])
        .unwrap();
        let b = prep(&[
            ("share", "51"),
            ("to_source_id", "2"),
            ("from_source_id", "1"),
            ("type", "parent_of"),
            ("system", "ERP"),
        ])
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.attributes, r#"{"share":"51"}"#);
    }

    #[test]
    fn bad_links_name_their_field() {
        let field = |pairs: &[(&str, &str)]| {
            let r = prep(pairs).unwrap_err();
            assert_eq!(r.reason, QuarantineReason::InvalidLink);
            (r.field.unwrap(), r.detail)
        };
        let base = [
            ("type", "parent_of"),
            ("from_source_id", "1"),
            ("to_source_id", "2"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut v = base.to_vec();
            v.retain(|(k, _)| *k != extra.0);
            v.push(extra);
            v
        };
        assert_eq!(field(&with(("type", "owns"))).0, "type");
        assert_eq!(field(&with(("to_source_id", " "))).0, "to_source_id");
        assert_eq!(field(&with(("to_source_id", "1"))).0, "to_source_id");
        assert_eq!(field(&with(("system", "CRM"))).0, "system");
        assert_eq!(field(&with(("colour", "red"))).0, "colour");
        let (f, d) = field(&with(("share", "lots")));
        assert_eq!(f, "share");
        assert!(d.contains("not a valid"), "{d}");
    }
}
