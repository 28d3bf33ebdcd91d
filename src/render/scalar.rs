//! Evaluating scalar expressions on rows (the body of `map` and `filter`).
//!
//! SQL semantics: NULL in, NULL out (except `IS NULL`, `COALESCE`, `CONCAT`, and three-valued
//! `AND`/`OR`). Integer division by zero, integer overflow and a `CAST` that does not convert
//! yield NULL here (Flink fails the job), so one bad value never stops a stream; DOUBLE
//! arithmetic follows IEEE 754 (`1.0 / 0` is `Infinity`), as in Flink. The choices and how
//! they compare with Flink are listed in the README's "SQL semantics" section.

use ordered_float::OrderedFloat;

use crate::data::{format_value, parse_timestamp, DataType, Datum};
use crate::plan::ir::{BinaryOp, Expr, ScalarFunc, UnaryOp};
use crate::plan::like::like;

/// Evaluate `expr` on `row`.
pub fn eval(expr: &Expr, row: &[Datum]) -> Datum {
    match expr {
        Expr::Column(i) => row.get(*i).cloned().unwrap_or(Datum::Null),
        Expr::Literal(d) => d.clone(),
        Expr::Unary { op, expr } => unary(*op, eval(expr, row)),
        Expr::Binary { op, left, right } => binary(*op, left, right, row),
        Expr::Cast { expr, from, ty } => cast(eval(expr, row), *from, *ty),
        Expr::Like {
            expr,
            pattern,
            escape,
        } => match (eval(expr, row), eval(pattern, row)) {
            (Datum::Str(s), Datum::Str(p)) => {
                like(&s, &p, *escape).map_or(Datum::Null, Datum::Bool)
            }
            _ => Datum::Null,
        },
        Expr::IsNull { expr, negated } => Datum::Bool(eval(expr, row).is_null() != *negated),
        Expr::Call { func, args } => call(*func, args, row),
        Expr::Case {
            branches,
            otherwise,
        } => {
            for (cond, result) in branches {
                if is_true(&eval(cond, row)) {
                    return eval(result, row);
                }
            }
            eval(otherwise, row)
        }
    }
}

/// Whether a predicate value keeps a row: only TRUE does (NULL and FALSE drop it).
pub fn is_true(d: &Datum) -> bool {
    matches!(d, Datum::Bool(true))
}

fn unary(op: UnaryOp, v: Datum) -> Datum {
    match (op, v) {
        (UnaryOp::Not, Datum::Bool(b)) => Datum::Bool(!b),
        (UnaryOp::Neg, Datum::Int(i)) => i.checked_neg().map_or(Datum::Null, Datum::Int),
        (UnaryOp::Neg, Datum::Float(f)) => Datum::Float(-f),
        _ => Datum::Null,
    }
}

fn binary(op: BinaryOp, left: &Expr, right: &Expr, row: &[Datum]) -> Datum {
    // AND/OR are three-valued and may decide on one side alone.
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let l = eval(left, row);
        let short = Datum::Bool(op == BinaryOp::Or);
        if l == short {
            return short;
        }
        let r = eval(right, row);
        return match (l, r) {
            (_, r) if r == short => short,
            (Datum::Bool(_), Datum::Bool(b)) => Datum::Bool(b),
            _ => Datum::Null,
        };
    }
    let (l, r) = (eval(left, row), eval(right, row));
    if l.is_null() || r.is_null() {
        return Datum::Null;
    }
    match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
            arithmetic(op, &l, &r)
        }
        BinaryOp::Eq => Datum::Bool(l.sql_cmp(&r) == Some(std::cmp::Ordering::Equal)),
        BinaryOp::NotEq => Datum::Bool(l.sql_cmp(&r) != Some(std::cmp::Ordering::Equal)),
        BinaryOp::Lt => Datum::Bool(l.sql_cmp(&r) == Some(std::cmp::Ordering::Less)),
        BinaryOp::LtEq => Datum::Bool(l.sql_cmp(&r) != Some(std::cmp::Ordering::Greater)),
        BinaryOp::Gt => Datum::Bool(l.sql_cmp(&r) == Some(std::cmp::Ordering::Greater)),
        BinaryOp::GtEq => Datum::Bool(l.sql_cmp(&r) != Some(std::cmp::Ordering::Less)),
        BinaryOp::Concat => Datum::Str(format!("{l}{r}")),
        BinaryOp::And | BinaryOp::Or => unreachable!("handled above"),
    }
}

