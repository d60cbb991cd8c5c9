//! `mdm publish [--system ERP]`: writes golden IDs (and chosen golden values) back into each
//! source system's own database, as `[systems.NAME.writeback]` configures, from the change
//! feed since the system's last write-back. `mdm serve` does the same every `interval_secs`.

use crate::settings::{Settings, WritebackSettings};
use anyhow::{bail, Context};
use mdm_core::SystemName;
use std::time::Duration;

/// Test hook: with this variable set, `mdm publish` stops after the first target commit,
/// before its cursor moves, says so on stderr and waits, so a test can kill it exactly
/// there (the crash the write-back must survive without writing twice).
const PAUSE_AFTER_COMMIT: &str = "MDM_TEST_PAUSE_AFTER_TARGET_COMMIT";

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The source system to write back to (default: every system with a writeback target).
    #[arg(long)]
    pub system: Option<String>,
    /// Create the target table when it is missing (source ID as primary key, golden ID and
    /// values as text, an index on the golden ID). Without it a missing table is an error.
    #[arg(long)]
    pub create_table: bool,
    /// Print each system's summary as one JSON line.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: PublishArgs, settings: &Settings) -> anyhow::Result<()> {
    let targets = targets(settings, args.system.as_deref())?;
    let mut hub = mdm_store::open(&settings.database_url)?;
    let pause = std::env::var_os(PAUSE_AFTER_COMMIT).is_some();
    for (system, wb) in targets {
        check_domain(settings, &wb)?;
        let (mut target, checked) =
            mdm_service::writeback::open_target(&wb.url, &wb.table, args.create_table)
                .with_context(|| format!("write-back target of {system}"))?;
        let mut after_commit = |seq: i64| {
            if pause {
                eprintln!(
                    "write-back target committed up to seq {seq}; pausing ({PAUSE_AFTER_COMMIT})"
                );
                std::thread::sleep(Duration::from_secs(600));
            }
        };
        let s = mdm_service::writeback::publish(
            &mut hub,
            &mut target,
            &checked,
            &job(&system, &wb),
            &mut after_commit,
        )
        .with_context(|| format!("write-back to {system}"))?;
        if args.json {
            println!("{}", serde_json::to_string(&s)?);
        } else {
            println!(
                "{system}: {} rows written, {} removed into {} (feed {} -> {}, {} events)",
                s.written,
                s.removed,
                wb.table.name(),
                s.from_seq,
                s.to_seq,
                s.events
            );
        }
    }
    Ok(())
}

fn job(system: &SystemName, wb: &WritebackSettings) -> mdm_service::writeback::Job {
    mdm_service::writeback::Job {
        system: system.to_string(),
        domain: wb.domain.clone(),
        on_removed: wb.on_removed,
        batch_events: wb.batch_events,
    }
}

/// The configured targets, or the one of `system`.
fn targets(
    settings: &Settings,
    system: Option<&str>,
) -> anyhow::Result<Vec<(SystemName, WritebackSettings)>> {
    let all = settings
        .systems
        .iter()
        .filter_map(|(n, s)| Some((n.clone(), s.writeback.clone()?)));
    match system {
        None => {
            let all: Vec<_> = all.collect();
            if all.is_empty() {
                bail!("no [systems.NAME.writeback] is configured");
            }
            Ok(all)
        }
        Some(raw) => {
            let name = SystemName::parse(raw)?;
            match all.into_iter().find(|(n, _)| *n == name) {
                Some(t) => Ok(vec![t]),
                None => bail!("[systems.{name}.writeback] is not configured"),
            }
        }
    }
}

/// The domain exists and has every attribute the target wants back: a typo fails here,
/// not as a column that stays empty.
fn check_domain(settings: &Settings, wb: &WritebackSettings) -> anyhow::Result<()> {
    let rules = mdm_rules::load_domain(settings.rules_dir.as_deref(), &wb.domain)?;
    for (attr, _) in &wb.table.values {
        if !rules.attributes.iter().any(|a| a.name == *attr) {
            bail!(
                "write-back value `{attr}` is not an attribute of domain {}",
                wb.domain
            );
        }
    }
    Ok(())
}

/// `mdm serve`: one thread per target with `interval_secs` > 0, writing back that often.
/// A failed round (target down, say) is logged and tried again next time, on fresh
/// connections. Two servers writing back the same target at once only repeat each other's
/// writes: the upserts make a repeat a no-op.
pub fn start_while_serving(settings: &Settings) {
    for (system, s) in &settings.systems {
        let Some(wb) = s.writeback.clone().filter(|w| w.interval_secs > 0) else {
            continue;
        };
        let (system, settings) = (system.clone(), settings.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(wb.interval_secs));
            if let Err(e) = publish_once(&settings, &system, &wb) {
                tracing::warn!(system = %system, error = %format!("{e:#}"), "write-back failed; trying again later");
            }
        });
    }
}

fn publish_once(
    settings: &Settings,
    system: &SystemName,
    wb: &WritebackSettings,
) -> anyhow::Result<()> {
    check_domain(settings, wb)?;
    let mut hub = mdm_store::open(&settings.database_url)?;
    let (mut target, checked) = mdm_service::writeback::open_target(&wb.url, &wb.table, false)?;
    mdm_service::writeback::publish(
        &mut hub,
        &mut target,
        &checked,
        &job(system, wb),
        &mut |_| {},
    )?;
    Ok(())
}
