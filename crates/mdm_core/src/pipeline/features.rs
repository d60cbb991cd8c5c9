//! Before blocking: raw values are interned per column (each distinct raw value is cleaned
//! once, in parallel), then turned into compact comparison features: a folded text, a
//! per-word Double Metaphone code, a nickname-resolved given name, a parsed date, a number.
//!
//! Records refer to values by `u32` id, so exact agreement is an integer comparison and a
//! million records cost little more than their distinct values.

use crate::model::{AttrType, RecordKey, SourceRecord};
use crate::rules::matching::Level;
use crate::rules::DomainRules;
use crate::standardize::{clean, Cleaned, StdContext};
use ahash::AHashMap;
use rayon::prelude::*;
use rphonetic::{DoubleMetaphone, Encoder};

/// The id of a missing value.
pub const MISSING: u32 = u32::MAX;

/// Raw values, interned per column, in input order. Built row by row (the CLI streams CSV
/// rows into it) or from `SourceRecord`s.
#[derive(Debug, Default)]
pub struct RawTable {
    pub keys: Vec<RecordKey>,
    columns: Vec<RawColumn>,
    split: Option<(usize, usize, usize)>,
}

#[derive(Debug, Default)]
struct RawColumn {
    ids: Vec<u32>,
    distinct: Vec<Box<str>>,
    index: AHashMap<Box<str>, u32>,
}

impl RawColumn {
    fn push(&mut self, raw: Option<&str>) {
        let id = match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => MISSING,
            Some(s) => match self.index.get(s) {
                Some(&id) => id,
                None => {
                    let id = self.distinct.len() as u32;
                    self.distinct.push(s.into());
                    self.index.insert(s.into(), id);
                    id
                }
            },
        };
        self.ids.push(id);
    }
}

impl RawTable {
    pub fn new(rules: &DomainRules) -> Self {
        let split = rules.matching.name_split.as_ref().and_then(|s| {
            Some((
                rules.index_of(&s.full)?,
                rules.index_of(&s.given)?,
                rules.index_of(&s.family)?,
            ))
        });
        Self {
            keys: Vec::new(),
            columns: (0..rules.attributes.len())
                .map(|_| RawColumn::default())
                .collect(),
            split,
        }
    }

    pub fn from_records(rules: &DomainRules, records: &[SourceRecord]) -> Self {
        let mut t = Self::new(rules);
        for r in records {
            t.push(r.key.clone(), |i| {
                r.values.get(i).and_then(|v| v.as_deref())
            });
        }
        t
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds one record; `value(i)` is its raw value of attribute `i`.
    pub fn push<'a>(&mut self, key: RecordKey, value: impl Fn(usize) -> Option<&'a str>) {
        let mut vals: Vec<Option<&'a str>> = (0..self.columns.len()).map(&value).collect();
        if let Some((full, given, family)) = self.split {
            split_full_name(&mut vals, full, given, family);
        }
        for (col, v) in self.columns.iter_mut().zip(vals) {
            col.push(v);
        }
        self.keys.push(key);
    }
}

/// "Given Family" or "Family, Given" into the given/family fields when both are empty.
fn split_full_name(vals: &mut [Option<&str>], full: usize, given: usize, family: usize) {
    let empty = |v: Option<&str>| v.is_none_or(is_null_marker);
    if !(empty(vals[given]) && empty(vals[family])) {
        return;
    }
    let Some(f) = vals[full].filter(|v| !is_null_marker(v)) else {
        return;
    };
    let f = f.trim();
    let (g, fam) = if let Some((fam, g)) = f.split_once(',') {
        (g.trim(), fam.trim())
    } else if let Some(pos) = f.rfind(char::is_whitespace) {
        (f[..pos].trim(), f[pos..].trim())
    } else {
        ("", f)
    };
    vals[given] = Some(g).filter(|s| !s.is_empty());
    vals[family] = Some(fam).filter(|s| !s.is_empty());
}

/// Markers sources use for "no value".
pub fn is_null_marker(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "" | "null"
            | "nul"
            | "none"
            | "n/a"
            | "na"
            | "nan"
            | "-"
            | "--"
            | "?"
            | "unknown"
            | "(null)"
    )
}

