//! Each source system's habits: how likely an entity is to be in it, how it writes ids,
//! dates, phones and names, which columns it never fills, and how it marks a missing value.
//!
//! ERP, CRM and MES have hand-written profiles; any other system name gets one picked
//! deterministically from its name, so `--systems SAP,SALESFORCE` works too.

use mdm_core::SystemName;
use rand::Rng;

/// How a system writes its own record keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdStyle {
    /// A letter prefix and a zero-padded counter: `C000123`.
    Prefixed(char),
    /// A random UUID-like string.
    Uuid,
    /// A bare number from a counter that does not start at 1.
    Numeric,
}

/// How a system writes a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStyle {
    /// `1987-03-09`
    Iso,
    /// `19870309`
    Compact,
    /// `09/03/1987`
    DaySlash,
    /// `9 Mar 1987`
    DayMonthName,
    /// `09.03.1987`
    DayDot,
}

/// How a system writes a phone number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneStyle {
    /// `+49 30 1234567`
    IntlSpaced,
    /// `+49301234567`
    E164,
    /// `030 1234567` (no country code)
    National,
    /// `0049301234567`
    IntlZeros,
    /// `(030) 123-4567`
    Punctuated,
}

/// How a system keeps person names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// Given and family name in their own columns.
    Split,
    /// Only `full_name`, "Given Family".
    FullOnly,
    /// Only `full_name`, "FAMILY, Given" or upper case.
    FullFamilyFirst,
}

/// One system's habits. Probabilities are per record.
#[derive(Debug, Clone)]
pub struct SystemProfile {
    pub name: SystemName,
    /// Chance that a given entity has a record in this system.
    pub presence: f64,
    pub id_style: IdStyle,
    pub date_style: DateStyle,
    pub phone_style: PhoneStyle,
    pub name_style: NameStyle,
    /// Writes names in upper case.
    pub upper_case: bool,
    /// Writes this instead of an empty value for a missing one (`NULL`, `n/a`).
    pub null_marker: &'static str,
    /// Attributes this system does not record at all (always empty).
    pub never_records: &'static [&'static str],
    /// More attributes it does not record, chosen by the run (`GenConfig::disjoint_attributes`).
    pub also_never: Vec<&'static str>,
    /// Share of a person's records that carry the national ID the person has.
    pub national_id_share: f64,
    /// Keeps ASCII only (folds diacritics always).
    pub ascii_only: bool,
    /// Abbreviates street types and legal forms by habit.
    pub abbreviates: bool,
}

/// Groups of attributes that the disjoint-attributes shape hands out: the n-th system lacks
/// group n (mod 3) and every contact attribute, so any two systems share the names and one
/// group only (one has birth date and national ID, another address and national ID, a third
/// birth date and address). Attributes a domain lacks are simply not there.
const DISJOINT_GROUPS: [&[&str]; 3] = [
    &[
        "street",
        "house_number",
        "address_line2",
        "postcode",
        "city",
        "region",
    ],
    &["birth_date", "founded"],
    &["national_id", "tax_id", "duns", "registration_number"],
];
/// Most systems fill the national ID field now and then only.
const NATIONAL_ID_SHARE: f64 = 0.45;
const CONTACT: &[&str] = &["email", "phone", "website", "fax"];

impl SystemProfile {
    /// The `n`-th system's subset in the disjoint-attributes shape, in place of the
    /// profile's own gaps.
    pub fn drop_disjoint_group(&mut self, n: usize) {
        self.never_records = &[];
        // A system that keeps identifiers in this shape has them as a mandatory field.
        self.national_id_share = 0.9;
        self.also_never.extend(DISJOINT_GROUPS[n % 3]);
        self.also_never.extend(CONTACT);
    }

    /// Whether this system records attribute `name` at all.
    pub fn records(&self, name: &str) -> bool {
        !self.never_records.contains(&name) && !self.also_never.contains(&name)
    }

