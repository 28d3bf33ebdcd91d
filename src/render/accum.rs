//! Aggregates carried in the difference: the accumulable half of a `GROUP BY`.
//!
//! Each input row of a group becomes one [`Accums`] (its row count, plus one [`Accum`] per
//! accumulable, insert-only or distinct aggregate), and differential adds these up as it
//! would add counts. The arrangement of `key → Accums` is then the whole state of those
//! aggregates: a change costs one addition, no group is ever re-read, and no output
//! arrangement is kept (the output row is computed from the accumulated value).
//!
//! `COUNT` and integer `SUM` are exact (sums in 128 bits). A DOUBLE `SUM` is a float sum of the
//! finite values plus counts of the NaN and infinite ones, so retracting an infinity undoes
//! it; like Flink's retracting `SUM`, a retraction subtracts, so the last bits of a DOUBLE
//! sum may differ from a sum taken afresh. `MIN`/`MAX` here keep the best value so far and
//! are only planned over inputs that never retract.

use differential_dataflow::difference::{IsZero, Multiply, Semigroup};
use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

use crate::data::{DataType, Datum, Value};
use crate::plan::ir::{AggFunc, AggStrategy, AggregateExpr, Expr};
use crate::timestamp::Diff;

/// One aggregate's accumulator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Accum {
    /// `COUNT(x)`: non-NULL values.
    Count(i64),
    /// `SUM`/`AVG` of BIGINT: the exact sum and the number of non-NULL values.
    Int {
        /// Sum.
        sum: i128,
        /// Non-NULL values.
        n: i64,
    },
    /// `SUM`/`AVG` of DOUBLE.
    Float {
        /// Sum of the finite values.
        sum: OrderedFloat<f64>,
        /// Non-NULL values.
        n: i64,
        /// NaN values.
        nan: i64,
        /// +Infinity values.
        pos_inf: i64,
        /// -Infinity values.
        neg_inf: i64,
    },
    /// `MIN` over an insert-only input.
    Min(Option<Value>),
    /// `MAX` over an insert-only input.
    Max(Option<Value>),
}

/// A group's accumulators: its row count and one [`Accum`] per slot.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Accums {
    /// Input rows of the group (the group exists while this is positive).
    pub rows: i64,
    /// One per slot (see [`Slots`]); empty (and no allocation) when the only aggregate is
    /// `COUNT(*)`. A boxed slice, not a `Vec`: every update of an arrangement carries one.
    pub slots: Box<[Accum]>,
}

impl Accum {
    /// The accumulator of one value (a NULL counts nothing).
    #[cfg(test)]
    fn of(func: AggFunc, ty: DataType, value: Datum<'_>) -> Accum {
        let mut accum = Accum::zero(func, ty);
        accum.add(value, 1);
        accum
    }

    /// The empty accumulator of an aggregate (what a row contributes to a slot it does not
    /// feed, e.g. a distinct slot, fed by the distinct branch instead).
    fn zero(func: AggFunc, ty: DataType) -> Accum {
        match (func, ty) {
            (AggFunc::Count, _) => Accum::Count(0),
            (AggFunc::Min, _) => Accum::Min(None),
            (AggFunc::Max, _) => Accum::Max(None),
            (AggFunc::Sum | AggFunc::Avg, DataType::Float) => Accum::Float {
                sum: OrderedFloat(0.0),
                n: 0,
                nan: 0,
                pos_inf: 0,
                neg_inf: 0,
            },
            (AggFunc::Sum | AggFunc::Avg, _) => Accum::Int { sum: 0, n: 0 },
        }
    }

