//! Sources: reading Kafka, decoding records, applying the bad-record policy, and recording
//! which offsets each epoch covers. Sources never decide commits; `progress` does.

pub mod decode;
mod fetch;
pub mod file;
pub mod json;
pub mod kafka;
pub(crate) mod queue;
pub mod statistics;

pub use kafka::{assigned_partitions, render_kafka_source, SourceHandle, SourceSettings};
