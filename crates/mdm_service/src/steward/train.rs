//! `mdm train`: steward decisions as labelled pairs refine the domain's match model
//! (`mdm_core::learn`), then a full run re-scores every pair with it. Decided pairs leave
//! the review band at once; training moves the pairs that resemble them.

use crate::reconcile::{reconcile_with_model, Progress, RunSummary};
use crate::ServiceError;
use mdm_core::learn::{self, Labelled};
use mdm_core::pipeline::features::RawTable;
use mdm_core::pipeline::Prepared;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::DbConnection;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub domain: String,
    /// Labelled matches (must-links) and non-matches (cannot-links) used.
    pub matches: usize,
    pub non_matches: usize,
    /// Review items before, and after the full run with the refined model.
    pub review_before: i64,
    pub review_after: i64,
    pub run: RunSummary,
}

pub fn train(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    progress: Progress<'_>,
) -> Result<TrainReport, ServiceError> {
    let domain = rules.domain.as_str();
    let model = crate::reconcile::stored_model(conn, rules)?.ok_or_else(|| {
        ServiceError::Invalid(format!(
            "domain {domain} has no model yet: run `mdm reconcile --domain {domain}` first"
        ))
    })?;
    let decisions = mdm_store::decisions::active_decisions(conn, domain)?;
    let mut keys: Vec<(String, String)> = decisions
        .iter()
        .flat_map(|d| {
            [
                (d.a_system.clone(), d.a_source_id.clone()),
                (d.b_system.clone(), d.b_source_id.clone()),
            ]
        })
        .collect();
    keys.sort();
    keys.dedup();
    let mut records = mdm_store::matchstate::current_by_keys(conn, domain, &keys)?;
    records.sort_by(|a, b| (&a.system, &a.source_id).cmp(&(&b.system, &b.source_id)));
    let mut raw = RawTable::new(rules);
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        let corrupt = |e: String| ServiceError::Corrupt(format!("staging record {}: {e}", r.id));
        let attrs: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&r.attributes).map_err(|e| corrupt(e.to_string()))?;
        let row = super::values_in_order(rules, &attrs);
        let key = mdm_core::RecordKey {
            system: mdm_core::SystemName::parse(&r.system).map_err(|e| corrupt(e.to_string()))?,
            source_id: mdm_core::SourceKey::parse(&r.source_id)
                .map_err(|e| corrupt(e.to_string()))?,
        };
        raw.push(key, |k| row[k].as_deref());
        index.insert((r.system.clone(), r.source_id.clone()), i);
    }
    let mut prepared = Prepared::new(rules, ctx, raw)?;
    model.apply(rules, &mut prepared.features);
    let cmps = prepared.comparisons();
    let labelled: Vec<Labelled> = decisions
        .iter()
        .filter_map(|d| {
            let a = *index.get(&(d.a_system.clone(), d.a_source_id.clone()))?;
            let b = *index.get(&(d.b_system.clone(), d.b_source_id.clone()))?;
            Some(Labelled {
                pattern: mdm_core::score::pattern(&cmps, a, b),
                probability: prepared.explain(&model.params, a, b).probability,
                is_match: d.kind == "must_link",
            })
        })
        .collect();
    if labelled.is_empty() {
        return Err(ServiceError::Invalid(format!(
            "domain {domain} has no steward decisions on staged records to learn from"
        )));
    }
    let matches = labelled.iter().filter(|l| l.is_match).count();
    // The m-step's denominator: expected matches among the scored pairs (non-matches,
    // which are not kept, add next to nothing).
    let expected = mdm_store::matchstate::probability_sum(conn, domain)?.max(labelled.len() as f64);
    let refined = mdm_core::rematch::Model {
        params: learn::refine(&model.params, &labelled, expected),
        columns: model.columns,
    };
    drop(cmps);
    let review_before = mdm_store::decisions::review_count(conn, domain)?;
    let run = reconcile_with_model(conn, rules, ctx, refined, progress)?;
    let review_after = mdm_store::decisions::review_count(conn, domain)?;
    Ok(TrainReport {
        domain: domain.to_string(),
        matches,
        non_matches: labelled.len() - matches,
        review_before,
        review_after,
        run,
    })
}
