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

use std::sync::Arc;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;

use crate::control::RunControl;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::sink::DurableStream;
use crate::source::SourceHandle;
use crate::timestamp::Time;

/// Commit the sources' offsets as the durable frontier advances.
pub fn render_committer(
    durable: DurableStream<'_>,
    sources: Vec<SourceHandle>,
    control: Arc<RunControl>,
) {
    let mut committed: Vec<Option<Time>> = vec![None; sources.len()];
    let mut done = false;
    durable.sink(Pipeline, "CommitOffsets", move |(input, frontier)| {
        input.for_each(|_, _| {});
        if done || control.failed() {
            return;
        }
        let upper = frontier.frontier().first().copied();
        for (source, last) in sources.iter().zip(committed.iter_mut()) {
            if let Err(e) = commit_source(source, upper, last, &control) {
                control.fail(e);
                return;
            }
        }
        done = upper.is_none();
    });
}

/// Commit `source`'s latest binding below `upper`, if newer than `last`.
fn commit_source(
    source: &SourceHandle,
    upper: Option<Time>,
    last: &mut Option<Time>,
    control: &RunControl,
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
    let mut tpl = TopicPartitionList::new();
    for (p, next) in &binding.next_offsets {
        tpl.add_partition_offset(&source.topic, *p, Offset::Offset(*next))
            .map_err(|e| Error::kafka("cannot build an offset commit", e))?;
    }
    // The final commit must land before the process exits; the others may be asynchronous.
    let mode = if upper.is_none() {
        CommitMode::Sync
    } else {
        CommitMode::Async
    };
    consumer
        .commit(&tpl, mode)
        .map_err(|e| Error::kafka(format!("cannot commit offsets of \"{}\"", source.topic), e))?;
    tracing::debug!(topic = %source.topic, epoch = binding.epoch, offsets = ?binding.next_offsets, "committed");
    Metrics::add(&control.metrics.commits, 1);
    control
        .metrics
        .committed_epoch
        .fetch_max(binding.epoch as i64, std::sync::atomic::Ordering::Relaxed);
    let epoch = binding.epoch;
    *last = Some(epoch);
    log.prune_before(epoch);
    Ok(())
}
