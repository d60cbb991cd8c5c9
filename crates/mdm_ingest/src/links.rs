//! The load of a links file: streams its rows into `staging_links`, one chunk per
//! transaction, with the guarantees of a record load (`load`): every row read is staged
//! (new, changed or unchanged) or quarantined with a reason; a re-load changes nothing; a
//! load with too many bad rows is refused and stages nothing; `--snapshot` marks the file
//! links of (domain, system) it lacks deleted, unless a row could not be read.

mod prepare;
pub mod references;

pub use prepare::{LinkPreparer, PreparedLink};

use crate::adapters::RecordSource;
use crate::load::{
    alive, next_version, quarantined, Latest, LoadOptions, LoadSummary, QuarantineLimits,
    SkippedDeletions,
};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use mdm_core::relationships::{LinkOrigin, RelationshipRules};
use mdm_store::batches::{self, BatchCounts, BatchStatus};
use mdm_store::links::{self, LinkKey, LiveLink, NewLink};
use mdm_store::quarantine::NewQuarantinedRow;
use mdm_store::staging::RecordStatus;
use mdm_store::systems::{self, Registration};
use mdm_store::{now, DbConnection};
use std::collections::{HashMap, HashSet};

/// Loads every row of `source` as links starting in `opts.domain`.
pub fn load_links(
    conn: &mut DbConnection,
    rules: &RelationshipRules,
    opts: &LoadOptions<'_>,
    limits: QuarantineLimits,
    source: &mut dyn RecordSource,
    progress: &mut dyn FnMut(u64),
) -> Result<LoadSummary, IngestError> {
    let system = opts.system.as_str();
    let registered =
        systems::ensure_registered(conn, system)? == Registration::RegisteredUndeclared;
    let label = source.label().to_string();
    let batch_id = batches::start(conn, opts.domain, system, &label, opts.snapshot)?;
    tracing::info!(batch_id, domain = opts.domain, system, source = %label, "links load started");
    let preparer = LinkPreparer {
        rules,
        domain: opts.domain,
        system,
    };
    let mut w = Writer {
        batch_id,
        domain: opts.domain,
        system,
        source: &label,
        limits,
        counts: BatchCounts::default(),
        unreadable: 0,
        stored: 0,
        not_stored: 0,
    };
    let chunk_size = opts.chunk_size.max(1);
    let mut chunk: Vec<(u64, Result<PreparedLink, Rejection>)> = Vec::new();
    let result = source
        .for_each_row(&mut |row: RawRow| {
            chunk.push((row.number, row.content.and_then(|f| preparer.prepare(f))));
            if chunk.len() >= chunk_size {
                w.write(conn, std::mem::take(&mut chunk))?;
                progress(w.counts.read);
            }
            Ok(())
        })
        .and_then(|()| w.write(conn, std::mem::take(&mut chunk)));
    let mut skipped = None;
    let result = result.and_then(|()| {
        if opts.snapshot && w.unreadable > 0 {
            skipped = Some(SkippedDeletions {
                reason: "unreadable_rows",
                unreadable_rows: w.unreadable,
            });
        } else if opts.snapshot {
            alive(conn, batch_id)?;
            w.counts.deleted = links::delete_unseen(conn, opts.domain, system, batch_id)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        return Err(fail(conn, batch_id, w.counts, e));
    }
    batches::finish(conn, batch_id, &w.counts, BatchStatus::Completed, None)?;
    let (c, not_stored) = (w.counts, w.not_stored);
    tracing::info!(
        batch_id,
        read = c.read,
        new = c.new,
        changed = c.changed,
        quarantined = c.quarantined,
        "links load finished"
    );
    Ok(LoadSummary {
        batch_id,
        domain: opts.domain.to_string(),
        system: system.to_string(),
        file: label,
        read: c.read,
        new: c.new,
        changed: c.changed,
        unchanged: c.unchanged,
        deleted: c.deleted,
        quarantined: c.quarantined,
        quarantine_not_stored: not_stored,
        snapshot_deletions_skipped: skipped,
        reference_links: Default::default(),
        registered_system: registered,
    })
}

/// Marks the batch failed; a refused load's links are taken back in the same transaction.
fn fail(
    conn: &mut DbConnection,
    batch_id: i64,
    counts: BatchCounts,
    e: IngestError,
) -> IngestError {
    let refused = matches!(e, IngestError::TooManyQuarantined { .. });
    let message = e.to_string();
    let result = conn.write_transaction(|c| {
        let mut counts = counts;
        if refused {
            links::roll_back_batch(c, batch_id)?;
            (counts.new, counts.changed, counts.unchanged, counts.deleted) = (0, 0, 0, 0);
        }
        batches::finish(c, batch_id, &counts, BatchStatus::Failed, Some(&message))
    });
    match result {
        Err(store) if refused => store.into(),
        _ => e,
    }
}

struct Writer<'a> {
    batch_id: i64,
    domain: &'a str,
    system: &'a str,
    source: &'a str,
    limits: QuarantineLimits,
    counts: BatchCounts,
    unreadable: u64,
    stored: u64,
    not_stored: u64,
}

impl Writer<'_> {
    fn write(
        &mut self,
        conn: &mut DbConnection,
        chunk: Vec<(u64, Result<PreparedLink, Rejection>)>,
    ) -> Result<(), IngestError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let room = self.limits.max_stored.saturating_sub(self.stored) as usize;
        let (batch_id, domain, system) = (self.batch_id, self.domain, self.system);
        let (read0, q0, limits, source) = (
            self.counts.read,
            self.counts.quarantined,
            self.limits,
            self.source,
        );
        let (counts, unreadable, stored, not_stored) = conn.write_transaction(|c| {
            alive(c, batch_id)?;
            let keys: Vec<LinkKey> = chunk
                .iter()
                .filter_map(|(_, r)| r.as_ref().ok().map(key))
                .collect();
            let live = links::lookup_live(c, domain, system, &keys)?;
            let mut plan = plan_chunk(chunk, &live, (batch_id, domain, system, source));
            let (q, r) = (q0 + plan.counts.quarantined, read0 + plan.counts.read);
            if limits.exceeded(q, r) {
                return Err(IngestError::TooManyQuarantined {
                    label: source.to_string(),
                    batch_id,
                    quarantined: q,
                    read: r,
                    max_share: limits.max_share,
                });
            }
            let not_stored = plan.quarantine.len().saturating_sub(room);
            plan.quarantine.truncate(room);
            links::mark_seen(c, batch_id, &plan.seen)?;
            links::end_versions(c, batch_id, &plan.ended)?;
            links::insert(c, &plan.inserts)?;
            mdm_store::quarantine::insert(c, &plan.quarantine)?;
            Ok::<_, IngestError>((
                plan.counts,
                plan.unreadable,
                plan.quarantine.len() as u64,
                not_stored as u64,
            ))
        })?;
        self.unreadable += unreadable;
        self.stored += stored;
        self.not_stored += not_stored;
        let t = &mut self.counts;
        t.read += counts.read;
        t.new += counts.new;
        t.changed += counts.changed;
        t.unchanged += counts.unchanged;
        t.quarantined += counts.quarantined;
        Ok(())
    }
}

