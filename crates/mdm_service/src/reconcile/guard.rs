//! One writer per domain: a run (nightly, or started by a steward action) that read the
//! previous state before another run of the domain committed must not write over it.
//!
//! Checked inside the write transaction: on PostgreSQL an advisory transaction lock per
//! domain serialises the check and the writes; SQLite allows one writer at a time anyway.

use crate::ServiceError;
use diesel::sql_types::Text;
use diesel::RunQueryDsl;
use mdm_store::DbConnection;

pub fn no_concurrent_run(
    conn: &mut DbConnection,
    domain: &str,
    run_id: i64,
) -> Result<(), ServiceError> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<Text, _>(format!("mdm-reconcile-{domain}"))
            .execute(c)?;
    }
    let me = mdm_store::runs::get(conn, run_id)?
        .ok_or_else(|| ServiceError::Corrupt(format!("run {run_id} has no ledger row")))?;
    let later = mdm_store::runs::completed_since(conn, domain, run_id, me.started_at)?;
    if let Some(other) = later {
        return Err(ServiceError::Conflict(format!(
            "run {other} of domain {domain} completed while run {run_id} was working; \
             run {run_id} wrote nothing — run reconcile again"
        )));
    }
    Ok(())
}
