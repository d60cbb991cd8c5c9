//! Search by attribute over golden records made by real reconcile runs: identifiers are
//! looked up in the search table (a primary-key range in both planners' plans), a value is
//! found in any format its standardizer understands, and the table follows every run.

use crate::helpers::{backends, Case};
use crate::server::Server;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

backends!(
    search_finds_canonical_values_through_the_index,
    search_follows_changed_values,
    search_reads_a_national_phone_in_the_asked_country
);

#[derive(QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

fn search_finds_canonical_values_through_the_index(case: &Case) {
    case.generated_customers(200, &["ERP", "CRM"], 5, 1.0);
    case.reconcile_customers();
    let mut conn = case.conn();
    let goldens = mdm_store::golden::load_active(&mut conn, "customer").unwrap();
    let (id, email) = goldens
        .iter()
        .find_map(|g| {
            let a: serde_json::Value = serde_json::from_str(&g.attributes).unwrap();
            Some((g.golden_id.clone(), a["email"].as_str()?.to_string()))
        })
        .expect("a golden record with an e-mail");

    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let asked = format!("  {}  ", email.to_uppercase());
    let page = s
        .client()
        .get(s.url("/v1/customer/golden"))
        .query(&[("email", asked.as_str())])
        .bearer_auth(&tok)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let page: serde_json::Value = page.json().unwrap();
    let ids: Vec<&str> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["golden_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()), "{page}");

    // E-mails are kept in the search table (a primary-key range per lookup, in both
    // planners' plans), and the expression indexes of earlier versions are gone.
    let text: Vec<String> = match &mut conn {
        mdm_store::DbConnection::Sqlite(c) => diesel::sql_query(
            "EXPLAIN QUERY PLAN SELECT golden_id FROM golden_search WHERE domain = 'customer' \
             AND attribute = 'email' AND value = 'x' ORDER BY golden_id LIMIT 5",
        )
        .load::<SqlitePlan>(c)
        .unwrap()
        .into_iter()
        .map(|r| r.detail)
        .collect(),
        mdm_store::DbConnection::Pg(c) => {
            diesel::sql_query("SET enable_seqscan = off")
                .execute(c)
                .unwrap();
            diesel::sql_query(
                "EXPLAIN SELECT golden_id FROM golden_search WHERE domain = 'customer' \
                 AND attribute = 'email' AND value = 'x' ORDER BY golden_id LIMIT 5",
            )
            .load::<PgPlan>(c)
            .unwrap()
            .into_iter()
            .map(|r| r.line)
            .collect()
        }
    };
    assert!(
        text.iter()
            .any(|l| l.contains("PRIMARY KEY") || l.contains("golden_search_pkey")),
        "{text:?}"
    );
    let with_email = goldens
        .iter()
        .filter(|g| {
            let a: serde_json::Value = serde_json::from_str(&g.attributes).unwrap();
            a["email"].is_string()
        })
        .count() as i64;
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM golden_search WHERE attribute = 'email'"
        ),
        with_email
    );
    let legacy = match &conn {
        mdm_store::DbConnection::Sqlite(_) => {
            "SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'golden_search_customer_%'"
        }
        mdm_store::DbConnection::Pg(_) => {
            "SELECT count(*) AS n FROM pg_indexes WHERE indexname LIKE 'golden_search_customer_%'"
        }
    };
    assert_eq!(count(&mut conn, legacy), 0);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut mdm_store::DbConnection, sql: &str) -> i64 {
    let rows: Vec<Count> = match conn {
        mdm_store::DbConnection::Sqlite(c) => diesel::sql_query(sql).load(c).unwrap(),
        mdm_store::DbConnection::Pg(c) => diesel::sql_query(sql).load(c).unwrap(),
    };
    rows[0].n
}

/// Golden IDs the API finds for `email`.
fn found(s: &Server, tok: &str, email: &str) -> Vec<String> {
    found_by(s, tok, &[("email", email)])
}

