//! Identifiers with their real structure and check digits: national ids per country,
//! VAT numbers, DUNS, IBAN (mod 97) and GTIN (mod 10). A valid check digit matters: the
//! engine is meant to tell a valid id from a mistyped one.

use chrono::{Datelike, NaiveDate};
use rand::Rng;

fn digits(n: usize, rng: &mut impl Rng) -> String {
    (0..n)
        .map(|_| (b'0' + rng.random_range(0..10u8)) as char)
        .collect()
}

/// A national person id for `country` (US SSN, UK NINO, PL PESEL, ...), from the
/// person's birth date and sex where the real one encodes them.
pub fn national_id(country: &str, birth: NaiveDate, female: bool, rng: &mut impl Rng) -> String {
    match country {
        "US" => format!(
            "{:03}-{:02}-{:04}",
            rng.random_range(1..666),
            rng.random_range(1..100),
            rng.random_range(1..10_000)
        ),
        "GB" => {
            let l = |rng: &mut dyn rand::RngCore| (b'A' + rng.random_range(0..20u8)) as char;
            let a = l(rng);
            let b = l(rng);
            format!(
                "{a}{b}{}{}",
                digits(6, rng),
                ['A', 'B', 'C', 'D'][rng.random_range(0..4)]
            )
        }
        "FR" => {
            let body = format!(
                "{}{:02}{:02}{:02}{}",
                if female { 2 } else { 1 },
                birth.year() % 100,
                birth.month(),
                rng.random_range(1..96),
                digits(6, rng)
            );
            let n: u64 = body.parse().expect("digits");
            format!("{body}{:02}", 97 - n % 97)
        }
        "ES" => {
            let n = rng.random_range(10_000_000..99_999_999u32);
            let letters = b"TRWAGMYFPDXBNJZSQVHLCKE";
            format!("{n}{}", letters[(n % 23) as usize] as char)
        }
        "PL" => pesel(birth, female, rng),
        "NL" => bsn(rng),
        "IT" => {
            let l = |rng: &mut dyn rand::RngCore| (b'A' + rng.random_range(0..26u8)) as char;
            let name: String = (0..6).map(|_| l(rng)).collect();
            let month = b"ABCDEHLMPRST"[birth.month0() as usize] as char;
            let day = birth.day() + if female { 40 } else { 0 };
            format!(
                "{name}{:02}{month}{day:02}{}{}{}",
                birth.year() % 100,
                l(rng),
                digits(3, rng),
                l(rng)
            )
        }
        // Germany's tax identification number serves as the person id.
        _ => format!("{}{}", rng.random_range(1..10), digits(10, rng)),
    }
}

