//! Sinks: write each epoch's consolidated changes once the frontier has passed it, and report
//! durability back through timely progress.
//!
//! # Contract
//!
//! [`render_sink`] returns a stream that carries no data; its frontier is the point below
//! which every epoch's output is durable on this worker (written to stdout, fsynced to a file,
//! or acknowledged by the Kafka brokers). The sink operator holds a capability at the oldest
//! epoch it has written but not yet seen acknowledged. So when the frontier of all sinks'
//! streams passes `t`, the output of every epoch `<= t` is durable everywhere, and `progress`
//! may commit `t`'s offsets. Epochs are written whole and in order; a run that has failed
//! writes nothing more, and its sinks put the failure on their durable streams at the oldest
//! epoch they hold, so every process of a cluster learns of it before its frontier passes that
//! epoch (and commits nothing for it).

pub mod console;
pub mod file;
pub mod format;
pub mod kafka;

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use differential_dataflow::consolidation::consolidate;
use prometheus_client::metrics::counter::Counter;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::Operator;

use crate::control::RunControl;
use crate::data::{Row, RowCollection};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::resume::{DurableStream, Failure, SinkProgress, SinkResume, SinkState};
use crate::source::SourceHandle;
use crate::spec::{SinkConnector, SinkSpec};
use crate::timestamp::{Diff, Time};

/// Writes whole epochs somewhere.
///
/// # Contract
///
/// `write_epoch` is called once per epoch that has changes, in increasing epoch order, with
/// the epoch's consolidated changes: sorted by row when some change of the epoch retracts,
/// and in the order they came when all insert (then nothing can cancel). `pending_since`
/// names the oldest written epoch whose output is not yet durable (`None`: everything written
/// is durable); it is polled until it returns `None`, and the sink holds its durability
/// frontier there.
pub trait EpochWriter {
    /// Write the changes of epoch `time`.
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()>;
    /// The oldest written epoch not yet durable, if any (may do I/O to find out).
    fn pending_since(&mut self) -> Result<Option<Time>>;
    /// Called after each run of `write_epoch` calls (one operator activation).
    fn end_batch(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A sink with nothing to resume from (console, or workers that do not write a file sink).
struct NoProgress;

impl SinkProgress for NoProgress {
    fn position(&self, _: Option<Time>) -> SinkState {
        SinkState::Stateless
    }
}

/// Run-wide settings every sink uses.
#[derive(Debug, Clone)]
pub struct SinkSettings {
    /// Overrides every Kafka sink's bootstrap servers when set.
    pub bootstrap_override: Option<String>,
    /// How long to wait for the broker before failing.
    pub broker_timeout: Duration,
    /// The consumer group (names transactional ids).
    pub group_id: String,
    /// How long the broker may stay unreachable before a delivery fails the run.
    pub max_outage: Duration,
}

/// Build the sink for `spec` over `collection`; `partitions` is the Kafka output topic's
/// partition count; an exactly-once Kafka sink adds the offsets of `offsets_in_transaction`
/// to each transaction; `insert_only` says the collection never retracts (the plan knows).
/// Returns the durability stream and the sink's position tracker.
pub fn render_sink<'s>(
    collection: RowCollection<'s>,
    spec: &SinkSpec,
    settings: &SinkSettings,
    partitions: i32,
    resume: &SinkResume,
    offsets_in_transaction: Vec<SourceHandle>,
    insert_only: bool,
    control: Arc<RunControl>,
) -> Result<(DurableStream<'s>, Rc<dyn SinkProgress>)> {
    let scope = collection.scope();
    let index = scope.index();
    let name = &spec.name;
    let skip = resume.written_through;
    Ok(match &spec.connector {
        SinkConnector::Kafka { .. } => {
            let writer = kafka::KafkaWriter::new(
                spec,
                settings,
                partitions,
                (index, scope.peers()),
                resume,
                offsets_in_transaction,
                control.clone(),
            )?;
            let progress = Rc::new(writer.progress());
            let encoding = kafka::Encoding::of(spec);
            // Partition p is written by worker p % peers: per-partition order holds.
            let route = move |row: &Row| encoding.partition_of(row, partitions) as u64;
            (
                render_epoch_sink(
                    collection,
                    name,
                    by(route),
                    skip,
                    Keep::Changes,
                    writer,
                    control,
                ),
                progress,
            )
        }
        SinkConnector::Print { mode } => {
            let writer = (index == 0).then(|| console::ConsoleWriter::new(spec, *mode));
            (
                render_epoch_sink(
                    collection,
                    name,
                    by(|_| 0),
                    skip,
                    Keep::Changes,
                    writer,
                    control,
                ),
                Rc::new(NoProgress),
            )
        }
        SinkConnector::Blackhole => {
            // Rows stay on the worker that computed them, and are dropped there: as they come
            // when no change can cancel another, else when their epoch closes (so that what is
            // counted as written is what consolidating the epoch leaves, as for other sinks).
            let writer: Option<console::ConsoleWriter> = None;
            let keep = if insert_only {
                Keep::Count
            } else {
                Keep::Changes
            };
            (
                render_epoch_sink(collection, name, Pipeline, skip, keep, writer, control),
                Rc::new(NoProgress),
            )
        }
        SinkConnector::File { .. } => {
            // Worker 0 writes every line; an appending sink's lines are made where its rows
            // are computed, so that worker only appends them.
            let encoder = file::LineEncoder::of(spec)?;
            let (writer, progress): (_, Rc<dyn SinkProgress>) = if index == 0 {
                let writer = file::FileWriter::create(spec, resume)?;
                let progress = writer.progress();
                (Some(writer), progress)
            } else {
                (None, Rc::new(NoProgress))
            };
            let rows = if encoder.appends() {
                file::encode_where_computed(collection, encoder, control.clone())
            } else {
                collection
            };
            (
                render_epoch_sink(rows, name, by(|_| 0), skip, Keep::Changes, writer, control),
                progress,
            )
        }
    })
}

impl<W: EpochWriter> EpochWriter for Option<W> {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        match self {
            Some(w) => w.write_epoch(time, changes),
            None => Ok(()),
        }
    }
    fn pending_since(&mut self) -> Result<Option<Time>> {
        self.as_mut().map_or(Ok(None), |w| w.pending_since())
    }
    fn end_batch(&mut self) -> Result<()> {
        self.as_mut().map_or(Ok(()), |w| w.end_batch())
    }
}

