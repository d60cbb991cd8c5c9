//! After `cluster`, before `identify`: survivorship picks each golden value from the values
//! a cluster's source records hold, by the domain's `[survivorship]` strategies, and keeps
//! its lineage (system, source record, load batch, deciding rule).
//!
//! Every strategy is a ranking key; the strategies of an attribute compare candidates
//! lexicographically and the record key `(system, source_id)` breaks what is left, so the
//! result never depends on the order the records arrive in. A steward-locked value always
//! wins. Only valid values survive: empty values, null markers (`NULL`, `n/a`, ...), values
//! standardization rejects and placeholders (a dummy phone, `noemail@...`, `1900-01-01`)
//! never do; where a cluster has nothing else, the golden attribute stays empty and its
//! lineage says why (`rejected: placeholder phone number`).
//!
//! Attributes of a `[survivorship.groups]` group (an address) survive as a unit from the
//! one source record the group's strategies choose: a golden address is one that a source
//! had, never a street from one and a postcode from another.

use crate::model::{AttrType, RecordKey};
use crate::rules::survivorship::{Group, Strategy};
use crate::rules::DomainRules;
use crate::standardize::{clean, placeholder_reason, postcode_form, Cleaned, StdContext};
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
    /// Valid values in their golden form ([`eligible`]), aligned with
    /// `DomainRules::attributes`.
    pub values: Vec<Option<String>>,
    /// Why a value the record holds cannot survive (invalid or a placeholder), aligned
    /// like `values`.
    pub rejected: Vec<Option<String>>,
}

impl Contributor {
    /// A source record's raw values as survivorship sees them: each valid value in its
    /// golden form, read in the record's own country, else its source system's configured
    /// country ([`record_context`]; pass the [`cluster_context`] as `ctx`), and the reason
    /// for each value that cannot survive.
    pub fn from_raw(
        rules: &DomainRules,
        ctx: &StdContext,
        key: RecordKey,
        trust_rank: i32,
        loaded_at: i64,
        batch_id: i64,
        raw: &[Option<String>],
    ) -> Contributor {
        let ctx = record_context(rules, &ctx.for_system(key.system.as_str()), raw);
        let (values, rejected) = rules
            .attributes
            .iter()
            .zip(raw)
            .map(
                |(a, v)| match v.as_deref().map(|v| eligible(a.ty, v, &ctx)) {
                    Some(Eligible::Valid(v)) => (Some(v), None),
                    Some(Eligible::Rejected(why)) => (None, Some(why)),
                    Some(Eligible::Missing) | None => (None, None),
                },
            )
            .unzip();
        Contributor {
            key,
            trust_rank,
            loaded_at,
            batch_id,
            values,
            rejected,
        }
    }
}

/// The standardization context of one record: its own country (when it has a valid one)
/// before the given default, so a national phone number of a US record becomes +1. For a
/// source record pass `ctx.for_system(system)`: its system's configured country then
/// comes before the cluster's and the global default.
pub fn record_context(rules: &DomainRules, ctx: &StdContext, raw: &[Option<String>]) -> StdContext {
    match country_of(rules, ctx, raw) {
        Some(c) => StdContext {
            default_country: c,
            country_stated: true,
            ..ctx.clone()
        },
        None => ctx.clone(),
    }
}

/// The context for a cluster's records: the country most of its records name (the
/// smallest code on a tie) as the default for records that name none, before the
/// configured default. A CRM record without an address, clustered with a US customer's
/// ERP record, reads its national phone number as American, not as the hub's default.
pub fn cluster_context<'a>(
    rules: &DomainRules,
    ctx: &StdContext,
    members: impl IntoIterator<Item = &'a [Option<String>]>,
) -> StdContext {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for raw in members {
        if let Some(c) = country_of(rules, ctx, raw) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let top = counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
    match top {
        Some((c, _)) => StdContext {
            default_country: c.clone(),
            country_stated: true,
            ..ctx.clone()
        },
        None => ctx.clone(),
    }
}

/// A record's own valid country code, if it has one.
fn country_of(rules: &DomainRules, ctx: &StdContext, raw: &[Option<String>]) -> Option<String> {
    rules
        .attributes
        .iter()
        .zip(raw)
        .find(|(a, _)| a.ty == AttrType::Country)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| match clean(AttrType::Country, v, ctx) {
            Cleaned::Valid(c) if c.len() == 2 => Some(c),
            _ => None,
        })
}