/// Golden IDs the API finds for these attribute filters.
fn found_by(s: &Server, tok: &str, q: &[(&str, &str)]) -> Vec<String> {
    let page = s
        .client()
        .get(s.url("/v1/customer/golden"))
        .query(q)
        .bearer_auth(tok)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let page: serde_json::Value = page.json().unwrap();
    page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["golden_id"].as_str().unwrap().to_string())
        .collect()
}

/// Search values follow the golden records run by run: a changed e-mail is found under its
/// new value only, and the table holds exactly one e-mail per active record.
fn search_follows_changed_values(case: &Case) {
    let erp = case.write(
        "erp.csv",
        "source_id,given_name,family_name,email,phone,city\n\
         E1,Anna,Berg,anna@berg.de,+49 171 5550001,Ulm\n\
         E2,Jonas,Weber,jonas@weber.de,+49 171 5550002,Köln\n",
    );
    let crm = case.write(
        "crm.csv",
        "source_id,given_name,family_name,email,phone,city\n\
         C1,Jonas,Weber,JONAS.WEBER@Mail.de,+49 171 5550002,Köln\n",
    );
    case.ingest_customers("ERP", &erp);
    case.reconcile_customers();
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let anna = found(&s, &tok, "anna@berg.de");
    assert_eq!(anna.len(), 1);
    let jonas = found(&s, &tok, "jonas@weber.de");
    assert_eq!(jonas.len(), 1);

    // Anna's e-mail changes; Jonas appears in CRM with another e-mail and the same phone.
    let erp = case.write(
        "erp.csv",
        "source_id,given_name,family_name,email,phone,city\n\
         E1,Anna,Berg,anna.berg@post.de,+49 171 5550001,Ulm\n\
         E2,Jonas,Weber,jonas@weber.de,+49 171 5550002,Köln\n",
    );
    case.ingest_customers("ERP", &erp);
    case.ingest_customers("CRM", &crm);
    case.reconcile_customers();
    assert!(found(&s, &tok, "anna@berg.de").is_empty());
    assert_eq!(found(&s, &tok, "Anna.Berg@post.de"), anna);
    // Jonas: one e-mail per golden record is found (one record if CRM's joined ERP's).
    let mut conn = case.conn();
    let active = mdm_store::golden::load_active(&mut conn, "customer").unwrap();
    let by_erp = found(&s, &tok, "jonas@weber.de");
    let by_crm = found(&s, &tok, "jonas.weber@mail.de");
    assert_eq!(
        by_erp.len() + by_crm.len(),
        active.len() - 1,
        "{by_erp:?} {by_crm:?}"
    );
    let stored = count(
        &mut conn,
        "SELECT count(*) AS n FROM golden_search WHERE attribute = 'email'",
    );
    assert_eq!(stored, active.len() as i64);
}

/// A phone written without its country code is found when the query names the country,
/// as a record's own country decides how its national numbers are read.
fn search_reads_a_national_phone_in_the_asked_country(case: &Case) {
    case.generated_customers(200, &["ERP", "CRM"], 5, 1.0);
    case.reconcile_customers();
    let mut conn = case.conn();
    let goldens = mdm_store::golden::load_active(&mut conn, "customer").unwrap();
    let (id, country, national) = goldens
        .iter()
        .find_map(|g| {
            let a: serde_json::Value = serde_json::from_str(&g.attributes).unwrap();
            let (phone, country) = (a["phone"].as_str()?, a["country"].as_str()?);
            let (code, trunk) = mdm_core::standardize::country_calling_code(country)?;
            let rest = phone.strip_prefix(&format!("+{code}"))?;
            (country != "DE").then(|| {
                (
                    g.golden_id.clone(),
                    country.to_string(),
                    format!("{trunk}{rest}"),
                )
            })
        })
        .expect("a golden record outside Germany with a phone");
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    assert!(
        found_by(&s, &tok, &[("phone", &national), ("country", &country)]).contains(&id),
        "{national} in {country}"
    );
    // Without the country the number is read as the configured default's (DE): not this one.
    assert!(!found_by(&s, &tok, &[("phone", &national)]).contains(&id));
}
