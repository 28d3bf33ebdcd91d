//! `GROUP BY`: one output row per group, kept up to date by the strategies the planner chose
//! for its aggregates (see [`crate::plan::reduce`]):
//!
//! ```text
//!  rows ─► pre-aggregate ─► key → Accums ────────────┐ (accumulable, insert-only MIN/MAX)
//!   │                       arrangement ──► value per changed key (no output arrangement)
//!   ├──► (key, x) ─► distinct ──► Accums of x ───────┘ (COUNT/SUM/AVG DISTINCT)
//!   │    (of inserts: one (key, x) for all of them, with the set of aggregates x came in)
//!   └──► (key, bucket) ─► min/max per bucket ─► ... ─► per key   (MIN/MAX over retractions)
//!                          16 bits → 12 → 8 → 4 → 0, one reduce each
//! ```
//! When both the accumulable and the hierarchical parts exist, their results are joined on the
//! key and laid out in the order the query asked for.
//!
//! Every part first pre-aggregates on the worker that read the rows: equal updates of one
//! epoch are merged before the exchange, so a skewed stream crosses it as one update per group
//! and epoch. The arrangements fed directly by sources are the dataflow's state; rendering
//! hands them to checkpointing through [`StateHooks`].

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hash};

use differential_dataflow::difference::Semigroup;
use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::operators::{CountTotal, ThresholdTotal};
use differential_dataflow::trace::implementations::{KeySpine, ValBuilder, ValSpine};
use differential_dataflow::{AsCollection, VecCollection};
use smallvec::SmallVec;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::data::{DataType, Datum, Row, RowCollection};
use crate::metrics::arrangements::observed;
use crate::plan::ir::{AggFunc, AggStrategy, AggregateExpr, Expr, WindowKind};
use crate::render::accum::{Accums, SlotSet, Slots};
use crate::render::scalar::{eval, with_arena};
use crate::render::totals::{accumulate, window_expiry, Save};
use crate::render::StateHooks;
use crate::state::{KeyState, StateArrangement, StateTrace, ValState};
use crate::timestamp::{Diff, Time};

/// Pre-aggregated updates held per epoch before one is flushed early, bounding the memory of
/// an epoch with very many distinct groups.
const PRE_AGGREGATE_LIMIT: usize = 1 << 16;

/// Bits of a value's hash that pick its bucket at the bottom of a hierarchical MIN/MAX.
const BUCKET_BITS: u32 = 16;
/// Bits dropped per level of the hierarchy (16 children per bucket).
pub(crate) const BUCKET_STEP: u32 = 4;

/// How a `GROUP BY` of windows lets its groups go: the watermark, the position of
/// `window_end` in the key, and the allowed lateness.
pub type Expiry<'s> = (crate::render::event_time::Watermark<'s>, usize, i64);

/// A group result that cannot be represented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateError {
    /// Which aggregate (its position in the `Reduce`).
    pub aggregate: usize,
    /// The exact value that does not fit.
    pub exact: i128,
}

/// A `GROUP BY` straight over a window (not a session) of plain columns: its input rows are
/// the window's input, and each row's windows are assigned in the `GROUP BY`'s first step,
/// each window's key made from the row and the window's bounds (no window rows are built).
#[derive(Clone, Copy)]
pub struct Windowed {
    /// The window.
    pub kind: WindowKind,
    /// The time column of the input row.
    pub time: usize,
    /// The input row's width: `window_start`, `window_end`, `window_time` come after it.
    pub width: usize,
}

/// How to read a `Reduce`'s key and the aggregate arguments one part needs from an input row.
#[derive(Clone)]
struct KeyArgs {
    keys: Vec<Expr>,
    args: Vec<Expr>,
    /// When every key and argument is a plain column: their positions (no evaluation).
    columns: Option<(Vec<usize>, Vec<usize>)>,
    /// When the windows are assigned here (then `columns` is set).
    window: Option<Windowed>,
}

impl KeyArgs {
    fn new(group_key: &[Expr], args: Vec<Expr>, window: Option<Windowed>) -> Self {
        let keys = group_key.to_vec();
        let column = |e: &Expr| match e {
            Expr::Column(i) => Some(*i),
            _ => None,
        };
        let k: Option<Vec<usize>> = keys.iter().map(column).collect();
        let a: Option<Vec<usize>> = args.iter().map(column).collect();
        let columns = k.zip(a);
        debug_assert!(window.is_none() || columns.is_some());
        KeyArgs {
            keys,
            args,
            columns,
            window,
        }
    }

