//! Derived groups (households) in the service: the run's derivation step (called by
//! `reconcile::relationships` inside the run's transaction) and what a steward does to a
//! group (confirm, remove a member, split, add a member, withdraw a decision).
//!
//! A steward's action is stored as decisions on golden-record pairs (`group_decisions`:
//! `must_link` keeps two records in one group, `cannot_link` keeps them apart), written with
//! its audit entry in one transaction and applied at once by an incremental reconcile, like
//! the match actions of `steward::actions`; every later run honours the decisions (retired
//! IDs followed through their redirects), so a nightly run does not undo them. If applying
//! fails, the action's decisions are withdrawn again.

use super::Desired;
use crate::reconcile::{reconcile, ReconcileOptions, RunSummary};
use crate::steward::{audit, AuditNote};
use crate::ServiceError;
use mdm_core::relationships::group::{
    block_edges, groups_from_edges, new_group_id, prepare, Comparers, Edge, GroupStats, Prepared,
    Vocabulary,
};
use mdm_core::relationships::{Candidate, Derived, GroupDecision, RelationshipType};
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::groups::{GroupDecisionRow, NewGroupDecision};
use mdm_store::relationships::Relationship;
use mdm_store::DbConnection;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// Golden records read per query when deriving groups.
const PAGE: i64 = 20_000;

