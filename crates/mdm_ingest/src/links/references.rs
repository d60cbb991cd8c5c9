//! Links carried by record attributes (a type's `reference` in relationships.toml): a CRM
//! contact's `account_id` names its account's source ID in the same system.
//!
//! They are derived in the chunk transaction that stages the record, so a staged record and
//! the links it names never disagree, whatever fails when: a new or changed version replaces
//! its record's reference links by those it names (an unchanged record costs nothing), and a
//! record a snapshot deletes ends its reference links with it (they would otherwise wait for
//! an end that is gone). A value that cannot be a source ID, or that names its own record,
//! gives no link; the record itself is staged as always.
//!
//! The types come from the store (`relationship_types`, the types in force that `mdm
//! ingest`, `mdm reconcile` and `mdm serve` sync), so every way into staging (files, pushes,
//! SQL pulls) derives the same links without each caller passing the rules.

use crate::IngestError;
use mdm_core::relationships::{End, LinkOrigin};
use mdm_core::SourceKey;
use mdm_store::links::{self, LinkKey, NewLink};
use mdm_store::staging::{NewVersion, RecordStatus};
use mdm_store::{now, DbConnection};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// A reference attribute on the records of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceSpec {
    pub from_domain: String,
    pub rel_type: String,
    pub attribute: String,
    /// Which end the carrying record is; the attribute names the other.
    pub on: End,
}

/// What reference links a load changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReferenceCounts {
    /// Links staged (new, or back after being ended).
    pub new: u64,
    /// Links ended: their record no longer names them, or was deleted.
    pub ended: u64,
}

impl ReferenceCounts {
    pub fn is_zero(&self) -> bool {
        self.new == 0 && self.ended == 0
    }

    pub(crate) fn add(&mut self, other: ReferenceCounts) {
        self.new += other.new;
        self.ended += other.ended;
    }
}

/// The reference attributes in force on records of `domain`.
pub fn in_force(conn: &mut DbConnection, domain: &str) -> Result<Vec<ReferenceSpec>, IngestError> {
    let rules = mdm_store::relationships::rules_in_force(conn)?;
    Ok(rules
        .references_on(domain)
        .map(|(ty, r)| ReferenceSpec {
            from_domain: ty.from.clone(),
            rel_type: ty.name.clone(),
            attribute: r.attribute.clone(),
            on: r.on,
        })
        .collect())
}

