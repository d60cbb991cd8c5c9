//! Stage 3 of matching (after `block`): each comparison of the rules file turns a candidate
//! pair into a level (exact / close / far / else / missing). Levels, not raw similarities,
//! are what `score` weighs.
//!
//! The similarity functions here are pure and symmetric; `level_of` tries a comparison's
//! levels in order and returns the first that holds.

use crate::pipeline::features::{Column, Numbers, Value, MISSING};
use crate::rules::matching::{Comparison, Level};
use crate::standardize::quantity::number_form;

/// The level of a pair with a missing value on either side: weight 0.
pub const LEVEL_MISSING: u8 = 15;
/// Most levels a comparison may declare (the "else" level comes on top; 4 bits per level).
pub const MAX_LEVELS: usize = 13;

/// A comparison bound to its columns.
#[derive(Debug, Clone, Copy)]
pub struct BoundComparison<'a> {
    pub spec: &'a Comparison,
    pub col: &'a Column,
    pub other: Option<&'a Column>,
}

impl BoundComparison<'_> {
    /// Number of levels including the implicit "else" level.
    pub fn n_levels(&self) -> usize {
        self.spec.levels.len() + 1
    }

    /// Level of records `a` and `b`: index of the first condition that holds, the "else"
    /// level (`levels.len()`), or `LEVEL_MISSING`.
    pub fn level(&self, a: usize, b: usize) -> u8 {
        self.level_of_ids(self.col.ids[a], self.col.ids[b], a, b)
    }

    /// `level` for records whose value ids in this comparison's column are already known
    /// (see `score::IdRows`).
    pub fn level_of_ids(&self, ia: u32, ib: u32, a: usize, b: usize) -> u8 {
        if let [Level::CodeIn(_)] = self.spec.levels.as_slice() {
            return match self.code_in(a, b) {
                None => LEVEL_MISSING,
                Some(holds) => u8::from(!holds),
            };
        }
        if ia == MISSING || ib == MISSING {
            return LEVEL_MISSING;
        }
        // Equal ids settle an exact first level without touching the values (cache misses
        // dominate comparing at a million records).
        if ia == ib && self.spec.levels.first() == Some(&Level::Exact) {
            return 0;
        }
        let (va, vb) = (&self.col.values[ia as usize], &self.col.values[ib as usize]);
        // Similarities shared by several levels are computed once per pair.
        let mut jw = None;
        let mut ts = None;
        for (k, lvl) in self.spec.levels.iter().enumerate() {
            let holds = match lvl {
                Level::Exact => ia == ib,
                Level::Swapped => self.swapped(a, b),
                Level::JaroWinkler(t) => {
                    *jw.get_or_insert_with(|| jaro_winkler(&va.text, &vb.text)) >= *t
                }
                Level::TokenSet(t) => {
                    *ts.get_or_insert_with(|| token_set(&va.text, &vb.text)) >= *t
                }
                _ => holds(lvl, va, vb),
            };
            if holds {
                return k as u8;
            }
        }
        self.spec.levels.len() as u8
    }

    /// `code_in` (a comparison's only level): whether the record without the identifier
    /// names a word found inside the other's; `None` unless exactly one record has the
    /// identifier and the other a value.
    fn code_in(&self, a: usize, b: usize) -> Option<bool> {
        let ids = self.other?;
        let (x, y) = match (ids.get(a), ids.get(b)) {
            (None, Some(id)) => (a, id),
            (Some(id), None) => (b, id),
            _ => return None,
        };
        Some(code_inside(&self.col.get(x)?.text, &y.text))
    }

    fn swapped(&self, a: usize, b: usize) -> bool {
        let Some(other) = self.other else {
            return false;
        };
        let close = |x: Option<&Value>, y: Option<&Value>| match (x, y) {
            (Some(x), Some(y)) => jaro_winkler(&x.text, &y.text) >= 0.9,
            _ => false,
        };
        close(self.col.get(a), other.get(b)) && close(other.get(a), self.col.get(b))
    }
}

