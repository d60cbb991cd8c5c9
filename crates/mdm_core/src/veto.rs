//! After `score::train`: which deterministic non-match rules the data at hand vouches for.
//!
//! A rule such as "different national IDs => non-match" is only as good as the data: in
//! one source two records of a person never carry different IDs, and the rule keeps twins
//! and juniors apart that share everything else; in another, clerks mistype or swap IDs
//! and birth dates in several percent of duplicates, and the same rule throws away matches
//! that every other attribute supports.
//!
//! So each non-match override gets an m-probability like a comparison level: the share of
//! matches that trip it, measured on pairs that another identifier vouches for. A rule on
//! attribute X is judged on the candidate pairs that agree exactly on the attribute of
//! another non-match rule (the same birth date, for the national-ID rule) and disagree on
//! nothing else (no other comparison at its "else" level), both X values present: such
//! pairs are matches, bar a handful, so the share of them that trips the rule is the share
//! of matches it would split. Only where that share is shown, at 95% confidence, to exceed
//! `veto_max_m` is the rule lifted, and the difference is then what its comparison weighs:
//! evidence among the rest. A rule that no other identifier can vouch for (the domain's
//! only one, or too few such pairs) holds as written.
//!
//! Estimates that do not work, measured: pairs vouched for with every other comparison
//! exact (too few on small data: 60 pairs in FEBRL1); the match probability of the pairs
//! a rule trips (the look-alikes it exists for, a junior with his father's name at his
//! father's address, agree on everything else, so the independent-evidence model calls
//! them matches); and expectation-maximisation's m of the rule's comparison (at a million
//! records its households make EM believe one match in ten has another national ID).

use crate::compare::BoundComparison;
use crate::pipeline::features::Features;
use crate::rules::matching::{Decision, VetoHold};
use crate::score::{self, level_at, BoundOverride, Params};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A non-match override's learned m: how often matches trip it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VetoParams {
    /// The override's attribute, which names the rule.
    pub attr: String,
    /// Estimated share of matches with both values present that the rule would split.
    pub m: f64,
    /// Candidate pairs another identifier vouches for that the estimate rests on.
    pub support: f64,
}

/// Fewest vouched-for pairs before an estimate is looked at; with fewer the rule holds.
pub const MIN_SUPPORT: f64 = 20.0;

/// A rule is lifted only when the data shows, at this many standard errors (95%, one
/// side of a Wilson interval), that more than `veto_max_m` of the matches trip it: a
/// handful of look-alikes among a few hundred pairs (twins share a birth date) must not
/// lift a rule, nor may a small data set keep one its duplicates break.
const Z: f64 = 1.96;

/// Estimates each non-match override's m on the candidate pairs (`pairs` with their level
/// `patterns`), for the overrides another non-match override's attribute can vouch for.
pub fn estimate(
    features: &Features,
    cmps: &[BoundComparison],
    ovs: &[BoundOverride],
    pairs: &[(u32, u32)],
    patterns: &[u64],
) -> Vec<VetoParams> {
    let vetoes: Vec<&BoundOverride> = ovs
        .iter()
        .filter(|o| o.then == Decision::NonMatch)
        .collect();
    vetoes
        .iter()
        .filter_map(|o| {
            let anchors: Vec<usize> = vetoes
                .iter()
                .filter(|v| v.col != o.col)
                .map(|v| v.col)
                .collect();
            if anchors.is_empty() {
                return None;
            }
            // Comparisons whose disagreement disqualifies a pair: all but X's own.
            let judged: Vec<(usize, u8)> = cmps
                .iter()
                .enumerate()
                .filter(|(_, c)| c.spec.attr != o.attr)
                .map(|(k, c)| (k, (c.n_levels() - 1) as u8))
                .collect();
            let (seen, tripped) = pairs
                .par_iter()
                .zip(patterns.par_iter())
                .filter(|(&(a, b), &p)| {
                    both_present(features, o, a, b)
                        && judged.iter().all(|&(k, other)| level_at(p, k) != other)
                        && anchors.iter().any(|&col| same_value(features, col, a, b))
                })
                .map(|(&(a, b), _)| {
                    let trips = score::trips(o, features, a as usize, b as usize);
                    (1u64, u64::from(trips))
                })
                .reduce(|| (0, 0), |x, y| (x.0 + y.0, x.1 + y.1));
            Some(VetoParams {
                attr: o.attr.clone(),
                m: if seen > 0 {
                    tripped as f64 / seen as f64
                } else {
                    0.0
                },
                support: seen as f64,
            })
        })
        .collect()
}

fn same_value(f: &Features, col: usize, a: u32, b: u32) -> bool {
    let c = &f.columns[col];
    matches!((c.get(a as usize), c.get(b as usize)), (Some(x), Some(y)) if x.text == y.text)
}

fn both_present(f: &Features, o: &BoundOverride, a: u32, b: u32) -> bool {
    let col = &f.columns[o.col];
    col.get(a as usize).is_some() && col.get(b as usize).is_some()
}

/// Whether non-match override `o` holds under `params`: it always does by its rule; else
/// unless the lower confidence bound of its learned m exceeds `max_m` (too few pairs to
/// tell: it holds, as written).
pub fn holds(o: &BoundOverride, params: &Params, max_m: f64) -> bool {
    o.hold == VetoHold::Always
        || learned(params, &o.attr)
            .is_none_or(|v| v.support < MIN_SUPPORT || wilson_lower(v.m, v.support) <= max_m)
}

/// The lower end of the Wilson score interval of a share `p` observed over `n` trials.
fn wilson_lower(p: f64, n: f64) -> f64 {
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - spread) / (1.0 + z2 / n)).max(0.0)
}

/// The learned m of the non-match override on `attr`, if the model has one.
pub fn learned<'p>(params: &'p Params, attr: &str) -> Option<&'p VetoParams> {
    params.vetoes.iter().find(|v| v.attr == attr)
}

#[cfg(test)]
mod tests {
    use super::wilson_lower;

    #[test]
    fn wilson_lower_bound() {
        // 8 of 222 (3.6%): at least 1.8% at 95%; 4 of 197 (2.0%): at least 0.8%.
        assert!((wilson_lower(8.0 / 222.0, 222.0) - 0.0184).abs() < 0.001);
        assert!((wilson_lower(4.0 / 197.0, 197.0) - 0.0079).abs() < 0.001);
        assert_eq!(wilson_lower(0.0, 50.0), 0.0);
    }
}
