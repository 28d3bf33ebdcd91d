//! Rows, values and types: the data that flows between operators.
//!
//! A [`Row`] is a packed encoding of [`Datum`]s laid out by a [`Schema`] (see [`row`]). Rows
//! are what differential collections hold and what timely exchanges between workers.

pub mod decimal;
pub mod row;
pub mod time;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use row::{ArrayRef, Datum, Row, RowPacker, Spans, Value};

/// A collection of rows at epoch times: what sources produce, operators transform and sinks
/// write.
pub type RowCollection<'s> =
    differential_dataflow::VecCollection<'s, crate::timestamp::Time, Row, crate::timestamp::Diff>;

/// The SQL types ddflow knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// BOOLEAN.
    Bool,
    /// BIGINT (all integer widths are widened to 64 bits).
    Int,
    /// DOUBLE.
    Float,
    /// STRING.
    String,
    /// TIMESTAMP, held as milliseconds since the Unix epoch.
    Timestamp,
    /// DATE, held as days since the Unix epoch.
    Date,
    /// INTERVAL DAY TO SECOND, held as milliseconds.
    Interval,
    /// `DECIMAL(precision, scale)`, exact: held as the integer count of `10^-scale` (see
    /// [`decimal`]).
    Decimal(u8, u8),
    /// `ARRAY<t>` of a scalar type (arrays do not nest).
    Array(Elem),
}

/// The element type of an `ARRAY`: any type but an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Elem {
    /// BOOLEAN.
    Bool,
    /// BIGINT.
    Int,
    /// DOUBLE.
    Float,
    /// STRING.
    String,
    /// TIMESTAMP.
    Timestamp,
    /// DATE.
    Date,
    /// INTERVAL DAY TO SECOND.
    Interval,
    /// DECIMAL(p, s).
    Decimal(u8, u8),
}

impl Elem {
    /// The element type as a type.
    pub fn ty(self) -> DataType {
        match self {
            Elem::Bool => DataType::Bool,
            Elem::Int => DataType::Int,
            Elem::Float => DataType::Float,
            Elem::String => DataType::String,
            Elem::Timestamp => DataType::Timestamp,
            Elem::Date => DataType::Date,
            Elem::Interval => DataType::Interval,
            Elem::Decimal(p, s) => DataType::Decimal(p, s),
        }
    }

    /// `ty` as an element type; `None` for an array.
    pub fn of(ty: DataType) -> Option<Elem> {
        Some(match ty {
            DataType::Bool => Elem::Bool,
            DataType::Int => Elem::Int,
            DataType::Float => Elem::Float,
            DataType::String => Elem::String,
            DataType::Timestamp => Elem::Timestamp,
            DataType::Date => Elem::Date,
            DataType::Interval => Elem::Interval,
            DataType::Decimal(p, s) => Elem::Decimal(p, s),
            DataType::Array(_) => return None,
        })
    }
}

impl DataType {
    /// The SQL spelling used in plans and messages.
    pub fn sql_name(self) -> &'static str {
        match self {
            DataType::Bool => "BOOLEAN",
            DataType::Int => "BIGINT",
            DataType::Float => "DOUBLE",
            DataType::String => "STRING",
            DataType::Timestamp => "TIMESTAMP",
            DataType::Date => "DATE",
            DataType::Interval => "INTERVAL DAY TO SECOND",
            DataType::Decimal(..) => "DECIMAL",
            DataType::Array(_) => "ARRAY",
        }
    }

    /// Whether values of this type take part in arithmetic.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            DataType::Int | DataType::Float | DataType::Decimal(..)
        )
    }

    /// The scale of a `DECIMAL`; 0 for `BIGINT` (a `DECIMAL(19, 0)`).
    pub fn scale(self) -> u8 {
        match self {
            DataType::Decimal(_, s) => s,
            _ => 0,
        }
    }

    /// Whether `CAST(x AS to)` is defined for an `x` of this type (as in Flink: anything
    /// to and from text, numbers and BOOLEAN among themselves, numbers to and from TIMESTAMP
    /// as milliseconds, DATE to and from TIMESTAMP). Other pairs are refused when planned.
    pub fn casts_to(self, to: DataType) -> bool {
        use DataType::*;
        let number = |t: DataType| t.is_numeric() || t == Bool;
        self == to
            || to == String
            || self == String && !matches!(to, Interval | Array(_))
            || number(self) && number(to)
            || matches!(
                (self, to),
                (Int | Float, Timestamp) | (Timestamp, Int | Float)
            )
            || matches!((self, to), (Date, Timestamp) | (Timestamp, Date))
    }

    /// The `DECIMAL(p, s)` an exact number (`BIGINT` or `DECIMAL`) is, as an operand.
    pub fn as_decimal(self) -> Option<(u8, u8)> {
        match self {
            DataType::Int => Some((19, 0)),
            DataType::Decimal(p, s) => Some((p, s)),
            _ => None,
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Decimal(p, s) => write!(f, "DECIMAL({p}, {s})"),
            DataType::Array(e) => write!(f, "ARRAY<{}>", e.ty()),
            t => f.write_str(t.sql_name()),
        }
    }
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name as written (compared case-insensitively).
    pub name: String,
    /// Column type.
    pub ty: DataType,
}