/// Whether a (non-exact, non-swap) level's condition holds for two present values.
pub fn holds(level: &Level, a: &Value, b: &Value) -> bool {
    match level {
        Level::Exact => a.text == b.text,
        Level::JaroWinkler(t) => jaro_winkler(&a.text, &b.text) >= *t,
        Level::Damerau(n) => damerau_within(&a.text, &b.text, *n),
        Level::TokenSet(t) => token_set(&a.text, &b.text) >= *t,
        Level::Phonetic => !a.phonetic.is_empty() && a.phonetic == b.phonetic,
        Level::Nickname => !a.canon.is_empty() && a.canon == b.canon,
        Level::Initial => initial_of(&a.text, &b.text) || initial_of(&b.text, &a.text),
        Level::Swapped | Level::CodeIn(_) => false,
        Level::Prefix(n) => prefix_equal(&a.text, &b.text, *n),
        Level::DayMonthSwapped => match (a.date, b.date) {
            (Some(x), Some(y)) => day_month_swapped(x, y),
            _ => false,
        },
        Level::DaysWithin(n) => match (a.date, b.date) {
            (Some(x), Some(y)) => days_between(x, y).is_some_and(|d| d <= *n),
            _ => false,
        },
        Level::DateTypo => damerau_within(&a.text, &b.text, 1),
        Level::SameYear => match (a.date, b.date) {
            (Some(x), Some(y)) => x / 10000 == y / 10000,
            _ => false,
        },
        Level::RelativeDifference(t) => match (a.number, b.number) {
            (Some(x), Some(y)) => relative_difference(x, y) <= *t,
            _ => false,
        },
        Level::EmailLocal => email_local(&a.text).is_some_and(|l| Some(l) == email_local(&b.text)),
        Level::EmailDomain => {
            email_domain(&a.text).is_some_and(|d| Some(d) == email_domain(&b.text))
        }
        Level::LastDigits(n) => last_digits_equal(&a.text, &b.text, *n),
        Level::RareWord(n) => share_rare_word(&a.words, &b.words, *n),
        Level::NumbersDiffer => match (&a.numbers, &b.numbers) {
            (Some(x), Some(y)) => numbers_differ(x, y),
            _ => false,
        },

        Level::Transposition => one_swap(&a.text, &b.text),
        Level::WordsDiffer => words_differ(&a.text, &b.text),
        Level::Quantity => match (a.quantity, b.quantity) {
            (Some((x, dx)), Some((y, dy))) => dx == dy && relative_difference(x, y) <= 1e-3,
            _ => false,
        },
    }
}

/// Jaro-Winkler similarity in [0, 1]. Standardized text is ASCII, so short values take an
/// allocation-free byte path (this is the hottest function of a run); others go to strsim.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.len() > 64 || b.len() > 64 || !a.is_ascii() || !b.is_ascii() {
        return strsim::jaro_winkler(a, b);
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let j = jaro_ascii(a, b);
    if j <= 0.7 {
        return j;
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    (j + 0.1 * prefix as f64 * (1.0 - j)).min(1.0)
}

