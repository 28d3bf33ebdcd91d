//! The file source (`'connector' = 'filesystem'` on a table that is read): a static table,
//! such as a side input to join with, read whole at the start of every run.
//!
//! The first worker of the run reads the file, one record per line, decodes each line with
//! the table's format (raw, CSV, JSON), applies the bad-record policy (fail, naming the file
//! and line, or skip and count), and emits every row at time 0, before any epoch of a Kafka
//! source; then it is done. Nothing of it is journaled, committed or checkpointed: a restart
//! reads the file again, so what is built from it is rebuilt rather than restored.

use std::sync::Arc;

use differential_dataflow::AsCollection;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::Scope;

use crate::control::RunControl;
use crate::data::{Row, RowCollection};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::source::decode::{Decoder, RecordRef};
use crate::spec::{BadRecordPolicy, SourceSpec};
use crate::timestamp::{Diff, Time};

/// Rows per batch handed downstream.
const BATCH: usize = 4096;

/// The rows of `spec`'s file (on the run's first worker), decoded with `decoder`, at time 0.
pub fn render_file_source<'s>(
    scope: Scope<'s, Time>,
    spec: &SourceSpec,
    decoder: &Decoder,
    control: Arc<RunControl>,
) -> RowCollection<'s> {
    let mut rows = if scope.index() == 0 {
        match read_rows(spec, decoder, &control.metrics) {
            Ok(rows) => rows,
            Err(e) => {
                control.fail(e);
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let name = format!("FileSource({})", spec.name);
    let stream = source::<_, CapacityContainerBuilder<Vec<(Row, Time, Diff)>>, _, _>(
        scope,
        &name,
        move |cap, _info| {
            let mut cap = Some(cap);
            move |output| {
                if let Some(c) = cap.take() {
                    let mut session = output.session(&c);
                    while !rows.is_empty() {
                        let tail = rows.split_off(rows.len().saturating_sub(BATCH));
                        let mut batch: Vec<(Row, Time, Diff)> =
                            tail.into_iter().map(|r| (r, 0, 1)).collect();
                        session.give_container(&mut batch);
                    }
                }
            }
        },
    );
    stream.as_collection()
}

/// Every row of the file, or the first error that fails the run.
pub fn read_rows(spec: &SourceSpec, decoder: &Decoder, metrics: &Metrics) -> Result<Vec<Row>> {
    let path = spec.file.as_deref().unwrap_or_default();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // A file is exported as partition 0 of a "topic" named by its path.
    let exported = metrics.exported.partition(&spec.name, path, 0);
    let mut rows = Vec::new();
    let mut records = 0u64;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        records += 1;
        let record = RecordRef {
            key: None,
            payload: Some(line),
            partition: 0,
            offset: i as i64,
            timestamp: None,
        };
        if let Err(e) = decoder.decode(record, &mut rows) {
            match spec.bad_records {
                BadRecordPolicy::Skip => {
                    tracing::warn!(file = path, line = i + 1, error = %e, "skipping bad line");
                    Metrics::add(&metrics.records_skipped, 1);
                    exported.skipped.inc();
                }
                _ => {
                    return Err(Error::Config(format!(
                        "table \"{}\": line {} of \"{path}\" does not decode: {e}",
                        spec.name,
                        i + 1
                    )))
                }
            }
        }
    }
    Metrics::add(&metrics.records_read, records);
    exported.read.inc_by(records);
    Ok(rows)
}
