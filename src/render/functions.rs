//! What each scalar function of [`crate::plan::functions::CATALOG`] computes. The planner
//! has checked argument counts and types; a NULL argument gives NULL (except where SQL says
//! otherwise: `CONCAT_WS`, `COALESCE`, `IF`), and so does a value a function cannot
//! take (a negative pad length, a time outside the calendar). Computed strings go into the
//! row's arena.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;

use ordered_float::OrderedFloat;
use regex::Regex;

use crate::data::decimal::{self, Mantissa};
use crate::data::time::{self, Field, DEFAULT_PATTERN};
use crate::data::{parse_timestamp, ArrayRef, Datum, Row};
use crate::plan::ir::{Expr, ScalarFunc};
use crate::render::scalar::{as_f64, eval, is_true, raise, Arena};

/// Compiled patterns kept per worker thread; a pattern computed per row cannot grow it past
/// this many (it starts over).
const REGEX_CACHE: usize = 256;

thread_local! {
    static REGEXES: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// Call `f` with the compiled `pattern` (`None` when it does not compile).
fn with_regex<R>(pattern: &str, f: impl FnOnce(Option<&Regex>) -> R) -> R {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            if cache.len() >= REGEX_CACHE {
                cache.clear();
            }
            cache.insert(pattern.to_string(), Regex::new(pattern).ok());
        }
        f(cache.get(pattern).and_then(Option::as_ref))
    })
}

