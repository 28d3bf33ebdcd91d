//! Runtime: wires sources, the rendered plan, sinks and the committer into one dataflow per
//! worker, runs the workers, and reports. No business logic lives here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::Concatenate;
use timely::dataflow::Scope;

use crate::checkpoint::journal::JournalWriter;
use crate::checkpoint::operators::{render_checkpointing, LocalParts};
use crate::checkpoint::Checkpointing;
use crate::config::RunConfig;
use crate::control::RunControl;
use crate::error::{Error, Result};
use crate::kafka;
use crate::metrics::query_progress::QueryProgress;
use crate::metrics::server::MetricsServer;
use crate::metrics::status::Status;
use crate::metrics::MetricsSnapshot;
use crate::plan::ir::Program;
use crate::plan::reduce::only_inserts;
use crate::progress::{render_checkpoint_committer, render_committer};
use crate::render::external::Logic;
use crate::render::{render_program_with, RenderState};
use crate::resume::{SinkResume, SourceRecovery};
use crate::sink::{render_sink, SinkSettings};
use crate::source::decode::Decoder;
use crate::source::file::render_file_source;
use crate::source::{assigned_partitions, render_kafka_source, SourceHandle, SourceSettings};
use crate::spec::{DeliveryGuarantee, SinkConnector};
use crate::timestamp::Time;

/// What a finished run reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunReport {
    /// Counters at the end of the run (this process).
    pub metrics: MetricsSnapshot,
    /// Wall time from start to the last worker's exit.
    pub elapsed: Duration,
}

/// Run `program` to completion (bounded sources), until `config.duration` passes, or until
/// `control.stop()` is called.
///
/// What `ddflow run FILE` does, from a library:
///
/// ```
/// use ddflow::config::RunConfig;
/// use ddflow::control::RunControl;
///
/// # let dir = std::env::temp_dir().join(format!("ddflow-doc-run-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let (input, output) = (dir.join("temps.csv"), dir.join("hot.csv"));
/// std::fs::write(&input, "berlin,21\nlisbon,31\nberlin,33\n").unwrap();
/// let program = ddflow::plan::plan_text("hot.sql", &format!(
///     "CREATE TABLE temps (city STRING, c BIGINT) WITH ('connector' = 'filesystem',
///        'path' = '{}', 'format' = 'csv');
///      CREATE TABLE hot (city STRING, f DOUBLE) WITH ('connector' = 'filesystem',
///        'path' = '{}', 'format' = 'csv');
///      INSERT INTO hot SELECT UPPER(city), c * 9 / 5.0 + 32 FROM temps WHERE c > 30;",
///     input.display(), output.display()))?;
/// let mut config = RunConfig::new("hot");
/// config.timely = ddflow::config::timely_config(2, 1, 0, None)?; // -w 2
/// let report = ddflow::runtime::run(program, config, RunControl::new())?;
/// assert_eq!(report.metrics.records_read, 3);
/// let mut lines: Vec<String> = std::fs::read_to_string(&output).unwrap().lines().map(String::from).collect();
/// lines.sort();
/// assert_eq!(lines, ["BERLIN,91.4", "LISBON,87.8"]);
/// # Ok::<(), ddflow::Error>(())
/// ```
pub fn run(program: Program, config: RunConfig, control: Arc<RunControl>) -> Result<RunReport> {
    run_with(program, config, control, None)
}

