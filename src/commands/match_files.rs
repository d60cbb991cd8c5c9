//! `mdm match`: in-memory matching of CSV or Parquet files (`.parquet`), no database. Reads
//! each `SYSTEM=FILE` (columns: canonical attribute names plus `source_id`, or the system's
//! own column names with a `mapping` in its configuration, as `mdm ingest` reads them;
//! other columns ignored), runs the
//! pipeline (`mdm_core::pipeline`), and writes `source_system,source_id,cluster_id` for
//! every input record. Optional: scored pairs with explanations, the blocking report,
//! training or reusing parameters. Phase times go to stderr.

use anyhow::{bail, Context};
use mdm_core::pipeline::{self, features::RawTable, MatchOptions};
use mdm_core::score::Params;
use mdm_core::{DomainRules, RecordKey, SourceKey, SystemName};
use mdm_ingest::mapping::ColumnMapping;
use std::path::PathBuf;
use std::time::Instant;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// The domain whose rules apply (customer, product, supplier, ...).
    #[arg(long)]
    pub domain: String,
    /// `SYSTEM=FILE`, once per source file.
    #[arg(long = "input", required = true, value_name = "SYSTEM=FILE")]
    pub inputs: Vec<String>,
    /// Where to write `source_system,source_id,cluster_id`.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write scored pairs (review or better, and overridden ones) with explanations.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// Print candidate pairs per blocking rule, the matches the model expects among them
    /// (all, and those no other rule finds: what dropping the rule would lose) and the
    /// largest capped blocks.
    #[arg(long)]
    pub explain_blocking: bool,
    /// Train parameters on these files and save them here.
    #[arg(long, conflicts_with = "params")]
    pub train: Option<PathBuf>,
    /// Reuse parameters saved by `--train` instead of training.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write the model report (m, u and weights, overrides, weight histogram, blocking
    /// rules, estimated precision and recall) as `report.json` and `report.html` here.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Print a JSON summary (records, candidate pairs, matches, review, clusters, files
    /// written) on stdout; phase times stay on stderr.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: MatchArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        pool = pool.num_threads(n);
    }
    let pool = pool.build().context("starting worker threads")?;
    pool.install(|| run_in_pool(&args, settings))
}