/// Evaluate `func` over `args`.
pub fn call<'a>(
    func: ScalarFunc,
    args: &'a [Expr],
    row: &[Datum<'a>],
    arena: &'a Arena,
) -> Datum<'a> {
    let arg = |i: usize| args.get(i).map_or(Datum::Null, |e| eval(e, row, arena));
    let string = |d: &str| Datum::Str(arena.alloc_str(d));
    match func {
        ScalarFunc::Coalesce => args
            .iter()
            .map(|e| eval(e, row, arena))
            .find(|d| !d.is_null())
            .unwrap_or(Datum::Null),
        ScalarFunc::Nullif => {
            let (a, b) = (arg(0), arg(1));
            if a.sql_cmp(&b) == Some(std::cmp::Ordering::Equal) {
                Datum::Null
            } else {
                a
            }
        }
        ScalarFunc::If => {
            if is_true(arg(0)) {
                arg(1)
            } else {
                arg(2)
            }
        }
        ScalarFunc::Concat => {
            // NULL when any argument is (as Flink; CONCAT_WS skips them instead).
            let mut out = bumpalo::collections::String::new_in(arena);
            for d in args.iter().map(|e| eval(e, row, arena)) {
                if d.is_null() {
                    return Datum::Null;
                }
                let _ = write!(out, "{d}");
            }
            Datum::Str(out.into_bump_str())
        }
        ScalarFunc::ConcatWs => {
            let Datum::Str(sep) = arg(0) else {
                return Datum::Null;
            };
            let mut out = bumpalo::collections::String::new_in(arena);
            let values = args[1..].iter().map(|e| eval(e, row, arena));
            for (i, d) in values.filter(|d| !d.is_null()).enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                let _ = write!(out, "{d}");
            }
            Datum::Str(out.into_bump_str())
        }
        // A projection gives it from the record's time (see `crate::render`).
        ScalarFunc::ProcTime => Datum::Null,
        ScalarFunc::Lower => map_str(arg(0), arena, |s| s.to_lowercase()),
        ScalarFunc::Upper => map_str(arg(0), arena, |s| s.to_uppercase()),
        ScalarFunc::Initcap => map_str(arg(0), arena, initcap),
        ScalarFunc::Trim => map_borrowed(arg(0), str::trim),
        ScalarFunc::Ltrim => map_borrowed(arg(0), str::trim_start),
        ScalarFunc::Rtrim => map_borrowed(arg(0), str::trim_end),
        ScalarFunc::Length => match arg(0) {
            Datum::Str(s) => Datum::Int(s.chars().count() as i64),
            _ => Datum::Null,
        },
        ScalarFunc::Substr => substr(arg(0), arg(1), args.get(2).map(|e| eval(e, row, arena))),
        ScalarFunc::Replace => match (arg(0), arg(1), arg(2)) {
            (Datum::Str(s), Datum::Str(""), Datum::Str(_)) => Datum::Str(s),
            (Datum::Str(s), Datum::Str(from), Datum::Str(to)) => string(&s.replace(from, to)),
            _ => Datum::Null,
        },
        ScalarFunc::Lpad | ScalarFunc::Rpad => match (arg(0), arg(1), arg(2)) {
            (Datum::Str(s), Datum::Int(n), Datum::Str(pad)) if n >= 0 => {
                pad_to(s, n as usize, pad, func == ScalarFunc::Lpad)
                    .map_or(Datum::Null, |p| string(&p))
            }
            _ => Datum::Null,
        },
        ScalarFunc::Position => match (arg(0), arg(1)) {
            (Datum::Str(sub), Datum::Str(s)) => Datum::Int(
                s.find(sub)
                    .map_or(0, |byte| s[..byte].chars().count() as i64 + 1),
            ),
            _ => Datum::Null,
        },
        ScalarFunc::SplitIndex => match (arg(0), arg(1), arg(2)) {
            (Datum::Str(s), Datum::Str(d), Datum::Int(i)) if i >= 0 && !d.is_empty() => {
                s.split(d).nth(i as usize).map_or(Datum::Null, Datum::Str)
            }
            _ => Datum::Null,
        },
        ScalarFunc::Regexp => match (arg(0), arg(1)) {
            (Datum::Str(s), Datum::Str(p)) => {
                with_regex(p, |r| r.map_or(Datum::Null, |r| Datum::Bool(r.is_match(s))))
            }
            _ => Datum::Null,
        },
        ScalarFunc::RegexpExtract => {
            let group = match args.get(2).map(|e| eval(e, row, arena)) {
                None => 0,
                Some(Datum::Int(g)) if g >= 0 => g as usize,
                Some(_) => return Datum::Null,
            };
            match (arg(0), arg(1)) {
                (Datum::Str(s), Datum::Str(p)) => with_regex(p, |r| {
                    r.and_then(|r| r.captures(s))
                        .and_then(|c| c.get(group))
                        .map_or(Datum::Null, |m| Datum::Str(&s[m.range()]))
                }),
                _ => Datum::Null,
            }
        }
        ScalarFunc::RegexpReplace => match (arg(0), arg(1), arg(2)) {
            (Datum::Str(s), Datum::Str(p), Datum::Str(to)) => with_regex(p, |r| {
                r.map_or(Datum::Null, |r| {
                    string(&r.replace_all(s, java_replacement(to).as_str()))
                })
            }),
            _ => Datum::Null,
        },
        ScalarFunc::ArrayConstruct => {
            let row = Row::pack(args.iter().map(|e| eval(e, row, arena)));
            Datum::Array(ArrayRef::in_arena(&row, arena))
        }
        ScalarFunc::ArrayElement => match (arg(0), arg(1)) {
            (Datum::Array(a), Datum::Int(i)) if i >= 1 => {
                a.iter().nth((i - 1) as usize).unwrap_or(Datum::Null)
            }
            _ => Datum::Null,
        },
        ScalarFunc::Cardinality => match arg(0) {
            Datum::Array(a) => Datum::Int(a.len() as i64),
            _ => Datum::Null,
        },
        ScalarFunc::ArrayContains | ScalarFunc::ArrayPosition => match arg(0) {
            Datum::Array(a) => {
                let x = arg(1);
                let at = a.iter().position(|d| {
                    if x.is_null() {
                        d.is_null()
                    } else {
                        d.sql_cmp(&x) == Some(std::cmp::Ordering::Equal)
                    }
                });
                if func == ScalarFunc::ArrayContains {
                    Datum::Bool(at.is_some())
                } else {
                    Datum::Int(at.map_or(0, |i| i as i64 + 1))
                }
            }
            _ => Datum::Null,
        },
        ScalarFunc::ArrayJoin => match (arg(0), arg(1)) {
            (Datum::Array(a), Datum::Str(sep)) => {
                let null_text = match args.get(2).map(|e| eval(e, row, arena)) {
                    Some(Datum::Str(t)) => Some(t),
                    Some(_) => return Datum::Null,
                    None => None,
                };
                let mut out = bumpalo::collections::String::new_in(arena);
                let mut first = true;
                for d in a.iter() {
                    let text = match d {
                        Datum::Str(s) => s,
                        _ => match null_text {
                            Some(t) => t,
                            None => continue,
                        },
                    };
                    if !first {
                        out.push_str(sep);
                    }
                    out.push_str(text);
                    first = false;
                }
                Datum::Str(out.into_bump_str())
            }
            _ => Datum::Null,
        },
        ScalarFunc::Split => match (arg(0), arg(1)) {
            (Datum::Str(s), Datum::Str(sep)) => {
                let row: Row = if sep.is_empty() {
                    let mut buf = [0u8; 4];
                    s.chars()
                        .map(|c| Datum::Str(arena.alloc_str(c.encode_utf8(&mut buf))))
                        .collect()
                } else {
                    s.split(sep).map(Datum::Str).collect()
                };
                Datum::Array(ArrayRef::in_arena(&row, arena))
            }
            _ => Datum::Null,
        },
        ScalarFunc::DecimalDiv => match (arg(0), arg(1), arg(2)) {
            (Datum::Decimal(_), Datum::Decimal(b), _) if b.get() == 0 => {
                raise(|| "division by zero".into())
            }
            (Datum::Decimal(a), Datum::Decimal(b), Datum::Int(shift)) => {
                match decimal::divide(a.get(), b.get(), shift as i32) {
                    Some(q) => Datum::Decimal(Mantissa::new(q)),
                    None => {
                        raise(|| "DECIMAL overflow: the quotient has more than 38 digits".into())
                    }
                }
            }
            _ => Datum::Null,
        },
        ScalarFunc::Abs => match arg(0) {
            Datum::Int(i) => i.checked_abs().map_or_else(
                || raise(|| format!("BIGINT overflow in ABS({i})")),
                Datum::Int,
            ),
            Datum::Float(f) => Datum::Float(OrderedFloat(f.0.abs())),
            Datum::Decimal(m) => Datum::Decimal(Mantissa::new(m.get().abs())),
            _ => Datum::Null,
        },
        // On a DECIMAL, the planner passes its scale as the last argument (see
        // `decimal_rounding` in the planner).
        ScalarFunc::Floor | ScalarFunc::Ceil => match (arg(0), arg(1)) {
            (Datum::Decimal(m), Datum::Int(scale)) => {
                let unit = decimal::pow10(scale as u32);
                let (m, ceil) = (m.get(), func == ScalarFunc::Ceil);
                let whole = if ceil {
                    -(-m).div_euclid(unit)
                } else {
                    m.div_euclid(unit)
                };
                Datum::Decimal(Mantissa::new(whole))
            }
            (d, _) if func == ScalarFunc::Ceil => map_float(d, f64::ceil),
            (d, _) => map_float(d, f64::floor),
        },
        ScalarFunc::Round => match (arg(0), args.get(1).map(|e| eval(e, row, arena))) {
            (Datum::Decimal(m), Some(Datum::Int(digits))) => match arg(2) {
                Datum::Int(scale) => round_decimal(m.get(), digits, scale),
                _ => Datum::Null,
            },
            (d, None) => map_float(d, f64::round),
            (d, Some(Datum::Int(digits))) => round(d, digits),
            (_, Some(_)) => Datum::Null,
        },
        ScalarFunc::Power => match (as_f64(arg(0)), as_f64(arg(1))) {
            (Some(x), Some(y)) => float(x.powf(y)),
            _ => Datum::Null,
        },
        ScalarFunc::Sqrt => as_f64(arg(0)).map_or(Datum::Null, |x| float(x.sqrt())),
        ScalarFunc::Ln => as_f64(arg(0)).map_or(Datum::Null, |x| float(x.ln())),
        ScalarFunc::Log10 => as_f64(arg(0)).map_or(Datum::Null, |x| float(x.log10())),
        ScalarFunc::Exp => as_f64(arg(0)).map_or(Datum::Null, |x| float(x.exp())),
        ScalarFunc::DateFormat => {
            let ms = match arg(0) {
                Datum::Int(ms) => Some(ms),
                Datum::Str(s) => parse_timestamp(s),
                _ => None,
            };
            match (ms, arg(1)) {
                (Some(ms), Datum::Str(p)) => {
                    time::format_millis(ms, p).map_or(Datum::Null, |t| string(&t))
                }
                _ => Datum::Null,
            }
        }
        ScalarFunc::Year => field(arg(0), Field::Year),
        ScalarFunc::Month => field(arg(0), Field::Month),
        ScalarFunc::DayOfMonth => field(arg(0), Field::Day),
        ScalarFunc::Hour => field(arg(0), Field::Hour),
        ScalarFunc::Minute => field(arg(0), Field::Minute),
        ScalarFunc::Second => field(arg(0), Field::Second),
        ScalarFunc::ToTimestamp => match pattern_arg(args.get(1).map(|e| eval(e, row, arena))) {
            Some(p) => match arg(0) {
                Datum::Str(s) if args.len() == 1 => {
                    parse_timestamp(s).map_or(Datum::Null, Datum::Int)
                }
                Datum::Str(s) => time::parse_millis(s, p).map_or(Datum::Null, Datum::Int),
                _ => Datum::Null,
            },
            None => Datum::Null,
        },
        ScalarFunc::ToDate => match (
            arg(0),
            pattern_arg(args.get(1).map(|e| eval(e, row, arena))),
        ) {
            (Datum::Str(s), _) if args.len() == 1 => {
                crate::data::parse_date(s).map_or(Datum::Null, Datum::Int)
            }
            (Datum::Str(s), Some(p)) => time::parse_millis(s, p).map_or(Datum::Null, |ms| {
                Datum::Int(ms.div_euclid(crate::data::DAY_MS))
            }),
            _ => Datum::Null,
        },
        ScalarFunc::UnixTimestamp => match (
            arg(0),
            pattern_arg(args.get(1).map(|e| eval(e, row, arena))),
        ) {
            (Datum::Str(s), Some(p)) => {
                time::parse_millis(s, p).map_or(Datum::Null, |ms| Datum::Int(ms.div_euclid(1000)))
            }
            _ => Datum::Null,
        },
        ScalarFunc::FromUnixtime => match (
            arg(0),
            pattern_arg(args.get(1).map(|e| eval(e, row, arena))),
        ) {
            (Datum::Int(secs), Some(p)) => secs
                .checked_mul(1000)
                .and_then(|ms| time::format_millis(ms, p))
                .map_or(Datum::Null, |t| string(&t)),
            _ => Datum::Null,
        },
        ScalarFunc::JsonValue | ScalarFunc::JsonQuery => match (arg(0), arg(1)) {
            (Datum::Str(json), Datum::Str(path)) => {
                json_path(json, path, func == ScalarFunc::JsonQuery)
                    .map_or(Datum::Null, |t| string(&t))
            }
            _ => Datum::Null,
        },
    }
}