/// [`run`], with Rust code between the sources and the sinks (see [`crate::builder`]).
pub fn run_with(
    program: Program,
    config: RunConfig,
    control: Arc<RunControl>,
    logic: Option<Arc<Logic>>,
) -> Result<RunReport> {
    let start = Instant::now();
    control.set_process(config.process);
    crate::plan::checks::check_topics(&program, config.bootstrap_override.as_deref())?;
    let partitions = preflight(&program, &config)?;
    let checkpointing = config
        .checkpoint
        .clone()
        .map(|settings| Checkpointing::prepare(settings, &program))
        .transpose()?
        .map(Arc::new);
    check_resumable(&program, &config, &partitions, checkpointing.as_deref())?;
    let source_settings = SourceSettings {
        epoch_interval: config.epoch_interval,
        max_epoch: config.max_epoch,
        broker_timeout: config.broker_timeout,
        default_group_id: config.group_id.clone(),
        bootstrap_override: config.bootstrap_override.clone(),
        max_outage: config.max_outage,
        fetch_thread: config.fetch_thread,
    };
    let sink_settings = SinkSettings {
        bootstrap_override: config.bootstrap_override.clone(),
        broker_timeout: config.broker_timeout,
        group_id: config.group_id.clone(),
        max_outage: config.max_outage,
    };
    let finished = Arc::new(AtomicBool::new(false));
    let metrics_server = config
        .metrics_addr
        .map(|addr| MetricsServer::start(addr, control.clone()))
        .transpose()?;
    let serve_metrics = metrics_server.is_some();
    let reports = (config.progress_json.as_deref())
        .map(|path| QueryProgress::create(path, &config.name, &program))
        .transpose()?;
    let watchers = spawn_watchers(&config, control.clone(), finished.clone(), reports);
    let worker_control = control.clone();
    let guards = timely::execute(config.timely.clone(), move |worker| {
        let control = worker_control.clone();
        if serve_metrics {
            crate::metrics::arrangements::register(worker, control.clone());
        }
        let built = worker.dataflow::<Time, _, _>(|scope| {
            build_dataflow(
                scope,
                &program,
                &partitions,
                (&source_settings, &sink_settings),
                checkpointing.clone(),
                control.clone(),
                logic.as_deref(),
            )
        });
        if let Err(e) = built {
            control.fail(e);
        }
        let mut quiet_spells = control.quiet_spells();
        while worker.step_or_park(Some(Duration::from_millis(100))) {
            // mimalloc keeps a thread's freed pages until that thread allocates or frees
            // again: a worker gives them back itself once the run goes quiet.
            let now = control.quiet_spells();
            if now != quiet_spells {
                quiet_spells = now;
                collect_thread_memory();
            }
        }
    })
    .map_err(|e| Error::Config(format!("cannot start timely workers: {e}")))?;
    // Joining also joins timely's network threads, which panic (as the guard that joins them
    // does) when another process of the cluster went away.
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guards.join()));
    finished.store(true, Ordering::SeqCst);
    for w in watchers {
        w.thread().unpark();
        let _ = w.join();
    }
    drop(metrics_server);
    // A process of the cluster that went away closes its connections: timely's network
    // threads stop, and the workers that wait on them fail.
    let joined = joined.map_err(|panic| {
        let text = panic_text(panic.as_ref());
        Error::PeerLost(format!("the cluster's network failed ({text})"))
    })?;
    if let Some(e) = joined
        .iter()
        .find_map(|r| r.as_ref().err().filter(|e| lost_peer(e)))
    {
        return Err(Error::PeerLost(e.clone()));
    }
    for r in joined {
        r.map_err(|e| Error::Internal(format!("a worker failed: {e}")))?;
    }
    if let Some(e) = control.take_error() {
        return Err(e);
    }
    Ok(RunReport {
        metrics: control.metrics.snapshot(),
        elapsed: start.elapsed(),
    })
}

/// Whether a panic's text is timely's when another process of the cluster went away: its
/// network threads', the guard joining them, or a worker's reading what they left.
pub fn lost_peer(text: &str) -> bool {
    [
        "timely communication error",
        "poisoned",
        "Send thread panic",
        "Recv thread panic",
    ]
    .iter()
    .any(|l| text.contains(l))
}

/// A panic's message (empty when it is not text).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    (payload.downcast_ref::<String>().map(String::as_str))
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("")
}

/// Refuse to start where the results could not be exact:
/// - a `GROUP BY` over a source that resumes from offsets its consumer group committed, with no
///   checkpoint holding the state that goes with them (the counts would cover only the records
///   after those offsets);
/// - a checkpoint directory holding the journal of a run that stopped before its first
///   checkpoint, for a source that starts at `'latest-offset'` (which has moved since, so the
///   journaled epochs cannot be re-formed).
fn check_resumable(
    program: &Program,
    config: &RunConfig,
    partitions: &HashMap<String, i32>,
    checkpointing: Option<&Checkpointing>,
) -> Result<()> {
    let recovery = checkpointing.and_then(|c| c.recovery.as_ref());
    if recovery.is_some_and(|r| r.manifest.is_some()) {
        return Ok(());
    }
    if let (Some(ck), Some(_)) = (checkpointing, recovery) {
        if let Some(s) = program
            .sources
            .iter()
            .find(|s| s.startup == crate::spec::StartupMode::Latest)
        {
            return Err(Error::checkpoint(
                ck.store.root(),
                format!(
                    "holds the journal of a run that stopped before its first checkpoint, and table \"{}\" starts at 'latest-offset', which has moved since: the epochs that run formed (and may have written) cannot be formed again",
                    s.name
                ),
            ));
        }
    }
    for source in crate::plan::checks::resuming_stateful_sources(program) {
        let bootstrap = config
            .bootstrap_override
            .as_deref()
            .unwrap_or(&source.bootstrap_servers);
        let group = source.group_id.as_deref().unwrap_or(&config.group_id);
        let committed = kafka::committed_offsets_at(
            bootstrap,
            &source.properties,
            group,
            &source.topic,
            partitions.get(&source.name).copied().unwrap_or(0),
            config.broker_timeout,
        )?;
        let at: Vec<String> = committed
            .iter()
            .enumerate()
            .filter_map(|(p, o)| o.map(|o| format!("{p}:{o}")))
            .collect();
        if at.is_empty() {
            continue;
        }
        let place = match checkpointing {
            Some(ck) => format!("the checkpoint directory {}", ck.store.root().display()),
            None => "no checkpoint directory".into(),
        };
        return Err(Error::State {
            message: format!(
                "table \"{}\" would resume from the offsets consumer group \"{group}\" committed on topic \"{}\" (partition:offset {}), but {place} holds no checkpoint with the GROUP BY state that goes with them: the results would count only the records after those offsets",
                source.name,
                source.topic,
                at.join(", ")
            ),
            hint: "to recompute from the start, set 'scan.startup.mode' = 'earliest-offset' or use a new consumer group (--group-id or 'properties.group.id'); to continue, pass --checkpoint-dir with the directory of the run that committed them".into(),
        });
    }
    Ok(())
}

