//! `mdm train`: refine a domain's match model with the stewards' decisions (must-links as
//! labelled matches, cannot-links as labelled non-matches), then re-score every pair with
//! it in a full reconcile run; prints how the review backlog changed.

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Domain whose model to refine.
    #[arg(long)]
    pub domain: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: TrainArgs, settings: &Settings) -> anyhow::Result<()> {
    let mut conn = mdm_store::open(&settings.database_url)?;
    mdm_store::systems::sync_declared(&mut conn, &settings.declared_systems())?;
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &args.domain)?;
    let ctx = settings.std_context();
    let r = mdm_service::steward::train::train(&mut conn, &rules, &ctx, &|_, _, _| {})?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "{}: model refined with {} must-link and {} cannot-link decisions; run {} re-scored every pair",
            r.domain, r.matches, r.non_matches, r.run.run_id
        );
        println!(
            "review backlog: {} -> {} pairs",
            r.review_before, r.review_after
        );
    }
    Ok(())
}
