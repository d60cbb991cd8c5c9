//! Stage 2 of matching (after feature extraction, before `compare`): blocking rules turn
//! records into candidate pairs, so only records sharing a key are compared.
//!
//! Each rule's key is a hash of its parts (`family_name:metaphone`, `birth_date:year`, ...).
//! The union over rules is deduplicated so each pair is scored once. A key value shared by
//! more than `max_block_size` records is capped: only its first `max_block_size` records (in
//! input order) are paired, and the cap is reported (key hash and size, never the value).

use crate::compare::email_local;
use crate::pipeline::features::{Features, Value};
use crate::rules::matching::MatchingRules;
use crate::rules::DomainRules;
use rayon::prelude::*;
use std::hash::{BuildHasher, Hash, Hasher};

/// Why a blocking rule could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BlockError {
    #[error("blocking rule `{rule}`: key `{key}`: {reason}")]
    BadKey {
        rule: String,
        key: String,
        reason: String,
    },
}

/// How a key part is derived from a standardized value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFn {
    Exact,
    First(usize),
    Last(usize),
    Metaphone,
    FirstWord,
    Year,
    EmailLocal,
    SortedWords,
    /// The n-th rarest word of the value (1 = rarest) among words that at least two records
    /// of the column carry: a model code or a rare surname, robust to word order, abbreviated
    /// or missing words elsewhere in the value. A word only one record has pairs nothing.
    RareWord(usize),
    /// `code:ID_ATTR`: a model code that ties a name to a part number. The code vocabulary
    /// is the words of this column (at least `MIN_CODE_LEN` characters) found inside some
    /// value of the identifier column `ID_ATTR`. A record's key is the code its identifier
    /// contains or, without one, the code its name carries (longest, then rarest), so a
    /// record known by its part number pairs with one that names the series.
    Code(usize),
}

/// Shortest word that counts as a model code (`Code`): shorter ones occur inside part
/// numbers by chance.
const MIN_CODE_LEN: usize = 3;

impl KeyFn {
    fn parse(s: &str) -> Result<Self, String> {
        let mut it = s.split(':');
        let name = it.next().unwrap_or("");
        let n = it.next().map(|n| {
            n.parse::<usize>()
                .map_err(|_| format!("`{n}` is not a count"))
        });
        Ok(match (name, n) {
            ("exact", None) => KeyFn::Exact,
            ("first", Some(n)) => KeyFn::First(n?),
            ("last", Some(n)) => KeyFn::Last(n?),
            ("metaphone", None) => KeyFn::Metaphone,
            ("first_word", None) => KeyFn::FirstWord,
            ("year", None) => KeyFn::Year,
            ("email_local", None) => KeyFn::EmailLocal,
            ("sorted_words", None) => KeyFn::SortedWords,
            ("rare_word", Some(n)) => match n? {
                0 => return Err("rare_word counts from 1".into()),
                n => KeyFn::RareWord(n),
            },
            _ => return Err(format!(
                "unknown key function `{s}` (exact, first:N, last:N, metaphone, first_word, year, email_local, sorted_words, rare_word:N)"
            )),
        })
    }

    /// The key part of one value, or `None` when it yields no key.
    fn apply(self, v: &Value) -> Option<String> {
        let t = &*v.text;
        let out = match self {
            KeyFn::Exact => t.to_string(),
            KeyFn::First(n) => t.chars().filter(|c| *c != ' ').take(n).collect(),
            KeyFn::Last(n) => {
                let d: Vec<char> = t.chars().filter(char::is_ascii_alphanumeric).collect();
                if d.len() < n {
                    return None;
                }
                d[d.len() - n..].iter().collect()
            }
            KeyFn::Metaphone => v.phonetic.split(' ').next().unwrap_or("").to_string(),
            KeyFn::FirstWord => t.split(' ').next().unwrap_or("").to_string(),
            KeyFn::Year => (v.date? / 10000).to_string(),
            KeyFn::EmailLocal => email_local(t)?.to_string(),
            KeyFn::SortedWords => {
                let mut w: Vec<&str> = t.split(' ').collect();
                w.sort_unstable();
                w.join(" ")
            }
            // Need the column (and another): see `rare_words`, `code_keys`.
            KeyFn::RareWord(_) | KeyFn::Code(_) => return None,
        };
        (!out.is_empty()).then_some(out)
    }
}

/// A blocking rule resolved against the domain's attributes.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub name: String,
    parts: Vec<(usize, KeyFn)>,
}

impl CompiledRule {
    /// Attribute indices the rule's keys read.
    pub fn attributes(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts.iter().flat_map(|p| match p.1 {
            KeyFn::Code(other) => vec![p.0, other],
            _ => vec![p.0],
        })
    }
}

