//! Relationships between golden records: the typed form of `match-rules/relationships.toml`
//! and the pure step that turns source links, resolved to golden IDs, into golden
//! relationships ([`resolve`]). Sits after `identify` in the pipeline: it needs every
//! source record's golden ID, and nothing else of matching.
//!
//! A type is identified by its `from` domain and its name, so `parent_of` can be declared
//! for suppliers and for customers. Reading the file and naming file, line and key in errors
//! is `mdm_rules`' job; these are plain serde types.

pub mod group;
pub mod resolve;

use crate::model::AttrType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use group::{derive_groups, Candidate, Derivation, GroupDecision, GroupMember};
pub use resolve::{resolve, GoldenRelationship, LinkSource, Resolution, ResolvedLink};

/// Column names of a links file; no link attribute may take one.
pub const LINK_COLUMNS: [&str; 4] = ["system", "from_source_id", "to_source_id", "type"];

/// Every relationship type mdm knows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipRules {
    #[serde(default, rename = "relationship")]
    pub types: Vec<RelationshipType>,
}

impl RelationshipRules {
    /// The type `name` whose links start in `from_domain`.
    pub fn get(&self, from_domain: &str, name: &str) -> Option<&RelationshipType> {
        self.types
            .iter()
            .find(|t| t.from == from_domain && t.name == name)
    }

    /// Types with an end in `domain` (links starting or ending there).
    pub fn touching<'a>(&'a self, domain: &'a str) -> impl Iterator<Item = &'a RelationshipType> {
        self.types
            .iter()
            .filter(move |t| t.from == domain || t.to == domain)
    }

    /// Types whose `reference` attribute lives on records of `domain`.
    pub fn references_on<'a>(
        &'a self,
        domain: &'a str,
    ) -> impl Iterator<Item = (&'a RelationshipType, &'a Reference)> {
        self.types.iter().filter_map(move |t| {
            let r = t.reference.as_ref()?;
            (t.domain_of(r.on) == domain).then_some((t, r))
        })
    }
}

/// One relationship type: `from` records point at `to` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipType {
    /// `parent_of`, `contact_of`, ...: lower-case letters, digits and '_'.
    pub name: String,
    /// Domain of the records links start from (the parent of `parent_of`).
    pub from: String,
    /// Domain of the records links point at (the child of `parent_of`).
    pub to: String,
    pub cardinality: Cardinality,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Attributes a link may carry (a role, a share, valid from/to), checked like record
    /// attributes of that type.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrType>,
    /// How a golden relationship's attributes are chosen when its links disagree, and which
    /// parent a child keeps in a `one_parent` type.
    #[serde(default = "default_survivorship")]
    pub survivorship: Vec<LinkStrategy>,
    /// An attribute of one end's records that names the other end's source ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    /// Set for a type no source states: the hub derives it from the `from` domain's golden
    /// records after each run (households). Its `to` end is a group ID the hub assigns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived: Option<Derived>,
}

/// How a derived type (`cardinality = "group"`) groups golden records of its `from`
/// domain: records with equal `block` values (postcode and house number: the blocking key,
/// so no all-pairs) that agree on each `agree` attribute both have (the street, the flat)
/// and on at least one `any` attribute (a family name, a landline) are linked; so are the
/// only candidates of an address when there are at most `sole_residents` of them. Linked
/// records form one group with a stable ID of its own ([`group`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    /// Golden records with a value of any of these attributes are never members
    /// (organizations carry `organization_name`).
    #[serde(default)]
    pub members_without: Vec<String>,
    /// Attributes whose standardized values must be present and equal: the block key.
    pub block: Vec<String>,
    /// Attributes that must agree where both records have one, compared by type (a street:
    /// the same comparison form, a close spelling or a shared distinctive word; other
    /// types: equal). A record without one joins only a block whose values agree.
    #[serde(default)]
    pub agree: Vec<String>,
    /// At least one of these must agree (names: a shared word of four letters or more, or
    /// a close spelling; other types: equal).
    pub any: Vec<String>,
    /// An address whose candidates all agree and number at most this many is one group
    /// without a shared `any` value (a couple with two surnames and two phones). 0: off.
    #[serde(default)]
    pub sole_residents: usize,
    /// Addresses with more candidates than this are not grouped at all (a care home, a
    /// student hall): reported, never a household.
    #[serde(default = "default_max_block")]
    pub max_block: usize,
}

fn default_max_block() -> usize {
    50
}

fn default_survivorship() -> Vec<LinkStrategy> {
    vec![LinkStrategy::Trust, LinkStrategy::Recent]
}

impl RelationshipType {
    pub fn domain_of(&self, end: End) -> &str {
        match end {
            End::From => &self.from,
            End::To => &self.to,
        }
    }
}

/// How many `from` records one `to` record may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cardinality {
    /// At most one: a hierarchy (parent -> child). Cycles are refused.
    OneParent,
    ManyToMany,
    /// Each `from` record belongs to at most one group, the `to` end being the group's ID
    /// (derived types only).
    Group,
}

impl Cardinality {
    pub fn as_str(self) -> &'static str {
        match self {
            Cardinality::OneParent => "one_parent",
            Cardinality::ManyToMany => "many_to_many",
            Cardinality::Group => "group",
        }
    }
}

/// Survivorship between the links behind one golden relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkStrategy {
    /// The most trusted system (lowest trust rank).
    Trust,
    /// The newest load.
    Recent,
}

/// A link carried by a record attribute: `{ attribute = "account_id", on = "from" }` on a
/// contact names its account's source ID in the same system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub attribute: String,
    /// Which end's records carry the attribute; it names the other end.
    pub on: End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    From,
    To,
}

/// Where a staged link came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkOrigin {
    /// A links file or push.
    File,
    /// A record's `reference` attribute.
    Reference,
}

impl LinkOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkOrigin::File => "file",
            LinkOrigin::Reference => "reference",
        }
    }
}
