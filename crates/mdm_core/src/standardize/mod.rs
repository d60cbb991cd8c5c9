//! Stage 1 of the pipeline (after ingest, before blocking): clean and validate raw values
//! per attribute type, so that the comparators see one canonical form per real-world value.
//!
//! [`clean`] turns a raw value into [`Cleaned::Missing`], [`Cleaned::Valid`] (the canonical
//! form) or [`Cleaned::Invalid`] (a data-quality finding, never a silent drop).
//! [`basic_check`] is the much weaker test ingest applies before staging a row.
//!
//! # Canonical forms (a contract: the comparators rely on them)
//!
//! | type | `Valid` form | example |
//! |---|---|---|
//! | any | `Missing` for empty/whitespace and NULL-like markers (`null`, `n/a`, `na`, `none`, `nil`, `-`, `--`, `?`, `unknown`, `#n/a`, `(blank)`, ...), also when a folded canonical form is one (`N.A.!`); so a raw `NA` country is missing, while `Namibia` is `NA` | |
//! | `person_name` | ASCII-folded lower-case words; apostrophes joined, other punctuation a space; titles and suffixes (mr, dr, prof, jr, iii, phd, ...) removed; nicknames kept (see [`canonical_given_name`]) | `Dr. Seán O'Brien Jr.` -> `sean obrien` |
//! | `organization_name` | folded words, `&` -> `and`, legal forms (`data/legal_forms.txt`) removed from the end; the folded name if nothing is left | `Müller & Söhne GmbH & Co. KG` -> `muller and sohne` |
//! | `email` | trimmed lower-case `local@domain.tld` | `<John.Doe@Example.COM>` -> `john.doe@example.com` |
//! | `phone` | E.164, national numbers in the context's default country | `030 / 123 456-0` -> `+49301234560` |
//! | `date` | `YYYY-MM-DD`, year in 1850..=2100 | `9 Mar 1987` -> `1987-03-09` |
//! | `gender` | `m`, `f` or `x` | `Frau` -> `f` |
//! | `street` | folded words, abbreviations expanded, house number removed | `Hauptstr. 12a` -> `hauptstrasse` |
//! | `house_number` | lower-case, no spaces | `12 A` -> `12a` |
//! | `city`, `region`, `text` | folded words | `St. Gallen` -> `st gallen` |
//! | `postcode` | upper-case ASCII alphanumerics; in a stated country with a known format ([`postcode_form`]) a country prefix dropped, leading zeros a spreadsheet dropped restored, and a code of another shape invalid | `sw1a 1aa` -> `SW1A1AA`; DE `1067` -> `01067` |
//! | `country` | ISO 3166-1 alpha-2 | `Deutschland` -> `DE` |
//! | `identifier` | upper-case, separators (space - . / _) removed | `ab-12.3` -> `AB123` |
//! | `tax_id` | upper-case alphanumerics; EU VAT shapes checked | `DE 136 695 976` -> `DE136695976` |
//! | `gtin` | 14 digits, zero-padded, check digit valid | `4006381333931` -> `04006381333931` |
//! | `iban` | upper-case, no spaces, mod-97 valid | |
//! | `duns` | 9 digits | `15-048-3782` -> `150483782` |
//! | `url` | lower-case host without scheme and `www.`, then the path without trailing `/` | `https://WWW.Acme.com/About/` -> `acme.com/About` |
//! | `number`, `money` | plain decimal, no grouping, no trailing zeros | `EUR 1.234,50` -> `1234.5` |
//! | `currency` | ISO 4217 code | `€` -> `EUR` |
//! | `code` | folded lower-case, whitespace collapsed, punctuation kept | `Größe XL` -> `grosse xl` |
//!
//! Tables (`data/*.csv`, `data/*.txt`) are compiled in with `include_str!` and parsed once
//! into `LazyLock` statics. No regex anywhere: this runs for every value of every record.

pub(crate) mod address;
mod country;
pub(crate) mod date;
pub(crate) mod email;
pub(crate) mod ids;
mod names;
mod nicknames;
mod numbers;
pub(crate) mod organization;
pub(crate) mod phone;
pub mod quantity;
mod text;

#[cfg(test)]
mod properties;

use crate::model::AttrType;
use std::collections::BTreeMap;

pub use address::{clean_house_number, postcode_form, split_house_number};
pub use country::{country_calling_code, country_code};
pub use date::parse_date;
pub use email::email_parts;
pub use names::{clean_gender, initials};
pub use nicknames::{canonical_given, canonical_given_name};
pub use organization::split_legal_form;
pub use text::fold_words;

