//! Links between generated records, with their truth: which real-world entity is related to
//! which, and what each source system says about it in its own IDs.
//!
//! Built from records already generated ([`crate::generate_records`]), so the link worlds
//! reuse the record generators unchanged: a true relationship is drawn between two
//! entities, then every system that holds a record of both ends states it with probability
//! `STATED` in its own source IDs (at least one system does, so every true relationship is
//! observable). A golden relationship is then right when its two golden records are the
//! two true entities, which is what [`score`] counts: matching mistakes show up as
//! relationship mistakes, as they would in production.
//!
//! Shapes, as the relationship types in `match-rules/relationships.toml` expect them:
//! - [`contacts`]: each of some person customers works for one organization customer
//!   (`contact_of`, person -> organization);
//! - [`families`]: supplier corporate families, a forest of parents (`parent_of`); a parent
//!   always comes earlier in a fixed order, so the truth has no cycle, and each system states
//!   only its share of the tree, so a family is whole only across systems;
//! - [`supplies`]: suppliers deliver products (`supplies`), stated by each system holding
//!   both a supplier and a product record (an ERP and a PIM).

use crate::Generated;
use mdm_core::{DomainRules, SystemName};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Chance that a system holding both ends states a true relationship.
const STATED: f64 = 0.7;

/// A link as a source states it (a row of a links file).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SourceLink {
    pub system: SystemName,
    pub rel_type: &'static str,
    pub from_source_id: String,
    pub to_source_id: String,
}

/// Generated links of one type and the true relationships behind them (entity ids).
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub rel_type: &'static str,
    pub from_domain: &'static str,
    pub to_domain: &'static str,
    pub stated: Vec<SourceLink>,
    pub truth: BTreeSet<(u64, u64)>,
}

/// Each entity's first record (source ID) per system, in record order.
fn records_by_entity(g: &Generated) -> HashMap<u64, BTreeMap<SystemName, String>> {
    let mut out: HashMap<u64, BTreeMap<SystemName, String>> = HashMap::new();
    for (r, e) in g.records.iter().zip(&g.entities) {
        out.entry(*e)
            .or_default()
            .entry(r.key.system.clone())
            .or_insert_with(|| r.key.source_id.to_string());
    }
    out
}

/// Entities in a fixed order (sorted ids), each once.
fn entities(g: &Generated) -> Vec<u64> {
    let set: BTreeSet<u64> = g.entities.iter().copied().collect();
    set.into_iter().collect()
}

/// States each true pair in the systems holding both ends; pairs no system states are
/// dropped from the truth (nothing could find them).
fn state(
    mut links: Links,
    pairs: Vec<(u64, u64)>,
    from: &HashMap<u64, BTreeMap<SystemName, String>>,
    to: &HashMap<u64, BTreeMap<SystemName, String>>,
    rng: &mut ChaCha8Rng,
) -> Links {
    for (f, t) in pairs {
        let (Some(fr), Some(tr)) = (from.get(&f), to.get(&t)) else {
            continue;
        };
        let both: Vec<(&SystemName, &String, &String)> = fr
            .iter()
            .filter_map(|(s, fid)| tr.get(s).map(|tid| (s, fid, tid)))
            .filter(|(_, fid, tid)| fid != tid)
            .collect();
        if both.is_empty() {
            continue;
        }
        let mut chosen: Vec<bool> = both.iter().map(|_| rng.random_bool(STATED)).collect();
        if !chosen.contains(&true) {
            let i = rng.random_range(0..both.len());
            chosen[i] = true;
        }
        for ((s, fid, tid), _) in both.into_iter().zip(chosen).filter(|(_, c)| *c) {
            links.stated.push(SourceLink {
                system: s.clone(),
                rel_type: links.rel_type,
                from_source_id: fid.clone(),
                to_source_id: tid.clone(),
            });
        }
        links.truth.insert((f, t));
    }
    links.stated.sort();
    links
}

