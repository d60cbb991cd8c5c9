//! From clusters to the list of changes: stable IDs (`mdm_core::identify`), golden values
//! (`mdm_core::survive`) for clusters that need them, and per golden record what changed
//! and why (created / updated / merged / split / deleted), with its history row and event.

use super::input::Input;
use super::matching::Matched;
use super::RunStats;
use mdm_core::identify::{self, ClusterIdentity, Fate, IdentifyInput, Prior};
use mdm_core::standardize::StdContext;
use mdm_core::survive::{self, Contributor};
use mdm_core::{DomainRules, GoldenId};
use mdm_store::runs::RunCounts;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashSet};

/// A golden record to write, with its history entry and event.
pub struct Change {
    pub golden_id: String,
    pub version: i32,
    /// `active`, `retired` or `deleted`.
    pub status: &'static str,
    pub reason: &'static str,
    pub attributes: String,
    pub lineage: String,
    pub members: i32,
    pub created_run_id: i64,
    /// JSON detail for history and event payload (absorbed / split_from / merged_into).
    pub detail: Option<serde_json::Value>,
    /// The event to emit (none for a record retired by a merge: the survivor's `merged`
    /// event names it).
    pub event: bool,
    pub retired_ids: Vec<String>,
    /// For retired records: the survivor.
    pub merged_into: Option<String>,
    /// When an existing record was first created.
    pub created_at: Option<chrono::NaiveDateTime>,
}

pub struct Plan {
    /// Per cluster, its golden ID.
    pub ids: Vec<GoldenId>,
    pub changes: Vec<Change>,
    pub events: Vec<usize>,
    pub counts: RunCounts,
}

#[allow(clippy::too_many_arguments)]
pub fn plan(
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    m: &Matched,
    run_id: i64,
    full: bool,
    stats: &mut RunStats,
    used: impl FnMut(&[GoldenId]) -> Result<HashSet<GoldenId>, mdm_store::StoreError>,
) -> Result<Plan, mdm_store::StoreError> {
    let priors: Vec<Prior> = input
        .goldens
        .iter()
        .map(|g| Prior {
            id: GoldenId::parse(&g.golden_id).unwrap_or(GoldenId(uuid::Uuid::nil())),
            created_run: g.created_run_id,
        })
        .collect();
    let prior_of = input.prior_of();
    let mut ident = identify::identify(
        IdentifyInput {
            clusters: &m.clusters,
            prior_of: &prior_of,
            priors: &priors,
        },
        |_| GoldenId(uuid::Uuid::nil()),
    );
    // From the cluster's content only (domain, smallest record key), never the run number,
    // with a counter when that ID was used before.
    identify::assign_new_ids(
        &rules.domain,
        &mut ident.clusters,
        |c| &input.records[m.clusters[c][0] as usize].key,
        used,
    )?;
    let need: Vec<bool> = ident
        .clusters
        .iter()
        .enumerate()
        .map(|(c, ci)| full || needs_survive(input, m, &prior_of, c, ci))
        .collect();
    stats.clusters_survived = need.iter().filter(|n| **n).count() as u64;
    let golden: Vec<Option<(String, String)>> = (0..m.clusters.len())
        .into_par_iter()
        .map(|c| {
            need[c].then(|| survive_cluster(rules, ctx, input, &m.clusters[c], &ident.clusters[c]))
        })
        .collect();
    let mut counts = RunCounts {
        records: input.records.len() as u64,
        ..Default::default()
    };
    let mut changes = Vec::new();
    for (c, ci) in ident.clusters.iter().enumerate() {
        let members = m.clusters[c].len() as i32;
        match (&golden[c], ci.kept) {
            (None, _) => counts.unchanged += 1,
            (Some((attrs, lineage)), None) => {
                let reason = if ci.split_from.is_empty() {
                    counts.created += 1;
                    "created"
                } else {
                    counts.split += 1;
                    "split"
                };
                let detail = (!ci.split_from.is_empty())
                    .then(|| serde_json::json!({ "split_from": ids(input, &ci.split_from) }));
                changes.push(Change {
                    golden_id: ci.id.to_string(),
                    version: 1,
                    status: "active",
                    reason,
                    attributes: attrs.clone(),
                    lineage: lineage.clone(),
                    members,
                    created_run_id: run_id,
                    detail,
                    event: true,
                    retired_ids: Vec::new(),
                    merged_into: None,
                    created_at: None,
                });
            }
            (Some((attrs, lineage)), Some(p)) => {
                let prev = &input.goldens[p as usize];
                let reason = if !ci.absorbed.is_empty() {
                    "merged"
                } else if ci.lost_to_split {
                    "split"
                } else if prev.attributes != *attrs
                    || !mdm_core::lineage::same(&prev.lineage, lineage)
                    || prev.members != members
                    || membership_changed(input, m, &prior_of, c, p)
                {
                    "updated"
                } else {
                    counts.unchanged += 1;
                    continue;
                };
                match reason {
                    "merged" => counts.merged += 1,
                    "split" => counts.split += 1,
                    _ => counts.updated += 1,
                }
                let retired_ids = ids(input, &ci.absorbed);
                let detail = match reason {
                    "merged" => Some(serde_json::json!({ "absorbed": retired_ids })),
                    "split" => Some(serde_json::json!({ "split_off": true })),
                    _ => None,
                };
                changes.push(Change {
                    golden_id: prev.golden_id.clone(),
                    version: prev.version + 1,
                    status: "active",
                    reason,
                    attributes: attrs.clone(),
                    lineage: lineage.clone(),
                    members,
                    created_run_id: prev.created_run_id,
                    detail,
                    event: true,
                    retired_ids,
                    merged_into: None,
                    created_at: Some(prev.created_at),
                });
            }
        }
    }
    for &(p, fate) in &ident.retired {
        let prev = &input.goldens[p as usize];
        let (status, reason, merged_into, event) = match fate {
            Fate::MergedInto(c) => (
                "retired",
                "merged",
                Some(ident.clusters[c].id.to_string()),
                false,
            ),
            Fate::Deleted => {
                counts.deleted += 1;
                ("deleted", "deleted", None, true)
            }
        };
        changes.push(Change {
            golden_id: prev.golden_id.clone(),
            version: prev.version + 1,
            status,
            reason,
            attributes: prev.attributes.clone(),
            lineage: prev.lineage.clone(),
            members: 0,
            created_run_id: prev.created_run_id,
            detail: merged_into
                .as_ref()
                .map(|s| serde_json::json!({ "merged_into": s })),
            event,
            retired_ids: Vec::new(),
            merged_into,
            created_at: Some(prev.created_at),
        });
    }
    counts.review_items = 0;
    let events = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.event)
        .map(|(i, _)| i)
        .collect();
    Ok(Plan {
        ids: ident.clusters.iter().map(|c| c.id).collect(),
        changes,
        events,
        counts,
    })
}

