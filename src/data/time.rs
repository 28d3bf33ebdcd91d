//! Date patterns as Flink writes them (Java `SimpleDateFormat` letters: `yyyy-MM-dd HH:mm:ss`),
//! translated to chrono's format items, and the calendar fields of a timestamp. Times are UTC.

use std::cell::RefCell;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike};

/// Flink's default pattern for `FROM_UNIXTIME`, `TO_TIMESTAMP` and `UNIX_TIMESTAMP`.
pub const DEFAULT_PATTERN: &str = "yyyy-MM-dd HH:mm:ss";

/// A Java date pattern as a chrono format string; an error names the letter it cannot use.
pub fn java_pattern(pattern: &str) -> Result<String, String> {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // 'quoted text'; '' is a quote.
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            while j < chars.len() && chars[j] != '\'' {
                push_literal(&mut out, chars[j]);
                j += 1;
            }
            if j == chars.len() {
                return Err("a quote is not closed".into());
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let item = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1) => "%-m",
            ('M', 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', 1) => "%-d",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', 1) => "%-H",
            ('H', _) => "%H",
            ('h', 1) => "%-I",
            ('h', _) => "%I",
            ('m', 1) => "%-M",
            ('m', _) => "%M",
            ('s', 1) => "%-S",
            ('s', _) => "%S",
            ('S', 1..=3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            // Times are UTC: the zone is always +0000 / Z.
            ('Z', _) => "+0000",
            ('X', _) => "Z",
            _ => {
                return Err(format!(
                    "the letter {c} ({n} times) is not a supported field"
                ))
            }
        };
        out.push_str(item);
        i += n;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

/// `ms` (UTC milliseconds) written with a Java pattern; `None` for a bad pattern or time.
pub fn format_millis(ms: i64, pattern: &str) -> Option<String> {
    let t = DateTime::from_timestamp_millis(ms)?;
    with_items(pattern, |items| {
        plain(&t, items).unwrap_or_else(|| t.format_with_items(items.iter()).to_string())
    })
}

/// `t` written with `items` when they are only literals and zero-padded years (0 to 9999),
/// months, days, hours, minutes and seconds, as most patterns are (`yyyy-MM-dd`, `HH:mm`),
/// without chrono's formatter (a sink of `DATE_FORMAT`s spent more there than in its
/// fields); `None` for any other item, which chrono's formatter then writes.
fn plain(t: &DateTime<chrono::Utc>, items: &[Item<'_>]) -> Option<String> {
    use chrono::format::{Numeric, Pad};
    use std::fmt::Write;
    let mut out = String::with_capacity(24);
    for item in items {
        match item {
            Item::Literal(s) | Item::Space(s) => out.push_str(s),
            Item::OwnedLiteral(s) | Item::OwnedSpace(s) => out.push_str(s),
            Item::Numeric(field, Pad::Zero) => {
                let (value, width) = match field {
                    Numeric::Year => (u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?, 4),
                    Numeric::Month => (t.month(), 2),
                    Numeric::Day => (t.day(), 2),
                    Numeric::Hour => (t.hour(), 2),
                    Numeric::Minute => (t.minute(), 2),
                    Numeric::Second => (t.second(), 2),
                    _ => return None,
                };
                let _ = write!(out, "{value:0width$}");
            }
            _ => return None,
        }
    }
    Some(out)
}

/// `f` over the chrono format items of the Java `pattern` (`None`: a pattern chrono cannot
/// write). A query's pattern is almost always a constant: each thread keeps the items of
/// the last few patterns, so a row does not translate and parse its pattern again (in
/// Nexmark q16, `DATE_FORMAT` twice per bid, that was 20% of the worker).
fn with_items<T>(pattern: &str, f: impl FnOnce(&[Item<'static>]) -> T) -> Option<T> {
    type Compiled = Vec<(Box<str>, Option<Vec<Item<'static>>>)>;
    thread_local! {
        static COMPILED: RefCell<Compiled> = const { RefCell::new(Vec::new()) };
    }
    COMPILED.with(|cell| {
        let mut compiled = cell.borrow_mut();
        let at = match compiled.iter().position(|(p, _)| &**p == pattern) {
            Some(at) => at,
            None => {
                if compiled.len() == 16 {
                    compiled.clear();
                }
                let items = (java_pattern(pattern).ok())
                    .and_then(|format| StrftimeItems::new(&format).parse_to_owned().ok());
                compiled.push((pattern.into(), items));
                compiled.len() - 1
            }
        };
        compiled[at].1.as_deref().map(f)
    })
}

/// Text read with a Java pattern, as UTC milliseconds; a date without a time is midnight.
pub fn parse_millis(text: &str, pattern: &str) -> Option<i64> {
    let format = java_pattern(pattern).ok()?;
    if let Ok(t) = NaiveDateTime::parse_from_str(text.trim(), &format) {
        return Some(t.and_utc().timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(text.trim(), &format)
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
}

/// A calendar field of a timestamp.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Year.
    Year,
    /// Month, 1 to 12.
    Month,
    /// Day of the month, 1 to 31.
    Day,
    /// Hour, 0 to 23.
    Hour,
    /// Minute.
    Minute,
    /// Second.
    Second,
}

/// `field` of the UTC time `ms`.
pub fn field(ms: i64, field: Field) -> Option<i64> {
    let t = DateTime::from_timestamp_millis(ms)?;
    Some(match field {
        Field::Year => i64::from(t.year()),
        Field::Month => i64::from(t.month()),
        Field::Day => i64::from(t.day()),
        Field::Hour => i64::from(t.hour()),
        Field::Minute => i64::from(t.minute()),
        Field::Second => i64::from(t.second()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_read_and_write_as_flink_does() {
        let ms = crate::data::parse_timestamp("2026-03-07 09:05:04.250").unwrap();
        assert_eq!(format_millis(ms, "yyyy-MM-dd").unwrap(), "2026-03-07");
        assert_eq!(format_millis(ms, "HH:mm").unwrap(), "09:05");
        assert_eq!(
            format_millis(ms, "yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap(),
            "2026-03-07T09:05:04.250"
        );
        assert_eq!(format_millis(ms, "d/M/yy 100%").unwrap(), "7/3/26 100%");
        // The plain path writes what chrono's formatter writes, and leaves it the rest.
        for ms in [
            0,
            ms,
            1_436_918_461_001,
            -62_167_219_200_001,
            253_402_300_800_000,
        ] {
            for pattern in [
                "yyyy-MM-dd",
                "HH:mm",
                "yyyy-MM-dd HH:mm:ss",
                "dd.MM.yyyy 'at' HH",
            ] {
                let t = DateTime::from_timestamp_millis(ms).unwrap();
                let general = with_items(pattern, |items| {
                    t.format_with_items(items.iter()).to_string()
                });
                assert_eq!(format_millis(ms, pattern), general, "{pattern} {ms}");
            }
        }
        assert_eq!(format_millis(ms, "''h a").unwrap(), "'9 AM");
        assert_eq!(
            parse_millis("2026-03-07 09:05:04", DEFAULT_PATTERN),
            Some(ms - 250)
        );
        assert_eq!(
            parse_millis("07.03.2026", "dd.MM.yyyy"),
            crate::data::parse_timestamp("2026-03-07")
        );
        assert_eq!(parse_millis("2026-03-07", DEFAULT_PATTERN), None);
        assert!(java_pattern("yyyy-qq").is_err());
        assert!(java_pattern("'open").is_err());
        assert_eq!(field(ms, Field::Minute), Some(5));
        assert_eq!(field(ms, Field::Day), Some(7));
    }
}