/// Settings that standardization needs from outside (from config, passed in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdContext {
    /// ISO 3166-1 alpha-2 country assumed for phones and numbers without one.
    pub default_country: String,
    /// How to read an ambiguous `03/04/1987`.
    pub date_order: DateOrder,
    /// A source system's configured country (`[systems.CRM] country = "US"`) by system
    /// name: it comes before `default_country` for that system's records.
    pub system_countries: BTreeMap<String, String>,
    /// Whether the data states `default_country` for the record being read (its own
    /// country, its system's configured one, or its cluster's) rather than it being the
    /// hub-wide default. Postcodes are checked against, and padded for, a stated country
    /// only: read against a guess, every foreign postcode of a record without a country
    /// would be rejected, and an Austrian "1010" padded to a German "01010".
    pub country_stated: bool,
}

impl Default for StdContext {
    fn default() -> Self {
        Self {
            default_country: "DE".into(),
            date_order: DateOrder::DayFirst,
            system_countries: BTreeMap::new(),
            country_stated: false,
        }
    }
}

impl StdContext {
    /// The country the data states for the record being read, if it states one
    /// ([`StdContext::country_stated`]).
    pub fn stated_country(&self) -> Option<&str> {
        self.country_stated.then_some(self.default_country.as_str())
    }

    /// The context for one source system's records: its configured country, if it has one,
    /// as the default (and stated) country.
    pub fn for_system(&self, system: &str) -> StdContext {
        match self.system_countries.get(system) {
            Some(c) => StdContext {
                default_country: c.clone(),
                country_stated: true,
                ..self.clone()
            },
            None => self.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    DayFirst,
    MonthFirst,
}

/// The outcome of cleaning one raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleaned {
    /// Empty, or a NULL-like marker (`NULL`, `n/a`, `-`, ...).
    Missing,
    /// The canonical form for comparison.
    Valid(String),
    /// Present but failed validation: a data-quality finding, never a silent drop.
    Invalid { reason: String },
}

impl Cleaned {
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Cleaned::Invalid {
            reason: reason.into(),
        }
    }

    /// The canonical value, if valid.
    pub fn valid(&self) -> Option<&str> {
        match self {
            Cleaned::Valid(s) => Some(s),
            _ => None,
        }
    }
}

/// Values longer than this are refused at ingest.
pub const MAX_VALUE_CHARS: usize = 4000;

/// Markers that mean "no value", compared case-insensitively after trimming.
const MISSING_MARKERS: &[&str] = &[
    "null", "nul", "n/a", "na", "n.a.", "none", "nil", "nan", "-", "--", "---", "?", "??",
    "unknown", "#n/a", "#na", "(blank)", "(null)", "<null>", "(none)", "(empty)",
];

/// True for empty, whitespace-only and NULL-like values.
pub fn is_missing(raw: &str) -> bool {
    let t = raw.trim();
    t.is_empty() || (t.len() <= 8 && MISSING_MARKERS.iter().any(|m| m.eq_ignore_ascii_case(t)))
}

/// Clean one raw value of the given type.
pub fn clean(ty: AttrType, raw: &str, ctx: &StdContext) -> Cleaned {
    if is_missing(raw) {
        return Cleaned::Missing;
    }
    let raw = raw.trim();
    let cleaned = match ty {
        AttrType::PersonName => names::clean_person_name(raw),
        AttrType::OrganizationName => organization::clean_organization_name(raw),
        AttrType::Date => date::clean_date(raw, ctx.date_order),
        AttrType::Gender => clean_gender(raw),
        AttrType::Email => email::clean_email(raw),
        AttrType::Phone => phone::clean_phone(raw, &ctx.default_country),
        AttrType::Street => address::clean_street(raw),
        AttrType::HouseNumber => clean_house_number(raw),
        AttrType::City | AttrType::Region | AttrType::Text => non_empty(fold_words(raw)),
        AttrType::Postcode => address::clean_postcode(raw, ctx.stated_country()),
        AttrType::Country => country::clean_country(raw),
        AttrType::Identifier => ids::clean_identifier(raw),
        AttrType::TaxId => ids::clean_tax_id(raw),
        AttrType::Gtin => ids::clean_gtin(raw),
        AttrType::Iban => ids::clean_iban(raw),
        AttrType::Duns => ids::clean_duns(raw),
        AttrType::Url => email::clean_url(raw),
        AttrType::Number | AttrType::Money => numbers::clean_number(raw, &ctx.default_country),
        AttrType::Currency => numbers::clean_currency(raw),
        AttrType::Code => non_empty(text::fold_keep_punctuation(raw)),
    };
    match cleaned {
        // A canonical form that reads as a marker ("NA!" -> "na", ", null" -> tax ID
        // "NULL") is missing too, whatever the type; this also keeps `clean` idempotent
        // on its own output. Not for countries: Namibia is "NA".
        Cleaned::Valid(v) if ty != AttrType::Country && is_missing(&v) => Cleaned::Missing,
        // A country written as a marker in other letters ("ñä", "N.A.") is missing like
        // "na" itself; the name "Namibia" still gives "NA".
        Cleaned::Valid(_) if ty == AttrType::Country && is_missing(&fold_words(raw)) => {
            Cleaned::Missing
        }
        other => other,
    }
}

