//! The rules-file and standardizer targets. A rules file the validator accepts must run
//! through the engine without a panic (the nightly run is the first to use it); every
//! standardizer takes any string, and a canonical form cleans to itself.

use crate::mutate::Rng;
use crate::{Finding, Outcome};
use mdm_core::model::{RecordKey, SourceKey, SystemName};
use mdm_core::pipeline::{self, features::RawTable, MatchOptions};
use mdm_core::standardize::{self as std_, quantity, Cleaned, DateOrder, StdContext};
use mdm_core::AttrType;
use std::path::Path;

fn fail(msg: impl Into<String>) -> Finding {
    Finding(msg.into())
}

pub fn rules(input: &[u8]) -> Result<Outcome, Finding> {
    let text = String::from_utf8_lossy(input);
    let rules = match mdm_rules::parse(Path::new("fuzz.toml"), &text) {
        Ok(r) => r,
        Err(mdm_rules::RulesError::Invalid { line, key, .. }) => {
            let lines = text.lines().count().max(1);
            if line == 0 || line > lines + 1 {
                return Err(fail(format!(
                    "error names line {line} of a {lines}-line file (key `{key}`)"
                )));
            }
            return Ok(Outcome(line as u64));
        }
        Err(e) => {
            return Err(fail(format!(
                "parse answered neither rules nor Invalid: {e}"
            )))
        }
    };
    // Accepted: a small generated table through the whole engine.
    let mut rng = Rng::new(input.len() as u64);
    let system = SystemName::parse("FUZZ").expect("a valid system name");
    let n = 12;
    let records: Vec<Vec<Option<String>>> = (0..n)
        .map(|i| {
            rules
                .attributes
                .iter()
                .map(|a| {
                    // Pairs of near-duplicates, so blocks, comparisons and EM have work.
                    let mut r = Rng::new((i / 2) as u64 * 7919 + a.name.len() as u64);
                    (!rng.one_in(5)).then(|| crate::seeds::value_for(a.ty, &mut r))
                })
                .collect()
        })
        .collect();
    let mut raw = RawTable::new(&rules);
    for (i, rec) in records.iter().enumerate() {
        let key = RecordKey {
            system: system.clone(),
            source_id: SourceKey::parse(&format!("R{i}")).expect("a valid key"),
        };
        raw.push(key, |j| rec.get(j).and_then(|v| v.as_deref()));
    }
    let ctx = StdContext::default();
    match pipeline::run(&rules, &ctx, raw, MatchOptions::default()) {
        Ok(result) => {
            if result.clusters.len() != n {
                return Err(fail(format!(
                    "{} cluster labels for {n} records",
                    result.clusters.len()
                )));
            }
            Ok(Outcome(1000 + result.scored.len() as u64))
        }
        // Accepted by the validator, refused by the engine: counted, not a crash.
        Err(e) => Ok(Outcome(2000 + (e.to_string().len() as u64 % 97))),
    }
}

/// Types whose canonical form cleans to itself (as in `standardize::properties`); number
/// and money are not (a canonical `1.234` reads as 1234 under a decimal-comma country).
fn idempotent(ty: AttrType) -> bool {
    !matches!(ty, AttrType::Number | AttrType::Money)
}

pub fn standardize(input: &[u8]) -> Result<Outcome, Finding> {
    let raw = String::from_utf8_lossy(input);
    let raw = raw.as_ref();
    let mut sig = 0u64;
    for (country, order) in [
        ("DE", DateOrder::DayFirst),
        ("US", DateOrder::MonthFirst),
        ("CH", DateOrder::DayFirst),
    ] {
        let ctx = StdContext {
            default_country: country.into(),
            date_order: order,
            ..StdContext::default()
        };
        for ty in AttrType::ALL {
            let admitted = std_::basic_check(ty, raw).is_ok();
            let cleaned = std_::clean(ty, raw, &ctx);
            sig = sig.wrapping_mul(3).wrapping_add(match &cleaned {
                Cleaned::Missing => 0,
                Cleaned::Valid(_) => 1,
                Cleaned::Invalid { .. } => 2,
            });
            if let Cleaned::Valid(once) = &cleaned {
                // Ingest refuses control characters, so only admitted values must be free
                // of them after cleaning.
                if once.is_empty() || (admitted && once.chars().any(char::is_control)) {
                    return Err(fail(format!(
                        "{ty}: canonical form {once:?} is empty or has control characters"
                    )));
                }
                let namibia = ty == AttrType::Country && once == "NA";
                if idempotent(ty) && !namibia {
                    let twice = std_::clean(ty, once, &ctx);
                    if twice != cleaned {
                        return Err(fail(format!(
                            "{ty} ({country}): not idempotent: {raw:?} -> {once:?} -> {twice:?}"
                        )));
                    }
                }
            }
            for phonetic in [false, true] {
                let _ = pipeline::features::make_value(ty, raw, phonetic, &ctx);
            }
        }
    }
    let folded = std_::fold_words(raw);
    if std_::fold_words(&folded) != folded {
        return Err(fail(format!("fold_words not idempotent on {raw:?}")));
    }
    let _ = std_::split_legal_form(raw);
    let _ = std_::split_house_number(raw);
    let _ = std_::clean_house_number(raw);
    let _ = std_::initials(raw);
    let _ = std_::canonical_given_name(raw);
    let _ = std_::canonical_given(&folded);
    let _ = std_::parse_date(raw, DateOrder::DayFirst);
    let _ = std_::parse_date(raw, DateOrder::MonthFirst);
    let _ = std_::country_code(raw);
    let _ = std_::country_calling_code(raw);
    let _ = std_::email_parts(raw);
    let _ = std_::clean_gender(raw);
    let _ = quantity::parse_numbers(raw);
    let _ = quantity::parse_quantity(raw);
    for w in raw.split_whitespace() {
        let _ = quantity::number_form(w);
    }
    Ok(Outcome(sig))
}
