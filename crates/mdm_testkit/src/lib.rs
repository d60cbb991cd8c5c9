//! Seeded synthetic master data for tests, demos and benchmarks: the same real-world
//! entities (customers, products, suppliers) as several source systems record them, each
//! with its own formats and its own mistakes, plus the truth of who is who.
//!
//! Where it sits: outside the pipeline, feeding it. `mdm generate` writes the files that
//! `mdm match` reads; `mdm evaluate` scores `mdm match`'s clusters against `truth.csv`.
//!
//! Deterministic for a seed (ChaCha8), streaming (rows are written as they are made, in
//! shuffled chunks), and hard on purpose: typos, nicknames, moves, formats, and look-alike
//! entities (family members, namesakes, product variants, sister companies) that must not
//! be merged. Entities are made in chunks on the caller's rayon pool; the output depends
//! on the seed alone, not on the number of threads.

mod address;
mod config;
mod corrupt;
mod customer;
mod data;
mod engine;
mod ids;
pub mod links;
mod org;
mod output;
mod product;
mod supplier;
mod systems;
pub mod world;

pub use config::{CorruptionRates, Domain, GenConfig};
pub use systems::{DateStyle, IdStyle, NameStyle, PhoneStyle, SystemProfile};

use engine::EntityGen;
use mdm_core::{DomainRules, RecordKey, SourceRecord, SystemName};
use output::{Backend, CsvBackend, MemBackend, ShufflingSink};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    // The messages carry their I/O or CSV error's (not `source()` too: said once in a chain).
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Csv { path: PathBuf, error: csv::Error },
    #[error("invalid generator configuration: {0}")]
    Config(String),
}

/// What was generated.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub domain: Domain,
    pub entities: u64,
    pub records: u64,
    /// Records per system, in the configured order.
    pub per_system: Vec<(SystemName, u64)>,
    /// Files written (empty for the in-memory variant): one per system, then the truth.
    pub files: Vec<PathBuf>,
    /// The household truth written beside them (customers).
    pub households: Option<PathBuf>,
}

/// Records held in memory with their true entities.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Values aligned with the `DomainRules::attributes` passed in.
    pub records: Vec<SourceRecord>,
    /// `entities[i]` is the true entity of `records[i]`.
    pub entities: Vec<u64>,
    /// Entity -> household, for the entities (customers) that share a home with another:
    /// the truth of derived households.
    pub households: BTreeMap<u64, u64>,
    pub summary: Summary,
}

impl Generated {
    /// Record key -> true entity id, as `truth.csv` would give it.
    pub fn truth(&self) -> HashMap<RecordKey, u64> {
        self.records
            .iter()
            .zip(&self.entities)
            .map(|(r, e)| (r.key.clone(), *e))
            .collect()
    }
}

/// Writes `dir/<system>.csv` for every system (header: `source_id`, then the attributes of
/// `rules` in order) and `dir/truth.csv` (`source_system,source_id,entity_id`); for
/// customers also `dir/households.csv` (`entity_id,household_id`: the entities that share a
/// home with another, the truth of derived households).
pub fn generate_to_dir(
    cfg: &GenConfig,
    rules: &DomainRules,
    dir: &Path,
) -> Result<Summary, GenError> {
    generate_to_dir_with_progress(cfg, rules, dir, &mut |_| {})
}

