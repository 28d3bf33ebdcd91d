//! The Kafka sink: upsert by primary key (tombstone on delete) or a `+`/`-` changelog, JSON.
//!
//! Every message carries the header `ddflow.epoch` (the epoch it belongs to) and goes to an
//! explicit partition: CRC-32 of the key's bytes (of the row's JSON without a key) modulo the
//! topic's partitions. Partition `p` is written only by worker `p % workers`, so each
//! partition holds its epochs in order. Delivery is tracked per epoch in the producer context:
//! an epoch is durable when all its messages (and those of every earlier epoch) are
//! acknowledged, so under constant load durability still advances epoch by epoch (a failed
//! delivery fails the run); the acknowledged offsets give the sink's position for checkpoints.
//!
//! On recovery the writer reads its partitions from the checkpointed positions to their ends
//! and remembers the messages of epochs after the checkpoint; re-formed epochs then skip
//! messages the topic already holds, so a change appears once however often the run crashed.
//! With `'sink.delivery-guarantee' = 'exactly-once'` each batch of epochs is also one Kafka
//! transaction (`transactional.id` = `<group>-<sink>-<worker>`, which fences an older
//! incarnation of the same writer).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::message::{DeliveryResult, Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};

use crate::control::RunControl;
use crate::data::{row_to_json, value_to_json, Datum, Row, Schema};
use crate::error::{Error, Result};
use crate::kafka::{
    create_client, offsets_list, producer_config, read_partitions_with, send_waiting,
};
use crate::metrics::Metrics;
use crate::resume::{PositionLog, SinkProgress, SinkResume, SinkState};
use crate::sink::format::csv_line;
use crate::sink::{EpochWriter, SinkSettings};
use crate::source::{assigned_partitions, SourceHandle};
use crate::spec::{DeliveryGuarantee, KafkaSinkMode, MessageFormat, SinkConnector, SinkSpec};
use crate::timestamp::{Diff, Time};

/// The header naming a message's epoch.
pub const EPOCH_HEADER: &str = "ddflow.epoch";