fn arithmetic(op: BinaryOp, l: &Datum, r: &Datum) -> Datum {
    match (l, r) {
        (Datum::Int(a), Datum::Int(b)) => {
            let (a, b) = (*a, *b);
            let v = match op {
                BinaryOp::Add => a.checked_add(b),
                BinaryOp::Sub => a.checked_sub(b),
                BinaryOp::Mul => a.checked_mul(b),
                BinaryOp::Div => a.checked_div(b),
                BinaryOp::Mod => a.checked_rem(b),
                _ => None,
            };
            v.map_or(Datum::Null, Datum::Int)
        }
        _ => match (as_f64(l), as_f64(r)) {
            (Some(a), Some(b)) => {
                let v = match op {
                    BinaryOp::Add => a + b,
                    BinaryOp::Sub => a - b,
                    BinaryOp::Mul => a * b,
                    // IEEE 754, as Flink: x / 0.0 is ±Infinity, 0.0 / 0.0 and x % 0.0 NaN.
                    BinaryOp::Div => a / b,
                    BinaryOp::Mod => a % b,
                    _ => return Datum::Null,
                };
                Datum::Float(OrderedFloat(v))
            }
            _ => Datum::Null,
        },
    }
}

fn as_f64(d: &Datum) -> Option<f64> {
    match d {
        Datum::Int(i) => Some(*i as f64),
        Datum::Float(f) => Some(f.0),
        _ => None,
    }
}

/// `CAST(v AS ty)` from type `from`; NULL where the value does not convert.
pub fn cast(v: Datum, from: DataType, ty: DataType) -> Datum {
    match (v, ty) {
        (Datum::Null, _) => Datum::Null,
        (Datum::Str(s), DataType::String) => Datum::Str(s),
        (v, DataType::String) => Datum::Str(format_value(&v, from)),
        (Datum::Int(i), DataType::Int | DataType::Timestamp) => Datum::Int(i),
        (Datum::Float(f), DataType::Int | DataType::Timestamp) => {
            let t = f.0.trunc();
            if t.is_finite() && t >= i64::MIN as f64 && t <= i64::MAX as f64 {
                Datum::Int(t as i64)
            } else {
                Datum::Null
            }
        }
        (Datum::Bool(b), DataType::Int) => Datum::Int(i64::from(b)),
        (Datum::Str(s), DataType::Timestamp) => parse_timestamp(&s)
            .or_else(|| s.trim().parse::<i64>().ok())
            .map_or(Datum::Null, Datum::Int),
        (Datum::Str(s), DataType::Int) => parse_integer(&s).map_or(Datum::Null, Datum::Int),
        (Datum::Int(i), DataType::Float) => Datum::Float(OrderedFloat(i as f64)),
        (Datum::Float(f), DataType::Float) => Datum::Float(f),
        (Datum::Str(s), DataType::Float) => s
            .trim()
            .parse::<f64>()
            .map_or(Datum::Null, |f| Datum::Float(OrderedFloat(f))),
        (Datum::Bool(b), DataType::Bool) => Datum::Bool(b),
        (Datum::Int(i), DataType::Bool) => Datum::Bool(i != 0),
        (Datum::Str(s), DataType::Bool) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Datum::Bool(true),
            "false" | "f" | "0" => Datum::Bool(false),
            _ => Datum::Null,
        },
        _ => Datum::Null,
    }
}

fn call(func: ScalarFunc, args: &[Expr], row: &[Datum]) -> Datum {
    let arg = |i: usize| args.get(i).map_or(Datum::Null, |e| eval(e, row));
    match func {
        ScalarFunc::Coalesce => args
            .iter()
            .map(|e| eval(e, row))
            .find(|d| !d.is_null())
            .unwrap_or(Datum::Null),
        ScalarFunc::Concat => {
            let mut out = String::new();
            for d in args.iter().map(|e| eval(e, row)).filter(|d| !d.is_null()) {
                out.push_str(&d.to_string());
            }
            Datum::Str(out)
        }
        ScalarFunc::Lower => map_str(arg(0), |s| s.to_lowercase()),
        ScalarFunc::Upper => map_str(arg(0), |s| s.to_uppercase()),
        ScalarFunc::Trim => map_str(arg(0), |s| s.trim().to_string()),
        ScalarFunc::Length => match arg(0) {
            Datum::Str(s) => Datum::Int(s.chars().count() as i64),
            _ => Datum::Null,
        },
        ScalarFunc::Substr => substr(arg(0), arg(1), args.get(2).map(|e| eval(e, row))),
        ScalarFunc::Abs => match arg(0) {
            Datum::Int(i) => i.checked_abs().map_or(Datum::Null, Datum::Int),
            Datum::Float(f) => Datum::Float(OrderedFloat(f.0.abs())),
            _ => Datum::Null,
        },
        ScalarFunc::Floor => map_float(arg(0), f64::floor),
        ScalarFunc::Ceil => map_float(arg(0), f64::ceil),
        ScalarFunc::Round => map_float(arg(0), f64::round),
    }
}

fn map_str(d: Datum, f: impl FnOnce(&str) -> String) -> Datum {
    match d {
        Datum::Str(s) => Datum::Str(f(&s)),
        _ => Datum::Null,
    }
}

fn map_float(d: Datum, f: impl FnOnce(f64) -> f64) -> Datum {
    match d {
        Datum::Int(i) => Datum::Int(i),
        Datum::Float(x) => Datum::Float(OrderedFloat(f(x.0))),
        _ => Datum::Null,
    }
}

