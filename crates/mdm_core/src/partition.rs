//! The partitioned full run's matching, in place of one `block` + `score` over every record
//! when a full run is too large to hold at once: blocks are spread over partitions by a
//! hash of (rule, key), a partition holds the records of the blocks it owns, and a pair is
//! scored by the one block, of those that pair it, with the smallest (partition, rule). The
//! union over partitions is exactly the single pass's candidate set, each pair once; with a
//! frozen model each pair gets the single pass's score, so clustering the union gives the
//! single pass's clusters (ARCHITECTURE.md, "Partitioned full run").
//!
//! Memory: one chunk's (key pass) or one partition's (scoring) features at a time, plus the
//! key table and the kept pairs. Pure: the caller hands in records by global index (record
//! key order) and decides where a partition runs.

use crate::block;
use crate::pipeline::features::{Features, FrozenWords, RawTable};
use crate::pipeline::{MatchError, Prepared, ScoredPair};
use crate::rematch::{self, Model};
use crate::rules::DomainRules;
use crate::standardize::StdContext;
use ahash::AHashMap;
use rayon::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Per blocking rule, per record: its key hash, or none when a key part is missing. Eight
/// bytes a key (`u64::MAX` for none, a hash blocking never gives) where an `Option<u64>`
/// takes sixteen: at 10M records and 12 rules, 1 GB less.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleKeys {
    rules: Vec<Vec<u64>>,
}

/// A record without a key of the rule.
pub const NO_KEY: u64 = u64::MAX;

impl RuleKeys {
    /// `rules` empty rules with room for `records` keys each.
    pub fn new(rules: usize, records: usize) -> Self {
        Self {
            rules: vec![Vec::with_capacity(records); rules],
        }
    }

    pub fn rules(&self) -> usize {
        self.rules.len()
    }

    /// Record `i`'s key of rule `rule`.
    pub fn get(&self, rule: usize, i: usize) -> Option<u64> {
        let k = self.rules[rule][i];
        (k != NO_KEY).then_some(k)
    }

    /// Rule `rule`'s keys, record by record.
    pub fn rule(&self, rule: usize) -> impl ExactSizeIterator<Item = Option<u64>> + '_ {
        self.rules[rule].iter().map(|&k| (k != NO_KEY).then_some(k))
    }

    pub fn push(&mut self, rule: usize, keys: impl IntoIterator<Item = Option<u64>>) {
        self.rules[rule].extend(keys.into_iter().map(|k| {
            debug_assert_ne!(k, Some(NO_KEY), "blocking never gives u64::MAX");
            k.unwrap_or(NO_KEY)
        }));
    }

    /// Rule `rule`'s keys as stored: [`NO_KEY`] for none.
    pub fn raw(&self, rule: usize) -> &[u64] {
        &self.rules[rule]
    }

    /// From stored keys, per rule (see [`RuleKeys::raw`]).
    pub fn from_raw(rules: Vec<Vec<u64>>) -> Self {
        Self { rules }
    }

    fn clear(&mut self, rule: usize) {
        self.rules[rule].clear();
    }
}

impl From<Vec<Vec<Option<u64>>>> for RuleKeys {
    fn from(keys: Vec<Vec<Option<u64>>>) -> Self {
        let mut out = RuleKeys::new(keys.len(), 0);
        for (r, rk) in keys.into_iter().enumerate() {
            out.push(r, rk);
        }
        out
    }
}

/// Records (by global index, ascending) as a raw table: the caller's store of records (in
/// memory, or a database read a chunk at a time, which may fail).
pub type RecordSource<'a> = &'a dyn Fn(&[u32]) -> Result<RawTable, MatchError>;

/// The values a run reads of the columns whose blocking keys count words (`rare_word`,
/// `code`) that the model's vocabulary lacks. A single pass counts them with the model's
/// vocabulary (each value once, as `Model::apply` counts a value it never saw), so every
/// chunk and partition must see all of them to pick the single pass's keys.
pub struct RunVocabulary {
    columns: Vec<VocabColumn>,
}

