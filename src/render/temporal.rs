//! Temporal joins: each left (probe) row joins the version of its key valid at its time.
//!
//! ```text
//!  probes ──► drop late (watermark) ─► (key, probe, time, row) ─┐
//!  versions ─────────────────────────► (key, version, time, row) ┴► exchange by key
//!     ─► TemporalJoin (state: per key, versions and probes by time) ─► probe ++ version
//!  probes whose key or time is NULL ─► NULL-padded (LEFT) or dropped ─────────────────► out
//! ```
//! The operator takes the times in order, once its input and the watermark before each time
//! are complete. At a time `t` it first takes the versions of `t` against the probes before
//! `t` (a version that arrives late, before probes it now applies to, takes back their old
//! pairs and adds the new ones), then the probes of `t` against the versions up to `t`, so
//! its output at every time is exactly the join of the two inputs as they stand.
//!
//! Under the probe side's watermark `W`: a probe at or behind `W` less the lateness is late
//! (dropped, counted, as a window drops it) and one in state that `W` has passed can change
//! no more, so it goes; and when versions only ever arrive, a version at or behind that bound
//! hides every older version of its key from all probes still to come, so those go too. The
//! state is then the probes ahead of the watermark and, per key, the versions from the last
//! one behind it: bounded on an endless stream.
//!
//! The state is checkpointed as `(key, is version, time, row)` entries (see
//! [`crate::state::StateArrangement`]), restored through the operator's input like any other.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use differential_dataflow::hashable::Hashable;
use differential_dataflow::{AsCollection, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Capability;

use crate::control::RunControl;
use crate::data::{Datum, Row, RowCollection};
use crate::plan::ir::{Expr, JoinKind};
use crate::render::event_time::{self, Watermark};
use crate::render::{join, scalar, FastMap, StateHooks};
use crate::state::{Entries, EntryWriter, StateArrangement};
use crate::timestamp::{Diff, Time, Tracker};

/// What a temporal join reads (see [`crate::plan::ir::AsOf`]).
pub struct TemporalSpec<'a> {
    /// `Inner` or `Left`.
    pub kind: JoinKind,
    /// Probe key expressions (over the left row).
    pub left_key: &'a [Expr],
    /// The versioned table's primary key (over the right row).
    pub right_key: &'a [Expr],
    /// The probe's time column.
    pub left_time: usize,
    /// The version's time column.
    pub right_time: usize,
    /// Extra condition over `left ++ right`.
    pub residual: Option<&'a Expr>,
    /// Columns of the right row (NULLs for a LEFT join's unmatched probe).
    pub right_width: usize,
    /// Versions only ever arrive: older ones may go once the watermark passes a newer one.
    pub versions_insert_only: bool,
    /// What a residual that fails on a pair does.
    pub on_error: scalar::OnEvalError,
    /// Which sides' rows are state a checkpoint saves (probes, versions): those fed by
    /// sources; the others are computed again on restore.
    pub saved: (bool, bool),
}

/// One row of the operator's input and state: key, whether it is a version, time, row.
type Entry = (Row, bool, i64, Row);

