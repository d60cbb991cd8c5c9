//! Source links, both ends resolved to golden IDs, become golden relationships.
//!
//! Pure and deterministic: the same links give the same relationships in any input order.
//! Links that land on the same pair of golden records collapse into one relationship whose
//! lineage names each of them (a merge carries both records' links; a split divides them
//! by the source records they name). In a `one_parent` type a child keeps one parent (the
//! best supported, by the type's survivorship) and an edge that would close a cycle is
//! refused. Edges that were stored before are taken first, so the link that closes a cycle
//! is the one refused, not an edge of the hierarchy readers already saw.

use super::{Cardinality, LinkStrategy, RelationshipType};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A current staged link with the golden IDs its ends have after the run (`None`: the end
/// has no golden record yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLink {
    pub system: String,
    /// `file` or `reference` (`LinkOrigin::as_str`).
    pub origin: String,
    pub from_source_id: String,
    pub to_source_id: String,
    pub version: i32,
    pub batch_id: i64,
    /// The system's trust rank (1 is the most trusted).
    pub trust_rank: i32,
    pub attributes: BTreeMap<String, String>,
    pub from_golden: Option<String>,
    pub to_golden: Option<String>,
}

/// One source link behind a golden relationship (its lineage).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LinkSource {
    pub system: String,
    pub origin: String,
    pub from_source_id: String,
    pub to_source_id: String,
    pub version: i32,
    pub batch_id: i64,
}

/// A relationship between two golden records, as a run decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenRelationship {
    pub from: String,
    pub to: String,
    pub attributes: BTreeMap<String, String>,
    /// Sorted by (system, origin, from, to).
    pub lineage: Vec<LinkSource>,
}

/// What [`resolve`] made of one type's links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Sorted by (from, to).
    pub relationships: Vec<GoldenRelationship>,
    /// Links with an end that has no golden record yet.
    pub waiting: u64,
    /// Links whose two ends are one golden record.
    pub self_links: u64,
    /// `one_parent` edges (parent, child) refused because they would close a cycle.
    pub cycles: Vec<(String, String)>,
    /// `one_parent` edges (parent, child) dropped because the child kept another parent.
    pub parent_conflicts: Vec<(String, String)>,
}

/// Resolves one type's links. `previous` holds the (from, to) pairs stored as active
/// before the run: they win ties and are checked for cycles first.
pub fn resolve(
    ty: &RelationshipType,
    links: Vec<ResolvedLink>,
    previous: &HashSet<(String, String)>,
) -> Resolution {
    let mut out = Resolution::default();
    let mut groups: BTreeMap<(String, String), Vec<ResolvedLink>> = BTreeMap::new();
    for link in links {
        match (&link.from_golden, &link.to_golden) {
            (Some(f), Some(t)) if f == t => out.self_links += 1,
            (Some(f), Some(t)) => groups.entry((f.clone(), t.clone())).or_default().push(link),
            _ => out.waiting += 1,
        }
    }
    let better = |a: &ResolvedLink, b: &ResolvedLink| compare(&ty.survivorship, a, b);
    let mut rels: Vec<(GoldenRelationship, ResolvedLink)> = groups
        .into_iter()
        .map(|((from, to), mut links)| {
            links.sort_by(&better);
            let best = links[0].clone();
            let rel = GoldenRelationship {
                from,
                to,
                attributes: survive_attributes(&links),
                lineage: lineage(&links),
            };
            (rel, best)
        })
        .collect();
    if ty.cardinality == Cardinality::OneParent {
        rels = one_parent(rels, previous, &better, &mut out);
    }
    out.relationships = rels.into_iter().map(|(r, _)| r).collect();
    out.relationships
        .sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    out
}

