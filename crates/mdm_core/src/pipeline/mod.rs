//! The matching pipeline end to end, in memory: features -> block -> compare -> score
//! (train or reuse parameters) -> decide -> cluster. Pure and deterministic; parallel with
//! whatever rayon pool the caller installed. One tracing span per stage, never per pair.

pub mod features;

use crate::block::{self, BlockError, Candidates};
use crate::cluster::{self, ClusterInput, ClusterStats, Link};
use crate::compare::{BoundComparison, LEVEL_MISSING, MAX_LEVELS};
use crate::explain::{self, decide, PairExplanation};
use crate::rules::matching::{Decision, Level};
use crate::rules::DomainRules;
use crate::score::{self, level_at, BoundOverride, Params, ParamsError};
use crate::standardize::StdContext;
use crate::veto;
use features::{Features, RawTable};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Why a match run could not start.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error(transparent)]
    Block(#[from] BlockError),
    #[error(transparent)]
    Params(#[from] ParamsError),
    #[error("comparison `{name}`: {reason}")]
    Comparison { name: String, reason: String },
    #[error("at most 16 comparisons per domain, got {0}")]
    TooManyComparisons(usize),
    /// Reading records to match failed (a partitioned run reads them chunk by chunk).
    #[error("reading records: {0}")]
    Source(String),
}

/// Inputs beyond the records.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Reuse trained parameters instead of training.
    pub params: Option<Params>,
    /// Steward decisions, as record indices.
    pub must_link: Vec<(u32, u32)>,
    pub cannot_link: Vec<(u32, u32)>,
}

/// A scored pair kept for output (review or better, or decided by an override).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
    pub probability: f64,
    pub decision: Decision,
    /// Index of the override that decided it.
    pub override_idx: Option<u16>,
}

/// Everything a run produced.
#[derive(Debug)]
pub struct MatchResult {
    pub features: Features,
    pub params: Params,
    pub blocking: Vec<block::RuleReport>,
    pub candidate_pairs: usize,
    pub scored: Vec<ScoredPair>,
    /// Per record, its cluster label (smallest member's record index).
    pub clusters: Vec<u32>,
    pub cluster_stats: ClusterStats,
    pub timings: Vec<(&'static str, Duration)>,
}

/// Records' features plus the bound rules: the state shared by blocking, scoring and explaining.
pub struct Prepared<'r> {
    pub rules: &'r DomainRules,
    pub features: Features,
}

impl<'r> Prepared<'r> {
    /// Standardizes and extracts features (parallel).
    pub fn new(
        rules: &'r DomainRules,
        ctx: &StdContext,
        raw: RawTable,
    ) -> Result<Self, MatchError> {
        let _span = tracing::info_span!("standardize", records = raw.len()).entered();
        check_comparisons(rules)?;
        Ok(Self {
            rules,
            features: Features::build(rules, ctx, raw),
        })
    }

    pub fn comparisons(&self) -> Vec<BoundComparison<'_>> {
        bind(self.rules, &self.features)
    }

    pub fn candidates(&self) -> Result<Candidates, MatchError> {
        let compiled = block::compile(self.rules)?;
        Ok(block::candidates(
            &compiled,
            &self.features,
            &self.rules.matching,
        ))
    }

    /// Explains one pair of records (by index).
    pub fn explain(&self, params: &Params, a: usize, b: usize) -> PairExplanation {
        explain_pair(self.rules, &self.features, params, a, b)
    }
}

fn thresholds(rules: &DomainRules) -> (f64, f64) {
    let m = &rules.matching;
    (m.match_threshold, m.review_threshold)
}

/// Explains one pair of records (by index) of a finished run's features, so a caller
/// holding a `MatchResult` need not standardize the records again.
pub fn explain_pair(
    rules: &DomainRules,
    features: &Features,
    params: &Params,
    a: usize,
    b: usize,
) -> PairExplanation {
    let cmps = bind(rules, features);
    let ovs = score::active_overrides(rules, params);
    let o = score::override_for(&ovs, features, a, b);
    let prior = score::BoundPrior::new(rules, params).weight(features, a, b);
    explain::explain(&cmps, params, prior, o, thresholds(rules), a, b)
}

