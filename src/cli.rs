//! The command line: clap definitions, converted into validated settings. Nothing below this
//! module sees clap types.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::config::{parse_duration, timely_config, RunConfig};
use crate::control::RunControl;
use crate::embedded::EmbeddedBroker;
use crate::error::{Error, Result};
use crate::loadgen::{self, KeyDist, LoadSpec, Shape};
use crate::plan::ir::Program;
use crate::spec::SinkConnector;

/// ddflow: declarative SQL dataflows over Kafka, on timely and differential dataflow.
#[derive(Debug, Parser)]
#[command(name = "ddflow", version, about)]
pub struct Cli {
    /// How log lines are written to standard error: `text` for people, `json` (one object per
    /// line: timestamp, level, target, fields) for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "DDFLOW_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The form of log lines (see [`Cli::log_format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Plain lines; colour only on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a dataflow file. Note: here -h is timely's --hostfile; --help prints this help.
    #[command(disable_help_flag = true)]
    Run(RunArgs),
    /// Parse and plan a dataflow file without running it.
    Check {
        /// The dataflow file.
        file: PathBuf,
    },
    /// Print the plan of a dataflow file.
    Explain {
        /// The dataflow file.
        file: PathBuf,
    },
    /// Produce generated records into a topic.
    Gen(GenArgs),
    /// Run the benchmark workloads (W1-W6) against a real broker and print a table.
    Bench(BenchArgs),
}

/// `ddflow bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Broker to reuse (default: start a Tansu broker from $TANSU or the PATH).
    #[arg(long, env = "DDFLOW_BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,
    /// Workloads to run, comma-separated.
    #[arg(long, default_value = "w1,w2,w3,w4,w5,w6", value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// W1: records to load.
    #[arg(long, default_value_t = 2_000_000)]
    pub w1_records: u64,
    /// W1: worker counts to measure, comma-separated.
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    pub w1_workers: Vec<usize>,
    /// W2: produce rates in records/s, comma-separated.
    #[arg(long, default_value = "10000,100000", value_delimiter = ',')]
    pub w2_rates: Vec<u64>,
    /// W2: how long to produce at each rate.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub w2_duration: Duration,
    /// W3: distinct keys.
    #[arg(long, default_value_t = 1_000_000)]
    pub w3_keys: u64,
    /// W4: records to load.
    #[arg(long, default_value_t = 1_000_000)]
    pub w4_records: u64,
    /// W5: Nexmark events to load.
    #[arg(long, default_value_t = 1_000_000)]
    pub w5_events: u64,
    /// W5: worker counts to measure, comma-separated.
    #[arg(long, default_value = "1,2", value_delimiter = ',')]
    pub w5_workers: Vec<usize>,
    /// W5: queries to run, comma-separated (default: q0 to q22).
    #[arg(long, value_delimiter = ',')]
    pub w5_queries: Vec<String>,
    /// W5: measure each query's baseline and ddflow runs this many times, interleaved, and
    /// report the medians (a noisy machine moves single runs 10-20%).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub w5_repeat: u32,
    /// W5: a Flink 2.0 installation (the directory benches/flink/setup.sh makes: venv/ and
    /// jars/) that runs the same queries on the same topic as a peer.
    #[arg(long)]
    pub w5_flink: Option<PathBuf>,
    /// W5: the peer's driver script.
    #[arg(long, default_value = "benches/flink/run_query.py")]
    pub flink_script: PathBuf,
    /// W6: minutes of event time to produce.
    #[arg(long, default_value_t = 20)]
    pub w6_event_minutes: u64,
    /// W6: records per second of event time.
    #[arg(long, default_value_t = 2_000)]
    pub w6_event_rate: u64,
    /// W6: records produced per second of wall time (event time runs this / event rate
    /// times faster than the clock).
    #[arg(long, default_value_t = 20_000)]
    pub w6_rate: u64,
    /// W6: distinct users.
    #[arg(long, default_value_t = 100_000)]
    pub w6_keys: u64,
    /// Seed of the generated workloads.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Working directory (dataflow files, logs, checkpoints).
    #[arg(long, default_value = "target/bench")]
    pub work_dir: PathBuf,
    /// Also write the results as CSV, or JSON when the name ends in .json.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also draw throughput ratios and latency percentiles into this PNG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Extra flags for every `ddflow run`, e.g. --run-flag=--epoch --run-flag=5ms.
    #[arg(long = "run-flag", allow_hyphen_values = true)]
    pub run_flags: Vec<String>,
}

