//! Matching inside a reconcile run: the frozen model, which pairs to (re-)score, clusters.
//!
//! Architecture invariant: a full and an incremental run over the same staged records give
//! the same clusters. Both score with the stored model; the incremental run re-scores the
//! candidate pairs touching a changed record and takes every other kept pair from the last
//! run (`match_pairs`), whose scores the unchanged model and unchanged records reproduce.

use super::distributed::Remote;
use super::input::Input;
use super::key_table::KeyTable;
use super::RunStats;
use crate::ServiceError;
use mdm_core::pipeline::features::RawTable;
use mdm_core::pipeline::{self, MatchOptions, Prepared, ScoredPair};
use mdm_core::rematch::{self, Model};
use mdm_core::rules::matching::Decision;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::matchstate::{KeyRow, PairRow};
use mdm_store::DbConnection;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The outcome of matching.
pub struct Matched {
    /// Per record: its cluster's index in `clusters`.
    pub cluster_of: Vec<u32>,
    /// Member record indices per cluster, ordered by smallest member.
    pub clusters: Vec<Vec<u32>>,
    /// All kept pairs (review or better, or overridden) of this run.
    pub kept: Vec<ScoredPair>,
    /// Records changed since the last run.
    pub dirty: Vec<bool>,
    /// The model, when this run trained it (to be stored).
    pub trained: Option<Model>,
    pub rules_hash: String,
    /// Blocking keys to store: of every record (full run) or of the changed ones.
    pub keys: Keys,
    /// The stored keys of records changed or vanished since the last run (with a frozen
    /// model; see [`previous_keys`]).
    pub previous_keys: Vec<KeyRow>,
    /// An incremental run: `records` is the affected subset, not everything.
    pub subset: bool,
    /// Incremental: every freshly scored kept pair as stored (some reach outside the set).
    pub fresh_rows: Vec<PairRow>,
    /// Incremental: review pairs from a record of the set to one outside it.
    pub boundary: Vec<Boundary>,
}

/// The blocking keys a run computed.
pub enum Keys {
    /// Per blocking rule, per record of the input (a full run): rows are made only for the
    /// records whose keys are written.
    All(KeyTable),
    /// Rows of the changed records (an incremental run).
    Rows(Vec<KeyRow>),
}

impl Keys {
    /// The key rows of the records `take` selects.
    pub fn rows(
        &self,
        domain: &str,
        input: &Input,
        take: impl Fn(usize) -> bool,
    ) -> Result<Vec<KeyRow>, ServiceError> {
        match self {
            Keys::Rows(rows) => Ok(rows
                .iter()
                .filter(|k| {
                    input
                        .position(&k.system, &k.source_id)
                        .is_some_and(|i| take(i as usize))
                })
                .cloned()
                .collect()),
            Keys::All(table) => {
                let mut out = Vec::new();
                for rule in 0..table.rules() {
                    let keys = table.rule(rule)?;
                    for (i, k) in keys.into_iter().enumerate() {
                        let Some(k) = k.filter(|_| take(i)) else {
                            continue;
                        };
                        let r = &input.records[i];
                        out.push(KeyRow {
                            domain: domain.to_string(),
                            system: r.key.system.to_string(),
                            source_id: r.key.source_id.to_string(),
                            rule: rule as i32,
                            key_hash: k as i64,
                        });
                    }
                }
                Ok(out)
            }
        }
    }
}

/// A review pair from record `inside` of the set to a record outside it, whose golden ID
/// (unchanged by this run) is `outside_golden`.
pub struct Boundary {
    pub inside: u32,
    pub outside: (String, String),
    pub outside_golden: String,
    /// Whether `inside` is the pair's `a` side.
    pub inside_is_a: bool,
    pub probability: f64,
    pub weight: f64,
}

