//! `mdm generate`: writes synthetic source files (one CSV per system) and `truth.csv`,
//! with links files and their truth (customer contacts, supplier families; with
//! `--domain all` also who supplies which product) and the household truth, for demos,
//! tests and benchmarks. Generation itself lives in `mdm_testkit`.

use anyhow::Context;
use mdm_core::SystemName;
use mdm_testkit::{world, CorruptionRates, Domain, GenConfig};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Domain to generate: customer, product or supplier; or `all`: the three linked
    /// (customers of ERP and CRM, suppliers and products of ERP and a PIM) in subdirectories,
    /// with every links file.
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
    /// Write no links files (they need the records in memory a second time).
    #[arg(long)]
    pub no_links: bool,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    if args.domain == "all" {
        return run_world(args);
    }
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
    let links = if args.no_links {
        Vec::new()
    } else {
        domain_links(&cfg, &rules, &args.out)?
    };
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
            "households": summary.households,
            "links": links_json(&links),
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
    if let Some(h) = &summary.households {
        writeln!(out, "  households truth           {}", h.display())?;
    }
    print_links(&mut out, &links)?;
    Ok(())
}

/// A links file or the links truth: (what, rows, path).
type LinkFile = (String, usize, PathBuf);

/// The links one domain alone gives (customer contacts, supplier families) and their
/// truth, from the same records again in memory.
fn domain_links(
    cfg: &GenConfig,
    rules: &mdm_core::DomainRules,
    dir: &std::path::Path,
) -> anyhow::Result<Vec<LinkFile>> {
    use mdm_testkit::links;
    let sets = match cfg.domain {
        Domain::Customer | Domain::Supplier => {
            let g = mdm_testkit::generate_records(cfg, rules)?;
            if cfg.domain == Domain::Customer {
                links::contacts(&g, rules, world::CONTACT_SHARE, cfg.seed.wrapping_add(1))
            } else {
                links::families(&g, world::PARENT_SHARE, cfg.seed.wrapping_add(2))
            }
        }
        // Who supplies a product needs suppliers too: `--domain all`.
        Domain::Product => return Ok(Vec::new()),
    };
    let refs = [&sets];
    let files = links::write_links(&refs, dir)?;
    let truth = dir.join("links_truth.csv");
    links::write_truth(&refs, &truth)?;
    Ok(link_rows(&refs, files, truth))
}

fn link_rows(
    sets: &[&mdm_testkit::links::Links],
    files: Vec<(String, String, PathBuf)>,
    truth: PathBuf,
) -> Vec<LinkFile> {
    let mut out: Vec<LinkFile> = files
        .into_iter()
        .map(|(domain, system, path)| {
            let n = sets
                .iter()
                .filter(|s| s.from_domain == domain)
                .flat_map(|s| &s.stated)
                .filter(|l| l.system.as_str() == system)
                .count();
            (format!("{domain} {system}"), n, path)
        })
        .collect();
    let n = sets.iter().map(|s| s.truth.len()).sum();
    out.push(("truth".into(), n, truth));
    out
}

fn links_json(links: &[LinkFile]) -> serde_json::Value {
    links
        .iter()
        .map(|(what, n, path)| serde_json::json!({ "links": what, "rows": n, "file": path }))
        .collect()
}

fn print_links(out: &mut impl Write, links: &[LinkFile]) -> std::io::Result<()> {
    for (what, n, path) in links {
        writeln!(out, "  links {what:<16} {n:>7} rows  {}", path.display())?;
    }
    Ok(())
}

/// `--domain all`: customers, suppliers and products, linked (`mdm_testkit::world`).
fn run_world(args: GenerateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.corruption >= 0.0, "--corruption must not be negative");
    let started = Instant::now();
    let load = |d: &str| mdm_rules::load_domain(None, d).expect("shipped rules load");
    let tune = |cfg: &mut GenConfig| {
        cfg.rates = CorruptionRates::default().scaled(args.corruption);
        cfg.duplicate_rate = args.duplicate_rate;
        cfg.related_rate = args.related_rate;
        cfg.disjoint_attributes = args.disjoint_attributes;
    };
    let w = world::world(args.entities, args.seed, &load, &tune, &args.out)
        .with_context(|| format!("generating into {}", args.out.display()))?;
    let refs: Vec<&mdm_testkit::links::Links> = w.links.iter().collect();
    let links = link_rows(&refs, w.link_files.clone(), w.links_truth.clone());
    let mut out = std::io::stdout().lock();
    if args.json {
        let domains: Vec<_> = w
            .domains
            .iter()
            .map(|(d, _, g)| {
                serde_json::json!({
                    "domain": d,
                    "entities": g.summary.entities,
                    "records": g.summary.records,
                    "dir": args.out.join(d),
                })
            })
            .collect();
        let j = serde_json::json!({
            "domain": "all",
            "seed": args.seed,
            "seconds": started.elapsed().as_secs_f64(),
            "domains": domains,
            "households": args.out.join("customer").join("households.csv"),
            "links": links_json(&links),
        });
        writeln!(out, "{j}")?;
        return Ok(());
    }
    writeln!(
        out,
        "generated a linked world in {:.2}s (seed {}) in {}",
        started.elapsed().as_secs_f64(),
        args.seed,
        args.out.display()
    )?;
    for (d, _, g) in &w.domains {
        writeln!(
            out,
            "  {d:<8} {:>9} entities {:>9} records  {}/",
            g.summary.entities,
            g.summary.records,
            args.out.join(d).display()
        )?;
    }
    print_links(&mut out, &links)?;
    Ok(())
}
