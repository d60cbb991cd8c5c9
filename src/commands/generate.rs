//! `mdm generate`: writes synthetic source files (one CSV per system) and `truth.csv`,
//! for demos, tests and benchmarks. Generation itself lives in `mdm_testkit`.

use anyhow::Context;
use mdm_core::SystemName;
use mdm_testkit::{CorruptionRates, Domain, GenConfig};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Domain to generate: customer, product or supplier.
    #[arg(long)]
    pub domain: String,
    /// Number of real-world entities (each appears in one or more systems).
    #[arg(long, default_value_t = 1000)]
    pub entities: usize,
    /// Comma-separated source systems; ERP, CRM and MES have their own habits.
    #[arg(long, value_delimiter = ',', default_value = "ERP,CRM,MES")]
    pub systems: Vec<String>,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Multiplies every corruption rate (0 = clean, 1 = default, 2 = twice as dirty).
    #[arg(long, default_value_t = 1.0)]
    pub corruption: f64,
    /// Share of within-system duplicates.
    #[arg(long, default_value_t = 0.05)]
    pub duplicate_rate: f64,
    /// Share of entities with look-alike relatives (hard negatives).
    #[arg(long, default_value_t = 0.12)]
    pub related_rate: f64,
    /// Each system records its own subset of attributes (names always; the n-th system
    /// lacks address, birth date or identifiers in turn, and every contact detail).
    #[arg(long)]
    pub disjoint_attributes: bool,
    /// Print a JSON summary (entities, records, files per system, truth file) on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let domain = Domain::parse(&args.domain).with_context(|| {
        format!(
            "unknown domain `{}` (the generator knows customer, product, supplier)",
            args.domain
        )
    })?;
    anyhow::ensure!(args.corruption >= 0.0, "--corruption must not be negative");
    let rules = mdm_rules::load_domain(None, domain.name())?;
    let systems = args
        .systems
        .iter()
        .map(|s| SystemName::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = GenConfig {
        systems,
        rates: CorruptionRates::default().scaled(args.corruption),
        duplicate_rate: args.duplicate_rate,
        related_rate: args.related_rate,
        disjoint_attributes: args.disjoint_attributes,
        ..GenConfig::new(domain, args.entities, args.seed)
    };
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(args.entities as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} entities {elapsed}")
                .expect("valid template"),
        );
        bar
    });
    let summary = mdm_testkit::generate_to_dir_with_progress(&cfg, &rules, &args.out, &mut |n| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    })
    .with_context(|| format!("generating into {}", args.out.display()))?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // Written through a handle so a closed pipe (`| head`) is an error, not a panic.
    let mut out = std::io::stdout().lock();
    if args.json {
        let systems: Vec<_> = summary
            .per_system
            .iter()
            .zip(&summary.files)
            .map(|((system, n), path)| {
                serde_json::json!({ "system": system.as_str(), "records": n, "file": path })
            })
            .collect();
        let j = serde_json::json!({
            "domain": domain.name(),
            "entities": summary.entities,
            "records": summary.records,
            "seed": args.seed,
            "corruption": args.corruption,
            "seconds": started.elapsed().as_secs_f64(),
            "systems": systems,
            "truth": summary.files.last(),
        });
        writeln!(out, "{j}")?;
        return Ok(());
    }
    writeln!(
        out,
        "generated {} {} entities as {} records in {:.2}s (seed {}, corruption x{})",
        summary.entities,
        domain.name(),
        summary.records,
        started.elapsed().as_secs_f64(),
        args.seed,
        args.corruption
    )?;
    for ((system, n), path) in summary.per_system.iter().zip(&summary.files) {
        writeln!(out, "  {system:<8} {n:>9} records  {}", path.display())?;
    }
    if let Some(truth) = summary.files.last() {
        writeln!(
            out,
            "  {:<8} {:>9} rows     {}",
            "truth",
            summary.records,
            truth.display()
        )?;
    }
    Ok(())
}