/// What survivorship may do with one raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Eligible {
    /// Empty or a null marker: nothing to choose.
    Missing,
    /// A valid value in its golden form ([`canonical_value`]).
    Valid(String),
    /// Present but invalid or a placeholder: never published; the reason.
    Rejected(String),
}

/// Classifies one raw value for survivorship.
pub fn eligible(ty: AttrType, raw: &str, ctx: &StdContext) -> Eligible {
    match clean(ty, raw, ctx) {
        Cleaned::Missing => Eligible::Missing,
        Cleaned::Invalid { reason } => Eligible::Rejected(reason),
        Cleaned::Valid(v) => match placeholder_reason(ty, &v) {
            Some(why) => Eligible::Rejected(why.to_string()),
            None => Eligible::Valid(golden_form(ty, raw, v, ctx)),
        },
    }
}

/// The golden form of a valid value whose canonical form is `canonical`: the canonical
/// form for structured types; a postcode as its stated country prints it (`01067`,
/// `SW1A 1AA`: a spreadsheet's lost zeros restored); else the source's spelling, trimmed.
pub(crate) fn golden_form(ty: AttrType, raw: &str, canonical: String, ctx: &StdContext) -> String {
    if structured(ty) {
        return canonical;
    }
    let postcode = (ty == AttrType::Postcode)
        .then(|| postcode_form(&canonical, ctx.stated_country()?))
        .flatten();
    postcode.unwrap_or_else(|| raw.trim().to_string())
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
/// trimmed, but for a postcode of a stated country, printed as that country does
/// ([`golden_form`]). `None` for a missing value or null marker.
pub fn canonical_value(ty: AttrType, raw: &str, ctx: &StdContext) -> Option<String> {
    match clean(ty, raw, ctx) {
        Cleaned::Missing => None,
        Cleaned::Valid(v) => Some(golden_form(ty, raw, v, ctx)),
        Cleaned::Invalid { .. } => Some(raw.trim().to_string()),
    }
}

/// Types whose golden form is the standardized one.
fn structured(ty: AttrType) -> bool {
    matches!(
        ty,
        AttrType::Date
            | AttrType::Email
            | AttrType::Phone
            | AttrType::Country
            | AttrType::Gender
            | AttrType::Currency
            | AttrType::Gtin
            | AttrType::Iban
    )
}

/// Chooses the golden values of one cluster. `locks` maps attribute name -> lock.
pub fn survive(
    rules: &DomainRules,
    members: &[Contributor],
    locks: &BTreeMap<String, Lock>,
) -> Golden {
    let completeness: Vec<usize> = members
        .iter()
        .map(|m| m.values.iter().filter(|v| v.is_some()).count())
        .collect();
    let n = rules.attributes.len();
    let mut values: Vec<Option<String>> = vec![None; n];
    let mut lineage: Vec<Option<Lineage>> = vec![None; n];
    let from = |m: &Contributor, rule: String| Lineage {
        system: m.key.system.to_string(),
        source_id: m.key.source_id.to_string(),
        batch_id: Some(m.batch_id),
        rule,
    };
    for (name, group) in &rules.survivorship.groups {
        let idx: Vec<usize> = group
            .attributes
            .iter()
            .filter_map(|a| rules.index_of(a))
            .collect();
        if let Some((w, rule)) = pick_group(members, &idx, group) {
            for &i in &idx {
                if let Some(v) = &members[w].values[i] {
                    values[i] = Some(v.clone());
                    lineage[i] = Some(from(&members[w], format!("{rule} (group {name})")));
                }
            }
        }
    }
    for (i, attr) in rules.attributes.iter().enumerate() {
        if let Some(lock) = locks.get(&attr.name) {
            values[i] = Some(lock.value.clone());
            lineage[i] = Some(Lineage {
                system: "STEWARD".into(),
                source_id: lock.locked_by.clone(),
                batch_id: None,
                rule: "steward_lock".into(),
            });
            continue;
        }
        if rules.survivorship.group_of(&attr.name).is_none() {
            let strategies = rules.survivorship.strategies_for(&attr.name);
            if let Some((w, rule)) = pick(members, &completeness, i, strategies) {
                values[i] = members[w].values[i].clone();
                lineage[i] = Some(from(&members[w], rule));
            }
        }
        if values[i].is_none() {
            lineage[i] = rejection(members, i).map(|(m, why)| from(m, format!("rejected: {why}")));
        }
    }
    Golden { values, lineage }
}

/// Where a cluster holds values of attribute `i` and none can survive: the first record (by
/// key) with a rejected value, and why. Its lineage tells readers why the value is empty.
fn rejection(members: &[Contributor], i: usize) -> Option<(&Contributor, &str)> {
    if members.iter().any(|m| m.values[i].is_some()) {
        return None;
    }
    members
        .iter()
        .filter_map(|m| m.rejected[i].as_deref().map(|why| (m, why)))
        .min_by(|a, b| a.0.key.cmp(&b.0.key))
}

/// The one member a group's values come from, among those with a valid value of the group,
/// and the strategy that decided. `complete` counts the group's valid values, `frequent`
/// the members holding the same values, `longest` their total length.
fn pick_group(members: &[Contributor], idx: &[usize], group: &Group) -> Option<(usize, String)> {
    let tuple = |m: usize| -> Vec<String> {
        idx.iter()
            .map(|&i| {
                members[m].values[i]
                    .as_deref()
                    .map(fold)
                    .unwrap_or_default()
            })
            .collect()
    };
    let count = |m: usize| {
        idx.iter()
            .filter(|&&i| members[m].values[i].is_some())
            .count()
    };
    let length = |m: usize| -> usize {
        idx.iter()
            .filter_map(|&i| members[m].values[i].as_deref())
            .map(|v| v.chars().count())
            .sum()
    };
    let cands: Vec<usize> = (0..members.len()).filter(|&m| count(m) > 0).collect();
    let mut freq: HashMap<Vec<String>, usize> = HashMap::new();
    if group.strategies.contains(&Strategy::Frequent) {
        for &m in &cands {
            *freq.entry(tuple(m)).or_default() += 1;
        }
    }
    rank(members, cands, &group.strategies, |s, a, b| match s {
        Strategy::Complete => count(b).cmp(&count(a)),
        Strategy::Longest => length(b).cmp(&length(a)),
        Strategy::Frequent => freq[&tuple(b)].cmp(&freq[&tuple(a)]),
        _ => by_record(members, s, a, b),
    })
}

/// Orders of the strategies that look at the record, not the value.
fn by_record(members: &[Contributor], s: Strategy, a: usize, b: usize) -> Ordering {
    let (x, y) = (&members[a], &members[b]);
    match s {
        Strategy::Trust => x.trust_rank.cmp(&y.trust_rank),
        Strategy::Recent => (y.loaded_at, y.batch_id).cmp(&(x.loaded_at, x.batch_id)),
        Strategy::FirstNonEmpty => (x.loaded_at, x.batch_id).cmp(&(y.loaded_at, y.batch_id)),
        Strategy::Complete | Strategy::Longest | Strategy::Frequent => Ordering::Equal,
    }
}

/// The best candidate under `strategies` (each later one breaking the earlier ones' ties,
/// the record key breaking what is left) and the strategy that made it unique.
fn rank(
    members: &[Contributor],
    cands: Vec<usize>,
    strategies: &[Strategy],
    cmp_by: impl Fn(Strategy, usize, usize) -> Ordering,
) -> Option<(usize, String)> {
    match cands.len() {
        0 => return None,
        1 => return Some((cands[0], "only_value".into())),
        _ => {}
    }
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

/// Case-folded, trimmed form under which values count as equal for `frequent`.
fn fold(v: &str) -> String {
    v.trim().to_lowercase()
}

/// The winning member for attribute `i` and the strategy that decided, or None when no
/// member has a valid value.
fn pick(
    members: &[Contributor],
    completeness: &[usize],
    i: usize,
    strategies: &[Strategy],
) -> Option<(usize, String)> {
    let cands: Vec<usize> = (0..members.len())
        .filter(|&m| members[m].values[i].is_some())
        .collect();
    let mut freq: HashMap<String, usize> = HashMap::new();
    if strategies.contains(&Strategy::Frequent) {
        for &m in &cands {
            *freq.entry(fold(value(members, m, i))).or_default() += 1;
        }
    }
    rank(members, cands, strategies, |s, a, b| match s {
        Strategy::Complete => completeness[b].cmp(&completeness[a]),
        Strategy::Longest => {
            let len = |m: usize| value(members, m, i).chars().count();
            len(b).cmp(&len(a))
        }
        Strategy::Frequent => {
            let f = |m: usize| freq[&fold(value(members, m, i))];
            f(b).cmp(&f(a))
        }
        _ => by_record(members, s, a, b),
    })
}

fn value(members: &[Contributor], m: usize, i: usize) -> &str {
    members[m].values[i].as_deref().unwrap_or("")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{SourceKey, SystemName};
    use proptest::prelude::{prop_assert_eq, proptest};
    use proptest::strategy::Strategy as _;

    /// A domain `t` with these attributes and default rules (tests of this module and of
    /// `golden_quality`).
    pub(crate) fn domain(attrs: &[(&str, AttrType)]) -> DomainRules {
        DomainRules {
            domain: "t".into(),
            description: None,
            attributes: attrs
                .iter()
                .map(|&(name, ty)| crate::model::Attribute {
                    name: name.into(),
                    ty,
                    description: None,
                })
                .collect(),
            matching: Default::default(),
            survivorship: Default::default(),
        }
    }

    fn rules(strategies: &[(&str, Vec<Strategy>)]) -> DomainRules {
        let mut r = domain(&[
            ("name", AttrType::Text),
            ("email", AttrType::Email),
            ("city", AttrType::City),
        ]);
        for (a, s) in strategies {
            r.survivorship.attributes.insert(a.to_string(), s.clone());
        }
        r
    }

    fn key(sys: &str, id: &str) -> RecordKey {
        RecordKey {
            system: SystemName::parse(sys).unwrap(),
            source_id: SourceKey::parse(id).unwrap(),
        }
    }

    fn c(sys: &str, id: &str, trust: i32, at: i64, vals: [Option<&str>; 3]) -> Contributor {
        let raw: Vec<Option<String>> = vals.iter().map(|v| v.map(String::from)).collect();
        let ctx = StdContext::default();
        Contributor::from_raw(&rules(&[]), &ctx, key(sys, id), trust, at, at, &raw)
    }

    #[test]
    fn trust_then_recent_by_default() {
        let r = rules(&[]);
        let ms = vec![
            c("CRM", "1", 2, 10, [Some("Ann"), Some("a@x.de"), None]),
            c("ERP", "9", 1, 5, [Some("Anna"), None, Some("NULL")]),
            c("MES", "3", 2, 20, [None, Some("b@x.de"), Some("Ulm")]),
        ];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[0].as_deref(), Some("Anna"));
        assert_eq!(g.lineage[0].as_ref().unwrap().rule, "trust");
        assert_eq!(g.lineage[0].as_ref().unwrap().system, "ERP");
        // Equal trust: the more recent load wins, and `recent` is named as the decider.
        assert_eq!(g.values[1].as_deref(), Some("b@x.de"));
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
            .prop_map(|(s, id, t, at, vals)| {
                let k = key(&format!("S{s}"), &format!("r{id}"));
                Contributor::from_raw(&rules(&[]), &StdContext::default(), k, t, at, at, &vals)
            })
    }

    /// A customer-like domain with an address group.
    fn address_rules() -> DomainRules {
        let mut r = domain(&[
            ("phone", AttrType::Phone),
            ("street", AttrType::Street),
            ("postcode", AttrType::Postcode),
            ("city", AttrType::City),
            ("country", AttrType::Country),
        ]);
        r.survivorship.default = vec![Strategy::Recent, Strategy::Trust];
        r.survivorship.groups.insert(
            "address".into(),
            Group {
                attributes: ["street", "postcode", "city", "country"]
                    .map(String::from)
                    .into(),
                strategies: vec![Strategy::Complete, Strategy::Recent],
            },
        );
        r
    }

    fn member(r: &DomainRules, sys: &str, at: i64, vals: [Option<&str>; 5]) -> Contributor {
        let raw: Vec<Option<String>> = vals.iter().map(|v| v.map(String::from)).collect();
        Contributor::from_raw(r, &StdContext::default(), key(sys, "1"), 1, at, at, &raw)
    }

    #[test]
    fn an_address_survives_whole_from_one_record() {
        let r = address_rules();
        // CRM is newer but has only a city; ERP has the whole address. Per attribute,
        // `recent` would publish CRM's city with ERP's street and postcode.
        let ms = vec![
            member(
                &r,
                "ERP",
                1,
                [
                    None,
                    Some("Main St 1"),
                    Some("75201"),
                    Some("Dallas"),
                    Some("US"),
                ],
            ),
            member(&r, "CRM", 2, [None, None, None, Some("Houston"), None]),
        ];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[3].as_deref(), Some("Dallas"));
        let sources: Vec<&str> = g.lineage[1..]
            .iter()
            .map(|l| l.as_ref().unwrap().system.as_str())
            .collect();
        assert_eq!(sources, ["ERP"; 4]);
        assert_eq!(
            g.lineage[1].as_ref().unwrap().rule,
            "complete (group address)"
        );
        // Equally complete: the newer record's address, all of it; a part it lacks stays
        // empty rather than being filled from another record.
        let ms = vec![
            member(
                &r,
                "ERP",
                1,
                [None, Some("Main St 1"), Some("75201"), Some("Dallas"), None],
            ),
            member(
                &r,
                "CRM",
                2,
                [None, Some("Elm St 5"), None, Some("Houston"), Some("US")],
            ),
        ];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[1].as_deref(), Some("Elm St 5"));
        assert_eq!(g.values[2], None);
        assert_eq!(g.lineage[2], None);
    }

    #[test]
    fn placeholders_and_invalid_values_never_win() {
        let r = address_rules();
        // The newer record's phone is a filler: the older real one survives.
        let ms = vec![
            member(
                &r,
                "ERP",
                1,
                [Some("+44 7831 865581"), None, None, None, None],
            ),
            member(
                &r,
                "CRM",
                2,
                [Some("+49 000 000000"), None, None, None, None],
            ),
        ];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[0].as_deref(), Some("+447831865581"));
        // Fillers only: no golden phone, and the lineage says why.
        let ms = vec![
            member(&r, "ERP", 1, [Some("0000000000"), None, None, None, None]),
            member(&r, "CRM", 2, [Some("0"), None, None, None, None]),
        ];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[0], None);
        let l = g.lineage[0].as_ref().expect("a finding");
        assert!(l.rule.starts_with("rejected: "), "{}", l.rule);
        for (ty, v) in [
            (AttrType::Email, "noemail@example.com"),
            (AttrType::Date, "1900-01-01"),
            (AttrType::Gtin, "4006381333932"),
        ] {
            assert!(
                matches!(
                    eligible(ty, v, &StdContext::default()),
                    Eligible::Rejected(_)
                ),
                "{v}"
            );
        }
    }

    #[test]
    fn a_national_phone_takes_its_records_country() {
        let r = address_rules();
        let ms = vec![member(
            &r,
            "CRM",
            1,
            [Some("214 8954767"), None, None, None, Some("USA")],
        )];
        let g = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(g.values[0].as_deref(), Some("+12148954767"));
    }

    #[test]
    fn a_record_without_a_country_takes_its_clusters() {
        let r = address_rules();
        let raw = |v: [Option<&str>; 5]| -> Vec<Option<String>> {
            v.iter().map(|v| v.map(String::from)).collect()
        };
        let erp = raw([
            Some("+1 214 8954767"),
            None,
            None,
            Some("Dallas"),
            Some("USA"),
        ]);
        let crm = raw([Some("214 8954767"), None, None, None, None]);
        let ctx = cluster_context(&r, &StdContext::default(), [erp.as_slice(), crm.as_slice()]);
        assert_eq!(ctx.default_country, "US");
        let m = Contributor::from_raw(&r, &ctx, key("CRM", "1"), 1, 1, 1, &crm);
        assert_eq!(m.values[0].as_deref(), Some("+12148954767"));
        // No member names a country: the configured default.
        let none = cluster_context(&r, &StdContext::default(), [crm.as_slice()]);
        assert_eq!(none.default_country, "DE");
    }

    #[test]
    fn a_record_without_a_country_takes_its_systems_before_its_clusters() {
        let r = address_rules();
        let raw = |v: [Option<&str>; 5]| -> Vec<Option<String>> {
            v.iter().map(|v| v.map(String::from)).collect()
        };
        let base = StdContext {
            system_countries: [("CRM".to_string(), "US".to_string())].into(),
            ..StdContext::default()
        };
        // The cluster names Italy; CRM's configured country wins for CRM's record without one.
        let erp = raw([Some("+39 06 8915372"), None, None, Some("Roma"), Some("IT")]);
        let crm = raw([Some("214 8954767"), None, None, None, None]);
        let ctx = cluster_context(&r, &base, [erp.as_slice(), crm.as_slice()]);
        assert_eq!(ctx.default_country, "IT");
        let m = Contributor::from_raw(&r, &ctx, key("CRM", "1"), 1, 1, 1, &crm);
        assert_eq!(m.values[0].as_deref(), Some("+12148954767"));
        // The record's own country comes before its system's.
        let own = raw([Some("030 8915372"), None, None, None, Some("DE")]);
        let m = Contributor::from_raw(&r, &ctx, key("CRM", "2"), 1, 1, 1, &own);
        assert_eq!(m.values[0].as_deref(), Some("+49308915372"));
        // Another system without a configured country takes the cluster's.
        let mes = raw([Some("06 8915372"), None, None, None, None]);
        let m = Contributor::from_raw(&r, &ctx, key("MES", "1"), 1, 1, 1, &mes);
        assert_eq!(m.values[0].as_deref(), Some("+39068915372"));
    }

    #[test]
    fn a_postcode_is_published_as_its_country_prints_it() {
        let r = address_rules();
        let g = |vals: [Option<&str>; 5]| {
            survive(&r, &[member(&r, "ERP", 1, vals)], &BTreeMap::new()).values[2].clone()
        };
        // A spreadsheet's lost zero is restored for a German record, not for one that
        // states no country (the hub's default country is a guess).
        assert_eq!(
            g([None, None, Some("1067"), Some("Dresden"), Some("DE")]).as_deref(),
            Some("01067")
        );
        assert_eq!(
            g([None, None, Some("1067"), Some("Dresden"), None]).as_deref(),
            Some("1067")
        );
        assert_eq!(
            g([None, None, Some("sw1a1aa"), None, Some("UK")]).as_deref(),
            Some("SW1A 1AA")
        );
        // A code that cannot be of the record's country is not published; lineage says why.
        let ms = [member(
            &r,
            "ERP",
            1,
            [None, None, Some("752861"), Some("Dallas"), Some("US")],
        )];
        let golden = survive(&r, &ms, &BTreeMap::new());
        assert_eq!(golden.values[2], None);
        assert_eq!(
            golden.lineage[2].as_ref().unwrap().rule,
            "rejected: `752861` is not a US ZIP code (5 digits or ZIP+4)"
        );
        assert_eq!(golden.values[3].as_deref(), Some("Dallas"));
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
            // The winner of each attribute is a valid value of some member; an attribute
            // with rejected values only is empty and says why.
            for (i, v) in g.values.iter().enumerate() {
                let any = members.iter().any(|m| m.values[i].is_some());
                prop_assert_eq!(v.is_some(), any);
                let rejected = members.iter().any(|m| m.rejected[i].is_some());
                let says_why = g.lineage[i].as_ref().is_some_and(|l| l.rule.starts_with("rejected: "));
                prop_assert_eq!(says_why, !any && rejected);
            }
        }
    }
}
