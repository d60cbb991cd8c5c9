//! The ways a person at a keyboard damages a value: typos with neighbouring keys,
//! transpositions, dropped diacritics, odd case, abbreviations, swapped day and month.
//! Each function takes the clean value and returns a damaged copy; the rates decide when.

use crate::systems::{DateStyle, PhoneStyle};
use chrono::{Datelike, NaiveDate};
use rand::seq::IndexedRandom;
use rand::Rng;

/// QWERTY neighbours of each letter, the usual source of substitution typos.
fn neighbours(c: char) -> &'static str {
    match c.to_ascii_lowercase() {
        'q' => "wa",
        'w' => "qes",
        'e' => "wrd",
        'r' => "etf",
        't' => "ryg",
        'y' => "tuh",
        'u' => "yij",
        'i' => "uok",
        'o' => "ipl",
        'p' => "ol",
        'a' => "qsz",
        's' => "awdz",
        'd' => "sefx",
        'f' => "drgc",
        'g' => "fthv",
        'h' => "gyjb",
        'j' => "hukn",
        'k' => "jilm",
        'l' => "kop",
        'z' => "asx",
        'x' => "zsdc",
        'c' => "xdfv",
        'v' => "cfgb",
        'b' => "vghn",
        'n' => "bhjm",
        'm' => "njk",
        '0' => "9",
        '1' => "2",
        '2' => "13",
        '3' => "24",
        '4' => "35",
        '5' => "46",
        '6' => "57",
        '7' => "68",
        '8' => "79",
        '9' => "80",
        _ => "",
    }
}

fn same_case(like: char, c: char) -> char {
    if like.is_uppercase() {
        c.to_ascii_uppercase()
    } else {
        c
    }
}

/// One keyboard slip: a neighbouring key instead of the right one, an extra neighbouring
/// key, a dropped letter or a doubled one. The first letter is hit less often, as in life.
pub fn typo(s: &str, rng: &mut impl Rng) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    let pos = if rng.random_bool(0.9) {
        rng.random_range(1..chars.len())
    } else {
        0
    };
    let c = chars[pos];
    let nb = neighbours(c);
    match rng.random_range(0..4) {
        0 if !nb.is_empty() => {
            let n = nb.as_bytes()[rng.random_range(0..nb.len())] as char;
            chars[pos] = same_case(c, n);
        }
        1 if !nb.is_empty() => {
            let n = nb.as_bytes()[rng.random_range(0..nb.len())] as char;
            chars.insert(pos, same_case(c, n));
        }
        2 => {
            chars.insert(pos, c);
        }
        _ => {
            chars.remove(pos);
        }
    }
    chars.into_iter().collect()
}

/// Two adjacent letters swapped (`Smtih`).
pub fn transpose(s: &str, rng: &mut impl Rng) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = (0..chars.len().saturating_sub(1))
        .filter(|&i| chars[i].is_alphanumeric() && chars[i + 1].is_alphanumeric())
        .filter(|&i| chars[i] != chars[i + 1])
        .collect();
    if let Some(&i) = letters.choose(rng) {
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

/// Diacritics written the German way (`Müller` -> `Mueller`, `ß` -> `ss`) and the rest
/// stripped; what old systems and passports do.
pub fn transliterate(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(deunicode::deunicode_char(c).unwrap_or("")),
        }
    }
    out
}

/// Diacritics simply dropped (`Müller` -> `Muller`, `Łódź` -> `Lodz`).
pub fn strip_diacritics(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    deunicode::deunicode(s)
}

/// Either way of losing diacritics, picked at random.
pub fn fold_diacritics(s: &str, rng: &mut impl Rng) -> String {
    if s.is_ascii() {
        s.to_string()
    } else if rng.random_bool(0.5) {
        transliterate(s)
    } else {
        strip_diacritics(s)
    }
}

/// `jean-luc o'neil` -> `Jean-Luc O'Neil`.
pub fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Unusual case: all upper, all lower, or only the first letter kept capital.
pub fn odd_case(s: &str, rng: &mut impl Rng) -> String {
    match rng.random_range(0..3) {
        0 => s.to_uppercase(),
        1 => s.to_lowercase(),
        _ => title_case(s),
    }
}

/// Replaces the first whole-word long form from `pairs` found in `s` by its short form.
pub fn abbreviate(s: &str, pairs: &[(&str, &str)]) -> String {
    for (long, short) in pairs {
        if let Some(i) = find_word(s, long) {
            return format!("{}{}{}", &s[..i], short, &s[i + long.len()..]);
        }
    }
    s.to_string()
}