/// Check the broker before starting workers: learn each source topic's partition count (a
/// clear error within `broker_timeout` when unreachable), create missing sink topics, and
/// learn each Kafka sink topic's partition count (keyed `sink:<name>`). The tables are
/// checked at once, each with a client of its own (a client takes ~0.1 s to start and stop);
/// the first failure in the file's order is reported.
fn preflight(program: &Program, config: &RunConfig) -> Result<HashMap<String, i32>> {
    let bootstrap = |own: &str| config.bootstrap_override.clone().unwrap_or(own.to_string());
    let mut checks: Vec<(String, Box<dyn FnOnce() -> Result<i32> + Send + '_>)> = Vec::new();
    for source in &program.sources {
        if let Some(path) = &source.file {
            // A file table: readable now, read whole by one worker (as one partition).
            std::fs::File::open(path).map_err(|e| {
                Error::Config(format!(
                    "table \"{}\" reads the file \"{path}\", which cannot be opened: {e}",
                    source.name
                ))
            })?;
            checks.push((source.name.clone(), Box::new(|| Ok(1))));
            continue;
        }
        let bootstrap = bootstrap(&source.bootstrap_servers);
        checks.push((
            source.name.clone(),
            Box::new(move || {
                let n = kafka::partition_count_with(
                    &bootstrap,
                    &source.properties,
                    &source.topic,
                    config.broker_timeout,
                )?;
                tracing::info!(table = %source.name, topic = %source.topic, partitions = n, "source");
                Ok(n)
            }),
        ));
    }
    let sinks = (program.sinks.iter().map(|s| &s.sink)).chain(&program.external_sinks);
    for sink in sinks {
        if let SinkConnector::Kafka {
            topic,
            bootstrap_servers,
            properties,
            ..
        } = &sink.connector
        {
            let bootstrap = bootstrap(bootstrap_servers);
            checks.push((
                format!("sink:{}", sink.name),
                Box::new(move || {
                    if config.create_sink_topics {
                        kafka::ensure_topic_with(
                            &bootstrap,
                            properties,
                            topic,
                            config.sink_partitions,
                            config.broker_timeout,
                        )
                    } else {
                        kafka::partition_count_with(
                            &bootstrap,
                            properties,
                            topic,
                            config.broker_timeout,
                        )
                    }
                }),
            ));
        }
    }
    let results: Vec<(String, Result<i32>)> = std::thread::scope(|s| {
        let running: Vec<_> = (checks.into_iter())
            .map(|(key, check)| (key, s.spawn(check)))
            .collect();
        (running.into_iter())
            .map(|(key, handle)| {
                let result = handle.join().unwrap_or_else(|_| {
                    Err(Error::Internal(format!(
                        "the broker check of {key} panicked"
                    )))
                });
                (key, result)
            })
            .collect()
    });
    let mut partitions = HashMap::new();
    for (key, result) in results {
        partitions.insert(key, result?);
    }
    Ok(partitions)
}

/// Build one worker's dataflow: sources → plan → sinks → committer (and, with a checkpoint
/// directory, the checkpoint operators and restored state).
pub fn build_dataflow<'s>(
    scope: Scope<'s, Time>,
    program: &Program,
    partitions: &HashMap<String, i32>,
    (source_settings, sink_settings): (&SourceSettings, &SinkSettings),
    checkpointing: Option<Arc<Checkpointing>>,
    control: Arc<RunControl>,
    logic: Option<&Logic>,
) -> Result<()> {
    let recovery = checkpointing.as_ref().and_then(|c| c.recovery.as_ref());
    let mut env = HashMap::new();
    let mut handles: Vec<SourceHandle> = Vec::new();
    let mut parts = LocalParts::default();
    let maps = crate::render::source_maps(program, logic.is_some());
    for source in &program.sources {
        let n = partitions.get(&source.name).copied().unwrap_or(0);
        let table = source.name.to_ascii_lowercase();
        let decoder = Decoder::new(source).mapped(maps.map(&table));
        if source.file.is_some() {
            let rows = render_file_source(scope, source, &decoder, control.clone());
            env.insert(table, rows);
            continue;
        }
        let resume = recovery
            .map(|r| SourceRecovery {
                epoch: r.epoch(),
                offsets: r.source_offsets(&table),
                journal: r.journal.get(&table).cloned().unwrap_or_default(),
                replay_until: r.replay_until,
            })
            .unwrap_or_default();
        let reads = !assigned_partitions(n, scope.index(), scope.peers()).is_empty();
        let journal = match &checkpointing {
            Some(ck) if reads => Some(JournalWriter::create(
                &ck.store.journal_dir(&table),
                ck.run_id,
                scope.index(),
            )?),
            _ => None,
        };
        let watermark = program
            .watermarks
            .iter()
            .find(|w| w.table.eq_ignore_ascii_case(&table))
            .map(|w| crate::render::event_time::watermark_value(w, source.layout().as_deref()));
        let (collection, statistics, handle) = render_kafka_source(
            scope,
            source,
            decoder,
            n,
            source_settings,
            resume,
            journal,
            watermark,
            control.clone(),
        )?;
        env.insert(table.clone(), collection);
        if let Some(statistics) = statistics {
            env.insert(
                crate::render::event_time::statistics_name(&table),
                statistics,
            );
        }
        parts.sources.push((table, handle.log.clone()));
        handles.push(handle);
    }
    let mut state = RenderState::new(scope, control.clone());
    state.checkpointing = checkpointing.clone();
    state.source_maps = maps;
    if let Some(m) = recovery.and_then(|r| r.manifest.as_ref()) {
        state.restored_watermarks = m.watermarks.clone().into_iter().collect();
    }
    let outputs = render_program_with(program, env, &mut state, logic)?;
    parts.traces = state.traces;
    parts.watermarks = state.watermark_history;
    let state_progress = state.progress;
    let mut durable = Vec::new();
    // When the only sink is transactional and a single worker reads every partition, each
    // transaction carries the offsets, and nothing else commits them. (With more sinks a
    // transaction could commit offsets ahead of another sink's output; with checkpoints,
    // offsets are committed at checkpoints.)
    let transactional = matches!(
        program.sinks.as_slice(),
        [only] if matches!(
            only.sink.connector,
            SinkConnector::Kafka { delivery: DeliveryGuarantee::ExactlyOnce, .. }
        )
    );
    let offsets_in_transaction = if transactional && scope.peers() == 1 && checkpointing.is_none() {
        std::mem::take(&mut handles)
    } else {
        Vec::new()
    };
    for (spec, collection) in outputs {
        let resume = recovery
            .map(|r| SinkResume {
                written_through: r.manifest.as_ref().map(|m| m.epoch),
                replay_until: r.replay_until,
                state: r.sink_state(&spec.name).cloned(),
            })
            .unwrap_or_default();
        let n = partitions
            .get(&format!("sink:{}", spec.name))
            .copied()
            .unwrap_or(1);
        // A sink written by Rust code has no plan here: taken as one that may retract.
        let insert_only = (program.sinks.iter())
            .find(|s| s.sink.name == spec.name)
            .is_some_and(|s| only_inserts(&s.relation, &program.views));
        let (stream, progress) = render_sink(
            collection,
            &spec,
            sink_settings,
            n,
            &resume,
            offsets_in_transaction.clone(),
            insert_only,
            control.clone(),
        )?;
        parts.sinks.push((spec.name.clone(), progress));
        durable.push(stream);
    }
    // Failures on the durable streams go to every worker: each one's committer and checkpoint
    // operators see another process's failure before their frontier passes its epoch.
    let durable = scope.concatenate(durable).broadcast();
    observe_output_frontier(&durable, control.clone());
    match checkpointing {
        Some(ck) => {
            let completions =
                render_checkpointing(scope, durable, state_progress, parts, ck, control.clone());
            render_checkpoint_committer(completions, handles, sink_settings.max_outage, control);
        }
        None => render_committer(durable, handles, sink_settings.max_outage, control),
    }
    Ok(())
}

