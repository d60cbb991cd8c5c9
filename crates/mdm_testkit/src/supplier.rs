//! The supplier domain: companies with legal forms, VAT numbers, DUNS, addresses,
//! e-mails, phones, websites and bank accounts. Sister companies of one group and
//! namesakes abroad are the hard negatives.

use crate::address::{pick_country, render_address, Address, Phone};
use crate::config::{CorruptionRates, GenConfig};
use crate::customer::id_slip;
use crate::engine::EntityGen;
use crate::ids;
use crate::org::Org;
use crate::systems::SystemProfile;
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(crate) const FIELDS: &[&str] = &[
    "name",
    "tax_id",
    "duns",
    "street",
    "house_number",
    "city",
    "postcode",
    "region",
    "country",
    "email",
    "phone",
    "website",
    "iban",
];

#[derive(Debug, Clone)]
pub(crate) struct Supplier {
    org: Org,
    vat: String,
    duns: String,
    addresses: Vec<Address>,
    phones: Vec<Phone>,
    emails: Vec<String>,
    web: String,
    ibans: Vec<String>,
}

pub(crate) struct SupplierGen {
    related_rate: f64,
    rates: CorruptionRates,
}

impl SupplierGen {
    pub fn new(cfg: &GenConfig) -> Self {
        Self {
            related_rate: cfg.related_rate,
            rates: cfg.rates.clone(),
        }
    }

    fn supplier(&self, org: Org, rng: &mut impl Rng) -> Supplier {
        let country = org.country;
        let mut addresses = vec![Address::random(country, rng)];
        if rng.random_bool(self.rates.moved) {
            addresses.push(Address::random(country, rng));
        }
        let mut phones = vec![Phone::random(country, addresses[0].city, rng)];
        if rng.random_bool(self.rates.phone_changed) {
            phones.push(Phone::random(country, addresses[0].city, rng));
        }
        let web = org.web_domain();
        let role = |rng: &mut dyn rand::RngCore| {
            *[
                "info", "sales", "orders", "office", "accounts", "vertrieb", "contact",
            ]
            .choose(rng)
            .expect("roles")
        };
        let mut emails = vec![format!("{}@{web}", role(rng))];
        if rng.random_bool(self.rates.email_changed) {
            emails.push(format!("{}@{web}", role(rng)));
        }
        let mut ibans = vec![ids::iban(country.code, rng)];
        if rng.random_bool(self.rates.email_changed) {
            ibans.push(ids::iban(country.code, rng)); // a second bank account
        }
        Supplier {
            vat: ids::vat(country.code, rng),
            duns: ids::duns(rng),
            org,
            addresses,
            phones,
            emails,
            web,
            ibans,
        }
    }
}

impl EntityGen for SupplierGen {
    type Entity = Supplier;

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn next_group(&self, rng: &mut ChaCha8Rng, _first_index: u64, out: &mut Vec<Supplier>) {
        let base = self.supplier(Org::random(pick_country(rng), rng), rng);
        let relatives = if rng.random_bool(self.related_rate) {
            rng.random_range(1..=2)
        } else {
            0
        };
        for _ in 0..relatives {
            let r = if rng.random_bool(0.6) {
                // A sister company of the same group, often at the same site.
                let mut s = self.supplier(base.org.sister(rng), rng);
                if rng.random_bool(0.5) {
                    s.addresses = vec![base.addresses[0].clone()];
                    s.phones = vec![base.phones[0].clone()];
                }
                s
            } else {
                // The group's subsidiary abroad: same core name, other legal form.
                let mut org = base.org.clone();
                org.country = pick_country(rng);
                org.legal =
                    rng.random_range(0..crate::data::orgs::legal_forms(org.country.code).len());
                self.supplier(org, rng)
            };
            out.push(r);
        }
        out.insert(0, base);
    }

    fn render(
        &self,
        e: &Supplier,
        sys: &SystemProfile,
        rates: &CorruptionRates,
        dup: bool,
        rng: &mut ChaCha8Rng,
        row: &mut [Option<String>],
    ) {
        let latest = |n: usize, rng: &mut ChaCha8Rng| {
            if n > 1 && rng.random_bool(if dup { 0.7 } else { 0.5 }) {
                n - 1
            } else {
                0
            }
        };
        row[0] = Some(e.org.render(sys, rates, rng));
        // Purchasing (ERP) keeps tax and bank data; other systems only sometimes.
        let erp = sys.name.as_str() == "ERP";
        row[1] = rng
            .random_bool(if erp { 0.9 } else { 0.45 })
            .then(|| id_slip(&ids::render_vat(&e.vat, rng), rates, rng));
        row[2] = rng
            .random_bool(if erp { 0.5 } else { 0.35 })
            .then(|| id_slip(&ids::render_duns(&e.duns, rng), rates, rng));
        let a = render_address(
            &e.addresses[latest(e.addresses.len(), rng)],
            sys,
            rates,
            rng,
        );
        row[3] = Some(a.street);
        row[4] = a.house_number;
        row[5] = Some(a.city);
        row[6] = Some(a.postcode);
        row[7] = Some(a.region);
        row[8] = Some(a.country);
        row[9] = Some(e.emails[latest(e.emails.len(), rng)].clone());
        row[10] =
            Some(e.phones[latest(e.phones.len(), rng)].render(e.org.country, sys, rates, rng));
        row[11] = Some(website(&e.web, rng));
        row[12] = rng.random_bool(if erp { 0.85 } else { 0.15 }).then(|| {
            id_slip(
                &ids::render_iban(&e.ibans[latest(e.ibans.len(), rng)], rng),
                rates,
                rng,
            )
        });
        for v in row.iter_mut() {
            if v.is_some() && rng.random_bool(rates.missing) {
                *v = None;
            }
        }
    }
}

fn website(domain: &str, rng: &mut impl Rng) -> String {
    match rng.random_range(0..6) {
        0 => format!("https://www.{domain}/"),
        1 => format!("http://{domain}"),
        2 => domain.to_string(),
        3 => format!("WWW.{}", domain.to_uppercase()),
        _ => format!("www.{domain}"),
    }
}