/// Derives the groups of derived type `ty` from the active golden records of its domain:
/// the relationships the run wants (member -> group ID) and the derivation's counts.
/// `stored` are the type's stored relationships (the previous groups).
///
/// Memory is bounded by `part` candidates, not by the domain: a first pass over the golden
/// records keeps per record only its ID and the hash of its place (postcode), and counts
/// street words; then the candidates are compared a part at a time (all of one postcode in
/// one part), their values read again by ID. A domain of at most `part` candidates is
/// compared from the first pass.
pub(crate) fn derive(
    conn: &mut DbConnection,
    ty: &RelationshipType,
    rules: &DomainRules,
    stored: &[Relationship],
    run_id: i64,
    part: usize,
) -> Result<(Vec<Desired>, GroupStats), ServiceError> {
    let Some(rule) = &ty.derived else {
        return Ok((Vec::new(), GroupStats::default()));
    };
    mdm_rules::check_derived_attributes(
        &mdm_core::relationships::RelationshipRules {
            types: vec![ty.clone()],
        },
        rules,
    )
    .map_err(ServiceError::Invalid)?;
    let ctx = StdContext::default();
    let scan = scan(conn, rule, rules, &ctx, part.max(1))?;
    let mut stats = GroupStats {
        candidates: scan.candidates.len() as u64,
        ..Default::default()
    };
    let edges = scan.edges(conn, rule, rules, &ctx, &mut stats)?;

    let mut redirects = Redirects::new(&scan.active);
    let mut previous = Vec::new();
    for r in stored.iter().filter(|r| r.status == "active") {
        let member = redirects.current(conn, &r.from_golden_id)?;
        previous.push((r.to_golden_id.clone(), member));
    }
    let mut decisions = Vec::new();
    for d in mdm_store::groups::decisions(conn, &rules.domain, &ty.name, true)? {
        decisions.push(GroupDecision {
            id: d.id,
            together: d.kind == "must_link",
            a: redirects.current(conn, &d.a_golden_id)?,
            b: redirects.current(conn, &d.b_golden_id)?,
        });
    }
    // The candidates in an edge or a decision: the others are alone, in no group.
    let mut nodes: Vec<usize> = edges.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    for d in &decisions {
        for id in [&d.a, &d.b] {
            if let Some(i) = scan.candidate(id) {
                nodes.push(i);
            }
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    let node = |i: usize| nodes.binary_search(&i).expect("an edge's ends are nodes");
    let edges = edges
        .into_iter()
        .map(|(a, b, k)| (node(a), node(b), k))
        .collect();
    let ids: Vec<String> = nodes
        .iter()
        .map(|&i| scan.candidates[i].0.to_string())
        .collect();
    let name = ty.name.clone();
    let groups = groups_from_edges(
        rule,
        &ids,
        edges,
        &decisions,
        &previous,
        &|first: &str| new_group_id(&name, run_id, first),
        &mut stats,
    );
    let mut desired = Vec::with_capacity(stats.members as usize);
    for g in groups {
        for m in g.members {
            desired.push(Desired {
                from: m.golden_id,
                to: g.id.clone(),
                attributes: json!({ "basis": m.basis }).to_string(),
                lineage: serde_json::to_string(&m.evidence).expect("evidence serializes"),
            });
        }
    }
    Ok((desired, stats))
}

/// The first pass over a domain's active golden records.
struct Scan {
    /// Every active golden record's ID, sorted.
    active: Vec<Uuid>,
    /// The candidates (records that may be members) with their place hash, sorted by ID.
    candidates: Vec<(Uuid, Option<u64>)>,
    comparers: Comparers,
    /// The candidates' comparable values when there were at most a part of them.
    prepared: Option<Vec<Prepared>>,
    part: usize,
}

fn scan(
    conn: &mut DbConnection,
    rule: &Derived,
    rules: &DomainRules,
    ctx: &StdContext,
    part: usize,
) -> Result<Scan, ServiceError> {
    let mut active = Vec::new();
    let mut candidates = Vec::new();
    let mut vocabulary = Vocabulary::new(rule, rules);
    let mut prepared = Some(Vec::new());
    let mut after = String::new();
    loop {
        let page = mdm_store::groups::active_values_page(conn, &rules.domain, &after, PAGE)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = last.clone();
        for (id, json) in page {
            let uuid = golden_uuid(&id)?;
            active.push(uuid);
            let Some(p) = prepare(rule, rules, ctx, &candidate(id, &json)?) else {
                continue;
            };
            vocabulary.add(&p);
            candidates.push((uuid, p.place_hash()));
            if let Some(kept) = &mut prepared {
                kept.push(p);
                if kept.len() > part {
                    prepared = None;
                }
            }
        }
    }
    // Pages come in the database's text order of IDs; lookups need UUID order.
    if !active.is_sorted() {
        active.sort_unstable();
        candidates.sort_unstable_by_key(|c| c.0);
        prepared = None;
    }
    Ok(Scan {
        active,
        candidates,
        comparers: vocabulary.comparers(),
        prepared,
        part,
    })
}

impl Scan {
    fn candidate(&self, id: &str) -> Option<usize> {
        let id = Uuid::parse_str(id).ok()?;
        self.candidates.binary_search_by_key(&id, |c| c.0).ok()
    }

    /// The rule's edges, in candidate indexes: from the first pass, or a part at a time.
    fn edges(
        &self,
        conn: &mut DbConnection,
        rule: &Derived,
        rules: &DomainRules,
        ctx: &StdContext,
        stats: &mut GroupStats,
    ) -> Result<Vec<Edge>, ServiceError> {
        if let Some(prepared) = &self.prepared {
            return Ok(block_edges(rule, &self.comparers, prepared, stats));
        }
        let parts = self.candidates.len().div_ceil(self.part) as u64;
        let mut edges = Vec::new();
        for part in 0..parts {
            let members: Vec<usize> = (0..self.candidates.len())
                .filter(|&i| self.candidates[i].1.map(|h| h % parts) == Some(part))
                .collect();
            let ids: Vec<String> = members
                .iter()
                .map(|&i| self.candidates[i].0.to_string())
                .collect();
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let mut rows = mdm_store::golden::attributes_by_ids(conn, &ids)?;
            rows.sort_unstable();
            let mut index = Vec::with_capacity(rows.len());
            let mut prepared = Vec::with_capacity(rows.len());
            for (id, json) in rows {
                let i = self.candidate(&id).ok_or_else(|| {
                    ServiceError::Corrupt(format!("golden record {id} changed while read"))
                })?;
                let p = prepare(rule, rules, ctx, &candidate(id, &json)?).ok_or_else(|| {
                    ServiceError::Corrupt("a candidate changed while read".into())
                })?;
                index.push(i);
                prepared.push(p);
            }
            for (a, b, k) in block_edges(rule, &self.comparers, &prepared, stats) {
                edges.push((index[a], index[b], k));
            }
        }
        Ok(edges)
    }
}

/// A stored golden ID as a UUID: in its canonical form, so it prints back the same.
fn golden_uuid(id: &str) -> Result<Uuid, ServiceError> {
    match Uuid::parse_str(id) {
        Ok(u) if u.to_string() == id => Ok(u),
        _ => Err(ServiceError::Corrupt(format!(
            "golden ID {id:?} is not a UUID in canonical form"
        ))),
    }
}

fn candidate(id: String, json: &str) -> Result<Candidate, ServiceError> {
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|e| ServiceError::Corrupt(format!("golden record {id} attributes: {e}")))?;
    let values = map
        .into_iter()
        .filter_map(|(k, v)| crate::steward::text_of(Some(&v)).map(|v| (k, v)))
        .collect();
    Ok(Candidate { id, values })
}

/// Retired golden IDs followed to their survivors, each looked up once.
struct Redirects<'a> {
    /// Every active golden ID, sorted.
    active: &'a [Uuid],
    seen: HashMap<String, String>,
}