fn key(l: &PreparedLink) -> LinkKey {
    LinkKey {
        rel_type: l.rel_type.clone(),
        origin: LinkOrigin::File.as_str().to_string(),
        from_source_id: l.from_source_id.clone(),
        to_source_id: l.to_source_id.clone(),
    }
}

#[derive(Default)]
struct ChunkPlan<'a> {
    seen: Vec<i64>,
    ended: Vec<i64>,
    inserts: Vec<NewLink<'a>>,
    quarantine: Vec<NewQuarantinedRow<'a>>,
    counts: BatchCounts,
    unreadable: u64,
}

/// Decides, link by link, what a chunk does to staging. Pure.
fn plan_chunk<'a>(
    chunk: Vec<(u64, Result<PreparedLink, Rejection>)>,
    live: &HashMap<LinkKey, LiveLink>,
    (batch_id, domain, system, source): (i64, &'a str, &'a str, &'a str),
) -> ChunkPlan<'a> {
    let t = now();
    let mut plan = ChunkPlan::default();
    let mut in_chunk: HashSet<LinkKey> = HashSet::new();
    for (number, outcome) in chunk {
        plan.counts.read += 1;
        let link = match outcome {
            Ok(l) => l,
            Err(r) => {
                if r.reason.hides_source_id() {
                    plan.unreadable += 1;
                }
                plan.quarantine
                    .push(quarantined(r, number, batch_id, domain, system, source, t));
                plan.counts.quarantined += 1;
                continue;
            }
        };
        let k = key(&link);
        let existing = live.get(&k);
        if existing.is_some_and(|l| l.seen_batch_id == batch_id) || !in_chunk.insert(k) {
            let r = Rejection::new(
                QuarantineReason::InvalidLink,
                "the same link appeared earlier in this load",
            )
            .field("to_source_id")
            .raw(link.attributes);
            plan.quarantine
                .push(quarantined(r, number, batch_id, domain, system, source, t));
            plan.counts.quarantined += 1;
            continue;
        }
        let latest = existing.map(|l| Latest {
            id: l.id,
            version: l.version,
            current: l.status == RecordStatus::Current,
            same_content: l.content_hash == link.content_hash,
        });
        let Some(version) = next_version(latest, &mut plan.counts, &mut plan.seen, &mut plan.ended)
        else {
            continue;
        };
        plan.inserts.push(NewLink {
            from_domain: domain,
            rel_type: link.rel_type,
            system,
            origin: LinkOrigin::File.as_str(),
            from_source_id: link.from_source_id,
            to_source_id: link.to_source_id,
            version,
            status: RecordStatus::Current.as_str(),
            attributes: link.attributes,
            content_hash: link.content_hash,
            batch_id,
            loaded_at: t,
            seen_batch_id: batch_id,
        });
    }
    plan
}
