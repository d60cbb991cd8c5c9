//! Configuration layering through the real binary: defaults < mdm.toml (or --config) <
//! MDM__* / MDM_DATABASE_URL environment variables < command-line flags.

use crate::helpers::{mdm_in, run_err, run_ok, text};

/// Runs `mdm migrate` and returns the database it reports.
fn migrated_db(cmd: &mut std::process::Command) -> String {
    let out = text(&run_ok(cmd.arg("migrate")).stdout);
    out.split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string()
}

#[test]
fn database_url_layers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(
        migrated_db(&mut mdm_in(d)),
        "sqlite://mdm.db",
        "built-in default"
    );
    assert!(d.join("mdm.db").exists());

    std::fs::write(
        d.join("mdm.toml"),
        "database_url = \"sqlite://from_file.db\"\n",
    )
    .unwrap();
    assert_eq!(migrated_db(&mut mdm_in(d)), "sqlite://from_file.db");
    assert!(d.join("from_file.db").exists());

    std::fs::write(
        d.join("other.toml"),
        "database_url = \"sqlite://from_flag_file.db\"\n",
    )
    .unwrap();
    assert_eq!(
        migrated_db(mdm_in(d).args(["--config", "other.toml"])),
        "sqlite://from_flag_file.db"
    );

    assert_eq!(
        migrated_db(mdm_in(d).env("MDM__DATABASE_URL", "sqlite://env2.db")),
        "sqlite://env2.db"
    );
    assert_eq!(
        migrated_db(mdm_in(d).env("MDM_DATABASE_URL", "sqlite://env1.db")),
        "sqlite://env1.db"
    );
    assert_eq!(
        migrated_db(
            mdm_in(d)
                .env("MDM_DATABASE_URL", "sqlite://env1.db")
                .arg("--database-url")
                .arg("sqlite://flag.db")
        ),
        "sqlite://flag.db"
    );
    // The flag also works after the subcommand.
    let out = text(
        &run_ok(mdm_in(d).env("MDM_DATABASE_URL", "sqlite://env1.db").args([
            "migrate",
            "--database-url",
            "sqlite://after.db",
        ]))
        .stdout,
    );
    assert!(out.contains("sqlite://after.db"), "{out}");
}

#[test]
fn system_trust_layers_and_mapping_survive() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("mdm.toml"),
        "[systems.ERP]\ntrust = 1\nmapping = { KUNNR = \"source_id\" }\n[systems.CRM]\ntrust = 2\n",
    )
    .unwrap();
    std::fs::write(d.join("erp.csv"), "KUNNR,city\n1,Ulm\n").unwrap();
    let ingest = |cmd: &mut std::process::Command| {
        run_ok(cmd.args([
            "ingest", "--domain", "customer", "--source", "ERP", "erp.csv",
        ]));
    };
    ingest(&mut mdm_in(d));
    let url = format!("sqlite://{}", d.join("mdm.db").display());
    let trust = |name: &str| {
        let all = mdm_store::systems::list(&mut mdm_store::open(&url).unwrap()).unwrap();
        all.into_iter()
            .find(|s| s.name == name)
            .map(|s| s.trust_rank)
    };
    assert_eq!((trust("ERP"), trust("CRM")), (Some(1), Some(2)));
    ingest(mdm_in(d).env("MDM__SYSTEMS__ERP__TRUST", "5"));
    assert_eq!(
        trust("ERP"),
        Some(5),
        "env overrides the file; the file's mapping still applies"
    );
}

#[test]
fn bad_configuration_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let err = run_err(mdm_in(d).args(["--config", "missing.toml", "migrate"]));
    assert!(
        err.contains("missing.toml") && err.contains("does not exist"),
        "{err}"
    );
    std::fs::write(d.join("mdm.toml"), "database_url = \n").unwrap();
    let err = run_err(mdm_in(d).arg("migrate"));
    assert!(err.contains("mdm.toml") && err.contains("line 1"), "{err}");
    std::fs::write(d.join("mdm.toml"), "databse_url = \"sqlite://x.db\"\n").unwrap();
    let err = run_err(mdm_in(d).arg("migrate"));
    assert!(err.contains("databse_url"), "{err}");
    let err = run_err(mdm_in(d).env("MDM__DATE_ORDER", "sideways").arg("migrate"));
    assert!(err.contains("date_order"), "{err}");
}
