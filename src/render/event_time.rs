//! Event time: watermarks, and the operators that follow them (late rows, window state that
//! goes, windows written when they close).
//!
//! ```text
//!  source ──► (partition, watermark value, epoch) per partition and epoch
//!               └─► GROUP BY partition: MAX, MAX (state, checkpointed) ─► broadcast
//!                     └─► Watermark: at each time, max(previous, min over live partitions)
//!                           ├─► Window: drop rows at or behind it (less the lateness)
//!                           ├─► Reduce over windows: retract a window's state once it is past
//!                           │     (and do not pass the retraction on)
//!                           └─► 'on-window-close' (a sink, or every window GROUP BY and
//!                                 top-N): a window's rows once, when it closes
//! ```
//!
//! A watermark `W` means no record with a time at or before `W` is expected any more (Flink's
//! meaning): a row is late when its time is `<= W` less the allowed lateness, and a window
//! `[start, end)` is closed once `end - 1 <= W`.
//!
//! The watermark at a time `t` is a function of the records of epochs `<= t` and of the epoch
//! numbers (a partition is idle when its last record's epoch is more than the idle timeout
//! before `t`), so a replay of journaled epochs computes the same watermarks. Every operator
//! that follows it decides on a row at time `t` with the watermark *before* `t`, `W(t-)`: the
//! records of one epoch come as a set, so none of them may be late because of another.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use differential_dataflow::difference::Semigroup;
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::control::RunControl;
use crate::data::{DataType, Datum, Row, RowCollection};
use crate::metrics::Metrics;
use crate::plan::ir::{AggFunc, AggStrategy, AggregateExpr, Expr, WatermarkPlan, WindowKind};
use crate::render::FastMap;
use crate::timestamp::{Diff, Time, Tracker};

/// Before any record: nothing is known to be complete.
pub const NONE: i64 = i64::MIN;

/// A table's watermark as every worker sees it: at each time the partitions' statistics
/// changed, the watermark after that time.
pub type Watermark<'s> = StreamVec<'s, Time, i64>;

/// Whether a window ending at `end` is closed under watermark `w` (`end - 1 <= w`).
pub fn closed(end: i64, w: i64) -> bool {
    end.saturating_sub(1) <= w
}

/// The watermark expression of `plan` as a function of a decoded row (what a source's
/// [`crate::source::statistics::Statistics`] records), whose columns are `layout`'s when the
/// table is narrowed (see [`crate::spec::SourceSpec::layout`]).
pub fn watermark_value(
    plan: &WatermarkPlan,
    layout: Option<&[usize]>,
) -> crate::source::statistics::WatermarkValue {
    let mut expr = plan.expr.clone();
    if let Some(layout) = layout {
        crate::render::fused::read_through(&mut expr, layout);
    }
    Box::new(move |row: &Row| {
        match crate::render::scalar::project(std::slice::from_ref(&expr), row).get(0) {
            Datum::Int(w) => Some(w),
            _ => None,
        }
    })
}

/// The name under which rendering finds the statistics collection of `table`'s watermark.
pub fn statistics_name(table: &str) -> String {
    format!("$watermark:{}", table.to_ascii_lowercase())
}

/// The `GROUP BY partition` of a watermark's statistics: `MAX(value)`, `MAX(epoch)`.
pub fn per_partition() -> (Vec<Expr>, Vec<AggregateExpr>) {
    let max = |c: usize, ty| AggregateExpr {
        func: AggFunc::Max,
        arg: Some(Expr::Column(c)),
        arg_type: ty,
        distinct: false,
        strategy: AggStrategy::InsertOnly,
    };
    (
        vec![Expr::Column(0)],
        vec![max(1, DataType::Timestamp), max(2, DataType::Int)],
    )
}

