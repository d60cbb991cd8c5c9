//! `mdm token create|list|revoke`: API tokens for `mdm serve`. A token is printed once, at
//! creation; the database keeps only its hash.

use crate::settings::Settings;
use anyhow::{bail, Context};
use mdm_api::auth::Role;

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only this once).
    Create {
        /// reader, writer, steward or admin.
        #[arg(long)]
        role: String,
        /// Limit a writer to one source system's records (and that consumer's feed).
        #[arg(long, value_name = "SYSTEM")]
        system: Option<String>,
        /// A note on who or what uses the token.
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (ids, roles, systems; never the tokens).
    List,
    /// Revoke a token by its id (as `list` shows it).
    Revoke { id: String },
}

pub fn run(args: TokenArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = mdm_store::open(&settings.database_url)?;
    match args.command {
        TokenCommand::Create {
            role,
            system,
            label,
        } => {
            let Some(role) = Role::parse(&role) else {
                bail!("--role must be reader, writer, steward or admin, not `{role}`");
            };
            let system = match system {
                Some(s) => Some(mdm_core::SystemName::parse(&s).context("--system")?),
                None => None,
            };
            if system.is_some() && role != Role::Writer {
                bail!(
                    "--system limits a writer token; a {} token is not limited to a system",
                    role.as_str()
                );
            }
            let t = mdm_api::auth::create(
                &mut conn,
                role,
                system.as_ref().map(|s| s.as_str()),
                label.as_deref(),
            )?;
            println!("{}", t.token);
            eprintln!(
                "created {} token {} (shown only now; store it safely)",
                role.as_str(),
                t.id
            );
        }
        TokenCommand::List => {
            println!("id\trole\tsystem\tlabel\tcreated_at\trevoked_at");
            for t in mdm_store::tokens::list(&mut conn)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.role,
                    t.system.unwrap_or_default(),
                    t.label.unwrap_or_default(),
                    t.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
                    t.revoked_at
                        .map(|r| r.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                        .unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { id } => {
            if !mdm_store::tokens::revoke(&mut conn, id.trim())? {
                bail!("no live token has id `{id}` (see `mdm token list`)");
            }
            println!("revoked token {id}");
        }
    }
    Ok(())
}
