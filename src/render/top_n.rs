//! Top-N: per partition, the first `limit` rows in an order, each with its row number, kept
//! up to date by the strategy the planner chose (see [`crate::plan::ir::TopNStrategy`]):
//!
//! ```text
//!  insert-only:  rows ─► pre-aggregate ─► partition → Best (≤ limit rows) ─► rows, numbered
//!                        (merge, keep the best)   one key-only arrangement
//!  retracting:   rows ─► (partition, bucket) → row ─► first `limit` per bucket ─► ... ─► numbered
//!                          8 bits → 4 → 0, one reduce each
//! ```
//! Rows equal in the order are ranked by their bytes, so every worker count and every replay
//! gives the same numbers. The arrangement fed directly by sources is state, handed to
//! checkpointing through [`StateHooks`].

use std::cmp::Ordering;
use std::hash::BuildHasher;

use differential_dataflow::difference::{IsZero, Multiply, Semigroup};
use serde::{Deserialize, Serialize};
use timely::dataflow::operators::vec::Map;

use crate::data::{Datum, Row, RowCollection};
use crate::metrics::arrangements::observed;
use crate::plan::ir::{Expr, OrderKey, TopNStrategy};
use crate::render::aggregate::{add, by_bucket_levels, pre_aggregate, Expiry};
use crate::render::scalar::project;
use crate::render::totals::{accumulate, Save};
use crate::render::StateHooks;
use crate::state::{StateArrangement, ValState};
use crate::timestamp::Diff;

/// Bits of a row's hash that pick its bucket at the bottom of a hierarchical top-N (levels
/// of 8, 4 and 0 bits: see [`by_bucket_levels`]).
const BUCKET_BITS: u32 = 8;

/// What a top-N computes: the partition key, the order and how many rows.
pub struct TopNSpec<'a> {
    /// `PARTITION BY`, over the input row.
    pub partition_key: &'a [Expr],
    /// `ORDER BY`, over the input row.
    pub order: &'a [OrderKey],
    /// Rows per partition.
    pub limit: u64,
    /// How it is computed.
    pub strategy: TopNStrategy,
}

/// The directions of a top-N's order keys, bit `i` for key `i`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Directions {
    descending: u64,
    nulls_first: u64,
}

impl Directions {
    /// The directions of `order` (at most 64 keys; the planner refuses more).
    pub fn of(order: &[OrderKey]) -> Directions {
        let bits = |f: &dyn Fn(&OrderKey) -> bool| {
            order
                .iter()
                .enumerate()
                .filter(|(_, o)| f(o))
                .fold(0u64, |b, (i, _)| b | (1 << i))
        };
        Directions {
            descending: bits(&|o| o.descending),
            nulls_first: bits(&|o| o.nulls_first),
        }
    }

    /// Compare two rows' order values (`a` first: `Less`).
    pub fn compare(self, a: &Row, b: &Row) -> Ordering {
        for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            let bit = 1u64 << i;
            let first = if self.nulls_first & bit != 0 {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => first,
                (false, true) => first.reverse(),
                _ if self.descending & bit != 0 => y.cmp(&x),
                _ => x.cmp(&y),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// Compare two ranked entries: by order values, then by the rows' bytes.
    fn rank(self, a: &(Row, Row, Diff), b: &(Row, Row, Diff)) -> Ordering {
        self.compare(&a.0, &b.0).then_with(|| a.1.cmp(&b.1))
    }
}

/// A partition's numbered rows that changed from `old` to `new`: those at a position whose
/// row is not the same before and after (a row ranked last in a full list changes none).
fn changed_rows(old: Option<&Best>, new: Option<&Best>, out: &mut dyn FnMut(Row, Diff)) {
    let mut old = old.into_iter().flat_map(Best::ranked);
    let mut new = new.into_iter().flat_map(Best::ranked);
    loop {
        match (old.next(), new.next()) {
            (None, None) => break,
            (Some(o), Some(n)) if o == n => {}
            (o, n) => {
                o.into_iter()
                    .for_each(|(row, at)| out(numbered(row, at), -1));
                n.into_iter()
                    .for_each(|(row, at)| out(numbered(row, at), 1));
            }
        }
    }
}

/// `row` with its row number `n` appended.
fn numbered(row: &Row, n: i64) -> Row {
    row.clone().extend([Datum::Int(n)])
}

/// A partition's best rows over an input that only inserts, carried as a difference: adding
/// two keeps the best `limit` of both, so an arrangement of them holds at most `limit` rows
/// per partition, however many rows the partition saw. `inputs` counts the rows added; it is
/// zero only when they were all taken back (a window's state going), and then so is this.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Best {
    inputs: Diff,
    limit: u64,
    directions: Directions,
    /// `(order values, row, count)`, best first; the counts add up to at most `limit`.
    rows: Vec<(Row, Row, Diff)>,
}

impl Best {
    /// One input row counted `count` times.
    fn of(values: Row, row: Row, count: Diff, limit: u64, directions: Directions) -> Best {
        let mut best = Best {
            inputs: count,
            limit,
            directions,
            rows: vec![(values, row, count)],
        };
        best.truncate();
        best
    }

