//! The run's relationship step: inside the run's one write transaction, after golden
//! records and xref are written, every relationship type with an end in the run's domain
//! is resolved again from its current staged links and the xref of both ends
//! (`mdm_core::relationships::resolve`), and the difference with the stored relationships
//! is written: new and changed versions, ended ones, their history and change events.
//! Readers therefore never see golden records of one run with relationships of another.
//! A derived type (households) is derived from the domain's golden records instead of
//! staged links (`relationships::groups`), and written the same way.

use crate::relationships::Desired;
use crate::ServiceError;
use chrono::NaiveDateTime;
use mdm_core::relationships::group::GroupStats;
use mdm_core::relationships::{resolve as resolve_type, RelationshipType, ResolvedLink};
use mdm_core::DomainRules;
use mdm_store::links::ResolvedRow;
use mdm_store::outbox::NewEvent;
use mdm_store::relationships::{NewHistoryRow, Relationship};
use mdm_store::{DbConnection, LOWEST_TRUST};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What the step did; part of the run's stats (absent when no type touches the domain).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RelationshipStats {
    pub types: u64,
    /// Current staged links of those types.
    pub links: u64,
    /// Links whose far end has no golden record yet (not staged, not reconciled, deleted).
    pub waiting: u64,
    /// Links whose two ends are one golden record.
    pub self_links: u64,
    /// `one_parent` edges refused because they would close a cycle, and a few of them
    /// (type, parent, child).
    pub cycles_refused: u64,
    pub cycle_examples: Vec<(String, String, String)>,
    /// `one_parent` edges dropped because the child kept a better-supported parent.
    pub parent_conflicts: u64,
    pub active: u64,
    pub added: u64,
    pub changed: u64,
    pub ended: u64,
    /// What deriving the domain's derived type (households) found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived: Option<GroupStats>,
    pub secs: f64,
}

const EXAMPLES: usize = 20;

/// Candidates of a derived type (households) compared at a time when the run is not
/// partitioned; a partitioned run uses its partition size.
pub const GROUP_PART: usize = 200_000;

/// Resolves the relationship types touching `domain`; run inside the run's transaction.
/// A derived type's candidates are compared `group_part` at a time.
pub fn resolve(
    conn: &mut DbConnection,
    domain_rules: &DomainRules,
    run_id: i64,
    t: NaiveDateTime,
    group_part: usize,
) -> Result<Option<RelationshipStats>, ServiceError> {
    let started = std::time::Instant::now();
    let domain = domain_rules.domain.as_str();
    let rules = crate::relationships::load_types(conn)?;
    let mut stats = RelationshipStats::default();
    for ty in rules.touching(domain) {
        stats.types += 1;
        mdm_store::relationships::lock_type(conn, &ty.from, &ty.name)?;
        if ty.derived.is_some() {
            if ty.from != domain {
                continue;
            }
            let stored = mdm_store::relationships::of_type(conn, &ty.from, &ty.name)?;
            let (desired, derived) = crate::relationships::groups::derive(
                conn,
                ty,
                domain_rules,
                &stored,
                run_id,
                group_part,
            )?;
            stats.active += desired.len() as u64;
            stats.derived = Some(derived);
            write(conn, &mut stats, diff(ty, stored, desired, run_id, t))?;
            continue;
        }
        let rows = mdm_store::links::resolved(conn, &ty.from, &ty.name, &ty.to)?;
        stats.links += rows.len() as u64;
        let links = rows.into_iter().map(link).collect::<Result<Vec<_>, _>>()?;
        let stored = mdm_store::relationships::of_type(conn, &ty.from, &ty.name)?;
        let previous: HashSet<(String, String)> = stored
            .iter()
            .filter(|r| r.status == "active")
            .map(|r| (r.from_golden_id.clone(), r.to_golden_id.clone()))
            .collect();
        let res = resolve_type(ty, links, &previous);
        stats.waiting += res.waiting;
        stats.self_links += res.self_links;
        stats.cycles_refused += res.cycles.len() as u64;
        stats.parent_conflicts += res.parent_conflicts.len() as u64;
        stats.active += res.relationships.len() as u64;
        for (p, c) in res
            .cycles
            .iter()
            .take(EXAMPLES - stats.cycle_examples.len().min(EXAMPLES))
        {
            stats
                .cycle_examples
                .push((ty.name.clone(), p.clone(), c.clone()));
        }
        if !res.cycles.is_empty() {
            tracing::warn!(run_id, rel_type = %ty.name, refused = res.cycles.len(), "relationship links that would close a cycle were refused");
        }
        let desired = res.relationships.into_iter().map(Desired::from).collect();
        write(conn, &mut stats, diff(ty, stored, desired, run_id, t))?;
    }
    if stats.types == 0 {
        return Ok(None);
    }
    stats.secs = started.elapsed().as_secs_f64();
    Ok(Some(stats))
}

