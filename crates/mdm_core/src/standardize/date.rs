//! Dates in the formats found in the wild (`1987-03-09`, `19870309`, `09/03/1987`,
//! `9.3.1987`, `9 Mar 1987`, `March 9, 1987`, two-digit years), read into `YYYY-MM-DD`.
//! Day/month order comes from the context unless the numbers decide it (a first field
//! over 12 is a day). A hand-written tokenizer: chrono's format parsing would need one try
//! per format and per order, for every value.

use super::{Cleaned, DateOrder};
use chrono::{Datelike, NaiveDate};
use smallvec::SmallVec;

/// Years accepted as real dates of birth, foundation, delivery, ...
const YEARS: std::ops::RangeInclusive<i32> = 1850..=2100;
/// Two-digit years up to this read as 20yy, later ones as 19yy: fixed, so the same input
/// gives the same date whatever day the run happens on.
const TWO_DIGIT_PIVOT: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// A run of digits, with its width (leading zeros count: "09" is 2 wide).
    Num(u32, usize),
    Word(&'a str),
}

/// date's canonical form: `YYYY-MM-DD` in the accepted year range.
pub(crate) fn clean_date(raw: &str, order: DateOrder) -> Cleaned {
    match parse_date(raw, order) {
        Some(d) if YEARS.contains(&d.year()) => Cleaned::Valid(iso_date(d)),
        Some(_) => Cleaned::invalid("year outside 1850..=2100"),
        None => Cleaned::invalid("not a date"),
    }
}

/// `YYYY-MM-DD` without chrono's format-string interpreter (5x faster, and this runs
/// for every date of every record). Years are in 1850..=2100 here, so 4 digits.
fn iso_date(d: NaiveDate) -> String {
    let (y, m, day) = (d.year() as u32, d.month(), d.day());
    let bytes = [
        b'0' + (y / 1000 % 10) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
        b'0' + (m / 10) as u8,
        b'0' + (m % 10) as u8,
        b'-',
        b'0' + (day / 10) as u8,
        b'0' + (day % 10) as u8,
    ];
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Parses a date written in any of the accepted formats; `order` decides `03/04/1987`.
/// Any year is returned; `clean` applies the year range. A time after the date
/// (`1987-03-09T10:00:00Z`, `09.03.1987 10:00`) is ignored.
pub fn parse_date(raw: &str, order: DateOrder) -> Option<NaiveDate> {
    let (y, m, d) = read_ymd(raw, order)?;
    NaiveDate::from_ymd_opt(y, m, d)
}

/// The year, month and day a date is written as, before checking that they exist.
fn read_ymd(raw: &str, order: DateOrder) -> Option<(i32, u32, u32)> {
    let date_part = strip_time(raw.trim());
    let tokens = tokenize(date_part)?;
    let nums: SmallVec<[(u32, usize); 3]> = tokens
        .iter()
        .filter_map(|t| match *t {
            Token::Num(v, w) => Some((v, w)),
            Token::Word(_) => None,
        })
        .collect();
    let words: SmallVec<[&str; 3]> = tokens
        .iter()
        .filter_map(|t| match *t {
            Token::Word(w) => Some(w),
            Token::Num(..) => None,
        })
        .filter(|w| !is_noise_word(w))
        .collect();
    match (nums.as_slice(), words.as_slice()) {
        ([(v, 8)], []) => compact(*v),
        ([a, b, c], []) => numeric(*a, *b, *c, order),
        ([a, b], [month]) => with_month_name(*a, *b, month_number(month)?),
        _ => None,
    }
}

/// Cuts a trailing time: "T10:00:00Z" or " 10:00".
fn strip_time(s: &str) -> &str {
    let Some(colon) = s.find(':') else { return s };
    let head = &s[..colon];
    match head.rfind(['T', ' ']) {
        Some(i) => s[..i].trim_end(),
        None => s,
    }
}

fn tokenize(s: &str) -> Option<SmallVec<[Token<'_>; 6]>> {
    let mut out = SmallVec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start > 8 {
                return None;
            }
            out.push(Token::Num(s[start..i].parse().ok()?, i - start));
        } else if s[i..].starts_with(char::is_alphabetic) {
            while i < bytes.len() && s[i..].starts_with(char::is_alphabetic) {
                i += s[i..].chars().next().map_or(1, char::len_utf8);
            }
            out.push(Token::Word(&s[start..i]));
        } else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
        }
        if out.len() > 6 {
            return None;
        }
    }
    Some(out)
}

/// Ordinal suffixes and weekday names carry no date information.
fn is_noise_word(w: &str) -> bool {
    const NOISE: &[&str] = &[
        "st",
        "nd",
        "rd",
        "th",
        "of",
        "de",
        "del",
        "der",
        "den",
        "le",
        "am",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "montag",
        "dienstag",
        "mittwoch",
        "donnerstag",
        "freitag",
        "samstag",
        "sonntag",
    ];
    NOISE.iter().any(|n| n.eq_ignore_ascii_case(w))
}

