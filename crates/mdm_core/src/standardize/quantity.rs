//! Numbers inside values: the words with digits of a product name (`numbers_differ`) and
//! package sizes (`500 ml`, `0,5 L`, `VE 100`) in their base unit, from one unit table.
//! Comparators read these; `clean` keeps the value as written.

/// The words with digits a value carries (`numbers_differ`): sizes, ratings, model
/// numbers; a number with a unit of volume, mass or length in the base unit (`0,5 l` ->
/// `500ml`). In the order they appear.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Numbers {
    pub list: Box<[Box<str>]>,
    /// Each word as written (`0.5` for `0,5 l`): a cut-short last word is a prefix of it.
    pub raw: Box<[Box<str>]>,
    /// Whether the value's last word is the last of `list`: it may be cut short (a
    /// truncated field).
    pub last_open: bool,
}

/// What a package size measures; quantities of different dimensions never agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Volume,
    Mass,
    Count,
    Length,
}

/// The words with digits of a value (see `Numbers`): `Hex Nut M16 0,5 kg` -> `m16`,
/// `500g`. A decimal comma or point joins digits (`2,5`); a number followed by a unit of
/// volume, mass or length (`500 ml`, `0,5l`, `450mm`) becomes one word in the base unit.
pub fn parse_numbers(raw: &str) -> Numbers {
    let lower = deunicode::deunicode(raw).to_lowercase();
    let b = lower.as_bytes();
    // Words: alphanumeric runs, a separator between two digits kept (`2,5`, `1.5`).
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    for (i, &c) in b.iter().enumerate() {
        let decimal = matches!(c, b',' | b'.')
            && i > 0
            && b[i - 1].is_ascii_digit()
            && b.get(i + 1).is_some_and(u8::is_ascii_digit);
        if c.is_ascii_alphanumeric() || decimal {
            cur.push(if decimal { '.' } else { c as char });
        } else if !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut list: Vec<Box<str>> = Vec::new();
    let mut raws: Vec<Box<str>> = Vec::new();
    let mut last_open = false;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        i += 1;
        if !w.bytes().any(|c| c.is_ascii_digit()) {
            continue;
        }
        // A number and its unit, written together or apart.
        let split = w.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(w.len());
        let (num, unit) = w.split_at(split);
        let quantity = match (num.parse::<f64>(), unit) {
            (Ok(x), "") => match words.get(i).and_then(|u| unit_factor(u)) {
                Some(f) => {
                    i += 1;
                    Some((x, f))
                }
                None => None,
            },
            (Ok(x), u) => unit_factor(u).map(|f| (x, f)),
            _ => None,
        };
        let canon = match quantity {
            Some((x, (factor, base))) => format!("{}{base}", (x * factor * 1e6).round() / 1e6),
            None => w.clone(),
        };
        last_open = i == words.len();
        if let Some(k) = list.iter().position(|n| **n == *canon) {
            // Seen before: keep one copy, at the later place.
            list.remove(k);
            raws.remove(k);
        }
        list.push(canon.into());
        raws.push(num_raw(w).into());
    }
    Numbers {
        list: list.into_boxed_slice(),
        raw: raws.into_boxed_slice(),
        last_open,
    }
}

/// A word as written, its unit dropped when it is a quantity (`0.5l` -> `0.5`).
fn num_raw(w: &str) -> &str {
    let split = w.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(w.len());
    let (num, unit) = w.split_at(split);
    if !num.is_empty() && unit_factor(unit).is_some() {
        num
    } else {
        w
    }
}

/// The form of a word with digits: letters -> `a`, digits -> `9`, runs collapsed
/// (`m16` and `m6` -> `a9`, `80g` -> `9a`, `6202` -> `9`).
pub fn number_form(w: &str) -> smallvec::SmallVec<[u8; 8]> {
    let mut f = smallvec::SmallVec::new();
    for c in w.bytes() {
        let k = if c.is_ascii_digit() || c == b'.' {
            b'9'
        } else {
            b'a'
        };
        if f.last() != Some(&k) {
            f.push(k);
        }
    }
    f
}

/// Units of volume, mass, length and count: the factor to the base unit (ml, g, m,
/// piece) and the dimension. The one unit table of package sizes and numbers in names.
fn unit(unit: &str) -> Option<(f64, Dimension)> {
    use Dimension::*;
    Some(match unit {
        "ml" => (1.0, Volume),
        "cl" => (10.0, Volume),
        "dl" => (100.0, Volume),
        "l" | "lt" | "ltr" | "liter" | "litre" | "liters" | "litres" => (1000.0, Volume),
        "mg" => (0.001, Mass),
        "g" | "gr" | "gramm" | "gram" | "grams" => (1.0, Mass),
        "kg" | "kilo" | "kilogramm" | "kilogram" => (1000.0, Mass),
        "mm" => (0.001, Length),
        "cm" => (0.01, Length),
        "m" | "mtr" | "meter" | "metre" | "meters" => (1.0, Length),
        "km" => (1000.0, Length),
        "pcs" | "pc" | "pce" | "piece" | "pieces" | "st" | "stk" | "stck" | "stuck" | "ve"
        | "ea" | "each" | "x" | "pack" | "pk" | "pair" | "pairs" | "paar" | "rolls" | "roll"
        | "rollen" | "rolle" | "units" | "unit" | "sheets" | "sheet" | "blatt" | "bl" | "" => {
            (1.0, Count)
        }
        _ => return None,
    })
}

/// Base-unit factor and base unit name of a unit of volume (ml), mass (g) or length (m):
/// the units a number written into a name is read with (counts are not).
fn unit_factor(u: &str) -> Option<(f64, &'static str)> {
    let (factor, dim) = unit(u)?;
    let base = match dim {
        Dimension::Volume => "ml",
        Dimension::Mass => "g",
        Dimension::Length => "m",
        Dimension::Count => return None,
    };
    Some((factor, base))
}

/// A package size (`500 ml`, `0,5 L`, `2.5l`, `VE 100`, `12 St.`, `1 kg`) in its base unit.
pub fn parse_quantity(raw: &str) -> Option<(f64, Dimension)> {
    let lower = raw.trim().to_lowercase();
    // Split into a number and the words around it; a decimal comma is a decimal point.
    let start = lower.find(|c: char| c.is_ascii_digit())?;
    let rest = &lower[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(rest.len());
    let num = &rest[..end];
    let amount: f64 = if num.matches([',', '.']).count() == 1 {
        num.replace(',', ".").parse().ok()?
    } else {
        // No separator, or thousands grouping (1.000.000): digits only.
        num.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .ok()?
    };
    let before = lower[..start].trim();
    let after: String = rest[end..]
        .trim()
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect();
    let written = if after.is_empty() {
        before
    } else {
        after.as_str()
    };
    let (factor, dim) = unit(written.trim_end_matches('.'))?;
    Some((amount * factor, dim))
}
