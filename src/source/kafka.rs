//! The Kafka source: one consumer per worker, partitions assigned by index, records stamped
//! with offset-bound epochs (see [`crate::timestamp`] for the contract).
//!
//! Partition `p` of a topic is read by worker `p % peers`, across all processes, with
//! `assign()` (no consumer-group membership, so no rebalancing inside a running dataflow).
//! A worker without partitions releases its capability at once. Each activation polls a
//! bounded batch of records, then closes the current epoch when its tick has passed:
//! it records the binding (next offset per partition) and only then downgrades its capability.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use differential_dataflow::AsCollection;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer};
use rdkafka::{Offset, TopicPartitionList};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::Scope;

use crate::checkpoint::journal::JournalWriter;
use crate::control::RunControl;
use crate::data::{Row, RowCollection};
use crate::error::{Error, Result};
use crate::kafka::{
    consumer_config, create_client, producer_config, send_waiting, GroupConsumer, HealthContext,
};
use crate::metrics::exported::PartitionMetrics;
use crate::metrics::Metrics;
use crate::resume::SourceRecovery;
use crate::source::decode::{DecodeError, Decoder, RecordRef};
use crate::source::fetch::{Fetched, Fetcher};
use crate::source::queue::MessageQueue;
use crate::source::statistics::{Statistics, WatermarkValue};
use crate::spec::{BadRecordPolicy, SourceSpec, StartupMode};
use crate::timestamp::{next_epoch, now_ms, BindingLog, Diff, Time};

/// Run-wide settings every Kafka source uses.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    /// How often an epoch closes while the source keeps up.
    pub epoch_interval: Duration,
    /// How long an epoch may stay open while the source is behind.
    pub max_epoch: Duration,
    /// How long to wait for the broker before failing.
    pub broker_timeout: Duration,
    /// The consumer group offsets are committed to, unless the table names one.
    pub default_group_id: String,
    /// Overrides every table's bootstrap servers when set.
    pub bootstrap_override: Option<String>,
    /// How long the broker may stay unreachable before the run fails.
    pub max_outage: Duration,
    /// Whether each reading worker polls and decodes on a thread of its own.
    pub fetch_thread: bool,
}

/// What the committer needs from a source on this worker.
#[derive(Clone)]
pub struct SourceHandle {
    /// The topic.
    pub topic: String,
    /// The consumer (absent when this worker has no partitions of the topic).
    pub consumer: Option<Arc<GroupConsumer<HealthContext>>>,
    /// Bindings of closed epochs.
    pub log: Rc<RefCell<BindingLog>>,
    /// The binding journal (with checkpointing, on workers that read partitions).
    pub journal: Rc<RefCell<Option<JournalWriter>>>,
}

/// The partitions of a topic with `partitions` partitions that worker `index` of `peers` reads.
pub fn assigned_partitions(partitions: i32, index: usize, peers: usize) -> Vec<i32> {
    (0..partitions)
        .filter(|p| *p as usize % peers == index)
        .collect()
}

/// What a source renders: its rows, the statistics of its watermark (when it has one a
/// window reads, see [`crate::render::event_time`]), and the handle the committer uses.
pub type RenderedSource<'s> = (RowCollection<'s>, Option<RowCollection<'s>>, SourceHandle);

