//! Before blocking: raw values are interned per column (each distinct raw value is cleaned
//! once, in parallel), then turned into compact comparison features: a folded text, a
//! per-word Double Metaphone code, a nickname-resolved given name, a parsed date, a number.
//!
//! One cleaning layer: every value goes through `standardize::clean`, and every table and
//! parser the features need (nicknames, legal forms, street types, dates, placeholders,
//! units) is `standardize`'s, so standardization, blocking, comparison and search agree.
//!
//! Records refer to values by `u32` id, so exact agreement is an integer comparison and a
//! million records cost little more than their distinct values.

use crate::model::{AttrType, RecordKey, SourceRecord};
use crate::rules::matching::Level;
use crate::rules::DomainRules;
pub use crate::standardize::quantity::{parse_numbers, parse_quantity, Dimension, Numbers};
use crate::standardize::{
    address, canonical_given, clean, date, email, fold_words, ids, is_missing, organization,
    Cleaned, StdContext,
};
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
    let empty = |v: Option<&str>| v.is_none_or(is_missing);
    if !(empty(vals[given]) && empty(vals[family])) {
        return;
    }
    let Some(f) = vals[full].filter(|v| !is_missing(v)) else {
        return;
    };
    let (g, fam) = split_full(f);
    vals[given] = Some(g).filter(|s| !s.is_empty());
    vals[family] = Some(fam).filter(|s| !s.is_empty());
}