/// One distinct standardized value and what comparators and blocking keys need of it.
#[derive(Debug, Clone, Default)]
pub struct Value {
    /// Folded text: ASCII, lower case, words separated by single spaces.
    pub text: Box<str>,
    /// Double Metaphone of each word, space-separated (names only).
    pub phonetic: Box<str>,
    /// Given name with nickname resolved (Bob -> robert).
    pub canon: Box<str>,
    /// yyyymmdd for dates.
    pub date: Option<u32>,
    pub number: Option<f64>,
    /// A package size in its base unit (ml, g, pieces, m) and that unit's dimension.
    pub quantity: Option<(f64, Dimension)>,
    /// Each distinct word's hash and how many records of the column carry it, sorted by
    /// hash (for `rare_word` levels only).
    pub words: Box<[(u64, u32)]>,
    /// The numbers in the value, in order (for `numbers_differ` levels only).
    pub numbers: Option<Numbers>,
}

/// The words with digits a value carries (`numbers_differ`): sizes, ratings, model
/// numbers; a number with a unit of volume, mass or length in the base unit (`0,5 l` ->
/// `500ml`). In the order they appear.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Numbers {
    pub list: Box<[Box<str>]>,
    /// Each word as written (`0.5` for `0,5 l`): a cut-short last word is a prefix of it.
    pub raw: Box<[Box<str>]>,
    /// Whether the value's last word is the last of `list`: it may be cut short (a
    /// truncated field).
    pub last_open: bool,
}

/// What a package size measures; quantities of different dimensions never agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Volume,
    Mass,
    Count,
    Length,
}

/// One attribute's values for all records.
#[derive(Debug, Default)]
pub struct Column {
    pub ty: Option<AttrType>,
    /// Per record: index into `values`, or `MISSING`.
    pub ids: Vec<u32>,
    pub values: Vec<Value>,
    /// Per value: how many records carry it (for term frequencies).
    pub counts: Vec<u32>,
    pub present: u32,
    /// The word counts of a frozen model's vocabulary (set by `Model::apply` on columns
    /// whose blocking keys count words): they count with those of `values` outside it.
    pub frozen_words: Option<std::sync::Arc<FrozenWords>>,
}

/// Words over a model's frozen values: per word, the records whose value contains it.
#[derive(Debug, Default)]
pub struct FrozenWords {
    pub counts: AHashMap<Box<str>, u32>,
    /// The frozen values themselves: a column value among them is counted here already.
    pub values: ahash::AHashSet<Box<str>>,
}

impl FrozenWords {
    /// Counts the words of `values` (text -> records carrying it).
    pub fn new<'a>(values: impl Iterator<Item = (&'a str, u32)>) -> Self {
        let mut f = FrozenWords::default();
        for (text, count) in values {
            let mut words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
            words.sort_unstable();
            words.dedup();
            for w in words {
                *f.counts.entry(w.into()).or_default() += count;
            }
            f.values.insert(text.into());
        }
        f
    }
}

impl Column {
    pub fn get(&self, rec: usize) -> Option<&Value> {
        let id = self.ids[rec];
        (id != MISSING).then(|| &self.values[id as usize])
    }
}

/// All records' features, column by column.
#[derive(Debug)]
pub struct Features {
    pub keys: Vec<RecordKey>,
    pub columns: Vec<Column>,
}

impl Features {
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Cleans each distinct raw value once (columns and values in parallel).
    pub fn build(rules: &DomainRules, ctx: &StdContext, raw: RawTable) -> Self {
        let needs_phonetic = phonetic_columns(rules);
        let needs_quantity = level_columns(rules, |l| matches!(l, Level::Quantity));
        let needs_words = level_columns(rules, |l| matches!(l, Level::RareWord(_)));
        let needs_numbers = level_columns(rules, |l| matches!(l, Level::NumbersDiffer));
        let columns = raw
            .columns
            .into_par_iter()
            .zip(rules.attributes.par_iter())
            .enumerate()
            .map(|(i, (col, attr))| {
                let extra = Extras {
                    phonetic: needs_phonetic[i],
                    quantity: needs_quantity[i],
                    words: needs_words[i],
                    numbers: needs_numbers[i],
                };
                build_column(col, attr.ty, extra, ctx)
            })
            .collect();
        Self {
            keys: raw.keys,
            columns,
        }
    }
}

