//! Checkpoints and recovery: after a crash, a restart gives the results the run would have
//! given had it never stopped.
//!
//! # Contract
//!
//! A checkpoint at epoch `c` holds, for the dataflow as a whole:
//! 1. the **state**: the contents at time `c` of every arrangement fed directly by sources
//!    (those of the lowest `GROUP BY`s; everything above them is recomputed from these), one
//!    file per worker and arrangement, read through [`crate::state::StateArrangement`] (an
//!    accumulable arrangement saves only what its source rows put in: the distinct branches
//!    that also feed it recompute their part from their own saved state);
//! 2. the **source bindings** at `c`: per partition, the next offset after the records of
//!    epochs `<= c`;
//! 3. the **sink positions** at `c`: per Kafka output partition, the offset after its last
//!    message of epochs `<= c`; per file sink, its length.
//!
//! It is taken only once the output of every epoch `<= c` is durable, and becomes complete when
//! worker 0 writes its manifest (write, fsync, rename); until then the previous checkpoint
//! stands. Checkpoint epochs are chosen by worker 0 every `interval` and sent to all workers
//! through the dataflow, so all workers cut at the same `c`; when a run ends, a final
//! checkpoint covers everything.
//!
//! Between checkpoints each source worker appends every epoch binding it closes to a
//! [`journal`] *before* closing the epoch. On restart ([`Recovery`]):
//! - the state files are read by `worker % new_workers` and fed back at time `c` through the
//!   same exchange as live data, so any worker or process count can restore any checkpoint;
//! - sources resume from the bindings at `c` and stamp records by the journal's bindings,
//!   so every epoch after `c` is re-formed exactly as before the crash;
//! - sinks drop output at epochs `<= c` (already written) and, for epochs after `c`, skip
//!   messages that the output already holds (the Kafka sink reads its partitions from the
//!   checkpointed positions; the file sink truncates to its checkpointed length).
//!
//! Offsets are committed to the consumer group only for completed checkpoints.

pub mod format;
pub mod journal;
pub mod operators;
pub mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::plan::ir::Program;
use crate::resume::SinkState;
use crate::timestamp::{Binding, Time};

pub use store::{Manifest, ShardInfo, Store};

/// Where and how often to checkpoint.
#[derive(Debug, Clone)]
pub struct CheckpointSettings {
    /// The checkpoint directory (shared by all processes of a cluster).
    pub dir: PathBuf,
    /// How often worker 0 starts a checkpoint.
    pub interval: Duration,
    /// How many complete checkpoints to keep.
    pub keep: usize,
    /// This process's index in its cluster (`-p`): each process of a run locks the directory
    /// for its index, so a second run on the same directory is refused.
    pub process: usize,
}

/// What a run with checkpointing knows at start: the store, and what to recover from.
#[derive(Debug)]
pub struct Checkpointing {
    /// The directory.
    pub store: Store,
    /// Settings.
    pub settings: CheckpointSettings,
    /// The plan, as recorded in manifests.
    pub plan: String,
    /// This run's id (names its journal files).
    pub run_id: u64,
    /// What to restore, if anything was written before.
    pub recovery: Option<Recovery>,
    /// This process's exclusive lock on the directory, held until the run ends (the operating
    /// system releases it however the process exits).
    _lock: std::fs::File,
}

/// The latest checkpoint and the journal after it.
#[derive(Debug)]
pub struct Recovery {
    /// The latest complete checkpoint, if any.
    pub manifest: Option<Manifest>,
    /// Per source table (lowercase): journal bindings after the checkpoint, oldest first.
    pub journal: HashMap<String, Vec<Binding>>,
    /// The latest epoch the journal holds (or the checkpoint's epoch).
    pub replay_until: Time,
    /// Journal files of earlier runs: deleted once a checkpoint at or after `replay_until`
    /// completes.
    pub old_journal_files: Vec<PathBuf>,
}

impl Recovery {
    /// The epoch of the restored checkpoint (0 when there is none).
    pub fn epoch(&self) -> Time {
        self.manifest.as_ref().map_or(0, |m| m.epoch)
    }

    /// The restored `(partition, next offset)` of source `table`, if any.
    pub fn source_offsets(&self, table: &str) -> Vec<(i32, i64)> {
        self.manifest
            .as_ref()
            .and_then(|m| m.sources.get(&table.to_ascii_lowercase()))
            .cloned()
            .unwrap_or_default()
    }

    /// The restored position of sink `sink`, if any.
    pub fn sink_state(&self, sink: &str) -> Option<&SinkState> {
        self.manifest.as_ref().and_then(|m| m.sinks.get(sink))
    }
}

impl Checkpointing {
    /// Open the directory and load what is there, checking that it belongs to `program`.
    pub fn prepare(settings: CheckpointSettings, program: &Program) -> Result<Self> {
        let store = Store::open(&settings.dir)?;
        let lock = store.lock(settings.process)?;
        // A final checkpoint a crashed run did not finish.
        let stale = store.epoch_dir(0).with_file_name(operators::PENDING_FINAL);
        if stale.exists() {
            std::fs::remove_dir_all(&stale).map_err(|e| Error::io(&stale, e))?;
        }
        let plan = serde_json::to_string(program)
            .map_err(|e| Error::Internal(format!("cannot encode the plan: {e}")))?;
        let manifest = store.latest()?;
        if let Some(m) = &manifest {
            if m.plan != plan {
                return Err(Error::checkpoint(
                    store.epoch_dir(m.epoch).join("manifest.bin"),
                    "was written by a different dataflow (its tables, queries or options differ from this file's)",
                ));
            }
        }
        let after = manifest.as_ref().map_or(0, |m| m.epoch);
        let mut journal = HashMap::new();
        let mut old_journal_files = Vec::new();
        let mut replay_until = after;
        for source in program.sources.iter().filter(|s| s.file.is_none()) {
            let (bindings, files) = journal::load(&store.journal_dir(&source.name), after)?;
            if let Some(last) = bindings.last() {
                replay_until = replay_until.max(last.epoch);
            }
            old_journal_files.extend(files);
            journal.insert(source.name.to_ascii_lowercase(), bindings);
        }
        let recovery = (manifest.is_some() || replay_until > after).then_some(Recovery {
            manifest,
            journal,
            replay_until,
            old_journal_files,
        });
        if let Some(r) = &recovery {
            tracing::info!(
                checkpoint = %crate::timestamp::epoch_text(r.epoch()),
                replay_until = %crate::timestamp::epoch_text(r.replay_until),
                "recovering from {}",
                store.root().display()
            );
        }
        Ok(Checkpointing {
            store,
            settings,
            plan,
            run_id: crate::timestamp::now_ms(),
            recovery,
            _lock: lock,
        })
    }

    /// The epoch of the restored checkpoint (0 when nothing is restored).
    pub fn restored_epoch(&self) -> Time {
        self.recovery.as_ref().map_or(0, Recovery::epoch)
    }
}