/// `SUBSTRING(s, start [, len])` as Flink computes it: positions are 1-based, a start of 0
/// counts as 1, a negative start counts from the end (`-2` is the last two characters; before
/// the beginning gives `''`), `len` counts from the computed start, a negative `len` is NULL.
fn substr(s: Datum, start: Datum, len: Option<Datum>) -> Datum {
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
        return Datum::Str(String::new());
    }
    let rest = s.chars().skip(begin as usize);
    Datum::Str(match len {
        Some(l) => rest.take(l).collect(),
        None => rest.collect(),
    })
}

/// `CAST(text AS BIGINT)`: an integer, or a decimal whose fraction is dropped (`'1.5'` → 1,
/// `'-1.9'` → -1, as in Flink); anything else does not convert.
fn parse_integer(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    let (whole, fraction) = t.split_once('.')?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match whole {
        "" | "+" | "-" if !fraction.is_empty() => Some(0),
        w if w
            .bytes()
            .skip(usize::from(w.starts_with(['+', '-'])))
            .all(|b| b.is_ascii_digit()) =>
        {
            w.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(d: Datum) -> Box<Expr> {
        Box::new(Expr::Literal(d))
    }

    #[test]
    fn three_valued_logic() {
        let and = |a, b| {
            eval(
                &Expr::Binary {
                    op: BinaryOp::And,
                    left: lit(a),
                    right: lit(b),
                },
                &[],
            )
        };
        assert_eq!(and(Datum::Null, Datum::Bool(false)), Datum::Bool(false));
        assert_eq!(and(Datum::Null, Datum::Bool(true)), Datum::Null);
        assert_eq!(and(Datum::Bool(true), Datum::Bool(true)), Datum::Bool(true));
    }

    #[test]
    fn division_by_zero() {
        let div = |a, b| {
            eval(
                &Expr::Binary {
                    op: BinaryOp::Div,
                    left: lit(a),
                    right: lit(b),
                },
                &[],
            )
        };
        let f = |x| Datum::Float(OrderedFloat(x));
        assert_eq!(div(Datum::Int(1), Datum::Int(0)), Datum::Null);
        assert_eq!(div(f(1.0), f(0.0)), f(f64::INFINITY));
        assert_eq!(div(f(-1.0), Datum::Int(0)), f(f64::NEG_INFINITY));
        assert!(matches!(div(f(0.0), f(0.0)), Datum::Float(x) if x.0.is_nan()));
    }

    #[test]
    fn substr_as_flink() {
        let s = |st, l: Option<i64>| {
            substr(
                Datum::Str("hello".into()),
                Datum::Int(st),
                l.map(Datum::Int),
            )
        };
        let text = |t: &str| Datum::Str(t.into());
        assert_eq!(s(2, Some(3)), text("ell"));
        assert_eq!(s(0, Some(2)), text("he"));
        assert_eq!(s(4, None), text("lo"));
        assert_eq!(s(-2, None), text("lo"));
        assert_eq!(s(-3, Some(2)), text("ll"));
        assert_eq!(s(-10, None), text(""));
        assert_eq!(s(9, None), text(""));
        assert_eq!(s(1, Some(-1)), Datum::Null);
    }

    #[test]
    fn casts() {
        use DataType::*;
        assert_eq!(cast(Datum::Str(" 42 ".into()), String, Int), Datum::Int(42));
        assert_eq!(cast(Datum::Str("x".into()), String, Int), Datum::Null);
        assert_eq!(cast(Datum::Str("1.5".into()), String, Int), Datum::Int(1));
        assert_eq!(cast(Datum::Str("-1.9".into()), String, Int), Datum::Int(-1));
        assert_eq!(cast(Datum::Str(".5".into()), String, Int), Datum::Int(0));
        assert_eq!(cast(Datum::Str("1e3".into()), String, Int), Datum::Null);
        assert_eq!(cast(Datum::Str("1.x".into()), String, Int), Datum::Null);
        assert_eq!(
            cast(Datum::Float(OrderedFloat(2.9)), Float, Int),
            Datum::Int(2)
        );
        assert_eq!(cast(Datum::Int(7), Int, String), Datum::Str("7".into()));
        assert_eq!(
            cast(Datum::Float(OrderedFloat(1e300)), Float, String),
            Datum::Str("1.0E300".into())
        );
        assert_eq!(
            cast(Datum::Float(OrderedFloat(1.0)), Float, String),
            Datum::Str("1.0".into())
        );
        assert_eq!(
            cast(Datum::Int(1_764_078_596_123), Timestamp, String),
            Datum::Str("2025-11-25 13:49:56.123".into())
        );
        assert_eq!(
            cast(
                Datum::Str("2025-11-25 13:49:56.123".into()),
                String,
                Timestamp
            ),
            Datum::Int(1_764_078_596_123)
        );
    }
}
