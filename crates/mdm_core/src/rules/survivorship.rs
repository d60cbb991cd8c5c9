//! The survivorship section of a domain's rules file (`[survivorship]`): for each attribute,
//! an ordered list of strategies that pick the golden value among the values a cluster's
//! source records hold. The first strategy ranks; each later one breaks the ties the earlier
//! ones left. `survive` interprets them.
//!
//! ```toml
//! [survivorship]
//! default = ["trust", "recent"]
//! [survivorship.attributes]
//! email      = ["recent", "trust"]
//! given_name = ["frequent", "longest", "trust"]
//! [survivorship.groups]
//! address = { attributes = ["street", "postcode", "city"], strategies = ["complete", "recent"] }
//! ```
//!
//! A group's attributes only make sense together (an address, a price with its currency):
//! they survive as a unit from one source record, so no golden record shows a street from
//! one source and a postcode from another.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[survivorship]`: a default strategy list and per-attribute lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurvivorshipRules {
    /// Strategies for attributes not listed under `attributes`.
    #[serde(default = "default_strategies")]
    pub default: Vec<Strategy>,
    /// Attribute name -> strategies, first ranks, the rest break ties.
    #[serde(default)]
    pub attributes: BTreeMap<String, Vec<Strategy>>,
    /// Group name -> attributes that survive together from one source record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Group>,
}

/// Attributes that survive as a unit, and how the one source record is chosen: `complete`
/// counts the group's valid values, `frequent` the records holding the same values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub attributes: Vec<String>,
    #[serde(default = "default_group_strategies")]
    pub strategies: Vec<Strategy>,
}

fn default_group_strategies() -> Vec<Strategy> {
    vec![Strategy::Complete, Strategy::Recent, Strategy::Trust]
}

fn default_strategies() -> Vec<Strategy> {
    vec![Strategy::Trust, Strategy::Recent]
}

impl Default for SurvivorshipRules {
    fn default() -> Self {
        Self {
            default: default_strategies(),
            attributes: BTreeMap::new(),
            groups: BTreeMap::new(),
        }
    }
}

impl SurvivorshipRules {
    /// The group `attr` survives with, if any.
    pub fn group_of(&self, attr: &str) -> Option<(&str, &Group)> {
        self.groups
            .iter()
            .find(|(_, g)| g.attributes.iter().any(|a| a == attr))
            .map(|(n, g)| (n.as_str(), g))
    }

    /// The strategies that decide `attr`.
    pub fn strategies_for(&self, attr: &str) -> &[Strategy] {
        self.attributes
            .get(attr)
            .map_or(self.default.as_slice(), Vec::as_slice)
    }
}

/// One way to rank candidate values. Empty values never win under any strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The value from the most trusted source system (rank 1 first; configured per system).
    Trust,
    /// The value from the most recently loaded source record version.
    Recent,
    /// The value from the source record with the most non-empty attributes.
    Complete,
    /// The value most of the cluster's records hold (compared trimmed, case-folded).
    Frequent,
    /// The longest value (in characters).
    Longest,
    /// The value that arrived first: the oldest loaded record version still current.
    FirstNonEmpty,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::Trust,
        Strategy::Recent,
        Strategy::Complete,
        Strategy::Frequent,
        Strategy::Longest,
        Strategy::FirstNonEmpty,
    ];

    /// The name used in rules files and in lineage.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Trust => "trust",
            Strategy::Recent => "recent",
            Strategy::Complete => "complete",
            Strategy::Frequent => "frequent",
            Strategy::Longest => "longest",
            Strategy::FirstNonEmpty => "first_non_empty",
        }
    }
}
