//! After `survive`: checks published golden records against their source records for the
//! defects a downstream system would reject on sight. `mdm report` counts them, and tests
//! assert there are none:
//!
//! * a placeholder or invalid phone or e-mail published while a member had a valid one;
//! * a survivorship group (an address) assembled from more than one source record;
//! * a phone whose country code contradicts the golden record's country, where the source
//!   wrote the number without one (so the code was assumed, not written).
//!
//! `conflicts` lists where members hold different valid values of an attribute: not a
//! defect of the golden record, but a finding a steward may want fixed at the source.

pub mod conflicts;

use crate::model::{AttrType, RecordKey};
use crate::rules::DomainRules;
use crate::standardize::{clean, country_calling_code, Cleaned, StdContext};
use crate::survive::{cluster_context, eligible, record_context, Eligible};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Counts of golden-record defects (each golden attribute or group counted once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoldenQuality {
    pub golden_records: u64,
    /// Golden phones and e-mails that are placeholders or invalid while a member of the
    /// cluster had a valid one.
    pub placeholders_published: u64,
    /// Groups (addresses, ...) whose published parts come from more than one source record.
    pub groups_from_several_records: u64,
    /// Golden phones whose country code is not the golden record's country's, taken from a
    /// source value written without a country code.
    pub phones_against_country: u64,
}

impl GoldenQuality {
    pub fn add(&mut self, o: GoldenQuality) {
        self.golden_records += o.golden_records;
        self.placeholders_published += o.placeholders_published;
        self.groups_from_several_records += o.groups_from_several_records;
        self.phones_against_country += o.phones_against_country;
    }
}

/// One golden record as published: values aligned with the rules' attributes and, per
/// attribute, the source record its lineage names (None for steward locks and absent values).
pub struct Published<'a> {
    pub values: &'a [Option<String>],
    pub sources: &'a [Option<RecordKey>],
}

/// Audits one golden record against its members' raw values.
pub fn audit(
    rules: &DomainRules,
    ctx: &StdContext,
    golden: &Published<'_>,
    members: &[(RecordKey, &[Option<String>])],
) -> GoldenQuality {
    let ctx = cluster_context(rules, ctx, members.iter().map(|(_, v)| *v));
    let mut q = GoldenQuality {
        golden_records: 1,
        ..Default::default()
    };
    for (i, a) in rules.attributes.iter().enumerate() {
        let Some(v) = golden.values[i].as_deref() else {
            continue;
        };
        if !matches!(a.ty, AttrType::Phone | AttrType::Email) {
            continue;
        }
        let member_valid = members.iter().any(|(k, raw)| {
            raw[i].as_deref().is_some_and(|r| {
                let own = record_context(rules, &ctx.for_system(k.system.as_str()), raw);
                matches!(eligible(a.ty, r, &own), Eligible::Valid(_))
            })
        });
        if member_valid && !matches!(eligible(a.ty, v, &ctx), Eligible::Valid(_)) {
            q.placeholders_published += 1;
        }
        if a.ty == AttrType::Phone && against_country(rules, &ctx, golden, members, i, v) {
            q.phones_against_country += 1;
        }
    }
    for group in rules.survivorship.groups.values() {
        let sources: BTreeSet<&RecordKey> = group
            .attributes
            .iter()
            .filter_map(|a| rules.index_of(a))
            .filter(|&i| golden.values[i].is_some())
            .filter_map(|i| golden.sources[i].as_ref())
            .collect();
        q.groups_from_several_records += u64::from(sources.len() > 1);
    }
    q
}

