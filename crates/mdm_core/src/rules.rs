//! A domain's rule set as declared in `match-rules/<domain>.toml`: its attributes and
//! types, and (added by later stages) blocking, comparisons, thresholds and survivorship.
//!
//! These are plain serde types; reading files and reporting errors with file, line and key
//! is `mdm_rules`' job.

use crate::model::{AttrType, Attribute};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

pub mod matching;
pub mod survivorship;
pub use matching::MatchingRules;
pub use survivorship::SurvivorshipRules;

/// Everything mdm knows about one domain (customer, product, supplier, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRules {
    /// The domain's name, as used on the command line and in URLs.
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Attributes in declaration order; `SourceRecord::values` follow this order.
    #[serde(
        deserialize_with = "ordered_attributes",
        serialize_with = "serialize_attributes"
    )]
    pub attributes: Vec<Attribute>,
    /// Blocking, comparisons, overrides and thresholds (`[matching]`).
    #[serde(default)]
    pub matching: MatchingRules,
    /// How golden values are chosen per attribute (`[survivorship]`).
    #[serde(default)]
    pub survivorship: SurvivorshipRules,
}

impl DomainRules {
    /// Position of an attribute in `attributes` (and in `SourceRecord::values`).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.attributes.iter().position(|a| a.name == name)
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// The body of one `[attributes]` entry: `given_name = { type = "person_name" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttributeBody {
    #[serde(rename = "type")]
    ty: AttrType,
    #[serde(default)]
    description: Option<String>,
}

/// Keeps the document order of the `[attributes]` table (a map would sort it).
fn ordered_attributes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Attribute>, D::Error> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<Attribute>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a table of attribute = { type = \"...\" }")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out: Vec<Attribute> = Vec::new();
            while let Some((name, body)) = map.next_entry::<String, AttributeBody>()? {
                if out.iter().any(|a| a.name == name) {
                    return Err(serde::de::Error::custom(format!(
                        "attribute `{name}` declared twice"
                    )));
                }
                out.push(Attribute {
                    name,
                    ty: body.ty,
                    description: body.description,
                });
            }
            Ok(out)
        }
    }
    d.deserialize_map(Ordered)
}

fn serialize_attributes<S: serde::Serializer>(
    attrs: &[Attribute],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    #[derive(Serialize)]
    struct Body<'a> {
        #[serde(rename = "type")]
        ty: AttrType,
        #[serde(skip_serializing_if = "Option::is_none")]
        description: &'a Option<String>,
    }
    let mut m = s.serialize_map(Some(attrs.len()))?;
    for a in attrs {
        m.serialize_entry(
            &a.name,
            &Body {
                ty: a.ty,
                description: &a.description,
            },
        )?;
    }
    m.end()
}
