//! Evaluating scalar expressions on rows (the body of `map` and `filter`).
//!
//! SQL semantics: NULL in, NULL out (except `IS NULL`, `COALESCE`, `CONCAT`, and three-valued
//! `AND`/`OR`); DOUBLE arithmetic follows IEEE 754 (`1.0 / 0` is `Infinity`), as in Flink.
//!
//! Integer division by zero, integer overflow and a `CAST` that does not convert are
//! evaluation errors, never a silent NULL: evaluation records the first one (see [`raise`])
//! and gives NULL for the value, and the operator evaluating the row asks for it with
//! [`take_error`] and hands the row to its [`OnEvalError`], which fails the run or skips and
//! counts the row, as the sources' bad-record policy says. `TRY_CAST` is how a query asks for
//! NULL. The choices and how they compare with Flink are in the README's "SQL semantics".
//!
//! Evaluation reads a row's values borrowed ([`Datum`]s pointing into the packed row or the
//! plan's literals); a string an expression computes (`UPPER`, `CONCAT`, a `CAST`) is placed
//! in an [`Arena`] that lives as long as the row being built, so no value is copied to be read.

use std::cell::RefCell;
use std::sync::Arc;

use ordered_float::OrderedFloat;

use crate::control::RunControl;
use crate::data::{format_value, parse_timestamp, DataType, Datum, Row, Schema};
use crate::error::Error;
use crate::plan::ir::{BinaryOp, Expr, UnaryOp};
use crate::plan::like::like;
use crate::render::functions;

/// Where computed strings live while a row is evaluated. Empty (no allocation) until an
/// expression computes a string.
pub type Arena = bumpalo::Bump;

