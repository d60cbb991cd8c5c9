//! After `score`: why a pair got its probability, in a form a data steward can read — each
//! comparison's level and weight (log2 Bayes factor, with any term-frequency adjustment),
//! the prior, the total, the probability and any deterministic override (a waterfall, as in
//! Splink).

use crate::compare::{level_label, BoundComparison};
use crate::rules::matching::Decision;
use crate::score::{level_at, pattern, probability, tf_adjustment, BoundOverride, Params};
use serde::Serialize;

/// One comparison's contribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    pub comparison: String,
    pub level: String,
    pub weight: f64,
}

/// The full explanation of one pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairExplanation {
    pub terms: Vec<Term>,
    pub prior_weight: f64,
    pub total_weight: f64,
    pub probability: f64,
    /// The override that decided the pair, e.g. `gtin equal => match`.
    pub override_rule: Option<String>,
    pub decision: Decision,
}

impl PairExplanation {
    /// `family_name=exact(+7.20); given_name=else(-4.10); ...` for a CSV cell.
    pub fn summary(&self) -> String {
        let mut s: Vec<String> = self
            .terms
            .iter()
            .map(|t| format!("{}={}({:+.2})", t.comparison, t.level, t.weight))
            .collect();
        if let Some(o) = &self.override_rule {
            s.push(format!("override: {o}"));
        }
        s.join("; ")
    }
}

/// Explains records `a` and `b` under `params`, with the pair's prior weight
/// (`score::BoundPrior`).
pub fn explain(
    cmps: &[BoundComparison],
    params: &Params,
    prior_weight: f64,
    overrides: Option<&BoundOverride>,
    thresholds: (f64, f64),
    a: usize,
    b: usize,
) -> PairExplanation {
    let p = pattern(cmps, a, b);
    let terms: Vec<Term> = cmps
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let l = level_at(p, k);
            let tf = if l == 0
                && matches!(
                    c.spec.levels.first(),
                    Some(crate::rules::matching::Level::Exact)
                ) {
                tf_adjustment(params, c, k, a)
            } else {
                0.0
            };
            Term {
                comparison: c.spec.name.clone(),
                level: level_label(c.spec, l),
                weight: params.weight(k, l) + tf,
            }
        })
        .collect();
    let weights: Vec<f64> = terms.iter().map(|t| t.weight).collect();
    let total_weight =
        prior_weight + crate::score::combine(&weights, &crate::score::groups_of(cmps));
    let (prob, override_rule) = match overrides {
        Some(o) => (
            if o.then == Decision::Match { 1.0 } else { 0.0 },
            Some(format!("{} {:?} => {}", o.attr, o.when, o.then.name()).to_lowercase()),
        ),
        None => (probability(total_weight), None),
    };
    PairExplanation {
        terms,
        prior_weight,
        total_weight,
        probability: prob,
        override_rule,
        decision: decide(prob, thresholds),
    }
}

/// Probability to decision with (match, review) thresholds.
pub fn decide(prob: f64, (match_t, review_t): (f64, f64)) -> Decision {
    if prob >= match_t {
        Decision::Match
    } else if prob >= review_t {
        Decision::Review
    } else {
        Decision::NonMatch
    }
}
