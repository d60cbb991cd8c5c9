//! `mdm quarantine list|show|export`: the rows ingest quarantined, with file, line, field,
//! reason and raw text, so a steward can fix the source. A row that several loads of the
//! same file quarantined is listed once (`mdm_service::quarantine`). `mdm quarantine
//! values`: the staged values survivorship will never publish (invalid or placeholders),
//! or with `--kind conflicting` the values a golden record's sources disagree on.

use crate::settings::Settings;
use anyhow::Context;
use mdm_service::export::Format;
use mdm_service::quarantine::Finding;
use mdm_store::quarantine::QuarantineFilter;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    pub command: QuarantineCommand,
}

/// Which rows: all by default.
#[derive(Debug, Clone, clap::Args)]
pub struct Which {
    #[arg(long)]
    pub domain: Option<String>,
    /// A source system.
    #[arg(long, value_name = "SYSTEM")]
    pub system: Option<String>,
    /// One load's rows (the `batch_id` that `mdm ingest` printed).
    #[arg(long, value_name = "N")]
    pub batch: Option<i64>,
}

impl Which {
    fn filter(&self) -> QuarantineFilter {
        QuarantineFilter {
            domain: self.domain.clone(),
            system: self.system.clone(),
            batch_id: self.batch,
            after_id: None,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum QuarantineCommand {
    /// List quarantined rows: id, system, file:line, field, reason, what is wrong.
    List {
        #[command(flatten)]
        which: Which,
        /// One JSON object per row (NDJSON).
        #[arg(long)]
        json: bool,
    },
    /// Show one quarantined row in full, raw text included.
    Show {
        /// The row's id, as `list` shows it.
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// List value findings. `--kind rejected` (the default): staged values that are invalid
    /// for their type or placeholders (a dummy phone, noemail@...), never published on a
    /// golden record: system, record, attribute, reason, value. `--kind conflicting`:
    /// attributes (an address as a whole) whose source records in one golden record hold
    /// different valid values: golden ID, attribute, each value with its records, the
    /// survivor marked `*`.
    Values {
        #[arg(long)]
        domain: String,
        /// Only findings about records of this system.
        #[arg(long, value_name = "SYSTEM")]
        system: Option<String>,
        #[arg(long, value_enum, default_value_t = ValueKind::Rejected)]
        kind: ValueKind,
        /// One JSON object per finding (NDJSON).
        #[arg(long)]
        json: bool,
    },
    /// Write quarantined rows as CSV or NDJSON (by the file's extension).
    Export {
        #[command(flatten)]
        which: Which,
        /// Output file (`.ndjson`/`.jsonl` is NDJSON, anything else CSV; `-` for standard
        /// output, as CSV).
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: QuarantineArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = mdm_store::open(&settings.database_url)?;
    match args.command {
        QuarantineCommand::List { which, json } => list(&mut conn, &which.filter(), json),
        QuarantineCommand::Show { id, json } => {
            let f = mdm_service::quarantine::get(&mut conn, id)?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&f)?)?;
            } else {
                show(&mut out, &f)?;
            }
            Ok(())
        }
        QuarantineCommand::Values {
            domain,
            system,
            kind,
            json,
        } => {
            let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &domain)?;
            let ctx = settings.std_context();
            if kind == ValueKind::Conflicting {
                return conflicting(&mut conn, &rules, &ctx, system.as_deref(), json);
            }
            let found =
                mdm_service::reconcile::value_findings(&mut conn, &rules, &ctx, system.as_deref())?;
            let mut out = std::io::stdout().lock();
            if !json {
                writeln!(out, "system\tsource_id\tattribute\treason\tvalue")?;
            }
            for f in &found {
                if json {
                    writeln!(out, "{}", serde_json::to_string(f)?)?;
                } else {
                    let line = [&f.system, &f.source_id, &f.attribute, &f.reason, &f.value];
                    writeln!(
                        out,
                        "{}",
                        line.map(|c| c.replace(['\t', '\n'], " ")).join("\t")
                    )?;
                }
            }
            eprintln!("{} values that no golden record will publish", found.len());
            Ok(())
        }
        QuarantineCommand::Export { which, out } => {
            let stdout = out.as_os_str() == "-";
            let format = Format::from_path(&out);
            let mut w: Box<dyn Write> = if stdout {
                Box::new(std::io::stdout().lock())
            } else {
                let f = std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?;
                Box::new(std::io::BufWriter::new(f))
            };
            let n = mdm_service::quarantine::export(&mut conn, &which.filter(), format, &mut w)?;
            w.flush()?;
            if !stdout {
                eprintln!("exported {n} quarantined rows to {}", out.display());
            }
            Ok(())
        }
    }
}

/// Which value findings `mdm quarantine values` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValueKind {
    /// Invalid for their type, or placeholders: never published.
    Rejected,
    /// Different valid values of one attribute in one golden record's source records.
    Conflicting,
}