struct VocabColumn {
    col: usize,
    /// The model holds statistics of the column: a value outside them counts once.
    has_stats: bool,
    values: AHashMap<Box<str>, u32>,
}

impl RunVocabulary {
    pub fn new(rules: &DomainRules, model: &Model) -> Self {
        let columns = rules
            .attributes
            .iter()
            .enumerate()
            .filter(|(_, a)| rematch::rare_word_blocking(rules, &a.name))
            .map(|(col, a)| VocabColumn {
                col,
                has_stats: model.columns.iter().any(|s| s.attr == a.name),
                values: AHashMap::new(),
            })
            .collect();
        Self { columns }
    }

    /// Adds the values of `f` (the model applied) outside the model's vocabulary.
    pub fn add(&mut self, f: &Features) {
        for vc in &mut self.columns {
            let column = &f.columns[vc.col];
            let frozen = column.frozen_words.as_deref();
            for (v, &count) in column.values.iter().zip(&column.counts) {
                if frozen.is_some_and(|fw| fw.values.contains(&v.text)) {
                    continue;
                }
                let n = vc.values.entry(v.text.clone()).or_insert(0);
                *n = if vc.has_stats { 1 } else { *n + count };
            }
        }
    }

    /// The model's vocabulary with the run's values, per column that has any.
    pub fn finish(self, rules: &DomainRules, model: &Model) -> Vocabulary {
        let columns = self
            .columns
            .into_iter()
            .filter(|vc| !vc.values.is_empty())
            .map(|vc| {
                let name = &rules.attributes[vc.col].name;
                let frozen = model
                    .columns
                    .iter()
                    .find(|s| &s.attr == name)
                    .map(|s| &s.values)
                    .into_iter()
                    .flatten()
                    .map(|(t, &c)| (t.as_str(), c));
                let run = vc.values.iter().map(|(t, &c)| (&**t, c));
                (vc.col, Arc::new(FrozenWords::new(frozen.chain(run))))
            })
            .collect();
        Vocabulary { columns }
    }
}

/// The vocabulary every chunk and partition counts words with (see [`RunVocabulary`]).
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    columns: Vec<(usize, Arc<FrozenWords>)>,
}

impl Vocabulary {
    /// No value outside the model's vocabulary: the model alone gives the keys.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Attribute indices whose words it counts.
    pub fn columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.columns.iter().map(|c| c.0)
    }

    /// Replaces the model's vocabulary in `f` (after `Model::apply`).
    pub fn apply(&self, f: &mut Features) {
        for (col, words) in &self.columns {
            f.columns[*col].frozen_words = Some(words.clone());
        }
    }

    /// The blocking keys of `f` (the model applied) as the key pass gives them: counted
    /// with this vocabulary. `f` is left as it was, since scoring uses the model's.
    pub fn keys(&self, compiled: &[block::CompiledRule], f: &mut Features) -> RuleKeys {
        let saved: Vec<_> = self
            .columns
            .iter()
            .map(|(col, _)| f.columns[*col].frozen_words.clone())
            .collect();
        self.apply(f);
        let keys = RuleKeys::from(block::rule_keys(compiled, f));
        for ((col, _), words) in self.columns.iter().zip(saved) {
            f.columns[*col].frozen_words = words;
        }
        keys
    }
}

/// Features of `raw` with the frozen model applied.
fn features(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    raw: RawTable,
) -> Result<Features, MatchError> {
    let mut p = Prepared::new(rules, ctx, raw)?;
    model.apply(rules, &mut p.features);
    Ok(p.features)
}