/// `contact_of`: a share of the person customers each work for one organization.
pub fn contacts(customers: &Generated, rules: &DomainRules, share: f64, seed: u64) -> Links {
    let org = rules
        .attributes
        .iter()
        .position(|a| a.name == "organization_name");
    let mut is_org: HashMap<u64, bool> = HashMap::new();
    for (r, e) in customers.records.iter().zip(&customers.entities) {
        let o = org.is_some_and(|i| r.values.get(i).is_some_and(|v| v.is_some()));
        *is_org.entry(*e).or_insert(false) |= o;
    }
    let all = entities(customers);
    let orgs: Vec<u64> = all.iter().copied().filter(|e| is_org[e]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = Vec::new();
    if !orgs.is_empty() {
        for &p in all.iter().filter(|e| !is_org[e]) {
            if rng.random_bool(share) {
                pairs.push((p, orgs[rng.random_range(0..orgs.len())]));
            }
        }
    }
    let by = records_by_entity(customers);
    let links = Links {
        rel_type: "contact_of",
        from_domain: "customer",
        to_domain: "customer",
        ..Links::default()
    };
    state(links, pairs, &by, &by, &mut rng)
}

/// `parent_of` among suppliers: a share of the suppliers have a parent, drawn among the
/// suppliers before them (a forest; no cycle).
pub fn families(suppliers: &Generated, share: f64, seed: u64) -> Links {
    let all = entities(suppliers);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = Vec::new();
    for (i, &child) in all.iter().enumerate().skip(1) {
        if rng.random_bool(share) {
            // Mostly a near parent, so families grow several levels deep.
            let lo = i.saturating_sub(20);
            pairs.push((all[rng.random_range(lo..i)], child));
        }
    }
    let by = records_by_entity(suppliers);
    let links = Links {
        rel_type: "parent_of",
        from_domain: "supplier",
        to_domain: "supplier",
        ..Links::default()
    };
    state(links, pairs, &by, &by, &mut rng)
}

/// `supplies`: each product has one to three suppliers.
pub fn supplies(suppliers: &Generated, products: &Generated, seed: u64) -> Links {
    let sup = entities(suppliers);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = BTreeSet::new();
    if !sup.is_empty() {
        for p in entities(products) {
            for _ in 0..rng.random_range(1..=3) {
                pairs.insert((sup[rng.random_range(0..sup.len())], p));
            }
        }
    }
    let links = Links {
        rel_type: "supplies",
        from_domain: "supplier",
        to_domain: "product",
        ..Links::default()
    };
    let (from, to) = (records_by_entity(suppliers), records_by_entity(products));
    state(links, pairs.into_iter().collect(), &from, &to, &mut rng)
}

/// Writes `DIR/links_<from domain>_<system>.csv` (`type,from_source_id,to_source_id`) per
/// system that states links of these sets; returns (domain, system, file).
pub fn write_links(sets: &[&Links], dir: &Path) -> std::io::Result<Vec<(String, String, PathBuf)>> {
    let mut by_file: BTreeMap<(String, String), Vec<&SourceLink>> = BTreeMap::new();
    for set in sets {
        for l in &set.stated {
            by_file
                .entry((set.from_domain.to_string(), l.system.to_string()))
                .or_default()
                .push(l);
        }
    }
    let mut out = Vec::new();
    for ((domain, system), links) in by_file {
        let path = dir.join(format!("links_{domain}_{system}.csv"));
        let mut w = csv::Writer::from_path(&path)?;
        w.write_record(["type", "from_source_id", "to_source_id"])?;
        for l in links {
            w.write_record([l.rel_type, &l.from_source_id, &l.to_source_id])?;
        }
        w.flush()?;
        out.push((domain, system, path));
    }
    Ok(out)
}

/// Writes the true relationships behind `sets` to `path`
/// (`type,from_domain,from_entity_id,to_domain,to_entity_id`; entity ids as in each
/// domain's `truth.csv`).
pub fn write_truth(sets: &[&Links], path: &Path) -> std::io::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "type",
        "from_domain",
        "from_entity_id",
        "to_domain",
        "to_entity_id",
    ])?;
    for set in sets {
        for (f, t) in &set.truth {
            w.write_record([
                set.rel_type,
                set.from_domain,
                &f.to_string(),
                set.to_domain,
                &t.to_string(),
            ])?;
        }
    }
    w.flush()
}