/// The watermark from the per-partition statistics `(partition, value, last epoch)`, on
/// every worker; `initial` is its value before the first time (a restored run's).
pub fn watermark<'s>(
    partitions: RowCollection<'s>,
    idle_timeout_ms: Option<u64>,
    initial: i64,
    history: Option<crate::resume::WatermarkHistory>,
) -> Watermark<'s> {
    partitions
        .inner
        .broadcast()
        .unary_frontier::<CapacityContainerBuilder<Vec<i64>>, _, _, _>(
            Pipeline,
            "Watermark",
            move |_, _| {
                let mut parts: HashMap<i64, (i64, i64)> = HashMap::new();
                let mut pending: BTreeMap<Time, (Capability<Time>, Vec<(Row, Diff)>)> =
                    BTreeMap::new();
                let mut current = initial;
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        for (row, t, d) in data.drain(..) {
                            pending
                                .entry(t)
                                .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()))
                                .1
                                .push((row, d));
                        }
                    });
                    let frontier = frontier.frontier();
                    while let Some(entry) = pending.first_entry() {
                        let t = *entry.key();
                        if frontier.less_equal(&t) {
                            break;
                        }
                        let (cap, mut updates) = entry.remove();
                        // A partition's old statistics go before its new ones come.
                        updates.sort_by_key(|(_, d)| *d);
                        for (row, d) in updates {
                            let v = row.unpack();
                            let (Datum::Int(p), Datum::Int(w), Datum::Int(e)) = (v[0], v[1], v[2])
                            else {
                                continue;
                            };
                            if d < 0 {
                                if parts.get(&p) == Some(&(w, e)) {
                                    parts.remove(&p);
                                }
                            } else {
                                parts.insert(p, (w, e));
                            }
                        }
                        let live = parts
                            .values()
                            .filter(|(_, last)| {
                                idle_timeout_ms.is_none_or(|idle| {
                                    (t as i64).saturating_sub(*last) <= idle as i64
                                })
                            })
                            .map(|(w, _)| *w)
                            .min();
                        if let Some(w) = live {
                            current = current.max(w);
                        }
                        if let Some(h) = &history {
                            h.borrow_mut().insert(t, current);
                        }
                        tracing::debug!(time = t, watermark = current, partitions = ?parts, "watermark");
                        output.session(&cap).give(current);
                    }
                }
            },
        )
}

/// Rows of `time` (column) at or behind the watermark before their time, less `lateness`,
/// dropped and counted (when `count` is given).
pub fn drop_late<'s>(
    rows: RowCollection<'s>,
    watermark: &Watermark<'s>,
    time: usize,
    lateness: i64,
    count: Option<Arc<RunControl>>,
) -> RowCollection<'s> {
    let late = move |row: &Row, bound: i64| matches!(row.get(time), Datum::Int(ts) if ts <= bound);
    sift(rows, watermark, lateness, count, late)
}

/// Rows that `late` says are behind `bound` (the watermark before their time, less
/// `lateness`) dropped, and counted when `count` is given.
fn sift<'s>(
    rows: RowCollection<'s>,
    watermark: &Watermark<'s>,
    lateness: i64,
    count: Option<Arc<RunControl>>,
    late: impl Fn(&Row, i64) -> bool + 'static,
) -> RowCollection<'s> {
    rows.inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(Row, Time, Diff)>>, _, _, _, _>(
            watermark.clone(),
            Pipeline,
            Pipeline,
            "DropLate",
            move |_, _| {
                let mut tracker = Tracker::new(NONE);
                let mut pending: BTreeMap<Time, (Capability<Time>, Vec<(Row, Diff)>)> =
                    BTreeMap::new();
                move |(rows, rows_frontier), (marks, marks_frontier), output| {
                    marks.for_each(|cap, data: &mut Vec<i64>| {
                        let Some(&t) = cap.least() else { return };
                        for w in data.drain(..) {
                            tracker.insert(t, w);
                        }
                    });
                    rows.for_each(|cap, data| {
                        for (row, t, d) in data.drain(..) {
                            pending
                                .entry(t)
                                .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()))
                                .1
                                .push((row, d));
                        }
                    });
                    // Rows of time t wait until every watermark before t is known.
                    let marks_frontier = marks_frontier.frontier();
                    while let Some(entry) = pending.first_entry() {
                        let t = *entry.key();
                        if marks_frontier.less_than(&t) {
                            break;
                        }
                        let (cap, updates) = entry.remove();
                        let bound = tracker.before(t).saturating_sub(lateness);
                        let mut session = output.session(&cap);
                        let mut dropped = 0;
                        for (row, d) in updates {
                            if late(&row, bound) {
                                dropped += d.max(0) as u64;
                            } else {
                                session.give((row, t, d));
                            }
                        }
                        if dropped > 0 && count.is_some() {
                            tracing::debug!(time = t, bound, dropped, "late records dropped");
                        }
                        if let (true, Some(control)) = (dropped > 0, &count) {
                            Metrics::add(&control.metrics.late_records_dropped, dropped);
                        }
                    }
                    // Rows still waiting are behind the input frontier: keep what they ask.
                    let waiting = pending.keys().next().copied();
                    let lowest = rows_frontier.frontier().first().copied();
                    if let Some(low) = waiting.into_iter().chain(lowest).min() {
                        tracker.forget_before(low);
                    }
                }
            },
        )
        .as_collection()
}

