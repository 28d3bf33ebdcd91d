//! The checkpoint operators of one worker's dataflow.
//!
//! ```text
//! state ──► Trigger (worker 0: a checkpoint epoch every interval) ──broadcast──┐
//! durable ────────────────────────────────────────────────────────────► Checkpoint (each worker:
//!        reads its arrangements at c, bindings, sink positions; writes its shards)
//!            ──exchange to worker 0──► Commit (writes the manifest) ──broadcast──► completions
//! restore: state files ──► Restore (each worker reads shards w % peers) ──► arrangements
//! ```
//!
//! The trigger holds a capability that follows the state arrangements' frontier `F` (the sinks'
//! durable frontier when there is no state; it never holds anything back: its output feeds only
//! the checkpoint operator) and sends `c = F - 1`, an epoch the arrangements already hold whole.
//! The checkpoint operator reads its traces at `c` at once, keeping their logical compaction at
//! or below every epoch it may still be asked to read (so the accumulation at times `<= c` stays
//! readable, and the hold trails live data closely), and reports to worker 0 once the output of
//! epochs `<= c` is durable.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::{AsCollection, VecCollection};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::{Capability, Concatenate};
use timely::dataflow::{Scope, StreamVec};

use crate::checkpoint::store::{Manifest, ShardInfo};
use crate::checkpoint::Checkpointing;
use crate::control::RunControl;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::resume::{DurableStream, SinkProgress, SinkState};
use crate::state::StateTrace;
use crate::timestamp::{BindingLog, Time};

/// What one worker's checkpoints read.
#[derive(Default)]
pub struct LocalParts {
    /// The arrangements, in render order.
    pub traces: Vec<StateTrace>,
    /// `(table, bindings)` of this worker's sources.
    pub sources: Vec<(String, Rc<RefCell<BindingLog>>)>,
    /// `(sink, progress)` of this worker's sinks.
    pub sinks: Vec<(String, Rc<dyn SinkProgress>)>,
    /// `(table, watermark by time)` of the watermarks windows read.
    pub watermarks: Vec<(String, crate::resume::WatermarkHistory)>,
}

/// One worker's part of a checkpoint, sent to worker 0.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The checkpoint epoch; `None` for the final checkpoint of a finished run.
    pub epoch: Option<Time>,
    /// The reporting worker.
    pub worker: usize,
    /// Number of workers.
    pub peers: usize,
    /// The files written.
    pub shards: Vec<ShardInfo>,
    /// `(table, [(partition, next offset)])`.
    pub sources: Vec<(String, Vec<(i32, i64)>)>,
    /// `(sink, position)`.
    pub sinks: Vec<(String, SinkState)>,
    /// The latest epoch this worker's sources closed.
    pub latest: Time,
    /// `(table, watermark at the epoch)`.
    #[serde(default)]
    pub watermarks: Vec<(String, i64)>,
}

/// Directory name of a final checkpoint until its epoch is known.
pub const PENDING_FINAL: &str = "final.pending";