/// Every record's blocking keys, computed chunk by chunk (`chunk` records at a time), and
/// the run's vocabulary. Keys that count words are computed again with the vocabulary
/// when the run has values outside the model's.
pub fn key_pass(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    n: usize,
    chunk: usize,
    raw: RecordSource<'_>,
) -> Result<(RuleKeys, Vocabulary), MatchError> {
    let compiled = block::compile(rules)?;
    let chunks = || {
        (0..n)
            .step_by(chunk.max(1))
            .map(move |s| (s as u32..(s + chunk.max(1)).min(n) as u32).collect::<Vec<u32>>())
    };
    let mut keys = RuleKeys::new(compiled.len(), n);
    let mut run_vocab = RunVocabulary::new(rules, model);
    for ids in chunks() {
        let f = features(rules, ctx, model, raw(&ids)?)?;
        run_vocab.add(&f);
        for (r, part) in block::rule_keys(&compiled, &f).into_iter().enumerate() {
            keys.push(r, part);
        }
    }
    let vocab = run_vocab.finish(rules, model);
    if vocab.is_empty() {
        return Ok((keys, vocab));
    }
    let cols: Vec<usize> = vocab.columns().collect();
    let again: Vec<usize> = (0..compiled.len())
        .filter(|&r| compiled[r].attributes().any(|a| cols.contains(&a)))
        .collect();
    let rules_again: Vec<block::CompiledRule> =
        again.iter().map(|&r| compiled[r].clone()).collect();
    for &r in &again {
        keys.clear(r);
    }
    for ids in chunks() {
        let mut f = features(rules, ctx, model, raw(&ids)?)?;
        vocab.apply(&mut f);
        for (&r, part) in again.iter().zip(block::rule_keys(&rules_again, &f)) {
            keys.push(r, part);
        }
    }
    Ok((keys, vocab))
}

/// The owner partition of block (`rule`, `key`) among `count`: a fixed mix of both, so
/// every process agrees.
pub fn owner(rule: usize, key: u64, count: u32) -> u32 {
    let mut x = key ^ (rule as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % u64::from(count.max(1))) as u32
}

/// Which records each partition holds, and the capped blocks' cut-offs.
#[derive(Debug, Clone)]
pub struct Partitioning {
    pub count: u32,
    /// Per partition: its records (global indices, ascending).
    pub members: Vec<Vec<u32>>,
    /// Records in a block of at least two, summed over blocks (`count` is this divided by
    /// the partition size, rounded up).
    pub memberships: u64,
    /// Capped blocks: (rule, key) -> the last record (global index) the block pairs.
    cutoffs: AHashMap<(usize, u64), u32>,
}

/// One rule's keyed records, sorted by (key, record).
fn sorted_keys(keys: &RuleKeys, rule: usize) -> Vec<(u64, u32)> {
    let mut v: Vec<(u64, u32)> = keys
        .rule(rule)
        .enumerate()
        .filter_map(|(r, k)| k.map(|k| (k, r as u32)))
        .collect();
    v.par_sort_unstable();
    v
}

fn blocks(sorted: &[(u64, u32)]) -> impl Iterator<Item = &[(u64, u32)]> {
    sorted.chunk_by(|a, b| a.0 == b.0).filter(|b| b.len() > 1)
}

