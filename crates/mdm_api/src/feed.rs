//! The change feed as consumers see it: events in seq order, each carrying the xref entries
//! of the consumer's own system, so ERP learns which of *its* records a golden record holds.
//! Shared by the pull endpoint and the webhook dispatcher.

use crate::error::ApiError;
use mdm_store::feed::{ChangeEvent, FeedError};
use mdm_store::DbConnection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One golden-record event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FeedEvent {
    /// Position in the feed; strictly increasing, never reused.
    pub seq: i64,
    /// `mdm-<consumer>-<seq>`: the same on every delivery of this event to this consumer.
    pub idempotency_key: String,
    pub domain: String,
    /// `created`, `updated`, `merged`, `split` or `deleted`.
    pub kind: String,
    pub golden_id: String,
    /// Golden ids a merge retired (they now redirect to `golden_id`).
    pub retired_ids: Vec<String>,
    pub run_id: Option<i64>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The consumer's own records that this golden record holds.
    pub xref: Vec<XrefEntry>,
    /// The event as reconcile wrote it (the golden record's state and what changed).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct XrefEntry {
    pub system: String,
    pub source_id: String,
}

/// A feed consumer: its name and the system whose xref entries it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: String,
    pub system: String,
}

/// A configured consumer, or a registered source system under its own name.
pub fn resolve_consumer(
    conn: &mut DbConnection,
    config: &crate::config::ApiConfig,
    raw: &str,
) -> Result<Consumer, ApiError> {
    let name = mdm_core::SystemName::parse(raw)
        .map_err(|e| ApiError::bad_param(format!("consumer: {e}")))?
        .to_string();
    if let Some(c) = config.consumer(&name) {
        return Ok(Consumer {
            name,
            system: c.system.clone(),
        });
    }
    let known = mdm_store::systems::list(conn)?
        .into_iter()
        .any(|s| s.name == name);
    if known {
        Ok(Consumer {
            system: name.clone(),
            name,
        })
    } else {
        Err(ApiError::not_found(
            "unknown_consumer",
            format!("consumer {name} is neither configured under [consumers] nor a registered source system"),
        ))
    }
}

pub fn feed_error(e: FeedError) -> ApiError {
    match e {
        FeedError::Busy => ApiError::unavailable("busy", e.to_string()),
        FeedError::Store(s) => s.into(),
    }
}

/// Events after `after` as `consumer` sees them.
pub fn page(
    conn: &mut DbConnection,
    consumer: &Consumer,
    after: i64,
    limit: i64,
) -> Result<Vec<FeedEvent>, ApiError> {
    let events = mdm_store::feed::events_after(conn, after, limit).map_err(feed_error)?;
    decorate(conn, consumer, events)
}

/// Adds the consumer's xref entries: the ones the event carries when reconcile wrote them
/// into the payload (the state at the time of the change), else the current ones.
pub fn decorate(
    conn: &mut DbConnection,
    consumer: &Consumer,
    events: Vec<ChangeEvent>,
) -> Result<Vec<FeedEvent>, ApiError> {
    let payloads: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null))
        .collect();
    let mut lookup: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (e, p) in events.iter().zip(&payloads) {
        if embedded_xref(p).is_none() {
            lookup.entry(&e.domain).or_default().push(&e.golden_id);
        }
    }
    let mut current: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (domain, ids) in lookup {
        for (gid, sid) in mdm_store::feed::xref_of_system(conn, domain, &consumer.system, &ids)? {
            current
                .entry((domain.to_string(), gid))
                .or_default()
                .push(sid);
        }
    }
    Ok(events
        .into_iter()
        .zip(payloads)
        .map(|(e, payload)| {
            let xref = match embedded_xref(&payload) {
                Some(entries) => entries
                    .into_iter()
                    .filter(|x| x.system == consumer.system)
                    .collect(),
                None => current
                    .get(&(e.domain.clone(), e.golden_id.clone()))
                    .into_iter()
                    .flatten()
                    .map(|sid| XrefEntry {
                        system: consumer.system.clone(),
                        source_id: sid.clone(),
                    })
                    .collect(),
            };
            FeedEvent {
                idempotency_key: format!("mdm-{}-{}", consumer.name, e.seq),
                seq: e.seq,
                domain: e.domain,
                kind: e.kind,
                golden_id: e.golden_id,
                retired_ids: e
                    .retired_ids
                    .and_then(|r| serde_json::from_str(&r).ok())
                    .unwrap_or_default(),
                run_id: e.run_id,
                created_at: e.created_at.and_utc().to_rfc3339(),
                xref,
                payload,
            }
        })
        .collect())
}

/// `payload.xref` as `[{system, source_id}]`, when reconcile embedded it.
fn embedded_xref(payload: &serde_json::Value) -> Option<Vec<XrefEntry>> {
    let arr = payload.get("xref")?.as_array()?;
    arr.iter()
        .map(|x| {
            Some(XrefEntry {
                system: x.get("system")?.as_str()?.to_string(),
                source_id: x.get("source_id")?.as_str()?.to_string(),
            })
        })
        .collect()
}
