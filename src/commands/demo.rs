//! `mdm demo`: generates sample customer data for ERP, CRM and MES, ingests it, reconciles
//! and prints the report, all in one directory (default ./mdm-demo, with its own SQLite
//! database unless --database-url is given), then says where to look next.

use crate::settings::{Settings, DEFAULT_DATABASE_URL};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Directory for the data, the database and the report.
    #[arg(long, default_value = "mdm-demo")]
    pub dir: PathBuf,
    /// Real-world customers to generate (each appears in one or more systems).
    #[arg(long, default_value_t = 2000)]
    pub entities: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Print a JSON summary (loads, the run, the report and where the files are) on stdout
    /// instead of the text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DemoArgs, settings: &Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)?;
    let url = if settings.database_url == DEFAULT_DATABASE_URL {
        format!("sqlite://{}", args.dir.join("mdm.db").display())
    } else {
        settings.database_url.clone()
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} demo: {msg}  {elapsed}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    let show = |phase: &str, _: u64, _: u64| {
        if let Some(b) = &bar {
            b.set_message(phase.to_string());
        }
    };
    let outcome = mdm_service::demo::run(
        mdm_service::demo::DemoOptions {
            dir: &args.dir,
            database_url: &url,
            entities: args.entities,
            seed: args.seed,
            rules_dir: settings.rules_dir.as_deref(),
            declared: settings.declared_systems(),
            ctx: settings.std_context(),
        },
        &show,
    )?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let db = mdm_store::redact(&url);
    if args.json {
        let j = serde_json::json!({
            "entities": args.entities,
            "seed": args.seed,
            "database_url": db,
            "data_dir": outcome.data_dir,
            "loads": outcome.loads,
            "run": outcome.run,
            "report": outcome.report,
            "report_json": outcome.report_json,
            "report_html": outcome.report_html,
        });
        println!("{j}");
        return Ok(());
    }
    println!("mdm demo: {} customers in three systems", args.entities);
    for l in &outcome.loads {
        println!(
            "  ingested {:<4} {:>6} records ({} quarantined)",
            l.system, l.read, l.quarantined
        );
    }
    println!();
    print!("{}", outcome.report.text());
    println!();
    println!("Where to look next:");
    println!("  report         {}", outcome.report_html.display());
    println!("  source files   {}", outcome.data_dir.display());
    println!(
        "  golden records mdm --database-url {db} export golden --domain customer --out golden.csv"
    );
    println!(
        "  xref           mdm --database-url {db} export xref --domain customer --out xref.csv"
    );
    println!("  re-run         mdm --database-url {db} reconcile   (incremental: nothing changes)");
    println!("  serve the API  mdm --database-url {db} serve");
    Ok(())
}
