//! Reads `match-rules/<domain>.toml` into [`mdm_core::DomainRules`].
//!
//! A malformed file is refused with an error that names the file, the line and the key, so
//! a data steward editing rules by hand can find the mistake. The shipped domains
//! (customer, product, supplier) are also compiled in, so `mdm` runs from any directory.

use mdm_core::DomainRules;
use std::path::{Path, PathBuf};

mod relationships;
pub use relationships::{
    check_derived_attributes, load_relationships, parse_relationships, BUILTIN_RELATIONSHIPS,
    LINK_COLUMNS,
};

/// A rules file that could not be read or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The message carries the I/O error's (not `source()` too: said once in a chain).
    #[error("{file}: cannot read: {error}")]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{file}:{line}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("no rules for domain `{domain}` (looked in {looked_in}; shipped domains: customer, product, supplier)")]
    UnknownDomain { domain: String, looked_in: String },
}

/// The domains shipped with mdm, compiled into the binary.
pub const BUILTIN: [(&str, &str); 3] = [
    (
        "customer",
        include_str!("../../../match-rules/customer.toml"),
    ),
    ("product", include_str!("../../../match-rules/product.toml")),
    (
        "supplier",
        include_str!("../../../match-rules/supplier.toml"),
    ),
];

/// Parses and validates one rules file's text; `file` is used in error messages only.
pub fn parse(file: &Path, text: &str) -> Result<DomainRules, RulesError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(file, text, e, ""))?;
    let rules: DomainRules = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        toml_error(file, text, e.into_inner(), &key)
    })?;
    validate(&rules).map_err(|(key, message)| RulesError::Invalid {
        file: file.to_path_buf(),
        line: line_of_key(text, &key),
        key,
        message,
    })?;
    Ok(rules)
}

/// Reads and validates one rules file.
pub fn load_file(path: &Path) -> Result<DomainRules, RulesError> {
    let text = std::fs::read_to_string(path).map_err(|error| RulesError::Io {
        file: path.to_path_buf(),
        error,
    })?;
    parse(path, &text)
}

/// The rules for `domain`: `<dir>/<domain>.toml` when `dir` has it, else the shipped copy.
pub fn load_domain(dir: Option<&Path>, domain: &str) -> Result<DomainRules, RulesError> {
    if let Some(dir) = dir {
        let path = dir.join(format!("{domain}.toml"));
        if path.exists() {
            return load_file(&path);
        }
    }
    match BUILTIN.iter().find(|(name, _)| *name == domain) {
        Some((name, text)) => parse(Path::new(&format!("<builtin>/{name}.toml")), text),
        None => Err(RulesError::UnknownDomain {
            domain: domain.to_string(),
            looked_in: dir.map_or("<builtin>".into(), |d| d.display().to_string()),
        }),
    }
}

fn toml_error(file: &Path, text: &str, e: toml::de::Error, key: &str) -> RulesError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].lines().count().max(1))
        .unwrap_or_else(|| line_of_key(text, key));
    let message = e.message().trim().to_string();
    RulesError::Invalid {
        file: file.to_path_buf(),
        line,
        key: if key.is_empty() {
            "(document)".into()
        } else {
            key.to_string()
        },
        message,
    }
}

/// Best-effort line of a dotted key path (`attributes.email.type`): the first line that
/// names its last segment. Used for semantic errors that toml cannot place.
fn line_of_key(text: &str, key: &str) -> usize {
    let last = key.rsplit('.').next().unwrap_or(key);
    let last = last.split('[').next().unwrap_or(last);
    if last.is_empty() {
        return 1;
    }
    // Search from the key's section header (`[survivorship...`) when the file has one.
    let first = key.split(['.', '[']).next().unwrap_or(key);
    let start = text
        .lines()
        .position(|l| l.trim_start().starts_with(&format!("[{first}")))
        .unwrap_or(0);
    text.lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| {
            let l = l.trim_start();
            l.starts_with(last)
                || l.contains(&format!("\"{last}\""))
                || l.contains(&format!("[{last}]"))
        })
        .map_or(1, |(i, _)| i + 1)
}