/// The stored model, if it was trained on the current rules.
pub fn stored_model(
    conn: &mut DbConnection,
    rules: &DomainRules,
) -> Result<Option<Model>, ServiceError> {
    Ok(stored_model_json(conn, rules)?.and_then(|json| serde_json::from_str(&json).ok()))
}

/// The stored model's JSON, if it was trained on the current rules.
pub fn stored_model_json(
    conn: &mut DbConnection,
    rules: &DomainRules,
) -> Result<Option<String>, ServiceError> {
    let Some((hash, json)) = mdm_store::matchstate::model(conn, &rules.domain)? else {
        return Ok(None);
    };
    if hash != rules_hash(rules) {
        tracing::info!(domain = %rules.domain, "rules changed since the model was trained: retraining");
        return Ok(None);
    }
    Ok(Some(json))
}

/// A model to run with: given, or being parsed from its stored JSON on a thread of its own
/// (at 1M records ~9 MB, ~0.15 s) while the run reads what changed.
pub enum PendingModel {
    Ready(Model),
    Parsing(std::thread::JoinHandle<Result<Model, serde_json::Error>>),
}

impl PendingModel {
    pub fn parse(json: String) -> Self {
        Self::Parsing(std::thread::spawn(move || serde_json::from_str(&json)))
    }

