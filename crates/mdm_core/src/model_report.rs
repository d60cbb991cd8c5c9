//! What a trained model believes about the data it was trained on, as plain data for
//! `mdm match --report` (which renders it): per comparison level the m- and u-probability
//! and the match weight; the learned non-match overrides and whether they hold; the
//! distribution of candidate pairs' match weights against the thresholds; candidate pairs
//! and expected matches per blocking rule; and the precision and recall the model expects
//! of its own decisions.
//!
//! Every "expected" figure is the model's belief, not a measurement: a pair counts as its
//! match probability of a true match (1 or 0 where an override decided it). Matches that no
//! blocking rule made a candidate pair are invisible here.

use crate::compare::level_label;
use crate::pipeline::CandidateScores;
use crate::rules::matching::{Decision, OverrideWhen, VetoHold};
use crate::rules::DomainRules;
use crate::score::{self, Params};
use crate::veto;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Width of a histogram bucket, in bits of match weight.
pub const BUCKET_BITS: f64 = 1.0;
/// Weights beyond ±this many bits share the outermost buckets.
pub const WEIGHT_CLAMP: f64 = 64.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    pub domain: String,
    pub records: usize,
    pub candidate_pairs: usize,
    /// Prior probability that two records match (`Params::lambda`) and its weight.
    pub lambda: f64,
    pub prior_weight: f64,
    /// The prior per kind of pair, when the rules name a kind attribute: it replaces
    /// `lambda` for the pairs of each kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind_prior: Option<crate::score::KindPrior>,
    pub em_iterations: usize,
    pub thresholds: Thresholds,
    pub comparisons: Vec<ComparisonReport>,
    pub overrides: Vec<OverrideReport>,
    pub histogram: Vec<Bucket>,
    pub blocking: Vec<BlockingReport>,
    pub decisions: Decisions,
    /// If every pair at or above the match threshold is merged.
    pub at_match_threshold: Estimate,
    /// If every pair at or above the review threshold were accepted as a match.
    pub at_review_threshold: Estimate,
}

/// The rules' thresholds as probabilities and as match weights `log2(p / (1 - p))`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub match_probability: f64,
    pub match_weight: f64,
    pub review_probability: f64,
    pub review_weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonReport {
    pub name: String,
    pub attr: String,
    /// Exact agreement's weight is adjusted by how common the value is.
    pub term_frequency: bool,
    /// In order of the rules, "else" last.
    pub levels: Vec<LevelReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelReport {
    pub level: String,
    /// Share of matches at this level.
    pub m: f64,
    /// Share of non-matches at this level.
    pub u: f64,
    /// `log2(m / u)`: bits of evidence for (positive) or against a match.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideReport {
    pub attr: String,
    /// `equal` or `different`.
    pub when: String,
    /// `match` or `non_match`.
    pub then: String,
    /// The rule says it always holds (`hold = "always"`).
    pub always: bool,
    /// Learned share of matches the rule would split (non-match overrides only).
    pub m: Option<f64>,
    /// Candidate pairs the learned `m` rests on.
    pub support: Option<f64>,
    /// Whether it decides pairs in this run (a non-match override lifted by the data is
    /// weighed as evidence instead).
    pub holds: bool,
    /// Candidate pairs it decided.
    pub pairs_decided: u64,
}

/// Candidate pairs whose match weight is in `[lo, hi)` (the outermost buckets also hold
/// the weights beyond them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub lo: f64,
    pub hi: f64,
    pub pairs: u64,
    /// Of them, pairs an override decided (counted at their model weight).
    pub overridden: u64,
    /// Sum of their match probabilities.
    pub expected_matches: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockingReport {
    pub rule: String,
    /// Candidate pairs the rule produced, and the sum of their match probabilities.
    pub pairs: u64,
    pub expected_matches: f64,
    /// Pairs no earlier rule produced, and the sum of their match probabilities.
    pub new_pairs: u64,
    pub expected_new_matches: f64,
    /// Pairs no other rule produced, and the sum of their match probabilities: what
    /// dropping the rule would lose.
    #[serde(default)]
    pub only_pairs: u64,
    #[serde(default)]
    pub expected_only_matches: f64,
    pub capped_blocks: usize,
    pub skipped_pairs: u64,
}

/// Candidate pairs by decision, and by whether the model or an override decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Decisions {
    /// Probability at or above the match threshold, no override.
    pub match_by_model: u64,
    pub match_by_override: u64,
    /// Probability at or above the review threshold, below the match threshold.
    pub review: u64,
    pub non_match_by_model: u64,
    pub non_match_by_override: u64,
}

/// The model's own estimate of precision and recall at a threshold, over candidate pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub threshold: f64,
    /// Pairs at or above the threshold.
    pub pairs: u64,
    /// Sum of their probabilities: the matches expected among them.
    pub expected_true_matches: f64,
    /// Sum of the probabilities of all candidate pairs.
    pub expected_matches: f64,
    /// `expected_true_matches / pairs` (1 when no pair is above).
    pub precision: f64,
    /// `expected_true_matches / expected_matches` (1 when nothing is expected).
    pub recall: f64,
}

