//! Stage 4 of matching (after `compare`, before `cluster`): Fellegi–Sunter scoring.
//!
//! * u-probabilities (how often a level occurs among non-matches) come from a seeded sample
//!   of random record pairs, which are almost all non-matches.
//! * m-probabilities (how often among matches) and the prior λ come from
//!   expectation-maximisation on the candidate pairs, unsupervised. Pairs are grouped by
//!   their level pattern first, so EM iterates over a few thousand patterns, not millions
//!   of pairs; it stops after `EM_MAX_ITER` rounds or when no parameter moves by `EM_TOL`.
//! * Candidate pairs that overrides decide are labels: labelled matches (same GTIN) give m
//!   (`m_from_labels`); with labelled non-matches (different GTINs or part numbers) as
//!   well, u comes from those, among candidate pairs, and λ is the share of matches among
//!   candidates (`u_from_labels`).
//! * A level's weight is log2(m/u). On a comparison with `term_frequency`, exact agreement
//!   on value v weighs log2(m/f(v)) where f(v) is v's share of records: agreeing on "smith"
//!   counts less than on "wojciechowski".
//! * Deterministic overrides (same GTIN => match, different national IDs => non-match) are
//!   applied on top and named in the explanation.

use crate::compare::{damerau_within, day_month_swapped, one_swap, BoundComparison, LEVEL_MISSING};
use crate::pipeline::features::Features;
use crate::rules::matching::{Decision, OverrideWhen, VetoHold};
use crate::rules::DomainRules;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const EM_MAX_ITER: usize = 100;
pub const EM_TOL: f64 = 1e-6;
/// Probabilities are kept away from 0 and 1 so weights stay finite.
const FLOOR: f64 = 1e-5;

/// Trained parameters, saved with `mdm match --train` and reused with `--params`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Params {
    pub domain: String,
    /// Prior probability that two records drawn at random match (λ of the candidate pairs
    /// scaled by candidates / all pairs), so a weight means the same whatever the blocking;
    /// or, when u was learned among candidate pairs (`tf_u` set or labelled non-matches,
    /// see `u_from_labels`), the share of matches among candidate pairs.
    pub lambda: f64,
    pub comparisons: Vec<ComparisonParams>,
    pub em_iterations: usize,
    /// Per non-match override, how often matches trip it (`veto`); a model saved before
    /// these were learned has none, and its overrides hold as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vetoes: Vec<crate::veto::VetoParams>,
    /// λ per kind of pair, when the rules name a `kind_attribute` (see `KindPrior`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_prior: Option<KindPrior>,
}

/// The prior per kind of pair: `lambda[n]` for pairs in which `n` of the two records carry
/// `attribute` (0: two people, 1: a person and an organization, 2: two organizations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindPrior {
    pub attribute: String,
    pub lambda: [f64; 3],
}

/// The prior weight of a pair, bound to a run's features: the kind prior's when the rules
/// and parameters have one, the global one otherwise.
#[derive(Debug, Clone)]
pub struct BoundPrior {
    col: Option<usize>,
    weights: [f64; 3],
}

impl BoundPrior {
    pub fn new(rules: &DomainRules, params: &Params) -> Self {
        let global = params.prior_weight();
        let kind = params.kind_prior.as_ref().and_then(|k| {
            let col = rules.index_of(&k.attribute)?;
            Some((col, k.lambda.map(log_odds)))
        });
        match kind {
            Some((col, weights)) => Self {
                col: Some(col),
                weights,
            },
            None => Self {
                col: None,
                weights: [global; 3],
            },
        }
    }

    /// log2 prior odds of records `a` and `b`.
    pub fn weight(&self, f: &Features, a: usize, b: usize) -> f64 {
        match self.col {
            Some(c) => self.weights[kind_of_pair(f, c, a, b)],
            None => self.weights[0],
        }
    }
}

