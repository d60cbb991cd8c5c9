//! Ingest: the first stage of the pipeline. Source adapters read files, request bodies and
//! source databases into raw rows; [`prepare`] maps column names to the domain's canonical
//! names, checks values and hashes them; [`load`] classifies each row against staging
//! (new / changed / unchanged / duplicate) and writes it through `mdm_store`, a chunk at a
//! time, so a file of any size streams through in constant memory.
//!
//! Bad rows never stop a load and are never dropped: each becomes a quarantine entry that
//! names the source, row, field and reason. Rows read = rows staged + rows quarantined.

pub mod adapters;
mod error;
pub mod links;
pub mod load;
pub mod mapping;
pub mod prepare;
pub mod pull;
mod row;

pub use adapters::{
    CsvOptions, CsvSource, JsonArraySource, NdjsonSource, ParquetSource, RecordSource, SqlSource,
};
pub use error::IngestError;
pub use links::load_links;
pub use load::{
    load, load_with_limits, LoadOptions, LoadSummary, QuarantineLimits, SkippedDeletions,
};
pub use mapping::ColumnMapping;
pub use pull::{pull, SqlPullConfig};
pub use row::{QuarantineReason, RawRow, Rejection};
