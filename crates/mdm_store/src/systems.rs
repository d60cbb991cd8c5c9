//! The registry of source systems (ERP, CRM, ...) and their trust ranks.
//!
//! Configuration declares systems; [`sync_declared`] mirrors those declarations here so
//! survivorship can read trust ranks from the same database as the records. A system nobody
//! declared is registered on its first load with [`LOWEST_TRUST`].

use crate::schema::source_systems::dsl as ss;
use crate::{now, on_backend, DbConnection, StoreError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Rank 1 is the most trusted; undeclared systems rank below every declared one.
pub const LOWEST_TRUST: i32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::source_systems)]
pub struct SourceSystem {
    pub name: String,
    pub trust_rank: i32,
    pub declared: bool,
    pub registered_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A system as configuration declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSystem {
    pub name: String,
    pub trust_rank: i32,
}

/// What [`ensure_registered`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Known,
    /// First sight of an undeclared system: registered with [`LOWEST_TRUST`].
    RegisteredUndeclared,
}

/// Makes the registry agree with configuration: declared systems get their trust rank;
/// systems no longer declared keep their history but drop to [`LOWEST_TRUST`].
pub fn sync_declared(
    conn: &mut DbConnection,
    declared: &[DeclaredSystem],
) -> Result<(), StoreError> {
    conn.write_transaction(|c| {
        let t = now();
        let names: Vec<&str> = declared.iter().map(|d| d.name.as_str()).collect();
        diesel::update(
            ss::source_systems
                .filter(ss::declared.eq(true))
                .filter(ss::name.ne_all(&names)),
        )
        .set((
            ss::declared.eq(false),
            ss::trust_rank.eq(LOWEST_TRUST),
            ss::updated_at.eq(t),
        ))
        .execute(c)?;
        for d in declared {
            let changed = diesel::update(ss::source_systems.find(&d.name))
                .set((
                    ss::trust_rank.eq(d.trust_rank),
                    ss::declared.eq(true),
                    ss::updated_at.eq(t),
                ))
                .execute(c)?;
            if changed == 0 {
                insert(c, &d.name, d.trust_rank, true)?;
            }
        }
        Ok(())
    })
}

/// Registers `name` unless present.
pub fn ensure_registered(conn: &mut DbConnection, name: &str) -> Result<Registration, StoreError> {
    let exists = ss::source_systems
        .find(name)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if exists {
        return Ok(Registration::Known);
    }
    // Two first loads of a new system may race here: the second insert does nothing.
    if insert(conn, name, LOWEST_TRUST, false)? == 0 {
        return Ok(Registration::Known);
    }
    Ok(Registration::RegisteredUndeclared)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<SourceSystem>, StoreError> {
    Ok(ss::source_systems
        .order(ss::name)
        .select(SourceSystem::as_select())
        .load(conn)?)
}

fn insert(
    conn: &mut DbConnection,
    name: &str,
    rank: i32,
    declared: bool,
) -> Result<usize, StoreError> {
    let t = now();
    let row = (
        ss::name.eq(name),
        ss::trust_rank.eq(rank),
        ss::declared.eq(declared),
        ss::registered_at.eq(t),
        ss::updated_at.eq(t),
    );
    Ok(
        on_backend!(conn, c => diesel::insert_into(ss::source_systems)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?,
    )
}