/// Semantic checks toml cannot express. Returns (key path, message).
fn validate(rules: &DomainRules) -> Result<(), (String, String)> {
    let ok_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !ok_name(&rules.domain) {
        return Err((
            "domain".into(),
            format!(
                "`{}` must be lower-case letters, digits and '_'",
                rules.domain
            ),
        ));
    }
    if rules.attributes.is_empty() {
        return Err((
            "attributes".into(),
            "a domain needs at least one attribute".into(),
        ));
    }
    for a in &rules.attributes {
        if !ok_name(&a.name) || a.name == "source_id" {
            return Err((
                format!("attributes.{}", a.name),
                "attribute names are lower-case letters, digits and '_', and not `source_id`"
                    .into(),
            ));
        }
    }
    if let Some(a) = &rules.matching.kind_attribute {
        if rules.index_of(a).is_none() {
            return Err((
                "matching.kind_attribute".into(),
                format!("`{a}` is not an attribute of domain `{}`", rules.domain),
            ));
        }
    }
    validate_survivorship(rules)
}

/// `[survivorship]`: strategy lists are non-empty and free of repeats, and name attributes
/// of the domain.
fn validate_survivorship(rules: &DomainRules) -> Result<(), (String, String)> {
    let s = &rules.survivorship;
    let lists = std::iter::once(("survivorship.default".to_string(), &s.default)).chain(
        s.attributes
            .iter()
            .map(|(a, l)| (format!("survivorship.attributes.{a}"), l)),
    );
    for (key, list) in lists {
        if list.is_empty() {
            return Err((key, "needs at least one strategy".into()));
        }
        for (i, st) in list.iter().enumerate() {
            if list[..i].contains(st) {
                return Err((key, format!("strategy `{}` is listed twice", st.name())));
            }
        }
    }
    for a in s.attributes.keys() {
        if rules.index_of(a).is_none() {
            return Err((
                format!("survivorship.attributes.{a}"),
                format!("`{a}` is not an attribute of domain `{}`", rules.domain),
            ));
        }
    }
    validate_groups(rules)
}

