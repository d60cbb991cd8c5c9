//! After `cluster`, before `identify`: survivorship picks each golden value from the values
//! a cluster's source records hold, by the domain's `[survivorship]` strategies, and keeps
//! its lineage (system, source record, load batch, deciding rule).
//!
//! Every strategy is a ranking key; the strategies of an attribute compare candidates
//! lexicographically and the record key `(system, source_id)` breaks what is left, so the
//! result never depends on the order the records arrive in. A steward-locked value always
//! wins. Empty values and null markers (`NULL`, `n/a`, ...) never survive.

use crate::model::{AttrType, RecordKey};
use crate::rules::survivorship::Strategy;
use crate::rules::DomainRules;
use crate::standardize::is_missing;
use crate::standardize::{clean, Cleaned, StdContext};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// One source record of a cluster, as survivorship sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributor {
    pub key: RecordKey,
    /// The source system's trust rank (1 = most trusted).
    pub trust_rank: i32,
    /// When the record's current version was loaded (any monotonic unit, larger = later).
    pub loaded_at: i64,
    /// The load batch of the current version.
    pub batch_id: i64,
    /// Raw values aligned with `DomainRules::attributes`.
    pub values: Vec<Option<String>>,
}

/// Where a golden value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    pub system: String,
    pub source_id: String,
    /// The load batch that brought the value (absent for steward locks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<i64>,
    /// The strategy that made the winner unique (`trust`, `recent`, ...: the first one on
    /// which it beats the runner-up), `only_value` when there was no choice, `tie_break` when all strategies tied, or `steward_lock`.
    pub rule: String,
}

/// A value a data steward fixed on a golden record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub value: String,
    pub locked_by: String,
}

/// The surviving values of one cluster, aligned with `DomainRules::attributes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Golden {
    pub values: Vec<Option<String>>,
    pub lineage: Vec<Option<Lineage>>,
}

impl Golden {
    /// `{attribute: value}` for present values, in attribute order (a stable JSON form).
    pub fn attributes_json(&self, rules: &DomainRules) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (a, v) in rules.attributes.iter().zip(&self.values) {
            if let Some(v) = v {
                m.insert(a.name.clone(), serde_json::Value::String(v.clone()));
            }
        }
        serde_json::Value::Object(m)
    }

    /// The lineage as stored (see [`crate::lineage`]).
    pub fn lineage_stored(&self, rules: &DomainRules) -> String {
        crate::lineage::encode(
            rules.attributes.iter().map(|a| a.name.as_str()),
            &self.lineage,
        )
    }

    /// `{attribute: lineage}` for present values (the form readers see).
    pub fn lineage_json(&self, rules: &DomainRules) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (a, l) in rules.attributes.iter().zip(&self.lineage) {
            if let Some(l) = l {
                m.insert(
                    a.name.clone(),
                    serde_json::to_value(l).expect("lineage serializes"),
                );
            }
        }
        serde_json::Value::Object(m)
    }
}

/// The form a golden record shows a raw value in: for structured types (dates, e-mails,
/// phones, countries, gender, currencies, GTINs, IBANs) the standardized form (ISO date,
/// E.164 phone, ISO country, ...), so the golden record is canonical and values that only
/// differ in format count as one for `frequent`; other types keep the source's spelling,
/// trimmed. `None` for a missing value or null marker.
pub fn canonical_value(ty: AttrType, raw: &str, ctx: &StdContext) -> Option<String> {
    if !present(Some(raw)) {
        return None;
    }
    let structured = matches!(
        ty,
        AttrType::Date
            | AttrType::Email
            | AttrType::Phone
            | AttrType::Country
            | AttrType::Gender
            | AttrType::Currency
            | AttrType::Gtin
            | AttrType::Iban
    );
    if structured {
        if let Cleaned::Valid(v) = clean(ty, raw, ctx) {
            return Some(v);
        }
    }
    Some(raw.trim().to_string())
}

