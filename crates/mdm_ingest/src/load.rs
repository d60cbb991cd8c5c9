//! The load: streams an adapter's rows into staging, one chunk per transaction.
//!
//! Memory stays flat whatever the file size: only one chunk of rows is held, and staging is
//! asked only about that chunk's source_ids. The store's `seen_batch_id` carries what this
//! load has already seen, so a duplicate in a later chunk and a snapshot's deletions need no
//! in-memory set of every key either. (The alternative, a map of every key to its hash for
//! the system, is O(records) and would make a 10M-record system cost a gigabyte.)
//!
//! A chunk commits as a whole; a load that fails midway for any reason but a refusal (an
//! input error, a settled batch, a database error) leaves the chunks before it staged (each
//! is valid source data, and re-running the load converges) and its batch `failed`.
//! A snapshot's deletions run only after every row was read and staged, and not at all when
//! a row was quarantined as unreadable (malformed, or not UTF-8): such a row may be a record
//! whose source_id could not be read (a stray CSV quote swallows the rows after it), so the
//! load cannot prove any record absent.
//!
//! Garbage is refused (`QuarantineLimits`): once at least `min_rows` rows were read, a load
//! whose share of quarantined rows exceeds `max_share` stops, fails, and its batch is marked
//! `failed`. The share is checked after every row (prepare's rejections) and, exactly
//! (duplicates too), inside each chunk's transaction before it commits, so the chunk that
//! crosses the limit is rolled back: nothing of it is staged. Chunks committed before that
//! are then undone too (`staging::roll_back_batch`, in the transaction that marks the batch
//! failed): their new versions are removed and the versions they replaced are live again,
//! so a refused load stages nothing, wherever in the input the limit was crossed, and a
//! snapshot's deletions (which come after the last row) never run. Only its quarantine
//! entries stay, to show why it was refused. Loads of fewer than `min_rows`
//! rows are never refused by share. At most `max_stored` quarantined rows are stored per
//! batch; the rest are counted (`quarantined`) but not stored (`quarantine_not_stored`).

use crate::adapters::RecordSource;
use crate::links::references::{self, ReferenceCounts, ReferenceSpec};
use crate::mapping::ColumnMapping;
use crate::prepare::{PreparedRow, Preparer, SOURCE_ID};
use crate::row::{QuarantineReason, RawRow, Rejection};
use crate::IngestError;
use mdm_core::{DomainRules, SystemName};
use mdm_store::batches::{self, BatchCounts, BatchStatus};
use mdm_store::quarantine::NewQuarantinedRow;
use mdm_store::staging::{self, NewVersion, RecordStatus};
use mdm_store::systems::{self, Registration};
use mdm_store::{now, DbConnection};
use std::collections::HashSet;
use std::time::Instant;

pub const DEFAULT_CHUNK_SIZE: usize = 10_000;
pub const DEFAULT_MAX_QUARANTINE_SHARE: f64 = 0.5;
pub const DEFAULT_MAX_QUARANTINED_ROWS: u64 = 10_000;
/// Rows read before the quarantine share is judged.
pub const QUARANTINE_SHARE_MIN_ROWS: u64 = 100;

/// When a load is refused as garbage, and how many quarantined rows a batch stores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuarantineLimits {
    /// A load fails when more than this share of its rows is quarantined (0..=1).
    pub max_share: f64,
    /// The share is judged once this many rows were read.
    pub min_rows: u64,
    /// Quarantined rows stored per batch; beyond it they are counted, not stored.
    pub max_stored: u64,
}

impl Default for QuarantineLimits {
    fn default() -> Self {
        Self {
            max_share: DEFAULT_MAX_QUARANTINE_SHARE,
            min_rows: QUARANTINE_SHARE_MIN_ROWS,
            max_stored: DEFAULT_MAX_QUARANTINED_ROWS,
        }
    }
}

impl QuarantineLimits {
    /// True when `quarantined` of `read` rows is too many.
    pub(crate) fn exceeded(&self, quarantined: u64, read: u64) -> bool {
        read >= self.min_rows.max(1) && quarantined as f64 > self.max_share * read as f64
    }
}

#[derive(Debug, Clone)]
pub struct LoadOptions<'a> {
    pub domain: &'a str,
    pub system: &'a SystemName,
    /// The input is a full extract: current records it lacks are marked deleted.
    pub snapshot: bool,
    pub chunk_size: usize,
}

