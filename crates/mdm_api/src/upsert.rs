//! The write half of real-time matching: stage one record (the same load as a push), match
//! it, and give it its canonical ID in one transaction (xref, and for a new golden record its
//! first version, history entry and `created` change event).
//!
//! Agreement with the next reconcile run: the xref row gets staging version 0, which no
//! staged version has, so reconcile treats the record as changed and re-scores it with the
//! whole data set. Reconcile's identify keeps a cluster's ID by overlap with the previous
//! xref, so a record upserted into golden record G (or given a new ID N) keeps G (or N) when
//! the batch run agrees with the real-time score.

use crate::error::ApiError;
use crate::realtime::MatchIndex;
use crate::routes::matching::MatchResponse;
use crate::state::AppState;
use actix_web::http::StatusCode;
use mdm_core::standardize::StdContext;
use mdm_core::survive::{survive, Contributor};
use mdm_core::{DomainRules, RecordKey, SourceKey, SystemName};
use mdm_ingest::{ColumnMapping, JsonArraySource, LoadOptions};
use mdm_store::golden::{GoldenRecord, NewHistoryEntry};
use mdm_store::outbox::NewEvent;
use mdm_store::xref::XrefRow;
use mdm_store::DbConnection;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

#[allow(clippy::too_many_arguments)]
pub fn upsert(
    conn: &mut DbConnection,
    state: &AppState,
    rules: &DomainRules,
    ctx: &StdContext,
    index: &Arc<RwLock<MatchIndex>>,
    system: &SystemName,
    key: &SourceKey,
    attributes: serde_json::Map<String, serde_json::Value>,
) -> Result<MatchResponse, ApiError> {
    let domain = rules.domain.as_str();
    // The record is read in its source system's configured country when it names none.
    let ctx = &ctx.for_system(system.as_str());
    let (staging_id, values) = stage(conn, state, rules, system, key, attributes)?;
    let mut idx = index.write().expect("index lock");
    let (candidates, keys) = idx
        .query(
            conn,
            rules,
            ctx,
            &values,
            Some((system.as_str(), key.as_str())),
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let matched = candidates
        .iter()
        .find(|c| c.decision == "match")
        .map(|c| c.golden_id.clone());
    let words = crate::name_index::words_of(rules, &values);
    let previous = mdm_store::xref::lookup(conn, domain, system.as_str(), key.as_str())?;
    let seen = previous.as_ref().map(|x| x.staging_id);
    let previous = previous.map(|x| x.golden_id);
    let run_id = idx.run_id;
    let (golden_id, created) = match matched.or(previous) {
        Some(g) => (g, false),
        None => (uuid::Uuid::now_v7().to_string(), true),
    };
    let gid = golden_id.clone();
    let record_key = RecordKey {
        system: system.clone(),
        source_id: key.clone(),
    };
    mdm_store::pool::in_transaction(conn, |c| {
        let k = (system.to_string(), key.to_string());
        mdm_store::xref::delete_keys(c, domain, std::slice::from_ref(&k))?;
        mdm_store::xref::insert(
            c,
            &[XrefRow {
                domain: domain.into(),
                system: k.0,
                source_id: k.1,
                golden_id: gid.clone(),
                staging_id: 0,
                run_id,
                updated_at: mdm_store::now(),
            }],
        )?;
        mdm_store::xref::mark_realtime(c, domain, &[(system.to_string(), key.to_string(), seen)])?;
        if created {
            create_golden(c, rules, ctx, &gid, run_id, record_key, values)?;
        }
        Ok::<_, mdm_store::StoreError>(())
    })?;
    idx.upsert_member(
        staging_id,
        system.as_str(),
        key.as_str(),
        &golden_id,
        &keys,
        words,
    );
    tracing::info!(domain, system = %system, created, "real-time upsert");
    Ok(MatchResponse {
        candidates,
        golden_id: Some(golden_id),
        created,
        run_id,
    })
}

/// Loads the record into staging; returns its live version id and its values.
fn stage(
    conn: &mut DbConnection,
    state: &AppState,
    rules: &DomainRules,
    system: &SystemName,
    key: &SourceKey,
    mut attributes: serde_json::Map<String, serde_json::Value>,
) -> Result<(i64, Vec<Option<String>>), ApiError> {
    attributes.insert("source_id".into(), key.as_str().into());
    let body = serde_json::to_vec(&[serde_json::Value::Object(attributes)]).expect("JSON");
    let mut source = JsonArraySource::parse(format!("http:{system}:match"), body)
        .map_err(|e| ApiError::bad_body(e.to_string()))?;
    let mapping = ColumnMapping::new(
        state
            .config
            .mappings
            .get(system.as_str())
            .cloned()
            .unwrap_or_default(),
    );
    let opts = LoadOptions {
        domain: &rules.domain,
        system,
        snapshot: false,
        chunk_size: 1,
    };
    let summary = mdm_ingest::load(conn, rules, &mapping, &opts, &mut source, &mut |_| {})
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if summary.quarantined > 0 {
        let why = mdm_store::quarantine::for_batch(conn, summary.batch_id)?
            .into_iter()
            .next()
            .map(|q| format!("{} ({})", q.detail, q.reason))
            .unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "record_quarantined",
            format!("the record cannot be staged: {why}"),
        ));
    }
    let live =
        mdm_store::staging::lookup_live(conn, &rules.domain, system.as_str(), &[key.as_str()])?;
    let v = live
        .get(key.as_str())
        .ok_or_else(|| ApiError::internal("staged record not found"))?;
    let staged = mdm_store::staging::history(conn, &rules.domain, system.as_str(), key.as_str())?
        .into_iter()
        .find(|s| s.id == v.id)
        .ok_or_else(|| ApiError::internal("staged version not found"))?;
    let attrs: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&staged.attributes).map_err(ApiError::internal)?;
    Ok((v.id, crate::realtime::values_of(rules, &attrs)))
}

