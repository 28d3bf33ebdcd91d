//! Totals per key, kept in a hash map: the state of an insert-only top-N (each partition's
//! `Best` rows).
//!
//! ```text
//!  (key, diff) ─► exchange by key ─► per time, in order, once the frontier passes it:
//!                                      total[key] += diff ─► (key, old) -1, (key, new) +1
//! ```
//! This is what differential's `arrange_by_self` followed by `count_total` computes, for the
//! totally ordered times ddflow has: no trace of batches sorted and merged, only each key's
//! total, so an update costs a hash lookup. A total that did not change (a top-N's best rows
//! after a worse row) changes nothing downstream. A `GROUP BY`'s totals stay in an
//! arrangement: with many small keys (one `COUNT` per key) the hash map's table, sized in
//! powers of two, and the undo records of a checkpointed run held 3–5 × the memory per key
//! (W3: 446 bytes of RSS per key at rest, against 91). When the totals are state (checkpointing
//! is on), they are handed to checkpointing as a [`StateArrangement`]: each change after the
//! epoch checkpointing holds records the key's value before it, so the totals at any epoch
//! not yet compacted are the current ones with those values put back. That needs no inverse
//! of the difference (a top-N's `Best` has none). Under an [`Expiry`] a window's keys go from
//! the map once the watermark passes the window, with no change downstream.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::rc::Rc;
use std::sync::Arc;

use differential_dataflow::difference::Semigroup;
use differential_dataflow::{AsCollection, VecCollection};
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::empty;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::StreamVec;

use crate::control::RunControl;
use crate::data::{Datum, Row};
use crate::metrics::Metrics;
use crate::render::event_time::{Watermark, NONE};
use crate::render::FastMap;
use crate::state::{Entries, EntryWriter, StateArrangement, StateTrace};
use crate::timestamp::{Diff, Time, Tracker};

/// What the totals operator gives: its changes, and, when they are state, the totals for
/// checkpointing with a data-less stream whose frontier says which epochs they hold.
pub type Totaled<'s, O> = (
    VecCollection<'s, Time, O, Diff>,
    Option<(StateTrace, StreamVec<'s, Time, ()>)>,
);

/// How a total is saved in a checkpoint (`None`: not saved).
pub type Save<R> = Box<dyn FnMut(R) -> Option<R>>;

/// What a key of the totals needs to be.
pub trait Key:
    timely::ExchangeData + Clone + Hash + Eq + Ord + Serialize + serde::de::DeserializeOwned
{
}
impl<
        K: timely::ExchangeData + Clone + Hash + Eq + Ord + Serialize + serde::de::DeserializeOwned,
    > Key for K
{
}

/// What a total needs to be.
pub trait Total: timely::ExchangeData + Clone + Semigroup + Eq + Serialize {}
impl<R: timely::ExchangeData + Clone + Semigroup + Eq + Serialize> Total for R {}

/// The totals of one operator on one worker, shared with checkpointing.
struct Shared<K, R> {
    /// Each key's total, and whether the time being applied changed it yet.
    totals: FastMap<K, (R, bool)>,
    /// Every update at a time before this is in `totals` (and every window gone by then is
    /// gone from it).
    upper: Time,
    /// When the totals are state: per time after `held`, each key changed then with its value
    /// before (`None`: it had none), in the order of the changes.
    undo: Option<BTreeMap<Time, Vec<(K, Option<R>)>>>,
    /// No checkpoint reads the totals at an epoch before this.
    held: Time,
    save: Option<Save<R>>,
}

/// `state` of [`accumulate`]: how a total is saved when the totals are state (`None`: they
/// are not), and how the keys of windows go (`None`: never).
pub type StateOf<'s, K, R> = (Option<Save<R>>, Option<Expiry<'s, K>>);

/// How the totals of windows go.
pub struct Expiry<'s, K> {
    /// The watermark that closes the windows.
    pub watermark: Watermark<'s>,
    /// How long after its end a window still takes records.
    pub lateness: i64,
    /// Each key's window end (`None`: the key never goes).
    pub end_of: Box<dyn Fn(&K) -> Option<i64>>,
    /// Written on close (`SET 'window.emit' = 'on-window-close'`): no change is given while
    /// a window is open; at the time whose watermark (less the lateness) closes it, after
    /// that time's updates, each of its keys' totals is given once and the keys go. Updates
    /// to the keys of a window already written are ignored.
    pub on_close: bool,
}