    /// The profile for `name`: ERP, CRM and MES are fixed, others derived from the name.
    pub fn for_system(name: &SystemName) -> SystemProfile {
        match name.as_str() {
            "ERP" => SystemProfile {
                name: name.clone(),
                presence: 0.70,
                id_style: IdStyle::Prefixed('C'),
                date_style: DateStyle::Iso,
                phone_style: PhoneStyle::IntlSpaced,
                name_style: NameStyle::Split,
                upper_case: false,
                null_marker: "",
                never_records: &["full_name", "address_line2", "gender"],
                ascii_only: false,
                abbreviates: false,
                also_never: Vec::new(),
                national_id_share: NATIONAL_ID_SHARE,
            },
            "CRM" => SystemProfile {
                name: name.clone(),
                presence: 0.80,
                id_style: IdStyle::Uuid,
                date_style: DateStyle::DaySlash,
                phone_style: PhoneStyle::National,
                name_style: NameStyle::Split,
                upper_case: false,
                null_marker: "",
                never_records: &["national_id", "region"],
                ascii_only: false,
                abbreviates: true,
                also_never: Vec::new(),
                national_id_share: NATIONAL_ID_SHARE,
            },
            "MES" => SystemProfile {
                name: name.clone(),
                presence: 0.50,
                id_style: IdStyle::Numeric,
                date_style: DateStyle::Compact,
                phone_style: PhoneStyle::IntlZeros,
                name_style: NameStyle::FullFamilyFirst,
                upper_case: true,
                null_marker: "NULL",
                never_records: &["email", "gender", "region", "tax_id", "description"],
                ascii_only: true,
                abbreviates: true,
                also_never: Vec::new(),
                national_id_share: NATIONAL_ID_SHARE,
            },
            _ => Self::derived(name),
        }
    }

    /// A stable profile for an unknown system, picked from a hash of its name.
    fn derived(name: &SystemName) -> SystemProfile {
        let h = name
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
            });
        let pick = |n: u64, shift: u32| ((h >> shift) % n) as usize;
        let id_styles = [IdStyle::Prefixed('K'), IdStyle::Uuid, IdStyle::Numeric];
        let dates = [
            DateStyle::Iso,
            DateStyle::Compact,
            DateStyle::DaySlash,
            DateStyle::DayMonthName,
            DateStyle::DayDot,
        ];
        let phones = [
            PhoneStyle::IntlSpaced,
            PhoneStyle::E164,
            PhoneStyle::National,
            PhoneStyle::IntlZeros,
            PhoneStyle::Punctuated,
        ];
        let names = [NameStyle::Split, NameStyle::FullOnly, NameStyle::Split];
        SystemProfile {
            name: name.clone(),
            presence: 0.4 + 0.1 * pick(5, 3) as f64,
            id_style: id_styles[pick(3, 7)],
            date_style: dates[pick(5, 11)],
            phone_style: phones[pick(5, 17)],
            name_style: names[pick(3, 23)],
            upper_case: pick(4, 29) == 0,
            null_marker: ["", "", "NULL", "n/a"][pick(4, 31)],
            never_records: &[],
            ascii_only: pick(3, 37) == 0,
            abbreviates: pick(2, 41) == 0,
            also_never: Vec::new(),
            national_id_share: NATIONAL_ID_SHARE,
        }
    }
}

/// Hands out source ids in one system's style.
#[derive(Debug)]
pub struct IdMinter {
    style: IdStyle,
    next: u64,
}

impl IdMinter {
    pub fn new(style: IdStyle, rng: &mut impl Rng) -> Self {
        let next = match style {
            IdStyle::Prefixed(_) => rng.random_range(1..500),
            IdStyle::Uuid => 0,
            IdStyle::Numeric => rng.random_range(100_000..900_000),
        };
        Self { style, next }
    }

    pub fn mint(&mut self, rng: &mut impl Rng) -> String {
        match self.style {
            IdStyle::Prefixed(p) => {
                self.next += 1;
                format!("{p}{:06}", self.next)
            }
            IdStyle::Numeric => {
                // Gaps, as deleted and test records leave them.
                self.next += rng.random_range(1..4);
                self.next.to_string()
            }
            IdStyle::Uuid => {
                let a: u128 = rng.random();
                let a = (a & !(0xf << 76)) | (0x4 << 76);
                let s = format!("{a:032x}");
                format!(
                    "{}-{}-{}-{}-{}",
                    &s[0..8],
                    &s[8..12],
                    &s[12..16],
                    &s[16..20],
                    &s[20..32]
                )
            }
        }
    }
}
