//! Attribute search over golden records for the publish API: exact, case-insensitive
//! matches on canonical attribute values, paged by golden ID (keyset pagination, so a page
//! never skips or repeats a record while others are written).
//!
//! The identifiers downstream systems look records up by (e-mail, phone, tax ID, GTIN, ...)
//! are registered per domain ([`ensure_search`]) and kept in `search_values` (domain,
//! attribute, lowercase value, golden ID) for active records. Database triggers keep that
//! table in step with every writer of golden records, and write an entry only when its value
//! changes: an expression index on the attributes JSON was rewritten with every record,
//! which made it the largest cost of an incremental reconcile. A query on a registered
//! attribute is a lookup in that table; on others a scan of the domain's active records
//! with the backend's JSON functions (`json_extract` on SQLite, `->>` on PostgreSQL).

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
    let registered = attributes(conn, domain)?;
    let (looked_up, scanned): (Vec<_>, Vec<_>) = filters
        .iter()
        .partition(|(name, _)| registered.contains(name));
    let mut binds: Vec<&str> = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        if pg {
            format!("${n}")
        } else {
            "?".to_string()
        }
    };
    // Driven by the first registered attribute's entries (already in golden-ID order), or
    // else by the domain's active records.
    let mut sql = match looked_up.first() {
        Some((name, value)) => {
            binds.push(value);
            format!(
                "SELECT s.golden_id FROM search_values s \
                 JOIN golden_records g ON g.golden_id = s.golden_id \
                 WHERE s.domain = '{domain}' AND s.attribute = '{name}' AND s.value = lower({}) \
                 AND g.status = 'active'",
                next()
            )
        }
        None => format!(
            "SELECT g.golden_id AS golden_id FROM golden_records g \
             WHERE g.domain = '{domain}' AND g.status = 'active'"
        ),
    };
    let key = if looked_up.is_empty() {
        "g.golden_id"
    } else {
        "s.golden_id"
    };
    for (name, value) in looked_up.iter().skip(1) {
        binds.push(value);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM search_values t WHERE t.domain = '{domain}' \
             AND t.attribute = '{name}' AND t.value = lower({}) AND t.golden_id = {key})",
            next()
        ));
    }
    for (name, value) in &scanned {
        binds.push(value);
        sql.push_str(&format!(
            " AND {} = lower({})",
            expression(pg, name),
            next()
        ));
    }
    let after = after_id.unwrap_or("");
    binds.push(after);
    sql.push_str(&format!(" AND {key} > {}", next()));
    sql.push_str(&format!(" ORDER BY {key} LIMIT {}", next()));

    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => {
            let mut q = diesel::sql_query(sql.clone()).into_boxed::<diesel::sqlite::Sqlite>();
            for v in &binds {
                q = q.bind::<Text, _>(v.to_string());
            }
            q.bind::<BigInt, _>(limit).load(c)?
        }
        DbConnection::Pg(c) => {
            let mut q = diesel::sql_query(sql.clone()).into_boxed::<diesel::pg::Pg>();
            for v in &binds {
                q = q.bind::<Text, _>(v.to_string());
            }
            q.bind::<BigInt, _>(limit).load(c)?
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

/// Attributes of `domain` registered for search.
pub fn attributes(conn: &mut DbConnection, domain: &str) -> Result<Vec<String>, StoreError> {
    use crate::schema::search_attributes::dsl as sa;
    use diesel::prelude::*;
    Ok(sa::search_attributes
        .filter(sa::domain.eq(domain))
        .select(sa::attribute)
        .load(conn)?)
}

/// Registers `attributes` of `domain` for search, filling their entries from the active
/// golden records the first time (one sorted insert, much cheaper than entry by entry), and
/// drops the expression indexes earlier versions kept instead. Cheap when all are known.
pub fn ensure_search(
    conn: &mut DbConnection,
    domain: &str,
    attributes: &[&str],
) -> Result<(), StoreError> {
    use crate::schema::search_attributes::dsl as sa;
    use diesel::prelude::*;
    check_name(domain)?;
    let known = self::attributes(conn, domain)?;
    let pg = matches!(conn, DbConnection::Pg(_));
    for attr in attributes {
        check_name(attr)?;
        if known.iter().any(|k| k == attr) {
            continue;
        }
        diesel::insert_into(sa::search_attributes)
            .values((sa::domain.eq(domain), sa::attribute.eq(*attr)))
            .execute(conn)?;
        let expr = expression(pg, attr);
        let fill = format!(
            "INSERT INTO search_values (domain, attribute, value, golden_id) \
             SELECT domain, '{attr}', {expr}, golden_id FROM golden_records \
             WHERE domain = '{domain}' AND status = 'active' AND {expr} IS NOT NULL \
             ORDER BY 3, 4 ON CONFLICT DO NOTHING"
        );
        let old_index = format!(
            "DROP INDEX IF EXISTS golden_search_{}_{attr}",
            domain.replace('-', "_")
        );
        crate::on_backend!(conn, c => diesel::sql_query(fill.clone()).execute(c))?;
        crate::on_backend!(conn, c => diesel::sql_query(old_index.clone()).execute(c))?;
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

#[cfg(test)]
mod tests {
    use super::{ensure_search, search};
    use crate::golden::{put_records, update_records, GoldenRecord};
    use crate::testing::TestDb;

    fn record(id: &str, email: &str, status: &str) -> GoldenRecord {
        let t = crate::now();
        GoldenRecord {
            golden_id: id.into(),
            domain: "customer".into(),
            version: 1,
            status: status.into(),
            attributes: serde_json::json!({ "email": email, "city": "Berlin" }).to_string(),
            lineage: "{}".into(),
            members: 1,
            run_id: 1,
            created_run_id: 1,
            created_at: t,
            updated_at: t,
        }
    }

    fn found(conn: &mut crate::DbConnection, attr: &str, value: &str) -> Vec<String> {
        let filters = [(attr.to_string(), value.to_string())];
        search(conn, "customer", &filters, None, 10)
            .unwrap()
            .into_iter()
            .map(|g| g.golden_id)
            .collect()
    }

    #[test]
    fn search_entries_follow_every_write_of_a_golden_record() {
        let mut dbs = vec![TestDb::sqlite()];
        dbs.extend(TestDb::postgres());
        for db in dbs {
            let conn = &mut crate::open(db.url()).unwrap();
            put_records(conn, &[record("g1", "a@x.org", "active")]).unwrap();
            // Registered after the records exist: filled from them.
            ensure_search(conn, "customer", &["email"]).unwrap();
            assert_eq!(found(conn, "email", "A@X.org"), ["g1"]);
            // Written after registration: kept by the triggers.
            put_records(conn, &[record("g2", "b@x.org", "active")]).unwrap();
            assert_eq!(found(conn, "email", "b@x.org"), ["g2"]);
            // An in-place update moves the entry; a rewrite (delete and insert) keeps one.
            update_records(conn, &[record("g1", "c@x.org", "active")]).unwrap();
            assert!(found(conn, "email", "a@x.org").is_empty());
            assert_eq!(found(conn, "email", "c@x.org"), ["g1"]);
            put_records(conn, &[record("g1", "c@x.org", "active")]).unwrap();
            assert_eq!(found(conn, "email", "c@x.org"), ["g1"]);
            // Retired records are not found; unregistered attributes are scanned.
            update_records(conn, &[record("g2", "b@x.org", "retired")]).unwrap();
            assert!(found(conn, "email", "b@x.org").is_empty());
            assert_eq!(found(conn, "city", "berlin"), ["g1"]);
            // Several filters: looked up and scanned together.
            let both = [
                ("email".to_string(), "c@x.org".to_string()),
                ("city".to_string(), "BERLIN".to_string()),
            ];
            let ids: Vec<_> = search(conn, "customer", &both, None, 10)
                .unwrap()
                .into_iter()
                .map(|g| g.golden_id)
                .collect();
            assert_eq!(ids, ["g1"]);
            assert!(search(conn, "customer", &both, Some("g1"), 10)
                .unwrap()
                .is_empty());
        }
    }
}
