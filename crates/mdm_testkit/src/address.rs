//! Postal addresses and phone numbers whose parts belong together (a Munich postcode with
//! München, Bayern and area code 89), and the ways systems write them down.

use crate::config::CorruptionRates;
use crate::corrupt;
use crate::data::countries::{City, Country, PostcodeFormat, COUNTRIES};
use crate::systems::SystemProfile;
use rand::seq::IndexedRandom;
use rand::Rng;

/// A country picked by population weight.
pub fn pick_country(rng: &mut impl Rng) -> &'static Country {
    let total: u32 = COUNTRIES.iter().map(|c| c.weight).sum();
    let mut x = rng.random_range(0..total);
    for c in &COUNTRIES {
        if x < c.weight {
            return c;
        }
        x -= c.weight;
    }
    &COUNTRIES[0]
}

/// Index into a list with a heavy head (a few very common values, a long tail), as
/// names and cities are distributed in life.
pub fn skewed_index(len: usize, rng: &mut impl Rng) -> usize {
    // u^1.3: the first of 70 names is drawn ~4% of the time, the last ~0.6%.
    let u: f64 = rng.random();
    ((u.powf(1.3) * len as f64) as usize).min(len - 1)
}

#[derive(Debug, Clone)]
pub struct Address {
    pub country: &'static Country,
    pub city: &'static City,
    pub street_base: &'static str,
    pub street_type: usize,
    pub house_number: String,
    pub line2: Option<String>,
    pub postcode: String,
}

impl Address {
    pub fn random(country: &'static Country, rng: &mut impl Rng) -> Address {
        let city = &country.cities[skewed_index(country.cities.len(), rng)];
        Self::in_city(country, city, rng)
    }

    /// Another address in the same city (a move within town, a neighbour).
    pub fn in_city(country: &'static Country, city: &'static City, rng: &mut impl Rng) -> Address {
        let street_base = *country.streets.choose(rng).expect("streets");
        let street_type = skewed_index(country.street_types.len(), rng);
        Address {
            country,
            city,
            street_base,
            street_type,
            house_number: house_number(country, rng),
            line2: rng.random_bool(0.12).then(|| line2(country, rng)),
            postcode: postcode(country, city, rng),
        }
    }

    /// The street in full, as the truth has it (`Hauptstraße`, `Rue Victor Hugo`).
    pub fn street(&self, abbreviated: bool) -> String {
        let (long, short) = self.country.street_types[self.street_type];
        let ty = if abbreviated { short } else { long };
        let base = self.street_base;
        if self.country.type_first {
            let ty = if self.country.code == "PL" && !abbreviated {
                "ul."
            } else {
                ty
            };
            format!("{ty} {base}")
        } else if base.contains(' ') && !base.ends_with(' ') {
            base.to_string() // `Am Markt`: no street type at all
        } else if base.ends_with(' ') {
            format!("{base}{}", corrupt::title_case(ty))
        } else if ty.chars().next().is_some_and(|c| c.is_lowercase()) {
            format!("{base}{ty}") // German and Dutch compounds
        } else {
            format!("{base} {ty}")
        }
    }
}

fn house_number(country: &Country, rng: &mut impl Rng) -> String {
    let n = 1 + skewed_index(180, rng);
    match rng.random_range(0..20) {
        0 => format!("{n}a"),
        1 if country.code == "FR" => format!("{n} bis"),
        1 => format!("{n}b"),
        2 if country.code == "PL" => format!("{n}/{}", rng.random_range(1..60)),
        2 => format!("{n}-{}", n + 2),
        _ => n.to_string(),
    }
}

