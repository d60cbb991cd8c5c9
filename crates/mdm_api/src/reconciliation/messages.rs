//! The messages of the W3C Entity Reconciliation API 0.2 (what OpenRefine speaks), and the
//! pure steps between them and mdm's own terms: a query's name and properties become
//! attribute values of the domain, a matcher candidate becomes a reconciliation candidate.

use crate::name_index::name_attributes;
use crate::realtime::Candidate;
use mdm_core::DomainRules;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Candidates per query when the query sets no limit.
pub const DEFAULT_LIMIT: usize = 5;
/// Most candidates, queries, IDs or suggestions one request may ask for.
pub const MAX_ITEMS: usize = 100;

/// One query of a batch (`{"q0": {...}, "q1": {...}}`).
#[derive(Debug, Deserialize)]
pub struct Query {
    #[serde(default)]
    pub query: String,
    pub limit: Option<usize>,
    #[serde(default)]
    pub properties: Vec<PropertyValue>,
    /// The type asked for: accepted and ignored, as a domain has one type.
    #[serde(rename = "type", default)]
    pub _type: serde_json::Value,
    #[serde(default)]
    pub type_strict: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct PropertyValue {
    pub pid: String,
    /// A string, a number, an entity (`{"id": ..}`) or a list of those.
    pub v: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct ResultBatchEntry {
    pub result: Vec<ReconCandidate>,
}

#[derive(Debug, Serialize)]
pub struct ReconCandidate {
    pub id: String,
    pub name: String,
    /// 0-100: the engine's match probability in percent.
    pub score: f64,
    /// The engine would merge the query with this golden record, and with no other.
    #[serde(rename = "match")]
    pub is_match: bool,
    #[serde(rename = "type")]
    pub types: Vec<TypeRef>,
    pub features: Vec<Feature>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct Feature {
    pub id: String,
    pub value: f64,
}

/// A data-extension request: golden attribute values for `ids`.
#[derive(Debug, Deserialize)]
pub struct ExtendQuery {
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub properties: Vec<ExtendProperty>,
}

#[derive(Debug, Deserialize)]
pub struct ExtendProperty {
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct ExtendResponse {
    pub meta: Vec<PropertyRef>,
    pub rows: BTreeMap<String, BTreeMap<String, Vec<StrValue>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PropertyRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct StrValue {
    pub str: String,
}

#[derive(Debug, Serialize)]
pub struct PropertyProposal {
    #[serde(rename = "type")]
    pub ty: String,
    pub limit: usize,
    pub properties: Vec<PropertyRef>,
}

#[derive(Debug, Serialize)]
pub struct SuggestResponse {
    pub result: Vec<Suggestion>,
}

#[derive(Debug, Serialize)]
pub struct Suggestion {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The domain as the one type its service offers.
pub fn domain_type(rules: &DomainRules) -> TypeRef {
    TypeRef {
        id: rules.domain.clone(),
        name: rules
            .description
            .clone()
            .unwrap_or_else(|| rules.domain.clone()),
    }
}

/// The domain's attributes as properties, in declaration order.
pub fn properties(rules: &DomainRules) -> Vec<PropertyRef> {
    rules
        .attributes
        .iter()
        .map(|a| PropertyRef {
            id: a.name.clone(),
            name: a.description.clone().unwrap_or_else(|| a.name.clone()),
        })
        .collect()
}

/// The query as attribute values of the domain (aligned to `rules.attributes`): the name
/// fills the domain's name attributes (an attribute `name`, else a full person name and an
/// organization name, whichever the domain has), each property its attribute. Properties
/// that name no attribute are ignored, as the specification allows.
pub fn query_values(rules: &DomainRules, q: &Query) -> Vec<Option<String>> {
    let mut values: Vec<Option<String>> = vec![None; rules.attributes.len()];
    let name = q.query.trim();
    if !name.is_empty() {
        for i in query_name_attributes(rules) {
            values[i] = Some(name.to_string());
        }
    }
    for p in &q.properties {
        if let (Some(i), Some(v)) = (rules.index_of(&p.pid), property_text(&p.v)) {
            values[i] = Some(v);
        }
    }
    values
}

/// Where a query's name goes: `name`, else `full_name` (split into given and family name
/// by the rules' `name_split`) and every organization name.
fn query_name_attributes(rules: &DomainRules) -> Vec<usize> {
    if let Some(i) = rules.index_of("name") {
        return vec![i];
    }
    let full = rules.index_of("full_name");
    let all = name_attributes(rules);
    all.iter()
        .copied()
        .filter(|&i| {
            let ty = rules.attributes[i].ty;
            ty == mdm_core::model::AttrType::OrganizationName || Some(i) == full
        })
        .chain(full.is_none().then(|| all.first().copied()).flatten())
        .collect()
}

/// A property value as text: a string or number as written, an entity by its id (or
/// name), a list by its first usable element.
fn property_text(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let text = match v {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(o) => {
            return o
                .get("id")
                .or_else(|| o.get("name"))
                .and_then(property_text)
        }
        Value::Array(a) => return a.iter().find_map(property_text),
        Value::Null => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// Matcher candidates as reconciliation candidates, best first, at most `limit`. `names`
/// gives each golden ID's display name. Only the best candidate can be a match, and only
/// when the engine would merge it and no other.
pub fn candidates(
    rules: &DomainRules,
    found: &[Candidate],
    names: &BTreeMap<String, String>,
    limit: usize,
) -> Vec<ReconCandidate> {
    let matches = found.iter().filter(|c| c.decision == "match").count();
    found
        .iter()
        .take(limit)
        .enumerate()
        .map(|(i, c)| ReconCandidate {
            id: c.golden_id.clone(),
            name: names
                .get(&c.golden_id)
                .cloned()
                .unwrap_or_else(|| c.golden_id.clone()),
            score: (c.probability * 1000.0).round() / 10.0,
            is_match: i == 0 && matches == 1 && c.decision == "match",
            types: vec![domain_type(rules)],
            features: features(c),
        })
        .collect()
}

/// The probability and the match weight, then each comparison's weight (bits of evidence)
/// where both sides had a value.
fn features(c: &Candidate) -> Vec<Feature> {
    let mut out = vec![Feature {
        id: "match_probability".into(),
        value: c.probability,
    }];
    let e = &c.explanation;
    if let Some(w) = e.get("total_weight").and_then(|v| v.as_f64()) {
        out.push(Feature {
            id: "match_weight".into(),
            value: w,
        });
    }
    for t in e
        .get("terms")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
    {
        let name = t.get("comparison").and_then(|v| v.as_str());
        let level = t.get("level").and_then(|v| v.as_str());
        let weight = t.get("weight").and_then(|v| v.as_f64());
        if let (Some(name), Some(level), Some(weight)) = (name, level, weight) {
            if level != "missing" {
                out.push(Feature {
                    id: format!("{name}_weight"),
                    value: weight,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> DomainRules {
        mdm_rules::parse(
            std::path::Path::new("customer.toml"),
            r#"
            domain = "customer"
            [attributes]
            given_name = { type = "person_name" }
            family_name = { type = "person_name" }
            full_name = { type = "person_name" }
            organization_name = { type = "organization_name" }
            email = { type = "email" }
            "#,
        )
        .expect("rules")
    }

    fn query(json: &str) -> Query {
        serde_json::from_str(json).expect("query")
    }

    #[test]
    fn name_fills_full_and_organization_name_and_properties_their_attributes() {
        let r = rules();
        let q = query(
            r#"{"query": " Jean Leroux ", "properties": [
                {"pid": "email", "v": ["", "jl@example.org"]}, {"pid": "nosuch", "v": "x"}]}"#,
        );
        let v = query_values(&r, &q);
        assert_eq!(v[0], None);
        assert_eq!(v[2].as_deref(), Some("Jean Leroux"));
        assert_eq!(v[3].as_deref(), Some("Jean Leroux"));
        assert_eq!(v[4].as_deref(), Some("jl@example.org"));
    }

    #[test]
    fn an_entity_property_reads_its_id() {
        assert_eq!(
            property_text(&serde_json::json!({"id": "Q1", "name": "x"})).as_deref(),
            Some("Q1")
        );
        assert_eq!(property_text(&serde_json::json!(12)).as_deref(), Some("12"));
        assert_eq!(property_text(&serde_json::json!(null)), None);
    }

    fn cand(id: &str, p: f64, decision: &str) -> Candidate {
        Candidate {
            golden_id: id.into(),
            probability: p,
            decision: decision.into(),
            matched_system: "S".into(),
            matched_source_id: "1".into(),
            explanation: serde_json::json!({"total_weight": 3.5,
                "terms": [{"comparison": "email", "level": "exact", "weight": 9.0},
                          {"comparison": "phone", "level": "missing", "weight": 0.0}]}),
        }
    }

    #[test]
    fn only_a_sole_engine_match_is_a_match() {
        let r = rules();
        let names = BTreeMap::from([("a".to_string(), "Acme".to_string())]);
        let one = candidates(
            &r,
            &[cand("a", 0.991, "match"), cand("b", 0.6, "review")],
            &names,
            5,
        );
        assert!(one[0].is_match && !one[1].is_match);
        assert_eq!(one[0].name, "Acme");
        assert_eq!(one[1].name, "b");
        assert_eq!(one[0].score, 99.1);
        let ids: Vec<&str> = one[0].features.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["match_probability", "match_weight", "email_weight"]);
        let two = candidates(
            &r,
            &[cand("a", 0.99, "match"), cand("b", 0.98, "match")],
            &names,
            5,
        );
        assert!(!two[0].is_match && !two[1].is_match);
        assert_eq!(
            candidates(&r, &[cand("a", 0.99, "match")], &names, 0).len(),
            0
        );
    }
}
