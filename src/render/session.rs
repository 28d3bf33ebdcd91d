//! `SESSION` windows: per partition, the rows in time order, split where two are `gap` or
//! more apart; each row gets its session's `window_start`, `window_end` (the last row's time
//! plus the gap) and `window_time`.
//!
//! ```text
//!  rows ─► (partition, row) ─► expire partitions ─► arrangement (state) ─► reduce per partition
//!                               once all sessions are final                 (row ++ session bounds)
//! ```
//! A row's session depends on the other rows of its partition: when a row bridges two
//! sessions, both are retracted and the merged one added. Under a watermark, a partition whose
//! last session is final (no record still accepted can reach it) is released, and the
//! retraction of its rows is hidden from what reads the sessions.

use differential_dataflow::trace::implementations::{ValBuilder, ValSpine};
use differential_dataflow::{AsCollection, Hashable};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Exchange;

use crate::data::{Datum, Row, RowCollection};
use crate::metrics::arrangements::observed;
use crate::plan::ir::WindowKind;
use crate::render::event_time::{self, Watermark};
use crate::render::StateHooks;
use crate::state::{StateArrangement, ValState};
use crate::timestamp::{Diff, Time};

/// What a session window reads: the partition columns, the time column and the gap.
pub struct SessionSpec<'a> {
    /// `PARTITION BY` columns.
    pub partition: &'a [usize],
    /// The time column.
    pub time: usize,
    /// The least time between two sessions.
    pub gap: i64,
    /// The input's width (the window columns follow it).
    pub width: usize,
}

