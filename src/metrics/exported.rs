//! The run's metrics in Prometheus' data model, through `prometheus-client`: labelled families
//! that sources, sinks, the committer and the checkpointer update through handles they take
//! once (per table partition, per sink), and gauges computed when scraped (output age, memory).
//!
//! Names follow Prometheus' rules: a `ddflow_` prefix, base units (`_seconds`, `_bytes`),
//! counters ending in `_total`. Everything here is per process: each process of a cluster
//! serves its own, and the labels say which partitions and sinks it holds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::timestamp::Time;

/// A table's partition.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    /// The table's name (lowercase).
    pub table: String,
    /// The Kafka topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
}

/// A source table.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    /// The table's name (lowercase).
    pub table: String,
}

/// A sink table.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabels {
    /// The sink table's name.
    pub sink: String,
}

/// An arrangement (differential's indexed state).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ArrangementLabels {
    /// What it serves (`Aggregate`, `Join`, `TopN`, ...).
    pub arrangement: String,
    /// The operator's identifier in the dataflow (the same on every worker and process).
    pub operator: u64,
}

/// A float gauge.
type FloatGauge = Gauge<f64, AtomicU64>;

/// The Prometheus side of a run's metrics (see the module docs).
#[derive(Debug)]
pub struct Exported {
    registry: Registry,
    records_read: Family<PartitionLabels, Counter>,
    records_skipped: Family<PartitionLabels, Counter>,
    records_dead_lettered: Family<PartitionLabels, Counter>,
    tombstones_skipped: Family<PartitionLabels, Counter>,
    records_redelivered: Family<PartitionLabels, Counter>,
    consumer_lag: Family<PartitionLabels, Gauge>,
    consumer_position: Family<PartitionLabels, Gauge>,
    broker_reachable: Family<TableLabels, Gauge>,
    sink_changes: Family<SinkLabels, Counter>,
    sink_messages: Family<SinkLabels, Counter>,
    /// Offset commits that succeeded.
    pub commits: Counter,
    /// How long each offset commit took (a synchronous one waits for the broker's answer).
    pub commit_duration: Histogram,
    /// When the last offset commit succeeded (Unix seconds).
    pub last_commit: FloatGauge,
    /// Completed checkpoints.
    pub checkpoints: Counter,
    /// From a checkpoint's epoch to its manifest written.
    pub checkpoint_duration: Histogram,
    /// When the last checkpoint completed (Unix seconds).
    pub last_checkpoint: FloatGauge,
    state_updates: Family<ArrangementLabels, Gauge>,
    state_bytes: Family<ArrangementLabels, Gauge>,
    output_frontier: FloatGauge,
    output_age: FloatGauge,
    /// The durable output frontier in epoch milliseconds (0: none yet).
    frontier_ms: AtomicU64,
    /// Whether every epoch's output is durable (the input ended or the run stopped).
    complete: std::sync::atomic::AtomicBool,
    restore_duration: FloatGauge,
    state_entries_restored: Counter,
    late_records_dropped: Counter,
    state_released: Counter,
    eval_errors_skipped: Counter,
    resident_memory: Gauge,
    /// Offset commits' and checkpoints' summed microseconds and counts (the histograms do not
    /// give theirs back), for the progress reports.
    timings: [(AtomicU64, AtomicU64); 2],
    /// Every partition's handles, for the status line and the progress reports.
    partitions: Mutex<Vec<(PartitionLabels, PartitionMetrics)>>,
    /// Every sink's handles, likewise.
    sinks: Mutex<Vec<(String, SinkMetrics)>>,
    /// Every arrangement's gauges, likewise.
    arrangements: Mutex<Vec<(ArrangementLabels, (Gauge, Gauge))>>,
}

/// The handles one source worker updates for one of its partitions.
#[derive(Debug, Clone)]
pub struct PartitionMetrics {
    /// Records read (decoded, skipped, dead-lettered or tombstones).
    pub read: Counter,
    /// Records skipped as undecodable.
    pub skipped: Counter,
    /// Records sent to the dead-letter topic.
    pub dead_lettered: Counter,
    /// Tombstones skipped.
    pub tombstones: Counter,
    /// Records handed over again at an offset already read, dropped.
    pub redelivered: Counter,
    /// High watermark minus position.
    pub lag: Gauge,
    /// The next offset to read.
    pub position: Gauge,
    /// Records read by the end of each closed epoch, oldest first (see [`Self::closed`]).
    closed: Arc<Mutex<VecDeque<(Time, u64)>>>,
}

impl PartitionMetrics {
    /// The most closed epochs remembered for [`Self::processed_before`]; a reader takes them
    /// every second, so this bounds the memory of a run nobody watches.
    const CLOSED_KEPT: usize = 4096;

