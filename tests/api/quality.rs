//! Data-quality findings users can see (issue 22, item 4): quarantined rows with file, line,
//! field, reason and raw text through `mdm quarantine list|show|export` and
//! `GET /v1/quality/...`, messages that say what is wrong, and a re-load of the same bad
//! file that does not count its rows twice; value findings (placeholders, values the
//! sources disagree on) and postcodes read in their record's country (item 3).

use crate::helpers::{backends, run_err, run_ok, text, Case};
use crate::server::Server;
use mdm_store::decisions::{insert_decision, NewDecision};
use serde_json::Value;

backends!(
    quality_api_lists_filters_pages_and_counts_a_reload_once,
    quarantine_cli_lists_shows_and_exports,
    values_no_golden_record_will_publish,
    postcodes_are_read_in_their_records_country,
    sources_that_disagree_are_listed_as_conflicts,
);

/// Line 3: an impossible date (and markup in the raw text); line 4: a stray quote that runs
/// to line 6.
const ERP_BAD: &[u8] = b"source_id,given_name,birth_date,city\n\
1,Anna,1987-03-09,Ulm\n\
2,Bob,1980-02-30,<b>Kiel</b>\n\
3,\"Carl,1990-01-01,Hof\n\
4,Dora,1991-01-01,Aue\n\
5,Emil,1992-01-01,Hof\n";

/// Loads ERP's bad file twice and a CRM file with one bad row; returns the batch ids of
/// the two ERP loads.
fn load_bad_files(case: &Case) -> (i64, i64) {
    let erp = case.write("erp_bad.csv", ERP_BAD);
    let first = case.ingest_customers("ERP", &erp);
    let again = case.ingest_customers("ERP", &erp);
    assert_eq!(first["quarantined"], 2, "{first}");
    assert_eq!(
        again["quarantined"], 2,
        "a re-load quarantines them again: {again}"
    );
    let crm = case.write(
        "crm.csv",
        "source_id,given_name,birth_date\nC1,Ina,1981-02-29\nC2,Jo,1980-01-01\n",
    );
    assert_eq!(case.ingest_customers("CRM", &crm)["quarantined"], 1);
    (
        first["batch_id"].as_i64().unwrap(),
        again["batch_id"].as_i64().unwrap(),
    )
}