/// How many of records `a` and `b` carry a value in column `col` (0, 1 or 2).
pub fn kind_of_pair(f: &Features, col: usize, a: usize, b: usize) -> usize {
    let c = &f.columns[col];
    usize::from(c.get(a).is_some()) + usize::from(c.get(b).is_some())
}

fn log_odds(lambda: f64) -> f64 {
    (lambda / (1.0 - lambda)).log2()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    pub name: String,
    /// Per level, "else" last.
    pub m: Vec<f64>,
    pub u: Vec<f64>,
    /// u of exact agreement among random pairs, kept when `u` was learned among candidate
    /// pairs (see `u_from_labels`): term-frequency adjustments stay relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tf_u: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("parameters are for domain `{found}`, not `{expected}`")]
    WrongDomain { expected: String, found: String },
    #[error("parameters do not fit comparison `{0}` of the rules (retrain with --train)")]
    Mismatch(String),
}

impl Params {
    /// Checks that saved parameters fit the current rules.
    pub fn check(&self, rules: &DomainRules) -> Result<(), ParamsError> {
        if self.domain != rules.domain {
            return Err(ParamsError::WrongDomain {
                expected: rules.domain.clone(),
                found: self.domain.clone(),
            });
        }
        let cs = &rules.matching.comparisons;
        if cs.len() != self.comparisons.len() {
            return Err(ParamsError::Mismatch(format!("{} comparisons", cs.len())));
        }
        for (c, p) in cs.iter().zip(&self.comparisons) {
            if c.name != p.name || p.m.len() != c.levels.len() + 1 || p.u.len() != p.m.len() {
                return Err(ParamsError::Mismatch(c.name.clone()));
            }
        }
        Ok(())
    }

    /// log2 Bayes factor of a level (0 for missing).
    pub fn weight(&self, comparison: usize, level: u8) -> f64 {
        if level == LEVEL_MISSING {
            return 0.0;
        }
        let c = &self.comparisons[comparison];
        (c.m[level as usize] / c.u[level as usize]).log2()
    }

    /// log2 of the prior odds.
    pub fn prior_weight(&self) -> f64 {
        log_odds(self.lambda)
    }
}

/// The level pattern of a pair: 4 bits per comparison.
pub fn pattern(cmps: &[BoundComparison], a: usize, b: usize) -> u64 {
    cmps.iter().enumerate().fold(0u64, |acc, (k, c)| {
        acc | (u64::from(c.level(a, b)) << (4 * k))
    })
}

/// The comparisons' value ids laid out record by record (row `r` holds `cmps[k].col.ids[r]`
/// at `k`), so comparing a pair reads two short rows instead of one id per column: at a
/// million records, cache misses are most of a comparison's cost.
pub struct IdRows {
    width: usize,
    ids: Vec<u32>,
}

impl IdRows {
    pub fn new(cmps: &[BoundComparison], n_records: usize) -> Self {
        let width = cmps.len().max(1);
        let mut ids = vec![0u32; n_records * width];
        ids.par_chunks_mut(width).enumerate().for_each(|(r, row)| {
            for (slot, c) in row.iter_mut().zip(cmps) {
                *slot = c.col.ids[r];
            }
        });
        Self { width, ids }
    }

    fn row(&self, r: usize) -> &[u32] {
        &self.ids[r * self.width..(r + 1) * self.width]
    }
}

/// `pattern` through record-major ids.
pub fn pattern_rows(cmps: &[BoundComparison], rows: &IdRows, a: usize, b: usize) -> u64 {
    let (ra, rb) = (rows.row(a), rows.row(b));
    cmps.iter().enumerate().fold(0u64, |acc, (k, c)| {
        acc | (u64::from(c.level_of_ids(ra[k], rb[k], a, b)) << (4 * k))
    })
}

pub fn level_at(pattern: u64, k: usize) -> u8 {
    ((pattern >> (4 * k)) & 0xf) as u8
}