fn link(r: ResolvedRow) -> Result<ResolvedLink, ServiceError> {
    let attributes: BTreeMap<String, String> = serde_json::from_str(&r.attributes)
        .map_err(|e| ServiceError::Corrupt(format!("staged link attributes: {e}")))?;
    Ok(ResolvedLink {
        system: r.system,
        origin: r.origin,
        from_source_id: r.from_source_id,
        to_source_id: r.to_source_id,
        version: r.version,
        batch_id: r.batch_id,
        trust_rank: r.trust_rank.unwrap_or(LOWEST_TRUST),
        attributes,
        from_golden: r.from_golden,
        to_golden: r.to_golden,
    })
}

fn write(
    conn: &mut DbConnection,
    stats: &mut RelationshipStats,
    w: Writes,
) -> Result<(), ServiceError> {
    stats.added += w.added;
    stats.changed += w.changed;
    stats.ended += w.ended;
    mdm_store::relationships::insert(conn, &w.insert)?;
    mdm_store::relationships::update(conn, &w.update)?;
    mdm_store::relationships::insert_history(conn, &w.history)?;
    mdm_store::outbox::insert(conn, &w.events)?;
    Ok(())
}

/// The writes that turn the stored relationships of one type into the resolved ones.
#[derive(Default)]
struct Writes {
    insert: Vec<Relationship>,
    update: Vec<Relationship>,
    history: Vec<NewHistoryRow>,
    events: Vec<NewEvent>,
    added: u64,
    changed: u64,
    ended: u64,
}

fn diff(
    ty: &RelationshipType,
    stored: Vec<Relationship>,
    resolved: Vec<Desired>,
    run_id: i64,
    t: NaiveDateTime,
) -> Writes {
    let mut w = Writes::default();
    let mut stored: HashMap<(String, String), Relationship> = stored
        .into_iter()
        .map(|r| ((r.from_golden_id.clone(), r.to_golden_id.clone()), r))
        .collect();
    for g in resolved {
        let (attributes, lineage) = (g.attributes, g.lineage);
        match stored.remove(&(g.from.clone(), g.to.clone())) {
            None => {
                let r = Relationship {
                    from_domain: ty.from.clone(),
                    rel_type: ty.name.clone(),
                    from_golden_id: g.from,
                    to_golden_id: g.to,
                    to_domain: ty.to.clone(),
                    status: "active".into(),
                    version: 1,
                    attributes,
                    lineage,
                    run_id,
                    created_run_id: run_id,
                    created_at: t,
                    updated_at: t,
                };
                w.added += 1;
                w.record(&r, "added");
                w.insert.push(r);
            }
            Some(old)
                if old.status == "active"
                    && old.attributes == attributes
                    && old.lineage == lineage => {}
            Some(mut r) => {
                let reason = if r.status == "active" {
                    "changed"
                } else {
                    "added"
                };
                if reason == "added" {
                    w.added += 1;
                } else {
                    w.changed += 1;
                }
                r.status = "active".into();
                r.version += 1;
                (r.attributes, r.lineage, r.run_id, r.updated_at) =
                    (attributes, lineage, run_id, t);
                w.record(&r, reason);
                w.update.push(r);
            }
        }
    }
    // What no link supports any more, in key order (events follow it).
    let mut gone: Vec<Relationship> = stored
        .into_values()
        .filter(|r| r.status == "active")
        .collect();
    gone.sort_by(|a, b| {
        (&a.from_golden_id, &a.to_golden_id).cmp(&(&b.from_golden_id, &b.to_golden_id))
    });
    for mut r in gone {
        r.status = "ended".into();
        r.version += 1;
        (r.run_id, r.updated_at) = (run_id, t);
        w.ended += 1;
        w.record(&r, "ended");
        w.update.push(r);
    }
    w
}

impl Writes {
    /// The history row and change event of one change (`added`, `changed`, `ended`).
    fn record(&mut self, r: &Relationship, reason: &str) {
        self.history.push(NewHistoryRow {
            from_domain: r.from_domain.clone(),
            rel_type: r.rel_type.clone(),
            from_golden_id: r.from_golden_id.clone(),
            to_golden_id: r.to_golden_id.clone(),
            to_domain: r.to_domain.clone(),
            version: r.version,
            reason: reason.into(),
            status: r.status.clone(),
            attributes: r.attributes.clone(),
            lineage: r.lineage.clone(),
            run_id: r.run_id,
            valid_from: r.updated_at,
        });
        let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
        let payload = serde_json::json!({
            "type": r.rel_type,
            "from_domain": r.from_domain,
            "from_golden_id": r.from_golden_id,
            "to_domain": r.to_domain,
            "to_golden_id": r.to_golden_id,
            "status": r.status,
            "version": r.version,
            "attributes": json(&r.attributes),
            "lineage": json(&r.lineage),
        });
        self.events.push(NewEvent {
            domain: r.from_domain.clone(),
            golden_id: r.from_golden_id.clone(),
            kind: format!("relationship_{reason}"),
            retired_ids: None,
            run_id: Some(r.run_id),
            payload: payload.to_string(),
            created_at: r.updated_at,
        });
    }
}
