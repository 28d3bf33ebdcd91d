//! Typed tables: what `CREATE TABLE ... WITH (...)` declares, after every option is checked.
//!
//! A table used in `FROM` becomes a [`SourceSpec`], a table used in `INSERT INTO` a
//! [`SinkSpec`]. Nothing here knows about timely or Kafka clients; the runtime reads these.

use serde::{Deserialize, Serialize};

use crate::data::Schema;
pub use crate::spec::properties::Properties;

/// Where a source column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnSource {
    /// From the record value, decoded by the table's format: the whole value for `raw`, the
    /// JSON field of this name for `json`, the CSV field at this position for `csv`.
    Value,
    /// `METADATA FROM 'key'`: the record key as a string (NULL when absent).
    Key,
    /// `METADATA FROM 'partition'`.
    Partition,
    /// `METADATA FROM 'offset'`.
    Offset,
    /// `METADATA FROM 'timestamp'`: the Kafka record timestamp (ms).
    Timestamp,
}

/// How the value bytes of a source record are decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceFormat {
    /// The whole value is the single value column (must be UTF-8 for a STRING column).
    Raw,
    /// A JSON object; value columns are looked up by name (missing fields are NULL).
    Json,
    /// One CSV line; value columns are the fields in order (the arity must match).
    Csv {
        /// Field delimiter (`'csv.field-delimiter'`, default `,`).
        delimiter: u8,
    },
}

/// What to do with a record that does not decode (`'format.bad-records'`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BadRecordPolicy {
    /// Stop the run with an error naming topic, partition and offset (default).
    Fail,
    /// Drop the record, count it in the `records_skipped` metric, and log it.
    Skip,
    /// Write the original bytes to this topic with headers naming the source coordinates.
    DeadLetter {
        /// The dead-letter topic.
        topic: String,
    },
}

/// Where a Kafka source starts reading (`'scan.startup.mode'`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StartupMode {
    /// `earliest-offset`.
    Earliest,
    /// `latest-offset`.
    Latest,
    /// `group-offsets`: the consumer group's committed offsets (earliest where none).
    GroupOffsets,
    /// `timestamp`: the first offset whose record timestamp is at least this (ms,
    /// `'scan.startup.timestamp-millis'`).
    Timestamp(i64),
    /// `specific-offsets`: `'scan.startup.specific-offsets' = 'partition:0,offset:42;...'`;
    /// partitions not listed start at the earliest offset.
    SpecificOffsets(Vec<(i32, i64)>),
}

/// A Kafka source table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSpec {
    /// Table name.
    pub name: String,
    /// All columns, value and metadata, in declaration order.
    pub schema: Schema,
    /// Where each column of `schema` comes from (same length).
    pub column_sources: Vec<ColumnSource>,
    /// `'topic'`.
    pub topic: String,
    /// `'properties.bootstrap.servers'`.
    pub bootstrap_servers: String,
    /// `'properties.group.id'`, if given (the runtime picks a default otherwise).
    pub group_id: Option<String>,
    /// Every other `'properties.*'` option, passed to librdkafka as is (prefix removed).
    pub properties: Properties,
    /// `'format'`.
    pub format: SourceFormat,
    /// `'format.bad-records'`.
    pub bad_records: BadRecordPolicy,
    /// `'scan.startup.mode'` (default `group-offsets`, as Flink).
    pub startup: StartupMode,
    /// `'scan.bounded.mode' = 'latest-offset'`: stop at the end offsets seen at start.
    pub bounded: bool,
    /// `'connector' = 'filesystem'`: a bounded table read whole from this file at the start of
    /// every run (a static side input; `topic` and the Kafka settings are then empty).
    #[serde(default)]
    pub file: Option<String>,
    /// `WATERMARK FOR column AS expression`, as written: checked by the planner; no operator
    /// reads event time yet, so it has no effect on results (as in Flink for queries without
    /// windows or interval joins).
    #[serde(default)]
    pub watermark: Option<(String, String)>,
    /// `'scan.watermark.idle-timeout'`: a partition without records for this long (in epoch
    /// time, so replays agree) stops holding the watermark back.
    #[serde(default)]
    pub idle_timeout_ms: Option<u64>,
    /// `'late-records'` (and `'late-records.allowed-lateness'`): what a window does with a
    /// record behind the watermark.
    #[serde(default)]
    pub late_records: LatePolicy,
    /// The value columns the program reads (positions in `schema`), when it reads fewer
    /// than all of a JSON table's: set by the planner (`plan::prune::narrow_sources`); the
    /// others are not decoded and read as NULL. `None`: every column.
    #[serde(default)]
    pub columns_read: Option<Vec<usize>>,
}

impl SourceSpec {
    /// The columns a decoded row holds, as positions in `schema`, when the planner narrowed
    /// the table (`columns_read`): its metadata columns and the value columns read, in
    /// order. `None`: every column, in `schema`'s order. Rendering reads a narrowed row
    /// through this (see `render::fused::Chain::read_through`).
    pub fn layout(&self) -> Option<Vec<usize>> {
        let read = self.columns_read.as_ref()?;
        Some(
            (0..self.schema.len())
                .filter(|c| self.column_sources[*c] != ColumnSource::Value || read.contains(c))
                .collect(),
        )
    }
}