/// Build the source operator for `spec` in `scope`, decoding its records with `decoder`.
/// `journal` (with checkpointing) is for workers that read partitions of the topic; the
/// runtime creates none for the others.
pub fn render_kafka_source<'s>(
    scope: Scope<'s, Time>,
    spec: &SourceSpec,
    decoder: Decoder,
    partitions: i32,
    settings: &SourceSettings,
    recovery: SourceRecovery,
    journal: Option<JournalWriter>,
    watermark: Option<WatermarkValue>,
    control: Arc<RunControl>,
) -> Result<RenderedSource<'s>> {
    let mine = assigned_partitions(partitions, scope.index(), scope.peers());
    let log = Rc::new(RefCell::new(BindingLog::default()));
    let has_watermark = watermark.is_some();
    let reader = if mine.is_empty() {
        None
    } else {
        Some(Reader::new(
            spec,
            decoder,
            &mine,
            settings,
            &recovery,
            journal.is_some(),
            &mut log.borrow_mut(),
            watermark,
            control.clone(),
        )?)
    };
    let statistics = has_watermark.then(|| statistics_source(scope, &spec.name));
    let publish = statistics.as_ref().map(|(_, queue)| queue.clone());
    let journal = Rc::new(RefCell::new(journal));
    let handle = SourceHandle {
        topic: spec.topic.clone(),
        consumer: reader.as_ref().map(|r| r.consumer.clone()),
        log: log.clone(),
        journal: journal.clone(),
    };
    let (interval, max_epoch) = (settings.epoch_interval, settings.max_epoch);
    let name = format!("KafkaSource({})", spec.name);
    let stream = source::<_, CapacityContainerBuilder<Vec<(Row, Time, Diff)>>, _, _>(
        scope,
        &name,
        move |cap, info| {
            let mut cap = Some(cap);
            let mut reader = reader;
            if let Some(r) = reader.as_mut() {
                let wake = scope.worker().sync_activator_for(info.address.to_vec());
                if let Err(e) = r.start(wake) {
                    control.fail(e);
                    cap = None;
                }
            }
            let activator = scope.activator_for(info.address);
            // Live epochs come after every epoch a restart re-forms.
            let mut epoch = now_ms().max(recovery.replay_until + 1);
            let mut next_tick = Instant::now() + interval;
            let mut opened = Instant::now();
            let mut batch = Vec::new();
            if let (Some(r), 0) = (reader.as_mut(), recovery.epoch) {
                r.statistics.announce(&r.partitions, epoch);
            }
            if let (Some(c), Some(r)) = (cap.as_mut(), reader.as_ref()) {
                c.downgrade(&r.replay_frontier(epoch));
            }
            // The watermark statistics of epochs below the capability, and how far it is.
            let publish = move |r: Option<&mut Reader>, frontier: Option<Time>| {
                if let Some(queue) = &publish {
                    let rows = match (r, frontier) {
                        (Some(r), Some(f)) => r.statistics.drain_before(f),
                        (Some(r), None) => r.statistics.drain_before(Time::MAX),
                        (None, _) => Vec::new(),
                    };
                    queue.borrow_mut().publish(rows, frontier);
                }
            };
            move |output| {
                let (Some(c), Some(r)) = (cap.as_mut(), reader.as_mut()) else {
                    cap = None; // no partitions here: never hold back the others
                    publish(None, None);
                    return;
                };
                let idle = match r.poll_batch(epoch, &mut batch) {
                    Ok(idle) => idle,
                    Err(e) => {
                        control.fail(e);
                        cap = None;
                        publish(None, None);
                        return;
                    }
                };
                if !batch.is_empty() {
                    output.session(&*c).give_container(&mut batch);
                }
                if r.replay_open() {
                    // Re-forming journaled epochs: close each once all its records are read.
                    // Once the journal is exhausted the frontier is the live epoch, so the
                    // last re-formed epochs get their binding too before live epochs close:
                    // without it a checkpoint between them and the first live epoch would
                    // save their records in the state but not their offsets, and a restore
                    // would read them twice.
                    let t = r.replay_frontier(epoch);
                    if t > *c.time() {
                        r.record_replayed(t - 1, &mut log.borrow_mut());
                        c.downgrade(&t);
                        publish(Some(r), Some(t));
                    }
                    if !r.replaying() {
                        r.replay_bound = true;
                    }
                    if idle {
                        activator.activate_after(Duration::from_millis(1));
                    } else {
                        activator.activate();
                    }
                    return;
                }
                let finished = r.finished() || control.stopping();
                // While behind, keep the epoch open up to max_epoch: catching up then yields
                // a few large epochs instead of one per tick.
                let now = Instant::now();
                if finished || (now >= next_tick && (now >= opened + max_epoch || !r.behind(idle)))
                {
                    if let Err(e) =
                        r.close_epoch(epoch, &mut log.borrow_mut(), journal.borrow_mut().as_mut())
                    {
                        control.fail(e);
                        cap = None;
                        publish(None, None);
                        return;
                    }
                    if finished {
                        r.update_metrics(true);
                        // The end of a bounded input: the watermark passes every record (as in
                        // Flink), so every window closes. A stopped run's does not move.
                        if r.finished() {
                            r.statistics.finish(&r.partitions, epoch);
                        }
                        if let Some(f) = &r.fetcher {
                            f.stop();
                        }
                        cap = None;
                        publish(Some(r), None);
                        return;
                    }
                    epoch = next_epoch(epoch, now_ms());
                    c.downgrade(&epoch);
                    publish(Some(r), Some(epoch));
                    next_tick = Instant::now() + interval;
                    opened = Instant::now();
                }
                if idle {
                    // A fetcher thread wakes the operator when records come; a worker that
                    // fetches itself looks every millisecond. Either looks again when the
                    // epoch may close (held open while behind: at max_epoch), and at least
                    // every 10 ms (a stop).
                    let now = Instant::now();
                    let at = if next_tick > now {
                        next_tick
                    } else {
                        opened + max_epoch
                    };
                    let poll = if r.fetch_thread { 10 } else { 1 };
                    activator.activate_after(
                        at.saturating_duration_since(now)
                            .min(Duration::from_millis(poll)),
                    );
                } else {
                    activator.activate();
                }
            }
        },
    );
    let statistics = statistics.map(|(rows, _)| rows);
    Ok((stream.as_collection(), statistics, handle))
}

/// What the source operator hands its statistics operator: rows to emit, and how far the
/// source's capability is (`None`: it has none any more).
struct StatisticsQueue {
    rows: Vec<(Row, Time)>,
    frontier: Option<Time>,
    activator: Option<timely::scheduling::Activator>,
}

impl StatisticsQueue {
    fn publish(&mut self, rows: Vec<(Row, Time)>, frontier: Option<Time>) {
        self.rows.extend(rows);
        self.frontier = frontier;
        if let Some(a) = &self.activator {
            a.activate();
        }
    }
}

/// The operator that emits a source's watermark statistics at their epochs, following the
/// source's capability.
fn statistics_source<'s>(
    scope: Scope<'s, Time>,
    table: &str,
) -> (RowCollection<'s>, Rc<RefCell<StatisticsQueue>>) {
    let queue = Rc::new(RefCell::new(StatisticsQueue {
        rows: Vec::new(),
        frontier: Some(0),
        activator: None,
    }));
    let shared = queue.clone();
    let name = format!("WatermarkStatistics({table})");
    let stream = source::<_, CapacityContainerBuilder<Vec<(Row, Time, Diff)>>, _, _>(
        scope,
        &name,
        move |cap, info| {
            shared.borrow_mut().activator = Some(scope.activator_for(info.address));
            let mut cap = Some(cap);
            move |output| {
                let Some(c) = cap.as_mut() else { return };
                let mut q = shared.borrow_mut();
                for (row, t) in q.rows.drain(..) {
                    output.session(&c.delayed(&t)).give((row, t, 1));
                }
                match q.frontier {
                    Some(f) if f > *c.time() => c.downgrade(&f),
                    Some(_) => {}
                    None => cap = None,
                }
            }
        },
    );
    (stream.as_collection(), queue)
}