/// Writes each conflict as it is found (a chunk of golden records at a time, so a large
/// domain is never held whole).
fn conflicting(
    conn: &mut mdm_store::DbConnection,
    rules: &mdm_core::DomainRules,
    ctx: &mdm_core::standardize::StdContext,
    system: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(out, "golden_id\tattribute\tsurvived\tvalues")?;
    }
    let mut n = 0usize;
    let mut write = |f: mdm_service::conflicts::ConflictFinding| -> std::io::Result<()> {
        n += 1;
        if json {
            return writeln!(out, "{}", serde_json::to_string(&f)?);
        }
        let values: Vec<String> = f
            .values
            .iter()
            .map(|v| {
                let from: Vec<String> = v
                    .sources
                    .iter()
                    .map(|s| format!("{}/{}", s.system, s.source_id))
                    .collect();
                let mark = if v.survived { "*" } else { "" };
                format!("{mark}{} ({})", v.value, from.join(" "))
            })
            .collect();
        let line = [
            f.golden_id,
            f.attribute,
            f.survived.unwrap_or_else(|| "-".into()),
            values.join(" | "),
        ];
        writeln!(
            out,
            "{}",
            line.map(|c| c.replace(['\t', '\n'], " ")).join("\t")
        )
    };
    // The output's own error (a closed pipe ends the command quietly), not a wrapped one.
    let mut closed: Option<std::io::Error> = None;
    let listed = mdm_service::conflicts::each_conflict(conn, rules, ctx, system, |f| {
        write(f).map_err(|e| {
            closed = Some(e);
            mdm_service::ServiceError::Invalid("the output was closed".into())
        })
    });
    if let Some(e) = closed {
        return Err(e.into());
    }
    listed?;
    eprintln!("{n} attributes whose source records disagree (* survived)");
    Ok(())
}

fn list(
    conn: &mut mdm_store::DbConnection,
    filter: &QuarantineFilter,
    json: bool,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        mdm_service::quarantine::export(conn, filter, Format::Ndjson, &mut out)?;
        return Ok(());
    }
    writeln!(
        out,
        "id\tdomain\tsystem\tsource:line\tfield\treason\tdetail"
    )?;
    let mut page = filter.clone();
    let mut n = 0usize;
    loop {
        let rows = mdm_service::quarantine::list(conn, &page, 1000)?;
        for r in &rows {
            writeln!(
                out,
                "{}\t{}\t{}\t{}:{}\t{}\t{}\t{}",
                r.id,
                r.domain,
                r.system,
                r.source,
                r.line,
                r.field.as_deref().unwrap_or("-"),
                r.reason,
                r.detail
            )?;
        }
        n += rows.len();
        match rows.last() {
            Some(last) if rows.len() == 1000 => page.after_id = Some(last.id),
            _ => break,
        }
    }
    eprintln!("{n} quarantined rows (`mdm quarantine show ID` shows one with its raw text)");
    Ok(())
}

fn show(out: &mut dyn Write, f: &Finding) -> std::io::Result<()> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "id:             {}", f.id)?;
    writeln!(out, "batch:          {}", f.batch_id)?;
    writeln!(out, "domain:         {}", f.domain)?;
    writeln!(out, "system:         {}", f.system)?;
    writeln!(out, "file:           {}", f.source)?;
    writeln!(out, "line:           {}", f.line)?;
    writeln!(out, "source_id:      {}", opt(&f.source_id))?;
    writeln!(out, "field:          {}", opt(&f.field))?;
    writeln!(out, "reason:         {}", f.reason)?;
    writeln!(out, "detail:         {}", f.detail)?;
    writeln!(out, "raw:            {}", opt(&f.raw))?;
    writeln!(out, "quarantined_at: {}", f.quarantined_at)
}
