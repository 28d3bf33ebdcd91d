//! `CREATE TABLE ... WITH (...)` options → typed [`SourceSpec`] / [`SinkSpec`].
//!
//! Option names follow Flink SQL's Kafka connector. Every key must be known for the table's
//! connector; all problems of one table are reported together, each naming the option, with a
//! "did you mean" hint for a misspelt key.

use crate::data::{DataType, Schema};
use crate::error::{Error, Result, Span};
use crate::spec::catalog::*;
use crate::spec::properties::{self, Properties, Role};

/// A declared table, before it is known to be a source or a sink.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Name as written.
    pub name: String,
    /// Columns with types.
    pub schema: Schema,
    /// Metadata key per column (`None`: a value column).
    pub metadata: Vec<Option<String>>,
    /// `PRIMARY KEY` column names (lowercase).
    pub primary_key: Vec<String>,
    /// `WITH` options, keys lowercase.
    pub options: Vec<(String, String)>,
    /// `PARTITIONED BY` column names as written (only a file sink takes them).
    pub partition_by: Vec<String>,
    /// Where the table is declared.
    pub span: Span,
}

impl TableDef {
    /// The value of option `key` (lowercase), as written.
    pub fn option(&self, key: &str) -> Option<&str> {
        (self.options.iter())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the table is a file (`'connector' = 'filesystem'`): read, a static table.
    pub fn is_file(&self) -> bool {
        self.option("connector") == Some("filesystem")
    }
}

const SOURCE_KEYS: &[&str] = &[
    "connector",
    "topic",
    "format",
    "csv.field-delimiter",
    "format.bad-records",
    "format.dead-letter.topic",
    "scan.startup.mode",
    "scan.startup.timestamp-millis",
    "scan.startup.specific-offsets",
    "scan.bounded.mode",
    "scan.watermark.idle-timeout",
    "late-records",
    "late-records.allowed-lateness",
];
const KAFKA_SINK_KEYS: &[&str] = &[
    "connector",
    "topic",
    "format",
    "key.format",
    "value.format",
    "key.fields",
    "value.fields-include",
    "sink.mode",
    "sink.delivery-guarantee",
    "sink.emit",
];
const PRINT_KEYS: &[&str] = &["connector", "print.mode", "sink.emit"];
const FILE_KEYS: &[&str] = &["connector", "path", "format", "sink.emit"];
const FILE_SOURCE_KEYS: &[&str] = &[
    "connector",
    "path",
    "format",
    "csv.field-delimiter",
    "format.bad-records",
];

/// Collects the problems of one table.
struct Checker<'a> {
    table: &'a TableDef,
    problems: Vec<String>,
    hint: Option<String>,
}

impl<'a> Checker<'a> {
    fn new(table: &'a TableDef, known: &[&str], properties: bool) -> Self {
        let mut c = Checker {
            table,
            problems: Vec::new(),
            hint: None,
        };
        for (key, _) in &table.options {
            if known.contains(&key.as_str()) || (properties && key.starts_with("properties.")) {
                continue;
            }
            c.problems.push(format!(
                "unknown option \"{key}\" for table \"{}\"",
                table.name
            ));
            if let Some(best) = closest(key, known.iter().copied()) {
                c.hint.get_or_insert(format!("did you mean \"{best}\"?"));
            }
        }
        c
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.table
            .options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn required(&mut self, key: &str) -> String {
        match self.get(key) {
            Some(v) => v.to_string(),
            None => {
                self.problems.push(format!(
                    "table \"{}\" needs option '{key}'",
                    self.table.name
                ));
                String::new()
            }
        }
    }

    /// An option with a fixed set of values.
    /// A duration option, as Flink writes them (`'30 s'`, `'1 min'`, `'500 ms'`, `'2h'`; a
    /// bare number is milliseconds), in milliseconds.
    fn duration_ms(&mut self, key: &str) -> Option<i64> {
        let v = self.get(key)?;
        match parse_flink_duration(v) {
            Some(ms) => Some(ms),
            None => {
                self.problems.push(format!(
                    "invalid value '{v}' for option '{key}' of table \"{}\" (expected a duration such as '30 s', '1 min' or '500 ms')",
                    self.table.name
                ));
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        key: &str,
        default: Option<T>,
        values: &[(&str, T)],
    ) -> Option<T> {
        let Some(v) = self.get(key) else {
            if default.is_none() {
                self.problems.push(format!(
                    "table \"{}\" needs option '{key}'",
                    self.table.name
                ));
            }
            return default;
        };
        match values.iter().find(|(name, _)| name.eq_ignore_ascii_case(v)) {
            Some((_, t)) => Some(*t),
            None => {
                let allowed: Vec<String> = values.iter().map(|(n, _)| format!("'{n}'")).collect();
                self.problems.push(format!(
                    "invalid value '{v}' for option '{key}' of table \"{}\" (expected {})",
                    self.table.name,
                    allowed.join(", ")
                ));
                default
            }
        }
    }

    /// The `'properties.*'` options other than bootstrap servers and group, checked.
    fn properties(&mut self, role: Role) -> Properties {
        let props: Vec<(String, String)> = self
            .table
            .options
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("properties.")
                    .map(|k| (k.to_string(), v.clone()))
            })
            .filter(|(k, _)| k != "bootstrap.servers" && k != "group.id")
            .collect();
        let (problems, hint) = properties::check(&self.table.name, role, &props);
        self.problems.extend(problems);
        if let Some(h) = hint {
            self.hint.get_or_insert(h);
        }
        Properties(props)
    }

    fn finish<T>(self, value: T) -> Result<T> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(Error::Option {
                message: self.problems.join("\n"),
                hint: self.hint,
            })
        }
    }
}