/// `19870309`.
fn compact(v: u32) -> Option<(i32, u32, u32)> {
    Some(((v / 10_000) as i32, (v / 100) % 100, v % 100))
}

/// Three numbers: year first when it is 4 wide, else day/month by the numbers or `order`.
fn numeric(
    a: (u32, usize),
    b: (u32, usize),
    c: (u32, usize),
    order: DateOrder,
) -> Option<(i32, u32, u32)> {
    if a.1 == 4 {
        return Some((a.0 as i32, b.0, c.0));
    }
    if !(c.1 == 2 || c.1 == 4) || a.1 > 2 || b.1 > 2 {
        return None;
    }
    let year = full_year(c);
    let day_first = if a.0 > 12 {
        true
    } else if b.0 > 12 {
        false
    } else {
        order == DateOrder::DayFirst
    };
    let (day, month) = if day_first { (a.0, b.0) } else { (b.0, a.0) };
    Some((year, month, day))
}

/// A month name and two numbers: the 4-wide one (or the one over 31) is the year.
fn with_month_name(a: (u32, usize), b: (u32, usize), month: u32) -> Option<(i32, u32, u32)> {
    let (day, year) = if a.1 == 4 || (a.0 > 31 && b.1 <= 2) {
        (b, a)
    } else {
        (a, b)
    };
    if day.1 > 2 || !(year.1 == 2 || year.1 == 4) {
        return None;
    }
    Some((full_year(year), month, day.0))
}

/// What is wrong with a value that is not a date, for a quarantine entry: why the year,
/// month and day it is written as do not exist (`1980-02-30: February has no day 30`), or
/// `not a date` when it does not read as one at all. Both day/month orders are tried; a
/// reading with a real month explains better than one without.
pub fn why_not_a_date(raw: &str) -> String {
    let mut best: Option<(bool, String)> = None;
    for order in [DateOrder::DayFirst, DateOrder::MonthFirst] {
        let Some((y, m, d)) = read_ymd(raw, order) else {
            continue;
        };
        let Some(why) = impossible_ymd(y, m, d) else {
            continue;
        };
        let real_month = (1..=12).contains(&m);
        if best
            .as_ref()
            .is_none_or(|(had_month, _)| real_month && !had_month)
        {
            best = Some((real_month, why));
        }
    }
    match best {
        Some((_, why)) => format!("{}: {why}", raw.trim()),
        None => "not a date".into(),
    }
}

/// Why year `y`, month `m`, day `d` is no date, or None when it is one.
fn impossible_ymd(y: i32, m: u32, d: u32) -> Option<String> {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    if !(1..=12).contains(&m) {
        return Some(format!("there is no month {m}"));
    }
    if d == 0 {
        return Some("there is no day 0".into());
    }
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let days = (next - first).num_days() as u32;
    if d <= days {
        return None;
    }
    let month = NAMES[(m - 1) as usize];
    Some(if m == 2 && d == 29 {
        format!("{y} is not a leap year, so February has no day 29")
    } else {
        format!("{month} has no day {d}")
    })
}

fn full_year((v, width): (u32, usize)) -> i32 {
    match width {
        2 if v <= TWO_DIGIT_PIVOT => 2000 + v as i32,
        2 => 1900 + v as i32,
        _ => v as i32,
    }
}

/// Month names and abbreviations in English, German, French, Spanish, Italian and Dutch.
fn month_number(word: &str) -> Option<u32> {
    const MONTHS: [&[&str]; 12] = [
        &[
            "jan", "january", "januar", "janvier", "enero", "ene", "gennaio", "gen", "januari",
            "jänner", "jaenner", "janv",
        ],
        &[
            "feb", "february", "februar", "fevrier", "février", "fev", "fév", "febrero",
            "febbraio", "februari", "févr",
        ],
        &[
            "mar", "march", "marz", "märz", "maerz", "mars", "marzo", "maart", "mrz", "mär",
        ],
        &["apr", "april", "avril", "abril", "aprile", "abr", "avr"],
        &["may", "mai", "mayo", "maggio", "mei", "mag"],
        &["jun", "june", "juni", "juin", "junio", "giugno", "giu"],
        &[
            "jul", "july", "juli", "juillet", "julio", "luglio", "lug", "juil",
        ],
        &["aug", "august", "aout", "août", "agosto", "ago", "augustus"],
        &[
            "sep",
            "sept",
            "september",
            "septembre",
            "septiembre",
            "settembre",
            "set",
        ],
        &[
            "oct", "october", "oktober", "okt", "octobre", "octubre", "ottobre", "ott",
        ],
        &["nov", "november", "novembre", "noviembre"],
        &[
            "dec",
            "december",
            "dezember",
            "dez",
            "decembre",
            "décembre",
            "déc",
            "diciembre",
            "dic",
            "dicembre",
        ],
    ];
    let lower = word.to_lowercase();
    MONTHS
        .iter()
        .position(|names| names.contains(&lower.as_str()))
        .map(|i| i as u32 + 1)
}

