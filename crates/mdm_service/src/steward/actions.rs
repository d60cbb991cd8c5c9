//! What a steward does: decide a pair (must-link / cannot-link, or withdraw a decision),
//! and act on golden records directly (merge two, split a source record out, edit a value,
//! unlock it, undo a merge).
//!
//! Direct actions are written as decisions and locks, then applied at once by an
//! incremental reconcile: the same code as the nightly run decides IDs, redirects, history
//! and change events, and the decisions keep the result in place on every later run. An
//! action names the version of the golden record the steward saw; a stale version is
//! refused ([`ServiceError::StaleVersion`], HTTP 409) and changes nothing. If applying
//! fails, the action's decisions are withdrawn again, so nothing half-done stays behind.

use super::{audit, AuditNote, RecordRef};
use crate::reconcile::{reconcile, ReconcileOptions, RunSummary};
use crate::ServiceError;
use mdm_core::standardize::StdContext;
use mdm_core::DomainRules;
use mdm_store::decisions::{GoldenLock, MatchDecision, NewDecision};
use mdm_store::golden::GoldenRecord;
use mdm_store::DbConnection;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;

/// At most this many decisions for one action (an undo of a merge of two big clusters
/// needs |A|·|B| cannot-links).
const MAX_DECISIONS: usize = 5_000;