/// What a window does with a record whose time is at or behind the table's watermark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LatePolicy {
    /// Drop it and count it (`'late-records' = 'drop'`, the default): a window is final once
    /// the watermark passes its end.
    #[default]
    Drop,
    /// Let it update its window (retracted and emitted again) while the watermark is less
    /// than this many milliseconds past the record's time; drop (and count) it after that.
    Update {
        /// `'late-records.allowed-lateness'`, in milliseconds.
        lateness_ms: i64,
    },
}

impl LatePolicy {
    /// How far behind the watermark a record may be and still count.
    pub fn lateness_ms(self) -> i64 {
        match self {
            LatePolicy::Drop => 0,
            LatePolicy::Update { lateness_ms } => lateness_ms,
        }
    }
}

/// When a sink writes a window's row (`'sink.emit'`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmitMode {
    /// Every change as it happens: a window's row is updated while the window grows.
    #[default]
    Update,
    /// Each window's final row once, when the watermark passes its end (append-only: nothing
    /// is ever retracted).
    OnWindowClose,
}

/// How a Kafka sink writes changes (`'sink.mode'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KafkaSinkMode {
    /// Keyed by the primary key; the value is the row as JSON; a deleted key gets a tombstone.
    Upsert,
    /// Every change as a JSON row with `"op": "+"` or `"-"` (a row whose count changes by n
    /// appears n times).
    Changelog,
}

/// How a Kafka sink delivers (`'sink.delivery-guarantee'`, as in Flink).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryGuarantee {
    /// An idempotent producer; after a crash, output already in the topic is not written
    /// again (with a checkpoint directory), so readers see each change once.
    AtLeastOnce,
    /// Additionally, each batch of epochs is one Kafka transaction (with the source offsets
    /// when the run has a single worker), fenced by a transactional id per sink and worker.
    ExactlyOnce,
}

/// How the console sink shows results (`'print.mode'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrintMode {
    /// The changes of each epoch (`+`/`-` rows).
    Changelog,
    /// The whole result after each epoch.
    Complete,
}

/// Where a sink writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SinkConnector {
    /// `'connector' = 'kafka'` (or `'upsert-kafka'`).
    Kafka {
        /// `'topic'`.
        topic: String,
        /// `'properties.bootstrap.servers'`.
        bootstrap_servers: String,
        /// Every other `'properties.*'` option, passed to librdkafka as is (prefix removed).
        properties: Properties,
        /// `'sink.mode'`: `upsert` by default when a primary key is declared, else `changelog`.
        mode: KafkaSinkMode,
        /// `'sink.delivery-guarantee'`.
        delivery: DeliveryGuarantee,
        /// `'key.format'`: how the key columns are written as the message key.
        #[serde(default)]
        key_format: MessageFormat,
        /// `'value.format'` (or `'format'`): how the value columns are written.
        #[serde(default)]
        value_format: MessageFormat,
        /// `'value.fields-include' = 'EXCEPT_KEY'`: the value leaves the key columns out.
        #[serde(default)]
        value_except_key: bool,
    },
    /// `'connector' = 'print'` (or `'console'`).
    Print {
        /// `'print.mode'`.
        mode: PrintMode,
    },
    /// `'connector' = 'filesystem'`: JSON lines, one change a line, or CSV lines, one row a
    /// line (inserts only); with `PARTITIONED BY`, a directory of Hive-style partitions.
    File {
        /// `'path'`: the file, or with partitions the directory.
        path: String,
        /// `'format'`.
        format: FileFormat,
        /// `PARTITIONED BY` column positions, in the clause's order (empty: one file).
        partition_by: Vec<usize>,
    },
    /// `'connector' = 'blackhole'`: every change is computed and dropped (as in Flink; for
    /// benchmarks).
    Blackhole,
}

/// A sink table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkSpec {
    /// Table name.
    pub name: String,
    /// Columns in declaration order.
    pub schema: Schema,
    /// Positions of the `PRIMARY KEY (...) NOT ENFORCED` columns (empty when none).
    pub primary_key: Vec<usize>,
    /// Where and how to write.
    pub connector: SinkConnector,
    /// `'sink.emit'`.
    #[serde(default)]
    pub emit: EmitMode,
}

/// How a file sink writes rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    /// A JSON object per change, with `op` and `epoch`.
    Json,
    /// The row's values as a CSV line (RFC 4180 quoting; NULL is an empty field); inserts
    /// only, as Flink's file system sink takes only appends.
    Csv,
}

/// How a Kafka sink writes a message key or value, as Flink's formats do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MessageFormat {
    /// A JSON object of the columns.
    #[default]
    Json,
    /// The columns as a CSV line (RFC 4180 quoting, NULL an empty field).
    Csv,
    /// One STRING column's bytes as they are (NULL: no key, or a tombstone value).
    Raw,
}