/// Consumer errors closer together than this are one failure going on (librdkafka retries a
/// failed fetch about every half second); a longer quiet gap starts a new streak.
const ERROR_STREAK_GAP: Duration = Duration::from_secs(5);

/// Whether the `n`th (from 0) occurrence of a repeated event is logged: the first ten, then at
/// powers of two, so a flood of them stays readable.
fn worth_logging(n: u64) -> bool {
    n < 10 || n.is_power_of_two()
}

/// Records read per activation before the operator yields to the rest of the dataflow.
const BATCH_RECORDS: usize = 8192;

/// How often a source sets its lag, position and reachability gauges (the statistics they
/// read come every 100 ms).
const GAUGE_INTERVAL: Duration = Duration::from_millis(100);

/// Records waiting beyond what a worker has read above which its source counts as behind
/// (about 100 ms of input at 100k records a second).
const BEHIND_RECORDS: i64 = 10_000;

/// The per-worker reading state of one source.
struct Reader {
    topic: String,
    consumer: Arc<GroupConsumer<HealthContext>>,
    /// The decoder and the partitions' message queue, until the fetcher takes them.
    decoder: Option<(Decoder, MessageQueue<HealthContext>)>,
    /// What polls the consumer and decodes (see [`super::fetch`]).
    fetcher: Option<Fetcher>,
    /// Whether that is a thread of its own.
    fetch_thread: bool,
    policy: BadRecordPolicy,
    /// Next offset to read, per partition read at least once.
    next: BTreeMap<i32, i64>,
    /// Partitions handed over again from an earlier offset (see [`Self::redelivered`]).
    rewound: Rewinds,
    /// Partitions not yet at their end (bounded mode only).
    unfinished: BTreeSet<i32>,
    /// Bounded mode: a lower bound of each partition's end at start.
    bounds: HashMap<i32, i64>,
    bounded: bool,
    dead_letter: Option<DeadLetter>,
    timeout: Duration,
    max_outage: Duration,
    control: Arc<RunControl>,
    /// Journaled `(epoch, next offset)` per partition still to re-form, oldest first.
    replay: BTreeMap<i32, VecDeque<(Time, i64)>>,
    /// Re-formed `(epoch, next offset)` per partition, for the bindings of replayed epochs.
    replayed: BTreeMap<i32, Vec<(Time, i64)>>,
    /// Whether every re-formed epoch's binding has been recorded (true with nothing to
    /// re-form): the last ones' is recorded once the journal is exhausted.
    replay_bound: bool,
    /// This worker's partitions.
    partitions: Vec<i32>,
    /// Per epoch and partition, the watermark expression's largest value.
    statistics: Statistics,
    /// Since when consumer errors have come without a record in between.
    failing_since: Option<Instant>,
    /// When the last consumer error came.
    last_error: Option<Instant>,
    /// Consumer errors logged so far (later ones are logged sparsely).
    errors_logged: u64,
    /// Per partition: its exported metrics, and records read since they were last updated.
    partition_metrics: BTreeMap<i32, (PartitionMetrics, u64)>,
    /// The table's broker-reachability gauge.
    reachable: prometheus_client::metrics::gauge::Gauge,
    /// When the lag, position and reachability gauges were last set.
    gauges_set: Instant,
}

