//! Numbers, amounts of money and currencies. Amounts are canonicalised as decimal strings,
//! never through `f64`, so `0.1` stays `0.1` and a 20-digit article number keeps its digits.

use super::Cleaned;
use ahash::AHashMap;
use std::sync::LazyLock;

static CURRENCIES_TXT: &str = include_str!("../../data/currencies.txt");

/// Upper-case ISO 4217 code or lower-case alias ("€", "euro") -> ISO code.
static CURRENCIES: LazyLock<AHashMap<&'static str, &'static str>> = LazyLock::new(|| {
    let mut m = AHashMap::new();
    for line in CURRENCIES_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        match line.split_once('=') {
            Some((alias, code)) => m.insert(alias, code),
            None => m.insert(line, line),
        };
    }
    m
});

/// The decimal mark of ambiguous numbers such as `1.234` or `1,234`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalMark {
    Point,
    Comma,
}

/// Countries that write `1.234,5`; everyone else is read as `1,234.5`.
fn decimal_mark_of(country: &str) -> DecimalMark {
    const COMMA: &[&str] = &[
        "DE", "AT", "FR", "ES", "IT", "NL", "BE", "PT", "PL", "CZ", "SK", "SE", "DK", "NO", "FI",
        "GR", "HU", "RO", "BG", "HR", "SI", "RS", "TR", "RU", "UA", "BR", "AR", "CL", "CO", "ID",
        "VN", "LU", "EE", "LV", "LT", "IS",
    ];
    if COMMA.contains(&country) {
        DecimalMark::Comma
    } else {
        DecimalMark::Point
    }
}

/// number and money's canonical form: a plain decimal (`-1234.5`), no grouping, no
/// leading or trailing zeros; currency symbols and codes stripped. A lone separator
/// followed by exactly three digits (`1.234`) is read by the default country's convention.
pub(crate) fn clean_number(raw: &str, default_country: &str) -> Cleaned {
    match parse_decimal(raw, decimal_mark_of(default_country)) {
        Some(v) => Cleaned::Valid(v),
        None => Cleaned::invalid("not a number"),
    }
}

/// Parses a number written with any grouping into its canonical decimal string.
pub(crate) fn parse_decimal(raw: &str, ambiguous: DecimalMark) -> Option<String> {
    let body = strip_currency(raw.trim());
    let mut negative = false;
    let mut digits = String::with_capacity(body.len());
    let mut marks: smallvec::SmallVec<[(usize, u8); 4]> = smallvec::SmallVec::new();
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '-' | '\u{2212}' if digits.is_empty() && !negative && marks.is_empty() => {
                negative = true
            }
            '+' if digits.is_empty() && !negative => {}
            '.' | ',' => marks.push((digits.len(), c as u8)),
            '\'' | '\u{2019}' | ' ' | '\u{a0}' | '\u{202f}' | '_' if !digits.is_empty() => {}
            'e' | 'E' => return scientific(body),
            _ => return None,
        }
    }
    if digits.is_empty() {
        return None;
    }
    let point = decimal_point(&marks, digits.len(), ambiguous)?;
    let (int, frac) = digits.split_at(point.unwrap_or(digits.len()));
    Some(canonical(negative, int, frac))
}

/// Where the decimal point sits (as an index into the digits), from the separators seen.
fn decimal_point(
    marks: &[(usize, u8)],
    n_digits: usize,
    ambiguous: DecimalMark,
) -> Option<Option<usize>> {
    let Some(&(last_pos, last)) = marks.last() else {
        return Some(None);
    };
    let same_kind = marks.iter().all(|&(_, m)| m == last);
    if !same_kind {
        // "1.234,50" / "1,234.50": the last mark is the decimal point, the others group.
        if marks[..marks.len() - 1].iter().any(|&(_, m)| m == last) {
            return None;
        }
        return Some(Some(last_pos));
    }
    if marks.len() > 1 {
        // "1.234.567": grouping only; groups after the first must be 3 digits.
        let groups_ok = marks.windows(2).all(|w| w[1].0 - w[0].0 == 3) && n_digits - last_pos == 3;
        return groups_ok.then_some(None);
    }
    let after = n_digits - last_pos;
    let is_decimal = after != 3
        || last_pos == 0
        || match ambiguous {
            DecimalMark::Point => last == b'.',
            DecimalMark::Comma => last == b',',
        };
    Some(is_decimal.then_some(last_pos))
}

