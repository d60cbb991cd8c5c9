//! Parquet values as the text the rest of mdm reads: what a CSV export of the same data
//! would hold. Integers and floats in their shortest decimal form, booleans `true`/`false`,
//! dates `YYYY-MM-DD`, times `HH:MM:SS[.fff]`, timestamps ISO 8601 (`Z` when stored as UTC,
//! none when local), decimals exactly with their scale (`12.50`), UUIDs hyphenated. A value
//! with no faithful text (bytes that are not UTF-8, NaN, a BSON document) is a `Bad` cell,
//! and its row is quarantined.

use crate::row::QuarantineReason;
use chrono::{DateTime, NaiveDate, NaiveTime, Timelike};
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as Physical};
use parquet::schema::types::ColumnDescriptor;

/// How one leaf column's values become text.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    Bool,
    Int,
    /// Unsigned integers stored in signed physical types.
    UInt,
    Date,
    Time(Unit),
    /// `utc`: the value is an instant (printed with `Z`); else a local date and time.
    Timestamp {
        unit: Unit,
        utc: bool,
    },
    /// Legacy INT96 timestamps (Hive, Impala, old Spark), taken as UTC-free local times.
    Int96,
    Decimal {
        scale: i32,
    },
    Float,
    /// Bytes read as UTF-8 text (STRING, ENUM, JSON or unannotated binary).
    Text,
    Uuid,
    /// A type with no text form here; the string names it for the quarantine detail.
    Unsupported(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Unit {
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn nanos(self) -> i64 {
        match self {
            Unit::Millis => 1_000_000,
            Unit::Micros => 1_000,
            Unit::Nanos => 1,
        }
    }
}

/// What a cell became.
pub(super) enum Cell {
    Null,
    Text(String),
    /// The reason, the detail for the quarantine entry, and the value as best shown.
    Bad(QuarantineReason, String, String),
}

impl Kind {
    pub(super) fn of(col: &ColumnDescriptor) -> Kind {
        let physical = col.physical_type();
        let unit = |u: &TimeUnit| match u {
            TimeUnit::MILLIS => Unit::Millis,
            TimeUnit::MICROS => Unit::Micros,
            TimeUnit::NANOS => Unit::Nanos,
        };
        if let Some(logical) = col.logical_type_ref() {
            return match logical {
                LogicalType::String | LogicalType::Enum | LogicalType::Json => Kind::Text,
                LogicalType::Date => Kind::Date,
                LogicalType::Time(t) => Kind::Time(unit(&t.unit)),
                LogicalType::Timestamp(t) => Kind::Timestamp {
                    unit: unit(&t.unit),
                    utc: t.is_adjusted_to_u_t_c,
                },
                LogicalType::Decimal(d) => Kind::Decimal { scale: d.scale },
                LogicalType::Integer(i) if !i.is_signed => Kind::UInt,
                LogicalType::Integer(_) => Kind::Int,
                LogicalType::Uuid => Kind::Uuid,
                other => Kind::Unsupported(format!("{other:?}")),
            };
        }
        match col.converted_type() {
            ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON => Kind::Text,
            ConvertedType::DATE => Kind::Date,
            ConvertedType::TIME_MILLIS => Kind::Time(Unit::Millis),
            ConvertedType::TIME_MICROS => Kind::Time(Unit::Micros),
            // The legacy annotations meant instants (the logical type's `isAdjustedToUTC`).
            ConvertedType::TIMESTAMP_MILLIS => Kind::Timestamp {
                unit: Unit::Millis,
                utc: true,
            },
            ConvertedType::TIMESTAMP_MICROS => Kind::Timestamp {
                unit: Unit::Micros,
                utc: true,
            },
            ConvertedType::DECIMAL => Kind::Decimal {
                scale: col.type_scale(),
            },
            ConvertedType::UINT_8
            | ConvertedType::UINT_16
            | ConvertedType::UINT_32
            | ConvertedType::UINT_64 => Kind::UInt,
            ConvertedType::NONE
            | ConvertedType::INT_8
            | ConvertedType::INT_16
            | ConvertedType::INT_32
            | ConvertedType::INT_64 => match physical {
                Physical::BOOLEAN => Kind::Bool,
                Physical::INT32 | Physical::INT64 => Kind::Int,
                Physical::INT96 => Kind::Int96,
                Physical::FLOAT | Physical::DOUBLE => Kind::Float,
                Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY => Kind::Text,
            },
            other => Kind::Unsupported(format!("{other}")),
        }
    }

    pub(super) fn int(&self, v: i64, unsigned_bits: u32) -> Cell {
        match self {
            Kind::Int => Cell::Text(v.to_string()),
            // Unsigned values are stored as the signed type's bits.
            Kind::UInt if unsigned_bits == 32 => Cell::Text((v as u32).to_string()),
            Kind::UInt => Cell::Text((v as u64).to_string()),
            Kind::Date => date(v),
            Kind::Time(unit) => time(v, *unit),
            Kind::Timestamp { unit, utc } => timestamp(v, *unit, *utc),
            Kind::Decimal { scale } => Cell::Text(decimal(i128::from(v), *scale)),
            other => unsupported(other),
        }
    }

    pub(super) fn float(&self, v: f64, shown: String) -> Cell {
        if v.is_finite() {
            Cell::Text(shown)
        } else {
            let detail = format!("{shown} is not a finite number");
            Cell::Bad(QuarantineReason::InvalidValue, detail, shown)
        }
    }

    pub(super) fn bytes(&self, b: &[u8]) -> Cell {
        match self {
            Kind::Text => match std::str::from_utf8(b) {
                Ok(s) => Cell::Text(s.to_string()),
                Err(e) => Cell::Bad(
                    QuarantineReason::InvalidUtf8,
                    format!(
                        "binary value is not UTF-8 text (invalid at byte {})",
                        e.valid_up_to()
                    ),
                    String::from_utf8_lossy(b).into_owned(),
                ),
            },
            Kind::Decimal { scale } => match big_endian(b) {
                Some(v) => Cell::Text(decimal(v, *scale)),
                None => Cell::Bad(
                    QuarantineReason::InvalidValue,
                    format!("decimal of {} bytes is wider than 128 bits", b.len()),
                    String::new(),
                ),
            },
            Kind::Uuid if b.len() == 16 => Cell::Text(uuid(b)),
            other => unsupported(other),
        }
    }

    pub(super) fn int96(&self, nanos: i64) -> Cell {
        timestamp(nanos, Unit::Nanos, false)
    }
}

pub(super) fn unsupported(kind: &Kind) -> Cell {
    let name = match kind {
        Kind::Unsupported(name) => name.clone(),
        other => format!("{other:?}"),
    };
    Cell::Bad(
        QuarantineReason::InvalidValue,
        format!("a Parquet value of type {name} has no text form mdm can stage"),
        String::new(),
    )
}

fn date(days: i64) -> Cell {
    const UNIX_EPOCH_FROM_CE: i64 = 719_163;
    match i32::try_from(days + UNIX_EPOCH_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
    {
        Some(d) => Cell::Text(d.format("%Y-%m-%d").to_string()),
        None => out_of_range("date", days),
    }
}

fn time(v: i64, unit: Unit) -> Cell {
    let nanos = i128::from(v) * i128::from(unit.nanos());
    let secs = u32::try_from(nanos / 1_000_000_000).ok();
    let frac = u32::try_from(nanos % 1_000_000_000).ok();
    match secs
        .zip(frac)
        .and_then(|(s, f)| NaiveTime::from_num_seconds_from_midnight_opt(s, f))
    {
        Some(t) => Cell::Text(format!(
            "{}{}",
            t.format("%H:%M:%S"),
            fraction(t.nanosecond())
        )),
        None => out_of_range("time of day", v),
    }
}

fn timestamp(v: i64, unit: Unit, utc: bool) -> Cell {
    let per_sec = 1_000_000_000 / unit.nanos();
    let (secs, sub) = (v.div_euclid(per_sec), v.rem_euclid(per_sec));
    let nanos = u32::try_from(sub * unit.nanos()).unwrap_or(0);
    match DateTime::from_timestamp(secs, nanos) {
        Some(t) => {
            let base = t.naive_utc().format("%Y-%m-%dT%H:%M:%S");
            let zone = if utc { "Z" } else { "" };
            Cell::Text(format!("{base}{}{zone}", fraction(nanos)))
        }
        None => out_of_range("timestamp", v),
    }
}

/// `.123`, `.123456` or `.123456789`, whichever holds the nanoseconds exactly; empty for 0.
fn fraction(nanos: u32) -> String {
    match nanos {
        0 => String::new(),
        n if n % 1_000_000 == 0 => format!(".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => format!(".{:06}", n / 1_000),
        n => format!(".{n:09}"),
    }
}

fn out_of_range(what: &str, v: i64) -> Cell {
    Cell::Bad(
        QuarantineReason::InvalidValue,
        format!("{v} is out of range for a {what}"),
        v.to_string(),
    )
}

/// The exact decimal text of `unscaled * 10^-scale`, keeping the scale's digits.
pub(super) fn decimal(unscaled: i128, scale: i32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if unscaled < 0 { "-" } else { "" };
    let Ok(scale) = usize::try_from(scale) else {
        // A negative scale multiplies: append its zeros.
        let zeros = "0".repeat(scale.unsigned_abs() as usize);
        return if unscaled == 0 {
            "0".into()
        } else {
            format!("{sign}{digits}{zeros}")
        };
    };
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// A big-endian two's complement integer of up to 16 bytes.
fn big_endian(b: &[u8]) -> Option<i128> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    let fill = if b[0] & 0x80 != 0 { 0xFF } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - b.len()..].copy_from_slice(b);
    Some(i128::from_be_bytes(buf))
}

fn uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: Cell) -> String {
        match c {
            Cell::Text(s) => s,
            Cell::Null => "<null>".into(),
            Cell::Bad(_, d, _) => format!("<bad: {d}>"),
        }
    }

    #[test]
    fn decimals_keep_their_scale_and_sign() {
        assert_eq!(decimal(1250, 2), "12.50");
        assert_eq!(decimal(-5, 3), "-0.005");
        assert_eq!(decimal(0, 2), "0.00");
        assert_eq!(decimal(42, 0), "42");
        assert_eq!(decimal(42, -2), "4200");
        assert_eq!(big_endian(&[0xFF, 0x85]), Some(-123));
        assert_eq!(big_endian(&[0x30, 0x39]), Some(12345));
        assert_eq!(big_endian(&[0; 17]), None);
    }

    #[test]
    fn dates_times_and_timestamps() {
        assert_eq!(text(date(0)), "1970-01-01");
        assert_eq!(text(date(-1)), "1969-12-31");
        assert_eq!(text(date(19_000)), "2022-01-08");
        assert_eq!(text(time(3_723_004, Unit::Millis)), "01:02:03.004");
        assert_eq!(
            text(timestamp(0, Unit::Micros, true)),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            text(timestamp(-1, Unit::Millis, false)),
            "1969-12-31T23:59:59.999"
        );
        assert_eq!(
            text(timestamp(1_700_000_000_123_456, Unit::Micros, true)),
            "2023-11-14T22:13:20.123456Z"
        );
        assert!(matches!(date(i64::MAX / 2), Cell::Bad(..)));
    }

    #[test]
    fn bytes_that_are_not_text_are_bad() {
        assert_eq!(text(Kind::Text.bytes("Köln".as_bytes())), "Köln");
        match Kind::Text.bytes(b"K\xF6ln") {
            Cell::Bad(reason, detail, _) => {
                assert_eq!(reason, QuarantineReason::InvalidUtf8);
                assert!(detail.contains("byte 1"), "{detail}");
            }
            _ => panic!("not UTF-8 must be bad"),
        }
        assert_eq!(
            text(Kind::Uuid.bytes(&[0x12; 16])),
            "12121212-1212-1212-1212-121212121212"
        );
        assert!(matches!(
            Kind::Float.float(f64::NAN, "NaN".into()),
            Cell::Bad(..)
        ));
    }
}
