//! Identifiers with a known structure: GTIN/EAN/UPC (check digit), IBAN (ISO 13616 mod
//! 97), D-U-N-S, tax and VAT IDs, and free identifiers (SKU, part number, national ID).
//! A malformed value is a finding (`Invalid`), never a blocking or matching key.

use super::Cleaned;

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '.' | '/' | '_')
}

/// identifier's canonical form: upper case, separators (space - . / _) removed.
pub(crate) fn clean_identifier(raw: &str) -> Cleaned {
    let s: String = raw
        .chars()
        .filter(|&c| !is_separator(c))
        .flat_map(char::to_uppercase)
        .collect();
    if s.is_empty() {
        Cleaned::invalid("no characters besides separators")
    } else {
        Cleaned::Valid(s)
    }
}

/// Upper-case ASCII alphanumerics; `None` if anything but separators remains.
fn alnum_upper(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !(is_separator(c) || c == ',' || c == ':') {
            return None;
        }
    }
    Some(out)
}

/// gtin's canonical form: 14 digits, zero-padded, check digit valid. Reasons: "length",
/// "check digit", "not digits".
pub(crate) fn clean_gtin(raw: &str) -> Cleaned {
    let mut digits = String::with_capacity(14);
    for c in raw.chars() {
        match c {
            '0'..='9' => digits.push(c),
            c if c.is_whitespace() || c == '-' => {}
            _ => return Cleaned::invalid("not digits"),
        }
    }
    if !matches!(digits.len(), 8 | 12 | 13 | 14) {
        return Cleaned::invalid("length");
    }
    let padded = format!("{digits:0>14}");
    if gtin_check_digit_ok(padded.as_bytes()) {
        Cleaned::Valid(padded)
    } else {
        Cleaned::invalid("check digit")
    }
}

/// GS1 mod-10: weights 3,1,3,... from the right, check digit excluded.
fn gtin_check_digit_ok(digits: &[u8]) -> bool {
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(check[0] - b'0')
}

/// iban's canonical form: upper case without spaces, country length and mod-97 valid.
pub(crate) fn clean_iban(raw: &str) -> Cleaned {
    let Some(s) = alnum_upper(raw) else {
        return Cleaned::invalid("unexpected characters");
    };
    let s = s.strip_prefix("IBAN").map(str::to_string).unwrap_or(s);
    let b = s.as_bytes();
    if b.len() < 15
        || b.len() > 34
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
    {
        return Cleaned::invalid("not an IBAN");
    }
    if let Some(len) = iban_length(&s[..2]) {
        if len != b.len() {
            return Cleaned::invalid("length");
        }
    }
    if iban_mod97(b) == 1 {
        Cleaned::Valid(s)
    } else {
        Cleaned::invalid("check digits")
    }
}

/// ISO 13616: move the first four characters to the end, letters to 10..35, mod 97.
fn iban_mod97(b: &[u8]) -> u32 {
    b[4..].iter().chain(&b[..4]).fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            (acc * 10 + u32::from(c - b'0')) % 97
        } else {
            (acc * 100 + u32::from(c - b'A') + 10) % 97
        }
    })
}

/// IBAN lengths of the countries our customers bank in most (others: mod 97 only).
fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "SI" => 19,
        "AT" | "EE" | "KZ" | "LT" | "LU" => 20,
        "CH" | "HR" | "LI" | "LV" => 21,
        "BG" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "IL" | "TL" => 23,
        "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "PT" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "CY" | "DO" | "HU" | "LB" | "PL" => 28,
        "BR" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" => 31,
        _ => return None,
    })
}

/// duns's canonical form: 9 digits.
pub(crate) fn clean_duns(raw: &str) -> Cleaned {
    let Some(s) = alnum_upper(raw) else {
        return Cleaned::invalid("unexpected characters");
    };
    if s.len() == 9 && s.bytes().all(|b| b.is_ascii_digit()) {
        Cleaned::Valid(s)
    } else {
        Cleaned::invalid("not 9 digits")
    }
}

