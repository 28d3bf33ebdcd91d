//! `GROUP BY` on differential's `reduce`: one output row per group, kept up to date.
//!
//! Each input row becomes `(key, args)`: the group key columns and one value per aggregate
//! argument. Differential arranges these by key and, whenever a group changes, calls
//! [`aggregate_group`] with the group's distinct `args` rows and their multiplicities; the
//! output row replaces the old one (a retraction and an insertion), and a group whose input
//! becomes empty disappears.

use std::collections::{BTreeMap, HashMap};

use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use ordered_float::OrderedFloat;

use crate::checkpoint::operators::StateTrace;
use crate::data::{Datum, Row};
use crate::plan::ir::{AggFunc, AggregateExpr, Expr};
use crate::render::scalar::{eval, Arena};
use crate::timestamp::{Diff, Time};
use smallvec::SmallVec;

/// Pre-aggregated `(key, args)` pairs held per epoch before one is flushed early, bounding the
/// memory of an epoch with very many distinct groups.
const PRE_AGGREGATE_LIMIT: usize = 1 << 16;

/// The rows a `Reduce` arranges: `(group key, aggregate arguments)` per input row,
/// pre-aggregated on this worker before the exchange.
///
/// Equal `(key, args)` pairs of one epoch are merged into one update whose multiplicity is
/// the sum, and an epoch's updates leave only once the input frontier passes it (or its
/// table reaches [`PRE_AGGREGATE_LIMIT`]). A skewed stream (a few hot words) thus crosses
/// the exchange and enters the arrangement as one update per group and epoch, not one per
/// record. The collection is the same; only its physical form is smaller.
pub fn key_rows<'s>(
    input: VecCollection<'s, Time, Row, Diff>,
    group_key: &[Expr],
    aggregates: &[AggregateExpr],
) -> VecCollection<'s, Time, (Row, Row), Diff> {
    let keys = group_key.to_vec();
    let args: Vec<Expr> = aggregates.iter().filter_map(|a| a.arg.clone()).collect();
    // When every key and argument is a plain column, pick the values without evaluating.
    let columns: Option<(Vec<usize>, Vec<usize>)> = {
        let column = |e: &Expr| match e {
            Expr::Column(i) => Some(*i),
            _ => None,
        };
        let k: Option<Vec<usize>> = keys.iter().map(column).collect();
        let a: Option<Vec<usize>> = args.iter().map(column).collect();
        k.zip(a)
    };
    type Table = HashMap<(Row, Row), Diff, foldhash::fast::RandomState>;
    input
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<((Row, Row), Time, Diff)>>, _, _, _>(
            Pipeline,
            "PreAggregate",
            move |_cap, _info| {
                let mut pending: BTreeMap<Time, (Capability<Time>, Table)> = BTreeMap::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        for (row, time, diff) in data.drain(..) {
                            let (_, table) = pending
                                .entry(time)
                                .or_insert_with(|| (cap.delayed(&time, 0), Table::default()));
                            let datums = row.unpack();
                            let (key, vals): (Row, Row) = match &columns {
                                Some((k, a)) => {
                                    let pick =
                                        |i: &usize| datums.get(*i).copied().unwrap_or_default();
                                    (k.iter().map(pick).collect(), a.iter().map(pick).collect())
                                }
                                None => {
                                    let arena = Arena::new();
                                    (
                                        keys.iter().map(|e| eval(e, &datums, &arena)).collect(),
                                        args.iter().map(|e| eval(e, &datums, &arena)).collect(),
                                    )
                                }
                            };
                            *table.entry((key, vals)).or_insert(0) += diff;
                        }
                    });
                    let frontier = frontier.frontier();
                    pending.retain(|time, (cap, table)| {
                        let closed = !frontier.less_equal(time);
                        if closed || table.len() >= PRE_AGGREGATE_LIMIT {
                            let updates = table.drain().filter(|(_, d)| *d != 0);
                            output
                                .session(&*cap)
                                .give_iterator(updates.map(|(kv, d)| (kv, *time, d)));
                        }
                        !closed
                    });
                }
            },
        )
        .as_collection()
}