/// A full name as (given, family): "Given Family" or "Family, Given".
pub fn split_full(full: &str) -> (&str, &str) {
    let f = full.trim();
    if let Some((fam, g)) = f.split_once(',') {
        (g.trim(), fam.trim())
    } else if let Some(pos) = f.rfind(char::is_whitespace) {
        (f[..pos].trim(), f[pos..].trim())
    } else {
        ("", f)
    }
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

    /// Cleans each distinct raw value once (columns and values in parallel); a postcode
    /// once per country it is read in ([`RecordCountries`]).
    pub fn build(rules: &DomainRules, ctx: &StdContext, raw: RawTable) -> Self {
        let countries = RecordCountries::of(rules, ctx, &raw);
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
                let countries = countries.as_ref().filter(|_| attr.ty == AttrType::Postcode);
                build_column(col, attr.ty, extra, ctx, countries)
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

/// The country each record's postcodes are read in, where the data states one: the
/// record's own country, else its source system's configured one (the same order as
/// `survive::record_context`; a cluster's country is not known before matching). Records
/// refer to one small context per country, so no context is built per record.
struct RecordCountries {
    /// Per record: an index into `contexts`, or `NO_COUNTRY` (the caller's context).
    of: Vec<u16>,
    contexts: Vec<StdContext>,
}

const NO_COUNTRY: u16 = u16::MAX;

impl RecordCountries {
    /// None when the rules have no postcode or no record states a country.
    fn of(rules: &DomainRules, ctx: &StdContext, raw: &RawTable) -> Option<Self> {
        rules
            .attributes
            .iter()
            .any(|a| a.ty == AttrType::Postcode)
            .then_some(())?;
        let mut contexts: Vec<StdContext> = Vec::new();
        let mut slot = |code: &str| -> u16 {
            match contexts.iter().position(|c| c.default_country == code) {
                Some(i) => i as u16,
                None => {
                    contexts.push(StdContext {
                        default_country: code.to_string(),
                        country_stated: true,
                        ..ctx.clone()
                    });
                    (contexts.len() - 1) as u16
                }
            }
        };
        // Each distinct raw country is read once, each system's country looked up once.
        let own: Vec<u16> = match rules
            .attributes
            .iter()
            .position(|a| a.ty == AttrType::Country)
        {
            Some(c) => raw.columns[c]
                .distinct
                .iter()
                .map(|v| match clean(AttrType::Country, v, ctx) {
                    Cleaned::Valid(code) if code.len() == 2 => slot(&code),
                    _ => NO_COUNTRY,
                })
                .collect(),
            None => Vec::new(),
        };
        let mut by_system: AHashMap<&str, u16> = AHashMap::new();
        for (system, code) in &ctx.system_countries {
            by_system.insert(system.as_str(), slot(code));
        }
        if contexts.is_empty() {
            return None;
        }
        let country_ids = rules
            .attributes
            .iter()
            .position(|a| a.ty == AttrType::Country)
            .map(|c| &raw.columns[c].ids);
        let of = (0..raw.len())
            .map(|r| {
                let stated = country_ids
                    .map(|ids| ids[r])
                    .filter(|&id| id != MISSING)
                    .map_or(NO_COUNTRY, |id| own[id as usize]);
                if stated != NO_COUNTRY || by_system.is_empty() {
                    return stated;
                }
                let system = raw.keys[r].system.as_str();
                by_system.get(system).copied().unwrap_or(NO_COUNTRY)
            })
            .collect();
        Some(Self { of, contexts })
    }

    fn context<'a>(&'a self, country: u16, base: &'a StdContext) -> &'a StdContext {
        self.contexts.get(country as usize).unwrap_or(base)
    }

    /// Distinct (raw value, country) pairs of a column, and each record's pair.
    fn intern(&self, raw_ids: &[u32]) -> (Vec<(u32, u16)>, Vec<u32>) {
        let mut index: AHashMap<(u32, u16), u32> = AHashMap::new();
        let mut pairs = Vec::new();
        let ids = raw_ids
            .iter()
            .zip(&self.of)
            .map(|(&id, &c)| {
                if id == MISSING {
                    return MISSING;
                }
                *index.entry((id, c)).or_insert_with(|| {
                    pairs.push((id, c));
                    (pairs.len() - 1) as u32
                })
            })
            .collect();
        (pairs, ids)
    }
}

fn clean_one(ty: AttrType, s: &str, extra: Extras, ctx: &StdContext) -> Option<Value> {
    let mut v = make_value(ty, s, extra.phonetic, ctx)?;
    if extra.quantity {
        v.quantity = parse_quantity(s);
    }
    if extra.numbers {
        v.numbers = Some(parse_numbers(s));
    }
    Some(v)
}

fn build_column(
    raw: RawColumn,
    ty: AttrType,
    extra: Extras,
    ctx: &StdContext,
    countries: Option<&RecordCountries>,
) -> Column {
    let (raw_ids, cleaned): (Vec<u32>, Vec<Option<Value>>) = match countries {
        Some(rc) => {
            let (pairs, ids) = rc.intern(&raw.ids);
            let cleaned = pairs
                .par_iter()
                .map(|&(id, c)| {
                    clean_one(ty, &raw.distinct[id as usize], extra, rc.context(c, ctx))
                })
                .collect();
            (ids, cleaned)
        }
        None => {
            let cleaned = raw
                .distinct
                .par_iter()
                .map(|s| clean_one(ty, s, extra, ctx))
                .collect();
            (raw.ids, cleaned)
        }
    };
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
    let ids: Vec<u32> = raw_ids
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
    if is_missing(raw) {
        return None;
    }
    let std = match clean(ty, raw, ctx) {
        Cleaned::Valid(s) => s,
        Cleaned::Missing | Cleaned::Invalid { .. } => return None,
    };
    // Fillers prove nothing: shared by unrelated records, they count as missing.
    if crate::standardize::placeholder_reason(ty, &std).is_some() {
        return None;
    }
    let mut v = Value::default();
    let text = match ty {
        AttrType::Date => {
            let d = date::yyyymmdd(&std)?;
            v.date = Some(d);
            format!("{d:08}")
        }
        AttrType::Email => std.to_lowercase(),
        AttrType::Phone => digits(&std),
        AttrType::Duns => digits(&std),
        // VAT numbers are written with and without their country prefix (DE123, 123).
        AttrType::TaxId => ids::vat_without_country(&fold_words(&std).replace(' ', "")).to_string(),
        // GTIN-8/12/13/14 are one number space: leading zeros pad to 14 digits.
        AttrType::Gtin => digits(&std).trim_start_matches('0').to_string(),
        AttrType::Url => email::url_host(&std).to_string(),
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
        AttrType::Identifier | AttrType::Iban | AttrType::Postcode => {
            fold_words(&std).replace(' ', "")
        }
        AttrType::HouseNumber => {
            let f = fold_words(&std);
            let first = f
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            first.to_string()
        }
        AttrType::PersonName => std,
        AttrType::OrganizationName => organization::match_form(&std),
        AttrType::Street => address::match_form(&std),
        _ => fold_words(&std),
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

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn metaphone_words(text: &str) -> String {
    let dm = DoubleMetaphone::default();
    // The encoder slices bytes and panics inside a multi-byte character; most types are
    // folded to ASCII already, not all (a web host may be non-ASCII).
    text.split(' ')
        .map(|w| {
            if w.is_ascii() {
                dm.encode(w)
            } else {
                dm.encode(&deunicode::deunicode(w))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Every raw value of every type goes through `make_value`: it never panics, is
        /// deterministic, and what it keeps is trimmed text that is never empty.
        #[test]
        fn make_value_takes_any_input(raw in "\\PC{0,40}|[0-9 ./,+-]{0,20}|[a-zA-Z@. ]{0,30}") {
            let ctx = StdContext::default();
            for ty in AttrType::ALL {
                let v = make_value(ty, &raw, true, &ctx);
                let again = make_value(ty, &raw, true, &ctx);
                prop_assert_eq!(v.as_ref().map(|v| &v.text), again.as_ref().map(|v| &v.text));
                if let Some(v) = v {
                    prop_assert!(!v.text.is_empty());
                    prop_assert_eq!(v.text.trim(), &*v.text);
                }
            }
        }
    }

    /// Postcodes are read in the country their record (else its system) states, without a
    /// context per record: a German "1067" meets "01067"; a British code of a record that
    /// states no country is not judged by the hub's default.
    #[test]
    fn postcodes_are_read_in_their_records_country() {
        use crate::model::{SourceKey, SystemName};
        let rules = crate::survive::tests::domain(&[
            ("postcode", AttrType::Postcode),
            ("country", AttrType::Country),
        ]);
        let ctx = StdContext {
            system_countries: [("USSYS".to_string(), "US".to_string())].into(),
            ..StdContext::default()
        };
        let rec = |sys: &str, id: &str, pc: &str, country: Option<&str>| SourceRecord {
            key: RecordKey {
                system: SystemName::parse(sys).unwrap(),
                source_id: SourceKey::parse(id).unwrap(),
            },
            values: vec![Some(pc.into()), country.map(String::from)],
        };
        let records = [
            rec("A", "1", "1067", Some("Germany")),
            rec("A", "2", "01067", Some("DE")),
            rec("A", "3", "SW1A 1AA", None),
            rec("A", "4", "SW1A 1AA", Some("DE")),
            rec("USSYS", "5", "2134", None),
            rec("A", "6", "1067", None),
        ];
        let f = Features::build(&rules, &ctx, RawTable::from_records(&rules, &records));
        let pc = &f.columns[0];
        let text = |r: usize| pc.get(r).map(|v| v.text.to_string());
        assert_eq!(text(0).as_deref(), Some("01067"));
        assert_eq!(pc.ids[0], pc.ids[1], "one value, one id");
        assert_eq!(text(2).as_deref(), Some("sw1a1aa"));
        assert_eq!(text(3), None, "not a German postcode");
        assert_eq!(text(4).as_deref(), Some("02134"), "its system's country");
        assert_eq!(
            text(5).as_deref(),
            Some("1067"),
            "no stated country: as written"
        );
        assert_eq!(pc.counts[pc.ids[0] as usize], 2);
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
}