/// Chooses the golden values of one cluster. `locks` maps attribute name -> lock.
pub fn survive(
    rules: &DomainRules,
    members: &[Contributor],
    locks: &BTreeMap<String, Lock>,
) -> Golden {
    let completeness: Vec<usize> = members
        .iter()
        .map(|m| m.values.iter().filter(|v| present(v.as_deref())).count())
        .collect();
    let mut values = Vec::with_capacity(rules.attributes.len());
    let mut lineage = Vec::with_capacity(rules.attributes.len());
    for (i, attr) in rules.attributes.iter().enumerate() {
        if let Some(lock) = locks.get(&attr.name) {
            values.push(Some(lock.value.clone()));
            lineage.push(Some(Lineage {
                system: "STEWARD".into(),
                source_id: lock.locked_by.clone(),
                batch_id: None,
                rule: "steward_lock".into(),
            }));
            continue;
        }
        let strategies = rules.survivorship.strategies_for(&attr.name);
        match pick(members, &completeness, i, strategies) {
            Some((winner, rule)) => {
                let m = &members[winner];
                values.push(m.values[i].as_deref().map(|v| v.trim().to_string()));
                lineage.push(Some(Lineage {
                    system: m.key.system.to_string(),
                    source_id: m.key.source_id.to_string(),
                    batch_id: Some(m.batch_id),
                    rule,
                }));
            }
            None => {
                values.push(None);
                lineage.push(None);
            }
        }
    }
    Golden { values, lineage }
}

fn present(v: Option<&str>) -> bool {
    v.is_some_and(|s| !s.trim().is_empty() && !is_missing(s))
}

/// Case-folded, trimmed form under which values count as equal for `frequent`.
fn fold(v: &str) -> String {
    v.trim().to_lowercase()
}

/// The winning member for attribute `i` and the strategy that decided, or None when no
/// member has a value.
fn pick(
    members: &[Contributor],
    completeness: &[usize],
    i: usize,
    strategies: &[Strategy],
) -> Option<(usize, String)> {
    let cands: Vec<usize> = (0..members.len())
        .filter(|&m| present(members[m].values[i].as_deref()))
        .collect();
    match cands.len() {
        0 => return None,
        1 => return Some((cands[0], "only_value".into())),
        _ => {}
    }
    let mut freq: HashMap<String, usize> = HashMap::new();
    if strategies.contains(&Strategy::Frequent) {
        for &m in &cands {
            *freq.entry(fold(value(members, m, i))).or_default() += 1;
        }
    }
    let cmp_by = |s: Strategy, a: usize, b: usize| -> Ordering {
        let (x, y) = (&members[a], &members[b]);
        match s {
            Strategy::Trust => x.trust_rank.cmp(&y.trust_rank),
            Strategy::Recent => (y.loaded_at, y.batch_id).cmp(&(x.loaded_at, x.batch_id)),
            Strategy::FirstNonEmpty => (x.loaded_at, x.batch_id).cmp(&(y.loaded_at, y.batch_id)),
            Strategy::Complete => completeness[b].cmp(&completeness[a]),
            Strategy::Longest => {
                let len = |m: usize| value(members, m, i).trim().chars().count();
                len(b).cmp(&len(a))
            }
            Strategy::Frequent => {
                let f = |m: usize| freq[&fold(value(members, m, i))];
                f(b).cmp(&f(a))
            }
        }
    };
    let full = |a: usize, b: usize| -> Ordering {
        strategies
            .iter()
            .map(|&s| cmp_by(s, a, b))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| members[a].key.cmp(&members[b].key))
    };
    let mut sorted = cands;
    sorted.sort_by(|&a, &b| full(a, b));
    let (w, r) = (sorted[0], sorted[1]);
    let rule = strategies
        .iter()
        .find(|&&s| cmp_by(s, w, r).is_ne())
        .map_or("tie_break", |s| s.name());
    Some((w, rule.to_string()))
}