/// Byte offset of `word` in `s` as a whole word (or as the tail of a compound such as
/// `Hauptstraße`, where German writes the street type joined to the name).
fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = s[from..].find(word) {
        let i = from + rel;
        let end = i + word.len();
        let after_ok = s[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        let before_ok = i == 0
            || !s[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric())
            || word.chars().next().is_some_and(|c| c.is_lowercase());
        if after_ok && before_ok {
            return Some(i);
        }
        from = end;
    }
    None
}

/// The everyday damage to a free-text value (name, street, city): typos, transpositions,
/// lost diacritics and odd case at the given rates; upper case and ASCII where the system
/// always writes so.
pub fn damage_text(
    s: &str,
    sys: &crate::systems::SystemProfile,
    rates: &crate::config::CorruptionRates,
    rng: &mut impl Rng,
) -> String {
    let mut v = s.to_string();
    if rng.random_bool(rates.typo) {
        v = typo(&v, rng);
    }
    if rng.random_bool(rates.transposition) {
        v = transpose(&v, rng);
    }
    if sys.ascii_only || rng.random_bool(rates.diacritics) {
        v = fold_diacritics(&v, rng);
    }
    if sys.upper_case {
        v = v.to_uppercase();
    } else if rng.random_bool(rates.case_change) {
        v = odd_case(&v, rng);
    }
    v
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A date in a system's style; `swap` enters day and month the wrong way round (only
/// possible when the day is 12 or less, otherwise the date would be refused on entry).
pub fn format_date(d: NaiveDate, style: DateStyle, swap: bool) -> String {
    let (y, mut m, mut day) = (d.year(), d.month(), d.day());
    if swap && day <= 12 {
        std::mem::swap(&mut m, &mut day);
    }
    match style {
        DateStyle::Iso => format!("{y:04}-{m:02}-{day:02}"),
        DateStyle::Compact => format!("{y:04}{m:02}{day:02}"),
        DateStyle::DaySlash => format!("{day:02}/{m:02}/{y:04}"),
        DateStyle::DayMonthName => format!("{day} {} {y:04}", MONTHS[m as usize - 1]),
        DateStyle::DayDot => format!("{day:02}.{m:02}.{y:04}"),
    }
}

/// A phone number: `dial` is the country code, `area` and `local` the national
/// significant number split where people put the first space.
pub fn format_phone(dial: &str, area: &str, local: &str, style: PhoneStyle, trunk: bool) -> String {
    let t = if trunk { "0" } else { "" };
    match style {
        PhoneStyle::IntlSpaced => format!("+{dial} {area} {local}"),
        PhoneStyle::E164 => format!("+{dial}{area}{local}"),
        PhoneStyle::National => format!("{t}{area} {local}"),
        PhoneStyle::IntlZeros => format!("00{dial}{area}{local}"),
        PhoneStyle::Punctuated => {
            let split = local.len() / 2;
            format!("({t}{area}) {}-{}", &local[..split], &local[split..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn typo_changes_one_position() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let t = typo("Schneider", &mut rng);
            assert_ne!(t, "Schneider");
            let d = strsim_len_diff("Schneider", &t);
            assert!(d <= 1, "{t}");
        }
    }

    fn strsim_len_diff(a: &str, b: &str) -> usize {
        a.chars().count().abs_diff(b.chars().count())
    }

    #[test]
    fn folds_diacritics_both_ways() {
        assert_eq!(transliterate("Müller Straße"), "Mueller Strasse");
        assert_eq!(strip_diacritics("Łódź Müller"), "Lodz Muller");
    }

    #[test]
    fn abbreviates_whole_words_and_compounds() {
        let pairs = [("Street", "St"), ("straße", "str.")];
        assert_eq!(abbreviate("Baker Street", &pairs), "Baker St");
        assert_eq!(abbreviate("Streetview Road", &pairs), "Streetview Road");
        assert_eq!(abbreviate("Hauptstraße", &pairs), "Hauptstr.");
    }

    #[test]
    fn dates_in_every_style() {
        let d = NaiveDate::from_ymd_opt(1987, 3, 9).unwrap();
        assert_eq!(format_date(d, DateStyle::Iso, false), "1987-03-09");
        assert_eq!(format_date(d, DateStyle::Compact, false), "19870309");
        assert_eq!(format_date(d, DateStyle::DaySlash, false), "09/03/1987");
        assert_eq!(format_date(d, DateStyle::DayMonthName, false), "9 Mar 1987");
        assert_eq!(format_date(d, DateStyle::Iso, true), "1987-09-03");
    }
}