    /// Add one value with multiplicity `diff` in place (no accumulator is built for it).
    fn add(&mut self, value: Datum<'_>, diff: Diff) {
        let present = i64::from(!value.is_null());
        match self {
            Accum::Count(c) => *c += present * diff,
            Accum::Int { sum, n } => {
                match value {
                    Datum::Int(i) => *sum += i128::from(i) * i128::from(diff),
                    // Wrapping, so a retraction always undoes its insertion; a sum beyond
                    // 128 bits (more than 10^20 values of 18 digits) is out of reach.
                    Datum::Decimal(m) => {
                        *sum = sum.wrapping_add(m.get().wrapping_mul(i128::from(diff)))
                    }
                    _ => {}
                }
                *n += present * diff;
            }
            Accum::Float {
                sum,
                n,
                nan,
                pos_inf,
                neg_inf,
            } => {
                let x = match value {
                    Datum::Float(f) => f.0,
                    Datum::Int(i) => i as f64,
                    _ => 0.0,
                };
                if x.is_nan() {
                    *nan += diff;
                } else if x == f64::INFINITY {
                    *pos_inf += diff;
                } else if x == f64::NEG_INFINITY {
                    *neg_inf += diff;
                } else {
                    sum.0 += x * diff as f64;
                }
                *n += present * diff;
            }
            Accum::Min(best) => keep_best(best, value, std::cmp::Ordering::Less),
            Accum::Max(best) => keep_best(best, value, std::cmp::Ordering::Greater),
        }
    }

    fn plus(&mut self, other: &Accum) {
        match (self, other) {
            (Accum::Count(a), Accum::Count(b)) => *a += b,
            (Accum::Int { sum, n }, Accum::Int { sum: s, n: m }) => {
                *sum = sum.wrapping_add(*s);
                *n += m;
            }
            (
                Accum::Float {
                    sum,
                    n,
                    nan,
                    pos_inf,
                    neg_inf,
                },
                Accum::Float {
                    sum: s,
                    n: m,
                    nan: a,
                    pos_inf: p,
                    neg_inf: q,
                },
            ) => {
                sum.0 += s.0;
                *n += m;
                *nan += a;
                *pos_inf += p;
                *neg_inf += q;
            }
            (Accum::Min(a), Accum::Min(b)) => best(a, b, std::cmp::Ordering::Less),
            (Accum::Max(a), Accum::Max(b)) => best(a, b, std::cmp::Ordering::Greater),
            // Slots are laid out by the plan, so kinds always match.
            (a, b) => debug_assert!(false, "accumulators of different kinds: {a:?} + {b:?}"),
        }
    }

    fn scale(&mut self, by: i64) {
        match self {
            Accum::Count(c) => *c *= by,
            Accum::Int { sum, n } => {
                *sum = sum.wrapping_mul(i128::from(by));
                *n *= by;
            }
            Accum::Float {
                sum,
                n,
                nan,
                pos_inf,
                neg_inf,
            } => {
                sum.0 *= by as f64;
                *n *= by;
                *nan *= by;
                *pos_inf *= by;
                *neg_inf *= by;
            }
            // Insert-only: a value seen more often is still the same best value.
            Accum::Min(_) | Accum::Max(_) => {}
        }
    }

    fn is_zero(&self) -> bool {
        match self {
            Accum::Count(c) => *c == 0,
            Accum::Int { sum, n } => *sum == 0 && *n == 0,
            Accum::Float {
                sum,
                n,
                nan,
                pos_inf,
                neg_inf,
            } => sum.0 == 0.0 && *n == 0 && *nan == 0 && *pos_inf == 0 && *neg_inf == 0,
            Accum::Min(v) | Accum::Max(v) => v.is_none(),
        }
    }