/// The columns of a relation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    /// The columns.
    pub columns: Vec<Column>,
}

impl Schema {
    /// A schema from `(name, type)` pairs.
    pub fn new(columns: impl IntoIterator<Item = (impl Into<String>, DataType)>) -> Self {
        Schema {
            columns: columns
                .into_iter()
                .map(|(name, ty)| Column {
                    name: name.into(),
                    ty,
                })
                .collect(),
        }
    }

    /// The index of a column, compared case-insensitively.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// SQL text of a value of type `ty`: what `CAST(x AS STRING)` gives and the console prints.
///
/// DOUBLE is written as Flink (Java's `Double.toString`) writes it: the shortest digits that
/// read back to the same value, plain between 10^-3 and 10^7 (`1.0`, `0.25`), scientific
/// outside (`1.0E300`), and `NaN`, `Infinity`, `-Infinity`. TIMESTAMP is
/// `yyyy-MM-dd HH:mm:ss.SSS` (UTC).
pub fn format_value(d: Datum<'_>, ty: DataType) -> String {
    match (d, ty) {
        (Datum::Int(ms), DataType::Timestamp) => format_timestamp(ms),
        (Datum::Int(days), DataType::Date) => format_date(days),
        (Datum::Int(ms), DataType::Interval) => format_interval(ms),
        (Datum::Decimal(m), DataType::Decimal(_, s)) => decimal::format(m.get(), s),
        // As Flink writes an array as text: `[a, b, NULL]`.
        (Datum::Array(a), DataType::Array(e)) => {
            let items: Vec<String> = a.iter().map(|d| format_value(d, e.ty())).collect();
            format!("[{}]", items.join(", "))
        }
        (d, _) => d.to_string(),
    }
}

/// A DOUBLE as Flink prints it (see [`format_value`]).
pub fn format_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    if (1e-3..1e7).contains(&x.abs()) {
        // Rust prints the shortest round-trip digits, without an exponent in this range.
        let plain = x.to_string();
        return if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        };
    }
    let sci = format!("{x:e}"); // shortest digits: "1e300", "-1.5e-7"
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}

/// Milliseconds since the Unix epoch as `yyyy-MM-dd HH:mm:ss.SSS` (UTC), as Flink writes a
/// `TIMESTAMP(3)`; a value out of chrono's range as the number.
pub fn format_timestamp(ms: i64) -> String {
    let mut out = String::with_capacity(23);
    write_timestamp(&mut out, ms);
    out
}

/// [`format_timestamp`] appended to `out`.
pub fn write_timestamp(out: &mut String, ms: i64) {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let _ = match chrono::DateTime::from_timestamp_millis(ms) {
        // Four-digit years written field by field (chrono's `%Y` pads them the same way):
        // a sink writes one per row, and interpreting a format string was most of its cost.
        Some(t) if (0..=9999).contains(&t.year()) => write!(
            out,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.timestamp_subsec_millis()
        ),
        Some(t) => write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.3f")),
        None => write!(out, "{ms}"),
    };
}

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// Days since the Unix epoch as `yyyy-MM-dd`, as Flink writes a DATE; out of range, the number.
pub fn format_date(days: i64) -> String {
    match days
        .checked_mul(DAY_MS)
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}

