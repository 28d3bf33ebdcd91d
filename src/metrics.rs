//! Run-wide counters, shared by every worker thread of a process, and their periodic report.
//!
//! Counters only observe; nothing reads them to decide behaviour. Tests read them from the
//! [`RunReport`](crate::runtime::RunReport) to check exact numbers (e.g. skipped records).
//! [`exported`] holds the same run in Prometheus' data model, labelled by table partition,
//! sink and arrangement, which [`server`] serves at `/metrics` (`--metrics-addr`);
//! [`arrangements`] sizes the state. [`status`] shows a person the run (a status line on a
//! terminal, plain lines elsewhere); [`query_progress`] writes it for tools (`--progress-json`).

pub mod arrangements;
pub mod exported;
pub mod query_progress;
pub mod server;
pub mod status;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters of one run (one process).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records read from sources and stamped with an epoch.
    pub records_read: AtomicU64,
    /// Records that did not decode and were skipped (`'format.bad-records' = 'skip'`).
    pub records_skipped: AtomicU64,
    /// Records that did not decode and were sent to a dead-letter topic.
    pub records_dead_lettered: AtomicU64,
    /// Records without a value (tombstones), skipped.
    pub tombstones_skipped: AtomicU64,
    /// Records the consumer handed over again at an offset already read (the client re-fetched
    /// from an earlier position), dropped: each offset is read once.
    pub records_redelivered: AtomicU64,
    /// Rows dropped because an expression raised an error on them (division by zero, a
    /// `CAST` that does not convert, overflow) under a skipping bad-record policy.
    pub eval_errors_skipped: AtomicU64,
    /// Changes (rows with a multiplicity) handed to sinks.
    pub changes_written: AtomicU64,
    /// Messages produced to Kafka sinks.
    pub messages_produced: AtomicU64,
    /// Offset commits sent to the brokers.
    pub commits: AtomicU64,
    /// The latest epoch whose output is durable and whose offsets were committed (`-1`: none).
    pub committed_epoch: AtomicI64,
    /// State entries read back from a checkpoint.
    pub state_entries_restored: AtomicU64,
    /// Milliseconds from the start of the process until restored state was loaded and every
    /// operator had caught up to the checkpoint (0: nothing restored).
    pub restore_millis: AtomicU64,
    /// Checkpoints completed (worker 0 of process 0 counts them).
    pub checkpoints: AtomicU64,
    /// Rows dropped because they came behind the watermark (`'late-records'`): by a window,
    /// session, top-N, or a join side; a row two operators drop counts twice.
    pub late_records_dropped: AtomicU64,
    /// State entries let go because the watermark passed them (window groups, session
    /// partitions, top-N partitions, interval-join rows).
    pub state_released: AtomicU64,
    /// The labelled Prometheus families.
    pub exported: exported::Exported,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Self {
        Metrics {
            committed_epoch: AtomicI64::new(-1),
            ..Default::default()
        }
    }

    /// Add `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A snapshot of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            records_read: self.records_read.load(Ordering::Relaxed),
            records_skipped: self.records_skipped.load(Ordering::Relaxed),
            records_dead_lettered: self.records_dead_lettered.load(Ordering::Relaxed),
            tombstones_skipped: self.tombstones_skipped.load(Ordering::Relaxed),
            records_redelivered: self.records_redelivered.load(Ordering::Relaxed),
            eval_errors_skipped: self.eval_errors_skipped.load(Ordering::Relaxed),
            changes_written: self.changes_written.load(Ordering::Relaxed),
            messages_produced: self.messages_produced.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            committed_epoch: self.committed_epoch.load(Ordering::Relaxed),
            state_entries_restored: self.state_entries_restored.load(Ordering::Relaxed),
            restore_millis: self.restore_millis.load(Ordering::Relaxed),
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
            late_records_dropped: self.late_records_dropped.load(Ordering::Relaxed),
            state_released: self.state_released.load(Ordering::Relaxed),
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct MetricsSnapshot {
    /// See [`Metrics::records_read`].
    pub records_read: u64,
    /// See [`Metrics::records_skipped`].
    pub records_skipped: u64,
    /// See [`Metrics::records_dead_lettered`].
    pub records_dead_lettered: u64,
    /// See [`Metrics::tombstones_skipped`].
    pub tombstones_skipped: u64,
    /// See [`Metrics::records_redelivered`].
    pub records_redelivered: u64,
    /// See [`Metrics::eval_errors_skipped`].
    pub eval_errors_skipped: u64,
    /// See [`Metrics::changes_written`].
    pub changes_written: u64,
    /// See [`Metrics::messages_produced`].
    pub messages_produced: u64,
    /// See [`Metrics::commits`].
    pub commits: u64,
    /// See [`Metrics::committed_epoch`].
    pub committed_epoch: i64,
    /// See [`Metrics::state_entries_restored`].
    pub state_entries_restored: u64,
    /// See [`Metrics::restore_millis`].
    pub restore_millis: u64,
    /// See [`Metrics::checkpoints`].
    pub checkpoints: u64,
    /// See [`Metrics::late_records_dropped`].
    pub late_records_dropped: u64,
    /// See [`Metrics::state_released`].
    pub state_released: u64,
}

/// The run's counters as threads beside the workers hold them (the run's control block).
pub type Shared = std::sync::Arc<dyn AsRef<Metrics> + Send + Sync>;