/// Replaces the reference links of the records a chunk writes (new and changed versions).
/// Runs in the chunk's transaction.
pub(crate) fn stage(
    conn: &mut DbConnection,
    specs: &[ReferenceSpec],
    records: &[NewVersion<'_>],
    batch_id: i64,
    system: &str,
) -> Result<ReferenceCounts, IngestError> {
    let mut counts = ReferenceCounts::default();
    if specs.is_empty() || records.is_empty() {
        return Ok(counts);
    }
    let parsed: Vec<(&str, serde_json::Value)> = records
        .iter()
        .map(|r| {
            let v = serde_json::from_str(&r.attributes).unwrap_or(serde_json::Value::Null);
            (r.source_id.as_str(), v)
        })
        .collect();
    let carriers: Vec<&str> = parsed.iter().map(|(id, _)| *id).collect();
    for spec in specs {
        let wanted = wanted(spec, &parsed);
        let by_to = spec.on == End::To;
        let existing = links::live_references(
            conn,
            &spec.from_domain,
            &spec.rel_type,
            system,
            by_to,
            &carriers,
        )?;
        let gone: Vec<i64> = existing
            .iter()
            .filter(|(_, f, t)| !wanted.contains(&(f.clone(), t.clone())))
            .map(|(id, _, _)| *id)
            .collect();
        counts.ended += links::delete(conn, batch_id, &gone)?;
        let have: BTreeSet<(String, String)> =
            existing.into_iter().map(|(_, f, t)| (f, t)).collect();
        let add: Vec<LinkKey> = wanted
            .difference(&have)
            .map(|(f, t)| key(spec, f, t))
            .collect();
        counts.new += insert(conn, spec, system, batch_id, add)?;
    }
    Ok(counts)
}

/// Ends the reference links of the records snapshot batch `batch_id` deleted in
/// (`domain`, `system`). Runs in the transaction that deletes them.
pub(crate) fn end_with_deleted(
    conn: &mut DbConnection,
    specs: &[ReferenceSpec],
    domain: &str,
    system: &str,
    batch_id: i64,
) -> Result<u64, IngestError> {
    let mut n = 0;
    for s in specs {
        let by_to = s.on == End::To;
        n += links::delete_references_of_deleted(
            conn,
            domain,
            system,
            batch_id,
            &s.from_domain,
            &s.rel_type,
            by_to,
        )?;
    }
    Ok(n)
}

/// The (from, to) source IDs the records name through `spec`'s attribute.
fn wanted(
    spec: &ReferenceSpec,
    records: &[(&str, serde_json::Value)],
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (own, attrs) in records {
        let named = match attrs.get(&spec.attribute) {
            Some(serde_json::Value::String(s)) => s.trim().to_string(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        // A name that cannot be a source ID cannot be staged, so it names no record.
        let Ok(other) = SourceKey::parse(&named) else {
            continue;
        };
        let other = String::from(other);
        if other == *own {
            continue;
        }
        out.insert(match spec.on {
            End::From => (own.to_string(), other),
            End::To => (other, own.to_string()),
        });
    }
    out
}

fn key(spec: &ReferenceSpec, from: &str, to: &str) -> LinkKey {
    LinkKey {
        rel_type: spec.rel_type.clone(),
        origin: LinkOrigin::Reference.as_str().to_string(),
        from_source_id: from.to_string(),
        to_source_id: to.to_string(),
    }
}

/// Stages new links; a key whose last version was ended gets the next version.
fn insert(
    conn: &mut DbConnection,
    spec: &ReferenceSpec,
    system: &str,
    batch_id: i64,
    keys: Vec<LinkKey>,
) -> Result<u64, IngestError> {
    if keys.is_empty() {
        return Ok(0);
    }
    let live = links::lookup_live(conn, &spec.from_domain, system, &keys)?;
    let ended: Vec<i64> = live.values().map(|l| l.id).collect();
    links::end_versions(conn, batch_id, &ended)?;
    // A reference link carries no attributes: the record names only the other end.
    let attributes = "{}".to_string();
    let content_hash = hex::encode(Sha256::digest(attributes.as_bytes()));
    let t = now();
    let rows: Vec<NewLink<'_>> = keys
        .into_iter()
        .map(|k| {
            let version = live.get(&k).map_or(1, |l| l.version + 1);
            NewLink {
                from_domain: &spec.from_domain,
                rel_type: k.rel_type,
                system,
                origin: LinkOrigin::Reference.as_str(),
                from_source_id: k.from_source_id,
                to_source_id: k.to_source_id,
                version,
                status: RecordStatus::Current.as_str(),
                attributes: attributes.clone(),
                content_hash: content_hash.clone(),
                batch_id,
                loaded_at: t,
                seen_batch_id: batch_id,
            }
        })
        .collect();
    links::insert(conn, &rows)?;
    Ok(rows.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_the_other_end_from_either_side() {
        let spec = |on| ReferenceSpec {
            from_domain: "customer".into(),
            rel_type: "contact_of".into(),
            attribute: "account_id".into(),
            on,
        };
        let recs = vec![
            ("C2", serde_json::json!({"account_id": " C1 "})),
            ("C3", serde_json::json!({"account_id": ""})),
            ("C4", serde_json::json!({"account_id": "C4"})),
            ("C5", serde_json::json!({"account_id": 7})),
            ("C6", serde_json::json!({"city": "Ulm"})),
        ];
        let pairs =
            |on| -> Vec<(String, String)> { wanted(&spec(on), &recs).into_iter().collect() };
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(pairs(End::From), [p("C2", "C1"), p("C5", "7")]);
        assert_eq!(pairs(End::To), [p("7", "C5"), p("C1", "C2")]);
    }
}