/// `PARTITIONED BY` where only a file sink takes it.
fn partitions_refused(c: &mut Checker<'_>, why: &str) {
    if !c.table.partition_by.is_empty() {
        c.problems.push(format!(
            "table \"{}\" has PARTITIONED BY, which only a 'filesystem' sink takes (it is {why})",
            c.table.name
        ));
    }
}

/// Columns whose names the sink's own fields take (`op` of a changelog, `epoch` of a file sink)
/// are refused rather than silently overwritten.
fn reserved_columns(c: &mut Checker<'_>, schema: &Schema, reserved: &[&str], by: &str) {
    for col in &schema.columns {
        if let Some(r) = reserved.iter().find(|r| col.name.eq_ignore_ascii_case(r)) {
            c.problems.push(format!(
                "column \"{}\" of sink \"{}\" has the name of the field \"{r}\" that {by} adds to every row",
                col.name, c.table.name
            ));
            c.hint.get_or_insert(format!(
                "rename the column (and alias it in the query: ... AS {}_value)",
                col.name
            ));
        }
    }
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[derive(Clone, Copy)]
enum Fmt {
    Raw,
    Json,
    Csv,
}

#[derive(Clone, Copy)]
enum Bad {
    Fail,
    Skip,
    DeadLetter,
}

#[derive(Clone, Copy)]
enum Startup {
    Earliest,
    Latest,
    Group,
    Timestamp,
    Specific,
}

/// The table as a Kafka source.
pub fn source_spec(table: &TableDef) -> Result<SourceSpec> {
    if table.is_file() {
        return file_source_spec(table);
    }
    let mut c = Checker::new(table, SOURCE_KEYS, true);
    partitions_refused(&mut c, "read");
    let connector = c.required("connector");
    if !connector.is_empty() && connector != "kafka" {
        c.problems.push(format!(
            "table \"{}\" is read, but connector '{connector}' cannot be a source (use 'kafka', or 'filesystem' for a static file)",
            table.name
        ));
    }
    let topic = c.required("topic");
    let bootstrap_servers = c.required("properties.bootstrap.servers");
    let fmt = c.choice(
        "format",
        None,
        &[("raw", Fmt::Raw), ("json", Fmt::Json), ("csv", Fmt::Csv)],
    );
    let format = match fmt {
        Some(Fmt::Raw) | None => SourceFormat::Raw,
        Some(Fmt::Json) => SourceFormat::Json,
        Some(Fmt::Csv) => {
            let d = c.get("csv.field-delimiter").unwrap_or(",");
            if d.len() != 1 {
                c.problems.push(format!(
                    "option 'csv.field-delimiter' of table \"{}\" must be one character, got '{d}'",
                    table.name
                ));
            }
            SourceFormat::Csv {
                delimiter: d.bytes().next().unwrap_or(b','),
            }
        }
    };
    let bad = c.choice(
        "format.bad-records",
        Some(Bad::Fail),
        &[
            ("fail", Bad::Fail),
            ("skip", Bad::Skip),
            ("dead-letter", Bad::DeadLetter),
        ],
    );
    let bad_records = match bad {
        Some(Bad::DeadLetter) => BadRecordPolicy::DeadLetter {
            topic: c.required("format.dead-letter.topic"),
        },
        Some(Bad::Skip) => BadRecordPolicy::Skip,
        _ => BadRecordPolicy::Fail,
    };
    let startup = startup_mode(&mut c);
    let bounded = c
        .choice(
            "scan.bounded.mode",
            Some(false),
            &[("unbounded", false), ("latest-offset", true)],
        )
        .unwrap_or(false);
    let mut column_sources = Vec::new();
    for (col, meta) in table.schema.columns.iter().zip(&table.metadata) {
        column_sources.push(match meta.as_deref() {
            None => ColumnSource::Value,
            Some(key) => metadata_source(&mut c, &col.name, key, col.ty),
        });
    }
    let values: Vec<_> = table
        .schema
        .columns
        .iter()
        .zip(&column_sources)
        .filter(|(_, s)| **s == ColumnSource::Value)
        .collect();
    if matches!(fmt, Some(Fmt::Raw)) && (values.len() != 1 || values[0].0.ty != DataType::String) {
        c.problems.push(format!(
            "table \"{}\" has format 'raw', which needs exactly one non-metadata column of type STRING (it has {})",
            table.name,
            values.len()
        ));
    }
    if matches!(fmt, Some(Fmt::Csv)) {
        if let Some((col, _)) = values
            .iter()
            .find(|(c, _)| matches!(c.ty, DataType::Array(_)))
        {
            c.problems.push(format!(
                "table \"{}\" has format 'csv', which cannot hold the ARRAY column \"{}\" (use 'format' = 'json')",
                table.name, col.name
            ));
        }
    }
    let idle_timeout_ms = c
        .duration_ms("scan.watermark.idle-timeout")
        .map(|ms| ms as u64);
    let late = c.choice(
        "late-records",
        Some(false),
        &[("drop", false), ("update", true)],
    );
    let lateness = c.duration_ms("late-records.allowed-lateness");
    let late_records = match (late, lateness) {
        (Some(true), Some(lateness_ms)) => LatePolicy::Update { lateness_ms },
        (Some(true), None) => {
            c.problems.push(format!(
                "table \"{}\" has 'late-records' = 'update', which needs 'late-records.allowed-lateness' (how long a window takes late records, e.g. '1 min')",
                table.name
            ));
            LatePolicy::Drop
        }
        (_, Some(_)) => {
            c.problems.push(format!(
                "table \"{}\" has 'late-records.allowed-lateness' but drops late records: set 'late-records' = 'update'",
                table.name
            ));
            LatePolicy::Drop
        }
        _ => LatePolicy::Drop,
    };
    let spec = SourceSpec {
        name: table.name.clone(),
        schema: table.schema.clone(),
        column_sources,
        topic,
        bootstrap_servers,
        group_id: c.get("properties.group.id").map(String::from),
        properties: c.properties(Role::Source),
        format,
        bad_records,
        startup: StartupMode::Earliest,
        bounded,
        file: None,
        watermark: None,
        idle_timeout_ms,
        late_records,
        columns_read: None,
    };
    let startup = startup.unwrap_or(StartupMode::GroupOffsets);
    c.finish(SourceSpec { startup, ..spec })
}

/// A `'connector' = 'filesystem'` table that is read: a static file, read whole at the start
/// of every run, one record per line (`raw`, `csv` or `json`).
fn file_source_spec(table: &TableDef) -> Result<SourceSpec> {
    let mut c = Checker::new(table, FILE_SOURCE_KEYS, false);
    partitions_refused(&mut c, "read");
    let path = c.required("path");
    let fmt = c.choice(
        "format",
        None,
        &[("raw", Fmt::Raw), ("json", Fmt::Json), ("csv", Fmt::Csv)],
    );
    let format = match fmt {
        Some(Fmt::Json) => SourceFormat::Json,
        Some(Fmt::Csv) => {
            let d = c.get("csv.field-delimiter").unwrap_or(",");
            if d.len() != 1 {
                c.problems.push(format!(
                    "option 'csv.field-delimiter' of table \"{}\" must be one character, got '{d}'",
                    table.name
                ));
            }
            SourceFormat::Csv {
                delimiter: d.bytes().next().unwrap_or(b','),
            }
        }
        Some(Fmt::Raw) | None => SourceFormat::Raw,
    };
    let bad_records = match c.choice(
        "format.bad-records",
        Some(Bad::Fail),
        &[("fail", Bad::Fail), ("skip", Bad::Skip)],
    ) {
        Some(Bad::Skip) => BadRecordPolicy::Skip,
        _ => BadRecordPolicy::Fail,
    };
    if table.metadata.iter().any(Option::is_some) {
        c.problems.push(format!(
            "table \"{}\" reads a file, which has no Kafka metadata columns",
            table.name
        ));
    }
    if matches!(fmt, Some(Fmt::Raw) | None)
        && (table.schema.len() != 1 || table.schema.columns[0].ty != DataType::String)
    {
        c.problems.push(format!(
            "table \"{}\" has format 'raw', which needs exactly one column of type STRING (it has {})",
            table.name,
            table.schema.len()
        ));
    }
    let spec = SourceSpec {
        name: table.name.clone(),
        schema: table.schema.clone(),
        column_sources: vec![ColumnSource::Value; table.schema.len()],
        topic: String::new(),
        bootstrap_servers: String::new(),
        group_id: None,
        properties: c.properties(Role::Source),
        format,
        bad_records,
        startup: StartupMode::Earliest,
        bounded: true,
        file: Some(path),
        watermark: None,
        idle_timeout_ms: None,
        late_records: LatePolicy::Drop,
        columns_read: None,
    };
    c.finish(spec)
}

fn startup_mode(c: &mut Checker<'_>) -> Option<StartupMode> {
    let mode = c.choice(
        "scan.startup.mode",
        Some(Startup::Group),
        &[
            ("earliest-offset", Startup::Earliest),
            ("latest-offset", Startup::Latest),
            ("group-offsets", Startup::Group),
            ("timestamp", Startup::Timestamp),
            ("specific-offsets", Startup::Specific),
        ],
    )?;
    Some(match mode {
        Startup::Earliest => StartupMode::Earliest,
        Startup::Latest => StartupMode::Latest,
        Startup::Group => StartupMode::GroupOffsets,
        Startup::Timestamp => {
            let v = c.required("scan.startup.timestamp-millis");
            match v.parse() {
                Ok(ts) => StartupMode::Timestamp(ts),
                Err(_) => {
                    if !v.is_empty() {
                        c.problems.push(format!("option 'scan.startup.timestamp-millis' must be milliseconds since the epoch, got '{v}'"));
                    }
                    StartupMode::Timestamp(0)
                }
            }
        }
        Startup::Specific => {
            let v = c.required("scan.startup.specific-offsets");
            match parse_specific_offsets(&v) {
                Ok(list) => StartupMode::SpecificOffsets(list),
                Err(e) => {
                    if !v.is_empty() {
                        c.problems.push(e);
                    }
                    StartupMode::SpecificOffsets(vec![])
                }
            }
        }
    })
}

/// `partition:0,offset:42;partition:1,offset:300` → `[(0, 42), (1, 300)]`.
pub fn parse_specific_offsets(text: &str) -> std::result::Result<Vec<(i32, i64)>, String> {
    let bad = || {
        format!("option 'scan.startup.specific-offsets' must look like 'partition:0,offset:42;partition:1,offset:300', got '{text}'")
    };
    text.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|entry| {
            let mut p = None;
            let mut o = None;
            for kv in entry.split(',') {
                let (k, v) = kv.split_once(':').ok_or_else(bad)?;
                match k.trim() {
                    "partition" => p = v.trim().parse().ok(),
                    "offset" => o = v.trim().parse().ok(),
                    _ => return Err(bad()),
                }
            }
            Ok((p.ok_or_else(bad)?, o.ok_or_else(bad)?))
        })
        .collect()
}

