//! Attribute search over golden records for the publish API: exact, case-insensitive
//! matches on canonical attribute values, paged by golden ID (keyset pagination, so a page
//! never skips or repeats a record while others are written).
//!
//! The identifiers downstream systems look records up by (e-mail, phone, tax ID, GTIN, ...)
//! have their values in `golden_search` (domain, attribute, folded value, golden ID), one row
//! per value of an active record: [`ensure`] registers a domain's attributes and fills the
//! table once; from then on every write of golden records ([`crate::golden::put_records`],
//! [`crate::golden::update_records`]) changes only the rows of values that change. (An
//! expression index per attribute on `golden_records` did the same lookups, but both
//! backends rewrite every such index entry of a record on any update of its attributes.)
//! A query on a registered attribute is a primary-key range of that table; on another one
//! a scan of the domain's active records with the backend's JSON functions.

use crate::golden::{by_ids, GoldenRecord};
use crate::schema::golden_records::dsl as gr;
use crate::schema::golden_search::dsl as gs;
use crate::schema::golden_search_attributes::dsl as ga;
use crate::{on_backend, DbConnection, StoreError};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::QueryableByName;
use std::collections::BTreeSet;

/// Rows per multi-row statement (4 binds per row).
const ROWS_PER_WRITE: usize = 2000;
/// Golden records read per page while filling the table.
const RECORDS_PER_READ: i64 = 10_000;
/// Longer values are not kept (PostgreSQL limits a B-tree entry to about 2.7 kB; no
/// identifier comes near).
const MAX_VALUE_CHARS: usize = 512;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    golden_id: String,
}

/// An attribute's value, folded, of an active golden record: (attribute, value, golden ID).
type Entry = (String, String, String);

/// The form values are kept and looked up in: case folded.
pub fn fold(value: &str) -> String {
    value.to_lowercase()
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
    let pg = matches!(conn, DbConnection::Pg(_));
    let registered = registered(conn, domain)?;
    let (lookups, scans): (Vec<_>, Vec<_>) =
        filters.iter().partition(|(n, _)| registered.contains(n));
    let mut binds: Vec<String> = Vec::new();
    let mut param = |v: String| {
        binds.push(v);
        if pg {
            format!("${}", binds.len())
        } else {
            "?".to_string()
        }
    };
    // Driven by the first registered attribute's rows when there is one: they come in
    // golden-ID order, so a page is a range of the primary key.
    let (mut sql, id) = match lookups.split_first() {
        Some(((name, value), rest)) => {
            let mut sql = format!(
                "SELECT s.golden_id FROM golden_search s \
                 JOIN golden_records g ON g.golden_id = s.golden_id \
                 WHERE s.domain = {} AND s.attribute = {} AND s.value = {} AND g.status = 'active'",
                param(domain.to_string()),
                param(name.clone()),
                param(fold(value))
            );
            for (name, value) in rest {
                sql.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM golden_search t WHERE t.domain = s.domain \
                     AND t.attribute = {} AND t.value = {} AND t.golden_id = s.golden_id)",
                    param(name.clone()),
                    param(fold(value))
                ));
            }
            (sql, "s.golden_id")
        }
        None => (
            format!(
                "SELECT g.golden_id FROM golden_records g WHERE g.domain = {} AND g.status = 'active'",
                param(domain.to_string())
            ),
            "g.golden_id",
        ),
    };
    for (name, value) in scans {
        sql.push_str(&format!(
            " AND {} = lower({})",
            expression(pg, name),
            param(value.clone())
        ));
    }
    sql.push_str(&format!(
        " AND {id} > {} ORDER BY {id} LIMIT {}",
        param(after_id.unwrap_or("").to_string()),
        limit.max(0)
    ));
    let ids: Vec<Id> = match conn {
        DbConnection::Sqlite(c) => {
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for b in binds {
                q = q.bind::<Text, _>(b);
            }
            q.load(c)?
        }
        DbConnection::Pg(c) => {
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
            for b in binds {
                q = q.bind::<Text, _>(b);
            }
            q.load(c)?
        }
    };
    let keys: Vec<&str> = ids.iter().map(|i| i.golden_id.as_str()).collect();
    let mut records = by_ids(conn, &keys)?;
    records.sort_by(|a, b| a.golden_id.cmp(&b.golden_id));
    Ok(records)
}

/// `lower(<the attribute's value>)` of golden record `g`, for attributes not registered.
fn expression(pg: bool, name: &str) -> String {
    if pg {
        format!("lower(g.attributes::json ->> '{name}')")
    } else {
        format!("lower(json_extract(g.attributes, '$.{name}'))")
    }
}

/// Attribute names go into SQL text: plain names only.
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

/// The attributes of `domain` whose values are in `golden_search`.
pub fn registered(conn: &mut DbConnection, domain: &str) -> Result<Vec<String>, StoreError> {
    Ok(ga::golden_search_attributes
        .filter(ga::domain.eq(domain))
        .select(ga::attribute)
        .order(ga::attribute)
        .load(conn)?)
}

