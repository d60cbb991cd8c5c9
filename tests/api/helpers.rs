//! Shared test plumbing: a per-test working directory and database, running `mdm` in it,
//! and reading staging back.

use mdm_store::staging::StagedVersion;
use mdm_store::testing::TestDb;
use mdm_store::DbConnection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs a test body once per backend: `backends!(name)` expands to a module `name` with a
/// `sqlite` and a `postgres` test calling `name(&Case)`.
macro_rules! backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(&$crate::helpers::Case::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(case) = $crate::helpers::Case::postgres() {
                    super::$name(&case);
                }
            }
        }
    )*};
}
pub(crate) use backends;

/// One test's world: a working directory and a database of its own.
pub struct Case {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
}

impl Case {
    pub fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            db: TestDb::sqlite(),
        }
    }

    pub fn postgres() -> Option<Self> {
        Some(Self {
            dir: tempfile::tempdir().unwrap(),
            db: TestDb::postgres()?,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `mdm` in this case's directory, against its database.
    pub fn mdm(&self) -> Command {
        let mut cmd = mdm_in(self.dir.path());
        cmd.arg("--database-url").arg(self.db.url());
        cmd
    }

    /// Runs `mdm ingest ... --json` and returns the summary.
    pub fn ingest(&self, args: &[&str]) -> serde_json::Value {
        let out = run_ok(self.mdm().arg("ingest").args(args).arg("--json"));
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", text(&out.stdout)))
    }

    /// `mdm ingest` of one customer file of `system`.
    pub fn ingest_customers(&self, system: &str, file: &Path) -> serde_json::Value {
        self.ingest(&[
            "--domain",
            "customer",
            "--source",
            system,
            file.to_str().unwrap(),
        ])
    }

    /// `mdm generate` of customers for `systems` into `./data`, then `mdm ingest` of each
    /// system's file. `corruption` multiplies the generator's error rates.
    pub fn generated_customers(&self, entities: u32, systems: &[&str], seed: u64, corruption: f64) {
        let data = self.path("data");
        run_ok(self.mdm().args([
            "generate",
            "--domain",
            "customer",
            "--entities",
            &entities.to_string(),
            "--systems",
            &systems.join(","),
            "--seed",
            &seed.to_string(),
            "--corruption",
            &corruption.to_string(),
            "--out",
            data.to_str().unwrap(),
        ]));
        self.ingest_generated(systems);
    }

    /// `mdm ingest` of each system's file in `./data` (again).
    pub fn ingest_generated(&self, systems: &[&str]) {
        let data = self.path("data");
        for s in systems {
            let f = data.join(format!("{s}.csv"));
            self.ingest_customers(s, &f);
        }
    }

    /// One reconcile run of the customer domain, in-process, with default options and a
    /// second session for reads, as `mdm reconcile` runs it.
    pub fn reconcile_customers(&self) -> mdm_service::RunSummary {
        let rules = mdm_rules::load_domain(None, "customer").unwrap();
        let ctx = mdm_core::standardize::StdContext::default();
        mdm_service::reconcile_with_reader(
            &mut self.conn(),
            mdm_store::open_second(self.db.url()).unwrap().as_mut(),
            &rules,
            &ctx,
            mdm_service::ReconcileOptions::default(),
            &|_, _, _| {},
        )
        .expect("reconcile")
    }

    pub fn conn(&self) -> DbConnection {
        mdm_store::open(self.db.url()).unwrap()
    }

    pub fn live(&self, system: &str) -> Vec<StagedVersion> {
        mdm_store::staging::live(&mut self.conn(), "customer", Some(system)).unwrap()
    }

    pub fn attributes(&self, system: &str, source_id: &str) -> serde_json::Value {
        let v = self
            .live(system)
            .into_iter()
            .find(|v| v.source_id == source_id)
            .expect("record staged");
        serde_json::from_str(&v.attributes).unwrap()
    }
}

/// `mdm` in `dir`, with no `MDM_*` variables inherited from the test's environment.
pub fn mdm_in(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mdm"));
    cmd.current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("MDM_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("mdm runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

pub fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().expect("mdm runs");
    assert!(
        !out.status.success(),
        "{cmd:?} should fail:\nstdout: {}",
        text(&out.stdout)
    );
    text(&out.stderr)
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The summary's counts as (read, new, changed, unchanged, deleted, quarantined).
pub fn counts(s: &serde_json::Value) -> (u64, u64, u64, u64, u64, u64) {
    let n = |k: &str| {
        s[k].as_u64()
            .unwrap_or_else(|| panic!("summary lacks `{k}`: {s}"))
    };
    (
        n("read"),
        n("new"),
        n("changed"),
        n("unchanged"),
        n("deleted"),
        n("quarantined"),
    )
}