/// Each input row with its session's bounds appended; rows whose time is NULL are in none.
/// With `expiry` (the watermark and the allowed lateness), a partition's state goes once its
/// last session is final.
pub fn render_sessions<'s>(
    input: RowCollection<'s>,
    spec: &SessionSpec<'_>,
    expiry: Option<(Watermark<'s>, i64)>,
    hooks: &mut StateHooks<'_, 's>,
) -> RowCollection<'s> {
    let (partition, time, gap) = (spec.partition.to_vec(), spec.time, spec.gap);
    let keyed = input.flat_map(move |row: Row| {
        let Datum::Int(_) = row.get(time) else {
            return None;
        };
        let key = Row::pack(partition.iter().map(|c| row.get(*c)));
        Some((key, row))
    });
    // The rows of a partition key meet on one worker (the one its arrangement puts them on)
    // before any can go: whether the key's last session is final depends on all of them.
    // Filed where they were read, a worker's rows of a session went once the watermark passed
    // its own last row plus the gap, while another worker's rows still extended the session.
    let keyed = keyed
        .inner
        .exchange(|((key, _), _, _): &((Row, Row), Time, Diff)| key.hashed())
        .as_collection();
    let control = hooks.state.control.clone();
    let arranged = hooks.state(keyed, |keyed, keep| {
        let keyed = match &expiry {
            Some((watermark, lateness)) => event_time::expire(
                keyed,
                (watermark, *lateness),
                move |(key, row): &(Row, Row)| match row.get(time) {
                    Datum::Int(ts) => Some((Some(key.clone()), ts.saturating_add(gap))),
                    _ => None,
                },
                control,
            ),
            None => keyed,
        };
        let arranged = observed::<Row, Row, Diff, _>(keyed.scope(), "Session", || {
            keyed.arrange_by_key_named("Arrange: Session")
        });
        let state = keep.then(|| {
            let trace: Box<dyn StateArrangement> = Box::new(ValState::new(arranged.trace.clone()));
            (trace, arranged.stream.clone().map(|_| ()))
        });
        (arranged, state)
    });
    let sessions = arranged
        .reduce_abelian::<_, ValBuilder<_, _, _, _>, ValSpine<Row, Row, _, _>, _, _>(
            "Session",
            move |_key, input: &[(&Row, Diff)], output: &mut Vec<(Row, Diff)>| {
                let mut rows: Vec<(i64, &Row, Diff)> = input
                    .iter()
                    .filter(|(_, d)| *d > 0)
                    .filter_map(|(row, d)| match row.get(time) {
                        Datum::Int(ts) => Some((ts, *row, *d)),
                        _ => None,
                    })
                    .collect();
                rows.sort();
                let times: Vec<i64> = rows.iter().map(|r| r.0).collect();
                for ((_, row, d), (start, end)) in
                    rows.iter().zip(WindowKind::sessions(gap, &times))
                {
                    let window = [Datum::Int(start), Datum::Int(end), Datum::Int(end - 1)];
                    output.push((Row::pack(row.iter().chain(window)), *d));
                }
            },
            |vec, key: &Row, upds: &mut Vec<(Row, Time, Diff)>| {
                vec.clear();
                vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
            },
        );
    let rows = sessions.as_collection(|_, row: &Row| row.clone());
    match &expiry {
        // The retractions of released partitions are not results.
        Some((watermark, lateness)) => {
            event_time::hide_expired(rows, watermark, spec.width + 1, *lateness)
        }
        None => rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key 7's session [0, 26) has its row at 0 on worker 0 and its rows at 8 and 16 on
    /// worker 1. The watermark passes 10 (worker 0's last row plus the gap) while the session
    /// is still open: no row of it may go.
    #[test]
    fn a_session_read_by_two_workers_keeps_its_rows_until_the_whole_session_is_final() {
        use differential_dataflow::input::Input;
        use std::sync::{Arc, Mutex};
        use timely::dataflow::operators::{Input as _, Inspect, Probe};

        let out: Arc<Mutex<Vec<(Row, Diff)>>> = Arc::default();
        let seen = out.clone();
        timely::execute(timely::Config::process(2), move |worker| {
            let seen = seen.clone();
            let (mut rows, mut marks, probe) = worker.dataflow::<Time, _, _>(|scope| {
                let (rows_in, rows) = scope.new_collection::<Row, Diff>();
                let (marks_in, marks) = scope.new_input::<Vec<i64>>();
                let mut state =
                    crate::render::RenderState::new(scope, crate::control::RunControl::new());
                let mut hooks = StateHooks {
                    state: &mut state,
                    keep: false,
                };
                let spec = SessionSpec {
                    partition: &[0],
                    time: 1,
                    gap: 10,
                    width: 2,
                };
                let sessions = render_sessions(rows, &spec, Some((marks, 0)), &mut hooks);
                let (probe, _) = sessions
                    .inner
                    .inspect(move |(row, _, d)| seen.lock().unwrap().push((row.clone(), *d)))
                    .probe();
                (rows_in, marks_in, probe)
            });
            let row = |ts: i64| Row::pack([Datum::Int(7), Datum::Int(ts)]);
            match worker.index() {
                0 => rows.update(row(0), 1),
                _ => {
                    rows.update(row(8), 1);
                    rows.update(row(16), 1);
                }
            }
            for (time, mark) in [(1, 16), (2, 17)] {
                rows.advance_to(time);
                marks.advance_to(time);
                marks.send(mark);
                rows.flush();
                while probe.less_than(&time) {
                    worker.step();
                }
            }
        })
        .unwrap();
        let mut totals: std::collections::BTreeMap<Row, Diff> = Default::default();
        for (row, d) in out.lock().unwrap().drain(..) {
            *totals.entry(row).or_default() += d;
        }
        totals.retain(|_, d| *d != 0);
        // (key, time, window_start, window_end, window_time)
        let session = |ts: i64| Row::pack([7, ts, 0, 26, 25].map(Datum::Int));
        let want: std::collections::BTreeMap<Row, Diff> =
            [(session(0), 1), (session(8), 1), (session(16), 1)].into();
        assert_eq!(totals, want);
    }

    #[test]
    fn sessions_split_where_rows_are_a_gap_apart() {
        assert_eq!(
            WindowKind::sessions(10, &[1, 5, 5, 14, 24, 40]),
            [(1, 24), (1, 24), (1, 24), (1, 24), (24, 34), (40, 50)]
        );
        assert_eq!(WindowKind::sessions(10, &[]), []);
    }
}
