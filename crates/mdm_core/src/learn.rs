//! After `score`, across runs: steward decisions as labelled pairs refine a trained model.
//!
//! Expectation-maximisation estimates m-probabilities without labels: each candidate pair
//! counts towards m with its posterior match probability. A steward's decision replaces
//! that guess for one pair by the truth (1 for a must-link, 0 for a cannot-link). `refine`
//! applies exactly that correction to the m-step — the expected match counts per level,
//! minus what the decided pairs contributed with their old probability, plus their labels —
//! so the decided pairs (a biased sample: the hard cases) weigh as much as they should and
//! no more. u-probabilities are measured on random pairs and need no labels.

use crate::compare::LEVEL_MISSING;
use crate::score::{level_at, Params};

/// A decided pair: its comparison levels (a `score::pattern`), the probability the model
/// gave it, and the steward's label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Labelled {
    pub pattern: u64,
    pub probability: f64,
    pub is_match: bool,
}

/// `params` with m corrected by the labels. `expected_matches` is the sum of match
/// probabilities over the candidate pairs the model was trained on (the m-step's
/// denominator).
pub fn refine(params: &Params, labelled: &[Labelled], expected_matches: f64) -> Params {
    let mut out = params.clone();
    for (k, c) in out.comparisons.iter_mut().enumerate() {
        c.m = corrected(&c.m, labelled, k, expected_matches);
    }
    out
}

fn corrected(m: &[f64], labelled: &[Labelled], k: usize, expected: f64) -> Vec<f64> {
    let mut counts: Vec<f64> = m.iter().map(|p| p * expected).collect();
    for l in labelled {
        let level = level_at(l.pattern, k);
        if level == LEVEL_MISSING || level as usize >= counts.len() {
            continue;
        }
        let label = if l.is_match { 1.0 } else { 0.0 };
        counts[level as usize] += label - l.probability;
    }
    // Keep every level possible: a probability of 0 would be an infinite weight.
    const FLOOR: f64 = 1e-6;
    let counts: Vec<f64> = counts.iter().map(|c| c.max(FLOOR)).collect();
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| c / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::ComparisonParams;
    use proptest::prelude::*;

    fn params() -> Params {
        Params {
            domain: "d".into(),
            lambda: 0.001,
            comparisons: vec![ComparisonParams {
                name: "email".into(),
                m: vec![0.7, 0.1, 0.2],
                u: vec![0.01, 0.04, 0.95],
                tf_u: None,
            }],
            em_iterations: 0,
            vetoes: Vec::new(),
            kind_prior: None,
        }
    }

    fn pair(level: u64, probability: f64, is_match: bool) -> Labelled {
        Labelled {
            pattern: level,
            probability,
            is_match,
        }
    }

    #[test]
    fn confirmed_matches_disagreeing_on_a_level_make_it_less_negative() {
        let p = params();
        // Stewards confirm matches whose e-mails differ ("else"), which the model doubted.
        let r = refine(&p, &vec![pair(2, 0.6, true); 30], 500.0);
        assert!(r.weight(0, 2) > p.weight(0, 2));
        assert_eq!(r.comparisons[0].u, p.comparisons[0].u, "u needs no labels");
        assert!((r.comparisons[0].m.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn rejected_pairs_agreeing_on_a_level_make_it_weaker() {
        let p = params();
        let r = refine(&p, &vec![pair(0, 0.7, false); 50], 500.0);
        assert!(r.weight(0, 0) < p.weight(0, 0));
    }

    #[test]
    fn labels_that_agree_with_the_model_change_little_and_many_pairs_dilute_them() {
        let p = params();
        let sure = refine(&p, &[pair(0, 0.999, true)], 500.0);
        assert!((sure.comparisons[0].m[0] - 0.7).abs() < 1e-5);
        let few = refine(&p, &vec![pair(2, 0.6, true); 10], 100.0);
        let many = refine(&p, &vec![pair(2, 0.6, true); 10], 10_000.0);
        assert!(few.weight(0, 2) - p.weight(0, 2) > many.weight(0, 2) - p.weight(0, 2));
    }

    #[test]
    fn missing_levels_teach_nothing() {
        let p = params();
        let r = refine(&p, &[pair(u64::from(LEVEL_MISSING), 0.5, true)], 500.0);
        assert_eq!(r, p);
    }

    proptest! {
        #[test]
        fn refined_probabilities_stay_distributions(
            labels in proptest::collection::vec((0u64..3, 0.0f64..1.0, any::<bool>()), 0..200),
            expected in 1.0f64..1e6,
        ) {
            let labelled: Vec<Labelled> = labels.iter().map(|&(l, p, m)| pair(l, p, m)).collect();
            let r = refine(&params(), &labelled, expected);
            for c in &r.comparisons {
                prop_assert!((c.m.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                prop_assert!(c.m.iter().all(|p| *p > 0.0 && *p <= 1.0));
            }
        }
    }
}