/// Who acts, and in which domain.
pub struct Steward<'a> {
    pub conn: &'a mut DbConnection,
    pub rules: &'a DomainRules,
    pub ctx: &'a StdContext,
    /// The steward's name as the audit log shows it.
    pub actor: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeOutcome {
    pub survivor: String,
    pub retired: Vec<String>,
    pub run_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitOutcome {
    /// The golden record keeping the other members.
    pub golden_id: String,
    /// The golden record of the split-out source record.
    pub new_golden_id: String,
    pub run_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UndoOutcome {
    pub golden_id: String,
    /// Golden IDs of the records the undone merge had absorbed.
    pub restored: Vec<String>,
    pub run_id: i64,
}

impl Steward<'_> {
    /// Stores a must-link or cannot-link decision on two staged records. Deciding the same
    /// again returns the existing decision; the opposite of an active decision is refused.
    pub fn decide(
        &mut self,
        kind: &str,
        a: &RecordRef,
        b: &RecordRef,
        reason: &str,
    ) -> Result<MatchDecision, ServiceError> {
        if !matches!(kind, "must_link" | "cannot_link") {
            return Err(ServiceError::Invalid(format!(
                "decision kind `{kind}`: use must_link or cannot_link"
            )));
        }
        if a == b {
            return Err(ServiceError::Invalid(
                "a decision needs two different records".into(),
            ));
        }
        let domain = self.rules.domain.clone();
        let staged =
            mdm_store::matchstate::current_by_keys(self.conn, &domain, &[a.key(), b.key()])?;
        for r in [a, b] {
            if !staged
                .iter()
                .any(|s| s.system == r.system && s.source_id == r.source_id)
            {
                return Err(ServiceError::NotFound(format!(
                    "no staged {domain} record {}/{}",
                    r.system, r.source_id
                )));
            }
        }
        let existing = active_between(self.conn, &domain, a, b)?;
        if let Some(d) = existing.iter().find(|d| d.kind == kind) {
            return Ok(d.clone());
        }
        if let Some(d) = existing.first() {
            return Err(ServiceError::Conflict(format!(
                "decision {} already says {} for this pair; withdraw it first",
                d.id, d.kind
            )));
        }
        let golden = golden_of(self.conn, &domain, &[a, b])?;
        let actor = self.actor;
        let id = self.conn.write_transaction::<_, ServiceError, _>(|c| {
            let id = insert(c, &domain, kind, a, b, actor, reason)?;
            audit(
                c,
                AuditNote {
                    actor,
                    action: &format!("decision.{kind}"),
                    domain: &domain,
                    golden_ids: golden.clone(),
                    reason: Some(reason),
                    before: Some(json!({ "golden_ids": golden })),
                    after: Some(json!({ "decision": id, "kind": kind, "a": a, "b": b })),
                    run_id: None,
                },
            )?;
            Ok(id)
        })?;
        decision(self.conn, &domain, id)
    }

    /// Withdraws a decision; the next reconcile stops honouring it.
    pub fn withdraw(&mut self, id: i64, reason: &str) -> Result<MatchDecision, ServiceError> {
        let domain = self.rules.domain.clone();
        let d = decision(self.conn, &domain, id)?;
        if d.withdrawn_at.is_some() {
            return Err(ServiceError::Conflict(format!(
                "decision {id} was already withdrawn"
            )));
        }
        let actor = self.actor;
        self.conn.write_transaction::<_, ServiceError, _>(|c| {
            if !mdm_store::decisions::withdraw_decision(c, id)? {
                return Err(ServiceError::Conflict(format!(
                    "decision {id} was already withdrawn"
                )));
            }
            audit(
                c,
                AuditNote {
                    actor,
                    action: "decision.withdraw",
                    domain: &domain,
                    golden_ids: Vec::new(),
                    reason: Some(reason),
                    before: Some(serde_json::to_value(&d).expect("decision serializes")),
                    after: None,
                    run_id: None,
                },
            )
        })?;
        decision(self.conn, &domain, id)
    }

    /// Merges golden record `other` into `id` (which of the two IDs survives follows the
    /// ID rules: the one sharing most source records).
    pub fn merge(
        &mut self,
        id: &str,
        version: i32,
        other: &str,
        other_version: i32,
        reason: &str,
    ) -> Result<MergeOutcome, ServiceError> {
        if id == other {
            return Err(ServiceError::Invalid(
                "cannot merge a golden record with itself".into(),
            ));
        }
        let g1 = self.current(id, version)?;
        let g2 = self.current(other, other_version)?;
        let m1 = members(self.conn, id)?;
        let m2 = members(self.conn, other)?;
        let (Some(hub), false) = (m1.first().cloned(), m2.is_empty()) else {
            return Err(ServiceError::Invalid(
                "a golden record without source records cannot be merged".into(),
            ));
        };
        // A star of must-links from one record to every other member: clustering unions
        // must-links first, so both records stay whole inside the merged one.
        let mut pairs: Vec<(RecordRef, RecordRef, &str)> = Vec::new();
        for r in m1.iter().skip(1).chain(&m2) {
            pairs.push((hub.clone(), r.clone(), "must_link"));
        }
        let crossing = decisions_across(self.conn, &self.rules.domain, &m1, &m2, "cannot_link")?;
        let before = json!({
            "golden": [summary(&g1), summary(&g2)],
            "members": { id: m1, other: m2 },
        });
        let run = self.apply(
            "golden.merge",
            reason,
            &crossing,
            pairs,
            before,
            &[id, other],
        )?;
        let survivor = golden_of(self.conn, &self.rules.domain, &[&hub])?
            .pop()
            .ok_or_else(|| ServiceError::Corrupt("merged record has no xref".into()))?;
        let retired = [id, other]
            .into_iter()
            .filter(|g| *g != survivor)
            .map(String::from)
            .collect();
        Ok(MergeOutcome {
            survivor,
            retired,
            run_id: run.run_id,
        })
    }

    /// Splits source record `record` out of golden record `id` into a golden record of
    /// its own.
    pub fn split(
        &mut self,
        id: &str,
        version: i32,
        record: &RecordRef,
        reason: &str,
    ) -> Result<SplitOutcome, ServiceError> {
        let g = self.current(id, version)?;
        let m = members(self.conn, id)?;
        if !m.contains(record) {
            return Err(ServiceError::Invalid(format!(
                "{}/{} is not a source record of golden record {id}",
                record.system, record.source_id
            )));
        }
        let rest: Vec<RecordRef> = m.iter().filter(|r| *r != record).cloned().collect();
        if rest.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "{}/{} is the only source record of {id}: nothing to split from",
                record.system, record.source_id
            )));
        }
        let single = std::slice::from_ref(record);
        let withdraw = decisions_across(self.conn, &self.rules.domain, single, &rest, "must_link")?;
        let pairs = rest
            .iter()
            .map(|r| (record.clone(), r.clone(), "cannot_link"))
            .collect();
        let before = json!({ "golden": summary(&g), "members": m, "split_out": record });
        let run = self.apply("golden.split", reason, &withdraw, pairs, before, &[id])?;
        let new_golden_id = golden_of(self.conn, &self.rules.domain, &[record])?
            .pop()
            .unwrap_or_default();
        let golden_id = golden_of(self.conn, &self.rules.domain, &[&rest[0]])?
            .pop()
            .unwrap_or_default();
        Ok(SplitOutcome {
            golden_id,
            new_golden_id,
            run_id: run.run_id,
        })
    }

    /// Undoes the merge that retired `retired_id` into `id`: the records that came from
    /// `retired_id` are kept apart from the rest from now on. The part with fewer records
    /// gets a new ID (the ID rules never reuse a retired ID).
    pub fn undo_merge(
        &mut self,
        id: &str,
        version: i32,
        retired_id: &str,
        reason: &str,
    ) -> Result<UndoOutcome, ServiceError> {
        let g = self.current(id, version)?;
        let domain = self.rules.domain.clone();
        if mdm_store::golden::redirect_of(self.conn, retired_id)?.as_deref() != Some(id) {
            return Err(ServiceError::Invalid(format!(
                "{retired_id} was not merged into {id}"
            )));
        }
        let came_from = merged_members(self.conn, &domain, id, retired_id)?;
        let m = members(self.conn, id)?;
        let (back, rest): (Vec<RecordRef>, Vec<RecordRef>) =
            m.iter().cloned().partition(|r| came_from.contains(r));
        if back.is_empty() || rest.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "the records {retired_id} brought are no longer together with the rest of {id}"
            )));
        }
        if back.len() * rest.len() > MAX_DECISIONS {
            return Err(ServiceError::Invalid(format!(
                "undoing this merge needs {} cannot-link decisions (at most {MAX_DECISIONS}); split records out instead",
                back.len() * rest.len()
            )));
        }
        let withdraw = decisions_across(self.conn, &domain, &back, &rest, "must_link")?;
        let pairs = back
            .iter()
            .flat_map(|b| {
                rest.iter()
                    .map(move |r| (b.clone(), r.clone(), "cannot_link"))
            })
            .collect();
        let before = json!({ "golden": summary(&g), "restoring": retired_id, "records": back });
        let run = self.apply(
            "golden.undo_merge",
            reason,
            &withdraw,
            pairs,
            before,
            &[id, retired_id],
        )?;
        let golden_id = golden_of(self.conn, &domain, &[&rest[0]])?
            .pop()
            .unwrap_or_default();
        let restored: BTreeSet<String> =
            golden_of(self.conn, &domain, &back.iter().collect::<Vec<_>>())?
                .into_iter()
                .collect();
        Ok(UndoOutcome {
            golden_id,
            restored: restored.into_iter().collect(),
            run_id: run.run_id,
        })
    }

    /// Sets a golden value and locks it against survivorship until unlocked.
    pub fn edit(
        &mut self,
        id: &str,
        version: i32,
        attribute: &str,
        value: &str,
        reason: &str,
    ) -> Result<GoldenRecord, ServiceError> {
        if self.rules.index_of(attribute).is_none() {
            return Err(ServiceError::Invalid(format!(
                "domain {} has no attribute `{attribute}`",
                &self.rules.domain
            )));
        }
        if value.trim().is_empty() {
            return Err(ServiceError::Invalid(
                "the value is empty; to let survivorship decide again, unlock the attribute".into(),
            ));
        }
        let g = self.current(id, version)?;
        let old = attribute_of(&g, attribute);
        let lock = GoldenLock {
            domain: self.rules.domain.clone(),
            golden_id: id.to_string(),
            attribute: attribute.to_string(),
            value: value.to_string(),
            locked_by: self.actor.to_string(),
            locked_at: mdm_store::now(),
            unlocked_at: None,
        };
        let before = json!({ "version": g.version, "attribute": attribute, "value": old });
        let after = json!({ "attribute": attribute, "value": value, "locked": true });
        self.change_lock("golden.edit", id, reason, before, after, |c| {
            mdm_store::decisions::set_lock(c, &lock).map(|_| true)
        })
    }

    /// Removes a steward lock: survivorship decides the value again.
    pub fn unlock(
        &mut self,
        id: &str,
        version: i32,
        attribute: &str,
        reason: &str,
    ) -> Result<GoldenRecord, ServiceError> {
        let g = self.current(id, version)?;
        let before = json!({ "version": g.version, "attribute": attribute, "value": attribute_of(&g, attribute), "locked": true });
        let after = json!({ "attribute": attribute, "locked": false });
        let (gid, attr) = (id.to_string(), attribute.to_string());
        self.change_lock("golden.unlock", id, reason, before, after, move |c| {
            mdm_store::decisions::unlock(c, &gid, &attr)
        })
    }

    fn change_lock(
        &mut self,
        action: &str,
        id: &str,
        reason: &str,
        before: serde_json::Value,
        after: serde_json::Value,
        change: impl FnOnce(&mut DbConnection) -> Result<bool, mdm_store::StoreError>,
    ) -> Result<GoldenRecord, ServiceError> {
        let domain = self.rules.domain.clone();
        let actor = self.actor;
        self.conn.write_transaction::<_, ServiceError, _>(|c| {
            if !change(c)? {
                return Err(ServiceError::NotFound(format!(
                    "golden record {id} has no such lock"
                )));
            }
            audit(
                c,
                AuditNote {
                    actor,
                    action,
                    domain: &domain,
                    golden_ids: vec![id.to_string()],
                    reason: Some(reason),
                    before: Some(before),
                    after: Some(after),
                    run_id: None,
                },
            )
        })?;
        self.run()?;
        mdm_store::golden::get(self.conn, &domain, id)?
            .map(|r| r.record)
            .ok_or_else(|| ServiceError::NotFound(format!("no golden record {id}")))
    }

    /// The golden record `id` if it is active and at `version`.
    fn current(&mut self, id: &str, version: i32) -> Result<GoldenRecord, ServiceError> {
        let domain = self.rules.domain.clone();
        let r = mdm_store::golden::get(self.conn, &domain, id)?
            .ok_or_else(|| ServiceError::NotFound(format!("no {domain} golden record {id}")))?;
        if let Some(from) = r.redirected_from {
            return Err(ServiceError::Conflict(format!(
                "golden record {from} was merged into {}; act on that one",
                r.record.golden_id
            )));
        }
        if r.record.status != "active" {
            return Err(ServiceError::Conflict(format!(
                "golden record {id} is {}",
                r.record.status
            )));
        }
        if r.record.version != version {
            return Err(ServiceError::StaleVersion {
                golden_id: id.into(),
                expected: version,
                current: r.record.version,
            });
        }
        Ok(r.record)
    }

    /// Withdraws `withdraw`, stores `pairs` as decisions and the audit entry in one
    /// transaction, then reconciles; on failure the new decisions are withdrawn again and
    /// the withdrawn ones restored.
    fn apply(
        &mut self,
        action: &str,
        reason: &str,
        withdraw: &[MatchDecision],
        pairs: Vec<(RecordRef, RecordRef, &str)>,
        before: serde_json::Value,
        golden_ids: &[&str],
    ) -> Result<RunSummary, ServiceError> {
        if pairs.len() > MAX_DECISIONS {
            return Err(ServiceError::Invalid(format!(
                "this action needs {} decisions (at most {MAX_DECISIONS})",
                pairs.len()
            )));
        }
        let domain = self.rules.domain.clone();
        let actor = self.actor;
        let why = format!("{action}: {reason}");
        let created = self.conn.write_transaction::<_, ServiceError, _>(|c| {
            for d in withdraw {
                mdm_store::decisions::withdraw_decision(c, d.id)?;
            }
            let mut ids = Vec::new();
            for (a, b, kind) in &pairs {
                if active_between(c, &domain, a, b)?
                    .iter()
                    .any(|d| d.kind == *kind)
                {
                    continue;
                }
                ids.push(insert(c, &domain, kind, a, b, actor, &why)?);
            }
            audit(
                c,
                AuditNote {
                    actor,
                    action,
                    domain: &domain,
                    golden_ids: golden_ids.iter().map(|s| s.to_string()).collect(),
                    reason: Some(reason),
                    before: Some(before),
                    after: Some(json!({
                        "decisions": ids,
                        "withdrawn": withdraw.iter().map(|d| d.id).collect::<Vec<_>>(),
                    })),
                    run_id: None,
                },
            )?;
            Ok(ids)
        })?;
        match self.run() {
            Ok(run) => Ok(run),
            Err(e) => {
                // Leave nothing half-done: the next nightly run must not apply it either.
                let _ = self.conn.write_transaction::<_, ServiceError, _>(|c| {
                    for id in &created {
                        mdm_store::decisions::withdraw_decision(c, *id)?;
                    }
                    for d in withdraw {
                        insert(
                            c,
                            &domain,
                            &d.kind,
                            &RecordRef {
                                system: d.a_system.clone(),
                                source_id: d.a_source_id.clone(),
                            },
                            &RecordRef {
                                system: d.b_system.clone(),
                                source_id: d.b_source_id.clone(),
                            },
                            &d.decided_by,
                            &d.reason,
                        )?;
                    }
                    audit(
                        c,
                        AuditNote {
                            actor,
                            action: &format!("{action}.failed"),
                            domain: &domain,
                            golden_ids: golden_ids.iter().map(|s| s.to_string()).collect(),
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

fn insert(
    conn: &mut DbConnection,
    domain: &str,
    kind: &str,
    a: &RecordRef,
    b: &RecordRef,
    by: &str,
    reason: &str,
) -> Result<i64, ServiceError> {
    Ok(mdm_store::decisions::insert_decision(
        conn,
        &NewDecision {
            domain,
            kind,
            a: (&a.system, &a.source_id),
            b: (&b.system, &b.source_id),
            decided_by: by,
            reason,
        },
    )?)
}

fn decision(conn: &mut DbConnection, domain: &str, id: i64) -> Result<MatchDecision, ServiceError> {
    mdm_store::decisions::decision(conn, id)?
        .filter(|d| d.domain == domain)
        .ok_or_else(|| ServiceError::NotFound(format!("no {domain} decision {id}")))
}

fn same_pair(d: &MatchDecision, a: &RecordRef, b: &RecordRef) -> bool {
    let (x, y) = (
        (d.a_system.as_str(), d.a_source_id.as_str()),
        (d.b_system.as_str(), d.b_source_id.as_str()),
    );
    let (p, q) = (
        (a.system.as_str(), a.source_id.as_str()),
        (b.system.as_str(), b.source_id.as_str()),
    );
    (x == p && y == q) || (x == q && y == p)
}

/// Active decisions on the pair (a, b), either way round.
fn active_between(
    conn: &mut DbConnection,
    domain: &str,
    a: &RecordRef,
    b: &RecordRef,
) -> Result<Vec<MatchDecision>, ServiceError> {
    Ok(mdm_store::decisions::active_decisions(conn, domain)?
        .into_iter()
        .filter(|d| same_pair(d, a, b))
        .collect())
}

/// Active decisions of `kind` between a record of `xs` and one of `ys`.
fn decisions_across(
    conn: &mut DbConnection,
    domain: &str,
    xs: &[RecordRef],
    ys: &[RecordRef],
    kind: &str,
) -> Result<Vec<MatchDecision>, ServiceError> {
    let xs: BTreeSet<(&str, &str)> = xs
        .iter()
        .map(|r| (r.system.as_str(), r.source_id.as_str()))
        .collect();
    let ys: BTreeSet<(&str, &str)> = ys
        .iter()
        .map(|r| (r.system.as_str(), r.source_id.as_str()))
        .collect();
    Ok(mdm_store::decisions::active_decisions(conn, domain)?
        .into_iter()
        .filter(|d| d.kind == kind)
        .filter(|d| {
            let a = (d.a_system.as_str(), d.a_source_id.as_str());
            let b = (d.b_system.as_str(), d.b_source_id.as_str());
            (xs.contains(&a) && ys.contains(&b)) || (xs.contains(&b) && ys.contains(&a))
        })
        .collect())
}

/// Source records of a golden record, in key order.
pub fn members(conn: &mut DbConnection, golden_id: &str) -> Result<Vec<RecordRef>, ServiceError> {
    Ok(mdm_store::xref::members(conn, golden_id)?
        .into_iter()
        .map(|x| RecordRef {
            system: x.system,
            source_id: x.source_id,
        })
        .collect())
}

/// Current golden IDs of the given records (distinct, in order of first appearance).
fn golden_of(
    conn: &mut DbConnection,
    domain: &str,
    records: &[&RecordRef],
) -> Result<Vec<String>, ServiceError> {
    let mut out: Vec<String> = Vec::new();
    for r in records {
        if let Some(x) = mdm_store::xref::lookup(conn, domain, &r.system, &r.source_id)? {
            if !out.contains(&x.golden_id) {
                out.push(x.golden_id);
            }
        }
    }
    Ok(out)
}

/// The records `retired_id` had when it was merged into `id`, from the audit entry the
/// merging run wrote.
fn merged_members(
    conn: &mut DbConnection,
    domain: &str,
    id: &str,
    retired_id: &str,
) -> Result<BTreeSet<RecordRef>, ServiceError> {
    let entries = mdm_store::audit::latest_for(conn, domain, &["reconcile.merge"], retired_id)?;
    for e in entries {
        let ids: Vec<String> = serde_json::from_str(&e.golden_ids).unwrap_or_default();
        if !ids.iter().any(|g| g == id) {
            continue;
        }
        let before: serde_json::Value = e
            .before
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or_default();
        let Some(keys) = before["members_by_golden"][retired_id].as_array() else {
            continue;
        };
        return Ok(keys
            .iter()
            .filter_map(|k| {
                Some(RecordRef {
                    system: k.get(0)?.as_str()?.to_string(),
                    source_id: k.get(1)?.as_str()?.to_string(),
                })
            })
            .collect());
    }
    Err(ServiceError::NotFound(format!(
        "no record of the merge of {retired_id} into {id} in the audit log"
    )))
}

fn summary(g: &GoldenRecord) -> serde_json::Value {
    json!({ "golden_id": g.golden_id, "version": g.version, "members": g.members })
}

fn attribute_of(g: &GoldenRecord, attribute: &str) -> serde_json::Value {
    serde_json::from_str::<serde_json::Value>(&g.attributes)
        .ok()
        .and_then(|v| v.get(attribute).cloned())
        .unwrap_or(serde_json::Value::Null)
}