fn jaro_ascii(a: &[u8], b: &[u8]) -> f64 {
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let (mut fa, mut fb) = ([false; 64], [false; 64]);
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !fb[j] && b[j] == ca {
                fa[i] = true;
                fb[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if fa[i] {
            while !fb[k] {
                k += 1;
            }
            if ca != b[k] {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0
}

/// Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions).
pub fn damerau(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

/// Whether the OSA distance is at most `n`, with cheap exits (length gap; a linear scan
/// for the common n <= 1) before the quadratic distance.
pub fn damerau_within(a: &str, b: &str, n: usize) -> bool {
    if a.len().abs_diff(b.len()) > n {
        return false;
    }
    match n {
        0 => a == b,
        1 if a.is_ascii() && b.is_ascii() => within_one_edit(a.as_bytes(), b.as_bytes()),
        _ => damerau(a, b) <= n,
    }
}

fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[p..], &b[p..]);
    if ra.is_empty() && rb.is_empty() {
        return true;
    }
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// Whether each value has a word of letters (three or more) that no word of the other
/// with the same first letter matches (`word_similarity` from 0.80: a typo or
/// abbreviation is no other word).
pub fn words_differ(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    let wa: smallvec::SmallVec<[&str; 8]> = a.split(' ').collect();
    let wb: smallvec::SmallVec<[&str; 8]> = b.split(' ').collect();
    let unmatched = |x: &[&str], y: &[&str]| {
        x.iter().any(|w| {
            w.len() >= 3
                && w.bytes().all(|c| c.is_ascii_alphabetic())
                && !y.contains(w)
                // A word that differs in its first letter is another word (and skipping
                // those saves most similarity computations).
                && !y
                    .iter()
                    .any(|v| v.as_bytes().first() == w.as_bytes().first() && word_similarity(w, v) >= 0.80)
        })
    };
    unmatched(&wa, &wb) && unmatched(&wb, &wa)
}

/// Whether a word of `text` (at least three characters: shorter ones turn up by chance) is
/// part of the identifier `id` (folded, without separators).
pub fn code_inside(text: &str, id: &str) -> bool {
    text.split(' ').any(|w| w.len() >= 3 && id.contains(w))
}

/// Whether `a` and `b` are equal but for one swap of two neighbouring (different)
/// characters.
pub fn one_swap(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return false;
    };
    i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..]
}

/// Fuzzy token-set similarity in [0, 1]: each word of the shorter side is matched to its most
/// similar word on the other side (Jaro-Winkler, counted from 0.88), averaged, so word order
/// and an extra word cost little.
pub fn token_set(a: &str, b: &str) -> f64 {
    let ta: smallvec::SmallVec<[&str; 8]> = a.split(' ').filter(|t| !t.is_empty()).collect();
    let tb: smallvec::SmallVec<[&str; 8]> = b.split(' ').filter(|t| !t.is_empty()).collect();
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let (short, long) = if (ta.len(), a) <= (tb.len(), b) {
        (&ta, &tb)
    } else {
        (&tb, &ta)
    };
    let best: f64 = short
        .iter()
        .map(|s| {
            long.iter()
                .map(|l| word_similarity(s, l))
                .fold(0.0, f64::max)
        })
        .map(|s| if s >= 0.88 { s } else { 0.0 })
        .sum();
    // Words of the longer side left unmatched dilute the score a little.
    let denom = short.len() as f64 + 0.5 * (long.len() - short.len()) as f64;
    (best / denom).clamp(0.0, 1.0)
}

/// Whether two sorted (word hash, frequency) lists share a word of frequency at most `n`.
pub fn share_rare_word(a: &[(u64, u32)], b: &[(u64, u32)], n: u32) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if a[i].1 <= n {
                    return true;
                }
                i += 1;
                j += 1;
            }
        }
    }
    false
}

/// Two words' similarity: Jaro-Winkler, but a word that abbreviates or truncates the other
/// (`hydr` / `hydraulic`, `corr` / `corrugated`) counts as nearly equal.
/// Words with digits (sizes, model codes, `m6`, `6205`, `80g`) are specifications: they
/// agree only when equal.
fn word_similarity(a: &str, b: &str) -> f64 {
    if a.bytes().any(|c| c.is_ascii_digit()) || b.bytes().any(|c| c.is_ascii_digit()) {
        return if a == b { 1.0 } else { 0.0 };
    }
    let (s, l) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if s.len() >= 3 && s.len() < l.len() && l.starts_with(s) {
        return 0.95_f64.max(jaro_winkler(a, b));
    }
    jaro_winkler(a, b)
}

/// Whether the values carry different words with digits of one form (`m6` / `m16`,
/// `a4` / `a3`, `80g` / `90g`): each side has one the other lacks, and the two look alike.
/// A word of one side alone (`din 934`), or of different forms (a series code `3yic`
/// against a size `400x300x200`), is no disagreement: the other value may just not say.
/// A value's last word, when the value ends in a digit, may be cut short: it agrees with
/// a word it starts.
pub fn numbers_differ(a: &Numbers, b: &Numbers) -> bool {
    // Word i of x and word j of y agree: equal, or one is the cut-short last word of its
    // value and starts the other (as written or in canonical form).
    let agree = |x: &Numbers, i: usize, y: &Numbers, j: usize| {
        let cut = |p: &Numbers, k: usize, q: &Numbers, l: usize| {
            p.last_open
                && k + 1 == p.list.len()
                && (q.list[l].starts_with(&*p.list[k]) || q.raw[l].starts_with(&*p.raw[k]))
        };
        x.list[i] == y.list[j] || cut(x, i, y, j) || cut(y, j, x, i)
    };
    let unmatched = |x: &Numbers, y: &Numbers| -> smallvec::SmallVec<[usize; 4]> {
        (0..x.list.len())
            .filter(|&i| !(0..y.list.len()).any(|j| agree(x, i, y, j)))
            .collect()
    };
    let (ua, ub) = (unmatched(a, b), unmatched(b, a));
    ua.iter().any(|&i| {
        let f = number_form(&a.list[i]);
        ub.iter().any(|&j| number_form(&b.list[j]) == f)
    })
}

