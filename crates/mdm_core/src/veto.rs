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
//! of matches it would split. Where that share is well under `veto_max_m`, the rule holds
//! as written; where matches often trip it, it is lifted and the difference is what its
//! comparison weighs: evidence among the rest. A rule that no other identifier can vouch
//! for (the domain's only one, or too few such pairs) holds as written.
//!
//! Two estimates that do not work, measured: the match probability of the pairs a rule
//! trips (the look-alikes it exists for, a junior with his father's name at his father's
//! address, agree on everything else, so the independent-evidence model calls them
//! matches), and expectation-maximisation's m of the rule's comparison (at a million
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
    /// The override's attribute (with its position among the overrides, the rule).
    pub attr: String,
    /// Estimated share of matches with both values present that the rule would split.
    pub m: f64,
    /// Candidate pairs another identifier vouches for that the estimate rests on.
    pub support: f64,
}

/// Fewest vouched-for pairs before an estimate is trusted; with fewer the rule holds.
pub const MIN_SUPPORT: f64 = 100.0;

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

/// Whether non-match override `o` holds under `params`: it always does by its rule, or its
/// learned m is at most `max_m`, or too few pairs were seen to tell (then as written).
pub fn holds(o: &BoundOverride, params: &Params, max_m: f64) -> bool {
    o.hold == VetoHold::Always
        || learned(params, &o.attr).is_none_or(|v| v.support < MIN_SUPPORT || v.m <= max_m)
}

/// The learned m of the non-match override on `attr`, if the model has one.
pub fn learned<'p>(params: &'p Params, attr: &str) -> Option<&'p VetoParams> {
    params.vetoes.iter().find(|v| v.attr == attr)
}
