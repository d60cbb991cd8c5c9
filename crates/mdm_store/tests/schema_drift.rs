//! `schema.rs` is written by hand in `diesel print-schema` form; this test keeps it honest.
//! It migrates a fresh database of each backend and compares every table and column (and
//! whether it may be NULL) with what `schema.rs` declares, both ways.

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use mdm_store::testing::TestDb;
use mdm_store::{on_backend, DbConnection};
use std::collections::BTreeMap;

/// table -> column -> nullable
type Shape = BTreeMap<String, BTreeMap<String, bool>>;

fn declared_shape() -> Shape {
    let text = include_str!("../src/schema.rs");
    let mut shape = Shape::new();
    let mut table: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(t) = &table {
            if line == "}" {
                table = None;
            } else if let Some((col, ty)) = line.split_once("->") {
                let nullable = ty.trim().starts_with("Nullable<");
                shape
                    .get_mut(t)
                    .unwrap()
                    .insert(col.trim().to_string(), nullable);
            }
        } else if line.ends_with('{') && line.contains('(') && !line.starts_with("diesel::") {
            let name = line.split_whitespace().next().unwrap().to_string();
            shape.insert(name.clone(), BTreeMap::new());
            table = Some(name);
        }
    }
    assert!(
        shape.len() >= 5,
        "parsed too few tables from schema.rs: {shape:?}"
    );
    shape
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

fn migrated_shape(conn: &mut DbConnection) -> Shape {
    let mut shape = Shape::new();
    match conn {
        DbConnection::Sqlite(c) => {
            let tables: Vec<Name> = diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap();
            for t in tables {
                let cols: Vec<SqliteColumn> =
                    diesel::sql_query(format!("PRAGMA table_info({})", t.name))
                        .load(c)
                        .unwrap();
                let cols = cols
                    .into_iter()
                    .map(|col| (col.name, col.notnull == 0))
                    .collect();
                shape.insert(t.name, cols);
            }
        }
        DbConnection::Pg(c) => {
            let cols: Vec<PgColumn> = diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 is_nullable::text AS is_nullable FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            )
            .load(c)
            .unwrap();
            for col in cols {
                shape
                    .entry(col.table_name)
                    .or_default()
                    .insert(col.column_name, col.is_nullable == "YES");
            }
        }
    }
    shape
}

fn check(db: &TestDb) {
    let mut conn = mdm_store::open(db.url()).expect("open and migrate");
    let migrated = migrated_shape(&mut conn);
    let declared = declared_shape();
    for (table, cols) in &declared {
        let Some(found) = migrated.get(table) else {
            panic!(
                "{}: table `{table}` is in schema.rs but no migration creates it",
                db.url()
            );
        };
        assert_eq!(
            found,
            cols,
            "{}: columns of `{table}` differ (left: migrations, right: schema.rs)",
            db.url()
        );
    }
    for table in migrated.keys() {
        assert!(
            declared.contains_key(table),
            "{}: table `{table}` is migrated but missing from schema.rs",
            db.url()
        );
    }
    // Applying again is a no-op.
    assert!(mdm_store::migrate::run_pending(&mut conn)
        .unwrap()
        .is_empty());
    let _ = on_backend!(&mut conn, c => diesel::sql_query("SELECT 1").execute(c)).unwrap();
}

#[test]
fn schema_rs_matches_sqlite_migrations() {
    check(&TestDb::sqlite());
}

#[test]
fn schema_rs_matches_postgres_migrations() {
    if let Some(db) = TestDb::postgres() {
        check(&db);
    }
}
