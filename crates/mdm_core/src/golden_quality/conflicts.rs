//! After `survive`: where the source records of one golden record disagree. Survivorship
//! publishes one value per attribute; when members hold different valid values (two birth
//! dates, two tax IDs, two e-mails), the others are not wrong by being outvoted, and a
//! steward may want the sources fixed. [`conflicts`] lists, per golden record, each such
//! attribute with its distinct values, the source records holding each, and the one that
//! survived.
//!
//! What counts as different: the standardized forms differ (`clean` in the record's
//! country, as survivorship reads it), so `+49 30 1234560` and `030 1234560` agree, and only
//! valid values take part (invalid values and placeholders are the value findings').
//! A survivorship group (an address) conflicts as a unit: two members conflict when a part
//! both hold differs; one with only a city agrees with one with the whole address there.
//!
//! Not reported: person and organization names and free text (`text`). Names are spelled
//! several ways in every hub ("Bob"/"Robert", "Müller GmbH"/"Mueller"), which is what
//! matching tolerates and survivorship settles; listing every such golden record would bury
//! the conflicts a steward can act on (a second birth date, another tax ID) under the
//! noise. The rules have no multi-valued attributes; a domain that wants one left out
//! declares it `text`.

use super::Published;
use crate::model::{AttrType, RecordKey};
use crate::rules::DomainRules;
use crate::standardize::{clean, placeholder_reason, Cleaned, StdContext};
use crate::survive::{cluster_context, golden_form, record_context};
use std::collections::BTreeMap;

/// One attribute (or group) whose members hold different valid values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The attribute's name, or the group's (`address`).
    pub attribute: String,
    /// The distinct values: the survivor's first, then by standardized form.
    pub values: Vec<ConflictValue>,
    /// What the golden record publishes (a group's parts joined by `, `), if anything.
    pub survived: Option<String>,
}

/// One of the distinct values and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictValue {
    /// In its golden form, as the first source record (by key) holding it writes it; a
    /// group's parts joined by `, `.
    pub value: String,
    /// The source records holding it, by key.
    pub sources: Vec<RecordKey>,
    /// Whether the golden record's value comes from one of `sources` (false for all when a
    /// steward locked the attribute).
    pub survived: bool,
}

/// Whether differing values of this type are worth a steward's look (see the module doc).
pub fn reports_conflicts(ty: AttrType) -> bool {
    !matches!(
        ty,
        AttrType::PersonName | AttrType::OrganizationName | AttrType::Text
    )
}

/// One member's valid value of an attribute: (standardized form, golden form).
type Forms = Option<(String, String)>;

/// The conflicts of one golden record, in attribute order (a group at its first part).
pub fn conflicts(
    rules: &DomainRules,
    ctx: &StdContext,
    golden: &Published<'_>,
    members: &[(RecordKey, &[Option<String>])],
) -> Vec<Conflict> {
    if members.len() < 2 {
        return Vec::new();
    }
    let cctx = cluster_context(rules, ctx, members.iter().map(|(_, v)| *v));
    let forms: Vec<Vec<Forms>> = members
        .iter()
        .map(|(k, raw)| {
            let own = record_context(rules, &cctx.for_system(k.system.as_str()), raw);
            rules
                .attributes
                .iter()
                .zip(raw.iter())
                .map(|(a, v)| valid_forms(a.ty, v.as_deref()?, &own))
                .collect()
        })
        .collect();
    let mut out = Vec::new();
    for (i, a) in rules.attributes.iter().enumerate() {
        match rules.survivorship.group_of(&a.name) {
            Some((name, group)) if group.attributes.first() == Some(&a.name) => {
                let idx: Vec<usize> = group
                    .attributes
                    .iter()
                    .filter_map(|p| rules.index_of(p))
                    .collect();
                out.extend(group_conflict(name, &idx, golden, members, &forms));
            }
            Some(_) => {}
            None if reports_conflicts(a.ty) => {
                out.extend(group_conflict(&a.name, &[i], golden, members, &forms));
            }
            None => {}
        }
    }
    out
}

/// A valid, non-placeholder value's standardized and golden forms.
fn valid_forms(ty: AttrType, raw: &str, ctx: &StdContext) -> Forms {
    match clean(ty, raw, ctx) {
        Cleaned::Valid(c) if placeholder_reason(ty, &c).is_none() => {
            let shown = golden_form(ty, raw, c.clone(), ctx);
            Some((c, shown))
        }
        _ => None,
    }
}