impl Reader {
    fn new(
        spec: &SourceSpec,
        decoder: Decoder,
        mine: &[i32],
        settings: &SourceSettings,
        recovery: &SourceRecovery,
        checkpointed: bool,
        log: &mut BindingLog,
        watermark: Option<WatermarkValue>,
        control: Arc<RunControl>,
    ) -> Result<Self> {
        let bootstrap = settings
            .bootstrap_override
            .as_deref()
            .unwrap_or(&spec.bootstrap_servers);
        let group = spec
            .group_id
            .clone()
            .unwrap_or_else(|| settings.default_group_id.clone());
        let consumer: BaseConsumer<HealthContext> = create_client(
            &consumer_config(bootstrap, &group, &spec.properties),
            HealthContext::default(),
            format!("cannot create a consumer for \"{bootstrap}\""),
        )?;
        let timeout = settings.broker_timeout;
        let restored: BTreeMap<i32, i64> = recovery
            .offsets
            .iter()
            .filter(|(p, _)| mine.contains(p))
            .copied()
            .collect();
        let mut start = start_offsets(&consumer, spec, mine, timeout)?;
        for (p, o) in &restored {
            let _ = start.set_partition_offset(&spec.topic, *p, Offset::Offset(*o));
        }
        if !restored.is_empty() {
            log.record(
                recovery.epoch,
                restored.iter().map(|(p, o)| (*p, *o)).collect(),
            );
        }
        let mut replay: BTreeMap<i32, VecDeque<(Time, i64)>> = BTreeMap::new();
        for binding in &recovery.journal {
            for (p, next) in binding
                .next_offsets
                .iter()
                .filter(|(p, _)| mine.contains(p))
            {
                let queue = replay.entry(*p).or_default();
                let reached = queue
                    .back()
                    .map(|(_, n)| *n)
                    .or_else(|| restored.get(p).copied())
                    .unwrap_or(0);
                if *next > reached {
                    queue.push_back((binding.epoch, *next));
                }
            }
        }
        replay.retain(|_, q| !q.is_empty());
        if recovery.epoch > 0 || !replay.is_empty() {
            // Where each partition resumes, and up to which offset journaled epochs re-form.
            let starts: Vec<String> = (start.elements().iter())
                .map(|e| {
                    let to = replay.get(&e.partition()).and_then(|q| q.back());
                    format!(
                        "{}@{:?}{}",
                        e.partition(),
                        e.offset(),
                        to.map_or(String::new(), |(_, n)| format!(" replaying to {n}"))
                    )
                })
                .collect();
            tracing::info!(topic = %spec.topic, checkpoint = recovery.epoch, ?starts, "resuming");
        }
        // The partitions' messages go to a queue of their own from the first fetch on, so
        // none of them is ever in the consumer's queue (they would come out of order).
        let consumer = Arc::new(GroupConsumer::new(consumer));
        let queue = MessageQueue::new(consumer.clone(), &spec.topic, mine)?;
        consumer.assign(&start).map_err(|e| {
            Error::kafka(format!("cannot assign partitions of \"{}\"", spec.topic), e)
        })?;
        let mut bounds = HashMap::new();
        if spec.bounded {
            for &p in mine {
                let (_, high) =
                    consumer
                        .fetch_watermarks(&spec.topic, p, timeout)
                        .map_err(|e| {
                            Error::kafka(
                                format!("cannot read the end offsets of \"{}\"", spec.topic),
                                e,
                            )
                        })?;
                bounds.insert(p, high);
            }
        }
        let dead_letter = match &spec.bad_records {
            BadRecordPolicy::DeadLetter { topic } => {
                let mut dl = DeadLetter::new(bootstrap, topic, &spec.properties)?;
                // With checkpoints, every start learns what the topic holds, not only a start
                // with a journal: a run killed after a dead letter was sent but before its
                // epoch's binding was journaled left no journal, yet the letter may be there.
                if checkpointed {
                    dl.learn_sent(bootstrap, &spec.topic, mine, timeout)?;
                }
                Some(dl)
            }
            _ => None,
        };
        let replayed = restored
            .iter()
            .map(|(p, o)| (*p, vec![(recovery.epoch, *o)]))
            .collect();
        Ok(Reader {
            topic: spec.topic.clone(),
            consumer,
            decoder: Some((decoder, queue)),
            fetcher: None,
            fetch_thread: settings.fetch_thread,
            policy: spec.bad_records.clone(),
            next: restored,
            rewound: Rewinds::default(),
            replay_bound: replay.is_empty(),
            replay,
            replayed,
            unfinished: mine.iter().copied().collect(),
            bounds,
            bounded: spec.bounded,
            dead_letter,
            timeout,
            max_outage: settings.max_outage,
            partitions: mine.to_vec(),
            statistics: Statistics::new(watermark),
            failing_since: None,
            last_error: None,
            errors_logged: 0,
            partition_metrics: (mine.iter())
                .map(|&p| {
                    let m = control
                        .metrics
                        .exported
                        .partition(&spec.name, &spec.topic, p);
                    (p, (m, 0))
                })
                .collect(),
            reachable: control.metrics.exported.broker_reachable(&spec.name),
            gauges_set: Instant::now() - GAUGE_INTERVAL,
            control,
        })
    }

    /// Start the fetcher thread (see [`super::fetch`]); `wake` activates the source operator.
    fn start(&mut self, wake: timely::scheduling::SyncActivator) -> Result<()> {
        if let Some((decoder, queue)) = self.decoder.take() {
            self.fetcher = Some(Fetcher::start(
                &self.topic,
                queue,
                decoder,
                wake,
                self.fetch_thread,
            )?);
        }
        Ok(())
    }

