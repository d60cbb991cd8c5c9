//! From clusters to the list of changes: stable IDs (`mdm_core::identify`), golden values
//! (`mdm_core::survive`) for clusters that need them, and per golden record what changed
//! and why (created / updated / merged / split / deleted), with its history row and event.

use super::input::Input;
use super::matching::Matched;
use super::RunStats;
use crate::ServiceError;
use mdm_core::identify::{self, ClusterIdentity, Fate, IdentifyInput, Prior};
use mdm_core::standardize::StdContext;
use mdm_core::survive::{self, Contributor};
use mdm_core::{DomainRules, GoldenId};
use mdm_store::runs::RunCounts;
use mdm_store::DbConnection;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

/// A golden record to write, with its history entry and event.
pub struct Change {
    pub golden_id: String,
    /// The cluster it comes from (none for a retired or deleted record).
    pub cluster: Option<usize>,
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

/// Who each cluster is (stable IDs) and which previous golden records retire: global and
/// small. The changes themselves are made a chunk of clusters at a time
/// ([`Plan::changes`]), so a run never holds every golden record's JSON at once.
pub struct Plan {
    /// Per cluster, its golden ID.
    pub ids: Vec<GoldenId>,
    clusters: Vec<ClusterIdentity>,
    retired: Vec<(u32, Fate)>,
    prior_of: Vec<Option<u32>>,
    /// Per cluster: whether it is survived again (every cluster in a full run).
    need: Vec<bool>,
}

pub fn plan(
    rules: &DomainRules,
    input: &Input,
    m: &Matched,
    full: bool,
    stats: &mut RunStats,
    used: impl FnMut(&[GoldenId]) -> Result<HashSet<GoldenId>, mdm_store::StoreError>,
) -> Result<Plan, ServiceError> {
    let priors: Vec<Prior> = input
        .goldens
        .iter()
        .map(|g| {
            Ok(Prior {
                id: super::input::parse_golden_id(&g.golden_id)?,
                created_run: g.created_run_id,
            })
        })
        .collect::<Result<_, ServiceError>>()?;
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
    Ok(Plan {
        ids: ident.clusters.iter().map(|c| c.id).collect(),
        clusters: ident.clusters,
        retired: ident.retired,
        prior_of,
        need,
    })
}

/// What a chunk of changes reads beyond the run's input when the input is lean: the
/// survived clusters' record values and the previous golden records' JSON.
#[derive(Default)]
pub struct ChunkData {
    values: HashMap<u32, Vec<Option<String>>>,
    goldens: HashMap<u32, (String, String)>,
}

impl ChunkData {
    /// Reads what clusters `range` (or, with `retired`, the retiring records) need, unless
    /// `input` holds it already.
    pub fn read(
        conn: &mut DbConnection,
        rules: &DomainRules,
        input: &Input,
        records: &[u32],
        priors: &[u32],
    ) -> Result<Self, ServiceError> {
        if !input.lean {
            return Ok(Self::default());
        }
        let versions: Vec<i64> = records
            .iter()
            .map(|&r| input.records[r as usize].staging_id)
            .collect();
        let read = super::input::versions_in_order(conn, rules, &versions)?;
        let values = records
            .iter()
            .zip(read)
            .map(|(&r, rec)| (r, rec.values))
            .collect();
        let ids: Vec<&str> = priors
            .iter()
            .map(|&p| input.goldens[p as usize].golden_id.as_str())
            .collect();
        let mut by_id: HashMap<String, (String, String)> = mdm_store::golden::by_ids(conn, &ids)?
            .into_iter()
            .map(|g| (g.golden_id, (g.attributes, g.lineage)))
            .collect();
        let goldens = priors
            .iter()
            .map(|&p| {
                let id = &input.goldens[p as usize].golden_id;
                let json = by_id.remove(id).ok_or_else(|| {
                    ServiceError::Conflict(format!("golden record {id} changed during the run"))
                })?;
                Ok((p, json))
            })
            .collect::<Result<_, ServiceError>>()?;
        Ok(Self { values, goldens })
    }

    fn values<'a>(&'a self, input: &'a Input, r: u32) -> &'a [Option<String>] {
        match self.values.get(&r) {
            Some(v) => v,
            None => &input.records[r as usize].values,
        }
    }

