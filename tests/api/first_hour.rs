//! A newcomer's first hour (issue 22, item 5), through the real binary: errors said once,
//! a closed pipe ending quietly, plain logs off a terminal, `mdm serve` saying where to go,
//! an idle incremental run saying so, `--json` results and a report that adds up.

use crate::helpers::{backends, run_err, run_ok, text, Case};
use crate::reconcile::{generated, reconcile};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

backends!(
    export_to_a_closed_pipe_ends_quietly,
    idle_incremental_reconcile_says_nothing_changed
);

#[test]
fn a_missing_input_file_is_named_once() {
    let case = Case::sqlite();
    let err = run_err(case.mdm().args([
        "ingest",
        "--domain",
        "customer",
        "--source",
        "ERP",
        "nosuch.csv",
    ]));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: nosuch.csv: "), "{err}");
    // The OS's reason, whatever its wording, once.
    let os = std::fs::File::open(case.path("nosuch.csv"))
        .unwrap_err()
        .to_string();
    assert_eq!(err.matches(&os).count(), 1, "{err}");
}

fn export_to_a_closed_pipe_ends_quietly(case: &Case) {
    generated(case, 1000, 3);
    reconcile(case, &[]);
    // The export must be larger than a pipe's buffer (64 KiB on Linux), or no write fails.
    let file = case.path("golden.csv");
    run_ok(
        case.mdm()
            .args(["export", "golden", "--domain", "customer", "--out"])
            .arg(&file),
    );
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 128 * 1024, "export too small to fill a pipe: {size}");
    for format in ["csv", "ndjson"] {
        let mut cmd = case.mdm();
        cmd.args(["export", "golden", "--domain", "customer", "--out", "-"])
            .args(["--format", format]);
        let (first, status, stderr) = first_line_then_gone(&mut cmd);
        assert!(first.contains("golden_id"), "{first}");
        assert!(status.success(), "{format}: {status}: {stderr}");
        assert_eq!(stderr, "", "{format}");
    }
}

/// Runs `cmd`, reads the first line of its output and goes away (`| head -1`): that line,
/// the exit status and everything it wrote to stderr.
fn first_line_then_gone(
    cmd: &mut std::process::Command,
) -> (String, std::process::ExitStatus, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (first, child.wait().unwrap(), stderr)
}

/// Any command, not only `export --out -`: `mdm quarantine list | head -1` (its rows are
/// written with `writeln!`) and `mdm quarantine show` output read by nobody end quietly.
#[test]
fn a_closed_pipe_ends_any_command_quietly() {
    let case = Case::sqlite();
    let mut csv = String::from("source_id,given_name,birth_date\n");
    for i in 0..6000 {
        let day = if i % 3 == 0 { "30" } else { "03" };
        csv.push_str(&format!("R{i},Ann,1980-02-{day}\n"));
    }
    let f = case.write("bad.csv", csv);
    case.ingest_customers("ERP", &f);
    let (first, status, stderr) = first_line_then_gone(case.mdm().args(["quarantine", "list"]));
    assert!(first.starts_with("id\t"), "{first}");
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        !stderr.contains("error") && !stderr.contains("panicked"),
        "{stderr}"
    );
}