/// A pattern argument, or Flink's default when there is none; `None` for a NULL pattern.
fn pattern_arg(d: Option<Datum<'_>>) -> Option<&str> {
    match d {
        None => Some(DEFAULT_PATTERN),
        Some(Datum::Str(p)) => Some(p),
        Some(_) => None,
    }
}

fn field(d: Datum<'_>, f: Field) -> Datum<'static> {
    match d {
        Datum::Int(ms) => time::field(ms, f).map_or(Datum::Null, Datum::Int),
        _ => Datum::Null,
    }
}

fn float(x: f64) -> Datum<'static> {
    Datum::Float(OrderedFloat(x))
}

/// `ROUND(x, digits)`, half away from zero; an integer rounds to tens, hundreds, ... with
/// negative `digits`.
/// `ROUND` of a mantissa at `scale` to `digits` places, half up, as a mantissa at the scale
/// the planner typed the result with: `min(digits, scale)`, and 0 for negative `digits`.
fn round_decimal(m: i128, digits: i64, scale: i64) -> Datum<'static> {
    let d = Mantissa::new;
    if digits >= scale {
        return Datum::Decimal(d(m));
    }
    let drop = (scale - digits.max(-38)).min(76) as u32;
    let Some(unit) = 10i128.checked_pow(drop) else {
        return Datum::Decimal(d(0));
    };
    let rounded = decimal::divide_half_up(m, unit);
    if digits >= 0 {
        return Datum::Decimal(d(rounded));
    }
    // Rounded to tens, hundreds, ...: back to scale 0.
    match rounded.checked_mul(decimal::pow10((-digits).min(38) as u32)) {
        Some(v) if decimal::in_range(v) => Datum::Decimal(d(v)),
        _ => raise(|| "DECIMAL overflow in ROUND".into()),
    }
}

