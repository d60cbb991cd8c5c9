//! Drawing customers: a person or an organization, and now and then look-alikes that
//! share much with it but are someone else.

use super::Customer;
use crate::address::{pick_country, skewed_index, Address, Phone};
use crate::config::CorruptionRates;
use crate::corrupt;
use crate::data::countries::Country;
use crate::ids;
use crate::org::Org;
use chrono::{Datelike, Days, NaiveDate};
use rand::seq::IndexedRandom;
use rand::Rng;

pub(super) fn next_group(
    related_rate: f64,
    org_share: f64,
    rates: &CorruptionRates,
    first_index: u64,
    rng: &mut impl Rng,
    out: &mut Vec<Customer>,
) {
    let country = pick_country(rng);
    let mut base = if rng.random_bool(org_share) {
        organization(country, rates, rng)
    } else {
        person(country, rates, rng)
    };
    let relatives = if rng.random_bool(related_rate) {
        rng.random_range(1..=2)
    } else {
        0
    };
    // The base is the group's first entity; relatives who move in share its household.
    base.household = base.org.is_none().then_some(first_index);
    for _ in 0..relatives {
        let r = if base.org.is_some() {
            sister_company(&base, rates, rng)
        } else {
            relative(&base, rates, rng)
        };
        out.push(r);
    }
    if !out.iter().any(|r| r.household.is_some()) {
        base.household = None;
    }
    out.insert(0, base);
}

fn given_name(country: &Country, female: bool, rng: &mut impl Rng) -> String {
    let list = if female { country.female } else { country.male };
    list[skewed_index(list.len(), rng)].to_string()
}

fn family_name(country: &Country, female: bool, rng: &mut impl Rng) -> String {
    let name = if rng.random_bool(0.5) {
        // The long tail: invented but plausible surnames (one or two stems and an
        // ending, some 6000 per country), so most surnames are rare as in life.
        let stem = *country.family_stems.choose(rng).expect("stems");
        let end = country.family_ends.choose(rng).expect("ends");
        if rng.random_bool(0.5) {
            let second = country
                .family_stems
                .choose(rng)
                .expect("stems")
                .to_lowercase();
            format!("{stem}{second}{end}")
        } else {
            format!("{stem}{end}")
        }
    } else {
        country.family[skewed_index(country.family.len(), rng)].to_string()
    };
    if female && country.code == "PL" {
        feminine_polish(&name)
    } else {
        name
    }
}

/// Kowalski -> Kowalska: Polish surnames in -ski/-cki/-dzki agree with the bearer.
fn feminine_polish(name: &str) -> String {
    match name.strip_suffix('i') {
        Some(stem) if stem.ends_with("sk") || stem.ends_with("ck") || stem.ends_with("dzk") => {
            format!("{stem}a")
        }
        _ => name.to_string(),
    }
}

fn birth_date(rng: &mut impl Rng) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(1935, 1, 1).expect("date");
    start + Days::new(rng.random_range(0..365 * 70))
}

/// The local part people choose from their names.
pub(super) fn email_for(
    given: &str,
    family: &str,
    country: &Country,
    rng: &mut impl Rng,
) -> String {
    let clean = |s: &str| -> String {
        corrupt::strip_diacritics(s)
            .to_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect()
    };
    let (g, f) = (clean(given), clean(family));
    let g0 = g.chars().next().unwrap_or('x');
    let local = match rng.random_range(0..9) {
        0 | 1 => format!("{g}.{f}"),
        2 => format!("{g}{f}"),
        3 => format!("{g0}{f}"),
        4 => format!("{g0}.{f}"),
        5 => format!("{f}.{g}"),
        6 => format!("{g}.{f}{}", rng.random_range(1..100)),
        7 => format!("{g}_{f}"),
        _ => format!("{g}{}", rng.random_range(50..2010)),
    };
    let domain = country.email_domains[skewed_index(country.email_domains.len(), rng)];
    format!("{local}@{domain}")
}

