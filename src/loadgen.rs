//! The load generator behind `ddflow gen`: seeded, reproducible records into a topic.
//!
//! Record `i` goes to partition `i % partitions`, so each partition's content depends only on
//! the seed and the count. Keys are drawn uniformly or Zipf-distributed over `keys` distinct
//! values; a key index becomes a pronounceable word (`kalo`, `mine`, ...) or a JSON object.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::error::{Error, Result};
use crate::kafka::{ensure_topic, producer_config, send_waiting};

pub mod nexmark;

/// How keys are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyDist {
    /// Every key equally likely.
    Uniform,
    /// Zipf with this exponent (1.0 is the classic word-frequency law).
    Zipf(f64),
    /// Keys 0, 1, 2, ... in turn, wrapping around: `count = keys` gives every key once.
    Sequential,
}

/// What each record's value looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The word itself (for `'format' = 'raw'`).
    Word,
    /// `{"user": word, "amount": number, "region": name, "ts": ms}`: the produce time, or
    /// with [`LoadSpec::event_rate`] the event time of a stream of that many records a second.
    Json,
    /// The Nexmark benchmark's events (see [`nexmark`]): record `i` is event `i`, its event
    /// time advancing at [`LoadSpec::event_rate`] events a second (10,000 if unset).
    Nexmark,
}

/// One load-generation job.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Bootstrap servers.
    pub bootstrap: String,
    /// Target topic (created with `partitions` partitions if missing).
    pub topic: String,
    /// Records to produce.
    pub count: u64,
    /// Records per second (`None`: as fast as possible).
    pub rate: Option<u64>,
    /// Partitions.
    pub partitions: i32,
    /// Distinct keys.
    pub keys: u64,
    /// Key distribution.
    pub dist: KeyDist,
    /// Value shape.
    pub shape: Shape,
    /// Random seed.
    pub seed: u64,
    /// Also set the Kafka record key to the word.
    pub keyed: bool,
    /// JSON `ts` as event time: record `i` at [`EVENT_TIME_START`] + `i / event_rate` seconds,
    /// whatever the produce rate (a long stretch of event time, compressed); `None`: the
    /// produce time.
    pub event_rate: Option<u64>,
    /// Create the topic first when it does not exist.
    pub create_topic: bool,
}

/// The event time of the first record with [`LoadSpec::event_rate`]: 2026-01-01T00:00:00Z.
pub const EVENT_TIME_START: i64 = 1_767_225_600_000;

/// What a load-generation job did.
#[derive(Debug, Clone, Copy)]
pub struct LoadReport {
    /// Records acknowledged by the broker.
    pub produced: u64,
    /// Wall time including the final flush.
    pub elapsed: Duration,
}

const SYLLABLES: [&str; 16] = [
    "ka", "lo", "mi", "ne", "ru", "ta", "zo", "pe", "si", "du", "fa", "go", "hu", "ji", "be", "vo",
];
const REGIONS: [&str; 5] = ["north", "south", "east", "west", "central"];

/// The word for key index `i`: base-16 digits as syllables, so distinct indexes give distinct
/// words.
pub fn word(mut i: u64) -> String {
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[(i % 16) as usize]);
        i /= 16;
        if i == 0 {
            return w;
        }
    }
}

/// Draws key indexes in `0..keys`.
pub struct KeyGen {
    rng: StdRng,
    zipf: Option<Zipf<f64>>,
    keys: u64,
    /// The next key of the sequential distribution.
    sequential: Option<u64>,
}

impl KeyGen {
    /// A seeded generator.
    pub fn new(keys: u64, dist: KeyDist, seed: u64) -> Result<Self> {
        let keys = keys.max(1);
        let zipf = match dist {
            KeyDist::Uniform | KeyDist::Sequential => None,
            KeyDist::Zipf(s) => Some(
                Zipf::new(keys as f64, s)
                    .map_err(|e| Error::Config(format!("invalid Zipf exponent {s}: {e}")))?,
            ),
        };
        Ok(KeyGen {
            rng: StdRng::seed_from_u64(seed),
            zipf,
            keys,
            sequential: (dist == KeyDist::Sequential).then_some(0),
        })
    }

