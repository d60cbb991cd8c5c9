//! Folding shared by the standardizers: diacritics to ASCII (deunicode), lower case,
//! punctuation to a single space. One pass over the input, one allocation, no regex:
//! this runs for every name, street, city and free text of every record.

/// How a fold treats the few characters whose meaning depends on the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FoldStyle {
    /// Apostrophes join their neighbours ("O'Brien" -> "obrien") instead of splitting.
    pub join_apostrophes: bool,
    /// "&" becomes the word "and" (organization names).
    pub ampersand_as_and: bool,
}

impl FoldStyle {
    pub(crate) const TEXT: FoldStyle = FoldStyle {
        join_apostrophes: false,
        ampersand_as_and: false,
    };
    pub(crate) const NAME: FoldStyle = FoldStyle {
        join_apostrophes: true,
        ampersand_as_and: false,
    };
    pub(crate) const ORGANIZATION: FoldStyle = FoldStyle {
        join_apostrophes: true,
        ampersand_as_and: true,
    };
}

/// Folded, lower-case ASCII words separated by single spaces: "  Müller-Lüdenscheidt, "
/// -> "muller ludenscheidt".
pub fn fold_words(raw: &str) -> String {
    fold_with(raw, FoldStyle::TEXT)
}

pub(crate) fn fold_with(raw: &str, style: FoldStyle) -> String {
    let mut out = String::with_capacity(raw.len() + 4);
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_ascii() {
            push_ascii(&mut out, c, style, &mut pending_space);
        } else if is_apostrophe(c) && style.join_apostrophes {
            // joined: nothing to push
        } else if let Some(ascii) = deunicode::deunicode_char(c) {
            for a in ascii.chars() {
                push_ascii(&mut out, a, style, &mut pending_space);
            }
        } else {
            pending_space = true;
        }
    }
    out
}

#[inline]
fn push_ascii(out: &mut String, c: char, style: FoldStyle, pending_space: &mut bool) {
    if c.is_ascii_alphanumeric() {
        if *pending_space && !out.is_empty() {
            out.push(' ');
        }
        *pending_space = false;
        out.push(c.to_ascii_lowercase());
    } else if c == '\'' && style.join_apostrophes {
        // "O'Brien": the apostrophe disappears, the word stays whole.
    } else if c == '&' && style.ampersand_as_and {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("and");
        *pending_space = true;
    } else {
        *pending_space = true;
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\u{2019}' | '\u{2018}' | '\u{00B4}' | '\u{02BC}' | '`')
}

/// Diacritics folded and lower-cased, whitespace collapsed, punctuation kept (for codes).
pub(crate) fn fold_keep_punctuation(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    let mut push = |c: char, out: &mut String| {
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        }
    };
    for c in raw.chars() {
        if c.is_ascii() {
            push(c, &mut out);
        } else if c.is_whitespace() {
            push(' ', &mut out);
        } else if let Some(ascii) = deunicode::deunicode_char(c) {
            for a in ascii.chars() {
                push(a, &mut out);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_diacritics_case_and_punctuation() {
        assert_eq!(fold_words("  Müller-Lüdenscheidt, "), "muller ludenscheidt");
        assert_eq!(fold_words("St. Gallen"), "st gallen");
        assert_eq!(fold_words("Straße"), "strasse");
        assert_eq!(fold_words("ÆRØ  island"), "aero island");
        assert_eq!(fold_words("北京"), "bei jing");
        assert_eq!(fold_words("...!!"), "");
    }

    #[test]
    fn name_style_joins_apostrophes() {
        assert_eq!(fold_with("O'Brien", FoldStyle::NAME), "obrien");
        assert_eq!(fold_with("D’Angelo", FoldStyle::NAME), "dangelo");
        assert_eq!(fold_with("O'Brien", FoldStyle::TEXT), "o brien");
    }

    #[test]
    fn organization_style_spells_ampersand() {
        assert_eq!(
            fold_with("Smith&Wesson", FoldStyle::ORGANIZATION),
            "smith and wesson"
        );
        assert_eq!(
            fold_with("Procter & Gamble", FoldStyle::ORGANIZATION),
            "procter and gamble"
        );
    }

    #[test]
    fn keep_punctuation_for_codes() {
        assert_eq!(fold_keep_punctuation("  Größe  XL/2 "), "grosse xl/2");
    }
}
