//! Seed inputs: rows as `mdm generate` writes them (names with diacritics, several phone
//! and date habits, legal forms), in each input format, and the shipped rules files.

use crate::mutate::Rng;
use mdm_core::{AttrType, DomainRules};

/// A realistic raw value of a type, in one of the habits sources have.
pub fn value_for(ty: AttrType, rng: &mut Rng) -> String {
    let pick = |rng: &mut Rng, xs: &[&str]| xs[rng.below(xs.len())].to_string();
    match ty {
        AttrType::PersonName => pick(
            rng,
            &[
                "Anna",
                "Jürgen",
                "Dr. Seán O'Brien Jr.",
                "Zoë",
                "Marie-Claire",
                "Bob",
                "Robert",
                "Müller",
                "van der Berg",
                "Nguyễn Văn An",
                "Smith-Jones",
                "de la Cruz",
                "Schmidt, Anna",
                "MR JOHN SMITH III",
            ],
        ),
        AttrType::OrganizationName => pick(
            rng,
            &[
                "Müller & Söhne GmbH & Co. KG",
                "ACME Inc.",
                "Société Générale S.A.",
                "Foo Ltd",
                "The Boeing Company",
                "Bayerische Motoren Werke AG",
            ],
        ),
        AttrType::Date => pick(
            rng,
            &[
                "1987-03-09",
                "9 Mar 1987",
                "03/09/1987",
                "31.12.1999",
                "19870309",
                "1. Januar 2001",
            ],
        ),
        AttrType::Gender => pick(rng, &["m", "F", "Frau", "Herr", "male", "x"]),
        AttrType::Email => pick(
            rng,
            &[
                "a10@example.com",
                "<John.Doe@Example.COM>",
                "anna.schmidt+x@mail.de",
                "x@y",
            ],
        ),
        AttrType::Phone => pick(
            rng,
            &[
                "030 / 123 456-0",
                "+49 30 1234560",
                "(212) 555-0100",
                "0049301234560",
                "+1-212-555-0100 ext 5",
            ],
        ),
        AttrType::Street => pick(
            rng,
            &[
                "Hauptstr. 12a",
                "Rue de la Paix 5",
                "10 Downing St",
                "Bahnhofstraße 1-3",
                "c/o Meier, Am Markt 1",
            ],
        ),
        AttrType::HouseNumber => pick(rng, &["12", "12 A", "1-3", "5/7", "7½"]),
        AttrType::City | AttrType::Region => pick(
            rng,
            &[
                "Berlin",
                "München",
                "St. Gallen",
                "Frankfurt am Main",
                "Île-de-France",
                "Zürich",
            ],
        ),
        AttrType::Postcode => pick(rng, &["10115", "sw1a 1aa", "D-80331", "1010", "75008"]),
        AttrType::Country => pick(
            rng,
            &[
                "DE",
                "Deutschland",
                "Germany",
                "CH",
                "Namibia",
                "USA",
                "U.K.",
            ],
        ),
        AttrType::Identifier => pick(rng, &["ab-12.3", "K-000123", "123/456"]),
        AttrType::TaxId => pick(rng, &["DE 136 695 976", "ATU13585627", "GB123456789"]),
        AttrType::Gtin => pick(rng, &["4006381333931", "00012345600012", "96385074"]),
        AttrType::Iban => pick(
            rng,
            &["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"],
        ),
        AttrType::Duns => pick(rng, &["15-048-3782", "150483782"]),
        AttrType::Url => pick(
            rng,
            &[
                "https://WWW.Acme.com/About/",
                "acme.de",
                "http://xn--mller-kva.de/",
            ],
        ),
        AttrType::Number | AttrType::Money => pick(
            rng,
            &[
                "1.234,50",
                "EUR 1.234,50",
                "1,234",
                "12",
                "-0.5",
                "1e3",
                "$ 99.99",
            ],
        ),
        AttrType::Currency => pick(rng, &["€", "EUR", "usd", "Fr."]),
        AttrType::Text | AttrType::Code => pick(
            rng,
            &[
                "Größe XL",
                "Hinterhaus",
                "500 g",
                "2 x 1.5 l",
                "Ø 12 mm",
                "1/2\" thread",
            ],
        ),
    }
}

/// One generated record: `source_id` plus most of the domain's attributes.
fn record(rules: &DomainRules, rng: &mut Rng, i: usize) -> Vec<(String, String)> {
    let mut r = vec![("source_id".to_string(), format!("ID{i}"))];
    for a in &rules.attributes {
        let v = if rng.one_in(4) {
            String::new()
        } else {
            value_for(a.ty, rng)
        };
        r.push((a.name.clone(), v));
    }
    r
}

fn csv_field(v: &str, delimiter: u8) -> String {
    let d = delimiter as char;
    if v.contains(['"', '\n', '\r', d]) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

pub fn csv(rules: &DomainRules, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (delimiter, eol, bom) in [
        (b',', "\n", false),
        (b';', "\r\n", true),
        (b'\t', "\n", false),
        (b'|', "\r\n", false),
    ] {
        let rows: Vec<_> = (0..12).map(|i| record(rules, rng, i)).collect();
        let sep = (delimiter as char).to_string();
        let mut text = String::from(if bom { "\u{feff}" } else { "" });
        text += &rows[0]
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join(&sep);
        text += eol;
        for r in &rows {
            let line: Vec<_> = r.iter().map(|(_, v)| csv_field(v, delimiter)).collect();
            text += &line.join(&sep);
            text += eol;
        }
        seeds.push(text.into_bytes());
    }
    // The issue's stray quote, and a quoted field over two lines that fits the header.
    seeds.push(b"source_id,given_name,family_name,email,phone,city\nID9,G9,F9,a9@example.com,,Ulm\nID10,\"Anna,Schmidt,a10@example.com,,Berlin\nID11,G11,F11,a11@example.com,,Ulm\nID12,G12,F12,a12@example.com,,Ulm\n".to_vec());
    seeds.push(
        b"source_id,street,city\r\n1,\"Hauptstr. 1\r\nHinterhaus\",Ulm\r\n2,x,Bonn\r\n".to_vec(),
    );
    seeds
}

fn json_object(r: &[(String, String)]) -> String {
    let obj: serde_json::Map<String, serde_json::Value> = r
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(obj).to_string()
}

pub fn ndjson(rules: &DomainRules, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for eol in ["\n", "\r\n"] {
        let mut text = String::new();
        for i in 0..10 {
            text += &json_object(&record(rules, rng, i));
            text += eol;
        }
        seeds.push(text.into_bytes());
    }
    seeds.push(
        b"{\"source_id\":1,\"n\":2.5e10,\"b\":true,\"x\":null,\"a\":[1,{\"k\":\"v\"}]}\n\n[1]\n"
            .to_vec(),
    );
    seeds
}

pub fn json_array(rules: &DomainRules, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for n in [1, 5, 10] {
        let items: Vec<_> = (0..n)
            .map(|i| json_object(&record(rules, rng, i)))
            .collect();
        seeds.push(format!("[{}]", items.join(",\n")).into_bytes());
    }
    seeds.push(br#"[{"source_id":"1","n":12,"a":[1,2],"o":{"x":null}},"x",3,null,[],{}]"#.to_vec());
    seeds
}

pub fn rules() -> Vec<Vec<u8>> {
    mdm_rules::BUILTIN
        .iter()
        .map(|(_, text)| text.as_bytes().to_vec())
        .collect()
}

pub fn standardize(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for ty in AttrType::ALL {
        for _ in 0..4 {
            seeds.push(value_for(ty, rng).into_bytes());
        }
    }
    seeds
}
