//! Attribute search over golden records for the publish API: exact, case-insensitive
//! matches on canonical attribute values, paged by golden ID (keyset pagination, so a page
//! never skips or repeats a record while others are written).
//!
//! Values are read with the backend's JSON functions (`json_extract` on SQLite, `->>` on
//! PostgreSQL). [`ensure_indexes`] creates a partial expression index per domain and
//! attribute (the identifiers downstream systems look records up by: e-mail, phone, tax ID,
//! GTIN, ...); a query on such an attribute is an index lookup, on others a scan of the
//! domain's active records. The query repeats each index's expression and predicate to the
//! letter (with the domain inlined, checked to be a plain name) so both planners use it.

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
        check_name(name)?;
    }
    check_name(domain)?;
    let pg = matches!(conn, DbConnection::Pg(_));
    let param = |i: usize| if pg { format!("${i}") } else { "?".to_string() };
    let mut sql = format!(
        "SELECT golden_id FROM golden_records WHERE {}",
        predicate(domain)
    );
    let mut n = 0;
    for (name, _) in filters {
        n += 1;
        sql.push_str(&format!(
            " AND {} = lower({})",
            expression(pg, name),
            param(n)
        ));
    }
    n += 1;
    sql.push_str(&format!(" AND golden_id > {}", param(n)));
    n += 1;
    sql.push_str(&format!(" ORDER BY golden_id LIMIT {}", param(n)));

    let after = after_id.unwrap_or("").to_string();
    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => {
            let mut q = diesel::sql_query(sql.clone()).into_boxed::<diesel::sqlite::Sqlite>();
            for (_, v) in filters {
                q = q.bind::<Text, _>(v.clone());
            }
            q.bind::<Text, _>(after).bind::<BigInt, _>(limit).load(c)?
        }
        DbConnection::Pg(c) => {
            let mut q = diesel::sql_query(sql.clone()).into_boxed::<diesel::pg::Pg>();
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

/// `lower(<the attribute's value>)`, exactly as the index declares it.
fn expression(pg: bool, name: &str) -> String {
    if pg {
        format!("lower(attributes::json ->> '{name}')")
    } else {
        format!("lower(json_extract(attributes, '$.{name}'))")
    }
}

/// The rows an index covers, exactly as the index declares it.
fn predicate(domain: &str) -> String {
    format!("domain = '{domain}' AND status = 'active'")
}

/// Domain and attribute names go into SQL text: plain names only.
fn check_name(name: &str) -> Result<(), StoreError> {
    let plain = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if plain {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "`{name}` is not a plain name ([a-z0-9_-]) usable in a search"
        )))
    }
}

/// Creates (if missing) a search index on each of `attributes` of `domain`'s active golden
/// records. Cheap when they exist; the first time it reads the table once.
pub fn ensure_indexes(
    conn: &mut DbConnection,
    domain: &str,
    attributes: &[&str],
) -> Result<(), StoreError> {
    check_name(domain)?;
    let pg = matches!(conn, DbConnection::Pg(_));
    for attr in attributes {
        check_name(attr)?;
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS golden_search_{}_{attr} ON golden_records ({}, golden_id) WHERE {}",
            domain.replace('-', "_"),
            expression(pg, attr),
            predicate(domain)
        );
        crate::on_backend!(conn, c => diesel::sql_query(sql.clone()).execute(c))?;
    }
    Ok(())
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
        .get_result(conn)
        .optional()?;
    match found {
        Some(record) if record.status != "retired" => Ok(Some(crate::golden::Resolved {
            record,
            redirected_from: None,
        })),
        _ => crate::golden::get(conn, domain, id),
    }
}
