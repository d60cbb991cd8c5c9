//! A world of linked master data: customers (ERP, CRM) with CRM-style contacts of
//! organizations and households, suppliers (ERP, PIM) in corporate families each system
//! knows only in part, and products (ERP, PIM) with their suppliers. What
//! `mdm generate --domain all` writes and `benches/relationships.rs` scores.
//!
//! Layout of `dir`: `<domain>/<SYSTEM>.csv`, `<domain>/truth.csv` (and
//! `customer/households.csv`) as `generate_to_dir` writes them, then
//! `links_<from domain>_<SYSTEM>.csv` (`type,from_source_id,to_source_id`, what
//! `mdm ingest --links` reads) and `links_truth.csv` (the true relationships by entity).

use crate::links::{self, Links};
use crate::{generate_to_dir, Domain, GenConfig, GenError, Generated};
use mdm_core::{DomainRules, SystemName};
use std::path::{Path, PathBuf};

/// The domains, their systems and their share of the entities asked for.
pub const WORLD: [(&str, Domain, [&str; 2], f64); 3] = [
    ("customer", Domain::Customer, ["ERP", "CRM"], 1.0),
    ("supplier", Domain::Supplier, ["ERP", "PIM"], 0.3),
    ("product", Domain::Product, ["ERP", "PIM"], 0.6),
];

/// Share of person customers that are contacts of an organization, and of suppliers with a
/// parent.
pub const CONTACT_SHARE: f64 = 0.4;
pub const PARENT_SHARE: f64 = 0.6;

/// What [`world`] made, in memory, in [`WORLD`]'s order.
pub struct World {
    pub domains: Vec<(&'static str, DomainRules, Generated)>,
    /// contact_of, parent_of (suppliers), supplies.
    pub links: Vec<Links>,
    /// (from domain, system, file) per links file.
    pub link_files: Vec<(String, String, PathBuf)>,
    pub links_truth: PathBuf,
}

impl World {
    pub fn generated(&self, domain: &str) -> &Generated {
        &self
            .domains
            .iter()
            .find(|(d, ..)| *d == domain)
            .expect("a domain of WORLD")
            .2
    }
}

/// Writes the world for `entities` customers into `dir`; `rules(domain)` gives each
/// domain's rules and `tune` adjusts each domain's configuration (corruption, rates).
pub fn world(
    entities: usize,
    seed: u64,
    rules: &dyn Fn(&str) -> DomainRules,
    tune: &dyn Fn(&mut GenConfig),
    dir: &Path,
) -> Result<World, GenError> {
    let mut domains = Vec::new();
    for (domain, kind, systems, share) in WORLD {
        let r = rules(domain);
        let mut cfg = GenConfig::new(kind, ((entities as f64 * share) as usize).max(1), seed);
        tune(&mut cfg);
        cfg.systems = systems
            .iter()
            .map(|s| SystemName::parse(s).expect("a valid system name"))
            .collect();
        let out = dir.join(domain);
        std::fs::create_dir_all(&out).map_err(|error| GenError::Io {
            path: out.clone(),
            error,
        })?;
        generate_to_dir(&cfg, &r, &out)?;
        let g = crate::generate_records(&cfg, &r)?;
        domains.push((domain, r, g));
    }
    let (customers, suppliers, products) = (&domains[0], &domains[1].2, &domains[2].2);
    let sets = vec![
        links::contacts(
            &customers.2,
            &customers.1,
            CONTACT_SHARE,
            seed.wrapping_add(1),
        ),
        links::families(suppliers, PARENT_SHARE, seed.wrapping_add(2)),
        links::supplies(suppliers, products, seed.wrapping_add(3)),
    ];
    let refs: Vec<&Links> = sets.iter().collect();
    let io = |path: PathBuf| move |error| GenError::Io { path, error };
    let link_files = links::write_links(&refs, dir).map_err(io(dir.to_path_buf()))?;
    let links_truth = dir.join("links_truth.csv");
    links::write_truth(&refs, &links_truth).map_err(io(links_truth.clone()))?;
    Ok(World {
        domains,
        links: sets,
        link_files,
        links_truth,
    })
}
