//! The golden-record defect counts of a domain as published (`mdm_core::golden_quality`):
//! each active golden record checked against its members' current staged values.

use super::input::{key_strings, Input};
use crate::ServiceError;
use mdm_core::golden_quality::{audit, GoldenQuality, Published};
use mdm_core::standardize::StdContext;
use mdm_core::{DomainRules, RecordKey};
use mdm_store::DbConnection;
use std::collections::HashMap;

pub fn golden_quality(
    conn: &mut DbConnection,
    rules: &DomainRules,
    ctx: &StdContext,
) -> Result<GoldenQuality, ServiceError> {
    let input = Input::load(conn, rules)?;
    let mut members: HashMap<&str, Vec<u32>> = HashMap::new();
    for (key, x) in &input.xref {
        if let Some(&r) = input.index.get(key) {
            members.entry(x.golden_id.as_str()).or_default().push(r);
        }
    }
    let mut total = GoldenQuality::default();
    for g in &input.goldens {
        let corrupt =
            |what: &str| ServiceError::Corrupt(format!("golden record {}: {what}", g.golden_id));
        let attrs: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&g.attributes)
            .map_err(|_| corrupt("attributes are not a JSON object"))?;
        let lineage = mdm_core::lineage::expand(&g.lineage);
        let values: Vec<Option<String>> = rules
            .attributes
            .iter()
            .map(|a| {
                attrs
                    .get(&a.name)
                    .and_then(|v| v.as_str())
                    .map(String::from)
            })
            .collect();
        let mut rs: Vec<u32> = members
            .get(g.golden_id.as_str())
            .cloned()
            .unwrap_or_default();
        rs.sort_unstable();
        let ms: Vec<(RecordKey, &[Option<String>])> = rs
            .iter()
            .map(|&r| {
                let rec = &input.records[r as usize];
                (rec.key.clone(), rec.values.as_slice())
            })
            .collect();
        let sources: Vec<Option<RecordKey>> = rules
            .attributes
            .iter()
            .map(|a| {
                let l = lineage.get(&a.name)?;
                let (s, id) = (l.get("system")?.as_str()?, l.get("source_id")?.as_str()?);
                ms.iter()
                    .map(|(k, _)| k)
                    .find(|k| key_strings(k) == (s.to_string(), id.to_string()))
                    .cloned()
            })
            .collect();
        let published = Published {
            values: &values,
            sources: &sources,
        };
        total.add(audit(rules, ctx, &published, &ms));
    }
    Ok(total)
}