/// SplitMix64: a tiny seeded generator for the u-sample (no dependency needed).
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// u-probabilities per comparison and level from `n_pairs` seeded random pairs.
pub fn estimate_u(
    cmps: &[BoundComparison],
    n_records: usize,
    n_pairs: usize,
    seed: u64,
) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = cmps.iter().map(|c| vec![1.0; c.n_levels()]).collect();
    if n_records < 2 {
        return normalize(counts);
    }
    let mut rng = SplitMix(seed ^ 0x05ee_d0f0_u64);
    let pairs: Vec<(usize, usize)> = (0..n_pairs)
        .map(|_| {
            let a = (rng.next() % n_records as u64) as usize;
            let mut b = (rng.next() % (n_records as u64 - 1)) as usize;
            if b >= a {
                b += 1;
            }
            (a, b)
        })
        .collect();
    let pats: Vec<u64> = pairs
        .par_iter()
        .map(|&(a, b)| pattern(cmps, a, b))
        .collect();
    for p in pats {
        for (k, c) in counts.iter_mut().enumerate() {
            let l = level_at(p, k);
            if l != LEVEL_MISSING {
                c[l as usize] += 1.0;
            }
        }
    }
    normalize(counts)
}

fn normalize(counts: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    counts
        .into_iter()
        .map(|c| {
            let s: f64 = c.iter().sum();
            c.iter()
                .map(|x| (x / s).clamp(FLOOR, 1.0 - FLOOR))
                .collect()
        })
        .collect()
}

/// The pairs one blocking rule produced (as pattern indices) and the comparisons on its key
/// attributes, which EM must not learn from those pairs: they agree by construction.
#[derive(Debug, Clone, Default)]
pub struct RuleSample {
    pub pairs: Vec<usize>,
    pub excluded: Vec<bool>,
}

fn grouped(patterns: impl Iterator<Item = u64>) -> Vec<(u64, f64)> {
    // BTreeMap keeps the iteration order (and so the float sums) fixed.
    let mut g: BTreeMap<u64, f64> = BTreeMap::new();
    for p in patterns {
        *g.entry(p).or_default() += 1.0;
    }
    g.into_iter().collect()
}

/// Start: matches mostly agree at the best level, decreasingly at worse ones.
fn initial_m(cmps: &[BoundComparison]) -> Vec<Vec<f64>> {
    cmps.iter()
        .map(|c| {
            let n = c.n_levels();
            let raw: Vec<f64> = (0..n)
                .map(|l| {
                    if l + 1 == n {
                        0.05
                    } else {
                        0.5f64.powi(l as i32 * 2)
                    }
                })
                .collect();
            let s: f64 = raw.iter().sum();
            raw.iter().map(|x| x / s).collect()
        })
        .collect()
}

/// Posterior match probability of a pattern, using only the comparisons in `used`.
fn posterior(
    p: u64,
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    lambda: f64,
    used: &[bool],
    groups: &[Option<usize>],
) -> f64 {
    let w: smallvec::SmallVec<[f64; 16]> = used
        .iter()
        .enumerate()
        .map(|(k, &on)| {
            let l = level_at(p, k);
            if on && l != LEVEL_MISSING {
                (m[k][l as usize] / u[k][l as usize]).log2()
            } else {
                0.0
            }
        })
        .collect();
    let total = (lambda / (1.0 - lambda)).log2() + combine(&w, groups);
    probability(total)
}

