//! The Kafka sink: upsert by primary key (tombstone on delete) or a `+`/`-` changelog, JSON.
//!
//! Every message carries the header `ddflow.epoch` (the epoch it belongs to). Delivery is
//! tracked with a counter in the producer context: the sink is durable when every message sent
//! so far has been acknowledged; a message that fails delivery fails the run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{DeliveryResult, Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

use crate::control::RunControl;
use crate::data::{row_to_json, Datum, Row, Schema};
use crate::error::{Error, Result};
use crate::kafka::producer_config;
use crate::metrics::Metrics;
use crate::sink::{EpochWriter, SinkSettings};
use crate::spec::{KafkaSinkMode, SinkConnector, SinkSpec};
use crate::timestamp::{Diff, Time};

/// Counts acknowledgements; remembers the first delivery failure.
#[derive(Default)]
pub struct AckContext {
    acked: AtomicU64,
    failure: Mutex<Option<String>>,
}

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Release);
            }
            Err((e, _)) => {
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// Writes epochs to one Kafka topic.
pub struct KafkaWriter {
    sink: String,
    topic: String,
    schema: Schema,
    key: Vec<usize>,
    mode: KafkaSinkMode,
    producer: BaseProducer<AckContext>,
    sent: u64,
    control: Arc<RunControl>,
}

impl KafkaWriter {
    /// A producer for `spec` (which must have a Kafka connector).
    pub fn new(spec: &SinkSpec, settings: &SinkSettings, control: Arc<RunControl>) -> Result<Self> {
        let SinkConnector::Kafka {
            topic,
            bootstrap_servers,
            properties,
            mode,
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
        let producer = producer_config(bootstrap, properties)
            .create_with_context(AckContext::default())
            .map_err(|e| {
                Error::kafka(
                    format!("cannot create a producer for sink \"{}\"", spec.name),
                    e,
                )
            })?;
        Ok(KafkaWriter {
            sink: spec.name.clone(),
            topic: topic.clone(),
            schema: spec.schema.clone(),
            key: spec.primary_key.clone(),
            mode: *mode,
            producer,
            sent: 0,
            control,
        })
    }

    fn key_json(&self, row: &[Datum]) -> Option<String> {
        if self.key.is_empty() {
            return None;
        }
        let map: serde_json::Map<_, _> = self
            .key
            .iter()
            .map(|i| (self.schema.columns[*i].name.clone(), row[*i].to_json()))
            .collect();
        Some(serde_json::Value::Object(map).to_string())
    }

    fn send(&mut self, key: Option<&str>, value: Option<&str>, epoch: &str) -> Result<()> {
        let headers = OwnedHeaders::new_with_capacity(1).insert(Header {
            key: "ddflow.epoch",
            value: Some(epoch),
        });
        let mut record: BaseRecord<'_, str, str> = BaseRecord::to(&self.topic).headers(headers);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(v) = value {
            record = record.payload(v);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    self.producer.poll(Duration::from_millis(5));
                    record = r;
                }
                Err((e, _)) => {
                    return Err(Error::Sink {
                        sink: self.sink.clone(),
                        message: format!("cannot produce to \"{}\": {e}", self.topic),
                    })
                }
            }
        }
        self.sent += 1;
        Metrics::add(&self.control.metrics.messages_produced, 1);
        Ok(())
    }

    fn write_upserts(&mut self, changes: &[(Row, Diff)], epoch: &str) -> Result<()> {
        // Changes are sorted by row, and rows of one key are adjacent only if the key columns
        // lead; group by key explicitly instead.
        let mut by_key: std::collections::BTreeMap<Option<String>, Option<&Row>> =
            Default::default();
        for (row, diff) in changes {
            let key = self.key_json(row);
            let slot = by_key.entry(key).or_insert(None);
            if *diff > 0 {
                *slot = Some(row);
            }
        }
        for (key, row) in by_key {
            let value =
                row.map(|r| serde_json::Value::Object(row_to_json(&self.schema, r)).to_string());
            self.send(key.as_deref(), value.as_deref(), epoch)?;
        }
        Ok(())
    }

    fn write_changelog(&mut self, changes: &[(Row, Diff)], epoch: &str) -> Result<()> {
        for (row, diff) in changes {
            let mut object = row_to_json(&self.schema, row);
            object.insert(
                "op".into(),
                serde_json::Value::from(if *diff > 0 { "+" } else { "-" }),
            );
            let value = serde_json::Value::Object(object).to_string();
            let key = self.key_json(row);
            for _ in 0..diff.unsigned_abs() {
                self.send(key.as_deref(), Some(&value), epoch)?;
            }
        }
        Ok(())
    }
}

impl EpochWriter for KafkaWriter {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        let epoch = time.to_string();
        match self.mode {
            KafkaSinkMode::Upsert => self.write_upserts(changes, &epoch),
            KafkaSinkMode::Changelog => self.write_changelog(changes, &epoch),
        }
    }

    fn durable(&mut self) -> Result<bool> {
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
                message: format!("delivery to \"{}\" failed: {f}", self.topic),
            });
        }
        Ok(self.producer.context().acked.load(Ordering::Acquire) >= self.sent)
    }
}

impl Drop for KafkaWriter {
    fn drop(&mut self) {
        let _ = self.producer.flush(Duration::from_secs(10));
    }
}
