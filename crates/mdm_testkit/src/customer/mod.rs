//! The customer domain: people (most) and organizations, living at addresses, reachable
//! by e-mail and phone, some with national and tax ids. Look-alike relatives (spouses,
//! children, twins, juniors, namesakes, sister companies) are the hard negatives.

mod people;
mod render;

pub(crate) use render::id_slip;

use crate::address::{Address, Phone};
use crate::config::{CorruptionRates, GenConfig};
use crate::data::countries::Country;
use crate::engine::EntityGen;
use crate::org::Org;
use crate::systems::SystemProfile;
use chrono::NaiveDate;
use rand_chacha::ChaCha8Rng;

/// Canonical customer attributes in the order `render` fills them.
pub(crate) const FIELDS: &[&str] = &[
    "given_name",
    "family_name",
    "full_name",
    "organization_name",
    "birth_date",
    "gender",
    "email",
    "phone",
    "street",
    "house_number",
    "address_line2",
    "city",
    "postcode",
    "region",
    "country",
    "national_id",
    "tax_id",
];

/// One real customer as it truly is.
#[derive(Debug, Clone)]
pub(crate) struct Customer {
    pub country: &'static Country,
    /// For an organization: its contact person, which only some systems record.
    pub given: String,
    pub family: String,
    /// Spanish second surname, which systems keep or drop.
    pub family2: Option<String>,
    /// A previous family name (before marriage) some systems still have.
    pub family_before: Option<String>,
    pub female: bool,
    pub birth: Option<NaiveDate>,
    pub org: Option<Org>,
    /// Current address first; a second one when the customer moved.
    pub addresses: Vec<Address>,
    pub phones: Vec<Phone>,
    pub emails: Vec<String>,
    pub national_id: Option<String>,
    pub tax_id: Option<String>,
    /// The household it lives in (the global index of the group's first entity), when it
    /// shares its home with a relative: the truth of derived households.
    pub household: Option<u64>,
}

pub(crate) struct CustomerGen {
    related_rate: f64,
    /// Entity-level events (moves, new e-mail) take their rates from here.
    rates: CorruptionRates,
    /// Share of customers that are organizations.
    org_share: f64,
}

impl CustomerGen {
    pub fn new(cfg: &GenConfig) -> Self {
        Self {
            related_rate: cfg.related_rate,
            rates: cfg.rates.clone(),
            org_share: 0.15,
        }
    }
}

impl EntityGen for CustomerGen {
    type Entity = Customer;

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn next_group(&self, rng: &mut ChaCha8Rng, first_index: u64, out: &mut Vec<Customer>) {
        people::next_group(
            self.related_rate,
            self.org_share,
            &self.rates,
            first_index,
            rng,
            out,
        );
    }

    fn household(&self, e: &Customer) -> Option<u64> {
        e.household
    }

    fn render(
        &self,
        e: &Customer,
        sys: &SystemProfile,
        rates: &CorruptionRates,
        dup: bool,
        rng: &mut ChaCha8Rng,
        row: &mut [Option<String>],
    ) {
        render::render(e, sys, rates, dup, rng, row);
    }
}
