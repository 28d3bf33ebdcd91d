//! `OVER` aggregates: `AGG(x) OVER (PARTITION BY k ORDER BY o ROWS BETWEEN n PRECEDING AND
//! CURRENT ROW)` (or `RANGE`) appends to every row the aggregate over its frame.
//!
//! ```text
//!  rows ─► partition → row (one arrangement, state) ─► per changed partition: sort, and
//!                                                       each row with its frame's aggregate
//! ```
//! A change to a partition re-reads that partition: its rows are sorted by the order (ties
//! by their values, column by column, so the result does not depend on arrival), and each
//! row's frame is folded: frames from the partition's first row as one running fold, the
//! others (`n` rows, or `d` of the order value, before the row) each on its own. The output is every row once per time it is counted, so a retraction upstream (q6's
//! winning bids change as higher bids come) retracts and re-adds the rows whose frames moved.

use std::cmp::Ordering;

use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use timely::dataflow::operators::vec::Map;

use crate::data::{Datum, Row, RowCollection, Value};
use crate::metrics::arrangements::observed;
use crate::plan::ir::{AggFunc, Expr, OrderKey, OverAggregate, OverFrame};
use crate::render::accum::Slots;
use crate::render::aggregate::AggregateError;
use crate::render::scalar::project;
use crate::render::top_n::Directions;
use crate::render::StateHooks;
use crate::state::{StateArrangement, ValState};
use crate::timestamp::{Diff, Time};

/// Render an `OVER` aggregate over `input`: its rows with the aggregate appended. A result
/// that cannot be represented (a BIGINT `SUM` beyond 64 bits) is reported to `on_error` with
/// the partition's key, and the row carries NULL.
pub fn render_over<'s>(
    input: RowCollection<'s>,
    partition_key: &[Expr],
    order: &[OrderKey],
    over: &OverAggregate,
    on_error: impl Fn(&Row, AggregateError) + 'static,
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    let partition = partition_key.to_vec();
    let keyed = input.map(move |row| (project(&partition, &row), row));
    let arranged = hooks.state(keyed, |rows, keep| {
        let arranged = observed::<Row, Row, Diff, _>(rows.scope(), "Over", || {
            rows.arrange_by_key_named("Arrange: Over")
        });
        let state = keep.then(|| {
            let trace: Box<dyn StateArrangement> = Box::new(ValState::new(arranged.trace.clone()));
            (trace, arranged.stream.clone().map(|_| ()))
        });
        (arranged, state)
    });
    let order_by: Vec<Expr> = order.iter().map(|o| o.expr.clone()).collect();
    let directions = Directions::of(order);
    let aggregate = over.aggregate.clone();
    let frame = over.frame;
    let slots = Slots::new(std::slice::from_ref(&aggregate));
    let args: Vec<Expr> = aggregate.arg.iter().cloned().collect();
    let reduced = arranged
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<Row, Row, _, _>, _, _>(
            "Over",
            move |key: &Row, input: &[(&Row, Diff)], output: &mut Vec<(Row, Diff)>| {
                // Each row as often as it is counted, with its order values and argument.
                let mut rows: Vec<(Row, &Row, Row)> = Vec::new();
                for (row, diff) in input {
                    for _ in 0..(*diff).max(0) {
                        rows.push((project(&order_by, row), *row, project(&args, row)));
                    }
                }
                rows.sort_by(|a, b| {
                    directions
                        .compare(&a.0, &b.0)
                        .then_with(|| by_values(a.1, b.1))
                });
                let order: Vec<&Row> = rows.iter().map(|r| &r.0).collect();
                // Frames only grow at their end as the row advances, and those that start at the
                // first row are one running fold; the others are folded each on its own.
                let mut running = slots.of_row(&[], 0);
                let mut folded = 0;
                let mut end = 0;
                for i in 0..rows.len() {
                    let (start, last) = bounds(frame, &order, directions, i, &mut end);
                    let result = if start == 0 {
                        while folded <= last {
                            slots.add_row(&mut running, &rows[folded].2.unpack(), 1);
                            folded += 1;
                        }
                        finish(&aggregate.func, &running, aggregate.arg_type, &slots)
                            .map(|d| d.to_value())
                    } else {
                        let mut accums = slots.of_row(&[], 0);
                        for (_, _, arg) in &rows[start..=last] {
                            slots.add_row(&mut accums, &arg.unpack(), 1);
                        }
                        finish(&aggregate.func, &accums, aggregate.arg_type, &slots)
                            .map(|d| d.to_value())
                    };
                    let value = result.unwrap_or_else(|exact| {
                        on_error(
                            key,
                            AggregateError {
                                aggregate: 0,
                                exact,
                            },
                        );
                        Value::Null
                    });
                    output.push((rows[i].1.clone().extend([value.datum()]), 1));
                }
            },
            |vec, key: &Row, upds: &mut Vec<(Row, Time, Diff)>| {
                vec.clear();
                vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
            },
        );
    reduced.as_collection(|_key: &Row, row: &Row| row.clone())
}

/// The first and last row of row `i`'s frame, over rows sorted by `order` (in `directions`).
/// `end` is the last peer found so far: peers are found once, not once per row.
fn bounds(
    frame: OverFrame,
    order: &[&Row],
    directions: Directions,
    i: usize,
    end: &mut usize,
) -> (usize, usize) {
    match frame {
        OverFrame::Rows(n) => (n.map_or(0, |n| i.saturating_sub(n as usize)), i),
        OverFrame::Range(d) => {
            // The row's last peer.
            *end = (*end).max(i);
            while *end + 1 < order.len()
                && directions.compare(order[*end + 1], order[i]) == Ordering::Equal
            {
                *end += 1;
            }
            let start = match (d, offset(order[i])) {
                (None, _) => 0,
                // A NULL's frame is its peers.
                (Some(_), None) => {
                    let mut s = i;
                    while s > 0 && directions.compare(order[s - 1], order[i]) == Ordering::Equal {
                        s -= 1;
                    }
                    s
                }
                // The first row not more than `d` before (the one order key ascends: the
                // planner allows no other with an offset).
                (Some(d), Some(at)) => {
                    let from = at.saturating_sub(d);
                    order[..=i].partition_point(|r| offset(r).is_none_or(|v| v < from))
                }
            };
            (start, *end)
        }
    }
}

/// The one order value of an offset `RANGE` frame as a number (`None`: NULL).
fn offset(order: &Row) -> Option<i64> {
    match order.iter().next()? {
        // BIGINT, and TIMESTAMP as milliseconds (DATE as days).
        Datum::Int(v) => Some(v),
        _ => None,
    }
}

/// Two rows in SQL order, column by column (how rows tied in the `ORDER BY` are ordered).
fn by_values(a: &Row, b: &Row) -> Ordering {
    a.iter().cmp(b.iter())
}

/// The value of the one aggregate in `accums`.
fn finish<'a>(
    func: &AggFunc,
    accums: &'a crate::render::accum::Accums,
    ty: crate::data::DataType,
    slots: &Slots,
) -> Result<Datum<'a>, i128> {
    match slots.slot_of(0) {
        None => Ok(Datum::Int(accums.rows)),
        Some(s) => accums.slots[s].finish(*func, ty),
    }
}