thread_local! {
    /// The first evaluation error since the last [`take_error`] on this thread.
    static ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Record an evaluation error (the first one counts); the value is NULL meanwhile.
pub(crate) fn raise<'a>(message: impl FnOnce() -> String) -> Datum<'a> {
    ERROR.with(|e| {
        let mut e = e.borrow_mut();
        if e.is_none() {
            *e = Some(message());
        }
    });
    Datum::Null
}

/// The evaluation error recorded since the last call, if any.
pub fn take_error() -> Option<String> {
    ERROR.with(|e| e.borrow_mut().take())
}

/// Evaluate each of `exprs` on `row` into a new row (see [`OnEvalError::project`] for the
/// checked form).
pub fn project(exprs: &[Expr], row: &Row) -> Row {
    // Plain columns (most keys) are copied as encoded: nothing decoded, nothing packed.
    let columns: Option<smallvec::SmallVec<[usize; 8]>> = (exprs.iter())
        .map(|e| match e {
            Expr::Column(c) => Some(*c),
            _ => None,
        })
        .collect();
    if let Some(columns) = columns {
        return row.project(&columns);
    }
    let datums = row.unpack();
    with_arena(|arena| Row::pack(exprs.iter().map(|e| eval(e, &datums, arena))))
}

/// Whether `predicate` is TRUE on `row`.
pub fn holds(predicate: &Expr, row: &Row) -> bool {
    let datums = row.unpack();
    with_arena(|arena| is_true(eval(predicate, &datums, arena)))
}

thread_local! {
    /// The thread's arena for the strings one row's evaluation computes.
    static ROW_ARENA: RefCell<Arena> = RefCell::new(Arena::new());
}

/// Call `f` with an empty arena for one row's computed strings: the thread's own, reset
/// afterwards (keeping its memory, so a row that computes strings costs no allocation), or a
/// new one when it is already in use.
pub fn with_arena<T>(f: impl FnOnce(&Arena) -> T) -> T {
    ROW_ARENA.with(|cell| match cell.try_borrow_mut() {
        Ok(mut arena) => {
            let out = f(&arena);
            arena.reset();
            out
        }
        Err(_) => f(&Arena::new()),
    })
}

/// What an operator does with a row on which an expression raised an evaluation error: fail
/// the run, naming the view or sink, the expression, the error and the row; or, when every
/// source the row comes from skips bad records (`'format.bad-records'` = `'skip'` or
/// `'dead-letter'`), drop the row and count it (`eval_errors_skipped`).
#[derive(Clone)]
pub struct OnEvalError {
    /// The view or sink being computed.
    pub label: Arc<str>,
    /// The schema the expressions read (for messages).
    pub input: Arc<Schema>,
    /// Drop and count instead of failing.
    pub skip: bool,
    /// Where a failure goes, and the metrics.
    pub control: Arc<RunControl>,
}

impl OnEvalError {
    /// `exprs` on `row`, or `None` when one raised an error (reported).
    pub fn project(&self, exprs: &[Expr], row: &Row) -> Option<Row> {
        let out = project(exprs, row);
        self.check(exprs, row).then_some(out)
    }

    /// Whether `predicate` holds on `row`; `false` when it raised an error (reported).
    pub fn holds(&self, predicate: &Expr, row: &Row) -> bool {
        let holds = holds(predicate, row);
        self.check(std::slice::from_ref(predicate), row) && holds
    }

    /// Whether the evaluation of `exprs` on `row` just done raised no error; an error is
    /// reported, naming the first expression that raises it.
    pub fn check(&self, exprs: &[Expr], row: &Row) -> bool {
        let Some(message) = take_error() else {
            return true;
        };
        if self.skip {
            let n = self
                .control
                .metrics
                .eval_errors_skipped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            if n < 10 || n.is_power_of_two() {
                tracing::warn!(context = %self.label, error = %message, skipped = n, "skipping a row whose expression failed");
            }
            return false;
        }
        // Find the expression: evaluation is deterministic, so it raises again.
        let datums = row.unpack();
        let culprit = exprs.iter().find(|e| {
            let arena = Arena::new();
            eval(e, &datums, &arena);
            take_error().is_some()
        });
        let values: Vec<String> = self
            .input
            .columns
            .iter()
            .zip(row.iter())
            .map(|(c, d)| format!("{} = {}", c.name, crate::data::value_to_json(d, c.ty)))
            .collect();
        let expr = culprit.map_or(String::new(), |e| {
            format!(" in {}", crate::plan::explain::expr(e, &self.input))
        });
        self.control.fail(Error::Eval {
            context: self.label.to_string(),
            message: format!("{message}{expr} for the row ({})", values.join(", ")),
            hint: Some(
                "TRY_CAST gives NULL for a value that does not convert, and a CASE can guard a division; or let the source skip such rows: 'format.bad-records' = 'skip'"
                    .into(),
            ),
        });
        false
    }
}

/// Evaluate `expr` on the values of a row.
pub fn eval<'a>(expr: &'a Expr, row: &[Datum<'a>], arena: &'a Arena) -> Datum<'a> {
    match expr {
        Expr::Column(i) => row.get(*i).copied().unwrap_or(Datum::Null),
        Expr::Literal(v) => v.datum(),
        Expr::Unary { op, expr } => unary(*op, eval(expr, row, arena)),
        Expr::Binary { op, left, right } => binary(*op, left, right, row, arena),
        Expr::Cast {
            expr,
            from,
            ty,
            safe,
        } => {
            let v = eval(expr, row, arena);
            match cast(v, *from, *ty, arena) {
                Datum::Null if !v.is_null() && !*safe => {
                    raise(|| format!("cannot CAST {} to {ty}", quoted(v, *from)))
                }
                d => d,
            }
        }
        Expr::Like {
            expr,
            pattern,
            escape,
        } => match (eval(expr, row, arena), eval(pattern, row, arena)) {
            (Datum::Str(s), Datum::Str(p)) => like(s, p, *escape).map_or(Datum::Null, Datum::Bool),
            _ => Datum::Null,
        },
        Expr::IsNull { expr, negated } => Datum::Bool(eval(expr, row, arena).is_null() != *negated),
        Expr::Call { func, args } => functions::call(*func, args, row, arena),
        Expr::Case {
            branches,
            otherwise,
        } => {
            for (cond, result) in branches {
                if is_true(eval(cond, row, arena)) {
                    return eval(result, row, arena);
                }
            }
            eval(otherwise, row, arena)
        }
    }
}

/// Whether a predicate value keeps a row: only TRUE does (NULL and FALSE drop it).
pub fn is_true(d: Datum<'_>) -> bool {
    matches!(d, Datum::Bool(true))
}