/// Timely's worker flags, with timely's names.
#[derive(Debug, Args, Clone)]
pub struct WorkerArgs {
    /// Worker threads per process.
    #[arg(short = 'w', long = "threads", default_value_t = 1)]
    pub threads: usize,
    /// Number of processes in the cluster.
    #[arg(short = 'n', long = "processes", default_value_t = 1)]
    pub processes: usize,
    /// Index of this process (0-based).
    #[arg(short = 'p', long = "process", default_value_t = 0)]
    pub process: usize,
    /// File listing one `host:port` per process (default: localhost:2101, 2102, ...).
    #[arg(short = 'h', long = "hostfile")]
    pub hostfile: Option<String>,
}

/// `ddflow run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The dataflow file.
    pub file: PathBuf,
    /// Workers and processes.
    #[command(flatten)]
    pub workers: WorkerArgs,
    /// Use this broker list for every table instead of the file's 'properties.bootstrap.servers'.
    #[arg(long, env = "DDFLOW_BOOTSTRAP_SERVERS")]
    pub bootstrap_servers: Option<String>,
    /// Consumer group for offset commits when a source names none (default: ddflow-<file>).
    #[arg(long)]
    pub group_id: Option<String>,
    /// How often sources close an epoch while they keep up with their topics, e.g. 10ms.
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    pub epoch: Duration,
    /// How long an epoch may stay open while a source is behind (catching up): fewer, larger
    /// epochs mean fewer output changes; results are the same.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    pub max_epoch: Duration,
    /// Stop gracefully (drain, flush, commit) after this long, e.g. 30s.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Whether sources poll and decode Kafka records on threads of their own, beside the
    /// workers (`auto`: when the machine has at least two cores per worker).
    #[arg(long, value_enum, default_value = "auto")]
    pub fetch_threads: crate::config::FetchThreads,
    /// Fail when the broker does not answer within this long.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub broker_timeout: Duration,
    /// Partitions of sink topics that ddflow creates.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    pub sink_partitions: i32,
    /// Show progress: `auto` (the default) draws a status line on a terminal and nothing
    /// elsewhere; `--progress` alone (`on`) also logs a plain progress line per second into a
    /// pipe or file; `lines` always logs lines; `off` shows nothing.
    #[arg(long, value_enum, default_value = "auto", num_args = 0..=1, default_missing_value = "on", value_name = "MODE")]
    pub progress: ProgressArg,
    /// Write one JSON object per second per query (each INSERT INTO), shaped like Spark's
    /// StreamingQueryProgress, appended to this file (`-`: standard output).
    #[arg(long, value_name = "PATH")]
    pub progress_json: Option<PathBuf>,
    /// Print the run's counters as JSON on stdout at the end.
    #[arg(long)]
    pub report_json: bool,
    /// Checkpoint directory: enables checkpoints and recovery after a crash (also
    /// `SET 'checkpoint.dir' = '...'` in the dataflow file; the flag wins). A GROUP BY that
    /// resumes from committed group offsets gets one by default, under $DDFLOW_STATE_DIR
    /// (default ~/.local/state/ddflow), one per dataflow file and consumer group.
    #[arg(long, env = "DDFLOW_CHECKPOINT_DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Serve Prometheus metrics at http://HOST:PORT/metrics (also `SET 'metrics.addr'`; the
    /// flag wins). Process i of a cluster serves at PORT + i.
    #[arg(long, env = "DDFLOW_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Time between checkpoints (also `SET 'checkpoint.interval'`), default 10s.
    #[arg(long, value_parser = parse_duration)]
    pub checkpoint_interval: Option<Duration>,
    /// Complete checkpoints to keep (at least 1).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoints_kept: u64,
    /// Fail when the broker stays unreachable this long mid-run.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub max_outage: Duration,
    /// Run against an embedded demo broker filled with generated records (no Kafka needed).
    #[arg(long)]
    pub embedded: bool,
    /// With --embedded: records to generate per source topic.
    #[arg(long, default_value_t = 200_000)]
    pub demo_records: u64,
    /// Print help.
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// `--progress` modes (see [`RunArgs::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// A status line on a terminal, nothing elsewhere.
    Auto,
    /// A status line on a terminal, plain lines elsewhere.
    On,
    /// Plain lines.
    Lines,
    /// Nothing.
    Off,
}

