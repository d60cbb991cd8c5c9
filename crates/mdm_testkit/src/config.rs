//! What to generate: the domain, how many entities, which systems, the seed and the
//! corruption knobs. Plain data; `generate` reads it.

use mdm_core::SystemName;

/// The shipped domains the generator knows how to populate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Domain {
    Customer,
    Product,
    Supplier,
}

impl Domain {
    pub const ALL: [Domain; 3] = [Domain::Customer, Domain::Product, Domain::Supplier];

    /// Parses a domain name as used on the command line (`customer`, `product`, `supplier`).
    pub fn parse(name: &str) -> Option<Domain> {
        match name.trim().to_ascii_lowercase().as_str() {
            "customer" | "customers" => Some(Domain::Customer),
            "product" | "products" => Some(Domain::Product),
            "supplier" | "suppliers" => Some(Domain::Supplier),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Domain::Customer => "customer",
            Domain::Product => "product",
            Domain::Supplier => "supplier",
        }
    }
}

/// Probabilities of each kind of damage a source system does to a true value.
///
/// Most are per value (a typo in one name), some per entity (a move gives the entity a
/// second address that some systems know and others do not). `scaled(f)` multiplies all of
/// them, so a benchmark can print match quality over rising corruption.
#[derive(Debug, Clone, PartialEq)]
pub struct CorruptionRates {
    /// Keyboard-neighbour substitution, insertion or deletion in a text value.
    pub typo: f64,
    /// Two adjacent letters swapped.
    pub transposition: f64,
    /// A given name replaced by a nickname or diminutive (Robert -> Bob).
    pub nickname: f64,
    /// A given name reduced to its initial (Robert -> R.).
    pub initial: f64,
    /// Given and family name entered in each other's field.
    pub swapped_names: f64,
    /// A value left empty (or a `NULL`-like marker) beyond what a system never records.
    pub missing: f64,
    /// Per entity: moved house; systems disagree on which address is current.
    pub moved: f64,
    /// Per entity: a second e-mail address that some systems know.
    pub email_changed: f64,
    /// Per entity: a second phone number that some systems know.
    pub phone_changed: f64,
    /// Per entity: the family name changed (marriage); systems disagree.
    pub name_changed: f64,
    /// Street types, legal forms and product words abbreviated (Street -> St).
    pub abbreviation: f64,
    /// Diacritics dropped or transliterated (Müller -> Mueller / Muller).
    pub diacritics: f64,
    /// A value in unusual case (all upper, all lower).
    pub case_change: f64,
    /// A date entered with day and month swapped.
    pub day_month_swap: f64,
    /// Identifiers mistyped (national id, GTIN check digit, VAT, DUNS, IBAN).
    pub id_typo: f64,
    /// A title or salutation written into a name field (`Dr.`, `Mr`).
    pub title: f64,
}

impl Default for CorruptionRates {
    fn default() -> Self {
        Self {
            typo: 0.06,
            transposition: 0.02,
            nickname: 0.06,
            initial: 0.03,
            swapped_names: 0.02,
            missing: 0.05,
            moved: 0.10,
            email_changed: 0.10,
            phone_changed: 0.10,
            name_changed: 0.03,
            abbreviation: 0.25,
            diacritics: 0.30,
            case_change: 0.05,
            day_month_swap: 0.02,
            id_typo: 0.02,
            title: 0.02,
        }
    }
}

impl CorruptionRates {
    /// No corruption at all: every system records the truth in its own format.
    pub fn none() -> Self {
        Self::default().scaled(0.0)
    }

    /// Every rate multiplied by `factor` and clamped to `[0, 1]`.
    pub fn scaled(&self, factor: f64) -> Self {
        let f = |x: f64| (x * factor).clamp(0.0, 1.0);
        Self {
            typo: f(self.typo),
            transposition: f(self.transposition),
            nickname: f(self.nickname),
            initial: f(self.initial),
            swapped_names: f(self.swapped_names),
            missing: f(self.missing),
            moved: f(self.moved),
            email_changed: f(self.email_changed),
            phone_changed: f(self.phone_changed),
            name_changed: f(self.name_changed),
            abbreviation: f(self.abbreviation),
            diacritics: f(self.diacritics),
            case_change: f(self.case_change),
            day_month_swap: f(self.day_month_swap),
            id_typo: f(self.id_typo),
            title: f(self.title),
        }
    }
}

/// Everything `generate_to_dir` and `generate_records` need.
#[derive(Debug, Clone)]
pub struct GenConfig {
    pub domain: Domain,
    /// Number of real-world entities (records are more: each entity appears in several
    /// systems, sometimes twice in one).
    pub entities: usize,
    pub systems: Vec<SystemName>,
    pub seed: u64,
    pub rates: CorruptionRates,
    /// Share of records entered twice in the same system (within-system duplicates).
    pub duplicate_rate: f64,
    /// Share of entities that come with look-alike relatives (same family name and
    /// address, twins, namesakes; product variants; sister companies): hard negatives.
    pub related_rate: f64,
    /// Each system records its own subset of attributes: the n-th lacks one of address,
    /// birth date or identifiers (in turn) and all contact details, so records join their
    /// entity only through what two systems share (`SystemProfile::drop_disjoint_group`).
    pub disjoint_attributes: bool,
}

impl GenConfig {
    /// Defaults: ERP, CRM and MES, default corruption, 5% duplicates, 12% related.
    pub fn new(domain: Domain, entities: usize, seed: u64) -> Self {
        let systems = ["ERP", "CRM", "MES"]
            .iter()
            .map(|s| SystemName::parse(s).expect("valid system name"))
            .collect();
        Self {
            domain,
            entities,
            systems,
            seed,
            rates: CorruptionRates::default(),
            duplicate_rate: 0.05,
            related_rate: 0.12,
            disjoint_attributes: false,
        }
    }
}
