//! Links pushed over HTTP (`POST /v1/{domain}/links/{system}`) follow the semantics of a
//! links file: bad links quarantined with `invalid_link`, a re-push changes nothing, a
//! snapshot ends the links it lacks, and the next reconcile resolves them. Both backends.

use super::{gid, ingest, reconcile, rels, CONFIG};
use crate::helpers::backends;
use crate::server::Server;
use serde_json::json;

backends!(links_pushed_over_http_stage_like_a_file);

fn links_pushed_over_http_stage_like_a_file(case: &super::Case) {
    case.write("mdm.toml", CONFIG);
    ingest(
        case,
        "ERP",
        "erp.csv",
        "source_id,organization_name,city\nE1,Alpha Holding AG,Ulm\nE2,Beta Werke GmbH,Bonn\nE3,Gamma Technik KG,Hof\n",
        false,
    );
    let server = Server::start(case, &[]);
    let writer = case.token("writer", Some("ERP"));
    let path = "/v1/customer/links/ERP";
    let body = json!([
        {"type": "parent_of", "from_source_id": "E1", "to_source_id": "E2", "share": "60"},
        {"type": "owns", "from_source_id": "E1", "to_source_id": "E3"},
    ]);
    let first = server.post_json(path, Some(&writer), &body).ok();
    assert_eq!(
        (&first["new"], &first["quarantined"]),
        (&1.into(), &1.into()),
        "{first}"
    );
    assert_eq!(
        (
            &first["quarantine"][0]["reason"],
            &first["quarantine"][0]["field"]
        ),
        (&"invalid_link".into(), &"type".into()),
        "{first}"
    );
    let again = server.post_json(path, Some(&writer), &body).ok();
    assert_eq!(
        (&again["new"], &again["unchanged"]),
        (&0.into(), &1.into()),
        "{again}"
    );
    // A reader, or a writer of another system, may not push.
    let crm = case.token("writer", Some("CRM"));
    server
        .post_json(path, Some(&crm), &body)
        .problem(403, "forbidden");
    server
        .post_json("/v1/nowhere/links/ERP", Some(&writer), &body)
        .problem(404, "unknown_domain");

    // A snapshot as NDJSON: E1 -> E3 is new, E1 -> E2 is no longer there.
    let snap = server.post(
        &format!("{path}?snapshot=true"),
        Some(&writer),
        "application/x-ndjson",
        b"{\"type\":\"parent_of\",\"from_source_id\":\"E1\",\"to_source_id\":\"E3\"}\n".to_vec(),
    );
    let snap = snap.ok();
    assert_eq!(
        (&snap["new"], &snap["deleted"]),
        (&1.into(), &1.into()),
        "{snap}"
    );
    let run = reconcile(case);
    let r = &run["stats"]["relationships"];
    assert_eq!(
        (r["added"].as_u64(), r["active"].as_u64()),
        (Some(1), Some(1)),
        "{run}"
    );
    let reader = case.token("reader", None);
    assert_eq!(
        rels(&server, &reader, &gid(case, "ERP", "E1"), ""),
        [("parent_of".into(), "out".into(), gid(case, "ERP", "E3"))]
    );
}