/// As `generate_to_dir`, calling `progress(entities_done)` now and then.
pub fn generate_to_dir_with_progress(
    cfg: &GenConfig,
    rules: &DomainRules,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, GenError> {
    let profiles = profiles(cfg, rules)?;
    let backend = CsvBackend::create(dir, &profiles, rules)?;
    let files = backend.paths();
    let (_, mut summary, households) = run(cfg, rules, &profiles, backend, progress)?;
    if cfg.domain == Domain::Customer {
        let path = dir.join("households.csv");
        write_households(&households, &path)?;
        summary.households = Some(path);
    }
    summary.files = files;
    Ok(summary)
}

fn write_households(households: &[(u64, u64)], path: &Path) -> Result<(), GenError> {
    let csv_err = |error| GenError::Csv {
        path: path.to_path_buf(),
        error,
    };
    let mut w = csv::Writer::from_path(path).map_err(csv_err)?;
    w.write_record(["entity_id", "household_id"])
        .map_err(csv_err)?;
    let mut sorted = households.to_vec();
    sorted.sort_unstable();
    for (e, h) in sorted {
        w.write_record([e.to_string(), h.to_string()])
            .map_err(csv_err)?;
    }
    w.flush().map_err(|error| GenError::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// The same data as `generate_to_dir` would write for `cfg`, held in memory.
pub fn generate_records(cfg: &GenConfig, rules: &DomainRules) -> Result<Generated, GenError> {
    let profiles = profiles(cfg, rules)?;
    let backend = MemBackend {
        systems: cfg.systems.clone(),
        records: Vec::new(),
        entities: Vec::new(),
    };
    let (backend, summary, households) = run(cfg, rules, &profiles, backend, &mut |_| {})?;
    Ok(Generated {
        records: backend.records,
        entities: backend.entities,
        households: households.into_iter().collect(),
        summary,
    })
}

fn profiles(cfg: &GenConfig, rules: &DomainRules) -> Result<Vec<SystemProfile>, GenError> {
    if cfg.systems.is_empty() {
        return Err(GenError::Config("no systems given".into()));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = cfg.systems.iter().find(|s| !seen.insert(*s)) {
        return Err(GenError::Config(format!("system {dup} listed twice")));
    }
    if rules.domain != cfg.domain.name() {
        return Err(GenError::Config(format!(
            "rules are for domain `{}`, generating `{}`",
            rules.domain,
            cfg.domain.name()
        )));
    }
    for (name, rate) in [
        ("duplicate_rate", cfg.duplicate_rate),
        ("related_rate", cfg.related_rate),
    ] {
        if !(0.0..=1.0).contains(&rate) {
            return Err(GenError::Config(format!(
                "{name} must be within 0..1, got {rate}"
            )));
        }
    }
    let mut profiles: Vec<SystemProfile> =
        cfg.systems.iter().map(SystemProfile::for_system).collect();
    if cfg.disjoint_attributes {
        for (n, p) in profiles.iter_mut().enumerate() {
            p.drop_disjoint_group(n);
        }
    }
    Ok(profiles)
}

fn run<B: Backend>(
    cfg: &GenConfig,
    rules: &DomainRules,
    profiles: &[SystemProfile],
    backend: B,
    progress: &mut dyn FnMut(u64),
) -> Result<(B, Summary, engine::Homes), GenError> {
    // Ids and shuffling draw from their own stream, so they do not shift the data.
    let mut id_rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    id_rng.set_stream(1);
    let (backend, counts, (entities, households)) = match cfg.domain {
        Domain::Customer => {
            let gen = customer::CustomerGen::new(cfg);
            drive_into(&gen, cfg, rules, profiles, backend, id_rng, progress)?
        }
        Domain::Product => {
            let gen = product::ProductGen::new(cfg);
            drive_into(&gen, cfg, rules, profiles, backend, id_rng, progress)?
        }
        Domain::Supplier => {
            let gen = supplier::SupplierGen::new(cfg);
            drive_into(&gen, cfg, rules, profiles, backend, id_rng, progress)?
        }
    };
    let summary = Summary {
        domain: cfg.domain,
        entities,
        records: counts.iter().sum(),
        per_system: cfg.systems.iter().cloned().zip(counts).collect(),
        files: Vec::new(),
        households: None,
    };
    Ok((backend, summary, households))
}

/// The backend, records per system, and (entities made, their homes).
type Driven<B> = (B, Vec<u64>, (u64, engine::Homes));

fn drive_into<G: EntityGen, B: Backend>(
    gen: &G,
    cfg: &GenConfig,
    rules: &DomainRules,
    profiles: &[SystemProfile],
    backend: B,
    id_rng: ChaCha8Rng,
    progress: &mut dyn FnMut(u64),
) -> Result<Driven<B>, GenError> {
    let fields = gen.fields();
    if !rules
        .attributes
        .iter()
        .any(|a| fields.contains(&a.name.as_str()))
    {
        return Err(GenError::Config(format!(
            "the rules for `{}` share no attribute with the generator",
            rules.domain
        )));
    }
    let mut sink = ShufflingSink::new(backend, profiles, rules, fields, id_rng);
    let made = engine::drive(gen, cfg, profiles, &mut sink, progress)?;
    let (backend, counts) = sink.finish()?;
    Ok((backend, counts, made))
}
