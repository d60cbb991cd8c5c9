//! A partitioned full run whose partitions are scored by `mdm worker` processes
//! (`mdm reconcile --workers N`; PostgreSQL only). The coordinator (this module, inside the
//! run) does the key pass and the assignment as the in-process run does, writes the
//! partition ledger (`mdm_store::partitions`), starts the workers, waits until every
//! partition is done, and reads the edges back in (a, b) order: the in-process run's kept
//! pairs. Clustering, survivorship and the write go on unchanged, in one transaction.
//!
//! A worker needs, besides the stored model (checked by the hash of its JSON) and the
//! records' staging versions, only the partition count, the capped blocks' cut-offs and its
//! partition's members with their keys: the keys were computed in the key pass with the
//! run's whole vocabulary, so a worker never needs the run's words outside the model.

use super::input::Input;
use super::RunStats;
use crate::ServiceError;
use mdm_core::partition::{self, Outcome, RuleKeys};
use mdm_core::pipeline::ScoredPair;
use mdm_core::rematch::Model;
use mdm_core::rules::matching::Decision;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::partitions::{Edge, NewPartition, RunInputs};
use mdm_store::DbConnection;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// The worker processes of a run, as the caller (the CLI) starts them.
pub trait Workers {
    /// Starts workers for run `run_id`, whose partitions are in the ledger.
    fn start(&mut self, run_id: i64) -> Result<(), ServiceError>;
    /// Whether a worker started by `start` still runs.
    fn alive(&mut self) -> bool;
    /// Waits for the workers to exit (they do once the run has no partition left).
    fn stop(&mut self);
}

/// What a coordinator needs to hand partitions to workers.
pub struct Remote<'a> {
    pub run_id: i64,
    pub workers: &'a mut dyn Workers,
}

/// How often the coordinator looks at the ledger while workers score.
const POLL: Duration = Duration::from_millis(100);

