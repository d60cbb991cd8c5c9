//! `mdm worker`: scores partitions of full runs that coordinators wrote to the ledger
//! (`distributed`). Stateless: any number run, on any machine that reaches the database,
//! started and stopped at will. A worker claims a partition with a lease, renews the lease
//! on a second session while it scores, and writes the partition's edges with its `done`
//! state in one transaction, only if it still holds the partition. One killed mid-partition
//! leaves a lease that runs out; another worker then takes the partition over.

use super::distributed::{decode_cutoffs, decode_members, edge, model_hash};
use crate::ServiceError;
use mdm_core::partition::{self, Partitioning};
use mdm_core::pipeline::features::RawTable;
use mdm_core::rematch::Model;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::partitions::{Claim, Finished};
use mdm_store::DbConnection;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How a worker works.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Names the worker in the ledger (host and process id).
    pub id: String,
    /// Only partitions of this run; the worker exits once the run has none left to claim
    /// and is not running any more or has every partition done. `None`: any run, forever.
    pub run: Option<i64>,
    pub lease: Duration,
    /// How long to wait before looking again when nothing can be claimed.
    pub poll: Duration,
    /// Fault tests: hold each claimed partition this long before scoring it.
    pub hold_after_claim: Option<Duration>,
}

/// What a worker did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WorkerSummary {
    pub partitions: u64,
    pub pairs_scored: u64,
    pub pairs_kept: u64,
    /// Partitions whose lease it lost before it could finish them (another took them over).
    pub lost: u64,
}

/// A run's fixed inputs, read once per run.
struct RunContext {
    rules: DomainRules,
    model: Model,
    part: Partitioning,
}

/// Works until the run is over (`opts.run`) or forever. `rules_of` loads a domain's rules
/// as the worker's configuration has them; `renewer` is a second session for the lease.
pub fn work(
    conn: &mut DbConnection,
    renewer: &mut DbConnection,
    rules_of: &dyn Fn(&str) -> Result<DomainRules, ServiceError>,
    ctx: &StdContext,
    opts: &WorkerOptions,
) -> Result<WorkerSummary, ServiceError> {
    let lease_secs = opts.lease.as_secs().max(1) as i64;
    // The run last worked on: a worker usually takes many partitions of one run.
    let mut current: Option<(i64, RunContext)> = None;
    let mut summary = WorkerSummary::default();
    loop {
        let Some(claim) = mdm_store::partitions::claim(conn, &opts.id, opts.run, lease_secs)?
        else {
            if let Some(run) = opts.run {
                if run_over(conn, run)? {
                    return Ok(summary);
                }
            }
            std::thread::sleep(opts.poll);
            continue;
        };
        let _span =
            tracing::info_span!("partition", run_id = claim.run_id, part = claim.part).entered();
        tracing::info!(attempts = claim.attempts, "claimed");
        if current.as_ref().is_none_or(|(run, _)| *run != claim.run_id) {
            current = Some((claim.run_id, run_context(conn, rules_of, claim.run_id)?));
        }
        let Some((_, rc)) = current.as_ref() else {
            continue;
        };
        let t = Instant::now();
        let scored = with_lease(renewer, claim, &opts.id, lease_secs, || {
            if let Some(hold) = opts.hold_after_claim {
                std::thread::sleep(hold);
            }
            score(conn, rc, ctx, claim)
        })?;
        let (edges, pairs_scored) = scored;
        let done = Finished {
            pairs_scored: pairs_scored as i64,
            edges: &edges,
        };
        if mdm_store::partitions::finish(conn, claim, &opts.id, done)? {
            summary.partitions += 1;
            summary.pairs_scored += pairs_scored;
            summary.pairs_kept += edges.len() as u64;
            tracing::info!(
                pairs_scored,
                kept = edges.len(),
                ms = t.elapsed().as_millis() as u64,
                "partition done"
            );
        } else {
            summary.lost += 1;
            tracing::warn!("lost the partition's lease before finishing; its result is dropped");
        }
    }
}

/// The run has nothing left for a worker: not running any more, or every partition done.
fn run_over(conn: &mut DbConnection, run: i64) -> Result<bool, ServiceError> {
    let running = mdm_store::runs::get(conn, run)?.is_some_and(|r| r.status == "running");
    Ok(!running || mdm_store::partitions::open_count(conn, run)? == 0)
}

fn run_context(
    conn: &mut DbConnection,
    rules_of: &dyn Fn(&str) -> Result<DomainRules, ServiceError>,
    run: i64,
) -> Result<RunContext, ServiceError> {
    let inputs = mdm_store::partitions::inputs(conn, run)?
        .ok_or_else(|| ServiceError::NotFound(format!("run {run} has no partition inputs")))?;
    let rules = rules_of(&inputs.domain)?;
    let json = super::matching::stored_model_json(conn, &rules)?;
    let json = json
        .filter(|j| model_hash(j) == inputs.model_hash)
        .ok_or_else(|| {
            ServiceError::Conflict(format!(
                "run {run}: this worker's rules or the stored model of domain {} differ from the \
             coordinator's (is its configuration the same?)",
                inputs.domain
            ))
        })?;
    let model: Model =
        serde_json::from_str(&json).map_err(|e| ServiceError::UnreadableModel(e.to_string()))?;
    let count = u32::try_from(inputs.partitions)
        .map_err(|_| ServiceError::Corrupt(format!("run {run}: partition count")))?;
    let part = Partitioning::for_worker(count, &decode_cutoffs(&inputs.cutoffs)?);
    Ok(RunContext { rules, model, part })
}

/// Runs `f` while a thread renews the lease on `renewer` every third of its length.
fn with_lease<T>(
    renewer: &mut DbConnection,
    claim: Claim,
    worker: &str,
    lease_secs: i64,
    f: impl FnOnce() -> Result<T, ServiceError>,
) -> Result<T, ServiceError> {
    let every = Duration::from_millis(lease_secs as u64 * 1000 / 3);
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                match mdm_store::partitions::renew(renewer, claim, worker, lease_secs) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!("lease lost: another worker holds the partition");
                        return;
                    }
                    // A failed renewal is retried; the lease runs out only if it keeps failing.
                    Err(e) => tracing::warn!(error = %e, "renewing the lease failed"),
                }
            }
        });
        let out = f();
        let _ = stop.send(());
        out
    })
}

/// Scores a claimed partition: its kept pairs as edges and its candidate pair count.
fn score(
    conn: &mut DbConnection,
    rc: &RunContext,
    ctx: &StdContext,
    claim: Claim,
) -> Result<(Vec<mdm_store::partitions::Edge>, u64), ServiceError> {
    let m = decode_members(&mdm_store::partitions::members(
        conn,
        claim.run_id,
        claim.part,
    )?)?;
    let records =
        super::input::versions_in_order(conn, &rc.rules, &m.staging_ids).map_err(|e| {
            ServiceError::Corrupt(format!(
                "run {}, partition {}: {e}",
                claim.run_id, claim.part
            ))
        })?;
    let mut raw = RawTable::new(&rc.rules);
    for r in &records {
        raw.push(r.key.clone(), |a| r.values[a].as_deref());
    }
    drop(records);
    let (kept, candidates) = partition::score_partition(
        &rc.rules,
        ctx,
        &rc.model,
        &rc.part,
        claim.part as u32,
        &m.globals,
        raw,
        &m.keys,
    )?;
    Ok((kept.iter().map(edge).collect(), candidates))
}