impl<'a> Redirects<'a> {
    fn new(active: &'a [Uuid]) -> Self {
        Self {
            active,
            seen: HashMap::new(),
        }
    }

    /// The active ID `id` stands for now (itself when active or when nothing redirects it).
    fn current(&mut self, conn: &mut DbConnection, id: &str) -> Result<String, ServiceError> {
        let active = Uuid::parse_str(id).is_ok_and(|u| self.active.binary_search(&u).is_ok());
        if active {
            return Ok(id.to_string());
        }
        if let Some(s) = self.seen.get(id) {
            return Ok(s.clone());
        }
        let s = mdm_store::golden::redirect_of(conn, id)?.unwrap_or_else(|| id.to_string());
        self.seen.insert(id.to_string(), s.clone());
        Ok(s)
    }
}

// ---- reading a group ----

/// The derived type of `domain` (households for customers), or not found.
pub fn derived_type(
    conn: &mut DbConnection,
    domain: &str,
) -> Result<RelationshipType, ServiceError> {
    super::load_types(conn)?
        .types
        .into_iter()
        .find(|t| t.from == domain && t.derived.is_some())
        .ok_or_else(|| ServiceError::NotFound(format!("domain {domain} has no derived groups")))
}

/// One member of a group as readers see it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MemberView {
    pub golden_id: String,
    /// `rule`, or `steward` when a decision holds the member in.
    pub basis: String,
    /// Why it is linked to other members: agreeing attributes, or a decision.
    pub evidence: serde_json::Value,
    /// Member since (RFC 3339, UTC; this version of the membership).
    pub since: String,
}

/// A group (household) with its members and the active decisions on them.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct GroupView {
    pub id: String,
    #[serde(rename = "type")]
    pub rel_type: String,
    pub domain: String,
    pub members: Vec<MemberView>,
    pub decisions: Vec<DecisionView>,
}

/// A steward decision on two golden records of a group.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DecisionView {
    pub id: i64,
    /// `must_link` or `cannot_link`.
    pub kind: String,
    pub a: String,
    pub b: String,
    pub group_id: Option<String>,
    pub decided_by: String,
    pub reason: String,
    pub created_at: String,
    pub withdrawn_at: Option<String>,
}

impl From<GroupDecisionRow> for DecisionView {
    fn from(d: GroupDecisionRow) -> Self {
        let t = |t: chrono::NaiveDateTime| t.and_utc().to_rfc3339();
        DecisionView {
            id: d.id,
            kind: d.kind,
            a: d.a_golden_id,
            b: d.b_golden_id,
            group_id: d.group_id,
            decided_by: d.decided_by,
            reason: d.reason,
            created_at: t(d.created_at),
            withdrawn_at: d.withdrawn_at.map(t),
        }
    }
}

/// Group `id` of `domain`'s derived type, or not found when it has no member now.
pub fn group(conn: &mut DbConnection, domain: &str, id: &str) -> Result<GroupView, ServiceError> {
    let ty = derived_type(conn, domain)?;
    group_of_type(conn, &ty, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("no {} {id}", ty.name)))
}