    /// `epoch` closed with `read` records read from the partition so far.
    pub fn closed(&self, epoch: Time) {
        if let Ok(mut c) = self.closed.lock() {
            if c.len() == Self::CLOSED_KEPT {
                c.pop_front();
            }
            c.push_back((epoch, self.read.get()));
        }
    }

    /// Records of the partition in epochs before `frontier` (those whose output is complete,
    /// when `frontier` is the output frontier); forgets older epochs.
    pub fn processed_before(&self, frontier: Time) -> Option<u64> {
        let mut c = self.closed.lock().ok()?;
        let mut last = None;
        while let Some(&(epoch, read)) = c.front() {
            if epoch >= frontier {
                break;
            }
            last = Some(read);
            if c.len() > 1 {
                c.pop_front();
            } else {
                break;
            }
        }
        last
    }
}

/// The handles a sink updates.
#[derive(Debug, Clone)]
pub struct SinkMetrics {
    /// Changes (rows with a multiplicity) written.
    pub changes: Counter,
    /// Messages produced (Kafka sinks).
    pub messages: Counter,
}

impl Default for Exported {
    fn default() -> Self {
        Self::new()
    }
}

impl Exported {
    /// Every family registered, none with a label set yet.
    pub fn new() -> Self {
        let durations = || Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let mut e = Exported {
            registry: Registry::with_prefix("ddflow"),
            records_read: Family::default(),
            records_skipped: Family::default(),
            records_dead_lettered: Family::default(),
            tombstones_skipped: Family::default(),
            records_redelivered: Family::default(),
            consumer_lag: Family::default(),
            consumer_position: Family::default(),
            broker_reachable: Family::default(),
            sink_changes: Family::default(),
            sink_messages: Family::default(),
            commits: Counter::default(),
            commit_duration: durations(),
            last_commit: FloatGauge::default(),
            checkpoints: Counter::default(),
            checkpoint_duration: durations(),
            last_checkpoint: FloatGauge::default(),
            state_updates: Family::default(),
            state_bytes: Family::default(),
            output_frontier: FloatGauge::default(),
            output_age: FloatGauge::default(),
            frontier_ms: AtomicU64::new(0),
            complete: Default::default(),
            restore_duration: FloatGauge::default(),
            state_entries_restored: Counter::default(),
            late_records_dropped: Counter::default(),
            state_released: Counter::default(),
            eval_errors_skipped: Counter::default(),
            resident_memory: Gauge::default(),
            timings: Default::default(),
            partitions: Mutex::default(),
            sinks: Mutex::default(),
            arrangements: Mutex::default(),
        };
        let r = &mut e.registry;
        r.register(
            "build",
            "The ddflow version this process runs",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        r.register(
            "records_read",
            "Records read from a source partition (every record, whatever became of it)",
            e.records_read.clone(),
        );
        r.register(
            "records_skipped",
            "Records that did not decode and were skipped ('format.bad-records' = 'skip')",
            e.records_skipped.clone(),
        );
        r.register(
            "records_dead_lettered",
            "Records that did not decode and were sent to the dead-letter topic",
            e.records_dead_lettered.clone(),
        );
        r.register(
            "tombstones_skipped",
            "Records without a value (tombstones), skipped",
            e.tombstones_skipped.clone(),
        );
        r.register(
            "records_redelivered",
            "Records the consumer handed over again at an offset already read, dropped",
            e.records_redelivered.clone(),
        );
        r.register(
            "consumer_lag_records",
            "Records in the partition not read yet: the high watermark of the latest fetch response minus the next offset to read",
            e.consumer_lag.clone(),
        );
        r.register(
            "consumer_position_offset",
            "The next offset to read in the partition",
            e.consumer_position.clone(),
        );
        r.register(
            "broker_reachable",
            "1 while a broker of the table's cluster is connected, 0 during an outage",
            e.broker_reachable.clone(),
        );
        r.register(
            "sink_changes_written",
            "Changes (rows with a multiplicity) written to a sink",
            e.sink_changes.clone(),
        );
        r.register(
            "sink_messages_produced",
            "Messages produced to a Kafka sink",
            e.sink_messages.clone(),
        );
        r.register(
            "offset_commits",
            "Offset commits the brokers accepted",
            e.commits.clone(),
        );
        r.register_with_unit(
            "offset_commit_duration",
            "How long an offset commit took",
            Unit::Seconds,
            e.commit_duration.clone(),
        );
        r.register_with_unit(
            "last_offset_commit_timestamp",
            "When the last offset commit succeeded (Unix time)",
            Unit::Seconds,
            e.last_commit.clone(),
        );
        r.register(
            "checkpoints",
            "Checkpoints completed",
            e.checkpoints.clone(),
        );
        r.register_with_unit(
            "checkpoint_duration",
            "From a checkpoint's epoch to its manifest written",
            Unit::Seconds,
            e.checkpoint_duration.clone(),
        );
        r.register_with_unit(
            "last_checkpoint_timestamp",
            "When the last checkpoint completed (Unix time)",
            Unit::Seconds,
            e.last_checkpoint.clone(),
        );
        r.register(
            "state_updates",
            "Updates held by an arrangement's batches, summed over this process's workers",
            e.state_updates.clone(),
        );
        r.register_with_unit(
            "state_size",
            "Approximate size of an arrangement: its updates times the fixed size of one (row bytes past the inline 24 are not counted)",
            Unit::Bytes,
            e.state_bytes.clone(),
        );
        r.register_with_unit(
            "output_frontier_timestamp",
            "The output is complete and durable at every sink for every record read before this time (Unix time)",
            Unit::Seconds,
            e.output_frontier.clone(),
        );
        r.register_with_unit(
            "output_age",
            "Output freshness: how long ago the durable output frontier was (0 before the first epoch is durable)",
            Unit::Seconds,
            e.output_age.clone(),
        );
        r.register_with_unit(
            "restore_duration",
            "From the start of the process until restored state had caught up with its checkpoint (0: nothing restored)",
            Unit::Seconds,
            e.restore_duration.clone(),
        );
        r.register(
            "state_entries_restored",
            "State entries read back from a checkpoint",
            e.state_entries_restored.clone(),
        );
        r.register(
            "late_records_dropped",
            "Rows dropped because they came behind the watermark",
            e.late_records_dropped.clone(),
        );
        r.register(
            "state_released",
            "State entries let go because the watermark passed them",
            e.state_released.clone(),
        );
        r.register(
            "eval_errors_skipped",
            "Rows dropped because an expression failed on them, under a skipping bad-record policy",
            e.eval_errors_skipped.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory of this process",
            Unit::Bytes,
            e.resident_memory.clone(),
        );
        e
    }

    /// The handles for one partition of a table (every worker reading it gets the same).
    pub fn partition(&self, table: &str, topic: &str, partition: i32) -> PartitionMetrics {
        let labels = PartitionLabels {
            table: table.to_ascii_lowercase(),
            topic: topic.to_string(),
            partition,
        };
        let mut known = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, m)) = known.iter().find(|(l, _)| *l == labels) {
            return m.clone();
        }
        let m = PartitionMetrics {
            read: self.records_read.get_or_create(&labels).clone(),
            skipped: self.records_skipped.get_or_create(&labels).clone(),
            dead_lettered: self.records_dead_lettered.get_or_create(&labels).clone(),
            tombstones: self.tombstones_skipped.get_or_create(&labels).clone(),
            redelivered: self.records_redelivered.get_or_create(&labels).clone(),
            lag: self.consumer_lag.get_or_create(&labels).clone(),
            position: self.consumer_position.get_or_create(&labels).clone(),
            closed: Arc::default(),
        };
        known.push((labels, m.clone()));
        m
    }

    /// Every partition's labels and handles, in the order they were first asked for.
    pub fn partitions(&self) -> Vec<(PartitionLabels, PartitionMetrics)> {
        self.partitions
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Every sink's name and handles.
    pub fn sinks(&self) -> Vec<(String, SinkMetrics)> {
        self.sinks.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Every arrangement's labels, updates and approximate bytes.
    pub fn arrangements(&self) -> Vec<(ArrangementLabels, i64, i64)> {
        (self.arrangements.lock())
            .map(|a| {
                a.iter()
                    .map(|(l, (u, b))| (l.clone(), u.get(), b.get()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The durable output frontier (epoch milliseconds; 0 before the first durable epoch).
    pub fn frontier_ms(&self) -> u64 {
        self.frontier_ms.load(Ordering::Relaxed)
    }

    /// When the last checkpoint completed (Unix seconds; 0: none yet).
    pub fn last_checkpoint_seconds(&self) -> f64 {
        self.last_checkpoint.get()
    }

    /// The broker-reachability gauge of a table.
    pub fn broker_reachable(&self, table: &str) -> Gauge {
        let labels = TableLabels {
            table: table.to_ascii_lowercase(),
        };
        self.broker_reachable.get_or_create(&labels).clone()
    }

    /// The handles of a sink.
    pub fn sink(&self, sink: &str) -> SinkMetrics {
        let labels = SinkLabels {
            sink: sink.to_string(),
        };
        let m = SinkMetrics {
            changes: self.sink_changes.get_or_create(&labels).clone(),
            messages: self.sink_messages.get_or_create(&labels).clone(),
        };
        let mut known = self.sinks.lock().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|(n, _)| *n == labels.sink) {
            known.push((labels.sink, m.clone()));
        }
        m
    }

    /// The update-count and size gauges of an arrangement.
    pub fn arrangement(&self, arrangement: &str, operator: usize) -> (Gauge, Gauge) {
        let labels = ArrangementLabels {
            arrangement: arrangement.to_string(),
            operator: operator as u64,
        };
        let gauges = (
            self.state_updates.get_or_create(&labels).clone(),
            self.state_bytes.get_or_create(&labels).clone(),
        );
        let mut known = self.arrangements.lock().unwrap_or_else(|e| e.into_inner());
        if !known.iter().any(|(l, _)| *l == labels) {
            known.push((labels, gauges.clone()));
        }
        gauges
    }

    /// The output is complete and durable for every epoch before `epoch` (milliseconds).
    pub fn output_frontier(&self, epoch: Time) {
        self.frontier_ms.fetch_max(epoch, Ordering::Relaxed);
    }

    /// The output of every epoch is durable: the run's input ended or it was stopped.
    pub fn output_complete(&self) {
        self.complete.store(true, Ordering::Relaxed);
    }

    /// Whether [`Self::output_complete`] was called.
    pub fn is_output_complete(&self) -> bool {
        self.complete.load(Ordering::Relaxed)
    }

    /// An offset commit that succeeded after `seconds`.
    pub fn committed(&self, seconds: f64) {
        self.commits.inc();
        self.commit_duration.observe(seconds);
        self.time(0, seconds);
        self.last_commit.set(now_seconds());
    }

    /// A checkpoint of `epoch` that completed now.
    pub fn checkpointed(&self, epoch: Time) {
        let now = now_seconds();
        let seconds = (now - epoch as f64 / 1000.0).max(0.0);
        self.checkpoints.inc();
        self.checkpoint_duration.observe(seconds);
        self.time(1, seconds);
        self.last_checkpoint.set(now);
    }

    fn time(&self, which: usize, seconds: f64) {
        let (sum, count) = &self.timings[which];
        sum.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        count.fetch_add(1, Ordering::Relaxed);
    }

    /// Offset commits' (0) or checkpoints' (1) summed seconds and count so far.
    pub fn timings(&self, which: usize) -> (f64, u64) {
        let (sum, count) = &self.timings[which];
        (
            sum.load(Ordering::Relaxed) as f64 / 1e6,
            count.load(Ordering::Relaxed),
        )
    }

    /// The metrics in the OpenMetrics text format, with the gauges that are computed when
    /// read brought up to date from `counters` first.
    pub fn encode(&self, counters: &super::Metrics) -> String {
        let frontier = self.frontier_ms.load(Ordering::Relaxed);
        if frontier > 0 {
            let age = (crate::timestamp::now_ms().saturating_sub(frontier)) as f64 / 1000.0;
            self.output_frontier.set(frontier as f64 / 1000.0);
            self.output_age.set(age);
        }
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        self.restore_duration
            .set(load(&counters.restore_millis) as f64 / 1000.0);
        catch_up(
            &self.state_entries_restored,
            load(&counters.state_entries_restored),
        );
        catch_up(
            &self.late_records_dropped,
            load(&counters.late_records_dropped),
        );
        catch_up(&self.state_released, load(&counters.state_released));
        catch_up(
            &self.eval_errors_skipped,
            load(&counters.eval_errors_skipped),
        );
        if let Some(rss) = resident_memory_bytes() {
            self.resident_memory.set(rss as i64);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Bring a counter mirrored from a run-wide atomic up to its value.
fn catch_up(counter: &Counter, value: u64) {
    let have = counter.get();
    if value > have {
        counter.inc_by(value - have);
    }
}

/// The wall clock in Unix seconds.
fn now_seconds() -> f64 {
    crate::timestamp::now_ms() as f64 / 1000.0
}

/// This process's resident memory, from `/proc/self/statm` (Linux; `None` elsewhere).
fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_encode_with_their_labels_and_units() {
        let e = Exported::new();
        let p = e.partition("Words", "my_topic", 3);
        p.read.inc_by(5);
        p.lag.set(7);
        e.sink("out").changes.inc_by(2);
        e.committed(0.004);
        e.output_frontier(1_700_000_000_500);
        let text = e.encode(&super::super::Metrics::new());
        assert!(
            text.contains(
                "ddflow_records_read_total{table=\"words\",topic=\"my_topic\",partition=\"3\"} 5"
            ),
            "{text}"
        );
        assert!(text.contains(
            "ddflow_consumer_lag_records{table=\"words\",topic=\"my_topic\",partition=\"3\"} 7"
        ));
        assert!(text.contains("ddflow_sink_changes_written_total{sink=\"out\"} 2"));
        assert!(text.contains("ddflow_offset_commits_total 1"));
        assert!(text.contains("ddflow_offset_commit_duration_seconds_bucket{le=\"0.004\"} 1"));
        assert!(text.contains("ddflow_output_frontier_timestamp_seconds 1700000000.5"));
        assert!(text.ends_with("# EOF\n"));
    }
}
