//! The change-event outbox: one row per golden-record change, written in the same
//! transaction as the change, in `seq` order. The publish side delivers them.

use crate::schema::change_events::dsl as ce;
use crate::values::{column, PG_ROWS_PER_UNNEST};
use crate::{DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::schema::change_events)]
pub struct NewEvent {
    pub domain: String,
    pub golden_id: String,
    /// `created`, `updated`, `merged`, `split` or `deleted`.
    pub kind: String,
    /// JSON array of IDs this change retired (merges), if any.
    pub retired_ids: Option<String>,
    pub run_id: Option<i64>,
    /// JSON: the golden record after the change (and what changed).
    pub payload: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = crate::schema::change_events)]
pub struct Event {
    pub seq: i64,
    pub domain: String,
    pub golden_id: String,
    pub kind: String,
    pub retired_ids: Option<String>,
    pub run_id: Option<i64>,
    pub payload: String,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, rows: &[NewEvent]) -> Result<(), StoreError> {
    match conn {
        // Rows of a `VALUES` list go in in order, so sequence numbers follow it.
        DbConnection::Sqlite(c) => {
            use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
            crate::values::sqlite_insert(
                c,
                "INSERT INTO change_events \
                   (domain, golden_id, kind, retired_ids, run_id, payload, created_at) VALUES",
                7,
                rows,
                |q, r| {
                    q.bind::<Text, _>(&r.domain)
                        .bind::<Text, _>(&r.golden_id)
                        .bind::<Text, _>(&r.kind)
                        .bind::<Nullable<Text>, _>(r.retired_ids.as_deref())
                        .bind::<Nullable<BigInt>, _>(r.run_id)
                        .bind::<Text, _>(&r.payload)
                        .bind::<Timestamp, _>(r.created_at)
                },
            )?;
        }
        // One array per column (see `matchstate::insert_pairs`); `ORDER BY` the array
        // position so sequence numbers follow the order given.
        DbConnection::Pg(c) => {
            use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
            for part in rows.chunks(PG_ROWS_PER_UNNEST) {
                diesel::sql_query(
                    "INSERT INTO change_events \
                       (domain, golden_id, kind, retired_ids, run_id, payload, created_at) \
                     SELECT domain, golden_id, kind, retired_ids, run_id, payload, created_at \
                     FROM unnest($1, $2, $3, $4, $5, $6, $7) WITH ORDINALITY \
                       AS v(domain, golden_id, kind, retired_ids, run_id, payload, created_at, n) \
                     ORDER BY n",
                )
                .bind::<Array<Text>, _>(column(part, |r| r.domain.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.golden_id.as_str()))
                .bind::<Array<Text>, _>(column(part, |r| r.kind.as_str()))
                .bind::<Array<Nullable<Text>>, _>(column(part, |r| r.retired_ids.as_deref()))
                .bind::<Array<Nullable<BigInt>>, _>(column(part, |r| r.run_id))
                .bind::<Array<Text>, _>(column(part, |r| r.payload.as_str()))
                .bind::<Array<Timestamp>, _>(column(part, |r| r.created_at))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Events after `after` in order, at most `limit`.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Event>, StoreError> {
    Ok(ce::change_events
        .filter(ce::seq.gt(after))
        .order(ce::seq)
        .limit(limit)
        .select(Event::as_select())
        .load(conn)?)
}

/// Number of events a run emitted.
pub fn count_for_run(conn: &mut DbConnection, run_id: i64) -> Result<i64, StoreError> {
    Ok(ce::change_events
        .filter(ce::run_id.eq(run_id))
        .count()
        .get_result(conn)?)
}