/// The true household pairs (a < b): entities that share a home (`Generated::households`).
pub fn household_pairs(households: &BTreeMap<u64, u64>) -> BTreeSet<(u64, u64)> {
    let mut by: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (e, h) in households {
        by.entry(*h).or_default().push(*e);
    }
    let mut out = BTreeSet::new();
    for members in by.values() {
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                out.insert((*a.min(b), *a.max(b)));
            }
        }
    }
    out
}

/// Precision and recall of derived groups against true household pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupScore {
    /// Entity pairs the groups put together (two golden records standing for one entity,
    /// a missed match, are not a household pair and are counted apart).
    pub found: BTreeSet<(u64, u64)>,
    pub correct: usize,
    pub truth: usize,
    pub recovered: usize,
    /// Pairs of golden records of one group standing for the same entity.
    pub same_entity: usize,
}

impl GroupScore {
    pub fn precision(&self) -> f64 {
        self.correct as f64 / self.found.len().max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.recovered as f64 / self.truth.max(1) as f64
    }
}

/// Scores groups given as (member golden ID, group ID): every pair of members of a group is
/// a found pair of the entities they stand for (`entities`: golden ID -> its records'
/// entities; a golden record stands for its majority entity).
pub fn score_groups(
    truth: &BTreeSet<(u64, u64)>,
    memberships: &[(String, String)],
    entities: &HashMap<String, Vec<u64>>,
) -> GroupScore {
    let mut groups: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (m, g) in memberships {
        if let Some(e) = main_entity(entities, m) {
            groups.entry(g.as_str()).or_default().push(e);
        }
    }
    let mut s = GroupScore {
        truth: truth.len(),
        ..GroupScore::default()
    };
    for members in groups.values() {
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                if a == b {
                    s.same_entity += 1;
                } else {
                    s.found.insert((*a.min(b), *a.max(b)));
                }
            }
        }
    }
    s.correct = s.found.iter().filter(|p| truth.contains(p)).count();
    s.recovered = s.correct;
    s
}

/// The entity most of golden record `g`'s records belong to (ties: the smallest id).
pub fn main_entity(m: &HashMap<String, Vec<u64>>, g: &str) -> Option<u64> {
    let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
    for e in m.get(g)? {
        *counts.entry(*e).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(e, n)| (*n, std::cmp::Reverse(*e)))
        .map(|(e, _)| e)
}

/// Precision and recall of golden relationships against the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkScore {
    pub found: usize,
    pub correct: usize,
    pub truth: usize,
    pub recovered: usize,
}

impl LinkScore {
    pub fn precision(&self) -> f64 {
        self.correct as f64 / self.found.max(1) as f64
    }
    pub fn recall(&self) -> f64 {
        self.recovered as f64 / self.truth.max(1) as f64
    }
}