    /// Take up to about a batch of fetched records into `batch` at `time`; returns whether the
    /// fetcher had nothing more to give.
    fn poll_batch(&mut self, time: Time, batch: &mut Vec<(Row, Time, Diff)>) -> Result<bool> {
        if let Some(down) = self.consumer.context().outage() {
            if down > self.max_outage {
                return Err(Error::KafkaTimeout(format!(
                    "the broker of topic \"{}\" has been unreachable for {:.0?} (--max-outage {:?})",
                    self.topic, down, self.max_outage
                )));
            }
        }
        let mut read = 0u64;
        let mut idle = false;
        while batch.len() < BATCH_RECORDS {
            let fetched = match &self.fetcher {
                Some(f) => f.try_next()?,
                None => None,
            };
            let Some(mut fetched) = fetched else {
                idle = true;
                break;
            };
            let mut rows = fetched.rows.drain(..);
            for item in fetched.items.drain(..) {
                match item {
                    Fetched::Record {
                        partition: p,
                        offset,
                        rows: n,
                    } => {
                        let record_rows = rows.by_ref().take(n as usize);
                        // Past the end of a finished partition, or read already.
                        if self.bounded && !self.unfinished.contains(&p)
                            || self.redelivered(p, offset)
                        {
                            record_rows.for_each(drop);
                            continue;
                        }
                        let stamp = self.stamp(p, offset, time);
                        if self.statistics.enabled() {
                            for r in record_rows {
                                self.statistics.observe(p, stamp, &r);
                                batch.push((r, stamp, 1));
                            }
                        } else {
                            batch.extend(record_rows.map(|r| (r, stamp, 1)));
                        }
                        self.advance(p, offset);
                        read += 1;
                    }
                    Fetched::Tombstone {
                        partition: p,
                        offset,
                    } => {
                        if self.bounded && !self.unfinished.contains(&p)
                            || self.redelivered(p, offset)
                        {
                            continue;
                        }
                        self.stamp(p, offset, time);
                        self.tombstone(p, offset);
                        self.advance(p, offset);
                        read += 1;
                    }
                    Fetched::Bad(bad) => {
                        let p = bad.partition;
                        if self.bounded && !self.unfinished.contains(&p)
                            || self.redelivered(p, bad.offset)
                        {
                            continue;
                        }
                        self.stamp(p, bad.offset, time);
                        self.bad_record(bad.record(), bad.error.clone())?;
                        self.advance(p, bad.offset);
                        read += 1;
                    }
                    Fetched::Eof(p) => {
                        self.replay_eof(p)?;
                        self.rewound_eof(p)?;
                        self.partition_eof(p)
                    }
                    Fetched::Error(e) => self.consumer_error(*e)?,
                }
            }
            drop(rows);
            if let Some(f) = &self.fetcher {
                f.recycle(fetched);
            }
        }
        if read > 0 {
            self.failing_since = None;
        }
        Metrics::add(&self.control.metrics.records_read, read);
        self.update_metrics(false);
        Ok(idle)
    }

    /// Export the records read and the position per partition, and, at most every
    /// [`GAUGE_INTERVAL`] (or now, with `force`), each partition's lag (by the latest
    /// statistics' high watermarks) and whether the broker is reachable.
    fn update_metrics(&mut self, force: bool) {
        // Records read and the position move together, so they always agree.
        for (p, (m, n)) in self.partition_metrics.iter_mut() {
            if *n > 0 {
                m.read.inc_by(std::mem::take(n));
                if let Some(next) = self.next.get(p) {
                    m.position.set(*next);
                }
            }
        }
        if !force && self.gauges_set.elapsed() < GAUGE_INTERVAL {
            return;
        }
        self.gauges_set = Instant::now();
        let context = self.consumer.context();
        self.reachable.set(i64::from(context.outage().is_none()));
        let ends = context.ends();
        for (p, (m, _)) in &self.partition_metrics {
            let end = ends.iter().find(|e| e.partition == *p);
            let Some(read) = self.next.get(p).copied().or(end.map(|e| e.handed)) else {
                continue;
            };
            m.position.set(read);
            if let Some(end) = end {
                m.lag.set((end.end - read).max(0));
            }
        }
    }

    /// Whether this worker's partitions are behind their ends: the fetcher had more ready
    /// (`idle` false), or, by the latest statistics, more than [`BEHIND_RECORDS`] records
    /// wait beyond what was read (the fetcher may hand over partial batches while it is
    /// behind, when its local queue runs dry between fetch responses).
    fn behind(&self, idle: bool) -> bool {
        if !idle {
            return true;
        }
        let waiting: i64 = (self.consumer.context().ends().iter())
            .filter(|e| self.unfinished.contains(&e.partition))
            .map(|e| {
                let read = self.next.get(&e.partition).copied().unwrap_or(e.handed);
                (e.end - read).max(0)
            })
            .sum();
        waiting > BEHIND_RECORDS
    }

    /// Record `offset` of partition `p` as read (and count it, for [`Self::update_metrics`]).
    fn advance(&mut self, p: i32, offset: i64) {
        self.next.insert(p, offset + 1);
        self.rewound.read(p);
        self.replay_progress(p);
        if let Some((_, n)) = self.partition_metrics.get_mut(&p) {
            *n += 1;
        }
    }

    /// Whether `offset` of partition `p` was read already (or lies before where a restored
    /// partition resumed), and so is dropped, counted and logged. Each offset is stamped with
    /// one epoch (the binding contract), but a client can hand a record over again: librdkafka
    /// re-fetches from an earlier offset when it resets a partition's position (to the
    /// earliest offset, under `auto.offset.reset`, after an out-of-range answer) or when its
    /// offset validation (KIP-320) finds the log's end below its position, which it tells the
    /// application nothing about.
    fn redelivered(&mut self, p: i32, offset: i64) -> bool {
        let next = self.next.get(&p).copied();
        if !self.rewound.read_already(next, p, offset) {
            return false;
        }
        let n = self.count(p, |m| &m.redelivered, |m| &m.records_redelivered);
        if worth_logging(n) {
            tracing::warn!(topic = %self.topic, partition = p, offset, ?next, dropped = n + 1, "the consumer handed over a record already read (it re-fetched from an earlier offset); dropped");
        }
        true
    }

    /// The end of partition `p` came while it was being handed over again below the offset
    /// already read: the partition now ends below what was read, so the records the client
    /// hands over are not the ones read before (the topic was truncated, or deleted and
    /// created again). Dropping them would lose them and counting them would count a
    /// different history on top of the old one, so the run fails.
    fn rewound_eof(&mut self, p: i32) -> Result<()> {
        let Some((end, next)) = self.rewound.end(self.next.get(&p).copied(), p) else {
            return Ok(());
        };
        Err(Error::KafkaFatal {
            context: format!("cannot read topic \"{}\"", self.topic),
            message: format!(
                "partition {p} now ends at offset {end}, but offsets up to {} were read already",
                next - 1
            ),
            hint: "the topic was truncated, or deleted and created again, since those records were read; results over it would not be exact: start over with an empty --checkpoint-dir and a new consumer group".into(),
        })
    }

