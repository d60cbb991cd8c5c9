//! Address parts: streets (abbreviations expanded, house number split off), house
//! numbers and postcodes. Cities and regions are plain folded words (see `fold_words`).

use super::text::{fold_with, FoldStyle};
use super::Cleaned;
use smallvec::SmallVec;

/// Abbreviation -> canonical word, for whole folded words of a street.
fn expand(word: &str) -> Option<&'static str> {
    Some(match word {
        "st" => "street",
        "str" | "strasse" | "strase" => "strasse",
        "ave" | "av" | "avda" => "avenue",
        "rd" => "road",
        "blvd" | "boul" | "bd" | "bvd" => "boulevard",
        "dr" | "drv" => "drive",
        "ln" => "lane",
        "pl" => "place",
        "sq" => "square",
        "hwy" => "highway",
        "ct" => "court",
        "cres" => "crescent",
        "ter" | "terr" => "terrace",
        "pkwy" | "pky" => "parkway",
        "cir" => "circle",
        "mt" => "mount",
        "ft" => "fort",
        "n" => "north",
        "s" => "south",
        "e" => "east",
        "w" => "west",
        "ne" => "northeast",
        "nw" => "northwest",
        "se" => "southeast",
        "sw" => "southwest",
        "pza" => "plaza",
        "ul" => "ulica",
        "al" => "aleja",
        "ch" => "chemin",
        "cl" => "calle",
        "pso" => "paseo",
        _ => return None,
    })
}

/// German compounds: "hauptstr" -> "hauptstrasse", "bahnhofstraße" (folded "...strasse")
/// stays.
fn expand_compound(word: &str) -> Option<String> {
    let stem = word.strip_suffix("str")?;
    (stem.len() >= 2 && !stem.ends_with(|c: char| c.is_ascii_digit()))
        .then(|| format!("{stem}strasse"))
}

/// The canonical street from the folded words of a street without its house number.
fn canonical_street(words: &[&str]) -> String {
    let mut out = String::with_capacity(words.iter().map(|w| w.len() + 1).sum::<usize>() + 8);
    for (i, &w) in words.iter().enumerate() {
        if !out.is_empty() {
            out.push(' ');
        }
        if w == "st" && i == 0 && words.len() > 1 {
            // "St. John's Road": a leading St is a saint, not a street.
            out.push_str("saint");
        } else if let Some(e) = expand(w) {
            out.push_str(e);
        } else if let Some(e) = expand_compound(w) {
            out.push_str(&e);
        } else {
            out.push_str(w);
        }
    }
    out
}

/// True for a word that can be a house number: starts with a digit, and is not an
/// ordinal such as "1st" or "42nd".
fn is_number_word(w: &str) -> bool {
    let w = w.trim_matches(|c: char| matches!(c, ',' | ';' | '.'));
    let Some(first) = w.chars().next() else {
        return false;
    };
    if !first.is_ascii_digit() {
        return false;
    }
    let b = w.as_bytes();
    let ordinal = b.len() >= 3
        && b[..b.len() - 2].iter().all(u8::is_ascii_digit)
        && ["st", "nd", "rd", "th"]
            .iter()
            .any(|s| b[b.len() - 2..].eq_ignore_ascii_case(s.as_bytes()));
    !ordinal
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '/'))
}

/// A single letter after a number: "12 a".
fn is_letter_suffix(w: &str) -> bool {
    w.len() == 1 && w.as_bytes()[0].is_ascii_alphabetic()
}

/// Splits a raw street into its canonical street form and the house number written in it,
/// at its end ("Hauptstr. 12 a") or at its start ("221B Baker Street"):
/// ("hauptstrasse", Some("12a")), ("baker street", Some("221b")).
pub fn split_house_number(raw_street: &str) -> (String, Option<String>) {
    let folded = fold_with(raw_street, FoldStyle::NAME);
    let words: SmallVec<[&str; 8]> = folded.split(' ').filter(|w| !w.is_empty()).collect();
    let (kept, removed) = strip_number_words(&words);
    // The number as written ("12-14", "12/3") when the raw text shows it whole.
    let number =
        raw_house_number(raw_street).or_else(|| (!removed.is_empty()).then(|| removed.concat()));
    (canonical_street(kept), number.filter(|n| !n.is_empty()))
}

/// Drops house-number words from the end (and, if none, the start) of folded street
/// words, repeatedly, but never the last word left. Returns the kept words and the
/// dropped ones in order.
fn strip_number_words<'w, 'a>(words: &'w [&'a str]) -> (&'w [&'a str], SmallVec<[&'a str; 4]>) {
    let mut lo = 0;
    let mut hi = words.len();
    loop {
        let n = hi - lo;
        if n >= 3 && is_letter_suffix(words[hi - 1]) && is_number_word(words[hi - 2]) {
            hi -= 2;
        } else if n >= 2 && is_number_word(words[hi - 1]) {
            hi -= 1;
        } else if n >= 2 && is_number_word(words[lo]) {
            lo += 1;
        } else {
            break;
        }
    }
    let removed = words[..lo].iter().chain(&words[hi..]).copied().collect();
    (&words[lo..hi], removed)
}

