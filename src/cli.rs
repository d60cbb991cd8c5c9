//! Argument parsing (clap). Each subcommand's arguments live beside its code in `commands/`.

use crate::commands;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "mdm",
    version,
    about = "Master data management hub: ingest, match, survive, identify, publish"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, before or after the subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: ./mdm.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default sqlite://mdm.db) or postgres://...
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// More log output (-v info, -vv debug). MDM_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write synthetic source files (one CSV per system) and a truth file.
    Generate(commands::generate::GenerateArgs),
    /// Match files in memory (no database) and write every record's cluster.
    Match(commands::match_files::MatchArgs),
    /// Compare clusters with a truth file: pairwise precision/recall/F1 and B-cubed F1.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Load a CSV, NDJSON, JSON or Parquet file (or a configured SQL source) into staging.
    Ingest(commands::ingest::IngestArgs),
    /// Apply database migrations (they are also applied on every start).
    Migrate(commands::migrate::MigrateArgs),
    /// The nightly run: match staged records, survive, assign stable IDs, publish changes.
    Reconcile(commands::reconcile::ReconcileArgs),
    /// Score partitions of full runs on PostgreSQL (started by `mdm reconcile --workers N`,
    /// or any number started by hand, on any machine).
    Worker(commands::worker::WorkerArgs),
    /// Refine the match model with steward decisions, then re-score every pair.
    Train(commands::train::TrainArgs),
    /// Summarize a reconcile run (text, report.json, report.html).
    Report(commands::report::ReportArgs),
    /// Export the xref, golden records, scored pairs or relationships (CSV, NDJSON, Parquet).
    Export(commands::export::ExportArgs),
    /// List, show and export quarantined rows (data-quality findings).
    Quarantine(commands::quarantine::QuarantineArgs),
    /// Generate sample data, ingest, reconcile and report, in ./mdm-demo.
    Demo(commands::demo::DemoArgs),
    /// Serve the publish API (golden records, xref, change feed, pushes, webhooks).
    Serve(commands::serve::ServeArgs),
    /// Write golden IDs back into source systems' databases ([systems.NAME.writeback]).
    Publish(commands::publish::PublishArgs),
    /// Create, list and revoke API tokens.
    Token(commands::token::TokenArgs),
}
