//! The last stage, after `survive`: stable canonical IDs for clusters across runs.
//!
//! Rules (also in ARCHITECTURE.md):
//! 1. A cluster keeps the ID of the previous golden record it shares the most source records
//!    with. Candidates (cluster, previous golden, shared records) are taken greedily, most
//!    shared records first; ties go to the older golden record (created in an earlier run),
//!    then the smaller ID, then the cluster whose smallest record key is smaller. Each
//!    previous ID goes to at most one cluster and each cluster takes at most one ID.
//! 2. So on a split the part with the most of the old records keeps the ID; the other parts
//!    get new IDs.
//! 3. A previous golden record whose ID no cluster took, but some of whose records are still
//!    staged, was merged: its ID becomes a redirect to the cluster holding most of its
//!    records (ties: that cluster's smallest record key). IDs are never reused.
//! 4. A previous golden record none of whose records is staged any more is deleted.
//!
//! Pure and deterministic: the same clusters and previous state give the same result,
//! whatever order the clusters come in. New IDs come from the caller (`derive_id` makes
//! them from the domain and the cluster's smallest record key, never from the run, so a
//! crashed run does not change the IDs of the next; `assign_new_ids` adds a counter when
//! that ID was ever used before, so IDs are never reused).

use crate::model::{GoldenId, RecordKey};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A golden record of the previous state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prior {
    pub id: GoldenId,
    /// The run that created it: older records win ties.
    pub created_run: i64,
}

/// What `identify` needs.
#[derive(Debug, Clone, Copy)]
pub struct IdentifyInput<'a> {
    /// Each cluster's member record indices. Records are indexed in record-key order, so a
    /// smaller index is a smaller key.
    pub clusters: &'a [Vec<u32>],
    /// Per record: the index (into `priors`) of the golden record it belonged to, if any.
    pub prior_of: &'a [Option<u32>],
    pub priors: &'a [Prior],
}

/// The identity of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterIdentity {
    pub id: GoldenId,
    /// The previous golden record whose ID it kept.
    pub kept: Option<u32>,
    /// Previous golden records retired into this one (merged), in ID order.
    pub absorbed: Vec<u32>,
    /// Previous golden records some of whose records it holds while their ID lives on in
    /// another cluster (it is a split-off part), in ID order.
    pub split_from: Vec<u32>,
    /// For a kept ID: some of its previous records are now in other clusters.
    pub lost_to_split: bool,
}

/// What became of a previous golden record whose ID no cluster kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Redirects to the ID of this cluster.
    MergedInto(usize),
    /// None of its records is staged any more.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub clusters: Vec<ClusterIdentity>,
    /// (prior index, fate) for every prior not kept, in prior-index order.
    pub retired: Vec<(u32, Fate)>,
}

/// Assigns IDs; `new_id(cluster)` is called once for each cluster that keeps no ID.
pub fn identify(input: IdentifyInput<'_>, mut new_id: impl FnMut(usize) -> GoldenId) -> Identity {
    let overlaps = overlaps(&input);
    let first: Vec<u32> = input
        .clusters
        .iter()
        .map(|m| m.iter().copied().min().unwrap_or(u32::MAX))
        .collect();
    let mut edges: Vec<(u32, usize, u32)> = overlaps
        .iter()
        .enumerate()
        .flat_map(|(c, ov)| ov.iter().map(move |(&p, &n)| (n, c, p)))
        .collect();
    let prior = |p: u32| &input.priors[p as usize];
    edges.sort_by(|x, y| {
        y.0.cmp(&x.0)
            .then(prior(x.2).created_run.cmp(&prior(y.2).created_run))
            .then(prior(x.2).id.cmp(&prior(y.2).id))
            .then(first[x.1].cmp(&first[y.1]))
    });
    let mut kept: Vec<Option<u32>> = vec![None; input.clusters.len()];
    let mut taken = vec![false; input.priors.len()];
    for &(_, c, p) in &edges {
        if kept[c].is_none() && !taken[p as usize] {
            kept[c] = Some(p);
            taken[p as usize] = true;
        }
    }
    let mut out: Vec<ClusterIdentity> = kept
        .iter()
        .enumerate()
        .map(|(c, &k)| ClusterIdentity {
            id: k.map_or_else(|| new_id(c), |p| prior(p).id),
            kept: k,
            absorbed: Vec::new(),
            split_from: Vec::new(),
            lost_to_split: false,
        })
        .collect();
    // Per prior: its holders (shared records, cluster) in `edges` order, i.e. most shared
    // first, then by smallest record key.
    let mut holders: Vec<Vec<usize>> = vec![Vec::new(); input.priors.len()];
    for &(_, c, p) in &edges {
        holders[p as usize].push(c);
    }
    let mut keeper: Vec<Option<usize>> = vec![None; input.priors.len()];
    for (c, k) in kept.iter().enumerate() {
        if let Some(p) = k {
            keeper[*p as usize] = Some(c);
        }
    }
    let mut retired = Vec::new();
    for (p, hs) in holders.iter().enumerate() {
        let p32 = p as u32;
        if let Some(k) = keeper[p] {
            for &c in hs.iter().filter(|&&c| c != k) {
                out[c].split_from.push(p32);
            }
            out[k].lost_to_split = hs.len() > 1;
            continue;
        }
        match hs.first() {
            Some(&c) => {
                out[c].absorbed.push(p32);
                retired.push((p32, Fate::MergedInto(c)));
            }
            None => retired.push((p32, Fate::Deleted)),
        }
    }
    for c in &mut out {
        c.absorbed.sort_by_key(|&p| prior(p).id);
        c.split_from.sort_by_key(|&p| prior(p).id);
    }
    Identity {
        clusters: out,
        retired,
    }
}

