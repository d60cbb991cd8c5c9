//! One module per subcommand; each exposes its clap `Args` and a `run`.

pub mod demo;
pub mod evaluate;
pub mod export;
pub mod generate;
pub mod ingest;
pub mod match_files;
pub mod match_report;
pub mod migrate;
pub mod publish;
pub mod quarantine;
pub mod reconcile;
pub mod report;
pub mod serve;
pub mod token;
pub mod train;
pub mod worker;

use crate::cli::{Cli, Command};
use crate::settings::Settings;

pub fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // Commands that need no database or configuration.
        Command::Generate(a) => generate::run(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Match(a) => {
            let settings = Settings::load(&cli.global)?;
            match_files::run(a, &settings)
        }
        Command::Ingest(a) => {
            let settings = Settings::load(&cli.global)?;
            ingest::run(a, &settings)
        }
        Command::Migrate(a) => {
            let settings = Settings::load(&cli.global)?;
            migrate::run(a, &settings)
        }
        Command::Train(a) => {
            let settings = Settings::load(&cli.global)?;
            train::run(a, &settings)
        }
        Command::Reconcile(a) => {
            let settings = Settings::load(&cli.global)?;
            reconcile::run(a, &settings)
        }
        Command::Worker(a) => {
            let settings = Settings::load(&cli.global)?;
            worker::run(a, &settings)
        }
        Command::Report(a) => {
            let settings = Settings::load(&cli.global)?;
            report::run(a, &settings)
        }
        Command::Export(a) => {
            let settings = Settings::load(&cli.global)?;
            export::run(a, &settings)
        }
        Command::Quarantine(a) => {
            let settings = Settings::load(&cli.global)?;
            quarantine::run(a, &settings)
        }
        Command::Demo(a) => {
            let settings = Settings::load(&cli.global)?;
            demo::run(a, &settings)
        }
        Command::Serve(a) => {
            let settings = Settings::load(&cli.global)?;
            serve::run(a, &settings)
        }
        Command::Publish(a) => {
            let settings = Settings::load(&cli.global)?;
            publish::run(a, &settings)
        }
        Command::Token(a) => {
            let settings = Settings::load(&cli.global)?;
            token::run(a, &settings)
        }
    }
}
