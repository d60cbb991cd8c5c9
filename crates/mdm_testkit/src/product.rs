//! The product domain: branded products (fasteners to shampoo) with GTINs that carry
//! valid check digits, manufacturer part numbers, categories, units, sizes and prices.
//! Each system names them its own way; variants of one model (another size, another
//! thread) are the hard negatives.

use crate::address::skewed_index;
use crate::config::{CorruptionRates, GenConfig};
use crate::corrupt::{self, damage_text};
use crate::customer::id_slip;
use crate::data::products::{Kind, BRANDS, KINDS, PRODUCT_ABBREVIATIONS, UNITS};
use crate::engine::EntityGen;
use crate::ids;
use crate::systems::SystemProfile;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub(crate) const FIELDS: &[&str] = &[
    "name",
    "brand",
    "gtin",
    "sku",
    "manufacturer_part_number",
    "category",
    "unit",
    "package_size",
    "price",
    "currency",
    "description",
];

const LINES: &[&str] = &[
    "Pro",
    "Classic",
    "Eco",
    "Premium",
    "Industrial",
    "Basic",
    "Plus",
    "Expert",
];

#[derive(Debug, Clone)]
pub(crate) struct Product {
    brand: usize,
    kind: usize,
    line: Option<&'static str>,
    variant: usize,
    quality: usize,
    size: usize,
    gtin: String,
    /// The model's series name (`Titan K4X9`): one per model, shared by its variants.
    series: String,
    price: f64,
}

impl Product {
    fn kind(&self) -> &'static Kind {
        &KINDS[self.kind]
    }

    /// The code part of the series name (`K4X9`).
    fn series_code(&self) -> &str {
        self.series.rsplit(' ').next().unwrap_or(&self.series)
    }

    fn mpn(&self) -> String {
        let code = BRANDS[self.brand].2;
        format!(
            "{code}-{}-{}{}{}",
            self.series_code(),
            self.variant + 1,
            size_code(self.size),
            self.quality
        )
    }
}

const SERIES_WORDS: &[&str] = &[
    "Titan", "Atlas", "Nova", "Vector", "Orbit", "Zenit", "Falcon", "Polar", "Summit", "Delta",
    "Apex", "Quantum", "Fusion", "Comet", "Vario", "Flex", "Ultra", "Max", "Solid", "Core",
];

