//! `mdm migrate`: applies pending schema migrations (every command that opens the store
//! does this too) and says where the database stands.

use crate::settings::Settings;
use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: MigrateArgs, settings: &Settings) -> anyhow::Result<()> {
    let shown = mdm_store::redact(&settings.database_url);
    let mut conn = mdm_store::connect(&settings.database_url)?;
    let applied_now =
        mdm_store::migrate::run_pending(&mut conn).with_context(|| format!("migrating {shown}"))?;
    let all = mdm_store::migrate::applied(&mut conn)?;
    let latest = all.last().map_or("none", String::as_str);
    if args.json {
        let v = serde_json::json!({
            "database": shown.to_string(),
            "applied_now": applied_now,
            "schema_version": all.last(),
            "migrations": all.len(),
        });
        println!("{v}");
        return Ok(());
    }
    println!(
        "database {shown}: {} migration(s) applied now, schema version {latest} ({} in all)",
        applied_now.len(),
        all.len()
    );
    Ok(())
}
