//! Everything a reconcile run reads before it computes: current staged records (indexed in
//! record-key order), the previous golden state (xref, active golden records), steward
//! decisions and locks, trust ranks.

use crate::ServiceError;
use mdm_core::survive::Lock;
use mdm_core::{DomainRules, GoldenId, RecordKey, SourceKey, SystemName};
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

/// What the previous run wrote for a record: the golden record it put it in and the staging
/// version it saw (0: real-time matching rewrote the row since; see `realtime_seen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub golden_id: GoldenId,
    pub staging_id: i64,
}

/// Per record (by index): its previous xref line. Nothing is held until some record has
/// one, so a first run holds no line per record (at 10M records, 320 MB of `None`s).
#[derive(Debug, Clone, Default)]
pub struct SeenTable {
    lines: Vec<Option<Seen>>,
    len: usize,
}

impl SeenTable {
    /// `len` records, none seen.
    pub fn new(len: usize) -> Self {
        Self {
            lines: Vec::new(),
            len,
        }
    }

    pub fn set(&mut self, i: usize, seen: Seen) {
        assert!(i < self.len, "record {i} of {}", self.len);
        if self.lines.is_empty() {
            self.lines = vec![None; self.len];
        }
        self.lines[i] = Some(seen);
    }

    pub fn get(&self, i: usize) -> Option<Seen> {
        self.lines.get(i).copied().flatten()
    }

    /// Record by record.
    pub fn iter(&self) -> impl Iterator<Item = Option<Seen>> + '_ {
        (0..self.len).map(|i| self.get(i))
    }
}

/// The xref row of a record that is no longer current: its key and what it said.
pub type Vanished = ((String, String), Seen);

/// The previous state and steward inputs. Per record a few fixed-size fields, no maps keyed
/// by record: at millions of records every byte per record counts (issue 23).
pub struct Input {
    /// Sorted by (system, source_id), byte order: index order is key order.
    pub records: Vec<Record>,
    /// Loaded by [`Input::load_lean`]: records without values and golden records without
    /// their JSON; both are read a chunk at a time when needed.
    pub lean: bool,
    /// Per record (same index): its previous xref row, if any.
    pub seen: SeenTable,
    /// xref rows whose record is no longer current (deleted or gone), sorted by key.
    pub vanished: Vec<Vanished>,
    /// Active golden records, by ID order.
    pub goldens: Vec<GoldenRecord>,
    pub golden_index: HashMap<GoldenId, u32>,
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

