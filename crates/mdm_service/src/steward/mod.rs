//! Steward use cases: the review queue, match decisions, direct actions on golden records
//! and the audit trail they leave. The HTTP API (and the CLI) call these.
//!
//! Decisions are stored and honoured by the next reconcile. Direct actions (merge, split,
//! edit, unlock, undo a merge) are expressed as decisions and locks and applied at once by
//! an incremental reconcile, so IDs, redirects, history and change events follow exactly
//! the rules of the nightly run (ARCHITECTURE.md) and survive every later run.

pub mod actions;
pub mod dashboard;
pub mod queue;
pub mod train;

use crate::ServiceError;
use mdm_store::audit::NewAuditEntry;
use mdm_store::DbConnection;
use serde::{Deserialize, Serialize};

/// A source record, by its key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordRef {
    pub system: String,
    pub source_id: String,
}

impl RecordRef {
    pub fn key(&self) -> (String, String) {
        (self.system.clone(), self.source_id.clone())
    }
}

/// A staged value as text (numbers and other JSON as written), `None` when absent or null.
pub(crate) fn text_of(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A staged record's values in the rules' attribute order.
pub(crate) fn values_in_order(
    rules: &mdm_core::DomainRules,
    attrs: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Option<String>> {
    rules
        .attributes
        .iter()
        .map(|a| text_of(attrs.get(&a.name)))
        .collect()
}

/// What one audit entry says.
pub(crate) struct AuditNote<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub domain: &'a str,
    pub golden_ids: Vec<String>,
    pub reason: Option<&'a str>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub run_id: Option<i64>,
}

pub(crate) fn audit(conn: &mut DbConnection, n: AuditNote<'_>) -> Result<(), ServiceError> {
    mdm_store::audit::append(
        conn,
        &[NewAuditEntry {
            at: mdm_store::now(),
            actor: n.actor.into(),
            action: n.action.into(),
            domain: n.domain.into(),
            golden_ids: serde_json::to_string(&n.golden_ids).expect("ids serialize"),
            reason: n.reason.map(String::from),
            before: n.before.map(|v| v.to_string()),
            after: n.after.map(|v| v.to_string()),
            run_id: n.run_id,
        }],
    )?;
    Ok(())
}
