//! Everything a reconcile run reads before it computes: current staged records (indexed in
//! record-key order), the previous golden state (xref, active golden records), steward
//! decisions and locks, trust ranks.

use crate::ServiceError;
use mdm_core::survive::Lock;
use mdm_core::{DomainRules, RecordKey, SourceKey, SystemName};
use mdm_store::decisions::MatchDecision;
use mdm_store::golden::GoldenRecord;
use mdm_store::xref::XrefRow;
use mdm_store::DbConnection;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// A pair of record indices.
pub type Link = (u32, u32);

/// One current staged record.
pub struct Record {
    pub key: RecordKey,
    pub staging_id: i64,
    pub batch_id: i64,
    /// Load time in microseconds since the epoch.
    pub loaded_at: i64,
    pub values: Vec<Option<String>>,
}

/// The previous state and steward inputs.
pub struct Input {
    /// Sorted by (system, source_id), byte order: index order is key order.
    pub records: Vec<Record>,
    pub index: HashMap<(String, String), u32>,
    /// Previous xref by key.
    pub xref: HashMap<(String, String), XrefRow>,
    /// Active golden records, by ID order.
    pub goldens: Vec<GoldenRecord>,
    pub golden_index: HashMap<String, u32>,
    pub trust: HashMap<String, i32>,
    pub decisions: Vec<MatchDecision>,
    pub locks: HashMap<String, BTreeMap<String, Lock>>,
    /// Records real-time matching wrote since the last run (their xref rows say staging
    /// version 0): the version that run saw.
    pub realtime_seen: HashMap<(String, String), i64>,
}

/// Inputs read in full by every run (small): trust ranks, decisions, locks, real-time marks.
pub struct Common {
    pub trust: HashMap<String, i32>,
    pub decisions: Vec<MatchDecision>,
    pub locks: HashMap<String, BTreeMap<String, Lock>>,
    pub realtime_seen: HashMap<(String, String), i64>,
}

impl Common {
    pub fn load(conn: &mut DbConnection, domain: &str) -> Result<Self, ServiceError> {
        let trust = mdm_store::systems::list(conn)?
            .into_iter()
            .map(|s| (s.name, s.trust_rank))
            .collect();
        let decisions = mdm_store::decisions::active_decisions(conn, domain)?;
        let mut locks: HashMap<String, BTreeMap<String, Lock>> = HashMap::new();
        for l in mdm_store::decisions::locks(conn, domain)? {
            locks.entry(l.golden_id).or_default().insert(
                l.attribute,
                Lock {
                    value: l.value,
                    locked_by: l.locked_by,
                },
            );
        }
        let realtime_seen = mdm_store::xref::realtime_seen(conn, domain)?
            .into_iter()
            .collect();
        Ok(Self {
            trust,
            decisions,
            locks,
            realtime_seen,
        })
    }
}

impl Input {
    /// Everything: every current record, the whole xref, every active golden record.
    pub fn load(conn: &mut DbConnection, rules: &DomainRules) -> Result<Self, ServiceError> {
        let domain = rules.domain.as_str();
        let raw = mdm_store::matchstate::current_records(conn, domain)?;
        let xref = mdm_store::xref::load(conn, domain)?;
        let goldens = mdm_store::golden::load_active(conn, domain)?;
        let common = Common::load(conn, domain)?;
        Self::build(rules, raw, xref, goldens, common)
    }

