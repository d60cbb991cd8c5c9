//! Write-back: golden IDs (and chosen golden values) given back to a source system's own
//! database, from the change feed, so a source needs no code of its own to learn which
//! golden record each of its records belongs to.
//!
//! The feed tells *which* golden records changed; what is written is the hub's *current*
//! state of each (its xref rows of the system, its values), not the event's. So a batch
//! replayed after a crash, or an old event read after a newer one, writes the same rows
//! again, which the upsert finds equal and leaves alone; and the rows of one record always
//! end in the state of its last event, whatever the batching (order per record holds
//! because every write is of the latest state). Merges need nothing special: reconcile
//! re-points the retired record's xref rows at the survivor, so those rows get the
//! survivor's ID. Splits likewise. A source record the hub no longer holds (deleted in the
//! source) is found among the target rows that still point at a changed golden record, and
//! cleared or deleted (`OnRemoved`).
//!
//! Crash safety: per batch, the target commits first, then the cursor moves. A crash in
//! between re-reads the batch, and the re-applied batch writes nothing (see above).

use crate::ServiceError;
use mdm_store::feed::{ChangeEvent, FeedError};
use mdm_store::writeback::{self as wb, Applied, CheckedTarget, OnRemoved, TargetRow};
use mdm_store::DbConnection;
use std::collections::{BTreeMap, BTreeSet};

/// Events read (and one target transaction) per batch.
pub const DEFAULT_BATCH_EVENTS: i64 = 10_000;

/// Lookups of hub rows by ID, per statement.
const IDS_PER_LOOKUP: usize = 5_000;

/// How often a feed read that found a writer holding the feed is tried before giving up.
const BUSY_RETRIES: u32 = 12;

/// One system's write-back: where its rows go and for which domain.
#[derive(Debug, Clone)]
pub struct Job {
    pub system: String,
    pub domain: String,
    pub on_removed: OnRemoved,
    pub batch_events: i64,
}

/// The feed cursor of a system's write-back. Its own name, not the system's: an API
/// consumer named like the system (`GET /v1/changes?consumer=ERP`) keeps its own position,
/// and neither can acknowledge events the other has not handled. `:` cannot occur in a
/// consumer name the API accepts, so no API consumer can take this cursor either.
pub fn consumer_name(system: &str) -> String {
    format!("writeback:{system}")
}

/// What one `publish` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub system: String,
    pub domain: String,
    /// Feed positions before and after (the write-back cursor).
    pub from_seq: i64,
    pub to_seq: i64,
    /// Events read (all domains; only the job's domain writes).
    pub events: u64,
    pub batches: u64,
    /// Target rows inserted or changed, and rows cleared or deleted.
    pub written: u64,
    pub removed: u64,
    /// Milliseconds spent reading the feed, reading the hub's xref and golden values,
    /// writing the target, and moving the cursor.
    pub spent_ms: Spent,
}

/// Where a write-back's time went, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Spent {
    pub feed: u64,
    /// The hub's xref and (for removals) the target's rows pointing at changed records.
    pub xref: u64,
    /// The golden values the target wants.
    pub values: u64,
    pub target: u64,
    pub cursor: u64,
}

