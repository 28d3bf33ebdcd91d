//! The fetcher: one thread per reading worker and source that polls the consumer and decodes
//! records into packed rows, beside the worker instead of on it.
//!
//! librdkafka hands a consumer one message per `poll`, and taking, reading and releasing a
//! message costs about as much as everything the worker does with its row afterwards (W1:
//! `poll_batch` was 46% of the worker's CPU, most of it librdkafka's). On a machine with a
//! core to spare the two halves overlap: the fetcher polls and decodes while the worker stamps,
//! aggregates and writes.
//!
//! The fetcher decides nothing: it hands over, in the consumer's order, each record's rows (or
//! its decode error, with a copy of its bytes), partition ends and consumer errors. Epochs,
//! offsets, the bad-record policy and bounded mode stay with the worker's [`super::kafka`]
//! reader, so what a record means does not depend on when the fetcher read it. The channel is
//! bounded: a fetcher ahead of its worker waits, so memory stays bounded.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::error::KafkaError;
use timely::scheduling::SyncActivator;

use crate::data::Row;
use crate::error::{Error, Result};
use crate::kafka::HealthContext;
use crate::source::decode::{DecodeError, Decoder, RecordRef};
use crate::source::queue::{MessageQueue, Polled};

/// Records per batch handed to the worker.
const BATCH_RECORDS: usize = 4096;

/// Batches in flight between a fetcher and its worker (about 7 MB of word rows in all): room
/// to keep fetching while the worker closes an epoch.
const BATCHES_IN_FLIGHT: usize = 32;

/// How long a fetcher waits in one `poll` for a message before it looks at its stop flag (a
/// finished source joins its fetcher, so this is part of every bounded run's end).
const POLL_WAIT: Duration = Duration::from_millis(5);

/// One thing the consumer gave, in its order.
pub(super) enum Fetched {
    /// A record that decoded into the next `rows` rows of the batch.
    Record {
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// How many rows it decoded into (a CSV message gives one per line).
        rows: u32,
    },
    /// A record without a value (a tombstone).
    Tombstone {
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
    /// A record that did not decode.
    Bad(Box<BadRecord>),
    /// The end of a partition was reached.
    Eof(i32),
    /// A consumer error.
    Error(Box<KafkaError>),
}

/// A record that did not decode, with a copy of its bytes (for a dead-letter topic).
pub(super) struct BadRecord {
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub error: DecodeError,
}

impl BadRecord {
    /// The record, borrowed as the decoder saw it.
    pub fn record(&self) -> RecordRef<'_> {
        RecordRef {
            key: self.key.as_deref(),
            payload: self.payload.as_deref(),
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
        }
    }
}

/// What one hand-over carries: the things fetched, and the rows of their records in order.
pub(super) struct Batch {
    pub items: Vec<Fetched>,
    pub rows: Vec<Row>,
}

impl Batch {
    /// An empty batch with room for a full one (so filling it never reallocates).
    fn new() -> Batch {
        Batch {
            items: Vec::with_capacity(BATCH_RECORDS),
            rows: Vec::with_capacity(BATCH_RECORDS),
        }
    }
}

/// How a source's records are fetched: on a thread of its own, or by the worker itself.
pub(super) enum Fetcher {
    /// A thread polls and decodes; the worker takes its batches.
    Thread(FetchThread),
    /// The worker polls and decodes when its source operator runs.
    Inline {
        queue: RefCell<MessageQueue<HealthContext>>,
        decoder: Box<Decoder>,
        /// The batch emptied last, to fill again.
        spare: RefCell<Option<Batch>>,
    },
}

impl Fetcher {
    /// Fetch the records of `topic` that `queue` holds, decoding with `decoder`: on a thread
    /// (`thread`; `wake` activates the worker's source operator when a batch is ready) or
    /// inline.
    pub fn start(
        topic: &str,
        queue: MessageQueue<HealthContext>,
        decoder: Decoder,
        wake: SyncActivator,
        thread: bool,
    ) -> Result<Fetcher> {
        if !thread {
            return Ok(Fetcher::Inline {
                queue: RefCell::new(queue),
                decoder: Box::new(decoder),
                spare: RefCell::new(None),
            });
        }
        Ok(Fetcher::Thread(FetchThread::start(
            format!("fetch:{topic}"),
            queue,
            decoder,
            wake,
        )?))
    }

    /// The next batch if one is ready. `Ok(None)`: nothing yet.
    pub fn try_next(&self) -> Result<Option<Batch>> {
        match self {
            Fetcher::Thread(t) => t.try_next(),
            Fetcher::Inline {
                queue,
                decoder,
                spare,
            } => {
                let mut batch = spare.take().unwrap_or_else(Batch::new);
                fill(&mut queue.borrow_mut(), decoder, &mut batch, Duration::ZERO);
                if batch.items.is_empty() {
                    *spare.borrow_mut() = Some(batch);
                    return Ok(None);
                }
                Ok(Some(batch))
            }
        }
    }