    /// [`Input::load`] for a run over more records than memory should hold (a partitioned
    /// full run): per record only its key and versions, per golden record no JSON, each
    /// read a page at a time so no read holds a table at once.
    pub fn load_lean(conn: &mut DbConnection, rules: &DomainRules) -> Result<Self, ServiceError> {
        let domain = rules.domain.as_str();
        let count = mdm_store::matchstate::current_count(conn, domain)?;
        let mut records = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut after = 0;
        loop {
            let page = mdm_store::matchstate::current_heads_page(conn, domain, after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.id;
            records.extend(parse_all(rules, &page)?);
        }
        // Keys are unique; an unstable sort needs no copy of the table.
        records.par_sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let mut seen = SeenTable::new(records.len());
        let mut vanished = Vec::new();
        let mut after: Option<(String, String)> = None;
        loop {
            let key = after.as_ref().map(|(s, i)| (s.as_str(), i.as_str()));
            let page = mdm_store::xref::page(conn, domain, key, PAGE)?;
            let Some(last) = page.last() else { break };
            after = Some((last.system.clone(), last.source_id.clone()));
            for x in page {
                let s = Seen {
                    golden_id: parse_golden_id(&x.golden_id)?,
                    staging_id: x.staging_id,
                };
                match position(&records, &x.system, &x.source_id) {
                    Some(i) => seen.set(i as usize, s),
                    None => vanished.push(((x.system, x.source_id), s)),
                }
            }
        }
        vanished.sort_by(|a, b| a.0.cmp(&b.0));
        let mut goldens = Vec::new();
        let mut after = String::new();
        loop {
            let page = mdm_store::golden::active_heads_page(conn, domain, &after, PAGE)?;
            let Some(last) = page.last() else { break };
            after = last.golden_id.clone();
            goldens.extend(page);
        }
        let common = Common::load(conn, domain)?;
        let mut input = Self::assemble(records, seen, vanished, goldens, common)?;
        input.lean = true;
        Ok(input)
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
        let (seen, vanished) = join_xref(&records, xref)?;
        Self::assemble(records, seen, vanished, goldens, common)
    }

    /// From records in key order with their xref rows lined up.
    fn assemble(
        records: Vec<Record>,
        seen: SeenTable,
        vanished: Vec<Vanished>,
        mut goldens: Vec<GoldenRecord>,
        common: Common,
    ) -> Result<Self, ServiceError> {
        goldens.sort_by(|a, b| a.golden_id.cmp(&b.golden_id));
        let golden_index = goldens
            .iter()
            .enumerate()
            .map(|(i, g)| Ok((parse_golden_id(&g.golden_id)?, i as u32)))
            .collect::<Result<_, ServiceError>>()?;
        Ok(Self {
            records,
            lean: false,
            seen,
            vanished,
            goldens,
            golden_index,
            trust: common.trust,
            decisions: common.decisions,
            locks: common.locks,
            realtime_seen: common.realtime_seen,
        })
    }

    /// The index of the record with this key (records are in key order).
    pub fn position(&self, system: &str, source_id: &str) -> Option<u32> {
        position(&self.records, system, source_id)
    }

    /// Per record: the index of the active golden record the previous run put it in.
    pub fn prior_of(&self) -> Vec<Option<u32>> {
        self.seen
            .iter()
            .map(|s| s.and_then(|s| self.golden_index.get(&s.golden_id).copied()))
            .collect()
    }

    /// Per record: new since the last run, or a different staging version.
    pub fn dirty(&self) -> Vec<bool> {
        self.records
            .iter()
            .zip(self.seen.iter())
            .map(|(r, s)| s.is_none_or(|s| s.staging_id != r.staging_id))
            .collect()
    }

    /// The staging versions the last run saw of records that changed (`dirty`) or vanished
    /// since.
    pub fn seen_versions_of_changed(&self, dirty: &[bool]) -> Vec<i64> {
        let mut old: Vec<i64> = self
            .vanished
            .iter()
            .filter_map(|(k, s)| self.seen_version(k, s))
            .collect();
        for ((r, s), _) in self
            .records
            .iter()
            .zip(self.seen.iter())
            .zip(dirty)
            .filter(|(_, d)| **d)
        {
            if let Some(s) = s {
                old.extend(self.seen_version(&key_strings(&r.key), &s));
            }
        }
        old
    }

    /// The staging version of a record that the last run saw: its xref row's, or for a row
    /// real-time matching rewrote since (version 0), the version noted with it.
    fn seen_version(&self, key: &(String, String), seen: &Seen) -> Option<i64> {
        match seen.staging_id {
            0 => self.realtime_seen.get(key).copied(),
            v => Some(v),
        }
    }

    /// xref keys whose record is no longer current (deleted or gone), sorted.
    pub fn vanished(&self) -> Vec<(String, String)> {
        self.vanished.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Steward decisions as record-index pairs (decisions on records not staged are skipped).
    pub fn decision_pairs(&self) -> (Vec<Link>, Vec<Link>) {
        let (mut must, mut cannot) = (Vec::new(), Vec::new());
        for d in &self.decisions {
            let a = self.position(&d.a_system, &d.a_source_id);
            let b = self.position(&d.b_system, &d.b_source_id);
            if let (Some(a), Some(b)) = (a, b) {
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

/// Lines xref rows up with the records (both by key): per record its row, and the rows of
/// records no longer current. A key given twice keeps its last row.
fn join_xref(
    records: &[Record],
    mut xref: Vec<XrefRow>,
) -> Result<(SeenTable, Vec<Vanished>), ServiceError> {
    xref.reverse(); // the stable sort and dedup below keep the last row of a key
    xref.sort_by(|a, b| (&a.system, &a.source_id).cmp(&(&b.system, &b.source_id)));
    xref.dedup_by(|a, b| a.system == b.system && a.source_id == b.source_id);
    let mut seen = SeenTable::new(records.len());
    let mut vanished = Vec::new();
    let mut i = 0;
    for x in xref {
        let s = Seen {
            golden_id: parse_golden_id(&x.golden_id)?,
            staging_id: x.staging_id,
        };
        let key = (x.system.as_str(), x.source_id.as_str());
        while i < records.len() && record_key(&records[i]) < key {
            i += 1;
        }
        if i < records.len() && record_key(&records[i]) == key {
            seen.set(i, s);
        } else {
            vanished.push(((x.system, x.source_id), s));
        }
    }
    Ok((seen, vanished))
}

/// Rows per page of a lean read.
const PAGE: i64 = 50_000;

/// The index of the record with this key in `records` (in key order).
fn position(records: &[Record], system: &str, source_id: &str) -> Option<u32> {
    records
        .binary_search_by(|r| record_key(r).cmp(&(system, source_id)))
        .ok()
        .map(|i| i as u32)
}

fn record_key(r: &Record) -> (&str, &str) {
    (r.key.system.as_str(), r.key.source_id.as_str())
}

/// A golden ID read from the store; one that does not parse is corrupt data, not a nil ID.
pub fn parse_golden_id(s: &str) -> Result<GoldenId, ServiceError> {
    GoldenId::parse(s).map_err(|e| ServiceError::Corrupt(format!("golden ID {s:?}: {e}")))
}

pub fn key_strings(k: &RecordKey) -> (String, String) {
    (k.system.to_string(), k.source_id.to_string())
}

/// Parses staged records (in parallel, same order).
pub fn parse_all(
    rules: &DomainRules,
    raw: &[mdm_store::matchstate::CurrentRecord],
) -> Result<Vec<Record>, ServiceError> {
    // Each system's name once, shared by its records.
    let mut systems: Vec<SystemName> = Vec::new();
    for r in raw {
        if !systems.iter().any(|s| s.as_str() == r.system) {
            if let Ok(s) = SystemName::parse(&r.system) {
                systems.push(s);
            }
        }
    }
    raw.par_iter().map(|r| parse(rules, &systems, r)).collect()
}

fn parse(
    rules: &DomainRules,
    systems: &[SystemName],
    r: &mdm_store::matchstate::CurrentRecord,
) -> Result<Record, ServiceError> {
    let corrupt = |what: String| ServiceError::Corrupt(format!("staging record {}: {what}", r.id));
    let system = match systems.iter().find(|s| s.as_str() == r.system) {
        Some(s) => s.clone(),
        None => SystemName::parse(&r.system).map_err(|e| corrupt(e.to_string()))?,
    };
    let key = RecordKey {
        system,
        source_id: SourceKey::parse(&r.source_id).map_err(|e| corrupt(e.to_string()))?,
    };
    // Read without its attributes (`current_heads`): the values come later, by version.
    let values = if r.attributes.is_empty() {
        Vec::new()
    } else {
        let mut de = serde_json::Deserializer::from_str(&r.attributes);
        serde::de::DeserializeSeed::deserialize(Values(rules), &mut de)
            .and_then(|v| de.end().map(|_| v))
            .map_err(|e| corrupt(e.to_string()))?
    };
    Ok(Record {
        key,
        staging_id: r.id,
        batch_id: r.batch_id,
        loaded_at: r.loaded_at.and_utc().timestamp_micros(),
        values,
    })
}

/// Staged versions by id, parsed, in the order of `staging_ids`; a version that is gone is
/// corrupt data (a run reads only versions it saw current).
pub fn versions_in_order(
    conn: &mut DbConnection,
    rules: &DomainRules,
    staging_ids: &[i64],
) -> Result<Vec<Record>, ServiceError> {
    let rows = mdm_store::matchstate::versions_by_id(conn, staging_ids)?;
    let mut records = parse_all(rules, &rows)?;
    drop(rows);
    let pos: HashMap<i64, usize> = staging_ids
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, i))
        .collect();
    records.sort_by_key(|r| pos.get(&r.staging_id).copied().unwrap_or(usize::MAX));
    if records.len() != staging_ids.len()
        || records
            .iter()
            .zip(staging_ids)
            .any(|(r, &s)| r.staging_id != s)
    {
        return Err(ServiceError::Corrupt(format!(
            "{} of {} staged versions the run needs are missing",
            staging_ids.len().saturating_sub(records.len()),
            staging_ids.len()
        )));
    }
    Ok(records)
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
        let parsed = parse(&rules, &[], &r).unwrap();
        let at = |name: &str| parsed.values[rules.index_of(name).unwrap()].clone();
        assert_eq!(at("given_name").as_deref(), Some("Anna"));
        // A repeated key keeps its last value, as a JSON object read into a map does.
        assert_eq!(at("email").as_deref(), Some("last@b.de"));
        assert_eq!(at("family_name"), None);
        assert_eq!(at("postcode").as_deref(), Some("89073"));
        assert_eq!(parsed.values.len(), rules.attributes.len());
        let escaped = parse(&rules, &[], &record(r#"{"city":"K\u00f6ln \"Mitte\""}"#)).unwrap();
        assert_eq!(
            escaped.values[rules.index_of("city").unwrap()].as_deref(),
            Some("Köln \"Mitte\"")
        );
    }

    fn xref_row(system: &str, source_id: &str, golden: u128, staging_id: i64) -> XrefRow {
        XrefRow {
            domain: "customer".into(),
            system: system.into(),
            source_id: source_id.into(),
            golden_id: uuid::Uuid::from_u128(golden).to_string(),
            staging_id,
            run_id: 1,
            updated_at: chrono::NaiveDateTime::default(),
        }
    }

    #[test]
    fn xref_rows_line_up_with_the_records_and_the_rest_vanish() {
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        let raw: Vec<CurrentRecord> = [("ERP", "2"), ("CRM", "1"), ("ERP", "10")]
            .iter()
            .enumerate()
            .map(|(i, (s, id))| CurrentRecord {
                id: i as i64 + 1,
                system: s.to_string(),
                source_id: id.to_string(),
                ..record("{}")
            })
            .collect();
        let mut records = parse_all(&rules, &raw).unwrap();
        records.sort_by(|a, b| a.key.cmp(&b.key));
        let xref = vec![
            xref_row("CRM", "1", 1, 2),
            xref_row("ERP", "9", 2, 7),
            xref_row("ERP", "2", 3, 1),
            // A key given twice keeps its last row.
            xref_row("CRM", "1", 4, 2),
        ];
        let (seen, vanished) = join_xref(&records, xref).unwrap();
        let golden = |g: u128| GoldenId(uuid::Uuid::from_u128(g));
        // Key order is byte order: CRM/1, ERP/10, ERP/2.
        assert_eq!(position(&records, "ERP", "2"), Some(2));
        assert_eq!(position(&records, "ERP", "9"), None);
        assert_eq!(
            seen.iter().collect::<Vec<_>>(),
            [
                Some(Seen {
                    golden_id: golden(4),
                    staging_id: 2
                }),
                None,
                Some(Seen {
                    golden_id: golden(3),
                    staging_id: 1
                }),
            ]
        );
        assert_eq!(vanished.len(), 1);
        assert_eq!(vanished[0].0, ("ERP".to_string(), "9".to_string()));
        // No xref row at all (a first run): nothing held, every record unseen.
        let (none, _) = join_xref(&records, Vec::new()).unwrap();
        assert!(none.lines.is_empty());
        assert_eq!(none.iter().collect::<Vec<_>>(), [None, None, None]);
        let mut bad = xref_row("ERP", "2", 3, 1);
        bad.golden_id = "not-a-uuid".into();
        let err = join_xref(&records, vec![bad]).unwrap_err();
        assert!(matches!(err, ServiceError::Corrupt(_)), "{err}");
    }

    #[test]
    fn broken_attributes_name_the_staging_record() {
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        for bad in [
            r#"{"email":"x"} trailing"#,
            r#"["email"]"#,
            r#"{"email":"x""#,
        ] {
            let err = parse(&rules, &[], &record(bad))
                .err()
                .expect(bad)
                .to_string();
            assert!(err.contains("staging record 7"), "{bad}: {err}");
        }
    }
}
