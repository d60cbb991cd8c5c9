//! Phone numbers to E.164 (`+4930123456`) with a compact table-driven normalizer: country
//! calling codes and trunk prefixes from `data/countries.csv`. It does not validate number
//! plans per country (that is libphonenumber's job and costs microseconds per number);
//! matching needs one canonical spelling of the same number, which this gives.

use super::country::{calling_code_len, country_calling_code, trunk_for_calling_code};
use super::Cleaned;

/// E.164 allows 15 digits in all. The shortest real numbers have 6 digits after the
/// country code (Faroe Islands, Greenland); fewer is a fragment ("12345").
const MIN_NATIONAL_DIGITS: usize = 6;
const MIN_DIGITS: usize = 7;
const MAX_DIGITS: usize = 15;

/// The digits of a raw phone number and whether it was written internationally.
struct Dialled {
    digits: String,
    international: bool,
}

/// Reads digits up to an extension; `+` or `00` (or the NANP `011`) before the first digit
/// make the number international, and the `(0)` written after a country code is skipped.
fn read_digits(raw: &str) -> Dialled {
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'0'..=b'9' => digits.push(b as char),
            b'+' if digits.is_empty() => plus = true,
            b'(' if plus && bytes.get(i + 1) == Some(&b'0') && bytes.get(i + 2) == Some(&b')') => {
                i += 3;
                continue;
            }
            // Letters or '#' after the number start an extension ("x123", "ext. 12", "Durchwahl").
            b'#' | b'a'..=b'z' | b'A'..=b'Z' if !digits.is_empty() => break,
            b';' | b',' if !digits.is_empty() => break,
            _ => {}
        }
        i += 1;
    }
    if !plus {
        if let Some(rest) = digits.strip_prefix("00") {
            return Dialled {
                digits: rest.to_string(),
                international: true,
            };
        }
    }
    Dialled {
        digits,
        international: plus,
    }
}

/// phone's canonical form: E.164, national numbers in `default_country`.
pub(crate) fn clean_phone(raw: &str, default_country: &str) -> Cleaned {
    let Dialled {
        digits,
        international,
    } = read_digits(raw);
    if digits.is_empty() {
        return Cleaned::invalid("no digits");
    }
    let (e164, cc_len) = if international {
        let Some(cc_len) = calling_code_len(&digits) else {
            return Cleaned::invalid("unknown country calling code");
        };
        let (cc, national) = digits.split_at(cc_len);
        // "+49 030 ..." repeats the trunk zero; E.164 has none (Italy keeps its zero). All
        // of them go: with one stripped, "+60 00 1..." gave "+6001..." and that cleaned
        // again to "+601...", a canonical form that was not a fixed point (found by fuzzing).
        let national = match trunk_for_calling_code(cc) {
            Some("0") => national.trim_start_matches('0'),
            _ => national,
        };
        (format!("+{cc}{national}"), cc_len)
    } else {
        let Some((cc, trunk)) = country_calling_code(default_country) else {
            return Cleaned::invalid("national number and no known default country");
        };
        let national = if trunk.is_empty() {
            &digits[..]
        } else {
            digits.strip_prefix(trunk).unwrap_or(&digits)
        };
        if cc == "1" && trunk == "1" && national.len() > 10 && digits.starts_with("011") {
            // NANP international prefix: 011 44 20 ...
            return clean_phone(&format!("+{}", &digits[3..]), default_country);
        }
        (format!("+{cc}{national}"), cc.len())
    };
    let n = e164.len() - 1;
    if n < MIN_DIGITS || n - cc_len < MIN_NATIONAL_DIGITS {
        Cleaned::invalid("too few digits")
    } else if n > MAX_DIGITS {
        Cleaned::invalid("more than 15 digits")
    } else {
        Cleaned::Valid(e164)
    }
}

/// Dummy phone numbers: too short to dial, or a national part of one repeated digit.
pub(crate) fn is_placeholder_phone(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() < 6 {
        return true;
    }
    let tail = &b[b.len() - 6..];
    tail.iter().all(|&c| c == tail[0]) || d.ends_with("123456") || d.ends_with("1234567")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn de(raw: &str) -> Cleaned {
        clean_phone(raw, "DE")
    }
    fn ok(s: &str) -> Cleaned {
        Cleaned::Valid(s.to_string())
    }

    #[test]
    fn german_national_and_international() {
        assert_eq!(de("030 123456"), ok("+4930123456"));
        assert_eq!(de("(030) 12 34 56"), ok("+4930123456"));
        assert_eq!(de("030/123456-0"), ok("+49301234560"));
        assert_eq!(de("+49 30 123456"), ok("+4930123456"));
        assert_eq!(de("+49 (0)30 123456"), ok("+4930123456"));
        assert_eq!(de("+49 030 123456"), ok("+4930123456"));
        assert_eq!(de("0049 30 123456"), ok("+4930123456"));
        assert_eq!(de("Tel.: 030 123456 ext. 12"), ok("+4930123456"));
        assert_eq!(de("030 123456 x123"), ok("+4930123456"));
        assert_eq!(de("+4930123456"), ok("+4930123456"));
    }

    #[test]
    fn other_countries() {
        assert_eq!(clean_phone("(212) 555-0100", "US"), ok("+12125550100"));
        assert_eq!(clean_phone("1-212-555-0100", "US"), ok("+12125550100"));
        assert_eq!(
            clean_phone("011 44 20 7946 0958", "US"),
            ok("+442079460958")
        );
        assert_eq!(clean_phone("06 1234 5678", "IT"), ok("+390612345678"));
        assert_eq!(clean_phone("+39 06 1234 5678", "DE"), ok("+390612345678"));
        assert_eq!(clean_phone("020 7946 0958", "GB"), ok("+442079460958"));
        assert_eq!(
            clean_phone("+44 (0)20 7946 0958", "DE"),
            ok("+442079460958")
        );
        assert_eq!(clean_phone("044 668 18 00", "CH"), ok("+41446681800"));
        assert_eq!(clean_phone("91 123 45 67", "ES"), ok("+34911234567"));
    }

    #[test]
    fn invalid_numbers() {
        assert!(matches!(de("12345"), Cleaned::Invalid { .. }));
        assert!(matches!(de("+49 12345"), Cleaned::Invalid { .. }));
        assert_eq!(
            de("+298 123456"),
            ok("+298123456"),
            "Faroe numbers have 6 digits"
        );
        assert!(matches!(
            de("+49 1234567890123456"),
            Cleaned::Invalid { .. }
        ));
        assert!(matches!(de("call me"), Cleaned::Invalid { .. }));
        assert!(matches!(de("+999 1234567"), Cleaned::Invalid { .. }));
        assert!(matches!(
            clean_phone("030 123456", "ZZ"),
            Cleaned::Invalid { .. }
        ));
    }
}
