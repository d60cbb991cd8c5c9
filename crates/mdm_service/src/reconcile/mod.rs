//! The nightly run, `mdm reconcile`: match the staged records of a domain, apply steward
//! decisions, survive, assign stable IDs, and write golden records, xref, redirects,
//! history, change events and the run ledger.
//!
//! Shape of a run:
//! 1. open a ledger row (`running`), in its own transaction;
//! 2. read (`input`): current staged records, the previous xref and golden records,
//!    decisions, locks, trust ranks;
//! 3. match (`matching`): with the domain's frozen model (trained on the first run or when
//!    the rules change), re-scoring every candidate pair (`full`) or only pairs that touch
//!    records changed since the last run (`incremental`, the default), then cluster;
//! 4. identify (`plan`): stable IDs per cluster, and which previous golden records retire;
//! 5. survive and write (`write`, with `plan`'s changes a chunk of clusters at a time: only
//!    clusters whose records changed are survived again in an incremental run): all
//!    changes, events and the ledger's final counts in ONE transaction, so a run killed at
//!    any moment leaves the previous state intact, and a run with no changes writes nothing
//!    but its ledger row.

mod audit;
mod distributed;
mod guard;
mod incremental;
mod input;
mod key_table;
mod matching;
mod memory;
mod partitioned;
mod plan;
mod quality;
mod relationships;
mod worker;
mod write;

use crate::ServiceError;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::runs::RunCounts;
use mdm_store::DbConnection;
use std::time::Instant;

