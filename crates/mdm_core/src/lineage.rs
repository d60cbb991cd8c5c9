//! How a golden record's lineage is stored, and the form readers see.
//!
//! Readers (the API, the console) see one object per attribute:
//! `{"city": {"system": "MES", "source_id": "6", "batch_id": 3, "rule": "recent"}, ...}`.
//! Stored that way, the same few source records are spelled out once per attribute, and the
//! lineage outweighed the values four to one on every golden record and every history
//! version. So it is stored with each source named once:
//! `{"sources": [["MES", "6", 3], ...], "rules": {"city": [0, "recent"], ...}}` (a steward
//! lock's source has no batch: `["STEWARD", "alice", null]`). [`expand`] turns either form
//! into the reader's: rows written before the compact form stay readable as they are.

use crate::survive::Lineage;
use serde_json::{json, Map, Value};

/// The stored form of `lineage` (aligned with `names`; `None` for an attribute without a
/// value). Sources are numbered in order of first use, so the same lineage always gives the
/// same text.
pub fn encode<'a>(names: impl IntoIterator<Item = &'a str>, lineage: &[Option<Lineage>]) -> String {
    let mut sources: Vec<(&str, &str, Option<i64>)> = Vec::new();
    let mut rules = Map::new();
    for (name, l) in names.into_iter().zip(lineage) {
        let Some(l) = l else { continue };
        let source = (l.system.as_str(), l.source_id.as_str(), l.batch_id);
        let i = match sources.iter().position(|s| *s == source) {
            Some(i) => i,
            None => {
                sources.push(source);
                sources.len() - 1
            }
        };
        rules.insert(name.to_string(), json!([i, l.rule]));
    }
    json!({ "sources": sources, "rules": rules }).to_string()
}

/// The reader's form of a stored lineage (compact or, for older rows, already expanded).
/// Text that is not JSON gives `null`.
pub fn expand(stored: &str) -> Value {
    let v: Value = serde_json::from_str(stored).unwrap_or(Value::Null);
    let (Some(sources), Some(rules)) = (
        v.get("sources").and_then(Value::as_array),
        v.get("rules").and_then(Value::as_object),
    ) else {
        return v;
    };
    let mut out = Map::new();
    for (name, r) in rules {
        let source = r
            .get(0)
            .and_then(Value::as_u64)
            .and_then(|i| sources.get(i as usize));
        let (Some(s), Some(rule)) = (source, r.get(1)) else {
            continue;
        };
        let mut entry = Map::new();
        entry.insert("system".into(), s[0].clone());
        entry.insert("source_id".into(), s[1].clone());
        if !s[2].is_null() {
            entry.insert("batch_id".into(), s[2].clone());
        }
        entry.insert("rule".into(), rule.clone());
        out.insert(name.clone(), Value::Object(entry));
    }
    Value::Object(out)
}

/// Whether two stored lineages say the same (equal text, or equal once expanded: a row in
/// the older form compares equal to the same lineage in the compact one).
pub fn same(a: &str, b: &str) -> bool {
    a == b || expand(a) == expand(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(system: &str, id: &str, batch: Option<i64>, rule: &str) -> Option<Lineage> {
        Some(Lineage {
            system: system.into(),
            source_id: id.into(),
            batch_id: batch,
            rule: rule.into(),
        })
    }

    #[test]
    fn compact_form_names_each_source_once_and_expands_back() {
        let names = ["name", "city", "email", "phone"];
        let lineage = vec![
            l("ERP", "C1", Some(1), "trust"),
            l("MES", "6", Some(3), "recent"),
            None,
            l("ERP", "C1", Some(1), "only_value"),
        ];
        let stored = encode(names, &lineage);
        assert_eq!(
            stored,
            r#"{"rules":{"city":[1,"recent"],"name":[0,"trust"],"phone":[0,"only_value"]},"sources":[["ERP","C1",1],["MES","6",3]]}"#
        );
        let old: Value = Map::from_iter(names.iter().zip(&lineage).filter_map(|(n, l)| {
            l.as_ref()
                .map(|l| (n.to_string(), serde_json::to_value(l).unwrap()))
        }))
        .into();
        assert_eq!(expand(&stored), old);
        assert!(stored.len() * 3 < old.to_string().len() * 2, "{stored}");
    }

    #[test]
    fn steward_lock_has_no_batch() {
        let stored = encode(["name"], &[l("STEWARD", "alice", None, "steward_lock")]);
        assert_eq!(
            expand(&stored),
            json!({"name": {"system": "STEWARD", "source_id": "alice", "rule": "steward_lock"}})
        );
    }

    #[test]
    fn older_expanded_rows_read_as_they_are_and_compare_equal() {
        let lineage = [l("ERP", "C1", Some(1), "trust")];
        let old =
            json!({"name": {"system": "ERP", "source_id": "C1", "batch_id": 1, "rule": "trust"}})
                .to_string();
        assert_eq!(expand(&old).to_string(), old);
        assert!(same(&old, &encode(["name"], &lineage)));
        assert!(!same(
            &old,
            &encode(["name"], &[l("ERP", "C2", Some(1), "trust")])
        ));
        assert_eq!(expand("not json"), Value::Null);
    }
}