impl ProgressArg {
    /// The mode, for standard error being a terminal or not.
    pub fn resolve(self, terminal: bool) -> crate::metrics::status::ProgressMode {
        use crate::metrics::status::ProgressMode;
        match (self, terminal) {
            (ProgressArg::Off, _) | (ProgressArg::Auto, false) => ProgressMode::Off,
            (ProgressArg::Lines, _) | (ProgressArg::On, false) => ProgressMode::Lines,
            (ProgressArg::Auto | ProgressArg::On, true) => ProgressMode::Status,
        }
    }
}

/// Key distributions for `gen`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DistArg {
    /// Every key equally likely.
    Uniform,
    /// Zipf-distributed (see --zipf-exponent).
    Zipf,
    /// Keys in turn: with --count equal to --keys, every key exactly once.
    Sequential,
}

/// Value shapes for `gen`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShapeArg {
    /// One word per record.
    Word,
    /// A JSON object: user, amount, region, ts.
    Json,
    /// The Nexmark benchmark's events (persons, auctions, bids) as Flink's Nexmark table reads
    /// them; --event-rate sets events per second of event time (default 10,000).
    Nexmark,
}

/// `ddflow gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Target topic (created if missing).
    #[arg(long)]
    pub topic: String,
    /// Broker list.
    #[arg(
        long,
        env = "DDFLOW_BOOTSTRAP_SERVERS",
        default_value = "localhost:9092"
    )]
    pub bootstrap_servers: String,
    /// Records to produce.
    #[arg(long, default_value_t = 1_000_000)]
    pub count: u64,
    /// Records per second (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Partitions (record i goes to partition i % partitions).
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    /// Distinct keys.
    #[arg(long, default_value_t = 10_000)]
    pub keys: u64,
    /// Key distribution.
    #[arg(long, value_enum, default_value_t = DistArg::Zipf)]
    pub dist: DistArg,
    /// Zipf exponent.
    #[arg(long, default_value_t = 1.0)]
    pub zipf_exponent: f64,
    /// Value shape.
    #[arg(long, value_enum, default_value_t = ShapeArg::Word)]
    pub shape: ShapeArg,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also set each record's Kafka key to its word.
    #[arg(long)]
    pub keyed: bool,
    /// With `--shape json`: `ts` is event time at this many records per second from
    /// 2026-01-01 (20 minutes of a 50k rec/s stream is `--event-rate 50000 --count 60000000`),
    /// not the produce time. With `--shape nexmark`: events per second of event time, from
    /// 2015-07-15 (default 10,000).
    #[arg(long, value_name = "RECORDS_PER_SECOND")]
    pub event_rate: Option<u64>,
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Check { file } => {
            let program = crate::plan::plan_file(&file)?;
            println!(
                "{}: ok ({} sources, {} views, {} sinks)",
                file.display(),
                program.sources.len(),
                program.views.len(),
                program.sinks.len()
            );
            Ok(())
        }
        Command::Explain { file } => {
            print!(
                "{}",
                crate::plan::explain::explain(&crate::plan::plan_file(&file)?)
            );
            Ok(())
        }
        Command::Gen(args) => gen(args),
        Command::Bench(args) => bench(args),
        Command::Run(args) => run_file(args),
    }
}