    /// A consumer error: permanent ones (a compression codec this build lacks, a denied
    /// authorization, a failed authentication or TLS handshake, a topic that is gone) fail the
    /// run at once, naming the topic; transient ones are retried, and fail the run once they
    /// have kept coming (each within [`ERROR_STREAK_GAP`] of the last) without a single record
    /// for longer than `--max-outage`. (A broker that is down is watched separately: see
    /// [`HealthContext`].)
    fn consumer_error(&mut self, e: KafkaError) -> Result<()> {
        if let Some(why) = crate::error::permanent_kafka_error(&e) {
            return Err(Error::KafkaFatal {
                context: format!("cannot read topic \"{}\"", self.topic),
                message: format!("{e}"),
                hint: why.into(),
            });
        }
        let now = Instant::now();
        if self
            .last_error
            .replace(now)
            .is_some_and(|last| now - last > ERROR_STREAK_GAP)
        {
            self.failing_since = None; // a new streak, not the same failure going on
        }
        let since = *self.failing_since.get_or_insert(now);
        if since.elapsed() > self.max_outage {
            return Err(Error::KafkaTimeout(format!(
                "reading topic \"{}\" has failed for {:.0?} without a record (--max-outage {:?}): {e}",
                self.topic,
                since.elapsed(),
                self.max_outage
            )));
        }
        let seen = self.errors_logged;
        self.errors_logged += 1;
        if worth_logging(seen) {
            tracing::warn!(topic = %self.topic, error = %e, "consumer error (retrying)");
        }
        Ok(())
    }

    /// Count a record of partition `p` in its exported counter and in the run's; returns how
    /// many the run had counted before (for [`worth_logging`]).
    fn count(
        &self,
        p: i32,
        exported: fn(&PartitionMetrics) -> &prometheus_client::metrics::counter::Counter,
        run: fn(&Metrics) -> &std::sync::atomic::AtomicU64,
    ) -> u64 {
        if let Some((m, _)) = self.partition_metrics.get(&p) {
            exported(m).inc();
        }
        run(&self.control.metrics).fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// A record without a value (a tombstone, as keyed and compacted topics carry): it has no
    /// row to decode, so it is skipped and counted, as Flink's formats skip it.
    fn tombstone(&mut self, partition: i32, offset: i64) {
        let n = self.count(partition, |m| &m.tombstones, |m| &m.tombstones_skipped);
        if worth_logging(n) {
            tracing::info!(topic = %self.topic, partition, offset, skipped = n + 1, "skipping a tombstone (a record without a value)");
        }
    }

    fn partition_eof(&mut self, p: i32) {
        if !self.bounded {
            return;
        }
        let at_end = match self.next.get(&p) {
            None => true, // nothing to read from where we started
            Some(next) => *next >= self.bounds.get(&p).copied().unwrap_or(0),
        };
        if at_end && self.unfinished.remove(&p) {
            tracing::debug!(topic = %self.topic, partition = p, "partition finished (bounded mode)");
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&self.topic, p);
            let _ = self.consumer.pause(&tpl);
        }
    }

    fn bad_record(&mut self, rec: RecordRef<'_>, error: DecodeError) -> Result<()> {
        match &self.policy {
            BadRecordPolicy::Fail => Err(Error::Decode {
                topic: self.topic.clone(),
                partition: rec.partition,
                offset: rec.offset,
                reason: error.0,
            }),
            BadRecordPolicy::Skip => {
                let skipped = self.count(rec.partition, |m| &m.skipped, |m| &m.records_skipped);
                if worth_logging(skipped) {
                    tracing::warn!(topic = %self.topic, partition = rec.partition, offset = rec.offset, %error, skipped = skipped + 1, "skipping bad record");
                }
                Ok(())
            }
            BadRecordPolicy::DeadLetter { .. } => {
                let dl = self
                    .dead_letter
                    .as_mut()
                    .ok_or_else(|| Error::Internal("dead-letter producer missing".into()))?;
                dl.send(&self.topic, rec, &error)?;
                Metrics::add(&self.control.metrics.records_dead_lettered, 1);
                if let Some((m, _)) = self.partition_metrics.get(&rec.partition) {
                    m.dead_lettered.inc();
                }
                Ok(())
            }
        }
    }

    /// Close `epoch`: make dead letters durable, journal its binding, then record it.
    fn close_epoch(
        &mut self,
        epoch: Time,
        log: &mut BindingLog,
        journal: Option<&mut JournalWriter>,
    ) -> Result<()> {
        if let Some(dl) = self.dead_letter.as_mut() {
            dl.flush(self.timeout)?;
        }
        for (m, _) in self.partition_metrics.values() {
            m.closed(epoch);
        }
        let offsets: Vec<(i32, i64)> = self.next.iter().map(|(p, o)| (*p, *o)).collect();
        if log
            .bindings()
            .last()
            .is_none_or(|b| b.next_offsets != offsets)
        {
            if let Some(j) = journal {
                j.append(epoch, &offsets)?;
            }
            log.record(epoch, offsets);
        }
        Ok(())
    }

    fn finished(&self) -> bool {
        self.bounded && self.unfinished.is_empty() && !self.replaying()
    }