/// A new golden record of one member: its survivorship, first version and `created` event.
#[allow(clippy::too_many_arguments)]
fn create_golden(
    c: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    id: &str,
    run_id: i64,
    key: RecordKey,
    values: Vec<Option<String>>,
) -> Result<(), mdm_store::StoreError> {
    let now = mdm_store::now();
    let source = (key.system.to_string(), key.source_id.to_string());
    let member = Contributor::from_raw(
        rules,
        ctx,
        key,
        mdm_store::LOWEST_TRUST,
        now.and_utc().timestamp_micros(),
        0,
        &values,
    );
    let golden = survive(rules, &[member], &BTreeMap::new());
    let attributes = golden.attributes_json(rules).to_string();
    let lineage = golden.lineage_stored(rules);
    let domain = rules.domain.clone();
    mdm_store::golden::put_records(
        c,
        &[GoldenRecord {
            golden_id: id.into(),
            domain: domain.clone(),
            version: 1,
            status: "active".into(),
            attributes: attributes.clone(),
            lineage: lineage.clone(),
            members: 1,
            run_id,
            created_run_id: run_id,
            created_at: now,
            updated_at: now,
        }],
    )?;
    mdm_store::golden::insert_history(
        c,
        &[NewHistoryEntry {
            domain: domain.clone(),
            golden_id: id.into(),
            version: 1,
            reason: "created".into(),
            status: "active".into(),
            attributes: attributes.clone(),
            lineage,
            detail: None,
            run_id,
            valid_from: now,
        }],
    )?;
    let payload = serde_json::json!({
        "attributes": serde_json::from_str::<serde_json::Value>(&attributes).unwrap_or_default(),
        "xref": [{"system": source.0, "source_id": source.1}],
        "origin": "realtime",
    });
    mdm_store::outbox::insert(
        c,
        &[NewEvent {
            domain,
            golden_id: id.into(),
            kind: "created".into(),
            retired_ids: None,
            run_id: None,
            payload: payload.to_string(),
            created_at: now,
        }],
    )
}