/// Build the trigger, checkpoint and commit operators; returns the stream of completed
/// checkpoint epochs, on every worker.
pub fn render_checkpointing<'s>(
    scope: Scope<'s, Time>,
    durable: DurableStream<'s>,
    state_progress: Vec<StreamVec<'s, Time, ()>>,
    parts: LocalParts,
    checkpointing: Arc<Checkpointing>,
    control: Arc<RunControl>,
) -> StreamVec<'s, Time, Time> {
    let interval = checkpointing.settings.interval;
    let restored = checkpointing.restored_epoch();
    let is_leader = scope.index() == 0;
    // The trigger follows the arrangements' frontier (the sinks' when there is no state), so
    // checkpoint epochs, and the compaction they hold back, trail live data closely.
    let follow = if state_progress.is_empty() {
        durable.clone().map(|_| ())
    } else {
        scope.concatenate(state_progress)
    };
    let markers = follow
        .unary_frontier::<CapacityContainerBuilder<Vec<Time>>, _, _, _>(
            Pipeline,
            "CheckpointTrigger",
            move |cap, _info| {
                let mut cap = is_leader.then_some(cap);
                let mut last = restored;
                let mut due = Instant::now() + interval;
                move |(input, frontier), output| {
                    input.for_each(|_, _| {});
                    let Some(c) = cap.as_mut() else { return };
                    let Some(&t) = frontier.frontier().first() else {
                        cap = None;
                        return;
                    };
                    if t > *c.time() {
                        c.downgrade(&t);
                    }
                    if Instant::now() >= due && t.saturating_sub(1) > last {
                        last = t - 1;
                        due = Instant::now() + interval;
                        output.session(&*c).give(last);
                    }
                }
            },
        )
        .broadcast();

    let ck = checkpointing.clone();
    let ctl = control.clone();
    let index = scope.index();
    let peers = scope.peers();
    let reports = markers.binary_frontier::<_, CapacityContainerBuilder<Vec<Report>>, _, _, _, _>(
        durable,
        Pipeline,
        Pipeline,
        "Checkpoint",
        move |cap, info| {
            let activator = scope.activator_for(info.address);
            let mut final_cap = Some(cap);
            // Requested checkpoints: their capability, and their shards once written.
            let mut pending: BTreeMap<Time, (Capability<Time>, Option<Vec<ShardInfo>>)> =
                BTreeMap::new();
            let mut parts = parts;
            let mut compacted: Time = 0;
            let mut restoring = restored > 0;
            move |(markers, marker_frontier), (durable, durable_frontier), output| {
                markers.for_each(|cap, data| {
                    for c in data.drain(..) {
                        if let Some(cap) = cap.retain_least(0) {
                            pending.insert(c, (cap, None));
                        }
                    }
                });
                durable.for_each(|_, failures| failures.iter().for_each(|f| ctl.peer_failed(f)));
                if ctl.failed() {
                    pending.clear();
                    final_cap = None;
                    return;
                }
                let done = durable_frontier.frontier().first().copied();
                if restoring && done.is_none_or(|d| d > restored) {
                    restoring = false;
                    let ms = ctl.started.elapsed().as_millis() as u64;
                    ctl.metrics.restore_millis.fetch_max(ms, Ordering::Relaxed);
                    tracing::info!(
                        epoch = %crate::timestamp::epoch_text(restored),
                        ms,
                        "restored state caught up with the checkpoint"
                    );
                }
                // Read the state as soon as the arrangements hold every update at times <= c
                // (this releases the compaction hold); report once the output is durable.
                for (&c, (_, shards)) in pending.iter_mut().filter(|(_, (_, s))| s.is_none()) {
                    if !traces_passed(&mut parts.traces, c) {
                        activator.activate_after(Duration::from_millis(1));
                        break;
                    }
                    match write_shards(&ck, &mut parts, Some(c), index) {
                        Ok(written) => *shards = Some(written),
                        Err(e) => {
                            ctl.fail(e);
                            return;
                        }
                    }
                }
                while let Some(entry) = pending.first_entry() {
                    let c = *entry.key();
                    if done.is_some_and(|d| d <= c) || entry.get().1.is_none() {
                        break;
                    }
                    let (cap, shards) = entry.remove();
                    let report =
                        describe(&parts, Some(c), shards.unwrap_or_default(), (index, peers));
                    output.session(&cap).give(report);
                }
                // Keep every epoch that may still be checkpointed readable.
                let hold = [
                    pending
                        .iter()
                        .find(|(_, (_, s))| s.is_none())
                        .map(|(c, _)| *c),
                    marker_frontier
                        .frontier()
                        .first()
                        .map(|t| t.saturating_sub(1)),
                ]
                .into_iter()
                .flatten()
                .min();
                if let Some(h) = hold.filter(|h| *h > compacted) {
                    compacted = h;
                    for trace in &mut parts.traces {
                        trace.hold(h);
                    }
                }
                match done {
                    Some(d) => {
                        if let Some(fc) = final_cap.as_mut().filter(|fc| d > *fc.time()) {
                            fc.downgrade(&d);
                        }
                    }
                    None if pending.is_empty() => {
                        if let Some(fc) = final_cap.take() {
                            match write_shards(&ck, &mut parts, None, index) {
                                Ok(shards) => output.session(&fc).give(describe(
                                    &parts,
                                    None,
                                    shards,
                                    (index, peers),
                                )),
                                Err(e) => ctl.fail(e),
                            }
                        }
                    }
                    None => {}
                }
            }
        },
    );

    let mut last = checkpointing
        .recovery
        .as_ref()
        .and_then(|r| r.manifest.clone());
    let mut old_journal: Vec<PathBuf> = checkpointing
        .recovery
        .as_ref()
        .map(|r| r.old_journal_files.clone())
        .unwrap_or_default();
    let replay_until = checkpointing
        .recovery
        .as_ref()
        .map_or(0, |r| r.replay_until);
    reports
        .unary_frontier::<CapacityContainerBuilder<Vec<Time>>, _, _, _>(
            Exchange::new(|_: &Report| 0u64),
            "CheckpointCommit",
            move |_cap, _info| {
                let mut pending: BTreeMap<Time, (Capability<Time>, Vec<Report>)> = BTreeMap::new();
                // Final reports come at each worker's own last time: gather them until every
                // worker has reported (the input frontier is empty).
                let mut finals: Option<(Capability<Time>, Vec<Report>)> = None;
                move |(input, frontier), output| {
                    input.for_each(|cap, data| {
                        let Some(cap) = cap.retain_least(0) else {
                            return;
                        };
                        let (last_ones, periodic): (Vec<Report>, Vec<Report>) =
                            data.drain(..).partition(|r| r.epoch.is_none());
                        if !last_ones.is_empty() {
                            let (held, reports) =
                                finals.get_or_insert_with(|| (cap.clone(), Vec::new()));
                            if cap.time() < held.time() {
                                *held = cap.clone();
                            }
                            reports.extend(last_ones);
                        }
                        if !periodic.is_empty() {
                            pending
                                .entry(*cap.time())
                                .or_insert_with(|| (cap, Vec::new()))
                                .1
                                .extend(periodic);
                        }
                    });
                    let mut ready = Vec::new();
                    while let Some(entry) = pending.first_entry() {
                        if frontier.less_equal(entry.key()) {
                            break;
                        }
                        ready.push(entry.remove());
                    }
                    if frontier.is_empty() {
                        ready.extend(finals.take());
                    }
                    for (cap, reports) in ready {
                        if control.failed() {
                            continue;
                        }
                        match commit(&checkpointing, &mut last, reports) {
                            Ok(Some(epoch)) => {
                                Metrics::add(&control.metrics.checkpoints, 1);
                                control.metrics.exported.checkpointed(epoch);
                                if epoch >= replay_until {
                                    for f in old_journal.drain(..) {
                                        let _ = std::fs::remove_file(f);
                                    }
                                }
                                output.session(&cap).give(epoch);
                            }
                            Ok(None) => {}
                            Err(e) => control.fail(e),
                        }
                    }
                }
            },
        )
        .broadcast()
}