impl Partitioning {
    /// Spreads the blocks of `keys` over partitions of about `partition_records` block
    /// memberships each. A capped block pairs its first `max_block` records (by global
    /// index), as blocking does, and only those join its partition.
    pub fn new(keys: &RuleKeys, max_block: usize, partition_records: usize) -> Self {
        let max_block = max_block.max(2);
        let mut cutoffs = AHashMap::new();
        let mut memberships = 0u64;
        for r in 0..keys.rules() {
            for b in blocks(&sorted_keys(keys, r)) {
                memberships += b.len().min(max_block) as u64;
                if b.len() > max_block {
                    cutoffs.insert((r, b[0].0), b[max_block - 1].1);
                }
            }
        }
        let count = memberships
            .div_ceil(partition_records.max(1) as u64)
            .clamp(1, u64::from(u32::MAX)) as u32;
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); count as usize];
        for r in 0..keys.rules() {
            for b in blocks(&sorted_keys(keys, r)) {
                let p = owner(r, b[0].0, count) as usize;
                members[p].extend(b[..b.len().min(max_block)].iter().map(|e| e.1));
            }
        }
        members.par_iter_mut().for_each(|m| {
            m.sort_unstable();
            m.dedup();
            // Held until scored: grown by doubling, a list could be twice its size.
            m.shrink_to_fit();
        });
        Self {
            count,
            members,
            memberships,
            cutoffs,
        }
    }

    /// Capped blocks.
    pub fn capped(&self) -> usize {
        self.cutoffs.len()
    }

    /// The capped blocks as (rule, key, last record paired), sorted: what a worker process
    /// needs, with `count`, to score a partition ([`Partitioning::for_worker`]).
    pub fn cutoffs(&self) -> Vec<(u32, u64, u32)> {
        let mut v: Vec<(u32, u64, u32)> = self
            .cutoffs
            .iter()
            .map(|(&(r, k), &last)| (r as u32, k, last))
            .collect();
        v.sort_unstable();
        v
    }

    /// The partitioning as a worker sees it: the count and the cut-offs, no members (a
    /// worker reads its partition's members and keys from the ledger).
    pub fn for_worker(count: u32, cutoffs: &[(u32, u64, u32)]) -> Self {
        Self {
            count,
            members: Vec::new(),
            memberships: 0,
            cutoffs: cutoffs
                .iter()
                .map(|&(r, k, last)| ((r as usize, k), last))
                .collect(),
        }
    }

    /// Whether block (`rule`, `key`) pairs record `global` (it is within the block's cap).
    fn paired(&self, rule: usize, key: u64, global: u32) -> bool {
        self.cutoffs
            .get(&(rule, key))
            .is_none_or(|&last| global <= last)
    }

    /// The one block that scores the pair of local records `i` and `j`: of the blocks that
    /// pair them, the one with the smallest (owner partition, rule).
    fn scoring_block(&self, members: &[u32], keys: &RuleKeys, i: u32, j: u32) -> (u32, usize) {
        let (gi, gj) = (members[i as usize], members[j as usize]);
        (0..keys.rules())
            .filter_map(
                |r| match (keys.get(r, i as usize), keys.get(r, j as usize)) {
                    (Some(a), Some(b))
                        if a == b && self.paired(r, a, gi) && self.paired(r, a, gj) =>
                    {
                        Some((owner(r, a, self.count), r))
                    }
                    _ => None,
                },
            )
            .min()
            .unwrap_or((u32::MAX, usize::MAX))
    }

    /// The pairs partition `p` scores, as indices into `members` (its records, ascending),
    /// each once, handed to `f` in batches of about `batch` pairs: a partition of large
    /// blocks has tens of millions of pairs, which all at once held GBs. `keys` are the
    /// members' keys (per rule, per member).
    pub fn for_each_pair_batch(
        &self,
        p: u32,
        members: &[u32],
        keys: &RuleKeys,
        batch: usize,
        mut f: impl FnMut(Vec<(u32, u32)>),
    ) {
        for r in 0..keys.rules() {
            let mut entries: Vec<(u64, u32)> = keys
                .rule(r)
                .enumerate()
                .filter_map(|(i, k)| {
                    let k = k?;
                    let mine = owner(r, k, self.count) == p && self.paired(r, k, members[i]);
                    mine.then_some((k, i as u32))
                })
                .collect();
            entries.par_sort_unstable();
            let mut group: Vec<&[(u64, u32)]> = Vec::new();
            let mut size = 0usize;
            for b in blocks(&entries) {
                group.push(b);
                size = size.saturating_add(b.len() * (b.len() - 1) / 2);
                if size >= batch {
                    f(self.block_pairs(p, r, members, keys, &group));
                    group.clear();
                    size = 0;
                }
            }
            if !group.is_empty() {
                f(self.block_pairs(p, r, members, keys, &group));
            }
        }
    }

    /// The pairs of `blocks` (of rule `r`) that partition `p` scores.
    fn block_pairs(
        &self,
        p: u32,
        r: usize,
        members: &[u32],
        keys: &RuleKeys,
        blocks: &[&[(u64, u32)]],
    ) -> Vec<(u32, u32)> {
        blocks
            .par_iter()
            .flat_map_iter(|b| {
                (0..b.len()).flat_map(move |x| (x + 1..b.len()).map(move |y| (b[x].1, b[y].1)))
            })
            .filter(|&(i, j)| self.scoring_block(members, keys, i, j) == (p, r))
            .collect()
    }

    /// Every pair partition `p` scores (see [`Partitioning::for_each_pair_batch`]), sorted:
    /// what the tests compare with the single pass.
    #[cfg(test)]
    fn pairs(&self, p: u32, members: &[u32], keys: &RuleKeys) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        self.for_each_pair_batch(p, members, keys, usize::MAX, |b| out.extend(b));
        out.par_sort_unstable();
        out
    }
}

