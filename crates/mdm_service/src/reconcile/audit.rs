//! Audit entries for what a run did on its own: every merge and split, with the members
//! before (grouped by their previous golden record) and after. Steward actions write their
//! own entries (`crate::steward`); these record the automatic consequence.

use super::input::{key_strings, Input};
use super::matching::Matched;
use super::plan::Change;
use mdm_store::audit::NewAuditEntry;
use serde_json::json;
use std::collections::BTreeMap;

pub const ACTOR: &str = "reconcile";

pub fn automatic_changes(
    domain: &str,
    input: &Input,
    m: &Matched,
    changes: &[Change],
    run_id: i64,
    t: chrono::NaiveDateTime,
) -> Vec<NewAuditEntry> {
    let mut out = Vec::new();
    for ch in changes {
        if ch.status != "active" || !matches!(ch.reason, "merged" | "split") {
            continue;
        }
        let Some(c) = ch.cluster else {
            continue;
        };
        // Members now, grouped by the golden record each belonged to before this run.
        let mut before: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut after = Vec::new();
        for &r in &m.clusters[c] {
            let key = key_strings(&input.records[r as usize].key);
            let prior = input
                .seen
                .get(r as usize)
                .map(|s| s.golden_id.to_string())
                .unwrap_or_else(|| "new".into());
            before.entry(prior).or_default().push(key.clone());
            after.push(key);
        }
        let mut ids = vec![ch.golden_id.clone()];
        let (action, detail) = if ch.reason == "merged" {
            ids.extend(ch.retired_ids.iter().cloned());
            ("reconcile.merge", json!({ "absorbed": ch.retired_ids }))
        } else {
            let from = ch
                .detail
                .as_ref()
                .and_then(|d| d.get("split_from"))
                .cloned();
            if let Some(serde_json::Value::Array(from)) = &from {
                ids.extend(from.iter().filter_map(|v| v.as_str().map(String::from)));
            }
            ("reconcile.split", json!({ "split_from": from }))
        };
        ids.dedup();
        let attributes: serde_json::Value =
            serde_json::from_str(&ch.attributes).unwrap_or(serde_json::Value::Null);
        out.push(NewAuditEntry {
            at: t,
            actor: ACTOR.into(),
            action: action.into(),
            domain: domain.into(),
            golden_ids: serde_json::to_string(&ids).expect("ids serialize"),
            reason: None,
            before: Some(json!({ "members_by_golden": before }).to_string()),
            after: Some(
                json!({
                    "golden_id": ch.golden_id,
                    "version": ch.version,
                    "members": after,
                    "attributes": attributes,
                    "detail": detail,
                })
                .to_string(),
            ),
            run_id: Some(run_id),
        });
    }
    out
}
