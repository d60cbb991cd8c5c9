//! Address parts: streets (abbreviations expanded, house number split off), house
//! numbers and postcodes. Cities and regions are plain folded words (see `fold_words`).

use super::text::{fold_with, FoldStyle};
use super::Cleaned;
use smallvec::SmallVec;

/// Abbreviations of street words -> the canonical word, for whole folded words of a street.
const ABBREVIATIONS: &[(&[&str], &str)] = &[
    (&["st"], "street"),
    (&["str", "strasse", "strase"], "strasse"),
    (&["ave", "av", "avda"], "avenue"),
    (&["rd"], "road"),
    (&["blvd", "boul", "bd", "bvd"], "boulevard"),
    (&["dr", "drv"], "drive"),
    (&["ln"], "lane"),
    (&["pl"], "place"),
    (&["sq"], "square"),
    (&["hwy"], "highway"),
    (&["ct"], "court"),
    (&["cres"], "crescent"),
    (&["ter", "terr"], "terrace"),
    (&["pkwy", "pky"], "parkway"),
    (&["cir"], "circle"),
    (&["mt"], "mount"),
    (&["ft"], "fort"),
    (&["n"], "north"),
    (&["s"], "south"),
    (&["e"], "east"),
    (&["w"], "west"),
    (&["ne"], "northeast"),
    (&["nw"], "northwest"),
    (&["se"], "southeast"),
    (&["sw"], "southwest"),
    (&["pza"], "plaza"),
    (&["ul"], "ulica"),
    (&["al"], "aleja"),
    (&["ch"], "chemin"),
    (&["cl"], "calle"),
    (&["pso"], "paseo"),
];

/// Abbreviation -> canonical word, for whole folded words of a street.
fn expand(word: &str) -> Option<&'static str> {
    ABBREVIATIONS
        .iter()
        .find(|(abbr, _)| abbr.contains(&word))
        .map(|(_, c)| *c)
}

/// True for a canonical word of a street's type or direction (`strasse`, `street`,
/// `calle`, `north`, ...): it names no particular street.
pub(crate) fn is_street_type(word: &str) -> bool {
    ABBREVIATIONS.iter().any(|(_, c)| *c == word)
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

/// How a country writes its postcodes. `patterns` as the country prints them (`9` a
/// digit, `A` a letter, a space or dash where it puts one); `pad_from` the fewest digits a
/// spreadsheet leaves of an all-digit code whose leading zeros it dropped (0: the
/// country's codes never start with 0); `prefixes` what may stand before a code beside the
/// country's alpha-2 code (the old European `D-10115`).
struct PostcodeFormat {
    countries: &'static [&'static str],
    name: &'static str,
    shape: &'static str,
    patterns: &'static [&'static str],
    pad_from: usize,
    prefixes: &'static [&'static str],
}

const fn fmt(
    countries: &'static [&'static str],
    name: &'static str,
    shape: &'static str,
    patterns: &'static [&'static str],
    pad_from: usize,
    prefixes: &'static [&'static str],
) -> PostcodeFormat {
    PostcodeFormat {
        countries,
        name,
        shape,
        patterns,
        pad_from,
        prefixes,
    }
}

/// Well-known formats only: a country missing here keeps the country-blind form. The
/// lowest codes decide `pad_from`: Germany's start at 01067 (one zero can be lost),
/// the US's at 00501 and Italy's at 00010 (two).
const POSTCODE_FORMATS: &[PostcodeFormat] = &[
    fmt(&["DE"], "postcode", "5 digits", &["99999"], 4, &["D"]),
    fmt(&["FR", "MC"], "postcode", "5 digits", &["99999"], 4, &["F"]),
    fmt(
        &["IT", "SM", "VA"],
        "postcode",
        "5 digits",
        &["99999"],
        3,
        &["I"],
    ),
    fmt(&["ES"], "postcode", "5 digits", &["99999"], 4, &["E"]),
    fmt(&["FI"], "postcode", "5 digits", &["99999"], 3, &["FIN"]),
    fmt(
        &["US"],
        "ZIP code",
        "5 digits or ZIP+4",
        &["99999", "99999-9999"],
        3,
        &["USA"],
    ),
    fmt(
        &["GB", "IM", "JE", "GG"],
        "postcode",
        "outward and inward code, e.g. SW1A 1AA",
        &[
            "A9 9AA", "A99 9AA", "AA9 9AA", "AA99 9AA", "A9A 9AA", "AA9A 9AA",
        ],
        0,
        &[],
    ),
    fmt(
        &["NL"],
        "postcode",
        "4 digits and 2 letters",
        &["9999 AA"],
        0,
        &[],
    ),
    fmt(
        &["CA"],
        "postal code",
        "letter digit letter, digit letter digit",
        &["A9A 9A9"],
        0,
        &[],
    ),
    fmt(
        &["AT", "CH", "LI", "BE", "LU"],
        "postcode",
        "4 digits",
        &["9999"],
        0,
        &["A", "B", "L"],
    ),
    fmt(&["DK", "NO"], "postcode", "4 digits", &["9999"], 3, &["N"]),
    fmt(&["SE"], "postcode", "5 digits", &["999 99"], 0, &["S"]),
    fmt(&["PL"], "postcode", "5 digits", &["99-999"], 3, &[]),
    fmt(&["PT"], "postcode", "7 digits", &["9999-999"], 0, &["P"]),
];