fn ids(input: &Input, priors: &[u32]) -> Vec<String> {
    priors
        .iter()
        .map(|&p| input.goldens[p as usize].golden_id.clone())
        .collect()
}

/// In an incremental run, a cluster is survived again only when something that feeds
/// survivorship may have changed: its records, their values, or its locks.
fn needs_survive(
    input: &Input,
    m: &Matched,
    prior_of: &[Option<u32>],
    c: usize,
    ci: &ClusterIdentity,
) -> bool {
    let Some(p) = ci.kept else {
        return true;
    };
    !ci.absorbed.is_empty()
        || ci.lost_to_split
        || m.clusters[c].iter().any(|&r| m.dirty[r as usize])
        || membership_changed(input, m, prior_of, c, p)
        || input
            .locks
            .contains_key(&input.goldens[p as usize].golden_id)
        // A value that came from a lock since removed must be survived again.
        || input.goldens[p as usize].lineage.contains("\"steward_lock\"")
}

/// Whether cluster `c` holds other records than prior golden `p` did.
fn membership_changed(
    input: &Input,
    m: &Matched,
    prior_of: &[Option<u32>],
    c: usize,
    p: u32,
) -> bool {
    let members = &m.clusters[c];
    members.iter().any(|&r| prior_of[r as usize] != Some(p))
        || input.goldens[p as usize].members != members.len() as i32
}

fn survive_cluster(
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    members: &[u32],
    ci: &ClusterIdentity,
) -> (String, String) {
    let ctx = &survive::cluster_context(
        rules,
        ctx,
        members
            .iter()
            .map(|&r| input.records[r as usize].values.as_slice()),
    );
    let contributors: Vec<Contributor> = members
        .iter()
        .map(|&r| {
            let rec = &input.records[r as usize];
            Contributor::from_raw(
                rules,
                ctx,
                rec.key.clone(),
                input.trust_of(rec.key.system.as_str()),
                rec.loaded_at,
                rec.batch_id,
                &rec.values,
            )
        })
        .collect();
    let empty = BTreeMap::new();
    let locks = input.locks.get(&ci.id.to_string()).unwrap_or(&empty);
    let g = survive::survive(rules, &contributors, locks);
    (
        g.attributes_json(rules).to_string(),
        g.lineage_stored(rules),
    )
}
