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

use crate::pipeline::features::{Features, FrozenWords};
use crate::pipeline::{cluster_links, PairScorer, Prepared, ScoredPair};
use crate::rules::matching::Level;
use crate::rules::DomainRules;
use crate::score::{self, Params};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

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
    /// The words of `values`, counted once per loaded model (blocking-key columns).
    #[serde(skip)]
    frozen_words: FrozenWordsCache,
}

/// A lazily built [`FrozenWords`]; derived from the stats, so it never makes two models
/// differ.
#[derive(Debug, Clone, Default)]
struct FrozenWordsCache(std::sync::OnceLock<Arc<FrozenWords>>);

impl PartialEq for FrozenWordsCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ColumnStats {
    fn frozen_words(&self) -> Arc<FrozenWords> {
        self.frozen_words
            .0
            .get_or_init(|| {
                Arc::new(FrozenWords::new(
                    self.values.iter().map(|(t, &c)| (t.as_str(), c)),
                ))
            })
            .clone()
    }
}

impl Model {
    /// Freezes `params` with the frequencies of `features`.
    pub fn freeze(rules: &DomainRules, params: Params, features: &Features) -> Self {
        let columns = stat_columns(rules)
            .into_iter()
            .map(|(i, tf, words)| {
                let col = &features.columns[i];
                // A value or word the model lacks counts 1, so singletons need not be
                // stored (most e-mails and phones: the stored model shrinks tenfold) except
                // where blocking counts over every value of the column.
                let all = rare_word_blocking(rules, &rules.attributes[i].name);
                let values = if tf {
                    col.values
                        .iter()
                        .zip(&col.counts)
                        .filter(|&(_, &c)| all || c > 1)
                        .map(|(v, &c)| (v.text.to_string(), c))
                        .collect()
                } else {
                    HashMap::new()
                };
                let words = if words {
                    col.values
                        .iter()
                        .flat_map(|v| v.words.iter().copied())
                        .filter(|&(_, c)| c > 1)
                        .collect()
                } else {
                    HashMap::new()
                };
                ColumnStats {
                    attr: rules.attributes[i].name.clone(),
                    present: col.present,
                    values,
                    words,
                    frozen_words: FrozenWordsCache::default(),
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
            if term_frequency_column(rules, &stats.attr) {
                for (v, c) in col.values.iter().zip(col.counts.iter_mut()) {
                    *c = stats.values.get(&*v.text).copied().unwrap_or(1);
                }
            }
            // Blocking keys that count words over the column's values (rare words, model
            // codes) count the model's frozen vocabulary instead, whichever records were
            // read, so a small incremental run picks the keys a full run picks.
            if !stats.values.is_empty() && rare_word_blocking(rules, &stats.attr) {
                col.frozen_words = Some(stats.frozen_words());
            }
            if word_frequency_column(rules, &stats.attr) {
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

/// Whether the model freezes the value counts of `attr`: term-frequency comparisons and
/// rare-word blocking read them.
pub fn term_frequency_column(rules: &DomainRules, attr: &str) -> bool {
    rules
        .matching
        .comparisons
        .iter()
        .any(|c| c.attr == attr && c.term_frequency)
        || rare_word_blocking(rules, attr)
}

/// Whether the model freezes the word counts of `attr`: its `rare_word` levels read them.
pub fn word_frequency_column(rules: &DomainRules, attr: &str) -> bool {
    rules
        .matching
        .comparisons
        .iter()
        .filter(|c| c.attr == attr)
        .any(|c| c.levels.iter().any(|l| matches!(l, Level::RareWord(_))))
}

/// Whether a blocking key picks a rare word of `attr` (`attr:rare_word:N`) or a model code
/// of or for it (`attr:code:ID`, `name:code:attr`): such keys count words over the
/// column's values, so the values' frequencies are frozen too.
pub(crate) fn rare_word_blocking(rules: &DomainRules, attr: &str) -> bool {
    rules
        .matching
        .blocking
        .iter()
        .flat_map(|b| &b.keys)
        .any(|k| {
            let parts: Vec<&str> = k.split(':').collect();
            match parts.as_slice() {
                [a, "rare_word", ..] => *a == attr,
                [a, "code", id] => *a == attr || *id == attr,
                _ => false,
            }
        })
}

/// (column, needs value frequencies, needs word frequencies) for columns with statistics.
fn stat_columns(rules: &DomainRules) -> Vec<(usize, bool, bool)> {
    rules
        .attributes
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let tf = term_frequency_column(rules, &a.name);
            let words = word_frequency_column(rules, &a.name);
            (tf || words).then_some((i, tf, words))
        })
        .collect()
}

/// Scores the given candidate pairs; keeps review-or-better and overridden ones (as the
/// pipeline does), in the order of `pairs`.
pub fn score_pairs(p: &Prepared, params: &Params, pairs: &[(u32, u32)]) -> Vec<ScoredPair> {
    let _span = tracing::info_span!("score", pairs = pairs.len()).entered();
    let cmps = p.comparisons();
    let scorer = PairScorer::new(p, &cmps, params);
    pairs
        .par_iter()
        .filter_map(|&(a, b)| scorer.score(a, b, score::pattern(&cmps, a as usize, b as usize)))
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
    cluster_links(rules, n, scored, must_link, cannot_link).0
}
