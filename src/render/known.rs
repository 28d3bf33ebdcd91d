//! What a chain's filters make known to its projection.
//!
//! A fused chain's stage ([`super::fused`]) projects only the rows its filters kept, so a
//! term of a filter that equates a column with a constant holds in every row the projection
//! sees. Any other equality of that column with a constant of the same kind is then decided:
//! TRUE when the constants are equal, FALSE when not; and a `CASE` whose conditions are decided
//! keeps only the branches it can take. Nexmark's views are the shape: `bid` is
//! `SELECT ..., CASE WHEN event_type = 0 THEN person.dateTime WHEN event_type = 1 THEN
//! auction.dateTime ELSE bid.dateTime END ... WHERE event_type = 2`, whose `CASE` is then
//! `bid.dateTime`: two comparisons fewer per bid.
//!
//! Only what cannot change a result is decided: constants of one kind (integers exactly
//! representable as doubles, so that a DOUBLE column equal to one is equal to no other;
//! strings; booleans), and a `CASE` that keeps the branches it could take, in their order (a
//! branch dropped is one whose condition is FALSE, or one after a condition that is TRUE, so
//! one never evaluated). This is done when the chain is built, not in the plan: the plan
//! traces a table's event time through the expression that computes it.

use crate::data::Value;
use crate::plan::ir::{BinaryOp, Expr};

/// Rewrite `exprs`, evaluated only on rows on which every one of `filters` is TRUE, with what
/// the filters decide.
pub fn decide_under(filters: &[Expr], exprs: &mut [Expr]) {
    let facts: Vec<(usize, &Value)> = (filters.iter())
        .flat_map(Expr::conjuncts)
        .filter_map(column_equals)
        .collect();
    if !facts.is_empty() {
        exprs.iter_mut().for_each(|e| decide(e, &facts));
    }
}

/// `column = constant` (either way round), for a constant whose equality decides others.
fn column_equals(e: &Expr) -> Option<(usize, &Value)> {
    let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right,
    } = e
    else {
        return None;
    };
    let (c, v) = match (&**left, &**right) {
        (Expr::Column(c), Expr::Literal(v)) | (Expr::Literal(v), Expr::Column(c)) => (*c, v),
        _ => return None,
    };
    decides(v).then_some((c, v))
}

/// Whether a column known equal to `v` is equal to another constant of `v`'s kind exactly when
/// that constant is `v`.
fn decides(v: &Value) -> bool {
    /// Integers up to this are doubles exactly (so distinct ones are distinct doubles).
    const EXACT: i64 = 1 << 53;
    match v {
        Value::Int(i) => i.unsigned_abs() <= EXACT as u64,
        Value::Str(_) | Value::Bool(_) => true,
        _ => false,
    }
}