/// How the totals of keys of a window (`window_end` at the key's column `end`) go: a
/// windowed top-N's partitions, a window `GROUP BY`'s groups written on close.
pub fn window_expiry<'s>(
    expire: &Option<crate::render::aggregate::Expiry<'s>>,
    on_close: bool,
) -> Option<Expiry<'s, Row>> {
    expire.as_ref().map(|(watermark, end, lateness)| {
        let end = *end;
        let end_of = move |key: &Row| match key.get(end) {
            Datum::Int(e) => Some(e),
            _ => None,
        };
        let end_of: Box<dyn Fn(&Row) -> Option<i64>> = Box::new(end_of);
        Expiry {
            watermark: watermark.clone(),
            lateness: *lateness,
            end_of,
            on_close,
        }
    })
}

/// Totals per key: `emit(key, old, new, out)` says what a change of a key's total from `old`
/// to `new` (`None`: none, or zero) gives (a top-N: the numbered rows that changed).
///
/// With an [`Expiry`], a key goes once its window is final under the watermark before a time
/// (past its end by the lateness): at that time, after the time's updates, and without a
/// change downstream (it is not a result: [`crate::render::event_time::hide_expired`] drops
/// what a late update to it makes).
pub fn accumulate<'s, K, R, O>(
    updates: VecCollection<'s, Time, K, R>,
    name: &str,
    control: &Arc<RunControl>,
    (save, expiry): StateOf<'s, K, R>,
    emit: impl Fn(&K, Option<&R>, Option<&R>, &mut dyn FnMut(O, Diff)) + 'static,
) -> Totaled<'s, O>
where
    K: Key,
    R: Total,
    O: timely::ExchangeData + Clone,
{
    let keep = save.is_some();
    let shared = Rc::new(RefCell::new(Shared {
        totals: FastMap::default(),
        upper: 0,
        undo: keep.then(BTreeMap::new),
        held: 0,
        save,
    }));
    let state = shared.clone();
    let hasher = foldhash::fast::FixedState::with_seed(0x70_7a15);
    let exchange = Exchange::new(move |(key, _, _): &(K, Time, R)| hasher.hash_one(key));
    let control = control.clone();
    let name = name.to_string();
    let (marks, lateness, end_of, on_close) = match expiry {
        Some(e) => (e.watermark, e.lateness, Some(e.end_of), e.on_close),
        None => (empty(updates.inner.scope()), 0, None, false),
    };
    let changes = updates
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(O, Time, Diff)>>, _, _, _, _>(
            marks,
            exchange,
            Pipeline,
            &format!("Totals: {name}"),
            move |_, info| {
                let (held_keys, bytes): (Gauge, Gauge) =
                    control.metrics.exported.arrangement(&name, info.global_id);
                let per_key = std::mem::size_of::<(K, R)>() as i64;
                let mut pending: BTreeMap<Time, (Capability<Time>, Vec<(K, R)>)> = BTreeMap::new();
                let mut changed: Vec<(K, Option<R>)> = Vec::new();
                // The watermark by time, the times it moved at, and the keys by window end.
                let mut tracker = Tracker::new(NONE);
                let mut moved: BTreeMap<Time, Option<Capability<Time>>> = BTreeMap::new();
                let mut ends: BTreeMap<i64, Vec<K>> = BTreeMap::new();
                let mut expired_through = NONE;
                move |(input, frontier), (marks, marks_frontier), output| {
                    marks.for_each(|cap, data: &mut Vec<i64>| {
                        let Some(&t) = cap.least() else { return };
                        for w in data.drain(..) {
                            tracker.insert(t, w);
                        }
                        // Written on close, a window may close at a time without updates.
                        let cap = if on_close { cap.retain_least(0) } else { None };
                        moved.entry(t).or_insert(cap);
                    });
                    input.for_each(|cap, data| {
                        for (key, time, diff) in data.drain(..) {
                            pending
                                .entry(time)
                                .or_insert_with(|| (cap.delayed(&time, 0), Vec::new()))
                                .1
                                .push((key, diff));
                        }
                    });
                    let (frontier, marks_frontier) =
                        (frontier.frontier(), marks_frontier.frontier());
                    let mut guard = shared.borrow_mut();
                    let s = &mut *guard;
                    let before = s.totals.len() as i64;
                    let mut released = 0;
                    loop {
                        // The next time with updates or a new watermark, once its updates are
                        // all in and the watermark before it is known.
                        let next = [pending.keys().next(), moved.keys().next()];
                        let Some(time) = next.into_iter().flatten().min().copied() else {
                            break;
                        };
                        // On close, the watermark at the time too.
                        let marks_pending = if on_close {
                            marks_frontier.less_equal(&time)
                        } else {
                            marks_frontier.less_than(&time)
                        };
                        if frontier.less_equal(&time) || marks_pending {
                            break;
                        }
                        let mark_cap = moved.remove(&time).flatten();
                        let mut undo = (s.undo.as_mut())
                            .filter(|_| time > s.held)
                            .map(|undo| undo.entry(time).or_default());
                        let data = pending.remove(&time);
                        // On close, what writes the windows closing at this time.
                        let cap = match &data {
                            Some((cap, _)) if on_close => Some(cap.clone()),
                            _ => mark_cap,
                        };
                        if let Some((cap, updates)) = data {
                            // Apply the time's updates, noting each key's total before its
                            // first.
                            for (key, diff) in updates {
                                match s.totals.get_mut(&key) {
                                    Some((total, touched)) => {
                                        if !*touched {
                                            *touched = true;
                                            changed.push((key, Some(total.clone())));
                                        }
                                        total.plus_equals(&diff);
                                    }
                                    None if diff.is_zero() => {}
                                    None => {
                                        if let Some(end) = end_of.as_ref().and_then(|f| f(&key)) {
                                            // On close: the window was written already.
                                            if on_close && end.saturating_sub(1) <= expired_through
                                            {
                                                continue;
                                            }
                                            ends.entry(end).or_default().push(key.clone());
                                        }
                                        changed.push((key.clone(), None));
                                        s.totals.insert(key, (diff, true));
                                    }
                                }
                            }
                            // Then one change per key: its total before, its total now.
                            let mut session = output.session(&cap);
                            let mut out = |o, d| session.give((o, time, d));
                            for (key, old) in changed.drain(..) {
                                let Some((total, touched)) = s.totals.get_mut(&key) else {
                                    continue;
                                };
                                *touched = false;
                                let new = (!total.is_zero()).then_some(&*total);
                                let was = old.as_ref().filter(|o| !o.is_zero());
                                if was == new {
                                    continue;
                                }
                                if !on_close {
                                    emit(&key, was, new, &mut out);
                                }
                                if new.is_none() {
                                    s.totals.remove(&key);
                                }
                                if let Some(undo) = undo.as_mut() {
                                    undo.push((key, old));
                                }
                            }
                        }
                        // Windows final under the watermark before this time go (`end - 1
                        // <= bound`); on close, those final under the watermark at this time,
                        // written as they go.
                        let bound = if on_close {
                            tracker.at(time)
                        } else {
                            tracker.before(time)
                        }
                        .saturating_sub(lateness);
                        if end_of.is_some() && bound > expired_through {
                            expired_through = bound;
                            let open = ends.split_off(&bound.saturating_add(2));
                            let mut session = cap.as_ref().map(|cap| output.session(cap));
                            for key in std::mem::replace(&mut ends, open).into_values().flatten() {
                                if let Some((total, _)) = s.totals.remove(&key) {
                                    released += 1;
                                    if let Some(session) = session.as_mut() {
                                        emit(&key, None, Some(&total), &mut |o, d| {
                                            session.give((o, time, d))
                                        });
                                    }
                                    if let Some(undo) = undo.as_mut() {
                                        undo.push((key, Some(total)));
                                    }
                                }
                            }
                        }
                        tracker.forget_before(time);
                    }
                    // Every time before both frontiers (the watermark's one further) is done.
                    let marks_done = marks_frontier.first().map_or(Time::MAX, |m| {
                        if on_close {
                            *m
                        } else {
                            m.saturating_add(1)
                        }
                    });
                    let data_done = frontier.first().copied().unwrap_or(Time::MAX);
                    s.upper = data_done.min(marks_done);
                    let change = s.totals.len() as i64 - before;
                    if change != 0 {
                        held_keys.inc_by(change);
                        bytes.inc_by(change * per_key);
                    }
                    if released > 0 {
                        Metrics::add(&control.metrics.state_released, released);
                    }
                }
            },
        );
    let state = keep.then(|| {
        // A stream without data that follows the operator's frontier, for checkpointing.
        let progress = changes
            .clone()
            .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                Pipeline,
                "Totals progress",
                |_, _| |input, _| input.for_each(|_, _| {}),
            );
        let trace: StateTrace = Box::new(TotalsState(state));
        (trace, progress)
    });
    (changes.as_collection(), state)
}