fn quality_api_lists_filters_pages_and_counts_a_reload_once(case: &Case) {
    let (first, again) = load_bad_files(case);
    let server = Server::start(case, &[]);
    let reader = case.token("reader", None);
    let tok = Some(reader.as_str());

    let page = server.get("/v1/quality/quarantine", tok).ok();
    let rows = page["rows"].as_array().unwrap();
    let got: Vec<(&str, i64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["system"].as_str().unwrap(),
                r["line"].as_i64().unwrap(),
                r["field"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ERP", 3, "birth_date", "invalid_value"),
            ("ERP", 4, "given_name", "malformed_row"),
            ("CRM", 2, "birth_date", "invalid_value"),
        ],
        "each bad row once, though ERP's file was loaded twice: {page}"
    );
    assert!(page["next_after"].is_null(), "{page}");
    let date = &rows[0];
    assert_eq!(date["batch_id"], again, "the latest load's row: {date}");
    assert!(date["source"].as_str().unwrap().ends_with("erp_bad.csv"));
    assert_eq!(date["source_id"], "2");
    assert!(
        date["detail"]
            .as_str()
            .unwrap()
            .ends_with("1980-02-30: February has no day 30"),
        "{date}"
    );
    assert!(
        date["raw"].as_str().unwrap().contains("<b>Kiel</b>"),
        "{date}"
    );
    let quote = rows[1]["detail"].as_str().unwrap();
    assert!(
        quote.contains("an unclosed quote in `given_name` at line 4")
            && quote.contains("runs to line 6; line 4 is quarantined, lines 5-6 are read"),
        "{quote}"
    );
    assert_eq!(rows[1]["raw"], "3,\"Carl,1990-01-01,Hof");
    assert!(rows[2]["detail"]
        .as_str()
        .unwrap()
        .ends_with("1981-02-29: 1981 is not a leap year, so February has no day 29"));

    // Paging: one row a page, following next_after, gives the same rows.
    let mut ids = Vec::new();
    let mut path = "/v1/quality/quarantine?limit=1".to_string();
    loop {
        let p = server.get(&path, tok).ok();
        ids.extend(
            p["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].clone()),
        );
        match p["next_after"].as_i64() {
            Some(after) => path = format!("/v1/quality/quarantine?limit=1&after={after}"),
            None => break,
        }
    }
    let all: Vec<_> = rows.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, all);

    // Filters.
    let n = |path: &str| server.get(path, tok).ok()["rows"].as_array().unwrap().len();
    assert_eq!(n("/v1/quality/quarantine?system=CRM"), 1);
    assert_eq!(n("/v1/quality/quarantine?domain=customer&system=ERP"), 2);
    assert_eq!(n("/v1/quality/quarantine?domain=product"), 0);
    let batch = server
        .get(&format!("/v1/quality/quarantine?batch={first}"), tok)
        .ok();
    assert!(
        batch["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["batch_id"].as_i64(), r["line"].as_i64()))
            .eq([(Some(first), Some(3)), (Some(first), Some(4))]),
        "{batch}"
    );

    // One row; 404; a token is needed.
    let id = date["id"].as_i64().unwrap();
    let one = server
        .get(&format!("/v1/quality/quarantine/{id}"), tok)
        .ok();
    assert_eq!(&one, date);
    server
        .get("/v1/quality/quarantine/999999", tok)
        .problem(404, "not_found");
    server
        .get("/v1/quality/quarantine", None)
        .problem(401, "unauthorized");

    let summary = server.get("/v1/quality/summary", tok).ok();
    assert_eq!(summary["quarantined"], 3, "{summary}");
    let by: Vec<(&str, &str, i64)> = summary["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["system"].as_str().unwrap(),
                c["reason"].as_str().unwrap(),
                c["rows"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by,
        [
            ("CRM", "invalid_value", 1),
            ("ERP", "invalid_value", 1),
            ("ERP", "malformed_row", 1)
        ]
    );
    let other = server.get("/v1/quality/summary?domain=product", tok).ok();
    assert_eq!(other["quarantined"], 0, "{other}");
    // The report's data-quality figures count a re-loaded row once too.
    let counts = mdm_store::reports::quarantine_counts(&mut case.conn(), "customer").unwrap();
    assert_eq!(counts.iter().map(|c| c.2).sum::<i64>(), 3, "{counts:?}");
    server.stop();
}

fn quarantine_cli_lists_shows_and_exports(case: &Case) {
    let (first, _) = load_bad_files(case);
    let mdm = |args: &[&str]| text(&run_ok(case.mdm().args(args)).stdout);

    let listed = mdm(&["quarantine", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 4, "a header and each bad row once:\n{listed}");
    assert!(lines[1].contains("erp_bad.csv:3\tbirth_date\tinvalid_value\t"));
    assert!(
        lines[1].ends_with("1980-02-30: February has no day 30"),
        "{listed}"
    );
    assert!(lines[2].contains("erp_bad.csv:4\tgiven_name\tmalformed_row\tunterminated quote"));
    assert!(lines[3].contains("crm.csv:2\tbirth_date"), "{listed}");

    let json = mdm(&["quarantine", "list", "--json", "--system", "ERP"]);
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{json}");
    assert_eq!(
        (&rows[0]["line"], &rows[0]["field"]),
        (&3.into(), &"birth_date".into())
    );
    let batch = mdm(&[
        "quarantine",
        "list",
        "--json",
        "--batch",
        &first.to_string(),
    ]);
    assert_eq!(batch.lines().count(), 2, "{batch}");
    assert!(batch
        .lines()
        .all(|l| l.contains(&format!("\"batch_id\":{first},"))));
    assert_eq!(
        mdm(&["quarantine", "list", "--json", "--domain", "product"]),
        ""
    );

    let id = rows[0]["id"].as_i64().unwrap().to_string();
    let shown = mdm(&["quarantine", "show", &id]);
    for want in [
        "line:           3",
        "field:          birth_date",
        "reason:         invalid_value",
        "not a valid date: 1980-02-30: February has no day 30",
        "\"city\":\"<b>Kiel</b>\"",
    ] {
        assert!(shown.contains(want), "{want} in:\n{shown}");
    }
    assert!(shown
        .lines()
        .any(|l| l.starts_with("file:") && l.ends_with("erp_bad.csv")));
    let shown: serde_json::Value =
        serde_json::from_str(&mdm(&["quarantine", "show", &id, "--json"])).unwrap();
    assert_eq!(shown, rows[0]);
    let err = run_err(case.mdm().args(["quarantine", "show", "999999"]));
    assert!(err.contains("no quarantined row has id 999999"), "{err}");

    let out = case.path("findings.csv");
    run_ok(case.mdm().args(["quarantine", "export", "--out"]).arg(&out));
    let mut csv = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "id",
            "batch_id",
            "domain",
            "system",
            "source",
            "line",
            "source_id",
            "field",
            "reason",
            "detail",
            "raw",
            "quarantined_at"
        ]
    );
    let records: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(&records[1][10], "3,\"Carl,1990-01-01,Hof");
    let nd = case.path("findings.ndjson");
    run_ok(
        case.mdm()
            .args(["quarantine", "export", "--system", "CRM", "--out"])
            .arg(&nd),
    );
    let nd = std::fs::read_to_string(nd).unwrap();
    let crm: Vec<serde_json::Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(crm.len(), 1, "{nd}");
    assert_eq!(crm[0]["system"], "CRM");
}

/// Issue 22, item 4: value findings beside quarantine. A placeholder e-mail and a filler
/// phone are staged (they are values, not broken rows) but never published; the API and
/// the CLI list them with the reason. A US national number in a US record is no finding.
fn values_no_golden_record_will_publish(case: &Case) {
    let f = case.write(
        "crm.csv",
        "source_id,given_name,email,phone,country\n\
         C1,Ann,noemail@example.com,+49 171 5550001,DE\n\
         C2,Bob,bob@mail.de,030 000000,\n\
         C3,Cy,cy@mail.de,214 8954767,US\n",
    );
    case.ingest_customers("CRM", &f);
    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let r = s.get("/v1/quality/values?domain=customer", Some(&tok));
    assert_eq!(r.status, 200, "{}", r.body);
    let page: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let found: Vec<(String, String, String)> = page["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_string();
            (s("source_id"), s("attribute"), s("reason"))
        })
        .collect();
    let expect = |id: &str, a: &str, why: &str| (id.to_string(), a.to_string(), why.to_string());
    assert_eq!(
        found,
        [
            expect("C1", "email", "placeholder e-mail address"),
            expect("C2", "phone", "placeholder phone number"),
        ],
        "{page}"
    );
    assert_eq!(page["total"], 2);
    let first: serde_json::Value = serde_json::from_str(
        &s.get("/v1/quality/values?domain=customer&limit=1", Some(&tok))
            .body,
    )
    .unwrap();
    assert_eq!(first["next_offset"], 1, "{first}");
    assert_eq!(
        s.get("/v1/quality/values?domain=nosuch", Some(&tok)).status,
        404
    );
    let out = run_ok(
        case.mdm()
            .args(["quarantine", "values", "--domain", "customer", "--json"]),
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        2,
        "{}",
        text(&out.stdout)
    );
}