pub fn compile(rules: &DomainRules) -> Result<Vec<CompiledRule>, BlockError> {
    rules
        .matching
        .blocking
        .iter()
        .map(|b| {
            let parts = b
                .keys
                .iter()
                .map(|k| {
                    let bad = |reason: String| BlockError::BadKey {
                        rule: b.name.clone(),
                        key: k.clone(),
                        reason,
                    };
                    let (attr, f) = k.split_once(':').unwrap_or((k.as_str(), "exact"));
                    let idx = rules
                        .index_of(attr)
                        .ok_or_else(|| bad(format!("no attribute `{attr}`")))?;
                    let kf = match f.strip_prefix("code:") {
                        Some(other) => KeyFn::Code(
                            rules
                                .index_of(other)
                                .ok_or_else(|| bad(format!("no attribute `{other}`")))?,
                        ),
                        None => KeyFn::parse(f).map_err(bad)?,
                    };
                    Ok((idx, kf))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CompiledRule {
                name: b.name.clone(),
                parts,
            })
        })
        .collect()
}

/// What one rule contributed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleReport {
    pub rule: String,
    /// Pairs the rule produced (before removing pairs an earlier rule already gave).
    pub pairs: u64,
    /// Pairs that no earlier rule produced.
    pub new_pairs: u64,
    /// Capped blocks: (key hash, records with that key).
    pub capped: Vec<(u64, usize)>,
    /// Pairs not generated because of the caps.
    pub skipped_pairs: u64,
}

/// Candidate pairs `(i, j)` with `i < j`, sorted and unique, and a report per rule.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    pub pairs: Vec<(u32, u32)>,
    pub reports: Vec<RuleReport>,
    /// Per rule, per record: the key hash (`None` when a key part is missing).
    pub rule_keys: Vec<Vec<Option<u64>>>,
}

fn hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x6d64_6d31, 0x626c_6f63, 0x6b69_6e67, 0x2024_1128)
}

/// Per record, the rule's key hash (`None` when a part is missing).
fn keys_of(rule: &CompiledRule, f: &Features) -> Vec<Option<u64>> {
    // Key parts are computed once per distinct value (or, for `Code`, per record), then
    // combined per record.
    let part_hashes: Vec<(bool, Vec<Option<u64>>)> = rule
        .parts
        .iter()
        .map(|&(col, kf)| {
            let hs = hasher();
            let column = &f.columns[col];
            let hash_all = |ws: Vec<Option<&str>>| -> Vec<Option<u64>> {
                ws.into_iter().map(|w| w.map(|w| hs.hash_one(w))).collect()
            };
            match kf {
                KeyFn::RareWord(n) => (false, hash_all(rare_words(column, n))),
                KeyFn::Code(other) => (true, hash_all(code_keys(column, &f.columns[other]))),
                _ => (
                    false,
                    column
                        .values
                        .par_iter()
                        .map(|v| kf.apply(v).map(|k| hs.hash_one(k)))
                        .collect(),
                ),
            }
        })
        .collect();
    (0..f.len())
        .into_par_iter()
        .map(|r| {
            let mut h = hasher().build_hasher();
            for (&(col, _), (per_record, hashes)) in rule.parts.iter().zip(&part_hashes) {
                let i = if *per_record {
                    r
                } else {
                    let id = f.columns[col].ids[r];
                    if id == crate::pipeline::features::MISSING {
                        return None;
                    }
                    id as usize
                };
                hashes[i]?.hash(&mut h);
            }
            // `u64::MAX` marks "no key" in a compact key table (`partition::RuleKeys`).
            Some(h.finish().min(u64::MAX - 1))
        })
        .collect()
}

