//! Relationship precision and recall against the generator's truth (issue 25): generated
//! customers (ERP, CRM) with contacts of organizations, suppliers (ERP, PIM) in corporate
//! families each system knows only part of, and products (ERP, PIM) with their suppliers
//! (`mdm_testkit::links`), loaded and reconciled through the `mdm` binary as a user would
//! (`mdm ingest`, `mdm ingest --links`, `mdm reconcile`, `mdm export`), then scored: a golden
//! relationship is right when its two golden records stand for the two entities of a true
//! relationship (`mdm_testkit::links::score`), so matching mistakes count against it.
//!
//! ```text
//! cargo bench --bench relationships                      # 3,000 customers, SQLite
//! MDM_BENCH_ENTITIES=20000 cargo bench --bench relationships
//! MDM_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/rel cargo bench --bench relationships
//! ```

use mdm_core::DomainRules;
use mdm_testkit::links::{self, Links};
use mdm_testkit::{Domain, GenConfig, Generated};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The domains, their systems and their share of `MDM_BENCH_ENTITIES`.
const WORLD: [(&str, Domain, [&str; 2], f64); 3] = [
    ("customer", Domain::Customer, ["ERP", "CRM"], 1.0),
    ("supplier", Domain::Supplier, ["ERP", "PIM"], 0.3),
    ("product", Domain::Product, ["ERP", "PIM"], 0.6),
];

fn main() {
    let entities: usize = std::env::var("MDM_BENCH_ENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("MDM_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("mdm.db").display()));
    std::fs::write(
        dir.path().join("mdm.toml"),
        "[systems.ERP]\ntrust = 1\n[systems.CRM]\ntrust = 2\n[systems.PIM]\ntrust = 2\n",
    )
    .expect("config");
    let mdm = Mdm {
        dir: dir.path().to_path_buf(),
        url,
    };

    let t = Instant::now();
    let mut generated: HashMap<&str, (DomainRules, Generated)> = HashMap::new();
    for (domain, kind, systems, share) in WORLD {
        let rules = mdm_rules::load_domain(None, domain).expect("rules");
        let mut cfg = GenConfig::new(kind, (entities as f64 * share) as usize, 25);
        cfg.systems = systems
            .iter()
            .map(|s| mdm_core::SystemName::parse(s).expect("system"))
            .collect();
        let out = dir.path().join(domain);
        std::fs::create_dir_all(&out).expect("dir");
        mdm_testkit::generate_to_dir(&cfg, &rules, &out).expect("generate");
        let g = mdm_testkit::generate_records(&cfg, &rules).expect("generate");
        generated.insert(domain, (rules, g));
    }
    let (cust_rules, customers) = &generated["customer"];
    let suppliers = &generated["supplier"].1;
    let products = &generated["product"].1;
    let sets = [
        links::contacts(customers, cust_rules, 0.4, 1),
        links::families(suppliers, 0.6, 2),
        links::supplies(suppliers, products, 3),
    ];
    let refs: Vec<&Links> = sets.iter().collect();
    let files = links::write_links(&refs, dir.path()).expect("links files");
    let stated: usize = sets.iter().map(|s| s.stated.len()).sum();
    println!(
        "generated {} records, {stated} source links ({} true relationships) in {:.1} s",
        generated
            .values()
            .map(|(_, g)| g.records.len())
            .sum::<usize>(),
        sets.iter().map(|s| s.truth.len()).sum::<usize>(),
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    for (domain, _, systems, _) in WORLD {
        for s in systems {
            let file = dir.path().join(domain).join(format!("{s}.csv"));
            mdm.run(&["ingest", "--domain", domain, "--source", s, path(&file)]);
        }
    }
    for (domain, system, file) in &files {
        mdm.run(&[
            "ingest",
            "--domain",
            domain,
            "--source",
            system,
            "--links",
            path(file),
        ]);
    }
    println!("ingest {:.1} s", t.elapsed().as_secs_f64());
    for (domain, ..) in WORLD {
        let t = Instant::now();
        let out = mdm.run(&["reconcile", "--domain", domain, "--json"]);
        let summary: serde_json::Value =
            serde_json::from_str(out.lines().last().unwrap_or("{}")).expect("summary");
        println!(
            "reconcile {domain}: {:.1} s, relationships {}",
            t.elapsed().as_secs_f64(),
            summary["stats"]["relationships"]
        );
    }

    let entity_of = |domain: &str| -> HashMap<String, Vec<u64>> {
        let g = &generated[domain].1;
        let truth: HashMap<(String, String), u64> = g
            .records
            .iter()
            .zip(&g.entities)
            .map(|(r, e)| ((r.key.system.to_string(), r.key.source_id.to_string()), *e))
            .collect();
        let mut out: HashMap<String, Vec<u64>> = HashMap::new();
        for x in mdm.export("xref", domain) {
            let key = (str_of(&x, "source_system"), str_of(&x, "source_id"));
            if let Some(e) = truth.get(&key) {
                out.entry(str_of(&x, "golden_id")).or_default().push(*e);
            }
        }
        out
    };
    let ents: HashMap<&str, HashMap<String, Vec<u64>>> =
        WORLD.iter().map(|(d, ..)| (*d, entity_of(d))).collect();
    let mut all = (0, 0, 0, 0);
    for set in &sets {
        let to_domain = if set.rel_type == "supplies" {
            "product"
        } else {
            set.from_domain
        };
        let found: Vec<(String, String)> = mdm
            .export("relationships", set.from_domain)
            .into_iter()
            .filter(|r| {
                str_of(r, "type") == set.rel_type && str_of(r, "from_domain") == set.from_domain
            })
            .map(|r| (str_of(&r, "from_golden_id"), str_of(&r, "to_golden_id")))
            .collect();
        let s = links::score(&set.truth, &found, &ents[set.from_domain], &ents[to_domain]);
        println!(
            "{:<11} {}->{}: precision {:.4} ({} of {} golden relationships), recall {:.4} ({} of {} true)",
            set.rel_type,
            set.from_domain,
            to_domain,
            s.precision(),
            s.correct,
            s.found,
            s.recall(),
            s.recovered,
            s.truth
        );
        all = (
            all.0 + s.correct,
            all.1 + s.found,
            all.2 + s.recovered,
            all.3 + s.truth,
        );
    }
    println!(
        "all types: precision {:.4}, recall {:.4}",
        all.0 as f64 / all.1.max(1) as f64,
        all.2 as f64 / all.3.max(1) as f64
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn str_of(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_string()
}

/// The `mdm` binary in the bench's working directory, against its database.
struct Mdm {
    dir: PathBuf,
    url: String,
}

impl Mdm {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_mdm"))
            .current_dir(&self.dir)
            .arg("--database-url")
            .arg(&self.url)
            .args(args)
            .output()
            .expect("mdm runs");
        assert!(
            out.status.success(),
            "mdm {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `mdm export WHAT --domain D` as NDJSON rows.
    fn export(&self, what: &str, domain: &str) -> Vec<serde_json::Value> {
        let file = self.dir.join(format!("{what}_{domain}.ndjson"));
        self.run(&["export", what, "--domain", domain, "--out", path(&file)]);
        std::fs::read_to_string(&file)
            .expect("export")
            .lines()
            .map(|l| serde_json::from_str(l).expect("NDJSON"))
            .collect()
    }
}
