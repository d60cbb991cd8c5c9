//! The partition ledger of a full run scored by `mdm worker` processes (issue 23;
//! ARCHITECTURE.md, "Partitioned full run"): the run's inputs, one claimable row per
//! partition with a lease, the partition's members, and its kept pairs (edges).
//!
//! Claims are PostgreSQL's `FOR UPDATE SKIP LOCKED`: any number of workers poll the table
//! and never wait on each other's rows. Leases are read against the database's clock, so
//! workers on machines whose clocks differ agree on when one has run out. A partition's
//! edges and its `done` state are written in one transaction, and only by the worker that
//! still holds it: a worker killed mid-partition leaves nothing, one that lost its lease
//! writes nothing, and a retry replaces the partition's rows instead of adding to them.

use crate::schema::reconcile_edges::dsl as re;
use crate::schema::reconcile_partition_members::dsl as rm;
use crate::schema::reconcile_partitions::dsl as rp;
use crate::schema::reconcile_run_inputs::dsl as ri;
use crate::schema::reconcile_runs::dsl as rr;
use crate::{DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A partition's state in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionState {
    Pending,
    Claimed,
    Done,
}

impl PartitionState {
    pub fn as_str(self) -> &'static str {
        match self {
            PartitionState::Pending => "pending",
            PartitionState::Claimed => "claimed",
            PartitionState::Done => "done",
        }
    }
}

/// What every worker of a run needs besides the stored model.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::schema::reconcile_run_inputs)]
pub struct RunInputs {
    pub run_id: i64,
    pub domain: String,
    pub partitions: i32,
    /// SHA-256 of the model JSON the coordinator matched with.
    pub model_hash: String,
    /// Capped blocks' cut-offs, encoded by the caller.
    pub cutoffs: Vec<u8>,
}

/// One partition to create: its number, record count and encoded members.
pub struct NewPartition {
    pub part: i32,
    pub records: i64,
    pub members: Vec<u8>,
}

/// A ledger row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::reconcile_partitions)]
pub struct PartitionRow {
    pub run_id: i64,
    pub part: i32,
    pub state: String,
    pub worker: Option<String>,
    pub lease_until: Option<NaiveDateTime>,
    pub attempts: i32,
    pub records: i64,
    pub pairs_scored: Option<i64>,
    pub pairs_kept: Option<i64>,
    pub started_at: Option<NaiveDateTime>,
    pub finished_at: Option<NaiveDateTime>,
}

/// A kept pair of a partition, by the run's record indices.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::reconcile_edges)]
pub struct Edge {
    pub a: i64,
    pub b: i64,
    pub weight: f64,
    pub probability: f64,
    pub decision: String,
    pub override_idx: Option<i32>,
}

/// A partition a worker holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Claim {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub run_id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub part: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
}

/// Rows per statement when writing edges: PostgreSQL binds at most 65535 parameters.
const EDGE_ROWS: usize = 8_000;

fn postgres(conn: &mut DbConnection) -> Result<&mut diesel::PgConnection, StoreError> {
    match conn {
        DbConnection::Pg(c) => Ok(c),
        DbConnection::Sqlite(_) => Err(StoreError::Corrupt(
            "worker partitions need PostgreSQL: a SQLite file has one writer".into(),
        )),
    }
}

/// Writes a run's inputs and partitions (all `pending`), in one transaction, after removing
/// what earlier runs of the domain that no longer run left behind. The partitions are made
/// as they are written, so only one is held at a time.
pub fn create(
    conn: &mut DbConnection,
    inputs: &RunInputs,
    parts: impl IntoIterator<Item = NewPartition>,
) -> Result<(), StoreError> {
    clear_stale(conn, &inputs.domain)?;
    conn.write_transaction(|c| {
        diesel::insert_into(ri::reconcile_run_inputs)
            .values(inputs)
            .execute(c)?;
        for p in parts {
            diesel::insert_into(rp::reconcile_partitions)
                .values((
                    rp::run_id.eq(inputs.run_id),
                    rp::part.eq(p.part),
                    rp::state.eq(PartitionState::Pending.as_str()),
                    rp::attempts.eq(0),
                    rp::records.eq(p.records),
                ))
                .execute(c)?;
            diesel::insert_into(rm::reconcile_partition_members)
                .values((
                    rm::run_id.eq(inputs.run_id),
                    rm::part.eq(p.part),
                    rm::members.eq(&p.members),
                ))
                .execute(c)?;
        }
        Ok(())
    })
}