/// Counts acknowledgements, remembers the first delivery failure, and tracks per partition
/// the offset after the last acknowledged message of each epoch.
#[derive(Default)]
pub struct AckContext {
    /// Messages sent but not yet acknowledged, per epoch.
    outstanding: Mutex<BTreeMap<Time, u64>>,
    failure: Mutex<Option<String>>,
    /// Per partition: the offset after each epoch's acknowledged messages.
    positions: Mutex<BTreeMap<i32, PositionLog<i64>>>,
    /// How many partitions the topic has.
    partitions: i32,
}

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, epoch: usize) {
        match result {
            Ok(m) => {
                if let Ok(mut outstanding) = self.outstanding.lock() {
                    let epoch = epoch as Time;
                    if let Some(n) = outstanding.get_mut(&epoch) {
                        *n -= 1;
                        if *n == 0 {
                            outstanding.remove(&epoch);
                        }
                    }
                }
                if let Ok(mut positions) = self.positions.lock() {
                    let log = positions.entry(m.partition()).or_default();
                    log.record(epoch as Time, m.offset() + 1);
                }
            }
            Err((e, _)) => {
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

impl SinkProgress for Arc<AckContext> {
    fn position(&self, epoch: Option<Time>) -> SinkState {
        let mut offsets = Vec::new();
        if let Ok(mut positions) = self.positions.lock() {
            for (p, log) in positions.iter_mut() {
                if let Some(next) = log.at(epoch) {
                    offsets.push((*p, next));
                }
            }
        }
        SinkState::Kafka {
            offsets,
            partitions: self.partitions,
        }
    }
}

/// How a sink's rows become message keys and values (`'key.format'`, `'value.format'`,
/// `'value.fields-include'`).
#[derive(Debug, Clone)]
pub struct Encoding {
    schema: Schema,
    /// Key columns, in column order (empty: no key).
    key: Vec<usize>,
    key_format: MessageFormat,
    /// Value columns, in column order.
    value: Vec<usize>,
    value_format: MessageFormat,
}

impl Encoding {
    /// The encoding `spec` asks for (JSON key and value for a sink of another connector).
    pub fn of(spec: &SinkSpec) -> Encoding {
        let (key_format, value_format, except_key) = match &spec.connector {
            SinkConnector::Kafka {
                key_format,
                value_format,
                value_except_key,
                ..
            } => (*key_format, *value_format, *value_except_key),
            _ => (MessageFormat::Json, MessageFormat::Json, false),
        };
        let mut key = spec.primary_key.clone();
        key.sort_unstable();
        let value = (0..spec.schema.len())
            .filter(|i| !except_key || !key.contains(i))
            .collect();
        Encoding {
            schema: spec.schema.clone(),
            key,
            key_format,
            value,
            value_format,
        }
    }

    /// The message key of `row` (`None`: no key columns, or a NULL `raw` key).
    pub fn key(&self, row: &Row) -> Result<Option<String>> {
        if self.key.is_empty() {
            return Ok(None);
        }
        self.encode(self.key_format, &self.key, &row.unpack(), None)
    }

    /// The message value of `row`, with `"op"` added to a JSON value when `op` is given
    /// (`None`: a NULL `raw` value).
    pub fn value(&self, row: &Row, op: Option<&str>) -> Result<Option<String>> {
        self.encode(self.value_format, &self.value, &row.unpack(), op)
    }

    fn encode(
        &self,
        format: MessageFormat,
        cols: &[usize],
        datums: &[Datum<'_>],
        op: Option<&str>,
    ) -> Result<Option<String>> {
        let at = |i: usize| datums.get(i).copied().unwrap_or_default();
        Ok(Some(match format {
            MessageFormat::Json => {
                let mut map: serde_json::Map<_, _> = (cols.iter())
                    .map(|&i| {
                        let c = &self.schema.columns[i];
                        (c.name.clone(), value_to_json(at(i), c.ty))
                    })
                    .collect();
                if let Some(op) = op {
                    map.insert("op".into(), serde_json::Value::from(op));
                }
                serde_json::Value::Object(map).to_string()
            }
            MessageFormat::Csv => {
                csv_line(cols.iter().map(|&i| (at(i), self.schema.columns[i].ty)))
            }
            MessageFormat::Raw => match cols.first().map(|&i| at(i)) {
                Some(Datum::Str(s)) => s.to_string(),
                _ => return Ok(None),
            },
        }))
    }

    /// The output partition of `row` over `partitions`: CRC-32 of its encoded key (of the
    /// whole row's JSON without a key).
    pub fn partition_of(&self, row: &Row, partitions: i32) -> i32 {
        let text = match self.key(row) {
            Ok(Some(k)) => k,
            _ => serde_json::Value::Object(row_to_json(&self.schema, row)).to_string(),
        };
        partition_for(&text, partitions)
    }
}

/// The output partition of a message whose key (or, without a key, row) JSON is `text`.
fn partition_for(text: &str, partitions: i32) -> i32 {
    (crc32fast::hash(text.as_bytes()) % partitions.max(1) as u32) as i32
}

/// A message as the output topic holds it: `(partition, key, value)`.
type Written = (i32, Option<String>, Option<String>);

/// Writes epochs to one Kafka topic.
pub struct KafkaWriter {
    sink: String,
    /// The sink's exported count of messages produced.
    messages: prometheus_client::metrics::counter::Counter,
    topic: String,
    encoding: Encoding,
    mode: KafkaSinkMode,
    partitions: i32,
    producer: BaseProducer<AckContext>,
    control: Arc<RunControl>,
    /// Messages already in the topic for epochs after the restored checkpoint.
    written: BTreeMap<Time, HashMap<Written, u32>>,
    transactional: bool,
    in_transaction: bool,
    timeout: Duration,
    epoch: Time,
    /// `epoch` as its header value.
    epoch_text: String,
    /// Sources whose offsets go into each transaction (single-worker runs without checkpoints).
    offsets_in_transaction: Vec<SourceHandle>,
}

impl KafkaWriter {
    /// A producer for `spec` (which must have a Kafka connector) writing the partitions
    /// `p % peers == index` of its `partitions`.
    pub fn new(
        spec: &SinkSpec,
        settings: &SinkSettings,
        partitions: i32,
        (index, peers): (usize, usize),
        resume: &SinkResume,
        offsets_in_transaction: Vec<SourceHandle>,
        control: Arc<RunControl>,
    ) -> Result<Self> {
        let SinkConnector::Kafka {
            topic,
            bootstrap_servers,
            properties,
            mode,
            delivery,
            ..
        } = &spec.connector
        else {
            return Err(Error::Internal(format!(
                "sink \"{}\" is not a Kafka sink",
                spec.name
            )));
        };
        let bootstrap = settings
            .bootstrap_override
            .as_deref()
            .unwrap_or(bootstrap_servers);
        let mine = assigned_partitions(partitions, index, peers);
        let context = AckContext {
            partitions,
            ..Default::default()
        };
        let mut starts = Vec::new();
        if let Ok(mut positions) = context.positions.lock() {
            let restored = match resume.state.as_ref() {
                Some(SinkState::Kafka {
                    offsets,
                    partitions: before,
                }) => {
                    if *before != 0 && *before != partitions {
                        return Err(Error::Sink {
                            sink: spec.name.clone(),
                            message: format!(
                                "topic \"{topic}\" had {before} partitions when the checkpoint was written and has {partitions} now: rows go to partitions by key, so the output written before could not be found and continued"
                            ),
                        });
                    }
                    offsets.clone()
                }
                _ => Vec::new(),
            };
            for p in &mine {
                let at = restored.iter().find(|(q, _)| q == p).map(|(_, o)| *o);
                positions.insert(*p, PositionLog::starting_at(at));
                starts.push((*p, at.unwrap_or(0)));
            }
        }
        let transactional = *delivery == DeliveryGuarantee::ExactlyOnce;
        let mut config = producer_config(bootstrap, properties);
        // Deliveries wait out a broker outage of up to --max-outage, then fail the run.
        config.set(
            "message.timeout.ms",
            settings.max_outage.as_millis().max(1000).to_string(),
        );
        if transactional {
            config.set(
                "transaction.timeout.ms",
                settings.max_outage.as_millis().max(60_000).to_string(),
            );
            config.set(
                "transactional.id",
                format!("{}-{}-{index}", settings.group_id, spec.name),
            );
        }
        let producer: BaseProducer<AckContext> = create_client(
            &config,
            context,
            format!("cannot create a producer for sink \"{}\"", spec.name),
        )?;
        if transactional {
            producer
                .init_transactions(settings.broker_timeout)
                .map_err(|e| {
                    Error::kafka(
                        format!("cannot start transactions for sink \"{}\"", spec.name),
                        e,
                    )
                })?;
        }
        let mut written: BTreeMap<Time, HashMap<Written, u32>> = BTreeMap::new();
        let after_checkpoint = |epoch: Time| resume.written_through.is_none_or(|w| epoch > w);
        let recovering = resume.written_through.is_some() || resume.replay_until > 0;
        if recovering && after_checkpoint(resume.replay_until) {
            for r in read_partitions_with(
                bootstrap,
                properties,
                topic,
                &starts,
                settings.broker_timeout,
            )? {
                let Some(epoch) = r.header(EPOCH_HEADER).and_then(|e| e.parse::<Time>().ok())
                else {
                    continue;
                };
                if after_checkpoint(epoch) && epoch <= resume.replay_until {
                    *written
                        .entry(epoch)
                        .or_default()
                        .entry((r.partition, r.key, r.value))
                        .or_insert(0) += 1;
                }
            }
            tracing::info!(
                sink = %spec.name,
                epochs = written.len(),
                messages = written.values().flat_map(|m| m.values()).map(|n| *n as u64).sum::<u64>(),
                "output already written after the checkpoint (will not be written again)"
            );
        }
        Ok(KafkaWriter {
            sink: spec.name.clone(),
            messages: control.metrics.exported.sink(&spec.name).messages,
            topic: topic.clone(),
            encoding: Encoding::of(spec),
            mode: *mode,
            partitions,
            producer,
            control,
            written,
            transactional,
            in_transaction: false,
            timeout: settings.broker_timeout,
            epoch: 0,
            epoch_text: String::new(),
            offsets_in_transaction,
        })
    }

    /// Add `source`'s offsets after the epochs written so far to the open transaction.
    fn send_offsets(&self, source: &SourceHandle) -> Result<()> {
        let Some(consumer) = &source.consumer else {
            return Ok(());
        };
        let log = source.log.borrow();
        let Some(binding) = log.latest_below(Some(self.epoch + 1)) else {
            return Ok(());
        };
        let tpl = offsets_list(&source.topic, &binding.next_offsets);
        let group = consumer.group_metadata().ok_or_else(|| Error::Sink {
            sink: self.sink.clone(),
            message: "the source consumer has no group metadata".into(),
        })?;
        self.producer
            .send_offsets_to_transaction(&tpl, &group, self.timeout)
            .map_err(|e| Error::Sink {
                sink: self.sink.clone(),
                message: format!("cannot add source offsets to a transaction: {e}"),
            })
    }

    /// The shared delivery tracker (the sink's position for checkpoints).
    pub fn progress(&self) -> Arc<AckContext> {
        self.producer.context().clone()
    }

    fn send(&mut self, row: &Row, key: Option<&str>, value: Option<&str>) -> Result<()> {
        // `key` is the encoded key, so it gives the partition without encoding it again.
        let partition = match key {
            Some(k) => partition_for(k, self.partitions),
            None => self.encoding.partition_of(row, self.partitions),
        };
        if let Some(seen) = self.written.get_mut(&self.epoch) {
            let id = (partition, key.map(String::from), value.map(String::from));
            if let Some(n) = seen.get_mut(&id).filter(|n| **n > 0) {
                *n -= 1;
                return Ok(()); // already in the topic from before a crash
            }
        }
        let headers = OwnedHeaders::new_with_capacity(1).insert(Header {
            key: EPOCH_HEADER,
            value: Some(&self.epoch_text),
        });
        let mut record: BaseRecord<'_, str, str, usize> =
            BaseRecord::with_opaque_to(&self.topic, self.epoch as usize)
                .partition(partition)
                .headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        // Counted before sending: the acknowledgement may arrive during the next poll.
        if let Ok(mut outstanding) = self.producer.context().outstanding.lock() {
            *outstanding.entry(self.epoch).or_insert(0) += 1;
        }
        let size = key.map_or(0, str::len) + value.map_or(0, str::len);
        send_waiting(&self.producer, record).map_err(|e| {
            let too_large = e.rdkafka_error_code()
                == Some(rdkafka::types::RDKafkaErrorCode::MessageSizeTooLarge);
            Error::Sink {
                sink: self.sink.clone(),
                message: if too_large {
                    format!(
                        "cannot produce to \"{}\": a message of {size} bytes (key and value) is larger than the producer allows; raise 'properties.message.max.bytes' on the sink table (the broker's topic setting max.message.bytes must allow it too)",
                        self.topic
                    )
                } else {
                    format!("cannot produce to \"{}\": {e}", self.topic)
                },
            }
        })?;
        Metrics::add(&self.control.metrics.messages_produced, 1);
        self.messages.inc();
        Ok(())
    }

    fn write_upserts(&mut self, changes: &[(Row, Diff)]) -> Result<()> {
        // Changes are sorted by row, and rows of one key are adjacent only if the key columns
        // lead; group by key explicitly instead.
        let mut by_key: BTreeMap<Option<String>, (&Row, bool)> = BTreeMap::new();
        for (row, diff) in changes {
            let key = self.encoding.key(row)?;
            let slot = by_key.entry(key).or_insert((row, false));
            if *diff > 0 {
                *slot = (row, true);
            }
        }
        for (key, (row, live)) in by_key {
            let value = match live {
                true => self.encoding.value(row, None)?,
                false => None,
            };
            self.send(row, key.as_deref(), value.as_deref())?;
        }
        Ok(())
    }

    fn write_changelog(&mut self, changes: &[(Row, Diff)]) -> Result<()> {
        for (row, diff) in changes {
            // A JSON value carries the change's kind; other formats only ever carry inserts
            // (the planner admits no retracting query to them).
            let value = match self.encoding.value_format {
                MessageFormat::Json => {
                    let op = if *diff > 0 { "+" } else { "-" };
                    self.encoding.value(row, Some(op))?
                }
                _ if *diff < 0 => {
                    return Err(Error::Internal(format!(
                        "a retraction reached sink \"{}\", whose value format cannot carry it",
                        self.sink
                    )))
                }
                _ => self.encoding.value(row, None)?,
            };
            let key = self.encoding.key(row)?;
            for _ in 0..diff.unsigned_abs() {
                self.send(row, key.as_deref(), value.as_deref())?;
            }
        }
        Ok(())
    }
}

impl EpochWriter for KafkaWriter {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        // Messages remembered for earlier epochs were not re-formed: the run is not
        // deterministic (or the dataflow changed), which the output should not hide.
        while let Some(entry) = self.written.first_entry() {
            if *entry.key() >= time {
                break;
            }
            let (epoch, left) = entry.remove_entry();
            let left: u32 = left.values().sum();
            if left > 0 {
                tracing::warn!(sink = %self.sink, epoch = %crate::timestamp::epoch_text(epoch), messages = left, "output written before a crash was not produced again");
            }
        }
        if self.transactional && !self.in_transaction {
            self.producer.begin_transaction().map_err(|e| Error::Sink {
                sink: self.sink.clone(),
                message: format!("cannot begin a transaction: {e}"),
            })?;
            self.in_transaction = true;
        }
        self.epoch = time;
        self.epoch_text = time.to_string();
        match self.mode {
            KafkaSinkMode::Upsert => self.write_upserts(changes),
            KafkaSinkMode::Changelog => self.write_changelog(changes),
        }
    }

    fn end_batch(&mut self) -> Result<()> {
        if std::mem::take(&mut self.in_transaction) {
            for source in &self.offsets_in_transaction {
                self.send_offsets(source)?;
            }
            self.producer
                .commit_transaction(self.timeout)
                .map_err(|e| Error::Sink {
                    sink: self.sink.clone(),
                    message: format!("cannot commit a transaction: {e}"),
                })?;
        }
        Ok(())
    }

    fn pending_since(&mut self) -> Result<Option<Time>> {
        self.producer.poll(Duration::ZERO);
        if let Some(f) = self
            .producer
            .context()
            .failure
            .lock()
            .ok()
            .and_then(|f| f.clone())
        {
            return Err(Error::Sink {
                sink: self.sink.clone(),
                message: format!(
                    "delivery to \"{}\" failed: {f} (a broker unreachable for longer than --max-outage fails the run)",
                    self.topic
                ),
            });
        }
        let outstanding = self.producer.context().outstanding.lock();
        Ok(outstanding.ok().and_then(|o| o.keys().next().copied()))
    }
}

impl Drop for KafkaWriter {
    fn drop(&mut self) {
        let _ = self.producer.flush(Duration::from_secs(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resume_refuses_a_topic_whose_partitions_changed() {
        let program = crate::plan::plan_text(
            "t.sql",
            "CREATE TABLE t (v STRING) WITH ('connector' = 'kafka', 'topic' = 'in',
               'properties.bootstrap.servers' = 'localhost:1', 'format' = 'raw');
             CREATE TABLE o (v STRING) WITH ('connector' = 'kafka', 'topic' = 'out',
               'properties.bootstrap.servers' = 'localhost:1', 'format' = 'json',
               'sink.mode' = 'changelog');
             INSERT INTO o SELECT v FROM t;",
        )
        .unwrap();
        let settings = SinkSettings {
            bootstrap_override: None,
            broker_timeout: Duration::from_secs(1),
            group_id: "g".into(),
            max_outage: Duration::from_secs(1),
        };
        let resume = SinkResume {
            written_through: Some(5),
            replay_until: 5,
            state: Some(SinkState::Kafka {
                offsets: vec![(0, 10)],
                partitions: 3,
            }),
        };
        let control = RunControl::new();
        let new = |partitions| {
            KafkaWriter::new(
                &program.sinks[0].sink,
                &settings,
                partitions,
                (0, 1),
                &resume,
                Vec::new(),
                control.clone(),
            )
        };
        match new(2) {
            Err(e) => assert!(
                e.to_string().contains(
                    "topic \"out\" had 3 partitions when the checkpoint was written and has 2 now"
                ),
                "{e}"
            ),
            Ok(_) => panic!("resumed over a topic with other partitions"),
        }
    }
}
