//! `mdm publish`: golden IDs and values written back into a source system's own table, in a
//! second database (a SQLite file, and a fresh PostgreSQL database): a first full write,
//! an incremental one, a merge, a split, a deletion, re-runs that write nothing, and a
//! process killed (SIGKILL) between the target's commit and the cursor's move that writes
//! nothing twice. The hub runs on both backends.

use crate::helpers::{backends, run_err, run_ok, text, Case};
use crate::reconcile::reconcile;
use crate::server::Server;
use diesel::RunQueryDsl;
use mdm_store::decisions::{insert_decision, withdraw_decision, NewDecision};
use mdm_store::testing::TestDb;
use mdm_store::{on_backend, DbConnection};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;

backends!(
    ids_follow_changes_merges_splits_and_deletions,
    killed_after_target_commit_writes_nothing_twice,
    missing_table_is_refused_or_created,
    serve_writes_back_every_interval,
);

/// A write-back target: a second database with the ERP's table, and a count of the rows
/// each statement touched (a trigger), which shows a write however the job counts it.
struct Target {
    url: String,
    _db: Option<TestDb>,
}

impl Target {
    /// The SQLite file and, unless PostgreSQL is skipped, a fresh PostgreSQL database.
    fn all(case: &Case) -> Vec<Target> {
        let mut out = vec![Target {
            url: format!("sqlite://{}", case.path("erp.db").display()),
            _db: None,
        }];
        if let Some(db) = TestDb::postgres() {
            out.push(Target {
                url: db.url().to_string(),
                _db: Some(db),
            });
        }
        out
    }

    fn conn(&self) -> DbConnection {
        let mut c = mdm_store::connect(&self.url).unwrap();
        // The hub may be writing the target file while the test reads it: wait, as the
        // hub's own connections do, instead of failing with "database is locked".
        if let DbConnection::Sqlite(s) = &mut c {
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(s)
                .unwrap();
        }
        c
    }

    fn exec(&self, sql: &str) {
        let mut c = self.conn();
        on_backend!(&mut c, c => diesel::sql_query(sql).execute(c))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    fn is_pg(&self) -> bool {
        self.url.starts_with("postgres")
    }

    /// The source's table (numeric source IDs, so PostgreSQL casts the bound text) and a
    /// trigger counting every row written.
    fn create_table(&self) {
        self.exec("DROP TABLE IF EXISTS erp_ids");
        self.exec("CREATE TABLE erp_ids (kunnr BIGINT PRIMARY KEY, mdm_id TEXT, mdm_email TEXT, mdm_family TEXT, note TEXT)");
        self.exec("CREATE TABLE row_writes (n INTEGER)");
        if self.is_pg() {
            self.exec("CREATE FUNCTION count_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO row_writes VALUES (1); RETURN NEW; END $$");
            self.exec("CREATE TRIGGER erp_ids_w AFTER INSERT OR UPDATE OR DELETE ON erp_ids FOR EACH ROW EXECUTE PROCEDURE count_write()");
        } else {
            for ev in ["INSERT", "UPDATE", "DELETE"] {
                self.exec(&format!("CREATE TRIGGER erp_ids_{ev} AFTER {ev} ON erp_ids BEGIN INSERT INTO row_writes VALUES (1); END"));
            }
        }
    }

    fn row_writes(&self) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = self.conn();
        let sql = "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM row_writes";
        let r: Vec<N> = on_backend!(&mut c, c => diesel::sql_query(sql).load(c)).unwrap();
        r[0].n
    }

    /// kunnr -> (mdm_id, mdm_email, mdm_family).
    fn rows(&self) -> BTreeMap<String, Row3> {
        #[derive(diesel::QueryableByName)]
        struct R {
            #[diesel(sql_type = diesel::sql_types::Text)]
            k: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            g: Option<String>,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            e: Option<String>,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            f: Option<String>,
        }
        let sql = "SELECT CAST(kunnr AS TEXT) AS k, mdm_id AS g, mdm_email AS e, mdm_family AS f FROM erp_ids";
        let mut c = self.conn();
        let rows: Vec<R> = on_backend!(&mut c, c => diesel::sql_query(sql).load(c)).unwrap();
        rows.into_iter().map(|r| (r.k, (r.g, r.e, r.f))).collect()
    }
}

type Row3 = (Option<String>, Option<String>, Option<String>);

fn configure(case: &Case, target: &Target) {
    case.write(
        "mdm.toml",
        format!(
            "[systems.ERP]\ntrust = 1\n\
             [systems.ERP.writeback]\nurl = \"{}\"\ndomain = \"customer\"\ntable = \"erp_ids\"\n\
             source_id_column = \"kunnr\"\ngolden_id_column = \"mdm_id\"\n\
             values = {{ email = \"mdm_email\", family_name = \"mdm_family\" }}\n\
             # Two events a batch, so a run takes several target transactions.\nbatch_events = 2\n\
             [systems.CRM]\ntrust = 2\n",
            target.url
        ),
    );
}