fn line2(country: &Country, rng: &mut impl Rng) -> String {
    let n = rng.random_range(1..40);
    let l = (b'A' + rng.random_range(0..6u8)) as char;
    match country.code {
        "US" => {
            if rng.random_bool(0.7) {
                format!("Apt {n}{l}")
            } else {
                format!("Suite {}", n * 10)
            }
        }
        "GB" => format!("Flat {n}"),
        "DE" => format!("{}. OG", n % 6 + 1),
        "FR" => format!("Bâtiment {l}"),
        "ES" => format!("{}º {l}", n % 9 + 1),
        "IT" => format!("Scala {l}, int. {n}"),
        "PL" => format!("lok. {n}"),
        _ => format!("{n} hoog"),
    }
}

fn postcode(country: &Country, city: &City, rng: &mut impl Rng) -> String {
    let fill = |len: usize, rng: &mut dyn rand::RngCore| {
        let mut s = city.post.to_string();
        while s.len() < len {
            s.push((b'0' + rng.random_range(0..10u8)) as char);
        }
        s
    };
    match country.postcode {
        PostcodeFormat::Digits(n) => fill(n, rng),
        PostcodeFormat::DashAfter2 => {
            let d = fill(5, rng);
            format!("{}-{}", &d[..2], &d[2..])
        }
        PostcodeFormat::DigitsLetters => {
            let d = fill(4, rng);
            let a = (b'A' + rng.random_range(0..26u8)) as char;
            let b = (b'A' + rng.random_range(0..26u8)) as char;
            format!("{d} {a}{b}")
        }
        PostcodeFormat::Uk => {
            let a = (b'A' + rng.random_range(0..26u8)) as char;
            let b = (b'A' + rng.random_range(0..26u8)) as char;
            format!("{} {}{a}{b}", city.post, rng.random_range(1..10))
        }
    }
}

/// A postcode as a system stores it: spaces dropped or added, case lowered, leading
/// zeros lost to a spreadsheet, ZIP+4.
pub fn render_postcode(pc: &str, country: &Country, rng: &mut impl Rng) -> String {
    match rng.random_range(0..12) {
        0 => pc.replace([' ', '-'], ""),
        1 => pc.to_lowercase(),
        2 if pc.starts_with('0') && pc.chars().all(|c| c.is_ascii_digit()) => {
            pc.trim_start_matches('0').to_string()
        }
        3 if country.code == "US" => format!("{pc}-{:04}", rng.random_range(0..10_000)),
        _ => pc.to_string(),
    }
}

/// Other names of a city (exonyms), as foreign or old systems write them.
pub fn city_variant(name: &str) -> Option<&'static str> {
    Some(match name {
        "München" => "Munich",
        "Köln" => "Cologne",
        "Nürnberg" => "Nuremberg",
        "Frankfurt am Main" => "Frankfurt",
        "Freiburg im Breisgau" => "Freiburg",
        "Offenbach am Main" => "Offenbach",
        "Warszawa" => "Warsaw",
        "Kraków" => "Cracow",
        "Roma" => "Rome",
        "Milano" => "Milan",
        "Napoli" => "Naples",
        "Torino" => "Turin",
        "Firenze" => "Florence",
        "Venezia" => "Venice",
        "Genova" => "Genoa",
        "Sevilla" => "Seville",
        "A Coruña" => "La Coruña",
        "San Sebastián" => "Donostia",
        "Den Haag" => "'s-Gravenhage",
        "New York" => "New York City",
        "Newcastle upon Tyne" => "Newcastle",
        _ => return None,
    })
}

/// An address as one system wrote it.
pub struct RenderedAddress {
    pub street: String,
    pub house_number: Option<String>,
    pub line2: Option<String>,
    pub city: String,
    pub postcode: String,
    pub region: String,
    pub country: String,
}

