//! How big each arrangement is, for `ddflow_state_updates` and `ddflow_state_size_bytes`.
//!
//! Differential reports every batch an arrangement's trace gains, merges and drops through
//! its `differential/arrange` logger, by operator identifier; those events balance, so their
//! running sum is the number of updates the trace holds. Rendering names each arrangement
//! through [`observed`], which notes the identifiers timely handed out while the arrangement
//! was built (the arrange operator's among them) with its name and the fixed size of one of
//! its updates. Only runs that serve metrics register the logger ([`register`]); without it,
//! differential logs nothing and [`observed`] only notes a range.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;

use differential_dataflow::logging::{DifferentialEvent, DifferentialEventBuilder};
use prometheus_client::metrics::gauge::Gauge;

use crate::timestamp::Time;

/// An arrangement's name and where its operator is, noted while rendering.
struct Noted {
    ids: Range<usize>,
    name: String,
    per_update: usize,
}

thread_local! {
    /// The arrangements this worker thread built (each worker is a thread of its own).
    static NOTED: RefCell<Vec<Noted>> = const { RefCell::new(Vec::new()) };
}

/// Build an arrangement with `arrange`, noting it as `name` whose updates hold a `K`, a `V`
/// and a difference `R` (for the size estimate).
pub fn observed<K, V, R, A>(
    scope: timely::dataflow::Scope<'_, Time>,
    name: &str,
    arrange: impl FnOnce() -> A,
) -> A {
    let start = scope.worker().peek_identifier();
    let arranged = arrange();
    let end = scope.worker().peek_identifier();
    let per_update = std::mem::size_of::<(K, V, Time, R)>();
    NOTED.with(|n| {
        n.borrow_mut().push(Noted {
            ids: start..end,
            name: name.to_string(),
            per_update,
        })
    });
    arranged
}

/// One arrangement's tally on this worker.
struct Tally {
    per_update: i64,
    updates: Gauge,
    bytes: Gauge,
}

/// Register the logger that turns this worker's arrangement events into the state gauges.
/// Call before building the dataflow: differential looks its logger up when it builds an
/// arrangement.
pub fn register(worker: &mut timely::worker::Worker, metrics: super::Shared) {
    NOTED.with(|n| n.borrow_mut().clear());
    let Some(mut registry) = worker.log_register() else {
        return;
    };
    let mut tallies: HashMap<usize, Tally> = HashMap::new();
    registry.insert::<DifferentialEventBuilder, _>("differential/arrange", move |_time, events| {
        let Some(events) = events else { return };
        for (_, event) in events.iter() {
            let (operator, change) = match event {
                DifferentialEvent::Batch(b) => (b.operator, b.length as i64),
                DifferentialEvent::Merge(m) => match m.complete {
                    Some(merged) => (
                        m.operator,
                        merged as i64 - m.length1 as i64 - m.length2 as i64,
                    ),
                    None => continue,
                },
                DifferentialEvent::Drop(d) => (d.operator, -(d.length as i64)),
                _ => continue,
            };
            if change == 0 {
                continue;
            }
            let tally = tallies
                .entry(operator)
                .or_insert_with(|| new_tally(operator, (*metrics).as_ref()));
            tally.updates.inc_by(change);
            tally.bytes.inc_by(change * tally.per_update);
        }
    });
}

/// The tally of an arrangement first seen in an event, under the name rendering noted for it
/// (`Other` for one it did not note: its size is then not estimated).
fn new_tally(operator: usize, metrics: &super::Metrics) -> Tally {
    let (name, per_update) = NOTED.with(|n| {
        (n.borrow().iter())
            .find(|a| a.ids.contains(&operator))
            .map_or(("Other".to_string(), 0), |a| {
                (a.name.clone(), a.per_update as i64)
            })
    });
    let (updates, bytes) = metrics.exported.arrangement(&name, operator);
    Tally {
        per_update,
        updates,
        bytes,
    }
}
