//! Search by attribute over golden records made by a real reconcile run: identifiers are
//! looked up through the per-attribute search index (checked in both planners' plans), and
//! a value is found in any format its standardizer understands.

use crate::helpers::{backends, Case};
use crate::server::Server;
use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};

backends!(search_finds_canonical_values_through_the_index);

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

    // The planner uses the e-mail index for such a query.
    let text: Vec<String> = match &mut conn {
        mdm_store::DbConnection::Sqlite(c) => diesel::sql_query(
            "EXPLAIN QUERY PLAN SELECT golden_id FROM golden_records WHERE domain = 'customer' \
             AND status = 'active' AND lower(json_extract(attributes, '$.email')) = lower('x') \
             ORDER BY golden_id LIMIT 5",
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
                "EXPLAIN SELECT golden_id FROM golden_records WHERE domain = 'customer' \
                 AND status = 'active' AND lower(attributes::json ->> 'email') = lower('x') \
                 ORDER BY golden_id LIMIT 5",
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
            .any(|l| l.contains("golden_search_customer_email")),
        "{text:?}"
    );
}
