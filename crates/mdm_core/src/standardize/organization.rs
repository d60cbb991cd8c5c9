//! Organization names: folded, "&" spelled "and", and the legal form (GmbH, Ltd, S.A., ...)
//! set aside, so "ACME GmbH" and "Acme" compare as equal names; the legal form stays
//! available to a comparator through [`split_legal_form`].

use super::text::{fold_with, FoldStyle};
use super::Cleaned;
use ahash::AHashMap;
use smallvec::SmallVec;
use std::sync::LazyLock;

static LEGAL_FORMS_TXT: &str = include_str!("../../data/legal_forms.txt");

struct LegalForms {
    /// folded variant ("gmbh and co kg") -> canonical spelling ("GmbH & Co. KG").
    by_variant: AHashMap<String, &'static str>,
    /// The most words any variant has: the longest suffix worth looking up.
    max_words: usize,
}

static LEGAL_FORMS: LazyLock<LegalForms> = LazyLock::new(|| {
    let mut by_variant = AHashMap::new();
    let mut max_words = 1;
    for line in LEGAL_FORMS_TXT.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let canonical = line.split('|').next().unwrap_or(line).trim();
        for variant in line.split('|') {
            let folded = fold_with(variant, FoldStyle::ORGANIZATION);
            if folded.is_empty() {
                continue;
            }
            max_words = max_words.max(folded.split(' ').count());
            by_variant.entry(folded).or_insert(canonical);
        }
    }
    LegalForms {
        by_variant,
        max_words,
    }
});

/// Strips legal forms from the end of a folded name, longest match first, repeatedly
/// ("foo holding ag and co kg"). Returns the core and the outermost form found.
fn strip_legal_forms(folded: &str) -> (&str, Option<&'static str>) {
    let forms = &*LEGAL_FORMS;
    let mut core = folded;
    let mut found = None;
    'strip: loop {
        // Byte offsets where each of the last `max_words` words starts, nearest first.
        let mut starts: SmallVec<[usize; 8]> = SmallVec::new();
        let mut end = core.len();
        while starts.len() < forms.max_words {
            match core[..end].rfind(' ') {
                Some(space) => {
                    starts.push(space + 1);
                    end = space;
                }
                None => break, // never strip the first word: a name is not only a form
            }
        }
        for &start in starts.iter().rev() {
            if let Some(&canonical) = forms.by_variant.get(&core[start..]) {
                found.get_or_insert(canonical);
                core = &core[..start - 1];
                continue 'strip;
            }
        }
        if found.is_some() && forms.by_variant.contains_key(core) {
            // Nothing but legal forms ("AG & Co. KG"): keep the whole name.
            return (folded, None);
        }
        return (core, found);
    }
}

/// organization_name's canonical form (see the module table).
pub(crate) fn clean_organization_name(raw: &str) -> Cleaned {
    let folded = fold_with(raw, FoldStyle::ORGANIZATION);
    if folded.is_empty() {
        return Cleaned::invalid("no letters or digits");
    }
    let (core, _) = strip_legal_forms(&folded);
    if core.len() == folded.len() {
        Cleaned::Valid(folded)
    } else {
        Cleaned::Valid(core.to_string())
    }
}

/// Splits a raw organization name into its folded core and its canonical legal form:
/// "Müller & Söhne GmbH & Co. KG" -> ("muller and sohne", Some("GmbH & Co. KG")).
pub fn split_legal_form(raw: &str) -> (String, Option<String>) {
    let folded = fold_with(raw, FoldStyle::ORGANIZATION);
    let (core, form) = strip_legal_forms(&folded);
    (core.to_string(), form.map(str::to_string))
}

/// Words that say nothing about which organization is meant ("The", "and", "Group").
fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "the" | "and" | "und" | "et" | "group" | "gruppe" | "groupe" | "company" | "cie"
    )
}

/// The form comparators read of a cleaned organization name: legal-form words and fillers
/// dropped wherever they stand ("acme and co holding" -> "acme holding"), since `clean`
/// strips legal forms only from the end. A name of nothing else stays whole.
pub(crate) fn match_form(clean: &str) -> String {
    let forms = &LEGAL_FORMS.by_variant;
    let kept: Vec<&str> = clean
        .split(' ')
        .filter(|w| !is_filler(w) && !forms.contains_key(*w))
        .collect();
    if kept.is_empty() {
        clean.to_string()
    } else {
        kept.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(raw: &str) -> String {
        match clean_organization_name(raw) {
            Cleaned::Valid(v) => v,
            other => panic!("{raw:?} -> {other:?}"),
        }
    }

    #[test]
    fn strips_legal_forms() {
        assert_eq!(valid("ACME GmbH"), "acme");
        assert_eq!(valid("Müller & Söhne GmbH & Co. KG"), "muller and sohne");
        assert_eq!(valid("Siemens Aktiengesellschaft"), "siemens");
        assert_eq!(valid("Apple Inc."), "apple");
        assert_eq!(valid("Microsoft Corporation"), "microsoft");
        assert_eq!(valid("Nestlé S.A."), "nestle");
        assert_eq!(valid("Nestle SA"), "nestle");
        assert_eq!(valid("Fiat S.p.A."), "fiat");
        assert_eq!(valid("Philips N.V."), "philips");
        assert_eq!(valid("A.P. Møller - Mærsk A/S"), "a p moller maersk");
        assert_eq!(valid("Smith & Co. Ltd"), "smith");
        assert_eq!(valid("Acme Pty Ltd"), "acme");
        assert_eq!(valid("Foo Bar, LLC"), "foo bar");
        assert_eq!(valid("Volvo AB (publ)"), "volvo");
        assert_eq!(valid("Procter&Gamble Company"), "procter and gamble");
    }

    #[test]
    fn keeps_name_when_only_a_legal_form() {
        assert_eq!(valid("GmbH"), "gmbh");
        assert_eq!(valid("AG & Co KG"), "ag and co kg");
        assert_eq!(valid("GmbH & Co. KG"), "gmbh and co kg");
    }

    #[test]
    fn legal_form_words_inside_a_name_stay() {
        assert_eq!(valid("AG Insurance Holdings"), "ag insurance holdings");
        assert_eq!(valid("Company of Biologists Ltd"), "company of biologists");
    }

    #[test]
    fn split_reports_canonical_form() {
        assert_eq!(
            split_legal_form("Müller & Söhne GmbH & Co. KG"),
            (
                "muller and sohne".to_string(),
                Some("GmbH & Co. KG".to_string())
            )
        );
        assert_eq!(
            split_legal_form("Acme Inc"),
            ("acme".to_string(), Some("Inc".to_string()))
        );
        assert_eq!(split_legal_form("Acme"), ("acme".to_string(), None));
        assert!(matches!(
            clean_organization_name("***"),
            Cleaned::Invalid { .. }
        ));
    }
}
