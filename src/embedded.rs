//! The embedded demo broker: librdkafka's in-process mock cluster, filled with generated
//! records, so the main job runs end to end over the Kafka protocol with nothing installed.
//!
//! It is a demo, not a broker: it lives in this process's memory and disappears with it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use crate::error::{Error, Result};
use crate::loadgen::{self, KeyDist, LoadSpec, Shape};
use crate::plan::ir::Program;
use crate::spec::{SinkConnector, SourceFormat};

/// Partitions of each demo source topic.
pub const DEMO_PARTITIONS: i32 = 4;

/// A running mock cluster with the program's topics created.
pub struct EmbeddedBroker {
    _cluster: MockCluster<'static, DefaultProducerContext>,
    /// Its bootstrap servers.
    pub bootstrap: String,
}

impl EmbeddedBroker {
    /// Start a one-broker mock cluster and create every topic `program` uses.
    pub fn start(program: &Program) -> Result<Self> {
        let cluster = MockCluster::new(1)
            .map_err(|e| Error::kafka("cannot start the embedded demo broker", e))?;
        let bootstrap = cluster.bootstrap_servers();
        for s in program.sources.iter().filter(|s| s.file.is_none()) {
            cluster
                .create_topic(&s.topic, DEMO_PARTITIONS, 1)
                .map_err(|e| {
                    Error::kafka(format!("cannot create demo topic \"{}\"", s.topic), e)
                })?;
        }
        for s in &program.sinks {
            if let SinkConnector::Kafka { topic, .. } = &s.sink.connector {
                cluster.create_topic(topic, 1, 1).map_err(|e| {
                    Error::kafka(format!("cannot create demo topic \"{topic}\""), e)
                })?;
            }
        }
        Ok(EmbeddedBroker {
            _cluster: cluster,
            bootstrap,
        })
    }

    /// Feed every source topic with `count` generated records at `rate` per second, on
    /// background threads (words for raw sources, JSON objects otherwise).
    pub fn feed(
        &self,
        program: &Program,
        count: u64,
        rate: u64,
        stop: Arc<AtomicBool>,
    ) -> Vec<std::thread::JoinHandle<Result<u64>>> {
        program
            .sources
            .iter()
            .filter(|s| s.file.is_none())
            .enumerate()
            .map(|(i, s)| {
                let spec = LoadSpec {
                    bootstrap: self.bootstrap.clone(),
                    topic: s.topic.clone(),
                    count,
                    rate: Some(rate),
                    partitions: DEMO_PARTITIONS,
                    keys: 1000,
                    dist: KeyDist::Zipf(1.0),
                    shape: if s.format == SourceFormat::Raw {
                        Shape::Word
                    } else {
                        Shape::Json
                    },
                    seed: 42 + i as u64,
                    keyed: false,
                    event_rate: None,
                    create_topic: false,
                };
                let stop = stop.clone();
                std::thread::spawn(move || loadgen::generate(&spec, &stop).map(|r| r.produced))
            })
            .collect()
    }
}