#[test]
fn logs_have_no_colour_codes_off_a_terminal() {
    let case = Case::sqlite();
    generated(&case, 50, 1);
    let out = run_ok(
        case.mdm()
            .args(["-vv", "reconcile", "--domain", "customer"]),
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("INFO") || stderr.contains("DEBUG"),
        "{stderr}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!text(&out.stdout).contains('\u{1b}'));
}

#[test]
fn serve_prints_the_console_and_docs_urls() {
    let case = Case::sqlite();
    let mut child = case
        .mdm()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let (first, console, docs) = (next(), next(), next());
    let base = first
        .strip_prefix("listening on ")
        .expect(&first)
        .to_string();
    let url_in = |line: &str, path: &str| {
        let url = format!("{base}{path}");
        assert!(line.contains(&url), "{line} lacks {url}");
        url
    };
    let client = reqwest::blocking::Client::new();
    let console_url = url_in(&console, "/console");
    let docs_url = url_in(&docs, "/docs/");
    let openapi_url = url_in(&docs, "/openapi.json");
    for url in [console_url, docs_url, openapi_url] {
        let status = client.get(&url).send().map(|r| r.status());
        assert!(
            matches!(status, Ok(s) if s.is_success()),
            "{url}: {status:?}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

fn idle_incremental_reconcile_says_nothing_changed(case: &Case) {
    // The shipped samples leave pairs for review: an open backlog is not a change.
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/customer");
    for system in ["ERP", "CRM", "MES"] {
        case.ingest_customers(system, &samples.join(format!("{system}.csv")));
    }
    let first = reconcile(case, &[]);
    assert!(first["nothing_changed_since_run"].is_null(), "{first}");
    assert!(
        first["counts"]["review_items"].as_u64() > Some(0),
        "{first}"
    );
    let run = |args: &[&str]| {
        text(
            &run_ok(
                case.mdm()
                    .args(["reconcile", "--domain", "customer"])
                    .args(args),
            )
            .stdout,
        )
    };
    let idle = run(&[]);
    let since = format!("nothing changed since run {}", first["run_id"]);
    assert!(idle.contains(&since), "{idle}");
    let json = reconcile(case, &[]);
    assert_eq!(json["nothing_changed_since_run"], first["run_id"], "{json}");
    // A full run re-matches everything: it is not "nothing changed".
    let full = run(&["--full"]);
    assert!(!full.contains("nothing changed"), "{full}");
    // A changed record: the run says what it did.
    let f = case.write(
        "one.csv",
        "source_id,given_name,family_name,email\nX1,Ada,Lovelace,ada@example.com\n",
    );
    case.ingest_customers("ERP", &f);
    let busy = run(&[]);
    assert!(!busy.contains("nothing changed"), "{busy}");
    assert!(busy.contains("created 1"), "{busy}");
}

backends!(
    report_json_is_nested_and_its_counts_add_up,
    json_on_commands_that_print_a_result,
    json_on_generate_match_and_demo
);

fn report_json_is_nested_and_its_counts_add_up(case: &Case) {
    // Enough entities for a review backlog longer than the report's list of ten.
    generated(case, 2000, 3);
    reconcile(case, &[]);
    let dir = case.path("rep");
    let out = run_ok(case.mdm().args(["report", "--json", "--out"]).arg(&dir));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json is JSON");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(r, file, "--json prints what report.json holds");
    // Nested objects, not JSON in strings; times with their zone.
    let run = &r["run"];
    assert!(run["stats"].is_object(), "{run}");
    assert!(run["stats"]["timings"]["match"].is_f64(), "{run}");
    for t in ["started_at", "finished_at"] {
        let at = run[t].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{t}: {at}"
        );
        assert!(at.ends_with('Z'), "{t}: {at}");
    }
    let walk = |v: &serde_json::Value| -> Vec<String> {
        let mut strings = vec![];
        let mut stack = vec![v.clone()];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::String(s) => strings.push(s),
                serde_json::Value::Array(a) => stack.extend(a),
                serde_json::Value::Object(o) => stack.extend(o.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
        strings
    };
    for s in walk(&r) {
        assert!(!s.trim_start().starts_with('{'), "JSON in a string: {s}");
    }
    // The counts add up.
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    let (g, d) = (&r["golden"], &r["duplicates"]);
    assert_eq!(
        n(&g["source_records"]),
        n(&g["active"]) + n(&d["redundant_records"]),
        "{r}"
    );
    assert_eq!(
        n(&d["golden_with_duplicates"]),
        n(&d["across_systems"]) + n(&d["within_system_only"]),
        "{d}"
    );
    let current: u64 = r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| n(&s["current"]))
        .sum();
    assert_eq!(current, n(&g["source_records"]), "{r}");
    let gc = &run["golden_records"];
    assert_eq!(n(&gc["created"]), n(&g["active"]), "{run}");
    // The text says what it counts; the page says it shows part of a long backlog.
    let text_out = text(&run_ok(case.mdm().args(["report", "--out"]).arg(&dir)).stdout);
    assert!(text_out.contains("active golden records"), "{text_out}");
    assert!(
        text_out.contains("this run, golden records: created"),
        "{text_out}"
    );
    let pending = n(&r["review"]["pending"]);
    let shown = r["review"]["top"].as_array().unwrap().len() as u64;
    assert!(
        pending > shown,
        "backlog of {pending} fits the page: no test of the note"
    );
    // The cut list says so in JSON (shown, total) and on the page ("10 of 24").
    assert_eq!(
        (n(&r["review"]["shown"]), n(&r["review"]["total"])),
        (shown, pending),
        "{}",
        r["review"]
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for note in [
        format!("{shown} of {pending} shown"),
        format!("the {shown} most likely matches of {pending} pairs"),
    ] {
        assert!(html.contains(&note), "{note} missing");
    }
}

fn json_on_commands_that_print_a_result(case: &Case) {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run_ok(case.mdm().args(args));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", text(&out.stdout)))
    };
    let m = json(&["migrate", "--json"]);
    assert!(
        m["schema_version"].is_string() && m["migrations"].as_u64() > Some(0),
        "{m}"
    );
    let created = json(&[
        "token", "create", "--role", "steward", "--label", "ada", "--json",
    ]);
    let id = created["id"].as_str().expect("id").to_string();
    assert!(
        created["token"].as_str().is_some_and(|t| t.len() > 20),
        "{created}"
    );
    assert_eq!(created["role"], "steward");
    let listed = json(&["token", "list", "--json"]);
    let t = &listed.as_array().expect("an array")[0];
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["label"], "ada");
    assert!(
        t.get("token").is_none() && t.get("token_hash").is_none(),
        "{t}"
    );
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'), "{t}");
    assert!(t["revoked_at"].is_null());
    let revoked = json(&["token", "revoke", &id, "--json"]);
    assert_eq!(revoked["revoked"], id.as_str());
    let listed = json(&["token", "list", "--json"]);
    assert!(listed[0]["revoked_at"].as_str().unwrap().ends_with('Z'));
    generated(case, 30, 4);
    reconcile(case, &[]);
    let out = case.path("x.csv");
    let e = json(&[
        "export",
        "xref",
        "--domain",
        "customer",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = std::fs::read_to_string(&out).unwrap().lines().count() as u64 - 1;
    assert_eq!(e["rows"].as_u64(), Some(rows), "{e}");
    let err = run_err(case.mdm().args([
        "export", "xref", "--domain", "customer", "--json", "--out", "-",
    ]));
    assert!(err.contains("--json"), "{err}");
}

/// The README's "two commands" stay what CI runs, and its quick start's configuration
/// declares the sample systems with trust ranks.
#[test]
fn readme_commands_match_ci_and_the_quick_start() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let two = &readme[readme.find("## The two commands").expect("section")..];
    let two = &two[..two[3..].find("\n## ").unwrap()];
    assert!(two.contains("cargo run --release -- demo"), "{two}");
    let test_cmd = "cargo test --workspace";
    assert!(two.contains(&format!("\n{test_cmd}\n")), "{two}");
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap();
    assert!(
        ci.lines().any(|l| l.trim().starts_with(test_cmd)),
        "CI does not run `{test_cmd}`"
    );
    assert!(readme.contains("cargo install --path ."));
    assert!(readme.contains("cp mdm.example.toml mdm.toml"));
    let example = std::fs::read_to_string(root.join("mdm.example.toml")).unwrap();
    let config: toml::Value = toml::from_str(&example).unwrap();
    for (system, trust) in [("ERP", 1), ("CRM", 2), ("MES", 3)] {
        assert_eq!(
            config["systems"][system]["trust"].as_integer(),
            Some(trust),
            "{system}"
        );
    }
    let ignored = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == "/mdm-demo/"));
}

/// `--json` on `mdm generate`, `mdm match` and `mdm demo`: one summary object on stdout
/// whose counts agree with the files written.
fn json_on_generate_match_and_demo(case: &Case) {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run_ok(case.mdm().args(args));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", text(&out.stdout)))
    };
    let lines = |p: &str| std::fs::read_to_string(p).unwrap().lines().count() as u64 - 1;
    let gen = case.path("gen");
    let g = json(&[
        "generate",
        "--domain",
        "customer",
        "--entities",
        "60",
        "--out",
        gen.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(g["entities"], 60, "{g}");
    let systems = g["systems"].as_array().expect("systems");
    assert_eq!(systems.len(), 3, "{g}");
    let mut records = 0;
    let mut inputs = Vec::new();
    for s in systems {
        let file = s["file"].as_str().expect("file");
        assert_eq!(s["records"].as_u64(), Some(lines(file)), "{s}");
        records += lines(file);
        inputs.push(format!("{}={file}", s["system"].as_str().unwrap()));
    }
    assert_eq!(g["records"].as_u64(), Some(records), "{g}");
    assert_eq!(lines(g["truth"].as_str().expect("truth")), records, "{g}");

    let out = case.path("clusters.csv");
    let mut args = vec![
        "match",
        "--domain",
        "customer",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ];
    for i in &inputs {
        args.extend(["--input", i.as_str()]);
    }
    let m = json(&args);
    assert_eq!(m["records"].as_u64(), Some(records), "{m}");
    assert_eq!(lines(out.to_str().unwrap()), records, "{m}");
    let clusters = m["clusters"].as_u64().expect("clusters");
    assert!(clusters > 0 && clusters < records, "{m}");
    assert!(
        m["matches"].as_u64() > Some(0) && m["candidate_pairs"].as_u64() > Some(0),
        "{m}"
    );

    let dir = case.path("demo");
    let d = json(&[
        "demo",
        "--entities",
        "150",
        "--dir",
        dir.to_str().unwrap(),
        "--json",
    ]);
    let loads = d["loads"].as_array().expect("loads");
    assert_eq!(loads.len(), 3, "{d}");
    assert!(loads.iter().all(|l| l["read"].as_u64() > Some(0)), "{d}");
    assert!(d["run"]["run_id"].as_i64() > Some(0), "{d}");
    assert!(d["report"].is_object(), "{d}");
    assert!(
        std::path::Path::new(d["report_html"].as_str().unwrap()).is_file(),
        "{d}"
    );
}
