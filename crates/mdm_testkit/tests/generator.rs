//! The generator's contract: deterministic for a seed, every row in the truth, headers
//! from the rules, corruption that follows its knob, and hard negatives present.

use mdm_core::{DomainRules, SystemName};
use mdm_testkit::{
    generate_records, generate_to_dir, CorruptionRates, Domain, GenConfig, Generated,
};
use std::collections::{HashMap, HashSet};

fn rules(domain: Domain) -> DomainRules {
    mdm_rules::load_domain(None, domain.name()).expect("shipped rules")
}

fn generate(domain: Domain, entities: usize, seed: u64, rates: CorruptionRates) -> Generated {
    let cfg = GenConfig {
        rates,
        ..GenConfig::new(domain, entities, seed)
    };
    generate_records(&cfg, &rules(domain)).expect("generates")
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    for domain in Domain::ALL {
        let a = generate(domain, 400, 7, CorruptionRates::default());
        let b = generate(domain, 400, 7, CorruptionRates::default());
        let c = generate(domain, 400, 8, CorruptionRates::default());
        assert_eq!(a.records, b.records, "{domain:?}");
        assert_eq!(a.entities, b.entities);
        assert_ne!(a.records, c.records);
        assert_eq!(a.summary.entities, 400);
        // Every entity appears at least once.
        let seen: HashSet<u64> = a.entities.iter().copied().collect();
        assert_eq!(seen.len(), 400);
    }
}

#[test]
fn thread_count_does_not_change_the_data() {
    let rules = rules(Domain::Product);
    // More entities than one chunk, so several chunks run in parallel.
    let cfg = GenConfig::new(Domain::Product, 5000, 9);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| generate_records(&cfg, &rules).unwrap())
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.records, four.records);
    assert_eq!(one.entities, four.entities);
    assert_eq!(one.summary.entities, 5000);
}

#[test]
fn files_have_the_rules_header_and_truth_covers_every_row() {
    let dir = tempfile::tempdir().unwrap();
    for domain in Domain::ALL {
        let rules = rules(domain);
        let out = dir.path().join(domain.name());
        let cfg = GenConfig::new(domain, 300, 1);
        let summary = generate_to_dir(&cfg, &rules, &out).unwrap();
        let mut truth_rdr = csv::Reader::from_path(out.join("truth.csv")).unwrap();
        assert_eq!(
            truth_rdr.headers().unwrap(),
            vec!["source_system", "source_id", "entity_id"]
        );
        let truth: HashSet<(String, String)> = truth_rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[1].to_string())
            })
            .collect();
        let expected_header: Vec<&str> = std::iter::once("source_id")
            .chain(rules.attributes.iter().map(|a| a.name.as_str()))
            .collect();
        let mut rows = 0;
        for (system, n) in &summary.per_system {
            let mut rdr = csv::Reader::from_path(out.join(format!("{system}.csv"))).unwrap();
            assert_eq!(rdr.headers().unwrap(), expected_header);
            let mut ids = HashSet::new();
            for r in rdr.records() {
                let r = r.unwrap();
                assert_eq!(r.len(), expected_header.len());
                assert!(
                    ids.insert(r[0].to_string()),
                    "duplicate source_id {}",
                    &r[0]
                );
                assert!(truth.contains(&(system.to_string(), r[0].to_string())));
                rows += 1;
            }
            assert_eq!(ids.len() as u64, *n);
        }
        assert_eq!(rows, truth.len());
        assert_eq!(rows as u64, summary.records);
    }
}

#[test]
fn files_and_memory_hold_the_same_records() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules(Domain::Customer);
    let cfg = GenConfig::new(Domain::Customer, 200, 3);
    generate_to_dir(&cfg, &rules, dir.path()).unwrap();
    let mem = generate_records(&cfg, &rules).unwrap();
    let erp = SystemName::parse("ERP").unwrap();
    let mut rdr = csv::Reader::from_path(dir.path().join("ERP.csv")).unwrap();
    let from_file: Vec<Vec<Option<String>>> = rdr
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .skip(1)
                .map(|v| (!v.is_empty()).then(|| v.to_string()))
                .collect()
        })
        .collect();
    let from_mem: Vec<Vec<Option<String>>> = mem
        .records
        .iter()
        .filter(|r| r.key.system == erp)
        .map(|r| r.values.clone())
        .collect();
    assert_eq!(from_file, from_mem);
}

/// Distinct normalized values per entity and attribute, summed: 0 when every system
/// agreed on everything (after case and spacing), higher the dirtier the data.
fn disagreement(g: &Generated, attrs: &[usize]) -> usize {
    let mut values: HashMap<(u64, usize), HashSet<String>> = HashMap::new();
    for (r, e) in g.records.iter().zip(&g.entities) {
        for &a in attrs {
            if let Some(v) = r.values[a]
                .as_ref()
                .filter(|v| !["NULL", "n/a"].contains(&v.as_str()))
            {
                let norm: String = v
                    .to_lowercase()
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .collect();
                values.entry((*e, a)).or_default().insert(norm);
            }
        }
    }
    values.values().map(|s| s.len() - 1).sum()
}