/// The conflict of attributes `idx` taken as one value (a single attribute, or a group's
/// parts), if two members' values differ where both have a part.
fn group_conflict(
    name: &str,
    idx: &[usize],
    golden: &Published<'_>,
    members: &[(RecordKey, &[Option<String>])],
    forms: &[Vec<Forms>],
) -> Option<Conflict> {
    // Standardized parts -> (golden form, holders); members in key order, so the shown
    // spelling is the first holder's.
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| members[a].0.cmp(&members[b].0));
    let mut distinct: BTreeMap<Vec<Option<&str>>, (String, Vec<RecordKey>)> = BTreeMap::new();
    for m in order {
        let parts: Vec<Option<&(String, String)>> =
            idx.iter().map(|&i| forms[m][i].as_ref()).collect();
        if parts.iter().all(Option::is_none) {
            continue;
        }
        let key = parts.iter().map(|p| p.map(|p| p.0.as_str())).collect();
        let entry = distinct
            .entry(key)
            .or_insert_with(|| (joined(&parts), Vec::new()));
        entry.1.push(members[m].0.clone());
    }
    let keys: Vec<&Vec<Option<&str>>> = distinct.keys().collect();
    let differ = keys.iter().enumerate().any(|(n, a)| {
        keys[n + 1..].iter().any(|b| {
            a.iter()
                .zip(b.iter())
                .any(|(x, y)| matches!((x, y), (Some(x), Some(y)) if x != y))
        })
    });
    if !differ {
        return None;
    }
    let source = idx
        .iter()
        .find(|&&i| golden.values[i].is_some())
        .and_then(|&i| golden.sources[i].as_ref());
    let shown: Vec<&str> = idx
        .iter()
        .filter_map(|&i| golden.values[i].as_deref())
        .collect();
    let mut values: Vec<ConflictValue> = distinct
        .into_values()
        .map(|(value, sources)| ConflictValue {
            survived: source.is_some_and(|s| sources.contains(s)),
            value,
            sources,
        })
        .collect();
    values.sort_by_key(|v| !v.survived);
    Some(Conflict {
        attribute: name.to_string(),
        values,
        survived: (!shown.is_empty()).then(|| shown.join(", ")),
    })
}

