//! Reads `match-rules/relationships.toml` into [`RelationshipRules`], with errors that name
//! the file, line and key like a domain's rules file. Shipped compiled in; a
//! `relationships.toml` in the rules directory replaces it.

use crate::{line_of_key, load_domain, toml_error, RulesError};
use mdm_core::relationships::{Cardinality, RelationshipRules, RelationshipType};
use std::path::Path;

/// The shipped relationship types.
pub const BUILTIN_RELATIONSHIPS: &str = include_str!("../../../match-rules/relationships.toml");

pub use mdm_core::relationships::LINK_COLUMNS;

/// The relationship types: `<dir>/relationships.toml` when `dir` has it, else the shipped
/// file. Each type's domains must have rules (in `dir` or shipped).
pub fn load_relationships(dir: Option<&Path>) -> Result<RelationshipRules, RulesError> {
    if let Some(dir) = dir {
        let path = dir.join("relationships.toml");
        if path.exists() {
            let text = std::fs::read_to_string(&path).map_err(|error| RulesError::Io {
                file: path.clone(),
                error,
            })?;
            let rules = parse_relationships(&path, &text, dir_domains(Some(dir)))?;
            return with_checked_attributes(rules, Some(dir), &path, &text);
        }
    }
    let file = Path::new("<builtin>/relationships.toml");
    let rules = parse_relationships(file, BUILTIN_RELATIONSHIPS, dir_domains(dir))?;
    with_checked_attributes(rules, dir, file, BUILTIN_RELATIONSHIPS)
}

fn with_checked_attributes(
    rules: RelationshipRules,
    dir: Option<&Path>,
    file: &Path,
    text: &str,
) -> Result<RelationshipRules, RulesError> {
    for (i, t) in rules.types.iter().enumerate() {
        if t.derived.is_none() {
            continue;
        }
        let domain = load_domain(dir, &t.from)?;
        let one = RelationshipRules {
            types: vec![t.clone()],
        };
        if let Err(message) = check_derived_attributes(&one, &domain) {
            return Err(RulesError::Invalid {
                file: file.to_path_buf(),
                line: line_of_type(text, i, "derived"),
                key: format!("relationship[{i}].derived"),
                message,
            });
        }
    }
    Ok(rules)
}

/// A closure telling whether a domain has rules.
fn dir_domains(dir: Option<&Path>) -> impl Fn(&str) -> bool + '_ {
    move |d: &str| load_domain(dir, d).is_ok()
}

/// Parses and validates the text of a relationships file; `file` is for messages only.
pub fn parse_relationships(
    file: &Path,
    text: &str,
    domain_exists: impl Fn(&str) -> bool,
) -> Result<RelationshipRules, RulesError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(file, text, e, ""))?;
    let rules: RelationshipRules = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        toml_error(file, text, e.into_inner(), &key)
    })?;
    for (i, t) in rules.types.iter().enumerate() {
        let invalid = |field: &str, message: String| RulesError::Invalid {
            file: file.to_path_buf(),
            line: line_of_type(text, i, field),
            key: format!("relationship[{i}].{field}"),
            message,
        };
        if let Some((field, message)) = validate_type(t, &domain_exists) {
            return Err(invalid(field, message));
        }
        if rules.types[..i]
            .iter()
            .any(|o| o.from == t.from && o.name == t.name)
        {
            return Err(invalid(
                "name",
                format!("`{}` from `{}` is declared twice", t.name, t.from),
            ));
        }
    }
    Ok(rules)
}

/// Returns (field, message) for the first thing wrong with one type.
fn validate_type(
    t: &RelationshipType,
    domain_exists: &impl Fn(&str) -> bool,
) -> Option<(&'static str, String)> {
    let ok_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !ok_name(&t.name) {
        return Some((
            "name",
            format!("`{}` must be lower-case letters, digits and '_'", t.name),
        ));
    }
    for (field, d) in [("from", &t.from), ("to", &t.to)] {
        // A derived type's `to` end is a group ID the hub assigns, not a domain.
        let group_id_end = field == "to" && t.derived.is_some();
        if !group_id_end && !domain_exists(d) {
            return Some((field, format!("no rules for domain `{d}`")));
        }
    }
    if let Some(message) = check_derived(t) {
        return Some(("derived", message));
    }
    for a in t.attributes.keys() {
        if !ok_name(a) || LINK_COLUMNS.contains(&a.as_str()) || a == "source_id" {
            return Some((
                "attributes",
                format!(
                    "`{a}`: link attribute names are lower-case letters, digits and '_', \
                     and not {}",
                    LINK_COLUMNS.join(", ")
                ),
            ));
        }
    }
    if t.survivorship.is_empty() {
        return Some(("survivorship", "needs at least one strategy".into()));
    }
    for (i, s) in t.survivorship.iter().enumerate() {
        if t.survivorship[..i].contains(s) {
            return Some(("survivorship", format!("`{s:?}` is listed twice")));
        }
    }
    if let Some(r) = &t.reference {
        if !ok_name(&r.attribute) || r.attribute == "source_id" {
            return Some((
                "reference",
                format!("`{}` is not a usable attribute name", r.attribute),
            ));
        }
    }
    None
}