/// EM for m (and λ) on one set of grouped patterns, u fixed; returns (m, λ, iterations).
fn em(
    groups: &[(u64, f64)],
    mut m: Vec<Vec<f64>>,
    u: &[Vec<f64>],
    used: &[bool],
    cgroups: &[Option<usize>],
) -> (Vec<Vec<f64>>, f64, usize) {
    let mut lambda: f64 = 0.3;
    let mut it = 0;
    while it < EM_MAX_ITER {
        it += 1;
        let mut acc: Vec<Vec<f64>> = m.iter().map(|l| vec![FLOOR; l.len()]).collect();
        let (mut mass, mut total) = (0.0, 0.0);
        for &(p, n) in groups {
            let post = posterior(p, &m, u, lambda, used, cgroups);
            mass += post * n;
            total += n;
            for (k, a) in acc.iter_mut().enumerate() {
                let l = level_at(p, k);
                if used[k] && l != LEVEL_MISSING {
                    a[l as usize] += post * n;
                }
            }
        }
        let next: Vec<Vec<f64>> = normalize(acc)
            .into_iter()
            .zip(&m)
            .zip(used)
            .map(|((new, old), &on)| if on { new } else { old.clone() })
            .collect();
        let next_lambda = (mass / total.max(1.0)).clamp(FLOOR, 1.0 - FLOOR);
        let delta = m
            .iter()
            .flatten()
            .zip(next.iter().flatten())
            .map(|(a, b)| (a - b).abs())
            .fold((lambda - next_lambda).abs(), f64::max);
        m = next;
        lambda = next_lambda;
        if delta < EM_TOL {
            break;
        }
    }
    (m, lambda, it)
}

/// m-probabilities by EM, one run per blocking rule on the pairs that rule produced, with
/// the comparisons on that rule's keys left out (as Splink does); each comparison's m is
/// the mean over the rules that could learn it. u stays as sampled from random pairs.
/// Finally λ is fitted on all candidate pairs with m and u fixed.
pub fn train(
    rules: &DomainRules,
    cmps: &[BoundComparison],
    patterns: &[u64],
    samples: &[RuleSample],
    u: Vec<Vec<f64>>,
    labelled: &Labelled,
    population: &Population,
) -> Params {
    let (n_records, kinds) = (population.records, population.kinds.as_ref());
    let _span = tracing::info_span!("em", pairs = patterns.len(), rules = samples.len()).entered();
    let init = initial_m(cmps);
    let cgroups = groups_of(cmps);
    let mut sum: Vec<Vec<f64>> = init.iter().map(|l| vec![0.0; l.len()]).collect();
    let mut runs = vec![0usize; cmps.len()];
    let mut iterations = 0;
    for s in samples.iter().filter(|s| !s.pairs.is_empty()) {
        let used: Vec<bool> = s.excluded.iter().map(|e| !e).collect();
        let groups = grouped(s.pairs.iter().map(|&i| patterns[i]));
        let (m, _, it) = em(&groups, init.clone(), &u, &used, &cgroups);
        iterations += it;
        for k in (0..cmps.len()).filter(|&k| used[k]) {
            runs[k] += 1;
            for (acc, x) in sum[k].iter_mut().zip(&m[k]) {
                *acc += x;
            }
        }
    }
    let m: Vec<Vec<f64>> = sum
        .into_iter()
        .zip(init)
        .zip(&runs)
        .map(|((s, i), &n)| {
            if n == 0 {
                i
            } else {
                s.iter().map(|x| x / n as f64).collect()
            }
        })
        .collect();
    let m = m_from_labels(rules, cmps, m, patterns, &labelled.matches);
    let random_u = u.clone();
    let (u, within_candidates) = u_from_labels(rules, cmps, u, patterns, labelled);
    let fit = |pats: &mut dyn Iterator<Item = u64>| -> Option<f64> {
        let groups = grouped(pats);
        let n: f64 = groups.iter().map(|g| g.1).sum();
        (n > 0.0)
            .then(|| (fit_lambda(&groups, &m, &u, &cgroups), n))
            .map(|(lc, n)| {
                // With u learned among candidate pairs, the prior is the share of matches
                // among them; with u from random pairs, it is scaled to all pairs.
                lc * if within_candidates { 1.0 } else { n }
            })
    };
    let all_pairs = (n_records as f64) * (n_records as f64 - 1.0) / 2.0;
    let per_pair = |x: f64, all: f64| {
        let x = if within_candidates {
            x
        } else {
            x / all.max(1.0)
        };
        x.clamp(1e-12, 0.5)
    };
    let lambda = per_pair(fit(&mut patterns.iter().copied()).unwrap_or(0.0), all_pairs);
    let kind_prior = kinds.map(|k| KindPrior {
        attribute: k.attribute.clone(),
        lambda: [0u8, 1, 2].map(|s| {
            let mut pats = patterns
                .iter()
                .zip(&k.of_pair)
                .filter(|&(_, &x)| x == s)
                .map(|(&p, _)| p);
            match fit(&mut pats) {
                Some(x) => per_pair(x, k.all_pairs[s as usize]),
                None => lambda,
            }
        }),
    });
    tracing::info!(
        iterations,
        lambda,
        within_candidates,
        ?kind_prior,
        "em done"
    );
    Params {
        domain: rules.domain.clone(),
        lambda,
        comparisons: cmps
            .iter()
            .zip(m.into_iter().zip(u).zip(random_u))
            .map(|(c, ((m, u), ru))| ComparisonParams {
                name: c.spec.name.clone(),
                tf_u: (within_candidates && c.spec.term_frequency).then_some(ru[0]),
                m,
                u,
            })
            .collect(),
        em_iterations: iterations,
        vetoes: Vec::new(),
        kind_prior,
    }
}