fn phonetic_columns(rules: &DomainRules) -> Vec<bool> {
    let m = &rules.matching;
    rules
        .attributes
        .iter()
        .map(|a| {
            let in_cmp = m
                .comparisons
                .iter()
                .any(|c| c.attr == a.name && c.levels.iter().any(|l| matches!(l, Level::Phonetic)));
            let in_block =
                m.blocking.iter().flat_map(|b| &b.keys).any(|k| {
                    k.split(':').next() == Some(a.name.as_str()) && k.contains("metaphone")
                });
            in_cmp || in_block
        })
        .collect()
}

/// Per column, whether some comparison level of the rules uses it.
fn level_columns(rules: &DomainRules, uses: impl Fn(&Level) -> bool) -> Vec<bool> {
    rules
        .attributes
        .iter()
        .map(|a| {
            rules
                .matching
                .comparisons
                .iter()
                .any(|c| c.attr == a.name && c.levels.iter().any(&uses))
        })
        .collect()
}

/// Features beyond the folded text that only some columns need.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras {
    pub phonetic: bool,
    pub quantity: bool,
    pub words: bool,
    pub numbers: bool,
}

fn build_column(raw: RawColumn, ty: AttrType, extra: Extras, ctx: &StdContext) -> Column {
    let cleaned: Vec<Option<Value>> = raw
        .distinct
        .par_iter()
        .map(|s| {
            let mut v = make_value(ty, s, extra.phonetic, ctx)?;
            if extra.quantity {
                v.quantity = parse_quantity(s);
            }
            if extra.numbers {
                v.numbers = Some(parse_numbers(s));
            }
            Some(v)
        })
        .collect();
    // Distinct raw values may clean to the same text: map them to one id (the first value
    // of each text is kept; the map borrows the texts, so none is copied).
    let mut index: AHashMap<&str, u32> = AHashMap::with_capacity(cleaned.len());
    let mut first: Vec<usize> = Vec::with_capacity(cleaned.len());
    let remap: Vec<u32> = cleaned
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => MISSING,
            Some(v) => *index.entry(&v.text).or_insert_with(|| {
                first.push(i);
                (first.len() - 1) as u32
            }),
        })
        .collect();
    drop(index);
    let mut cleaned = cleaned;
    let mut values: Vec<Value> = first
        .iter()
        .map(|&i| cleaned[i].take().expect("a first occurrence has a value"))
        .collect();
    let ids: Vec<u32> = raw
        .ids
        .iter()
        .map(|&r| {
            if r == MISSING {
                MISSING
            } else {
                remap[r as usize]
            }
        })
        .collect();
    let mut counts = vec![0u32; values.len()];
    let mut present = 0;
    for &id in &ids {
        if id != MISSING {
            counts[id as usize] += 1;
            present += 1;
        }
    }
    if extra.words {
        word_frequencies(&mut values, &counts);
    }
    Column {
        ty: Some(ty),
        ids,
        values,
        counts,
        present,
        frozen_words: None,
    }
}

/// Fills `Value::words`: every distinct word of a value with the number of records whose
/// value contains it.
fn word_frequencies(values: &mut [Value], counts: &[u32]) {
    let hs = ahash::RandomState::with_seeds(0x776f_7264, 0x6672_6571, 0x6d64_6d32, 0x2026_1128);
    let hashed: Vec<Vec<u64>> = values
        .par_iter()
        .map(|v| {
            let mut w: Vec<u64> = v
                .text
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(|w| hs.hash_one(w))
                .collect();
            w.sort_unstable();
            w.dedup();
            w
        })
        .collect();
    let mut df: AHashMap<u64, u32> = AHashMap::new();
    for (ws, &c) in hashed.iter().zip(counts) {
        for &w in ws {
            *df.entry(w).or_default() += c;
        }
    }
    values.par_iter_mut().zip(hashed).for_each(|(v, ws)| {
        v.words = ws.into_iter().map(|w| (w, df[&w])).collect();
    });
}