/// Per record, its model code (see `KeyFn::Code`) from the words of `names` and the
/// values of `ids`.
fn code_keys<'a>(
    names: &'a crate::pipeline::features::Column,
    ids: &'a crate::pipeline::features::Column,
) -> Vec<Option<&'a str>> {
    // Name words that could be codes, with the records carrying them.
    let freq = word_counts(names, MIN_CODE_LEN);
    // Longest, then rarest, then by the word itself: a total order, so both sides of a
    // pair pick the same code when they have the same candidates.
    let rank = |w: &'a str| (std::cmp::Reverse(w.len()), freq.get(w), w);
    // The name words inside an identifier, best first.
    let codes_in = |t: &'a str| {
        let mut found: Vec<&'a str> = Vec::new();
        if t.is_ascii() {
            for i in 0..t.len() {
                for j in i + MIN_CODE_LEN..=t.len().min(i + 32) {
                    if let Some((w, _)) = freq.get_key_value(&t[i..j]) {
                        found.push(w);
                    }
                }
            }
        }
        found.sort_unstable_by_key(|&w| rank(w));
        found.dedup();
        found
    };
    // Per distinct identifier of these records.
    let id_codes: Vec<Vec<&'a str>> = ids.values.par_iter().map(|v| codes_in(&v.text)).collect();
    // The code vocabulary: name words found inside some identifier, of these records or of
    // a frozen model's vocabulary.
    let mut vocab: ahash::AHashSet<&str> = id_codes.iter().flatten().copied().collect();
    if let Some(frozen) = ids.frozen_words.as_deref() {
        let local: ahash::AHashSet<&str> = ids.values.iter().map(|v| &*v.text).collect();
        let more: Vec<Vec<&'a str>> = frozen
            .values
            .par_iter()
            .filter(|t| !local.contains(&***t))
            .map(|t| codes_in(t))
            .collect();
        vocab.extend(more.into_iter().flatten());
    }
    let name_code: Vec<Option<&'a str>> = names
        .values
        .par_iter()
        .map(|v| {
            let t: &'a str = &v.text;
            t.split(' ')
                .filter(|w| vocab.contains(w))
                .min_by_key(|&w| rank(w))
        })
        .collect();
    let get = |c: &crate::pipeline::features::Column, r: usize| {
        let id = c.ids[r];
        (id != crate::pipeline::features::MISSING).then_some(id as usize)
    };
    (0..names.ids.len())
        .into_par_iter()
        .map(|r| {
            get(ids, r)
                .and_then(|i| id_codes[i].first().copied())
                .or_else(|| get(names, r).and_then(|i| name_code[i]))
        })
        .collect()
}

/// Words of at least `min_len` bytes over a column's values, each with the number of
/// records whose value contains it; with a frozen model, its vocabulary's counts plus those
/// of the column's values outside the vocabulary.
fn word_counts(column: &crate::pipeline::features::Column, min_len: usize) -> WordCounts<'_> {
    let frozen = column.frozen_words.as_deref();
    let mut local: ahash::AHashMap<&str, u32> = ahash::AHashMap::new();
    for (v, &count) in column.values.iter().zip(&column.counts) {
        if frozen.is_some_and(|f| f.values.contains(&v.text)) {
            continue;
        }
        let mut words: Vec<&str> = v.text.split(' ').filter(|w| w.len() >= min_len).collect();
        words.sort_unstable();
        words.dedup();
        for w in words {
            *local.entry(w).or_default() += count;
        }
    }
    WordCounts {
        frozen,
        local,
        min_len,
    }
}

/// Word -> records, over a column's values and a frozen vocabulary (see [`word_counts`]).
struct WordCounts<'a> {
    frozen: Option<&'a crate::pipeline::features::FrozenWords>,
    local: ahash::AHashMap<&'a str, u32>,
    min_len: usize,
}

impl<'a> WordCounts<'a> {
    fn get(&self, w: &str) -> Option<u32> {
        self.get_key_value(w).map(|(_, c)| c)
    }

    /// The word as stored (borrowed from the column or the vocabulary) and its count.
    fn get_key_value(&self, w: &str) -> Option<(&'a str, u32)> {
        if w.len() < self.min_len {
            return None;
        }
        let local = self.local.get_key_value(w).map(|(&k, &c)| (k, c));
        let frozen = self
            .frozen
            .and_then(|f| f.counts.get_key_value(w))
            .map(|(k, &c)| (&**k, c));
        match (local, frozen) {
            (Some((k, a)), Some((_, b))) => Some((k, a + b)),
            (one, other) => one.or(other),
        }
    }
}

/// Per distinct value of a column, its n-th rarest word among words carried by at least two
/// records (ties broken by the word itself, so the choice is deterministic).
fn rare_words(column: &crate::pipeline::features::Column, n: usize) -> Vec<Option<&str>> {
    let freq = word_counts(column, 1);
    column
        .values
        .par_iter()
        .map(|v| {
            let mut words: Vec<(u32, &str)> = v
                .text
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(|w| (freq.get(w).unwrap_or(0), w))
                .filter(|&(c, _)| c >= 2)
                .collect();
            words.sort_unstable();
            words.dedup();
            words.get(n - 1).map(|&(_, w)| w)
        })
        .collect()
}