fn unary(op: UnaryOp, v: Datum<'_>) -> Datum<'_> {
    match (op, v) {
        (UnaryOp::Not, Datum::Bool(b)) => Datum::Bool(!b),
        (UnaryOp::Neg, Datum::Int(i)) => i.checked_neg().map_or_else(
            || raise(|| format!("BIGINT overflow in -({i})")),
            Datum::Int,
        ),
        (UnaryOp::Neg, Datum::Float(f)) => Datum::Float(-f),
        (UnaryOp::Neg, Datum::Decimal(m)) => {
            Datum::Decimal(crate::data::decimal::Mantissa::new(-m.get()))
        }
        _ => Datum::Null,
    }
}

fn binary<'a>(
    op: BinaryOp,
    left: &'a Expr,
    right: &'a Expr,
    row: &[Datum<'a>],
    arena: &'a Arena,
) -> Datum<'a> {
    // AND/OR are three-valued and may decide on one side alone.
    if matches!(op, BinaryOp::And | BinaryOp::Or) {
        let l = eval(left, row, arena);
        let short = Datum::Bool(op == BinaryOp::Or);
        if l == short {
            return short;
        }
        let r = eval(right, row, arena);
        return match (l, r) {
            (_, r) if r == short => short,
            (Datum::Bool(_), Datum::Bool(b)) => Datum::Bool(b),
            _ => Datum::Null,
        };
    }
    let (l, r) = (eval(left, row, arena), eval(right, row, arena));
    if l.is_null() || r.is_null() {
        return Datum::Null;
    }
    match op {
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
            arithmetic(op, l, r)
        }
        BinaryOp::Eq
        | BinaryOp::NotEq
        | BinaryOp::Lt
        | BinaryOp::LtEq
        | BinaryOp::Gt
        | BinaryOp::GtEq => Datum::Bool(compare(op, l, r)),
        BinaryOp::Concat => {
            let mut out = bumpalo::collections::String::new_in(arena);
            use std::fmt::Write;
            let _ = write!(out, "{l}{r}");
            Datum::Str(out.into_bump_str())
        }
        BinaryOp::And | BinaryOp::Or => unreachable!("handled above"),
    }
}

/// Comparison `op` of two values that are not NULL (false for an operator that is not a
/// comparison).
pub fn compare(op: BinaryOp, l: Datum<'_>, r: Datum<'_>) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let ord = l.sql_cmp(&r);
    match op {
        BinaryOp::Eq => ord == Some(Equal),
        BinaryOp::NotEq => ord != Some(Equal),
        BinaryOp::Lt => ord == Some(Less),
        BinaryOp::LtEq => ord != Some(Greater),
        BinaryOp::Gt => ord == Some(Greater),
        BinaryOp::GtEq => ord != Some(Less),
        _ => false,
    }
}