/// Rows sent to the worker `route` names.
fn by(route: impl Fn(&Row) -> u64 + 'static) -> impl ParallelizationContract<Time, Changes> {
    Exchange::new(move |(row, _, _): &(Row, Time, Diff)| route(row))
}

/// A batch of a collection's changes.
type Changes = Vec<(Row, Time, Diff)>;

/// What a sink keeps of an epoch until the epoch closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Its changes, for the writer.
    Changes,
    /// Only their number: for a sink that writes nothing (a blackhole) over a collection
    /// that never retracts, where the number is what writing the epoch would count. (An
    /// epoch held open while a source catches up holds up to half a second of rows.)
    Count,
}

/// The generic sink operator: rows go to workers by `pact`, are stashed by epoch (or only
/// counted: [`Keep`]), closed epochs are written with `writer`, and the output capability is
/// held until they are durable. Changes at epochs `<= skip_through` were written before a
/// restart and are dropped. (Epoch 0 is a real epoch: a global aggregate's row over no input.)
pub fn render_epoch_sink<'s, W: EpochWriter + 'static>(
    collection: RowCollection<'s>,
    sink: &str,
    pact: impl ParallelizationContract<Time, Changes>,
    skip_through: Option<Time>,
    keep: Keep,
    mut writer: W,
    control: Arc<RunControl>,
) -> DurableStream<'s> {
    let scope = collection.scope();
    let written = control.metrics.exported.sink(sink).changes;
    collection
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<Failure>>, _, _, _>(
            pact,
            &format!("Sink({sink})"),
            move |cap, info| {
                let activator = scope.activator_for(info.address);
                let mut cap = Some(cap);
                let mut stash: BTreeMap<Time, Vec<(Row, Diff)>> = BTreeMap::new();
                let mut counts: BTreeMap<Time, u64> = BTreeMap::new();
                let mut told = false;
                move |(input, frontier), output| {
                    // A failure here is told to every worker of the cluster at the oldest
                    // epoch this sink has not made durable, before that epoch is let go.
                    if !told {
                        if let (Some(failure), Some(c)) = (control.failure(), cap.as_ref()) {
                            output.session(c).give(failure);
                            told = true;
                        }
                    }
                    input.for_each(|_, data| {
                        // A batch's changes are mostly of one epoch: found once per run.
                        let mut changes = data.drain(..).peekable();
                        while let Some(&(_, time, _)) = changes.peek() {
                            let run = std::iter::from_fn(|| changes.next_if(|c| c.1 == time));
                            if skip_through.is_some_and(|s| time <= s) {
                                run.for_each(drop);
                            } else if keep == Keep::Count {
                                *counts.entry(time).or_default() += run.count() as u64;
                            } else {
                                let epoch = stash.entry(time).or_default();
                                epoch.extend(run.map(|(row, _, diff)| (row, diff)));
                            }
                        }
                    });
                    let closed = frontier.frontier().first().copied();
                    count_closed(&mut counts, closed, &control, &written);
                    let result = write_closed(&mut stash, closed, &mut writer, &control, &written)
                        .and_then(|()| writer.pending_since());
                    let pending = match result {
                        Ok(p) => p,
                        Err(e) => {
                            control.fail(e);
                            cap = None;
                            return;
                        }
                    };
                    if pending.is_some() {
                        activator.activate_after(Duration::from_millis(1));
                    }
                    let hold = pending
                        .into_iter()
                        .chain(frontier.frontier().iter().copied())
                        .min();
                    match (hold, cap.as_mut()) {
                        (Some(t), Some(c)) => c.downgrade(&t),
                        _ => cap = None,
                    }
                }
            },
        )
}