/// The temporal join of `left` (probes) and `right` (versions); with `expiry` (the probe
/// time's watermark and its allowed lateness) late probes are dropped and passed state goes.
pub fn render_temporal_join<'s>(
    left: RowCollection<'s>,
    right: RowCollection<'s>,
    spec: &TemporalSpec<'_>,
    expiry: Option<(Watermark<'s>, i64)>,
    control: Option<Arc<RunControl>>,
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    let left = match &expiry {
        Some((watermark, lateness)) => {
            event_time::drop_late(left, watermark, spec.left_time, *lateness, control)
        }
        None => left,
    };
    let padded = join::nulls(spec.right_width);
    let (key, time) = (spec.left_key.to_vec(), spec.left_time);
    let probes = left.flat_map(move |row: Row| {
        let k = scalar::project(&key, &row);
        match row.get(time) {
            Datum::Int(t) if !k.iter().any(|d| d.is_null()) => Some(Ok((k, false, t, row))),
            _ => Some(Err(row)),
        }
    });
    // A probe whose key or time is NULL matches nothing.
    let unmatched = probes.clone().flat_map(|p| p.err());
    let probes = probes.flat_map(|p| p.ok());
    let (key, time) = (spec.right_key.to_vec(), spec.right_time);
    let versions = right.flat_map(move |row: Row| {
        let k = scalar::project(&key, &row);
        match row.get(time) {
            Datum::Int(t) if !k.iter().any(|d| d.is_null()) => Some((k, true, t, row)),
            _ => None,
        }
    });
    let logic = Logic {
        kind: spec.kind,
        residual: spec.residual.cloned(),
        nulls: padded.clone(),
        on_error: spec.on_error.clone(),
        prune_versions: spec.versions_insert_only,
    };
    let saved = spec.saved;
    let joined = hooks.state(probes.concat(versions), |entries, keep| {
        let state = Rc::new(RefCell::new(State {
            log: keep.then(Vec::new),
            saved,
            ..State::default()
        }));
        let (output, progress) = operator(entries, expiry, logic, state.clone());
        let kept = keep.then(|| {
            let trace: Box<dyn StateArrangement> = Box::new(Shared(state));
            (trace, progress)
        });
        (output, kept)
    });
    match spec.kind {
        JoinKind::Left => joined.concat(unmatched.map(move |row| row.concat(&padded))),
        _ => joined,
    }
}

/// How a probe and its version make an output row.
struct Logic {
    kind: JoinKind,
    residual: Option<Expr>,
    nulls: Row,
    on_error: scalar::OnEvalError,
    prune_versions: bool,
}

impl Logic {
    /// The row probe `p` gives with `version` (none: no version valid at its time).
    fn output(&self, p: &Row, version: Option<&Row>) -> Option<Row> {
        let joined = version.map(|v| p.concat(v)).filter(|row| {
            self.residual
                .as_ref()
                .is_none_or(|r| self.on_error.holds(r, row))
        });
        match (joined, self.kind) {
            (Some(row), _) => Some(row),
            (None, JoinKind::Left) => Some(p.concat(&self.nulls)),
            (None, _) => None,
        }
    }
}

/// Rows of one kind by key, then time, then row, with their multiplicities.
#[derive(Default)]
struct Index {
    by_key: FastMap<Row, BTreeMap<i64, BTreeMap<Row, Diff>>>,
}

impl Index {
    fn update(&mut self, key: &Row, time: i64, row: Row, d: Diff) {
        let times = self.by_key.entry(key.clone()).or_default();
        let rows = times.entry(time).or_default();
        let n = rows.entry(row.clone()).or_insert(0);
        *n += d;
        if *n == 0 {
            rows.remove(&row);
            if rows.is_empty() {
                times.remove(&time);
                if times.is_empty() {
                    self.by_key.remove(key);
                }
            }
        }
    }

    /// The version of `key` valid at `time`: the latest at or before it (the greatest row of
    /// that time).
    fn valid_at(&self, key: &Row, time: i64) -> Option<&Row> {
        let (_, rows) = self.by_key.get(key)?.range(..=time).next_back()?;
        rows.keys().next_back()
    }

    fn entries(&self, version: bool, mut each: impl FnMut(Entry, Diff)) {
        for (key, times) in &self.by_key {
            for (t, rows) in times {
                for (row, d) in rows {
                    each((key.clone(), version, *t, row.clone()), *d);
                }
            }
        }
    }
}

/// The operator's state, shared with checkpointing.
#[derive(Default)]
struct State {
    versions: Index,
    probes: Index,
    /// Keys by the times of their versions and probes: what a watermark passes.
    version_times: BTreeMap<i64, Vec<Row>>,
    probe_times: BTreeMap<i64, Vec<Row>>,
    /// With checkpoints: every change at a time at or after `hold`, so the state at an
    /// earlier time than the latest can be read back.
    log: Option<Vec<(Entry, Time, Diff)>>,
    /// Which sides a checkpoint saves: probes, versions.
    saved: (bool, bool),
    /// Every time before it has been taken.
    done: Time,
}

