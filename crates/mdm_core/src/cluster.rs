//! Stage 5 of matching (after `score`): auto-match pairs become clusters.
//!
//! Plain connected components chain unrelated records together through one weak link
//! (A~B and B~C put A and C together though nothing links them). Here links are merged
//! one at a time, strongest first (ties by record index, so the result does not depend on
//! thread count or scoring order), into a union-find, and a merge of clusters X and Y is
//! refused unless
//!
//! 1. no cannot-link pair (a steward's decision, or a deterministic non-match override)
//!    would end up inside the merged cluster, and
//! 2. at least `min_link_share` of the |X|·|Y| cross pairs are linked at review level or
//!    better: average-linkage support, so a cluster grows only with evidence against most
//!    of its members, not against one.
//!
//! Must-link pairs (a steward's "same entity") join whole clusters: clustering runs
//! without them first, then the must-linked records are unioned and each cluster of the
//! first pass re-joins its members' new cluster, member by member, unless that would put
//! a cannot-link pair together. So a must-link between two records merges their golden
//! records instead of pulling one record out of its own. The result is a partition: every
//! record has exactly one cluster, labelled by its smallest record index.

use ahash::{AHashMap, AHashSet};

/// A link between two records, with the weight that orders merges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
}

/// What clustering needs besides the records.
#[derive(Debug, Clone, Default)]
pub struct ClusterInput {
    pub n: usize,
    /// Pairs to merge (auto-matches), any order.
    pub merges: Vec<Link>,
    /// Pairs linked at review level or better (support for merges; includes `merges`).
    pub support: Vec<(u32, u32)>,
    pub must_link: Vec<(u32, u32)>,
    pub cannot_link: Vec<(u32, u32)>,
    pub min_link_share: f64,
}

/// What clustering decided, beyond the labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStats {
    pub merges: usize,
    pub refused_cannot_link: usize,
    pub refused_weak_support: usize,
}

struct Clusters {
    parent: Vec<u32>,
    members: Vec<Vec<u32>>,
}

impl Clusters {
    fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            members: (0..n as u32).map(|i| vec![i]).collect(),
        }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    /// Joins two roots; the smaller index stays root.
    fn union(&mut self, a: u32, b: u32) {
        let (keep, gone) = if a < b { (a, b) } else { (b, a) };
        self.parent[gone as usize] = keep;
        let moved = std::mem::take(&mut self.members[gone as usize]);
        self.members[keep as usize].extend(moved);
    }
}

/// Clusters records; returns each record's cluster label (its smallest member's index).
pub fn cluster(input: &ClusterInput) -> (Vec<u32>, ClusterStats) {
    let _span =
        tracing::info_span!("cluster", records = input.n, links = input.merges.len()).entered();
    let mut cl = Clusters::new(input.n);
    let mut stats = ClusterStats::default();
    let support: AHashSet<(u32, u32)> = input.support.iter().map(|&(a, b)| ordered(a, b)).collect();
    let mut cannot: AHashMap<u32, Vec<u32>> = AHashMap::new();
    for &(a, b) in &input.cannot_link {
        cannot.entry(a).or_default().push(b);
        cannot.entry(b).or_default().push(a);
    }
    let mut merges = input.merges.clone();
    merges.sort_by(|x, y| {
        y.weight
            .total_cmp(&x.weight)
            .then(ordered(x.a, x.b).cmp(&ordered(y.a, y.b)))
    });
    for link in merges {
        let (ra, rb) = (cl.find(link.a), cl.find(link.b));
        if ra == rb {
            continue;
        }
        let (xs, ys) = (&cl.members[ra as usize], &cl.members[rb as usize]);
        let (small, other_root) = if xs.len() <= ys.len() {
            (xs.clone(), rb)
        } else {
            (ys.clone(), ra)
        };
        let other_len = cl.members[other_root as usize].len();
        if crosses_cannot_link(&mut cl, &cannot, &small, other_root) {
            stats.refused_cannot_link += 1;
            continue;
        }
        let needed = (input.min_link_share * (small.len() * other_len) as f64).ceil() as usize;
        if needed > 1 && cross_support(&cl, &support, &small, other_root) < needed {
            stats.refused_weak_support += 1;
            continue;
        }
        cl.union(ra, rb);
        stats.merges += 1;
    }
    if !input.must_link.is_empty() {
        cl = join_must_links(&mut cl, input, &cannot);
    }
    let labels = (0..input.n as u32).map(|i| cl.find(i)).collect();
    (labels, stats)
}