/// A DATE written `yyyy-MM-dd` as days since the Unix epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() / DAY_MS)
}

/// An INTERVAL DAY TO SECOND as Flink writes it: `+d hh:mm:ss.SSS` (`+0 00:00:04.000`).
pub fn format_interval(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let ms = ms.unsigned_abs();
    let (s, ms) = (ms / 1000, ms % 1000);
    let (m, s) = (s / 60, s % 60);
    let (h, m) = (m / 60, m % 60);
    let (d, h) = (h / 24, h % 24);
    format!("{sign}{d} {h:02}:{m:02}:{s:02}.{ms:03}")
}

/// Parse a TIMESTAMP written as `yyyy-MM-dd[ HH:mm[:ss[.fff]]]` (or with `T`, and an optional
/// trailing `Z`), as UTC milliseconds since the Unix epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    if let Some(ms) = plain_timestamp(text.as_bytes()) {
        return Some(ms);
    }
    let t = text.trim().trim_end_matches('Z').replacen('T', " ", 1);
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(&t, format) {
            return Some(dt.and_utc().timestamp_millis());
        }
    }
    chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_millis())
}

/// The common form `yyyy-MM-dd HH:mm:ss[.fff...]` (or with `T`, and a trailing `Z`) read
/// without a format string, as [`parse_timestamp`]'s general path would read it: milliseconds,
/// fractions beyond them truncated. `None` for anything else (leap seconds included), which the
/// general path then reads.
fn plain_timestamp(b: &[u8]) -> Option<i64> {
    let b = b.strip_suffix(b"Z").unwrap_or(b);
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b' ' | b'T') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let millis = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if !digits.is_empty() && digits.len() <= 9 => {
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            (digits.iter().chain([b'0', b'0'].iter()))
                .take(3)
                .fold(0, |n, &c| n * 10 + i64::from(c - b'0'))
        }
        _ => return None,
    };
    let days = epoch_days(i64::from(num(0..4)?), num(5..7)?, num(8..10)?)?;
    Some(
        ((days * 24 + i64::from(hour)) * 60 + i64::from(minute)) * 60_000
            + i64::from(second) * 1000
            + millis,
    )
}

/// Days from 1970-01-01 to the proleptic Gregorian date `year-month-day`, `None` when there is
/// no such date: the civil-days arithmetic (years counted from March, in 400-year eras), which
/// every timestamp a JSON record carries goes through.
fn epoch_days(year: i64, month: u32, day: u32) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let length = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if day == 0 || day > length {
        return None;
    }
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let of_era = year - era * 400;
    let of_year = (153 * i64::from((month + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    let of_era_days = of_era * 365 + of_era / 4 - of_era / 100 + of_year;
    Some(era * 146_097 + of_era_days - 719_468)
}

/// A value of type `ty` as JSON, as Flink's JSON format writes it: numbers as numbers, except
/// the DOUBLE values JSON cannot hold, written as the strings `"NaN"`, `"Infinity"` and
/// `"-Infinity"` (so they stay distinct from NULL and from each other), and TIMESTAMP as
/// `"yyyy-MM-dd HH:mm:ss.SSS"`. A negative zero is written as `0.0`: it equals zero, so as a
/// key it must have the same text.
pub fn value_to_json(d: Datum<'_>, ty: DataType) -> serde_json::Value {
    match (d, ty) {
        (Datum::Null, _) => serde_json::Value::Null,
        (Datum::Bool(b), _) => serde_json::Value::Bool(b),
        (Datum::Int(ms), DataType::Timestamp) => serde_json::Value::String(format_timestamp(ms)),
        (Datum::Int(ms), DataType::Interval) => serde_json::Value::String(format_interval(ms)),
        (Datum::Int(days), DataType::Date) => serde_json::Value::String(format_date(days)),
        (Datum::Decimal(m), DataType::Decimal(_, s)) => decimal_to_json(m.get(), s),
        (Datum::Int(i), _) => serde_json::Value::from(i),
        (Datum::Float(f), _) => {
            let x = if f.0 == 0.0 { 0.0 } else { f.0 };
            match serde_json::Number::from_f64(x) {
                Some(n) => serde_json::Value::Number(n),
                None => serde_json::Value::String(format_double(x)),
            }
        }
        (Datum::Str(s), _) => serde_json::Value::String(s.to_owned()),
        (Datum::Decimal(m), _) => decimal_to_json(m.get(), 0),
        (Datum::Array(a), ty) => {
            let e = match ty {
                DataType::Array(e) => e.ty(),
                _ => DataType::String,
            };
            serde_json::Value::Array(a.iter().map(|d| value_to_json(d, e)).collect())
        }
    }
}

impl fmt::Display for Datum<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Null => f.write_str("NULL"),
            Datum::Bool(b) => write!(f, "{b}"),
            Datum::Int(i) => write!(f, "{i}"),
            Datum::Float(x) => f.write_str(&format_double(x.0)),
            Datum::Str(s) => f.write_str(s),
            // The scale is the column's: without it, the mantissa.
            Datum::Decimal(m) => write!(f, "{}", m.get()),
            Datum::Array(a) => {
                let items: Vec<String> = a.iter().map(|d| d.to_string()).collect();
                write!(f, "[{}]", items.join(", "))
            }
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Decimal(m, s) => f.write_str(&decimal::format(*m, *s)),
            v => v.datum().fmt(f),
        }
    }
}