/// A value's golden forms of its present parts, joined.
fn joined(parts: &[Option<&(String, String)>]) -> String {
    parts
        .iter()
        .flatten()
        .map(|p| p.1.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SourceKey, SystemName};
    use crate::rules::survivorship::{Group, Strategy};

    fn rules() -> DomainRules {
        let mut r = crate::survive::tests::domain(&[
            ("name", AttrType::PersonName),
            ("birth_date", AttrType::Date),
            ("phone", AttrType::Phone),
            ("street", AttrType::Street),
            ("postcode", AttrType::Postcode),
            ("city", AttrType::City),
            ("country", AttrType::Country),
        ]);
        r.survivorship.groups.insert(
            "address".into(),
            Group {
                attributes: ["street", "postcode", "city", "country"]
                    .map(String::from)
                    .into(),
                strategies: vec![Strategy::Recent],
            },
        );
        r
    }

    fn key(sys: &str, id: &str) -> RecordKey {
        RecordKey {
            system: SystemName::parse(sys).unwrap(),
            source_id: SourceKey::parse(id).unwrap(),
        }
    }

    fn raw(v: [Option<&str>; 7]) -> Vec<Option<String>> {
        v.iter().map(|v| v.map(String::from)).collect()
    }

    fn found(
        members: &[(RecordKey, Vec<Option<String>>)],
        golden: &[Option<&str>; 7],
        from: &str,
    ) -> Vec<Conflict> {
        let r = rules();
        let values: Vec<Option<String>> = golden.iter().map(|v| v.map(String::from)).collect();
        let sources: Vec<Option<RecordKey>> = values
            .iter()
            .map(|v| v.as_ref().map(|_| key(from, "1")))
            .collect();
        let ms: Vec<(RecordKey, &[Option<String>])> = members
            .iter()
            .map(|(k, v)| (k.clone(), v.as_slice()))
            .collect();
        let published = Published {
            values: &values,
            sources: &sources,
        };
        conflicts(&r, &StdContext::default(), &published, &ms)
    }

    #[test]
    fn different_valid_values_are_listed_with_their_sources_and_the_survivor() {
        let erp = raw([
            Some("Robert Smith"),
            Some("1980-03-09"),
            Some("+1 214 8954767"),
            Some("Main St 1"),
            Some("75201"),
            Some("Dallas"),
            Some("US"),
        ]);
        // Another spelling of the name, the same phone written nationally, the same
        // address with the city only; but another birth date.
        let crm = raw([
            Some("Bob Smith"),
            Some("09/03/1981"),
            Some("214 8954767"),
            None,
            None,
            Some("DALLAS"),
            None,
        ]);
        let members = vec![(key("ERP", "1"), erp), (key("CRM", "1"), crm)];
        let golden = [
            Some("Robert Smith"),
            Some("1980-03-09"),
            Some("+12148954767"),
            Some("Main St 1"),
            Some("75201"),
            Some("Dallas"),
            Some("US"),
        ];
        let c = found(&members, &golden, "ERP");
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].attribute, "birth_date");
        assert_eq!(c[0].survived.as_deref(), Some("1980-03-09"));
        let values: Vec<(&str, &str, bool)> = c[0]
            .values
            .iter()
            .map(|v| (v.value.as_str(), v.sources[0].system.as_str(), v.survived))
            .collect();
        assert_eq!(
            values,
            [("1980-03-09", "ERP", true), ("1981-03-09", "CRM", false)]
        );
    }

    #[test]
    fn an_address_conflicts_as_a_group() {
        let erp = raw([
            None,
            None,
            None,
            Some("Main St 1"),
            Some("75201"),
            Some("Dallas"),
            Some("US"),
        ]);
        let crm = raw([
            None,
            None,
            None,
            Some("Elm St 5"),
            Some("75201"),
            Some("Dallas"),
            Some("USA"),
        ]);
        let mes = raw([
            None,
            None,
            None,
            None,
            Some("1067"),
            Some("Dresden"),
            Some("DE"),
        ]);
        let members = vec![
            (key("ERP", "1"), erp.clone()),
            (key("CRM", "1"), crm),
            (key("MES", "1"), mes),
        ];
        let golden = [
            None,
            None,
            None,
            Some("Main St 1"),
            Some("75201"),
            Some("Dallas"),
            Some("US"),
        ];
        let c = found(&members, &golden, "ERP");
        assert_eq!(
            c.len(),
            1,
            "one finding for the address, not one per part: {c:?}"
        );
        assert_eq!(c[0].attribute, "address");
        let values: Vec<&str> = c[0].values.iter().map(|v| v.value.as_str()).collect();
        // The survivor first, then by standardized form (a missing street first); the
        // German postcode in its country's form.
        assert_eq!(
            values,
            [
                "Main St 1, 75201, Dallas, US",
                "01067, Dresden, DE",
                "Elm St 5, 75201, Dallas, US"
            ]
        );
        assert_eq!(
            c[0].survived.as_deref(),
            Some("Main St 1, 75201, Dallas, US")
        );
        let survived: Vec<bool> = c[0].values.iter().map(|v| v.survived).collect();
        assert_eq!(survived, [true, false, false]);
        // Agreeing where both hold a part is no conflict.
        let city_only = raw([None, None, None, None, None, Some("dallas"), None]);
        let members = vec![(key("ERP", "1"), erp), (key("CRM", "1"), city_only)];
        assert!(found(&members, &golden, "ERP").is_empty());
    }

    #[test]
    fn invalid_values_placeholders_and_single_records_are_no_conflict() {
        let erp = raw([
            None,
            Some("1980-03-09"),
            Some("+1 214 8954767"),
            None,
            None,
            None,
            Some("US"),
        ]);
        let crm = raw([
            None,
            Some("1900-01-01"),
            Some("0000000000"),
            None,
            None,
            None,
            None,
        ]);
        let golden = [
            None,
            Some("1980-03-09"),
            Some("+12148954767"),
            None,
            None,
            None,
            Some("US"),
        ];
        let members = vec![(key("ERP", "1"), erp.clone()), (key("CRM", "1"), crm)];
        assert!(found(&members, &golden, "ERP").is_empty());
        assert!(found(&[(key("ERP", "1"), erp)], &golden, "ERP").is_empty());
    }
}