/// tax_id's canonical form: upper-case alphanumerics. EU VAT numbers (and the Swiss UID)
/// are recognised by their prefix and their shape checked; a German VAT ID's check digit
/// too. Other tax IDs only need a plausible length.
pub(crate) fn clean_tax_id(raw: &str) -> Cleaned {
    let Some(mut s) = alnum_upper(raw) else {
        return Cleaned::invalid("unexpected characters");
    };
    // "CHE-123.456.789 MWST": the Swiss suffix names the tax, it is not part of the ID.
    for suffix in ["MWST", "TVA", "IVA"] {
        if s.starts_with("CHE") && s.ends_with(suffix) {
            s.truncate(s.len() - suffix.len());
        }
    }
    if let Some(result) = check_vat_shape(&s) {
        return match result {
            Ok(()) => Cleaned::Valid(s),
            Err(why) => Cleaned::invalid(why),
        };
    }
    if (4..=20).contains(&s.len()) {
        Cleaned::Valid(s)
    } else {
        Cleaned::invalid("length")
    }
}

/// `None` when `s` does not start with a known VAT prefix followed by a digit.
fn check_vat_shape(s: &str) -> Option<Result<(), &'static str>> {
    let (prefix, body) = if s.starts_with("CHE") {
        s.split_at(3)
    } else {
        s.split_at(s.len().min(2))
    };
    let body = body.as_bytes();
    if body.is_empty()
        || !(body[0].is_ascii_digit()
            || prefix == "AT"
            || prefix == "FR"
            || prefix == "IE"
            || prefix == "ES")
    {
        return None;
    }
    let digits = |n: &[usize]| n.contains(&body.len()) && body.iter().all(u8::is_ascii_digit);
    let ok = match prefix {
        "DE" => {
            return Some(if digits(&[9]) && de_vat_check_digit_ok(body) {
                Ok(())
            } else {
                Err("German VAT ID: DE and 9 digits with a valid check digit")
            })
        }
        "AT" => body.len() == 9 && body[0] == b'U' && body[1..].iter().all(u8::is_ascii_digit),
        "BE" => digits(&[10]),
        "BG" => digits(&[9, 10]),
        "CY" => {
            body.len() == 9
                && body[..8].iter().all(u8::is_ascii_digit)
                && body[8].is_ascii_uppercase()
        }
        "CZ" => digits(&[8, 9, 10]),
        "DK" | "FI" | "HU" | "LU" | "MT" | "SI" => digits(&[8]),
        "EE" | "EL" | "GR" | "PT" => digits(&[9]),
        "ES" | "FR" | "IE" => {
            body.len() == 9
                || (prefix == "FR" && body.len() == 11)
                || (prefix == "IE" && body.len() == 10)
        }
        "HR" | "IT" | "LV" => digits(&[11]),
        "LT" => digits(&[9, 12]),
        "NL" => {
            body.len() == 12
                && body[9] == b'B'
                && body[..9].iter().chain(&body[10..]).all(u8::is_ascii_digit)
        }
        "PL" | "SK" => digits(&[10]),
        "RO" => (2..=10).contains(&body.len()) && body.iter().all(u8::is_ascii_digit),
        "SE" => digits(&[12]),
        "GB" | "XI" => digits(&[9, 12]),
        "CHE" => digits(&[9]),
        _ => return None,
    };
    Some(if ok {
        Ok(())
    } else {
        Err("malformed EU VAT ID")
    })
}