/// Deletes the inputs, members and edges of runs of `domain` that are no longer running
/// (finished, or killed and since marked `interrupted`). Their ledger rows stay: they are
/// the runs' per-partition figures.
pub fn clear_stale(conn: &mut DbConnection, domain: &str) -> Result<(), StoreError> {
    let runs: Vec<i64> = ri::reconcile_run_inputs
        .inner_join(rr::reconcile_runs.on(rr::id.eq(ri::run_id)))
        .filter(ri::domain.eq(domain))
        .filter(rr::status.ne("running"))
        .select(ri::run_id)
        .load(conn)?;
    for run in runs {
        delete_run_data(conn, run)?;
    }
    Ok(())
}

/// Deletes a run's inputs, members and edges (the coordinator has read the edges).
pub fn delete_run_data(conn: &mut DbConnection, run: i64) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        diesel::delete(re::reconcile_edges.filter(re::run_id.eq(run))).execute(c)?;
        diesel::delete(rm::reconcile_partition_members.filter(rm::run_id.eq(run))).execute(c)?;
        diesel::delete(ri::reconcile_run_inputs.find(run)).execute(c)?;
        // A partition not done by now never will be: no worker should take it up.
        diesel::update(
            rp::reconcile_partitions
                .filter(rp::run_id.eq(run))
                .filter(rp::state.ne(PartitionState::Done.as_str())),
        )
        .set((
            rp::state.eq(PartitionState::Done.as_str()),
            rp::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(c)?;
        Ok(())
    })
}

/// Claims a partition: a pending one, or a claimed one whose lease ran out, of a running
/// run (of `run` only, when given), lowest (run, part) first. Sets the holder, a lease of
/// `lease_secs` on the database's clock and one more attempt. `None`: nothing to claim now.
pub fn claim(
    conn: &mut DbConnection,
    worker: &str,
    run: Option<i64>,
    lease_secs: i64,
) -> Result<Option<Claim>, StoreError> {
    use diesel::sql_types::{BigInt, Nullable, Text};
    let c = postgres(conn)?;
    Ok(diesel::sql_query(
        "UPDATE reconcile_partitions p SET state = 'claimed', worker = $1, \
           lease_until = timezone('utc', now()) + make_interval(secs => $2), \
           attempts = p.attempts + 1, started_at = timezone('utc', now()) \
         WHERE (p.run_id, p.part) = ( \
           SELECT q.run_id, q.part FROM reconcile_partitions q \
           WHERE (q.state = 'pending' \
                  OR (q.state = 'claimed' AND q.lease_until < timezone('utc', now()))) \
             AND ($3::BIGINT IS NULL OR q.run_id = $3) \
             AND q.run_id IN (SELECT id FROM reconcile_runs WHERE status = 'running') \
           ORDER BY q.run_id, q.part LIMIT 1 \
           FOR UPDATE SKIP LOCKED) \
         RETURNING p.run_id, p.part, p.attempts",
    )
    .bind::<Text, _>(worker)
    .bind::<BigInt, _>(lease_secs)
    .bind::<Nullable<BigInt>, _>(run)
    .get_result::<Claim>(c)
    .optional()?)
}

/// Extends the lease of a partition `worker` still holds; false when it no longer does.
pub fn renew(
    conn: &mut DbConnection,
    claim: Claim,
    worker: &str,
    lease_secs: i64,
) -> Result<bool, StoreError> {
    use diesel::sql_types::{BigInt, Integer, Text};
    let c = postgres(conn)?;
    let n = diesel::sql_query(
        "UPDATE reconcile_partitions \
         SET lease_until = timezone('utc', now()) + make_interval(secs => $1) \
         WHERE run_id = $2 AND part = $3 AND worker = $4 AND state = 'claimed'",
    )
    .bind::<BigInt, _>(lease_secs)
    .bind::<BigInt, _>(claim.run_id)
    .bind::<Integer, _>(claim.part)
    .bind::<Text, _>(worker)
    .execute(c)?;
    Ok(n == 1)
}