/// Whether every trace holds all updates at times `<= c`.
fn traces_passed(traces: &mut [StateTrace], c: Time) -> bool {
    traces.iter_mut().all(|t| t.passed(c))
}

/// Write this worker's shards for the checkpoint at `epoch` (`None`: final).
fn write_shards(
    ck: &Checkpointing,
    parts: &mut LocalParts,
    epoch: Option<Time>,
    index: usize,
) -> Result<Vec<ShardInfo>> {
    let dir = match epoch {
        Some(c) => ck.store.epoch_dir(c),
        None => ck.store.epoch_dir(0).with_file_name(PENDING_FINAL),
    };
    parts
        .traces
        .iter_mut()
        .enumerate()
        .map(|(i, trace)| ck.store.write_shard(&dir, i, index, &trace.entries(epoch)))
        .collect()
}

/// This worker's part of the checkpoint at `epoch` (`None`: final), once its output is durable.
fn describe(
    parts: &LocalParts,
    epoch: Option<Time>,
    shards: Vec<ShardInfo>,
    (worker, peers): (usize, usize),
) -> Report {
    let upper = epoch.map(|c| c + 1);
    let mut latest = 0;
    let sources = parts
        .sources
        .iter()
        .map(|(name, log)| {
            let log = log.borrow();
            latest = latest.max(log.bindings().last().map_or(0, |b| b.epoch));
            let offsets = log
                .latest_below(upper)
                .map(|b| b.next_offsets.clone())
                .unwrap_or_default();
            (name.to_ascii_lowercase(), offsets)
        })
        .collect();
    let sinks = parts
        .sinks
        .iter()
        .map(|(name, p)| (name.clone(), p.position(epoch)))
        .collect();
    // The epoch's output is durable, so every watermark up to it has been computed; later
    // checkpoints ask only for later ones.
    let watermarks = parts
        .watermarks
        .iter()
        .map(|(table, history)| {
            let mut h = history.borrow_mut();
            let w = h.at(epoch.unwrap_or(Time::MAX));
            if let Some(c) = epoch {
                h.forget_before(c);
            }
            (table.clone(), w)
        })
        .collect();
    Report {
        epoch,
        worker,
        peers,
        shards,
        sources,
        sinks,
        latest,
        watermarks,
    }
}

