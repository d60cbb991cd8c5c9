//! Derived households through the real binary and real HTTP: person customers kept apart
//! by the matcher who share an address and a family name become one household with an ID
//! of its own, which stays when the run is repeated and when a third member joins;
//! organizations and people in different flats of one building are not grouped; each
//! membership is a change event; a steward's removal of a member holds in later runs and
//! is audited, and withdrawing it brings the member back. Both backends.

use crate::helpers::{backends, run_ok, Case};
use crate::server::Server;
use serde_json::{json, Value};
use std::collections::BTreeSet;

backends!(
    people_at_one_address_become_a_household_with_a_stable_id,
    a_steward_removal_holds_across_runs_until_withdrawn,
    generated_links_and_households_load_and_resolve,
);

const CONFIG: &str = "[systems.ERP]\ntrust = 1\n[systems.CRM]\ntrust = 2\n";
const HEADER: &str = "source_id,given_name,family_name,organization_name,birth_date,email,phone,street,house_number,address_line2,postcode,city,country\n";

/// Two Bergs at Hauptstraße 5 (and a company there), two Weiss in different flats of
/// Gartenweg 1 and one Weiss there without a flat, and a Klein elsewhere.
const ERP: &str = "E1,Anna,Berg,,1970-03-04,anna.berg@example.de,,Hauptstr. 5,,,10115,Berlin,DE\n\
E2,Peter,Berg,,1966-11-23,p.berg@example.de,,Hauptstraße,5,,10115,Berlin,DE\n\
E3,,,Berg Consulting GmbH,,info@berg-consulting.de,,Hauptstraße,5,,10115,Berlin,DE\n\
E4,Clara,Weiss,,1981-06-07,clara.weiss@example.de,,Gartenweg,1,Apt 1,80331,München,DE\n\
E5,Dora,Weiss,,1990-01-30,dora.weiss@example.de,,Gartenweg,1,Apt 2,80331,München,DE\n\
E6,Emil,Weiss,,1953-08-12,emil.weiss@example.de,,Gartenweg,1,,80331,München,DE\n\
E7,Otto,Klein,,1975-05-05,otto.klein@example.de,,Ringstraße,9,,50667,Köln,DE\n";

/// A third Berg moves in (CRM).
const CRM: &str =
    "C1,Lena,Berg,,1999-12-01,lena.b@example.com,,Hauptstr.,5,,10115,Berlin,Germany\n";

fn reconcile(case: &Case, full: bool) -> Value {
    let mut cmd = case.mdm();
    cmd.args(["reconcile", "--domain", "customer", "--json"]);
    if full {
        cmd.arg("--full");
    }
    let out = run_ok(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().expect("a summary line")).unwrap()
}

fn load(case: &Case, system: &str, rows: &str) {
    let f = case.write(&format!("{system}.csv"), format!("{HEADER}{rows}"));
    case.ingest(&[
        "--domain",
        "customer",
        "--source",
        system,
        f.to_str().unwrap(),
    ]);
}

fn gid(case: &Case, system: &str, id: &str) -> String {
    mdm_store::xref::lookup(&mut case.conn(), "customer", system, id)
        .unwrap()
        .unwrap_or_else(|| panic!("{system}/{id} has no xref"))
        .golden_id
}

/// Active households: household ID -> member golden IDs.
fn households(case: &Case) -> Vec<(String, BTreeSet<String>)> {
    let mut by: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for r in mdm_store::relationships::of_type(&mut case.conn(), "customer", "household").unwrap() {
        if r.status == "active" {
            assert_eq!(r.to_domain, "household");
            by.entry(r.to_golden_id)
                .or_default()
                .insert(r.from_golden_id);
        }
    }
    by.into_iter().collect()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn household_events(case: &Case, kind: &str) -> Vec<Value> {
    mdm_store::outbox::after(&mut case.conn(), 0, 1_000_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap())
        .filter(|p| p["type"] == "household")
        .collect()
}

/// Loads ERP, reconciles, and checks the one household of the two Bergs; returns its ID.
fn first_household(case: &Case) -> String {
    case.write("mdm.toml", CONFIG);
    load(case, "ERP", ERP);
    let s = reconcile(case, false);
    let ids: Vec<String> = (1..=7)
        .map(|i| gid(case, "ERP", &format!("E{i}")))
        .collect();
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 7, "the matcher keeps the seven apart: {s}");
    let h = households(case);
    assert_eq!(h.len(), 1, "only the Bergs: {h:?} {s}");
    assert_eq!(
        h[0].1,
        set(&[&ids[0], &ids[1]]),
        "not the company, not the flats"
    );
    let d = &s["stats"]["relationships"]["derived"];
    assert_eq!(
        (d["groups"].as_u64(), d["members"].as_u64()),
        (Some(1), Some(2)),
        "{s}"
    );
    assert_eq!(
        d["candidates"].as_u64(),
        Some(6),
        "the organization is no candidate: {s}"
    );
    h[0].0.clone()
}