/// `[survivorship.groups]`: each group names attributes of the domain, at least two, each
/// in one group only and without a strategy list of its own (the group's decides).
fn validate_groups(rules: &DomainRules) -> Result<(), (String, String)> {
    let s = &rules.survivorship;
    let mut seen: Vec<&str> = Vec::new();
    for (name, g) in &s.groups {
        let key = format!("survivorship.groups.{name}");
        if g.attributes.len() < 2 {
            return Err((key, "a group needs at least two attributes".into()));
        }
        if g.strategies.is_empty() {
            return Err((key, "needs at least one strategy".into()));
        }
        for (i, st) in g.strategies.iter().enumerate() {
            if g.strategies[..i].contains(st) {
                return Err((key, format!("strategy `{}` is listed twice", st.name())));
            }
        }
        for a in &g.attributes {
            if rules.index_of(a).is_none() {
                return Err((
                    key,
                    format!("`{a}` is not an attribute of domain `{}`", rules.domain),
                ));
            }
            if seen.contains(&a.as_str()) {
                return Err((key, format!("`{a}` is in more than one group")));
            }
            if s.attributes.contains_key(a) {
                return Err((
                    key,
                    format!(
                        "`{a}` also has strategies under [survivorship.attributes]; \
                         the group's strategies decide it"
                    ),
                ));
            }
            seen.push(a);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_domains_parse() {
        for (name, _) in BUILTIN {
            let r = load_domain(None, name).unwrap();
            assert_eq!(r.domain, name);
            assert!(!r.attributes.is_empty());
        }
    }

    #[test]
    fn attribute_order_is_kept() {
        let r = load_domain(None, "customer").unwrap();
        assert_eq!(r.attributes[0].name, "given_name");
        assert_eq!(r.attributes[1].name, "family_name");
    }

    #[test]
    fn unknown_type_names_file_line_and_key() {
        let text = "domain = \"x\"\n\n[attributes]\nname = { type = \"person_name\" }\nemail = { type = \"emial\" }\n";
        let err = parse(Path::new("rules/x.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("rules/x.toml:5: key `attributes.email.type`"),
            "{err}"
        );
        assert!(err.contains("emial"), "{err}");
    }

    #[test]
    fn syntax_error_names_line() {
        let text = "domain = \"x\"\n[attributes\nname = 1\n";
        let err = parse(Path::new("x.toml"), text).unwrap_err().to_string();
        assert!(err.starts_with("x.toml:2:"), "{err}");
    }

    #[test]
    fn bad_attribute_name_is_refused() {
        let text = "domain = \"x\"\n[attributes]\n\"Given Name\" = { type = \"person_name\" }\n";
        let err = parse(Path::new("x.toml"), text).unwrap_err().to_string();
        assert!(
            err.contains("x.toml:3: key `attributes.Given Name`"),
            "{err}"
        );
    }

    #[test]
    fn unknown_domain_is_an_error() {
        assert!(matches!(
            load_domain(None, "planet"),
            Err(RulesError::UnknownDomain { .. })
        ));
    }

    #[test]
    fn malformed_survivorship_names_file_line_and_key() {
        let head = "domain = \"x\"\n[attributes]\nname = { type = \"text\" }\nemail = { type = \"email\" }\n[survivorship]\ndefault = [\"trust\"]\n[survivorship.attributes]\n";
        let err = |body: &str| {
            parse(Path::new("x.toml"), &format!("{head}{body}"))
                .unwrap_err()
                .to_string()
        };
        let e = err("email = [\"newest\"]\n");
        assert!(
            e.starts_with("x.toml:8: key `survivorship.attributes.email"),
            "{e}"
        );
        assert!(e.contains("newest"), "{e}");
        let e = err("phone = [\"trust\"]\n");
        assert!(
            e.starts_with("x.toml:8: key `survivorship.attributes.phone`"),
            "{e}"
        );
        let e = err("name = []\n");
        assert!(
            e.starts_with("x.toml:8: key `survivorship.attributes.name`"),
            "{e}"
        );
        let e = err("email = [\"trust\", \"recent\", \"trust\"]\n");
        assert!(e.contains("listed twice"), "{e}");
        let ok = parse(
            Path::new("x.toml"),
            &format!("{head}email = [\"recent\", \"trust\"]\n"),
        )
        .unwrap();
        assert_eq!(ok.survivorship.strategies_for("email").len(), 2);
        assert_eq!(ok.survivorship.strategies_for("name").len(), 1);
    }

    #[test]
    fn malformed_survivorship_groups_are_named() {
        let head = "domain = \"x\"\n[attributes]\nstreet = { type = \"street\" }\ncity = { type = \"city\" }\nemail = { type = \"email\" }\n[survivorship]\n";
        let err = |body: &str| {
            parse(Path::new("x.toml"), &format!("{head}{body}"))
                .unwrap_err()
                .to_string()
        };
        let e = err("[survivorship.groups]\naddress = { attributes = [\"street\", \"town\"] }\n");
        assert!(
            e.contains("survivorship.groups.address") && e.contains("`town`"),
            "{e}"
        );
        let e = err("[survivorship.groups]\naddress = { attributes = [\"street\"] }\n");
        assert!(e.contains("at least two"), "{e}");
        let e = err("[survivorship.groups]\na = { attributes = [\"street\", \"city\"] }\nb = { attributes = [\"city\", \"email\"] }\n");
        assert!(e.contains("more than one group"), "{e}");
        let e = err("[survivorship.attributes]\ncity = [\"trust\"]\n[survivorship.groups]\na = { attributes = [\"street\", \"city\"] }\n");
        assert!(e.contains("the group's strategies decide it"), "{e}");
        let ok = parse(
            Path::new("x.toml"),
            &format!("{head}[survivorship.groups]\naddress = {{ attributes = [\"street\", \"city\"] }}\n"),
        )
        .unwrap();
        let (name, g) = ok.survivorship.group_of("city").expect("group");
        assert_eq!((name, g.strategies.len()), ("address", 3));
        assert!(ok.survivorship.group_of("email").is_none());
    }

    #[test]
    fn shipped_domains_declare_survivorship() {
        for (name, text) in BUILTIN {
            assert!(text.contains("[survivorship]"), "{name}");
        }
    }
}