fn arithmetic<'a>(op: BinaryOp, l: Datum<'a>, r: Datum<'a>) -> Datum<'a> {
    match (l, r) {
        (Datum::Int(a), Datum::Int(b)) => {
            let v = match op {
                BinaryOp::Add => a.checked_add(b),
                BinaryOp::Sub => a.checked_sub(b),
                BinaryOp::Mul => a.checked_mul(b),
                BinaryOp::Div | BinaryOp::Mod if b == 0 => {
                    return raise(|| "division by zero".into())
                }
                BinaryOp::Div => a.checked_div(b),
                BinaryOp::Mod => a.checked_rem(b),
                _ => None,
            };
            v.map_or_else(
                || {
                    let op = match op {
                        BinaryOp::Add => "+",
                        BinaryOp::Sub => "-",
                        BinaryOp::Mul => "*",
                        BinaryOp::Div => "/",
                        _ => "%",
                    };
                    raise(|| format!("BIGINT overflow in {a} {op} {b}"))
                },
                Datum::Int,
            )
        }
        // Mantissas: the planner brought `+`, `-` and `%` to one scale, and types `*` as the
        // sum of the scales and `/` (see `plan::lower::scalar::decimal_arithmetic`).
        (Datum::Decimal(a), Datum::Decimal(b)) => {
            let (a, b) = (a.get(), b.get());
            let v = match op {
                BinaryOp::Add => a.checked_add(b),
                BinaryOp::Sub => a.checked_sub(b),
                BinaryOp::Mul => crate::data::decimal::multiply(a, b),
                BinaryOp::Div | BinaryOp::Mod if b == 0 => {
                    return raise(|| "division by zero".into())
                }
                BinaryOp::Div => a.checked_div(b),
                BinaryOp::Mod => a.checked_rem(b),
                _ => None,
            };
            match v.filter(|m| crate::data::decimal::in_range(*m)) {
                Some(m) => Datum::Decimal(crate::data::decimal::Mantissa::new(m)),
                None => raise(|| {
                    format!(
                        "DECIMAL overflow: the result has more than {} digits",
                        crate::data::decimal::MAX_PRECISION
                    )
                }),
            }
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

/// A value as SQL text for a message: a string quoted.
fn quoted(v: Datum<'_>, ty: DataType) -> String {
    match v {
        Datum::Str(s) => format!("'{s}'"),
        v => format_value(v, ty),
    }
}

/// A number as a double; `None` for anything else.
pub(crate) fn as_f64(d: Datum<'_>) -> Option<f64> {
    match d {
        Datum::Int(i) => Some(i as f64),
        Datum::Float(f) => Some(f.0),
        _ => None,
    }
}

/// `CAST(v AS ty)` from type `from`; NULL where the value does not convert.
pub fn cast<'a>(v: Datum<'a>, from: DataType, ty: DataType, arena: &'a Arena) -> Datum<'a> {
    if from == ty {
        return v;
    }
    if let (DataType::Decimal(..), _) | (_, DataType::Decimal(..)) = (from, ty) {
        if ty != DataType::String {
            return decimal_cast(v, from, ty);
        }
    }
    use crate::data::DAY_MS;
    match (v, ty) {
        (Datum::Null, _) => Datum::Null,
        (Datum::Str(s), DataType::String) => Datum::Str(s),
        (v, DataType::String) => Datum::Str(arena.alloc_str(&format_value(v, from))),
        // A DATE is midnight of its day; a TIMESTAMP's DATE is its day (UTC).
        (Datum::Int(days), DataType::Timestamp) if from == DataType::Date => {
            days.checked_mul(DAY_MS).map_or(Datum::Null, Datum::Int)
        }
        (Datum::Int(ms), DataType::Date) if from == DataType::Timestamp => {
            Datum::Int(ms.div_euclid(DAY_MS))
        }
        (Datum::Int(days), DataType::Date) if from == DataType::Date => Datum::Int(days),
        (Datum::Str(s), DataType::Date) => crate::data::parse_date(s)
            .or_else(|| parse_timestamp(s).map(|ms| ms.div_euclid(DAY_MS)))
            .map_or(Datum::Null, Datum::Int),
        (Datum::Float(f), DataType::Bool) => Datum::Bool(f.0 != 0.0),
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
        (Datum::Bool(b), DataType::Float) => Datum::Float(OrderedFloat(f64::from(u8::from(b)))),
        (Datum::Str(s), DataType::Timestamp) => parse_timestamp(s)
            .or_else(|| s.trim().parse::<i64>().ok())
            .map_or(Datum::Null, Datum::Int),
        (Datum::Str(s), DataType::Int) => parse_integer(s).map_or(Datum::Null, Datum::Int),
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

/// A cast to or from `DECIMAL` (other than to text): rescaled with rounding half up, a
/// DECIMAL to BIGINT truncated toward zero (as Flink); NULL when the value does not fit.
fn decimal_cast<'a>(v: Datum<'a>, from: DataType, ty: DataType) -> Datum<'a> {
    use crate::data::decimal::{self, Mantissa};
    let out = match (v, from, ty) {
        (Datum::Null, _, _) => return Datum::Null,
        (Datum::Decimal(m), DataType::Decimal(_, s), DataType::Decimal(p, to)) => {
            decimal::rescale(m.get(), s, to).filter(|m| decimal::fits(*m, p))
        }
        (Datum::Int(i), _, DataType::Decimal(p, s)) => {
            decimal::rescale(i.into(), 0, s).filter(|m| decimal::fits(*m, p))
        }
        (Datum::Float(x), _, DataType::Decimal(p, s)) => {
            decimal::from_f64(x.0, s).filter(|m| decimal::fits(*m, p))
        }
        (Datum::Str(t), _, DataType::Decimal(p, s)) => {
            decimal::parse(t, s).filter(|m| decimal::fits(*m, p))
        }
        (Datum::Bool(b), _, DataType::Decimal(p, s)) => {
            decimal::rescale(b.into(), 0, s).filter(|m| decimal::fits(*m, p))
        }
        (Datum::Decimal(m), DataType::Decimal(_, s), DataType::Int) => {
            return i64::try_from(m.get() / decimal::pow10(u32::from(s)))
                .map_or(Datum::Null, Datum::Int)
        }
        (Datum::Decimal(m), DataType::Decimal(_, s), DataType::Float) => {
            return Datum::Float(OrderedFloat(decimal::to_f64(m.get(), s)))
        }
        (Datum::Decimal(m), DataType::Decimal(..), DataType::Bool) => {
            return Datum::Bool(m.get() != 0)
        }
        _ => None,
    };
    out.map_or(Datum::Null, |m| Datum::Decimal(Mantissa::new(m)))
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
    use crate::data::Value;

    fn lit(d: Value) -> Box<Expr> {
        Box::new(Expr::Literal(d))
    }

    /// `can_fail` says no to arithmetic that has a DOUBLE operand, and evaluation agrees: no
    /// DOUBLE operation raises, at the extremes either; BIGINT arithmetic can.
    #[test]
    fn double_arithmetic_never_fails() {
        use crate::data::{DataType, Schema};
        let schema = Schema::new([("d", DataType::Float), ("i", DataType::Int)]);
        let column = |c| Box::new(Expr::Column(c));
        let ops = [
            BinaryOp::Add,
            BinaryOp::Sub,
            BinaryOp::Mul,
            BinaryOp::Div,
            BinaryOp::Mod,
        ];
        let f = |x: f64| Value::Float(OrderedFloat(x));
        for op in ops {
            let mixed = Expr::Binary {
                op,
                left: column(1),
                right: column(0),
            };
            assert!(!mixed.can_fail(&schema), "{op:?}");
            let nested = Expr::Binary {
                op,
                left: Box::new(mixed),
                right: column(1),
            };
            assert!(!nested.can_fail(&schema), "{op:?}");
            let ints = Expr::Binary {
                op,
                left: column(1),
                right: column(1),
            };
            assert!(ints.can_fail(&schema), "{op:?}");
            for (a, b) in [
                (f(f64::MAX), f(f64::MAX)),
                (f(1.0), f(0.0)),
                (f(0.0), f(0.0)),
                (Value::Int(i64::MAX), f(-0.0)),
                (f(f64::NAN), Value::Int(i64::MIN)),
            ] {
                binary_value(op, a, b);
                assert_eq!(take_error(), None, "{op:?}");
            }
        }
    }

    /// DECIMAL `*`, `+`, `-` and casts whose operands' digits fit the result are planned as
    /// unable to fail, and evaluation agrees at every column's extremes; those that do not
    /// fit are planned as able to, and some extreme makes them fail (but one the margin a
    /// column gets plans as able to fail, conservatively).
    #[test]
    fn decimal_arithmetic_that_fits_never_fails() {
        use crate::plan::ir::Relation;
        let cases = [
            // Nexmark q1: 3 + 19 digits in DECIMAL(23, 3).
            ("0.908 * i", false, false),
            ("CAST(i AS DECIMAL(19, 0))", false, false),
            ("CAST(i AS DECIMAL(18, 0))", true, true),
            ("CAST(i AS DECIMAL(21, 2))", false, false),
            ("a * 2.5", false, false),
            // Cannot overflow (15 digits in 16), but a column gets a digit of margin.
            ("a * b", true, false),
            ("a + b - a", false, false),
            ("-a", false, false),
            // A column's values are given a digit of margin (see `Expr::decimal_digits`).
            ("CAST(a AS DECIMAL(5, 0))", false, false),
            // 999.99 rounds to 1000.
            ("CAST(a AS DECIMAL(3, 0))", true, true),
            ("CAST(a AS DECIMAL(7, 2))", false, false),
            ("CAST(a AS DECIMAL(4, 2))", true, true),
            ("w * w", true, true),
            ("w + w", true, true),
            ("w + 1", true, true),
            ("a / b", true, true),
            ("i * 2", true, true),
        ];
        let tables =
            "CREATE TABLE t (i BIGINT, a DECIMAL(5, 2), b DECIMAL(10, 4), w DECIMAL(38, 0))
            WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'x',
            'format' = 'json');";
        let pow = |n: u32| 10i128.pow(n);
        let extremes = [
            [
                Value::Int(i64::MAX),
                Value::Decimal(pow(5) - 1, 2),
                Value::Decimal(pow(10) - 1, 4),
                Value::Decimal(pow(38) - 1, 0),
            ],
            [
                Value::Int(i64::MIN),
                Value::Decimal(1 - pow(5), 2),
                Value::Decimal(0, 4),
                Value::Decimal(1 - pow(38), 0),
            ],
        ];
        for (expr, planned, fails) in cases {
            let sql = format!(
                "{tables} CREATE TABLE o (x STRING) WITH ('connector' = 'print');
                 CREATE VIEW v AS SELECT {expr} AS x FROM t;
                 INSERT INTO o SELECT CAST(x AS STRING) FROM v;"
            );
            let program = crate::plan::plan_text("t.sql", &sql).unwrap();
            let Relation::Project { input, exprs, .. } = &program.views[0].relation else {
                panic!("{expr}: {:?}", program.views[0].relation);
            };
            assert_eq!(
                exprs[0].can_fail(input.schema()),
                planned,
                "{expr}: {:?}",
                exprs[0]
            );
            let mut failed = false;
            for row in &extremes {
                let datums: Vec<Datum<'_>> = row.iter().map(Value::datum).collect();
                eval(&exprs[0], &datums, &Arena::new());
                failed |= take_error().is_some();
            }
            assert_eq!(failed, fails, "{expr} at the extremes");
        }
    }

    fn binary_value(op: BinaryOp, a: Value, b: Value) -> Value {
        let e = Expr::Binary {
            op,
            left: lit(a),
            right: lit(b),
        };
        eval(&e, &[], &Arena::new()).to_value()
    }

    #[test]
    fn three_valued_logic() {
        let and = |a, b| binary_value(BinaryOp::And, a, b);
        assert_eq!(and(Value::Null, Value::Bool(false)), Value::Bool(false));
        assert_eq!(and(Value::Null, Value::Bool(true)), Value::Null);
        assert_eq!(and(Value::Bool(true), Value::Bool(true)), Value::Bool(true));
    }

    #[test]
    fn division_by_zero() {
        let div = |a, b| binary_value(BinaryOp::Div, a, b);
        let f = |x| Value::Float(OrderedFloat(x));
        assert_eq!(div(Value::Int(1), Value::Int(0)), Value::Null);
        assert_eq!(take_error().as_deref(), Some("division by zero"));
        assert_eq!(take_error(), None);
        assert_eq!(div(f(1.0), f(0.0)), f(f64::INFINITY));
        assert_eq!(div(f(-1.0), Value::Int(0)), f(f64::NEG_INFINITY));
        assert!(matches!(div(f(0.0), f(0.0)), Value::Float(x) if x.0.is_nan()));
    }

    #[test]
    fn substr_as_flink() {
        let s = |st, l: Option<i64>| {
            functions::substr(Datum::Str("héllo"), Datum::Int(st), l.map(Datum::Int)).to_value()
        };
        let text = |t: &str| Value::Str(t.into());
        assert_eq!(s(2, Some(3)), text("éll"));
        assert_eq!(s(0, Some(2)), text("hé"));
        assert_eq!(s(4, None), text("lo"));
        assert_eq!(s(-2, None), text("lo"));
        assert_eq!(s(-3, Some(2)), text("ll"));
        assert_eq!(s(-10, None), text(""));
        assert_eq!(s(9, None), text(""));
        assert_eq!(s(2, Some(100)), text("éllo"));
        assert_eq!(s(1, Some(-1)), Value::Null);
    }

    /// Every pair of types: a cast the planner allows has a conversion (a sample value
    /// converts to a non-NULL), and every type reads back from its own text.
    #[test]
    fn cast_matrix() {
        use crate::data::decimal::Mantissa;
        use DataType::*;
        let types = [
            Bool,
            Int,
            Float,
            String,
            Timestamp,
            Date,
            Interval,
            Decimal(6, 2),
            Array(crate::data::Elem::Int),
        ];
        let ints = Row::pack([Datum::Int(1), Datum::Null]);
        let sample = |from: DataType, to: DataType| -> Datum<'_> {
            match from {
                Bool => Datum::Bool(true),
                Int => Datum::Int(42),
                Float => Datum::Float(OrderedFloat(42.5)),
                Timestamp => Datum::Int(1_769_853_600_000),
                Date => Datum::Int(20_484),
                Interval => Datum::Int(4_000),
                Decimal(..) => Datum::Decimal(Mantissa::new(1250)),
                Array(_) => Datum::Array(crate::data::ArrayRef::of_row(&ints)),
                String => Datum::Str(match to {
                    Bool => "true",
                    Timestamp => "2026-01-31 10:00:00",
                    Date => "2026-01-31",
                    _ => "12.5",
                }),
            }
        };
        let arena = Arena::new();
        let mut allowed = 0;
        for from in types {
            for to in types {
                if !from.casts_to(to) {
                    continue;
                }
                allowed += 1;
                let v = sample(from, to);
                assert!(
                    !cast(v, from, to, &arena).is_null(),
                    "CAST({v:?} AS {to}) from {from} has no conversion"
                );
            }
            if !matches!(from, Interval | Array(_)) {
                let v = sample(from, from);
                let text = cast(v, from, String, &arena);
                assert_eq!(cast(text, String, from, &arena), v, "{from} via {text}");
            }
        }
        // Refused: INTERVAL and ARRAY to anything but text, DATE with numbers, TIMESTAMP with
        // BOOLEAN and DECIMAL, text to INTERVAL and ARRAY.
        assert_eq!(allowed, 41);
        for (from, to) in [
            (Interval, Int),
            (Date, Int),
            (Int, Date),
            (Timestamp, Bool),
            (Decimal(6, 2), Timestamp),
            (String, Interval),
            (String, Array(crate::data::Elem::String)),
            (Array(crate::data::Elem::Int), Int),
        ] {
            assert!(!from.casts_to(to), "{from} to {to}");
        }
    }

    #[test]
    fn casts() {
        use DataType::*;
        let arena = Arena::new();
        let c = |v: Value, from, to| cast(v.datum(), from, to, &arena).to_value();
        let text = |t: &str| Value::Str(t.into());
        assert_eq!(c(text(" 42 "), String, Int), Value::Int(42));
        assert_eq!(c(text("x"), String, Int), Value::Null);
        assert_eq!(c(text("1.5"), String, Int), Value::Int(1));
        assert_eq!(c(text("-1.9"), String, Int), Value::Int(-1));
        assert_eq!(c(text(".5"), String, Int), Value::Int(0));
        assert_eq!(c(text("1e3"), String, Int), Value::Null);
        assert_eq!(c(text("1.x"), String, Int), Value::Null);
        assert_eq!(
            c(Value::Float(OrderedFloat(2.9)), Float, Int),
            Value::Int(2)
        );
        assert_eq!(c(Value::Int(7), Int, String), text("7"));
        assert_eq!(
            c(Value::Float(OrderedFloat(1e300)), Float, String),
            text("1.0E300")
        );
        assert_eq!(
            c(Value::Float(OrderedFloat(1.0)), Float, String),
            text("1.0")
        );
        assert_eq!(
            c(Value::Int(1_764_078_596_123), Timestamp, String),
            text("2025-11-25 13:49:56.123")
        );
        assert_eq!(
            c(text("2025-11-25 13:49:56.123"), String, Timestamp),
            Value::Int(1_764_078_596_123)
        );
    }
}