fn bench(args: BenchArgs) -> Result<()> {
    let settings = crate::bench::BenchSettings {
        bootstrap: args.bootstrap_servers,
        workloads: args
            .workloads
            .iter()
            .map(|w| w.trim().to_ascii_lowercase())
            .collect(),
        w1_records: args.w1_records,
        w1_workers: args.w1_workers,
        w2_rates: args.w2_rates,
        w2_duration: args.w2_duration,
        w3_keys: args.w3_keys,
        w4_records: args.w4_records,
        w5_events: args.w5_events,
        w5_workers: args.w5_workers,
        w5_queries: args.w5_queries,
        w5_repeat: args.w5_repeat,
        w5_flink: args.w5_flink,
        flink_script: args.flink_script,
        w6_event_minutes: args.w6_event_minutes,
        w6_event_rate: args.w6_event_rate,
        w6_rate: args.w6_rate,
        w6_keys: args.w6_keys,
        seed: args.seed,
        work_dir: args.work_dir,
        run_flags: args.run_flags,
    };
    let rows = crate::bench::run(&settings)?;
    print!("{}", crate::bench::report::table(&rows));
    if let Some(path) = &args.out {
        crate::bench::report::write(&rows, path)?;
        eprintln!("bench: wrote {}", path.display());
    }
    if let Some(path) = &args.plot {
        crate::bench::report::plot(&rows, path)?;
        eprintln!("bench: wrote {}", path.display());
    }
    Ok(())
}