/// Standardizes one raw value into comparison features; `None` when missing or invalid.
pub fn make_value(ty: AttrType, raw: &str, phonetic: bool, ctx: &StdContext) -> Option<Value> {
    if is_null_marker(raw) {
        return None;
    }
    let std = match clean(ty, raw, ctx) {
        Cleaned::Valid(s) => s,
        Cleaned::Missing | Cleaned::Invalid { .. } => return None,
    };
    let mut v = Value::default();
    let text = match ty {
        AttrType::Date => {
            let d = parse_date(&std).filter(|d| !PLACEHOLDER_DATES.contains(d))?;
            v.date = Some(d);
            format!("{d:08}")
        }
        AttrType::Email => Some(std.trim().to_lowercase()).filter(|e| !is_placeholder_email(e))?,
        AttrType::Phone => Some(digits(&std)).filter(|d| !is_placeholder_phone(d))?,
        AttrType::Duns => digits(&std),
        // VAT numbers are written with and without their country prefix (DE123, 123).
        AttrType::TaxId => strip_country_prefix(&fold(&std).replace(' ', "")).to_string(),
        // GTIN-8/12/13/14 are one number space: leading zeros pad to 14 digits.
        AttrType::Gtin => digits(&std).trim_start_matches('0').to_string(),
        AttrType::Url => host(&std),
        AttrType::Number | AttrType::Money => {
            let n: f64 = std
                .chars()
                .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
                .collect::<String>()
                .replace(',', ".")
                .parse()
                .ok()?;
            v.number = Some(n);
            format!("{n}")
        }
        AttrType::Identifier | AttrType::Iban | AttrType::Postcode => fold(&std).replace(' ', ""),
        AttrType::HouseNumber => {
            let f = fold(&std);
            let first = f
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            first.to_string()
        }
        AttrType::PersonName => drop_words(&fold(&std), TITLES),
        AttrType::OrganizationName => drop_words(&fold(&std), LEGAL_FORMS),
        AttrType::Street => street(&fold(&std)),
        _ => fold(&std),
    };
    if text.is_empty() {
        return None;
    }
    if phonetic {
        v.phonetic = metaphone_words(&text).into();
    }
    if ty == AttrType::PersonName {
        v.canon = canonical_given(&text).into();
    }
    v.text = text.into();
    Some(v)
}

/// Dates clerks type when the real one is unknown: shared by unrelated people, they prove
/// nothing, so they count as missing.
const PLACEHOLDER_DATES: &[u32] = &[
    19000101, 19010101, 18000101, 18500101, 19700101, 20000101, 99991231, 21001231, 22000101,
];

/// Dummy e-mails typed into mandatory fields: a known dummy local part, or one that merely
/// repeats the domain (`na@na.com`, `x@x.de`).
fn is_placeholder_email(e: &str) -> bool {
    const DUMMY: &[&str] = &[
        "noemail", "nomail", "no.email", "no-email", "none", "na", "n.a", "keine", "kein",
        "nobody", "dummy", "test", "unknown", "noreply", "no-reply", "x", "xx", "xxx", "abc",
        "email", "mail", "null", "nil", "no", "ninguno", "aucun", "brak",
    ];
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    let label = domain.split('.').next().unwrap_or("");
    DUMMY.contains(&local) || local == label
}

/// Dummy phone numbers: too short to dial, or a national part of one repeated digit.
fn is_placeholder_phone(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() < 6 {
        return true;
    }
    let tail = &b[b.len() - 6..];
    tail.iter().all(|&c| c == tail[0]) || d.ends_with("123456") || d.ends_with("1234567")
}

