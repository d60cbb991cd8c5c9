//! `pipeline::score_candidates` scores every candidate pair exactly as the run did, and
//! `model_report::build` counts them consistently with the run's kept pairs and blocking.

use mdm_core::model_report;
use mdm_core::pipeline::{self, features::RawTable, MatchOptions};
use mdm_core::rules::matching::Decision;
use mdm_core::standardize::StdContext;
use mdm_testkit::{Domain, GenConfig};
use std::path::Path;

#[test]
fn candidate_scores_agree_with_the_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../match-rules");
    let mut r = mdm_rules::load_domain(Some(&dir), "customer").expect("shipped rules load");
    // Small blocks, so some are capped and their pairs must not be counted for the rule.
    r.matching.max_block_size = 6;
    let g = mdm_testkit::generate_records(&GenConfig::new(Domain::Customer, 400, 5), &r)
        .expect("generate");
    let res = pipeline::run(
        &r,
        &StdContext::default(),
        RawTable::from_records(&r, &g.records),
        MatchOptions::default(),
    )
    .expect("pipeline runs");
    let s = pipeline::score_candidates(&r, &res.features, &res.params).expect("scores");

    assert_eq!(s.pairs.len(), res.candidate_pairs);
    let kept: Vec<_> = s
        .pairs
        .iter()
        .filter(|p| p.decision != Decision::NonMatch || p.override_idx.is_some())
        .copied()
        .collect();
    assert_eq!(kept, res.scored);
    assert!(
        res.blocking.iter().any(|b| !b.capped.is_empty()),
        "no block capped"
    );
    for ((report, produced), run) in s.rules.iter().zip(&res.blocking) {
        assert_eq!(report, run);
        assert_eq!(produced.len() as u64, run.pairs, "rule {}", run.rule);
    }

    let rep = model_report::build(&r, &res.params, res.features.len(), &s);
    let d = &rep.decisions;
    let count = |dec: Decision| res.scored.iter().filter(|p| p.decision == dec).count() as u64;
    assert_eq!(
        d.match_by_model + d.match_by_override,
        count(Decision::Match)
    );
    assert_eq!(d.review, count(Decision::Review));
    assert_eq!(
        d.match_by_model
            + d.match_by_override
            + d.review
            + d.non_match_by_model
            + d.non_match_by_override,
        res.candidate_pairs as u64
    );
    assert_eq!(
        rep.histogram.iter().map(|b| b.pairs).sum::<u64>(),
        res.candidate_pairs as u64
    );
    // Each pair's expected match-ness is counted once over the rules that first produced it.
    let new: f64 = rep.blocking.iter().map(|b| b.expected_new_matches).sum();
    assert!((new - rep.at_match_threshold.expected_matches).abs() < 1e-6);
    assert_eq!(
        rep.at_match_threshold.pairs,
        d.match_by_model + d.match_by_override
    );
}