fn run_in_pool(args: &MatchArgs, settings: &Settings) -> anyhow::Result<()> {
    let start = Instant::now();
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &args.domain)?;
    let ctx = settings.std_context();
    let t = Instant::now();
    let raw = read_inputs(&rules, settings, &args.inputs)?;
    eprintln!(
        "read        {:>8.3} s  ({} records)",
        t.elapsed().as_secs_f64(),
        raw.len()
    );
    let params = match &args.params {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(
                serde_json::from_str::<Params>(&text)
                    .with_context(|| format!("parsing {}", p.display()))?,
            )
        }
        None => None,
    };
    let res = pipeline::run(
        &rules,
        &ctx,
        raw,
        MatchOptions {
            params,
            ..Default::default()
        },
    )?;
    for (phase, d) in &res.timings {
        eprintln!("{phase:<11} {:>8.3} s", d.as_secs_f64());
    }
    if args.explain_blocking {
        explain_blocking(&rules, &res)?;
    }
    let decided = |d| res.scored.iter().filter(|s| s.decision == d).count();
    let (matches, review) = (
        decided(mdm_core::rules::matching::Decision::Match),
        decided(mdm_core::rules::matching::Decision::Review),
    );
    let clusters = count_clusters(&res.clusters);
    eprintln!(
        "candidate pairs {}, matches {matches}, review {review}, clusters {clusters}",
        res.candidate_pairs,
    );
    print_vetoes(&rules, &res.params);
    if let Some(path) = &args.train {
        std::fs::write(path, serde_json::to_string_pretty(&res.params)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let t = Instant::now();
    write_clusters(&args.out, &res)?;
    if let Some(path) = &args.pairs {
        write_pairs(path, &rules, &res)?;
    }
    if let Some(dir) = &args.report {
        super::match_report::write(dir, &rules, &res)?;
    }
    eprintln!("write       {:>8.3} s", t.elapsed().as_secs_f64());
    eprintln!("total       {:>8.3} s", start.elapsed().as_secs_f64());
    if args.json {
        let j = serde_json::json!({
            "domain": rules.domain,
            "records": res.clusters.len(),
            "candidate_pairs": res.candidate_pairs,
            "matches": matches,
            "review": review,
            "clusters": clusters,
            "seconds": start.elapsed().as_secs_f64(),
            "out": args.out,
            "pairs": args.pairs,
            "params": args.train,
            "report": args.report,
        });
        use std::io::Write;
        writeln!(std::io::stdout().lock(), "{j}")?;
    }
    Ok(())
}

/// Which non-match overrides hold on this data, and the share of matches each would split.
fn print_vetoes(rules: &DomainRules, params: &Params) {
    let max_m = rules.matching.veto_max_m;
    let vetoes = mdm_core::score::bind_overrides(rules)
        .into_iter()
        .filter(|o| o.then == mdm_core::rules::matching::Decision::NonMatch);
    for o in vetoes {
        let Some(v) = mdm_core::veto::learned(params, &o.attr) else {
            continue;
        };
        let verdict = if mdm_core::veto::holds(&o, params, max_m) {
            "holds"
        } else {
            "lifted: weighed as evidence"
        };
        eprintln!(
            "override {} different: splits {:.2}% of matches (over {:.0} pairs; lifted when shown above {:.1}%{}), {verdict}",
            o.attr,
            100.0 * v.m,
            v.support,
            100.0 * max_m,
            if o.hold == mdm_core::rules::matching::VetoHold::Always { "; rule: always" } else { "" },
        );
    }
}

fn count_clusters(labels: &[u32]) -> usize {
    labels
        .iter()
        .enumerate()
        .filter(|(i, &l)| *i as u32 == l)
        .count()
}

/// Streams every input file into one interned table.
fn read_inputs(
    rules: &DomainRules,
    settings: &Settings,
    inputs: &[String],
) -> anyhow::Result<RawTable> {
    let mut table = RawTable::new(rules);
    for spec in inputs {
        let Some((system, file)) = spec.split_once('=') else {
            bail!("--input expects SYSTEM=FILE, got `{spec}`");
        };
        let system = SystemName::parse(system)?;
        let mapping = ColumnMapping::new(
            settings
                .system(&system)
                .map(|s| s.mapping.clone())
                .unwrap_or_default(),
        );
        let is_canonical = |c: &str| c == "source_id" || rules.index_of(c).is_some();
        let resolve = |h: &str| mapping.resolve(h, is_canonical);
        let path = std::path::Path::new(file);
        if path.extension().and_then(|e| e.to_str()) == Some("parquet") {
            read_parquet(&mut table, rules, &system, path, &resolve)?;
        } else {
            read_csv(&mut table, rules, &system, file, &resolve)?;
        }
    }
    Ok(table)
}

fn read_csv(
    table: &mut RawTable,
    rules: &DomainRules,
    system: &SystemName,
    file: &str,
    resolve: &dyn Fn(&str) -> String,
) -> anyhow::Result<()> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("opening {file}"))?;
    let header: Vec<String> = rdr
        .headers()
        .with_context(|| format!("{file}: reading header"))?
        .iter()
        .map(resolve)
        .collect();
    let Some(id_col) = header.iter().position(|h| h == "source_id") else {
        bail!("{file}: no `source_id` column");
    };
    // Attribute index -> column in this file.
    let cols: Vec<Option<usize>> = rules
        .attributes
        .iter()
        .map(|a| header.iter().position(|h| *h == a.name))
        .collect();
    let mut rec = csv::StringRecord::new();
    let mut row = 1;
    while rdr
        .read_record(&mut rec)
        .with_context(|| format!("{file}: row {}", row + 1))?
    {
        row += 1;
        let id = SourceKey::parse(rec.get(id_col).unwrap_or(""))
            .with_context(|| format!("{file}: row {row}: source_id"))?;
        let key = RecordKey {
            system: system.clone(),
            source_id: id,
        };
        table.push(key, |i| cols[i].and_then(|c| rec.get(c)));
    }
    Ok(())
}