fn initial_of(init: &str, full: &str) -> bool {
    init.len() == 1 && full.len() > 1 && full.starts_with(init)
}

fn prefix_equal(a: &str, b: &str, n: usize) -> bool {
    let mut ca = a.chars();
    let mut cb = b.chars();
    for _ in 0..n {
        match (ca.next(), cb.next()) {
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
    true
}

/// yyyymmdd dates with day and month exchanged (and not equal).
pub fn day_month_swapped(x: u32, y: u32) -> bool {
    let (ya, ma, da) = (x / 10000, x / 100 % 100, x % 100);
    let (yb, mb, db) = (y / 10000, y / 100 % 100, y % 100);
    x != y && ya == yb && ma == db && da == mb
}

/// Absolute days between two yyyymmdd dates.
pub fn days_between(x: u32, y: u32) -> Option<u32> {
    let d = |v: u32| chrono::NaiveDate::from_ymd_opt((v / 10000) as i32, v / 100 % 100, v % 100);
    Some((d(x)? - d(y)?).num_days().unsigned_abs() as u32)
}

/// |x - y| / max(|x|, |y|), 0 when both are 0.
pub fn relative_difference(x: f64, y: f64) -> f64 {
    let m = x.abs().max(y.abs());
    if m == 0.0 {
        0.0
    } else {
        (x - y).abs() / m
    }
}

pub fn email_local(e: &str) -> Option<&str> {
    e.split_once('@').map(|(l, _)| l).filter(|l| !l.is_empty())
}

pub fn email_domain(e: &str) -> Option<&str> {
    e.split_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

/// Same last `n` digits (both sides need at least `n`).
pub fn last_digits_equal(a: &str, b: &str, n: usize) -> bool {
    // From the end, without collecting: this runs for every candidate pair.
    let mut da = a.bytes().rev().filter(u8::is_ascii_digit);
    let mut db = b.bytes().rev().filter(u8::is_ascii_digit);
    for _ in 0..n {
        match (da.next(), db.next()) {
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
    true
}

/// A readable label for a level index of a comparison.
pub fn level_label(spec: &Comparison, level: u8) -> String {
    if level == LEVEL_MISSING {
        return "missing".into();
    }
    match spec.levels.get(level as usize) {
        None => "else".into(),
        Some(Level::Exact) => "exact".into(),
        Some(Level::JaroWinkler(t)) => format!("jaro_winkler>={t}"),
        Some(Level::Damerau(n)) => format!("damerau<={n}"),
        Some(Level::TokenSet(t)) => format!("token_set>={t}"),
        Some(Level::Phonetic) => "phonetic".into(),
        Some(Level::Nickname) => "nickname".into(),
        Some(Level::Initial) => "initial".into(),
        Some(Level::Swapped) => "swapped".into(),
        Some(Level::Prefix(n)) => format!("prefix{n}"),
        Some(Level::DayMonthSwapped) => "day_month_swapped".into(),
        Some(Level::DaysWithin(n)) => format!("days_within{n}"),
        Some(Level::DateTypo) => "date_typo".into(),
        Some(Level::SameYear) => "same_year".into(),
        Some(Level::RelativeDifference(t)) => format!("relative_difference<={t}"),
        Some(Level::EmailLocal) => "email_local".into(),
        Some(Level::EmailDomain) => "email_domain".into(),
        Some(Level::LastDigits(n)) => format!("last_digits{n}"),
        Some(Level::Quantity) => "quantity".into(),
        Some(Level::RareWord(n)) => format!("rare_word<={n}"),
        Some(Level::NumbersDiffer) => "numbers_differ".into(),
        Some(Level::Transposition) => "transposition".into(),
        Some(Level::WordsDiffer) => "words_differ".into(),
        Some(Level::CodeIn(a)) => format!("code_in_{a}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantities_convert_units() {
        use crate::standardize::quantity::parse_quantity;
        let q = |a: &str, b: &str| {
            let v = |s: &str| Value {
                quantity: parse_quantity(s),
                ..Value::default()
            };
            holds(&Level::Quantity, &v(a), &v(b))
        };
        assert!(q("0,5 l", "500 ml"));
        assert!(q("2.5l", "2500ML"));
        assert!(q("VE 100", "100 pcs"));
        assert!(q("0.25 kg", "250g"));
        assert!(!q("500 ml", "500 g"));
        assert!(!q("1 l", "5 l"));
    }

    #[test]
    fn token_set_knows_abbreviations_and_codes() {
        assert!(token_set("hydr oil hlp", "hydraulic oil hlp") > 0.9);
        // Words with digits agree only when equal: a different size or model is different.
        assert!(token_set("hex nut m6", "hex nut m8") < 0.7);
        assert!(token_set("bearing 6205", "bearing 6202") < 0.7);
    }

    #[test]
    fn numbers_differ_between_variants() {
        use crate::standardize::quantity::parse_numbers;
        let d = |a: &str, b: &str| numbers_differ(&parse_numbers(a), &parse_numbers(b));
        assert!(d("Hex Nut M16 Zinc Plated", "HEX NUT M6 ZP"));
        assert!(d("Copy Paper A4 80g", "Copy Paper A3 90 g"));
        assert!(d("Circuit Breaker B16 3P", "MCB B16 1P"));
        // One side's extra number is no disagreement; units convert.
        assert!(!d("Cable Tie 100x2.5mm VE 100", "Cable Tie 100x2,5 mm"));
        assert!(!d("Shower Gel 0,5 l", "Shower Gel 500ml"));
        assert!(!d("Wall Paint 5 l", "Wall Paint 5L"));
        // A value ending in a number may be truncated there.
        assert!(!d(
            "Copy Paper A3 80g Premium 2",
            "Copy Paper A3 80g 2500 sheets"
        ));
        assert!(d(
            "Copy Paper A3 80g 2 sheets",
            "Copy Paper A3 80g 2500 sheets"
        ));
        assert!(!d("Circuit Breaker C16 1P 10k", "MCB 10kA C16 1P VE 1"));
        assert!(!d("Shower Gel Sport 0,2", "Shower Gel Sport 0,25 l"));
        assert!(!d("LED Bulb E27 13W 2700", "LED Bulb 2700K E2"));
        assert!(d("Hex Nut M6", "Hex Nut M16"));
        assert!(!d("Safety Gloves", "Safety Gloves Size 9"));
        assert!(!d("Corrugated Box 3YIC", "Corr. Box 400X300X200"));
        assert!(!d("Alk. Battery 1.5V", "Alk. Battery AA LR6"));
        assert!(d("Shower Gel 0,5 l", "Shower Gel 250ml"));
    }

    #[test]
    fn words_differ_between_variant_words() {
        assert!(words_differ(
            "shower gel sport vegan",
            "shower gel almond milk"
        ));
        assert!(words_differ(
            "coffee decaf fairtrade",
            "coffee espresso fairtrade"
        ));
        // One side's extra words, abbreviations, cut-short words and numbers are no difference.
        assert!(!words_differ("shower gel sport vegan", "shower gel sport"));
        assert!(!words_differ(
            "hydr oil mineral",
            "hydraulic oil mineral hlp 46"
        ));
        assert!(!words_differ(
            "shower gel sport moi",
            "shower gel sport moisturising"
        ));
        assert!(!words_differ("hex nut m6", "hex nut m8"));
    }

    #[test]
    fn code_inside_finds_a_model_code_in_a_part_number() {
        assert!(code_inside("corr box 3yic double wall", "fx3yic2b1"));
        assert!(!code_inside(
            "corr box 400x300x200 double wall",
            "fx3yic2b1"
        ));
        // Two characters prove nothing.
        assert!(!code_inside("hex nut m6", "gfm6nimo2b0"));
    }

    #[test]
    fn one_swap_is_a_neighbour_transposition() {
        assert!(one_swap("hwl0ql1a2", "hwl0ql12a"));
        assert!(one_swap("ab", "ba"));
        assert!(!one_swap("abc", "abc"));
        assert!(!one_swap("4b1", "4b2"));
        assert!(!one_swap("abcd", "badc"));
        assert!(!one_swap("abc", "cba"));
        assert!(!one_swap("abc", "abcd"));
    }

    #[test]
    fn token_set_ignores_order() {
        assert!(token_set("acme tools", "tools acme") > 0.99);
        assert!(token_set("acme tools", "acme tool") > 0.9);
        assert!(token_set("acme tools", "zenith foods") < 0.5);
    }

    #[test]
    fn dates() {
        assert!(day_month_swapped(19870309, 19870903));
        assert!(!day_month_swapped(19870309, 19870309));
        assert_eq!(days_between(19871231, 19880101), Some(1));
    }

    #[test]
    fn emails_and_phones() {
        assert_eq!(email_local("a.b@x.de"), Some("a.b"));
        assert_eq!(email_domain("a.b@x.de"), Some("x.de"));
        assert!(last_digits_equal("+49 89 9456154", "089 9456154", 7));
        assert!(!last_digits_equal("123", "123", 7));
    }

    #[test]
    fn numbers_and_initials() {
        assert!(relative_difference(100.0, 104.0) <= 0.05);
        assert!(initial_of("r", "robert"));
        assert!(prefix_equal("robert", "roberta", 4));
    }

    #[test]
    fn fast_jaro_winkler_agrees_with_strsim() {
        for (a, b) in [
            ("martha", "marhta"),
            ("dwayne", "duane"),
            ("dixon", "dicksonx"),
            ("a", "a"),
            ("ab", "ba"),
        ] {
            assert!(
                (jaro_winkler(a, b) - strsim::jaro_winkler(a, b)).abs() < 1e-9,
                "{a} {b}"
            );
        }
    }

    proptest! {
        #[test]
        fn fast_jaro_winkler_matches_strsim(a in "[a-e ]{0,10}", b in "[a-e ]{0,10}") {
            prop_assert!((jaro_winkler(&a, &b) - strsim::jaro_winkler(&a, &b)).abs() < 1e-9);
        }

        #[test]
        fn rare_word_and_quantity_symmetric(
            a in proptest::collection::vec((0u64..20, 1u32..30), 0..6),
            b in proptest::collection::vec((0u64..20, 1u32..30), 0..6),
            n in 1u32..30,
            x in "[0-9]{1,4}(,[0-9])? ?(ml|l|g|kg|pcs|St\\.)",
            y in "[0-9]{1,4}(,[0-9])? ?(ml|l|g|kg|pcs|St\\.)",
        ) {
            // Word lists are sorted and unique by hash, and a word has one frequency.
            let norm = |v: Vec<(u64, u32)>| {
                let mut v: Vec<(u64, u32)> = v.into_iter().map(|(h, _)| (h, (h as u32 % 29) + 1)).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let (a, b) = (norm(a), norm(b));
            prop_assert_eq!(share_rare_word(&a, &b, n), share_rare_word(&b, &a, n));
            let qa = crate::standardize::quantity::parse_quantity(&x);
            let qb = crate::standardize::quantity::parse_quantity(&y);
            let va = Value { quantity: qa, ..Value::default() };
            let vb = Value { quantity: qb, ..Value::default() };
            prop_assert_eq!(holds(&Level::Quantity, &va, &vb), holds(&Level::Quantity, &vb, &va));
            prop_assert!(qa.is_some());
        }

        #[test]
        fn similarities_symmetric_and_bounded(a in "[a-z0-9 ]{0,12}", b in "[a-z0-9 ]{0,12}") {
            let (x, y) = (token_set(&a, &b), token_set(&b, &a));
            prop_assert!((0.0..=1.0).contains(&x));
            prop_assert!((x - y).abs() < 1e-9);
            let j = jaro_winkler(&a, &b);
            prop_assert!((0.0..=1.0).contains(&j));
            prop_assert!((j - jaro_winkler(&b, &a)).abs() < 1e-9);
            prop_assert_eq!(damerau(&a, &b), damerau(&b, &a));
            for n in 0..3 {
                prop_assert_eq!(damerau_within(&a, &b, n), damerau(&a, &b) <= n);
            }
        }

        #[test]
        fn date_relations_symmetric(x in 19000101u32..20251231, y in 19000101u32..20251231) {
            prop_assert_eq!(day_month_swapped(x, y), day_month_swapped(y, x));
            prop_assert_eq!(days_between(x, y), days_between(y, x));
        }
    }
}
