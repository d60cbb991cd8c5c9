//! Relationships between golden records through the real binary and real HTTP: links
//! loaded from files of two systems resolve to golden IDs, a merge collapses the
//! relationships of both records into one with the lineage of both links, a link closing a
//! cycle in a one-parent hierarchy is refused, a link whose far end arrives later resolves
//! then, bad links are quarantined, and each change is a history row and a change event.
//! Both backends.

mod push;
mod references;
mod split;

use crate::helpers::{backends, run_ok, Case};
use crate::server::Server;
use mdm_store::decisions::{insert_decision, NewDecision};
use serde_json::Value;

backends!(
    links_resolve_across_systems_and_follow_a_merge,
    a_cycle_is_refused_and_a_late_far_end_resolves,
);

const CONFIG: &str = "[systems.ERP]\ntrust = 1\n[systems.CRM]\ntrust = 2\n";

fn reconcile(case: &Case) -> Value {
    let out = run_ok(
        case.mdm()
            .args(["reconcile", "--domain", "customer", "--json"]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a summary line")).unwrap()
}

fn ingest(case: &Case, system: &str, name: &str, csv: &str, links: bool) -> Value {
    let f = case.write(name, csv);
    let mut args = vec![
        "--domain",
        "customer",
        "--source",
        system,
        f.to_str().unwrap(),
    ];
    if links {
        args.push("--links");
    }
    case.ingest(&args)
}

fn gid(case: &Case, system: &str, id: &str) -> String {
    mdm_store::xref::lookup(&mut case.conn(), "customer", system, id)
        .unwrap()
        .unwrap_or_else(|| panic!("{system}/{id} has no xref"))
        .golden_id
}

fn must_link(case: &Case, a: (&str, &str), b: (&str, &str)) {
    let d = NewDecision {
        domain: "customer",
        kind: "must_link",
        a,
        b,
        decided_by: "steward1",
        reason: "test",
    };
    insert_decision(&mut case.conn(), &d).unwrap();
}

fn events(case: &Case, kind: &str) -> Vec<Value> {
    mdm_store::outbox::after(&mut case.conn(), 0, 1_000_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

/// `(type, direction, other golden id)` of a record's relationships over HTTP.
fn rels(server: &Server, token: &str, id: &str, query: &str) -> Vec<(String, String, String)> {
    let body = server
        .get(
            &format!("/v1/customer/golden/{id}/relationships{query}"),
            Some(token),
        )
        .ok();
    body["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("type"), s("direction"), s("other_golden_id"))
        })
        .collect()
}

fn links_resolve_across_systems_and_follow_a_merge(case: &Case) {
    case.write("mdm.toml", CONFIG);
    ingest(
        case,
        "ERP",
        "erp.csv",
        "source_id,given_name,family_name,organization_name,city,birth_date\n\
         E1,,,Acme Maschinenbau GmbH,Ulm,\n\
         E2,,,Acme Logistik GmbH,Hamburg,\n\
         E3,Anna,Berg,,Ulm,1980-01-02\n",
        false,
    );
    ingest(
        case,
        "CRM",
        "crm.csv",
        "source_id,given_name,family_name,organization_name,city,email\n\
         C1,,,Borg Werkzeuge AG,Berlin,\n\
         C2,Zoltan,Kovacs,,Pecs,zk@example.hu\n",
        false,
    );
    let erp_links = ingest(
        case,
        "ERP",
        "erp_links.csv",
        "type,from_source_id,to_source_id,role,share\n\
         contact_of,E3,E1,buyer,\n\
         parent_of,E1,E2,,100\n\
         owns,E1,E3,,\n",
        true,
    );
    assert_eq!(
        (erp_links["new"].as_u64(), erp_links["quarantined"].as_u64()),
        (Some(2), Some(1)),
        "{erp_links}"
    );
    let batch = erp_links["batch_id"].as_i64().unwrap();
    let q = mdm_store::quarantine::for_batch(&mut case.conn(), batch).unwrap();
    assert_eq!(
        (q[0].reason.as_str(), q[0].field.as_deref()),
        ("invalid_link", Some("type"))
    );
    ingest(
        case,
        "CRM",
        "crm_links.csv",
        "type,from_source_id,to_source_id,role\ncontact_of,C2,C1,owner\n",
        true,
    );
    // Loading the same file again changes nothing.
    let again = ingest(
        case,
        "CRM",
        "crm_links.csv",
        "type,from_source_id,to_source_id,role\ncontact_of,C2,C1,owner\n",
        true,
    );
    assert_eq!(again["unchanged"], 1, "{again}");
    let s = reconcile(case);
    let r = &s["stats"]["relationships"];
    assert_eq!(
        (
            r["links"].as_u64(),
            r["added"].as_u64(),
            r["waiting"].as_u64()
        ),
        (Some(3), Some(3), Some(0)),
        "{s}"
    );
    let (acme, sub, anna) = (
        gid(case, "ERP", "E1"),
        gid(case, "ERP", "E2"),
        gid(case, "ERP", "E3"),
    );
    let (borg, zoltan) = (gid(case, "CRM", "C1"), gid(case, "CRM", "C2"));
    assert_eq!(events(case, "relationship_added").len(), 3);

    let server = Server::start(case, &[]);
    let token = case.token("reader", None);
    let mut got = rels(&server, &token, &acme, "");
    got.sort();
    assert_eq!(
        got,
        [
            ("contact_of".into(), "in".into(), anna.clone()),
            ("parent_of".into(), "out".into(), sub.clone()),
        ]
    );
    assert_eq!(
        rels(&server, &token, &acme, "?type=parent_of&direction=in"),
        []
    );
    // Of its types only parent_of is a hierarchy a client may walk.
    let body = server
        .get(
            &format!("/v1/customer/golden/{acme}/relationships"),
            Some(&token),
        )
        .ok();
    assert_eq!(
        body["hierarchies"],
        serde_json::json!(["parent_of"]),
        "{body}"
    );
    assert_eq!(rels(&server, &token, &borg, "?direction=in").len(), 1);
    server
        .get(
            &format!("/v1/customer/golden/{acme}/relationships?direction=sideways"),
            Some(&token),
        )
        .problem(400, "invalid_parameter");
    let before_merge = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(20));

    // A steward merges the two companies and the two people: one relationship remains,
    // supported by both systems' links, with ERP's (more trusted) role.
    must_link(case, ("ERP", "E1"), ("CRM", "C1"));
    must_link(case, ("ERP", "E3"), ("CRM", "C2"));
    let s = reconcile(case);
    assert_eq!(s["counts"]["merged"], 2, "{s}");
    let (company, person) = (gid(case, "ERP", "E1"), gid(case, "ERP", "E3"));
    assert_eq!(
        (gid(case, "CRM", "C1"), gid(case, "CRM", "C2")),
        (company.clone(), person.clone())
    );
    let body = server
        .get(
            &format!("/v1/customer/golden/{person}/relationships?type=contact_of"),
            Some(&token),
        )
        .ok();
    let list = body["relationships"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["other_golden_id"], company.as_str());
    assert_eq!(list[0]["attributes"]["role"], "buyer", "{body}");
    let systems: Vec<&str> = list[0]["lineage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["CRM", "ERP"]);
    // The retired ID answers for its survivor; parent_of followed the company.
    let retired = if company == acme { &borg } else { &acme };
    let via = server
        .get(
            &format!("/v1/customer/golden/{retired}/relationships?type=parent_of"),
            Some(&token),
        )
        .ok();
    assert_eq!(via["golden_id"], company.as_str());
    assert_eq!(via["redirected_from"], retired.as_str());
    assert_eq!(via["relationships"][0]["other_golden_id"], sub.as_str());
    // Each change of the merge run is an event: pairs with a retired end ended, the
    // survivors' pairs added or changed.
    let r = &s["stats"]["relationships"];
    assert_eq!(r["active"], 2, "{s}");
    assert!(r["ended"].as_u64().unwrap() >= 1, "{s}");
    assert_eq!(
        events(case, "relationship_ended").len() as u64,
        r["ended"].as_u64().unwrap()
    );
    assert_eq!(
        events(case, "relationship_changed").len() as u64,
        r["changed"].as_u64().unwrap()
    );
    // As of before the merge, the retired person had its own relationship; now none.
    let old_person = if person == anna { &zoltan } else { &anna };
    let as_of = |at: &str| {
        let b = server
            .get(
                &format!(
                    "/v1/customer/golden/{old_person}/relationships?as_of={}",
                    at.replace('+', "%2B")
                ),
                Some(&token),
            )
            .ok();
        b["relationships"].as_array().unwrap().len()
    };
    assert_eq!(as_of(&before_merge), 1);
    assert_eq!(as_of(&chrono::Utc::now().to_rfc3339()), 0);
    // The export lists the two active relationships.
    let out = case.path("rel.ndjson");
    run_ok(case.mdm().args([
        "export",
        "relationships",
        "--domain",
        "customer",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read_to_string(out).unwrap().lines().count(), 2);
}

fn a_cycle_is_refused_and_a_late_far_end_resolves(case: &Case) {
    case.write("mdm.toml", CONFIG);
    ingest(
        case,
        "ERP",
        "erp.csv",
        "source_id,organization_name,city\nE1,Alpha Holding AG,Ulm\nE2,Beta Werke GmbH,Bonn\nE3,Gamma Technik KG,Hof\n",
        false,
    );
    ingest(
        case,
        "ERP",
        "links1.csv",
        "type,from_source_id,to_source_id\nparent_of,E1,E2\nparent_of,E2,E3\nparent_of,E3,E4\n",
        true,
    );
    let s = reconcile(case);
    assert_eq!(
        s["stats"]["relationships"]["waiting"], 1,
        "E4 is not staged: {s}"
    );
    let (e1, e2, e3) = (
        gid(case, "ERP", "E1"),
        gid(case, "ERP", "E2"),
        gid(case, "ERP", "E3"),
    );
    // E3 -> E1 would close the cycle E1 -> E2 -> E3 -> E1: refused, the hierarchy stays.
    ingest(
        case,
        "ERP",
        "links2.csv",
        "type,from_source_id,to_source_id\nparent_of,E3,E1\n",
        true,
    );
    let s = reconcile(case);
    let r = &s["stats"]["relationships"];
    assert_eq!(
        (r["cycles_refused"].as_u64(), r["added"].as_u64()),
        (Some(1), Some(0)),
        "{s}"
    );
    // The far end arrives: the waiting link resolves.
    ingest(
        case,
        "ERP",
        "erp2.csv",
        "source_id,organization_name,city\nE4,Delta Service GmbH,Aue\n",
        false,
    );
    let s = reconcile(case);
    let r = &s["stats"]["relationships"];
    assert_eq!(
        (r["waiting"].as_u64(), r["added"].as_u64()),
        (Some(0), Some(1)),
        "{s}"
    );
    let e4 = gid(case, "ERP", "E4");

    let server = Server::start(case, &[]);
    let token = case.token("reader", None);
    let walk = |id: &str, q: &str| {
        let b = server
            .get(
                &format!("/v1/customer/golden/{id}/hierarchy?type=parent_of&{q}"),
                Some(&token),
            )
            .ok();
        let ids: Vec<String> = b["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["golden_id"].as_str().unwrap().to_string())
            .collect();
        (ids, b)
    };
    let (up, b) = walk(&e4, "direction=up&depth=5");
    assert_eq!(up, [e3.clone(), e2.clone(), e1.clone()]);
    assert_eq!(b["complete"], true, "{b}");
    let (up, b) = walk(&e4, "direction=up&depth=2");
    assert_eq!((up.len(), &b["complete"]), (2, &Value::Bool(false)));
    let (down, _) = walk(&e1, "direction=down&depth=5");
    assert_eq!(down, [e2.clone(), e3.clone(), e4.clone()]);
    let (page, b) = walk(&e1, "direction=down&depth=5&limit=2");
    assert_eq!(page, [e2, e3]);
    let cursor = b["next_cursor"].as_str().unwrap().to_string();
    let (rest, b) = walk(
        &e1,
        &format!("direction=down&depth=5&limit=2&cursor={cursor}"),
    );
    assert_eq!((rest, &b["next_cursor"]), (vec![e4], &Value::Null));
    server
        .get(
            &format!("/v1/customer/golden/{e1}/hierarchy?type=contact_of&direction=up"),
            Some(&token),
        )
        .problem(400, "invalid_parameter");
    // History: every relationship has one `added` version; nothing was ever ended.
    assert_eq!(events(case, "relationship_added").len(), 3);
    assert!(events(case, "relationship_ended").is_empty());
}
