//! The review queue: pairs in the review band whose records sit in different golden records,
//! ordered by what a steward's decision is worth most for, filterable and assignable; and
//! one item in detail, with both records side by side and the engine's explanation.

use super::{audit, text_of, AuditNote};
use crate::ServiceError;
use mdm_core::pipeline::features::RawTable;
use mdm_core::pipeline::Prepared;
use mdm_core::standardize::StdContext;
use mdm_core::{AttrType, DomainRules};
use mdm_store::decisions::{PairKey, ReviewItem};
use mdm_store::DbConnection;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Which items to show.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Items with a record of this system.
    pub system: Option<String>,
    pub assigned: Assigned,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Assigned {
    #[default]
    Any,
    Unassigned,
    To(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct Side {
    pub system: String,
    pub source_id: String,
    pub golden_id: String,
    /// The record's name as a steward reads it ([`display_name`]); in the queue's pages
    /// only, absent when the record has none or is no longer staged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueItem {
    pub id: i64,
    pub a: Side,
    pub b: Side,
    pub probability: f64,
    pub weight: f64,
    /// Higher first; see [`priority`].
    pub priority: f64,
    /// Source records of the two golden records together.
    pub cluster_size: i64,
    pub assigned_to: Option<String>,
    pub run_id: i64,
}

/// How much a decision on a pair is worth, in [0, 1]: mostly how unsure the engine is
/// (probability near 0.5), then how many source records the decision moves, then how
/// trusted the sources are (rank 1 is the most trusted).
pub fn priority(probability: f64, cluster_size: i64, best_trust_rank: i32) -> f64 {
    let unsure = 1.0 - (2.0 * probability - 1.0).abs();
    let size = (cluster_size.clamp(0, 10) as f64) / 10.0;
    let trust = 1.0 / f64::from(best_trust_rank.max(1));
    let p = 0.6 * unsure + 0.25 * size + 0.15 * trust;
    (p * 10_000.0).round() / 10_000.0
}

/// The queue of a domain: `(total after filtering, one page)`, each record with its name.
pub fn list(
    conn: &mut DbConnection,
    rules: &DomainRules,
    filter: &QueueFilter,
    offset: usize,
    limit: usize,
) -> Result<(usize, Vec<QueueItem>), ServiceError> {
    let domain = rules.domain.as_str();
    let mut items = ranked(conn, domain)?;
    items.retain(|i| {
        let system_ok = filter
            .system
            .as_ref()
            .is_none_or(|s| &i.a.system == s || &i.b.system == s);
        let assigned_ok = match &filter.assigned {
            Assigned::Any => true,
            Assigned::Unassigned => i.assigned_to.is_none(),
            Assigned::To(who) => i.assigned_to.as_deref() == Some(who),
        };
        system_ok && assigned_ok
    });
    let total = items.len();
    let mut page: Vec<QueueItem> = items.into_iter().skip(offset).take(limit).collect();
    name_sides(conn, rules, &mut page)?;
    Ok((total, page))
}

/// Fills in each side's name from its current staged version.
fn name_sides(
    conn: &mut DbConnection,
    rules: &DomainRules,
    page: &mut [QueueItem],
) -> Result<(), ServiceError> {
    let mut keys: Vec<(String, String)> = page
        .iter()
        .flat_map(|i| [&i.a, &i.b])
        .map(|s| (s.system.clone(), s.source_id.clone()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let names: HashMap<(String, String), String> =
        mdm_store::matchstate::current_by_keys(conn, &rules.domain, &keys)?
            .into_iter()
            .filter_map(|r| {
                let attrs = serde_json::from_str(&r.attributes).ok()?;
                Some(((r.system, r.source_id), display_name(rules, &attrs)?))
            })
            .collect();
    for side in page.iter_mut().flat_map(|i| [&mut i.a, &mut i.b]) {
        side.name = names
            .get(&(side.system.clone(), side.source_id.clone()))
            .cloned();
    }
    Ok(())
}

/// A record's name for people: given and family name, else a full name, else another
/// person name, else an attribute called `name` (products, suppliers), else an
/// organization name.
pub fn display_name(
    rules: &DomainRules,
    attrs: &serde_json::Map<String, serde_json::Value>,
) -> Option<String> {
    let value = |name: &str| {
        text_of(attrs.get(name))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let given_family: Vec<String> = ["given_name", "family_name"]
        .into_iter()
        .filter_map(value)
        .collect();
    if !given_family.is_empty() {
        return Some(given_family.join(" "));
    }
    let of_type = |ty: AttrType| {
        rules
            .attributes
            .iter()
            .filter(|a| a.ty == ty)
            .find_map(|a| value(&a.name))
    };
    value("full_name")
        .or_else(|| of_type(AttrType::PersonName))
        .or_else(|| value("name"))
        .or_else(|| of_type(AttrType::OrganizationName))
}

/// Every open item of a domain, highest priority first (ties by id).
fn ranked(conn: &mut DbConnection, domain: &str) -> Result<Vec<QueueItem>, ServiceError> {
    let decided = decided_pairs(conn, domain)?;
    let rows: Vec<ReviewItem> = mdm_store::decisions::review_queue(conn, domain)?
        .into_iter()
        .filter(|r| !decided.contains(&ordered(pair_key(r))))
        .collect();
    let mut ids: Vec<&str> = rows
        .iter()
        .flat_map(|r| [r.a_golden_id.as_str(), r.b_golden_id.as_str()])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let members: HashMap<String, i32> = mdm_store::golden::by_ids(conn, &ids)?
        .into_iter()
        .map(|g| (g.golden_id, g.members))
        .collect();
    let trust: HashMap<String, i32> = mdm_store::systems::list(conn)?
        .into_iter()
        .map(|s| (s.name, s.trust_rank))
        .collect();
    let assigned = mdm_store::decisions::assignments(conn, domain)?;
    let trust_of = |s: &str| trust.get(s).copied().unwrap_or(mdm_store::LOWEST_TRUST);
    let mut items: Vec<QueueItem> = rows
        .into_iter()
        .map(|r| {
            let size = i64::from(members.get(&r.a_golden_id).copied().unwrap_or(1))
                + i64::from(members.get(&r.b_golden_id).copied().unwrap_or(1));
            let best = trust_of(&r.a_system).min(trust_of(&r.b_system));
            to_item(&r, size, best, assigned.get(&pair_key(&r)).cloned())
        })
        .collect();
    items.sort_by(|x, y| y.priority.total_cmp(&x.priority).then(x.id.cmp(&y.id)));
    Ok(items)
}

fn to_item(r: &ReviewItem, size: i64, best_trust: i32, assigned_to: Option<String>) -> QueueItem {
    QueueItem {
        id: r.id,
        a: Side {
            system: r.a_system.clone(),
            source_id: r.a_source_id.clone(),
            golden_id: r.a_golden_id.clone(),
            name: None,
        },
        b: Side {
            system: r.b_system.clone(),
            source_id: r.b_source_id.clone(),
            golden_id: r.b_golden_id.clone(),
            name: None,
        },
        probability: r.probability,
        weight: r.weight,
        priority: priority(r.probability, size, best_trust),
        cluster_size: size,
        assigned_to,
        run_id: r.run_id,
    }
}

/// One item as the queue shows it (it may have been decided meanwhile).
pub fn item(conn: &mut DbConnection, domain: &str, id: i64) -> Result<QueueItem, ServiceError> {
    let r = mdm_store::decisions::review_item(conn, id)?
        .filter(|r| r.domain == domain)
        .ok_or_else(|| not_found(id))?;
    let ids = [r.a_golden_id.as_str(), r.b_golden_id.as_str()];
    let size: i64 = mdm_store::golden::by_ids(conn, &ids)?
        .iter()
        .map(|g| i64::from(g.members))
        .sum();
    let trust: HashMap<String, i32> = mdm_store::systems::list(conn)?
        .into_iter()
        .map(|s| (s.name, s.trust_rank))
        .collect();
    let t = |s: &str| trust.get(s).copied().unwrap_or(mdm_store::LOWEST_TRUST);
    let best = t(&r.a_system).min(t(&r.b_system));
    let assigned = mdm_store::decisions::assignments(conn, domain)?;
    Ok(to_item(
        &r,
        size,
        best,
        assigned.get(&pair_key(&r)).cloned(),
    ))
}

fn not_found(id: i64) -> ServiceError {
    ServiceError::NotFound(format!(
        "no review item {id} (a reconcile run replaces the backlog; reload the queue)"
    ))
}

/// Assigns an item to a steward (`None` to release it).
pub fn assign(
    conn: &mut DbConnection,
    domain: &str,
    id: i64,
    steward: Option<&str>,
    actor: &str,
) -> Result<QueueItem, ServiceError> {
    let r = mdm_store::decisions::review_item(conn, id)?
        .filter(|r| r.domain == domain)
        .ok_or_else(|| not_found(id))?;
    mdm_store::decisions::assign(conn, domain, &pair_key(&r), steward)?;
    audit(
        conn,
        AuditNote {
            actor,
            action: "review.assign",
            domain,
            golden_ids: vec![r.a_golden_id.clone(), r.b_golden_id.clone()],
            reason: None,
            before: None,
            after: Some(serde_json::json!({
                "a": {"system": r.a_system, "source_id": r.a_source_id},
                "b": {"system": r.b_system, "source_id": r.b_source_id},
                "steward": steward,
            })),
            run_id: None,
        },
    )?;
    item(conn, domain, id)
}

/// One comparison of the explanation, with the two values it compared.
#[derive(Debug, Clone, Serialize)]
pub struct ComparisonView {
    pub name: String,
    pub attribute: String,
    pub level: String,
    pub weight: f64,
    pub a: Option<String>,
    pub b: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    #[serde(rename = "match")]
    pub match_: f64,
    pub review: f64,
}

/// An item in detail: both records side by side and why the engine is unsure.
#[derive(Debug, Clone, Serialize)]
pub struct ItemDetail {
    pub item: QueueItem,
    pub a_values: serde_json::Map<String, serde_json::Value>,
    pub b_values: serde_json::Map<String, serde_json::Value>,
    pub comparisons: Vec<ComparisonView>,
    pub prior_weight: f64,
    pub total_weight: f64,
    pub probability: f64,
    pub override_rule: Option<String>,
    pub thresholds: Thresholds,
}

pub fn detail(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    id: i64,
) -> Result<ItemDetail, ServiceError> {
    let item = item(conn, &rules.domain, id)?;
    let keys = [
        (item.a.system.clone(), item.a.source_id.clone()),
        (item.b.system.clone(), item.b.source_id.clone()),
    ];
    let recs = mdm_store::matchstate::current_by_keys(conn, &rules.domain, &keys)?;
    let find = |k: &(String, String)| {
        recs.iter()
            .find(|r| r.system == k.0 && r.source_id == k.1)
            .ok_or_else(|| {
                ServiceError::NotFound(format!(
                    "record {}/{} is no longer staged (deleted since the last run)",
                    k.0, k.1
                ))
            })
    };
    let values = |text: &str| -> Result<serde_json::Map<String, serde_json::Value>, ServiceError> {
        serde_json::from_str(text).map_err(|e| ServiceError::Corrupt(e.to_string()))
    };
    let a_values = values(&find(&keys[0])?.attributes)?;
    let b_values = values(&find(&keys[1])?.attributes)?;
    let model = crate::reconcile::stored_model(conn, rules)?.ok_or_else(|| {
        ServiceError::Invalid(format!(
            "domain {} has no trained model yet: run `mdm reconcile --domain {}` first",
            rules.domain, rules.domain
        ))
    })?;
    let mut raw = RawTable::new(rules);
    for (i, vals) in [&a_values, &b_values].into_iter().enumerate() {
        let key = mdm_core::RecordKey {
            system: mdm_core::SystemName::parse(&keys[i].0)
                .map_err(|e| ServiceError::Corrupt(e.to_string()))?,
            source_id: mdm_core::SourceKey::parse(&keys[i].1)
                .map_err(|e| ServiceError::Corrupt(e.to_string()))?,
        };
        let row = super::values_in_order(rules, vals);
        raw.push(key, |k| row[k].as_deref());
    }
    let mut prepared = Prepared::new(rules, ctx, raw)?;
    model.apply(rules, &mut prepared.features);
    let e = prepared.explain(&model.params, 0, 1);
    let comparisons = rules
        .matching
        .comparisons
        .iter()
        .zip(&e.terms)
        .map(|(c, t)| ComparisonView {
            name: t.comparison.clone(),
            attribute: c.attr.clone(),
            level: t.level.clone(),
            weight: t.weight,
            a: text_of(a_values.get(&c.attr)),
            b: text_of(b_values.get(&c.attr)),
        })
        .collect();
    Ok(ItemDetail {
        item,
        a_values,
        b_values,
        comparisons,
        prior_weight: e.prior_weight,
        total_weight: e.total_weight,
        probability: e.probability,
        override_rule: e.override_rule,
        thresholds: Thresholds {
            match_: rules.matching.match_threshold,
            review: rules.matching.review_threshold,
        },
    })
}

fn pair_key(r: &ReviewItem) -> PairKey {
    (
        r.a_system.clone(),
        r.a_source_id.clone(),
        r.b_system.clone(),
        r.b_source_id.clone(),
    )
}

/// A pair key with its two records in a fixed order (decisions may name them either way).
fn ordered(k: PairKey) -> PairKey {
    if (&k.0, &k.1) <= (&k.2, &k.3) {
        k
    } else {
        (k.2, k.3, k.0, k.1)
    }
}

/// Pairs with an active decision: they leave the queue at once, before the next run.
fn decided_pairs(conn: &mut DbConnection, domain: &str) -> Result<HashSet<PairKey>, ServiceError> {
    Ok(mdm_store::decisions::active_decisions(conn, domain)?
        .into_iter()
        .map(|d| ordered((d.a_system, d.a_source_id, d.b_system, d.b_source_id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::priority;

    #[test]
    fn unsure_pairs_come_first_then_bigger_then_trusted() {
        assert!(priority(0.5, 2, 3) > priority(0.9, 2, 3));
        assert!(priority(0.6, 8, 3) > priority(0.6, 2, 3));
        assert!(priority(0.6, 2, 1) > priority(0.6, 2, 3));
        for p in [0.0, 0.3, 0.5, 1.0] {
            let v = priority(p, 100, 1);
            assert!((0.0..=1.0).contains(&v), "{v}");
        }
    }
}
