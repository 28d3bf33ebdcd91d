//! Kafka client settings and small admin helpers shared by sources, sinks and the load
//! generator.
//!
//! Every librdkafka property ddflow sets is set here, with the reason next to it. Users'
//! `'properties.*'` options are applied last and win.

use std::ops::Deref;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, DefaultConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::ToBytes;
use rdkafka::producer::{BaseProducer, BaseRecord, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::error::{Error, Result, BROKER_HINT};
use crate::spec::properties::redact_error;

/// Settings for a consumer that reads assigned partitions (no group membership).
pub fn consumer_config(bootstrap: &str, group_id: &str, user: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        // Offsets are committed by ddflow's progress tracking, only for durable epochs.
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // Bounded mode detects a partition's end by PARTITION_EOF: ListOffsets(LATEST) can lag
        // the log end on some brokers, the high watermark in fetch responses does not.
        .set("enable.partition.eof", "true")
        // Broker reachability for outage detection, and how far each partition's end is
        // (see HealthContext): a source behind keeps its epoch open longer.
        .set("statistics.interval.ms", "100")
        // An explicit start offset below the log start (retention) falls back to the earliest.
        .set("auto.offset.reset", "earliest")
        // Low latency: the broker answers a fetch after at most 10 ms without new data.
        .set("fetch.wait.max.ms", "10")
        // Some brokers fill a whole fetch from one partition; without this, an overfull
        // local queue makes librdkafka back off a full second per overflow.
        .set("fetch.queue.backoff.ms", "10")
        // Bound the prefetched records per partition (librdkafka's defaults allow 64 MB and
        // 100k records each). Measured on W1: peak RSS 238 -> ~100 MB, no loss of speed.
        .set("queued.min.messages", "50000")
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.max.bytes", "1048576")
        // A request the broker never answers is retried after this long. Tansu sometimes
        // leaves a fetch unanswered: with 10 s the source stalled 10 s at a time under steady
        // load (W2); a fetch waits at most fetch.wait.max.ms, so 2 s is ample.
        .set("socket.timeout.ms", "2000")
        .set("log_level", "3");
    for (k, v) in user {
        c.set(k, v);
    }
    c
}

/// Settings for a producer that must not lose or reorder records of one partition.
pub fn producer_config(bootstrap: &str, user: &[(String, String)]) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        // Retries keep per-partition order and do not duplicate.
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // Batch for throughput but keep the added latency to a few milliseconds.
        .set("linger.ms", "1")
        .set("batch.num.messages", "10000")
        // Bound the producer's queue: a sink that outruns the broker waits (send retries on
        // QueueFull) instead of buffering a whole large epoch. W3 (1M keys in one epoch):
        // see benches/README.md for the measured effect.
        .set("queue.buffering.max.messages", "100000")
        .set("queue.buffering.max.kbytes", "65536")
        .set("compression.type", "lz4")
        // A record that cannot be delivered within this time fails the run instead of hanging.
        .set("message.timeout.ms", "60000")
        .set("socket.timeout.ms", "10000")
        .set("log_level", "3");
    for (k, v) in user {
        c.set(k, v);
    }
    c
}

/// Create a client from `config` with `context`; `what` is the error's context ("cannot create
/// ..."). A bad setting whose name looks secret has its value removed from the error.
pub fn create_client<T, C>(config: &ClientConfig, context: C, what: impl Into<String>) -> Result<T>
where
    T: FromClientConfigAndContext<C>,
    C: rdkafka::client::ClientContext,
{
    config
        .create_with_context(context)
        .map_err(|e| Error::kafka(what, redact_error(e)))
}

/// Send `record`, waiting while the producer's queue is full (the queue is bounded, see
/// [`producer_config`]): a writer that outruns the broker slows down instead of failing.
pub fn send_waiting<'a, C, K, P>(
    producer: &BaseProducer<C>,
    mut record: BaseRecord<'a, K, P, C::DeliveryOpaque>,
) -> std::result::Result<(), KafkaError>
where
    C: ProducerContext,
    K: ToBytes + ?Sized,
    P: ToBytes + ?Sized,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                producer.poll(Duration::from_millis(5));
                record = r;
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// `(partition, offset)` pairs of `topic` as a partition list (for assign and commits).
pub fn offsets_list(topic: &str, offsets: &[(i32, i64)]) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    for (p, o) in offsets {
        // `set_partition_offset` only fails for partitions not in the list, just added.
        tpl.add_partition(topic, *p);
        let _ = tpl.set_partition_offset(topic, *p, Offset::Offset(*o));
    }
    tpl
}