/// Match weight of a probability: `log2(p / (1 - p))`.
pub fn weight_of(p: f64) -> f64 {
    (p / (1.0 - p)).log2()
}

/// Precision and recall the model expects if pairs with probability at or above
/// `threshold` are called matches: each pair is a match with its probability.
pub fn estimate(probabilities: impl IntoIterator<Item = f64>, threshold: f64) -> Estimate {
    let mut e = Estimate {
        threshold,
        ..Estimate::default()
    };
    for p in probabilities {
        e.expected_matches += p;
        if p >= threshold {
            e.pairs += 1;
            e.expected_true_matches += p;
        }
    }
    e.precision = if e.pairs == 0 {
        1.0
    } else {
        e.expected_true_matches / e.pairs as f64
    };
    e.recall = if e.expected_matches > 0.0 {
        e.expected_true_matches / e.expected_matches
    } else {
        1.0
    };
    e
}

/// The report on `params`, trained or reused on `records` records whose candidate pairs
/// `scores` holds (`pipeline::score_candidates`).
pub fn build(
    rules: &DomainRules,
    params: &Params,
    records: usize,
    scores: &CandidateScores,
) -> ModelReport {
    let m = &rules.matching;
    let pairs = &scores.pairs;
    let thresholds = Thresholds {
        match_probability: m.match_threshold,
        match_weight: weight_of(m.match_threshold),
        review_probability: m.review_threshold,
        review_weight: weight_of(m.review_threshold),
    };
    let comparisons = m
        .comparisons
        .iter()
        .zip(&params.comparisons)
        .map(|(spec, p)| ComparisonReport {
            name: spec.name.clone(),
            attr: spec.attr.clone(),
            term_frequency: spec.term_frequency,
            levels: p
                .m
                .iter()
                .zip(&p.u)
                .enumerate()
                .map(|(l, (&m, &u))| LevelReport {
                    level: level_label(spec, l as u8),
                    m,
                    u,
                    weight: (m / u).log2(),
                })
                .collect(),
        })
        .collect();

    // Overrides: the active ones (which `override_idx` indexes) are the bound ones that hold.
    let bound = score::bind_overrides(rules);
    let holds: Vec<bool> = bound
        .iter()
        .map(|o| o.then != Decision::NonMatch || veto::holds(o, params, m.veto_max_m))
        .collect();
    let active: Vec<usize> = (0..bound.len()).filter(|&i| holds[i]).collect();
    let mut decided = vec![0u64; bound.len()];
    for p in pairs {
        if let Some(i) = p.override_idx.and_then(|i| active.get(i as usize)) {
            decided[*i] += 1;
        }
    }
    let overrides = bound
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let learned = (o.then == Decision::NonMatch)
                .then(|| veto::learned(params, &o.attr))
                .flatten();
            OverrideReport {
                attr: o.attr.clone(),
                when: match o.when {
                    OverrideWhen::Equal => "equal",
                    OverrideWhen::Different => "different",
                }
                .into(),
                then: o.then.name().into(),
                always: o.hold == VetoHold::Always,
                m: learned.map(|v| v.m),
                support: learned.map(|v| v.support),
                holds: holds[i],
                pairs_decided: decided[i],
            }
        })
        .collect();

    let mut decisions = Decisions::default();
    for p in pairs {
        let by_override = p.override_idx.is_some();
        let n = match (p.decision, by_override) {
            (Decision::Match, false) => &mut decisions.match_by_model,
            (Decision::Match, true) => &mut decisions.match_by_override,
            (Decision::Review, _) => &mut decisions.review,
            (Decision::NonMatch, false) => &mut decisions.non_match_by_model,
            (Decision::NonMatch, true) => &mut decisions.non_match_by_override,
        };
        *n += 1;
    }

    let blocking = scores
        .rules
        .iter()
        .map(|(r, produced)| {
            // Folded from +0.0: an empty `sum` of floats is -0.0.
            let expected = produced
                .iter()
                .fold(0.0, |s, &i| s + pairs[i as usize].probability);
            BlockingReport {
                rule: r.rule.clone(),
                pairs: produced.len() as u64,
                expected_matches: expected,
                new_pairs: r.new_pairs,
                expected_new_matches: 0.0,
                only_pairs: 0,
                expected_only_matches: 0.0,
                capped_blocks: r.capped.len(),
                skipped_pairs: r.skipped_pairs,
            }
        })
        .collect::<Vec<_>>();
    let blocking = with_new_matches(blocking, scores);

    let probs = || pairs.iter().map(|p| p.probability);
    ModelReport {
        domain: rules.domain.clone(),
        records,
        candidate_pairs: pairs.len(),
        lambda: params.lambda,
        prior_weight: params.prior_weight(),
        kind_prior: params.kind_prior.clone(),
        em_iterations: params.em_iterations,
        thresholds,
        comparisons,
        overrides,
        histogram: histogram(
            pairs
                .iter()
                .map(|p| (p.weight, p.probability, p.override_idx.is_some())),
        ),
        blocking,
        decisions,
        at_match_threshold: estimate(probs(), m.match_threshold),
        at_review_threshold: estimate(probs(), m.review_threshold),
    }
}

