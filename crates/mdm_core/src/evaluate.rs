//! Scoring a clustering against the truth: pairwise precision, recall and F1, and
//! B-cubed precision, recall and F1.
//!
//! Where it sits: after `cluster`, outside the production pipeline; `mdm evaluate` and the
//! benchmarks use it on generated data whose truth is known. Everything is computed from
//! the contingency table (records per true entity and cluster), never by enumerating
//! pairs, so a million records take a moment, not hours.

use ahash::AHashMap;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// Record -> id map with a fast hasher, for callers that read large truth and cluster
/// files.
pub type RecordMap<V> = HashMap<crate::RecordKey, V, ahash::RandomState>;

/// Precision, recall and their harmonic mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Scores {
    fn new(precision: f64, recall: f64) -> Self {
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Self {
            precision,
            recall,
            f1,
        }
    }
}

/// The result of comparing clusters with the truth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub records: u64,
    pub true_entities: u64,
    pub clusters: u64,
    /// Pairs of records that truly belong together.
    pub true_pairs: u64,
    /// Pairs of records put in the same cluster.
    pub predicted_pairs: u64,
    /// Pairs in the same cluster that truly belong together.
    pub correct_pairs: u64,
    /// Pairwise scores; precision is 1 when no pair was predicted, recall 1 when no pair
    /// exists (nothing claimed is wrong, nothing to find was missed).
    pub pairwise: Scores,
    pub bcubed: Scores,
}

/// Truth and clusters do not cover the same records.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalError<K> {
    /// Records in the truth that have no cluster.
    MissingFromClusters { count: usize, example: K },
    /// Records with a cluster that the truth does not know.
    MissingFromTruth { count: usize, example: K },
    /// Nothing to evaluate.
    Empty,
}

impl<K: fmt::Debug> fmt::Display for EvalError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::MissingFromClusters { count, example } => {
                write!(
                    f,
                    "{count} records of the truth have no cluster, e.g. {example:?}"
                )
            }
            EvalError::MissingFromTruth { count, example } => {
                write!(
                    f,
                    "{count} clustered records are not in the truth, e.g. {example:?}"
                )
            }
            EvalError::Empty => f.write_str("no records to evaluate"),
        }
    }
}

impl<K: fmt::Debug> std::error::Error for EvalError<K> {}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Compares `clusters` (record -> cluster id) with `truth` (record -> entity id). Both
/// must cover exactly the same records.
pub fn evaluate<K, E, C, S1, S2>(
    truth: &HashMap<K, E, S1>,
    clusters: &HashMap<K, C, S2>,
) -> Result<Evaluation, EvalError<K>>
where
    K: Eq + Hash + Clone + Ord,
    E: Eq + Hash,
    C: Eq + Hash,
    S1: BuildHasher,
    S2: BuildHasher,
{
    if truth.is_empty() && clusters.is_empty() {
        return Err(EvalError::Empty);
    }
    // Dense ids for entities and clusters, then one count per (entity, cluster) cell.
    let mut entity_ids: AHashMap<&E, u32> = AHashMap::new();
    let mut cluster_ids: AHashMap<&C, u32> = AHashMap::new();
    let mut cells: AHashMap<(u32, u32), u64> = AHashMap::new();
    let mut unclustered = 0;
    for (key, entity) in truth {
        let Some(cluster) = clusters.get(key) else {
            unclustered += 1;
            continue;
        };
        let next = entity_ids.len() as u32;
        let e = *entity_ids.entry(entity).or_insert(next);
        let next = cluster_ids.len() as u32;
        let c = *cluster_ids.entry(cluster).or_insert(next);
        *cells.entry((e, c)).or_insert(0) += 1;
    }
    // Keys are unique, so when every truth record has a cluster and the sizes agree,
    // no clustered record is missing from the truth: the second scan is rarely needed.
    if unclustered > 0 || truth.len() != clusters.len() {
        check_same_records(truth, clusters)?;
    }
    let mut entity_size = vec![0u64; entity_ids.len()];
    let mut cluster_size = vec![0u64; cluster_ids.len()];
    for (&(e, c), &n) in &cells {
        entity_size[e as usize] += n;
        cluster_size[c as usize] += n;
    }
    Ok(from_contingency(&cells, &entity_size, &cluster_size))
}