/// `DE136695976` -> `136695976`, `ESB36213813` -> `B36213813`: a VAT country prefix
/// before a body of at least six digits.
fn strip_country_prefix(s: &str) -> &str {
    const VAT_PREFIXES: &[&str] = &[
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "GR", "ES", "FI", "FR", "GB", "HR",
        "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI",
        "NO", "CH",
    ];
    let upper = s.get(..2).map(str::to_ascii_uppercase);
    match upper {
        Some(p) if VAT_PREFIXES.contains(&p.as_str()) => {
            let body = &s[2..];
            let digits = body.bytes().filter(u8::is_ascii_digit).count();
            if digits >= 6 {
                body
            } else {
                s
            }
        }
        _ => s,
    }
}

/// The words with digits of a value (see `Numbers`): `Hex Nut M16 0,5 kg` -> `m16`,
/// `500g`. A decimal comma or point joins digits (`2,5`); a number followed by a unit of
/// volume, mass or length (`500 ml`, `0,5l`, `450mm`) becomes one word in the base unit.
pub fn parse_numbers(raw: &str) -> Numbers {
    let lower = deunicode::deunicode(raw).to_lowercase();
    let b = lower.as_bytes();
    // Words: alphanumeric runs, a separator between two digits kept (`2,5`, `1.5`).
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in b.iter().enumerate() {
        let decimal = matches!(c, b',' | b'.')
            && i > 0
            && b[i - 1].is_ascii_digit()
            && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if c.is_ascii_alphanumeric() || decimal {
            cur.push(if decimal { '.' } else { c as char });
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut list: Vec<Box<str>> = Vec::new();
    let mut raws: Vec<Box<str>> = Vec::new();
    let mut last_open = false;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if !w.bytes().any(|c| c.is_ascii_digit()) {
            continue;
        }
        // A number and its unit, written together or apart.
        let split = w.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(w.len());
        let (num, unit) = w.split_at(split);
        let quantity = match (num.parse::<f64>(), unit) {
            (Ok(x), "") => match words.get(i).and_then(|u| unit_factor(u)) {
                Some(f) => {
                    i += 1;
                    Some((x, f))
                }
                None => None,
            },
            (Ok(x), u) => unit_factor(u).map(|f| (x, f)),
            _ => None,
        };
        let canon = match quantity {
            Some((x, (factor, base))) => format!("{}{base}", (x * factor * 1e6).round() / 1e6),
            None => w.clone(),
        };
        last_open = i == words.len();
        if let Some(k) = list.iter().position(|n| **n == *canon) {
            // Seen before: keep one copy, at the later place.
            list.remove(k);
            raws.remove(k);
        }
        list.push(canon.into());
        raws.push(num_raw(w).into());
    }
    Numbers {
        list: list.into_boxed_slice(),
        raw: raws.into_boxed_slice(),
        last_open,
    }
}

/// A word as written, its unit dropped when it is a quantity (`0.5l` -> `0.5`).
fn num_raw(w: &str) -> &str {
    let split = w.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(w.len());
    let (num, unit) = w.split_at(split);
    if !num.is_empty() && unit_factor(unit).is_some() {
        num
    } else {
        w
    }
}

/// The form of a word with digits: letters -> `a`, digits -> `9`, runs collapsed
/// (`m16` and `m6` -> `a9`, `80g` -> `9a`, `6202` -> `9`).
pub fn number_form(w: &str) -> smallvec::SmallVec<[u8; 8]> {
    let mut f = smallvec::SmallVec::new();
    for c in w.bytes() {
        let k = if c.is_ascii_digit() || c == b'.' {
            b'9'
        } else {
            b'a'
        };
        if f.last() != Some(&k) {
            f.push(k);
        }
    }
    f
}

/// Base-unit factor and dimension letter of a unit of volume (ml), mass (g) or length (m).
fn unit_factor(unit: &str) -> Option<(f64, &'static str)> {
    Some(match unit {
        "ml" => (1.0, "ml"),
        "cl" => (10.0, "ml"),
        "dl" => (100.0, "ml"),
        "l" | "lt" | "ltr" | "liter" | "litre" | "liters" | "litres" => (1000.0, "ml"),
        "mg" => (0.001, "g"),
        "g" | "gr" | "gramm" | "gram" | "grams" => (1.0, "g"),
        "kg" | "kilo" | "kilogramm" | "kilogram" => (1000.0, "g"),
        "mm" => (0.001, "m"),
        "cm" => (0.01, "m"),
        "m" | "mtr" | "meter" | "metre" | "meters" => (1.0, "m"),
        _ => return None,
    })
}

/// A package size (`500 ml`, `0,5 L`, `2.5l`, `VE 100`, `12 St.`, `1 kg`) in its base unit.
pub fn parse_quantity(raw: &str) -> Option<(f64, Dimension)> {
    let lower = raw.trim().to_lowercase();
    // Split into a number and the words around it; a decimal comma is a decimal point.
    let start = lower.find(|c: char| c.is_ascii_digit())?;
    let rest = &lower[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(rest.len());
    let num = &rest[..end];
    let amount: f64 = if num.matches([',', '.']).count() == 1 {
        num.replace(',', ".").parse().ok()?
    } else {
        // No separator, or thousands grouping (1.000.000): digits only.
        num.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()?
    };
    let before = lower[..start].trim();
    let after: String = rest[end..]
        .trim()
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect();
    let unit = if after.is_empty() {
        before
    } else {
        after.as_str()
    };
    let (factor, dim) = match unit.trim_end_matches('.') {
        "ml" => (1.0, Dimension::Volume),
        "cl" => (10.0, Dimension::Volume),
        "dl" => (100.0, Dimension::Volume),
        "l" | "lt" | "ltr" | "liter" | "litre" | "liters" | "litres" => (1000.0, Dimension::Volume),
        "mg" => (0.001, Dimension::Mass),
        "g" | "gr" | "gramm" | "gram" | "grams" => (1.0, Dimension::Mass),
        "kg" | "kilo" | "kilogramm" | "kilogram" => (1000.0, Dimension::Mass),
        "mm" => (0.001, Dimension::Length),
        "cm" => (0.01, Dimension::Length),
        "m" | "mtr" | "meter" | "metre" | "meters" => (1.0, Dimension::Length),
        "km" => (1000.0, Dimension::Length),
        "pcs" | "pc" | "pce" | "piece" | "pieces" | "st" | "stk" | "stck" | "stuck" | "ve"
        | "ea" | "each" | "x" | "pack" | "pk" | "pair" | "pairs" | "paar" | "rolls" | "roll"
        | "rollen" | "rolle" | "units" | "unit" | "sheets" | "sheet" | "blatt" | "bl" | "" => {
            (1.0, Dimension::Count)
        }
        _ => return None,
    };
    Some((amount * factor, dim))
}

/// ASCII, lower case, punctuation to spaces, single spaces.
pub fn fold(s: &str) -> String {
    let ascii = deunicode::deunicode(s).to_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for w in ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// The host of a web address without scheme and `www.`: `https://www.acme.de/x` -> `acme.de`.
fn host(s: &str) -> String {
    let l = s.trim().to_lowercase();
    let l = l.split_once("://").map_or(l.as_str(), |(_, r)| r);
    let h = l.split(['/', '?', '#']).next().unwrap_or("");
    h.strip_prefix("www.").unwrap_or(h).to_string()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "dr", "prof", "herr", "frau", "sir", "mme", "mlle", "m", "sr",
    "sra", "pan", "pani", "dott", "ing",
];

const LEGAL_FORMS: &[&str] = &[
    "gmbh",
    "ag",
    "kg",
    "ohg",
    "ug",
    "mbh",
    "co",
    "ltd",
    "limited",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "llc",
    "plc",
    "llp",
    "sa",
    "sas",
    "sarl",
    "sasu",
    "eurl",
    "bv",
    "nv",
    "srl",
    "spa",
    "sl",
    "sp",
    "z",
    "o",
    "oo",
    "ab",
    "as",
    "oy",
    "kft",
    "se",
    "the",
    "and",
    "und",
    "et",
    "company",
    "cie",
    "group",
];

fn drop_words(text: &str, words: &[&str]) -> String {
    let kept: Vec<&str> = text.split(' ').filter(|w| !words.contains(w)).collect();
    if kept.is_empty() {
        text.to_string()
    } else {
        kept.join(" ")
    }
}

/// Street type abbreviations expanded; numbers (house numbers written into the street) dropped.
fn street(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for w in text.split(' ') {
        if w.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let full = match w {
            "st" => "street",
            "str" => "strasse",
            "rd" => "road",
            "ave" | "av" => "avenue",
            "blvd" | "bd" => "boulevard",
            "ln" => "lane",
            "dr" => "drive",
            "ct" => "court",
            "pl" => "place",
            "sq" => "square",
            "cres" => "crescent",
            "r" => "rue",
            "ch" => "chemin",
            "po" | "pso" => "paseo",
            "c" | "cl" => "calle",
            "ul" => "ulica",
            "al" => "aleja",
            other => other,
        };
        // German compounds: "hauptstr" / "hauptstrasse" -> "haupt strasse".
        if let Some(stem) = full
            .strip_suffix("strasse")
            .or_else(|| full.strip_suffix("str"))
        {
            if !stem.is_empty() {
                out.push(stem.to_string());
                out.push("strasse".into());
                continue;
            }
        }
        out.push(full.to_string());
    }
    out.join(" ")
}

fn metaphone_words(text: &str) -> String {
    let dm = DoubleMetaphone::default();
    text.split(' ')
        .map(|w| dm.encode(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Dates as found in the wild: ISO, compact, d/m/y (day first), "9 Mar 1987".
pub fn parse_date(s: &str) -> Option<u32> {
    let s = s.trim();
    let parts: Vec<&str> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let (y, m, d) = match parts.as_slice() {
        [one] if one.len() == 8 && one.bytes().all(|b| b.is_ascii_digit()) => (
            one[..4].parse().ok()?,
            one[4..6].parse().ok()?,
            one[6..].parse().ok()?,
        ),
        [a, b, c] if a.len() == 4 => (a.parse().ok()?, b.parse().ok()?, c.parse().ok()?),
        [a, b, c] => {
            let mon = month(b).or_else(|| b.parse().ok())?;
            let mut y: u32 = c.parse().ok()?;
            if c.len() == 2 {
                y += if y > 30 { 1900 } else { 2000 };
            }
            (y, mon, a.parse().ok()?)
        }
        _ => return None,
    };
    let (m, d) = if m > 12 && d <= 12 { (d, m) } else { (m, d) };
    ((1800..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then_some(y * 10000 + m * 100 + d)
}

fn month(s: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let l = s.to_ascii_lowercase();
    M.iter()
        .position(|m| l.starts_with(m))
        .map(|i| i as u32 + 1)
}

/// The first word of a given name with common nicknames resolved.
pub fn canonical_given(text: &str) -> String {
    let first = text.split(' ').next().unwrap_or("");
    NICKNAMES
        .iter()
        .find(|(nick, _)| *nick == first)
        .map_or(first, |(_, full)| full)
        .to_string()
}

/// A small shipped nickname table (diminutive -> formal name).
const NICKNAMES: &[(&str, &str)] = &[
    ("bob", "robert"),
    ("rob", "robert"),
    ("bobby", "robert"),
    ("robbie", "robert"),
    ("bill", "william"),
    ("will", "william"),
    ("billy", "william"),
    ("willy", "william"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("betty", "elizabeth"),
    ("lizzie", "elizabeth"),
    ("eliza", "elizabeth"),
    ("kate", "katherine"),
    ("katie", "katherine"),
    ("kathy", "katherine"),
    ("cathy", "catherine"),
    ("jim", "james"),
    ("jimmy", "james"),
    ("jamie", "james"),
    ("mike", "michael"),
    ("mick", "michael"),
    ("micky", "michael"),
    ("dick", "richard"),
    ("rick", "richard"),
    ("rich", "richard"),
    ("tom", "thomas"),
    ("tommy", "thomas"),
    ("tony", "anthony"),
    ("andy", "andrew"),
    ("drew", "andrew"),
    ("dave", "david"),
    ("davy", "david"),
    ("dan", "daniel"),
    ("danny", "daniel"),
    ("joe", "joseph"),
    ("joey", "joseph"),
    ("sepp", "josef"),
    ("jack", "john"),
    ("johnny", "john"),
    ("hans", "johannes"),
    ("chris", "christopher"),
    ("matt", "matthew"),
    ("nick", "nicholas"),
    ("steve", "steven"),
    ("sam", "samuel"),
    ("ben", "benjamin"),
    ("ed", "edward"),
    ("eddie", "edward"),
    ("ted", "edward"),
    ("fred", "frederick"),
    ("fritz", "friedrich"),
    ("greg", "gregory"),
    ("pete", "peter"),
    ("peg", "margaret"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("meg", "margaret"),
    ("greta", "margarete"),
    ("sue", "susan"),
    ("susie", "susan"),
    ("jenny", "jennifer"),
    ("jen", "jennifer"),
    ("patty", "patricia"),
    ("pat", "patricia"),
    ("trish", "patricia"),
    ("debbie", "deborah"),
    ("deb", "deborah"),
    ("becky", "rebecca"),
    ("vicky", "victoria"),
    ("alex", "alexander"),
    ("sandy", "alexandra"),
    ("sasha", "alexander"),
    ("al", "albert"),
    ("bert", "albert"),
    ("charlie", "charles"),
    ("chuck", "charles"),
    ("harry", "henry"),
    ("hank", "henry"),
    ("heinz", "heinrich"),
    ("jo", "johanna"),
    ("leni", "helene"),
    ("lena", "helena"),
    ("manu", "manuel"),
    ("pepe", "jose"),
    ("paco", "francisco"),
    ("pancho", "francisco"),
    ("lola", "dolores"),
    ("nacho", "ignacio"),
    ("kasia", "katarzyna"),
    ("basia", "barbara"),
    ("gosia", "malgorzata"),
    ("tomek", "tomasz"),
    ("kuba", "jakub"),
    ("bartek", "bartlomiej"),
    ("jurek", "jerzy"),
    ("marysia", "maria"),
    ("pili", "pilar"),
    ("jan", "johannes"),
    ("wim", "willem"),
    ("joop", "johannes"),
    ("klaas", "nicolaas"),
    ("jeanne", "jeanne"),
    ("mimi", "marie"),
    ("jojo", "joseph"),
    ("fanny", "francoise"),
    ("steffi", "stefanie"),
    ("uli", "ulrich"),
    ("wolfi", "wolfgang"),
    ("susi", "susanne"),
    ("gabi", "gabriele"),
    ("moni", "monika"),
    ("conny", "cornelia"),
    ("andi", "andreas"),
    ("flo", "florian"),
    ("basti", "sebastian"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_wild() {
        assert_eq!(parse_date("1987-03-09"), Some(19870309));
        assert_eq!(parse_date("19870309"), Some(19870309));
        assert_eq!(parse_date("09/03/1987"), Some(19870309));
        assert_eq!(parse_date("9 Mar 1987"), Some(19870309));
        assert_eq!(parse_date("03/25/1987"), Some(19870325));
        assert_eq!(parse_date("not a date"), None);
    }

    #[test]
    fn streets_fold_abbreviations_and_numbers() {
        assert_eq!(street(&fold("Hauptstr. 5")), "haupt strasse");
        assert_eq!(street(&fold("77 Oxford St")), "oxford street");
    }

    #[test]
    fn full_names_split() {
        let mut v = [Some("Jean Leroux"), None, Some("NULL")];
        split_full_name(&mut v, 0, 1, 2);
        assert_eq!(v, [Some("Jean Leroux"), Some("Jean"), Some("Leroux")]);
        let mut v = [Some("Leroux, Jean"), None, None];
        split_full_name(&mut v, 0, 1, 2);
        assert_eq!(v[1..], [Some("Jean"), Some("Leroux")]);
    }

    #[test]
    fn nicknames_resolve() {
        assert_eq!(canonical_given("bob"), "robert");
        assert_eq!(canonical_given("robert james"), "robert");
    }
}
