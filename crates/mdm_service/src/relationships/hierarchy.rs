//! A hierarchy (a `one_parent` type within one domain) walked from one golden record: up to
//! the ultimate parent, or down through the subtree level by level, a page at a time.

use super::{stored_view, RelationshipView};
use crate::ServiceError;
use mdm_core::relationships::{Cardinality, RelationshipRules};
use mdm_store::DbConnection;
use std::collections::HashSet;

/// Which way to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    Up,
    Down,
}

/// A record reached by the walk, with the relationship that reached it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HierarchyNode {
    pub golden_id: String,
    /// Steps from the record asked about (1: its parent or its children).
    pub depth: u32,
    /// The record one step nearer the start (the child of a parent when walking up).
    pub via: String,
    pub relationship: RelationshipView,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HierarchyPage {
    pub golden_id: String,
    #[serde(rename = "type")]
    pub rel_type: String,
    pub direction: String,
    /// Ancestors nearest first, or the subtree level by level (by parent, then child).
    pub nodes: Vec<HierarchyNode>,
    /// Walking up: the top of the chain (the ultimate parent) was reached within `depth`.
    pub complete: bool,
    /// Pass as `cursor` for the next page of a subtree; absent on the last page.
    pub next_cursor: Option<String>,
}

/// What to walk: a type of the domain, a direction, how many levels, and the page of a
/// subtree (`cursor` nodes skipped, at most `limit` returned).
#[derive(Debug, Clone)]
pub struct WalkSpec {
    pub rel_type: String,
    pub walk: Walk,
    pub depth: u32,
    pub cursor: usize,
    pub limit: usize,
}

/// Walks a hierarchy of `domain` from `id`. A subtree is read in a fixed order (level, then
/// parent, then child), so pages follow each other.
pub fn hierarchy(
    conn: &mut DbConnection,
    types: &RelationshipRules,
    domain: &str,
    id: &str,
    spec: &WalkSpec,
) -> Result<HierarchyPage, ServiceError> {
    let WalkSpec {
        ref rel_type,
        walk,
        depth,
        cursor,
        limit,
    } = *spec;
    let ty = types
        .get(domain, rel_type)
        .filter(|t| t.to == domain && t.cardinality == Cardinality::OneParent)
        .ok_or_else(|| {
            ServiceError::Invalid(format!(
                "`{rel_type}` is not a one_parent relationship type within domain {domain}"
            ))
        })?;
    let mut nodes = Vec::new();
    let mut complete = false;
    match walk {
        Walk::Up => {
            let mut at = id.to_string();
            let mut seen: HashSet<String> = HashSet::from([at.clone()]);
            for d in 1..=depth {
                let parents = mdm_store::relationships::parents(conn, &ty.from, &ty.name, &at)?;
                let Some(p) = parents.into_iter().next() else {
                    complete = true;
                    break;
                };
                // Stored hierarchies are acyclic; this guards data written otherwise.
                if !seen.insert(p.from_golden_id.clone()) {
                    break;
                }
                nodes.push(HierarchyNode {
                    golden_id: p.from_golden_id.clone(),
                    depth: d,
                    via: at.clone(),
                    relationship: stored_view(&at, &p),
                });
                at = p.from_golden_id;
            }
            if !complete && nodes.len() as u32 == depth {
                let last = nodes.last().map_or(id, |n| n.golden_id.as_str());
                complete =
                    mdm_store::relationships::parents(conn, &ty.from, &ty.name, last)?.is_empty();
            }
        }
        Walk::Down => {
            let mut level = vec![id.to_string()];
            let mut seen: HashSet<String> = HashSet::from([id.to_string()]);
            for d in 1..=depth {
                let ids: Vec<&str> = level.iter().map(String::as_str).collect();
                let rows = mdm_store::relationships::children(conn, &ty.from, &ty.name, &ids)?;
                let mut next = Vec::new();
                for r in rows {
                    if !seen.insert(r.to_golden_id.clone()) {
                        continue;
                    }
                    next.push(r.to_golden_id.clone());
                    nodes.push(HierarchyNode {
                        golden_id: r.to_golden_id.clone(),
                        depth: d,
                        via: r.from_golden_id.clone(),
                        relationship: stored_view(&r.from_golden_id, &r),
                    });
                }
                if next.is_empty() {
                    complete = true;
                    break;
                }
                // Enough for this page and one more node: the rest is not read.
                if nodes.len() > cursor + limit {
                    break;
                }
                level = next;
            }
        }
    }
    let more = walk == Walk::Down && nodes.len() > cursor + limit;
    let nodes: Vec<HierarchyNode> = nodes.into_iter().skip(cursor).take(limit).collect();
    Ok(HierarchyPage {
        golden_id: id.to_string(),
        rel_type: ty.name.clone(),
        direction: if walk == Walk::Up { "up" } else { "down" }.to_string(),
        nodes,
        complete: complete && !more,
        next_cursor: more.then(|| (cursor + limit).to_string()),
    })
}