/// Every candidate pair of a finished run, scored: for reports on the model (the run itself
/// keeps only review-or-better and overridden pairs). Blocks and compares the run's
/// features again, so it costs about what those stages cost in the run.
#[derive(Debug, Clone, Default)]
pub struct CandidateScores {
    /// Per candidate pair (sorted as blocking gives them): weight, probability and
    /// decision exactly as the run scored it; `override_idx` indexes
    /// `score::active_overrides`.
    pub pairs: Vec<ScoredPair>,
    /// Per blocking rule, its report and the indices into `pairs` of the pairs it produced
    /// (pairs from capped blocks excluded, as in blocking).
    pub rules: Vec<(block::RuleReport, Vec<u32>)>,
}

/// Scores every candidate pair of `features` under `params` (see `CandidateScores`).
pub fn score_candidates(
    rules: &DomainRules,
    features: &Features,
    params: &Params,
) -> Result<CandidateScores, MatchError> {
    check_comparisons(rules)?;
    params.check(rules)?;
    let compiled = block::compile(rules)?;
    let cands = block::candidates(&compiled, features, &rules.matching);
    let cmps = bind(rules, features);
    let rows = score::IdRows::new(&cmps, features.len());
    let scorer = PairScorer::from_parts(rules, features, &cmps, params);
    let pairs: Vec<ScoredPair> = cands
        .pairs
        .par_iter()
        .map(|&(a, b)| {
            let pat = score::pattern_rows(&cmps, &rows, a as usize, b as usize);
            scorer.weigh(a, b, pat)
        })
        .collect();
    let max_block = rules.matching.max_block_size.max(2);
    let by_rule = cands
        .reports
        .into_iter()
        .zip(&cands.rule_keys)
        .map(|(report, keys)| {
            let cutoff = block_cutoffs(&report, keys, max_block);
            let inside = |r: u32, k: u64| cutoff.get(&k).is_none_or(|&c| r <= c);
            let produced: Vec<u32> = cands
                .pairs
                .par_iter()
                .enumerate()
                .filter(|(_, &(a, b))| match (keys[a as usize], keys[b as usize]) {
                    (Some(x), Some(y)) => x == y && inside(a, x) && inside(b, x),
                    _ => false,
                })
                .map(|(i, _)| i as u32)
                .collect();
            (report, produced)
        })
        .collect();
    Ok(CandidateScores {
        pairs,
        rules: by_rule,
    })
}

/// Per capped block key, the last record (by index) that blocking paired: a capped block
/// pairs only its first `max_block` records.
fn block_cutoffs(
    report: &block::RuleReport,
    keys: &[Option<u64>],
    max_block: usize,
) -> std::collections::HashMap<u64, u32> {
    let mut seen: std::collections::HashMap<u64, (usize, u32)> =
        report.capped.iter().map(|&(k, _)| (k, (0, 0))).collect();
    for (r, k) in keys.iter().enumerate() {
        if let Some(e) = k.and_then(|k| seen.get_mut(&k)) {
            if e.0 < max_block {
                e.0 += 1;
                e.1 = r as u32;
            }
        }
    }
    seen.into_iter().map(|(k, (_, last))| (k, last)).collect()
}