fn round(d: Datum<'_>, digits: i64) -> Datum<'static> {
    match d {
        Datum::Int(i) if digits >= 0 => Datum::Int(i),
        Datum::Int(i) => {
            let Some(unit) = u32::try_from(-digits)
                .ok()
                .and_then(|e| 10i64.checked_pow(e))
            else {
                return Datum::Int(0);
            };
            let half = unit / 2;
            let r = if i >= 0 {
                (i + half) / unit
            } else {
                (i - half) / unit
            };
            r.checked_mul(unit).map_or(Datum::Null, Datum::Int)
        }
        Datum::Float(x) => {
            let scale = 10f64.powi(digits.clamp(-308, 308) as i32);
            float((x.0 * scale).round() / scale)
        }
        _ => Datum::Null,
    }
}

fn map_str<'a>(d: Datum<'a>, arena: &'a Arena, f: impl FnOnce(&str) -> String) -> Datum<'a> {
    match d {
        Datum::Str(s) => Datum::Str(arena.alloc_str(&f(s))),
        _ => Datum::Null,
    }
}

fn map_borrowed<'a>(d: Datum<'a>, f: impl FnOnce(&'a str) -> &'a str) -> Datum<'a> {
    match d {
        Datum::Str(s) => Datum::Str(f(s)),
        _ => Datum::Null,
    }
}