/// What a load did; `--json` prints exactly this.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LoadSummary {
    pub batch_id: i64,
    pub domain: String,
    pub system: String,
    pub file: String,
    pub read: u64,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub deleted: u64,
    pub quarantined: u64,
    /// Quarantined rows counted but not stored (beyond `ingest.max_quarantined_rows`).
    #[serde(skip_serializing_if = "is_zero")]
    pub quarantine_not_stored: u64,
    /// Set when a snapshot load did not mark absent records deleted, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_deletions_skipped: Option<SkippedDeletions>,
    /// Links derived from the records' reference attributes (`contact_of` from a contact's
    /// `account_id`): staged and ended.
    #[serde(skip_serializing_if = "ReferenceCounts::is_zero")]
    pub reference_links: ReferenceCounts,
    /// True when this load registered the system (no configuration declared it).
    #[serde(skip)]
    pub registered_system: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Why a snapshot load deleted nothing; `--json` prints it as `snapshot_deletions_skipped`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedDeletions {
    /// `unreadable_rows`: rows were quarantined as malformed or not UTF-8.
    pub reason: &'static str,
    /// How many such rows.
    pub unreadable_rows: u64,
}

/// One row waiting in the current chunk.
struct Pending {
    number: u64,
    outcome: Result<PreparedRow, Rejection>,
}

/// Loads every row of `source` into staging with the default `QuarantineLimits`.
/// `progress` is called after each chunk with the rows read so far.
pub fn load(
    conn: &mut DbConnection,
    rules: &DomainRules,
    mapping: &ColumnMapping,
    opts: &LoadOptions<'_>,
    source: &mut dyn RecordSource,
    progress: &mut dyn FnMut(u64),
) -> Result<LoadSummary, IngestError> {
    load_with_limits(
        conn,
        rules,
        mapping,
        opts,
        QuarantineLimits::default(),
        source,
        progress,
    )
}

/// `load` with the given quarantine limits (see the module doc).
pub fn load_with_limits(
    conn: &mut DbConnection,
    rules: &DomainRules,
    mapping: &ColumnMapping,
    opts: &LoadOptions<'_>,
    limits: QuarantineLimits,
    source: &mut dyn RecordSource,
    progress: &mut dyn FnMut(u64),
) -> Result<LoadSummary, IngestError> {
    let started = Instant::now();
    let system = opts.system.as_str();
    let mut preparer = Preparer::new(rules, mapping);
    if let Some(columns) = source.columns() {
        let has_key = columns
            .iter()
            .any(|c| preparer.staged_name(c).as_ref() == SOURCE_ID);
        if !has_key {
            let columns = columns
                .iter()
                .map(|c| c.as_ref())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(IngestError::NoSourceIdColumn {
                label: source.label().to_string(),
                columns,
            });
        }
    }
    let registered =
        systems::ensure_registered(conn, system)? == Registration::RegisteredUndeclared;
    if registered {
        tracing::info!(
            system,
            "source system is not declared in the configuration; registered with the lowest trust"
        );
    }
    let label = source.label().to_string();
    let specs = references::in_force(conn, opts.domain)?;
    let batch_id = batches::start(conn, opts.domain, system, &label, opts.snapshot)?;
    tracing::info!(batch_id, domain = opts.domain, system, source = %label, "load started");
    let mut writer = ChunkWriter {
        conn,
        batch_id,
        domain: opts.domain,
        system,
        source: &label,
        counts: BatchCounts::default(),
        unreadable: 0,
        limits,
        stored_quarantine: 0,
        not_stored: 0,
        references: &specs,
        reference_links: ReferenceCounts::default(),
        analyze: staging::AnalyzeDuringLoad::default(),
    };
    let result = stream(&mut writer, &mut preparer, source, opts, progress);
    let (mut counts, unreadable, not_stored, mut reference_links) = (
        writer.counts,
        writer.unreadable,
        writer.not_stored,
        writer.reference_links,
    );
    if not_stored > 0 {
        tracing::warn!(
            batch_id,
            quarantined = counts.quarantined,
            not_stored,
            "quarantined rows beyond ingest.max_quarantined_rows were counted but not stored"
        );
    }
    let mut skipped = None;
    let result = result.and_then(|()| {
        if opts.snapshot && unreadable > 0 {
            tracing::warn!(
                batch_id,
                unreadable_rows = unreadable,
                "snapshot_deletions_skipped: rows were quarantined as unreadable, so no record \
                 can be proven absent; nothing is marked deleted"
            );
            skipped = Some(SkippedDeletions {
                reason: "unreadable_rows",
                unreadable_rows: unreadable,
            });
        } else if opts.snapshot {
            alive(conn, batch_id)?;
            // One transaction: a deleted record's reference links end with it.
            (counts.deleted, reference_links.ended) = conn.write_transaction(|c| {
                let n = staging::delete_unseen(c, opts.domain, system, batch_id)?;
                let ended = references::end_with_deleted(c, &specs, opts.domain, system, batch_id)?;
                Ok::<_, IngestError>((n, reference_links.ended + ended))
            })?;
        }
        Ok(())
    });
    if let Err(e) = result {
        return Err(fail(conn, batch_id, counts, e));
    }
    batches::finish(conn, batch_id, &counts, BatchStatus::Completed, None)?;
    let written = counts.new + counts.changed + counts.deleted;
    if let Err(e) = staging::analyze_after_load(conn, written) {
        tracing::warn!(batch_id, error = %e, "ANALYZE after the load failed");
    }
    tracing::info!(
        batch_id,
        read = counts.read,
        new = counts.new,
        changed = counts.changed,
        unchanged = counts.unchanged,
        deleted = counts.deleted,
        quarantined = counts.quarantined,
        secs = started.elapsed().as_secs_f64(),
        "load finished"
    );
    Ok(LoadSummary {
        batch_id,
        domain: opts.domain.to_string(),
        system: system.to_string(),
        file: label,
        read: counts.read,
        new: counts.new,
        changed: counts.changed,
        unchanged: counts.unchanged,
        deleted: counts.deleted,
        quarantined: counts.quarantined,
        quarantine_not_stored: not_stored,
        snapshot_deletions_skipped: skipped,
        reference_links,
        registered_system: registered,
    })
}

