//! One module per subcommand; each exposes its clap `Args` and a `run`.

pub mod evaluate;
pub mod generate;
pub mod ingest;
pub mod match_files;
pub mod migrate;

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
        Command::Migrate => {
            let settings = Settings::load(&cli.global)?;
            migrate::run(&settings)
        }
    }
}
