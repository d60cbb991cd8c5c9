//! A full run matched partition by partition (`ReconcileOptions::partition_records`): the
//! pure work is `mdm_core::partition`; this module hands it the run's records and notes
//! the figures. The kept pairs and keys it returns are the single pass's, so clustering,
//! survivorship and the write go on unchanged, in one transaction.

use super::input::{versions_in_order, Input};
use super::key_table::KeyTable;
use super::RunStats;
use crate::ServiceError;
use mdm_core::partition::{self, Outcome};
use mdm_core::pipeline::features::RawTable;
use mdm_core::pipeline::MatchError;
use mdm_core::rematch::Model;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::DbConnection;
use std::cell::RefCell;

/// Matches every record of `input` with `model`, about `partition_records` block
/// memberships per partition. Every record's keys are set aside in a file once the blocks
/// are assigned: scoring computes a partition's keys again, and only the write reads them.
pub fn run(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    model: &Model,
    partition_records: usize,
    stats: &mut RunStats,
) -> Result<(Outcome, KeyTable), ServiceError> {
    let conn = RefCell::new(conn);
    let source = source(rules, input, &conn);
    let n = input.records.len();
    let _span = tracing::info_span!("partitioned", records = n).entered();
    let mut plan = partition::plan(rules, ctx, model, n, partition_records, &source)?;
    let keys = KeyTable::set_aside(std::mem::take(&mut plan.rule_keys))?;
    stats.note_memory("match.plan");
    let out = partition::score_in_process(rules, ctx, model, plan, &source)?;
    note(&out, stats);
    Ok((out, keys))
}

/// The run's records by global index as a raw table: from memory, or for a lean input
/// (`Input::load_lean`) read by staging version from the store, a chunk or partition at a
/// time.
pub fn source<'a, 'c>(
    rules: &'a DomainRules,
    input: &'a Input,
    conn: &'a RefCell<&'c mut DbConnection>,
) -> impl Fn(&[u32]) -> Result<RawTable, MatchError> + use<'a, 'c> {
    move |ids| {
        let mut t = RawTable::new(rules);
        if !input.lean {
            for &i in ids {
                let r = &input.records[i as usize];
                t.push(r.key.clone(), |a| r.values[a].as_deref());
            }
            return Ok(t);
        }
        let versions: Vec<i64> = ids
            .iter()
            .map(|&i| input.records[i as usize].staging_id)
            .collect();
        let read = versions_in_order(&mut conn.borrow_mut(), rules, &versions)
            .map_err(|e| MatchError::Source(e.to_string()))?;
        for (r, &i) in read.iter().zip(ids) {
            t.push(input.records[i as usize].key.clone(), |a| {
                r.values[a].as_deref()
            });
        }
        Ok(t)
    }
}

/// The figures of a partitioned match, in the run's stats.
pub fn note(out: &Outcome, stats: &mut RunStats) {
    for (phase, t) in &out.timings {
        stats
            .timings
            .push((format!("match.{phase}"), t.as_secs_f64()));
    }
    stats.partitions = u64::from(out.partitions);
    stats.partition_memberships = out.memberships;
    stats.largest_partition = out.largest as u64;
    stats.candidate_pairs = out.candidate_pairs;
    stats.pairs_scored = out.candidate_pairs;
}
