//! The frozen match model (`rematch::Model`): with it applied, a pair's score and a record's
//! blocking keys do not depend on which other records were read. This is what makes an
//! incremental reconcile equal a full one.

use mdm_core::pipeline::{self, features::RawTable, MatchOptions, Prepared};
use mdm_core::rematch::{self, Model};
use mdm_core::standardize::StdContext;
use mdm_core::{DomainRules, RecordKey, SourceRecord};
use mdm_testkit::{Domain, GenConfig};
use std::collections::HashMap;
use std::path::Path;

fn rules(domain: &str) -> DomainRules {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../match-rules");
    mdm_rules::load_domain(Some(&dir), domain).expect("shipped rules load")
}

/// Scores (by record keys) and blocking keys (per record key) of `records` under `model`.
#[allow(clippy::type_complexity)]
fn score(
    r: &DomainRules,
    model: &Model,
    records: &[SourceRecord],
) -> (
    HashMap<(RecordKey, RecordKey), (u64, mdm_core::rules::matching::Decision)>,
    HashMap<RecordKey, Vec<Option<u64>>>,
) {
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut p = Prepared::new(
        r,
        &StdContext::default(),
        RawTable::from_records(r, &sorted),
    )
    .expect("prepare");
    model.apply(r, &mut p.features);
    let c = p.candidates().expect("block");
    let scored = rematch::score_pairs(&p, &model.params, &c.pairs);
    let k = |i: u32| sorted[i as usize].key.clone();
    let pairs = scored
        .iter()
        .map(|s| ((k(s.a), k(s.b)), (s.weight.to_bits(), s.decision)))
        .collect();
    let keys = (0..sorted.len())
        .map(|i| (k(i as u32), c.rule_keys.iter().map(|rk| rk[i]).collect()))
        .collect();
    (pairs, keys)
}

#[test]
fn scores_and_keys_do_not_depend_on_the_other_records() {
    for domain in [Domain::Customer, Domain::Supplier, Domain::Product] {
        let r = rules(domain.name());
        let g = mdm_testkit::generate_records(&GenConfig::new(domain, 600, 3), &r).unwrap();
        let res = pipeline::run(
            &r,
            &StdContext::default(),
            RawTable::from_records(&r, &g.records),
            MatchOptions::default(),
        )
        .unwrap();
        let model = Model::freeze(&r, res.params.clone(), &res.features);
        // Through JSON, as it is stored.
        let model: Model = serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
        let (all_pairs, all_keys) = score(&r, &model, &g.records);
        // The training run's own scores are the model's scores.
        assert_eq!(res.scored.len(), all_pairs.len(), "{}", r.domain);
        // Every 7th record and everything it pairs with: a subset, as an incremental run
        // reads it.
        let picked: Vec<&RecordKey> = g.records.iter().step_by(7).map(|x| &x.key).collect();
        let mut keep: std::collections::HashSet<RecordKey> =
            picked.iter().map(|k| (*k).clone()).collect();
        for (a, b) in all_pairs.keys() {
            if keep.contains(a) || keep.contains(b) {
                keep.insert(a.clone());
                keep.insert(b.clone());
            }
        }
        let subset: Vec<SourceRecord> = g
            .records
            .iter()
            .filter(|x| keep.contains(&x.key))
            .cloned()
            .collect();
        assert!(subset.len() < g.records.len());
        let (sub_pairs, sub_keys) = score(&r, &model, &subset);
        for (k, keys) in &sub_keys {
            assert_eq!(&all_keys[k], keys, "{}: blocking keys of {k:?}", r.domain);
        }
        for (pair, s) in &sub_pairs {
            assert_eq!(all_pairs.get(pair), Some(s), "{}: {pair:?}", r.domain);
        }
    }
}