pub use distributed::Workers;
pub use input::key_strings;
pub use matching::stored_model;
use matching::PendingModel;
pub use quality::{golden_quality, value_findings, ValueFinding};
pub use worker::{work, WorkerOptions, WorkerSummary};

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReconcileOptions {
    /// Re-score every candidate pair instead of only those touching changed records.
    pub full: bool,
    /// Train a new match model (implies `full`).
    pub retrain: bool,
    /// A full run matches partition by partition, about this many block memberships each
    /// (bounded memory; with a stored model the same result); `None`: in one pass.
    pub partition_records: Option<usize>,
    /// A partitioned first run (or retraining) trains its model on a sample of about this
    /// many records; `None`: on every record.
    pub train_sample: Option<usize>,
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    pub domain: String,
    pub mode: String,
    pub counts: RunCounts,
    pub stats: RunStats,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunStats {
    pub clusters: u64,
    pub dirty_records: u64,
    pub vanished_records: u64,
    /// Records an incremental run read for the blocks of the changed ones.
    pub block_records: u64,
    pub candidate_pairs: u64,
    pub pairs_scored: u64,
    /// Pairs kept after scoring (review or better, or overridden): the run's edges, held
    /// until the write.
    pub kept_pairs: u64,
    pub clusters_survived: u64,
    pub events: u64,
    pub trained: bool,
    /// Records the model was trained on, when a partitioned run trained it on a sample.
    #[serde(skip_serializing_if = "is_zero")]
    pub train_sample: u64,
    /// A partitioned full run: its partitions, block memberships summed over them, and the
    /// records of the largest (0 when matched in one pass).
    pub partitions: u64,
    pub partition_memberships: u64,
    pub largest_partition: u64,
    /// Seconds per phase.
    pub timings: Vec<(String, f64)>,
    /// Per phase end: the process's resident and peak resident memory in MiB.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub memory_mib: Vec<(String, u64, u64)>,
    /// The relationship step (`relationships`), when a type has an end in the domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relationships: Option<relationships::RelationshipStats>,
}

impl RunStats {
    /// Notes the process's resident memory at the end of `phase`.
    pub fn note_memory(&mut self, phase: &str) {
        if let Some(m) = memory::resident() {
            self.memory_mib
                .push((phase.to_string(), m.rss_mib, m.peak_mib));
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Reports phases to a progress display: `(phase, done, total)`.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Reconciles one domain. The ledger row says `failed` (with the error) when it fails.
pub fn reconcile(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    opts: ReconcileOptions,
    progress: Progress<'_>,
) -> Result<RunSummary, ServiceError> {
    reconcile_with_reader(conn, None, rules, ctx, opts, progress)
}

/// [`reconcile`], with a second connection to the same database (`reader`) that an
/// incremental run reads on beside `conn`: the blocks of the changed records are read half
/// on each, so two database sessions (PostgreSQL backends, or SQLite readers on two
/// threads) work at once. Only committed data is read on it, as on `conn` before the write.
pub fn reconcile_with_reader(
    conn: &mut DbConnection,
    reader: Option<&mut DbConnection>,
    rules: &DomainRules,
    ctx: &StdContext,
    opts: ReconcileOptions,
    progress: Progress<'_>,
) -> Result<RunSummary, ServiceError> {
    reconcile_distributed(conn, reader, rules, ctx, opts, None, progress)
}

/// [`reconcile_with_reader`], a partitioned full run handing its partitions to `workers`
/// (PostgreSQL; `None`: scored in-process). Other runs ignore `workers`: an incremental run
/// is small, and a first run trains its model in one pass.
pub fn reconcile_distributed(
    conn: &mut DbConnection,
    mut reader: Option<&mut DbConnection>,
    rules: &DomainRules,
    ctx: &StdContext,
    opts: ReconcileOptions,
    mut workers: Option<&mut (dyn Workers + '_)>,
    progress: Progress<'_>,
) -> Result<RunSummary, ServiceError> {
    let json = if opts.retrain {
        None
    } else {
        matching::stored_model_json(conn, rules)?
    };
    let full = opts.full || opts.retrain || json.is_none();
    let model = json.map(PendingModel::parse);
    let again = reader.as_deref_mut();
    let part = opts.partition_records.filter(|&n| n > 0);
    let sample = opts.train_sample.filter(|&n| n > 0);
    match start(
        conn,
        again,
        rules,
        ctx,
        (full, part, sample),
        model,
        false,
        workers.as_deref_mut(),
        progress,
    ) {
        // Stored by another version of mdm, say: train a new one, as when the rules change.
        Err(ServiceError::UnreadableModel(e)) => {
            tracing::warn!(domain = %rules.domain, error = %e, "retraining");
            start(
                conn,
                reader,
                rules,
                ctx,
                (true, part, sample),
                None,
                false,
                workers,
                progress,
            )
        }
        r => r,
    }
}

/// A full run with `model` (refined by `mdm train`) installed as the domain's model: every
/// pair is scored and stored with it, so later incremental runs agree with it.
pub fn reconcile_with_model(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    model: mdm_core::rematch::Model,
    progress: Progress<'_>,
) -> Result<RunSummary, ServiceError> {
    let model = Some(PendingModel::Ready(model));
    start(
        conn,
        None,
        rules,
        ctx,
        (true, None, None),
        model,
        true,
        None,
        progress,
    )
}

#[allow(clippy::too_many_arguments)]
fn start(
    conn: &mut DbConnection,
    reader: Option<&mut DbConnection>,
    rules: &DomainRules,
    ctx: &StdContext,
    (full, partition, sample): (bool, Option<usize>, Option<usize>),
    model: Option<PendingModel>,
    install: bool,
    workers: Option<&mut (dyn Workers + '_)>,
    progress: Progress<'_>,
) -> Result<RunSummary, ServiceError> {
    let domain = rules.domain.as_str();
    let mode = if full { "full" } else { "incremental" };
    let run_id = mdm_store::runs::start(conn, domain, mode)?;
    let _span = tracing::info_span!("reconcile", domain, run_id, mode).entered();
    match run(
        conn,
        reader,
        rules,
        ctx,
        run_id,
        (full, partition, sample),
        model,
        install,
        workers,
        progress,
    ) {
        Ok(s) => Ok(s),
        Err(e) => {
            let msg = e.to_string();
            tracing::error!(run_id, error = %msg, "reconcile failed");
            let stats = serde_json::json!({});
            let _ = mdm_store::runs::finish(
                conn,
                run_id,
                "failed",
                &RunCounts::default(),
                &stats,
                Some(&msg),
            );
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    conn: &mut DbConnection,
    reader: Option<&mut DbConnection>,
    rules: &DomainRules,
    ctx: &StdContext,
    run_id: i64,
    (full, partition, sample): (bool, Option<usize>, Option<usize>),
    model: Option<PendingModel>,
    install: bool,
    workers: Option<&mut (dyn Workers + '_)>,
    progress: Progress<'_>,
) -> Result<RunSummary, ServiceError> {
    let mut stats = RunStats::default();
    let phase = |name: &str, t: Instant, stats: &mut RunStats| {
        stats
            .timings
            .push((name.to_string(), t.elapsed().as_secs_f64()));
        stats.note_memory(name);
    };
    progress("match", 0, 0);
    let t = Instant::now();
    let domain = rules.domain.as_str();
    let prev = mdm_store::runs::latest(conn, Some(domain), Some("completed"))?;
    // Recorded before anything is read: the next run looks for changes after this point.
    let (read, batches) = incremental::staged_read(conn, domain, prev.as_ref().map(|r| r.id))?;
    mdm_store::matchstate::put_staged_read(conn, run_id, domain, &read)?;
    let (input, matched) = match (full, model) {
        (false, Some(model)) => {
            let since = prev.map(|r| r.started_at);
            incremental::prepare(
                conn,
                reader,
                rules,
                ctx,
                model,
                since,
                batches.as_deref(),
                &mut stats,
            )?
        }
        (_, model) => {
            let model = model.map(PendingModel::wait).transpose()?;
            // Partitioned, the run holds per record only its key and versions, and reads
            // values a chunk or partition at a time (partitions need a frozen model).
            let input = if partition.is_some() {
                input::Input::load_lean(conn, rules)?
            } else {
                input::Input::load(conn, rules)?
            };
            phase("match.read", t, &mut stats);
            let previous = match &model {
                Some(m) if !install => {
                    matching::previous_keys(conn, rules, ctx, m, &input, &input.dirty())?
                }
                _ => Vec::new(),
            };
            let remote = workers.map(|workers| distributed::Remote { run_id, workers });
            let mut matched = matching::run_full(
                conn,
                rules,
                ctx,
                &input,
                model,
                install,
                (partition, sample),
                remote,
                &mut stats,
            )?;
            matched.previous_keys = previous;
            (input, matched)
        }
    };
    phase("match", t, &mut stats);
    stats.kept_pairs = matched.kept.len() as u64;

    progress("identify", 0, matched.clusters.len() as u64);
    let t = Instant::now();
    let plan = plan::plan(rules, &input, &matched, full, &mut stats, |ids| {
        mdm_store::golden::existing_ids(conn, ids)
    })?;
    phase("identify", t, &mut stats);

    // Survivorship happens in the write, a chunk of clusters at a time (`write.survive`).
    progress("write", 0, 0);
    stats.clusters = matched.clusters.len() as u64;
    let mode = if full { "full" } else { "incremental" };
    let group_part = partition.unwrap_or(relationships::GROUP_PART);
    let counts = write::write(
        conn, rules, ctx, &input, &matched, plan, run_id, group_part, &mut stats,
    )?;
    if !matched.subset || stats.dirty_records > 100_000 {
        // After the commit: the run's result stands even if this upkeep fails.
        let t = Instant::now();
        if let Err(e) = mdm_store::matchstate::vacuum_analyze(conn) {
            tracing::warn!(run_id, error = %e, "VACUUM/ANALYZE after the run failed");
        }
        phase("vacuum_analyze", t, &mut stats);
    }
    tracing::info!(
        run_id,
        records = counts.records,
        created = counts.created,
        updated = counts.updated,
        merged = counts.merged,
        split = counts.split,
        deleted = counts.deleted,
        "reconcile done"
    );
    Ok(RunSummary {
        run_id,
        domain: rules.domain.clone(),
        mode: mode.into(),
        counts,
        stats,
    })
}
