//! Resuming: the positions and resume points that sources, sinks and checkpoints share.
//!
//! A checkpoint records where each source and sink was at its epoch; on restart, sources and
//! sinks resume from what it recorded. These types are that exchange, kept below all three so
//! none of them imports another for it. The contract they serve is written in
//! [`crate::checkpoint`].

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use timely::dataflow::Stream;

use crate::timestamp::{Binding, Time};

/// A stream whose frontier says which epochs are durable. It carries data only when a process
/// fails: a [`Failure`] at the oldest epoch that process's sinks have not made durable, which
/// reaches every worker of the cluster before its frontier passes that epoch.
pub type DurableStream<'s> = Stream<'s, Time, Vec<Failure>>;

/// A fatal error, as one process of a cluster tells the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The failed process's index.
    pub process: usize,
    /// Its error, as it prints it.
    pub message: String,
    /// Its exit code.
    pub exit_code: i32,
}

/// What a source resumes from after a restart (see [`crate::checkpoint`]).
#[derive(Debug, Clone, Default)]
pub struct SourceRecovery {
    /// The restored checkpoint's epoch (0: none).
    pub epoch: Time,
    /// `(partition, next offset)` at that epoch.
    pub offsets: Vec<(i32, i64)>,
    /// Journal bindings after it (all workers), oldest first: epochs to re-form.
    pub journal: Vec<Binding>,
    /// The latest epoch in any journal; live epochs start after it.
    pub replay_until: Time,
}

/// Where a sink resumes after a restart (see [`crate::checkpoint`]).
#[derive(Debug, Clone, Default)]
pub struct SinkResume {
    /// Output of epochs `<= written_through` is already written (the restored checkpoint's
    /// epoch; `None` when no checkpoint is restored): it is not written again.
    pub written_through: Option<Time>,
    /// Epochs after `written_through` up to `replay_until` are re-formed and may be partly
    /// written.
    pub replay_until: Time,
    /// The sink's position at the restored checkpoint.
    pub state: Option<SinkState>,
}

/// How far a sink's output reached at a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SinkState {
    /// A Kafka sink: per output partition, the offset after its last message of epochs
    /// `<= epoch` (partitions never written are absent).
    Kafka {
        /// `(partition, next offset)`.
        offsets: Vec<(i32, i64)>,
        /// How many partitions the topic had (rows go to partitions by key, so a resume
        /// must see the same number; 0: not recorded, by an older build).
        #[serde(default)]
        partitions: i32,
    },
    /// A file sink: its length after the output of epochs `<= epoch`.
    File {
        /// Bytes.
        bytes: u64,
    },
    /// A partitioned file sink: each file's length (by its path under the sink's directory)
    /// after the output of epochs `<= epoch`; files not listed were not yet written.
    Files {
        /// `(relative path, bytes)`.
        lengths: Vec<(String, u64)>,
    },
    /// A sink that keeps nothing to resume from (console).
    Stateless,
}

/// How far a sink's durable output reached, for checkpoints.
pub trait SinkProgress {
    /// The position after all output of epochs `<= epoch` (`None`: after all output so far).
    fn position(&self, epoch: Option<Time>) -> SinkState;
}

/// A sink's position after each durable epoch, for [`SinkProgress`]: the position last
/// reported, then `(epoch, position)` of the epochs since.
#[derive(Debug, Default)]
pub struct PositionLog<T> {
    reported: Option<T>,
    since: VecDeque<(Time, T)>,
}

impl<T: Copy + Ord> PositionLog<T> {
    /// A log whose position before any new epoch is `at`.
    pub fn starting_at(at: Option<T>) -> Self {
        PositionLog {
            reported: at,
            since: VecDeque::new(),
        }
    }

    /// The output of `epoch` reaches `position` (an epoch recorded again keeps the furthest).
    pub fn record(&mut self, epoch: Time, position: T) {
        match self.since.back_mut() {
            Some((e, p)) if *e == epoch => *p = (*p).max(position),
            _ => self.since.push_back((epoch, position)),
        }
    }

    /// The position after the output of epochs `<= epoch` (`None`: of all recorded epochs);
    /// entries it covers are forgotten.
    pub fn at(&mut self, epoch: Option<Time>) -> Option<T> {
        while let Some(&(e, p)) = self.since.front() {
            if epoch.is_some_and(|c| e > c) {
                break;
            }
            self.reported = Some(p);
            self.since.pop_front();
        }
        self.reported
    }
}

/// A watermark's values by the time they took effect, as a worker computed them: rendering
/// records them, a checkpoint reads the value at its epoch.
pub type WatermarkHistory = std::rc::Rc<std::cell::RefCell<crate::timestamp::Tracker>>;