fn gen(args: GenArgs) -> Result<()> {
    let spec = LoadSpec {
        bootstrap: args.bootstrap_servers,
        topic: args.topic,
        count: args.count,
        rate: args.rate,
        partitions: args.partitions,
        keys: args.keys,
        dist: match args.dist {
            DistArg::Uniform => KeyDist::Uniform,
            DistArg::Zipf => KeyDist::Zipf(args.zipf_exponent),
            DistArg::Sequential => KeyDist::Sequential,
        },
        shape: match args.shape {
            ShapeArg::Word => Shape::Word,
            ShapeArg::Json => Shape::Json,
            ShapeArg::Nexmark => Shape::Nexmark,
        },
        seed: args.seed,
        keyed: args.keyed,
        event_rate: args.event_rate,
        create_topic: true,
    };
    let report = loadgen::generate(&spec, &AtomicBool::new(false))?;
    let rate = report.produced as f64 / report.elapsed.as_secs_f64().max(1e-9);
    println!(
        "produced {} records to \"{}\" in {:.2} s ({rate:.0} records/s)",
        report.produced,
        spec.topic,
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

fn run_file(args: RunArgs) -> Result<()> {
    let program = crate::plan::plan_file(&args.file)?;
    let (config, control) = prepare_run(&args, &program)?;
    let report = if args.embedded {
        run_embedded(program, config, control, args.demo_records)?
    } else {
        crate::runtime::run(program, config, control)?
    };
    if args.report_json {
        print_report(&report)?;
    }
    Ok(())
}

/// Print a run's report as one JSON line on standard output.
pub fn print_report(report: &crate::runtime::RunReport) -> Result<()> {
    let text = serde_json::to_string(report).map_err(|e| Error::Internal(e.to_string()))?;
    // A reader that went away (a closed pipe) is no reason to fail a finished run.
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
}

/// The run settings `args` give for `program` (flags first, then the file's `SET`s, then the
/// defaults), and the run's control block, stopped gracefully by SIGINT and SIGTERM.
pub fn prepare_run(args: &RunArgs, program: &Program) -> Result<(RunConfig, Arc<RunControl>)> {
    let name = args
        .file
        .file_stem()
        .map_or("dataflow".into(), |s| s.to_string_lossy().into_owned());
    let w = &args.workers;
    let mut config = RunConfig::new(&name);
    config.timely = timely_config(w.threads, w.processes, w.process, w.hostfile.as_deref())?;
    config.process = w.process;
    config.epoch_interval = args.epoch;
    config.max_epoch = args.max_epoch.max(args.epoch);
    config.broker_timeout = args.broker_timeout;
    config.bootstrap_override = args.bootstrap_servers.clone();
    config.duration = args.duration;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    config.progress = args.progress.resolve(terminal);
    config.progress_json = args.progress_json.clone();
    config.sink_partitions = args.sink_partitions;
    if let Some(g) = &args.group_id {
        config.group_id = g.clone();
    }
    config.max_outage = args.max_outage;
    config.fetch_thread = args.fetch_threads.resolve(w.threads);
    let setting = |key: &str| program.setting(key).map(str::to_string);
    let interval = match (args.checkpoint_interval, setting("checkpoint.interval")) {
        (Some(d), _) => d,
        (None, Some(text)) => parse_duration(&text)
            .map_err(|e| Error::Config(format!("SET 'checkpoint.interval': {e}")))?,
        (None, None) => Duration::from_secs(10),
    };
    if let Some(text) = args
        .metrics_addr
        .clone()
        .or_else(|| setting("metrics.addr"))
    {
        config.metrics_addr = Some(metrics_addr(&text, w.process)?);
    }
    let mut dir = args
        .checkpoint_dir
        .clone()
        .or_else(|| setting("checkpoint.dir").map(PathBuf::from));
    if dir.is_none() && !args.embedded {
        dir = default_state_dir(
            program,
            &args.file,
            &config.group_id,
            config.bootstrap_override.as_deref(),
        )?;
    }
    config.checkpoint = dir.map(|dir| crate::checkpoint::CheckpointSettings {
        dir,
        interval,
        keep: usize::try_from(args.checkpoints_kept).unwrap_or(usize::MAX),
        process: w.process,
    });
    let control = RunControl::new();
    let c = control.clone();
    // SIGINT (Ctrl-C) and SIGTERM (what systemd and Kubernetes send) stop the run gracefully:
    // sources close their last epoch, sinks flush, offsets are committed and a final
    // checkpoint is written. A second signal exits at once.
    let _ = ctrlc::set_handler(move || {
        if c.stopping() {
            std::process::exit(130);
        }
        tracing::info!("signal received: draining (output, offsets, final checkpoint); a second signal exits at once");
        c.stop();
    });
    Ok((config, control))
}

/// The address process `process` serves metrics at, from `--metrics-addr HOST:PORT`: the
/// port plus the process index, so every process of a cluster on one host has its own.
fn metrics_addr(text: &str, process: usize) -> Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let bad = |why: String| {
        Error::Config(format!(
            "--metrics-addr \"{text}\" (or SET 'metrics.addr'): {why}; write HOST:PORT, e.g. 0.0.0.0:9464"
        ))
    };
    let mut addr = (text.to_socket_addrs())
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("the host has no address".into()))?;
    if addr.port() != 0 {
        let port = u16::try_from(usize::from(addr.port()) + process)
            .map_err(|_| bad(format!("port + process index {process} is past 65535")))?;
        addr.set_port(port);
    }
    Ok(addr)
}

