//! How one system records a customer: its name layout, date and phone formats, which
//! address it knows, and the mistakes made when the record was typed in.

use super::Customer;
use crate::address::render_address;
use crate::config::CorruptionRates;
use crate::corrupt::{self, damage_text, format_date};
use crate::data::nicknames::nickname_of;
use crate::ids;
use crate::systems::{NameStyle, SystemProfile};
use chrono::{Days, NaiveDate};
use rand::seq::IndexedRandom;
use rand::Rng;

// Field positions in `super::FIELDS`.
const GIVEN: usize = 0;
const FAMILY: usize = 1;
const FULL: usize = 2;
const ORG: usize = 3;
const BIRTH: usize = 4;
const GENDER: usize = 5;
const EMAIL: usize = 6;
const PHONE: usize = 7;
const STREET: usize = 8;
const HOUSE: usize = 9;
const LINE2: usize = 10;
const CITY: usize = 11;
const POSTCODE: usize = 12;
const REGION: usize = 13;
const COUNTRY: usize = 14;
const NATIONAL_ID: usize = 15;
const TAX_ID: usize = 16;

pub(super) fn render(
    e: &Customer,
    sys: &SystemProfile,
    rates: &CorruptionRates,
    dup: bool,
    rng: &mut impl Rng,
    row: &mut [Option<String>],
) {
    // A second record in one system is usually a re-registration: after a move, with a
    // new e-mail, typed by someone else.
    let pick_latest = |n: usize, rng: &mut dyn rand::RngCore| {
        if n < 2 {
            0
        } else if rng.random_bool(if dup { 0.7 } else { 0.5 }) {
            n - 1
        } else {
            0
        }
    };
    match &e.org {
        Some(org) => {
            row[ORG] = Some(org.render(sys, rates, rng));
            // B2B systems keep a contact person in the name fields now and then.
            if sys.name_style == NameStyle::Split && rng.random_bool(0.2) {
                names(e, sys, rates, rng, row);
            }
        }
        None => {
            names(e, sys, rates, rng, row);
            row[BIRTH] = e.birth.map(|b| birth(b, sys, rates, rng));
            row[GENDER] = Some(gender(e.female, sys, rng));
        }
    }
    let email = &e.emails[pick_latest(e.emails.len(), rng)];
    row[EMAIL] = Some(email_value(email, rates, rng));
    let phone = &e.phones[pick_latest(e.phones.len(), rng)];
    row[PHONE] = Some(phone.render(e.country, sys, rates, rng));
    let a = render_address(
        &e.addresses[pick_latest(e.addresses.len(), rng)],
        sys,
        rates,
        rng,
    );
    row[STREET] = Some(a.street);
    row[HOUSE] = a.house_number;
    row[LINE2] = a.line2;
    row[CITY] = Some(a.city);
    row[POSTCODE] = Some(a.postcode);
    row[REGION] = Some(a.region);
    row[COUNTRY] = Some(a.country);
    row[NATIONAL_ID] = e
        .national_id
        .as_ref()
        .filter(|_| rng.random_bool(sys.national_id_share))
        .map(|id| national_id(id, rates, rng));
    row[TAX_ID] = e
        .tax_id
        .as_ref()
        .filter(|_| rng.random_bool(0.8))
        .map(|v| id_slip(&ids::render_vat(v, rng), rates, rng));
    for v in row.iter_mut() {
        if v.is_some() && rng.random_bool(rates.missing) {
            *v = None;
        }
    }
    placeholders(sys, rates, rng, row);
}

/// Dummy values clerks type when a mandatory field is unknown. Shared by unrelated
/// customers, so agreeing on them proves nothing.
fn placeholders(
    sys: &SystemProfile,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
    row: &mut [Option<String>],
) {
    let p = rates.missing * 0.3;
    if row[BIRTH].is_some() && rng.random_bool(p) {
        let d = NaiveDate::from_ymd_opt(1900, 1, 1).expect("date");
        row[BIRTH] = Some(format_date(d, sys.date_style, false));
    }
    if row[EMAIL].is_some() && rng.random_bool(p) {
        let dummy = [
            "noemail@noemail.com",
            "none@none.com",
            "x@x.de",
            "keine@mail.de",
            "na@na.com",
        ];
        row[EMAIL] = Some(dummy.choose(rng).expect("dummies").to_string());
    }
    if row[PHONE].is_some() && rng.random_bool(p) {
        row[PHONE] = Some(
            ["0000000000", "+49 000 000000", "999-999-9999", "0"]
                .choose(rng)
                .expect("dummies")
                .to_string(),
        );
    }
}

