//! Reads `match-rules/relationships.toml` into [`RelationshipRules`], with errors that name
//! the file, line and key like a domain's rules file. Shipped compiled in; a
//! `relationships.toml` in the rules directory replaces it.

use crate::{line_of_key, load_domain, toml_error, RulesError};
use mdm_core::relationships::{RelationshipRules, RelationshipType};
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
            return parse_relationships(&path, &text, dir_domains(Some(dir)));
        }
    }
    parse_relationships(
        Path::new("<builtin>/relationships.toml"),
        BUILTIN_RELATIONSHIPS,
        dir_domains(dir),
    )
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
        if !domain_exists(d) {
            return Some((field, format!("no rules for domain `{d}`")));
        }
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
    use mdm_core::relationships::{Cardinality, End};

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