/// The SHA-256 of a model's stored JSON: a worker scores only with the model the run has.
pub fn model_hash(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// Matches every record of `input` with `model` by partitions that `workers` score.
#[allow(clippy::too_many_arguments)]
pub fn run(
    conn: &mut DbConnection,
    remote: Remote<'_>,
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    model: &Model,
    partition_records: usize,
    stats: &mut RunStats,
) -> Result<Outcome, ServiceError> {
    let Remote { run_id, workers } = remote;
    if !matches!(conn, DbConnection::Pg(_)) {
        return Err(ServiceError::Invalid(
            "worker processes need PostgreSQL: a SQLite file has one writer \
             (run the partitions in-process: --workers 0)"
                .into(),
        ));
    }
    let json = super::matching::stored_model_json(conn, rules)?
        .ok_or_else(|| ServiceError::Conflict("the stored model changed during the run".into()))?;
    let n = input.records.len();
    let mut plan = {
        let conn = std::cell::RefCell::new(&mut *conn);
        let source = super::partitioned::source(rules, input, &conn);
        partition::plan(rules, ctx, model, n, partition_records, &source)?
    };
    let t = Instant::now();
    // Encoded one partition at a time as the ledger is written, each member list freed
    // once encoded.
    let largest = plan.part.members.iter().map(Vec::len).max().unwrap_or(0);
    let members = std::mem::take(&mut plan.part.members);
    let rule_keys = &plan.rule_keys;
    let parts = members
        .into_iter()
        .enumerate()
        .filter(|(_, m)| m.len() >= 2)
        .map(|(p, m)| NewPartition {
            part: p as i32,
            records: m.len() as i64,
            members: encode_members(
                &m,
                |g| input.records[g as usize].staging_id,
                &partition::member_keys(rule_keys, &m),
            ),
        });
    let inputs = RunInputs {
        run_id,
        domain: rules.domain.clone(),
        partitions: plan.part.count as i32,
        model_hash: model_hash(&json),
        cutoffs: encode_cutoffs(&plan.part.cutoffs()),
    };
    drop(json);
    mdm_store::partitions::create(conn, &inputs, parts)?;
    plan.timings.push(("ledger", t.elapsed()));
    let t = Instant::now();
    workers.start(run_id)?;
    let waited = wait(conn, run_id, workers);
    workers.stop();
    waited?;
    plan.timings.push(("partitions", t.elapsed()));
    let t = Instant::now();
    let ledger = mdm_store::partitions::ledger(conn, run_id)?;
    let candidate_pairs = ledger.iter().filter_map(|p| p.pairs_scored).sum::<i64>() as u64;
    let kept = mdm_store::partitions::edges(conn, run_id)?
        .into_iter()
        .map(scored)
        .collect::<Result<Vec<_>, _>>()?;
    mdm_store::partitions::delete_run_data(conn, run_id)?;
    plan.timings.push(("edges", t.elapsed()));
    let mut out = plan.outcome(kept, candidate_pairs);
    out.largest = largest;
    super::partitioned::note(&out, stats);
    note_partitions(&ledger, stats);
    Ok(out)
}

/// Waits until every partition of the run is done, or no worker is left to do it.
fn wait(
    conn: &mut DbConnection,
    run_id: i64,
    workers: &mut dyn Workers,
) -> Result<(), ServiceError> {
    loop {
        if mdm_store::partitions::open_count(conn, run_id)? == 0 {
            return Ok(());
        }
        if !workers.alive() {
            // Their last partition may have been finished just before they exited.
            if mdm_store::partitions::open_count(conn, run_id)? == 0 {
                return Ok(());
            }
            return Err(ServiceError::Invalid(format!(
                "every worker of run {run_id} exited before its partitions were done \
                 (see their errors above)"
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// Per-partition figures from the ledger: the longest and the summed scoring time, and the
/// partitions scored more than once (a worker died or lost its lease).
fn note_partitions(ledger: &[mdm_store::partitions::PartitionRow], stats: &mut RunStats) {
    let secs: Vec<f64> = ledger
        .iter()
        .filter_map(|p| Some((p.finished_at? - p.started_at?).num_milliseconds() as f64 / 1e3))
        .collect();
    let max = secs.iter().copied().fold(0.0, f64::max);
    let sum: f64 = secs.iter().sum();
    stats.timings.push(("match.partition_max".into(), max));
    stats.timings.push(("match.partition_sum".into(), sum));
    let retried = ledger.iter().filter(|p| p.attempts > 1).count() as f64;
    stats
        .timings
        .push(("match.partitions_retried".into(), retried));
}

fn scored(e: Edge) -> Result<ScoredPair, ServiceError> {
    let decision = match e.decision.as_str() {
        "match" => Decision::Match,
        "review" => Decision::Review,
        "non_match" => Decision::NonMatch,
        other => {
            return Err(ServiceError::Corrupt(format!(
                "edge decision {other:?} in the partition ledger"
            )))
        }
    };
    let index = |v: i64| {
        u32::try_from(v).map_err(|_| ServiceError::Corrupt(format!("edge record index {v}")))
    };
    Ok(ScoredPair {
        a: index(e.a)?,
        b: index(e.b)?,
        weight: e.weight,
        probability: e.probability,
        decision,
        override_idx: e.override_idx.and_then(|i| u16::try_from(i).ok()),
    })
}

/// A kept pair as a worker stores it.
pub fn edge(p: &ScoredPair) -> Edge {
    Edge {
        a: i64::from(p.a),
        b: i64::from(p.b),
        weight: p.weight,
        probability: p.probability,
        decision: p.decision.name().to_string(),
        override_idx: p.override_idx.map(i32::from),
    }
}

/// A partition's members as a worker needs them: per member (ascending global index) the
/// index, the staging version, a bitmap of the rules that key it and those keys.
pub fn encode_members(
    members: &[u32],
    staging_id: impl Fn(u32) -> i64,
    keys: &RuleKeys,
) -> Vec<u8> {
    let rules = keys.rules();
    let mut out = Vec::with_capacity(4 + members.len() * (12 + rules.div_ceil(8) + 8 * rules));
    out.extend((rules as u32).to_le_bytes());
    for (i, &g) in members.iter().enumerate() {
        out.extend(g.to_le_bytes());
        out.extend(staging_id(g).to_le_bytes());
        let mut bits = vec![0u8; rules.div_ceil(8)];
        for r in 0..rules {
            if keys.get(r, i).is_some() {
                bits[r / 8] |= 1 << (r % 8);
            }
        }
        out.extend(&bits);
        for r in 0..rules {
            if let Some(k) = keys.get(r, i) {
                out.extend(k.to_le_bytes());
            }
        }
    }
    out
}

/// A partition's members decoded: global indices, staging versions and keys (per rule,
/// per member).
pub struct Members {
    pub globals: Vec<u32>,
    pub staging_ids: Vec<i64>,
    pub keys: RuleKeys,
}

/// Reads what [`encode_members`] wrote.
pub fn decode_members(bytes: &[u8]) -> Result<Members, ServiceError> {
    let mut r = Reader(bytes);
    let rules = r.u32()? as usize;
    let (mut globals, mut staging_ids) = (Vec::new(), Vec::new());
    let mut keys = RuleKeys::new(rules, 0);
    while !r.0.is_empty() {
        globals.push(r.u32()?);
        staging_ids.push(r.u64()? as i64);
        let bits = r.take(rules.div_ceil(8))?;
        for rule in 0..rules {
            let present = bits[rule / 8] & (1 << (rule % 8)) != 0;
            let key = if present { Some(r.u64()?) } else { None };
            if key == Some(u64::MAX) {
                return Err(ServiceError::Corrupt("a partition key of u64::MAX".into()));
            }
            keys.push(rule, [key]);
        }
    }
    Ok(Members {
        globals,
        staging_ids,
        keys,
    })
}

/// Little-endian reads off the front of a byte string.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ServiceError> {
        let (head, tail) = self
            .0
            .split_at_checked(n)
            .ok_or_else(|| ServiceError::Corrupt("partition members cut short".into()))?;
        self.0 = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, ServiceError> {
        let mut b = [0; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, ServiceError> {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

pub fn encode_cutoffs(cutoffs: &[(u32, u64, u32)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cutoffs.len() * 16);
    for &(r, k, last) in cutoffs {
        out.extend(r.to_le_bytes());
        out.extend(k.to_le_bytes());
        out.extend(last.to_le_bytes());
    }
    out
}

pub fn decode_cutoffs(bytes: &[u8]) -> Result<Vec<(u32, u64, u32)>, ServiceError> {
    let mut r = Reader(bytes);
    let mut out = Vec::with_capacity(bytes.len() / 16);
    while !r.0.is_empty() {
        out.push((r.u32()?, r.u64()?, r.u32()?));
    }
    Ok(out)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_and_cutoffs_round_trip() {
        // Nine rules: the bitmap takes two bytes; a key of 0 is a key, not a gap.
        let members = [3u32, 7, 40];
        let keys: Vec<Vec<Option<u64>>> = (0..9u64)
            .map(|r| {
                (0..3u64)
                    .map(|i| (r + i) % 3 != 0)
                    .zip([u64::MAX - 1, r, r * 1000 + 1])
                    .map(|(present, k)| present.then_some(k))
                    .collect()
            })
            .collect();
        let keys = RuleKeys::from(keys);
        let bytes = encode_members(&members, |g| i64::from(g) * 10 - 5, &keys);
        let m = decode_members(&bytes).unwrap();
        assert_eq!(m.globals, members);
        assert_eq!(m.staging_ids, [25, 65, 395]);
        assert_eq!(m.keys, keys);
        assert!(decode_members(&bytes[..bytes.len() - 1]).is_err());
        let cutoffs = [(0, u64::MAX, 9), (4, 17, 1)];
        assert_eq!(decode_cutoffs(&encode_cutoffs(&cutoffs)).unwrap(), cutoffs);
    }
}