/// The keys of `members` (global indices) from the run's key table.
pub fn member_keys(keys: &RuleKeys, members: &[u32]) -> RuleKeys {
    RuleKeys {
        rules: keys
            .rules
            .iter()
            .map(|rk| members.iter().map(|&g| rk[g as usize]).collect())
            .collect(),
    }
}

/// Scores partition `p`: its kept pairs (global indices, sorted) and its candidate pairs.
/// `keys` are the members' keys (a worker reads them from the ledger).
#[allow(clippy::too_many_arguments)]
pub fn score_partition(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    part: &Partitioning,
    p: u32,
    members: &[u32],
    raw: RawTable,
    keys: &RuleKeys,
) -> Result<(Vec<ScoredPair>, u64), MatchError> {
    let f = features(rules, ctx, model, raw)?;
    Ok(score_features(rules, model, part, p, members, f, keys))
}

/// [`score_partition`] with the members' keys computed again from their features, as the
/// key pass did: the run need not hold every record's keys while it scores.
#[allow(clippy::too_many_arguments)]
pub fn score_partition_rekeyed(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    vocab: &Vocabulary,
    part: &Partitioning,
    p: u32,
    members: &[u32],
    raw: RawTable,
) -> Result<(Vec<ScoredPair>, u64), MatchError> {
    let mut f = features(rules, ctx, model, raw)?;
    let keys = vocab.keys(&block::compile(rules)?, &mut f);
    Ok(score_features(rules, model, part, p, members, f, &keys))
}

fn score_features(
    rules: &DomainRules,
    model: &Model,
    part: &Partitioning,
    p: u32,
    members: &[u32],
    features: Features,
    keys: &RuleKeys,
) -> (Vec<ScoredPair>, u64) {
    let prepared = Prepared { rules, features };
    let mut kept = Vec::new();
    let mut candidates = 0u64;
    part.for_each_pair_batch(p, members, keys, PAIR_BATCH, |pairs| {
        candidates += pairs.len() as u64;
        kept.extend(
            rematch::score_pairs(&prepared, &model.params, &pairs)
                .into_iter()
                .map(|mut s| {
                    s.a = members[s.a as usize];
                    s.b = members[s.b as usize];
                    s
                }),
        );
    });
    kept.par_sort_unstable_by_key(|s| (s.a, s.b));
    (kept, candidates)
}

/// Candidate pairs a partition generates and scores at a time (8 bytes each).
const PAIR_BATCH: usize = 1 << 20;

