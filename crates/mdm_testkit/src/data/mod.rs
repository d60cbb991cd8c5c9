//! Vocabularies the generators draw from.

pub mod countries;
pub mod nicknames;
pub mod orgs;
pub mod products;