fn check_comparisons(rules: &DomainRules) -> Result<(), MatchError> {
    let cs = &rules.matching.comparisons;
    if cs.len() > 16 {
        return Err(MatchError::TooManyComparisons(cs.len()));
    }
    for c in cs {
        let bad = |reason: String| MatchError::Comparison {
            name: c.name.clone(),
            reason,
        };
        if rules.index_of(&c.attr).is_none() {
            return Err(bad(format!("no attribute `{}`", c.attr)));
        }
        if let Some(o) = &c.swap_with {
            if rules.index_of(o).is_none() {
                return Err(bad(format!("no attribute `{o}`")));
            }
        }
        if c.levels.len() > MAX_LEVELS {
            return Err(bad(format!("at most {MAX_LEVELS} levels")));
        }
        let others: Vec<&str> = c.levels.iter().filter_map(Level::other_attr).collect();
        if let Some(o) = others.iter().find(|o| rules.index_of(o).is_none()) {
            return Err(bad(format!("no attribute `{o}`")));
        }
        if !others.is_empty() && (c.levels.len() > 1 || c.swap_with.is_some()) {
            return Err(bad("`code_in` is a comparison's only level".into()));
        }
        if c.levels.contains(&Level::Swapped) && c.swap_with.is_none() {
            return Err(bad("level `swapped` needs `swap_with`".into()));
        }
    }
    Ok(())
}

fn bind<'a>(rules: &'a DomainRules, f: &'a Features) -> Vec<BoundComparison<'a>> {
    rules
        .matching
        .comparisons
        .iter()
        .map(|c| BoundComparison {
            spec: c,
            col: &f.columns[rules.index_of(&c.attr).expect("checked")],
            other: c
                .swap_with
                .as_deref()
                .or_else(|| c.levels.iter().find_map(Level::other_attr))
                .and_then(|o| rules.index_of(o))
                .map(|i| &f.columns[i]),
        })
        .collect()
}

/// Runs the whole pipeline on raw records.
pub fn run(
    rules: &DomainRules,
    ctx: &StdContext,
    raw: RawTable,
    opts: MatchOptions,
) -> Result<MatchResult, MatchError> {
    let mut timings = Vec::new();
    let t = Instant::now();
    let prepared = Prepared::new(rules, ctx, raw)?;
    timings.push(("standardize", t.elapsed()));

    let t = Instant::now();
    let cands = prepared.candidates()?;
    timings.push(("block", t.elapsed()));

    let t = Instant::now();
    let cmps = prepared.comparisons();
    let patterns: Vec<u64> = {
        let _span = tracing::info_span!("compare", pairs = cands.pairs.len()).entered();
        let rows = score::IdRows::new(&cmps, prepared.features.len());
        cands
            .pairs
            .par_iter()
            .map(|&(a, b)| score::pattern_rows(&cmps, &rows, a as usize, b as usize))
            .collect()
    };
    timings.push(("compare", t.elapsed()));

    let t = Instant::now();
    let params = match opts.params.clone() {
        Some(p) => {
            p.check(rules)?;
            p
        }
        None => {
            let m = &rules.matching;
            let u = score::estimate_u(&cmps, prepared.features.len(), m.u_sample_pairs, m.seed);
            let samples = rule_samples(rules, &cands)?;
            let labelled = override_labels(&prepared, &cands);
            let population = score::Population {
                records: prepared.features.len(),
                kinds: score::KindStrata::of(rules, &prepared.features, &cands.pairs),
            };
            let mut params =
                score::train(rules, &cmps, &patterns, &samples, u, &labelled, &population);
            params.vetoes = veto::estimate(
                &prepared.features,
                &cmps,
                &score::bind_overrides(rules),
                &cands.pairs,
                &patterns,
            );
            params
        }
    };
    timings.push(("train", t.elapsed()));

    let t = Instant::now();
    let scored = score_pairs(&prepared, &cmps, &params, &cands, &patterns);
    timings.push(("score", t.elapsed()));

    let t = Instant::now();
    let (clusters, cluster_stats) = cluster_scored(rules, prepared.features.len(), &scored, &opts);
    timings.push(("cluster", t.elapsed()));

    drop(cmps);
    Ok(MatchResult {
        features: prepared.features,
        params,
        blocking: cands.reports,
        candidate_pairs: cands.pairs.len(),
        scored,
        clusters,
        cluster_stats,
        timings,
    })
}