/// The totals as checkpointing reads them.
struct TotalsState<K, R>(Rc<RefCell<Shared<K, R>>>);

impl<K: Key, R: Total> StateArrangement for TotalsState<K, R> {
    fn passed(&mut self, epoch: Time) -> bool {
        self.0.borrow().upper > epoch
    }

    fn hold(&mut self, frontier: Time) {
        let mut s = self.0.borrow_mut();
        if frontier > s.held {
            s.held = frontier;
            if let Some(undo) = s.undo.as_mut() {
                *undo = undo.split_off(&frontier.saturating_add(1));
            }
        }
    }

    fn entries(&mut self, epoch: Option<Time>) -> Entries {
        let mut guard = self.0.borrow_mut();
        let s = &mut *guard;
        // A key changed after the epoch had, at the epoch, the value before its first change.
        let mut then: HashMap<&K, Option<&R>> = HashMap::new();
        if let (Some(epoch), Some(undo)) = (epoch, &s.undo) {
            for (key, old) in undo.range(epoch.saturating_add(1)..).flat_map(|(_, c)| c) {
                then.entry(key).or_insert(old.as_ref());
            }
        }
        let mut entries: Vec<(&K, &R)> = (s.totals.iter())
            .filter_map(|(key, (total, _))| match then.remove(key) {
                Some(old) => old.map(|old| (key, old)),
                None => Some((key, total)),
            })
            .collect();
        entries.extend(
            then.into_iter()
                .filter_map(|(key, old)| old.map(|o| (key, o))),
        );
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut writer = EntryWriter::default();
        let save = s.save.as_mut();
        match save {
            Some(save) => {
                for (key, total) in entries {
                    if let Some(total) = save(total.clone()) {
                        writer.push(key, &total);
                    }
                }
            }
            None => {
                for (key, total) in entries {
                    writer.push(key, total);
                }
            }
        }
        writer.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use differential_dataflow::AsCollection;
    use timely::dataflow::operators::capture::{Capture, Extract};
    use timely::dataflow::operators::{Input, Probe};

    /// Each key's total, as `(key, total)` rows: when a key's total changes at a time, its old
    /// total (if it had one) is taken back and its new one (if not zero) added, at that time.
    fn totals<'s, K, R>(
        updates: VecCollection<'s, Time, K, R>,
        name: &str,
        control: &Arc<RunControl>,
        state: StateOf<'s, K, R>,
    ) -> Totaled<'s, (K, R)>
    where
        K: Key,
        R: Total,
    {
        accumulate(
            updates,
            name,
            control,
            state,
            |key: &K, old, new, out: &mut dyn FnMut((K, R), Diff)| {
                if let Some(old) = old {
                    out((key.clone(), old.clone()), -1);
                }
                if let Some(new) = new {
                    out((key.clone(), new.clone()), 1);
                }
            },
        )
    }