/// A partition's outcome, as its worker reports it.
pub struct Finished<'a> {
    pub pairs_scored: i64,
    /// Sorted by (a, b).
    pub edges: &'a [Edge],
}

/// Writes a partition's edges and marks it done, in one transaction, if `worker` still holds
/// it and its run still runs; false (and nothing written) otherwise. The row lock taken by
/// the first statement orders this against a worker claiming the partition at that moment.
pub fn finish(
    conn: &mut DbConnection,
    claim: Claim,
    worker: &str,
    done: Finished<'_>,
) -> Result<bool, StoreError> {
    use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text};
    let c = postgres(conn)?;
    c.transaction(|c| {
        let n = diesel::sql_query(
            "UPDATE reconcile_partitions SET state = 'done', lease_until = NULL, \
               pairs_scored = $1, pairs_kept = $2, finished_at = timezone('utc', now()) \
             WHERE run_id = $3 AND part = $4 AND worker = $5 AND state = 'claimed' \
               AND run_id IN (SELECT id FROM reconcile_runs WHERE status = 'running')",
        )
        .bind::<BigInt, _>(done.pairs_scored)
        .bind::<BigInt, _>(done.edges.len() as i64)
        .bind::<BigInt, _>(claim.run_id)
        .bind::<Integer, _>(claim.part)
        .bind::<Text, _>(worker)
        .execute(c)?;
        if n == 0 {
            return Ok(false);
        }
        diesel::delete(
            re::reconcile_edges
                .filter(re::run_id.eq(claim.run_id))
                .filter(re::part.eq(claim.part)),
        )
        .execute(c)?;
        for chunk in done.edges.chunks(EDGE_ROWS) {
            let col = |f: fn(&Edge) -> i64| chunk.iter().map(f).collect::<Vec<i64>>();
            diesel::sql_query(
                "INSERT INTO reconcile_edges \
                   (run_id, part, a, b, weight, probability, decision, override_idx) \
                 SELECT $1, $2, * FROM unnest($3, $4, $5, $6, $7, $8)",
            )
            .bind::<BigInt, _>(claim.run_id)
            .bind::<Integer, _>(claim.part)
            .bind::<Array<BigInt>, _>(col(|e| e.a))
            .bind::<Array<BigInt>, _>(col(|e| e.b))
            .bind::<Array<Double>, _>(chunk.iter().map(|e| e.weight).collect::<Vec<_>>())
            .bind::<Array<Double>, _>(chunk.iter().map(|e| e.probability).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                chunk
                    .iter()
                    .map(|e| e.decision.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Integer>>, _>(
                chunk.iter().map(|e| e.override_idx).collect::<Vec<_>>(),
            )
            .execute(c)?;
        }
        Ok(true)
    })
}

pub fn inputs(conn: &mut DbConnection, run: i64) -> Result<Option<RunInputs>, StoreError> {
    Ok(ri::reconcile_run_inputs
        .find(run)
        .select(RunInputs::as_select())
        .get_result(conn)
        .optional()?)
}

/// A partition's encoded members.
pub fn members(conn: &mut DbConnection, run: i64, part: i32) -> Result<Vec<u8>, StoreError> {
    Ok(rm::reconcile_partition_members
        .find((run, part))
        .select(rm::members)
        .get_result(conn)?)
}

/// The ledger of a run, by partition.
pub fn ledger(conn: &mut DbConnection, run: i64) -> Result<Vec<PartitionRow>, StoreError> {
    Ok(rp::reconcile_partitions
        .filter(rp::run_id.eq(run))
        .order(rp::part)
        .select(PartitionRow::as_select())
        .load(conn)?)
}

/// Partitions of a run not done yet.
pub fn open_count(conn: &mut DbConnection, run: i64) -> Result<i64, StoreError> {
    Ok(rp::reconcile_partitions
        .filter(rp::run_id.eq(run))
        .filter(rp::state.ne(PartitionState::Done.as_str()))
        .count()
        .get_result(conn)?)
}

/// Every edge of a run, in (a, b) order (each pair belongs to one partition).
pub fn edges(conn: &mut DbConnection, run: i64) -> Result<Vec<Edge>, StoreError> {
    Ok(re::reconcile_edges
        .filter(re::run_id.eq(run))
        .order((re::a, re::b))
        .select(Edge::as_select())
        .load(conn)?)
}