fn canonical(negative: bool, int: &str, frac: &str) -> String {
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = String::with_capacity(int.len() + frac.len() + 3);
    if negative && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// "1.5e3", "1E-2": rare in exports, but a number.
fn scientific(body: &str) -> Option<String> {
    let v: f64 = body.trim().parse().ok()?;
    v.is_finite().then(|| {
        let s = format!("{v}");
        let (neg, s) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        canonical(neg, int, frac)
    })
}

/// Cuts a currency symbol or code from either end: "€ 12", "12,50 EUR", "USD12".
fn strip_currency(s: &str) -> &str {
    let is_marker =
        |c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | ',' | '\u{2212}'));
    let start = s.find(|c: char| !is_marker(c)).unwrap_or(s.len());
    let end = s.rfind(|c: char| !is_marker(c)).map_or(start, |i| i + 1);
    let (head, body, tail) = (&s[..start], &s[start..end.max(start)], &s[end.max(start)..]);
    let known = |m: &str| m.trim().is_empty() || currency_code(m.trim()).is_some();
    if known(head) && known(tail) {
        body
    } else {
        s
    }
}

/// The ISO 4217 code for a code, symbol or common word: "eur", "€", "US$", "euro" -> ...
fn currency_code(raw: &str) -> Option<&'static str> {
    let t = raw.trim().trim_end_matches('.');
    let table = &*CURRENCIES;
    if let Some(&code) = table.get(t) {
        return Some(code);
    }
    let upper = t.to_uppercase();
    table
        .get(upper.as_str())
        .or_else(|| table.get(t.to_lowercase().as_str()))
        .copied()
}

/// currency's canonical form: the ISO 4217 code.
pub(crate) fn clean_currency(raw: &str) -> Cleaned {
    match currency_code(raw) {
        Some(code) => Cleaned::Valid(code.to_string()),
        None => Cleaned::invalid("unknown currency"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(raw: &str, country: &str) -> Option<String> {
        clean_number(raw, country).valid().map(str::to_string)
    }

    #[test]
    fn grouping_and_decimal_marks() {
        for country in ["DE", "US"] {
            assert_eq!(num("1.234,50", country).as_deref(), Some("1234.5"));
            assert_eq!(num("1,234.50", country).as_deref(), Some("1234.5"));
            assert_eq!(num("1.234.567", country).as_deref(), Some("1234567"));
            assert_eq!(num("1'234.50", country).as_deref(), Some("1234.5"));
            assert_eq!(num("1 234,5", country).as_deref(), Some("1234.5"));
            assert_eq!(num("12,5", country).as_deref(), Some("12.5"));
            assert_eq!(num("0012.50", country).as_deref(), Some("12.5"));
            assert_eq!(num("-0,50", country).as_deref(), Some("-0.5"));
            assert_eq!(num(".5", country).as_deref(), Some("0.5"));
            assert_eq!(num("-0", country).as_deref(), Some("0"));
            assert_eq!(num("1.5e3", country).as_deref(), Some("1500"));
        }
        assert_eq!(num("1.234", "DE").as_deref(), Some("1234"));
        assert_eq!(num("1.234", "US").as_deref(), Some("1.234"));
        assert_eq!(num("1,234", "US").as_deref(), Some("1234"));
        assert_eq!(num("1,234", "DE").as_deref(), Some("1.234"));
    }

    #[test]
    fn money_strips_currency() {
        assert_eq!(num("EUR 1.234,50", "DE").as_deref(), Some("1234.5"));
        assert_eq!(num("€12", "DE").as_deref(), Some("12"));
        assert_eq!(num("12,99 €", "DE").as_deref(), Some("12.99"));
        assert_eq!(num("$1,000.00", "US").as_deref(), Some("1000"));
        assert_eq!(num("CHF 1'250.-", "CH"), None, "Swiss '.-' is not handled");
        assert_eq!(num("12 USD", "US").as_deref(), Some("12"));
    }

    #[test]
    fn not_numbers() {
        for raw in [
            "twelve",
            "12 apples",
            "1.2.3",
            "1,2,3",
            "1.234,56,7",
            "--5",
            "€",
            "12-3",
            "1e",
        ] {
            assert_eq!(num(raw, "DE"), None, "{raw}");
        }
    }

    #[test]
    fn currencies() {
        for (raw, want) in [
            ("eur", "EUR"),
            ("€", "EUR"),
            ("$", "USD"),
            ("US$", "USD"),
            ("£", "GBP"),
            ("¥", "JPY"),
            ("CHF", "CHF"),
            ("sfr.", "CHF"),
            ("Euro", "EUR"),
            ("usd", "USD"),
        ] {
            assert_eq!(clean_currency(raw), Cleaned::Valid(want.into()), "{raw}");
        }
        assert!(matches!(clean_currency("XYZ"), Cleaned::Invalid { .. }));
        assert!(matches!(clean_currency("bananas"), Cleaned::Invalid { .. }));
    }
}
