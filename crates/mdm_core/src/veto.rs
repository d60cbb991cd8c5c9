//! After `score::train`: which deterministic non-match rules the data at hand vouches for.
//!
//! A rule such as "different national IDs => non-match" is only as good as the data: in
//! one source two records of a person never carry different IDs, and the rule keeps twins
//! and juniors apart that share everything else; in another, clerks mistype or swap IDs
//! and birth dates in several percent of duplicates, and the same rule throws away matches
//! that every other attribute supports.
//!
//! So each non-match override gets an m-probability like a comparison level: the share of
//! matches that trip it. Expectation-maximisation has already learned, for the comparison
//! on the override's attribute, how often matches land on each of its levels; among the
//! candidate pairs at a level, a share trips the rule. The rule's m is the sum over levels
//! of the level's m times that share. Where matches almost never disagree (m well under
//! `veto_max_m`), the rule holds as written; where they often do, it is lifted and the
//! difference is what its comparison weighs: evidence among the rest.
//!
//! (Judging the rule by the match probability of the pairs it trips does not work: the
//! look-alikes it exists for, a junior with his father's name at his father's address,
//! agree on everything else, so the independent-evidence model calls them matches.)

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
    /// Candidate pairs with both values present that the estimate rests on.
    pub support: f64,
}

/// Fewest candidate pairs before an estimate is trusted; with fewer the rule holds.
pub const MIN_SUPPORT: f64 = 100.0;

/// Estimates each non-match override's m on the candidate pairs (`pairs` with their level
/// `patterns`). An override with no comparison on its attribute gets none (it holds).
pub fn estimate(
    features: &Features,
    cmps: &[BoundComparison],
    ovs: &[BoundOverride],
    params: &Params,
    pairs: &[(u32, u32)],
    patterns: &[u64],
) -> Vec<VetoParams> {
    ovs.iter()
        .filter(|o| o.then == Decision::NonMatch)
        .filter_map(|o| {
            let k = cmps.iter().position(|c| c.spec.attr == o.attr)?;
            let levels = cmps[k].n_levels();
            let (seen, tripped) = pairs
                .par_iter()
                .zip(patterns.par_iter())
                .filter(|(&(a, b), _)| both_present(features, o, a, b))
                .fold(
                    || (vec![0u64; levels], vec![0u64; levels]),
                    |(mut seen, mut tripped), (&(a, b), &p)| {
                        let l = level_at(p, k);
                        if (l as usize) < levels {
                            seen[l as usize] += 1;
                            if score::trips(o, features, a as usize, b as usize) {
                                tripped[l as usize] += 1;
                            }
                        }
                        (seen, tripped)
                    },
                )
                .reduce(
                    || (vec![0u64; levels], vec![0u64; levels]),
                    |(s1, t1), (s2, t2)| (add(s1, &s2), add(t1, &t2)),
                );
            let m_levels = &params.comparisons[k].m;
            let m = (0..levels)
                .filter(|&l| seen[l] > 0)
                .map(|l| m_levels[l] * tripped[l] as f64 / seen[l] as f64)
                .sum();
            Some(VetoParams {
                attr: o.attr.clone(),
                m,
                support: seen.iter().sum::<u64>() as f64,
            })
        })
        .collect()
}

fn add(mut a: Vec<u64>, b: &[u64]) -> Vec<u64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
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
