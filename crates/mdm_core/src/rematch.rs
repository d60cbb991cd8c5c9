//! Matching for the nightly run (`score` and `cluster` with a frozen model), so that an
//! incremental run that re-scores only pairs touching changed records gives exactly what a
//! full run gives.
//!
//! A pair's score depends on its two records and on statistics of the whole data set: the
//! trained m/u parameters and the frequencies behind `term_frequency` adjustments and
//! `rare_word` levels. A [`Model`] freezes all three when it is trained (the first run, or
//! when the rules change); every later run, full or incremental, scores with it. Then a
//! pair of unchanged records keeps its score, and re-scoring only pairs that touch changed
//! records is exact. Values the model never saw count as seen once.

use crate::cluster::{self, ClusterInput, Link};
use crate::compare::{BoundComparison, LEVEL_MISSING};
use crate::explain::decide;
use crate::pipeline::features::{Features, Value};
use crate::pipeline::{Prepared, ScoredPair};
use crate::rules::matching::{Decision, Level};
use crate::rules::DomainRules;
use crate::score::{self, level_at, Params};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Trained parameters plus the frequency tables they were trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub params: Params,
    /// Per column that needs them (by attribute name): value frequencies.
    pub columns: Vec<ColumnStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    pub attr: String,
    /// Records with a value (term-frequency denominator).
    pub present: u32,
    /// Standardized value -> records carrying it (term-frequency columns).
    pub values: HashMap<String, u32>,
    /// Word hash -> records whose value contains the word (`rare_word` columns).
    pub words: HashMap<u64, u32>,
}

impl Model {
    /// Freezes `params` with the frequencies of `features`.
    pub fn freeze(rules: &DomainRules, params: Params, features: &Features) -> Self {
        let columns = stat_columns(rules)
            .into_iter()
            .map(|(i, tf, words)| {
                let col = &features.columns[i];
                let values = if tf {
                    col.values
                        .iter()
                        .zip(&col.counts)
                        .map(|(v, &c)| (v.text.to_string(), c))
                        .collect()
                } else {
                    HashMap::new()
                };
                let words = if words {
                    col.values
                        .iter()
                        .flat_map(|v| v.words.iter().copied())
                        .collect()
                } else {
                    HashMap::new()
                };
                ColumnStats {
                    attr: rules.attributes[i].name.clone(),
                    present: col.present,
                    values,
                    words,
                }
            })
            .collect();
        Self { params, columns }
    }

    /// Replaces the data-set statistics in `features` by the frozen ones.
    pub fn apply(&self, rules: &DomainRules, features: &mut Features) {
        for stats in &self.columns {
            let Some(i) = rules.index_of(&stats.attr) else {
                continue;
            };
            let col = &mut features.columns[i];
            col.present = stats.present;
            if !stats.values.is_empty() {
                for (v, c) in col.values.iter().zip(col.counts.iter_mut()) {
                    *c = stats.values.get(&*v.text).copied().unwrap_or(1);
                }
                // Values the model knows but these records lack: appended unreferenced, so
                // counts over the column's values (rare-word blocking keys) are the frozen
                // ones whichever records were read. Sorted, so the order is deterministic.
                let have: std::collections::HashSet<&str> =
                    col.values.iter().map(|v| &*v.text).collect();
                let mut missing: Vec<(&String, u32)> = stats
                    .values
                    .iter()
                    .filter(|(t, _)| !have.contains(t.as_str()))
                    .map(|(t, &c)| (t, c))
                    .collect();
                missing.sort_unstable();
                for (t, c) in missing {
                    col.values.push(Value {
                        text: t.as_str().into(),
                        ..Value::default()
                    });
                    col.counts.push(c);
                }
            }
            if !stats.words.is_empty() {
                col.values.par_iter_mut().for_each(|v| {
                    let words: Vec<(u64, u32)> = v
                        .words
                        .iter()
                        .map(|&(w, _)| (w, stats.words.get(&w).copied().unwrap_or(1)))
                        .collect();
                    v.words = words.into_boxed_slice();
                });
            }
        }
    }
}

