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
use timely::dataflow::operators::vec::Map;

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

    #[test]
    fn sessions_split_where_rows_are_a_gap_apart() {
        assert_eq!(
            WindowKind::sessions(10, &[1, 5, 5, 14, 24, 40]),
            [(1, 24), (1, 24), (1, 24), (1, 24), (24, 34), (40, 50)]
        );
        assert_eq!(WindowKind::sessions(10, &[]), []);
    }
}