/// λ among `groups` of candidate pairs by EM, m and u fixed.
fn fit_lambda(
    groups: &[(u64, f64)],
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    cgroups: &[Option<usize>],
) -> f64 {
    let every = vec![true; m.len()];
    let mut lambda: f64 = 0.3;
    for _ in 0..EM_MAX_ITER {
        let (mut mass, mut total) = (0.0, 0.0);
        for &(p, n) in groups {
            mass += posterior(p, m, u, lambda, &every, cgroups) * n;
            total += n;
        }
        let next = (mass / f64::max(total, 1.0)).clamp(FLOOR, 1.0 - FLOOR);
        let done = (next - lambda).abs() < EM_TOL;
        lambda = next;
        if done {
            break;
        }
    }
    lambda
}

/// The records the candidate pairs come from: how many, and their kinds when the rules
/// name a kind attribute. The prior scales from candidate pairs to all pairs with them.
#[derive(Debug, Clone)]
pub struct Population {
    pub records: usize,
    pub kinds: Option<KindStrata>,
}

/// Candidate pairs by kind, for a prior per kind of pair (`KindPrior`): per candidate pair
/// how many of its records carry `attribute`, and how many of all record pairs are of
/// each kind.
#[derive(Debug, Clone)]
pub struct KindStrata {
    pub attribute: String,
    pub of_pair: Vec<u8>,
    pub all_pairs: [f64; 3],
}

impl KindStrata {
    /// The strata of `pairs` when the rules name a kind attribute.
    pub fn of(rules: &DomainRules, f: &Features, pairs: &[(u32, u32)]) -> Option<Self> {
        let attribute = rules.matching.kind_attribute.clone()?;
        let col = rules.index_of(&attribute)?;
        let of_pair = pairs
            .par_iter()
            .map(|&(a, b)| kind_of_pair(f, col, a as usize, b as usize) as u8)
            .collect();
        let n = f.len() as f64;
        let k = (0..f.len())
            .filter(|&r| f.columns[col].get(r).is_some())
            .count() as f64;
        Some(Self {
            attribute,
            of_pair,
            all_pairs: [
                (n - k) * (n - k - 1.0) / 2.0,
                k * (n - k),
                k * (k - 1.0) / 2.0,
            ],
        })
    }
}

/// Fewest labelled pairs before their level counts replace EM's m-probabilities.
pub const MIN_LABELLED_PAIRS: usize = 100;