/// A partitioned full match.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Kept pairs (global indices), in the single pass's order (by `a`, then `b`).
    pub kept: Vec<ScoredPair>,
    pub rule_keys: RuleKeys,
    pub candidate_pairs: u64,
    pub partitions: u32,
    pub memberships: u64,
    /// Records of the largest partition.
    pub largest: usize,
    /// Capped blocks.
    pub capped: usize,
    /// Columns whose word counts took values outside the model's vocabulary.
    pub vocabulary_columns: usize,
    pub timings: Vec<(&'static str, Duration)>,
}

/// What a partitioned full run decides before scoring: every record's keys and which
/// records each partition holds.
pub struct Plan {
    /// Every record's keys: needed to write the workers' ledger and, after the run, the
    /// key table; in-process scoring computes a partition's keys again, so a caller may
    /// take them out (and set them aside) once the blocks are assigned.
    pub rule_keys: RuleKeys,
    pub part: Partitioning,
    pub vocab: Vocabulary,
    pub timings: Vec<(&'static str, Duration)>,
}

/// The key pass and the assignment of blocks to partitions of about `partition_records`.
pub fn plan(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    n: usize,
    partition_records: usize,
    raw: RecordSource<'_>,
) -> Result<Plan, MatchError> {
    let t = Instant::now();
    let (rule_keys, vocab) = key_pass(rules, ctx, model, n, partition_records, raw)?;
    let mut timings = vec![("keys", t.elapsed())];
    let t = Instant::now();
    let part = Partitioning::new(&rule_keys, rules.matching.max_block_size, partition_records);
    timings.push(("assign", t.elapsed()));
    Ok(Plan {
        rule_keys,
        part,
        vocab,
        timings,
    })
}

impl Plan {
    /// The outcome once the partitions' kept pairs are in: `kept` is sorted here.
    pub fn outcome(self, mut kept: Vec<ScoredPair>, candidate_pairs: u64) -> Outcome {
        kept.par_sort_unstable_by_key(|s| (s.a, s.b));
        tracing::info!(
            partitions = self.part.count,
            memberships = self.part.memberships,
            candidate_pairs,
            kept = kept.len(),
            "partitioned match"
        );
        Outcome {
            kept,
            candidate_pairs,
            partitions: self.part.count,
            memberships: self.part.memberships,
            largest: self.part.members.iter().map(Vec::len).max().unwrap_or(0),
            capped: self.part.capped(),
            vocabulary_columns: self.vocab.columns().count(),
            rule_keys: self.rule_keys,
            timings: self.timings,
        }
    }
}

/// Matches `n` records (by global index, from `raw`) with the frozen `model`, one chunk or
/// partition of about `partition_records` at a time, in process.
pub fn run(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    n: usize,
    partition_records: usize,
    raw: RecordSource<'_>,
) -> Result<Outcome, MatchError> {
    let _span = tracing::info_span!("partitioned", records = n).entered();
    let plan = plan(rules, ctx, model, n, partition_records, raw)?;
    score_in_process(rules, ctx, model, plan, raw)
}

/// Scores every partition of `plan` in process, one at a time. `plan.rule_keys` is not
/// read (each partition's keys are computed again), so it may have been taken out.
pub fn score_in_process(
    rules: &DomainRules,
    ctx: &StdContext,
    model: &Model,
    mut plan: Plan,
    raw: RecordSource<'_>,
) -> Result<Outcome, MatchError> {
    let t = Instant::now();
    let mut kept = Vec::new();
    let mut candidate_pairs = 0;
    let largest = plan.part.members.iter().map(Vec::len).max().unwrap_or(0);
    for p in 0..plan.part.members.len() {
        // A partition's member list is freed once scored, as the kept pairs grow.
        let members = std::mem::take(&mut plan.part.members[p]);
        if members.len() < 2 {
            continue;
        }
        let (k, c) = score_partition_rekeyed(
            rules,
            ctx,
            model,
            &plan.vocab,
            &plan.part,
            p as u32,
            &members,
            raw(&members)?,
        )?;
        // Grown by a quarter, not doubled: at 10M records the kept pairs are ~0.5 GB, and a
        // doubling holds the old buffer and one twice its size at once.
        if kept.capacity() - kept.len() < k.len() {
            kept.reserve_exact(k.len().max(kept.len() / 4));
        }
        kept.extend(k);
        candidate_pairs += c;
    }
    plan.timings.push(("partitions", t.elapsed()));
    let mut out = plan.outcome(kept, candidate_pairs);
    out.largest = largest;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_spreads_and_agrees() {
        let mut seen = vec![0u32; 8];
        for k in 0..8000u64 {
            let p = owner(3, k.wrapping_mul(0x1234_5678_9abc_def1), 8);
            assert_eq!(p, owner(3, k.wrapping_mul(0x1234_5678_9abc_def1), 8));
            seen[p as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (700..1300).contains(&c)), "{seen:?}");
        assert_eq!(owner(0, 42, 1), 0);
    }

    /// Union of the partitions' pairs, as global pairs.
    fn all_pairs(keys: &RuleKeys, max_block: usize, size: usize) -> (Vec<(u32, u32)>, usize) {
        let part = Partitioning::new(keys, max_block, size);
        // Pairs as a worker process finds them: from the count and cut-offs alone.
        let worker = Partitioning::for_worker(part.count, &part.cutoffs());
        let mut out = Vec::new();
        for (p, m) in part.members.iter().enumerate() {
            let local = member_keys(keys, m);
            out.extend(
                worker
                    .pairs(p as u32, m, &local)
                    .into_iter()
                    .map(|(i, j)| (m[i as usize], m[j as usize])),
            );
        }
        let n = out.len();
        out.sort_unstable();
        (out, n)
    }

    /// The single pass's pairs of the same keys: every pair sharing a key, within caps.
    fn single_pass(keys: &RuleKeys, max_block: usize) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for r in 0..keys.rules() {
            for b in blocks(&sorted_keys(keys, r)) {
                let b = &b[..b.len().min(max_block)];
                for x in 0..b.len() {
                    for y in x + 1..b.len() {
                        out.push((b[x].1, b[y].1));
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn partitions_give_each_candidate_pair_once_with_caps() {
        // Few distinct keys per rule: big blocks, many pairs shared by several rules.
        let n = 300u32;
        let keys: Vec<Vec<Option<u64>>> = (0..4u64)
            .map(|r| {
                (0..n)
                    .map(|i| (i % 7 != r as u32).then_some((u64::from(i) * (r + 3)) % (5 + r * 3)))
                    .collect()
            })
            .collect();
        let keys = RuleKeys::from(keys);
        assert_eq!(keys.get(0, 0), None);
        assert_eq!(keys.get(1, 0), Some(0));
        for max_block in [2, 5, 40, 1000] {
            let want = single_pass(&keys, max_block);
            for size in [1, 10, 97, 1000, 1_000_000] {
                let (got, n_got) = all_pairs(&keys, max_block, size);
                assert_eq!(
                    n_got,
                    want.len(),
                    "each pair once (cap {max_block}, size {size})"
                );
                assert_eq!(got, want, "cap {max_block}, size {size}");
            }
        }
        let part = Partitioning::new(&keys, 5, 10);
        assert!(part.capped() > 0 && part.count > 1);
        // Batches of any size hand over the same pairs, each once.
        for (p, m) in part.members.iter().enumerate() {
            let local = member_keys(&keys, m);
            let all = part.pairs(p as u32, m, &local);
            for batch in [1, 7, 100] {
                let mut got = Vec::new();
                part.for_each_pair_batch(p as u32, m, &local, batch, |b| {
                    assert!(!b.is_empty());
                    got.extend(b)
                });
                got.sort_unstable();
                assert_eq!(got, all, "partition {p}, batch {batch}");
            }
        }
    }
}