/// `a` as `sys` writes it: abbreviated street types, the number joined into the street,
/// exonyms for the city, postcode and region variants, and typing errors.
pub fn render_address(
    a: &Address,
    sys: &SystemProfile,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> RenderedAddress {
    let abbreviate = if sys.abbreviates {
        0.6
    } else {
        rates.abbreviation
    };
    let street = corrupt::damage_text(&a.street(rng.random_bool(abbreviate)), sys, rates, rng);
    let mut number = a.house_number.clone();
    if rng.random_bool(0.1) {
        number = number.replace('a', " A").replace('b', " B");
    }
    // Some systems have one address line: the number goes into the street.
    let joined = if sys.name.as_str() == "CRM" {
        0.3
    } else {
        0.05
    };
    let (street, house_number) = if rng.random_bool(joined) {
        let s = if a.country.number_first {
            format!("{number} {street}")
        } else {
            format!("{street} {number}")
        };
        (s, None)
    } else {
        (street, Some(number))
    };
    let city = match city_variant(a.city.name) {
        Some(v) if rng.random_bool(0.15) => v,
        _ => a.city.name,
    };
    let long_region = match sys.name.as_str() {
        "ERP" => false,
        "CRM" => true,
        _ => rng.random_bool(0.5),
    };
    RenderedAddress {
        street,
        house_number,
        line2: a.line2.clone().filter(|_| rng.random_bool(0.7)),
        city: corrupt::damage_text(city, sys, rates, rng),
        postcode: render_postcode(&a.postcode, a.country, rng),
        region: if long_region {
            a.city.region
        } else {
            a.city.region_short
        }
        .to_string(),
        country: country_name(a.country.names, sys, rng),
    }
}

/// The country as a system writes it: ISO code, English or local name, upper case.
pub fn country_name(names: &[&str], sys: &SystemProfile, rng: &mut impl Rng) -> String {
    if rng.random_bool(0.1) {
        return names.choose(rng).expect("names").to_string();
    }
    match sys.name.as_str() {
        "ERP" => names[0].to_string(),
        "CRM" => names[1].to_string(),
        _ => names[names.len() - 1].to_uppercase(),
    }
}

/// A phone number: area (or mobile prefix) and local part, without country code.
#[derive(Debug, Clone)]
pub struct Phone {
    pub area: String,
    pub local: String,
}

impl Phone {
    pub fn random(country: &Country, city: &City, rng: &mut impl Rng) -> Phone {
        let mobile = !country.mobile.is_empty() && rng.random_bool(0.5);
        let area = if mobile {
            country
                .mobile
                .choose(rng)
                .expect("mobile prefixes")
                .to_string()
        } else {
            city.area.to_string()
        };
        let nsn = if matches!(country.code, "US" | "GB" | "DE" | "IT") {
            10
        } else {
            9
        };
        let len = if mobile {
            nsn - area.len()
        } else {
            country.local_len
        };
        let mut local = String::with_capacity(len);
        local.push((b'2' + rng.random_range(0..8u8)) as char);
        while local.len() < len {
            local.push((b'0' + rng.random_range(0..10u8)) as char);
        }
        Phone { area, local }
    }

    /// As `sys` writes phones; a digit slip with the typo rate.
    pub fn render(
        &self,
        country: &Country,
        sys: &SystemProfile,
        rates: &CorruptionRates,
        rng: &mut impl Rng,
    ) -> String {
        let local = if rng.random_bool(rates.typo * 0.5) {
            corrupt::typo(&self.local, rng)
        } else {
            self.local.clone()
        };
        // Italian area codes keep their 0 internationally, so they carry it in the data.
        let area = self.area.as_str();
        let mut style = sys.phone_style;
        if rng.random_bool(0.15) {
            // Data entry is not uniform even in one system.
            style = *[
                crate::systems::PhoneStyle::IntlSpaced,
                crate::systems::PhoneStyle::National,
                crate::systems::PhoneStyle::E164,
                crate::systems::PhoneStyle::Punctuated,
            ]
            .choose(rng)
            .expect("styles");
        }
        corrupt::format_phone(country.dial, area, &local, style, country.trunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn streets_read_naturally() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for c in &COUNTRIES {
            for _ in 0..20 {
                let a = Address::random(c, &mut rng);
                let s = a.street(false);
                assert!(!s.is_empty() && !s.contains("  "), "{s}");
                assert!(a.postcode.len() >= 5, "{} {}", c.code, a.postcode);
            }
        }
    }
}
