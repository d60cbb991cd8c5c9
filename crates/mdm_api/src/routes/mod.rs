//! Handlers, one module per area. Each translates HTTP into store or engine calls and back,
//! and stays short; the work happens in `mdm_store`, `mdm_ingest` and `mdm_core`.

pub mod admin;
pub mod audit;
pub mod feed;
pub mod golden;
pub mod health;
pub mod households;
pub mod matching;
pub mod push;
pub mod push_links;
pub mod quality;
pub mod relationships;
pub mod steward;