#[test]
fn the_corruption_knob_changes_how_dirty_the_data_is() {
    let rules = rules(Domain::Customer);
    let attrs: Vec<usize> = ["given_name", "family_name", "email", "city"]
        .iter()
        .map(|a| rules.index_of(a).unwrap())
        .collect();
    let base = CorruptionRates::default();
    let scores: Vec<usize> = [0.0, 1.0, 3.0]
        .iter()
        .map(|f| {
            disagreement(
                &generate(Domain::Customer, 1500, 11, base.scaled(*f)),
                &attrs,
            )
        })
        .collect();
    assert!(scores[0] < scores[1] && scores[1] < scores[2], "{scores:?}");
    let email = rules.index_of("email").unwrap();
    let clean = generate(Domain::Customer, 1500, 11, CorruptionRates::none());
    assert_eq!(
        disagreement(&clean, &[email]),
        0,
        "no corruption: one e-mail per person"
    );
}

#[test]
fn scaled_clamps_rates() {
    let r = CorruptionRates::default().scaled(100.0);
    assert_eq!(r.typo, 1.0);
    assert_eq!(CorruptionRates::none().typo, 0.0);
}

#[test]
fn hard_negatives_share_names_but_not_entities() {
    let rules = rules(Domain::Customer);
    let g = generate(Domain::Customer, 3000, 5, CorruptionRates::none());
    let (gi, fi) = (
        rules.index_of("given_name").unwrap(),
        rules.index_of("family_name").unwrap(),
    );
    let mut by_name: HashMap<(String, String), HashSet<u64>> = HashMap::new();
    for (r, e) in g.records.iter().zip(&g.entities) {
        if let (Some(gv), Some(fv)) = (&r.values[gi], &r.values[fi]) {
            by_name
                .entry((gv.to_lowercase(), fv.to_lowercase()))
                .or_default()
                .insert(*e);
        }
    }
    let shared = by_name.values().filter(|es| es.len() > 1).count();
    assert!(
        shared >= 20,
        "only {shared} names shared by different people"
    );
}

#[test]
fn product_gtins_are_valid_without_corruption() {
    let rules = rules(Domain::Product);
    let g = generate(Domain::Product, 500, 2, CorruptionRates::none());
    let gi = rules.index_of("gtin").unwrap();
    let mut checked = 0;
    for r in &g.records {
        if let Some(v) = &r.values[gi] {
            let digits: String = v.chars().filter(|c| c.is_ascii_digit()).collect();
            if v.contains('E') || v == "NULL" {
                continue; // spreadsheet notation has lost digits
            }
            let body = &digits[..digits.len() - 1];
            let sum: u32 = body
                .bytes()
                .rev()
                .enumerate()
                .map(|(i, b)| (b - b'0') as u32 * if i % 2 == 0 { 3 } else { 1 })
                .sum();
            assert_eq!(
                (10 - sum % 10) % 10,
                (digits.as_bytes()[digits.len() - 1] - b'0') as u32,
                "{v}"
            );
            checked += 1;
        }
    }
    assert!(checked > 300);
    // One GTIN, one product: variants get their own.
    let mut owner: HashMap<String, u64> = HashMap::new();
    for (r, e) in g.records.iter().zip(&g.entities) {
        if let Some(v) = r.values[gi].as_ref().filter(|v| v.len() == 13) {
            assert_eq!(
                *owner.entry(v.clone()).or_insert(*e),
                *e,
                "GTIN {v} on two products"
            );
        }
    }
}

#[test]
fn refuses_bad_configuration() {
    let rules = rules(Domain::Customer);
    let mut cfg = GenConfig::new(Domain::Customer, 10, 1);
    cfg.systems.clear();
    assert!(generate_records(&cfg, &rules).is_err());
    let cfg = GenConfig::new(Domain::Product, 10, 1);
    assert!(
        generate_records(&cfg, &rules).is_err(),
        "rules of another domain"
    );
}

#[test]
fn disjoint_attributes_give_each_system_its_own_subset() {
    let r = rules(Domain::Customer);
    let cfg = GenConfig {
        disjoint_attributes: true,
        ..GenConfig::new(Domain::Customer, 600, 3)
    };
    let g = generate_records(&cfg, &r).expect("generates");
    let filled = |system: &str, attr: &str| {
        let i = r.index_of(attr).expect("attribute");
        g.records
            .iter()
            .filter(|rec| rec.key.system.as_str() == system)
            .filter(|rec| {
                rec.values[i]
                    .as_deref()
                    .is_some_and(|v| !v.is_empty() && v != "NULL")
            })
            .count()
    };
    // ERP: names, birth date, national ID; CRM: names, address, national ID; MES: names,
    // birth date, address. Nobody keeps contact details.
    for (system, lacks, has) in [
        ("ERP", "postcode", "national_id"),
        ("CRM", "birth_date", "national_id"),
        ("MES", "national_id", "postcode"),
    ] {
        assert_eq!(filled(system, lacks), 0, "{system} records {lacks}");
        assert!(filled(system, has) > 100, "{system} lacks {has}");
        assert_eq!(filled(system, "email"), 0, "{system} records email");
    }
    assert!(filled("ERP", "birth_date") > 100 && filled("MES", "birth_date") > 100);
}