/// Each row once per window of `kind` its time (column `time`) is in, with `window_start`,
/// `window_end` and `window_time` appended; a row whose time is NULL is in none.
pub fn assign(kind: WindowKind, time: usize) -> impl Fn(Row, &mut dyn FnMut(Row)) + 'static {
    move |row: Row, out: &mut dyn FnMut(Row)| {
        let Datum::Int(ts) = row.get(time) else {
            return;
        };
        kind.windows(ts, |start, end| {
            // The row's encoding copied as it is, the window's values encoded after it.
            let window = [Datum::Int(start), Datum::Int(end), Datum::Int(end - 1)];
            out(row.clone().extend(window));
        });
    }
}

/// State retracted once it is final. `end_of(d)` says when an update's state is final: at
/// its own end (a window group's `window_end`: `(None, end)`), or at the latest end of a
/// group (`(Some(group), end)`: a session partition, whose end is its last row's time plus
/// the gap, moves on as rows arrive). Once the watermark before a time has passed an end by
/// `lateness`, no record can change that state any more: the updates pass through, and at
/// each time the watermark moves, the totals that became final are taken back.
///
/// Totals are filed by end; a group's totals filed under an end it has since moved past are
/// filed again under its current end when the old one passes, so a window's state is one
/// entry and a group's end is kept once per group.
pub fn expire<'s, D, R>(
    updates: VecCollection<'s, Time, D, R>,
    (watermark, lateness): (&Watermark<'s>, i64),
    end_of: impl Fn(&D) -> Option<(Option<Row>, i64)> + 'static,
    control: Arc<RunControl>,
) -> VecCollection<'s, Time, D, R>
where
    D: Clone + Eq + std::hash::Hash + 'static,
    R: Semigroup + differential_dataflow::difference::Multiply<Diff, Output = R> + 'static,
{
    updates
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(D, Time, R)>>, _, _, _, _>(
            watermark.clone(),
            Pipeline,
            Pipeline,
            "ExpireState",
            move |_, _| {
                let mut tracker = Tracker::new(NONE);
                // Accumulated totals by the end they were filed under.
                let mut filed: BTreeMap<i64, FastMap<D, R>> = BTreeMap::new();
                // The latest end of each group.
                let mut ends: FastMap<Row, i64> = FastMap::default();
                let mut marks_at: BTreeMap<Time, Capability<Time>> = BTreeMap::new();
                move |(input, input_frontier), (marks, marks_frontier), output| {
                    marks.for_each(|cap, data: &mut Vec<i64>| {
                        let Some(cap) = cap.retain_least(0) else {
                            return;
                        };
                        let t = *cap.time();
                        for w in data.drain(..) {
                            tracker.insert(t, w);
                        }
                        marks_at.insert(t, cap);
                    });
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for (d, t, r) in data.drain(..) {
                            if let Some((group, e)) = end_of(&d) {
                                let end = match group {
                                    Some(g) => {
                                        let end = ends.entry(g).or_insert(e);
                                        *end = (*end).max(e);
                                        *end
                                    }
                                    None => e,
                                };
                                file(&mut filed, end, d.clone(), r.clone());
                            }
                            session.give((d, t, r));
                        }
                    });
                    // At a time the watermark moved, once every update before it is in: the
                    // state final under the watermark before that time goes.
                    let (marks_frontier, input_frontier) =
                        (marks_frontier.frontier(), input_frontier.frontier());
                    while let Some(entry) = marks_at.first_entry() {
                        let t = *entry.key();
                        if marks_frontier.less_than(&t) || input_frontier.less_than(&t) {
                            break;
                        }
                        let cap = entry.remove();
                        let bound = tracker.before(t).saturating_sub(lateness);
                        // Closed: `end - 1 <= bound`.
                        let keep = filed.split_off(&bound.saturating_add(2));
                        let gone = std::mem::replace(&mut filed, keep);
                        let mut session = output.session(&cap);
                        let mut released = 0;
                        for (d, total) in gone.into_values().flatten() {
                            let group = end_of(&d).and_then(|(g, _)| g);
                            let later = group.as_ref().and_then(|g| ends.get(g).copied());
                            match later {
                                // The group moved on: its state waits for its new end.
                                Some(end) if end > bound.saturating_add(1) => {
                                    file(&mut filed, end, d, total)
                                }
                                _ => {
                                    if let Some(g) = &group {
                                        ends.remove(g);
                                    }
                                    session.give((d, t, total.multiply(&-1)));
                                    released += 1;
                                }
                            }
                        }
                        Metrics::add(&control.metrics.state_released, released);
                        tracker.forget_before(t);
                    }
                }
            },
        )
        .as_collection()
}