    /// Give back a batch the worker has emptied, to be filled again (a full batch's buffers
    /// are large enough that allocating them afresh each time maps and faults in new pages).
    pub fn recycle(&self, batch: Batch) {
        match self {
            Fetcher::Thread(t) => {
                let _ = t.empties.send(batch);
            }
            Fetcher::Inline { spare, .. } => *spare.borrow_mut() = Some(batch),
        }
    }

    /// Stop fetching (a thread ends within one poll wait).
    pub fn stop(&self) {
        if let Fetcher::Thread(t) = self {
            t.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The worker's end of a fetcher thread. Dropping it stops and joins the thread.
pub(super) struct FetchThread {
    batches: Option<Receiver<Batch>>,
    /// Emptied batches going back to the thread.
    empties: Sender<Batch>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FetchThread {
    fn start(
        name: String,
        mut queue: MessageQueue<HealthContext>,
        decoder: Decoder,
        wake: SyncActivator,
    ) -> Result<FetchThread> {
        let (send, batches) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let (empties, emptied) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || fetch(&mut queue, &decoder, &send, &emptied, &wake, &stopping))
            .map_err(|e| Error::Internal(format!("cannot start a fetcher thread: {e}")))?;
        Ok(FetchThread {
            batches: Some(batches),
            empties,
            stop,
            thread: Some(thread),
        })
    }

    fn try_next(&self) -> Result<Option<Batch>> {
        let Some(batches) = &self.batches else {
            return Ok(None);
        };
        match batches.try_recv() {
            Ok(batch) => Ok(Some(batch)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(Error::Internal(
                "the fetcher thread ended while its source was still reading".into(),
            )),
        }
    }
}

impl Drop for FetchThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Hanging up first ends a fetcher that waits for room in the channel.
        drop(self.batches.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The fetcher thread's loop: wait for a message, take every one that is ready up to a batch,
/// hand the batch over, repeat until stopped or hung up.
fn fetch(
    queue: &mut MessageQueue<HealthContext>,
    decoder: &Decoder,
    send: &SyncSender<Batch>,
    emptied: &Receiver<Batch>,
    wake: &SyncActivator,
    stop: &AtomicBool,
) {
    let mut batch = Batch::new();
    while !stop.load(Ordering::Relaxed) {
        fill(queue, decoder, &mut batch, POLL_WAIT);
        if batch.items.is_empty() {
            continue;
        }
        let next = emptied.try_recv().unwrap_or_else(|_| Batch::new());
        let batch = std::mem::replace(&mut batch, next);
        if send.send(batch).is_err() {
            return; // the worker hung up
        }
        if wake.activate().is_err() {
            return; // the worker is gone
        }
    }
}

/// Fill `batch` with what the consumer has ready, up to [`BATCH_RECORDS`], waiting up to
/// `wait` for the first.
fn fill(
    queue: &mut MessageQueue<HealthContext>,
    decoder: &Decoder,
    batch: &mut Batch,
    mut wait: Duration,
) {
    while batch.items.len() < BATCH_RECORDS {
        let room = BATCH_RECORDS - batch.items.len();
        let taken = queue.take(wait, room, |polled| {
            let item = match polled {
                Polled::Record(rec) => record(decoder, rec, &mut batch.rows),
                Polled::Eof(p) => Fetched::Eof(p),
                Polled::Error(e) => Fetched::Error(Box::new(e)),
            };
            batch.items.push(item);
        });
        if taken == 0 {
            break;
        }
        wait = Duration::ZERO;
    }
}

/// One record, decoded into `rows`.
fn record(decoder: &Decoder, rec: RecordRef<'_>, rows: &mut Vec<Row>) -> Fetched {
    if rec.payload.is_none() {
        return Fetched::Tombstone {
            partition: rec.partition,
            offset: rec.offset,
        };
    }
    let before = rows.len();
    match decoder.decode(rec, rows) {
        Ok(()) => Fetched::Record {
            partition: rec.partition,
            offset: rec.offset,
            rows: (rows.len() - before) as u32,
        },
        Err(error) => Fetched::Bad(Box::new(BadRecord {
            key: rec.key.map(<[u8]>::to_vec),
            payload: rec.payload.map(<[u8]>::to_vec),
            partition: rec.partition,
            offset: rec.offset,
            timestamp: rec.timestamp,
            error,
        })),
    }
}