/// Whether golden phone `v` (attribute `i`) carries another country's code than the golden
/// record's country, although its source wrote it without one.
fn against_country(
    rules: &DomainRules,
    ctx: &StdContext,
    golden: &Published<'_>,
    members: &[(RecordKey, &[Option<String>])],
    i: usize,
    v: &str,
) -> bool {
    let country = rules
        .attributes
        .iter()
        .position(|a| a.ty == AttrType::Country)
        .and_then(|c| golden.values[c].as_deref())
        .and_then(|c| match clean(AttrType::Country, c, ctx) {
            Cleaned::Valid(c) => Some(c),
            _ => None,
        });
    let Some((code, _)) = country.as_deref().and_then(country_calling_code) else {
        return false;
    };
    let written_national = golden.sources[i]
        .as_ref()
        .and_then(|k| members.iter().find(|(m, _)| m == k))
        .and_then(|(_, raw)| raw[i].as_deref())
        .is_some_and(|r| {
            let r = r.trim_start();
            !r.starts_with('+') && !r.starts_with("00")
        });
    written_national && !v.starts_with(&format!("+{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceKey, SystemName};
    use crate::rules::survivorship::{Group, Strategy};
    use crate::survive::{survive, Contributor};
    use std::collections::BTreeMap;

    fn rules() -> DomainRules {
        let mut r = crate::survive::tests::domain(&[
            ("phone", AttrType::Phone),
            ("street", AttrType::Street),
            ("city", AttrType::City),
            ("country", AttrType::Country),
        ]);
        r.survivorship.groups.insert(
            "address".into(),
            Group {
                attributes: ["street", "city", "country"].map(String::from).into(),
                strategies: vec![Strategy::Recent],
            },
        );
        r
    }

    fn key(sys: &str) -> RecordKey {
        RecordKey {
            system: SystemName::parse(sys).unwrap(),
            source_id: SourceKey::parse("1").unwrap(),
        }
    }

    fn raw(v: [Option<&str>; 4]) -> Vec<Option<String>> {
        v.iter().map(|v| v.map(String::from)).collect()
    }

    /// A US customer's ERP record with the whole address and an international phone.
    fn erp() -> Vec<Option<String>> {
        raw([
            Some("+1 214 8954767"),
            Some("Main St"),
            Some("Dallas"),
            Some("US"),
        ])
    }

    #[test]
    fn counts_each_defect_of_a_hand_built_golden_record() {
        let r = rules();
        let ctx = StdContext::default();
        let erp = erp();
        let crm = raw([Some("214 8954767"), Some("Elm St"), None, None]);
        let members = [(key("ERP"), erp.as_slice()), (key("CRM"), crm.as_slice())];
        // What per-attribute survivorship without checks could publish: CRM's street with
        // ERP's city, and a filler phone; then CRM's national number read as German.
        let values = raw([
            Some("+4900000000"),
            Some("Elm St"),
            Some("Dallas"),
            Some("US"),
        ]);
        let sources = [None, Some(key("CRM")), Some(key("ERP")), Some(key("ERP"))];
        let golden = Published {
            values: &values,
            sources: &sources,
        };
        let q = audit(&r, &ctx, &golden, &members);
        assert_eq!(
            (q.placeholders_published, q.groups_from_several_records),
            (1, 1)
        );
        let values = raw([
            Some("+492148954767"),
            Some("Main St"),
            Some("Dallas"),
            Some("US"),
        ]);
        let sources = [
            Some(key("CRM")),
            Some(key("ERP")),
            Some(key("ERP")),
            Some(key("ERP")),
        ];
        let golden = Published {
            values: &values,
            sources: &sources,
        };
        let q = audit(&r, &ctx, &golden, &members);
        assert_eq!(q.phones_against_country, 1);
        assert_eq!(q.groups_from_several_records, 0);
    }

    #[test]
    fn survivorship_publishes_none_of_them() {
        let r = rules();
        let ctx = StdContext::default();
        let erp = erp();
        let crm = raw([Some("0000000000"), Some("Elm St"), None, None]);
        let mes = raw([Some("214 8954767"), None, Some("Houston"), None]);
        let members = [
            (key("ERP"), erp.as_slice()),
            (key("CRM"), crm.as_slice()),
            (key("MES"), mes.as_slice()),
        ];
        let cctx = cluster_context(&r, &ctx, members.iter().map(|(_, v)| *v));
        let contributors: Vec<Contributor> = members
            .iter()
            .enumerate()
            .map(|(n, (k, v))| Contributor::from_raw(&r, &cctx, k.clone(), 1, n as i64, 1, v))
            .collect();
        let g = survive(&r, &contributors, &BTreeMap::new());
        let sources: Vec<Option<RecordKey>> =
            g.lineage
                .iter()
                .zip(&g.values)
                .map(|(l, v)| {
                    let l = l.as_ref().filter(|_| v.is_some())?;
                    members.iter().map(|(k, _)| k.clone()).find(|k| {
                        k.system.as_str() == l.system && k.source_id.as_str() == l.source_id
                    })
                })
                .collect();
        let golden = Published {
            values: &g.values,
            sources: &sources,
        };
        assert_eq!(
            audit(&r, &ctx, &golden, &members),
            GoldenQuality {
                golden_records: 1,
                ..Default::default()
            }
        );
    }
}
