//! The benchmark harness behind `ddflow bench`: workloads W1–W4 against a real broker, each
//! figure printed next to a raw-consume baseline measured in the same run.
//!
//! The harness starts (or reuses) a broker, pre-loads seeded topics with [`crate::loadgen`],
//! runs `ddflow run` as a child process (this same binary) on a dataflow file, and watches the
//! output topic from the outside, the way a user would: a run is done when the upsert topic's
//! counts add up to the records loaded. Nothing here is used by `ddflow run`.
//!
//! | workload | what it measures |
//! |---|---|
//! | W1 catch-up | `word_count.sql` over 2M Zipf words: wall time from process start until the output topic reflects every record, records/s, peak RSS, output messages |
//! | W2 latency | a fixed produce rate for a while; delay from producing a record to its count being visible in the output topic |
//! | W3 state | 1M distinct keys: RSS per key, checkpoint size per key, restore time |
//! | W4 scaling | a CPU-heavy aggregate query over JSON, `-w 1` vs `-w 2` |
//! | W5 Nexmark | every query of `dataflows/nexmark/` over 1M pre-loaded events, bounded, `-w 1` and `-w 2`: events/s, ratio to the baseline, peak RSS, output changes; with `--w5-flink`, Flink 2.0 on the same topic |
//! | W6 soak | a tumbling-window count over a live stream of compressed event time: RSS against event time, which must level off |

pub mod baseline;
pub mod broker;
pub mod child;
pub mod nexmark;
pub mod report;
pub mod watch;
pub mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::error::Result;

/// What a `ddflow bench` run does.
#[derive(Debug, Clone)]
pub struct BenchSettings {
    /// A broker to reuse; `None` starts a Tansu broker for the run.
    pub bootstrap: Option<String>,
    /// Workloads to run (`w1`..`w4`).
    pub workloads: Vec<String>,
    /// W1 records.
    pub w1_records: u64,
    /// Worker counts W1 runs with.
    pub w1_workers: Vec<usize>,
    /// W2 produce rates (records/s).
    pub w2_rates: Vec<u64>,
    /// How long W2 produces at each rate.
    pub w2_duration: Duration,
    /// W3 distinct keys.
    pub w3_keys: u64,
    /// W4 records.
    pub w4_records: u64,
    /// W5: Nexmark events loaded.
    pub w5_events: u64,
    /// W5: worker counts.
    pub w5_workers: Vec<usize>,
    /// W5: the queries to run (`q0`..`q22`; empty: all).
    pub w5_queries: Vec<String>,
    /// W5: times each baseline and ddflow run is measured (the median is reported).
    pub w5_repeat: u32,
    /// W5: a Flink 2.0 installation (the directory `benches/flink/setup.sh` makes) to run
    /// the same queries as a peer; `None`: no peer.
    pub w5_flink: Option<PathBuf>,
    /// W5: the peer's driver script (`benches/flink/run_query.py`).
    pub flink_script: PathBuf,
    /// W6: minutes of event time produced.
    pub w6_event_minutes: u64,
    /// W6: records per second of event time.
    pub w6_event_rate: u64,
    /// W6: records produced per second of wall time.
    pub w6_rate: u64,
    /// W6: distinct users.
    pub w6_keys: u64,
    /// Seed of every generated workload.
    pub seed: u64,
    /// Working directory for dataflow files, logs and checkpoints.
    pub work_dir: PathBuf,
    /// Extra flags passed to every `ddflow run` (e.g. `--epoch 5ms`).
    pub run_flags: Vec<String>,
}

/// One measured row of the result table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measurement {
    /// Workload, e.g. `W1 catch-up`.
    pub workload: String,
    /// The configuration measured, e.g. `-w 2`.
    pub config: String,
    /// Records processed.
    pub records: u64,
    /// Wall time in seconds (process start until the output reflects every record).
    pub wall_s: Option<f64>,
    /// Records per second over `wall_s`.
    pub records_per_s: Option<f64>,
    /// The raw-consume baseline's records per second on the same topic, same run.
    pub baseline_records_per_s: Option<f64>,
    /// `records_per_s / baseline_records_per_s`.
    pub ratio_to_baseline: Option<f64>,
    /// Peak resident memory of the ddflow process, MB.
    pub peak_rss_mb: Option<f64>,
    /// Messages in the output topic when the run was done.
    pub output_messages: Option<u64>,
    /// Latency percentiles (W2).
    pub latency: Option<Latency>,
    /// The broker's own produce→consume latency at the same rate, same run (W2).
    pub floor: Option<Latency>,
    /// Workload-specific figures, e.g. bytes of RSS per key.
    pub extra: Vec<(String, String)>,
    /// The target from the issue, and whether this row meets it.
    pub target: Option<Target>,
    /// `(minutes of event time, RSS MB)` samples (W6).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rss_curve: Vec<(f64, f64)>,
}

/// End-to-end latency percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Records whose latency was measured.
    pub samples: u64,
}

impl Latency {
    /// Percentiles of `samples` (milliseconds); `None` when empty.
    pub fn of(mut samples: Vec<f64>) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Some(Latency {
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            p999_ms: at(0.999),
            max_ms: samples[samples.len() - 1],
            samples: samples.len() as u64,
        })
    }
}

/// A target and whether it is met.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The target, e.g. `>= 0.85x baseline`.
    pub goal: String,
    /// Whether the measurement meets it.
    pub met: bool,
}

/// Run the selected workloads and return their rows.
pub fn run(settings: &BenchSettings) -> Result<Vec<Measurement>> {
    std::fs::create_dir_all(&settings.work_dir)
        .map_err(|e| crate::Error::io(&settings.work_dir, e))?;
    let broker = broker::Broker::start_or_reuse(settings.bootstrap.as_deref(), &settings.work_dir)?;
    eprintln!("bench: broker at {}", broker.bootstrap);
    let mut rows = Vec::new();
    let ctx = workloads::Context::new(settings, &broker.bootstrap);
    for w in &settings.workloads {
        let measured = match w.as_str() {
            "w1" => ctx.w1(),
            "w2" => ctx.w2(),
            "w3" => ctx.w3(),
            "w4" => ctx.w4(),
            "w5" => ctx.w5(),
            "w6" => ctx.w6(),
            other => Err(crate::Error::Config(format!(
                "unknown workload \"{other}\" (choose from w1, w2, w3, w4, w5, w6)"
            ))),
        }?;
        for m in &measured {
            eprintln!("bench: {}", report::one_line(m));
        }
        rows.extend(measured);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let l = Latency::of((1..=1000).map(f64::from).collect()).unwrap();
        assert_eq!(
            (l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms, l.samples),
            (500.0, 990.0, 999.0, 1000.0, 1000)
        );
        assert!(Latency::of(Vec::new()).is_none());
    }
}
