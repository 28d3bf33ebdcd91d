//! `--progress-json`: one JSON object per interval per query (each `INSERT INTO`), in the shape
//! of Spark's `StreamingQueryProgress`, for tools to consume.
//!
//! An object says, for the interval that just ended: the batch id (the interval's number) and
//! the output frontier (the epoch before which every record's output is durable); per source
//! partition the offset at the interval's start and end and the partition's latest offset
//! (its high watermark); rows read (`numInputRows`, `inputRowsPerSecond`) and rows whose
//! output became durable (`numProcessedRows`, `processedRowsPerSecond`); durations; each
//! arrangement's size; and what the sink wrote. Times are RFC 3339; durations milliseconds, as Spark writes them.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::timestamp::{format_instant, now_ms};

/// Where and what to report (see the module docs).
pub struct QueryProgress {
    out: Box<dyn Write + Send>,
    /// Each query: its sink and the tables it reads.
    queries: Vec<(String, Vec<String>)>,
    name: String,
    run_id: String,
    batch: u64,
    at: Instant,
    /// Per (table, partition): next offset, records read, records processed, at the last report.
    partitions: BTreeMap<(String, i32), (i64, u64, u64)>,
    /// Per sink: changes and messages at the last report.
    sinks: BTreeMap<String, (u64, u64)>,
    /// Offset commit and checkpoint histograms' (sum, count) at the last report.
    durations: [(f64, u64); 2],
}

impl QueryProgress {
    /// Report the queries of `program` (named `name`) to `path` (`-`: standard output).
    pub fn create(
        path: &std::path::Path,
        name: &str,
        program: &crate::plan::ir::Program,
    ) -> Result<Self> {
        let out: Box<dyn Write + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdout())
        } else {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| Error::io(path, e))?;
            Box::new(std::io::LineWriter::new(file))
        };
        let queries = (program.sinks.iter())
            .map(|s| (s.sink.name.clone(), program.tables_read_by(&s.sink.name)))
            .collect();
        Ok(QueryProgress {
            out,
            queries,
            name: name.to_string(),
            run_id: format!("{}-{}", std::process::id(), now_ms()),
            batch: 0,
            at: Instant::now(),
            partitions: BTreeMap::new(),
            sinks: BTreeMap::new(),
            durations: [(0.0, 0); 2],
        })
    }

    /// Write one object per query for the interval since the last call.
    pub fn report(&mut self, metrics: &super::Metrics) -> Result<()> {
        let e = &metrics.exported;
        let seconds = self.at.elapsed().as_secs_f64().max(1e-3);
        self.at = Instant::now();
        let frontier = e.frontier_ms();
        let processed_below = if e.is_output_complete() {
            crate::timestamp::Time::MAX
        } else {
            frontier
        };
        // Per partition, this interval: (table, start, end, latest, read, processed).
        let mut partitions: Vec<(String, i32, i64, i64, i64, u64, u64)> = Vec::new();
        for (labels, m) in e.partitions() {
            let key = (labels.table.clone(), labels.partition);
            let end = m.position.get();
            let read = m.read.get();
            // Before the first report, the start is where the records read so far began.
            let (start, read_before, processed_before) =
                (self.partitions.get(&key).copied()).unwrap_or((end - read as i64, 0, 0));
            let processed = m
                .processed_before(processed_below)
                .unwrap_or(processed_before)
                .max(processed_before);
            partitions.push((
                labels.table,
                labels.partition,
                start.clamp(0, end),
                end,
                end + m.lag.get(),
                read - read_before.min(read),
                processed - processed_before,
            ));
            self.partitions.insert(key, (end, read, processed));
        }
        let mut durations = Map::new();
        for (which, (name, last)) in ["offsetCommit", "checkpoint"]
            .iter()
            .zip(self.durations.iter_mut())
            .enumerate()
        {
            let (sum, count) = e.timings(which);
            if count > last.1 {
                let mean = (sum - last.0) / (count - last.1) as f64;
                durations.insert(name.to_string(), json!((mean * 1000.0).round() as u64));
            }
            *last = (sum, count);
        }
        durations.insert("interval".into(), json!((seconds * 1000.0).round() as u64));
        let state: Vec<Value> = (e.arrangements().into_iter())
            .map(|(l, updates, bytes)| {
                json!({"operatorName": l.arrangement, "operator": l.operator,
                       "numRowsTotal": updates, "memoryUsedBytes": bytes})
            })
            .collect();
        let sinks: BTreeMap<String, (u64, u64)> = (e.sinks().into_iter())
            .map(|(name, m)| (name, (m.changes.get(), m.messages.get())))
            .collect();
        let timestamp = format_instant(now_ms());
        let age = (frontier > 0).then(|| now_ms().saturating_sub(frontier));
        for (sink, tables) in &self.queries {
            let mut sources = Vec::new();
            let (mut read, mut processed) = (0, 0);
            for table in tables {
                let mine: Vec<_> = partitions.iter().filter(|p| &p.0 == table).collect();
                let offsets = |f: &dyn Fn(&(String, i32, i64, i64, i64, u64, u64)) -> i64| {
                    (mine.iter())
                        .map(|p| (p.1.to_string(), json!(f(p))))
                        .collect::<Map<String, Value>>()
                };
                let r: u64 = mine.iter().map(|p| p.5).sum();
                let d: u64 = mine.iter().map(|p| p.6).sum();
                read += r;
                processed += d;
                sources.push(json!({
                    "description": format!("ddflow[{table}]"),
                    "table": table,
                    "startOffset": offsets(&|p| p.2),
                    "endOffset": offsets(&|p| p.3),
                    "latestOffset": offsets(&|p| p.4),
                    "numInputRows": r,
                    "numProcessedRows": d,
                    "inputRowsPerSecond": r as f64 / seconds,
                    "processedRowsPerSecond": d as f64 / seconds,
                }));
            }
            let (changes, messages) = sinks.get(sink).copied().unwrap_or_default();
            let (changes_before, messages_before) =
                self.sinks.get(sink).copied().unwrap_or_default();
            let object = json!({
                "id": sink,
                "runId": self.run_id,
                "name": self.name,
                "timestamp": timestamp,
                "batchId": self.batch,
                "outputFrontier": (frontier > 0).then(|| format_instant(frontier)),
                "outputAgeMs": age,
                "numInputRows": read,
                "numProcessedRows": processed,
                "inputRowsPerSecond": read as f64 / seconds,
                "processedRowsPerSecond": processed as f64 / seconds,
                "durationMs": durations,
                "stateOperators": state,
                "sources": sources,
                "sink": {
                    "description": format!("ddflow[{sink}]"),
                    "numOutputRows": changes - changes_before.min(changes),
                    "numOutputMessages": messages - messages_before.min(messages),
                },
            });
            writeln!(self.out, "{object}")
                .map_err(|e| Error::Internal(format!("cannot write --progress-json: {e}")))?;
        }
        self.out
            .flush()
            .map_err(|e| Error::Internal(format!("cannot write --progress-json: {e}")))?;
        self.sinks = sinks;
        self.batch += 1;
        Ok(())
    }
}