    /// From parts (an incremental run passes the affected subset). `xref` must hold the
    /// rows of the records given and of vanished records to remove; `goldens` the active
    /// golden records those rows name.
    pub fn build(
        rules: &DomainRules,
        raw: Vec<mdm_store::matchstate::CurrentRecord>,
        xref: Vec<XrefRow>,
        goldens: Vec<GoldenRecord>,
        common: Common,
    ) -> Result<Self, ServiceError> {
        let mut records = parse_all(rules, &raw)?;
        drop(raw);
        records.par_sort_by(|a, b| a.key.cmp(&b.key));
        let index = records
            .iter()
            .enumerate()
            .map(|(i, r)| (key_strings(&r.key), i as u32))
            .collect();
        let xref = xref
            .into_iter()
            .map(|x| ((x.system.clone(), x.source_id.clone()), x))
            .collect();
        let mut goldens = goldens;
        goldens.sort_by(|a, b| a.golden_id.cmp(&b.golden_id));
        let golden_index = goldens
            .iter()
            .enumerate()
            .map(|(i, g)| (g.golden_id.clone(), i as u32))
            .collect();
        Ok(Self {
            records,
            index,
            xref,
            goldens,
            golden_index,
            trust: common.trust,
            decisions: common.decisions,
            locks: common.locks,
            realtime_seen: common.realtime_seen,
        })
    }

    /// Per record: the index of the active golden record the previous run put it in.
    pub fn prior_of(&self) -> Vec<Option<u32>> {
        self.records
            .iter()
            .map(|r| {
                self.xref
                    .get(&key_strings(&r.key))
                    .and_then(|x| self.golden_index.get(&x.golden_id).copied())
            })
            .collect()
    }

    /// Per record: new since the last run, or a different staging version.
    pub fn dirty(&self) -> Vec<bool> {
        self.records
            .iter()
            .map(|r| {
                self.xref
                    .get(&key_strings(&r.key))
                    .is_none_or(|x| x.staging_id != r.staging_id)
            })
            .collect()
    }

    /// The staging versions the last run saw of records that changed (`dirty`) or vanished
    /// since.
    pub fn seen_versions_of_changed(&self, dirty: &[bool]) -> Vec<i64> {
        let mut old: Vec<i64> = self
            .vanished()
            .iter()
            .filter_map(|k| self.seen_version(k))
            .collect();
        old.extend(
            self.records
                .iter()
                .zip(dirty)
                .filter(|(_, d)| **d)
                .filter_map(|(r, _)| self.seen_version(&key_strings(&r.key))),
        );
        old
    }

    /// The staging version of a record that the last run saw: its xref row's, or for a row
    /// real-time matching rewrote since (version 0), the version noted with it.
    fn seen_version(&self, key: &(String, String)) -> Option<i64> {
        match self.xref.get(key)?.staging_id {
            0 => self.realtime_seen.get(key).copied(),
            v => Some(v),
        }
    }

    /// xref keys whose record is no longer current (deleted or gone).
    pub fn vanished(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .xref
            .keys()
            .filter(|k| !self.index.contains_key(*k))
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Steward decisions as record-index pairs (decisions on records not staged are skipped).
    pub fn decision_pairs(&self) -> (Vec<Link>, Vec<Link>) {
        let (mut must, mut cannot) = (Vec::new(), Vec::new());
        for d in &self.decisions {
            let a = self.index.get(&(d.a_system.clone(), d.a_source_id.clone()));
            let b = self.index.get(&(d.b_system.clone(), d.b_source_id.clone()));
            if let (Some(&a), Some(&b)) = (a, b) {
                match d.kind.as_str() {
                    "must_link" => must.push((a, b)),
                    _ => cannot.push((a, b)),
                }
            }
        }
        (must, cannot)
    }

    pub fn trust_of(&self, system: &str) -> i32 {
        self.trust
            .get(system)
            .copied()
            .unwrap_or(mdm_store::LOWEST_TRUST)
    }
}

pub fn key_strings(k: &RecordKey) -> (String, String) {
    (k.system.to_string(), k.source_id.to_string())
}

/// Parses staged records (in parallel, same order).
pub fn parse_all(
    rules: &DomainRules,
    raw: &[mdm_store::matchstate::CurrentRecord],
) -> Result<Vec<Record>, ServiceError> {
    raw.par_iter().map(|r| parse(rules, r)).collect()
}

fn parse(
    rules: &DomainRules,
    r: &mdm_store::matchstate::CurrentRecord,
) -> Result<Record, ServiceError> {
    let corrupt = |what: String| ServiceError::Corrupt(format!("staging record {}: {what}", r.id));
    let key = RecordKey {
        system: SystemName::parse(&r.system).map_err(|e| corrupt(e.to_string()))?,
        source_id: SourceKey::parse(&r.source_id).map_err(|e| corrupt(e.to_string()))?,
    };
    let mut de = serde_json::Deserializer::from_str(&r.attributes);
    let values = serde::de::DeserializeSeed::deserialize(Values(rules), &mut de)
        .and_then(|v| de.end().map(|_| v))
        .map_err(|e| corrupt(e.to_string()))?;
    Ok(Record {
        key,
        staging_id: r.id,
        batch_id: r.batch_id,
        loaded_at: r.loaded_at.and_utc().timestamp_micros(),
        values,
    })
}

/// Reads a record's attributes (a JSON object) straight into the rules' attribute order:
/// keys are matched without being copied and attributes the rules do not name are skipped
/// (block reads parse tens of thousands of records per run). A string is taken as it is,
/// another value as its JSON text, null as missing; a repeated key keeps its last value.
struct Values<'r>(&'r DomainRules);