    /// The aggregate's value over arguments of type `ty`; `Err(exact)` for a BIGINT `SUM`
    /// that does not fit 64 bits, or a DECIMAL `SUM` or `AVG` of more than 38 digits.
    pub fn finish(&self, func: AggFunc, ty: DataType) -> Result<Datum<'_>, i128> {
        use crate::data::decimal::{self, Mantissa};
        let decimal = matches!(ty, DataType::Decimal(..));
        Ok(match (self, func) {
            (Accum::Count(c), _) => Datum::Int(*c),
            (Accum::Min(v) | Accum::Max(v), _) => v.as_ref().map_or(Datum::Null, Value::datum),
            (Accum::Int { n: 0, .. } | Accum::Float { n: 0, .. }, _) => Datum::Null,
            // A DECIMAL(p, s) sum is a DECIMAL(38, s) (as in Flink).
            (Accum::Int { sum, .. }, AggFunc::Sum) if decimal => {
                if !decimal::in_range(*sum) {
                    return Err(*sum);
                }
                Datum::Decimal(Mantissa::new(*sum))
            }
            (Accum::Int { sum, .. }, AggFunc::Sum) => {
                Datum::Int(i64::try_from(*sum).map_err(|_| *sum)?)
            }
            // A DECIMAL(p, s) average is a DECIMAL(38, max(6, s)), rounded half up (Flink).
            (Accum::Int { sum, n }, _) if decimal => {
                let (from, to) = (ty.scale(), ty.scale().max(6));
                let avg = sum
                    .checked_mul(decimal::pow10(u32::from(to - from)))
                    .map(|scaled| decimal::divide_half_up(scaled, i128::from(*n)))
                    .filter(|avg| decimal::in_range(*avg))
                    .ok_or(*sum)?;
                Datum::Decimal(Mantissa::new(avg))
            }
            // As in Flink, the average of integers is an integer, truncated toward zero; from
            // the exact sum, so it fits even where the sum does not.
            (Accum::Int { sum, n }, _) => Datum::Int((*sum / i128::from(*n)) as i64),
            (
                Accum::Float {
                    sum,
                    n,
                    nan,
                    pos_inf,
                    neg_inf,
                },
                func,
            ) => {
                let total = if *nan > 0 || (*pos_inf > 0 && *neg_inf > 0) {
                    f64::NAN
                } else if *pos_inf > 0 {
                    f64::INFINITY
                } else if *neg_inf > 0 {
                    f64::NEG_INFINITY
                } else {
                    sum.0
                };
                let v = if func == AggFunc::Avg {
                    total / *n as f64
                } else {
                    total
                };
                Datum::Float(OrderedFloat(v))
            }
        })
    }
}

/// Keep `value` if it is better than `best` (copying it only then).
fn keep_best(best: &mut Option<Value>, value: Datum<'_>, want: std::cmp::Ordering) {
    if value.is_null() {
        return;
    }
    match best {
        Some(x) if value.cmp(&x.datum()) != want => {}
        _ => *best = Some(value.to_value()),
    }
}

/// Keep the better of two optional values (`want` is the ordering the better one has).
fn best(a: &mut Option<Value>, b: &Option<Value>, want: std::cmp::Ordering) {
    if let Some(b) = b {
        match a {
            Some(x) if b.cmp(x) != want => {}
            _ => *a = Some(b.clone()),
        }
    }
}

impl IsZero for Accums {
    /// No rows and nothing in a slot. An insert-only `MIN`/`MAX` keeps its best value when the
    /// rows it came from are taken back, so with no rows left it is empty too.
    fn is_zero(&self) -> bool {
        self.rows == 0
            && self
                .slots
                .iter()
                .all(|a| a.is_zero() || matches!(a, Accum::Min(_) | Accum::Max(_)))
    }
}

impl Semigroup for Accums {
    fn plus_equals(&mut self, rhs: &Self) {
        self.rows += rhs.rows;
        if self.slots.is_empty() {
            self.slots = rhs.slots.clone();
        } else {
            for (a, b) in self.slots.iter_mut().zip(rhs.slots.iter()) {
                a.plus(b);
            }
        }
    }
}

impl Multiply<Diff> for Accums {
    type Output = Accums;
    fn multiply(mut self, rhs: &Diff) -> Accums {
        self.rows *= rhs;
        for s in self.slots.iter_mut() {
            s.scale(*rhs);
        }
        self
    }
}

/// The distinct aggregates of a `GROUP BY` (over an input that only inserts) that one value
/// of a group has appeared in, a bit each (see [`crate::plan::ir::AggStrategy::DistinctInserts`]):
/// the difference of its `(key, value)` entry. Added by OR, so an entry stays one bit per
/// aggregate however often its value comes; it cannot be taken back, which an input that only
/// inserts never asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SlotSet(pub u64);