    fn key(s: &str) -> Row {
        Row::pack([Datum::Str(s)])
    }

    /// What one run of [`totals`] (its state kept) gives: the changes by time, and its state
    /// as checkpointing reads it at each epoch asked for (`None`: all), then at an epoch it
    /// was held at.
    struct Ran {
        changes: Vec<(Time, Vec<((Row, Diff), Time, Diff)>)>,
        reads: Vec<Vec<(Row, Diff)>>,
        held: Vec<(Row, Diff)>,
    }

    /// Feed `(key, time, diff)` updates, in that order, through [`totals`].
    fn run(updates: &[(&'static str, Time, Diff)], reads: &[Option<Time>], hold: Time) -> Ran {
        run_with_watermark(updates, &[], reads, hold, false)
    }

    /// [`run`] with windows: a key `a12` is in a window ending at 12, and the watermark moves
    /// to `w` at time `t` for each `(t, w)` of `marks`; `on_close`: windows written on close.
    fn run_with_watermark(
        updates: &[(&'static str, Time, Diff)],
        marks: &[(Time, i64)],
        reads: &[Option<Time>],
        hold: Time,
        on_close: bool,
    ) -> Ran {
        let windows = !marks.is_empty();
        let marks = marks.to_vec();
        let (changes_tx, changes_rx) = std::sync::mpsc::channel();
        let (reads_tx, reads_rx) = std::sync::mpsc::channel();
        let (updates, reads) = (updates.to_vec(), reads.to_vec());
        timely::execute_directly(move |worker| {
            let control = RunControl::new();
            let (mut input, mut marks_input, probe, mut state) =
                worker.dataflow::<Time, _, _>(|scope| {
                    let (input, stream) = scope.new_input::<Vec<(Row, Time, Diff)>>();
                    let (marks_input, watermark) = scope.new_input::<Vec<i64>>();
                    let save: Save<Diff> = Box::new(Some);
                    let end_of = |key: &Row| match key.get(0) {
                        Datum::Str(s) => s[1..].parse().ok(),
                        _ => None,
                    };
                    let expiry: Option<Expiry<'_, Row>> = windows.then(|| Expiry {
                        watermark,
                        lateness: 0,
                        end_of: Box::new(end_of),
                        on_close,
                    });
                    let (changes, state) =
                        totals(stream.as_collection(), "T", &control, (Some(save), expiry));
                    let (probe, _) = changes.inner.clone().probe();
                    changes.inner.capture_into(changes_tx);
                    (input, marks_input, probe, state.unwrap().0)
                });
            let last = updates.iter().map(|u| u.1).max().unwrap_or(0) + 1;
            for (k, t, d) in &updates {
                input.send((key(k), *t, *d));
            }
            for (t, w) in &marks {
                marks_input.advance_to(*t);
                marks_input.send(*w);
            }
            input.advance_to(last);
            marks_input.advance_to(last);
            while probe.less_than(&last) {
                worker.step();
            }
            assert!(state.passed(last - 1) && !state.passed(last));
            let read = |state: &mut StateTrace, at| {
                Entries::decode::<Row, Diff>(&state.entries(at).bytes).unwrap()
            };
            let at: Vec<_> = reads.iter().map(|r| read(&mut state, *r)).collect();
            state.hold(hold);
            let held = read(&mut state, Some(hold));
            reads_tx.send((at, held)).unwrap();
        });
        let mut changes = changes_rx.extract();
        for (_, c) in &mut changes {
            c.sort();
        }
        let (reads, held) = reads_rx.recv().unwrap();
        Ran {
            changes,
            reads,
            held,
        }
    }

    fn rows(entries: &[(&str, Diff)]) -> Vec<(Row, Diff)> {
        entries.iter().map(|(k, d)| (key(k), *d)).collect()
    }

    #[test]
    fn one_change_per_key_and_time_and_none_when_the_total_stays() {
        // Updates of one time come in any order, some out of time order.
        let ran = run(
            &[
                ("a", 1, 1),
                ("b", 1, 2),
                ("a", 2, 1),
                ("a", 1, 1),
                ("b", 2, 1),
                ("b", 2, -1),
                ("a", 3, -3),
            ],
            &[],
            0,
        );
        let change = |k, total, t, d| ((key(k), total), t, d);
        assert_eq!(
            ran.changes,
            vec![
                (1, vec![change("a", 2, 1, 1), change("b", 2, 1, 1)]),
                (2, vec![change("a", 2, 2, -1), change("a", 3, 2, 1)]),
                (3, vec![change("a", 3, 3, -1)]),
            ]
        );
    }

    #[test]
    fn checkpoints_read_the_totals_at_any_epoch_not_yet_held() {
        let updates = [
            ("a", 1, 1),
            ("b", 1, 1),
            ("a", 2, 1),
            ("c", 2, 5),
            ("b", 3, -1),
            ("a", 3, 1),
        ];
        let ran = run(&updates, &[Some(1), Some(2), Some(3), None, Some(0)], 2);
        assert_eq!(
            ran.reads,
            vec![
                rows(&[("a", 1), ("b", 1)]),
                rows(&[("a", 2), ("b", 1), ("c", 5)]),
                rows(&[("a", 3), ("c", 5)]),
                rows(&[("a", 3), ("c", 5)]),
                vec![],
            ]
        );
        // Held at 2: the epoch 2 still reads right.
        assert_eq!(ran.held, rows(&[("a", 2), ("b", 1), ("c", 5)]));
    }

    #[test]
    fn a_window_goes_once_the_watermark_before_a_time_passes_its_end_without_a_change() {
        // Windows ending at 10 and 20; the watermark is 9 after time 2 and 30 after time 4.
        let updates = [
            ("a10", 1, 1),
            ("b20", 1, 1),
            ("a10", 2, 1),
            ("b20", 3, 1),
            // Late: after the window went (hide_expired drops what it makes).
            ("a10", 5, 1),
        ];
        let marks = [(2, 9), (4, 30)];
        let ran = run_with_watermark(
            &updates,
            &marks,
            &[Some(2), Some(3), Some(4), None],
            2,
            false,
        );
        let change = |k, total, t, d| ((key(k), total), t, d);
        assert_eq!(
            ran.changes,
            vec![
                (1, vec![change("a10", 1, 1, 1), change("b20", 1, 1, 1)]),
                (2, vec![change("a10", 1, 2, -1), change("a10", 2, 2, 1)]),
                (3, vec![change("b20", 1, 3, -1), change("b20", 2, 3, 1)]),
                (5, vec![change("a10", 1, 5, 1)]),
            ]
        );
        assert_eq!(
            ran.reads,
            vec![
                // The watermark before 2 is none yet; before 3 it is 9: `a10` (end 10) goes.
                rows(&[("a10", 2), ("b20", 1)]),
                rows(&[("b20", 2)]),
                rows(&[("b20", 2)]),
                // Before 5 the watermark is 30: `b20` goes, and the late update's `a10` with it.
                vec![],
            ]
        );
    }

    #[test]
    fn on_close_a_window_is_written_once_at_the_time_its_watermark_closes_it() {
        // Windows ending at 10 and 20; the watermark is 9 at time 2 (closing the window
        // ending at 10: `end - 1 <= 9`) and 30 at time 4.
        let updates = [
            ("a10", 1, 1),
            ("b20", 1, 1),
            // At the time that closes it: counted, then written.
            ("a10", 2, 1),
            ("b20", 3, 1),
            ("b20", 3, 1),
            // After its window was written: ignored.
            ("a10", 5, 1),
        ];
        let marks = [(2, 9), (4, 30)];
        let ran = run_with_watermark(
            &updates,
            &marks,
            &[Some(1), Some(2), Some(3), Some(4), None],
            2,
            true,
        );
        let change = |k, total, t, d| ((key(k), total), t, d);
        assert_eq!(
            ran.changes,
            vec![
                (2, vec![change("a10", 2, 2, 1)]),
                // Written at the time the watermark moved, which had no updates.
                (4, vec![change("b20", 3, 4, 1)]),
            ]
        );
        assert_eq!(
            ran.reads,
            vec![
                rows(&[("a10", 1), ("b20", 1)]),
                // A window written is gone from the state at that time.
                rows(&[("b20", 1)]),
                rows(&[("b20", 3)]),
                vec![],
                vec![],
            ]
        );
    }
}