impl<'de> serde::de::DeserializeSeed<'de> for Values<'_> {
    type Value = Vec<Option<String>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Values<'_> {
    type Value = Vec<Option<String>>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of attribute values")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut values = vec![None; self.0.attributes.len()];
        while let Some(slot) = map.next_key_seed(Slot(self.0))? {
            match slot {
                Some(i) => {
                    values[i] = match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s),
                        other => Some(other.to_string()),
                    }
                }
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(values)
    }
}

/// An attribute name, as its position in the rules (`None`: not an attribute of them).
struct Slot<'r>(&'r DomainRules);

impl<'de> serde::de::DeserializeSeed<'de> for Slot<'_> {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for Slot<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an attribute name")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.index_of(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdm_store::matchstate::CurrentRecord;

    fn record(attributes: &str) -> CurrentRecord {
        CurrentRecord {
            id: 7,
            system: "ERP".into(),
            source_id: "K1".into(),
            attributes: attributes.into(),
            batch_id: 1,
            loaded_at: chrono::NaiveDateTime::default(),
        }
    }

    #[test]
    fn attributes_land_in_rules_order_and_unknown_ones_are_skipped() {
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        let r = record(
            r#"{"note":{"deep":[1,2]},"email":"a\u00e4@b.de","given_name":"Anna","family_name":null,"postcode":89073,"email":"last@b.de"}"#,
        );
        let parsed = parse(&rules, &r).unwrap();
        let at = |name: &str| parsed.values[rules.index_of(name).unwrap()].clone();
        assert_eq!(at("given_name").as_deref(), Some("Anna"));
        // A repeated key keeps its last value, as a JSON object read into a map does.
        assert_eq!(at("email").as_deref(), Some("last@b.de"));
        assert_eq!(at("family_name"), None);
        assert_eq!(at("postcode").as_deref(), Some("89073"));
        assert_eq!(parsed.values.len(), rules.attributes.len());
        let escaped = parse(&rules, &record(r#"{"city":"K\u00f6ln \"Mitte\""}"#)).unwrap();
        assert_eq!(
            escaped.values[rules.index_of("city").unwrap()].as_deref(),
            Some("Köln \"Mitte\"")
        );
    }

    #[test]
    fn broken_attributes_name_the_staging_record() {
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        for bad in [
            r#"{"email":"x"} trailing"#,
            r#"["email"]"#,
            r#"{"email":"x""#,
        ] {
            let err = parse(&rules, &record(bad)).err().expect(bad).to_string();
            assert!(err.contains("staging record 7"), "{bad}: {err}");
        }
    }
}