/// Export the frontier of the sinks' durable streams (`durable`): the output is complete and
/// durable for every epoch before it (see [`crate::sink`]).
fn observe_output_frontier(
    durable: &crate::resume::DurableStream<'_>,
    control: std::sync::Arc<crate::control::RunControl>,
) {
    use timely::dataflow::channels::pact::Pipeline;
    use timely::dataflow::operators::generic::Operator;
    durable
        .clone()
        .sink(Pipeline, "OutputFrontier", move |(input, frontier)| {
            input.for_each(|_, failures| failures.iter().for_each(|f| control.peer_failed(f)));
            match frontier.frontier().first() {
                Some(f) => control.metrics.exported.output_frontier(*f),
                // Every epoch written and durable (unless the run failed and stopped writing).
                None if !control.failed() => control.metrics.exported.output_complete(),
                None => {}
            }
        });
}

/// Gives the memory the allocator keeps of freed blocks back to the system once the run goes
/// quiet: no record read and no change written for [`QuietTrim::QUIET`] since the last
/// activity. A catch-up leaves behind what differential's batcher, the spine's merges and the
/// epochs' output held on the way, which the allocators would otherwise keep as RSS for the
/// rest of the run; one trim per quiet spell costs nothing while records flow.
struct QuietTrim {
    last: (u64, u64),
    since: Instant,
    trimmed: bool,
}

