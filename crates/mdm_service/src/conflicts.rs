//! Value findings of the third kind: attributes whose source records, matched into one
//! golden record, hold different valid values (two birth dates, two tax IDs; an address
//! as a whole), with the records holding each value and the one that survived
//! (`mdm_core::golden_quality::conflicts`). Listed by `mdm quarantine values --kind
//! conflicting`, `GET /v1/quality/conflicts` and the console's Data quality page, paged;
//! golden records are read a chunk at a time, so memory stays bounded.

use crate::reconcile::key_strings;
use crate::ServiceError;
use mdm_core::golden_quality::conflicts::{conflicts, Conflict};
use mdm_core::golden_quality::Published;
use mdm_core::standardize::StdContext;
use mdm_core::{DomainRules, RecordKey, SourceKey, SystemName};
use mdm_store::golden::GoldenRecord;
use mdm_store::matchstate::CurrentRecord;
use mdm_store::DbConnection;
use std::collections::HashMap;

/// A stored golden record's values (aligned with the rules' attributes) and, per value, the
/// member its lineage names (None for steward locks).
#[allow(clippy::type_complexity)]
pub(crate) fn published(
    rules: &DomainRules,
    g: &GoldenRecord,
    ms: &[(RecordKey, &[Option<String>])],
) -> Result<(Vec<Option<String>>, Vec<Option<RecordKey>>), ServiceError> {
    let attrs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&g.attributes)
        .map_err(|_| {
            ServiceError::Corrupt(format!(
                "golden record {}: attributes are not a JSON object",
                g.golden_id
            ))
        })?;
    let lineage = mdm_core::lineage::expand(&g.lineage);
    let values = rules
        .attributes
        .iter()
        .map(|a| {
            attrs
                .get(&a.name)
                .and_then(|v| v.as_str())
                .map(String::from)
        })
        .collect();
    let sources = rules
        .attributes
        .iter()
        .map(|a| {
            let l = lineage.get(&a.name)?;
            let (s, id) = (l.get("system")?.as_str()?, l.get("source_id")?.as_str()?);
            ms.iter()
                .map(|(k, _)| k)
                .find(|k| k.system.as_str() == s && k.source_id.as_str() == id)
                .cloned()
        })
        .collect();
    Ok((values, sources))
}

/// An attribute (or an address, as a group) whose source records hold different valid
/// values, on one golden record: each value with the records holding it, and the survivor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConflictFinding {
    pub golden_id: String,
    pub attribute: String,
    pub values: Vec<ConflictingValue>,
    /// What the golden record publishes (a group's parts joined by `, `).
    pub survived: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConflictingValue {
    pub value: String,
    pub sources: Vec<SourceRef>,
    /// Whether the golden record's value is this one.
    pub survived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceRef {
    pub system: String,
    pub source_id: String,
}

/// One page of conflicts and how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConflictPage {
    pub findings: Vec<ConflictFinding>,
    pub total: usize,
}

/// Active golden records read per step: with the page, what bounds the memory a listing
/// takes, whatever the domain's size.
const CONFLICT_CHUNK: i64 = 1000;

/// Conflicts `offset..offset + limit` of the domain's active golden records (by golden ID,
/// then attribute order), and their total; with `system`, only conflicts a record of that
/// system takes part in.
pub fn conflict_findings(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    system: Option<&str>,
    offset: usize,
    limit: usize,
) -> Result<ConflictPage, ServiceError> {
    let mut page = ConflictPage::default();
    each_conflict(conn, rules, ctx, system, |f| {
        if page.total >= offset && page.findings.len() < limit {
            page.findings.push(f);
        }
        page.total += 1;
        Ok(())
    })?;
    Ok(page)
}