fn postcode_format(country: &str) -> Option<&'static PostcodeFormat> {
    POSTCODE_FORMATS
        .iter()
        .find(|f| f.countries.contains(&country))
}

/// The part of a canonical postcode every form of the country's codes shares: a code in a
/// longer form that extends a shorter one (a US ZIP+4) is cut to the shorter (the ZIP), so
/// records of one address agree whether or not a source wrote the extension. Other codes,
/// and codes of countries without a known format, are returned whole.
pub(crate) fn postcode_base<'a>(canonical: &'a str, country: &str) -> &'a str {
    let Some(f) = postcode_format(country) else {
        return canonical;
    };
    let bare = |p: &str| -> String { p.chars().filter(|c| !matches!(c, ' ' | '-')).collect() };
    let Some(long) = f
        .patterns
        .iter()
        .find(|p| fits(canonical, p))
        .map(|p| bare(p))
    else {
        return canonical;
    };
    f.patterns
        .iter()
        .map(|p| bare(p))
        .filter(|short| short.len() < long.len() && long.starts_with(short.as_str()))
        .map(|short| short.len())
        .min()
        .map_or(canonical, |n| &canonical[..n])
}

/// [`postcode_base`] of a canonical code whose country is not recorded: cut only when the
/// code fits the formats of one country alone and that country's base is shorter (a
/// nine-digit US ZIP+4 fits no other country's code), else the code whole.
pub(crate) fn postcode_base_unstated(canonical: &str) -> &str {
    let mut fitting = POSTCODE_FORMATS
        .iter()
        .filter(|f| f.patterns.iter().any(|p| fits(canonical, p)));
    match (fitting.next(), fitting.next()) {
        (Some(f), None) => postcode_base(canonical, f.countries[0]),
        _ => canonical,
    }
}

/// Whether upper-case alphanumerics `code` have the shape of `pattern` (separators aside).
fn fits(code: &str, pattern: &str) -> bool {
    let mut p = pattern.bytes().filter(|b| !matches!(b, b' ' | b'-'));
    code.bytes().all(|c| match p.next() {
        Some(b'9') => c.is_ascii_digit(),
        Some(b'A') => c.is_ascii_uppercase(),
        _ => false,
    }) && p.next().is_none()
}

/// The country's reading of upper-case alphanumerics `s`: a prefix dropped, lost leading
/// zeros restored; None when it cannot be of the country.
fn country_postcode(s: &str, country: &str, f: &PostcodeFormat) -> Option<String> {
    let fits_any = |c: &str| f.patterns.iter().any(|p| fits(c, p));
    if fits_any(s) {
        return Some(s.to_string());
    }
    let prefixed = std::iter::once(country).chain(f.prefixes.iter().copied());
    if let Some(rest) = prefixed
        .filter_map(|p| s.strip_prefix(p))
        .find(|rest| fits_any(rest))
    {
        return Some(rest.to_string());
    }
    let digits = f
        .patterns
        .iter()
        .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        .map(|p| p.len())
        .min()?;
    let lost_zeros = f.pad_from > 0
        && (f.pad_from..digits).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_digit());
    lost_zeros.then(|| format!("{s:0>digits$}"))
}

/// postcode's canonical form: upper-case ASCII alphanumerics. In a stated country whose
/// format is known ([`POSTCODE_FORMATS`]), a country prefix is dropped, leading zeros a
/// spreadsheet dropped are restored (DE `1067` -> `01067`), and a code that cannot be of
/// the country is invalid, naming it; elsewhere any country's code is accepted.
pub(crate) fn clean_postcode(raw: &str, country: Option<&str>) -> Cleaned {
    let s: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        return Cleaned::invalid("no letters or digits");
    } else if s.len() > 12 {
        return Cleaned::invalid("longer than any postcode");
    }
    let Some((country, f)) = country.and_then(|c| Some((c, postcode_format(c)?))) else {
        return Cleaned::Valid(s);
    };
    match country_postcode(&s, country, f) {
        Some(code) => Cleaned::Valid(code),
        None => Cleaned::invalid(format!(
            "`{}` is not a {country} {} ({})",
            raw.trim(),
            f.name,
            f.shape
        )),
    }
}

