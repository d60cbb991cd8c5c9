//! The console's dashboard figures per domain: golden records, source records, duplicate
//! rate per source system, data-quality findings per source, review backlog over the runs,
//! and the last runs with their counts and durations.

use crate::ServiceError;
use mdm_store::DbConnection;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct SystemFigures {
    pub system: String,
    pub records: i64,
    /// Share of the system's records whose golden record has another record of the same
    /// system: duplicates within that source.
    pub duplicate_rate: f64,
    pub dq_findings: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BacklogPoint {
    pub run_id: i64,
    pub at: String,
    pub review_items: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    pub run_id: i64,
    pub mode: String,
    pub status: String,
    pub started_at: String,
    pub duration_s: Option<f64>,
    pub created: i64,
    pub updated: i64,
    pub merged: i64,
    pub split: i64,
    pub deleted: i64,
    pub review_items: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainFigures {
    pub domain: String,
    pub golden_records: i64,
    pub source_records: i64,
    pub review_backlog: i64,
    pub systems: Vec<SystemFigures>,
    pub backlog_history: Vec<BacklogPoint>,
    pub runs: Vec<RunFigures>,
}

fn rfc3339(t: chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn domain_figures(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<DomainFigures, ServiceError> {
    let golden_records = mdm_store::golden::status_counts(conn, domain)?
        .into_iter()
        .filter(|(s, _)| s == "active")
        .map(|(_, n)| n)
        .sum();
    let per_system = mdm_store::reports::duplicates_by_system(conn, domain)?;
    let mut findings: BTreeMap<String, i64> = BTreeMap::new();
    for (system, _, n) in mdm_store::reports::quarantine_counts(conn, domain)? {
        *findings.entry(system).or_default() += n;
    }
    let systems = per_system
        .into_iter()
        .map(|(system, records, duplicated)| SystemFigures {
            dq_findings: findings.get(&system).copied().unwrap_or(0),
            duplicate_rate: if records > 0 {
                duplicated as f64 / records as f64
            } else {
                0.0
            },
            system,
            records,
        })
        .collect::<Vec<_>>();
    let source_records = systems.iter().map(|s| s.records).sum();
    let mut runs = mdm_store::runs::list(conn, domain, 30)?;
    runs.sort_by_key(|r| r.id);
    let backlog_history = runs
        .iter()
        .filter(|r| r.status == "completed")
        .map(|r| BacklogPoint {
            run_id: r.id,
            at: rfc3339(r.started_at),
            review_items: r.review_items,
        })
        .collect();
    let review_backlog = mdm_store::decisions::review_count(conn, domain)?;
    let runs = runs
        .iter()
        .rev()
        .take(10)
        .map(|r| RunFigures {
            run_id: r.id,
            mode: r.mode.clone(),
            status: r.status.clone(),
            started_at: rfc3339(r.started_at),
            duration_s: r
                .finished_at
                .map(|f| (f - r.started_at).num_milliseconds() as f64 / 1000.0),
            created: r.n_created,
            updated: r.n_updated,
            merged: r.n_merged,
            split: r.n_split,
            deleted: r.n_deleted,
            review_items: r.review_items,
        })
        .collect();
    Ok(DomainFigures {
        domain: domain.to_string(),
        golden_records,
        source_records,
        review_backlog,
        systems,
        backlog_history,
        runs,
    })
}