    /// Call `f` with the key (packed) and the argument values of `row`: once, or once per
    /// window of the row when the windows are assigned here (none when its time is NULL).
    fn each(&self, row: &Row, mut f: impl FnMut(Row, &[Datum<'_>])) {
        let (Some(w), Some((k, a))) = (&self.window, &self.columns) else {
            return self.with(row, f);
        };
        let Datum::Int(ts) = row.get(w.time) else {
            return;
        };
        let spans = row.spans(w.width);
        let datums = if a.is_empty() {
            SmallVec::new()
        } else {
            row.unpack()
        };
        w.kind.windows(ts, |start, end| {
            let bounds = [Datum::Int(start), Datum::Int(end), Datum::Int(end - 1)];
            let key = spans.project(k, w.width, &bounds);
            let args: SmallVec<[Datum<'_>; 8]> = (a.iter())
                .map(|&i| match i.checked_sub(w.width) {
                    None => datums.get(i).copied().unwrap_or_default(),
                    Some(j) => bounds.get(j).copied().unwrap_or_default(),
                })
                .collect();
            f(key, &args)
        });
    }

    /// Call `f` with the key (packed) and the argument values of `row`. Plain key columns
    /// are copied as encoded, not decoded and packed again.
    fn with<T>(&self, row: &Row, f: impl FnOnce(Row, &[Datum<'_>]) -> T) -> T {
        match &self.columns {
            Some((k, a)) => {
                let key = row.project(k);
                if a.is_empty() {
                    return f(key, &[]);
                }
                let datums = row.unpack();
                let args: SmallVec<[Datum<'_>; 8]> = (a.iter())
                    .map(|i| datums.get(*i).copied().unwrap_or_default())
                    .collect();
                f(key, &args)
            }
            None => with_arena(|arena| {
                let datums = row.unpack();
                let key = Row::pack(self.keys.iter().map(|e| eval(e, &datums, arena)));
                let args: SmallVec<[Datum<'_>; 8]> =
                    self.args.iter().map(|e| eval(e, &datums, arena)).collect();
                f(key, &args)
            }),
        }
    }
}

/// Render a `Reduce`: output rows laid out as key columns, then one column per aggregate.
///
/// A group result that cannot be represented (a BIGINT `SUM` beyond 64 bits) is reported to
/// `on_error` with its key while the operator still holds the epoch, so a run that fails on it
/// never writes that epoch; the row it emits then carries NULL in that column. With
/// [`Windowed`], `input` holds the window's input rows, and the windows are assigned here.
pub fn render_reduce<'s>(
    (input, window): (RowCollection<'s>, Option<Windowed>),
    group_key: &[Expr],
    aggregates: &[AggregateExpr],
    on_error: impl Fn(&Row, AggregateError) + 'static,
    (expire, on_close): (Option<Expiry<'s>>, bool),
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    let hierarchical: Vec<usize> = (0..aggregates.len())
        .filter(|i| aggregates[*i].strategy == AggStrategy::Hierarchical)
        .collect();
    // A GROUP BY without aggregates (or a DISTINCT) is the accumulable part with no slots.
    let accumulable = (hierarchical.len() < aggregates.len() || aggregates.is_empty()).then(|| {
        render_accumulable(
            (input.clone(), window),
            group_key,
            aggregates,
            on_error,
            (expire, on_close),
            hooks,
        )
    });
    let min_max = (!hierarchical.is_empty())
        .then(|| render_hierarchical((input, window), group_key, aggregates, &hierarchical, hooks));
    match (accumulable, min_max) {
        (Some(acc), None) => acc.map(|(k, v)| k.concat(&v)),
        (None, Some(mm)) => mm.map(|(k, v)| k.concat(&v)),
        (Some(acc), Some(mm)) => {
            // Aggregate i comes from the min/max row when hierarchical, else from the
            // accumulable row, each in aggregate order.
            let from_min_max: Vec<bool> = aggregates
                .iter()
                .map(|a| a.strategy == AggStrategy::Hierarchical)
                .collect();
            acc.join_map(mm, move |key: &Row, a: &Row, m: &Row| {
                let (mut a, mut m) = (a.iter(), m.iter());
                let values = from_min_max.iter().map(|h| {
                    let next = if *h { m.next() } else { a.next() };
                    next.unwrap_or_default()
                });
                Row::pack(key.iter().chain(values))
            })
        }
        (None, None) => unreachable!("without aggregates the accumulable part is rendered"),
    }
}

/// The accumulable part: `(key, values of the non-hierarchical aggregates)` per group.
fn render_accumulable<'s>(
    (input, window): (RowCollection<'s>, Option<Windowed>),
    group_key: &[Expr],
    aggregates: &[AggregateExpr],
    on_error: impl Fn(&Row, AggregateError) + 'static,
    (expire, on_close): (Option<Expiry<'s>>, bool),
    hooks: &mut StateHooks<'_, 's>,
) -> VecCollection<'s, Time, (Row, Row), Diff> {
    let slots = Slots::new(aggregates);
    let rows = {
        let key_args = KeyArgs::new(group_key, slots.args(aggregates), window);
        let slots = slots.clone();
        // Rows add into their group's accumulators in place: nothing is built per row.
        pre_aggregate(input.clone(), "PreAggregate", move |row, diff, table| {
            key_args.each(row, |key, args| match table.get_mut(&key) {
                Some(acc) => slots.add_row(acc, args, diff),
                None => {
                    table.insert(key, slots.of_row(args, diff));
                }
            })
        })
    };
    let mut updates = rows;
    // The DISTINCT aggregates, each feeding its slot: made distinct in one arrangement for
    // them all (the group key evaluated once per row for them all).
    let distinct_slots: Vec<(usize, usize)> = (slots.slots.iter().enumerate())
        .filter(|(_, &(_, _, _, strategy))| strategy.is_distinct())
        .map(|(slot, &(aggregate, ..))| (slot, aggregate))
        .collect();
    if !distinct_slots.is_empty() {
        let args = (distinct_slots.iter())
            .map(|&(_, aggregate)| {
                aggregates[aggregate]
                    .arg
                    .clone()
                    .unwrap_or(Expr::Literal(crate::data::Value::Null))
            })
            .collect();
        let key_args = KeyArgs::new(group_key, args, window);
        let inserts = aggregates[distinct_slots[0].1].strategy == AggStrategy::DistinctInserts;
        let distinct_slots: Vec<usize> = distinct_slots.iter().map(|&(slot, _)| slot).collect();
        let contributions = if inserts {
            distinct_of_inserts(&input, key_args, &distinct_slots, &slots, hooks)
        } else {
            distinct_pairs(&input, key_args, &distinct_slots, &slots, hooks)
        };
        updates = updates.concat(contributions);
    }
    let control = hooks.state.control.clone();
    let counted = hooks.state(updates, |updates, keep| {
        let save_accums = {
            let slots = slots.clone();
            move |a: Accums| {
                use differential_dataflow::difference::IsZero;
                Some(slots.without_distinct(a)).filter(|a| !a.is_zero())
            }
        };
        if on_close {
            // Windows written on close: their groups' totals in a hash map, each written once
            // when its window closes, and gone then. Only open windows are held, so the map
            // stays small (a `GROUP BY` at rest keeps its totals in an arrangement: less
            // memory per key).
            let save = keep.then(|| Box::new(save_accums) as Save<Accums>);
            // On close, a group's total is given once, as it goes (never an old one).
            let written = |key: &Row,
                           _: Option<&Accums>,
                           total: Option<&Accums>,
                           out: &mut dyn FnMut((Row, Accums), Diff)| {
                if let Some(total) = total {
                    out((key.clone(), total.clone()), 1);
                }
            };
            return accumulate(
                updates,
                "Aggregate",
                &control,
                (save, window_expiry(&expire, true)),
                written,
            );
        }
        // Windows' groups go once final (restored ones too: they come in front).
        let updates = match &expire {
            Some((watermark, key, lateness)) => {
                use crate::render::event_time::{expire, window_group};
                expire(updates, (watermark, *lateness), window_group(*key), control)
            }
            None => updates,
        };
        let (arranged, state) = arrange_keys(updates, "Aggregate", keep, save_accums);
        (arranged.count_total_core::<Diff>(), state)
    });
    // One row per group from its accumulated value (a group with no rows has none).
    let aggs: Vec<(usize, AggFunc, DataType, Option<usize>)> = aggregates
        .iter()
        .enumerate()
        .filter(|(_, a)| a.strategy != AggStrategy::Hierarchical)
        .map(|(i, a)| (i, a.func, a.arg_type, slots.slot_of(i)))
        .collect();
    counted.flat_map(move |(key, accums): (Row, Accums)| {
        if accums.rows <= 0 {
            return None;
        }
        let mut error = None;
        let values: Row = aggs
            .iter()
            .map(|&(i, func, ty, slot)| match slot {
                None => Datum::Int(accums.rows),
                Some(s) => accums.slots[s].finish(func, ty).unwrap_or_else(|exact| {
                    error.get_or_insert(AggregateError {
                        aggregate: i,
                        exact,
                    });
                    Datum::Null
                }),
            })
            .collect();
        if let Some(e) = error {
            on_error(&key, e);
        }
        Some((key, values))
    })
}

/// The hierarchical part: `(key, values of the MIN/MAX aggregates in `hierarchical`)`.
fn render_hierarchical<'s>(
    (input, window): (RowCollection<'s>, Option<Windowed>),
    group_key: &[Expr],
    aggregates: &[AggregateExpr],
    hierarchical: &[usize],
    hooks: &mut StateHooks<'_, 's>,
) -> VecCollection<'s, Time, (Row, Row), Diff> {
    let funcs: Vec<AggFunc> = hierarchical.iter().map(|i| aggregates[*i].func).collect();
    let args = hierarchical
        .iter()
        .filter_map(|i| aggregates[*i].arg.clone())
        .collect();
    let key_args = KeyArgs::new(group_key, args, window);
    // NULLs are kept (as the worst value), so every group has a row here, as it does in the
    // accumulable part, and a group of NULLs gets NULL.
    let rows = pre_aggregate(input, "PreMinMax", move |row, diff, table| {
        key_args.each(row, |key, args| {
            let values = Row::pack_slice(args);
            let bucket = bucket_of(&values);
            add(table, (key.extend([Datum::Int(bucket)]), values), diff)
        })
    });
    let level = hooks.state(rows, |rows, keep| {
        let arranged = observed::<Row, Row, Diff, _>(rows.scope(), "MinMax", || {
            rows.arrange_by_key_named("Arrange: MinMax")
        });
        let state = keep.then(|| {
            let trace: Box<dyn StateArrangement> = Box::new(ValState::new(arranged.trace.clone()));
            (trace, arranged.stream.clone().map(|_| ()))
        });
        (arranged, state)
    });
    by_bucket_levels(level, BUCKET_BITS, "MinMax", move |_, input, output| {
        output.push((best_of(&funcs, input), 1));
    })
}

/// Reduce `level` (`(key ++ bucket, value)` arranged by key, the bucket the low `bits` of a
/// hash) one level of buckets at a time: `reduce(last, values, output)` gives each bucket's
/// values for the level above, whose bucket has [`BUCKET_STEP`] fewer bits, up to one bucket
/// per key (`last`); the result is `(key, value)` without the bucket.
pub(crate) fn by_bucket_levels<'s>(
    mut level: crate::render::join::Arrangement<'s>,
    mut bits: u32,
    name: &str,
    reduce: impl Fn(bool, &[(&Row, Diff)], &mut Vec<(Row, Diff)>) + Clone + 'static,
) -> VecCollection<'s, Time, (Row, Row), Diff> {
    loop {
        let last = bits == 0;
        let reduce = reduce.clone();
        let best = level
            .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<Row, Row, _, _>, _, _>(
                name,
                move |_key, input: &[(&Row, Diff)], output: &mut Vec<(Row, Diff)>| {
                    reduce(last, input, output)
                },
                |vec, key: &Row, upds: &mut Vec<(Row, Time, Diff)>| {
                    vec.clear();
                    vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
                },
            );
        // The next level's key: the bucket with `BUCKET_STEP` fewer bits, or none at the top.
        let up = best.as_collection(move |key: &Row, values: &Row| {
            let mut datums = key.unpack();
            let bucket = match datums.pop() {
                Some(Datum::Int(b)) => b,
                _ => 0,
            };
            if !last {
                datums.push(Datum::Int(bucket >> BUCKET_STEP));
            }
            (Row::pack_slice(&datums), values.clone())
        });
        if last {
            return up;
        }
        bits -= BUCKET_STEP;
        level = observed::<Row, Row, Diff, _>(up.scope(), &format!("{name} level"), || {
            up.arrange_by_key_named(&format!("Arrange: {name} level"))
        });
    }
}

/// The bucket of a row of values: the low `BUCKET_BITS` of its hash.
fn bucket_of(values: &Row) -> i64 {
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(values);
    (h & ((1 << BUCKET_BITS) - 1)) as i64
}

/// Per column, the best value of `input`'s rows (MIN or MAX by `funcs`); NULL only when every
/// value is NULL.
pub(super) fn best_of(funcs: &[AggFunc], input: &[(&Row, Diff)]) -> Row {
    let rows: Vec<SmallVec<[Datum<'_>; 32]>> = input
        .iter()
        .filter(|(_, d)| *d > 0)
        .map(|(r, _)| r.unpack())
        .collect();
    Row::pack(funcs.iter().enumerate().map(|(i, func)| {
        let values = rows
            .iter()
            .map(|r| r.get(i).copied().unwrap_or_default())
            .filter(|v| !v.is_null());
        let best = if *func == AggFunc::Min {
            values.min()
        } else {
            values.max()
        };
        best.unwrap_or(Datum::Null)
    }))
}

/// Updates merged per epoch, by data.
pub(crate) type Table<D, R> = crate::render::FastMap<D, R>;

/// Add `r` to the update of `d` in `table`.
pub(crate) fn add<D: Hash + Eq, R: Semigroup>(table: &mut Table<D, R>, d: D, r: R) {
    match table.get_mut(&d) {
        Some(sum) => sum.plus_equals(&r),
        None => {
            table.insert(d, r);
        }
    }
}

/// `updates` arranged by themselves as `name` (noted for the arrangement metrics) and, when
/// `keep`, handed to checkpointing, each accumulated difference saved through `save`.
#[allow(clippy::type_complexity)]
fn arrange_keys<'s, R>(
    updates: VecCollection<'s, Time, Row, R>,
    name: &str,
    keep: bool,
    save: impl FnMut(R) -> Option<R> + 'static,
) -> (
    Arranged<'s, TraceAgent<KeySpine<Row, Time, R>>>,
    Option<(StateTrace, StreamVec<'s, Time, ()>)>,
)
where
    R: Semigroup + differential_dataflow::ExchangeData + Ord + serde::Serialize + std::fmt::Debug,
{
    let arranged = observed::<Row, (), R, _>(updates.scope(), name, || {
        updates.arrange_by_self_named(&format!("Arrange: {name}"))
    });
    let state = keep.then(|| {
        let trace: StateTrace = Box::new(KeyState::new(arranged.trace.clone(), save));
        (trace, arranged.stream.clone().map(|_| ()))
    });
    (arranged, state)
}

/// `DISTINCT` aggregates over an input that retracts: one `(key, slot, value)` row per
/// aggregate and distinct value, made distinct, each feeding its slot.
fn distinct_pairs<'s>(
    input: &RowCollection<'s>,
    key_args: KeyArgs,
    distinct: &[usize],
    slots: &Slots,
    hooks: &mut StateHooks<'_, 's>,
) -> VecCollection<'s, Time, Row, Accums> {
    let tags: Vec<i64> = distinct.iter().map(|&slot| slot as i64).collect();
    let pairs = pre_aggregate(input.clone(), "PreDistinct", move |row, diff, table| {
        key_args.each(row, |key, values| {
            for (value, &slot) in values.iter().zip(&tags) {
                if !value.is_null() {
                    let pair = key.clone().extend([Datum::Int(slot), *value]);
                    add(table, pair, diff);
                }
            }
        })
    });
    let distinct = hooks.state(pairs, |pairs, keep| {
        let (arranged, state) = arrange_keys(pairs, "Distinct", keep, Some);
        (arranged.distinct_total_core::<Diff>(), state)
    });
    let slots = slots.clone();
    distinct.explode(move |pair: Row| {
        let mut datums = pair.unpack();
        let value = datums.pop().unwrap_or_default();
        let slot = match datums.pop() {
            Some(Datum::Int(slot)) => usize::try_from(slot).ok(),
            _ => None,
        }
        .expect("a distinct pair carries its slot");
        Some((Row::pack_slice(&datums), slots.of_distinct(slot, value, 1)))
    })
}

/// `DISTINCT` aggregates over an input that only inserts: one `(key, value)` entry per
/// distinct value of any of them, its difference the set of aggregates the value has come in
/// (a [`SlotSet`]). When a value first comes in an aggregate, it adds to that slot. Nexmark
/// q16's eight `COUNT(DISTINCT)`s of two columns keep two entries per bid, not four.
fn distinct_of_inserts<'s>(
    input: &RowCollection<'s>,
    key_args: KeyArgs,
    distinct: &[usize],
    slots: &Slots,
    hooks: &mut StateHooks<'_, 's>,
) -> VecCollection<'s, Time, Row, Accums> {
    debug_assert!(distinct.len() <= crate::plan::reduce::MAX_DISTINCT_INSERTS);
    let width = key_args.keys.len();
    let entries = pre_aggregate(input.clone(), "PreDistinct", move |row, diff, table| {
        debug_assert!(diff > 0, "a distinct of inserts met a retraction");
        key_args.each(row, |key, values| {
            // The aggregates with equal values share one entry.
            let mut seen = 0u64;
            for (i, value) in values.iter().enumerate() {
                if value.is_null() || seen & (1 << i) != 0 {
                    continue;
                }
                let set = (values.iter().enumerate().skip(i))
                    .filter(|(_, v)| *v == value)
                    .fold(0u64, |set, (j, _)| set | 1 << j);
                seen |= set;
                add(table, key.clone().extend([*value]), SlotSet(set));
            }
        })
    });
    let distinct: Vec<usize> = distinct.to_vec();
    let slots = slots.clone();
    let added = hooks.state(entries, move |entries, keep| {
        let (arranged, state) = arrange_keys(entries, "Distinct", keep, Some);
        let added = arranged.threshold_semigroup(move |entry: &Row, new, old| {
            let added = SlotSet(new.0 & !old.map_or(0, |old| old.0));
            let value = entry.get(width);
            (added.0 != 0).then(|| slots.of_distinct_set(&distinct, added, value))
        });
        (added, state)
    });
    let key: Vec<usize> = (0..width).collect();
    added.map(move |entry: Row| entry.project(&key))
}

/// Map each input row to updates, which `map` adds to the epoch's table (with [`add`], or in
/// place), merging equal data per epoch on this worker, before the exchange. An epoch's updates leave once the input frontier passes it (or
/// its table reaches [`PRE_AGGREGATE_LIMIT`]). The collection is the same; only its physical
/// form is smaller.
pub(crate) fn pre_aggregate<'s, D, R>(
    input: RowCollection<'s>,
    name: &str,
    mut map: impl FnMut(&Row, Diff, &mut Table<D, R>) + 'static,
) -> VecCollection<'s, Time, D, R>
where
    D: Hash + Eq + Clone + 'static,
    R: Semigroup + 'static,
{
    input
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<(D, Time, R)>>, _, _, _>(
            Pipeline,
            name,
            move |_cap, _info| {
                let mut pending: BTreeMap<Time, (Capability<Time>, Table<D, R>)> = BTreeMap::new();
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        for (row, time, diff) in data.drain(..) {
                            let (_, table) = pending
                                .entry(time)
                                .or_insert_with(|| (cap.delayed(&time, 0), Table::default()));
                            map(&row, diff, table);
                        }
                    });
                    let frontier = frontier.frontier();
                    pending.retain(|time, (cap, table)| {
                        let closed = !frontier.less_equal(time);
                        if closed || table.len() >= PRE_AGGREGATE_LIMIT {
                            let updates = table.drain().filter(|(_, r)| !r.is_zero());
                            output
                                .session(&*cap)
                                .give_iterator(updates.map(|(d, r)| (d, *time, r)));
                        }
                        !closed
                    });
                }
            },
        )
        .as_collection()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_values_ignore_nulls_and_retracted_rows() {
        let rows = [
            Row::pack([Datum::Int(3), Datum::Null]),
            Row::pack([Datum::Int(1), Datum::Null]),
            Row::pack([Datum::Int(7), Datum::Null]),
        ];
        let input = [(&rows[0], 2), (&rows[1], 1), (&rows[2], 1)];
        assert_eq!(
            best_of(&[AggFunc::Min, AggFunc::Max], &input),
            Row::pack([Datum::Int(1), Datum::Null])
        );
        assert_eq!(
            best_of(&[AggFunc::Max, AggFunc::Min], &input),
            Row::pack([Datum::Int(7), Datum::Null])
        );
    }
}