/// A consumer of a group that, dropped, closes without waiting out a poll.
///
/// rdkafka's drop closes a consumer that has a `group.id` and polls in 100 ms steps until the
/// close is done; the close's own reply is served inside the poll without ending it, so each
/// drop took a whole step (two per run, about a tenth of a short bounded run). This closes
/// first, polling in 1 ms steps (at most [`CLOSE_WAIT`]); rdkafka's drop then finds it closed.
pub struct GroupConsumer<C: ConsumerContext + 'static>(BaseConsumer<C>);

/// How long a [`GroupConsumer`] waits for its close (rdkafka's drop waits on after that).
const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl<C: ConsumerContext + 'static> GroupConsumer<C> {
    /// Wrap `consumer`.
    pub fn new(consumer: BaseConsumer<C>) -> GroupConsumer<C> {
        GroupConsumer(consumer)
    }
}

impl<C: ConsumerContext + 'static> Deref for GroupConsumer<C> {
    type Target = BaseConsumer<C>;
    fn deref(&self) -> &BaseConsumer<C> {
        &self.0
    }
}

impl<C: ConsumerContext + 'static> Drop for GroupConsumer<C> {
    fn drop(&mut self) {
        if self.0.close_queue().is_err() {
            return; // not a group's consumer, or closed already: rdkafka's drop does the rest
        }
        let deadline = Instant::now() + CLOSE_WAIT;
        while !self.0.closed() && Instant::now() < deadline {
            self.0.poll(Duration::from_millis(1));
        }
    }
}

/// Assign `consumer` the given partitions of `topic`, each from the given offset.
pub fn assign_at(consumer: &BaseConsumer, topic: &str, starts: &[(i32, i64)]) -> Result<()> {
    consumer
        .assign(&offsets_list(topic, starts))
        .map_err(|e| Error::kafka(format!("cannot assign \"{topic}\""), e))
}

/// A client context that watches broker reachability through librdkafka's statistics
/// (`statistics.interval.ms`): an outage starts when no broker connection is up and ends when
/// one is again. Outages are logged when they start and end.
#[derive(Default)]
pub struct HealthContext {
    down_since: std::sync::Mutex<Option<std::time::Instant>>,
    ends: std::sync::Mutex<Vec<PartitionEnd>>,
}

/// Where a partition ends, and how far the consumer has handed it over, as the last
/// statistics saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionEnd {
    /// Partition.
    pub partition: i32,
    /// The high watermark from the latest fetch response (right even where a broker's
    /// ListOffsets is not).
    pub end: i64,
    /// The next offset the consumer hands over, or the log start before the first record.
    pub handed: i64,
}

impl HealthContext {
    /// How long the broker has been unreachable (`None`: it is reachable).
    pub fn outage(&self) -> Option<Duration> {
        self.down_since
            .lock()
            .ok()
            .and_then(|d| d.map(|since| since.elapsed()))
    }

