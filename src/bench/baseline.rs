//! The raw-consume floor: a plain rdkafka consumer with ddflow's own client settings
//! ([`crate::kafka::consumer_config`]) reading a topic from offset 0, touching every payload,
//! doing nothing else. Every throughput figure is printed as a ratio to it.
//!
//! It takes one message per `poll`, as rdkafka's API does. ddflow's sources take them in
//! batches ([`crate::source::queue`]), which reads faster; [`raw_consume_batched`] is that
//! floor, printed beside it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;

use crate::error::{Error, Result};
use crate::kafka::{assign_at, consumer_config, GroupConsumer};
use crate::source::queue::{MessageQueue, Polled};

/// Time to read `records` records of `topic` (all `partitions`, from offset 0), from creating
/// the consumer to the last record.
pub fn raw_consume(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    timeout: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    let consumer = baseline_consumer(bootstrap)?;
    let starts: Vec<(i32, i64)> = (0..partitions).map(|p| (p, 0)).collect();
    assign_at(&consumer, topic, &starts)?;
    let (mut read, mut bytes) = (0u64, 0usize);
    while read < records {
        within(start, timeout, (read, records), topic)?;
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(msg)) => {
                read += 1;
                bytes += msg.payload().map_or(0, <[u8]>::len);
            }
            Some(Err(KafkaError::PartitionEOF(_))) | None => {}
            Some(Err(e)) => tracing::debug!(error = %e, "baseline consumer error (retrying)"),
        }
    }
    let elapsed = start.elapsed();
    std::hint::black_box(bytes);
    Ok(elapsed)
}

/// [`raw_consume`] taking messages in batches, as ddflow's sources do.
pub fn raw_consume_batched(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records: u64,
    timeout: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    let consumer = baseline_consumer(bootstrap)?;
    let consumer = Arc::new(GroupConsumer::new(consumer));
    let all: Vec<i32> = (0..partitions).collect();
    let mut queue = MessageQueue::new(consumer.clone(), topic, &all)?;
    let starts: Vec<(i32, i64)> = all.iter().map(|p| (*p, 0)).collect();
    assign_at(&consumer, topic, &starts)?;
    let (mut read, mut bytes) = (0u64, 0usize);
    while read < records {
        within(start, timeout, (read, records), topic)?;
        queue.take(
            Duration::from_millis(100),
            usize::MAX,
            |polled| match polled {
                Polled::Record(r) => {
                    read += 1;
                    bytes += r.payload.map_or(0, <[u8]>::len);
                }
                Polled::Eof(_) => {}
                Polled::Error(e) => {
                    tracing::debug!(error = %e, "baseline consumer error (retrying)")
                }
            },
        );
    }
    let elapsed = start.elapsed();
    std::hint::black_box(bytes);
    Ok(elapsed)
}

/// The baseline's consumer (ddflow's consumer settings, its own group).
fn baseline_consumer(bootstrap: &str) -> Result<BaseConsumer> {
    consumer_config(bootstrap, "ddflow-bench-baseline", &[])
        .create()
        .map_err(|e| Error::kafka(format!("cannot create a consumer for \"{bootstrap}\""), e))
}

/// An error once `timeout` has passed since `start` with `read` of `records` read.
fn within(
    start: Instant,
    timeout: Duration,
    (read, records): (u64, u64),
    topic: &str,
) -> Result<()> {
    if start.elapsed() > timeout {
        return Err(Error::KafkaTimeout(format!(
            "baseline read {read} of {records} records of \"{topic}\" within {timeout:?}"
        )));
    }
    Ok(())
}