fn check_same_records<K, E, C, S1, S2>(
    truth: &HashMap<K, E, S1>,
    clusters: &HashMap<K, C, S2>,
) -> Result<(), EvalError<K>>
where
    K: Eq + Hash + Clone + Ord,
    S1: BuildHasher,
    S2: BuildHasher,
{
    // The smallest missing key is the example, so the message does not vary run to run.
    let missing = |from: &dyn Fn(&K) -> bool, keys: &mut dyn Iterator<Item = &K>| {
        let mut count = 0;
        let mut example: Option<&K> = None;
        for k in keys.filter(|k| !from(k)) {
            count += 1;
            if example.is_none_or(|e| k < e) {
                example = Some(k);
            }
        }
        example.map(|e| (count, e.clone()))
    };
    if let Some((count, example)) = missing(&|k| clusters.contains_key(k), &mut truth.keys()) {
        return Err(EvalError::MissingFromClusters { count, example });
    }
    if let Some((count, example)) = missing(&|k| truth.contains_key(k), &mut clusters.keys()) {
        return Err(EvalError::MissingFromTruth { count, example });
    }
    Ok(())
}

/// All scores from the contingency table: `cells[(entity, cluster)]` records in both.
fn from_contingency(
    cells: &AHashMap<(u32, u32), u64>,
    entity_size: &[u64],
    cluster_size: &[u64],
) -> Evaluation {
    let records: u64 = entity_size.iter().sum();
    let true_pairs: u64 = entity_size.iter().map(|&n| pairs(n)).sum();
    let predicted_pairs: u64 = cluster_size.iter().map(|&n| pairs(n)).sum();
    let correct_pairs: u64 = cells.values().map(|&n| pairs(n)).sum();
    let ratio = |num: u64, den: u64| {
        if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };
    // B-cubed: each record in cell (e, c) has precision n/|c| and recall n/|e|.
    let (mut b_precision, mut b_recall) = (0.0, 0.0);
    for (&(e, c), &n) in cells {
        let n2 = (n * n) as f64;
        b_precision += n2 / cluster_size[c as usize] as f64;
        b_recall += n2 / entity_size[e as usize] as f64;
    }
    Evaluation {
        records,
        true_entities: entity_size.len() as u64,
        clusters: cluster_size.len() as u64,
        true_pairs,
        predicted_pairs,
        correct_pairs,
        pairwise: Scores::new(
            ratio(correct_pairs, predicted_pairs),
            ratio(correct_pairs, true_pairs),
        ),
        bcubed: Scores::new(b_precision / records as f64, b_recall / records as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, u32)]) -> HashMap<&'static str, u32> {
        pairs.iter().copied().collect()
    }

    /// Truth: {a,b,c} {d,e} {f}.
    fn truth() -> HashMap<&'static str, u32> {
        map(&[("a", 1), ("b", 1), ("c", 1), ("d", 2), ("e", 2), ("f", 3)])
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn mixed_clustering() {
        // Clusters {a,b} {c,d,e} {f}: correct pairs ab, de = 2 of 4 predicted, 4 true.
        let clusters = map(&[
            ("a", 10),
            ("b", 10),
            ("c", 20),
            ("d", 20),
            ("e", 20),
            ("f", 30),
        ]);
        let ev = evaluate(&truth(), &clusters).unwrap();
        assert_eq!((ev.records, ev.true_entities, ev.clusters), (6, 3, 3));
        assert_eq!(
            (ev.true_pairs, ev.predicted_pairs, ev.correct_pairs),
            (4, 4, 2)
        );
        close(ev.pairwise.precision, 0.5);
        close(ev.pairwise.recall, 0.5);
        close(ev.pairwise.f1, 0.5);
        // B-cubed precision: a,b 2/2; c 1/3; d,e 2/3; f 1 -> (2 + 1/3 + 4/3 + 1) / 6.
        close(
            ev.bcubed.precision,
            (2.0 + 1.0 / 3.0 + 4.0 / 3.0 + 1.0) / 6.0,
        );
        // Recall: a,b 2/3; c 1/3; d,e 2/2; f 1 -> (4/3 + 1/3 + 2 + 1) / 6.
        close(ev.bcubed.recall, (4.0 / 3.0 + 1.0 / 3.0 + 2.0 + 1.0) / 6.0);
    }

    #[test]
    fn asymmetric_case() {
        // Clusters {a,b,c,d} {e} {f}: predicted 6 pairs, correct ab ac bc = 3; true 4.
        let clusters = map(&[("a", 1), ("b", 1), ("c", 1), ("d", 1), ("e", 2), ("f", 3)]);
        let ev = evaluate(&truth(), &clusters).unwrap();
        close(ev.pairwise.precision, 0.5);
        close(ev.pairwise.recall, 0.75);
        close(ev.pairwise.f1, 0.6);
        // Precision: a,b,c 3/4 each, d 1/4, e 1, f 1 -> (9/4 + 1/4 + 2) / 6 = 0.75.
        close(ev.bcubed.precision, 0.75);
        // Recall: a,b,c 1; d 1/2; e 1/2; f 1 -> 5/6.
        close(ev.bcubed.recall, 5.0 / 6.0);
        close(ev.bcubed.f1, 2.0 * 0.75 * (5.0 / 6.0) / (0.75 + 5.0 / 6.0));
    }

    #[test]
    fn all_in_one_cluster() {
        let clusters = map(&[("a", 7), ("b", 7), ("c", 7), ("d", 7), ("e", 7), ("f", 7)]);
        let ev = evaluate(&truth(), &clusters).unwrap();
        assert_eq!((ev.predicted_pairs, ev.correct_pairs), (15, 4));
        close(ev.pairwise.precision, 4.0 / 15.0);
        close(ev.pairwise.recall, 1.0);
        close(ev.bcubed.precision, (9.0 + 4.0 + 1.0) / 36.0);
        close(ev.bcubed.recall, 1.0);
    }

    #[test]
    fn all_singletons() {
        let clusters = map(&[("a", 1), ("b", 2), ("c", 3), ("d", 4), ("e", 5), ("f", 6)]);
        let ev = evaluate(&truth(), &clusters).unwrap();
        assert_eq!(ev.predicted_pairs, 0);
        close(ev.pairwise.precision, 1.0);
        close(ev.pairwise.recall, 0.0);
        close(ev.pairwise.f1, 0.0);
        close(ev.bcubed.precision, 1.0);
        close(ev.bcubed.recall, 0.5); // (3 * 1/3 + 2 * 1/2 + 1) / 6
    }

    #[test]
    fn perfect_clustering_scores_one() {
        let ev = evaluate(&truth(), &truth()).unwrap();
        assert_eq!(
            ev.pairwise,
            Scores {
                precision: 1.0,
                recall: 1.0,
                f1: 1.0
            }
        );
        assert_eq!(
            ev.bcubed,
            Scores {
                precision: 1.0,
                recall: 1.0,
                f1: 1.0
            }
        );
    }

    #[test]
    fn refuses_records_missing_from_either_side() {
        let mut clusters = truth();
        clusters.remove("c");
        clusters.remove("b");
        let err = evaluate(&truth(), &clusters).unwrap_err();
        assert_eq!(
            err,
            EvalError::MissingFromClusters {
                count: 2,
                example: "b"
            }
        );
        assert_eq!(
            err.to_string(),
            "2 records of the truth have no cluster, e.g. \"b\""
        );
        let mut clusters = truth();
        clusters.insert("z", 9);
        let err = evaluate(&truth(), &clusters).unwrap_err();
        assert_eq!(
            err,
            EvalError::MissingFromTruth {
                count: 1,
                example: "z"
            }
        );
        let empty: HashMap<&str, u32> = HashMap::new();
        assert_eq!(evaluate(&empty, &empty).unwrap_err(), EvalError::Empty);
    }

    #[test]
    fn large_clusters_do_not_overflow() {
        let n = 300_000u64; // n * (n - 1) does not fit 32 bits
        let truth: HashMap<u64, u8> = (0..n).map(|i| (i, 0)).collect();
        let clusters: HashMap<u64, u64> = (0..n).map(|i| (i, i % 2)).collect();
        let ev = evaluate(&truth, &clusters).unwrap();
        assert_eq!(ev.true_pairs, pairs(n));
        assert_eq!(ev.correct_pairs, 2 * pairs(n / 2));
        close(ev.pairwise.precision, 1.0);
    }
}