fn map_float(d: Datum<'_>, f: impl FnOnce(f64) -> f64) -> Datum<'_> {
    match d {
        Datum::Int(i) => Datum::Int(i),
        Datum::Float(x) => float(f(x.0)),
        _ => Datum::Null,
    }
}

/// `INITCAP`: the first letter of each run of letters and digits upper case, the rest lower.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

/// `s` padded with `pad` (repeated) to `n` characters, or cut to `n`; `None` when it needs
/// padding and `pad` is empty.
fn pad_to(s: &str, n: usize, pad: &str, left: bool) -> Option<String> {
    let len = s.chars().count();
    if len >= n {
        return Some(s.chars().take(n).collect());
    }
    if pad.is_empty() {
        return None;
    }
    let fill: String = pad.chars().cycle().take(n - len).collect();
    Some(if left { fill + s } else { format!("{s}{fill}") })
}

/// A Java replacement string (`$1` for a group, `\$` for a dollar sign) in the regex crate's
/// form (`${1}`, `$$`).
fn java_replacement(to: &str) -> String {
    let mut out = String::with_capacity(to.len());
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let _ = write!(out, "${{{digits}}}");
            }
            other => out.push(other),
        }
    }
    out
}

/// `JSON_VALUE` (a scalar, as text) or `JSON_QUERY` (an object or array, as JSON text) at a
/// path of the form `$.a.b[0]['c d']`; `None` when the text is not JSON, the path is not
/// there, or the value is not of the wanted kind.
fn json_path(json: &str, path: &str, query: bool) -> Option<String> {
    let owned: serde_json::Value = serde_json::from_str(json).ok()?;
    let mut value = &owned;
    let mut rest = path.trim().strip_prefix('$')?;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            value = value.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']")?;
            value = value.get(&r[..end])?;
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            value = value.get(r[..end].trim().parse::<usize>().ok()?)?;
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    match (value, query) {
        (serde_json::Value::Object(_) | serde_json::Value::Array(_), true) => {
            Some(value.to_string())
        }
        (serde_json::Value::String(s), false) => Some(s.clone()),
        (serde_json::Value::Number(n), false) => Some(n.to_string()),
        (serde_json::Value::Bool(b), false) => Some(b.to_string()),
        _ => None,
    }
}