    /// Each partition's end as the last statistics saw it (empty before the first).
    pub fn ends(&self) -> Vec<PartitionEnd> {
        self.ends.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl rdkafka::client::ClientContext for HealthContext {
    fn stats(&self, statistics: rdkafka::Statistics) {
        let up = statistics.brokers.values().any(|b| b.state == "UP");
        let Ok(mut down) = self.down_since.lock() else {
            return;
        };
        let ends: Vec<PartitionEnd> = statistics
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0 && p.hi_offset >= 0)
            .map(|p| PartitionEnd {
                partition: p.partition,
                end: p.hi_offset,
                handed: if p.app_offset >= 0 {
                    p.app_offset
                } else {
                    p.lo_offset.max(0)
                },
            })
            .collect();
        if let Ok(mut e) = self.ends.lock() {
            *e = ends;
        }
        match (up, *down) {
            (true, Some(since)) => {
                tracing::warn!(after = ?since.elapsed(), "broker reachable again, continuing");
                *down = None;
            }
            (false, None) => {
                tracing::warn!(
                    "broker unreachable: waiting and retrying (fails after --max-outage)"
                );
                *down = Some(std::time::Instant::now());
            }
            _ => {}
        }
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::debug!(%error, reason, "client error (retrying)");
    }
}

impl rdkafka::consumer::ConsumerContext for HealthContext {}

/// The number of partitions of `topic`, failing with a clear error when the broker does not
/// answer within `timeout` or the topic does not exist.
pub fn partition_count(bootstrap: &str, topic: &str, timeout: Duration) -> Result<i32> {
    partition_count_with(bootstrap, &[], topic, timeout)
}

/// Collects the errors a client reports (a refused TLS handshake or a failed authentication
/// shows up only there, while the request itself just times out).
#[derive(Default)]
pub struct ClientErrors(std::sync::Mutex<Vec<String>>);

impl ClientErrors {
    fn note(&self, text: String) {
        if let Ok(mut seen) = self.0.lock() {
            if seen.len() < 32 {
                seen.push(text);
            }
        }
    }

    /// The most telling error seen: one that [`connection_hint`] has a specific hint for, else
    /// the first that is not the summary "all brokers are down".
    fn take(&self) -> Option<String> {
        let seen = std::mem::take(&mut *self.0.lock().ok()?);
        seen.iter()
            .find(|t| connection_hint(t) != BROKER_HINT)
            .or_else(|| seen.iter().find(|t| !t.contains("AllBrokersDown")))
            .or(seen.first())
            .cloned()
    }
}

impl rdkafka::client::ClientContext for ClientErrors {
    fn error(&self, error: KafkaError, reason: &str) {
        self.note(format!("{error}: {reason}"));
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        // A connection closed during the handshake is only logged (as FAIL, at info level),
        // not reported as an error.
        if facility == "FAIL" || (level as i32) <= rdkafka::config::RDKafkaLogLevel::Error as i32 {
            self.note(format!("{facility}: {message}"));
        }
    }
}

impl rdkafka::consumer::ConsumerContext for ClientErrors {}

/// The hint for a connection that failed with `last` as the client's last error.
fn connection_hint(last: &str) -> &'static str {
    let l = last.to_ascii_lowercase();
    if l.contains("ssl")
        || l.contains("tls")
        || l.contains("certificate")
        || l.contains("security.protocol")
        // Closed before the first request was answered: typically a TLS listener.
        || l.contains("in state apiversion_query")
    {
        "a TLS problem: set 'properties.security.protocol' to 'SSL' (or 'SASL_SSL') for a TLS listener, 'PLAINTEXT' for a plain one, and 'properties.ssl.ca.location' to the CA certificate that signed the broker's"
    } else if l.contains("sasl") || l.contains("authenticat") {
        "authentication failed: check 'properties.security.protocol', 'properties.sasl.mechanism', 'properties.sasl.username' and 'properties.sasl.password'"
    } else {
        BROKER_HINT
    }
}