/// A Parquet input, through the ingest adapter (values as text as `mdm ingest` stages
/// them). A row the adapter rejects stops the match, as a CSV row that cannot be read does.
fn read_parquet(
    table: &mut RawTable,
    rules: &DomainRules,
    system: &SystemName,
    path: &std::path::Path,
    resolve: &dyn Fn(&str) -> String,
) -> anyhow::Result<()> {
    use mdm_ingest::RecordSource;
    let mut source = mdm_ingest::ParquetSource::open(path)?;
    let file = path.display().to_string();
    // Source column -> attribute index (or `SOURCE_ID`).
    const SOURCE_ID: usize = usize::MAX;
    let mut slots: std::collections::HashMap<std::sync::Arc<str>, usize> = Default::default();
    for column in source.columns().unwrap_or_default() {
        let name = resolve(column);
        let slot = match name.as_str() {
            "source_id" => Some(SOURCE_ID),
            n => rules.index_of(n),
        };
        if let Some(slot) = slot {
            slots.insert(column.clone(), slot);
        }
    }
    if !slots.values().any(|&s| s == SOURCE_ID) {
        bail!("{file}: no `source_id` column");
    }
    let mut values: Vec<Option<String>> = vec![None; rules.attributes.len()];
    source.for_each_row(&mut |row| {
        let fields = row.content.map_err(|r| {
            let field = r.field.as_deref().unwrap_or("-");
            mdm_ingest::IngestError::Input {
                label: file.clone(),
                message: format!("row {}: field `{field}`: {}", row.number, r.detail),
            }
        })?;
        values.iter_mut().for_each(|v| *v = None);
        let mut id = None;
        for (column, value) in fields {
            match slots.get(&column) {
                Some(&SOURCE_ID) => id = Some(value),
                Some(&i) => values[i] = Some(value),
                None => {}
            }
        }
        let id = SourceKey::parse(id.as_deref().unwrap_or("")).map_err(|e| {
            mdm_ingest::IngestError::Input {
                label: file.clone(),
                message: format!("row {}: source_id: {e}", row.number),
            }
        })?;
        let key = RecordKey {
            system: system.clone(),
            source_id: id,
        };
        table.push(key, |i| values[i].as_deref());
        Ok(())
    })?;
    Ok(())
}

fn cluster_id(key: &RecordKey) -> String {
    format!("{}:{}", key.system, key.source_id)
}

fn write_clusters(path: &PathBuf, res: &pipeline::MatchResult) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record(["source_system", "source_id", "cluster_id"])?;
    // The label is the smallest record index; the id is that record's SYSTEM:source_id
    // made deterministic by taking the smallest key of the cluster.
    let mut smallest: Vec<Option<usize>> = vec![None; res.clusters.len()];
    for (i, &l) in res.clusters.iter().enumerate() {
        let s = &mut smallest[l as usize];
        if s.is_none_or(|j| res.features.keys[i] < res.features.keys[j]) {
            *s = Some(i);
        }
    }
    for (i, key) in res.features.keys.iter().enumerate() {
        let rep = smallest[res.clusters[i] as usize].unwrap_or(i);
        w.write_record([
            key.system.as_str(),
            key.source_id.as_str(),
            &cluster_id(&res.features.keys[rep]),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn write_pairs(
    path: &PathBuf,
    rules: &DomainRules,
    res: &pipeline::MatchResult,
) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    w.write_record([
        "left_system",
        "left_id",
        "right_system",
        "right_id",
        "decision",
        "probability",
        "match_weight",
        "prior_weight",
        "explanation",
    ])?;
    for s in &res.scored {
        let e = pipeline::explain_pair(
            rules,
            &res.features,
            &res.params,
            s.a as usize,
            s.b as usize,
        );
        let (l, r) = (
            &res.features.keys[s.a as usize],
            &res.features.keys[s.b as usize],
        );
        w.write_record([
            l.system.as_str(),
            l.source_id.as_str(),
            r.system.as_str(),
            r.source_id.as_str(),
            e.decision.name(),
            &format!("{:.6}", e.probability),
            &format!("{:.3}", e.total_weight),
            &format!("{:.3}", e.prior_weight),
            &e.summary(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Candidate pairs per blocking rule with the matches the model expects among them (all,
/// and those no other rule finds), and the largest capped blocks (by key hash: values are
/// personal data and never printed).
fn explain_blocking(
    rules: &mdm_core::DomainRules,
    res: &pipeline::MatchResult,
) -> anyhow::Result<()> {
    let scores = pipeline::score_candidates(rules, &res.features, &res.params)?;
    let report = mdm_core::model_report::build(rules, &res.params, res.features.len(), &scores);
    eprintln!(
        "blocking: {} records, {} candidate pairs after removing repeats; expected matches \
         are sums of match probabilities, `alone` counts what no other rule finds",
        res.features.len(),
        res.candidate_pairs
    );
    for (r, b) in res.blocking.iter().zip(&report.blocking) {
        eprintln!(
            "  {:<40} pairs {:>11} (expected matches {:>10.1})  alone {:>10} ({:>9.1})  \
             capped blocks {:>5}  pairs skipped {:>11}",
            r.rule,
            r.pairs,
            b.expected_matches,
            b.only_pairs,
            b.expected_only_matches,
            r.capped.len(),
            r.skipped_pairs
        );
        for (hash, size) in r.capped.iter().take(5) {
            eprintln!("      capped key #{hash:016x}: {size} records");
        }
    }
    Ok(())
}