/// `SUBSTRING(s, start [, len])` as Flink computes it: positions are 1-based, a start of 0
/// counts as 1, a negative start counts from the end (`-2` is the last two characters; before
/// the beginning gives `''`), `len` counts from the computed start, a negative `len` is NULL.
pub(crate) fn substr<'a>(s: Datum<'a>, start: Datum<'a>, len: Option<Datum<'a>>) -> Datum<'a> {
    let (Datum::Str(s), Datum::Int(start)) = (s, start) else {
        return Datum::Null;
    };
    let len = match len {
        None => None,
        Some(Datum::Int(l)) if l >= 0 => Some(usize::try_from(l).unwrap_or(usize::MAX)),
        Some(_) => return Datum::Null,
    };
    let chars = s.chars().count() as i64;
    let begin = match start {
        0 => 0,
        p if p > 0 => p - 1,
        p => chars + p,
    };
    if begin < 0 || begin >= chars {
        return Datum::Str("");
    }
    // A substring of the argument, borrowed: byte positions of the chosen characters.
    let byte = |n: usize| s.char_indices().nth(n).map_or(s.len(), |(b, _)| b);
    let from = byte(begin as usize);
    let to = match len {
        Some(l) => byte((begin as usize).saturating_add(l)),
        None => s.len(),
    };
    Datum::Str(&s[from..to])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{format_timestamp, Value};

    fn run(func: ScalarFunc, args: &[Value]) -> Value {
        let args: Vec<Expr> = args.iter().cloned().map(Expr::Literal).collect();
        let arena = Arena::new();
        call(func, &args, &[], &arena).to_value()
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn string_functions_follow_flink() {
        use ScalarFunc::*;
        assert_eq!(
            run(ConcatWs, &[s("-"), s("a"), Value::Null, Value::Int(3)]),
            s("a-3")
        );
        assert_eq!(run(ConcatWs, &[Value::Null, s("a")]), Value::Null);
        assert_eq!(run(Replace, &[s("banana"), s("an"), s("_")]), s("b__a"));
        assert_eq!(run(Lpad, &[s("7"), Value::Int(3), s("0")]), s("007"));
        assert_eq!(run(Rpad, &[s("hello"), Value::Int(3), s("x")]), s("hel"));
        assert_eq!(run(Lpad, &[s("a"), Value::Int(-1), s("x")]), Value::Null);
        assert_eq!(run(Initcap, &[s("hello wORLD-x1y")]), s("Hello World-X1y"));
        assert_eq!(run(Position, &[s("lo"), s("héllo")]), Value::Int(4));
        assert_eq!(run(Position, &[s("z"), s("abc")]), Value::Int(0));
        assert_eq!(
            run(SplitIndex, &[s("a,b,c"), s(","), Value::Int(1)]),
            s("b")
        );
        assert_eq!(
            run(SplitIndex, &[s("a,b,c"), s(","), Value::Int(3)]),
            Value::Null
        );
        assert_eq!(run(Ltrim, &[s("  a ")]), s("a "));
    }

    #[test]
    fn regular_expressions_follow_java() {
        use ScalarFunc::*;
        assert_eq!(run(Regexp, &[s("abc123"), s("[0-9]+")]), Value::Bool(true));
        let url = s("https://x.io/p?a=1&channel_id=42&b=2");
        assert_eq!(
            run(
                RegexpExtract,
                &[url.clone(), s("(&|^)channel_id=([^&]*)"), Value::Int(2)]
            ),
            s("42")
        );
        assert_eq!(run(RegexpExtract, &[url, s("nothing(x)")]), Value::Null);
        assert_eq!(
            run(RegexpExtract, &[s("foothebar"), s("foo(.*?)(bar)")]),
            s("foothebar")
        );
        assert_eq!(
            run(
                RegexpReplace,
                &[s("2026-11-25"), s("(\\d+)-(\\d+)"), s("$2/$1")]
            ),
            s("11/2026-25")
        );
        assert_eq!(
            run(RegexpReplace, &[s("a.b"), s("\\."), s("\\$")]),
            s("a$b")
        );
        assert_eq!(run(Regexp, &[s("x"), s("(")]), Value::Null);
    }

    #[test]
    fn numbers_conditions_time_and_json() {
        use ScalarFunc::*;
        let f = |x: f64| Value::Float(OrderedFloat(x));
        assert_eq!(run(Power, &[Value::Int(2), Value::Int(10)]), f(1024.0));
        assert_eq!(run(Sqrt, &[Value::Int(9)]), f(3.0));
        assert_eq!(run(Log10, &[Value::Int(1000)]), f(3.0));
        assert_eq!(run(Round, &[f(2.345), Value::Int(2)]), f(2.35));
        assert_eq!(
            run(Round, &[Value::Int(1250), Value::Int(-2)]),
            Value::Int(1300)
        );
        assert_eq!(
            run(Round, &[Value::Int(-1250), Value::Int(-2)]),
            Value::Int(-1300)
        );
        assert_eq!(run(Nullif, &[Value::Int(3), Value::Int(3)]), Value::Null);
        assert_eq!(run(Nullif, &[Value::Int(3), Value::Int(4)]), Value::Int(3));
        assert_eq!(run(If, &[Value::Null, s("a"), s("b")]), s("b"));
        let ms = parse_timestamp("2026-11-25 21:07:09.5").unwrap();
        assert_eq!(
            run(DateFormat, &[Value::Int(ms), s("yyyy-MM-dd HH:mm")]),
            s("2026-11-25 21:07")
        );
        assert_eq!(run(Hour, &[Value::Int(ms)]), Value::Int(21));
        assert_eq!(
            run(ToTimestamp, &[s("2026-11-25 21:07:09")]),
            Value::Int(ms - 500)
        );
        assert_eq!(
            run(UnixTimestamp, &[s("1970-01-01 00:01:40")]),
            Value::Int(100)
        );
        assert_eq!(
            run(FromUnixtime, &[Value::Int(100)]),
            s("1970-01-01 00:01:40")
        );
        assert_eq!(format_timestamp(ms), "2026-11-25 21:07:09.500");
        let json = s(r#"{"a":{"b":[1,{"c d":"x"}]},"n":2.5,"t":true}"#);
        assert_eq!(
            run(JsonValue, &[json.clone(), s("$.a.b[1]['c d']")]),
            s("x")
        );
        assert_eq!(run(JsonValue, &[json.clone(), s("$.n")]), s("2.5"));
        assert_eq!(run(JsonValue, &[json.clone(), s("$.a")]), Value::Null);
        assert_eq!(
            run(JsonQuery, &[json.clone(), s("$.a.b")]),
            s(r#"[1,{"c d":"x"}]"#)
        );
        assert_eq!(run(JsonValue, &[s("not json"), s("$.a")]), Value::Null);
    }
}