const ERP_HEADER: &str = "source_id,given_name,family_name,email,city\n";
const ANNA: &str = "1001,Anna,Berg,anna@berg.de,Ulm\n";
const ZOLTAN: &str = "1002,Zoltan,Kovacs,zk@example.hu,Pecs\n";
const ZOLTAN_NEW_MAIL: &str = "1002,Zoltan,Kovacs,zoltan@kovacs.hu,Pecs\n";
const CARL: &str = "1003,Carl,Dorn,carl@dorn.de,Kiel\n";

fn ingest_erp(case: &Case, rows: &[&str], snapshot: bool) {
    let f = case.write("erp.csv", format!("{ERP_HEADER}{}", rows.concat()));
    let mut args = vec!["--domain", "customer", "--source", "ERP"];
    if snapshot {
        args.push("--snapshot");
    }
    args.push(f.to_str().unwrap());
    case.ingest(&args);
}

/// `mdm publish --system ERP --json`: (written, removed).
fn publish(case: &Case) -> (u64, u64) {
    let out = run_ok(case.mdm().args(["publish", "--system", "ERP", "--json"]));
    let s: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    (
        s["written"].as_u64().unwrap(),
        s["removed"].as_u64().unwrap(),
    )
}

/// The target holds what the hub holds: one row per ERP record with its golden ID and the
/// golden record's values; rows of records the hub no longer has are cleared.
fn assert_matches_hub(case: &Case, target: &Target, gone: &[&str]) {
    let mut conn = case.conn();
    let mut want: BTreeMap<String, Row3> = BTreeMap::new();
    for x in mdm_store::xref::load(&mut conn, "customer").unwrap() {
        if x.system != "ERP" {
            continue;
        }
        let g = mdm_store::golden::get(&mut conn, "customer", &x.golden_id)
            .unwrap()
            .unwrap()
            .record;
        let a: Value = serde_json::from_str(&g.attributes).unwrap();
        let v = |k: &str| a[k].as_str().map(str::to_string);
        want.insert(
            x.source_id.clone(),
            (Some(x.golden_id), v("email"), v("family_name")),
        );
    }
    for k in gone {
        want.insert(k.to_string(), (None, None, None));
    }
    assert_eq!(target.rows(), want, "target {}", target.url);
}

fn gid(case: &Case, source_id: &str) -> String {
    mdm_store::xref::lookup(&mut case.conn(), "customer", "ERP", source_id)
        .unwrap()
        .unwrap()
        .golden_id
}

fn decide(case: &Case, kind: &str, a: &str, b: &str) -> i64 {
    insert_decision(
        &mut case.conn(),
        &NewDecision {
            domain: "customer",
            kind,
            a: ("ERP", a),
            b: ("ERP", b),
            decided_by: "steward1",
            reason: "test",
        },
    )
    .unwrap()
}

fn ids_follow_changes_merges_splits_and_deletions(case: &Case) {
    for target in Target::all(case) {
        ids_follow_changes_into(case, &target);
    }
}

fn ids_follow_changes_into(case: &Case, target: &Target) {
    let case = &Case {
        dir: tempfile::tempdir().unwrap(),
        db: if case.db.is_postgres() {
            TestDb::postgres().unwrap()
        } else {
            TestDb::sqlite()
        },
    };
    configure(case, target);
    target.create_table();
    // A row the hub knows nothing of stays as it is.
    target.exec("INSERT INTO erp_ids (kunnr, note) VALUES (999, 'not in the hub')");
    ingest_erp(case, &[ANNA, ZOLTAN], false);
    reconcile(case, &[]);
    let before = target.row_writes();

    // First full write, then a re-run that writes nothing.
    assert_eq!(publish(case), (2, 0));
    assert_matches_hub(case, target, &["999"]);
    assert_eq!(publish(case), (0, 0));
    assert_eq!(target.row_writes() - before, 2, "two rows written, once");

    // Incremental: a changed value and a new record.
    ingest_erp(case, &[ANNA, ZOLTAN_NEW_MAIL, CARL], false);
    reconcile(case, &[]);
    assert_eq!(publish(case), (2, 0));
    assert_matches_hub(case, target, &["999"]);

    // A merge: the retired record's row gets the survivor's ID.
    let (a, z) = (gid(case, "1001"), gid(case, "1002"));
    let link = decide(case, "must_link", "1001", "1002");
    reconcile(case, &[]);
    let survivor = gid(case, "1001");
    assert_eq!(gid(case, "1002"), survivor);
    assert!(survivor == a || survivor == z);
    let (written, removed) = publish(case);
    assert!(written >= 1 && removed == 0, "{written} {removed}");
    assert_eq!(target.rows()["1001"].0, target.rows()["1002"].0);
    assert_matches_hub(case, target, &["999"]);
    assert_eq!(publish(case), (0, 0));

    // A split: the two rows point at two golden records again.
    assert!(withdraw_decision(&mut case.conn(), link).unwrap());
    decide(case, "cannot_link", "1001", "1002");
    reconcile(case, &[]);
    assert_ne!(gid(case, "1001"), gid(case, "1002"));
    let (written, _) = publish(case);
    assert!(written >= 1);
    assert_ne!(target.rows()["1001"].0, target.rows()["1002"].0);
    assert_matches_hub(case, target, &["999"]);

    // A record deleted in the source: its row is cleared, once.
    ingest_erp(case, &[ANNA, ZOLTAN_NEW_MAIL], true);
    reconcile(case, &[]);
    assert_eq!(publish(case), (0, 1));
    assert_matches_hub(case, target, &["999", "1003"]);
    let writes = target.row_writes();
    assert_eq!(publish(case), (0, 0));
    assert_eq!(target.row_writes(), writes, "a re-run writes nothing");
}