/// A canonical `YYYY-MM-DD` (what `clean` makes of a date) as the number yyyymmdd, which
/// the comparators' date levels work on.
pub(crate) fn yyyymmdd(clean: &str) -> Option<u32> {
    let b = clean.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    clean.bytes().filter(|c| *c != b'-').try_fold(0u32, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// Dates clerks type when the real one is unknown: shared by unrelated people, they prove
/// nothing, so comparisons count them as missing.
pub(crate) fn is_placeholder_date(yyyymmdd: u32) -> bool {
    const PLACEHOLDER_DATES: &[u32] = &[
        19000101, 19010101, 18000101, 18500101, 19700101, 20000101, 99991231, 21001231, 22000101,
    ];
    PLACEHOLDER_DATES.contains(&yyyymmdd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use DateOrder::{DayFirst, MonthFirst};

    fn d(raw: &str, order: DateOrder) -> Option<String> {
        parse_date(raw, order).map(|d| d.format("%Y-%m-%d").to_string())
    }

    #[test]
    fn accepted_formats() {
        for raw in [
            "1987-03-09",
            "19870309",
            "09/03/1987",
            "9.3.1987",
            "9 Mar 1987",
            "March 9, 1987",
            "1987/03/09",
            "09.03.87",
            "9th March 1987",
            "9. März 1987",
            "9 mars 1987",
            "Monday, March 9th, 1987",
            "1987-03-09T10:30:00Z",
            "09.03.1987 10:30",
            "9-MAR-1987",
            "09-Mar-87",
            "9 de marzo de 1987",
        ] {
            assert_eq!(d(raw, DayFirst).as_deref(), Some("1987-03-09"), "{raw}");
        }
    }

    #[test]
    fn day_month_order() {
        assert_eq!(d("03-09-1987", MonthFirst).as_deref(), Some("1987-03-09"));
        assert_eq!(d("03-09-1987", DayFirst).as_deref(), Some("1987-09-03"));
        assert_eq!(
            d("13/03/1987", MonthFirst).as_deref(),
            Some("1987-03-13"),
            "13 is a day"
        );
        assert_eq!(
            d("03/13/1987", DayFirst).as_deref(),
            Some("1987-03-13"),
            "13 is a day"
        );
    }

    #[test]
    fn two_digit_years_pivot() {
        assert_eq!(d("01.02.05", DayFirst).as_deref(), Some("2005-02-01"));
        assert_eq!(d("01.02.30", DayFirst).as_deref(), Some("2030-02-01"));
        assert_eq!(d("01.02.31", DayFirst).as_deref(), Some("1931-02-01"));
    }

    #[test]
    fn why_not_a_date_names_the_impossible_part() {
        for (raw, want) in [
            ("1980-02-30", "1980-02-30: February has no day 30"),
            (
                "1981-02-29",
                "1981-02-29: 1981 is not a leap year, so February has no day 29",
            ),
            ("19870431", "19870431: April has no day 31"),
            ("1987-13-01", "1987-13-01: there is no month 13"),
            ("31/02/1987", "31/02/1987: February has no day 31"),
            ("02/31/1987", "02/31/1987: February has no day 31"),
            ("0.3.1987", "0.3.1987: there is no day 0"),
            (" 31 June 1990 ", "31 June 1990: June has no day 31"),
            ("yesterday", "not a date"),
        ] {
            assert_eq!(why_not_a_date(raw), want, "{raw}");
        }
        assert!(parse_date("1980-02-29", DayFirst).is_some(), "a leap day");
    }

    #[test]
    fn rejects_non_dates() {
        for raw in [
            "yesterday",
            "31/31/1987",
            "1987-02-30",
            "12345",
            "1987",
            "9 Foo 1987",
            "1.2.3.4",
            "2020-13-01",
            "123/4/1987",
            "99999999999",
        ] {
            assert_eq!(d(raw, DayFirst), None, "{raw}");
        }
    }

    #[test]
    fn clean_checks_year_range() {
        assert_eq!(
            clean_date("9 Mar 1987", DayFirst),
            Cleaned::Valid("1987-03-09".into())
        );
        assert!(matches!(
            clean_date("1700-01-01", DayFirst),
            Cleaned::Invalid { .. }
        ));
        assert!(matches!(
            clean_date("2200-01-01", DayFirst),
            Cleaned::Invalid { .. }
        ));
        assert!(matches!(
            clean_date("soon", DayFirst),
            Cleaned::Invalid { .. }
        ));
    }
}