impl IsZero for SlotSet {
    fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl Semigroup for SlotSet {
    fn plus_equals(&mut self, rhs: &Self) {
        self.0 |= rhs.0;
    }
}

/// Where each aggregate of a `Reduce` lives: the accumulable slots, in aggregate order (all
/// but the hierarchical ones), and how to fill them from a row.
#[derive(Debug, Clone)]
pub struct Slots {
    /// `(aggregate index, function, argument type, strategy)` per slot; `COUNT(*)` takes none
    /// (it is the row count).
    pub slots: Vec<(usize, AggFunc, DataType, AggStrategy)>,
}

impl Slots {
    /// The slots of `aggregates` that are carried in the difference.
    pub fn new(aggregates: &[AggregateExpr]) -> Slots {
        Slots {
            slots: aggregates
                .iter()
                .enumerate()
                .filter(|(_, a)| a.strategy != AggStrategy::Hierarchical && a.arg.is_some())
                .map(|(i, a)| (i, a.func, a.arg_type, a.strategy))
                .collect(),
        }
    }

    /// The arguments the slots read, one per slot, in slot order: a row's `args` for
    /// [`Slots::of_row`] and [`Slots::add_row`] are these, evaluated.
    pub fn args(&self, aggregates: &[AggregateExpr]) -> Vec<Expr> {
        self.slots
            .iter()
            .filter_map(|s| aggregates[s.0].arg.clone())
            .collect()
    }

    /// The slot of aggregate `aggregate`, if it has one.
    pub fn slot_of(&self, aggregate: usize) -> Option<usize> {
        self.slots.iter().position(|s| s.0 == aggregate)
    }

    /// Every slot empty, no rows.
    fn zero(&self) -> Accums {
        Accums {
            rows: 0,
            slots: self
                .slots
                .iter()
                .map(|&(_, func, ty, _)| Accum::zero(func, ty))
                .collect(),
        }
    }

