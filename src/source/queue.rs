//! Many messages per call: a consumer's partitions re-routed to one queue of their own, read
//! with librdkafka's `rd_kafka_consume_batch_queue`.
//!
//! rdkafka's `BaseConsumer::poll` hands over one message per call, and each call takes the
//! queue's lock, reads the clock and allocates the event's reference count (together about a
//! tenth of W1's samples before this). The batch call takes up to a batch under one wait. The
//! consumer's own queue keeps everything that is not a message (statistics, errors,
//! rebalances), so `poll` still serves those: [`MessageQueue::take`] polls it once per call.
//!
//! The unsafe code here is the FFI calls and reading the message structs librdkafka hands
//! over, each destroyed before `take` returns; nothing borrowed from one outlives it.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::bindings as rd;
use rdkafka::consumer::{Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};

use crate::error::{Error, Result};
use crate::kafka::GroupConsumer;
use crate::source::decode::RecordRef;

/// Most messages one batch call returns.
const MAX_BATCH: usize = 1024;

/// What one message (or consumer event) is.
pub(crate) enum Polled<'a> {
    /// A record, borrowed from librdkafka's message until the callback returns.
    Record(RecordRef<'a>),
    /// The end of a partition was reached.
    Eof(i32),
    /// A consumer error.
    Error(KafkaError),
}

/// The messages of a consumer's assigned partitions, on a queue of their own.
pub(crate) struct MessageQueue<C: ConsumerContext + 'static> {
    consumer: Arc<GroupConsumer<C>>,
    queue: *mut rd::rd_kafka_queue_t,
    topic: CString,
    partitions: Vec<i32>,
    messages: Vec<*mut rd::rd_kafka_message_t>,
}

// The queue handle is librdkafka's, which is thread-safe; the message pointers are only held
// within one `take`.
unsafe impl<C: ConsumerContext + 'static> Send for MessageQueue<C> {}

impl<C: ConsumerContext + 'static> MessageQueue<C> {
    /// Route the messages of `partitions` of `topic` to a new queue; call it before the
    /// consumer is assigned the partitions, so that every message goes there.
    pub fn new(
        consumer: Arc<GroupConsumer<C>>,
        topic: &str,
        partitions: &[i32],
    ) -> Result<MessageQueue<C>> {
        let topic = CString::new(topic)
            .map_err(|_| Error::Internal(format!("topic name \"{topic}\" holds a NUL byte")))?;
        let rk = consumer.client().native_ptr();
        // SAFETY: `rk` is the live client `consumer` owns; each partition queue handle is
        // released right after it is forwarded (the forwarding stays with the partition).
        let queue = unsafe { rd::rd_kafka_queue_new(rk) };
        let mut this = MessageQueue {
            consumer,
            queue,
            topic,
            partitions: Vec::new(),
            messages: Vec::with_capacity(MAX_BATCH),
        };
        for &p in partitions {
            unsafe {
                let pq = rd::rd_kafka_queue_get_partition(rk, this.topic.as_ptr(), p);
                if pq.is_null() {
                    return Err(Error::Internal(format!(
                        "no queue for partition {p} of \"{}\"",
                        this.topic.to_string_lossy()
                    )));
                }
                rd::rd_kafka_queue_forward(pq, this.queue);
                rd::rd_kafka_queue_destroy(pq);
            }
            this.partitions.push(p);
        }
        Ok(this)
    }

    /// Serve the consumer's events, then hand `each` up to `max` messages, waiting up to
    /// `wait` for the first; returns how many things were handed over.
    pub fn take(&mut self, wait: Duration, max: usize, mut each: impl FnMut(Polled<'_>)) -> usize {
        let mut handed = 0;
        // Statistics and errors. Messages come here only if the queue was made after the
        // consumer's first fetch (make it before `assign`): they would be older than the
        // queue's.
        while let Some(polled) = self.consumer.poll(Duration::ZERO) {
            handed += 1;
            match polled {
                Ok(m) => each(Polled::Record(RecordRef {
                    key: m.key(),
                    payload: m.payload(),
                    partition: m.partition(),
                    offset: m.offset(),
                    timestamp: m.timestamp().to_millis(),
                })),
                Err(KafkaError::PartitionEOF(p)) => each(Polled::Eof(p)),
                Err(e) => each(Polled::Error(e)),
            }
        }
        let max = max.min(MAX_BATCH);
        if max == 0 {
            return handed;
        }
        let wait = if handed > 0 { Duration::ZERO } else { wait };
        self.messages.clear();
        // SAFETY: the buffer has room for `max` pointers; librdkafka writes `n` of them.
        let n = unsafe {
            rd::rd_kafka_consume_batch_queue(
                self.queue,
                wait.as_millis().min(i32::MAX as u128) as i32,
                self.messages.as_mut_ptr(),
                max,
            )
        };
        if n <= 0 {
            return handed;
        }
        unsafe { self.messages.set_len(n as usize) };
        for &m in &self.messages {
            // SAFETY: `m` is a message librdkafka returned and has not been destroyed; the
            // slices borrowed from it are dropped before it is, at the end of this iteration.
            unsafe {
                let msg = &*m;
                let polled = if msg.err == RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR {
                    let mut kind = rd::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
                    let ts = rd::rd_kafka_message_timestamp(m, &mut kind);
                    Polled::Record(RecordRef {
                        key: bytes(msg.key, msg.key_len),
                        payload: bytes(msg.payload, msg.len),
                        partition: msg.partition,
                        offset: msg.offset,
                        timestamp: (ts >= 0).then_some(ts),
                    })
                } else if msg.err == RDKafkaRespErr::RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    Polled::Eof(msg.partition)
                } else {
                    Polled::Error(KafkaError::MessageConsumption(RDKafkaErrorCode::from(
                        msg.err,
                    )))
                };
                each(polled);
                rd::rd_kafka_message_destroy(m);
            }
        }
        self.messages.clear();
        handed + n as usize
    }
}

/// The bytes at `ptr` (`None` when null).
///
/// # Safety
/// `ptr` is null or points at `len` bytes that stay valid for `'a`.
unsafe fn bytes<'a>(ptr: *const std::ffi::c_void, len: usize) -> Option<&'a [u8]> {
    (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

impl<C: ConsumerContext + 'static> Drop for MessageQueue<C> {
    fn drop(&mut self) {
        let rk = self.consumer.client().native_ptr();
        // SAFETY: the client is alive (held by `consumer`); the partitions' messages go back
        // to their own queues before this one is released.
        unsafe {
            for &p in &self.partitions {
                let pq = rd::rd_kafka_queue_get_partition(rk, self.topic.as_ptr(), p);
                if !pq.is_null() {
                    rd::rd_kafka_queue_forward(pq, std::ptr::null_mut());
                    rd::rd_kafka_queue_destroy(pq);
                }
            }
            rd::rd_kafka_queue_destroy(self.queue);
        }
    }
}
