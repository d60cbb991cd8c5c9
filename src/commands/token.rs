//! `mdm token create|list|revoke`: API tokens for `mdm serve`. A token is printed once, at
//! creation; the database keeps only its hash.

use crate::settings::Settings;
use anyhow::{bail, Context};
use mdm_api::auth::Role;

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    /// Print the result as JSON (create: one object; list: an array; revoke: one object).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only this once).
    Create {
        /// reader, writer, steward or admin; or reconcile: the reconciliation service only (OpenRefine), carried in its URL.
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
                bail!("--role must be reader, writer, steward, admin or reconcile, not `{role}`");
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
            if args.json {
                let v = serde_json::json!({
                    "id": t.id,
                    "token": t.token,
                    "role": role.as_str(),
                    "system": system.as_ref().map(|s| s.as_str()),
                    "label": label,
                });
                println!("{v}");
            } else {
                println!("{}", t.token);
            }
            eprintln!(
                "created {} token {} (shown only now; store it safely)",
                role.as_str(),
                t.id
            );
            if role == Role::Reconcile {
                eprintln!(
                    "OpenRefine service URL: http://<host:port>/reconcile/token/{}/<domain>",
                    t.token
                );
            }
        }
        TokenCommand::List if args.json => {
            let tokens: Vec<serde_json::Value> = mdm_store::tokens::list(&mut conn)?
                .into_iter()
                .map(|t| {
                    serde_json::json!({
                        "id": t.id,
                        "role": t.role,
                        "system": t.system,
                        "label": t.label,
                        "created_at": rfc3339(t.created_at),
                        "revoked_at": t.revoked_at.map(rfc3339),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::from(tokens));
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
            if args.json {
                println!("{}", serde_json::json!({ "revoked": id }));
            } else {
                println!("revoked token {id}");
            }
        }
    }
    Ok(())
}

/// A stored UTC timestamp as RFC 3339 with its zone (`2026-01-31T08:00:00Z`).
fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