    /// Keep only the first `limit` rows.
    fn truncate(&mut self) {
        let mut left = self.limit as i128;
        self.rows.retain_mut(|(_, _, count)| {
            let keep = (*count as i128).min(left);
            left -= keep;
            *count = keep as Diff;
            keep > 0
        });
    }

    /// How many rows the list holds (counting repeats).
    fn held(&self) -> i128 {
        self.rows.iter().map(|(_, _, count)| *count as i128).sum()
    }

    /// The rows, numbered from 1.
    fn numbered(&self) -> impl Iterator<Item = Row> + '_ {
        self.ranked().map(|(row, n)| numbered(row, n))
    }

    /// The rows, each with its number (from 1).
    fn ranked(&self) -> impl Iterator<Item = (&Row, i64)> + '_ {
        self.rows
            .iter()
            .flat_map(|(_, row, count)| std::iter::repeat_n(row, (*count).max(0) as usize))
            .zip(1i64..)
    }
}

impl IsZero for Best {
    fn is_zero(&self) -> bool {
        self.inputs == 0
    }
}

impl Semigroup for Best {
    fn plus_equals(&mut self, rhs: &Self) {
        self.inputs += rhs.inputs;
        // Every value of one top-N has the same limit and directions (a zero has none).
        self.limit = self.limit.max(rhs.limit);
        self.directions.descending |= rhs.directions.descending;
        self.directions.nulls_first |= rhs.directions.nulls_first;
        if rhs.rows.is_empty() {
            return;
        }
        // The first row only (a top-1, or deduplication): keep the better of two, without
        // merging lists.
        if let ([mine], [theirs]) = (self.rows.as_mut_slice(), rhs.rows.as_slice()) {
            if self.limit == 1 {
                match self.directions.rank(theirs, mine) {
                    Ordering::Less => *mine = theirs.clone(),
                    Ordering::Equal => mine.2 += theirs.2,
                    Ordering::Greater => {}
                }
                self.truncate();
                return;
            }
        }
        let directions = self.directions;
        // One row (a row of the input, or of a partition that saw one): put in its place in
        // the list, which is kept sorted, or left out when the list is full and it ranks last.
        if let [theirs] = rhs.rows.as_slice() {
            match (self.rows).binary_search_by(|probe| directions.rank(probe, theirs)) {
                Ok(i) => self.rows[i].2 += theirs.2,
                Err(i) if i == self.rows.len() && self.held() >= self.limit as i128 => return,
                Err(i) => self.rows.insert(i, theirs.clone()),
            }
            self.truncate();
            return;
        }
        self.rows.extend(rhs.rows.iter().cloned());
        self.rows.sort_by(|a, b| directions.rank(a, b));
        self.rows.dedup_by(|next, kept| {
            let same = kept.0 == next.0 && kept.1 == next.1;
            if same {
                kept.2 += next.2;
            }
            same
        });
        self.truncate();
    }
}

impl Multiply<Diff> for Best {
    type Output = Best;
    /// Scales the rows added; the best rows stay (taking back all the rows of a partition
    /// empties it, which is all a retraction of a `Best` is used for).
    fn multiply(mut self, rhs: &Diff) -> Best {
        self.inputs *= rhs;
        self
    }
}

/// Render a top-N: the input's rows that are among the first `limit` of their partition,
/// each with its row number appended.
pub fn render_top_n<'s>(
    input: RowCollection<'s>,
    spec: &TopNSpec<'_>,
    expire: Option<Expiry<'s>>,
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    match spec.strategy {
        TopNStrategy::InsertOnly => insert_only(input, spec, expire, hooks),
        TopNStrategy::Hierarchical => hierarchical(input, spec, expire, hooks),
    }
}

