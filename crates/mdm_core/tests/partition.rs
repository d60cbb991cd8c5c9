//! The partitioned full run (`partition::run`) gives the single pass's blocking keys,
//! candidate pairs and kept pairs with their scores, whatever the partition size: with
//! capped blocks, and with values outside the model's vocabulary in the columns whose
//! blocking keys count words.

use mdm_core::partition;
use mdm_core::pipeline::{self, features::RawTable, MatchOptions, Prepared};
use mdm_core::rematch::{self, Model};
use mdm_core::standardize::StdContext;
use mdm_core::{DomainRules, SourceRecord};
use mdm_testkit::{Domain, GenConfig};
use std::path::Path;

fn rules(domain: &str) -> DomainRules {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../match-rules");
    mdm_rules::load_domain(Some(&dir), domain).expect("shipped rules load")
}

fn table(r: &DomainRules, records: &[SourceRecord], ids: &[u32]) -> RawTable {
    let mut t = RawTable::new(r);
    for &i in ids {
        let rec = &records[i as usize];
        t.push(rec.key.clone(), |a| {
            rec.values.get(a).and_then(|v| v.as_deref())
        });
    }
    t
}

#[test]
fn partitions_reproduce_the_single_pass() {
    let ctx = StdContext::default();
    for (domain, max_block) in [(Domain::Customer, 4), (Domain::Product, 6)] {
        let mut r = rules(domain.name());
        // Small caps, so that capped blocks meet partitions.
        r.matching.max_block_size = max_block;
        let g = mdm_testkit::generate_records(&GenConfig::new(domain, 500, 9), &r).unwrap();
        let mut records = g.records;
        records.sort_by(|a, b| a.key.cmp(&b.key));
        // The model learns from two records in three: the others bring values it never saw.
        let train: Vec<SourceRecord> = records
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, r)| r.clone())
            .collect();
        let res = pipeline::run(
            &r,
            &ctx,
            RawTable::from_records(&r, &train),
            MatchOptions::default(),
        )
        .unwrap();
        let model = Model::freeze(&r, res.params.clone(), &res.features);

        let all: Vec<u32> = (0..records.len() as u32).collect();
        let mut p = Prepared::new(&r, &ctx, table(&r, &records, &all)).unwrap();
        model.apply(&r, &mut p.features);
        let cands = p.candidates().unwrap();
        let kept = rematch::score_pairs(&p, &model.params, &cands.pairs);
        assert!(!kept.is_empty());
        let capped: usize = cands.reports.iter().map(|x| x.capped.len()).sum();
        assert!(capped > 0, "{}: caps in play", domain.name());

        let source = |ids: &[u32]| Ok(table(&r, &records, ids));
        for size in [1, 40, 700, 10_000_000] {
            let out = partition::run(&r, &ctx, &model, records.len(), size, &source).unwrap();
            let what = format!("{} at partition size {size}", domain.name());
            assert!(
                out.vocabulary_columns > 0,
                "{what}: words outside the model"
            );
            assert_eq!(
                out.rule_keys,
                mdm_core::partition::RuleKeys::from(cands.rule_keys.clone()),
                "{what}: keys"
            );
            assert_eq!(out.candidate_pairs, cands.pairs.len() as u64, "{what}");
            assert_eq!(out.kept, kept, "{what}: kept pairs and scores");
            if size <= 40 {
                assert!(out.partitions > 5 && out.capped > 0, "{what}: {out:?}");
                assert!(out.largest < records.len() / 2, "{what}: {}", out.largest);
            }
        }
    }
}
