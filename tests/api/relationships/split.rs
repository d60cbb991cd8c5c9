//! A steward split divides a golden record's relationships by the source links they came
//! from, and a full run after the incremental ones changes no relationship (they are a
//! function of the staged links and the xref). Both backends.

use super::{events, gid, ingest, must_link, reconcile, rels, CONFIG};
use crate::helpers::{backends, run_ok};
use crate::server::Server;
use serde_json::json;

backends!(a_split_divides_relationships_and_a_full_run_agrees);

fn export(case: &super::Case, name: &str) -> String {
    let out = case.path(name);
    run_ok(case.mdm().args([
        "export",
        "relationships",
        "--domain",
        "customer",
        "--out",
        out.to_str().unwrap(),
    ]));
    std::fs::read_to_string(out).unwrap()
}

fn a_split_divides_relationships_and_a_full_run_agrees(case: &super::Case) {
    case.write("mdm.toml", CONFIG);
    ingest(
        case,
        "ERP",
        "erp.csv",
        "source_id,given_name,family_name,organization_name,city,birth_date\n\
         E1,,,Acme Maschinenbau GmbH,Ulm,\nE3,Anna,Berg,,Ulm,1980-01-02\n",
        false,
    );
    ingest(
        case,
        "ERP",
        "erp_links.csv",
        "type,from_source_id,to_source_id,role\ncontact_of,E3,E1,buyer\n",
        true,
    );
    // The CRM names the account on the contact instead.
    ingest(
        case,
        "CRM",
        "crm.csv",
        "source_id,given_name,family_name,organization_name,city,account_id\n\
         C1,,,Acme Maschinenbau,Ulm,\nC2,Anna,Berg,,Ulm,C1\n",
        false,
    );
    must_link(case, ("ERP", "E1"), ("CRM", "C1"));
    must_link(case, ("ERP", "E3"), ("CRM", "C2"));
    reconcile(case);
    let (company, person) = (gid(case, "ERP", "E1"), gid(case, "ERP", "E3"));
    assert_eq!(gid(case, "CRM", "C1"), company);
    let server = Server::start(case, &[]);
    let reader = case.token("reader", None);
    let lineage = |id: &str| -> Vec<(String, String)> {
        let b = server
            .get(
                &format!("/v1/customer/golden/{id}/relationships?type=contact_of"),
                Some(&reader),
            )
            .ok();
        let r = &b["relationships"][0];
        r["lineage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                let s = |k: &str| l[k].as_str().unwrap().to_string();
                (
                    s("system"),
                    r["other_golden_id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        lineage(&person),
        [
            ("CRM".into(), company.clone()),
            ("ERP".into(), company.clone())
        ],
        "one relationship carried by both systems' links"
    );

    // The steward splits the CRM's company out: each link follows its own record.
    let steward = case.labelled_token("steward", "bob");
    let version = server
        .get(&format!("/v1/customer/golden/{company}"), Some(&steward))
        .ok()["version"]
        .as_i64()
        .unwrap();
    let added_before = events(case, "relationship_added").len();
    let sp = server
        .post_json(
            &format!("/v1/customer/golden/{company}/split"),
            Some(&steward),
            &json!({"system": "CRM", "source_id": "C1", "version": version, "reason": "another company"}),
        )
        .ok();
    // Which part keeps the ID is the ID rules' choice (a tie here): read both from xref.
    let (erp_company, crm_company) = (gid(case, "ERP", "E1"), gid(case, "CRM", "C1"));
    assert_ne!(erp_company, crm_company, "{sp}");
    assert_eq!(sp["new_golden_id"], crm_company.as_str(), "{sp}");
    let mut got = rels(&server, &reader, &person, "");
    got.sort_by(|a, b| a.2.cmp(&b.2));
    let mut want = vec![
        (
            "contact_of".to_string(),
            "out".to_string(),
            erp_company.clone(),
        ),
        (
            "contact_of".to_string(),
            "out".to_string(),
            crm_company.clone(),
        ),
    ];
    want.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(got, want);
    assert_eq!(lineage(&crm_company), [("CRM".into(), person.clone())]);
    assert_eq!(lineage(&erp_company), [("ERP".into(), person.clone())]);
    assert_eq!(events(case, "relationship_added").len(), added_before + 1);
    assert!(!events(case, "relationship_changed").is_empty());

    // The same relationships come out of a full run: nothing added, changed or ended.
    let before = export(case, "before.ndjson");
    let out = run_ok(
        case.mdm()
            .args(["reconcile", "--domain", "customer", "--full", "--json"]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let s: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let r = &s["stats"]["relationships"];
    assert_eq!(
        (
            r["added"].as_u64(),
            r["changed"].as_u64(),
            r["ended"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{s}"
    );
    assert_eq!(r["active"], 2, "{s}");
    assert_eq!(export(case, "after.ndjson"), before);
}
