//! Times `mdm_core::standardize::clean` per attribute type over ~1M generated messy raw
//! values each, on one thread, and prints ns/value.
//!
//! `cargo run --release -p mdm_benches --bin standardize_bench [-- VALUES_PER_TYPE]`

use mdm_core::standardize::{clean, Cleaned, StdContext};
use mdm_core::AttrType;
use std::hint::black_box;
use std::time::Instant;

/// xorshift64*: deterministic, dependency-free variety for the generated values.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

const GIVEN: &[&str] = &[
    "John",
    "MARIA",
    "Jürgen",
    "Seán",
    "bob",
    "Élodie",
    "Anna-Lena",
    "Wojciech",
    "Liz",
    "José María",
];
const FAMILY: &[&str] = &[
    "Smith",
    "Müller-Lüdenscheidt",
    "O'Brien",
    "van der Berg",
    "GARCÍA",
    "Nguyễn",
    "Schmidt",
    "Kowalski",
];
const TITLE: &[&str] = &["", "", "", "Dr. ", "Mr ", "Frau ", "Prof. Dr. "];
const ORG: &[&str] = &[
    "Müller & Söhne",
    "ACME",
    "Siemens",
    "Nestlé",
    "Procter&Gamble",
    "Bäckerei Schmidt",
    "A.P. Møller - Mærsk",
];
const FORM: &[&str] = &[
    "GmbH",
    "GmbH & Co. KG",
    "AG",
    "Inc.",
    "Ltd",
    "S.A.",
    "",
    "S.p.A.",
    "B.V.",
    "LLC",
];
const STREET: &[&str] = &[
    "Hauptstr.",
    "Main St",
    "Berliner Straße",
    "Baker Street",
    "Rue de Rivoli",
    "5th Ave",
    "Kaiser-Wilhelm-Str.",
];
const CITY: &[&str] = &[
    "St. Gallen",
    "FRANKFURT am Main",
    "München",
    "Zürich",
    "New York",
    "Saint-Étienne",
];
const COUNTRY: &[&str] = &[
    "DE",
    "Deutschland",
    "Germany",
    "CH",
    "Schweiz",
    "USA",
    "United Kingdom",
    "FRA",
    "Österreich",
    "España",
];
const MONTH: &[&str] = &["Jan", "Mar", "March", "Okt", "December", "mai"];
const TEXT: &[&str] = &[
    "Schraube M8 x 40, verzinkt!",
    "Blue cotton T-Shirt (XL)",
    "Café crème — 250 g",
    "HDMI-Kabel 2m",
];
const GENDER: &[&str] = &["m", "F", "male", "Frau", "Herr", "w", "divers", "Mrs"];
const CURRENCY: &[&str] = &["EUR", "€", "usd", "$", "CHF", "£", "Euro"];

fn raw_value(ty: AttrType, r: &mut Rng) -> String {
    match ty {
        AttrType::PersonName => format!("{}{} {}", r.pick(TITLE), r.pick(GIVEN), r.pick(FAMILY)),
        AttrType::OrganizationName => format!("{} {} {}", r.pick(ORG), r.digits(2), r.pick(FORM)),
        AttrType::Date => match r.next() % 4 {
            0 => format!("19{}-0{}-1{}", r.digits(2), 1 + r.next() % 9, r.digits(1)),
            1 => format!("1{}.0{}.19{}", r.digits(1), 1 + r.next() % 9, r.digits(2)),
            2 => format!("1{} {} 19{}", r.digits(1), r.pick(MONTH), r.digits(2)),
            _ => format!("19{}0{}1{}", r.digits(2), 1 + r.next() % 9, r.digits(1)),
        },
        AttrType::Gender => r.pick(GENDER).to_string(),
        AttrType::Email => format!(
            " {}.{}{}@Example-{}.COM",
            r.pick(GIVEN),
            r.pick(FAMILY),
            r.digits(2),
            r.digits(1)
        ),
        AttrType::Phone => match r.next() % 3 {
            0 => format!("+49 (0)30 {} {}", r.digits(3), r.digits(4)),
            1 => format!("030/{}-{}", r.digits(4), r.digits(3)),
            _ => format!("0049 89 {} {} x{}", r.digits(4), r.digits(3), r.digits(2)),
        },
        AttrType::Street => format!(
            "{} {}{}",
            r.pick(STREET),
            1 + r.next() % 200,
            if r.next().is_multiple_of(4) { " a" } else { "" }
        ),
        AttrType::HouseNumber => format!("{} {}", 1 + r.next() % 200, r.pick(&["", "A", "b"])),
        AttrType::City | AttrType::Region => r.pick(CITY).to_string(),
        AttrType::Postcode => format!("D-{}", r.digits(5)),
        AttrType::Country => r.pick(COUNTRY).to_string(),
        AttrType::Identifier => format!("ab-{}.{}/x", r.digits(4), r.digits(3)),
        AttrType::TaxId => format!("DE {} {} {}", r.digits(3), r.digits(3), r.digits(3)),
        AttrType::Gtin => format!("400{}", r.digits(10)),
        AttrType::Iban => format!(
            "DE{} {} {} {} {} {}",
            r.digits(2),
            r.digits(4),
            r.digits(4),
            r.digits(4),
            r.digits(4),
            r.digits(2)
        ),
        AttrType::Duns => format!("{}-{}-{}", r.digits(2), r.digits(3), r.digits(4)),
        AttrType::Url => format!("https://WWW.Acme-{}.com/About/", r.digits(3)),
        AttrType::Text => r.pick(TEXT).to_string(),
        AttrType::Number | AttrType::Money => {
            format!("EUR {}.{},{}", 1 + r.next() % 99, r.digits(3), r.digits(2))
        }
        AttrType::Currency => r.pick(CURRENCY).to_string(),
        AttrType::Code => r.pick(TEXT).to_string(),
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let ctx = StdContext::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    println!("standardize::clean, {n} generated values per type, 1 thread");
    println!(
        "{:<18} {:>9} {:>8} {:>8}",
        "type", "ns/value", "valid%", "invalid%"
    );
    let mut total_ns = 0.0;
    for ty in AttrType::ALL {
        let values: Vec<String> = (0..n).map(|_| raw_value(ty, &mut rng)).collect();
        let (mut valid, mut invalid) = (0usize, 0usize);
        let start = Instant::now();
        for v in &values {
            match black_box(clean(ty, black_box(v), &ctx)) {
                Cleaned::Valid(_) => valid += 1,
                Cleaned::Invalid { .. } => invalid += 1,
                Cleaned::Missing => {}
            }
        }
        let ns = start.elapsed().as_nanos() as f64 / n as f64;
        total_ns += ns;
        println!(
            "{:<18} {:>9.0} {:>7.1}% {:>7.1}%",
            ty.name(),
            ns,
            100.0 * valid as f64 / n as f64,
            100.0 * invalid as f64 / n as f64
        );
    }
    println!(
        "mean over {} types: {:.0} ns/value",
        AttrType::ALL.len(),
        total_ns / AttrType::ALL.len() as f64
    );
}
