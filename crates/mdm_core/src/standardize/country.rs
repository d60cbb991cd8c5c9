//! Countries: ISO 3166-1 alpha-2 codes from codes or names in many languages, and the
//! country calling codes the phone standardizer needs. One table, `data/countries.csv`
//! (codes from Debian's iso-codes, names in English and 15 European languages plus common
//! aliases such as "UK", "Holland", "BRD").

use super::text::fold_words;
use super::Cleaned;
use ahash::AHashMap;
use std::sync::LazyLock;

static COUNTRIES_CSV: &str = include_str!("../../data/countries.csv");

/// One row of the table.
struct Country {
    alpha2: &'static str,
    calling_code: &'static str,
    trunk_prefix: &'static str,
}

struct Countries {
    rows: Vec<Country>,
    /// folded alpha-2, alpha-3 or name -> row index.
    by_key: AHashMap<String, usize>,
    /// alpha-2 (upper case) -> row index.
    by_alpha2: AHashMap<&'static str, usize>,
    /// calling code -> trunk prefix (countries sharing a code share its numbering plan).
    trunk_by_code: AHashMap<&'static str, &'static str>,
}

static COUNTRIES: LazyLock<Countries> = LazyLock::new(|| {
    let mut t = Countries {
        rows: Vec::new(),
        by_key: AHashMap::new(),
        by_alpha2: AHashMap::new(),
        trunk_by_code: AHashMap::new(),
    };
    let mut names = Vec::new();
    for line in COUNTRIES_CSV
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let mut f = line.splitn(5, ',');
        let (Some(a2), Some(a3), Some(cc), Some(trunk)) = (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let i = t.rows.len();
        t.rows.push(Country {
            alpha2: a2,
            calling_code: cc,
            trunk_prefix: trunk,
        });
        t.by_alpha2.insert(a2, i);
        t.by_key.insert(a2.to_ascii_lowercase(), i);
        t.by_key.insert(a3.to_ascii_lowercase(), i);
        if !cc.is_empty() {
            t.trunk_by_code.entry(cc).or_insert(trunk);
        }
        names.push((i, f.next().unwrap_or("")));
    }
    // Names after all codes, so a name never shadows a code; the first country to claim
    // a folded name keeps it.
    for (i, list) in names {
        for name in list.split('|') {
            t.by_key.entry(fold_words(name)).or_insert(i);
        }
    }
    t
});

/// The ISO 3166-1 alpha-2 code for a code (alpha-2 or alpha-3, any case) or a country
/// name ("Deutschland", "Allemagne", "Germany", "BRD" -> "DE").
pub fn country_code(raw: &str) -> Option<&'static str> {
    let t = &*COUNTRIES;
    let key = fold_words(raw);
    let i = *t.by_key.get(key.as_str()).or_else(|| {
        // "the Netherlands", "Republic of ..." in free text
        key.strip_prefix("the ").and_then(|k| t.by_key.get(k))
    })?;
    Some(t.rows[i].alpha2)
}

/// (country calling code, national trunk prefix) for an alpha-2 code: "DE" -> ("49", "0"),
/// "IT" -> ("39", "") (Italy keeps its leading zero), "US" -> ("1", "1").
pub fn country_calling_code(alpha2: &str) -> Option<(&'static str, &'static str)> {
    let t = &*COUNTRIES;
    let i = match t.by_alpha2.get(alpha2) {
        Some(&i) => i,
        None => *t
            .by_alpha2
            .get(alpha2.trim().to_ascii_uppercase().as_str())?,
    };
    let c = &t.rows[i];
    (!c.calling_code.is_empty()).then_some((c.calling_code, c.trunk_prefix))
}

/// The length (1-3) of the country calling code that starts these E.164 digits.
pub(crate) fn calling_code_len(digits: &str) -> Option<usize> {
    let codes = &COUNTRIES.trunk_by_code;
    (1..=3).find(|&n| digits.get(..n).is_some_and(|p| codes.contains_key(p)))
}

/// The national trunk prefix of the numbering plan behind a calling code ("49" -> "0").
pub(crate) fn trunk_for_calling_code(cc: &str) -> Option<&'static str> {
    COUNTRIES.trunk_by_code.get(cc).copied()
}

/// country's canonical form: alpha-2.
pub(crate) fn clean_country(raw: &str) -> Cleaned {
    match country_code(raw) {
        Some(code) => Cleaned::Valid(code.to_string()),
        None => Cleaned::invalid("unknown country"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names() {
        for (raw, want) in [
            ("DE", "DE"),
            ("de", "DE"),
            ("DEU", "DE"),
            ("Germany", "DE"),
            ("Deutschland", "DE"),
            ("Allemagne", "DE"),
            ("BRD", "DE"),
            ("Österreich", "AT"),
            ("Schweiz", "CH"),
            ("Suisse", "CH"),
            ("U.S.A.", "US"),
            ("United States", "US"),
            ("USA", "US"),
            ("UK", "GB"),
            ("England", "GB"),
            ("Great Britain", "GB"),
            ("The Netherlands", "NL"),
            ("Holland", "NL"),
            ("España", "ES"),
            ("Espagne", "ES"),
            ("Italia", "IT"),
            ("Polska", "PL"),
            ("Czech Republic", "CZ"),
            ("Czechia", "CZ"),
            ("Côte d'Ivoire", "CI"),
            ("South Korea", "KR"),
            ("Korea, Republic of", "KR"),
            ("Brasil", "BR"),
            ("México", "MX"),
            ("Canada", "CA"),
            ("Japan", "JP"),
            ("China", "CN"),
            ("India", "IN"),
            ("Russia", "RU"),
            ("Türkiye", "TR"),
            ("gb", "GB"),
        ] {
            assert_eq!(country_code(raw), Some(want), "{raw}");
        }
        assert_eq!(country_code("Atlantis"), None);
        assert!(matches!(clean_country("Atlantis"), Cleaned::Invalid { .. }));
    }

    #[test]
    fn every_iso_country_has_a_code() {
        assert!(COUNTRIES.rows.len() >= 249);
        assert!(COUNTRIES.rows.iter().all(|c| c.alpha2.len() == 2));
    }

    #[test]
    fn calling_codes() {
        assert_eq!(country_calling_code("DE"), Some(("49", "0")));
        assert_eq!(country_calling_code("it"), Some(("39", "")));
        assert_eq!(country_calling_code("US"), Some(("1", "1")));
        assert_eq!(country_calling_code("ZZ"), None);
        assert_eq!(calling_code_len("4930123"), Some(2));
        assert_eq!(calling_code_len("12125550100"), Some(1));
        assert_eq!(calling_code_len("353871234567"), Some(3));
    }
}