/// Rewrite `e` with the equalities `facts` (`column = constant`, from [`column_equals`])
/// known to hold.
fn decide(e: &mut Expr, facts: &[(usize, &Value)]) {
    if let Some((c, v)) = column_equals(e) {
        // Both constants passed `decides`: of one kind, they decide each other.
        let same_kind = |known: &Value| std::mem::discriminant(known) == std::mem::discriminant(v);
        if let Some((_, known)) = facts.iter().find(|(k, known)| *k == c && same_kind(known)) {
            *e = Expr::Literal(Value::Bool(*known == v));
            return;
        }
    }
    match e {
        Expr::Column(_) | Expr::Literal(_) => {}
        Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } => {
            decide(expr, facts)
        }
        Expr::Binary { left, right, .. } => {
            decide(left, facts);
            decide(right, facts);
        }
        Expr::Like { expr, pattern, .. } => {
            decide(expr, facts);
            decide(pattern, facts);
        }
        Expr::Call { args, .. } => args.iter_mut().for_each(|a| decide(a, facts)),
        Expr::Case {
            branches,
            otherwise,
        } => {
            for (c, r) in branches.iter_mut() {
                decide(c, facts);
                decide(r, facts);
            }
            decide(otherwise, facts);
            // Branches never taken go; the first always taken ends the CASE.
            branches.retain(|(c, _)| !matches!(c, Expr::Literal(Value::Bool(false) | Value::Null)));
            if let Some(at) =
                (branches.iter()).position(|(c, _)| *c == Expr::Literal(Value::Bool(true)))
            {
                let (_, taken) = branches.swap_remove(at);
                branches.truncate(at);
                **otherwise = taken;
            }
            if branches.is_empty() {
                *e = std::mem::replace(&mut **otherwise, Expr::Literal(Value::Null));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Datum;
    use crate::render::scalar::{eval, Arena};

    fn col(i: usize) -> Expr {
        Expr::Column(i)
    }
    fn lit(v: Value) -> Expr {
        Expr::Literal(v)
    }
    fn eq(l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(l),
            right: Box::new(r),
        }
    }
    fn case(branches: Vec<(Expr, Expr)>, otherwise: Expr) -> Expr {
        Expr::Case {
            branches,
            otherwise: Box::new(otherwise),
        }
    }
    /// Nexmark's `dateTime`: column 0 is the event type, 1–3 the three times.
    fn date_time() -> Expr {
        case(
            vec![
                (eq(col(0), lit(Value::Int(0))), col(1)),
                (eq(col(0), lit(Value::Int(1))), col(2)),
            ],
            col(3),
        )
    }

    #[test]
    fn the_filters_equalities_pick_the_branch() {
        for (event_type, want) in [(0, col(1)), (1, col(2)), (2, col(3)), (7, col(3))] {
            let fact = Value::Int(event_type);
            let mut e = date_time();
            decide(&mut e, &[(0, &fact)]);
            assert_eq!(e, want, "event_type = {event_type}");
        }
        // A fact about another column, or of another kind, decides nothing.
        for (c, fact) in [
            (1, Value::Int(2)),
            (0, Value::Str("2".into())),
            (0, Value::Float(ordered_float::OrderedFloat(2.0))),
        ] {
            let mut e = date_time();
            decide(&mut e, &[(c, &fact)]);
            assert_eq!(e, date_time(), "{c} = {fact:?}");
        }
        // Integers past 2^53 may equal one double together: not decided (not a fact).
        let big = eq(col(0), lit(Value::Int((1 << 53) + 1)));
        let mut e = [eq(col(0), lit(Value::Int(1 << 53)))];
        decide_under(&[big], &mut e);
        let [e] = e;
        assert!(matches!(e, Expr::Binary { .. }), "{e:?}");
    }

    #[test]
    fn a_case_keeps_the_branches_it_could_take_in_order() {
        let undecided = eq(col(4), lit(Value::Int(9)));
        let mut e = case(
            vec![
                (eq(col(0), lit(Value::Str("a".into()))), col(1)),
                (undecided.clone(), col(2)),
                (eq(lit(Value::Str("b".into())), col(0)), col(3)),
                (undecided.clone(), col(5)),
            ],
            col(6),
        );
        let fact = Value::Str("b".into());
        decide(&mut e, &[(0, &fact)]);
        assert_eq!(e, case(vec![(undecided, col(2))], col(3)));
        // Folded or not, it evaluates alike on rows the filter keeps.
        let arena = Arena::new();
        for (c4, want) in [(9, "two"), (8, "three")] {
            let row = [
                Datum::Str("b"),
                Datum::Str("one"),
                Datum::Str("two"),
                Datum::Str("three"),
                Datum::Int(c4),
                Datum::Str("five"),
                Datum::Str("six"),
            ];
            assert_eq!(eval(&e, &row, &arena), Datum::Str(want));
        }
    }

    #[test]
    fn only_equalities_of_the_filters_and_terms_count() {
        // `event_type = 2 AND x > 5`: the first term is known; an OR decides nothing.
        let known = Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(eq(col(0), lit(Value::Int(2)))),
            right: Box::new(Expr::Binary {
                op: BinaryOp::Gt,
                left: Box::new(col(4)),
                right: Box::new(lit(Value::Int(5))),
            }),
        };
        let mut exprs = vec![date_time(), eq(col(0), lit(Value::Int(2)))];
        decide_under(&[known], &mut exprs);
        assert_eq!(exprs, vec![col(3), lit(Value::Bool(true))]);
        let either = Expr::Binary {
            op: BinaryOp::Or,
            left: Box::new(eq(col(0), lit(Value::Int(2)))),
            right: Box::new(eq(col(0), lit(Value::Int(1)))),
        };
        let mut exprs = vec![date_time()];
        decide_under(&[either], &mut exprs);
        assert_eq!(exprs, vec![date_time()]);
    }
}
