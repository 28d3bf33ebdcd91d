//! Run settings: built-in defaults, then command-line flags, validated once and passed by
//! value. Nothing reads the environment or files after startup.

use std::time::Duration;

use crate::error::{Error, Result};

/// How a run is set up.
#[derive(Clone)]
pub struct RunConfig {
    /// Workers and processes, as timely's `-w/-n/-p/-h`.
    pub timely: timely::Config,
    /// How often sources close an epoch while they keep up.
    pub epoch_interval: Duration,
    /// The longest an epoch stays open while a source is behind (catching up).
    pub max_epoch: Duration,
    /// How long to wait for a broker before failing.
    pub broker_timeout: Duration,
    /// Overrides every table's `'properties.bootstrap.servers'`.
    pub bootstrap_override: Option<String>,
    /// Consumer group for offset commits when a source names none.
    pub group_id: String,
    /// Stop (gracefully: drain, flush, commit) after this long.
    pub duration: Option<Duration>,
    /// How progress is shown to a person.
    pub progress: crate::metrics::status::ProgressMode,
    /// Where `--progress-json` writes (`-`: standard output).
    pub progress_json: Option<std::path::PathBuf>,
    /// The dataflow's name (its file's stem), for progress reports.
    pub name: String,
    /// This process's index in its cluster (`-p`).
    pub process: usize,
    /// Partitions of sink topics ddflow creates.
    pub sink_partitions: i32,
    /// Create missing Kafka sink topics before starting.
    pub create_sink_topics: bool,
    /// Checkpointing, when a checkpoint directory is set.
    pub checkpoint: Option<crate::checkpoint::CheckpointSettings>,
    /// How long the broker may be unreachable mid-run before the run fails.
    pub max_outage: Duration,
    /// Whether each reading worker's source polls and decodes on a thread of its own.
    pub fetch_thread: bool,
    /// Where this process serves Prometheus metrics (`--metrics-addr`, with the process index
    /// already added to the port).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

/// Whether sources poll and decode on threads of their own (beside their workers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FetchThreads {
    /// When the machine has a core for each worker and each fetcher (`-w` at most half the
    /// cores); otherwise the workers fetch themselves.
    Auto,
    /// Always a fetcher thread per reading worker and source.
    On,
    /// Workers poll and decode themselves.
    Off,
}

impl FetchThreads {
    /// Whether `workers` worker threads of this process fetch on threads of their own.
    pub fn resolve(self, workers: usize) -> bool {
        match self {
            FetchThreads::On => true,
            FetchThreads::Off => false,
            FetchThreads::Auto => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                2 * workers <= cores
            }
        }
    }
}

impl RunConfig {
    /// Defaults for a run of the dataflow named `name` on one worker thread.
    pub fn new(name: &str) -> Self {
        RunConfig {
            timely: timely::Config::thread(),
            epoch_interval: Duration::from_millis(10),
            max_epoch: Duration::from_millis(500),
            broker_timeout: Duration::from_secs(10),
            bootstrap_override: None,
            group_id: format!("ddflow-{name}"),
            duration: None,
            progress: crate::metrics::status::ProgressMode::Off,
            progress_json: None,
            name: name.to_string(),
            process: 0,
            sink_partitions: 1,
            create_sink_topics: true,
            checkpoint: None,
            max_outage: Duration::from_secs(120),
            metrics_addr: None,
            fetch_thread: FetchThreads::Auto.resolve(1),
        }
    }
}

/// Timely's worker settings from `-w/-n/-p/-h` values, built explicitly.
pub fn timely_config(
    threads: usize,
    processes: usize,
    process: usize,
    hostfile: Option<&str>,
) -> Result<timely::Config> {
    if threads == 0 || processes == 0 {
        return Err(Error::Config("-w and -n must be at least 1".into()));
    }
    if process >= processes {
        return Err(Error::Config(format!(
            "-p {process} is out of range for -n {processes} (0..{processes})"
        )));
    }
    let communication = if processes > 1 {
        let addresses = match hostfile {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                    path: path.to_string(),
                    source,
                })?;
                let lines: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .take(processes)
                    .collect();
                if lines.len() < processes {
                    return Err(Error::Config(format!(
                        "hostfile \"{path}\" lists {} addresses, -n asks for {processes}",
                        lines.len()
                    )));
                }
                lines
            }
            None => (0..processes)
                .map(|i| format!("localhost:{}", 2101 + i))
                .collect(),
        };
        timely::CommunicationConfig::Cluster {
            threads,
            process,
            addresses,
            report: false,
            zerocopy: false,
        }
    } else if threads > 1 {
        timely::CommunicationConfig::Process(threads)
    } else {
        timely::CommunicationConfig::Thread
    };
    Ok(timely::Config {
        communication,
        worker: timely::WorkerConfig::default(),
    })
}

/// Parse a duration like `500ms`, `10s`, `2m`.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = t.split_at(
        t.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len()),
    );
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration \"{text}\" (examples: 500ms, 10s, 2m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration unit in \"{text}\" (use ms, s, m or h)"
            ))
        }
    };
    Ok(Duration::from_secs_f64(secs))
}
