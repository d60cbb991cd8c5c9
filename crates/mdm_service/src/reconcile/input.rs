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
}

/// Inputs read in full by every run (small): trust ranks, decisions, locks.
pub struct Common {
    pub trust: HashMap<String, i32>,
    pub decisions: Vec<MatchDecision>,
    pub locks: HashMap<String, BTreeMap<String, Lock>>,
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
        Ok(Self {
            trust,
            decisions,
            locks,
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
            .filter_map(|k| self.xref.get(k).map(|x| x.staging_id))
            .collect();
        old.extend(
            self.records
                .iter()
                .zip(dirty)
                .filter(|(_, d)| **d)
                .filter_map(|(r, _)| self.xref.get(&key_strings(&r.key)).map(|x| x.staging_id)),
        );
        old
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
    let mut obj: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&r.attributes).map_err(|e| corrupt(e.to_string()))?;
    let values = rules
        .attributes
        .iter()
        .map(|a| match obj.remove(&a.name) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => Some(other.to_string()),
        })
        .collect();
    Ok(Record {
        key,
        staging_id: r.id,
        batch_id: r.batch_id,
        loaded_at: r.loaded_at.and_utc().timestamp_micros(),
        values,
    })
}