/// The series name of model `index`: a word and a four-character code that is a bijection
/// of the index (up to 36^4 models), so two models never share a name and part number.
fn series(index: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = (index * 1_000_003 + 77_777) % 1_679_616; // 36^4; 1_000_003 is coprime to 36
    let mut code = [b'0'; 4];
    for c in code.iter_mut().rev() {
        *c = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    let word = SERIES_WORDS[(index % SERIES_WORDS.len() as u64) as usize];
    format!("{word} {}", String::from_utf8_lossy(&code))
}

/// How much more a bigger package costs than the smallest (bulk is cheaper per unit).
fn size_factor(k: &Kind, size: usize) -> f64 {
    (k.sizes[size].0 / k.sizes[0].0).powf(0.85)
}

fn size_code(size: usize) -> char {
    (b'A' + size as u8) as char
}

pub(crate) struct ProductGen {
    related_rate: f64,
}

impl ProductGen {
    pub fn new(cfg: &GenConfig) -> Self {
        Self {
            related_rate: cfg.related_rate,
        }
    }

    /// The GTIN of entity `index`: the brand's GS1 prefix and an item reference that is
    /// a bijection of the index (7 is coprime to 10), so no two of a million products
    /// share one.
    fn gtin(brand: usize, index: u64) -> String {
        let item = (index * 7 + 13) % 1_000_000;
        let prefix = &BRANDS[brand].1[..6];
        let body = format!("{prefix}{item:06}");
        format!("{body}{}", ids::gtin_check_digit(&body))
    }

    fn product(&self, index: u64, rng: &mut impl Rng) -> Product {
        let brand = skewed_index(BRANDS.len(), rng);
        let kind = rng.random_range(0..KINDS.len());
        let k = &KINDS[kind];
        let size = rng.random_range(0..k.sizes.len());
        let price = k.price * size_factor(k, size) * rng.random_range(0.7..1.6);
        Product {
            brand,
            kind,
            line: rng
                .random_bool(0.5)
                .then(|| *LINES.choose(rng).expect("lines")),
            variant: rng.random_range(0..k.variants.len()),
            quality: rng.random_range(0..k.qualities.len()),
            size,
            gtin: Self::gtin(brand, index),
            series: series(index),
            price: (price * 100.0).round() / 100.0,
        }
    }

    /// Another variant of the same model: other size, thread, colour or grade.
    fn variant_of(&self, p: &Product, index: u64, rng: &mut impl Rng) -> Product {
        let k = p.kind();
        let mut v = p.clone();
        loop {
            match rng.random_range(0..3) {
                0 => v.variant = rng.random_range(0..k.variants.len()),
                1 => v.size = rng.random_range(0..k.sizes.len()),
                _ => v.quality = rng.random_range(0..k.qualities.len()),
            }
            if (v.variant, v.size, v.quality) != (p.variant, p.size, p.quality) {
                break;
            }
            if k.variants.len() == 1 && k.sizes.len() == 1 && k.qualities.len() == 1 {
                break;
            }
        }
        v.gtin = Self::gtin(p.brand, index);
        let rescale = size_factor(k, v.size) / size_factor(k, p.size);
        v.price = (p.price * rescale * rng.random_range(0.9..1.2) * 100.0).round() / 100.0;
        v
    }
}

impl EntityGen for ProductGen {
    type Entity = Product;

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn next_group(&self, rng: &mut ChaCha8Rng, first_index: u64, out: &mut Vec<Product>) {
        let base = self.product(first_index, rng);
        let relatives = if rng.random_bool(self.related_rate) {
            rng.random_range(1..=3)
        } else {
            0
        };
        for i in 0..relatives {
            // A catalogue lists each variant once: retry until it differs from its siblings.
            let mut v = self.variant_of(&base, first_index + 1 + i, rng);
            for _ in 0..8 {
                let key = |p: &Product| (p.variant, p.size, p.quality);
                if out.iter().all(|o| key(o) != key(&v)) {
                    break;
                }
                v = self.variant_of(&base, first_index + 1 + i, rng);
            }
            out.push(v);
        }
        out.insert(0, base);
    }

    fn render(
        &self,
        p: &Product,
        sys: &SystemProfile,
        rates: &CorruptionRates,
        _dup: bool,
        rng: &mut ChaCha8Rng,
        row: &mut [Option<String>],
    ) {
        let k = p.kind();
        let brand = BRANDS[p.brand].0;
        let size = size_text(k.sizes[p.size], rng);
        row[0] = Some(name(p, sys, rates, &size, rng));
        row[1] = Some(brand_text(brand, sys, rates, rng));
        row[2] = gtin_text(&p.gtin, sys, rates, rng);
        row[3] = Some(sku(p, sys, rng));
        row[4] = rng.random_bool(0.8).then(|| mpn_text(&p.mpn(), rates, rng));
        row[5] = Some(match sys.name.as_str() {
            "ERP" => k.category.0.to_string(),
            "MES" => k.category.2.to_uppercase(),
            _ => k.category.1.to_string(),
        });
        let units = UNITS[k.unit];
        row[6] = Some(match sys.name.as_str() {
            "ERP" => units[0].to_string(),
            _ => units.choose(rng).expect("units").to_string(),
        });
        row[7] = Some(size.clone());
        let (price, currency) = price(p.price, p.brand, sys, rng);
        row[8] = price;
        row[9] = currency;
        row[10] = rng.random_bool(0.6).then(|| description(p, &size, rng));
        for v in row.iter_mut() {
            if v.is_some() && rng.random_bool(rates.missing) {
                *v = None;
            }
        }
    }
}

/// The product name as this system composes it: word order, brand in or out,
/// abbreviations, field-length truncation, case, typos.
fn name(
    p: &Product,
    sys: &SystemProfile,
    rates: &CorruptionRates,
    size: &str,
    rng: &mut impl Rng,
) -> String {
    let k = p.kind();
    let brand = BRANDS[p.brand].0;
    let (variant, quality) = (k.variants[p.variant], k.qualities[p.quality]);
    let line = p.line.unwrap_or("");
    let series = if rng.random_bool(0.5) {
        p.series.as_str()
    } else {
        p.series_code()
    };
    let mut words: Vec<&str> = match (sys.name.as_str(), rng.random_range(0..5)) {
        (_, 0) => vec![k.noun, variant, brand, series, quality, size],
        ("ERP", _) => vec![brand, series, k.noun, variant, quality, size],
        ("MES", _) => vec![k.noun, series, variant, quality, line],
        _ => vec![brand, line, series, k.noun, quality, variant, size],
    };
    words.retain(|w| !w.is_empty());
    if rng.random_bool(rates.swapped_names * 5.0) {
        let i = rng.random_range(0..words.len());
        let j = rng.random_range(0..words.len());
        words.swap(i, j);
    }
    if words.len() > 3 && rng.random_bool(rates.missing * 2.0) {
        words.remove(rng.random_range(1..words.len())); // a word left out
    }
    let mut n = words.join(" ");
    let abbreviate = if sys.abbreviates {
        0.7
    } else {
        rates.abbreviation
    };
    if rng.random_bool(abbreviate) {
        n = corrupt::abbreviate(&n, PRODUCT_ABBREVIATIONS);
        if rng.random_bool(0.5) {
            n = corrupt::abbreviate(&n, PRODUCT_ABBREVIATIONS);
        }
    }
    n = damage_text(&n, sys, rates, rng);
    // Old systems have fixed-width name fields.
    let limit = if sys.name.as_str() == "MES" { 30 } else { 40 };
    if n.chars().count() > limit {
        n = n
            .chars()
            .take(limit)
            .collect::<String>()
            .trim_end()
            .to_string();
    }
    n
}

fn brand_text(
    brand: &str,
    sys: &SystemProfile,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> String {
    let b = match rng.random_range(0..10) {
        0 => format!("{brand} GmbH"),
        1 => brand.to_uppercase(),
        _ => brand.to_string(),
    };
    damage_text(&b, sys, rates, rng)
}

/// GTINs as found: 13 digits, padded to 14, UPC without the leading zero, a mistyped
/// digit (invalid check digit), spreadsheet scientific notation, or missing.
fn gtin_text(
    g: &str,
    sys: &SystemProfile,
    rates: &CorruptionRates,
    rng: &mut impl Rng,
) -> Option<String> {
    let keep = match sys.name.as_str() {
        "ERP" => 0.95,
        "MES" => 0.45,
        _ => 0.75,
    };
    if !rng.random_bool(keep) {
        return None;
    }
    let v = match rng.random_range(0..20) {
        0..=2 => format!("0{g}"),
        3 | 4 if g.starts_with('0') => g[1..].to_string(),
        5 if rng.random_bool(0.2) => format!("{}.{}E+12", &g[..1], &g[1..6]),
        6 => format!("{} {} {}", &g[..1], &g[1..7], &g[7..]),
        _ => g.to_string(),
    };
    Some(id_slip(&v, rates, rng))
}

fn sku(p: &Product, sys: &SystemProfile, rng: &mut impl Rng) -> String {
    // Each system numbers its own materials; some copy the maker's part number.
    if rng.random_bool(0.08) {
        return p.mpn();
    }
    match sys.name.as_str() {
        "ERP" => format!("ART-{:06}", rng.random_range(0..1_000_000)),
        "MES" => format!("MAT{:08}", rng.random_range(0..100_000_000)),
        "CRM" => format!("P-{}", rng.random_range(10_000..999_999)),
        s => format!(
            "{}-{:07}",
            &s[..s.len().min(3)],
            rng.random_range(0..10_000_000)
        ),
    }
}

fn mpn_text(mpn: &str, rates: &CorruptionRates, rng: &mut impl Rng) -> String {
    let v = match rng.random_range(0..6) {
        0 => mpn.replace('-', ""),
        1 => mpn.replace('-', " "),
        2 => mpn.to_lowercase(),
        3 => mpn.replace('-', "."),
        _ => mpn.to_string(),
    };
    id_slip(&v, rates, rng)
}

/// A package size in one of the ways people write it (`500 ml`, `0,5 L`, `500ML`).
fn size_text((amount, unit): (f64, &str), rng: &mut impl Rng) -> String {
    let num = |x: f64| {
        if x.fract() == 0.0 {
            format!("{}", x as i64)
        } else {
            format!("{x}")
        }
    };
    let comma = |s: String| s.replace('.', ",");
    let mut forms = vec![
        format!("{} {unit}", num(amount)),
        format!("{}{unit}", num(amount)),
    ];
    match unit {
        "ml" => {
            forms.push(comma(format!("{} l", num(amount / 1000.0))));
            forms.push(format!("{} ML", num(amount)));
        }
        "l" => {
            forms.push(format!("{} ml", num(amount * 1000.0)));
            forms.push(comma(format!("{} L", num(amount))));
            forms.push(format!("{} ltr", num(amount)));
        }
        "g" => forms.push(format!("{} kg", num(amount / 1000.0))),
        "kg" => forms.push(format!("{} g", num(amount * 1000.0))),
        "pcs" => {
            forms.push(format!("{} St.", num(amount)));
            forms.push(format!("{} Stk", num(amount)));
            forms.push(format!("VE {}", num(amount)));
        }
        "m" => forms.push(format!("{} mtr", num(amount))),
        "pair" => forms.push(format!("{} Paar", num(amount))),
        "rolls" => forms.push(format!("{} Rollen", num(amount))),
        _ => {}
    }
    forms.choose(rng).expect("forms").clone()
}

/// Price and currency: systems keep net or list price, in EUR or USD, with a dot or a
/// decimal comma; MES keeps none.
fn price(
    eur: f64,
    brand: usize,
    sys: &SystemProfile,
    rng: &mut impl Rng,
) -> (Option<String>, Option<String>) {
    if sys.name.as_str() == "MES" {
        return (None, None);
    }
    let list = if rng.random_bool(0.5) {
        rng.random_range(1.0..1.15)
    } else {
        1.0
    };
    let usd = BRANDS[brand].1.starts_with("00") && rng.random_bool(0.6);
    let (amount, cur) = if usd {
        (eur * 1.08 * list, "USD")
    } else {
        (eur * list, "EUR")
    };
    let mut text = format!("{amount:.2}");
    if rng.random_bool(0.2) {
        text = text.replace('.', ",");
    }
    let cur = match rng.random_range(0..10) {
        0 if cur == "EUR" => "€",
        1 => {
            if cur == "EUR" {
                "eur"
            } else {
                "usd"
            }
        }
        2 if cur == "USD" => "$",
        _ => cur,
    };
    (Some(text), Some(cur.to_string()))
}

fn description(p: &Product, size: &str, rng: &mut impl Rng) -> String {
    let k = p.kind();
    let mut parts = vec![
        format!("{} {}", k.noun, k.variants[p.variant]),
        k.qualities[p.quality].to_string(),
        size.to_string(),
    ];
    if rng.random_bool(0.5) {
        parts.push(format!("Brand: {}", BRANDS[p.brand].0));
    }
    parts.shuffle(rng);
    parts.join(", ")
}