/// ISO 7064 MOD 11,10 over the first 8 digits; the 9th is the check digit.
fn de_vat_check_digit_ok(body: &[u8]) -> bool {
    let mut product = 10u32;
    for &d in &body[..8] {
        let mut sum = (u32::from(d - b'0') + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    let check = (11 - product) % 10;
    check == u32::from(body[8] - b'0')
}

/// `DE136695976` -> `136695976`, `ESB36213813` -> `B36213813`: a VAT country prefix
/// before a body of at least six digits.
pub(crate) fn vat_without_country(s: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Cleaned {
        Cleaned::Valid(s.into())
    }
    fn reason(c: Cleaned) -> String {
        match c {
            Cleaned::Invalid { reason } => reason,
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(clean_identifier("ab-12.3/x_y z"), ok("AB123XYZ"));
        assert_eq!(clean_identifier("sku 0042"), ok("SKU0042"));
        assert!(matches!(clean_identifier(" - / "), Cleaned::Invalid { .. }));
    }

    #[test]
    fn gtins() {
        assert_eq!(clean_gtin("4006381333931"), ok("04006381333931"));
        assert_eq!(clean_gtin("400-6381 333931"), ok("04006381333931"));
        assert_eq!(clean_gtin("036000291452"), ok("00036000291452"), "UPC-A");
        assert_eq!(clean_gtin("96385074"), ok("00000096385074"), "EAN-8");
        assert_eq!(
            clean_gtin("10614141000415"),
            ok("10614141000415"),
            "GTIN-14"
        );
        assert_eq!(reason(clean_gtin("4006381333932")), "check digit");
        assert_eq!(reason(clean_gtin("400638133393")), "check digit");
        assert_eq!(reason(clean_gtin("12345")), "length");
        assert_eq!(reason(clean_gtin("4.00638E+12")), "not digits");
    }

    #[test]
    fn ibans() {
        assert_eq!(
            clean_iban("DE89 3704 0044 0532 0130 00"),
            ok("DE89370400440532013000")
        );
        assert_eq!(
            clean_iban("gb82 west 1234 5698 7654 32"),
            ok("GB82WEST12345698765432")
        );
        assert_eq!(
            clean_iban("IBAN CH93 0076 2011 6238 5295 7"),
            ok("CH9300762011623852957")
        );
        assert_eq!(
            reason(clean_iban("DE89 3704 0044 0532 0130 01")),
            "check digits"
        );
        assert_eq!(reason(clean_iban("DE89 3704 0044 0532 0130")), "length");
        assert!(matches!(clean_iban("12345"), Cleaned::Invalid { .. }));
    }

    #[test]
    fn duns_numbers() {
        assert_eq!(clean_duns("15-048-3782"), ok("150483782"));
        assert_eq!(clean_duns("150483782"), ok("150483782"));
        assert!(matches!(clean_duns("15048378"), Cleaned::Invalid { .. }));
        assert!(matches!(clean_duns("15048378A"), Cleaned::Invalid { .. }));
    }

    #[test]
    fn tax_ids() {
        assert_eq!(clean_tax_id("DE 136 695 976"), ok("DE136695976"));
        assert!(
            matches!(clean_tax_id("DE136695977"), Cleaned::Invalid { .. }),
            "check digit"
        );
        assert!(
            matches!(clean_tax_id("DE12345678"), Cleaned::Invalid { .. }),
            "8 digits"
        );
        assert_eq!(clean_tax_id("ATU12345678"), ok("ATU12345678"));
        assert_eq!(clean_tax_id("nl 123456789 b01"), ok("NL123456789B01"));
        assert_eq!(clean_tax_id("FR 40 303 265 045"), ok("FR40303265045"));
        assert_eq!(clean_tax_id("IT 01234567890"), ok("IT01234567890"));
        assert_eq!(clean_tax_id("CHE-123.456.789 MWST"), ok("CHE123456789"));
        assert_eq!(clean_tax_id("GB 123 4567 89"), ok("GB123456789"));
        assert!(matches!(clean_tax_id("IT 123"), Cleaned::Invalid { .. }));
        assert_eq!(
            clean_tax_id("12/345/67890"),
            ok("1234567890"),
            "a national tax number"
        );
        assert_eq!(clean_tax_id("123-45-6789"), ok("123456789"));
        assert!(matches!(clean_tax_id("12"), Cleaned::Invalid { .. }));
        assert!(matches!(clean_tax_id("DE#123"), Cleaned::Invalid { .. }));
    }
}