/// Calls `found` with every conflict (see [`conflict_findings`]), reading the golden records
/// and their members' current staged versions a chunk at a time.
pub fn each_conflict(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    system: Option<&str>,
    mut found: impl FnMut(ConflictFinding) -> Result<(), ServiceError>,
) -> Result<(), ServiceError> {
    let mut after: Option<String> = None;
    loop {
        let goldens = mdm_store::golden::list(
            conn,
            &rules.domain,
            "active",
            after.as_deref(),
            CONFLICT_CHUNK,
        )?;
        let Some(last) = goldens.last() else {
            return Ok(());
        };
        after = Some(last.golden_id.clone());
        for f in chunk_conflicts(conn, rules, ctx, &goldens)? {
            let takes_part = |s: &str| {
                f.values
                    .iter()
                    .flat_map(|v| &v.sources)
                    .any(|k| k.system == s)
            };
            if system.is_none_or(takes_part) {
                found(f)?;
            }
        }
        if (goldens.len() as i64) < CONFLICT_CHUNK {
            return Ok(());
        }
    }
}

fn chunk_conflicts(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    goldens: &[GoldenRecord],
) -> Result<Vec<ConflictFinding>, ServiceError> {
    let ids: Vec<&str> = goldens.iter().map(|g| g.golden_id.as_str()).collect();
    let xref = mdm_store::xref::by_golden_ids(conn, &ids)?;
    let keys: Vec<(String, String)> = xref
        .iter()
        .map(|x| (x.system.clone(), x.source_id.clone()))
        .collect();
    let raw = mdm_store::matchstate::current_by_keys(conn, &rules.domain, &keys)?;
    let records = raw
        .iter()
        .map(|r| staged(rules, r))
        .collect::<Result<Vec<_>, _>>()?;
    drop(raw);
    let at: HashMap<(String, String), usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (key_strings(&r.0), i))
        .collect();
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for x in &xref {
        if let Some(&i) = at.get(&(x.system.clone(), x.source_id.clone())) {
            members.entry(x.golden_id.as_str()).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for g in goldens {
        let Some(rs) = members.get_mut(g.golden_id.as_str()) else {
            continue;
        };
        rs.sort_unstable_by(|&a, &b| records[a].0.cmp(&records[b].0));
        let ms: Vec<(RecordKey, &[Option<String>])> = rs
            .iter()
            .map(|&i| (records[i].0.clone(), records[i].1.as_slice()))
            .collect();
        let (values, sources) = published(rules, g, &ms)?;
        let golden = Published {
            values: &values,
            sources: &sources,
        };
        out.extend(
            conflicts(rules, ctx, &golden, &ms)
                .into_iter()
                .map(|c| finding(&g.golden_id, c)),
        );
    }
    Ok(out)
}

fn finding(golden_id: &str, c: Conflict) -> ConflictFinding {
    ConflictFinding {
        golden_id: golden_id.to_string(),
        attribute: c.attribute,
        values: c
            .values
            .into_iter()
            .map(|v| ConflictingValue {
                value: v.value,
                sources: v
                    .sources
                    .iter()
                    .map(|k| SourceRef {
                        system: k.system.to_string(),
                        source_id: k.source_id.to_string(),
                    })
                    .collect(),
                survived: v.survived,
            })
            .collect(),
        survived: c.survived,
    }
}

/// A staged record's key and values in the rules' attribute order.
fn staged(
    rules: &DomainRules,
    r: &CurrentRecord,
) -> Result<(RecordKey, Vec<Option<String>>), ServiceError> {
    let corrupt = |what: String| ServiceError::Corrupt(format!("staging record {}: {what}", r.id));
    let key = RecordKey {
        system: SystemName::parse(&r.system).map_err(|e| corrupt(e.to_string()))?,
        source_id: SourceKey::parse(&r.source_id).map_err(|e| corrupt(e.to_string()))?,
    };
    let attrs: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&r.attributes).map_err(|e| corrupt(e.to_string()))?;
    let values = rules
        .attributes
        .iter()
        .map(|a| match attrs.get(&a.name)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
        .collect();
    Ok((key, values))
}