fn killed_after_target_commit_writes_nothing_twice(case: &Case) {
    for target in Target::all(case) {
        let case = &Case {
            dir: tempfile::tempdir().unwrap(),
            db: if case.db.is_postgres() {
                TestDb::postgres().unwrap()
            } else {
                TestDb::sqlite()
            },
        };
        configure(case, &target);
        target.create_table();
        ingest_erp(case, &[ANNA, ZOLTAN, CARL], false);
        reconcile(case, &[]);

        let mut child = case
            .mdm()
            .args(["publish", "--system", "ERP", "--json"])
            .env("MDM_TEST_PAUSE_AFTER_TARGET_COMMIT", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let paused = stderr
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("pausing"));
        assert!(paused, "publish never reached the pause");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The first batch (two events) is in the target; the cursor has not moved.
        assert_eq!(target.rows().len(), 2, "first batch committed");
        let cursor = mdm_store::cursors::get(&mut case.conn(), "writeback:ERP").unwrap();
        assert_eq!(
            cursor.acked_seq, 0,
            "cursor moved only after a commit that it never saw"
        );
        assert_eq!(target.row_writes(), 2);

        // The next run re-reads the batch and writes only the rest.
        assert_eq!(publish(case), (1, 0));
        assert_eq!(target.row_writes(), 3, "no row written twice");
        assert_matches_hub(case, &target, &[]);
    }
}

fn missing_table_is_refused_or_created(case: &Case) {
    let target = Target {
        url: format!("sqlite://{}", case.path("erp.db").display()),
        _db: None,
    };
    configure(case, &target);
    ingest_erp(case, &[ANNA], false);
    reconcile(case, &[]);
    let err = run_err(case.mdm().args(["publish", "--system", "ERP"]));
    assert!(
        err.contains("erp_ids does not exist") && err.contains("--create-table"),
        "{err}"
    );
    target.exec("CREATE TABLE erp_ids (kunnr TEXT PRIMARY KEY, mdm_id TEXT)");
    let err = run_err(case.mdm().args(["publish", "--system", "ERP"]));
    assert!(err.contains("no column mdm_email, mdm_family"), "{err}");
    target.exec("DROP TABLE erp_ids");
    run_ok(
        case.mdm()
            .args(["publish", "--system", "ERP", "--create-table"]),
    );
    assert_matches_hub(case, &target, &[]);
    // A name that is not a plain identifier never reaches SQL.
    let toml = std::fs::read_to_string(case.path("mdm.toml")).unwrap();
    case.write(
        "mdm.toml",
        toml.replace("\"mdm_id\"", "\"mdm_id; DROP TABLE x\""),
    );
    let err = run_err(case.mdm().args(["publish", "--system", "ERP"]));
    assert!(err.contains("not a plain SQL identifier"), "{err}");
}

/// `mdm serve` with `interval_secs` writes back on its own, changes included.
fn serve_writes_back_every_interval(case: &Case) {
    let target = Target {
        url: format!("sqlite://{}", case.path("erp.db").display()),
        _db: None,
    };
    configure(case, &target);
    let toml = std::fs::read_to_string(case.path("mdm.toml")).unwrap();
    case.write(
        "mdm.toml",
        toml.replace(
            "batch_events = 2\n",
            "batch_events = 2\ninterval_secs = 1\n",
        ),
    );
    target.create_table();
    ingest_erp(case, &[ANNA, ZOLTAN], false);
    reconcile(case, &[]);
    let server = Server::start(case, &[]);
    let until = |done: &dyn Fn(&BTreeMap<String, Row3>) -> bool| {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !done(&target.rows()) {
            assert!(
                std::time::Instant::now() < end,
                "no write-back: {:?}",
                target.rows()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    until(&|rows| rows.len() == 2);
    assert_matches_hub(case, &target, &[]);
    ingest_erp(case, &[ANNA, ZOLTAN_NEW_MAIL], false);
    reconcile(case, &[]);
    until(&|rows| rows["1002"].1.as_deref() == Some("zoltan@kovacs.hu"));
    assert_matches_hub(case, &target, &[]);
    server.stop();
}