/// Marks a failed load's batch `failed`; a refused one's committed chunks are rolled back
/// in the same transaction (see the module doc).
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
            let undone = staging::roll_back_batch(c, batch_id)?;
            // The reference links its records named were staged under the same batch.
            mdm_store::links::roll_back_batch(c, batch_id)?;
            tracing::warn!(
                batch_id,
                removed = undone.removed,
                restored = undone.restored,
                "refused load rolled back"
            );
            (counts.new, counts.changed, counts.unchanged, counts.deleted) = (0, 0, 0, 0);
        }
        batches::finish(c, batch_id, &counts, BatchStatus::Failed, Some(&message))
    });
    tracing::warn!(batch_id, read = counts.read, "load failed");
    match result {
        Ok(()) => e,
        // A refusal that could not be rolled back must not claim nothing is staged.
        Err(store) if refused => store.into(),
        // Otherwise the original error matters more than a failure to record it.
        Err(_) => e,
    }
}

fn stream(
    writer: &mut ChunkWriter<'_>,
    preparer: &mut Preparer<'_>,
    source: &mut dyn RecordSource,
    opts: &LoadOptions<'_>,
    progress: &mut dyn FnMut(u64),
) -> Result<(), IngestError> {
    let chunk_size = opts.chunk_size.max(1);
    let mut chunk: Vec<Pending> = Vec::with_capacity(chunk_size);
    let mut rejected = 0u64;
    source.for_each_row(&mut |row: RawRow| {
        let outcome = row.content.and_then(|fields| preparer.prepare(fields));
        if outcome.is_err() {
            rejected += 1;
        }
        let read = writer.counts.read + chunk.len() as u64 + 1;
        let quarantined = writer.counts.quarantined + rejected;
        if writer.limits.exceeded(quarantined, read) {
            return Err(writer.too_many(quarantined, read));
        }
        chunk.push(Pending {
            number: row.number,
            outcome,
        });
        if chunk.len() >= chunk_size {
            writer.write(std::mem::take(&mut chunk))?;
            rejected = 0;
            progress(writer.counts.read);
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        writer.write(chunk)?;
    }
    progress(writer.counts.read);
    Ok(())
}

/// Classifies and writes chunks of one batch.
struct ChunkWriter<'a> {
    conn: &'a mut DbConnection,
    batch_id: i64,
    domain: &'a str,
    system: &'a str,
    source: &'a str,
    counts: BatchCounts,
    /// Rows quarantined as unreadable so far (see the module doc).
    unreadable: u64,
    limits: QuarantineLimits,
    /// Quarantined rows stored so far, and those counted but not stored.
    stored_quarantine: u64,
    not_stored: u64,
    /// Reference attributes on this domain's records, and the links they changed so far.
    references: &'a [ReferenceSpec],
    reference_links: ReferenceCounts,
    analyze: staging::AnalyzeDuringLoad,
}

/// A source key's latest staged version, as the next load compares with it.
pub(crate) struct Latest {
    pub id: i64,
    pub version: i32,
    pub current: bool,
    pub same_content: bool,
}

/// The version a loaded row (or link) gets against its latest staged one, counted: 1 when
/// new; `None` when unchanged (noted as seen); else the next number, the latest ended (a
/// changed row, or one a snapshot had deleted coming back, counted new). One rule for
/// records and links.
pub(crate) fn next_version(
    latest: Option<Latest>,
    counts: &mut BatchCounts,
    seen: &mut Vec<i64>,
    ended: &mut Vec<i64>,
) -> Option<i32> {
    let Some(l) = latest else {
        counts.new += 1;
        return Some(1);
    };
    if l.current && l.same_content {
        seen.push(l.id);
        counts.unchanged += 1;
        return None;
    }
    if l.current {
        counts.changed += 1;
    } else {
        counts.new += 1;
    }
    ended.push(l.id);
    Some(l.version + 1)
}

/// The writes one chunk needs.
#[derive(Default)]
struct ChunkPlan<'a> {
    seen: Vec<i64>,
    ended: Vec<i64>,
    inserts: Vec<NewVersion<'a>>,
    quarantine: Vec<NewQuarantinedRow<'a>>,
    counts: BatchCounts,
    unreadable: u64,
}