/// Render a `Reduce` over [`key_rows`]: output rows laid out as key columns, then one column
/// per aggregate. Also returns the trace of the input arrangement (the operator's state) and a
/// data-less stream with the arrangement's frontier.
///
/// A group whose result cannot be represented (a BIGINT `SUM` beyond 64 bits) is reported to
/// `on_error` with its key while the operator still holds the epoch, so a run that fails on it
/// never writes that epoch; the row it emits then carries NULL in that column.
pub fn render_reduce<'s>(
    keyed: VecCollection<'s, Time, (Row, Row), Diff>,
    aggregates: &[AggregateExpr],
    on_error: impl Fn(&Row, AggregateError) + 'static,
) -> (
    VecCollection<'s, Time, Row, Diff>,
    StateTrace,
    StreamVec<'s, Time, ()>,
) {
    let aggs = aggregates.to_vec();
    let arranged = keyed.arrange_by_key_named("Arrange: Aggregate");
    let trace = arranged.trace.clone();
    let progress = arranged.stream.clone().map(|_batch| ());
    let output = arranged
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<Row, Row, _, _>, _, _>(
            "Aggregate",
            move |key, input: &[(&Row, Diff)], output: &mut Vec<(Row, Diff)>| {
                let row = match aggregate_group(&aggs, input) {
                    Ok(row) => row,
                    Err((row, error)) => {
                        on_error(key, error);
                        row
                    }
                };
                output.push((row, 1));
            },
            |vec, key: &Row, upds: &mut Vec<(Row, Time, Diff)>| {
                vec.clear();
                vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
            },
        )
        .as_collection(|key: &Row, vals: &Row| Row::pack(key.iter().chain(vals.iter())));
    (output, trace, progress)
}

/// A group result that cannot be represented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateError {
    /// Which aggregate (its position in the `Reduce`).
    pub aggregate: usize,
    /// The exact value that does not fit.
    pub exact: i128,
}