fn metadata_source(c: &mut Checker<'_>, column: &str, key: &str, ty: DataType) -> ColumnSource {
    let (source, want) = match key {
        "key" => (ColumnSource::Key, &[DataType::String][..]),
        "partition" => (ColumnSource::Partition, &[DataType::Int][..]),
        "offset" => (ColumnSource::Offset, &[DataType::Int][..]),
        "timestamp" => (
            ColumnSource::Timestamp,
            &[DataType::Timestamp, DataType::Int][..],
        ),
        other => {
            c.problems.push(format!(
                "unknown metadata key '{other}' for column \"{column}\" (expected 'key', 'partition', 'offset' or 'timestamp')"
            ));
            return ColumnSource::Value;
        }
    };
    if !want.contains(&ty) {
        c.problems.push(format!(
            "metadata column \"{column}\" ('{key}') must have type {}, not {ty}",
            want[0]
        ));
    }
    source
}

/// The table as a sink.
pub fn sink_spec(table: &TableDef) -> Result<SinkSpec> {
    let connector = table
        .options
        .iter()
        .find(|(k, _)| k == "connector")
        .map(|(_, v)| v.to_ascii_lowercase());
    // Key positions in column order, whatever order PRIMARY KEY (...) lists them in: the
    // key's JSON (and so its partition) follows the sink's columns.
    let mut primary_key = Vec::new();
    let mut key_problems = Vec::new();
    for k in &table.primary_key {
        match table.schema.index_of(k) {
            Some(i) => primary_key.push(i),
            None => key_problems.push(format!(
                "primary key column \"{k}\" is not a column of table \"{}\"",
                table.name
            )),
        }
    }
    let (mut c, connector) = match connector.as_deref() {
        Some("kafka") | Some("upsert-kafka") => {
            let mut c = Checker::new(table, KAFKA_SINK_KEYS, true);
            let topic = c.required("topic");
            let bootstrap_servers = c.required("properties.bootstrap.servers");
            let formats = [
                ("json", MessageFormat::Json),
                ("csv", MessageFormat::Csv),
                ("raw", MessageFormat::Raw),
            ];
            let key_format = c
                .choice("key.format", Some(MessageFormat::Json), &formats)
                .unwrap_or_default();
            let value_key = if c.get("value.format").is_some() {
                "value.format"
            } else {
                "format"
            };
            if c.get("value.format").is_some() && c.get("format").is_some() {
                c.problems.push(format!(
                    "table \"{}\" has both 'format' and 'value.format' (they are one option; keep 'value.format')",
                    table.name
                ));
            }
            let value_format = c
                .choice(value_key, Some(MessageFormat::Json), &formats)
                .unwrap_or_default();
            let value_except_key = c
                .choice(
                    "value.fields-include",
                    Some(false),
                    &[("all", false), ("except_key", true)],
                )
                .unwrap_or(false);
            // 'key.fields' = 'a;b' (Flink's list form) names the key of a plain Kafka sink.
            if let Some(fields) = c.get("key.fields") {
                let named: Vec<usize> = (fields.split(';'))
                    .filter_map(|f| {
                        let f = f.trim();
                        let i = table.schema.index_of(f);
                        if i.is_none() {
                            c.problems.push(format!(
                                "'key.fields' names \"{f}\", which is not a column of \"{}\"",
                                table.name
                            ));
                        }
                        i
                    })
                    .collect();
                let mut sorted = named.clone();
                sorted.sort_unstable();
                if !primary_key.is_empty() && {
                    let mut pk = primary_key.clone();
                    pk.sort_unstable();
                    pk != sorted
                } {
                    c.problems.push(format!(
                        "table \"{}\" has 'key.fields' and a PRIMARY KEY that differ (one key per message: name it once)",
                        table.name
                    ));
                }
                if primary_key.is_empty() {
                    primary_key = named;
                }
            }
            let default = if table.primary_key.is_empty() {
                KafkaSinkMode::Changelog
            } else {
                KafkaSinkMode::Upsert
            };
            let mut mode = c
                .choice(
                    "sink.mode",
                    Some(default),
                    &[
                        ("upsert", KafkaSinkMode::Upsert),
                        ("changelog", KafkaSinkMode::Changelog),
                    ],
                )
                .unwrap_or(default);
            if connector.as_deref() == Some("upsert-kafka") {
                mode = KafkaSinkMode::Upsert;
            }
            if mode == KafkaSinkMode::Upsert && table.primary_key.is_empty() {
                c.problems.push(format!(
                    "upsert sink \"{}\" needs a PRIMARY KEY (add PRIMARY KEY (...) NOT ENFORCED, or set 'sink.mode' = 'changelog')",
                    table.name
                ));
            }
            let delivery = c
                .choice(
                    "sink.delivery-guarantee",
                    Some(DeliveryGuarantee::AtLeastOnce),
                    &[
                        ("at-least-once", DeliveryGuarantee::AtLeastOnce),
                        ("exactly-once", DeliveryGuarantee::ExactlyOnce),
                    ],
                )
                .unwrap_or(DeliveryGuarantee::AtLeastOnce);
            let properties = c.properties(Role::Sink);
            if mode == KafkaSinkMode::Changelog && value_format == MessageFormat::Json {
                reserved_columns(&mut c, &table.schema, &["op"], "'sink.mode' = 'changelog'");
            }
            let mut key = primary_key.clone();
            key.sort_unstable();
            let value: Vec<usize> = (0..table.schema.len())
                .filter(|i| !value_except_key || !key.contains(i))
                .collect();
            for (part, format, cols) in [("key", key_format, &key), ("value", value_format, &value)]
            {
                if format == MessageFormat::Json || cols.is_empty() && part == "key" {
                    continue;
                }
                let column = |i: &usize| &table.schema.columns[*i];
                match format {
                    MessageFormat::Raw
                        if cols.len() != 1 || column(&cols[0]).ty != DataType::String =>
                    {
                        let names: Vec<&str> =
                            cols.iter().map(|i| column(i).name.as_str()).collect();
                        c.problems.push(format!(
                            "'{part}.format' = 'raw' of sink \"{}\" writes one STRING column, but the {part} is ({})",
                            table.name,
                            names.join(", ")
                        ));
                        c.hint.get_or_insert(if part == "value" {
                            "select one STRING column (CAST(n AS STRING)), set 'value.fields-include' = 'EXCEPT_KEY' to leave the key out of the value, or use 'csv'".into()
                        } else {
                            "key by one STRING column, or use 'key.format' = 'csv'".into()
                        });
                    }
                    MessageFormat::Csv => {
                        if let Some(col) = cols
                            .iter()
                            .map(column)
                            .find(|c| matches!(c.ty, DataType::Array(_)))
                        {
                            c.problems.push(format!(
                                "'{part}.format' = 'csv' of sink \"{}\" cannot hold the ARRAY column \"{}\"",
                                table.name, col.name
                            ));
                        }
                    }
                    _ => {}
                }
            }
            if key_format != MessageFormat::Json && primary_key.is_empty() {
                c.problems.push(format!(
                    "sink \"{}\" sets 'key.format' but has no key (declare PRIMARY KEY (...) NOT ENFORCED, or 'key.fields')",
                    table.name
                ));
            }
            if value_except_key && primary_key.is_empty() {
                c.problems.push(format!(
                    "sink \"{}\" sets 'value.fields-include' = 'EXCEPT_KEY' but has no key",
                    table.name
                ));
            }
            (
                c,
                SinkConnector::Kafka {
                    topic,
                    bootstrap_servers,
                    properties,
                    mode,
                    delivery,
                    key_format,
                    value_format,
                    value_except_key,
                },
            )
        }
        Some("print") | Some("console") => {
            let mut c = Checker::new(table, PRINT_KEYS, false);
            let mode = c
                .choice(
                    "print.mode",
                    Some(PrintMode::Changelog),
                    &[
                        ("changelog", PrintMode::Changelog),
                        ("complete", PrintMode::Complete),
                    ],
                )
                .unwrap_or(PrintMode::Changelog);
            (c, SinkConnector::Print { mode })
        }
        Some("filesystem") => {
            let mut c = Checker::new(table, FILE_KEYS, false);
            // Flink writes a local path as a URL.
            let path = c.required("path");
            let path = path.strip_prefix("file://").unwrap_or(&path).to_string();
            let format = c
                .choice(
                    "format",
                    Some(FileFormat::Json),
                    &[("json", FileFormat::Json), ("csv", FileFormat::Csv)],
                )
                .unwrap_or(FileFormat::Json);
            if format == FileFormat::Json {
                reserved_columns(&mut c, &table.schema, &["op", "epoch"], "a file sink");
            }
            let mut partition_by = Vec::new();
            for name in &table.partition_by {
                match table.schema.index_of(name) {
                    Some(i) if !partition_by.contains(&i) => partition_by.push(i),
                    Some(_) => c.problems.push(format!(
                        "column \"{name}\" is named twice in PARTITIONED BY of \"{}\"",
                        table.name
                    )),
                    None => c.problems.push(format!(
                        "PARTITIONED BY names \"{name}\", which is not a column of \"{}\"",
                        table.name
                    )),
                }
            }
            if !partition_by.is_empty() && partition_by.len() == table.schema.len() {
                c.problems.push(format!(
                    "sink \"{}\" is partitioned by every column: its files would hold nothing",
                    table.name
                ));
            }
            if let Some(i) = (partition_by.iter())
                .find(|&&i| matches!(table.schema.columns[i].ty, DataType::Array(_)))
            {
                c.problems.push(format!(
                    "sink \"{}\" cannot be partitioned by the ARRAY column \"{}\"",
                    table.name, table.schema.columns[*i].name
                ));
            }
            if format == FileFormat::Csv {
                if let Some(col) =
                    (table.schema.columns.iter()).find(|col| matches!(col.ty, DataType::Array(_)))
                {
                    c.problems.push(format!(
                        "sink \"{}\" has format 'csv', which cannot hold the ARRAY column \"{}\" (use 'format' = 'json')",
                        table.name, col.name
                    ));
                }
            }
            (
                c,
                SinkConnector::File {
                    path,
                    format,
                    partition_by,
                },
            )
        }
        Some("blackhole") => (
            Checker::new(table, &["connector", "sink.emit"], false),
            SinkConnector::Blackhole,
        ),
        other => {
            let mut c = Checker::new(table, &["connector"], false);
            c.problems.clear();
            c.problems.push(match other {
                None => format!("table \"{}\" needs option 'connector'", table.name),
                Some(o) => format!(
                    "unknown connector '{o}' for sink \"{}\" (expected 'kafka', 'upsert-kafka', 'print', 'filesystem' or 'blackhole')",
                    table.name
                ),
            });
            (
                c,
                SinkConnector::Print {
                    mode: PrintMode::Changelog,
                },
            )
        }
    };
    if table.metadata.iter().any(Option::is_some) {
        c.problems.push(format!(
            "sink \"{}\" cannot have METADATA columns",
            table.name
        ));
    }
    if !matches!(connector, SinkConnector::File { .. }) {
        partitions_refused(&mut c, "written by this connector");
    }
    c.problems.extend(key_problems);
    primary_key.sort_unstable();
    primary_key.dedup();
    let emit = c
        .choice(
            "sink.emit",
            Some(EmitMode::Update),
            &[
                ("update", EmitMode::Update),
                ("on-window-close", EmitMode::OnWindowClose),
            ],
        )
        .unwrap_or_default();
    c.finish(SinkSpec {
        name: table.name.clone(),
        schema: table.schema.clone(),
        primary_key,
        connector,
        emit,
    })
}

/// A Flink duration (`30 s`, `1 min`, `500ms`, `2 h`, `1 d`; a bare number is milliseconds)
/// in milliseconds.
pub fn parse_flink_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().ok()?;
    let per = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "min" | "m" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_durations() {
        assert_eq!(parse_flink_duration("30 s"), Some(30_000));
        assert_eq!(parse_flink_duration("1 min"), Some(60_000));
        assert_eq!(parse_flink_duration("500ms"), Some(500));
        assert_eq!(parse_flink_duration("250"), Some(250));
        assert_eq!(parse_flink_duration("2 h"), Some(7_200_000));
        assert_eq!(parse_flink_duration("soon"), None);
        assert_eq!(parse_flink_duration("1 week"), None);
    }

    #[test]
    fn specific_offsets() {
        assert_eq!(
            parse_specific_offsets("partition:0,offset:42;partition:1,offset:300").unwrap(),
            vec![(0, 42), (1, 300)]
        );
        assert!(parse_specific_offsets("p:0").is_err());
    }

    #[test]
    fn closest_key() {
        assert_eq!(closest("topik", SOURCE_KEYS.iter().copied()), Some("topic"));
        assert_eq!(closest("zzzzzzzz", SOURCE_KEYS.iter().copied()), None);
    }
}
