//! Dataflow files: SQL text → typed tables and statements, with positions for messages.
//!
//! `parse` wraps `sqlparser` (after `ddl` takes out the Flink clauses it does not know), `options` checks `WITH (...)` options per connector and format,
//! and `catalog` holds the typed result. Nothing here knows about timely or Kafka clients.

pub mod catalog;
pub mod ddl;
pub mod librdkafka_properties;
pub mod options;
pub mod parse;
pub mod properties;

pub use catalog::{
    BadRecordPolicy, ColumnSource, DeliveryGuarantee, EmitMode, FileFormat, KafkaSinkMode,
    LatePolicy, MessageFormat, PrintMode, Properties, SinkConnector, SinkSpec, SourceFormat,
    SourceSpec, StartupMode,
};