    pub fn wait(self) -> Result<Model, ServiceError> {
        match self {
            Self::Ready(m) => Ok(m),
            Self::Parsing(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                .map_err(|e| ServiceError::UnreadableModel(e.to_string())),
        }
    }
}

/// A hash of the rules' matching part: a model is valid while it is unchanged.
pub fn rules_hash(rules: &DomainRules) -> String {
    let text =
        serde_json::to_string(&(&rules.attributes, &rules.matching)).expect("rules serialize");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Matches every current record (a full run, or the first run, which trains the model).
/// Partitioned, a run with `remote` hands its partitions to worker processes.
#[allow(clippy::too_many_arguments)]
pub fn run_full(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    model: Option<Model>,
    install: bool,
    (partition_records, train_sample): (Option<usize>, Option<usize>),
    remote: Option<Remote<'_>>,
    stats: &mut RunStats,
) -> Result<Matched, ServiceError> {
    match (partition_records, model) {
        (Some(size), Some(model)) => {
            run_partitioned(conn, rules, ctx, input, model, install, size, remote, stats)
        }
        (Some(size), None) => {
            // Workers score with the stored model, which a first run has yet to commit.
            if remote.is_some() {
                tracing::info!(domain = %rules.domain, "first run: partitions scored in-process");
            }
            let model = train_on_sample(conn, rules, ctx, input, train_sample, stats)?;
            run_partitioned(conn, rules, ctx, input, model, true, size, None, stats)
        }
        (None, model) => run_single(rules, ctx, input, model, install, stats),
    }
}

/// A model trained on a sample of about `sample` records (every record when there are no
/// more): a first run too large for one pass trains on the sample, then matches every record
/// partition by partition with the frozen model. The sample is chosen by a hash of each
/// record's key, so every run of the same data takes the same one; a pair of records within
/// a block is in it as often as any other, so the share of matches among candidate pairs,
/// and the m and u probabilities, are those of the whole data.
fn train_on_sample(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    sample: Option<usize>,
    stats: &mut RunStats,
) -> Result<Model, ServiceError> {
    let n = input.records.len();
    let ids: Vec<u32> = match sample {
        Some(sample) if sample < n => (0..n as u32)
            .filter(|&i| key_hash(&input.records[i as usize].key) % n as u64 <= sample as u64)
            .collect(),
        _ => (0..n as u32).collect(),
    };
    tracing::info!(domain = %rules.domain, records = ids.len(), "training a model on a sample");
    let raw = {
        let conn = std::cell::RefCell::new(conn);
        let source = super::partitioned::source(rules, input, &conn);
        source(&ids)?
    };
    let res = pipeline::run(rules, ctx, raw, MatchOptions::default())?;
    stats.trained = true;
    stats.train_sample = ids.len() as u64;
    Ok(Model::freeze(rules, res.params, &res.features))
}

/// FNV-1a over a record key: stable across processes and versions (unlike std's hasher).
fn key_hash(k: &mdm_core::RecordKey) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = k
        .system
        .as_str()
        .bytes()
        .chain([0])
        .chain(k.source_id.as_str().bytes());
    for b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A full run partition by partition (see `partitioned`, `distributed`): the single pass's
/// pairs and keys.
#[allow(clippy::too_many_arguments)]
fn run_partitioned(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    model: Model,
    install: bool,
    partition_records: usize,
    remote: Option<Remote<'_>>,
    stats: &mut RunStats,
) -> Result<Matched, ServiceError> {
    let dirty = input.dirty();
    stats.dirty_records = dirty.iter().filter(|d| **d).count() as u64;
    stats.vanished_records = input.vanished().len() as u64;
    let (out, keys) = match remote {
        Some(remote) => super::distributed::run(
            conn,
            remote,
            rules,
            ctx,
            input,
            &model,
            partition_records,
            stats,
        )
        .map(|mut out| {
            let keys = KeyTable::Memory(std::mem::take(&mut out.rule_keys));
            (out, keys)
        })?,
        None => super::partitioned::run(conn, rules, ctx, input, &model, partition_records, stats)?,
    };
    Ok(finish(
        rules,
        input,
        out.kept,
        dirty,
        install.then_some(model),
        Keys::All(keys),
        false,
    ))
}

/// The whole run in one pass (and the first run, which trains the model).
fn run_single(
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    model: Option<Model>,
    install: bool,
    stats: &mut RunStats,
) -> Result<Matched, ServiceError> {
    let mut raw = RawTable::new(rules);
    for r in &input.records {
        raw.push(r.key.clone(), |i| r.values[i].as_deref());
    }
    let dirty = input.dirty();
    stats.dirty_records = dirty.iter().filter(|d| **d).count() as u64;
    stats.vanished_records = input.vanished().len() as u64;
    let (prepared, pre_scored, trained, model) = match model {
        None => {
            // Train: the pipeline's own scores are the new model's scores.
            let res = pipeline::run(rules, ctx, raw, MatchOptions::default())?;
            let model = Model::freeze(rules, res.params.clone(), &res.features);
            stats.trained = true;
            let prepared = Prepared {
                rules,
                features: res.features,
            };
            (prepared, Some(res.scored), true, model)
        }
        Some(model) => {
            let mut prepared = Prepared::new(rules, ctx, raw)?;
            model.apply(rules, &mut prepared.features);
            (prepared, None, false, model)
        }
    };
    let cands = prepared.candidates()?;
    stats.candidate_pairs = cands.pairs.len() as u64;
    stats.pairs_scored = cands.pairs.len() as u64;
    let kept =
        pre_scored.unwrap_or_else(|| rematch::score_pairs(&prepared, &model.params, &cands.pairs));
    Ok(finish(
        rules,
        input,
        kept,
        dirty,
        (trained || install).then_some(model),
        Keys::All(KeyTable::Memory(cands.rule_keys.into())),
        false,
    ))
}

/// The blocking keys stored for records that changed or vanished since the last run: those
/// of the versions it saw, computed again with the same frozen model. The key table is
/// clustered by key (what the incremental run looks up), not by record.
pub fn previous_keys(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    input: &Input,
    dirty: &[bool],
) -> Result<Vec<KeyRow>, ServiceError> {
    let versions = input.seen_versions_of_changed(dirty);
    if versions.is_empty() {
        return Ok(Vec::new());
    }
    let seen = mdm_store::matchstate::versions_by_id(conn, &versions)?;
    let (seen, prepared) = super::incremental::prepare_subset(rules, ctx, model, seen)?;
    let cands = prepared.candidates()?;
    let keys: Vec<(String, String)> = seen
        .iter()
        .map(|r| (r.system.clone(), r.source_id.clone()))
        .collect();
    Ok(key_rows(&rules.domain, &cands.rule_keys, &keys, |_| true))
}

/// Clusters and assembles the outcome.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    rules: &DomainRules,
    input: &Input,
    kept: Vec<ScoredPair>,
    dirty: Vec<bool>,
    trained: Option<Model>,
    keys: Keys,
    subset: bool,
) -> Matched {
    let (must, cannot) = input.decision_pairs();
    let labels = rematch::cluster(rules, input.records.len(), &kept, must, cannot);
    let (cluster_of, clusters) = group(&labels);
    Matched {
        cluster_of,
        clusters,
        kept,
        dirty,
        trained,
        rules_hash: rules_hash(rules),
        keys,
        previous_keys: Vec::new(),
        subset,
        fresh_rows: Vec::new(),
        boundary: Vec::new(),
    }
}

/// Blocking-key rows of the records `i` (with keys `keys[i]`) that `take(i)`, record by
/// record (so in key order when `keys` is).
pub fn key_rows(
    domain: &str,
    rule_keys: &[Vec<Option<u64>>],
    keys: &[(String, String)],
    take: impl Fn(usize) -> bool,
) -> Vec<KeyRow> {
    let mut out = Vec::new();
    for (i, (system, source_id)) in keys.iter().enumerate() {
        if !take(i) {
            continue;
        }
        for (rule, hashes) in rule_keys.iter().enumerate() {
            if let Some(k) = hashes[i] {
                out.push(KeyRow {
                    domain: domain.to_string(),
                    system: system.clone(),
                    source_id: source_id.clone(),
                    rule: rule as i32,
                    key_hash: k as i64,
                });
            }
        }
    }
    out
}

/// Kept pairs of the last run whose records are both current and unchanged (a changed
/// record has a new staging version, so its old pairs find no record).
pub fn carried_pairs(input: &Input, dirty: &[bool], stored: Vec<PairRow>) -> Vec<ScoredPair> {
    let by_version: HashMap<i64, u32> = input
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.staging_id, i as u32))
        .collect();
    stored
        .into_iter()
        .filter_map(|p| {
            let a = *by_version.get(&p.a_staging_id)?;
            let b = *by_version.get(&p.b_staging_id)?;
            if dirty[a as usize] || dirty[b as usize] {
                return None;
            }
            let decision = match p.decision.as_str() {
                "match" => Decision::Match,
                "review" => Decision::Review,
                _ => Decision::NonMatch,
            };
            Some(ScoredPair {
                a: a.min(b),
                b: a.max(b),
                weight: p.weight,
                probability: p.probability,
                decision,
                override_idx: p.overridden.then_some(0),
            })
        })
        .collect()
}

/// Labels (smallest member index) to dense cluster indices, ordered by smallest member.
fn group(labels: &[u32]) -> (Vec<u32>, Vec<Vec<u32>>) {
    let mut dense = vec![u32::MAX; labels.len()];
    let mut clusters: Vec<Vec<u32>> = Vec::new();
    let mut cluster_of = Vec::with_capacity(labels.len());
    for (i, &l) in labels.iter().enumerate() {
        if dense[l as usize] == u32::MAX {
            dense[l as usize] = clusters.len() as u32;
            clusters.push(Vec::new());
        }
        let c = dense[l as usize];
        clusters[c as usize].push(i as u32);
        cluster_of.push(c);
    }
    (cluster_of, clusters)
}

/// A kept pair as stored, by the staging versions of its records.
pub fn pair_row(domain: &str, input: &Input, p: &ScoredPair) -> PairRow {
    PairRow {
        a_staging_id: input.records[p.a as usize].staging_id,
        b_staging_id: input.records[p.b as usize].staging_id,
        domain: domain.to_string(),
        weight: p.weight,
        probability: p.probability,
        decision: p.decision.name().to_string(),
        overridden: p.override_idx.is_some(),
    }
}