/// Candidate pairs (as indices) that a deterministic override decides, with the
/// override's attribute: labelled matches and non-matches for learning m and u (see
/// `score::Labelled`).
fn override_labels(p: &Prepared, cands: &Candidates) -> score::Labelled {
    let ovs = score::bind_overrides(p.rules);
    if ovs.is_empty() {
        return score::Labelled::default();
    }
    let decided: Vec<(usize, usize, Decision)> = cands
        .pairs
        .par_iter()
        .enumerate()
        .filter_map(|(i, &(a, b))| {
            let o = score::override_for(&ovs, &p.features, a as usize, b as usize)?;
            Some((i, o.col, o.then))
        })
        .collect();
    let mut labelled = score::Labelled::default();
    for (i, col, then) in decided {
        match then {
            Decision::Match => labelled.matches.push((i, col)),
            _ => labelled.non_matches.push((i, col)),
        }
    }
    labelled
}

/// Most pairs per blocking rule that EM learns from (an even spread over the rule's pairs).
const EM_PAIRS_PER_RULE: usize = 1_000_000;

/// Per blocking rule: the candidate pairs it produces, and which comparisons read its keys.
fn rule_samples(
    rules: &DomainRules,
    cands: &Candidates,
) -> Result<Vec<score::RuleSample>, MatchError> {
    let compiled = block::compile(rules)?;
    Ok(compiled
        .iter()
        .zip(&cands.rule_keys)
        .zip(&rules.matching.blocking)
        .filter(|(_, spec)| spec.train)
        .map(|((rule, keys), _)| {
            let attrs: Vec<usize> = rule.attributes().collect();
            let excluded = rules
                .matching
                .comparisons
                .iter()
                .map(|c| rules.index_of(&c.attr).is_some_and(|i| attrs.contains(&i)))
                .collect();
            let pairs: Vec<usize> = cands
                .pairs
                .par_iter()
                .enumerate()
                .filter(|(_, &(a, b))| {
                    keys[a as usize].is_some() && keys[a as usize] == keys[b as usize]
                })
                .map(|(i, _)| i)
                .collect();
            let step = pairs.len().div_ceil(EM_PAIRS_PER_RULE).max(1);
            score::RuleSample {
                pairs: pairs.into_iter().step_by(step).collect(),
                excluded,
            }
        })
        .collect())
}

/// Weights and decisions for all candidate pairs; keeps review-or-better and overridden ones.
fn score_pairs(
    p: &Prepared,
    cmps: &[BoundComparison],
    params: &Params,
    cands: &Candidates,
    patterns: &[u64],
) -> Vec<ScoredPair> {
    let _span = tracing::info_span!("score", pairs = patterns.len()).entered();
    let scorer = PairScorer::new(p, cmps, params);
    cands
        .pairs
        .par_iter()
        .zip(patterns.par_iter())
        .filter_map(|(&(a, b), &pat)| scorer.score(a, b, pat))
        .collect()
}

/// Turns a pair's level pattern into its weight, probability and decision: the scoring
/// step shared by the pipeline and the nightly run (`rematch`), so both give one result.
pub(crate) struct PairScorer<'a> {
    features: &'a Features,
    cmps: &'a [BoundComparison<'a>],
    params: &'a Params,
    ovs: Vec<BoundOverride>,
    thresholds: (f64, f64),
    /// Per comparison, the weight of each level (0 for levels it lacks).
    table: Vec<[f64; 16]>,
    /// Comparisons whose exact agreement gets a term-frequency adjustment.
    tf_cmps: Vec<usize>,
    prior: score::BoundPrior,
    groups: Vec<Option<usize>>,
}

