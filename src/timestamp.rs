//! What a time is: an epoch bound to a prefix of every assigned Kafka partition.
//!
//! # Contract
//!
//! Timely and differential see times as plain `u64` epochs ([`Time`]). What gives an epoch its
//! meaning is its *binding*: for each Kafka partition, the next offset to read once all
//! records of epochs `<= t` have been read. Each source worker owns a disjoint set of
//! partitions and records a binding for every epoch it closes ([`BindingLog`]); the binding of
//! epoch `t` for the whole dataflow is the union of the workers' bindings for `t` (the latest
//! binding `<= t` of each worker).
//!
//! 1. A record at offset `o` of partition `p` is stamped with the first epoch `t` whose
//!    binding has `next[p] > o`. So the records of epochs `<= t` are exactly the prefixes
//!    `[start[p], next_t[p])` of every partition.
//! 2. A worker closes epoch `t` (downgrades its capability past `t`) only after recording the
//!    binding of `t`. When the dataflow frontier passes `t`, every worker has closed `t`, so
//!    the output at `t` is exactly the result over those prefixes: never partial or torn.
//! 3. Epochs advance on a wall-clock tick whether or not a partition has data, so an idle or
//!    empty partition (or a worker with no partitions at all, which closes its input at once)
//!    never holds back the others.
//! 4. The committed Kafka offset of a partition after epoch `t` is `next_t[p]`: the next
//!    offset to read, as Kafka defines it (never `next - 1`).
//!
//! Epoch numbers are milliseconds since the Unix epoch at the tick (strictly increasing per
//! worker), so they read as wall-clock times and workers' epochs line up. Bindings are plain
//! data (serde) so a checkpoint can persist them and a restart can re-form the same epochs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A dataflow time: an epoch number (milliseconds since the Unix epoch at the epoch's tick).
pub type Time = u64;

/// A multiplicity change in a differential collection.
pub type Diff = i64;

/// The binding of one epoch on one worker: for each of the worker's partitions that has been
/// read at all, the next offset to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The epoch.
    pub epoch: Time,
    /// `(partition, next offset)` for each partition read so far.
    pub next_offsets: Vec<(i32, i64)>,
}

/// The bindings one source worker has recorded, oldest first.
///
/// Epochs are appended in increasing order. The log is pruned once a binding has been
/// committed (only the latest committed binding is kept as the base for later ones).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BindingLog {
    bindings: Vec<Binding>,
}

impl BindingLog {
    /// Record the binding of a closed epoch. Epochs must increase.
    pub fn record(&mut self, epoch: Time, next_offsets: Vec<(i32, i64)>) {
        debug_assert!(self.bindings.last().is_none_or(|b| b.epoch < epoch));
        self.bindings.push(Binding {
            epoch,
            next_offsets,
        });
    }

    /// The latest binding whose epoch is strictly below `frontier` (`None` frontier: the input
    /// is complete, so the latest binding of all).
    pub fn latest_below(&self, frontier: Option<Time>) -> Option<&Binding> {
        match frontier {
            None => self.bindings.last(),
            Some(f) => self.bindings.iter().rev().find(|b| b.epoch < f),
        }
    }

    /// Forget bindings older than `epoch` (keeps `epoch` itself).
    pub fn prune_before(&mut self, epoch: Time) {
        self.bindings.retain(|b| b.epoch >= epoch);
    }

    /// All retained bindings, oldest first.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }
}

/// The epoch for a tick at wall-clock `now_ms`, strictly after `previous`.
pub fn next_epoch(previous: Time, now_ms: u64) -> Time {
    now_ms.max(previous + 1)
}

/// An epoch as people read it: the time of its tick (RFC 3339), or `start` for epoch 0 (the
/// empty prefix of every partition, before any record).
pub fn epoch_text(epoch: Time) -> String {
    if epoch == 0 {
        "start".into()
    } else {
        format_instant(epoch)
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch as RFC 3339 (`2026-11-25T13:49:56.123Z`), for people
/// reading logs and console output.
pub fn format_instant(ms: u64) -> String {
    match i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
    {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// A value that changes over time and never goes back (a watermark), by the time each
/// change took effect.
#[derive(Debug, Clone)]
pub struct Tracker {
    changes: BTreeMap<Time, i64>,
    initial: i64,
}

impl Tracker {
    /// A tracker whose value before any change is `initial`.
    pub fn new(initial: i64) -> Self {
        Tracker {
            changes: BTreeMap::new(),
            initial,
        }
    }

    /// The watermark became `w` at time `t`.
    pub fn insert(&mut self, t: Time, w: i64) {
        let w = w.max(self.at(t));
        self.changes.insert(t, w);
    }

    /// The watermark after time `t`.
    pub fn at(&self, t: Time) -> i64 {
        self.changes
            .range(..=t)
            .next_back()
            .map_or(self.initial, |(_, w)| *w)
    }

    /// The watermark before time `t`.
    pub fn before(&self, t: Time) -> i64 {
        self.changes
            .range(..t)
            .next_back()
            .map_or(self.initial, |(_, w)| *w)
    }

    /// Forget what no time at or after `t` will ask for.
    pub fn forget_before(&mut self, t: Time) {
        let keep = self.changes.range(..t).next_back().map(|(k, _)| *k);
        if let Some(k) = keep {
            self.initial = self.changes[&k];
            self.changes = self.changes.split_off(&t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_below_respects_strict_frontier() {
        let mut log = BindingLog::default();
        log.record(10, vec![(0, 5)]);
        log.record(20, vec![(0, 9)]);
        assert_eq!(log.latest_below(Some(10)), None);
        assert_eq!(log.latest_below(Some(11)).map(|b| b.epoch), Some(10));
        assert_eq!(log.latest_below(Some(20)).map(|b| b.epoch), Some(10));
        assert_eq!(log.latest_below(None).map(|b| b.epoch), Some(20));
        log.prune_before(20);
        assert_eq!(log.bindings().len(), 1);
    }

    #[test]
    fn epochs_strictly_increase() {
        assert_eq!(next_epoch(100, 50), 101);
        assert_eq!(next_epoch(100, 150), 150);
    }

    #[test]
    fn instants_print_as_rfc3339() {
        assert_eq!(
            super::format_instant(1_764_078_596_123),
            "2025-11-25T13:49:56.123Z"
        );
    }
}