/// `mdm reconcile --domain customer` through the binary.
fn reconcile(case: &Case) {
    run_ok(case.mdm().args(["reconcile", "--domain", "customer"]));
}

fn golden_of(case: &Case, system: &str, id: &str) -> (Value, Value) {
    let mut conn = case.conn();
    let x = mdm_store::xref::lookup(&mut conn, "customer", system, id)
        .unwrap()
        .unwrap_or_else(|| panic!("{system}/{id} has no xref"));
    let g = mdm_store::golden::get(&mut conn, "customer", &x.golden_id)
        .unwrap()
        .expect("golden record")
        .record;
    (
        serde_json::from_str(&g.attributes).unwrap(),
        mdm_core::lineage::expand(&g.lineage),
    )
}

/// Issue 22, item 3 for postcodes: a postcode is read in its record's country (else its
/// system's configured one): a spreadsheet's lost zero restored, printed as the country
/// does, a code that cannot be of the country a finding naming it. A record that states no
/// country keeps its postcode as written (the hub's default country is only a guess).
/// Search reads the query's postcode in the country it names.
fn postcodes_are_read_in_their_records_country(case: &Case) {
    case.write(
        "mdm.toml",
        "[systems.ERP]\ntrust = 1\n[systems.CRM]\ntrust = 2\ncountry = \"US\"\n",
    );
    let erp = case.write(
        "erp.csv",
        "source_id,given_name,family_name,postcode,city,country\n\
         E1,Anna,Berg,1067,Dresden,DE\n\
         E2,Tom,Baker,sw1a1aa,London,UK\n\
         E3,Ida,Moss,SW1A 1AA,London,\n\
         E4,Rosa,Lind,752861,Dallas,US\n",
    );
    let crm = case.write(
        "crm.csv",
        "source_id,given_name,family_name,postcode,city\nC1,Cy,Young,2134,Boston\n",
    );
    case.ingest_customers("ERP", &erp);
    case.ingest_customers("CRM", &crm);
    reconcile(case);
    let postcode = |sys: &str, id: &str| golden_of(case, sys, id).0["postcode"].clone();
    assert_eq!(postcode("ERP", "E1"), "01067");
    assert_eq!(postcode("ERP", "E2"), "SW1A 1AA");
    assert_eq!(postcode("ERP", "E3"), "SW1A 1AA", "as written");
    assert_eq!(postcode("CRM", "C1"), "02134", "CRM's configured country");
    let (a, l) = golden_of(case, "ERP", "E4");
    let why = "`752861` is not a US ZIP code (5 digits or ZIP+4)";
    assert!(a.get("postcode").is_none(), "{a}");
    assert_eq!(l["postcode"]["rule"], format!("rejected: {why}"), "{l}");
    assert_eq!(a["city"], "Dallas", "the rest of the address stays");

    let out = run_ok(
        case.mdm()
            .args(["quarantine", "values", "--domain", "customer", "--json"]),
    );
    let found: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (
            &found[0]["source_id"],
            &found[0]["attribute"],
            &found[0]["reason"]
        ),
        (&"E4".into(), &"postcode".into(), &why.into())
    );

    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let hits = |q: &str| -> usize {
        let page = s.get(&format!("/v1/customer/golden?{q}"), Some(&tok)).ok();
        page["records"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
            .len()
    };
    assert_eq!(hits("postcode=1067&country=DE"), 1);
    assert_eq!(hits("postcode=01067"), 1);
    s.stop();
}