/// Orders links best first by the strategies, then by key (a total order).
fn compare(strategies: &[LinkStrategy], a: &ResolvedLink, b: &ResolvedLink) -> Ordering {
    for s in strategies {
        let o = match s {
            LinkStrategy::Trust => a.trust_rank.cmp(&b.trust_rank),
            LinkStrategy::Recent => b.batch_id.cmp(&a.batch_id),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    key(a).cmp(&key(b))
}

fn key(l: &ResolvedLink) -> (&str, &str, &str, &str) {
    (&l.system, &l.origin, &l.from_source_id, &l.to_source_id)
}

/// Per attribute, the value of the best link that has one (`links` sorted best first).
fn survive_attributes(links: &[ResolvedLink]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for l in links {
        for (k, v) in &l.attributes {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

fn lineage(links: &[ResolvedLink]) -> Vec<LinkSource> {
    let mut v: Vec<LinkSource> = links
        .iter()
        .map(|l| LinkSource {
            system: l.system.clone(),
            origin: l.origin.clone(),
            from_source_id: l.from_source_id.clone(),
            to_source_id: l.to_source_id.clone(),
            version: l.version,
            batch_id: l.batch_id,
        })
        .collect();
    v.sort();
    v
}

type Candidate = (GoldenRelationship, ResolvedLink);

/// One parent per child, then no cycles.
fn one_parent(
    rels: Vec<Candidate>,
    previous: &HashSet<(String, String)>,
    better: &impl Fn(&ResolvedLink, &ResolvedLink) -> Ordering,
    out: &mut Resolution,
) -> Vec<Candidate> {
    let was = |r: &GoldenRelationship| previous.contains(&(r.from.clone(), r.to.clone()));
    let mut by_child: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
    for c in rels {
        by_child.entry(c.0.to.clone()).or_default().push(c);
    }
    let mut kept: Vec<Candidate> = Vec::with_capacity(by_child.len());
    for (_, mut parents) in by_child {
        parents.sort_by(|a, b| {
            better(&a.1, &b.1)
                .then_with(|| was(&b.0).cmp(&was(&a.0)))
                .then_with(|| a.0.from.cmp(&b.0.from))
        });
        let mut it = parents.into_iter();
        kept.extend(it.next());
        out.parent_conflicts.extend(it.map(|(r, _)| (r.from, r.to)));
    }
    // Edges readers already saw first, each group by child: the edge refused is the new one.
    kept.sort_by(|a, b| was(&b.0).cmp(&was(&a.0)).then_with(|| a.0.to.cmp(&b.0.to)));
    let mut parent: HashMap<String, String> = HashMap::with_capacity(kept.len());
    let mut acyclic = Vec::with_capacity(kept.len());
    for c in kept {
        if reaches(&parent, &c.0.from, &c.0.to) {
            out.cycles.push((c.0.from, c.0.to));
        } else {
            parent.insert(c.0.to.clone(), c.0.from.clone());
            acyclic.push(c);
        }
    }
    out.cycles.sort();
    out.parent_conflicts.sort();
    acyclic
}

/// True when walking up from `start` through the accepted edges meets `target`. The
/// accepted edges form a forest, so the walk ends.
fn reaches(parent: &HashMap<String, String>, start: &str, target: &str) -> bool {
    let mut at = start;
    loop {
        if at == target {
            return true;
        }
        match parent.get(at) {
            Some(p) => at = p,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relationships::RelationshipRules;

    fn ty(cardinality: Cardinality) -> RelationshipType {
        RelationshipType {
            name: "parent_of".into(),
            from: "supplier".into(),
            to: "supplier".into(),
            cardinality,
            description: None,
            attributes: Default::default(),
            survivorship: vec![LinkStrategy::Trust, LinkStrategy::Recent],
            reference: None,
            derived: None,
        }
    }

    fn link(
        system: &str,
        from: &str,
        to: &str,
        gf: Option<&str>,
        gt: Option<&str>,
    ) -> ResolvedLink {
        ResolvedLink {
            system: system.into(),
            origin: "file".into(),
            from_source_id: from.into(),
            to_source_id: to.into(),
            version: 1,
            batch_id: 1,
            trust_rank: if system == "ERP" { 1 } else { 2 },
            attributes: BTreeMap::new(),
            from_golden: gf.map(String::from),
            to_golden: gt.map(String::from),
        }
    }

    fn pairs(r: &Resolution) -> Vec<(&str, &str)> {
        r.relationships
            .iter()
            .map(|r| (r.from.as_str(), r.to.as_str()))
            .collect()
    }

    #[test]
    fn links_on_one_pair_collapse_with_lineage_and_trusted_attributes() {
        let mut a = link("ERP", "1", "2", Some("G1"), Some("G2"));
        a.attributes.insert("share".into(), "51".into());
        let mut b = link("CRM", "x", "y", Some("G1"), Some("G2"));
        b.attributes.insert("share".into(), "49".into());
        b.attributes.insert("role".into(), "owner".into());
        b.batch_id = 9;
        let r = resolve(
            &ty(Cardinality::ManyToMany),
            vec![b, a, link("ERP", "3", "4", None, Some("G2"))],
            &HashSet::new(),
        );
        assert_eq!(pairs(&r), [("G1", "G2")]);
        let g = &r.relationships[0];
        assert_eq!(g.attributes["share"], "51", "trust first");
        assert_eq!(g.attributes["role"], "owner", "only CRM has one");
        let systems: Vec<&str> = g.lineage.iter().map(|l| l.system.as_str()).collect();
        assert_eq!(systems, ["CRM", "ERP"]);
        assert_eq!((r.waiting, r.self_links), (1, 0));
    }

    #[test]
    fn a_child_keeps_the_trusted_parent_and_a_cycle_is_refused() {
        let t = ty(Cardinality::OneParent);
        let links = vec![
            link("CRM", "p2", "c", Some("P2"), Some("C")),
            link("ERP", "p1", "c", Some("P1"), Some("C")),
            link("ERP", "a", "b", Some("A"), Some("B")),
            link("ERP", "b", "a2", Some("B"), Some("A")),
            link("ERP", "s", "s2", Some("S"), Some("S")),
        ];
        let previous: HashSet<_> = [("B".to_string(), "A".to_string())].into();
        let r = resolve(&t, links.clone(), &previous);
        assert_eq!(pairs(&r), [("B", "A"), ("P1", "C")]);
        assert_eq!(r.parent_conflicts, [("P2".into(), "C".into())]);
        assert_eq!(
            r.cycles,
            [("A".into(), "B".into())],
            "the new edge is refused"
        );
        assert_eq!(r.self_links, 1);
        // Without history the order of children decides: the larger child's edge goes.
        let r = resolve(&t, links, &HashSet::new());
        assert_eq!(r.cycles, [("A".into(), "B".into())]);
    }

    #[test]
    fn input_order_does_not_matter() {
        let t = ty(Cardinality::OneParent);
        let mut links: Vec<ResolvedLink> = (0..30)
            .map(|i| {
                let (f, c) = (format!("G{}", i % 7), format!("G{}", (i * 3 + 1) % 11));
                link(
                    if i % 2 == 0 { "ERP" } else { "CRM" },
                    &i.to_string(),
                    "t",
                    Some(&f),
                    Some(&c),
                )
            })
            .collect();
        let a = resolve(&t, links.clone(), &HashSet::new());
        links.reverse();
        let b = resolve(&t, links, &HashSet::new());
        assert_eq!(a, b);
        assert!(
            !a.cycles.is_empty() && !a.parent_conflicts.is_empty(),
            "{a:?}"
        );
    }

    #[test]
    fn rules_find_types_by_domain() {
        let mut rules = RelationshipRules::default();
        rules.types.push(ty(Cardinality::OneParent));
        assert!(rules.get("supplier", "parent_of").is_some());
        assert!(rules.get("customer", "parent_of").is_none());
        assert_eq!(rules.touching("supplier").count(), 1);
        assert_eq!(rules.touching("product").count(), 0);
    }
}
