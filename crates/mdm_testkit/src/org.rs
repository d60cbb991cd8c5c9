//! Organization names: a core (`Müller Maschinenbau`, `Apex Logistics`) and a legal form
//! from the country's list, written by each system in its own way.

use crate::address::skewed_index;
use crate::config::CorruptionRates;
use crate::corrupt;
use crate::data::countries::Country;
use crate::data::orgs::{
    and_sons, industries, legal_forms, BRAND_ENDS, BRAND_STEMS, ORG_ABBREVIATIONS,
};
use crate::systems::SystemProfile;
use rand::seq::IndexedRandom;
use rand::Rng;

#[derive(Debug, Clone)]
pub struct Org {
    pub country: &'static Country,
    /// The name without legal form.
    pub core: String,
    /// The first word people identify the company by (`Müller`, `Apex`): shared by sisters.
    pub stem: String,
    pub legal: usize,
}

impl Org {
    pub fn random(country: &'static Country, rng: &mut impl Rng) -> Org {
        let stem = if rng.random_bool(0.5) {
            family_name_plain(country, rng)
        } else {
            format!(
                "{}{}",
                BRAND_STEMS.choose(rng).expect("stems"),
                BRAND_ENDS.choose(rng).expect("ends")
            )
        };
        Self::with_stem(country, stem, rng)
    }

    fn with_stem(country: &'static Country, stem: String, rng: &mut impl Rng) -> Org {
        let inds = if rng.random_bool(0.25) {
            industries("EN")
        } else {
            industries(country.code)
        };
        let core = match rng.random_range(0..10) {
            0 => format!("{stem} {}", and_sons(country.code)),
            1 => {
                let other = family_name_plain(country, rng);
                format!("{stem} & {other}")
            }
            2 => stem.clone(),
            3 => format!(
                "{stem} {} {}",
                inds.choose(rng).expect("industries"),
                country.cities[0].name
            ),
            _ => format!("{stem} {}", inds.choose(rng).expect("industries")),
        };
        let legal = skewed_index(legal_forms(country.code).len(), rng);
        Org {
            country,
            core,
            stem,
            legal,
        }
    }

    /// A different company of the same group or family (`Müller Logistik GmbH` next to
    /// `Müller Maschinenbau GmbH`): a hard negative.
    pub fn sister(&self, rng: &mut impl Rng) -> Org {
        loop {
            let o = Self::with_stem(self.country, self.stem.clone(), rng);
            if o.core != self.core || o.legal != self.legal {
                return o;
            }
        }
    }

    /// The company's web domain (`mueller-maschinenbau.de`).
    pub fn web_domain(&self) -> String {
        let words: Vec<String> = corrupt::transliterate(&self.core)
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .take(2)
            .map(str::to_string)
            .collect();
        let tld = match self.country.code {
            "US" => "com",
            "GB" => "co.uk",
            c => return format!("{}.{}", words.join("-"), c.to_ascii_lowercase()),
        };
        format!("{}.{tld}", words.join("-"))
    }

    /// The name as one system writes it: legal-form variant or none, abbreviations, case,
    /// diacritics, typos.
    pub fn render(
        &self,
        sys: &SystemProfile,
        rates: &CorruptionRates,
        rng: &mut impl Rng,
    ) -> String {
        let forms = legal_forms(self.country.code)[self.legal];
        let mut core = self.core.clone();
        let abbreviate = if sys.abbreviates {
            0.5 + rates.abbreviation
        } else {
            rates.abbreviation
        };
        if rng.random_bool(abbreviate.min(1.0)) {
            core = corrupt::abbreviate(&core, ORG_ABBREVIATIONS);
        }
        if rng.random_bool(rates.typo) {
            core = corrupt::typo(&core, rng);
        }
        if rng.random_bool(rates.transposition) {
            core = corrupt::transpose(&core, rng);
        }
        let form_pick = rng.random_range(0..100);
        let variant_rate = (rates.abbreviation * 100.0) as u32 + 10;
        let mut name = if form_pick < 8 + (rates.missing * 100.0) as u32 {
            core // legal form left out
        } else if form_pick < 8 + variant_rate {
            format!("{core} {}", forms.choose(rng).expect("forms"))
        } else {
            format!("{core} {}", forms[0])
        };
        if sys.ascii_only || rng.random_bool(rates.diacritics * 0.5) {
            name = corrupt::fold_diacritics(&name, rng);
        }
        if sys.upper_case {
            name = name.to_uppercase();
        } else if rng.random_bool(rates.case_change) {
            name = corrupt::odd_case(&name, rng);
        }
        name
    }
}

/// A family name usable in a company name (no particles such as `van der`).
fn family_name_plain(country: &Country, rng: &mut impl Rng) -> String {
    let f = country.family[skewed_index(country.family.len(), rng)];
    f.rsplit(' ').next().unwrap_or(f).to_string()
}