/// Add `r` to the total of `d` filed under `end`, dropping a total that adds up to nothing.
fn file<D: Eq + std::hash::Hash, R: Semigroup>(
    filed: &mut BTreeMap<i64, FastMap<D, R>>,
    end: i64,
    d: D,
    r: R,
) {
    let totals = filed.entry(end).or_default();
    match totals.get_mut(&d) {
        Some(total) => {
            total.plus_equals(&r);
            if total.is_zero() {
                totals.remove(&d);
            }
        }
        None if r.is_zero() => {}
        None => {
            totals.insert(d, r);
        }
    }
}

/// For [`expire`]: state keyed by a row whose column `end` is its window's end.
pub fn window_group(end: usize) -> impl Fn(&Row) -> Option<(Option<Row>, i64)> + 'static {
    move |key: &Row| match key.get(end) {
        Datum::Int(e) => Some((None, e)),
        _ => None,
    }
}

/// Drop the updates at a time `t` of rows whose window (`window_end` in column `end`) was
/// final under the watermark before `t` (past its end by `lateness`): the retractions
/// [`expire`] makes when state goes, which are not results.
pub fn hide_expired<'s>(
    rows: RowCollection<'s>,
    watermark: &Watermark<'s>,
    end: usize,
    lateness: i64,
) -> RowCollection<'s> {
    // Final: `end - 1 + lateness <= W`, i.e. `end <= W - (lateness - 1)`.
    drop_late(rows, watermark, end, lateness.saturating_sub(1), None)
}

/// The joined rows (`left ++ right`) at a time `t` in which a side's row went (its time, in
/// `left` or `right` with that side's horizon, plus the horizon at or behind the bound before
/// `t`): the retractions [`expire`] makes of an interval join's rows, which are not results.
pub fn hide_gone_pairs<'s>(
    rows: RowCollection<'s>,
    bound: &Watermark<'s>,
    lateness: i64,
    left: Option<(usize, i64)>,
    right: Option<(usize, i64)>,
) -> RowCollection<'s> {
    let gone = move |row: &Row, bound: i64| {
        [left, right].into_iter().flatten().any(|(column, horizon)| {
            matches!(row.get(column), Datum::Int(ts) if ts.saturating_add(horizon) <= bound)
        })
    };
    sift(rows, bound, lateness, None, gone)
}