/// Compute every aggregate of one group from its distinct argument rows and multiplicities.
///
/// `input[i].0[slot]` is the argument of the aggregate at `slot` (aggregates without an
/// argument, `COUNT(*)`, take no slot). Multiplicities are positive in a consistent collection.
/// On error, the row computed with NULL in place of the failed aggregate comes with it.
pub fn aggregate_group(
    aggs: &[AggregateExpr],
    input: &[(&Row, Diff)],
) -> Result<Row, (Row, AggregateError)> {
    let rows: Vec<(SmallVec<[Datum<'_>; 16]>, Diff)> =
        input.iter().map(|(r, d)| (r.unpack(), *d)).collect();
    let mut slot = 0;
    let mut error = None;
    let row = aggs
        .iter()
        .enumerate()
        .map(|(i, agg)| match &agg.arg {
            None => Datum::Int(input.iter().map(|(_, d)| *d).sum()),
            Some(_) => {
                let values = column(&rows, slot, agg.distinct);
                slot += 1;
                fold(agg.func, &values).unwrap_or_else(|exact| {
                    error.get_or_insert(AggregateError {
                        aggregate: i,
                        exact,
                    });
                    Datum::Null
                })
            }
        })
        .collect();
    match error {
        None => Ok(row),
        Some(e) => Err((row, e)),
    }
}

/// The non-NULL values of one argument column with their multiplicities; with `distinct`,
/// each distinct value once.
fn column<'a>(
    input: &[(SmallVec<[Datum<'a>; 16]>, Diff)],
    slot: usize,
    distinct: bool,
) -> Vec<(Datum<'a>, Diff)> {
    let mut values: Vec<(Datum<'a>, Diff)> = input
        .iter()
        .filter(|(_, d)| *d > 0)
        .filter_map(|(row, d)| row.get(slot).filter(|v| !v.is_null()).map(|v| (*v, *d)))
        .collect();
    if distinct {
        values.sort_by(|a, b| a.0.cmp(&b.0));
        values.dedup_by(|a, b| a.0 == b.0);
        values.iter_mut().for_each(|v| v.1 = 1);
    }
    values
}

/// One aggregate over its values; `Err(exact)` when an integer `SUM` does not fit 64 bits.
fn fold<'a>(func: AggFunc, values: &[(Datum<'a>, Diff)]) -> Result<Datum<'a>, i128> {
    Ok(match func {
        AggFunc::Count => Datum::Int(values.iter().map(|(_, d)| *d).sum()),
        AggFunc::Sum => match sum(values) {
            None => Datum::Null,
            Some(Sum::Float(f)) => Datum::Float(OrderedFloat(f)),
            Some(Sum::Int(i)) => Datum::Int(i64::try_from(i).map_err(|_| i)?),
        },
        AggFunc::Min => values.iter().map(|(v, _)| *v).min().unwrap_or(Datum::Null),
        AggFunc::Max => values.iter().map(|(v, _)| *v).max().unwrap_or(Datum::Null),
        AggFunc::Avg => {
            let count: Diff = values.iter().map(|(_, d)| *d).sum();
            match sum(values) {
                // From the exact sum: the average fits even where the sum does not.
                Some(Sum::Int(s)) if count > 0 => {
                    Datum::Float(OrderedFloat(s as f64 / count as f64))
                }
                Some(Sum::Float(s)) if count > 0 => Datum::Float(OrderedFloat(s / count as f64)),
                _ => Datum::Null,
            }
        }
    })
}

/// An exact integer sum, or a float sum once any value is a float.
enum Sum {
    Int(i128),
    Float(f64),
}

/// SUM over non-NULL values (`None` when there are none): integers are summed exactly in 128
/// bits (2^64 values of any size cannot overflow it).
fn sum(values: &[(Datum<'_>, Diff)]) -> Option<Sum> {
    if values.is_empty() {
        return None;
    }
    let mut int: i128 = 0;
    let mut float: Option<f64> = None;
    for (v, d) in values {
        match v {
            Datum::Int(i) => int += i128::from(*i) * i128::from(*d),
            Datum::Float(f) => *float.get_or_insert(0.0) += f.0 * *d as f64,
            _ => {}
        }
    }
    Some(match float {
        Some(f) => Sum::Float(f + int as f64),
        None => Sum::Int(int),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(func: AggFunc, distinct: bool) -> AggregateExpr {
        AggregateExpr {
            func,
            arg: Some(Expr::Column(0)),
            distinct,
        }
    }

    #[test]
    fn aggregates_with_multiplicities() {
        // One argument slot per aggregate that has an argument (seven here).
        let (a, b, n) = (
            Row::pack(vec![Datum::Int(3); 7]),
            Row::pack(vec![Datum::Int(5); 7]),
            Row::pack(vec![Datum::Null; 7]),
        );
        let input = [(&a, 2), (&b, 1), (&n, 4)];
        let aggs = [
            AggregateExpr {
                func: AggFunc::Count,
                arg: None,
                distinct: false,
            },
            agg(AggFunc::Count, false),
            agg(AggFunc::Count, true),
            agg(AggFunc::Sum, false),
            agg(AggFunc::Min, false),
            agg(AggFunc::Max, false),
            agg(AggFunc::Avg, false),
            agg(AggFunc::Sum, true),
        ];
        let out = aggregate_group(&aggs, &input).unwrap();
        let f = |x| Datum::Float(OrderedFloat(x));
        assert_eq!(
            out,
            Row::pack([
                Datum::Int(7),
                Datum::Int(3),
                Datum::Int(2),
                Datum::Int(11),
                Datum::Int(3),
                Datum::Int(5),
                f(11.0 / 3.0),
                Datum::Int(8),
            ])
        );
    }

    #[test]
    fn empty_sum_is_null() {
        let n = Row::pack([Datum::Null]);
        assert_eq!(
            aggregate_group(&[agg(AggFunc::Sum, false)], &[(&n, 1)]),
            Ok(Row::pack([Datum::Null]))
        );
    }

    #[test]
    fn sum_beyond_64_bits_is_an_error_but_avg_is_exact() {
        let big = Row::pack(vec![Datum::Int(1 << 62); 2]); // one argument slot per aggregate
        let input = [(&big, 3)];
        let aggs = [agg(AggFunc::Avg, false), agg(AggFunc::Sum, false)];
        let (row, error) = aggregate_group(&aggs, &input).unwrap_err();
        assert_eq!(
            row,
            Row::pack([Datum::Float(OrderedFloat((1i64 << 62) as f64)), Datum::Null])
        );
        assert_eq!(
            error,
            AggregateError {
                aggregate: 1,
                exact: 3 * (1i128 << 62)
            }
        );
        // A sum that passes 64 bits on the way but ends inside them is exact.
        let (a, b) = (
            Row::pack([Datum::Int(i64::MAX)]),
            Row::pack([Datum::Int(-5)]),
        );
        assert!(aggregate_group(&[agg(AggFunc::Sum, false)], &[(&a, 2), (&b, 1)]).is_err());
        assert_eq!(
            aggregate_group(&[agg(AggFunc::Sum, false)], &[(&a, 1), (&b, 1)]),
            Ok(Row::pack([Datum::Int(i64::MAX - 5)]))
        );
    }
}
