//! Links named by record attributes (`account_id` on a contact, `parent_id` on a
//! subsidiary): derived when the record is staged, replaced when it changes, ended when a
//! snapshot deletes it, and resolved by reconcile like file links. Both backends.

use super::{gid, ingest, reconcile, rels, CONFIG};
use crate::helpers::backends;
use crate::server::Server;

backends!(reference_attributes_become_links);

const FIRST: &str =
    "source_id,given_name,family_name,organization_name,city,account_id,parent_id\n\
    C1,,,Borg Werkzeuge AG,Berlin,,\n\
    C2,Zoltan,Kovacs,,Pecs,C1,\n\
    C3,Eva,Lind,,Malmo,C9,\n\
    C4,,,Nord Handel GmbH,Kiel,,C1\n";

fn reference_attributes_become_links(case: &super::Case) {
    case.write("mdm.toml", CONFIG);
    let s = ingest(case, "CRM", "crm1.csv", FIRST, false);
    assert_eq!(s["reference_links"]["new"], 3, "{s}");
    let again = ingest(case, "CRM", "crm1.csv", FIRST, false);
    assert!(again.get("reference_links").is_none(), "unchanged: {again}");
    let run = reconcile(case);
    let r = &run["stats"]["relationships"];
    assert_eq!(
        (
            r["links"].as_u64(),
            r["added"].as_u64(),
            r["waiting"].as_u64()
        ),
        (Some(3), Some(2), Some(1)),
        "C9 is not staged: {run}"
    );
    let (borg, zoltan, nord) = (
        gid(case, "CRM", "C1"),
        gid(case, "CRM", "C2"),
        gid(case, "CRM", "C4"),
    );
    let server = Server::start(case, &[]);
    let token = case.token("reader", None);
    let mut got = rels(&server, &token, &borg, "");
    got.sort();
    assert_eq!(
        got,
        [
            ("contact_of".into(), "in".into(), zoltan.clone()),
            ("parent_of".into(), "out".into(), nord.clone()),
        ]
    );
    let body = server
        .get(
            &format!("/v1/customer/golden/{zoltan}/relationships"),
            Some(&token),
        )
        .ok();
    assert_eq!(
        body["relationships"][0]["lineage"][0]["origin"], "reference",
        "{body}"
    );

    // Zoltan moves to Nord, Eva's account is cleared: the old links end, the new one is staged.
    let s = ingest(
        case,
        "CRM",
        "crm2.csv",
        "source_id,given_name,family_name,city,account_id\nC2,Zoltan,Kovacs,Pecs,C4\nC3,Eva,Lind,Malmo,\n",
        false,
    );
    assert_eq!(
        (
            &s["changed"],
            &s["reference_links"]["new"],
            &s["reference_links"]["ended"]
        ),
        (&2.into(), &1.into(), &2.into()),
        "{s}"
    );
    let run = reconcile(case);
    let r = &run["stats"]["relationships"];
    assert_eq!(
        (
            r["added"].as_u64(),
            r["ended"].as_u64(),
            r["waiting"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{run}"
    );
    assert_eq!(
        rels(&server, &token, &zoltan, ""),
        [("contact_of".into(), "out".into(), nord.clone())]
    );

    // A snapshot without Zoltan deletes him and the link his record named.
    let snap = case.write(
        "crm3.csv",
        "source_id,given_name,family_name,organization_name,city,account_id,parent_id\n\
         C1,,,Borg Werkzeuge AG,Berlin,,\nC3,Eva,Lind,,Malmo,,\nC4,,,Nord Handel GmbH,Kiel,,C1\n",
    );
    let s = case.ingest(&[
        "--domain",
        "customer",
        "--source",
        "CRM",
        "--snapshot",
        snap.to_str().unwrap(),
    ]);
    assert_eq!(
        (&s["deleted"], &s["reference_links"]["ended"]),
        (&1.into(), &1.into()),
        "{s}"
    );
    let run = reconcile(case);
    let r = &run["stats"]["relationships"];
    assert_eq!(
        (r["ended"].as_u64(), r["active"].as_u64()),
        (Some(1), Some(1)),
        "{run}"
    );
    assert_eq!(
        rels(&server, &token, &nord, ""),
        [("parent_of".into(), "in".into(), borg)]
    );
}