/// Why a valid canonical value is a filler typed where the real one was unknown (a dummy
/// phone, `noemail@...`, `1900-01-01`), or None for a real value. Matching counts such
/// values as missing and survivorship never publishes them.
pub fn placeholder_reason(ty: AttrType, canonical: &str) -> Option<&'static str> {
    match ty {
        AttrType::Phone => {
            let digits: String = canonical.chars().filter(char::is_ascii_digit).collect();
            phone::is_placeholder_phone(&digits).then_some("placeholder phone number")
        }
        AttrType::Email => email::is_placeholder_email(&canonical.to_lowercase())
            .then_some("placeholder e-mail address"),
        AttrType::Date => date::yyyymmdd(canonical)
            .is_some_and(date::is_placeholder_date)
            .then_some("placeholder date"),
        _ => None,
    }
}

/// Valid unless folding left nothing (a value of punctuation only).
fn non_empty(folded: String) -> Cleaned {
    if folded.is_empty() {
        Cleaned::invalid("no letters or digits")
    } else {
        Cleaned::Valid(folded)
    }
}

/// The structural check ingest applies before staging a value: only a value that cannot be
/// of its type at all fails (a date that is no date, a number that is no number, control
/// characters, over [`MAX_VALUE_CHARS`] characters). Softer problems (a GTIN check digit,
/// an unknown phone prefix) are findings at standardization.
pub fn basic_check(ty: AttrType, raw: &str) -> Result<(), String> {
    if raw.chars().any(|c| c.is_control() && c != '\t') {
        return Err("contains control characters".into());
    }
    if raw.len() > MAX_VALUE_CHARS && raw.chars().count() > MAX_VALUE_CHARS {
        return Err(format!("longer than {MAX_VALUE_CHARS} characters"));
    }
    if is_missing(raw) {
        return Ok(());
    }
    match ty {
        AttrType::Date => {
            if parse_date(raw, DateOrder::DayFirst).is_some()
                || parse_date(raw, DateOrder::MonthFirst).is_some()
            {
                Ok(())
            } else {
                Err(date::why_not_a_date(raw))
            }
        }
        AttrType::Number | AttrType::Money => {
            numbers::parse_decimal(raw, numbers::DecimalMark::Point)
                .map(|_| ())
                .ok_or_else(|| "not a number".into())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> StdContext {
        StdContext::default()
    }

    #[test]
    fn missing_markers() {
        for raw in [
            "", "   ", "NULL", "null", "n/a", "N/A", "na", "None", "nil", "-", "--", "?",
            "Unknown", "#N/A", "(blank)",
        ] {
            for ty in AttrType::ALL {
                assert_eq!(clean(ty, raw, &ctx()), Cleaned::Missing, "{ty} {raw:?}");
            }
        }
    }

    #[test]
    fn canonical_form_that_is_a_marker_is_missing() {
        assert_eq!(clean(AttrType::Text, "NA!", &ctx()), Cleaned::Missing);
        assert_eq!(
            clean(AttrType::PersonName, "Unknown.", &ctx()),
            Cleaned::Missing
        );
        for marker in ["ñä", "N.A.", "na"] {
            assert_eq!(clean(AttrType::Country, marker, &ctx()), Cleaned::Missing);
        }
        assert_eq!(
            clean(AttrType::Country, "Namibia", &ctx()),
            Cleaned::Valid("NA".into())
        );
    }

    /// Found by fuzzing (benches/fuzz): canonical forms that were not fixed points.
    #[test]
    fn fuzz_found_canonical_forms_clean_to_themselves() {
        let c = ctx();
        // A tax ID whose canonical form is a marker is missing, not "NULL".
        let tax = ",\r\n\rnull\n\r\n";
        assert_eq!(clean(AttrType::TaxId, tax, &c), Cleaned::Missing);
        // "+60 00 ..." gave "+6001..." (one trunk zero stripped), which cleaned to "+601...".
        let raw = "0060001234\u{fffd}\u{fffd}5600\u{663}01";
        let once = clean(AttrType::Phone, raw, &c);
        assert_eq!(once, Cleaned::Valid("+601234560001".into()));
        assert_eq!(clean(AttrType::Phone, "+601234560001", &c), once);
        assert_eq!(
            clean(AttrType::Phone, "+49 0030 1234560", &c),
            Cleaned::Valid("+49301234560".into())
        );
    }

    #[test]
    fn basic_check_fails_only_on_impossible_values() {
        assert!(basic_check(AttrType::Date, "1987-03-09").is_ok());
        assert!(basic_check(AttrType::Date, "31/31/1987").is_err());
        assert!(basic_check(AttrType::Date, "yesterday").is_err());
        assert!(
            basic_check(AttrType::Date, "1700-01-01").is_ok(),
            "out of range is a finding"
        );
        assert!(basic_check(AttrType::Date, "NULL").is_ok());
        assert!(basic_check(AttrType::Number, "1.234,50").is_ok());
        assert!(basic_check(AttrType::Money, "EUR 12").is_ok());
        assert!(basic_check(AttrType::Number, "twelve").is_err());
        assert!(
            basic_check(AttrType::Gtin, "123").is_ok(),
            "a bad GTIN is a finding"
        );
        assert!(basic_check(AttrType::Text, "a\tb").is_ok());
        assert!(basic_check(AttrType::Text, "a\u{0}b").is_err());
        assert!(basic_check(AttrType::Text, "line\nbreak").is_err());
        assert!(basic_check(AttrType::Text, &"x".repeat(4001)).is_err());
        assert!(basic_check(AttrType::Text, &"x".repeat(4000)).is_ok());
    }

    /// The examples of the module table, through `clean`, so the doc cannot drift.
    #[test]
    fn module_table_examples() {
        let c = ctx();
        let cases = [
            (AttrType::PersonName, "Dr. Seán O'Brien Jr.", "sean obrien"),
            (
                AttrType::OrganizationName,
                "Müller & Söhne GmbH & Co. KG",
                "muller and sohne",
            ),
            (
                AttrType::Email,
                "<John.Doe@Example.COM>",
                "john.doe@example.com",
            ),
            (AttrType::Phone, "030 / 123 456-0", "+49301234560"),
            (AttrType::Date, "9 Mar 1987", "1987-03-09"),
            (AttrType::Gender, "Frau", "f"),
            (AttrType::Street, "Hauptstr. 12a", "hauptstrasse"),
            (AttrType::HouseNumber, "12 A", "12a"),
            (AttrType::City, "St. Gallen", "st gallen"),
            (AttrType::Postcode, "sw1a 1aa", "SW1A1AA"),
            (AttrType::Country, "Deutschland", "DE"),
            (AttrType::Identifier, "ab-12.3", "AB123"),
            (AttrType::TaxId, "DE 136 695 976", "DE136695976"),
            (AttrType::Gtin, "4006381333931", "04006381333931"),
            (
                AttrType::Iban,
                "DE89 3704 0044 0532 0130 00",
                "DE89370400440532013000",
            ),
            (AttrType::Duns, "15-048-3782", "150483782"),
            (
                AttrType::Url,
                "https://WWW.Acme.com/About/",
                "acme.com/About",
            ),
            (AttrType::Number, "1.234,50", "1234.5"),
            (AttrType::Money, "EUR 1.234,50", "1234.5"),
            (AttrType::Currency, "€", "EUR"),
            (AttrType::Code, "Größe XL", "grosse xl"),
        ];
        for (ty, raw, want) in cases {
            assert_eq!(
                clean(ty, raw, &c),
                Cleaned::Valid(want.into()),
                "{ty} {raw:?}"
            );
        }
    }

    #[test]
    fn context_drives_phone_and_date_order() {
        let us = StdContext {
            default_country: "US".into(),
            date_order: DateOrder::MonthFirst,
            ..StdContext::default()
        };
        assert_eq!(
            clean(AttrType::Phone, "(212) 555-0100", &us),
            Cleaned::Valid("+12125550100".into())
        );
        assert_eq!(
            clean(AttrType::Date, "03/09/1987", &us),
            Cleaned::Valid("1987-03-09".into())
        );
        assert_eq!(
            clean(AttrType::Date, "03/09/1987", &ctx()),
            Cleaned::Valid("1987-09-03".into())
        );
        assert_eq!(
            clean(AttrType::Number, "1,234", &us),
            Cleaned::Valid("1234".into())
        );
    }

    #[test]
    fn city_region_text_code() {
        let c = ctx();
        assert_eq!(
            clean(AttrType::City, "St. Gallen", &c),
            Cleaned::Valid("st gallen".into())
        );
        assert_eq!(
            clean(AttrType::City, " FRANKFURT  am Main ", &c),
            Cleaned::Valid("frankfurt am main".into())
        );
        assert_eq!(
            clean(AttrType::Region, "Île-de-France", &c),
            Cleaned::Valid("ile de france".into())
        );
        assert_eq!(
            clean(AttrType::Text, "Hello,   Wörld!", &c),
            Cleaned::Valid("hello world".into())
        );
        assert!(matches!(
            clean(AttrType::City, "***", &c),
            Cleaned::Invalid { .. }
        ));
        assert_eq!(
            clean(AttrType::Code, "  Größe  XL ", &c),
            Cleaned::Valid("grosse xl".into())
        );
    }
}