/// Makes `attributes` the searchable ones of `domain`: registers the new ones and fills in
/// their values from the active golden records (once; writes keep them current after),
/// forgets the ones no longer asked for, and, when it registers any, drops the expression
/// indexes earlier versions searched with. Cheap when nothing changes.
pub fn ensure(
    conn: &mut DbConnection,
    domain: &str,
    attributes: &[&str],
) -> Result<(), StoreError> {
    for attr in attributes {
        check_name(attr)?;
    }
    let have = registered(conn, domain)?;
    for gone in have.iter().filter(|a| !attributes.contains(&a.as_str())) {
        diesel::delete(
            gs::golden_search
                .filter(gs::domain.eq(domain))
                .filter(gs::attribute.eq(gone)),
        )
        .execute(conn)?;
        diesel::delete(
            ga::golden_search_attributes
                .filter(ga::domain.eq(domain))
                .filter(ga::attribute.eq(gone)),
        )
        .execute(conn)?;
    }
    let new: Vec<String> = attributes
        .iter()
        .filter(|a| !have.iter().any(|h| h == *a))
        .map(|a| a.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    // Only a database from before the search table has them, and there nothing is
    // registered yet: no catalog query on the runs after.
    drop_legacy_indexes(conn)?;
    let rows: Vec<_> = new
        .iter()
        .map(|a| (ga::domain.eq(domain), ga::attribute.eq(a)))
        .collect();
    on_backend!(conn, c => diesel::insert_into(ga::golden_search_attributes)
        .values(&rows)
        .on_conflict_do_nothing()
        .execute(c))?;
    for attr in &new {
        backfill(conn, domain, attr)?;
    }
    Ok(())
}

/// Writes attribute `attr`'s entries of every active record of `domain`: the records read a
/// page at a time, the entries written in key order. One attribute at a time, each entry
/// held as its value and a UUID: at 10M records, a few hundred MB rather than gigabytes.
fn backfill(conn: &mut DbConnection, domain: &str, attr: &String) -> Result<(), StoreError> {
    let mut entries: Vec<(Box<str>, uuid::Uuid)> = Vec::new();
    let mut after = String::new();
    loop {
        // Paged along the primary key alone (a filter on domain and status would have the
        // planner sort all of the domain's records for every page).
        let page: Vec<(String, String, String, String)> = gr::golden_records
            .filter(gr::golden_id.gt(&after))
            .order(gr::golden_id)
            .select((gr::golden_id, gr::domain, gr::status, gr::attributes))
            .limit(RECORDS_PER_READ)
            .load(conn)?;
        let Some((last, ..)) = page.last() else { break };
        after = last.clone();
        for (id, _, _, attrs) in page.iter().filter(|r| r.1 == domain && r.2 == "active") {
            for (_, value, id) in entries_of(id, attrs, std::slice::from_ref(attr)) {
                let uuid = match uuid::Uuid::parse_str(&id) {
                    Ok(u) if u.to_string() == id => u,
                    _ => return Err(StoreError::Corrupt(format!("golden ID {id:?}"))),
                };
                entries.push((value.into_boxed_str(), uuid));
            }
        }
    }
    entries.sort_unstable();
    entries.dedup();
    for part in entries.chunks(ROWS_PER_WRITE * 10) {
        let rows: Vec<Entry> = part
            .iter()
            .map(|(value, id)| (attr.clone(), value.to_string(), id.to_string()))
            .collect();
        insert(conn, domain, &rows)?;
    }
    Ok(())
}

/// Drops the per-attribute expression indexes (`golden_search_<domain>_<attribute>` on
/// `golden_records`) that earlier versions searched with.
fn drop_legacy_indexes(conn: &mut DbConnection) -> Result<(), StoreError> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let names: Vec<Name> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = 'golden_records' AND name LIKE 'golden\\_search\\_%' ESCAPE '\\'",
        )
        .load(c)?,
        DbConnection::Pg(c) => diesel::sql_query(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = 'golden_records' AND indexname LIKE 'golden\\_search\\_%'",
        )
        .load(c)?,
    };
    for n in names {
        // Names come from the catalog and were made of plain names: quoting suffices.
        let sql = format!("DROP INDEX IF EXISTS \"{}\"", n.name.replace('"', ""));
        on_backend!(conn, c => diesel::sql_query(sql.clone()).execute(c))?;
    }
    Ok(())
}

/// The search entries of a golden record's attributes (a JSON object) for `attrs`.
fn entries_of<'a>(
    golden_id: &'a str,
    attributes: &str,
    attrs: &'a [String],
) -> impl Iterator<Item = Entry> + 'a {
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(attributes).unwrap_or_default();
    attrs.iter().filter_map(move |a| {
        let value = match parsed.get(a)? {
            serde_json::Value::String(s) => fold(s),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        (!value.is_empty() && value.chars().count() <= MAX_VALUE_CHARS)
            .then(|| (a.clone(), value, golden_id.to_string()))
    })
}