/// Merge the workers' reports into a manifest and write it; returns the checkpoint's epoch,
/// or `None` when a final checkpoint would add nothing to the last one.
fn commit(
    ck: &Checkpointing,
    last: &mut Option<Manifest>,
    reports: Vec<Report>,
) -> Result<Option<Time>> {
    let Some(first) = reports.first() else {
        return Ok(None);
    };
    // A worker that did not report failed (in another process of a cluster, which tells this
    // one through the durable streams): its share of the state is not in this checkpoint.
    let reported: std::collections::BTreeSet<usize> = reports.iter().map(|r| r.worker).collect();
    if reported.len() < first.peers {
        tracing::warn!(
            reported = reported.len(),
            workers = first.peers,
            "a checkpoint lacks workers' reports; not written"
        );
        let _ = std::fs::remove_dir_all(ck.store.epoch_dir(0).with_file_name(PENDING_FINAL));
        return Ok(None);
    }
    let previous = last.as_ref().map_or(0, |m| m.epoch);
    let pending = ck.store.epoch_dir(0).with_file_name(PENDING_FINAL);
    let epoch = match first.epoch {
        Some(c) => c,
        None => {
            let latest = reports.iter().map(|r| r.latest).max().unwrap_or(0);
            if latest <= previous {
                let _ = std::fs::remove_dir_all(&pending);
                return Ok(None);
            }
            let dir = ck.store.epoch_dir(latest);
            let _ = std::fs::remove_dir_all(&dir);
            // A dataflow without state wrote no shards, so nothing made the directory.
            std::fs::create_dir_all(&pending).map_err(|e| Error::io(&pending, e))?;
            std::fs::rename(&pending, &dir).map_err(|e| Error::io(&pending, e))?;
            latest
        }
    };
    let mut manifest = Manifest {
        epoch,
        created_ms: crate::timestamp::now_ms(),
        workers: first.peers,
        plan: ck.plan.clone(),
        shards: Vec::new(),
        sources: last.as_ref().map(|m| m.sources.clone()).unwrap_or_default(),
        sinks: last.as_ref().map(|m| m.sinks.clone()).unwrap_or_default(),
        watermarks: last
            .as_ref()
            .map(|m| m.watermarks.clone())
            .unwrap_or_default(),
    };
    for report in reports {
        manifest.shards.extend(report.shards);
        for (table, offsets) in report.sources {
            merge_offsets(manifest.sources.entry(table).or_default(), offsets);
        }
        for (table, w) in report.watermarks {
            let slot = manifest.watermarks.entry(table).or_insert(w);
            *slot = (*slot).max(w);
        }
        for (sink, state) in report.sinks {
            let slot = manifest.sinks.entry(sink).or_insert(SinkState::Stateless);
            match (slot, state) {
                (
                    SinkState::Kafka {
                        offsets,
                        partitions,
                    },
                    SinkState::Kafka {
                        offsets: new,
                        partitions: n,
                    },
                ) => {
                    merge_offsets(offsets, new);
                    *partitions = (*partitions).max(n);
                }
                (_, SinkState::Stateless) => {}
                (slot, state) => *slot = state,
            }
        }
    }
    manifest.shards.sort_by_key(|s| (s.arrangement, s.worker));
    ck.store.commit(&manifest)?;
    ck.store.prune(ck.settings.keep)?;
    tracing::info!(
        epoch = %crate::timestamp::epoch_text(epoch),
        files = manifest.shards.len(),
        entries = manifest.shards.iter().map(|s| s.entries).sum::<u64>(),
        bytes = manifest.shards.iter().map(|s| s.bytes).sum::<u64>(),
        "checkpoint complete"
    );
    *last = Some(manifest);
    Ok(Some(epoch))
}