/// What is wrong with a derived type's shape (its attributes are checked against the
/// domain's rules by [`check_derived_attributes`]).
fn check_derived(t: &RelationshipType) -> Option<String> {
    let group = t.cardinality == Cardinality::Group;
    let Some(d) = &t.derived else {
        return group.then(|| "cardinality `group` is for derived types only".into());
    };
    if !group {
        return Some("a derived type needs cardinality = \"group\"".into());
    }
    if t.reference.is_some() {
        return Some("a derived type takes no `reference`: no source states it".into());
    }
    if d.block.is_empty() || d.any.is_empty() {
        return Some("`block` and `any` each need at least one attribute".into());
    }
    (d.max_block < 2).then(|| "`max_block` must be at least 2".into())
}

/// Every attribute a derived type names must be one of its `from` domain's.
pub fn check_derived_attributes(
    rules: &RelationshipRules,
    domain: &mdm_core::DomainRules,
) -> Result<(), String> {
    for t in rules.types.iter().filter(|t| t.from == domain.domain) {
        let Some(d) = &t.derived else { continue };
        let names = d
            .members_without
            .iter()
            .chain(&d.block)
            .chain(&d.agree)
            .chain(&d.any);
        for a in names {
            if domain.attribute(a).is_none() {
                return Err(format!(
                    "relationship type `{}`: domain {} has no attribute `{a}`",
                    t.name, domain.domain
                ));
            }
        }
    }
    Ok(())
}

/// The line of `field` in the `i`-th `[[relationship]]` table (its header when the field is
/// not written out).
fn line_of_type(text: &str, i: usize, field: &str) -> usize {
    let headers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[relationship]]"))
        .map(|(n, _)| n)
        .collect();
    let Some(&start) = headers.get(i) else {
        return line_of_key(text, field);
    };
    let end = headers.get(i + 1).copied().unwrap_or(usize::MAX);
    text.lines()
        .enumerate()
        .skip(start)
        .take_while(|(n, _)| *n < end)
        .find(|(_, l)| l.trim_start().starts_with(field))
        .map_or(start + 1, |(n, _)| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdm_core::relationships::End;

    fn parse(text: &str) -> Result<RelationshipRules, RulesError> {
        parse_relationships(Path::new("r.toml"), text, |d| {
            ["customer", "supplier", "product"].contains(&d)
        })
    }

    #[test]
    fn shipped_types_parse() {
        let r = load_relationships(None).unwrap();
        let parent = r.get("supplier", "parent_of").unwrap();
        assert_eq!(parent.cardinality, Cardinality::OneParent);
        assert_eq!(parent.reference.as_ref().unwrap().on, End::To);
        assert!(r.get("customer", "parent_of").is_some());
        assert_eq!(r.get("supplier", "supplies").unwrap().to, "product");
        assert_eq!(r.touching("product").count(), 2);
        let h = r.get("customer", "household").unwrap();
        assert_eq!(h.cardinality, Cardinality::Group);
        assert!(h.derived.as_ref().unwrap().any.contains(&"phone".into()));
    }

    #[test]
    fn derived_types_are_checked() {
        let head = "[[relationship]]\nname = \"h\"\nfrom = \"customer\"\nto = \"household\"\n";
        let derived = "derived = { block = [\"street\"], any = [\"phone\"] }\n";
        assert!(parse(&format!("{head}cardinality = \"group\"\n{derived}")).is_ok());
        let e = parse(&format!("{head}cardinality = \"many_to_many\"\n{derived}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("relationship[0].derived"), "{e}");
        let e = parse(&format!("{head}cardinality = \"group\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no rules for domain `household`"), "{e}");
        let bad = RelationshipRules {
            types: vec![parse(&format!(
                "{head}cardinality = \"group\"\nderived = {{ block = [\"street\"], any = [\"shoe_size\"] }}\n"
            ))
            .unwrap()
            .types
            .remove(0)],
        };
        let customer = crate::load_domain(None, "customer").unwrap();
        let e = check_derived_attributes(&bad, &customer).unwrap_err();
        assert!(e.contains("shoe_size"), "{e}");
    }

    #[test]
    fn mistakes_name_line_and_key() {
        let head = "[[relationship]]\nname = \"a\"\nfrom = \"customer\"\nto = \"customer\"\ncardinality = \"many_to_many\"\n";
        let e = parse(&head.replace("many_to_many", "tree"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("r.toml:5:") && e.contains("cardinality"),
            "{e}"
        );
        let e = parse(&head.replace("to = \"customer\"", "to = \"planet\""))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.toml:4: key `relationship[0].to`"), "{e}");
        let e = parse(&format!("{head}{head}")).unwrap_err().to_string();
        assert!(
            e.starts_with("r.toml:7: key `relationship[1].name`") && e.contains("twice"),
            "{e}"
        );
        let e = parse(&format!("{head}attributes = {{ type = \"text\" }}\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("relationship[0].attributes"), "{e}");
        let e = parse(&format!("{head}survivorship = []\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one"), "{e}");
        let e = parse(&format!("{head}colour = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("colour"), "{e}");
    }
}