/// Brings the search entries of `rows`, golden records about to be written, in line with
/// them: the values of their stored versions that go are deleted, new ones inserted, and
/// values that stay are not touched. Only active records have entries.
pub(crate) fn sync(conn: &mut DbConnection, rows: &[GoldenRecord]) -> Result<(), StoreError> {
    let domains: BTreeSet<&str> = rows.iter().map(|r| r.domain.as_str()).collect();
    for domain in domains {
        let attrs = registered(conn, domain)?;
        if attrs.is_empty() {
            continue;
        }
        let mine: Vec<&GoldenRecord> = rows.iter().filter(|r| r.domain == domain).collect();
        let ids: Vec<&str> = mine.iter().map(|r| r.golden_id.as_str()).collect();
        let mut before = BTreeSet::new();
        for part in ids.chunks(ROWS_PER_WRITE) {
            let stored: Vec<(String, String)> = gr::golden_records
                .filter(gr::golden_id.eq_any(part))
                .filter(gr::status.eq("active"))
                .select((gr::golden_id, gr::attributes))
                .load(conn)?;
            for (id, a) in &stored {
                before.extend(entries_of(id, a, &attrs));
            }
        }
        let after: BTreeSet<Entry> = mine
            .iter()
            .filter(|r| r.status == "active")
            .flat_map(|r| entries_of(&r.golden_id, &r.attributes, &attrs))
            .collect();
        let gone: Vec<&Entry> = before.difference(&after).collect();
        delete(conn, domain, &gone)?;
        let new: Vec<Entry> = after.difference(&before).cloned().collect();
        insert(conn, domain, &new)?;
    }
    Ok(())
}

fn insert(conn: &mut DbConnection, domain: &str, entries: &[Entry]) -> Result<(), StoreError> {
    match conn {
        DbConnection::Sqlite(c) => {
            for part in entries.chunks(ROWS_PER_WRITE) {
                let rows: Vec<_> = part
                    .iter()
                    .map(|(a, v, id)| {
                        (
                            gs::domain.eq(domain),
                            gs::attribute.eq(a),
                            gs::value.eq(v),
                            gs::golden_id.eq(id),
                        )
                    })
                    .collect();
                diesel::insert_into(gs::golden_search)
                    .values(&rows)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
        // One array per column rather than four binds per row.
        DbConnection::Pg(c) => {
            use diesel::sql_types::Array;
            for part in entries.chunks(crate::values::PG_ROWS_PER_UNNEST) {
                diesel::sql_query(
                    "INSERT INTO golden_search (domain, attribute, value, golden_id) \
                     SELECT $1, v.attribute, v.value, v.golden_id \
                     FROM unnest($2::text[], $3::text[], $4::text[]) AS v(attribute, value, golden_id) \
                     ON CONFLICT DO NOTHING",
                )
                .bind::<Text, _>(domain)
                .bind::<Array<Text>, _>(crate::values::column(part, |e| e.0.as_str()))
                .bind::<Array<Text>, _>(crate::values::column(part, |e| e.1.as_str()))
                .bind::<Array<Text>, _>(crate::values::column(part, |e| e.2.as_str()))
                .execute(c)?;
            }
        }
    }
    Ok(())
}

fn delete(conn: &mut DbConnection, domain: &str, entries: &[&Entry]) -> Result<(), StoreError> {
    match conn {
        // In-process: one cached statement per entry is as cheap as any batch.
        DbConnection::Sqlite(_) => {
            for (a, v, id) in entries {
                diesel::delete(
                    gs::golden_search
                        .filter(gs::domain.eq(domain))
                        .filter(gs::attribute.eq(a))
                        .filter(gs::value.eq(v))
                        .filter(gs::golden_id.eq(id)),
                )
                .execute(conn)?;
            }
        }
        // A round trip per entry would dominate: one array per column instead.
        DbConnection::Pg(c) => {
            use diesel::sql_types::Array;
            for part in entries.chunks(crate::values::PG_ROWS_PER_UNNEST) {
                diesel::sql_query(
                    "DELETE FROM golden_search g \
                     USING unnest($2::text[], $3::text[], $4::text[]) AS v(attribute, value, golden_id) \
                     WHERE g.domain = $1 AND g.attribute = v.attribute AND g.value = v.value \
                     AND g.golden_id = v.golden_id",
                )
                .bind::<Text, _>(domain)
                .bind::<Array<Text>, _>(crate::values::column(part, |e| e.0.as_str()))
                .bind::<Array<Text>, _>(crate::values::column(part, |e| e.1.as_str()))
                .bind::<Array<Text>, _>(crate::values::column(part, |e| e.2.as_str()))
                .execute(c)?;
            }
        }
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
