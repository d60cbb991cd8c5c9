//! Webhook delivery state for events that did not go through on the first try.
//!
//! A consumer's webhook queue is its `webhook_seq` cursor ([`crate::cursors`]) plus, at most,
//! one `retrying` row at its head. After the configured number of failures the row becomes
//! `dead` and the cursor moves past it, so later events flow again; an admin's replay turns
//! dead rows into `replay` rows, which the dispatcher delivers before new events. A delivered
//! event's row is deleted in the same transaction that moves the cursor.

use crate::schema::webhook_deliveries::dsl as wd;
use crate::{now, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Retrying,
    Dead,
    Replay,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Replay => "replay",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::webhook_deliveries)]
pub struct Delivery {
    pub consumer: String,
    pub seq: i64,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub next_attempt_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn get(
    conn: &mut DbConnection,
    consumer: &str,
    seq: i64,
) -> Result<Option<Delivery>, StoreError> {
    Ok(wd::webhook_deliveries
        .find((consumer, seq))
        .select(Delivery::as_select())
        .first(conn)
        .optional()?)
}

/// Records a failed attempt: the row gets `status`, `attempts` and the time of the next try.
/// A `Dead` event also moves the consumer's webhook cursor past it (in one transaction).
pub fn record_failure(
    conn: &mut DbConnection,
    consumer: &str,
    seq: i64,
    status: DeliveryStatus,
    attempts: i32,
    error: &str,
    next_attempt_at: NaiveDateTime,
) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        let t = now();
        let n = diesel::update(wd::webhook_deliveries.find((consumer, seq)))
            .set((
                wd::status.eq(status.as_str()),
                wd::attempts.eq(attempts),
                wd::last_error.eq(Some(error)),
                wd::next_attempt_at.eq(next_attempt_at),
                wd::updated_at.eq(t),
            ))
            .execute(c)?;
        if n == 0 {
            diesel::insert_into(wd::webhook_deliveries)
                .values((
                    wd::consumer.eq(consumer),
                    wd::seq.eq(seq),
                    wd::status.eq(status.as_str()),
                    wd::attempts.eq(attempts),
                    wd::last_error.eq(Some(error)),
                    wd::next_attempt_at.eq(next_attempt_at),
                    wd::updated_at.eq(t),
                ))
                .execute(c)?;
        }
        if status == DeliveryStatus::Dead {
            crate::cursors::advance_webhook(c, consumer, seq)?;
        }
        Ok(())
    })
}

/// The event was delivered: forget its failures and move the cursor past it.
pub fn delivered(conn: &mut DbConnection, consumer: &str, seq: i64) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        diesel::delete(wd::webhook_deliveries.find((consumer, seq))).execute(c)?;
        crate::cursors::advance_webhook(c, consumer, seq)
    })
}

/// The consumer's rows in one status, oldest event first.
pub fn list(
    conn: &mut DbConnection,
    consumer: &str,
    status: DeliveryStatus,
    limit: i64,
) -> Result<Vec<Delivery>, StoreError> {
    Ok(wd::webhook_deliveries
        .filter(wd::consumer.eq(consumer))
        .filter(wd::status.eq(status.as_str()))
        .order(wd::seq)
        .limit(limit)
        .select(Delivery::as_select())
        .load(conn)?)
}

/// Turns dead events (one, or all of the consumer's) into replays with a fresh attempt count.
/// Returns how many.
pub fn replay(
    conn: &mut DbConnection,
    consumer: &str,
    seq: Option<i64>,
) -> Result<u64, StoreError> {
    let mut q = diesel::update(wd::webhook_deliveries)
        .filter(wd::consumer.eq(consumer))
        .filter(wd::status.eq(DeliveryStatus::Dead.as_str()))
        .into_boxed();
    if let Some(s) = seq {
        q = q.filter(wd::seq.eq(s));
    }
    let t = now();
    let n = q
        .set((
            wd::status.eq(DeliveryStatus::Replay.as_str()),
            wd::attempts.eq(0),
            wd::next_attempt_at.eq(t),
            wd::updated_at.eq(t),
        ))
        .execute(conn)?;
    Ok(n as u64)
}

/// Forgets a replayed event once delivered (its cursor had moved past it already).
pub fn remove(conn: &mut DbConnection, consumer: &str, seq: i64) -> Result<(), StoreError> {
    diesel::delete(wd::webhook_deliveries.find((consumer, seq))).execute(conn)?;
    Ok(())
}
