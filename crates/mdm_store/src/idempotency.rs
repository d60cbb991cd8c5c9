//! Idempotency keys of write requests (the `Idempotency-Key` header of the API), scoped to a
//! token and a route. The key's row is written *before* the request runs, with no answer
//! yet ("in flight"); the primary key makes the insert of two requests with one key succeed
//! once, so at most one of them writes. When the request finishes its answer is stored
//! ([`complete`]) and replayed to every later request with the key for [`REPLAY_WINDOW`];
//! an answer not worth keeping (a 5xx: nothing was written, the client should retry) frees
//! the key ([`release`]).
//!
//! A key left in flight by a process that died is taken over after [`IN_FLIGHT_LEASE`], far
//! longer than the largest push takes. The stored answer and the request's own writes are
//! separate transactions: should the process die between them, the write stands and the
//! key is taken over after the lease, so a retry runs the request once more (a push of the
//! same records then stages nothing new).

use crate::schema::idempotency_keys::dsl as ik;
use crate::{on_backend, DbConnection, StoreError};
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

/// How long an answer is replayed.
pub const REPLAY_WINDOW: TimeDelta = TimeDelta::hours(24);
/// How long a key stays in flight before another request may take it over.
pub const IN_FLIGHT_LEASE: TimeDelta = TimeDelta::minutes(10);

/// Whose key, on which route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub token_id: String,
    /// `METHOD /route/{pattern}`.
    pub route: String,
    pub key: String,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: i32,
    pub content_type: String,
    pub body: String,
}

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: run it, then [`complete`] or [`release`].
    Claimed,
    /// The same request finished before: answer this, write nothing.
    Replay(Answer),
    /// The same request is running now.
    InFlight,
    /// The key was used for a different request.
    Reused,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = crate::schema::idempotency_keys)]
struct Row {
    request_hash: String,
    status: Option<i32>,
    content_type: Option<String>,
    body: Option<String>,
}

/// Claims `key` for a request whose fingerprint is `request_hash`, or says why not. Rows
/// past the replay window, and keys left in flight past the lease, are deleted first.
pub fn claim(
    conn: &mut DbConnection,
    key: &KeyRef,
    request_hash: &str,
    now: NaiveDateTime,
) -> Result<Claim, StoreError> {
    conn.write_transaction(|c| {
        diesel::delete(
            ik::idempotency_keys.filter(
                ik::created_at.lt(now - REPLAY_WINDOW).or(ik::status
                    .is_null()
                    .and(ik::created_at.lt(now - IN_FLIGHT_LEASE))),
            ),
        )
        .execute(c)?;
        let row = (
            ik::token_id.eq(&key.token_id),
            ik::route.eq(&key.route),
            ik::idempotency_key.eq(&key.key),
            ik::request_hash.eq(request_hash),
            ik::created_at.eq(now),
        );
        let inserted = on_backend!(c, c => diesel::insert_into(ik::idempotency_keys)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 1 {
            return Ok(Claim::Claimed);
        }
        let found: Row = ik::idempotency_keys
            .find((&key.token_id, &key.route, &key.key))
            .select(Row::as_select())
            .get_result(c)?;
        Ok(match found {
            Row {
                request_hash: h, ..
            } if h != request_hash => Claim::Reused,
            Row {
                status: Some(status),
                content_type,
                body,
                ..
            } => Claim::Replay(Answer {
                status,
                content_type: content_type.unwrap_or_default(),
                body: body.unwrap_or_default(),
            }),
            Row { status: None, .. } => Claim::InFlight,
        })
    })
}

/// Stores the answer of a claimed key.
pub fn complete(conn: &mut DbConnection, key: &KeyRef, answer: &Answer) -> Result<(), StoreError> {
    diesel::update(
        ik::idempotency_keys
            .find((&key.token_id, &key.route, &key.key))
            .filter(ik::status.is_null()),
    )
    .set((
        ik::status.eq(answer.status),
        ik::content_type.eq(&answer.content_type),
        ik::body.eq(&answer.body),
    ))
    .execute(conn)?;
    Ok(())
}

/// Frees a claimed key whose request left nothing worth replaying.
pub fn release(conn: &mut DbConnection, key: &KeyRef) -> Result<(), StoreError> {
    diesel::delete(
        ik::idempotency_keys
            .find((&key.token_id, &key.route, &key.key))
            .filter(ik::status.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;

    fn key(k: &str) -> KeyRef {
        KeyRef {
            token_id: "t1".into(),
            route: "POST /v1/{domain}/records/{system}".into(),
            key: k.into(),
        }
    }

    fn lifecycle(db: &TestDb) {
        let mut c = crate::open(db.url()).unwrap();
        let t0 = crate::now();
        let k = key("a");
        assert_eq!(claim(&mut c, &k, "h1", t0).unwrap(), Claim::Claimed);
        assert_eq!(claim(&mut c, &k, "h1", t0).unwrap(), Claim::InFlight);
        assert_eq!(claim(&mut c, &k, "h2", t0).unwrap(), Claim::Reused);
        let other_token = KeyRef {
            token_id: "t2".into(),
            ..k.clone()
        };
        assert_eq!(
            claim(&mut c, &other_token, "h2", t0).unwrap(),
            Claim::Claimed
        );
        let answer = Answer {
            status: 200,
            content_type: "application/json".into(),
            body: "{\"batch_id\":1}".into(),
        };
        complete(&mut c, &k, &answer).unwrap();
        let later = t0 + TimeDelta::hours(23);
        assert_eq!(
            claim(&mut c, &k, "h1", later).unwrap(),
            Claim::Replay(answer)
        );
        // Past the window the key is new again.
        let expired = t0 + REPLAY_WINDOW + TimeDelta::seconds(1);
        assert_eq!(claim(&mut c, &k, "h2", expired).unwrap(), Claim::Claimed);
        // A released key may be claimed again at once; one left in flight after the lease.
        release(&mut c, &k).unwrap();
        assert_eq!(claim(&mut c, &k, "h3", expired).unwrap(), Claim::Claimed);
        let stale = expired + IN_FLIGHT_LEASE + TimeDelta::seconds(1);
        assert_eq!(claim(&mut c, &k, "h4", stale).unwrap(), Claim::Claimed);
    }

    #[test]
    fn lifecycle_sqlite() {
        lifecycle(&TestDb::sqlite());
    }

    #[test]
    fn lifecycle_postgres() {
        if let Some(db) = TestDb::postgres() {
            lifecycle(&db);
        }
    }
}
