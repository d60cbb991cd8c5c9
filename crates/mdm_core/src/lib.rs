//! mdm's pure domain core.
//!
//! Everything here is synchronous, deterministic and free of HTTP, SQL, async runtimes and
//! configuration loading: the model, the rule-set types, and the pipeline stages
//! (`standardize`, `block`, `compare`, `score`, `cluster`, `survive`, `identify`).
//! Callers install the rayon pool; the core never builds its own.

pub mod block;
pub mod cluster;
pub mod compare;
pub mod evaluate;
pub mod explain;
pub mod golden_quality;
pub mod identify;
pub mod learn;
pub mod lineage;
pub mod model;
pub mod model_report;
pub mod partition;
pub mod pipeline;
pub mod relationships;
pub mod rematch;
pub mod rules;
pub mod score;
pub mod standardize;
pub mod survive;
pub mod veto;

pub use model::{AttrType, Attribute, GoldenId, RecordKey, SourceKey, SourceRecord, SystemName};
pub use rules::DomainRules;