fn value(members: &[Contributor], m: usize, i: usize) -> &str {
    members[m].values[i].as_deref().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceKey, SystemName};
    use proptest::prelude::{prop_assert_eq, proptest};
    use proptest::strategy::Strategy as _;

    fn rules(strategies: &[(&str, Vec<Strategy>)]) -> DomainRules {
        let attr = |name: &str, ty| crate::model::Attribute {
            name: name.into(),
            ty,
            description: None,
        };
        let mut r = DomainRules {
            domain: "t".into(),
            description: None,
            attributes: vec![
                attr("name", crate::AttrType::Text),
                attr("email", crate::AttrType::Email),
                attr("city", crate::AttrType::City),
            ],
            matching: Default::default(),
            survivorship: Default::default(),
        };
        for (a, s) in strategies {
            r.survivorship.attributes.insert(a.to_string(), s.clone());
        }
        r
    }

    fn c(sys: &str, id: &str, trust: i32, at: i64, vals: [Option<&str>; 3]) -> Contributor {
        Contributor {
            key: RecordKey {
                system: SystemName::parse(sys).unwrap(),
                source_id: SourceKey::parse(id).unwrap(),
            },
            trust_rank: trust,
            loaded_at: at,
            batch_id: at,
            values: vals.iter().map(|v| v.map(String::from)).collect(),
        }
    }

    #[test]
    fn trust_then_recent_by_default() {
        let r = rules(&[]);
        let ms = vec![
            c("CRM", "1", 2, 10, [Some("Ann"), Some("a@x"), None]),
            c("ERP", "9", 1, 5, [Some("Anna"), None, Some("NULL")]),
            c("MES", "3", 2, 20, [None, Some("b@x"), Some("Ulm")]),
        ];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[0].as_deref(), Some("Anna"));
        assert_eq!(g.lineage[0].as_ref().unwrap().rule, "trust");
        assert_eq!(g.lineage[0].as_ref().unwrap().system, "ERP");
        // Equal trust: the more recent load wins, and `recent` is named as the decider.
        assert_eq!(g.values[1].as_deref(), Some("b@x"));
        assert_eq!(g.lineage[1].as_ref().unwrap().rule, "recent");
        // A null marker is not a value: the only real value survives.
        assert_eq!(g.values[2].as_deref(), Some("Ulm"));
        assert_eq!(g.lineage[2].as_ref().unwrap().rule, "only_value");
        assert_eq!(g.lineage[2].as_ref().unwrap().batch_id, Some(20));
    }

    #[test]
    fn each_strategy_decides() {
        let ms = vec![
            c("A", "1", 1, 1, [Some("Jo"), Some("x"), Some("y")]),
            c("B", "2", 2, 2, [Some("JOHANNA "), None, None]),
            c("C", "3", 3, 3, [Some("johanna"), None, None]),
        ];
        let win = |s: Vec<Strategy>| {
            let g = survive(&rules(&[("name", s)]), &ms, &BTreeMap::new());
            (
                g.values[0].clone().unwrap(),
                g.lineage[0].clone().unwrap().rule,
            )
        };
        assert_eq!(win(vec![Strategy::Trust]), ("Jo".into(), "trust".into()));
        assert_eq!(
            win(vec![Strategy::Recent]),
            ("johanna".into(), "recent".into())
        );
        assert_eq!(
            win(vec![Strategy::FirstNonEmpty]),
            ("Jo".into(), "first_non_empty".into())
        );
        assert_eq!(
            win(vec![Strategy::Complete]),
            ("Jo".into(), "complete".into())
        );
        // Two of three agree (case-folded); among them the more trusted breaks the tie,
        // so `trust` made the winner unique.
        assert_eq!(
            win(vec![Strategy::Frequent, Strategy::Trust]),
            ("JOHANNA".into(), "trust".into())
        );
        assert_eq!(
            win(vec![Strategy::Frequent, Strategy::Recent]),
            ("johanna".into(), "recent".into())
        );
        // Longest ties between B and C; recent breaks it.
        assert_eq!(
            win(vec![Strategy::Longest, Strategy::Recent]),
            ("johanna".into(), "recent".into())
        );
        // All tied: the record key decides, and says so.
        let tied = vec![
            c("B", "2", 1, 1, [Some("x"), None, None]),
            c("A", "9", 1, 1, [Some("y"), None, None]),
        ];
        let g = survive(
            &rules(&[("name", vec![Strategy::Trust])]),
            &tied,
            &BTreeMap::new(),
        );
        assert_eq!(g.values[0].as_deref(), Some("y"));
        assert_eq!(g.lineage[0].as_ref().unwrap().rule, "tie_break");
    }

    #[test]
    fn steward_lock_wins() {
        let ms = vec![c("A", "1", 1, 1, [Some("Jo"), None, None])];
        let locks = BTreeMap::from([(
            "name".to_string(),
            Lock {
                value: "Joanna".into(),
                locked_by: "steward1".into(),
            },
        )]);
        let g = survive(&rules(&[]), &ms, &locks);
        assert_eq!(g.values[0].as_deref(), Some("Joanna"));
        let l = g.lineage[0].as_ref().unwrap();
        assert_eq!((l.rule.as_str(), l.batch_id), ("steward_lock", None));
    }

    #[test]
    fn json_forms_skip_missing() {
        let ms = vec![c("A", "1", 1, 7, [Some("Jo"), None, Some(" Ulm ")])];
        let r = rules(&[]);
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(
            g.attributes_json(&r),
            serde_json::json!({"name": "Jo", "city": "Ulm"})
        );
        assert_eq!(g.lineage_json(&r)["city"]["batch_id"], 7);
    }

    fn arb_member() -> impl proptest::strategy::Strategy<Value = Contributor> {
        (
            0u8..4,
            0u8..20,
            1i32..4,
            0i64..5,
            proptest::collection::vec(proptest::option::of("[a-c]{0,3}"), 3),
        )
            .prop_map(|(s, id, t, at, vals)| Contributor {
                key: RecordKey {
                    system: SystemName::parse(&format!("S{s}")).unwrap(),
                    source_id: SourceKey::parse(&format!("r{id}")).unwrap(),
                },
                trust_rank: t,
                loaded_at: at,
                batch_id: at,
                values: vals,
            })
    }

    #[test]
    fn structured_values_are_canonical() {
        let ctx = StdContext::default();
        let d = canonical_value(AttrType::Date, "09/03/1987", &ctx);
        assert_eq!(d.as_deref(), Some("1987-03-09"));
        assert_eq!(canonical_value(AttrType::Date, " NULL ", &ctx), None);
        // Free text keeps its spelling.
        assert_eq!(
            canonical_value(AttrType::City, " Bad Homburg ", &ctx).as_deref(),
            Some("Bad Homburg")
        );
        // An invalid structured value is kept as entered, not dropped.
        assert_eq!(
            canonical_value(AttrType::Date, "soon", &ctx).as_deref(),
            Some("soon")
        );
    }

    proptest! {
        #[test]
        fn independent_of_input_order(
            members in proptest::collection::vec(arb_member(), 1..8),
            rot in 0usize..8,
            pick_rules in proptest::collection::vec(0usize..6, 1..4),
        ) {
            // Record keys are unique in a cluster.
            let mut members = members;
            members.sort_by(|a, b| a.key.cmp(&b.key));
            members.dedup_by(|a, b| a.key == b.key);
            let s: Vec<Strategy> = pick_rules.iter().map(|&i| Strategy::ALL[i]).collect();
            let r = rules(&[("name", s.clone()), ("email", s.clone()), ("city", s)]);
            let g = survive(&r, &members, &BTreeMap::new());
            let mut shuffled = members.clone();
            let k = rot % shuffled.len();
            shuffled.rotate_left(k);
            shuffled.reverse();
            prop_assert_eq!(survive(&r, &shuffled, &BTreeMap::new()), g.clone());
            // The winner of each attribute is a present value of some member.
            for (i, v) in g.values.iter().enumerate() {
                let any = members.iter().any(|m| present(m.values[i].as_deref()));
                prop_assert_eq!(v.is_some(), any);
            }
        }
    }
}