/// Issue 22, item 4, the third kind of value finding: two customers, each in ERP and CRM
/// and linked by a steward. The first pair agrees once standardized (a date, an e-mail, a
/// phone and an address written differently; the names are spelled two ways, which is no
/// conflict). The second disagrees on the birth date, the e-mail and the address (one
/// finding for the address, not one per part). The API and the CLI list each with the
/// records holding each value and the survivor, paged and filtered by system.
fn sources_that_disagree_are_listed_as_conflicts(case: &Case) {
    case.write(
        "mdm.toml",
        "[systems.ERP]\ntrust = 1\n[systems.CRM]\ntrust = 2\n",
    );
    let header =
        "source_id,given_name,family_name,birth_date,email,phone,street,postcode,city,country\n";
    let erp = case.write(
        "erp.csv",
        format!(
            "{header}E1,Anna,Berg,1980-01-02,anna@berg.de,+49 171 5550001,Hauptstr. 1,89073,Ulm,DE\n\
             E2,Tom,Baker,1970-05-06,tom@baker.com,,Main St 1,75201,Dallas,US\n"
        ),
    );
    let crm = case.write(
        "crm.csv",
        format!(
            "{header}C1,Anne,Berg,02.01.1980,ANNA@BERG.DE,0171 5550001,Hauptstrasse 1,89073,ULM,Germany\n\
             C2,Tom,Baker,1971-05-06,tom.baker@mail.com,,Elm St 5,75201,Dallas,USA\n"
        ),
    );
    case.ingest_customers("ERP", &erp);
    case.ingest_customers("CRM", &crm);
    for (a, b) in [("E1", "C1"), ("E2", "C2")] {
        insert_decision(
            &mut case.conn(),
            &NewDecision {
                domain: "customer",
                kind: "must_link",
                a: ("ERP", a),
                b: ("CRM", b),
                decided_by: "steward1",
                reason: "test",
            },
        )
        .unwrap();
    }
    reconcile(case);
    let (golden, _) = golden_of(case, "ERP", "E2");

    let s = Server::start(case, &[]);
    let tok = case.token("reader", None);
    let get = |q: &str| {
        s.get(&format!("/v1/quality/conflicts?{q}"), Some(&tok))
            .ok()
    };
    let page = get("domain=customer");
    assert_eq!(page["total"], 3, "{page}");
    let findings = page["findings"].as_array().unwrap();
    let attrs: Vec<&str> = findings
        .iter()
        .map(|f| f["attribute"].as_str().unwrap())
        .collect();
    assert_eq!(attrs, ["birth_date", "email", "address"], "{page}");
    let gid = findings[0]["golden_id"].as_str().unwrap();
    assert!(findings.iter().all(|f| f["golden_id"] == gid));
    let birth = &findings[0];
    assert_eq!(birth["survived"], golden["birth_date"], "{birth}");
    let values: Vec<(&str, &str, bool)> = birth["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap(),
                v["sources"][0]["source_id"].as_str().unwrap(),
                v["survived"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [("1970-05-06", "E2", true), ("1971-05-06", "C2", false)],
        "frequent, then trust: ERP's date survives; {birth}"
    );
    let address = &findings[2];
    let shown: Vec<&str> = address["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 2, "{address}");
    assert!(shown.contains(&"Main St 1, 75201, Dallas, US"), "{address}");
    assert!(shown.contains(&"Elm St 5, 75201, Dallas, US"), "{address}");
    for f in findings {
        let survivor: Vec<&Value> = f["values"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["survived"] == true)
            .collect();
        assert_eq!(survivor.len(), 1, "{f}");
        assert_eq!(survivor[0]["value"], f["survived"], "{f}");
    }

    // Pages and the system filter.
    let first = get("domain=customer&limit=1");
    assert_eq!(
        (
            first["findings"].as_array().unwrap().len(),
            &first["next_offset"]
        ),
        (1, &1.into())
    );
    let last = get("domain=customer&offset=2&limit=5");
    assert_eq!(last["findings"][0]["attribute"], "address", "{last}");
    assert!(last["next_offset"].is_null(), "{last}");
    assert_eq!(get("domain=customer&system=CRM")["total"], 3);
    assert_eq!(get("domain=customer&system=MES")["total"], 0);
    s.get("/v1/quality/conflicts?domain=nosuch", Some(&tok))
        .problem(404, "unknown_domain");
    s.stop();

    let cli = |extra: &[&str]| {
        let out = run_ok(
            case.mdm()
                .args([
                    "quarantine",
                    "values",
                    "--domain",
                    "customer",
                    "--kind",
                    "conflicting",
                ])
                .args(extra),
        );
        text(&out.stdout)
    };
    let nd = cli(&["--json"]);
    let lines: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{nd}");
    assert_eq!(lines[0]["values"], birth["values"]);
    let table = cli(&[]);
    assert!(
        table.starts_with("golden_id\tattribute\tsurvived\tvalues\n"),
        "{table}"
    );
    assert!(
        table.contains("birth_date\t1970-05-06\t*1970-05-06 (ERP/E2) | 1971-05-06 (CRM/C2)"),
        "{table}"
    );
}