/// Given/family or full name as the system lays names out, with nicknames, initials,
/// titles, swaps, maiden names and typing errors.
fn names(
    e: &Customer,
    sys: &SystemProfile,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
    row: &mut [Option<String>],
) {
    let mut given = given_name(&e.given, rates, rng);
    let mut family = match &e.family_before {
        Some(before) if rng.random_bool(0.5) => before.clone(),
        _ => e.family.clone(),
    };
    if let Some(f2) = &e.family2 {
        // Spanish second surname: kept by most, dropped by some, hyphenated by a few.
        match rng.random_range(0..10) {
            0..=5 => family = format!("{family} {f2}"),
            6 => family = format!("{family}-{f2}"),
            _ => {}
        }
    }
    given = damage_text(&given, sys, rates, rng);
    family = damage_text(&family, sys, rates, rng);
    if rng.random_bool(rates.swapped_names) {
        std::mem::swap(&mut given, &mut family);
    }
    if rng.random_bool(rates.title) {
        let titles: &[&str] = if e.female {
            &["Dr.", "Dr", "Mrs", "Ms", "Prof.", "Frau", "Mme", "Sra."]
        } else {
            &["Dr.", "Dr", "Mr", "Mr.", "Prof.", "Herr", "M.", "Sr."]
        };
        let t = *titles.choose(rng).expect("titles");
        given = format!("{t} {given}");
    }
    match sys.name_style {
        NameStyle::Split => {
            row[GIVEN] = Some(given);
            row[FAMILY] = Some(family);
        }
        NameStyle::FullOnly => row[FULL] = Some(format!("{given} {family}")),
        NameStyle::FullFamilyFirst => {
            row[FULL] = Some(if rng.random_bool(0.6) {
                format!("{family}, {given}")
            } else {
                format!("{given} {family}")
            })
        }
    }
}

fn given_name(given: &str, rates: &CorruptionRates, rng: &mut impl Rng) -> String {
    let r: f64 = rng.random();
    if r < rates.nickname {
        if let Some(n) = nickname_of(given, rng.random_range(0..8)) {
            return n.to_string();
        }
    } else if r < rates.nickname + rates.initial {
        let first = given.chars().next().unwrap_or('X');
        return if rng.random_bool(0.6) {
            format!("{first}.")
        } else {
            first.to_string()
        };
    } else if r < rates.nickname + rates.initial + rates.missing && given.contains([' ', '-']) {
        // Compound given names (José Antonio, Jean-Pierre) lose their second part.
        return given.split([' ', '-']).next().unwrap_or(given).to_string();
    }
    given.to_string()
}

fn birth(b: NaiveDate, sys: &SystemProfile, rates: &CorruptionRates, rng: &mut impl Rng) -> String {
    let mut d = b;
    if rng.random_bool(rates.typo * 0.3) {
        // A slip on the keypad: a day or a year off.
        d = match rng.random_range(0..3) {
            0 => d.checked_add_days(Days::new(1)).unwrap_or(d),
            1 => d.checked_sub_days(Days::new(1)).unwrap_or(d),
            _ => d.with_year_offset(if rng.random_bool(0.5) { 1 } else { -10 }),
        };
    }
    format_date(d, sys.date_style, rng.random_bool(rates.day_month_swap))
}

trait YearOffset {
    fn with_year_offset(self, years: i32) -> Self;
}
impl YearOffset for NaiveDate {
    fn with_year_offset(self, years: i32) -> Self {
        use chrono::Datelike;
        self.with_year(self.year() + years).unwrap_or(self)
    }
}

fn gender(female: bool, sys: &SystemProfile, rng: &mut impl Rng) -> String {
    let style = if sys.name.as_str() == "CRM" {
        0
    } else {
        rng.random_range(0..4)
    };
    let (f, m) = [("F", "M"), ("female", "male"), ("w", "m"), ("2", "1")][style];
    if female { f } else { m }.to_string()
}

fn email_value(email: &str, rates: &CorruptionRates, rng: &mut impl Rng) -> String {
    let mut e = email.to_string();
    if rng.random_bool(rates.typo * 0.3) {
        let at = e.find('@').unwrap_or(e.len());
        e = format!("{}{}", corrupt::typo(&e[..at], rng), &e[at..]);
    }
    if rng.random_bool(rates.case_change) {
        e = corrupt::title_case(&e);
    }
    e
}

fn national_id(id: &str, rates: &CorruptionRates, rng: &mut impl Rng) -> String {
    let v = match rng.random_range(0..4) {
        0 => id.replace(['-', ' '], ""),
        1 if id.len() == 9 && id.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("{} {} {} {}", &id[..2], &id[2..4], &id[4..6], &id[6..])
        }
        _ => id.to_string(),
    };
    id_slip(&v, rates, rng)
}

/// A mistyped identifier: one digit wrong or two swapped.
pub(crate) fn id_slip(v: &str, rates: &CorruptionRates, rng: &mut impl Rng) -> String {
    if !rng.random_bool(rates.id_typo) {
        return v.to_string();
    }
    if rng.random_bool(0.5) {
        corrupt::transpose(v, rng)
    } else {
        let mut chars: Vec<char> = v.chars().collect();
        let digits: Vec<usize> = (0..chars.len())
            .filter(|&i| chars[i].is_ascii_digit())
            .collect();
        if let Some(&i) = digits.choose(rng) {
            let d = chars[i].to_digit(10).unwrap_or(0);
            chars[i] = char::from_digit((d + rng.random_range(1..10)) % 10, 10).unwrap_or('0');
        }
        chars.into_iter().collect()
    }
}