/// Per cluster: prior index -> shared records.
fn overlaps(input: &IdentifyInput<'_>) -> Vec<HashMap<u32, u32>> {
    input
        .clusters
        .iter()
        .map(|members| {
            let mut m: HashMap<u32, u32> = HashMap::new();
            for &r in members {
                if let Some(p) = input.prior_of[r as usize] {
                    *m.entry(p).or_default() += 1;
                }
            }
            m
        })
        .collect()
}

/// A new golden ID derived from the domain and the cluster's smallest record key, with a
/// disambiguator `n` (0 unless the ID of a smaller `n` was used before): the same content
/// makes the same ID whatever the run number (a crashed or interrupted run before it
/// changes nothing).
pub fn derive_id(domain: &str, first: &RecordKey, n: u32) -> GoldenId {
    let mut h = Sha256::new();
    for part in [
        domain.as_bytes(),
        first.system.as_str().as_bytes(),
        first.source_id.as_str().as_bytes(),
        &n.to_be_bytes(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    GoldenId(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

/// Gives every cluster that kept no previous ID (`kept == None`) its derived ID: `derive_id`
/// with the smallest `n` whose ID `used` does not report as existing (any status: active,
/// retired or deleted), so an ID is never reused, e.g. when the record that named a
/// retired or split-away golden record heads a new cluster. `used` gets a batch of
/// candidate IDs and answers the ones that exist; it is called once per round (a round per
/// counter value in use), not per cluster.
pub fn assign_new_ids<'k, E>(
    domain: &str,
    clusters: &mut [ClusterIdentity],
    first: impl Fn(usize) -> &'k RecordKey,
    mut used: impl FnMut(&[GoldenId]) -> Result<std::collections::HashSet<GoldenId>, E>,
) -> Result<(), E> {
    let mut pending: Vec<(usize, u32)> = clusters
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kept.is_none())
        .map(|(c, _)| (c, 0))
        .collect();
    let mut given = std::collections::HashSet::new();
    while !pending.is_empty() {
        for &(c, n) in &pending {
            clusters[c].id = derive_id(domain, first(c), n);
        }
        let ids: Vec<GoldenId> = pending.iter().map(|&(c, _)| clusters[c].id).collect();
        let taken = used(&ids)?;
        pending.retain(|&(c, _)| {
            let id = clusters[c].id;
            taken.contains(&id) || !given.insert(id)
        });
        for p in &mut pending {
            p.1 += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn gid(n: u128) -> GoldenId {
        GoldenId(uuid::Uuid::from_u128(n))
    }

    fn priors(n: usize) -> Vec<Prior> {
        (0..n)
            .map(|i| Prior {
                id: gid(100 + i as u128),
                created_run: 1,
            })
            .collect()
    }

    fn fresh() -> impl FnMut(usize) -> GoldenId {
        let mut next = 1000u128;
        move |_| {
            next += 1;
            gid(next)
        }
    }

    #[test]
    fn first_run_creates() {
        let clusters = vec![vec![0, 1], vec![2]];
        let id = identify(
            IdentifyInput {
                clusters: &clusters,
                prior_of: &[None, None, None],
                priors: &[],
            },
            fresh(),
        );
        assert_eq!(id.clusters[0].id, gid(1001));
        assert_eq!(id.clusters[1].id, gid(1002));
        assert!(id.retired.is_empty());
    }

    #[test]
    fn merge_keeps_the_larger_and_redirects_the_other() {
        // Prior 0 had records 0,1; prior 1 had 2,3,4. All now in one cluster.
        let clusters = vec![vec![0, 1, 2, 3, 4]];
        let prior_of = [Some(0), Some(0), Some(1), Some(1), Some(1)];
        let id = identify(
            IdentifyInput {
                clusters: &clusters,
                prior_of: &prior_of,
                priors: &priors(2),
            },
            fresh(),
        );
        assert_eq!(id.clusters[0].id, gid(101));
        assert_eq!(id.clusters[0].absorbed, vec![0]);
        assert_eq!(id.retired, vec![(0, Fate::MergedInto(0))]);
    }

    #[test]
    fn merge_tie_goes_to_the_older_record() {
        let clusters = vec![vec![0, 1]];
        let mut ps = priors(2);
        ps[0].created_run = 5; // prior 0 is younger despite the smaller ID
        let id = identify(
            IdentifyInput {
                clusters: &clusters,
                prior_of: &[Some(0), Some(1)],
                priors: &ps,
            },
            fresh(),
        );
        assert_eq!(id.clusters[0].id, gid(101));
        assert_eq!(id.retired, vec![(0, Fate::MergedInto(0))]);
    }

    #[test]
    fn split_largest_part_keeps_the_id() {
        // Prior 0 had 0..5; now {0,1} and {2,3,4}.
        let clusters = vec![vec![0, 1], vec![2, 3, 4]];
        let id = identify(
            IdentifyInput {
                clusters: &clusters,
                prior_of: &[Some(0); 5],
                priors: &priors(1),
            },
            fresh(),
        );
        assert_eq!(id.clusters[1].id, gid(100));
        assert!(id.clusters[1].lost_to_split);
        assert_eq!(id.clusters[0].id, gid(1001));
        assert_eq!(id.clusters[0].split_from, vec![0]);
        assert!(id.retired.is_empty());
    }

    #[test]
    fn deleted_when_no_record_is_left() {
        let clusters = vec![vec![0]];
        let id = identify(
            IdentifyInput {
                clusters: &clusters,
                prior_of: &[Some(1)],
                priors: &priors(2),
            },
            fresh(),
        );
        assert_eq!(id.retired, vec![(0, Fate::Deleted)]);
        assert_eq!(id.clusters[0].id, gid(101));
    }

    #[test]
    fn derived_ids_depend_on_content_not_run() {
        let k = |s: &str| RecordKey {
            system: crate::SystemName::parse("ERP").unwrap(),
            source_id: crate::SourceKey::parse(s).unwrap(),
        };
        assert_eq!(derive_id("c", &k("a"), 0), derive_id("c", &k("a"), 0));
        assert_ne!(derive_id("c", &k("a"), 0), derive_id("c", &k("a"), 1));
        assert_ne!(derive_id("c", &k("a"), 0), derive_id("c", &k("b"), 0));
        assert_ne!(derive_id("c", &k("a"), 0), derive_id("p", &k("a"), 0));
    }

    /// The same clusters get the same new IDs whatever run makes them (a first run after
    /// crashed runs gives what a clean first run gives), and an ID used before is skipped.
    #[test]
    fn new_ids_do_not_depend_on_the_run_and_are_never_reused() {
        let clusters = vec![vec![0, 1], vec![2], vec![3, 4]];
        let prior_of = vec![None; 5];
        let input = IdentifyInput {
            clusters: &clusters,
            prior_of: &prior_of,
            priors: &[],
        };
        let assign = |used: &std::collections::HashSet<GoldenId>| {
            let mut id = identify(input, |_| gid(0));
            assign_new_ids(
                "c",
                &mut id.clusters,
                |c| &KEYS[clusters[c][0] as usize],
                |ids| Ok::<_, ()>(ids.iter().copied().filter(|i| used.contains(i)).collect()),
            )
            .unwrap();
            id.clusters.iter().map(|c| c.id).collect::<Vec<_>>()
        };
        let clean = assign(&Default::default());
        assert_eq!(
            clean,
            vec![
                derive_id("c", &KEYS[0], 0),
                derive_id("c", &KEYS[2], 0),
                derive_id("c", &KEYS[3], 0)
            ]
        );
        // The plan of a run numbered 1 and of one numbered 7 are the same call: no run in it.
        assert_eq!(assign(&Default::default()), clean);
        // Record 2's first ID (and its second) was used by an earlier golden record.
        let used: std::collections::HashSet<GoldenId> =
            [derive_id("c", &KEYS[2], 0), derive_id("c", &KEYS[2], 1)].into();
        let again = assign(&used);
        assert_eq!(again[0], clean[0]);
        assert_eq!(again[1], derive_id("c", &KEYS[2], 2));
        assert_eq!(again[2], clean[2]);
    }

    static KEYS: std::sync::LazyLock<Vec<RecordKey>> =
        std::sync::LazyLock::new(|| (0..5).map(key).collect());

    /// A random partition of `n` records into clusters, from a label per record.
    fn partition(labels: &[u8]) -> Vec<Vec<u32>> {
        let mut by: std::collections::BTreeMap<u8, Vec<u32>> = Default::default();
        for (i, &l) in labels.iter().enumerate() {
            by.entry(l).or_default().push(i as u32);
        }
        by.into_values().collect()
    }

    proptest! {
        #[test]
        fn ids_are_stable_unique_and_order_independent(
            old in proptest::collection::vec(0u8..6, 1..30),
            new in proptest::collection::vec(0u8..6, 30),
            runs in proptest::collection::vec(1i64..3, 6),
        ) {
            let n = old.len();
            let new_clusters = partition(&new[..n]);
            let prior_clusters = partition(&old);
            let ps: Vec<Prior> = prior_clusters.iter().enumerate()
                .map(|(i, _)| Prior { id: gid(100 + i as u128), created_run: runs[i % runs.len()] })
                .collect();
            let mut prior_of = vec![None; n];
            for (p, ms) in prior_clusters.iter().enumerate() {
                for &m in ms { prior_of[m as usize] = Some(p as u32); }
            }
            let input = IdentifyInput { clusters: &new_clusters, prior_of: &prior_of, priors: &ps };
            let a = identify(input, fresh());
            // Identical input, identical IDs.
            prop_assert_eq!(identify(input, fresh()), a.clone());
            // Every prior is kept by exactly one cluster or retired; IDs are unique.
            let mut ids: Vec<GoldenId> = a.clusters.iter().map(|c| c.id).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), a.clusters.len());
            for p in 0..ps.len() as u32 {
                let k = a.clusters.iter().filter(|c| c.kept == Some(p)).count();
                let r = a.retired.iter().filter(|x| x.0 == p).count();
                prop_assert_eq!(k + r, 1);
            }
            // Cluster order does not matter: same member set, same ID.
            let mut rev = new_clusters.clone();
            rev.reverse();
            let b = identify(IdentifyInput { clusters: &rev, prior_of: &prior_of, priors: &ps }, |c| derive_id("t", &key(rev[c][0]), 0));
            let a2 = identify(input, |c| derive_id("t", &key(new_clusters[c][0]), 0));
            for (i, c) in a2.clusters.iter().enumerate() {
                prop_assert_eq!(c.id, b.clusters[new_clusters.len() - 1 - i].id);
            }
            // Re-running on its own output changes nothing.
            let again_priors: Vec<Prior> = a.clusters.iter().map(|c| Prior { id: c.id, created_run: 1 }).collect();
            let mut again_of = vec![None; n];
            for (c, ms) in new_clusters.iter().enumerate() {
                for &m in ms { again_of[m as usize] = Some(c as u32); }
            }
            let again = identify(IdentifyInput { clusters: &new_clusters, prior_of: &again_of, priors: &again_priors }, fresh());
            prop_assert!(again.retired.is_empty());
            for (x, y) in again.clusters.iter().zip(&a.clusters) {
                prop_assert_eq!(x.id, y.id);
            }
        }
    }

    fn key(i: u32) -> RecordKey {
        RecordKey {
            system: crate::SystemName::parse("S").unwrap(),
            source_id: crate::SourceKey::parse(&format!("{i:05}")).unwrap(),
        }
    }
}
