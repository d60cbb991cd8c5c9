//! Per-consumer positions in the change feed: `acked_seq` (what the consumer acknowledged
//! when pulling) and `webhook_seq` (what push delivery handed over). Both only move forward,
//! and both live in the database, so a restart resumes exactly where it stopped.

use crate::schema::consumer_cursors::dsl as cc;
use crate::{now, DbConnection, StoreError};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::consumer_cursors)]
pub struct Cursor {
    pub consumer: String,
    pub acked_seq: i64,
    pub webhook_seq: i64,
}

/// The consumer's cursor; a consumer never seen before starts at 0 (the whole feed).
pub fn get(conn: &mut DbConnection, consumer: &str) -> Result<Cursor, StoreError> {
    let found = cc::consumer_cursors
        .find(consumer)
        .select(Cursor::as_select())
        .first(conn)
        .optional()?;
    Ok(found.unwrap_or(Cursor {
        consumer: consumer.to_string(),
        acked_seq: 0,
        webhook_seq: 0,
    }))
}

/// Acknowledges everything up to `seq`; a lower `seq` than already acknowledged changes
/// nothing. Returns the cursor after.
pub fn ack(conn: &mut DbConnection, consumer: &str, seq: i64) -> Result<i64, StoreError> {
    conn.write_transaction(|c| {
        ensure(c, consumer)?;
        diesel::update(
            cc::consumer_cursors
                .find(consumer)
                .filter(cc::acked_seq.lt(seq)),
        )
        .set((cc::acked_seq.eq(seq), cc::updated_at.eq(now())))
        .execute(c)?;
        Ok(get(c, consumer)?.acked_seq)
    })
}

/// Moves the webhook position forward to `seq` (never back).
pub fn advance_webhook(
    conn: &mut DbConnection,
    consumer: &str,
    seq: i64,
) -> Result<(), StoreError> {
    ensure(conn, consumer)?;
    diesel::update(
        cc::consumer_cursors
            .find(consumer)
            .filter(cc::webhook_seq.lt(seq)),
    )
    .set((cc::webhook_seq.eq(seq), cc::updated_at.eq(now())))
    .execute(conn)?;
    Ok(())
}

/// Takes or renews the webhook delivery lease of `consumer` for `owner` until `until`; true
/// when `owner` holds it (it was free, expired, or already `owner`'s). One conditional
/// UPDATE: of two processes claiming at once, one wins on either backend.
pub fn claim_lease(
    conn: &mut DbConnection,
    consumer: &str,
    owner: &str,
    until: chrono::NaiveDateTime,
) -> Result<bool, StoreError> {
    ensure(conn, consumer)?;
    let t = now();
    let n = diesel::update(
        cc::consumer_cursors.find(consumer).filter(
            cc::lease_owner
                .is_null()
                .or(cc::lease_owner.eq(owner))
                .or(cc::lease_until.lt(t)),
        ),
    )
    .set((cc::lease_owner.eq(owner), cc::lease_until.eq(until)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Cursor>, StoreError> {
    Ok(cc::consumer_cursors
        .order(cc::consumer)
        .select(Cursor::as_select())
        .load(conn)?)
}

fn ensure(conn: &mut DbConnection, consumer: &str) -> Result<(), StoreError> {
    let exists = cc::consumer_cursors
        .find(consumer)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(cc::consumer_cursors)
            .values((
                cc::consumer.eq(consumer),
                cc::acked_seq.eq(0i64),
                cc::webhook_seq.eq(0i64),
                cc::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