/// Whether a blocking key picks a rare word of `attr` (`attr:rare_word:N`): such keys count
/// words over the column's values, so the values' frequencies are frozen too.
fn rare_word_blocking(rules: &DomainRules, attr: &str) -> bool {
    rules
        .matching
        .blocking
        .iter()
        .flat_map(|b| &b.keys)
        .any(|k| {
            let mut parts = k.split(':');
            parts.next() == Some(attr) && parts.next() == Some("rare_word")
        })
}

/// (column, needs value frequencies, needs word frequencies) for columns with statistics.
fn stat_columns(rules: &DomainRules) -> Vec<(usize, bool, bool)> {
    rules
        .attributes
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let cmps = || {
                rules
                    .matching
                    .comparisons
                    .iter()
                    .filter(|c| c.attr == a.name)
            };
            let tf = cmps().any(|c| c.term_frequency) || rare_word_blocking(rules, &a.name);
            let words = cmps().any(|c| c.levels.iter().any(|l| matches!(l, Level::RareWord(_))));
            (tf || words).then_some((i, tf, words))
        })
        .collect()
}

/// Scores the given candidate pairs; keeps review-or-better and overridden ones (as the
/// pipeline does), in the order of `pairs`.
pub fn score_pairs(p: &Prepared, params: &Params, pairs: &[(u32, u32)]) -> Vec<ScoredPair> {
    let _span = tracing::info_span!("score", pairs = pairs.len()).entered();
    let cmps = p.comparisons();
    let ovs = score::bind_overrides(p.rules);
    let m = &p.rules.matching;
    let thresholds = (m.match_threshold, m.review_threshold);
    let table = weight_table(&cmps, params);
    let tf_cmps: Vec<usize> = cmps
        .iter()
        .enumerate()
        .filter(|(_, c)| c.spec.term_frequency && c.spec.levels.first() == Some(&Level::Exact))
        .map(|(k, _)| k)
        .collect();
    let prior = params.prior_weight();
    let groups = score::groups_of(&cmps);
    pairs
        .par_iter()
        .filter_map(|&(a, b)| {
            let pat = score::pattern(&cmps, a as usize, b as usize);
            let mut ws: smallvec::SmallVec<[f64; 16]> = table
                .iter()
                .enumerate()
                .map(|(k, t)| t[level_at(pat, k) as usize])
                .collect();
            for &k in &tf_cmps {
                if level_at(pat, k) == 0 {
                    ws[k] += score::tf_adjustment(params, &cmps[k], k, a as usize);
                }
            }
            let w = prior + score::combine(&ws, &groups);
            let o = score::override_for(&ovs, &p.features, a as usize, b as usize);
            let prob = match o {
                Some(o) if o.then == Decision::Match => 1.0,
                Some(_) => 0.0,
                None => score::probability(w),
            };
            let decision = decide(prob, thresholds);
            let override_idx =
                o.map(|o| ovs.iter().position(|x| std::ptr::eq(x, o)).unwrap_or(0) as u16);
            (decision != Decision::NonMatch || override_idx.is_some()).then_some(ScoredPair {
                a,
                b,
                weight: w,
                probability: prob,
                decision,
                override_idx,
            })
        })
        .collect()
}

fn weight_table(cmps: &[BoundComparison], params: &Params) -> Vec<[f64; 16]> {
    (0..cmps.len())
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
        .collect()
}

/// Clusters `n` records from kept pairs and steward decisions (record indices), as the
/// pipeline does: overridden matches first, review pairs as support, non-matches as
/// cannot-links.
pub fn cluster(
    rules: &DomainRules,
    n: usize,
    scored: &[ScoredPair],
    must_link: Vec<(u32, u32)>,
    cannot_link: Vec<(u32, u32)>,
) -> Vec<u32> {
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
    cluster::cluster(&input).0
}