fn contact(
    country: &'static Country,
    given: &str,
    family: &str,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> (Vec<Address>, Vec<Phone>, Vec<String>) {
    let mut addresses = vec![Address::random(country, rng)];
    if rng.random_bool(rates.moved) {
        let next = if rng.random_bool(0.5) {
            Address::in_city(country, addresses[0].city, rng)
        } else {
            Address::random(country, rng)
        };
        addresses.push(next);
    }
    let mut phones = vec![Phone::random(country, addresses[0].city, rng)];
    if rng.random_bool(rates.phone_changed) {
        phones.push(Phone::random(
            country,
            addresses.last().expect("address").city,
            rng,
        ));
    }
    let mut emails = vec![email_for(given, family, country, rng)];
    if rng.random_bool(rates.email_changed) {
        let other = email_for(given, family, country, rng);
        if other != emails[0] {
            emails.push(other);
        }
    }
    (addresses, phones, emails)
}

pub(super) fn person(
    country: &'static Country,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> Customer {
    let female = rng.random_bool(0.5);
    let given = given_name(country, female, rng);
    let family = family_name(country, female, rng);
    let family2 = (country.code == "ES").then(|| family_name(country, female, rng));
    let family_before = (female && rng.random_bool(rates.name_changed * 2.0))
        .then(|| family_name(country, true, rng));
    let birth = birth_date(rng);
    let (addresses, phones, emails) = contact(country, &given, &family, rates, rng);
    Customer {
        country,
        national_id: Some(ids::national_id(country.code, birth, female, rng)),
        tax_id: rng.random_bool(0.04).then(|| ids::vat(country.code, rng)),
        given,
        family,
        family2,
        family_before,
        female,
        birth: Some(birth),
        org: None,
        household: None,
        addresses,
        phones,
        emails,
    }
}

fn organization(
    country: &'static Country,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> Customer {
    let org = Org::random(country, rng);
    with_org(org, country, rates, rng)
}

fn with_org(
    org: Org,
    country: &'static Country,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> Customer {
    let mut c = person(country, rates, rng);
    let domain = org.web_domain();
    let role = *["info", "office", "orders", "contact", "sales", "kontakt"]
        .choose(rng)
        .expect("roles");
    c.emails = vec![format!("{role}@{domain}")];
    if rng.random_bool(rates.email_changed) {
        let g = corrupt::strip_diacritics(&c.given)
            .to_lowercase()
            .replace(' ', "");
        c.emails.push(format!("{g}@{domain}"));
    }
    c.birth = None;
    c.national_id = None;
    c.family_before = None;
    c.tax_id = Some(ids::vat(country.code, rng));
    c.org = Some(org);
    c
}

/// A family member or namesake of a person: shares a lot, is someone else.
fn relative(base: &Customer, rates: &CorruptionRates, rng: &mut impl Rng) -> Customer {
    let country = base.country;
    let mut r = person(country, rates, rng);
    let birth = base.birth.expect("people have birth dates");
    let shift = |years: i32, rng: &mut dyn rand::RngCore| {
        let days = years as i64 * 365 + rng.random_range(-180..180);
        birth
            .checked_add_signed(chrono::Duration::days(days))
            .unwrap_or(birth)
    };
    // Weights: spouses and children are common, namesakes in town too, juniors and twins rare.
    match rng.random_range(0..100) {
        // Spouse: same address and (mostly) family name, another birth date.
        0..35 => {
            r.female = !base.female;
            r.given = given_name(country, r.female, rng);
            if rng.random_bool(0.7) {
                r.family = base.family.clone();
            }
            r.birth = Some(shift(rng.random_range(-6..7), rng));
            share_home(&mut r, base, rng);
        }
        // Child at the parents' address.
        35..60 => {
            r.family = base.family.clone();
            r.birth = Some(shift(rng.random_range(20..36), rng));
            share_home(&mut r, base, rng);
        }
        // Twin: same birth date, same home, another given name.
        60..67 => {
            r.family = base.family.clone();
            r.birth = Some(birth);
            share_home(&mut r, base, rng);
            while r.given == base.given {
                r.given = given_name(country, r.female, rng);
            }
        }
        // Junior: same name, same address, a generation younger.
        67..75 => {
            r.female = base.female;
            r.given = base.given.clone();
            r.family = base.family.clone();
            r.birth = Some(shift(rng.random_range(22..36), rng));
            share_home(&mut r, base, rng);
        }
        // Namesake in the same city: common names are common.
        _ => {
            r.female = base.female;
            r.given = base.given.clone();
            r.family = base.family.clone();
            r.family2 = base
                .family2
                .clone()
                .filter(|_| rng.random_bool(0.3))
                .or(r.family2);
            let city = base.addresses[0].city;
            r.addresses = vec![Address::in_city(country, city, rng)];
        }
    }
    r.family_before = None;
    if r.birth.is_some_and(|b| b.year() > 2008) {
        // Too young to be a customer: make them the older generation instead.
        r.birth = Some(shift(-rng.random_range(22..36), rng));
    }
    r.national_id = Some(ids::national_id(
        country.code,
        r.birth.unwrap_or(birth),
        r.female,
        rng,
    ));
    r.emails = vec![distinct_email(&r, base, rng)];
    r
}

/// Moves `r` in with `base`: same addresses, often the same landline.
fn share_home(r: &mut Customer, base: &Customer, rng: &mut impl Rng) {
    r.addresses = base.addresses.clone();
    r.household = base.household;
    if rng.random_bool(0.5) {
        r.phones = vec![base.phones[0].clone()];
    }
}

fn distinct_email(r: &Customer, base: &Customer, rng: &mut impl Rng) -> String {
    loop {
        let e = email_for(&r.given, &r.family, r.country, rng);
        if !base.emails.contains(&e) {
            return e;
        }
    }
}

/// Another company of the same group, or a namesake company elsewhere.
fn sister_company(base: &Customer, rates: &CorruptionRates, rng: &mut impl Rng) -> Customer {
    let org = base.org.as_ref().expect("organization").sister(rng);
    let mut c = with_org(org, base.country, rates, rng);
    if rng.random_bool(0.5) {
        // Group companies often share the head office.
        c.addresses = vec![base.addresses[0].clone()];
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polish_surnames_agree_with_the_bearer() {
        assert_eq!(feminine_polish("Kowalski"), "Kowalska");
        assert_eq!(feminine_polish("Zawadzki"), "Zawadzka");
        assert_eq!(feminine_polish("Nowak"), "Nowak");
    }
}