    /// The next key index.
    pub fn next_key(&mut self) -> u64 {
        if let Some(next) = self.sequential.as_mut() {
            let key = *next % self.keys;
            *next += 1;
            return key;
        }
        match &self.zipf {
            Some(z) => (z.sample(&mut self.rng) as u64).clamp(1, self.keys) - 1,
            None => self.rng.random_range(0..self.keys),
        }
    }

    /// A value for the JSON shape's `amount` field.
    pub fn amount(&mut self) -> i64 {
        self.rng.random_range(1..=1000)
    }
}

/// Produce `spec.count` records; stops early (after flushing) when `stop` is set.
pub fn generate(spec: &LoadSpec, stop: &AtomicBool) -> Result<LoadReport> {
    if spec.create_topic {
        let timeout = Duration::from_secs(10);
        ensure_topic(&spec.bootstrap, &spec.topic, spec.partitions, timeout)?;
    }
    let producer: BaseProducer =
        producer_config(&spec.bootstrap, &[("linger.ms".into(), "20".into())])
            .create()
            .map_err(|e| {
                Error::kafka(
                    format!("cannot create a producer for \"{}\"", spec.bootstrap),
                    e,
                )
            })?;
    let mut keys = KeyGen::new(spec.keys, spec.dist, spec.seed)?;
    let events = nexmark::Nexmark {
        seed: spec.seed,
        event_rate: spec.event_rate.unwrap_or(10_000),
        ..Default::default()
    };
    let start = Instant::now();
    let mut produced = 0u64;
    for i in 0..spec.count {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(rate) = spec.rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate.max(1) as f64);
            let now = Instant::now();
            if due > now {
                producer.poll(Duration::ZERO);
                std::thread::sleep(due - now);
            }
        }
        // The record's value, and its word (the Kafka key with `keyed`).
        let (value, w) = match spec.shape {
            Shape::Nexmark => (events.event(i).to_json(), String::new()),
            Shape::Word => {
                let w = word(keys.next_key());
                (w.clone(), w)
            }
            Shape::Json => {
                let k = keys.next_key();
                let w = word(k);
                let amount = keys.amount();
                let ts = match spec.event_rate {
                    Some(r) => EVENT_TIME_START + (i as u128 * 1000 / r.max(1) as u128) as i64,
                    None => crate::timestamp::now_ms() as i64,
                };
                let value = format!(
                    r#"{{"user":"{w}","amount":{amount},"region":"{}","ts":{ts}}}"#,
                    REGIONS[(k % 5) as usize]
                );
                (value, w)
            }
        };
        let partition = (i % spec.partitions.max(1) as u64) as i32;
        let mut record: BaseRecord<'_, str, str> = BaseRecord::to(&spec.topic)
            .payload(value.as_str())
            .partition(partition);
        if spec.keyed {
            record = record.key(w.as_str());
        }
        send_waiting(&producer, record)
            .map_err(|e| Error::kafka(format!("cannot produce to \"{}\"", spec.topic), e))?;
        produced += 1;
    }
    producer
        .flush(Duration::from_secs(60))
        .map_err(|e| Error::kafka(format!("cannot flush records to \"{}\"", spec.topic), e))?;
    Ok(LoadReport {
        produced,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_distinct() {
        let words: std::collections::HashSet<String> = (0..10_000).map(word).collect();
        assert_eq!(words.len(), 10_000);
        assert_eq!(word(0), "ka");
        assert_eq!(word(17), "lolo");
    }

    #[test]
    fn zipf_is_seeded_and_skewed() {
        let draw = |seed| {
            let mut g = KeyGen::new(100, KeyDist::Zipf(1.0), seed).unwrap();
            (0..10_000).map(|_| g.next_key()).collect::<Vec<_>>()
        };
        let a = draw(7);
        assert_eq!(a, draw(7));
        let zeros = a.iter().filter(|k| **k == 0).count();
        let last = a.iter().filter(|k| **k == 99).count();
        assert!(zeros > 10 * last, "key 0: {zeros}, key 99: {last}");
        assert!(a.iter().all(|k| *k < 100));
    }
}
