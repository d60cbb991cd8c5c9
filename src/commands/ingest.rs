//! `mdm ingest`: loads a file (CSV, NDJSON, a JSON array or Parquet) or a system's configured SQL
//! source into staging and prints the summary. The work is `mdm_ingest::load`; this picks
//! the adapter, wires configuration and shows progress.

use crate::settings::{parse_delimiter, Settings};
use anyhow::{bail, Context};
use mdm_core::SystemName;
use mdm_ingest::{
    ColumnMapping, CsvOptions, CsvSource, JsonArraySource, LoadOptions, LoadSummary, NdjsonSource,
    ParquetSource, RecordSource, SqlPullConfig,
};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Domain of the records (customer, product, supplier, or one in the rules directory).
    #[arg(long)]
    pub domain: String,
    /// Source system the records come from (ERP, CRM, ...).
    #[arg(long, value_name = "SYSTEM")]
    pub source: String,
    /// File to load. Without one, the system's configured SQL source is pulled.
    pub file: Option<PathBuf>,
    /// The input is a full extract: current records of this system it lacks are marked deleted.
    #[arg(long)]
    pub snapshot: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Input format; by default from the extension (.ndjson/.jsonl, .json, .parquet,
    /// otherwise CSV).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// CSV delimiter (default: the system's configured one, else sniffed from the header).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// The file holds links between records of the system (columns from_source_id,
    /// to_source_id, type, optionally system, and the type's attributes), starting in
    /// `--domain`; types are in match-rules/relationships.toml.
    #[arg(long)]
    pub links: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Ndjson,
    Json,
    Parquet,
}

pub fn run(args: IngestArgs, settings: &Settings) -> anyhow::Result<()> {
    let system = SystemName::parse(&args.source)?;
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &args.domain)?;
    let declared = settings.system(&system);
    let mapping = ColumnMapping::new(declared.map(|s| s.mapping.clone()).unwrap_or_default());
    let mut conn = mdm_store::open(&settings.database_url)?;
    settle_dead_batches(&mut conn, settings)?;
    mdm_store::systems::sync_declared(&mut conn, &settings.declared_systems())?;
    // Record loads derive links from reference attributes with the types in force.
    let types = sync_relationship_types(&mut conn, settings)?;
    let opts = LoadOptions {
        domain: &rules.domain,
        system: &system,
        snapshot: args.snapshot,
        chunk_size: settings.ingest.chunk_size,
    };
    let bar = progress_bar();
    let mut progress = |rows: u64| {
        if let Some(b) = &bar {
            b.set_position(rows);
        }
    };
    let summary = match &args.file {
        Some(path) if args.links => {
            let max_line = settings.ingest.max_line_bytes;
            let delimiter = declared.and_then(|s| s.delimiter);
            let mut source = open_file(path, &args, delimiter, max_line)?;
            mdm_ingest::load_links(
                &mut conn,
                &types,
                &opts,
                settings.ingest.quarantine_limits(),
                source.as_mut(),
                &mut progress,
            )?
        }
        None if args.links => bail!("--links needs a FILE of links to load"),
        Some(path) => {
            let delimiter = declared.and_then(|s| s.delimiter);
            let max_line = settings.ingest.max_line_bytes;
            let mut source = open_file(path, &args, delimiter, max_line)?;
            mdm_ingest::load_with_limits(
                &mut conn,
                &rules,
                &mapping,
                &opts,
                settings.ingest.quarantine_limits(),
                source.as_mut(),
                &mut progress,
            )?
        }
        None => {
            let Some(sql) = declared.and_then(|s| s.sql.as_ref()) else {
                bail!("no FILE given and [systems.{system}.sql] is not configured: give a file to load, or configure the system's SQL source");
            };
            let config = SqlPullConfig {
                url: sql.url.clone(),
                query: sql.query.clone(),
                watermark: sql.watermark.clone(),
            };
            mdm_ingest::pull(&mut conn, &rules, &mapping, &opts, &config, &mut progress)?
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if summary.registered_system {
        eprintln!(
            "warning: source system {system} is not declared in the configuration; registered with the lowest trust ({})",
            mdm_store::LOWEST_TRUST
        );
    }
    print_summary(&summary, args.json)
}

fn open_file(
    path: &Path,
    args: &IngestArgs,
    configured: Option<u8>,
    max_line_bytes: usize,
) -> anyhow::Result<Box<dyn RecordSource>> {
    let format = args.format.unwrap_or_else(|| format_of(path));
    Ok(match format {
        Format::Csv => {
            let delimiter = match &args.delimiter {
                Some(d) => Some(parse_delimiter(d).context("--delimiter")?),
                None => configured,
            };
            let options = CsvOptions { delimiter };
            Box::new(CsvSource::open_capped(path, options, max_line_bytes)?)
        }
        Format::Ndjson => Box::new(NdjsonSource::open(path)?.max_line_bytes(max_line_bytes)),
        Format::Json => {
            let body =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let source = JsonArraySource::parse(path.display().to_string(), body)?;
            Box::new(source.max_element_bytes(max_line_bytes))
        }
        Format::Parquet => Box::new(ParquetSource::open(path)?),
    })
}

fn format_of(path: &Path) -> Format {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("ndjson" | "jsonl") => Format::Ndjson,
        Some("json") => Format::Json,
        Some("parquet") => Format::Parquet,
        _ => Format::Csv,
    }
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {human_pos} rows  {per_sec}  {elapsed}",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    })
}

