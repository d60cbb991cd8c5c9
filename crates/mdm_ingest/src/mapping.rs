//! Column mapping: a source system's own column names (`KUNNR`, `NAME1`) to the domain's
//! canonical names (`source_id`, `organization_name`), from that system's configuration.
//!
//! Resolution of one column: the mapping if it names the column (case-insensitively); else
//! the canonical name if the column spells one in any case (`Email` -> `email`); else the
//! column keeps its own name as an extra attribute.

use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMapping {
    /// lower-cased source column -> target name
    renames: HashMap<String, String>,
}

impl ColumnMapping {
    pub fn new<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let renames = pairs
            .into_iter()
            .map(|(k, v)| (k.as_ref().trim().to_lowercase(), v.into()))
            .collect();
        Self { renames }
    }

    /// The name `column` is staged under; `is_canonical` says whether a lower-cased name is
    /// one of the domain's attributes (or `source_id`).
    pub fn resolve(&self, column: &str, is_canonical: impl Fn(&str) -> bool) -> String {
        let lower = column.trim().to_lowercase();
        if let Some(target) = self.renames.get(&lower) {
            return target.clone();
        }
        if is_canonical(&lower) {
            lower
        } else {
            column.trim().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_then_canonical_then_extra() {
        let m = ColumnMapping::new([("KUNNR", "source_id"), ("name1", "organization_name")]);
        let canon = |s: &str| s == "email" || s == "source_id";
        assert_eq!(m.resolve("kunnr", canon), "source_id");
        assert_eq!(m.resolve("NAME1", canon), "organization_name");
        assert_eq!(m.resolve(" Email ", canon), "email");
        assert_eq!(m.resolve("Loyalty Tier", canon), "Loyalty Tier");
    }
}
