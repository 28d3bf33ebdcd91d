//! Watching an upsert output topic from the outside: the latest value per key, the sum of one
//! count column over all keys, and a callback per message for latency measurement.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;

use crate::error::{Error, Result};
use crate::kafka::{assign_at, consumer_config};

/// A reader of an upsert topic that keeps its current state.
pub struct Watcher {
    consumer: BaseConsumer,
    topic: String,
    count_field: String,
    counts: HashMap<Vec<u8>, i64>,
    /// The sum of `count_field` over the current value of every key.
    pub sum: i64,
    /// Messages read so far.
    pub messages: u64,
    /// Per message: milliseconds from its epoch's start (the epoch header) until read here,
    /// and when it was read (ms since the Unix epoch).
    pub epoch_lag_ms: Vec<(u64, f64)>,
}

impl Watcher {
    /// Read `topic` (all `partitions`) from the start; `count_field` is the JSON field summed.
    pub fn new(bootstrap: &str, topic: &str, partitions: i32, count_field: &str) -> Result<Self> {
        let consumer: BaseConsumer = consumer_config(bootstrap, "ddflow-bench-watch", &[])
            .create()
            .map_err(|e| {
                Error::kafka(format!("cannot create a consumer for \"{bootstrap}\""), e)
            })?;
        let starts: Vec<(i32, i64)> = (0..partitions).map(|p| (p, 0)).collect();
        assign_at(&consumer, topic, &starts)?;
        Ok(Watcher {
            consumer,
            topic: topic.to_string(),
            count_field: count_field.to_string(),
            counts: HashMap::new(),
            sum: 0,
            messages: 0,
            epoch_lag_ms: Vec::new(),
        })
    }

    /// Distinct keys currently present.
    pub fn keys(&self) -> usize {
        self.counts.len()
    }

    /// Read until `done(self)` holds; returns when it first held. Calls `alive` every 100 ms
    /// (to fail fast when the producer of the topic died) and `on_message(value, received)`
    /// for every non-tombstone message. Fails after `timeout`.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&Watcher) -> bool,
        mut alive: impl FnMut() -> Result<()>,
        mut on_message: impl FnMut(&serde_json::Value, Instant),
    ) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        let mut next_check = Instant::now();
        loop {
            if done(self) {
                return Ok(Instant::now());
            }
            let now = Instant::now();
            if now >= next_check {
                alive()?;
                if now > deadline {
                    return Err(Error::KafkaTimeout(format!(
                        "output topic \"{}\" did not reach the expected state within {timeout:?} \
                         (sum {}, {} keys, {} messages)",
                        self.topic,
                        self.sum,
                        self.counts.len(),
                        self.messages
                    )));
                }
                next_check = now + Duration::from_millis(100);
            }
            match self.consumer.poll(Duration::from_millis(5)) {
                None | Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e)) => tracing::debug!(error = %e, "watcher consumer error (retrying)"),
                Some(Ok(msg)) => {
                    let received = Instant::now();
                    self.messages += 1;
                    if let Some(epoch) = epoch_of(&msg) {
                        let now = crate::timestamp::now_ms();
                        self.epoch_lag_ms.push((now, now as f64 - epoch as f64));
                    }
                    let key = msg.key().unwrap_or_default().to_vec();
                    let old = match msg.payload() {
                        None => self.counts.remove(&key),
                        Some(bytes) => {
                            let value: serde_json::Value =
                                serde_json::from_slice(bytes).map_err(|e| {
                                    Error::Internal(format!(
                                        "output topic \"{}\" holds a non-JSON value: {e}",
                                        self.topic
                                    ))
                                })?;
                            let n = value
                                .get(&self.count_field)
                                .and_then(serde_json::Value::as_i64)
                                .unwrap_or(0);
                            on_message(&value, received);
                            self.sum += n;
                            self.counts.insert(key, n)
                        }
                    };
                    self.sum -= old.unwrap_or(0);
                }
            }
        }
    }
}

/// The epoch a ddflow Kafka sink stamped on a message.
fn epoch_of(msg: &rdkafka::message::BorrowedMessage<'_>) -> Option<u64> {
    use rdkafka::message::Headers;
    let headers = msg.headers()?;
    let h = headers
        .iter()
        .find(|h| h.key == crate::sink::kafka::EPOCH_HEADER)?;
    std::str::from_utf8(h.value?).ok()?.parse().ok()
}
