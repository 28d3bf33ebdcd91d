//! Offset commits driven by the sinks' durability frontier.
//!
//! # Contract
//!
//! The committer reads the frontier of all sinks' durable streams (see [`crate::sink`]).
//! When it passes epoch `t`, the output of every epoch `<= t` is durable, so the committer
//! commits, for each source partition this worker reads, the binding of the latest recorded
//! epoch `< frontier`: the *next offset to read* after those epochs (Kafka's convention; never
//! `next - 1`). Commits go to the source's consumer group without joining it. After a failure
//! nothing more is committed. When the frontier is empty (the run is complete) the last
//! binding is committed synchronously before the worker exits.
//!
//! With a checkpoint directory, [`render_checkpoint_committer`] commits instead the bindings
//! of completed checkpoints (whose output is durable by construction), synchronously, and
//! rotates the binding journal: restarts resume from checkpoints, and the group's offsets
//! never run ahead of the last one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;

use crate::control::RunControl;
use crate::error::{Error, Result};
use crate::kafka::offsets_list;
use crate::metrics::Metrics;
use crate::resume::DurableStream;
use crate::source::SourceHandle;
use crate::timestamp::Time;

/// The shortest time between two offset commits of a running dataflow: the durable frontier
/// moves every epoch (up to 100 times a second), and a commit per epoch is a broker request
/// per epoch for no gain (a restart re-reads at most a second more).
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(1);

/// Commit the sources' offsets as the durable frontier advances (at most every
/// [`COMMIT_INTERVAL`], and once more when the input is complete).
pub fn render_committer(
    durable: DurableStream<'_>,
    sources: Vec<SourceHandle>,
    max_outage: Duration,
    control: Arc<RunControl>,
) {
    let mut committed: Vec<Option<Time>> = vec![None; sources.len()];
    let mut done = false;
    let mut last_commit: Option<Instant> = None;
    durable.sink(Pipeline, "CommitOffsets", move |(input, frontier)| {
        // Another process's failure comes before the frontier passes its epoch.
        input.for_each(|_, failures| failures.iter().for_each(|f| control.peer_failed(f)));
        if done || control.failed() {
            return;
        }
        let upper = frontier.frontier().first().copied();
        // At most one commit per COMMIT_INTERVAL while running (the durable frontier moves
        // every epoch); the final commit is never skipped.
        if upper.is_some() && last_commit.is_some_and(|t| t.elapsed() < COMMIT_INTERVAL) {
            return;
        }
        last_commit = Some(Instant::now());
        // The final commit must land before the process exits; the others may be asynchronous.
        let mode = if upper.is_none() {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        // A failed commit is retried later (a later one covers it); the final one is retried
        // until --max-outage.
        let patience = upper.is_none().then_some(max_outage);
        for (source, last) in sources.iter().zip(committed.iter_mut()) {
            if let Err(e) = commit_patiently(source, upper, last, &control, mode, patience) {
                control.fail(e);
                return;
            }
        }
        done = upper.is_none();
    });
}

/// Commit the sources' offsets at each completed checkpoint (`completions` carries epochs).
pub fn render_checkpoint_committer<'s>(
    completions: timely::dataflow::StreamVec<'s, Time, Time>,
    sources: Vec<SourceHandle>,
    max_outage: Duration,
    control: Arc<RunControl>,
) {
    let mut committed: Vec<Option<Time>> = vec![None; sources.len()];
    completions.sink(
        Pipeline,
        "CommitCheckpointOffsets",
        move |(input, frontier)| {
            let mut latest = None;
            input.for_each(|_, data| latest = latest.max(data.iter().copied().max()));
            let Some(c) = latest else { return };
            if control.failed() {
                return;
            }
            // The last checkpoint's commit is retried until --max-outage before exiting.
            let patience = frontier.is_empty().then_some(max_outage);
            for (source, last) in sources.iter().zip(committed.iter_mut()) {
                let mode = CommitMode::Sync;
                let result = commit_patiently(source, Some(c + 1), last, &control, mode, patience)
                    .and_then(|()| match source.journal.borrow_mut().as_mut() {
                        Some(j) => j.checkpointed(c),
                        None => Ok(()),
                    });
                if let Err(e) = result {
                    control.fail(e);
                    return;
                }
            }
        },
    );
}

/// [`commit_source`], where a failure is logged and left for a later commit; with `patience`,
/// retried every half second for that long, then returned.
fn commit_patiently(
    source: &SourceHandle,
    upper: Option<Time>,
    last: &mut Option<Time>,
    control: &RunControl,
    mode: CommitMode,
    patience: Option<Duration>,
) -> Result<()> {
    let start = Instant::now();
    loop {
        match commit_source(source, upper, last, control, mode) {
            Ok(()) => return Ok(()),
            Err(e) => match patience {
                Some(p) if start.elapsed() < p => {
                    tracing::warn!(error = %e, "offset commit failed, retrying");
                    std::thread::sleep(Duration::from_millis(500));
                }
                Some(_) => return Err(e),
                None => {
                    tracing::warn!(error = %e, "offset commit failed; a later commit will cover it");
                    return Ok(());
                }
            },
        }
    }
}

/// Commit `source`'s latest binding below `upper`, if newer than `last`.
fn commit_source(
    source: &SourceHandle,
    upper: Option<Time>,
    last: &mut Option<Time>,
    control: &RunControl,
    mode: CommitMode,
) -> Result<()> {
    let Some(consumer) = &source.consumer else {
        return Ok(());
    };
    let mut log = source.log.borrow_mut();
    let Some(binding) = log.latest_below(upper) else {
        return Ok(());
    };
    if *last >= Some(binding.epoch) || binding.next_offsets.is_empty() {
        return Ok(());
    }
    let tpl = offsets_list(&source.topic, &binding.next_offsets);
    let started = Instant::now();
    consumer
        .commit(&tpl, mode)
        .map_err(|e| Error::kafka(format!("cannot commit offsets of \"{}\"", source.topic), e))?;
    tracing::debug!(topic = %source.topic, epoch = binding.epoch, offsets = ?binding.next_offsets, "committed");
    Metrics::add(&control.metrics.commits, 1);
    (control.metrics.exported).committed(started.elapsed().as_secs_f64());
    control
        .metrics
        .committed_epoch
        .fetch_max(binding.epoch as i64, std::sync::atomic::Ordering::Relaxed);
    let epoch = binding.epoch;
    *last = Some(epoch);
    log.prune_before(epoch);
    Ok(())
}