    /// The accumulators of one input row, whose slot arguments are `args` (see
    /// [`Slots::args`]) and whose multiplicity is `diff`. Distinct slots are left empty: the
    /// distinct branch fills them.
    pub fn of_row(&self, args: &[Datum<'_>], diff: Diff) -> Accums {
        let mut accums = self.zero();
        self.add_row(&mut accums, args, diff);
        accums
    }

    /// Add one input row to `into`, in place.
    pub fn add_row(&self, into: &mut Accums, args: &[Datum<'_>], diff: Diff) {
        into.rows += diff;
        for ((a, &(_, _, _, strategy)), value) in into.slots.iter_mut().zip(&self.slots).zip(args) {
            if !strategy.is_distinct() {
                a.add(*value, diff);
            }
        }
    }

    /// The accumulators of one distinct value of the aggregate in `slot`: zero rows, the value
    /// in its slot, every other slot empty.
    pub fn of_distinct(&self, slot: usize, value: Datum<'_>, diff: Diff) -> Accums {
        let mut accums = self.zero();
        accums.slots[slot].add(value, diff);
        accums
    }

    /// The accumulators of one distinct value newly in the distinct aggregates `added` (bit
    /// `i` for the slot `distinct[i]`): zero rows, the value in each of those slots.
    pub fn of_distinct_set(&self, distinct: &[usize], added: SlotSet, value: Datum<'_>) -> Accums {
        let mut accums = self.zero();
        for (bit, &slot) in distinct.iter().enumerate() {
            if added.0 & (1 << bit) != 0 {
                accums.slots[slot].add(value, 1);
            }
        }
        accums
    }

    /// The part of `accums` that came from input rows (distinct slots emptied): what a
    /// checkpoint keeps, since the distinct branch recomputes the rest from its own state.
    pub fn without_distinct(&self, mut accums: Accums) -> Accums {
        for (a, &(_, func, ty, strategy)) in accums.slots.iter_mut().zip(&self.slots) {
            if strategy.is_distinct() {
                *a = Accum::zero(func, ty);
            }
        }
        accums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_sums_undo_infinities_and_ints_are_exact() {
        let f = |x: f64| Accum::of(AggFunc::Sum, DataType::Float, Datum::Float(OrderedFloat(x)));
        let mut a = f(1.5);
        a.plus(&f(f64::INFINITY));
        assert_eq!(
            a.finish(AggFunc::Sum, DataType::Int),
            Ok(Datum::Float(OrderedFloat(f64::INFINITY)))
        );
        let mut minus_inf = f(f64::INFINITY);
        minus_inf.scale(-1);
        a.plus(&minus_inf);
        assert_eq!(
            a.finish(AggFunc::Sum, DataType::Int),
            Ok(Datum::Float(OrderedFloat(1.5)))
        );
        a.plus(&f(f64::NEG_INFINITY));
        a.plus(&f(f64::INFINITY));
        assert!(
            matches!(a.finish(AggFunc::Sum, DataType::Int), Ok(Datum::Float(x)) if x.0.is_nan())
        );

        let i = |x: i64| Accum::of(AggFunc::Sum, DataType::Int, Datum::Int(x));
        let mut s = i(i64::MAX);
        s.plus(&i(i64::MAX));
        assert_eq!(
            s.finish(AggFunc::Sum, DataType::Int),
            Err(2 * i128::from(i64::MAX))
        );
        assert_eq!(
            s.finish(AggFunc::Avg, DataType::Int),
            Ok(Datum::Int(i64::MAX))
        );
        let mut back = i(i64::MAX);
        back.scale(-1);
        s.plus(&back);
        assert_eq!(
            s.finish(AggFunc::Sum, DataType::Int),
            Ok(Datum::Int(i64::MAX))
        );
        let null = Accum::of(AggFunc::Sum, DataType::Int, Datum::Null);
        assert_eq!(null.finish(AggFunc::Sum, DataType::Int), Ok(Datum::Null));
    }

    #[test]
    fn insert_only_min_keeps_the_best_value() {
        let m = |x: i64| Accum::of(AggFunc::Min, DataType::Int, Datum::Int(x));
        let mut a = Accum::zero(AggFunc::Min, DataType::Int);
        assert!(a.is_zero());
        for x in [5, 3, 9] {
            a.plus(&m(x));
        }
        assert_eq!(a.finish(AggFunc::Min, DataType::Int), Ok(Datum::Int(3)));
        a.plus(&Accum::zero(AggFunc::Min, DataType::Int));
        assert_eq!(a.finish(AggFunc::Min, DataType::Int), Ok(Datum::Int(3)));
        a.add(Datum::Int(2), 1);
        a.add(Datum::Null, 1);
        a.add(Datum::Int(4), 1);
        assert_eq!(a.finish(AggFunc::Min, DataType::Int), Ok(Datum::Int(2)));
    }

    #[test]
    fn adding_in_place_equals_adding_accumulators() {
        let values = [
            Datum::Int(3),
            Datum::Null,
            Datum::Float(OrderedFloat(f64::INFINITY)),
            Datum::Float(OrderedFloat(-2.5)),
            Datum::Int(-7),
        ];
        for (func, ty) in [
            (AggFunc::Count, DataType::Int),
            (AggFunc::Sum, DataType::Int),
            (AggFunc::Avg, DataType::Float),
            (AggFunc::Max, DataType::Float),
        ] {
            let (mut built, mut added) = (Accum::zero(func, ty), Accum::zero(func, ty));
            for (i, v) in values.into_iter().enumerate() {
                if ty == DataType::Int && matches!(v, Datum::Float(_)) {
                    continue;
                }
                let diff = i as i64 - 1;
                let mut one = Accum::of(func, ty, v);
                if !matches!(func, AggFunc::Max) {
                    one.scale(diff);
                }
                built.plus(&one);
                added.add(
                    v,
                    if matches!(func, AggFunc::Max) {
                        1
                    } else {
                        diff
                    },
                );
            }
            assert_eq!(built, added, "{func:?}");
        }
    }
}