    /// A previous golden record's attributes and lineage JSON.
    fn golden<'a>(&'a self, input: &'a Input, p: u32) -> (&'a str, &'a str) {
        match self.goldens.get(&p) {
            Some((a, l)) => (a, l),
            None => {
                let g = &input.goldens[p as usize];
                (&g.attributes, &g.lineage)
            }
        }
    }
}

impl Plan {
    pub fn cluster_count(&self) -> usize {
        self.clusters.len()
    }

    /// The records and previous golden records that survivorship and comparison of
    /// clusters `range` read.
    pub fn needs(&self, m: &Matched, range: Range<usize>) -> (Vec<u32>, Vec<u32>) {
        let mut records = Vec::new();
        let mut priors = Vec::new();
        for c in range.filter(|&c| self.need[c]) {
            records.extend(&m.clusters[c]);
            priors.extend(self.clusters[c].kept);
        }
        (records, priors)
    }

    /// The previous golden records that retire (merged away or deleted).
    pub fn retiring(&self) -> Vec<u32> {
        self.retired.iter().map(|&(p, _)| p).collect()
    }

    /// The changes of clusters `range`, counted into `counts`.
    #[allow(clippy::too_many_arguments)]
    pub fn changes(
        &self,
        rules: &DomainRules,
        ctx: &StdContext,
        input: &Input,
        m: &Matched,
        run_id: i64,
        range: Range<usize>,
        data: &ChunkData,
        counts: &mut RunCounts,
    ) -> Vec<Change> {
        let golden: Vec<Option<(String, String)>> = range
            .clone()
            .into_par_iter()
            .map(|c| {
                self.need[c].then(|| {
                    let values = |r: u32| data.values(input, r);
                    survive_cluster(
                        rules,
                        ctx,
                        input,
                        &values,
                        &m.clusters[c],
                        &self.clusters[c],
                    )
                })
            })
            .collect();
        let mut changes = Vec::new();
        for (c, golden) in range.zip(golden) {
            let ci = &self.clusters[c];
            let members = m.clusters[c].len() as i32;
            match (golden, ci.kept) {
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
                        cluster: Some(c),
                        version: 1,
                        status: "active",
                        reason,
                        attributes: attrs,
                        lineage,
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
                    let (prev_attrs, prev_lineage) = data.golden(input, p);
                    let reason = if !ci.absorbed.is_empty() {
                        "merged"
                    } else if ci.lost_to_split {
                        "split"
                    } else if prev_attrs != attrs
                        || !mdm_core::lineage::same(prev_lineage, &lineage)
                        || prev.members != members
                        || membership_changed(input, m, &self.prior_of, c, p)
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
                        cluster: Some(c),
                        version: prev.version + 1,
                        status: "active",
                        reason,
                        attributes: attrs,
                        lineage,
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
        changes
    }

    /// The previous golden records this run retires (merged away or deleted), with the JSON
    /// they keep; `data` read for [`Plan::retiring`].
    pub fn retirements(
        &self,
        input: &Input,
        data: &ChunkData,
        counts: &mut RunCounts,
    ) -> Vec<Change> {
        let mut changes = Vec::with_capacity(self.retired.len());
        for &(p, fate) in &self.retired {
            let prev = &input.goldens[p as usize];
            let (status, reason, merged_into, event) = match fate {
                Fate::MergedInto(c) => (
                    "retired",
                    "merged",
                    Some(self.clusters[c].id.to_string()),
                    false,
                ),
                Fate::Deleted => {
                    counts.deleted += 1;
                    ("deleted", "deleted", None, true)
                }
            };
            let (attributes, lineage) = data.golden(input, p);
            changes.push(Change {
                golden_id: prev.golden_id.clone(),
                cluster: None,
                version: prev.version + 1,
                status,
                reason,
                attributes: attributes.to_string(),
                lineage: lineage.to_string(),
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
        changes
    }
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

fn survive_cluster<'a>(
    rules: &DomainRules,
    ctx: &StdContext,
    input: &Input,
    values: &dyn Fn(u32) -> &'a [Option<String>],
    members: &[u32],
    ci: &ClusterIdentity,
) -> (String, String) {
    let ctx = &survive::cluster_context(rules, ctx, members.iter().map(|&r| values(r)));
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
                values(r),
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