/// Scores golden relationships (from golden ID, to golden ID) of one type. A golden record
/// stands for the entity most of its records belong to (`entity_of` gives each golden ID's
/// records' entities); a relationship is correct when its two entities are a true pair, and
/// a true pair is recovered when some relationship joins golden records standing for it.
pub fn score(
    truth: &BTreeSet<(u64, u64)>,
    found: &[(String, String)],
    from_entities: &HashMap<String, Vec<u64>>,
    to_entities: &HashMap<String, Vec<u64>>,
) -> LinkScore {
    let main = main_entity;
    let mut correct = 0;
    let mut recovered = BTreeSet::new();
    for (f, t) in found {
        if let (Some(ef), Some(et)) = (main(from_entities, f), main(to_entities, t)) {
            if truth.contains(&(ef, et)) {
                correct += 1;
                recovered.insert((ef, et));
            }
        }
    }
    LinkScore {
        found: found.len(),
        correct,
        truth: truth.len(),
        recovered: recovered.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Domain, GenConfig};

    fn generated(domain: Domain, systems: &[&str], n: usize) -> Generated {
        let rules = mdm_rules::load_domain(None, domain.name()).unwrap();
        let mut cfg = GenConfig::new(domain, n, 7);
        cfg.systems = systems
            .iter()
            .map(|s| SystemName::parse(s).unwrap())
            .collect();
        crate::generate_records(&cfg, &rules).unwrap()
    }

    #[test]
    fn families_are_forests_stated_across_systems() {
        let g = generated(Domain::Supplier, &["ERP", "PIM"], 300);
        let f = families(&g, 0.5, 1);
        assert!(f.truth.len() > 50, "{}", f.truth.len());
        let mut parents: HashMap<u64, u64> = HashMap::new();
        for &(p, c) in &f.truth {
            assert!(p < c, "a parent comes first: no cycle");
            assert!(parents.insert(c, p).is_none(), "one parent per child");
        }
        let systems: BTreeSet<&str> = f.stated.iter().map(|l| l.system.as_str()).collect();
        assert_eq!(systems.len(), 2, "both systems state parts of the tree");
        // Same seed, same links.
        assert_eq!(families(&g, 0.5, 1).stated, f.stated);
    }

    #[test]
    fn households_share_a_home_and_score_by_entity_pairs() {
        let g = generated(Domain::Customer, &["ERP", "CRM"], 2000);
        let pairs = household_pairs(&g.households);
        assert!(pairs.len() > 20, "{}", pairs.len());
        // Members of one household live at one address in the truth: their records share a
        // postcode at least once.
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        let pc = rules.index_of("postcode").unwrap();
        let mut codes: HashMap<u64, BTreeSet<String>> = HashMap::new();
        for (r, e) in g.records.iter().zip(&g.entities) {
            if let Some(Some(v)) = r.values.get(pc) {
                codes.entry(*e).or_default().insert(v.replace(' ', ""));
            }
        }
        let sharing = pairs
            .iter()
            .filter(|(a, b)| match (codes.get(a), codes.get(b)) {
                (Some(x), Some(y)) => !x.is_disjoint(y),
                _ => false,
            })
            .count();
        assert!(
            sharing * 10 >= pairs.len() * 8,
            "{sharing} of {}",
            pairs.len()
        );
        let ents: HashMap<String, Vec<u64>> = [("a", 1), ("b", 2), ("c", 3), ("c2", 3)]
            .iter()
            .map(|(g, e)| (g.to_string(), vec![*e]))
            .collect();
        let truth: BTreeSet<(u64, u64)> = [(1, 2)].into_iter().collect();
        let m = |g: &str, h: &str| (g.to_string(), h.to_string());
        let s = score_groups(&truth, &[m("a", "H"), m("b", "H")], &ents);
        assert_eq!((s.precision(), s.recall()), (1.0, 1.0));
        let s = score_groups(&truth, &[m("a", "H"), m("c", "H"), m("c2", "H")], &ents);
        assert_eq!((s.precision(), s.recall(), s.same_entity), (0.0, 0.0, 1));
    }

    #[test]
    fn a_perfect_resolution_scores_one_and_a_wrong_end_does_not() {
        let truth: BTreeSet<(u64, u64)> = [(1, 2), (3, 4)].into_iter().collect();
        let ents: HashMap<String, Vec<u64>> = [("a", 1), ("b", 2), ("c", 3), ("d", 4)]
            .iter()
            .map(|(g, e)| (g.to_string(), vec![*e]))
            .collect();
        let found = vec![("a".to_string(), "b".to_string()), ("c".into(), "d".into())];
        let s = score(&truth, &found, &ents, &ents);
        assert_eq!((s.precision(), s.recall()), (1.0, 1.0));
        let s = score(&truth, &[("a".into(), "d".into())], &ents, &ents);
        assert_eq!((s.precision(), s.recall()), (0.0, 0.0));
    }
}