/// m-probabilities from labelled matches: candidate pairs a `then = "match"` override decides
/// (same valid GTIN), given as (pattern index, override attribute). Unsupervised EM cannot
/// tell near-identical non-matches (variants of one product series) from matches and
/// learns that matches often disagree on part numbers; pairs that an identifier proves
/// to match show how matches really look. Comparisons on the override's own attribute
/// keep EM's estimate, as do all when fewer than `MIN_LABELLED_PAIRS` pairs are labelled.
fn m_from_labels(
    rules: &DomainRules,
    cmps: &[BoundComparison],
    mut m: Vec<Vec<f64>>,
    patterns: &[u64],
    labelled: &[(usize, usize)],
) -> Vec<Vec<f64>> {
    if labelled.len() < MIN_LABELLED_PAIRS {
        return m;
    }
    for (k, c) in cmps.iter().enumerate() {
        let col = rules.index_of(&c.spec.attr);
        let mut counts = vec![0.5; c.n_levels()];
        let mut seen = 0usize;
        for &(i, ov_col) in labelled {
            let l = level_at(patterns[i], k);
            if Some(ov_col) == col || l == LEVEL_MISSING {
                continue;
            }
            counts[l as usize] += 1.0;
            seen += 1;
        }
        if seen >= MIN_LABELLED_PAIRS {
            m[k] = normalize(vec![counts]).remove(0);
        }
    }
    m
}

/// Candidate pairs that deterministic overrides decide, as (pattern index, the override's
/// attribute column): labels for learning m and u.
#[derive(Debug, Clone, Default)]
pub struct Labelled {
    /// Decided `match` (same valid GTIN).
    pub matches: Vec<(usize, usize)>,
    /// Decided `non_match` (different valid GTINs, different part numbers).
    pub non_matches: Vec<(usize, usize)>,
}

/// u-probabilities among candidate pairs, from labelled non-matches: candidate pairs an
/// override decides `non_match`, when labelled matches supply m as well (at least
/// `MIN_LABELLED_PAIRS` of each). Random pairs tell how often unrelated records agree;
/// blocking, however, selects records that look alike, and the non-matches among
/// candidates (variants of one product series: same brand, same series code, similar
/// names) agree far more often. Weighing a candidate pair with random-pair u counts every
/// such look-alike agreement as strong evidence, and the comparisons' agreements are not
/// independent. With both m and u learned among candidates the model is fitted to the
/// pairs it scores, and the prior becomes the share of matches among candidates.
/// Comparisons on a label's own attribute skip that label, as in `m_from_labels`; a
/// comparison with fewer than `MIN_LABELLED_PAIRS` usable labels keeps the random-pair u.
/// Returns the u and whether any comparison's u was replaced.
fn u_from_labels(
    rules: &DomainRules,
    cmps: &[BoundComparison],
    mut u: Vec<Vec<f64>>,
    patterns: &[u64],
    labelled: &Labelled,
) -> (Vec<Vec<f64>>, bool) {
    if labelled.matches.len() < MIN_LABELLED_PAIRS
        || labelled.non_matches.len() < MIN_LABELLED_PAIRS
    {
        return (u, false);
    }
    let mut replaced = false;
    for (k, c) in cmps.iter().enumerate() {
        let col = rules.index_of(&c.spec.attr);
        let mut counts = vec![0.5; c.n_levels()];
        let mut seen = 0usize;
        for &(i, ov_col) in &labelled.non_matches {
            let l = level_at(patterns[i], k);
            if Some(ov_col) == col || l == LEVEL_MISSING {
                continue;
            }
            counts[l as usize] += 1.0;
            seen += 1;
        }
        if seen >= MIN_LABELLED_PAIRS {
            u[k] = normalize(vec![counts]).remove(0);
            replaced = true;
        }
    }
    (u, replaced)
}

/// Term-frequency weight adjustment for comparison `k` at exact agreement, or 0.
pub fn tf_adjustment(params: &Params, cmp: &BoundComparison, k: usize, a: usize) -> f64 {
    if !cmp.spec.term_frequency {
        return 0.0;
    }
    let col = cmp.col;
    let id = col.ids[a];
    if id == crate::pipeline::features::MISSING || col.present == 0 {
        return 0.0;
    }
    let tf = (f64::from(col.counts[id as usize]) / f64::from(col.present)).max(FLOOR);
    let c = &params.comparisons[k];
    (c.tf_u.unwrap_or(c.u[0]) / tf).log2()
}