/// The oldest epoch of `epochs` if it is below `frontier` (`None`: input complete), taken out.
fn pop_closed<V>(epochs: &mut BTreeMap<Time, V>, frontier: Option<Time>) -> Option<(Time, V)> {
    let entry = epochs.first_entry()?;
    let closed = frontier.is_none_or(|f| *entry.key() < f);
    closed.then(|| entry.remove_entry())
}

/// Count as written every counted epoch below `frontier` (`None`: input complete).
fn count_closed(
    counts: &mut BTreeMap<Time, u64>,
    frontier: Option<Time>,
    control: &RunControl,
    written: &Counter,
) {
    while let Some((_, n)) = pop_closed(counts, frontier) {
        if !control.failed() {
            Metrics::add(&control.metrics.changes_written, n);
            written.inc_by(n);
        }
    }
}

/// Write every stashed epoch below `frontier` (`None`: input complete), oldest first.
fn write_closed<W: EpochWriter>(
    stash: &mut BTreeMap<Time, Vec<(Row, Diff)>>,
    frontier: Option<Time>,
    writer: &mut W,
    control: &RunControl,
    written: &Counter,
) -> Result<()> {
    let mut wrote = false;
    while let Some((time, mut changes)) = pop_closed(stash, frontier) {
        if control.failed() {
            continue; // never write past a failure: the failing epoch may be partial
        }
        // Only retractions can cancel: an epoch of inserts (all of a query that never
        // retracts) is written in the order it came, without sorting it.
        if changes.iter().any(|(_, diff)| *diff < 0) {
            consolidate(&mut changes);
        }
        if changes.is_empty() {
            continue;
        }
        writer.write_epoch(time, &changes)?;
        wrote = true;
        Metrics::add(&control.metrics.changes_written, changes.len() as u64);
        written.inc_by(changes.len() as u64);
    }
    if wrote {
        writer.end_batch()?;
    }
    Ok(())
}
