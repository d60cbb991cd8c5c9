//! Person names and gender. Names are folded, titles and generational suffixes set aside;
//! nicknames stay as written (the comparator resolves them with `canonical_given_name`, so
//! a steward still sees "bob").

use super::text::{fold_with, FoldStyle};
use super::Cleaned;

/// Words that are never part of a person's name: salutations, academic and professional
/// titles, generational suffixes. Folded, so "Prof. Dr.-Ing." is "prof dr ing". A `match`
/// compiles to a length switch and a few compares: this runs for every word of every name.
fn is_title(word: &str) -> bool {
    matches!(
        word,
        "mr" | "mrs"
            | "ms"
            | "miss"
            | "mx"
            | "mister"
            | "dr"
            | "prof"
            | "professor"
            | "sir"
            | "dame"
            | "lord"
            | "lady"
            | "rev"
            | "revd"
            | "jr"
            | "jun"
            | "junior"
            | "sr"
            | "snr"
            | "senior"
            | "ii"
            | "iii"
            | "iv"
            | "phd"
            | "md"
            | "dds"
            | "esq"
            | "mba"
            | "msc"
            | "bsc"
            | "dipl"
            | "ing"
            | "med"
            | "rer"
            | "herr"
            | "frau"
            | "hr"
            | "fr"
            | "mme"
            | "mlle"
            | "mmes"
            | "sra"
            | "srta"
            | "dona"
            | "sig"
            | "sigra"
            | "dott"
            | "dottssa"
            | "ir"
            | "drs"
    )
}

/// person_name's canonical form (see the module table).
pub(crate) fn clean_person_name(raw: &str) -> Cleaned {
    let folded = fold_with(raw, FoldStyle::NAME);
    if folded.is_empty() {
        return Cleaned::invalid("no letters or digits");
    }
    if !folded.split(' ').any(is_title) {
        return Cleaned::Valid(folded);
    }
    let mut kept = String::with_capacity(folded.len());
    for w in folded.split(' ').filter(|w| !is_title(w)) {
        if !kept.is_empty() {
            kept.push(' ');
        }
        kept.push_str(w);
    }
    if kept.is_empty() {
        // Only titles ("Dr."): keep them rather than invent a missing value.
        Cleaned::Valid(folded)
    } else {
        Cleaned::Valid(kept)
    }
}

/// The first letter of each word of the cleaned name: "Dr. John Ronald Reuel Tolkien" ->
/// "jrrt". Empty for a name with no letters.
pub fn initials(name: &str) -> String {
    match clean_person_name(name) {
        Cleaned::Valid(n) => n.split(' ').filter_map(|w| w.chars().next()).collect(),
        _ => String::new(),
    }
}

/// gender: `m`, `f` or `x` from the usual spellings in English, German, French, Spanish
/// and Italian.
pub fn clean_gender(raw: &str) -> Cleaned {
    let folded = fold_with(raw, FoldStyle::TEXT);
    let code = match folded.as_str() {
        "m" | "male" | "man" | "men" | "mr" | "herr" | "hr" | "mann" | "mannlich" | "maennlich"
        | "masculin" | "masculino" | "maschile" | "maschio" | "h" | "homme" | "hombre" | "sr"
        | "monsieur" | "signor" | "1" => "m",
        "f" | "female" | "woman" | "w" | "weiblich" | "frau" | "fr" | "mrs" | "ms" | "miss"
        | "feminin" | "femenino" | "femminile" | "femme" | "mujer" | "donna" | "madame" | "mme"
        | "sra" | "signora" | "2" => "f",
        "x" | "d" | "diverse" | "divers" | "diverse other" | "other" | "nonbinary"
        | "non binary" | "nb" | "o" | "3" | "inter" => "x",
        _ => return Cleaned::invalid("not a known gender"),
    };
    Cleaned::Valid(code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(raw: &str) -> String {
        match clean_person_name(raw) {
            Cleaned::Valid(v) => v,
            other => panic!("{raw:?} -> {other:?}"),
        }
    }

    #[test]
    fn folds_and_joins() {
        assert_eq!(valid("O'Brien"), "obrien");
        assert_eq!(valid("Müller-Lüdenscheidt"), "muller ludenscheidt");
        assert_eq!(valid("  JOSÉ   maría "), "jose maria");
        assert_eq!(valid("Smith, John"), "smith john");
        assert_eq!(valid("J.R.R. Tolkien"), "j r r tolkien");
        assert_eq!(valid("Łukasz Żółć"), "lukasz zolc");
    }

    #[test]
    fn drops_titles_and_suffixes() {
        assert_eq!(valid("Dr. Seán O'Brien Jr."), "sean obrien");
        assert_eq!(valid("Prof. Dr.-Ing. Hans Meier"), "hans meier");
        assert_eq!(valid("Mrs Margaret Thatcher"), "margaret thatcher");
        assert_eq!(valid("Martin Luther King III"), "martin luther king");
        assert_eq!(valid("Herr Karl von Müller"), "karl von muller");
        assert_eq!(valid("Jane Doe, PhD"), "jane doe");
        assert_eq!(
            valid("Dr."),
            "dr",
            "a title alone is kept, not turned into nothing"
        );
    }

    #[test]
    fn punctuation_only_is_invalid() {
        assert!(matches!(clean_person_name("..."), Cleaned::Invalid { .. }));
    }

    #[test]
    fn initials_of_cleaned_name() {
        assert_eq!(initials("Dr. John Ronald Reuel Tolkien"), "jrrt");
        assert_eq!(initials("Élodie d'Arc"), "ed");
        assert_eq!(initials("!!"), "");
    }

    #[test]
    fn genders() {
        for (raw, want) in [
            ("M", "m"),
            ("male", "m"),
            ("Herr", "m"),
            ("Mr.", "m"),
            ("F", "f"),
            ("w", "f"),
            ("Frau", "f"),
            ("Mrs", "f"),
            ("weiblich", "f"),
            ("Männlich", "m"),
            ("divers", "x"),
            ("X", "x"),
        ] {
            assert_eq!(clean_gender(raw), Cleaned::Valid(want.into()), "{raw}");
        }
        assert!(matches!(clean_gender("banana"), Cleaned::Invalid { .. }));
    }
}