impl State {
    fn apply(&mut self, (key, version, time, row): Entry, at: Time, d: Diff) {
        let saved = if version { self.saved.1 } else { self.saved.0 };
        if let (Some(log), true) = (&mut self.log, saved) {
            log.push(((key.clone(), version, time, row.clone()), at, d));
        }
        let (index, times) = if version {
            (&mut self.versions, &mut self.version_times)
        } else {
            (&mut self.probes, &mut self.probe_times)
        };
        if d > 0 {
            times.entry(time).or_default().push(key.clone());
        }
        index.update(&key, time, row, d);
    }

    /// Let go of what the watermark bound `bound` has passed (at time `at`): probes at or
    /// behind it, and (when `versions` too) each key's versions older than its latest one at
    /// or behind it.
    fn prune(&mut self, bound: i64, at: Time, versions: bool) {
        let passed = |times: &mut BTreeMap<i64, Vec<Row>>| {
            let later = times.split_off(&bound.saturating_add(1));
            let keys: HashSet<Row> = std::mem::replace(times, later)
                .into_values()
                .flatten()
                .collect();
            keys
        };
        let mut gone: Vec<(Entry, Diff)> = Vec::new();
        for key in passed(&mut self.probe_times) {
            if let Some(times) = self.probes.by_key.get(&key) {
                for (t, rows) in times.range(..=bound) {
                    for (row, d) in rows {
                        gone.push(((key.clone(), false, *t, row.clone()), -d));
                    }
                }
            }
        }
        let passed_versions = passed(&mut self.version_times);
        if versions {
            for key in passed_versions {
                let Some(times) = self.versions.by_key.get(&key) else {
                    continue;
                };
                let Some((&latest, _)) = times.range(..=bound).next_back() else {
                    continue;
                };
                for (t, rows) in times.range(..latest) {
                    for (row, d) in rows {
                        gone.push(((key.clone(), true, *t, row.clone()), -d));
                    }
                }
            }
        }
        for (entry, d) in gone {
            self.apply(entry, at, d);
        }
    }
}

/// [`State`] as checkpointing sees it.
struct Shared(Rc<RefCell<State>>);

impl StateArrangement for Shared {
    fn passed(&mut self, epoch: Time) -> bool {
        self.0.borrow().done > epoch
    }

    fn hold(&mut self, frontier: Time) {
        if let Some(log) = &mut self.0.borrow_mut().log {
            log.retain(|(_, t, _)| *t >= frontier);
        }
    }

    fn entries(&mut self, epoch: Option<Time>) -> Entries {
        let state = self.0.borrow();
        let mut totals: HashMap<Entry, Diff> = HashMap::new();
        let mut add = |e: Entry, d: Diff| *totals.entry(e).or_insert(0) += d;
        if state.saved.1 {
            state.versions.entries(true, &mut add);
        }
        if state.saved.0 {
            state.probes.entries(false, &mut add);
        }
        if let (Some(epoch), Some(log)) = (epoch, &state.log) {
            for (e, _, d) in log.iter().filter(|(_, t, _)| *t > epoch) {
                add(e.clone(), -d);
            }
        }
        let mut writer = EntryWriter::default();
        for (e, d) in totals.iter().filter(|(_, d)| **d != 0) {
            writer.push(e, d);
        }
        writer.finish()
    }
}