fn ms_since(t: std::time::Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

/// Writes everything after the system's write-back cursor into the target, batch by batch.
/// `after_commit` runs after each target commit and before the cursor moves (a test pauses
/// there to be killed).
pub fn publish(
    hub: &mut DbConnection,
    target: &mut DbConnection,
    checked: &CheckedTarget,
    job: &Job,
    after_commit: &mut dyn FnMut(i64),
) -> Result<Summary, ServiceError> {
    let consumer = consumer_name(&job.system);
    let start = mdm_store::cursors::get(hub, &consumer)?.acked_seq;
    let mut s = Summary {
        system: job.system.clone(),
        domain: job.domain.clone(),
        from_seq: start,
        to_seq: start,
        ..Summary::default()
    };
    loop {
        let t = std::time::Instant::now();
        let events = read_feed(hub, s.to_seq, job.batch_events.max(1))?;
        s.spent_ms.feed += ms_since(t);
        let Some(last) = events.last().map(|e| e.seq) else {
            break;
        };
        let applied = write_batch(hub, target, checked, job, &events, &mut s.spent_ms)?;
        after_commit(last);
        let t = std::time::Instant::now();
        mdm_store::cursors::ack(hub, &consumer, last)?;
        s.spent_ms.cursor += ms_since(t);
        s.to_seq = last;
        s.events += events.len() as u64;
        s.batches += 1;
        s.written += applied.written;
        s.removed += applied.removed;
        tracing::info!(
            system = %job.system,
            seq = last,
            events = events.len(),
            written = applied.written,
            removed = applied.removed,
            "write-back batch committed"
        );
    }
    Ok(s)
}

/// The feed after `after`, waiting out a reconcile that holds it (PostgreSQL).
fn read_feed(
    hub: &mut DbConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<ChangeEvent>, ServiceError> {
    for _ in 0..BUSY_RETRIES {
        match mdm_store::feed::event_heads_after(hub, after, limit) {
            Ok(events) => return Ok(events),
            Err(FeedError::Busy) => std::thread::sleep(std::time::Duration::from_secs(1)),
            Err(FeedError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::Conflict(
        "a reconcile run held the change feed for too long; try again".into(),
    ))
}

/// Golden record changes of the job's domain: the golden IDs they touch (retired ones too),
/// and whether any can have taken a source record away from a golden record (all but
/// `created`: a new golden record has no rows in the target yet).
fn touched(job: &Job, events: &[ChangeEvent]) -> (BTreeSet<String>, bool) {
    let mut ids = BTreeSet::new();
    let mut removals = false;
    for e in events.iter().filter(|e| e.domain == job.domain) {
        if !matches!(
            e.kind.as_str(),
            "created" | "updated" | "merged" | "split" | "deleted"
        ) {
            continue; // relationship events: no xref or value of the record changed
        }
        removals |= e.kind != "created";
        ids.insert(e.golden_id.clone());
        let retired: Vec<String> = e
            .retired_ids
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        ids.extend(retired);
    }
    (ids, removals)
}

fn write_batch(
    hub: &mut DbConnection,
    target: &mut DbConnection,
    checked: &CheckedTarget,
    job: &Job,
    events: &[ChangeEvent],
    spent: &mut Spent,
) -> Result<Applied, ServiceError> {
    let t = std::time::Instant::now();
    let (ids, removals) = touched(job, events);
    if ids.is_empty() {
        return Ok(Applied::default());
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    // source ID -> golden ID as the hub holds it now.
    let mut desired: BTreeMap<String, String> = BTreeMap::new();
    for part in ids.chunks(IDS_PER_LOOKUP) {
        for (gid, sid) in mdm_store::feed::xref_of_system(hub, &job.domain, &job.system, part)? {
            desired.insert(sid, gid);
        }
    }
    let mut removed = Vec::new();
    if removals {
        let pointing = wb::rows_pointing_at(target, checked, &ids).map_err(target_error)?;
        let moved: Vec<(String, String)> = pointing
            .into_iter()
            .filter(|(sid, _)| !desired.contains_key(sid))
            .map(|(sid, _)| (job.system.clone(), sid))
            .collect();
        let found = mdm_store::xref::by_keys(hub, &job.domain, &moved)?;
        let now: BTreeMap<&str, &str> = found
            .iter()
            .map(|x| (x.source_id.as_str(), x.golden_id.as_str()))
            .collect();
        for (_, sid) in &moved {
            match now.get(sid.as_str()) {
                Some(gid) => {
                    desired.insert(sid.clone(), gid.to_string());
                }
                None => removed.push(sid.clone()),
            }
        }
    }
    spent.xref += ms_since(t);
    let t = std::time::Instant::now();
    let rows = target_rows(hub, checked, desired)?;
    spent.values += ms_since(t);
    let t = std::time::Instant::now();
    let applied = wb::apply(target, checked, &rows, &removed, job.on_removed).map_err(target_error);
    spent.target += ms_since(t);
    applied
}

/// The rows as they should be, with the configured golden values.
fn target_rows(
    hub: &mut DbConnection,
    checked: &CheckedTarget,
    desired: BTreeMap<String, String>,
) -> Result<Vec<TargetRow>, ServiceError> {
    let wanted = &checked.target.values;
    let mut values: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    if !wanted.is_empty() {
        let gids: BTreeSet<&str> = desired.values().map(String::as_str).collect();
        let gids: Vec<&str> = gids.into_iter().collect();
        for (golden_id, attributes) in mdm_store::golden::attributes_by_ids(hub, &gids)? {
            let attrs: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&attributes).map_err(|e| {
                    ServiceError::Corrupt(format!("attributes of {golden_id}: {e}"))
                })?;
            let row = wanted
                .iter()
                .map(|(attr, _)| match attrs.get(attr) {
                    None | Some(serde_json::Value::Null) => None,
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                })
                .collect();
            values.insert(golden_id, row);
        }
    }
    Ok(desired
        .into_iter()
        .map(|(source_id, golden_id)| TargetRow {
            values: values
                .get(&golden_id)
                .cloned()
                .unwrap_or_else(|| vec![None; wanted.len()]),
            source_id,
            golden_id,
        })
        .collect())
}

fn target_error(e: wb::WritebackError) -> ServiceError {
    match e {
        wb::WritebackError::Store(s) => ServiceError::Store(s),
        other => ServiceError::Invalid(other.to_string()),
    }
}

/// Connects to the target and checks its table (creating it first when `create`).
pub fn open_target(
    url: &str,
    table: &wb::TargetTable,
    create: bool,
) -> Result<(DbConnection, CheckedTarget), ServiceError> {
    let mut conn = wb::connect_target(url)?;
    let checked = wb::check(&mut conn, table, create).map_err(target_error)?;
    Ok((conn, checked))
}