/// Set each partition in `new` to its new offset, keeping the others.
fn merge_offsets(into: &mut Vec<(i32, i64)>, new: Vec<(i32, i64)>) {
    let mut map: BTreeMap<i32, i64> = into.drain(..).collect();
    map.extend(new);
    into.extend(map);
}

/// The restored contents of arrangement `arrangement`, at the checkpoint's epoch, as the
/// `(data, diff)` updates it was saved as: this worker reads the files of the old workers `w`
/// with `w % peers == index`; the arrangement's exchange sends each entry to its new owner.
pub fn render_restore<'s, D, R>(
    scope: Scope<'s, Time>,
    checkpointing: &Arc<Checkpointing>,
    arrangement: usize,
    control: Arc<RunControl>,
) -> VecCollection<'s, Time, D, R>
where
    D: DeserializeOwned + Clone + 'static,
    R: DeserializeOwned + Clone + differential_dataflow::difference::Semigroup + 'static,
{
    let (index, peers) = (scope.index(), scope.peers());
    let manifest = checkpointing
        .recovery
        .as_ref()
        .and_then(|r| r.manifest.clone());
    let epoch = manifest.as_ref().map_or(0, |m| m.epoch);
    let mut shards: Vec<ShardInfo> = manifest
        .map(|m| m.shards)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.arrangement == arrangement && s.worker % peers == index)
        .collect();
    let store = checkpointing.store.clone();
    source::<_, CapacityContainerBuilder<Vec<(D, Time, R)>>, _, _>(
        scope,
        "Restore",
        move |cap, info| {
            let activator = scope.activator_for(info.address);
            let mut cap = Some(cap);
            if let Some(c) = cap.as_mut() {
                c.downgrade(&epoch);
            }
            let mut buffer: Vec<(D, R)> = Vec::new();
            move |output| {
                let Some(c) = cap.as_ref() else { return };
                if buffer.is_empty() {
                    match shards.pop().map(|s| store.read_shard::<D, R>(epoch, &s)) {
                        None => {
                            cap = None;
                            return;
                        }
                        Some(Ok(entries)) => {
                            Metrics::add(
                                &control.metrics.state_entries_restored,
                                entries.len() as u64,
                            );
                            buffer = entries
                        }
                        Some(Err(e)) => {
                            control.fail(e);
                            cap = None;
                            return;
                        }
                    }
                }
                let take = buffer.len().min(65_536);
                let mut session = output.session(c);
                for (data, diff) in buffer.drain(buffer.len() - take..) {
                    session.give((data, epoch, diff));
                }
                activator.activate();
            }
        },
    )
    .as_collection()
}