/// The operator: entries exchanged by key, taken a time at a time (see the module docs).
/// Returns the joined rows and a data-less stream whose frontier is what it has taken.
fn operator<'s>(
    entries: VecCollection<'s, Time, Entry, Diff>,
    expiry: Option<(Watermark<'s>, i64)>,
    logic: Logic,
    state: Rc<RefCell<State>>,
) -> (RowCollection<'s>, timely::dataflow::StreamVec<'s, Time, ()>) {
    let scope = entries.inner.scope();
    let (marks, lateness) = match expiry {
        Some((w, l)) => (w, l),
        None => (
            timely::dataflow::operators::generic::operator::empty(scope),
            0,
        ),
    };
    let exchange = Exchange::new(|(e, _, _): &(Entry, Time, Diff)| e.0.hashed());
    let output = entries
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(Row, Time, Diff)>>, _, _, _, _>(
            marks,
            exchange,
            Pipeline,
            "TemporalJoin",
            move |_, _| {
                let mut tracker = Tracker::new(event_time::NONE);
                let mut pending: BTreeMap<Time, (Capability<Time>, Vec<(Entry, Diff)>)> =
                    BTreeMap::new();
                move |(input, input_frontier), (marks, marks_frontier), output| {
                    marks.for_each(|cap, data: &mut Vec<i64>| {
                        let Some(&t) = cap.least() else { return };
                        for w in data.drain(..) {
                            tracker.insert(t, w);
                        }
                    });
                    input.for_each(|cap, data| {
                        for (e, t, d) in data.drain(..) {
                            pending
                                .entry(t)
                                .or_insert_with(|| (cap.delayed(&t, 0), Vec::new()))
                                .1
                                .push((e, d));
                        }
                    });
                    let (input_frontier, marks_frontier) =
                        (input_frontier.frontier(), marks_frontier.frontier());
                    let mut state = state.borrow_mut();
                    while let Some(entry) = pending.first_entry() {
                        let t = *entry.key();
                        if input_frontier.less_equal(&t) || marks_frontier.less_than(&t) {
                            break;
                        }
                        let (cap, updates) = entry.remove();
                        let before = tracker.before(t);
                        if before != event_time::NONE {
                            state.prune(before.saturating_sub(lateness), t, logic.prune_versions);
                        }
                        let mut session = output.session(&cap);
                        take(&mut state, &logic, t, updates, &mut |row, d| {
                            session.give((row, t, d))
                        });
                    }
                    let waiting = pending.keys().next().copied();
                    let lowest = input_frontier.first().copied();
                    state.done = waiting.into_iter().chain(lowest).min().unwrap_or(Time::MAX);
                    if let Some(low) = waiting.into_iter().chain(lowest).min() {
                        tracker.forget_before(low);
                    }
                }
            },
        );
    let progress = output.clone().map(|_| ());
    (output.as_collection(), progress)
}

/// The updates of time `t`: versions against the probes before `t`, then probes against the
/// versions up to `t`; each change of output through `give`.
fn take(
    state: &mut State,
    logic: &Logic,
    t: Time,
    updates: Vec<(Entry, Diff)>,
    give: &mut dyn FnMut(Row, Diff),
) {
    let (mut versions, probes): (Vec<_>, Vec<_>) = updates.into_iter().partition(|(e, _)| e.1);
    versions.sort_by(|a, b| a.0 .0.cmp(&b.0 .0));
    // Versions, a key at a time.
    let mut i = 0;
    while i < versions.len() {
        let key = versions[i].0 .0.clone();
        let n = versions[i..].iter().take_while(|(e, _)| e.0 == key).count();
        let batch = &versions[i..i + n];
        i += n;
        let lo = batch.iter().map(|(e, _)| e.2).min().unwrap_or(i64::MAX);
        let hi = batch.iter().map(|(e, _)| e.2).max().unwrap_or(i64::MIN);
        // Probes from the earliest changed version to the first unchanged one after all of them.
        let next = state
            .versions
            .by_key
            .get(&key)
            .and_then(|times| times.range(hi.saturating_add(1)..).next())
            .map_or(i64::MAX, |(t, _)| *t);
        let affected: Vec<(i64, Row, Diff)> = state
            .probes
            .by_key
            .get(&key)
            .map(|times| {
                times
                    .range(lo..next)
                    .flat_map(|(tp, rows)| rows.iter().map(move |(r, d)| (*tp, r.clone(), *d)))
                    .collect()
            })
            .unwrap_or_default();
        let before: Vec<Option<Row>> = affected
            .iter()
            .map(|(tp, _, _)| state.versions.valid_at(&key, *tp).cloned())
            .collect();
        for (e, d) in batch {
            state.apply(e.clone(), t, *d);
        }
        for ((tp, p, d), old) in affected.iter().zip(before) {
            let new = state.versions.valid_at(&key, *tp);
            if new == old.as_ref() {
                continue;
            }
            if let Some(row) = logic.output(p, old.as_ref()) {
                give(row, -d);
            }
            if let Some(row) = logic.output(p, new) {
                give(row, *d);
            }
        }
    }
    for (e, d) in probes {
        let version = state.versions.valid_at(&e.0, e.2).cloned();
        if let Some(row) = logic.output(&e.3, version.as_ref()) {
            give(row, d);
        }
        state.apply(e, t, d);
    }
}