impl QuietTrim {
    const QUIET: Duration = Duration::from_millis(500);

    fn new() -> Self {
        QuietTrim {
            last: (0, 0),
            since: Instant::now(),
            trimmed: true,
        }
    }

    fn tick(&mut self, control: &RunControl) {
        let metrics = &control.metrics;
        let now = (
            metrics.records_read.load(Ordering::Relaxed),
            metrics.changes_written.load(Ordering::Relaxed),
        );
        if now != self.last {
            (self.last, self.since, self.trimmed) = (now, Instant::now(), false);
        } else if !self.trimmed && self.since.elapsed() >= Self::QUIET {
            self.trimmed = true;
            control.note_quiet();
            release_free_memory();
        }
    }
}

/// Return the allocators' free pages to the system: mimalloc's (the binary's allocator, which
/// purges freed pages only when it is next called to allocate or free, so a quiet run kept
/// them: W3 at rest 159–167 B of RSS per key against 107 with them purged; each worker also
/// collects its own thread's) and glibc's (librdkafka's buffers, `malloc_trim` over every
/// arena).
fn release_free_memory() {
    collect_thread_memory();
    release_glibc_memory();
}

/// mimalloc's unused memory of this thread, and of no thread, given back.
#[allow(unsafe_code)]
fn collect_thread_memory() {
    // SAFETY: `mi_collect` frees and purges mimalloc's own unused memory under its own
    // synchronisation; it reads and writes no memory of ours.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release_glibc_memory() {
    // SAFETY: `malloc_trim` takes the allocator's own locks and unmaps pages that hold no
    // allocated block; it reads and writes no memory of ours.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(released, "returned free memory to the system");
}

/// Other C allocators return free memory on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_glibc_memory() {}

/// Threads that stop the run after `config.duration` and show progress every second.
fn spawn_watchers(
    config: &RunConfig,
    control: Arc<RunControl>,
    finished: Arc<AtomicBool>,
    mut reports: Option<QueryProgress>,
) -> Vec<std::thread::JoinHandle<()>> {
    let deadline = config.duration.map(|d| Instant::now() + d);
    let mode = config.progress;
    let watcher = std::thread::spawn(move || {
        let mut status = Status::start(mode);
        let mut last_report = Instant::now();
        let mut quiet = QuietTrim::new();
        while !finished.load(Ordering::SeqCst) {
            // Woken at once when the run finishes (the run's end waits on this thread).
            std::thread::park_timeout(Duration::from_millis(20));
            quiet.tick(&control);
            if deadline.is_some_and(|d| Instant::now() >= d) && !control.stopping() {
                tracing::info!("run duration reached, stopping");
                control.stop();
            }
            status.tick(&control.metrics);
            if reports.is_some() && last_report.elapsed() >= Status::INTERVAL {
                last_report = Instant::now();
                if let Some(Err(e)) = reports.as_mut().map(|r| r.report(&control.metrics)) {
                    tracing::warn!(error = %e, "progress reports stopped");
                    reports = None;
                }
            }
        }
        // The last interval, so the reports add up to the whole run.
        if let Some(r) = reports.as_mut() {
            let _ = r.report(&control.metrics);
        }
        status.finish();
    });
    vec![watcher]
}