/// A `DECIMAL` as JSON: a number where a double reads back to the same digits (as Flink
/// writes it, trailing zeros aside), else its exact text as a string, so no digit is lost.
fn decimal_to_json(m: i128, scale: u8) -> serde_json::Value {
    if let (0, Ok(i)) = (scale, i64::try_from(m)) {
        return serde_json::Value::from(i);
    }
    let text = decimal::format(m, scale);
    let x = decimal::to_f64(m, scale);
    match serde_json::Number::from_f64(x) {
        Some(n) if decimal::from_f64(x, scale) == Some(m) => serde_json::Value::Number(n),
        _ => serde_json::Value::String(text),
    }
}

/// A row as a JSON object keyed by the schema's column names, in column order; the fields of
/// a `ROW` column (columns named by their path, `person.id`) as a nested object.
pub fn row_to_json(schema: &Schema, row: &Row) -> serde_json::Map<String, serde_json::Value> {
    datums_to_json(schema, row.iter())
}

/// [`row_to_json`] of a row's values.
pub fn datums_to_json<'a>(
    schema: &Schema,
    datums: impl IntoIterator<Item = Datum<'a>>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut object = serde_json::Map::new();
    for (c, d) in schema.columns.iter().zip(datums) {
        let value = value_to_json(d, c.ty);
        // The fields of a `ROW` column (named by their path, `person.id`) nest.
        let mut path = c.name.split('.').peekable();
        let mut at = &mut object;
        while let Some(part) = path.next() {
            if path.peek().is_none() {
                at.insert(part.to_string(), value);
                break;
            }
            let inner = at
                .entry(part.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            match inner {
                serde_json::Value::Object(map) => at = map,
                _ => break, // a plain column and a ROW of one name: the plain one stays
            }
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordered_float::OrderedFloat;

    /// Every date of years 0 to 9999 (and the days that are no date) counts as chrono counts.
    #[test]
    fn epoch_days_are_chronos() {
        for year in (0..=9999).step_by(7).chain([1900, 2000, 2024, 2100]) {
            for month in 0..=13 {
                for day in 0..=32 {
                    let want = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)
                        .map(|d| i64::from(chrono::Datelike::num_days_from_ce(&d) - 719_163));
                    assert_eq!(epoch_days(year, month, day), want, "{year}-{month}-{day}");
                }
            }
        }
    }

    #[test]
    fn intervals_print_as_flink_prints_them() {
        assert_eq!(format_interval(4_000), "+0 00:00:04.000");
        assert_eq!(format_interval(90 * 60_000), "+0 01:30:00.000");
        assert_eq!(format_interval(-(2 * 86_400_000 + 1)), "-2 00:00:00.001");
    }

    #[test]
    fn row_fields_are_written_as_nested_objects() {
        let schema = Schema::new([
            ("k", DataType::Int),
            ("p.id", DataType::Int),
            ("p.at.city", DataType::String),
        ]);
        let row = Row::pack([Datum::Int(1), Datum::Null, Datum::Str("x")]);
        assert_eq!(
            serde_json::Value::Object(row_to_json(&schema, &row)).to_string(),
            r#"{"k":1,"p":{"id":null,"at":{"city":"x"}}}"#
        );
    }

    #[test]
    fn doubles_print_as_flink_prints_them() {
        let cases = [
            (1.0, "1.0"),
            (0.25, "0.25"),
            (-3.5, "-3.5"),
            (1e300, "1.0E300"),
            (1.5e-7, "1.5E-7"),
            (12345678.0, "1.2345678E7"),
            (0.001, "0.001"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (0.1 + 0.2, "0.30000000000000004"),
        ];
        for (x, want) in cases {
            assert_eq!(format_double(x), want, "{x:?}");
        }
    }

    #[test]
    fn non_finite_doubles_are_distinct_json() {
        let j = |x: f64| value_to_json(Datum::Float(OrderedFloat(x)), DataType::Float);
        let texts: Vec<String> = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5]
            .into_iter()
            .map(|x| j(x).to_string())
            .chain([value_to_json(Datum::Null, DataType::Float).to_string()])
            .collect();
        assert_eq!(
            texts,
            ["\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "1.5", "null"]
        );
        assert_eq!(j(-0.0), j(0.0));
    }

    #[test]
    fn timestamps_print_and_parse() {
        assert_eq!(
            format_timestamp(1_764_078_596_123),
            "2025-11-25 13:49:56.123"
        );
        assert_eq!(
            parse_timestamp("2025-11-25 13:49:56.123"),
            Some(1_764_078_596_123)
        );
        assert_eq!(
            parse_timestamp("2025-11-25T13:49:56.123Z"),
            Some(1_764_078_596_123)
        );
        assert_eq!(parse_timestamp("2025-11-25"), Some(1_764_028_800_000));
        assert_eq!(parse_timestamp("yesterday"), None);
        // Field by field writes what chrono's format string writes, the years it leaves to
        // chrono (before year 0, after 9999) and the times it cannot hold aside.
        for ms in [
            0,
            -1,
            999,
            1_436_918_400_250,
            253_402_300_799_999,
            253_402_300_800_000,
            -62_167_219_200_000,
            -62_167_219_200_001,
            i64::MAX,
        ] {
            let general = chrono::DateTime::from_timestamp_millis(ms).map_or(ms.to_string(), |t| {
                t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
            });
            assert_eq!(format_timestamp(ms), general, "{ms}");
        }
    }

    /// The fast path reads what the general (format string) path reads, and leaves it the
    /// rest.
    #[test]
    fn plain_timestamps_read_as_the_general_path_does() {
        let general = |t: &str| {
            let t = t.trim().trim_end_matches('Z').replacen('T', " ", 1);
            chrono::NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|dt| dt.and_utc().timestamp_millis())
        };
        for t in [
            "2025-11-25 13:49:56",
            "2025-11-25 13:49:56.1",
            "2025-11-25 13:49:56.12",
            "2025-11-25 13:49:56.123",
            "2025-11-25 13:49:56.123456789",
            "2015-07-15T00:00:01.999Z",
            "1969-12-31 23:59:59.999",
            "0001-01-01 00:00:00",
            "2024-02-29 12:00:00",
        ] {
            assert_eq!(plain_timestamp(t.as_bytes()), general(t), "{t}");
            assert!(plain_timestamp(t.as_bytes()).is_some(), "{t}");
        }
        for t in [
            "2023-02-29 12:00:00",
            "2025-11-25 24:00:00",
            "2025-11-25 13:49:60",
            "2025-11-25 13:49:56.",
            "2025-11-25 13:49:56.1234567890",
            "2025-11-25 13:49",
            "2025/11/25 13:49:56",
            "+2025-11-25 13:49:56",
        ] {
            assert_eq!(plain_timestamp(t.as_bytes()), None, "{t}");
        }
    }
}