impl<'a> PairScorer<'a> {
    pub(crate) fn new(
        p: &'a Prepared,
        cmps: &'a [BoundComparison<'a>],
        params: &'a Params,
    ) -> Self {
        Self::from_parts(p.rules, &p.features, cmps, params)
    }

    /// As `new`, from the rules and a finished run's features.
    fn from_parts(
        rules: &DomainRules,
        features: &'a Features,
        cmps: &'a [BoundComparison<'a>],
        params: &'a Params,
    ) -> Self {
        let table = (0..cmps.len())
            .map(|k| {
                let mut t = [0.0; 16];
                for (l, w) in t.iter_mut().enumerate() {
                    let l = l as u8;
                    if (l as usize) < cmps[k].n_levels() || l == LEVEL_MISSING {
                        *w = params.weight(k, l);
                    }
                }
                t
            })
            .collect();
        let tf_cmps = cmps
            .iter()
            .enumerate()
            .filter(|(_, c)| c.spec.term_frequency && c.spec.levels.first() == Some(&Level::Exact))
            .map(|(k, _)| k)
            .collect();
        Self {
            features,
            cmps,
            params,
            ovs: score::active_overrides(rules, params),
            thresholds: thresholds(rules),
            table,
            tf_cmps,
            prior: score::BoundPrior::new(rules, params),
            groups: score::groups_of(cmps),
        }
    }

    /// The scored pair, if it is kept (review or better, or decided by an override).
    pub(crate) fn score(&self, a: u32, b: u32, pat: u64) -> Option<ScoredPair> {
        let s = self.weigh(a, b, pat);
        (s.decision != Decision::NonMatch || s.override_idx.is_some()).then_some(s)
    }

    /// The pair's weight, probability and decision, kept or not.
    fn weigh(&self, a: u32, b: u32, pat: u64) -> ScoredPair {
        let mut ws: smallvec::SmallVec<[f64; 16]> = self
            .table
            .iter()
            .enumerate()
            .map(|(k, t)| t[level_at(pat, k) as usize])
            .collect();
        for &k in &self.tf_cmps {
            if level_at(pat, k) == 0 {
                ws[k] += score::tf_adjustment(self.params, &self.cmps[k], k, a as usize);
            }
        }
        let prior = self.prior.weight(self.features, a as usize, b as usize);
        let w = prior + score::combine(&ws, &self.groups);
        let o = score::override_for(&self.ovs, self.features, a as usize, b as usize);
        let prob = match o {
            Some(o) if o.then == Decision::Match => 1.0,
            Some(_) => 0.0,
            None => score::probability(w),
        };
        let decision = decide(prob, self.thresholds);
        let override_idx = o.map(|o| {
            self.ovs
                .iter()
                .position(|x| std::ptr::eq(x, o))
                .unwrap_or(0) as u16
        });
        ScoredPair {
            a,
            b,
            weight: w,
            probability: prob,
            decision,
            override_idx,
        }
    }
}

fn cluster_scored(
    rules: &DomainRules,
    n: usize,
    scored: &[ScoredPair],
    opts: &MatchOptions,
) -> (Vec<u32>, ClusterStats) {
    cluster_links(
        rules,
        n,
        scored,
        opts.must_link.clone(),
        opts.cannot_link.clone(),
    )
}

/// Clusters `n` records from kept pairs and steward decisions (record indices): overridden
/// matches first, review pairs as support, non-matches as cannot-links. Shared with
/// `rematch`.
pub(crate) fn cluster_links(
    rules: &DomainRules,
    n: usize,
    scored: &[ScoredPair],
    must_link: Vec<(u32, u32)>,
    cannot_link: Vec<(u32, u32)>,
) -> (Vec<u32>, ClusterStats) {
    let mut input = ClusterInput {
        n,
        min_link_share: rules.matching.min_link_share,
        must_link,
        cannot_link,
        ..Default::default()
    };
    for s in scored {
        match s.decision {
            Decision::Match => {
                // Overridden matches go first: they are certain.
                let weight = if s.override_idx.is_some() {
                    f64::MAX
                } else {
                    s.weight
                };
                input.merges.push(Link {
                    a: s.a,
                    b: s.b,
                    weight,
                });
                input.support.push((s.a, s.b));
            }
            Decision::Review => input.support.push((s.a, s.b)),
            Decision::NonMatch => input.cannot_link.push((s.a, s.b)),
        }
    }
    cluster::cluster(&input)
}