/// Expected matches among the pairs each rule was first to produce, and among those it
/// alone produced.
fn with_new_matches(
    mut blocking: Vec<BlockingReport>,
    scores: &CandidateScores,
) -> Vec<BlockingReport> {
    let mut claimed = vec![false; scores.pairs.len()];
    let mut producers = vec![0u8; scores.pairs.len()];
    for (_, produced) in &scores.rules {
        for &i in produced {
            producers[i as usize] = producers[i as usize].saturating_add(1);
        }
    }
    for (b, (_, produced)) in blocking.iter_mut().zip(&scores.rules) {
        for &i in produced {
            let p = scores.pairs[i as usize].probability;
            if !std::mem::replace(&mut claimed[i as usize], true) {
                b.expected_new_matches += p;
            }
            if producers[i as usize] == 1 {
                b.only_pairs += 1;
                b.expected_only_matches += p;
            }
        }
    }
    blocking
}

/// `BUCKET_BITS`-wide buckets of `(weight, probability, overridden)`, from the lowest
/// weight's bucket to the highest's with none skipped.
pub fn histogram(pairs: impl IntoIterator<Item = (f64, f64, bool)>) -> Vec<Bucket> {
    let mut by: BTreeMap<i64, Bucket> = BTreeMap::new();
    for (w, p, overridden) in pairs {
        let w = if w.is_nan() { 0.0 } else { w };
        let k = (w.clamp(-WEIGHT_CLAMP, WEIGHT_CLAMP - BUCKET_BITS) / BUCKET_BITS).floor() as i64;
        let b = by.entry(k).or_insert_with(|| bucket(k));
        b.pairs += 1;
        b.overridden += u64::from(overridden);
        b.expected_matches += p;
    }
    let (Some(&lo), Some(&hi)) = (by.keys().next(), by.keys().next_back()) else {
        return Vec::new();
    };
    (lo..=hi)
        .map(|k| by.remove(&k).unwrap_or_else(|| bucket(k)))
        .collect()
}

fn bucket(k: i64) -> Bucket {
    Bucket {
        lo: k as f64 * BUCKET_BITS,
        hi: (k + 1) as f64 * BUCKET_BITS,
        pairs: 0,
        overridden: 0,
        expected_matches: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn precision_and_recall_are_expected_matches_above_over_pairs_and_over_all() {
        let e = estimate([0.99, 0.9, 0.6, 0.5, 0.2, 0.01], 0.9);
        assert_eq!(e.pairs, 2);
        assert!(close(e.expected_true_matches, 1.89));
        assert!(close(e.expected_matches, 3.2));
        assert!(close(e.precision, 1.89 / 2.0));
        assert!(close(e.recall, 1.89 / 3.2));
        // At a lower threshold: more pairs, lower precision, higher recall.
        let low = estimate([0.99, 0.9, 0.6, 0.5, 0.2, 0.01], 0.5);
        assert_eq!(low.pairs, 4);
        assert!(close(low.precision, 2.99 / 4.0));
        assert!(close(low.recall, 2.99 / 3.2));
        // Nothing above, nothing expected: neither divides by zero.
        let none = estimate([0.1, 0.0], 0.95);
        assert_eq!((none.pairs, none.precision), (0, 1.0));
        assert!(close(none.recall, 0.0));
        let empty = estimate([], 0.95);
        assert_eq!((empty.precision, empty.recall), (1.0, 1.0));
    }

    #[test]
    fn weights_of_thresholds() {
        assert!(close(weight_of(0.5), 0.0));
        assert!(close(weight_of(0.8), 2.0));
        assert!(close(score::probability(weight_of(0.95)), 0.95));
    }

    #[test]
    fn histogram_has_no_gaps_and_clamps_outliers() {
        let h = histogram([
            (-1.5, 0.1, false),
            (2.0, 0.8, true),
            (2.9, 0.9, false),
            (1e9, 1.0, false),
        ]);
        assert_eq!(h.first().map(|b| b.lo), Some(-2.0));
        assert_eq!(h.last().map(|b| b.hi), Some(WEIGHT_CLAMP));
        assert_eq!(h.iter().map(|b| b.pairs).sum::<u64>(), 4);
        assert!(h.windows(2).all(|w| w[0].hi == w[1].lo));
        let two = h.iter().find(|b| b.lo == 2.0).expect("bucket [2, 3)");
        assert_eq!((two.pairs, two.overridden), (2, 1));
        assert!(close(two.expected_matches, 1.7));
        assert!(histogram([]).is_empty());
    }
}