/// [`partition_count`] with a table's client properties (security settings).
pub fn partition_count_with(
    bootstrap: &str,
    properties: &[(String, String)],
    topic: &str,
    timeout: Duration,
) -> Result<i32> {
    let mut config = consumer_config(bootstrap, "ddflow-metadata", properties);
    // Metadata needs no group, and a client without one is dropped at once (see GroupConsumer).
    config.remove("group.id");
    // Info level: how a connection failed is logged there (see `ClientErrors`).
    config.set_log_level(rdkafka::config::RDKafkaLogLevel::Info);
    let consumer: BaseConsumer<ClientErrors> = create_client(
        &config,
        ClientErrors::default(),
        format!("cannot create a client for \"{bootstrap}\""),
    )?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| match e {
            rdkafka::error::KafkaError::MetadataFetch(RDKafkaErrorCode::OperationTimedOut)
            | rdkafka::error::KafkaError::MetadataFetch(RDKafkaErrorCode::BrokerTransportFailure) =>
            {
                let waited = format!(
                    "no broker at \"{bootstrap}\" answered within {} s",
                    timeout.as_secs_f64()
                );
                // Errors and logs wait in the client's queue until it is polled.
                for _ in 0..5 {
                    let _ = consumer.poll(Duration::from_millis(10));
                }
                match consumer.context().take() {
                    Some(last) => Error::KafkaFatal {
                        context: waited,
                        message: format!("the client's last error was: {last}"),
                        hint: connection_hint(&last).into(),
                    },
                    None => Error::KafkaTimeout(waited),
                }
            }
            e => Error::kafka(format!("cannot read metadata of topic \"{topic}\""), e),
        })?;
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(Error::Config(format!("topic \"{topic}\" does not exist")));
    };
    if let Some(err) = t.error() {
        let code = RDKafkaErrorCode::from(err);
        if code == RDKafkaErrorCode::UnknownTopicOrPartition
            || code == RDKafkaErrorCode::UnknownTopic
        {
            return Err(Error::Config(format!(
                "topic \"{topic}\" does not exist on \"{bootstrap}\""
            )));
        }
        return Err(Error::KafkaTimeout(format!(
            "topic \"{topic}\": broker reports {code}"
        )));
    }
    if t.partitions().is_empty() {
        return Err(Error::Config(format!(
            "topic \"{topic}\" does not exist on \"{bootstrap}\""
        )));
    }
    Ok(t.partitions().len() as i32)
}

/// Create `topic` with `partitions` partitions unless it exists.
pub fn ensure_topic(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<()> {
    ensure_topic_with(bootstrap, &[], topic, partitions, timeout).map(|_| ())
}

/// [`ensure_topic`] with a table's client properties (security settings); returns how many
/// partitions the topic has (it may have existed with another number), read through the
/// same client.
pub fn ensure_topic_with(
    bootstrap: &str,
    properties: &[(String, String)],
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<i32> {
    if partitions < 1 {
        return Err(Error::Config(format!(
            "cannot create topic \"{topic}\" with {partitions} partitions (at least 1)"
        )));
    }
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("socket.timeout.ms", "10000")
        .set("log_level", "3");
    for (k, v) in properties {
        config.set(k, v);
    }
    let admin: AdminClient<DefaultClientContext> = create_client(
        &config,
        DefaultClientContext,
        format!("cannot create an admin client for \"{bootstrap}\""),
    )?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let results = futures_executor::block_on(admin.create_topics([&new], &opts))
        .map_err(|e| Error::kafka(format!("cannot create topic \"{topic}\""), e))?;
    for r in results {
        match r {
            // Created now: it has the partitions asked for (metadata read at once may not
            // show them all yet).
            Ok(_) => return Ok(partitions),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(Error::KafkaTimeout(format!(
                    "cannot create topic \"{topic}\": {code}"
                )));
            }
        }
    }
    let metadata = admin
        .inner()
        .fetch_metadata(Some(topic), timeout)
        .map_err(|e| Error::kafka(format!("cannot read metadata of topic \"{topic}\""), e))?;
    match metadata.topics().iter().find(|t| t.name() == topic) {
        Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
            Ok(t.partitions().len() as i32)
        }
        _ => Err(Error::KafkaTimeout(format!(
            "topic \"{topic}\" was created but its metadata does not show it yet"
        ))),
    }
}

/// One record read back from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key as text (lossy UTF-8).
    pub key: Option<String>,
    /// Value as text (lossy UTF-8); `None` for a tombstone.
    pub value: Option<String>,
    /// Headers as text.
    pub headers: Vec<(String, String)>,
}

/// Read every record of `topic` from offset 0 to the end of each partition (detected by
/// PARTITION_EOF), in partition then offset order.
pub fn read_topic(bootstrap: &str, topic: &str, timeout: Duration) -> Result<Vec<ReadRecord>> {
    read_topic_with(bootstrap, &[], topic, timeout)
}

