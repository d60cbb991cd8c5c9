//! Data quality of a domain beyond quarantine: the golden-record defect counts as
//! published (`mdm_core::golden_quality`), each active golden record checked against its
//! members' current staged values; and the value findings, the staged values that
//! survivorship will never publish (invalid for their type, or placeholders). The other
//! value findings, values the sources disagree on, are `crate::conflicts`.

use super::input::{parse_all, Input};
use crate::conflicts::published;
use crate::ServiceError;
use mdm_core::golden_quality::{audit, GoldenQuality, Published};
use mdm_core::standardize::StdContext;
use mdm_core::survive::{eligible, record_context, Eligible};
use mdm_core::{DomainRules, RecordKey};
use mdm_store::DbConnection;
use std::collections::HashMap;

pub fn golden_quality(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
) -> Result<GoldenQuality, ServiceError> {
    let input = Input::load(conn, rules)?;
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for (r, g) in input.prior_of().into_iter().enumerate() {
        if let Some(g) = g {
            members.entry(g).or_default().push(r as u32);
        }
    }
    let mut total = GoldenQuality::default();
    for (i, g) in input.goldens.iter().enumerate() {
        let rs: Vec<u32> = members.remove(&(i as u32)).unwrap_or_default();
        let ms: Vec<(RecordKey, &[Option<String>])> = rs
            .iter()
            .map(|&r| {
                let rec = &input.records[r as usize];
                (rec.key.clone(), rec.values.as_slice())
            })
            .collect();
        let (values, sources) = published(rules, g, &ms)?;
        let published = Published {
            values: &values,
            sources: &sources,
        };
        total.add(audit(rules, ctx, &published, &ms));
    }
    Ok(total)
}

/// A staged value that survivorship will never publish, and why: what a golden record's
/// `rejected: ...` lineage names, listed per source record so the source can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValueFinding {
    pub system: String,
    pub source_id: String,
    pub attribute: String,
    pub value: String,
    /// `placeholder phone number`, `unknown country calling code`, ...
    pub reason: String,
}

/// Every current staged value of the domain (of `system`, if given) that is invalid for
/// its type or a placeholder, read in its record's (else its system's) country; by system,
/// source record and attribute.
pub fn value_findings(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
    system: Option<&str>,
) -> Result<Vec<ValueFinding>, ServiceError> {
    let raw = mdm_store::matchstate::current_records(conn, &rules.domain)?;
    let mut records = parse_all(rules, &raw)?;
    drop(raw);
    records.retain(|r| system.is_none_or(|s| r.key.system.as_str() == s));
    records.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out = Vec::new();
    for r in &records {
        let rctx = record_context(rules, &ctx.for_system(r.key.system.as_str()), &r.values);
        for (a, v) in rules.attributes.iter().zip(&r.values) {
            let Some(v) = v.as_deref() else { continue };
            if let Eligible::Rejected(reason) = eligible(a.ty, v, &rctx) {
                out.push(ValueFinding {
                    system: r.key.system.to_string(),
                    source_id: r.key.source_id.to_string(),
                    attribute: a.name.clone(),
                    value: v.to_string(),
                    reason,
                });
            }
        }
    }
    Ok(out)
}