/// Over an input that only inserts: one `Best` per partition.
fn insert_only<'s>(
    input: RowCollection<'s>,
    spec: &TopNSpec<'_>,
    expire: Option<Expiry<'s>>,
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    let (partition, order, limit) = (
        spec.partition_key.to_vec(),
        order_exprs(spec.order),
        spec.limit,
    );
    let directions = Directions::of(spec.order);
    let best = pre_aggregate(input, "PreTopN", move |row, diff, table| {
        // The input only inserts (the planner chose this strategy for that).
        if diff > 0 {
            let best = Best::of(project(&order, row), row.clone(), diff, limit, directions);
            add(table, project(&partition, row), best);
        }
    });
    let control = hooks.state.control.clone();
    hooks.state(best, |best, keep| {
        let save = keep.then(|| Box::new(Some) as Save<Best>);
        let changes =
            |_: &Row, old: Option<&Best>, new: Option<&Best>, out: &mut dyn FnMut(Row, Diff)| {
                changed_rows(old, new, out)
            };
        accumulate(
            best,
            "TopN",
            &control,
            (save, crate::render::totals::window_expiry(&expire, false)),
            changes,
        )
    })
}

/// Over an input that retracts: every row kept, the first `limit` of each bucket of a
/// partition found level by level.
fn hierarchical<'s>(
    input: RowCollection<'s>,
    spec: &TopNSpec<'_>,
    expire: Option<Expiry<'s>>,
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    let partition = spec.partition_key.to_vec();
    let rows = pre_aggregate(input, "PreTopN", move |row, diff, table| {
        let bucket = bucket_of(row);
        let key = project(&partition, row).concat(&Row::pack([Datum::Int(bucket)]));
        add(table, (key, row.clone()), diff)
    });
    let control = hooks.state.control.clone();
    let level = hooks.state(rows, |rows, keep| {
        // A window's rows go once it is final (its partition key holds its end).
        let rows = match &expire {
            Some((watermark, key, lateness)) => {
                let group = crate::render::event_time::window_group(*key);
                let end_of = move |(k, _): &(Row, Row)| group(k);
                crate::render::event_time::expire(rows, (watermark, *lateness), end_of, control)
            }
            None => rows,
        };
        let arranged = observed::<Row, Row, Diff, _>(rows.scope(), "TopN", || {
            rows.arrange_by_key_named("Arrange: TopN")
        });
        let state = keep.then(|| {
            let trace: Box<dyn StateArrangement> = Box::new(ValState::new(arranged.trace.clone()));
            (trace, arranged.stream.clone().map(|_| ()))
        });
        (arranged, state)
    });
    let (order, directions, limit) = (
        order_exprs(spec.order),
        Directions::of(spec.order),
        spec.limit,
    );
    by_bucket_levels(level, BUCKET_BITS, "TopN", move |last, input, output| {
        let mut ranked: Vec<(Row, Row, Diff)> = input
            .iter()
            .filter(|(_, d)| *d > 0)
            .map(|(row, d)| (project(&order, row), (*row).clone(), *d))
            .collect();
        ranked.sort_by(|a, b| directions.rank(a, b));
        let mut best = Best {
            inputs: 1,
            limit,
            directions,
            rows: ranked,
        };
        best.truncate();
        if last {
            output.extend(best.numbered().map(|row| (row, 1)));
        } else {
            output.extend(best.rows.into_iter().map(|(_, row, n)| (row, n)));
        }
    })
    .map(|(_, row)| row)
}

fn order_exprs(order: &[OrderKey]) -> Vec<Expr> {
    order.iter().map(|o| o.expr.clone()).collect()
}