/// A resolved override: which attribute column, condition and outcome.
#[derive(Debug, Clone)]
pub struct BoundOverride {
    pub attr: String,
    pub col: usize,
    pub when: OverrideWhen,
    pub then: Decision,
    pub min_edits: usize,
    pub ignore_swaps: bool,
    pub hold: VetoHold,
}

pub fn bind_overrides(rules: &DomainRules) -> Vec<BoundOverride> {
    rules
        .matching
        .overrides
        .iter()
        .filter_map(|o| {
            Some(BoundOverride {
                attr: o.attr.clone(),
                col: rules.index_of(&o.attr)?,
                when: o.when,
                then: o.then,
                min_edits: o.min_edits,
                ignore_swaps: o.ignore_swaps,
                hold: o.hold,
            })
        })
        .collect()
}

/// The overrides that apply under `params`: every `match` rule, and the `non_match` rules
/// the data vouches for (`veto::holds`).
pub fn active_overrides(rules: &DomainRules, params: &Params) -> Vec<BoundOverride> {
    let max_m = rules.matching.veto_max_m;
    bind_overrides(rules)
        .into_iter()
        .filter(|o| o.then != Decision::NonMatch || crate::veto::holds(o, params, max_m))
        .collect()
}

/// The first override that fires for a pair, if any.
pub fn override_for<'o>(
    ovs: &'o [BoundOverride],
    f: &Features,
    a: usize,
    b: usize,
) -> Option<&'o BoundOverride> {
    ovs.iter().find(|o| trips(o, f, a, b))
}

/// Whether override `o`'s condition holds for records `a` and `b` (both values present).
pub fn trips(o: &BoundOverride, f: &Features, a: usize, b: usize) -> bool {
    let col = &f.columns[o.col];
    match (col.get(a), col.get(b)) {
        (Some(x), Some(y)) => match o.when {
            OverrideWhen::Equal => x.text == y.text,
            OverrideWhen::Different => {
                let slip = x.text == y.text
                    || damerau_within(&x.text, &y.text, o.min_edits.saturating_sub(1))
                    || (o.ignore_swaps && one_swap(&x.text, &y.text))
                    // Day and month swapped is one slip, however many digits it moves.
                    || x.date.zip(y.date).is_some_and(|(a, b)| day_month_swapped(a, b));
                !slip
            }
        },
        _ => false,
    }
}

/// Group index per comparison (`None` for comparisons that count on their own).
pub fn groups_of(cmps: &[BoundComparison]) -> Vec<Option<usize>> {
    let mut names: Vec<&str> = Vec::new();
    cmps.iter()
        .map(|c| {
            c.spec
                .group
                .as_deref()
                .map(|g| match names.iter().position(|n| *n == g) {
                    Some(i) => i,
                    None => {
                        names.push(g);
                        names.len() - 1
                    }
                })
        })
        .collect()
}

/// Sum of comparison weights where each group counts once: its largest positive weight,
/// or, when none is positive, its most negative one.
pub fn combine(weights: &[f64], groups: &[Option<usize>]) -> f64 {
    let mut total = 0.0;
    let mut best: smallvec::SmallVec<[(usize, f64, f64); 4]> = smallvec::SmallVec::new();
    for (&w, g) in weights.iter().zip(groups) {
        match g {
            None => total += w,
            Some(g) => match best.iter_mut().find(|b| b.0 == *g) {
                Some(b) => {
                    b.1 = b.1.max(w);
                    b.2 = b.2.min(w);
                }
                None => best.push((*g, w, w)),
            },
        }
    }
    total
        + best
            .iter()
            .map(|&(_, hi, lo)| if hi > 0.0 { hi } else { lo })
            .sum::<f64>()
}

/// Match weight to probability.
pub fn probability(weight: f64) -> f64 {
    1.0 / (1.0 + (-weight).exp2())
}