/// The state directory a run gets when it needs one and names none: a `GROUP BY` over a source
/// that resumes from the consumer group's committed offsets (the default start) is only right
/// with the state that goes with those offsets, so a plain re-run must find it. One directory
/// per dataflow file, consumer group and brokers, under `$DDFLOW_STATE_DIR`, else
/// `$XDG_STATE_HOME/ddflow`, else `~/.local/state/ddflow`. `None` when the run needs no state.
fn default_state_dir(
    program: &Program,
    file: &std::path::Path,
    default_group: &str,
    bootstrap_override: Option<&str>,
) -> Result<Option<PathBuf>> {
    let groups: Vec<String> = crate::plan::checks::resuming_stateful_sources(program)
        .iter()
        .map(|s| {
            let group = s.group_id.as_deref().unwrap_or(default_group);
            let brokers = bootstrap_override.unwrap_or(&s.bootstrap_servers);
            format!("{group}@{brokers}")
        })
        .collect();
    if groups.is_empty() {
        return Ok(None);
    }
    let root = match (
        std::env::var_os("DDFLOW_STATE_DIR"),
        std::env::var_os("XDG_STATE_HOME"),
        std::env::var_os("HOME"),
    ) {
        (Some(dir), _, _) => PathBuf::from(dir),
        (None, Some(xdg), _) => PathBuf::from(xdg).join("ddflow"),
        (None, None, Some(home)) => PathBuf::from(home).join(".local/state/ddflow"),
        (None, None, None) => {
            return Err(Error::Config(
                "this dataflow keeps GROUP BY state across runs (it resumes from committed group offsets), but there is no place for it: pass --checkpoint-dir DIR (or set DDFLOW_STATE_DIR)".into(),
            ))
        }
    };
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let identity = format!("{}\0{}", path.display(), groups.join("\0"));
    let stem = file
        .file_stem()
        .map_or("dataflow".into(), |s| s.to_string_lossy().into_owned());
    let dir = root.join(format!(
        "{stem}-{:08x}",
        crc32fast::hash(identity.as_bytes())
    ));
    tracing::info!(
        dir = %dir.display(),
        "keeping state in the default checkpoint directory (the GROUP BY resumes from committed group offsets; --checkpoint-dir chooses another)"
    );
    Ok(Some(dir))
}

/// The embedded demo: start the mock broker, feed it, run live for a while, then show what
/// landed in each Kafka sink topic.
fn run_embedded(
    program: Program,
    mut config: RunConfig,
    control: Arc<RunControl>,
    records: u64,
) -> Result<crate::runtime::RunReport> {
    let broker = EmbeddedBroker::start(&program)?;
    eprintln!(
        "ddflow: EMBEDDED DEMO BROKER (librdkafka mock cluster, in this process, in memory) at {}",
        broker.bootstrap
    );
    eprintln!("ddflow: producing {records} generated records into each source topic; counting live; Ctrl-C stops");
    let rate = 50_000;
    config.bootstrap_override = Some(broker.bootstrap.clone());
    if config.progress == crate::metrics::status::ProgressMode::Off {
        config.progress = crate::metrics::status::ProgressMode::Lines;
    }
    config.create_sink_topics = false; // the demo broker already has them
    config
        .duration
        .get_or_insert(Duration::from_secs_f64(records as f64 / rate as f64 + 2.0));
    let stop = Arc::new(AtomicBool::new(false));
    let feeders = broker.feed(&program, records, rate, stop.clone());
    let report = crate::runtime::run(program.clone(), config, control);
    stop.store(true, Ordering::SeqCst);
    let mut produced = 0;
    for f in feeders {
        produced += f
            .join()
            .map_err(|_| Error::Internal("demo feeder panicked".into()))??;
    }
    let report = report?;
    eprintln!(
        "ddflow: produced {produced} records, read {}, wrote {} changes",
        report.metrics.records_read, report.metrics.changes_written
    );
    for sink in &program.sinks {
        if let SinkConnector::Kafka { topic, .. } = &sink.sink.connector {
            let records =
                crate::kafka::read_topic(&broker.bootstrap, topic, Duration::from_secs(20))?;
            let state = crate::kafka::upsert_state(&records);
            println!("{}", summarize(topic, records.len(), &state));
        }
    }
    Ok(report)
}

/// A short text summary of an upsert topic: its size and the rows with the largest numbers.
fn summarize(
    topic: &str,
    messages: usize,
    state: &std::collections::BTreeMap<String, String>,
) -> String {
    let mut rows: Vec<(f64, &String)> = state
        .values()
        .map(|v| {
            let last = serde_json::from_str::<serde_json::Value>(v)
                .ok()
                .and_then(|j| {
                    j.as_object()
                        .and_then(|o| o.values().filter_map(|x| x.as_f64()).reduce(f64::max))
                })
                .unwrap_or(0.0);
            (last, v)
        })
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut out = format!(
        "output topic \"{topic}\": {messages} messages, {} keys; top rows:\n",
        state.len()
    );
    for (_, v) in rows.iter().take(10) {
        out.push_str(&format!("  {v}\n"));
    }
    out
}