/// Unions the must-linked records, then lets every first-pass cluster follow its members,
/// member by member in index order, refusing only a cannot-link conflict.
fn join_must_links(
    first: &mut Clusters,
    input: &ClusterInput,
    cannot: &AHashMap<u32, Vec<u32>>,
) -> Clusters {
    let mut out = Clusters::new(input.n);
    let mut must = input.must_link.clone();
    must.sort_unstable();
    for (a, b) in must {
        let (ra, rb) = (out.find(a), out.find(b));
        if ra != rb {
            out.union(ra, rb);
        }
    }
    let mut groups: Vec<(u32, u32)> = (0..input.n as u32).map(|i| (first.find(i), i)).collect();
    groups.sort_unstable();
    for g in groups.chunk_by(|x, y| x.0 == y.0) {
        let head = g[0].1;
        for &(_, m) in &g[1..] {
            let (rh, rm) = (out.find(head), out.find(m));
            if rh == rm {
                continue;
            }
            let (small, other_root) =
                if out.members[rh as usize].len() <= out.members[rm as usize].len() {
                    (out.members[rh as usize].clone(), rm)
                } else {
                    (out.members[rm as usize].clone(), rh)
                };
            if !crosses_cannot_link(&mut out, cannot, &small, other_root) {
                out.union(rh, rm);
            }
        }
    }
    out
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

fn crosses_cannot_link(
    cl: &mut Clusters,
    cannot: &AHashMap<u32, Vec<u32>>,
    small: &[u32],
    other_root: u32,
) -> bool {
    small.iter().any(|m| {
        cannot
            .get(m)
            .is_some_and(|vs| vs.iter().any(|&v| cl.find(v) == other_root))
    })
}

fn cross_support(
    cl: &Clusters,
    support: &AHashSet<(u32, u32)>,
    small: &[u32],
    other_root: u32,
) -> usize {
    let others = &cl.members[other_root as usize];
    small
        .iter()
        .map(|&m| {
            others
                .iter()
                .filter(|&&o| support.contains(&ordered(m, o)))
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn link(a: u32, b: u32, weight: f64) -> Link {
        Link { a, b, weight }
    }

    #[test]
    fn weak_chain_is_not_followed() {
        // 0-1-2 strongly linked among themselves; 3 touches only 2.
        let merges = vec![
            link(0, 1, 10.0),
            link(1, 2, 9.0),
            link(0, 2, 9.0),
            link(2, 3, 5.0),
        ];
        let support = merges.iter().map(|l| (l.a, l.b)).collect();
        let input = ClusterInput {
            n: 4,
            merges,
            support,
            min_link_share: 0.5,
            ..Default::default()
        };
        let (labels, stats) = cluster(&input);
        assert_eq!(labels, vec![0, 0, 0, 3]);
        assert_eq!(stats.refused_weak_support, 1);
    }

    #[test]
    fn constraints_are_honoured() {
        let merges = vec![link(0, 1, 10.0), link(1, 2, 9.0)];
        let support = vec![(0, 1), (1, 2), (0, 2)];
        let input = ClusterInput {
            n: 5,
            merges,
            support,
            must_link: vec![(3, 4)],
            cannot_link: vec![(0, 2)],
            min_link_share: 0.5,
        };
        let (labels, stats) = cluster(&input);
        assert_eq!(labels, vec![0, 0, 2, 3, 3]);
        assert_eq!(stats.refused_cannot_link, 1);
    }

    #[test]
    fn a_must_link_merges_whole_clusters() {
        // {0,1} and {2,3} are clusters of their own; a steward says 1 and 2 are the same.
        let merges = vec![link(0, 1, 10.0), link(2, 3, 10.0)];
        let support = vec![(0, 1), (2, 3), (1, 2)];
        let input = ClusterInput {
            n: 5,
            merges,
            support,
            must_link: vec![(1, 2)],
            min_link_share: 0.6,
            ..Default::default()
        };
        assert_eq!(cluster(&input).0, vec![0, 0, 0, 0, 4]);
        // A cannot-link between members keeps just one of them out.
        let input = ClusterInput {
            cannot_link: vec![(0, 3)],
            ..input
        };
        assert_eq!(cluster(&input).0, vec![0, 0, 0, 3, 4]);
    }

    proptest! {
        #[test]
        fn result_is_a_partition_independent_of_link_order(
            edges in proptest::collection::vec((0u32..30, 0u32..30, 0u32..100), 0..80),
            seed in any::<u64>(),
        ) {
            let merges: Vec<Link> = edges.iter().filter(|e| e.0 != e.1).map(|e| link(e.0, e.1, f64::from(e.2))).collect();
            let support: Vec<(u32, u32)> = merges.iter().map(|l| (l.a, l.b)).collect();
            let input = ClusterInput { n: 30, merges: merges.clone(), support, min_link_share: 0.4, ..Default::default() };
            let (labels, _) = cluster(&input);
            // A partition: each label is a member of its own cluster and labels itself.
            for (i, &l) in labels.iter().enumerate() {
                prop_assert!(l as usize <= i);
                prop_assert_eq!(labels[l as usize], l);
            }
            let mut shuffled = input.clone();
            let k = (seed as usize) % (merges.len().max(1));
            shuffled.merges.rotate_left(k);
            shuffled.merges.reverse();
            prop_assert_eq!(cluster(&shuffled).0, labels);
        }
    }
}