/// The house number as written at the end or start of a raw street, separators kept.
fn raw_house_number(raw: &str) -> Option<String> {
    let words: SmallVec<[&str; 8]> = raw.split_whitespace().collect();
    let n = words.len();
    let number_words = if n >= 3 && is_letter_suffix(words[n - 1]) && is_number_word(words[n - 2]) {
        &words[n - 2..]
    } else if n >= 2 && is_number_word(words[n - 1]) {
        &words[n - 1..]
    } else if n >= 2 && is_number_word(words[0]) {
        &words[..1]
    } else {
        return None;
    };
    Some(house_number_form(&number_words.concat()))
}

/// street's canonical form: folded, abbreviations expanded, house number removed.
pub(crate) fn clean_street(raw: &str) -> Cleaned {
    let (street, _) = split_house_number(raw);
    if street.is_empty() {
        Cleaned::invalid("no letters or digits")
    } else {
        Cleaned::Valid(street)
    }
}

fn house_number_form(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .trim_matches(|c: char| matches!(c, ',' | ';' | '.'))
        .to_string()
}

/// house_number's canonical form: lower case, spaces removed ("12 A" -> "12a").
pub fn clean_house_number(raw: &str) -> Cleaned {
    let s = house_number_form(raw);
    if s.is_empty() {
        Cleaned::invalid("empty house number")
    } else {
        Cleaned::Valid(s)
    }
}

/// postcode's canonical form: upper-case ASCII alphanumerics.
pub(crate) fn clean_postcode(raw: &str) -> Cleaned {
    let s: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        Cleaned::invalid("no letters or digits")
    } else if s.len() > 12 {
        Cleaned::invalid("longer than any postcode")
    } else {
        Cleaned::Valid(s)
    }
}

/// The form comparators read of a cleaned street: words with digits (a house number or
/// flat written into the street) dropped, and a German compound split from its street type
/// ("hauptstrasse" -> "haupt strasse"), so "Hauptstr." and "Haupt-Strasse" agree.
pub(crate) fn match_form(clean: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for w in clean.split(' ') {
        if w.bytes().any(|b| b.is_ascii_digit()) {
            continue;
        }
        match w.strip_suffix("strasse").filter(|stem| !stem.is_empty()) {
            Some(stem) => out.extend([stem, "strasse"]),
            None => out.push(w),
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn street(raw: &str) -> String {
        clean_street(raw)
            .valid()
            .unwrap_or_else(|| panic!("{raw}"))
            .to_string()
    }

    #[test]
    fn abbreviations_expand() {
        assert_eq!(street("Main St."), "main street");
        assert_eq!(street("Main Street"), "main street");
        assert_eq!(street("Hauptstr."), "hauptstrasse");
        assert_eq!(street("Hauptstraße"), "hauptstrasse");
        assert_eq!(street("Berliner Str."), "berliner strasse");
        assert_eq!(street("Berliner Straße"), "berliner strasse");
        assert_eq!(street("5th Ave"), "5th avenue");
        assert_eq!(street("Sunset Blvd"), "sunset boulevard");
        assert_eq!(street("N Main St"), "north main street");
        assert_eq!(street("St. John's Rd"), "saint johns road");
        assert_eq!(street("Elm Dr"), "elm drive");
    }

    #[test]
    fn house_numbers_split_off() {
        assert_eq!(
            split_house_number("Hauptstr. 12a"),
            ("hauptstrasse".into(), Some("12a".into()))
        );
        assert_eq!(
            split_house_number("Hauptstraße 12 A"),
            ("hauptstrasse".into(), Some("12a".into()))
        );
        assert_eq!(
            split_house_number("221B Baker Street"),
            ("baker street".into(), Some("221b".into()))
        );
        assert_eq!(
            split_house_number("Kaiserstr. 12-14"),
            ("kaiserstrasse".into(), Some("12-14".into()))
        );
        assert_eq!(
            split_house_number("Rue de Rivoli 5,"),
            ("rue de rivoli".into(), Some("5".into()))
        );
        assert_eq!(
            split_house_number("1st Avenue"),
            ("1st avenue".into(), None)
        );
        assert_eq!(
            split_house_number("Straße des 17. Juni"),
            ("strasse des 17 juni".into(), None)
        );
        assert_eq!(street("Hauptstr. 12a"), "hauptstrasse");
        assert_eq!(street("12"), "12", "a number alone is kept");
        assert_eq!(
            split_house_number("Hauptstr.12"),
            ("hauptstrasse".into(), Some("12".into()))
        );
        assert_eq!(street("Route 66"), "route");
        assert_eq!(street("Foo-12"), "foo");
    }

    #[test]
    fn house_number_and_postcode() {
        assert_eq!(clean_house_number("12 A"), Cleaned::Valid("12a".into()));
        assert_eq!(clean_house_number(" 7-9 "), Cleaned::Valid("7-9".into()));
        assert_eq!(clean_postcode("sw1a 1aa"), Cleaned::Valid("SW1A1AA".into()));
        assert_eq!(clean_postcode("D-10115"), Cleaned::Valid("D10115".into()));
        assert_eq!(clean_postcode("1234-567"), Cleaned::Valid("1234567".into()));
        assert!(matches!(clean_postcode("--"), Cleaned::Invalid { .. }));
    }
}