    /// Whether journaled epochs remain to be re-formed.
    fn replaying(&self) -> bool {
        !self.replay.is_empty()
    }

    /// Whether journaled epochs remain to be re-formed or to have their binding recorded.
    fn replay_open(&self) -> bool {
        self.replaying() || !self.replay_bound
    }

    /// The epoch of record `offset` of partition `p`: the first journaled epoch whose binding
    /// lies past it, or the live epoch `live` once the journal is exhausted.
    fn stamp(&mut self, p: i32, offset: i64, live: Time) -> Time {
        self.replay_progress_to(p, offset);
        self.replay
            .get(&p)
            .and_then(|q| q.front())
            .map_or(live, |(e, _)| *e)
    }

    /// Retire the journaled epochs of `p` whose records have all been read.
    fn replay_progress(&mut self, p: i32) {
        if let Some(next) = self.next.get(&p).copied() {
            self.replay_progress_to(p, next);
        }
    }

    fn replay_progress_to(&mut self, p: i32, reached: i64) {
        let Some(queue) = self.replay.get_mut(&p) else {
            return;
        };
        while let Some(&(epoch, next)) = queue.front() {
            if next > reached {
                break;
            }
            queue.pop_front();
            self.replayed.entry(p).or_default().push((epoch, next));
        }
        if queue.is_empty() {
            self.replay.remove(&p);
        }
    }

    /// The earliest epoch this worker may still produce records for.
    fn replay_frontier(&self, live: Time) -> Time {
        self.replay
            .values()
            .filter_map(|q| q.front().map(|(e, _)| *e))
            .min()
            .unwrap_or(live)
    }

    /// Record the binding of re-formed epoch `epoch` (all journaled epochs `<= epoch` are read).
    fn record_replayed(&mut self, epoch: Time, log: &mut BindingLog) {
        if log.bindings().last().is_some_and(|b| b.epoch >= epoch) {
            return;
        }
        let offsets: Vec<(i32, i64)> = self
            .replayed
            .iter_mut()
            .filter_map(|(p, done)| {
                let base = done.iter().rposition(|(e, _)| *e <= epoch)?;
                done.drain(..base);
                Some((*p, done[0].1))
            })
            .collect();
        if !offsets.is_empty() {
            log.record(epoch, offsets);
        }
    }