/// At each time either watermark moves, the lesser of `a` less `a_lateness` and `b` less
/// `b_lateness`: the bound no row to come on either side is at or behind.
pub fn lesser<'s>(
    (a, a_lateness): (&Watermark<'s>, i64),
    (b, b_lateness): (&Watermark<'s>, i64),
) -> Watermark<'s> {
    a.clone()
        .binary_frontier::<_, CapacityContainerBuilder<Vec<i64>>, _, _, _, _>(
            b.clone(),
            Pipeline,
            Pipeline,
            "LesserWatermark",
            move |_, _| {
                let (mut at_a, mut at_b) = (Tracker::new(NONE), Tracker::new(NONE));
                let mut pending: BTreeMap<Time, Capability<Time>> = BTreeMap::new();
                let mut last = None;
                move |(a, a_frontier), (b, b_frontier), output| {
                    for (input, at) in [(a, &mut at_a), (b, &mut at_b)] {
                        input.for_each(|cap, data: &mut Vec<i64>| {
                            let Some(cap) = cap.retain_least(0) else {
                                return;
                            };
                            let t = *cap.time();
                            data.drain(..).for_each(|w| at.insert(t, w));
                            pending.entry(t).or_insert(cap);
                        });
                    }
                    let (a_frontier, b_frontier) = (a_frontier.frontier(), b_frontier.frontier());
                    while let Some(entry) = pending.first_entry() {
                        let t = *entry.key();
                        if a_frontier.less_equal(&t) || b_frontier.less_equal(&t) {
                            break;
                        }
                        let cap = entry.remove();
                        let w = at_a
                            .at(t)
                            .saturating_sub(a_lateness)
                            .min(at_b.at(t).saturating_sub(b_lateness));
                        if last != Some(w) {
                            last = Some(w);
                            output.session(&cap).give(w);
                        }
                        at_a.forget_before(t);
                        at_b.forget_before(t);
                    }
                }
            },
        )
}

/// Rows written when their window closes: per window (`window_end` in column `end`), the
/// rows it holds at the time the watermark less `lateness` closes it, each once; updates to a
/// window already closed are ignored, and nothing is ever retracted. A sink's
/// `'sink.emit' = 'on-window-close'` (lateness 0: a late row that still counts is not
/// written), and a window `GROUP BY` or top-N under `SET 'window.emit' = 'on-window-close'`
/// (its allowed lateness: the row written is final).
pub fn on_window_close<'s>(
    rows: RowCollection<'s>,
    watermark: &Watermark<'s>,
    end: usize,
    lateness: i64,
) -> RowCollection<'s> {
    rows.inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(Row, Time, Diff)>>, _, _, _, _>(
            watermark.clone(),
            Pipeline,
            Pipeline,
            "OnWindowClose",
            move |_, _| {
                let mut tracker = Tracker::new(NONE);
                let mut updates: BTreeMap<Time, Vec<(Row, Diff)>> = BTreeMap::new();
                let mut marks_at: BTreeMap<Time, Capability<Time>> = BTreeMap::new();
                // The rows of open windows, by window end.
                let mut open: BTreeMap<i64, FastMap<Row, Diff>> = BTreeMap::new();
                move |(input, input_frontier), (marks, marks_frontier), output| {
                    marks.for_each(|cap, data: &mut Vec<i64>| {
                        let Some(cap) = cap.retain_least(0) else {
                            return;
                        };
                        let t = *cap.time();
                        for w in data.drain(..) {
                            tracker.insert(t, w);
                        }
                        marks_at.insert(t, cap);
                    });
                    input.for_each(|_, data| {
                        for (row, t, d) in data.drain(..) {
                            updates.entry(t).or_default().push((row, d));
                        }
                    });
                    let (marks_frontier, input_frontier) =
                        (marks_frontier.frontier(), input_frontier.frontier());
                    // Times whose rows and watermark are complete, in order.
                    loop {
                        let next = match (updates.keys().next(), marks_at.keys().next()) {
                            (Some(a), Some(b)) => *a.min(b),
                            (Some(a), None) => *a,
                            (None, Some(b)) => *b,
                            (None, None) => break,
                        };
                        if marks_frontier.less_equal(&next) || input_frontier.less_equal(&next) {
                            break;
                        }
                        let before = tracker.before(next).saturating_sub(lateness);
                        for (row, d) in updates.remove(&next).unwrap_or_default() {
                            let Datum::Int(e) = row.get(end) else {
                                continue;
                            };
                            if closed(e, before) {
                                continue; // the window was written already
                            }
                            let window = open.entry(e).or_default();
                            let n = window.entry(row).or_insert(0);
                            *n += d;
                        }
                        if let Some(cap) = marks_at.remove(&next) {
                            let now = tracker.at(next).saturating_sub(lateness);
                            let still_open = open.split_off(&now.saturating_add(2));
                            let closing = std::mem::replace(&mut open, still_open);
                            let mut session = output.session(&cap);
                            for (row, n) in closing.into_values().flatten() {
                                if n > 0 {
                                    session.give((row, next, n));
                                }
                            }
                        }
                        tracker.forget_before(next);
                    }
                }
            },
        )
        .as_collection()
}