/// The bucket of a row: the low `BUCKET_BITS` of its hash.
fn bucket_of(row: &Row) -> i64 {
    let h = foldhash::fast::FixedState::with_seed(0x70b).hash_one(row);
    (h & ((1 << BUCKET_BITS) - 1)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use crate::plan::ir::OrderKey;

    fn key(descending: bool, nulls_first: bool) -> OrderKey {
        OrderKey {
            expr: Expr::Column(0),
            descending,
            nulls_first,
        }
    }

    fn best(values: &[Option<i64>], limit: u64, order: &[OrderKey]) -> Best {
        let directions = Directions::of(order);
        values
            .iter()
            .map(|v| {
                let d = v.map_or(Datum::Null, Datum::Int);
                Best::of(Row::pack([d]), Row::pack([d]), 1, limit, directions)
            })
            .fold(Best::default(), |mut a, b| {
                a.plus_equals(&b);
                a
            })
    }

    fn firsts(b: &Best) -> Vec<Option<i64>> {
        b.rows
            .iter()
            .flat_map(|(_, r, n)| {
                let v = match r.get(0) {
                    Datum::Int(i) => Some(i),
                    _ => None,
                };
                std::iter::repeat_n(v, *n as usize)
            })
            .collect()
    }

    #[test]
    fn best_keeps_the_first_rows_in_order_with_nulls_where_asked() {
        let input = [Some(3), None, Some(1), Some(7), Some(3), Some(5)];
        let b = best(&input, 3, &[key(true, false)]);
        assert_eq!(firsts(&b), [Some(7), Some(5), Some(3)]);
        assert_eq!(b.inputs, 6);
        let b = best(&input, 4, &[key(false, true)]);
        assert_eq!(firsts(&b), [None, Some(1), Some(3), Some(3)]);
        let b = best(&input, 10, &[key(false, false)]);
        assert_eq!(
            firsts(&b),
            [Some(1), Some(3), Some(3), Some(5), Some(7), None]
        );
        let numbered: Vec<Row> = best(&input, 2, &[key(true, false)]).numbered().collect();
        assert_eq!(
            numbered,
            [
                Row::pack([Datum::Int(7), Datum::Int(1)]),
                Row::pack([Datum::Int(5), Datum::Int(2)])
            ]
        );
    }

    #[test]
    fn a_top_1_keeps_the_first_row_of_a_longer_list_in_any_order() {
        let values = [Some(3), None, Some(7), Some(7), Some(1), None, Some(5)];
        let reversed: Vec<Option<i64>> = values.iter().rev().copied().collect();
        for (descending, nulls_first) in
            [(true, false), (false, true), (false, false), (true, true)]
        {
            let order = [key(descending, nulls_first)];
            let one = best(&values, 1, &order);
            assert_eq!(firsts(&one), firsts(&best(&values, 3, &order))[..1]);
            assert_eq!(one, best(&reversed, 1, &order));
            assert_eq!(one.inputs, 7);
        }
    }

    #[test]
    fn merging_in_any_grouping_gives_the_same_best() {
        let order = [key(false, true)];
        let values: Vec<Option<i64>> = (0..40).map(|i| Some((i * 7919) % 23)).collect();
        let whole = best(&values, 5, &order);
        let (a, b) = values.split_at(17);
        let mut halves = best(b, 5, &order);
        halves.plus_equals(&best(a, 5, &order));
        assert_eq!(whole, halves);
        assert!(!whole.is_zero());
        let mut gone = whole.clone();
        gone.plus_equals(&whole.clone().multiply(&-1));
        assert!(gone.is_zero());
    }

    #[test]
    fn only_the_numbered_rows_that_changed_are_taken_back_and_added() {
        let order = [key(true, false)];
        let changes = |old: Option<&Best>, new: Option<&Best>| {
            let mut out = Vec::new();
            changed_rows(old, new, &mut |row, d| {
                let v: Vec<Value> = row.iter().map(Datum::to_value).collect();
                out.push((v[0].clone(), v[1].clone(), d));
            });
            out
        };
        let i = Value::Int;
        let before = best(&[Some(7), Some(5), Some(3)], 3, &order);
        let after = best(&[Some(7), Some(5), Some(3), Some(6)], 3, &order);
        assert_eq!(
            changes(Some(&before), Some(&after)),
            [
                (i(5), i(2), -1),
                (i(6), i(2), 1),
                (i(3), i(3), -1),
                (i(5), i(3), 1)
            ]
        );
        // Ranked last in a full list: nothing.
        let same = best(&[Some(7), Some(5), Some(3), Some(1)], 3, &order);
        assert_eq!(changes(Some(&before), Some(&same)), []);
        // A partition's first row, and its last going.
        let one = best(&[Some(4)], 3, &order);
        assert_eq!(changes(None, Some(&one)), [(i(4), i(1), 1)]);
        assert_eq!(changes(Some(&one), None), [(i(4), i(1), -1)]);
    }
}
