//! What every worker of a run shares: the stop signal, the first fatal error, the counters.
//!
//! # Contract
//!
//! A fatal error is recorded with [`RunControl::fail`] *before* the failing source releases its
//! capability. Sinks check [`RunControl::failed`] before writing an epoch and the committer
//! before committing, so the epoch that was being read when the error struck (and any later
//! one) is never written or committed: output stays a sequence of whole epochs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::metrics::Metrics;

/// Shared by all workers of one process.
#[derive(Debug)]
pub struct RunControl {
    stop: AtomicBool,
    failed: AtomicBool,
    error: Mutex<Option<Error>>,
    /// The run's counters.
    pub metrics: Metrics,
    /// When the run was set up.
    pub started: std::time::Instant,
    /// This process's index in its cluster (`-p`).
    process: std::sync::atomic::AtomicUsize,
    /// How many quiet spells the run has had: each gives freed memory back, every worker
    /// thread its own allocator's (see `runtime`).
    quiet_spells: std::sync::atomic::AtomicU64,
}

impl RunControl {
    /// A fresh control block.
    pub fn new() -> Arc<Self> {
        Arc::new(RunControl {
            stop: AtomicBool::new(false),
            failed: AtomicBool::new(false),
            error: Mutex::new(None),
            metrics: Metrics::new(),
            started: std::time::Instant::now(),
            process: Default::default(),
            quiet_spells: Default::default(),
        })
    }

    /// The run went quiet (nothing read or written for a while).
    pub fn note_quiet(&self) {
        self.quiet_spells.fetch_add(1, Ordering::Relaxed);
    }

    /// How many quiet spells the run has had.
    pub fn quiet_spells(&self) -> u64 {
        self.quiet_spells.load(Ordering::Relaxed)
    }

    /// Ask sources to finish: they close their last epoch and release their capabilities, so
    /// the dataflow drains, sinks flush and the last offsets are committed.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested (or the run failed).
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.failed()
    }

    /// Record a fatal error (the first one wins) and stop the run.
    pub fn fail(&self, error: Error) {
        // The first error is printed once, by `main`; later ones would be lost, so log them.
        if let Ok(mut slot) = self.error.lock() {
            match slot.as_ref() {
                None => *slot = Some(error),
                Some(_) => tracing::warn!(%error, "also failed"),
            }
        }
        self.failed.store(true, Ordering::SeqCst);
    }

    /// Whether a fatal error was recorded.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Set this process's index in its cluster.
    pub fn set_process(&self, process: usize) {
        self.process.store(process, Ordering::Relaxed);
    }

    /// The recorded error as this process tells the other processes of its cluster (`None`:
    /// no error, or one another process reported: that one tells the others itself).
    pub fn failure(&self) -> Option<crate::resume::Failure> {
        let slot = self.error.lock().ok()?;
        match slot.as_ref()? {
            Error::PeerFailed { .. } => None,
            e => Some(crate::resume::Failure {
                process: self.process.load(Ordering::Relaxed),
                message: e.to_string(),
                exit_code: e.exit_code(),
            }),
        }
    }

    /// Another process's failure: this one fails too, with its exit code.
    pub fn peer_failed(&self, failure: &crate::resume::Failure) {
        if failure.process == self.process.load(Ordering::Relaxed) || self.failed() {
            return;
        }
        tracing::error!(
            process = failure.process,
            error = %failure.message,
            "another process of the cluster failed: stopping"
        );
        self.fail(Error::PeerFailed {
            process: failure.process,
            message: failure.message.clone(),
            exit_code: failure.exit_code,
        });
    }

    /// Take the recorded error, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.error.lock().ok().and_then(|mut e| e.take())
    }
}

impl AsRef<Metrics> for RunControl {
    fn as_ref(&self) -> &Metrics {
        &self.metrics
    }
}