impl ChunkWriter<'_> {
    fn too_many(&self, quarantined: u64, read: u64) -> IngestError {
        IngestError::TooManyQuarantined {
            label: self.source.to_string(),
            batch_id: self.batch_id,
            quarantined,
            read,
            max_share: self.limits.max_share,
        }
    }

    fn write(&mut self, chunk: Vec<Pending>) -> Result<(), IngestError> {
        let (batch_id, domain, system, source) =
            (self.batch_id, self.domain, self.system, self.source);
        let room = self
            .limits
            .max_stored
            .saturating_sub(self.stored_quarantine) as usize;
        let (read0, quarantined0, limits) =
            (self.counts.read, self.counts.quarantined, self.limits);
        let specs = self.references;
        let counts = self.conn.write_transaction(|c| {
            alive(c, batch_id)?;
            let keys: Vec<&str> = chunk
                .iter()
                .filter_map(|p| p.outcome.as_ref().ok().map(|r| r.source_id.as_str()))
                .collect();
            let live = staging::lookup_live(c, domain, system, &keys)?;
            let mut plan = plan_chunk(chunk, &live, batch_id, domain, system, source);
            // Exact (duplicates too): the chunk that crosses the limit is rolled back.
            let (q, r) = (
                quarantined0 + plan.counts.quarantined,
                read0 + plan.counts.read,
            );
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
            staging::mark_seen(c, batch_id, &plan.seen)?;
            staging::end_versions(c, batch_id, &plan.ended)?;
            staging::insert_versions(c, &plan.inserts)?;
            let refs = references::stage(c, specs, &plan.inserts, batch_id, system)?;
            mdm_store::quarantine::insert(c, &plan.quarantine)?;
            Ok::<_, IngestError>((
                plan.counts,
                plan.unreadable,
                plan.quarantine.len() as u64,
                not_stored as u64,
                refs,
            ))
        })?;
        let (counts, unreadable, stored, not_stored, refs) = counts;
        self.reference_links.add(refs);
        self.unreadable += unreadable;
        self.stored_quarantine += stored;
        self.not_stored += not_stored;
        let total = &mut self.counts;
        total.read += counts.read;
        total.new += counts.new;
        total.changed += counts.changed;
        total.unchanged += counts.unchanged;
        total.quarantined += counts.quarantined;
        let written = total.new + total.changed;
        if let Err(e) = self.analyze.note(self.conn, written) {
            tracing::warn!(batch_id, error = %e, "ANALYZE during the load failed");
        }
        Ok(())
    }
}

/// Notes the batch's progress, so that no other process settles it as interrupted; fails
/// when one already has (the batch then must get no more rows).
pub(crate) fn alive(conn: &mut DbConnection, batch_id: i64) -> Result<(), IngestError> {
    if batches::heartbeat(conn, batch_id)? {
        Ok(())
    } else {
        Err(IngestError::Settled { batch_id })
    }
}