fn group_of_type(
    conn: &mut DbConnection,
    ty: &RelationshipType,
    id: &str,
) -> Result<Option<GroupView>, ServiceError> {
    let rows = mdm_store::groups::members(conn, &ty.from, &ty.name, id)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let json = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    let members: Vec<MemberView> = rows
        .iter()
        .map(|r| MemberView {
            golden_id: r.from_golden_id.clone(),
            basis: json(&r.attributes)["basis"]
                .as_str()
                .unwrap_or("rule")
                .to_string(),
            evidence: json(&r.lineage),
            since: r.updated_at.and_utc().to_rfc3339(),
        })
        .collect();
    let ids: HashSet<&str> = members.iter().map(|m| m.golden_id.as_str()).collect();
    let decisions = mdm_store::groups::decisions(conn, &ty.from, &ty.name, true)?
        .into_iter()
        .filter(|d| {
            ids.contains(d.a_golden_id.as_str())
                || ids.contains(d.b_golden_id.as_str())
                || d.group_id.as_deref() == Some(id)
        })
        .map(DecisionView::from)
        .collect();
    Ok(Some(GroupView {
        id: id.to_string(),
        rel_type: ty.name.clone(),
        domain: ty.from.clone(),
        members,
        decisions,
    }))
}

/// The decisions on `domain`'s derived groups, oldest first.
pub fn decisions(
    conn: &mut DbConnection,
    domain: &str,
    active_only: bool,
) -> Result<Vec<DecisionView>, ServiceError> {
    let ty = derived_type(conn, domain)?;
    Ok(
        mdm_store::groups::decisions(conn, domain, &ty.name, active_only)?
            .into_iter()
            .map(DecisionView::from)
            .collect(),
    )
}

// ---- steward actions ----

/// What a steward action on a group left: the groups its members are in now.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct GroupOutcome {
    /// Each golden record the action named, with its group now (`None`: in none).
    pub groups: BTreeMap<String, Option<String>>,
    /// Decisions stored and withdrawn by the action.
    pub decisions: Vec<i64>,
    pub withdrawn: Vec<i64>,
    pub run_id: i64,
}

/// A steward acting on the derived groups of one domain.
pub struct GroupSteward<'a> {
    pub conn: &'a mut DbConnection,
    pub rules: &'a DomainRules,
    pub ctx: &'a StdContext,
    /// The steward's name as the audit log shows it.
    pub actor: &'a str,
}

