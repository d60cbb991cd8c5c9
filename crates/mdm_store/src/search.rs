//! Attribute search over golden records for the publish API: exact, case-insensitive
//! matches on canonical attribute values, paged by golden ID (keyset pagination, so a page
//! never skips or repeats a record while others are written).
//!
//! There is no attribute index yet: each query scans the domain's golden records with the
//! backend's JSON functions (`json_extract` on SQLite, `->>` on PostgreSQL). Fine for steward
//! and integration look-ups; a high-rate search would want an index table kept by reconcile.

use crate::golden::{by_ids, GoldenRecord};
use crate::{DbConnection, StoreError};
use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    golden_id: String,
}

/// Active golden records of `domain` whose attributes equal all of `filters`
/// (attribute name -> value, compared case-insensitively), ordered by golden ID, after
/// `after_id`. Attribute names must be plain identifiers (`[a-z0-9_]`).
pub fn search(
    conn: &mut DbConnection,
    domain: &str,
    filters: &[(String, String)],
    after_id: Option<&str>,
    limit: i64,
) -> Result<Vec<GoldenRecord>, StoreError> {
    for (name, _) in filters {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Corrupt(format!("attribute name `{name}`")));
        }
    }
    let pg = matches!(conn, DbConnection::Pg(_));
    let param = |i: usize| if pg { format!("${i}") } else { "?".to_string() };
    let mut sql = format!(
        "SELECT golden_id FROM golden_records WHERE domain = {} AND status = 'active'",
        param(1)
    );
    let mut n = 1;
    for (name, _) in filters {
        n += 1;
        let extract = if pg {
            format!("(attributes::json ->> '{name}')")
        } else {
            format!("json_extract(attributes, '$.{name}')")
        };
        sql.push_str(&format!(" AND lower({extract}) = lower({})", param(n)));
    }
    n += 1;
    sql.push_str(&format!(" AND golden_id > {}", param(n)));
    n += 1;
    sql.push_str(&format!(" ORDER BY golden_id LIMIT {}", param(n)));

    let after = after_id.unwrap_or("").to_string();
    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => {
            let mut q = diesel::sql_query(sql.clone())
                .into_boxed::<diesel::sqlite::Sqlite>()
                .bind::<Text, _>(domain.to_string());
            for (_, v) in filters {
                q = q.bind::<Text, _>(v.clone());
            }
            q.bind::<Text, _>(after).bind::<BigInt, _>(limit).load(c)?
        }
        DbConnection::Pg(c) => {
            let mut q = diesel::sql_query(sql.clone())
                .into_boxed::<diesel::pg::Pg>()
                .bind::<Text, _>(domain.to_string());
            for (_, v) in filters {
                q = q.bind::<Text, _>(v.clone());
            }
            q.bind::<Text, _>(after).bind::<BigInt, _>(limit).load(c)?
        }
    };
    let keys: Vec<&str> = ids.iter().map(|i| i.golden_id.as_str()).collect();
    let mut records = by_ids(conn, &keys)?;
    records.sort_by(|a, b| a.golden_id.cmp(&b.golden_id));
    Ok(records)
}

/// The golden record `id` as the API serves it, in one query for the common case (an active
/// or deleted record); a retired ID falls back to [`crate::golden::get`], which follows its
/// redirect.
pub fn golden(
    conn: &mut DbConnection,
    domain: &str,
    id: &str,
) -> Result<Option<crate::golden::Resolved>, StoreError> {
    use crate::schema::golden_records::dsl as gr;
    use diesel::prelude::*;
    let found = gr::golden_records
        .find(id)
        .filter(gr::domain.eq(domain))
        .select(GoldenRecord::as_select())
        .first(conn)
        .optional()?;
    match found {
        Some(record) if record.status != "retired" => Ok(Some(crate::golden::Resolved {
            record,
            redirected_from: None,
        })),
        _ => crate::golden::get(conn, domain, id),
    }
}