/// Decides, row by row, what a chunk does to staging. Pure: no database access.
fn plan_chunk<'a>(
    chunk: Vec<Pending>,
    live: &std::collections::HashMap<String, staging::LiveVersion>,
    batch_id: i64,
    domain: &'a str,
    system: &'a str,
    source: &'a str,
) -> ChunkPlan<'a> {
    let t = now();
    let mut plan = ChunkPlan::default();
    let mut in_chunk: HashSet<String> = HashSet::with_capacity(chunk.len());
    for Pending { number, outcome } in chunk {
        plan.counts.read += 1;
        let row = match outcome {
            Ok(row) => row,
            Err(rejection) => {
                if rejection.reason.hides_source_id() {
                    plan.unreadable += 1;
                }
                plan.quarantine.push(quarantined(
                    rejection, number, batch_id, domain, system, source, t,
                ));
                plan.counts.quarantined += 1;
                continue;
            }
        };
        let existing = live.get(&row.source_id);
        let already_seen = existing.is_some_and(|l| l.seen_batch_id == batch_id);
        if already_seen || !in_chunk.insert(row.source_id.clone()) {
            let mut r = Rejection::new(
                QuarantineReason::DuplicateSourceId,
                "source_id appeared earlier in this load",
            )
            .field(SOURCE_ID)
            .raw(row.attributes);
            r.source_id = Some(row.source_id);
            plan.quarantine
                .push(quarantined(r, number, batch_id, domain, system, source, t));
            plan.counts.quarantined += 1;
            continue;
        }
        let latest = existing.map(|l| Latest {
            id: l.id,
            version: l.version,
            current: l.status == RecordStatus::Current,
            same_content: l.content_hash == row.content_hash,
        });
        let Some(version) = next_version(latest, &mut plan.counts, &mut plan.seen, &mut plan.ended)
        else {
            continue;
        };
        plan.inserts.push(NewVersion {
            domain,
            system,
            source_id: row.source_id,
            version,
            status: RecordStatus::Current.as_str(),
            attributes: row.attributes,
            content_hash: row.content_hash,
            batch_id,
            loaded_at: t,
            seen_batch_id: batch_id,
        });
    }
    plan
}

pub(crate) fn quarantined<'a>(
    r: Rejection,
    number: u64,
    batch_id: i64,
    domain: &'a str,
    system: &'a str,
    source: &'a str,
    t: chrono::NaiveDateTime,
) -> NewQuarantinedRow<'a> {
    NewQuarantinedRow {
        batch_id,
        domain,
        system,
        source,
        row_number: i64::try_from(number).unwrap_or(i64::MAX),
        source_id: r.source_id,
        field: r.field,
        reason: r.reason.code(),
        detail: r.detail,
        raw: r.raw,
        quarantined_at: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::{CsvOptions, CsvSource};
    use mdm_store::testing::TestDb;

    fn snapshot(conn: &mut DbConnection, csv: &str) -> LoadSummary {
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        let system = SystemName::parse("ERP").unwrap();
        let opts = LoadOptions {
            domain: "customer",
            system: &system,
            snapshot: true,
            chunk_size: 2,
        };
        let mut src =
            CsvSource::from_reader(csv.as_bytes(), "s.csv".into(), CsvOptions::default()).unwrap();
        let mapping = ColumnMapping::default();
        load(conn, &rules, &mapping, &opts, &mut src, &mut |_| {}).unwrap()
    }

    #[test]
    fn snapshot_with_unreadable_rows_deletes_nothing() {
        let db = TestDb::sqlite();
        let mut conn = mdm_store::open(db.url()).unwrap();
        let first = snapshot(&mut conn, "source_id,city\n1,Ulm\n2,Bonn\n3,Hof\n4,Aue\n");
        assert_eq!((first.new, first.deleted), (4, 0));
        // Line 3's stray quote: 2 is quarantined, 3 and 4 still load, 1 is gone.
        let broken = snapshot(&mut conn, "source_id,city\n2,\"Bonn\n3,Hof\n4,Aue\n");
        assert_eq!(
            (broken.read, broken.unchanged, broken.quarantined),
            (3, 2, 1),
            "{broken:?}"
        );
        assert_eq!(broken.deleted, 0, "nothing deleted: {broken:?}");
        let skipped = broken.snapshot_deletions_skipped.as_ref().unwrap();
        assert_eq!(
            (skipped.reason, skipped.unreadable_rows),
            ("unreadable_rows", 1)
        );
        // The same extract read cleanly deletes what it lacks.
        let clean = snapshot(&mut conn, "source_id,city\n2,Bonn\n3,Hof\n4,Aue\n");
        assert_eq!((clean.deleted, clean.snapshot_deletions_skipped), (1, None));
    }
}