/// A canonical postcode as `country` prints it (`SW1A1AA` -> `SW1A 1AA`, `752011234` ->
/// `75201-1234`), for golden records; None for a country without a known format or a code
/// not of its shape.
pub fn postcode_form(canonical: &str, country: &str) -> Option<String> {
    let f = postcode_format(country)?;
    let pattern = f.patterns.iter().find(|p| fits(canonical, p))?;
    let mut code = canonical.chars();
    Some(
        pattern
            .chars()
            .map(|p| match p {
                ' ' | '-' => p,
                _ => code.next().unwrap_or(p),
            })
            .collect(),
    )
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
        let any = |raw| clean_postcode(raw, None);
        assert_eq!(any("sw1a 1aa"), Cleaned::Valid("SW1A1AA".into()));
        assert_eq!(any("D-10115"), Cleaned::Valid("D10115".into()));
        assert_eq!(any("1234-567"), Cleaned::Valid("1234567".into()));
        assert_eq!(any("1067"), Cleaned::Valid("1067".into()));
        assert!(matches!(any("--"), Cleaned::Invalid { .. }));
    }

    fn pc(raw: &str, country: &str) -> Result<String, String> {
        match clean_postcode(raw, Some(country)) {
            Cleaned::Valid(v) => Ok(v),
            Cleaned::Invalid { reason } => Err(reason),
            Cleaned::Missing => Err("missing".into()),
        }
    }

    #[test]
    fn postcodes_in_their_country() {
        // Leading zeros a spreadsheet dropped come back where the country has such codes.
        assert_eq!(pc("1067", "DE").as_deref(), Ok("01067"));
        assert_eq!(pc("2134", "US").as_deref(), Ok("02134"));
        assert_eq!(postcode_base("606267994", "US"), "60626");
        assert_eq!(postcode_base("60626", "US"), "60626");
        assert_eq!(postcode_base("SW1A1AA", "GB"), "SW1A1AA");
        assert_eq!(postcode_base("10115", "XX"), "10115");
        assert_eq!(pc("501", "US").as_deref(), Ok("00501"));
        assert_eq!(pc("118", "IT").as_deref(), Ok("00118"));
        assert_eq!(pc("150", "NO").as_deref(), Ok("0150"));
        // ZIP+4, a country prefix, the country's own separators.
        assert_eq!(pc("75201-1234", "US").as_deref(), Ok("752011234"));
        assert_eq!(pc("D-10115", "DE").as_deref(), Ok("10115"));
        assert_eq!(pc("CH-8001", "CH").as_deref(), Ok("8001"));
        assert_eq!(pc("sw1a 1aa", "GB").as_deref(), Ok("SW1A1AA"));
        assert_eq!(pc("m1 1ae", "GB").as_deref(), Ok("M11AE"));
        assert_eq!(pc("1012 ab", "NL").as_deref(), Ok("1012AB"));
        assert_eq!(pc("k1a 0b6", "CA").as_deref(), Ok("K1A0B6"));
        assert_eq!(pc("00-950", "PL").as_deref(), Ok("00950"));
        // Codes that cannot be of the country say which country they were read in.
        assert_eq!(
            pc("752861", "US"),
            Err("`752861` is not a US ZIP code (5 digits or ZIP+4)".into())
        );
        assert_eq!(
            pc("528", "DE"),
            Err("`528` is not a DE postcode (5 digits)".into())
        );
        assert_eq!(
            pc("10115", "GB"),
            Err("`10115` is not a GB postcode (outward and inward code, e.g. SW1A 1AA)".into())
        );
        assert!(pc("01010", "AT").is_err(), "Austrian codes have 4 digits");
        assert!(pc("1010", "AT").is_ok());
        assert!(pc("SW1A 1AA", "DE").is_err());
        // A country without a known format: any code, as before.
        assert_eq!(pc("1067", "BR").as_deref(), Ok("1067"));
        // Canonical forms clean to themselves.
        for (raw, c) in [
            ("1067", "DE"),
            ("d-10115", "DE"),
            ("75201-1234", "US"),
            ("sw1a1aa", "GB"),
        ] {
            let once = pc(raw, c).unwrap();
            assert_eq!(pc(&once, c), Ok(once.clone()), "{raw} {c}");
        }
    }

    #[test]
    fn postcodes_printed_as_their_country_does() {
        assert_eq!(postcode_form("SW1A1AA", "GB").as_deref(), Some("SW1A 1AA"));
        assert_eq!(postcode_form("M11AE", "GB").as_deref(), Some("M1 1AE"));
        assert_eq!(
            postcode_form("752011234", "US").as_deref(),
            Some("75201-1234")
        );
        assert_eq!(postcode_form("01067", "DE").as_deref(), Some("01067"));
        assert_eq!(postcode_form("1012AB", "NL").as_deref(), Some("1012 AB"));
        assert_eq!(postcode_form("00950", "PL").as_deref(), Some("00-950"));
        assert_eq!(postcode_form("01067", "BR"), None);
        assert_eq!(postcode_form("0106", "DE"), None);
    }
}