fn people_at_one_address_become_a_household_with_a_stable_id(case: &Case) {
    let hid = first_household(case);
    let (anna, peter) = (gid(case, "ERP", "E1"), gid(case, "ERP", "E2"));
    let added = household_events(case, "relationship_added");
    let members: BTreeSet<String> = added
        .iter()
        .map(|p| {
            assert_eq!(p["to_golden_id"], hid.as_str(), "{p}");
            p["from_golden_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(members, set(&[&anna, &peter]), "one event per membership");

    let server = Server::start(case, &[]);
    let reader = case.token("reader", None);
    let body = server
        .get(
            &format!("/v1/customer/golden/{anna}/relationships?type=household"),
            Some(&reader),
        )
        .ok();
    let list = body["relationships"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["other_golden_id"], hid.as_str());
    assert_eq!(list[0]["attributes"]["basis"], "rule");
    let agree = &list[0]["lineage"][0]["agree"];
    assert!(
        agree.as_array().unwrap().contains(&json!("family_name")),
        "{body}"
    );
    let g = server
        .get(&format!("/v1/customer/households/{hid}"), Some(&reader))
        .ok();
    assert_eq!(g["members"].as_array().unwrap().len(), 2, "{g}");
    server
        .get("/v1/customer/households/no-such-household", Some(&reader))
        .problem(404, "not_found");

    // The same data again, incremental and full: the same household, no new event.
    for full in [false, true] {
        let s = reconcile(case, full);
        assert_eq!(
            households(case),
            [(hid.clone(), set(&[&anna, &peter]))],
            "{s}"
        );
        assert_eq!(s["stats"]["relationships"]["derived"]["kept_ids"], 1, "{s}");
    }
    assert_eq!(household_events(case, "relationship_added").len(), 2);
    assert!(household_events(case, "relationship_ended").is_empty());

    // A third Berg moves in: the household keeps its ID.
    load(case, "CRM", CRM);
    reconcile(case, false);
    let lena = gid(case, "CRM", "C1");
    assert!(lena != anna && lena != peter, "Lena is someone else");
    assert_eq!(
        households(case),
        [(hid.clone(), set(&[&anna, &peter, &lena]))]
    );
    assert_eq!(household_events(case, "relationship_added").len(), 3);
    // Exported with the other relationships.
    let out = case.path("rel.ndjson");
    run_ok(case.mdm().args([
        "export",
        "relationships",
        "--domain",
        "customer",
        "--out",
        out.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    let exported = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == "household" && r["to_golden_id"] == hid.as_str())
        .count();
    assert_eq!(exported, 3, "{text}");
    server.stop();
}

fn a_steward_removal_holds_across_runs_until_withdrawn(case: &Case) {
    let hid = first_household(case);
    load(case, "CRM", CRM);
    reconcile(case, false);
    let (anna, peter, lena) = (
        gid(case, "ERP", "E1"),
        gid(case, "ERP", "E2"),
        gid(case, "CRM", "C1"),
    );
    assert_eq!(
        households(case),
        [(hid.clone(), set(&[&anna, &peter, &lena]))]
    );

    let server = Server::start(case, &[]);
    let steward = case.labelled_token("steward", "alice");
    let reader = case.token("reader", None);
    server
        .post_json(
            &format!("/v1/customer/households/{hid}/remove"),
            Some(&reader),
            &json!({ "member": lena, "reason": "lodger" }),
        )
        .problem(403, "forbidden");
    let out = server
        .post_json(
            &format!("/v1/customer/households/{hid}/remove"),
            Some(&steward),
            &json!({ "member": lena, "reason": "lodger" }),
        )
        .ok();
    assert_eq!(out["groups"][&lena], Value::Null, "{out}");
    assert_eq!(out["groups"][&anna], hid.as_str(), "{out}");
    assert_eq!(households(case), [(hid.clone(), set(&[&anna, &peter]))]);
    let ended = household_events(case, "relationship_ended");
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["from_golden_id"], lena.as_str());
    // Audited with the steward's name and the household before.
    let audit = server
        .get("/v1/audit?action=household.remove", Some(&steward))
        .ok();
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"], "alice", "{audit}");
    assert!(entry["before"].to_string().contains(&lena), "{audit}");

    // The nightly runs (incremental and full) keep Lena out.
    for full in [false, true] {
        let s = reconcile(case, full);
        assert_eq!(
            households(case),
            [(hid.clone(), set(&[&anna, &peter]))],
            "{s}"
        );
        let refused = s["stats"]["relationships"]["derived"]["refused_by_decision"]
            .as_u64()
            .unwrap();
        assert!(refused >= 1, "{s}");
    }
    // Withdrawing the decisions brings her back.
    let list = server
        .get("/v1/customer/household-decisions", Some(&steward))
        .ok();
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["kind"], "cannot_link", "{list}");
            d["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 2, "Lena apart from each of the two: {list}");
    for id in ids {
        server
            .post_json(
                &format!("/v1/customer/household-decisions/{id}/withdraw"),
                Some(&steward),
                &json!({ "reason": "she is family" }),
            )
            .ok();
    }
    assert_eq!(
        households(case),
        [(hid.clone(), set(&[&anna, &peter, &lena]))]
    );

    // An organization is never a member; the company at the same address cannot be added.
    let company = gid(case, "ERP", "E3");
    server
        .post_json(
            &format!("/v1/customer/households/{hid}/add"),
            Some(&steward),
            &json!({ "member": company }),
        )
        .problem(422, "invalid_action");
    // Split Lena and Peter from Anna: the part holding most of the old members keeps the
    // ID. Anna, alone, is in none. Confirming the part makes both members steward-held.
    let out = server
        .post_json(
            &format!("/v1/customer/households/{hid}/split"),
            Some(&steward),
            &json!({ "members": [lena, peter], "reason": "separated" }),
        )
        .ok();
    assert_eq!(out["groups"][&lena], hid.as_str(), "{out}");
    assert_eq!(out["groups"][&peter], hid.as_str(), "{out}");
    assert_eq!(out["groups"][&anna], Value::Null, "{out}");
    let confirmed = server
        .post_json(
            &format!("/v1/customer/households/{hid}/confirm"),
            Some(&steward),
            &json!({ "reason": "checked" }),
        )
        .ok();
    assert_eq!(
        confirmed["decisions"].as_array().unwrap().len(),
        1,
        "{confirmed}"
    );
    let s = reconcile(case, true);
    assert_eq!(
        households(case),
        [(hid.clone(), set(&[&peter, &lena]))],
        "{s}"
    );
    let g = server
        .get(&format!("/v1/customer/households/{hid}"), Some(&reader))
        .ok();
    assert!(
        g["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["basis"] == "steward"),
        "{g}"
    );
    server.stop();
}

/// `mdm generate` writes links files that `mdm ingest --links` reads, their truth, and the
/// household truth; reconciled, the links resolve and households are derived.
fn generated_links_and_households_load_and_resolve(case: &Case) {
    let out = case.path("gen");
    run_ok(case.mdm().args([
        "generate",
        "--domain",
        "customer",
        "--entities",
        "400",
        "--systems",
        "ERP,CRM",
        "--out",
        out.to_str().unwrap(),
    ]));
    let homes = std::fs::read_to_string(out.join("households.csv")).unwrap();
    let mut size: std::collections::BTreeMap<&str, usize> = Default::default();
    for line in homes.lines().skip(1) {
        *size.entry(line.split(',').nth(1).unwrap()).or_default() += 1;
    }
    assert!(size.len() >= 5, "{homes}");
    assert!(
        size.values().all(|&n| n >= 2),
        "a household has two members or more"
    );
    let truth = std::fs::read_to_string(out.join("links_truth.csv")).unwrap();
    assert!(truth.starts_with("type,from_domain,from_entity_id,to_domain,to_entity_id\n"));
    for system in ["ERP", "CRM"] {
        let f = out.join(format!("{system}.csv"));
        case.ingest(&[
            "--domain",
            "customer",
            "--source",
            system,
            f.to_str().unwrap(),
        ]);
        let links = out.join(format!("links_customer_{system}.csv"));
        let s = case.ingest(&[
            "--domain",
            "customer",
            "--source",
            system,
            "--links",
            links.to_str().unwrap(),
        ]);
        assert!(s["new"].as_u64().unwrap() > 5, "{s}");
        assert_eq!(s["quarantined"], 0, "{s}");
    }
    let s = reconcile(case, false);
    let r = &s["stats"]["relationships"];
    assert!(r["links"].as_u64().unwrap() > 10, "{s}");
    assert!(r["derived"]["groups"].as_u64().unwrap() >= 3, "{s}");
}