/// [`read_topic`] with a table's client properties (security settings).
pub fn read_topic_with(
    bootstrap: &str,
    properties: &[(String, String)],
    topic: &str,
    timeout: Duration,
) -> Result<Vec<ReadRecord>> {
    let n = partition_count_with(bootstrap, properties, topic, timeout)?;
    let starts: Vec<(i32, i64)> = (0..n).map(|p| (p, 0)).collect();
    read_partitions_with(bootstrap, properties, topic, &starts, timeout)
}

/// Read the given partitions of `topic` from the given offsets to their ends (detected by
/// PARTITION_EOF), in partition then offset order. Fails when no progress is made for
/// `timeout`.
pub fn read_partitions(
    bootstrap: &str,
    topic: &str,
    starts: &[(i32, i64)],
    timeout: Duration,
) -> Result<Vec<ReadRecord>> {
    read_partitions_with(bootstrap, &[], topic, starts, timeout)
}

/// [`read_partitions`] with a table's client properties (security settings).
pub fn read_partitions_with(
    bootstrap: &str,
    properties: &[(String, String)],
    topic: &str,
    starts: &[(i32, i64)],
    timeout: Duration,
) -> Result<Vec<ReadRecord>> {
    use rdkafka::message::{Headers, Message};
    let mut records = Vec::new();
    if starts.is_empty() {
        return Ok(records);
    }
    let consumer = GroupConsumer::new(create_client::<BaseConsumer, _>(
        &consumer_config(bootstrap, "ddflow-reader", properties),
        DefaultConsumerContext,
        format!("cannot create a consumer for \"{bootstrap}\""),
    )?);
    assign_at(&consumer, topic, starts)?;
    let mut deadline = std::time::Instant::now() + timeout;
    let mut at_end = std::collections::BTreeSet::new();
    while at_end.len() < starts.len() {
        if std::time::Instant::now() > deadline {
            return Err(Error::KafkaTimeout(format!(
                "reading \"{topic}\" did not reach its end within {timeout:?}"
            )));
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(m)) => {
                deadline = std::time::Instant::now() + timeout;
                let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), text(h.value).unwrap_or_default()))
                            .collect()
                    })
                    .unwrap_or_default();
                at_end.remove(&m.partition());
                records.push(ReadRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: text(m.key()),
                    value: text(m.payload()),
                    headers,
                });
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => tracing::debug!(error = %e, "reader: consumer error (retrying)"),
        }
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

impl ReadRecord {
    /// The value of header `key`, if present.
    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The state an upsert topic describes: the latest value per key, tombstoned keys removed.
pub fn upsert_state(records: &[ReadRecord]) -> std::collections::BTreeMap<String, String> {
    let mut state = std::collections::BTreeMap::new();
    for r in records {
        let key = r.key.clone().unwrap_or_default();
        match &r.value {
            Some(v) => state.insert(key, v.clone()),
            None => state.remove(&key),
        };
    }
    state
}

/// The committed offsets of `group` for `topic`'s partitions (`None` where nothing is
/// committed).
pub fn committed_offsets(
    bootstrap: &str,
    group: &str,
    topic: &str,
    timeout: Duration,
) -> Result<Vec<Option<i64>>> {
    let n = partition_count(bootstrap, topic, timeout)?;
    committed_offsets_at(bootstrap, &[], group, topic, n, timeout)
}

/// [`committed_offsets`] of a topic known to have `n` partitions, with a table's client
/// properties (security settings).
pub fn committed_offsets_at(
    bootstrap: &str,
    properties: &[(String, String)],
    group: &str,
    topic: &str,
    n: i32,
    timeout: Duration,
) -> Result<Vec<Option<i64>>> {
    let consumer = GroupConsumer::new(create_client::<BaseConsumer, _>(
        &consumer_config(bootstrap, group, properties),
        DefaultConsumerContext,
        format!("cannot create a consumer for \"{bootstrap}\""),
    )?);
    let mut tpl = TopicPartitionList::new();
    for p in 0..n {
        tpl.add_partition(topic, p);
    }
    let committed = consumer.committed_offsets(tpl, timeout).map_err(|e| {
        Error::kafka(
            format!("cannot read committed offsets of group \"{group}\""),
            e,
        )
    })?;
    Ok((0..n)
        .map(
            |p| match committed.find_partition(topic, p).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            },
        )
        .collect())
}
