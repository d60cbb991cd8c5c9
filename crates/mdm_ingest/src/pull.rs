//! Pulling a configured SQL source: the load of a [`SqlSource`] plus its watermark
//! bookkeeping. The watermark advances only when the load completed.

use crate::adapters::SqlSource;
use crate::load::{load, LoadOptions, LoadSummary};
use crate::mapping::ColumnMapping;
use crate::IngestError;
use mdm_core::DomainRules;
use mdm_store::{watermarks, DbConnection};

/// A system's SQL source, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlPullConfig {
    /// `postgres://...` or `sqlite://...` of the source system's database.
    pub url: String,
    pub query: String,
    /// Column for incremental pulls; without one every pull reads everything.
    pub watermark: Option<String>,
}

/// Pulls new and changed rows since the stored watermark. A snapshot pull ignores the
/// watermark (a full extract is what lets it mark absent records deleted).
pub fn pull(
    conn: &mut DbConnection,
    rules: &DomainRules,
    mapping: &ColumnMapping,
    opts: &LoadOptions<'_>,
    config: &SqlPullConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<LoadSummary, IngestError> {
    let system = opts.system.as_str();
    let since = match (&config.watermark, opts.snapshot) {
        (Some(_), false) => watermarks::get(conn, opts.domain, system)?,
        _ => None,
    };
    let label = format!("sql:{system}");
    let mut source = SqlSource::new(
        label,
        config.url.clone(),
        config.query.clone(),
        config.watermark.clone(),
        since.as_deref(),
    )?;
    let summary = load(conn, rules, mapping, opts, &mut source, progress)?;
    if let Some(high) = source.high_watermark() {
        watermarks::set(conn, opts.domain, system, &high, summary.batch_id)?;
    }
    Ok(summary)
}