/// Polish PESEL: birth date (month offset by century), serial with sex, check digit.
fn pesel(birth: NaiveDate, female: bool, rng: &mut impl Rng) -> String {
    let month = birth.month() + if birth.year() >= 2000 { 20 } else { 0 };
    let serial = rng.random_range(0..500u32) * 2 + if female { 0 } else { 1 };
    let body = format!(
        "{:02}{month:02}{:02}{:04}",
        birth.year() % 100,
        birth.day(),
        serial
    );
    let w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = body
        .bytes()
        .zip(w)
        .map(|(b, w)| (b - b'0') as u32 * w)
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Dutch BSN: nine digits passing the "elfproef".
fn bsn(rng: &mut impl Rng) -> String {
    loop {
        let d = digits(8, rng);
        let sum: i32 = d
            .bytes()
            .enumerate()
            .map(|(i, b)| (b - b'0') as i32 * (9 - i as i32))
            .sum();
        let last = sum % 11;
        if last < 10 {
            return format!("{d}{last}");
        }
    }
}

/// A VAT (or, in the US, EIN) number with its country prefix.
pub fn vat(country: &str, rng: &mut impl Rng) -> String {
    match country {
        "US" => format!("{:02}-{}", rng.random_range(10..99), digits(7, rng)),
        "FR" => {
            let siren: u64 = rng.random_range(100_000_000..999_999_999);
            format!("FR{:02}{siren}", (12 + 3 * (siren % 97)) % 97)
        }
        "ES" => format!(
            "ES{}{}{}",
            (b'A' + rng.random_range(0..8u8)) as char,
            digits(7, rng),
            rng.random_range(0..10)
        ),
        "IT" => format!("IT{}", digits(11, rng)),
        "PL" => format!("PL{}", digits(10, rng)),
        "NL" => format!("NL{}B{:02}", digits(9, rng), rng.random_range(1..3)),
        "GB" => format!("GB{}", digits(9, rng)),
        c => format!("{c}{}{}", rng.random_range(1..10), digits(8, rng)),
    }
}

/// A VAT number as systems write it: with or without prefix, with spaces or dots.
pub fn render_vat(v: &str, rng: &mut impl Rng) -> String {
    let has_prefix = v.len() > 2 && v.as_bytes()[..2].iter().all(|b| b.is_ascii_uppercase());
    match rng.random_range(0..8) {
        0 if has_prefix => v[2..].to_string(),
        1 if has_prefix => {
            let rest: Vec<String> = v.as_bytes()[2..]
                .chunks(3)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            format!("{} {}", &v[..2], rest.join(" "))
        }
        2 => v.to_lowercase(),
        3 if has_prefix => format!("{}-{}", &v[..2], &v[2..]),
        _ => v.to_string(),
    }
}

/// A DUNS number: nine digits.
pub fn duns(rng: &mut impl Rng) -> String {
    format!("{}{}", rng.random_range(1..10), digits(8, rng))
}

/// `12-345-6789` or `123456789`.
pub fn render_duns(d: &str, rng: &mut impl Rng) -> String {
    if rng.random_bool(0.3) && d.len() == 9 {
        format!("{}-{}-{}", &d[..2], &d[2..5], &d[5..])
    } else {
        d.to_string()
    }
}

/// An IBAN for the country with valid mod-97 check digits.
pub fn iban(country: &str, rng: &mut impl Rng) -> String {
    let (cc, bban) = match country {
        "DE" => ("DE", digits(18, rng)),
        "FR" => ("FR", digits(23, rng)),
        "ES" => ("ES", digits(20, rng)),
        "IT" => (
            "IT",
            format!(
                "{}{}",
                (b'A' + rng.random_range(0..26u8)) as char,
                digits(22, rng)
            ),
        ),
        "PL" => ("PL", digits(24, rng)),
        "NL" => (
            "NL",
            format!(
                "{}{}",
                ["ABNA", "INGB", "RABO", "TRIO"][rng.random_range(0..4)],
                digits(10, rng)
            ),
        ),
        "GB" => (
            "GB",
            format!(
                "{}{}",
                ["NWBK", "BARC", "LOYD", "HBUK"][rng.random_range(0..4)],
                digits(14, rng)
            ),
        ),
        // US has no IBAN; US suppliers get a German account, as a European buyer pays them.
        _ => ("DE", digits(18, rng)),
    };
    let check = 98 - mod97(&format!("{bban}{cc}00"));
    format!("{cc}{check:02}{bban}")
}

/// The IBAN remainder: letters as two digits (A=10), taken mod 97 piecewise.
pub fn mod97(s: &str) -> u32 {
    let mut r: u32 = 0;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            r = (r * 10 + d) % 97;
        } else if c.is_ascii_alphabetic() {
            let v = c.to_ascii_uppercase() as u32 - 'A' as u32 + 10;
            r = (r * 100 + v) % 97;
        }
    }
    r
}

/// `DE89 3704 0044 0532 0130 00` (print form) or compact.
pub fn render_iban(i: &str, rng: &mut impl Rng) -> String {
    match rng.random_range(0..3) {
        0 => i
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" "),
        1 => i.to_lowercase(),
        _ => i.to_string(),
    }
}

/// The GS1 check digit of the digits before it.
pub fn gtin_check_digit(body: &str) -> u32 {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| (b - b'0') as u32 * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn gtin_valid(g: &str) -> bool {
        g.len() >= 8
            && g.bytes().all(|b| b.is_ascii_digit())
            && gtin_check_digit(&g[..g.len() - 1]) == (g.as_bytes()[g.len() - 1] - b'0') as u32
    }

    #[test]
    fn check_digits_are_valid() {
        assert_eq!(gtin_check_digit("400638133393"), 1); // 4006381333931
        assert!(gtin_valid("4006381333931"));
        assert!(!gtin_valid("4006381333932"));
        assert_eq!(mod97("370400440532013000DE89"), 1); // DE89 3704 0044 0532 0130 00
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for cc in ["DE", "FR", "ES", "IT", "PL", "NL", "GB", "US"] {
            let i = iban(cc, &mut rng);
            let rearranged = format!("{}{}", &i[4..], &i[..4]);
            assert_eq!(mod97(&rearranged), 1, "{i}");
        }
    }

    #[test]
    fn pesel_has_valid_checksum() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let d = NaiveDate::from_ymd_opt(2002, 7, 15).unwrap();
        let p = pesel(d, true, &mut rng);
        assert!(p.starts_with("022715"), "{p}");
        let w = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3, 1];
        let sum: u32 = p.bytes().zip(w).map(|(b, w)| (b - b'0') as u32 * w).sum();
        assert_eq!(sum % 10, 0);
    }
}
