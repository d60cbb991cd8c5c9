//! `mdm export xref|golden|pairs|relationships --domain D --out FILE`: the cross-reference,
//! the golden records, the last run's scored pairs or the relationships as CSV, NDJSON or
//! Parquet (by the file's extension, or --format; relationships as CSV or NDJSON).

use crate::settings::Settings;
use anyhow::{bail, Context};
use mdm_service::export::Format;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// What to export.
    #[arg(value_enum)]
    pub what: What,
    #[arg(long)]
    pub domain: String,
    /// Output file (`-` for standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// Output format (default: from the extension; .ndjson/.jsonl is NDJSON, .parquet is
    /// Parquet, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Print the summary (rows, file) as one JSON object on standard output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// source_system,source_id,golden_id for every staged record.
    Xref,
    /// One row per active golden record: golden_id and the canonical attributes.
    Golden,
    /// The last reconcile run's kept scored pairs: both records, decision, probability,
    /// match weight and whether an override decided.
    Pairs,
    /// One row per active relationship with an end in the domain: type, both ends' domain
    /// and golden ID, version, attributes and lineage (JSON).
    Relationships,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Csv,
    Ndjson,
    Parquet,
}

pub fn run(args: ExportArgs, settings: &Settings) -> anyhow::Result<()> {
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &args.domain)?;
    let is_parquet = args.out.extension().and_then(|e| e.to_str()) == Some("parquet");
    let format = match args.format {
        Some(ExportFormat::Csv) => Format::Csv,
        Some(ExportFormat::Ndjson) => Format::Ndjson,
        Some(ExportFormat::Parquet) => return parquet(&args, settings, &rules),
        None if is_parquet => return parquet(&args, settings, &rules),
        None => Format::from_path(&args.out),
    };
    let mut conn = mdm_store::open(&settings.database_url)?;
    let stdout = args.out.as_os_str() == "-";
    if stdout && args.json {
        bail!("--json prints a summary on standard output, where --out - writes the rows: give --out a file");
    }
    let pipe_closed = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut out: Box<dyn Write> = if stdout {
        Box::new(Stdout {
            inner: std::io::BufWriter::new(std::io::stdout().lock()),
            closed: pipe_closed.clone(),
        })
    } else {
        let f = std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        Box::new(std::io::BufWriter::new(f))
    };
    let written = match args.what {
        What::Xref => mdm_service::export::xref(&mut conn, &rules.domain, format, &mut out),
        What::Golden => mdm_service::export::golden(&mut conn, &rules, format, &mut out),
        What::Pairs => mdm_service::export::pairs(&mut conn, &rules.domain, format, &mut out),
        What::Relationships => {
            mdm_service::relationships::export(&mut conn, &rules.domain, format, &mut out)
        }
    };
    let n = match written.map_err(anyhow::Error::from).and_then(|n| {
        out.flush()?;
        Ok(n)
    }) {
        // The reader went away (`mdm export ... --out - | head`): it has what it wanted.
        Err(_) if pipe_closed.get() => return Ok(()),
        r => r?,
    };
    summary(&args, n, stdout);
    Ok(())
}

fn summary(args: &ExportArgs, rows: u64, stdout: bool) {
    if args.json {
        let v = serde_json::json!({ "rows": rows, "out": args.out.display().to_string() });
        println!("{v}");
    } else if !stdout {
        eprintln!("exported {rows} rows to {}", args.out.display());
    }
}

/// The Parquet export: a file (or standard output, not a terminal), written row group by
/// row group by `mdm_service::export::parquet`.
fn parquet(
    args: &ExportArgs,
    settings: &Settings,
    rules: &mdm_core::DomainRules,
) -> anyhow::Result<()> {
    use mdm_service::export::parquet as pq;
    use std::io::IsTerminal;
    let stdout = args.out.as_os_str() == "-";
    if stdout && (args.json || std::io::stdout().is_terminal()) {
        bail!("Parquet is binary: give --out a file (or pipe standard output, without --json)");
    }
    let mut conn = mdm_store::open(&settings.database_url)?;
    let out: Box<dyn Write + Send> = if stdout {
        Box::new(std::io::BufWriter::new(std::io::stdout()))
    } else {
        let f = std::fs::File::create(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        Box::new(std::io::BufWriter::new(f))
    };
    let n = match args.what {
        What::Xref => pq::xref(&mut conn, &rules.domain, out)?,
        What::Golden => pq::golden(&mut conn, rules, out)?,
        What::Pairs => pq::pairs(&mut conn, &rules.domain, out)?,
        What::Relationships => {
            bail!("relationships export as CSV or NDJSON (attributes and lineage are JSON)")
        }
    };
    summary(args, n, stdout);
    Ok(())
}

/// Standard output that remembers a closed pipe, so the export can end quietly (status 0)
/// when its reader stops reading, whatever layer (CSV, JSON) the write error passed through.
struct Stdout<W: Write> {
    inner: W,
    closed: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<W: Write> Stdout<W> {
    fn note<T>(&self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed.set(true);
            }
        }
        r
    }
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}
