//! Per-country vocabularies: names, cities with their postcodes, regions and area codes,
//! streets, e-mail providers, phone formats and legal forms. Lists are short for each
//! country but cover eight countries; rare family names come from `family_tail`, which
//! joins stems and endings so the long tail of real surnames exists too.

mod de;
mod es;
mod fr;
mod gb;
mod it;
mod nl;
mod pl;
mod us;

/// A city with what belongs to it: postcode prefix, region (long and short) and the
/// telephone area code (without trunk prefix).
#[derive(Debug)]
pub struct City {
    pub name: &'static str,
    pub post: &'static str,
    pub region: &'static str,
    pub region_short: &'static str,
    pub area: &'static str,
}

const fn c(
    name: &'static str,
    post: &'static str,
    region: &'static str,
    region_short: &'static str,
    area: &'static str,
) -> City {
    City {
        name,
        post,
        region,
        region_short,
        area,
    }
}

/// How a country writes postcodes.
#[derive(Debug, Clone, Copy)]
pub enum PostcodeFormat {
    /// Prefix then digits up to `n` digits: `10115`.
    Digits(usize),
    /// `00-950` (Poland): prefix digits, dash after the second.
    DashAfter2,
    /// `1012 AB` (Netherlands).
    DigitsLetters,
    /// `M1 4BT` (United Kingdom): prefix is the outward code's area and district.
    Uk,
}

#[derive(Debug)]
pub struct Country {
    pub code: &'static str,
    /// Ways systems write the country: ISO code first, then names.
    pub names: &'static [&'static str],
    pub dial: &'static str,
    /// National format uses a trunk `0` before the area code.
    pub trunk: bool,
    pub local_len: usize,
    pub mobile: &'static [&'static str],
    pub male: &'static [&'static str],
    pub female: &'static [&'static str],
    pub family: &'static [&'static str],
    pub family_stems: &'static [&'static str],
    pub family_ends: &'static [&'static str],
    pub cities: &'static [City],
    pub postcode: PostcodeFormat,
    pub streets: &'static [&'static str],
    /// (long, short) street types; the long one is used in the truth.
    pub street_types: &'static [(&'static str, &'static str)],
    /// Street type written before the name (`Rue de la Paix`, `Calle Mayor`).
    pub type_first: bool,
    /// House number written before the street (`12 Baker Street`).
    pub number_first: bool,
    pub email_domains: &'static [&'static str],
    /// Share of customers from this country (relative weight).
    pub weight: u32,
}

pub static COUNTRIES: [Country; 8] = [
    us::US,
    gb::GB,
    de::DE,
    fr::FR,
    es::ES,
    it::IT,
    pl::PL,
    nl::NL,
];