/// Reads the relationship types (`relationships.toml` in the rules directory, else the
/// shipped ones) and stores them as the types in force, which reconcile runs (also those a
/// steward action starts in `mdm serve`) read.
pub fn sync_relationship_types(
    conn: &mut mdm_store::DbConnection,
    settings: &Settings,
) -> anyhow::Result<mdm_core::relationships::RelationshipRules> {
    let types = mdm_rules::load_relationships(settings.rules_dir.as_deref())?;
    mdm_service::relationships::sync_types(conn, &types)?;
    Ok(types)
}

/// Marks failed the load batches that a process which died left `running` (no progress for
/// `ingest.stale_batch_secs`); `mdm serve` and `mdm ingest` do it when they start, and
/// `mdm reconcile` before each run.
pub fn settle_dead_batches(
    conn: &mut mdm_store::DbConnection,
    settings: &Settings,
) -> anyhow::Result<()> {
    let silent_for = std::time::Duration::from_secs(settings.ingest.stale_batch_secs);
    for batch_id in mdm_store::batches::settle_stale(conn, silent_for)? {
        tracing::warn!(
            batch_id,
            "load batch left running by a process that is gone: marked failed (interrupted)"
        );
    }
    Ok(())
}

fn print_summary(s: &LoadSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(s)?);
    } else {
        println!(
            "ingested {} into {} / {} (batch {})",
            s.file, s.domain, s.system, s.batch_id
        );
        println!(
            "  read {}  new {}  changed {}  unchanged {}  deleted {}  quarantined {}",
            s.read, s.new, s.changed, s.unchanged, s.deleted, s.quarantined
        );
        if s.quarantined > 0 {
            println!(
                "  quarantined rows are in the quarantined_rows table (batch {})",
                s.batch_id
            );
        }
        if s.quarantine_not_stored > 0 {
            println!(
                "  {} quarantined rows were counted but not stored (ingest.max_quarantined_rows)",
                s.quarantine_not_stored
            );
        }
        if let Some(skip) = &s.snapshot_deletions_skipped {
            println!(
                "  snapshot deletions skipped ({}): {} rows could not be read, so no record can \
                 be proven absent; fix them and load the file again",
                skip.reason, skip.unreadable_rows
            );
        }
    }
    Ok(())
}