    /// A partition's end was reached while a journaled epoch still expects records of it.
    fn replay_eof(&self, p: i32) -> Result<()> {
        match (self.replay.get(&p).and_then(|q| q.front()), self.next.get(&p)) {
            (Some((epoch, expected)), reached) if reached.copied().unwrap_or(0) < *expected => {
                Err(Error::Checkpoint {
                    path: format!("journal of topic \"{}\"", self.topic),
                    problem: format!(
                        "epoch {epoch} read partition {p} up to offset {expected}, but the partition now ends at offset {}: the topic was truncated or recreated since",
                        reached.copied().unwrap_or(0)
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

/// The partitions a consumer is handing over again from an earlier offset, each with the
/// last offset dropped, until a record past what was read comes.
#[derive(Debug, Default)]
struct Rewinds(BTreeMap<i32, i64>);

impl Rewinds {
    /// Whether `offset` of `p` lies below `next` (the next offset to read, if `p` was read at
    /// all) and is to be dropped; remembers that `p` is being handed over again.
    fn read_already(&mut self, next: Option<i64>, p: i32, offset: i64) -> bool {
        if next.is_none_or(|n| offset >= n) {
            return false;
        }
        self.0.insert(p, offset);
        true
    }

    /// A record of `p` past what was read came.
    fn read(&mut self, p: i32) {
        if !self.0.is_empty() {
            self.0.remove(&p);
        }
    }

    /// `p` reached its end: `(its end, next)` if that lies below `next` while `p` was being
    /// handed over again (its records below `next` are not the ones read before).
    fn end(&mut self, next: Option<i64>, p: i32) -> Option<(i64, i64)> {
        let last = self.0.remove(&p)?;
        next.filter(|n| last + 1 < *n).map(|n| (last + 1, n))
    }
}

/// Where each assigned partition starts, per `'scan.startup.mode'`.
fn start_offsets(
    consumer: &BaseConsumer<HealthContext>,
    spec: &SourceSpec,
    mine: &[i32],
    timeout: Duration,
) -> Result<TopicPartitionList> {
    let topic = &spec.topic;
    let mut tpl = TopicPartitionList::new();
    // Explicit offset 0 (not `Beginning`) saves a ListOffsets round trip; a log that no longer
    // starts at 0 falls back to its earliest offset through `auto.offset.reset`.
    let earliest = Offset::Offset(0);
    let err = |what: &str, e| Error::kafka(format!("cannot read {what} of \"{topic}\""), e);
    match &spec.startup {
        StartupMode::Earliest => mine.iter().for_each(|p| add(&mut tpl, topic, *p, earliest)),
        StartupMode::Latest => mine
            .iter()
            .for_each(|p| add(&mut tpl, topic, *p, Offset::End)),
        StartupMode::SpecificOffsets(list) => {
            for p in mine {
                let o = list
                    .iter()
                    .find(|(q, _)| q == p)
                    .map_or(earliest, |(_, o)| Offset::Offset(*o));
                add(&mut tpl, topic, *p, o);
            }
        }
        StartupMode::GroupOffsets => {
            let mut query = TopicPartitionList::new();
            mine.iter()
                .for_each(|p| add(&mut query, topic, *p, Offset::Invalid));
            let committed = consumer
                .committed_offsets(query, timeout)
                .map_err(|e| err("the committed offsets", e))?;
            for e in committed.elements() {
                let o = match e.offset() {
                    Offset::Offset(o) => Offset::Offset(o),
                    _ => earliest,
                };
                add(&mut tpl, topic, e.partition(), o);
            }
        }
        StartupMode::Timestamp(ts) => {
            let found = consumer
                .offsets_for_timestamp(*ts, timeout)
                .map_err(|e| err("offsets for a timestamp", e))?;
            for e in found
                .elements()
                .iter()
                .filter(|e| mine.contains(&e.partition()))
            {
                let o = match e.offset() {
                    Offset::Offset(o) => Offset::Offset(o),
                    _ => Offset::End,
                };
                add(&mut tpl, topic, e.partition(), o);
            }
        }
    }
    Ok(tpl)
}

fn add(tpl: &mut TopicPartitionList, topic: &str, p: i32, o: Offset) {
    // `set_partition_offset` only fails for partitions not in the list, which we just added.
    tpl.add_partition(topic, p);
    let _ = tpl.set_partition_offset(topic, p, o);
}

/// Producer for `'format.bad-records' = 'dead-letter'`.
struct DeadLetter {
    producer: rdkafka::producer::BaseProducer,
    topic: String,
    pending: bool,
    /// `(partition, offset)` of source records already in the dead-letter topic (learned on
    /// recovery, so re-read records are not sent twice).
    sent: std::collections::HashSet<(i32, i64)>,
    /// The source table's client properties (security settings).
    props: Vec<(String, String)>,
}

impl DeadLetter {
    fn new(bootstrap: &str, topic: &str, props: &[(String, String)]) -> Result<Self> {
        let producer = create_client(
            &producer_config(bootstrap, props),
            DefaultProducerContext,
            format!("cannot create the dead-letter producer for \"{topic}\""),
        )?;
        Ok(DeadLetter {
            producer,
            topic: topic.to_string(),
            pending: false,
            sent: Default::default(),
            props: props.to_vec(),
        })
    }

    /// Read the dead-letter topic and remember which records of `source` partitions `mine`
    /// it already holds.
    fn learn_sent(
        &mut self,
        bootstrap: &str,
        source: &str,
        mine: &[i32],
        timeout: Duration,
    ) -> Result<()> {
        let records =
            match crate::kafka::read_topic_with(bootstrap, &self.props, &self.topic, timeout) {
                Ok(r) => r,
                Err(Error::Config(_)) => return Ok(()), // no dead letters yet: no topic yet
                Err(e) => return Err(e),
            };
        for r in records {
            let coordinates = (
                r.header("ddflow.source.topic"),
                r.header("ddflow.source.partition")
                    .and_then(|p| p.parse().ok()),
                r.header("ddflow.source.offset")
                    .and_then(|o| o.parse().ok()),
            );
            if let (Some(t), Some(p), Some(o)) = coordinates {
                if t == source && mine.contains(&p) {
                    self.sent.insert((p, o));
                }
            }
        }
        Ok(())
    }

    fn send(&mut self, source_topic: &str, rec: RecordRef<'_>, error: &DecodeError) -> Result<()> {
        if self.sent.contains(&(rec.partition, rec.offset)) {
            return Ok(()); // sent before a restart
        }
        let partition = rec.partition.to_string();
        let offset = rec.offset.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "ddflow.source.topic",
                value: Some(source_topic),
            })
            .insert(Header {
                key: "ddflow.source.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "ddflow.source.offset",
                value: Some(&offset),
            })
            .insert(Header {
                key: "ddflow.error",
                value: Some(&error.0),
            });
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).headers(headers);
        if let Some(k) = rec.key {
            record = record.key(k);
        }
        if let Some(v) = rec.payload {
            record = record.payload(v);
        }
        send_waiting(&self.producer, record).map_err(|e| {
            Error::kafka(
                format!("cannot write to dead-letter topic \"{}\"", self.topic),
                e,
            )
        })?;
        self.pending = true;
        Ok(())
    }

    fn flush(&mut self, timeout: Duration) -> Result<()> {
        if std::mem::take(&mut self.pending) {
            self.producer.flush(timeout).map_err(|e| {
                Error::kafka(
                    format!("cannot flush dead-letter topic \"{}\"", self.topic),
                    e,
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Rewinds;

    #[test]
    fn records_handed_over_again_are_dropped_and_a_shorter_log_is_found() {
        let mut r = Rewinds::default();
        // Nothing read yet, or past what was read: kept.
        assert!(!r.read_already(None, 0, 5));
        assert!(!r.read_already(Some(10), 0, 10));
        // Handed over again up to where it was read, then on: dropped, then kept.
        assert!(r.read_already(Some(10), 0, 3));
        assert!(r.read_already(Some(10), 0, 9));
        assert_eq!(r.end(Some(10), 0), None, "ends right where it was read");
        assert!(r.read_already(Some(10), 0, 4));
        r.read(0);
        assert_eq!(r.end(Some(11), 0), None, "caught up");
        // The log now ends at 6, below offset 9 read before: the topic is not the one read.
        assert!(r.read_already(Some(10), 1, 5));
        assert_eq!(r.end(Some(10), 1), Some((6, 10)));
        assert_eq!(r.end(Some(10), 1), None, "said once");
    }
}