/// All pairs of one rule, with its caps.
fn pairs_of(
    rule: &CompiledRule,
    f: &Features,
    max_block: usize,
) -> (Vec<u64>, RuleReport, Vec<Option<u64>>) {
    let keys = keys_of(rule, f);
    let mut keyed: Vec<(u64, u32)> = keys
        .iter()
        .enumerate()
        .filter_map(|(r, k)| k.map(|k| (k, r as u32)))
        .collect();
    keyed.par_sort_unstable();
    let blocks: Vec<&[(u64, u32)]> = keyed
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|b| b.len() > 1)
        .collect();
    let mut report = RuleReport {
        rule: rule.name.clone(),
        ..Default::default()
    };
    for b in blocks.iter().filter(|b| b.len() > max_block) {
        let n = b.len() as u64;
        let m = max_block as u64;
        report.capped.push((b[0].0, b.len()));
        report.skipped_pairs += n * (n - 1) / 2 - m * (m.saturating_sub(1)) / 2;
    }
    let pairs: Vec<u64> = blocks
        .par_iter()
        .flat_map_iter(|b| {
            let b = &b[..b.len().min(max_block)];
            (0..b.len()).flat_map(move |x| (x + 1..b.len()).map(move |y| pack(b[x].1, b[y].1)))
        })
        .collect();
    report.pairs = pairs.len() as u64;
    (pairs, report, keys)
}

fn pack(a: u32, b: u32) -> u64 {
    let (i, j) = if a < b { (a, b) } else { (b, a) };
    (u64::from(i) << 32) | u64::from(j)
}

/// Per rule, per record: the key hash, without pairing (the partitioned full run blocks
/// from these; `Candidates::rule_keys` holds the same).
pub fn rule_keys(rules: &[CompiledRule], f: &Features) -> Vec<Vec<Option<u64>>> {
    rules.iter().map(|r| keys_of(r, f)).collect()
}

/// Candidate pairs of all rules, deduplicated.
pub fn candidates(rules: &[CompiledRule], f: &Features, m: &MatchingRules) -> Candidates {
    let _span = tracing::info_span!("block", records = f.len(), rules = rules.len()).entered();
    let mut all: Vec<u64> = Vec::new();
    let mut reports = Vec::new();
    let mut rule_keys = Vec::new();
    for rule in rules {
        let (mut pairs, mut report, keys) = pairs_of(rule, f, m.max_block_size.max(2));
        rule_keys.push(keys);
        pairs.par_sort_unstable();
        pairs.dedup();
        let before = all.len();
        if !all.is_empty() {
            // Pairs an earlier rule gave are not new.
            let old = &all;
            let fresh: Vec<u64> = pairs
                .par_iter()
                .copied()
                .filter(|p| old.binary_search(p).is_err())
                .collect();
            report.new_pairs = fresh.len() as u64;
            all.extend(fresh);
            all.par_sort_unstable();
        } else {
            report.new_pairs = pairs.len() as u64;
            all = pairs;
        }
        tracing::info!(rule = %report.rule, pairs = report.pairs, new = all.len() - before, capped = report.capped.len(), "blocking rule");
        reports.push(report);
    }
    let pairs = all
        .into_iter()
        .map(|p| ((p >> 32) as u32, p as u32))
        .collect();
    Candidates {
        pairs,
        reports,
        rule_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::features::{Column, MISSING};

    /// A column of folded texts, one record per entry (`None` = missing).
    fn column(texts: &[Option<&str>]) -> Column {
        let mut c = Column::default();
        for t in texts {
            match t {
                None => c.ids.push(MISSING),
                Some(t) => {
                    let id = match c.values.iter().position(|v| &*v.text == *t) {
                        Some(i) => i,
                        None => {
                            c.values.push(Value {
                                text: (*t).into(),
                                ..Value::default()
                            });
                            c.counts.push(0);
                            c.values.len() - 1
                        }
                    };
                    c.counts[id] += 1;
                    c.present += 1;
                    c.ids.push(id as u32);
                }
            }
        }
        c
    }

    #[test]
    fn code_ties_a_name_to_the_part_number_containing_it() {
        let names = column(&[
            Some("acmetool 3yic corrugated box double wall"),
            Some("corr box 400x300x200 double w"),
            None,
            Some("hex nut m6 din 934"),
            Some("hex nut m8 din 934"),
        ]);
        let ids = column(&[
            None,
            Some("fx3yic2b1"),
            Some("fx3yic2b2"),
            Some("ac9k2x1a0"),
            None,
        ]);
        let k = code_keys(&names, &ids);
        // The name's code, the part number's code: one key.
        assert_eq!(k[0], Some("3yic"));
        assert_eq!(k[1], Some("3yic"));
        assert_eq!(k[2], Some("3yic"));
        // No name word inside any part number: no key (common words are no codes).
        assert_eq!(k[3], None);
        assert_eq!(k[4], None);
    }

    #[test]
    fn code_key_is_parsed_with_its_identifier_attribute() {
        assert!(KeyFn::parse("code").is_err());
        assert_eq!(KeyFn::parse("rare_word:2"), Ok(KeyFn::RareWord(2)));
    }
}