type Pair = (String, String, &'static str);

impl GroupSteward<'_> {
    /// Confirms group `id` as it is: its members stay together whatever the rule says later.
    pub fn confirm(&mut self, id: &str, reason: &str) -> Result<GroupOutcome, ServiceError> {
        let (ty, g) = self.current(id)?;
        let ids: Vec<String> = g.members.iter().map(|m| m.golden_id.clone()).collect();
        let pairs = ids[1..]
            .iter()
            .map(|m| (ids[0].clone(), m.clone(), "must_link"))
            .collect();
        let withdraw = self.across(&ty, &ids, &ids, "cannot_link")?;
        self.apply(
            &ty,
            "household.confirm",
            id,
            &g,
            reason,
            withdraw,
            pairs,
            &ids,
        )
    }

    /// Takes `member` out of group `id`: it is kept apart from the other members.
    pub fn remove(
        &mut self,
        id: &str,
        member: &str,
        reason: &str,
    ) -> Result<GroupOutcome, ServiceError> {
        self.split_as("household.remove", id, &[member.to_string()], reason)
    }

    /// Splits group `id` in two: `part` apart from the other members.
    pub fn split(
        &mut self,
        id: &str,
        part: &[String],
        reason: &str,
    ) -> Result<GroupOutcome, ServiceError> {
        self.split_as("household.split", id, part, reason)
    }

    fn split_as(
        &mut self,
        action: &str,
        id: &str,
        part: &[String],
        reason: &str,
    ) -> Result<GroupOutcome, ServiceError> {
        let (ty, g) = self.current(id)?;
        let ids: Vec<String> = g.members.iter().map(|m| m.golden_id.clone()).collect();
        let part: Vec<String> = {
            let mut p = part.to_vec();
            p.sort();
            p.dedup();
            p
        };
        if let Some(m) = part.iter().find(|m| !ids.contains(m)) {
            return Err(ServiceError::Invalid(format!(
                "{m} is not a member of {id}"
            )));
        }
        let rest: Vec<String> = ids.iter().filter(|m| !part.contains(m)).cloned().collect();
        if part.is_empty() || rest.is_empty() {
            return Err(ServiceError::Invalid(
                "name some of the members, not none or all of them".into(),
            ));
        }
        let pairs = part
            .iter()
            .flat_map(|a| {
                rest.iter()
                    .map(move |b| (a.clone(), b.clone(), "cannot_link"))
            })
            .collect();
        let withdraw = self.across(&ty, &part, &rest, "must_link")?;
        self.apply(&ty, action, id, &g, reason, withdraw, pairs, &ids)
    }

    /// Adds golden record `member` to group `id` (it leaves any other group).
    pub fn add(
        &mut self,
        id: &str,
        member: &str,
        reason: &str,
    ) -> Result<GroupOutcome, ServiceError> {
        let (ty, g) = self.current(id)?;
        let domain = self.rules.domain.clone();
        let r = mdm_store::golden::get(self.conn, &domain, member)?
            .filter(|r| r.redirected_from.is_none() && r.record.status == "active")
            .ok_or_else(|| {
                ServiceError::NotFound(format!("no active {domain} golden record {member}"))
            })?;
        let c = candidate(r.record.golden_id, &r.record.attributes)?;
        if let Some(rule) = &ty.derived {
            if let Some(a) = rule
                .members_without
                .iter()
                .find(|a| c.values.contains_key(*a))
            {
                return Err(ServiceError::Invalid(format!(
                    "{member} has `{a}`: such records are never members of a {}",
                    ty.name
                )));
            }
        }
        let ids: Vec<String> = g.members.iter().map(|m| m.golden_id.clone()).collect();
        if ids.iter().any(|m| m == member) {
            return Err(ServiceError::Invalid(format!(
                "{member} is a member of {id} already"
            )));
        }
        let one = [member.to_string()];
        let withdraw = self.across(&ty, &one, &ids, "cannot_link")?;
        let pairs = vec![(ids[0].clone(), member.to_string(), "must_link")];
        let mut named = ids.clone();
        named.push(member.to_string());
        self.apply(
            &ty,
            "household.add",
            id,
            &g,
            reason,
            withdraw,
            pairs,
            &named,
        )
    }

    /// Withdraws a decision; the reconcile it runs stops honouring it.
    pub fn withdraw(&mut self, decision: i64, reason: &str) -> Result<GroupOutcome, ServiceError> {
        let domain = self.rules.domain.clone();
        let d = mdm_store::groups::decision(self.conn, decision)?
            .filter(|d| d.domain == domain)
            .ok_or_else(|| {
                ServiceError::NotFound(format!("no {domain} group decision {decision}"))
            })?;
        if d.withdrawn_at.is_some() {
            return Err(ServiceError::Conflict(format!(
                "decision {decision} was already withdrawn"
            )));
        }
        let actor = self.actor;
        let named = vec![d.a_golden_id.clone(), d.b_golden_id.clone()];
        self.conn.write_transaction::<_, ServiceError, _>(|c| {
            mdm_store::groups::withdraw_decision(c, decision)?;
            audit(
                c,
                AuditNote {
                    actor,
                    action: "household.withdraw",
                    domain: &domain,
                    golden_ids: named.clone(),
                    reason: Some(reason),
                    before: Some(json!(DecisionView::from(d.clone()))),
                    after: None,
                    run_id: None,
                },
            )
        })?;
        let run = self.run()?;
        self.outcome(&named, Vec::new(), vec![decision], run.run_id)
    }

    /// The derived type and group `id` as it is now.
    fn current(&mut self, id: &str) -> Result<(RelationshipType, GroupView), ServiceError> {
        let ty = derived_type(self.conn, &self.rules.domain)?;
        let g = group_of_type(self.conn, &ty, id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no {} {id}", ty.name)))?;
        Ok((ty, g))
    }

    /// Active decisions of `kind` between a record of `a` and one of `b`.
    fn across(
        &mut self,
        ty: &RelationshipType,
        a: &[String],
        b: &[String],
        kind: &str,
    ) -> Result<Vec<GroupDecisionRow>, ServiceError> {
        let has = |s: &[String], x: &str| s.iter().any(|m| m == x);
        Ok(
            mdm_store::groups::decisions(self.conn, &ty.from, &ty.name, true)?
                .into_iter()
                .filter(|d| d.kind == kind && d.a_golden_id != d.b_golden_id)
                .filter(|d| {
                    (has(a, &d.a_golden_id) && has(b, &d.b_golden_id))
                        || (has(b, &d.a_golden_id) && has(a, &d.b_golden_id))
                })
                .collect(),
        )
    }

    /// Withdraws `withdraw`, stores `pairs` and the audit entry in one transaction, then
    /// reconciles; on failure the new decisions are withdrawn again and the others restored.
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        ty: &RelationshipType,
        action: &str,
        id: &str,
        before: &GroupView,
        reason: &str,
        withdraw: Vec<GroupDecisionRow>,
        pairs: Vec<Pair>,
        named: &[String],
    ) -> Result<GroupOutcome, ServiceError> {
        let domain = self.rules.domain.clone();
        let actor = self.actor;
        let why = format!("{action}: {reason}");
        let withdrawn: Vec<i64> = withdraw.iter().map(|d| d.id).collect();
        let created = self.conn.write_transaction::<_, ServiceError, _>(|c| {
            for d in &withdraw {
                mdm_store::groups::withdraw_decision(c, d.id)?;
            }
            let active = mdm_store::groups::decisions(c, &domain, &ty.name, true)?;
            let mut ids = Vec::new();
            for (a, b, kind) in &pairs {
                let exists = active.iter().any(|d| {
                    d.kind == *kind
                        && ((&d.a_golden_id, &d.b_golden_id) == (a, b)
                            || (&d.a_golden_id, &d.b_golden_id) == (b, a))
                });
                if exists {
                    continue;
                }
                ids.push(mdm_store::groups::insert_decision(
                    c,
                    &NewGroupDecision {
                        domain: &domain,
                        rel_type: &ty.name,
                        kind,
                        a,
                        b,
                        group_id: Some(id),
                        decided_by: actor,
                        reason: &why,
                    },
                )?);
            }
            audit(
                c,
                AuditNote {
                    actor,
                    action,
                    domain: &domain,
                    golden_ids: named.to_vec(),
                    reason: Some(reason),
                    before: Some(json!({ "group": before })),
                    after: Some(json!({ "decisions": ids, "withdrawn": withdrawn })),
                    run_id: None,
                },
            )?;
            Ok(ids)
        })?;
        match self.run() {
            Ok(run) => self.outcome(named, created, withdrawn, run.run_id),
            Err(e) => {
                // Leave nothing half-done: the next nightly run must not apply it either.
                let _ = self.conn.write_transaction::<_, ServiceError, _>(|c| {
                    for d in &created {
                        mdm_store::groups::withdraw_decision(c, *d)?;
                    }
                    for d in &withdraw {
                        mdm_store::groups::insert_decision(
                            c,
                            &NewGroupDecision {
                                domain: &d.domain,
                                rel_type: &d.rel_type,
                                kind: &d.kind,
                                a: &d.a_golden_id,
                                b: &d.b_golden_id,
                                group_id: d.group_id.as_deref(),
                                decided_by: &d.decided_by,
                                reason: &d.reason,
                            },
                        )?;
                    }
                    audit(
                        c,
                        AuditNote {
                            actor,
                            action: &format!("{action}.failed"),
                            domain: &domain,
                            golden_ids: named.to_vec(),
                            reason: Some(reason),
                            before: None,
                            after: Some(json!({ "error": e.to_string(), "withdrawn": created })),
                            run_id: None,
                        },
                    )
                });
                Err(e)
            }
        }
    }

    fn outcome(
        &mut self,
        named: &[String],
        decisions: Vec<i64>,
        withdrawn: Vec<i64>,
        run_id: i64,
    ) -> Result<GroupOutcome, ServiceError> {
        let ty = derived_type(self.conn, &self.rules.domain)?;
        let mut groups = BTreeMap::new();
        for m in named {
            let g = mdm_store::groups::group_of(self.conn, &ty.from, &ty.name, m)?;
            groups.insert(m.clone(), g);
        }
        Ok(GroupOutcome {
            groups,
            decisions,
            withdrawn,
            run_id,
        })
    }

    fn run(&mut self) -> Result<RunSummary, ServiceError> {
        reconcile(
            self.conn,
            self.rules,
            self.ctx,
            ReconcileOptions::default(),
            &|_, _, _| {},
        )
    }
}
