//! The file sink (`'connector' = 'filesystem'`), appended to.
//!
//! `'format' = 'json'` (the default): each line is the row as a JSON object plus `"op"`
//! (`"+"`/`"-"`) and `"epoch"`; a change of multiplicity `n` is written as `n` lines.
//! `'format' = 'csv'`: each line is the row's values (RFC 4180 quoting, NULL an empty field);
//! the planner lets only queries that never retract write one.
//!
//! With `PARTITIONED BY (a, b)` the path is a directory laid out as Hive's and Flink's:
//! a row goes to `a=<value>/b=<value>/part-0.<format>` (values escaped as Hive escapes path
//! names, NULL as `__DEFAULT_PARTITION__`), without its partition columns.
//!
//! Worker 0 writes every file. An appending sink (CSV, or partitioned) gets its rows as
//! their files and lines, made on the workers that computed them ([`encode_where_computed`]):
//! formatting is most of a sink's work, and that worker then only appends.
//!
//! Files are fsynced before an epoch counts as durable. Their lengths after each durable
//! epoch are the sink's position for checkpoints; on recovery each file is cut back to its
//! checkpointed length (a file the checkpoint does not know is emptied), and re-formed epochs
//! are appended again exactly as before.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

use differential_dataflow::AsCollection;
use timely::dataflow::operators::vec::Map;

use crate::control::RunControl;
use crate::data::{datums_to_json, DataType, Datum, Row, RowCollection, Schema};
use crate::error::{Error, Result};
use crate::resume::{PositionLog, SinkProgress, SinkResume, SinkState};
use crate::sink::format::{push_text, CsvLine};
use crate::sink::EpochWriter;
use crate::spec::{FileFormat, SinkConnector, SinkSpec};
use crate::timestamp::{Diff, Time};

/// Flink's (and Hive's) name of the partition of NULL values.
pub const DEFAULT_PARTITION: &str = "__DEFAULT_PARTITION__";

/// How a file sink's rows become lines: the file each goes to (its path relative to the
/// sink's path) and its text. An appending sink (CSV, or partitioned: the planner admits
/// only inserting queries) has its lines made by [`encode_where_computed`] on the workers
/// that computed its rows, so the one worker that writes only appends them.
#[derive(Clone)]
pub struct LineEncoder {
    format: FileFormat,
    /// The partition columns: index, `name=` (escaped) and type.
    partitions: Vec<(usize, String, DataType)>,
    /// The columns a line holds (all but the partition columns), as a schema.
    line_schema: Schema,
    line_columns: Vec<usize>,
    csv: CsvLine,
    /// Buffers reused from row to row: a partition value's text, the file name, the line.
    text: String,
    name: String,
    line: Vec<u8>,
}

impl LineEncoder {
    /// The encoder of a file sink's spec.
    pub fn of(spec: &SinkSpec) -> Result<Self> {
        let SinkConnector::File {
            format,
            partition_by,
            ..
        } = &spec.connector
        else {
            return Err(Error::Internal(
                "a file writer for another connector".into(),
            ));
        };
        let columns = &spec.schema.columns;
        let line_columns: Vec<usize> = (0..columns.len())
            .filter(|i| !partition_by.contains(i))
            .collect();
        Ok(LineEncoder {
            format: *format,
            partitions: (partition_by.iter())
                .map(|&i| (i, format!("{}=", escape(&columns[i].name)), columns[i].ty))
                .collect(),
            line_schema: Schema::new(
                (line_columns.iter()).map(|&i| (columns[i].name.clone(), columns[i].ty)),
            ),
            line_columns,
            csv: CsvLine::default(),
            text: String::new(),
            name: String::new(),
            line: Vec::new(),
        })
    }

    /// Whether the sink only appends (CSV, or partitioned): its lines can be made before
    /// its rows meet at the writer, as no retraction has to cancel anything there.
    pub fn appends(&self) -> bool {
        self.format == FileFormat::Csv || !self.partitions.is_empty()
    }

    /// The file `row` goes to (empty for an unpartitioned sink's one file) and its line,
    /// `\n` included.
    fn encode_into(&mut self, row: &Row, diff: Diff, time: Time) -> Result<(&str, &[u8])> {
        let (name, line) = (&mut self.name, &mut self.line);
        name.clear();
        line.clear();
        let datums = row.unpack();
        // The sink's rows have its schema's columns; one past the end reads as NULL.
        let at = |i: usize| datums.get(i).copied().unwrap_or(Datum::Null);
        for (i, prefix, ty) in &self.partitions {
            name.push_str(prefix);
            match at(*i) {
                Datum::Null => name.push_str(DEFAULT_PARTITION),
                d => {
                    self.text.clear();
                    push_text(&mut self.text, d, *ty);
                    escape_into(name, &self.text);
                }
            }
            name.push('/');
        }
        if !self.partitions.is_empty() {
            name.push_str(match self.format {
                FileFormat::Json => "part-0.json",
                FileFormat::Csv => "part-0.csv",
            });
        }
        let values = self.line_columns.iter().map(|&i| at(i));
        match self.format {
            FileFormat::Json => {
                let mut object = datums_to_json(&self.line_schema, values);
                object.insert(
                    "op".into(),
                    serde_json::Value::from(if diff > 0 { "+" } else { "-" }),
                );
                object.insert("epoch".into(), serde_json::Value::from(time));
                serde_json::to_writer(&mut *line, &object)
                    .map_err(|e| Error::Internal(format!("a JSON line: {e}")))?;
                line.push(b'\n');
            }
            FileFormat::Csv if diff < 0 => return Err(Error::Internal(
                "a retraction reached a CSV file sink (the planner admits only inserting queries)"
                    .into(),
            )),
            FileFormat::Csv => {
                for (d, c) in values.zip(&self.line_schema.columns) {
                    self.csv.value(d, c.ty, line);
                }
                self.csv.end(line);
            }
        }
        Ok((name, line))
    }

    /// A row's file and line as a row of two strings: what the writer of an appending sink
    /// takes.
    pub fn encode(&mut self, row: &Row, time: Time, diff: Diff) -> Result<Row> {
        let (name, line) = self.encode_into(row, diff, time)?;
        let line = std::str::from_utf8(line)
            .map_err(|e| Error::Internal(format!("a file sink's line is not text: {e}")))?;
        Ok(Row::pack([Datum::Str(name), Datum::Str(line)]))
    }
}

/// An appending file sink's rows as their files and lines ([`LineEncoder::encode`]), made
/// on the worker that computed each row. A row that cannot be written fails the run.
pub fn encode_where_computed<'s>(
    rows: RowCollection<'s>,
    mut encoder: LineEncoder,
    control: Arc<RunControl>,
) -> RowCollection<'s> {
    rows.inner
        .flat_map(
            move |(row, time, diff)| match encoder.encode(&row, time, diff) {
                Ok(line) => Some((line, time, diff)),
                Err(e) => {
                    control.fail(e);
                    None
                }
            },
        )
        .as_collection()
}

/// Appends lines to a file, or to the files of a partitioned directory.
pub struct FileWriter {
    /// The file, or the partitioned directory.
    path: PathBuf,
    encoder: LineEncoder,
    /// Rows come as their files and lines (an appending sink, see [`encode_where_computed`]).
    encoded: bool,
    /// Files written since the last sync, by their path relative to `path` (`""`: the one
    /// file of an unpartitioned sink). Each is closed once synced: a partitioned sink's
    /// older partitions are seldom written again.
    files: BTreeMap<String, BufWriter<File>>,
    last_epoch: Time,
    progress: Rc<FileProgress>,
}

/// Lengths of a file sink's files after its durable epochs.
pub struct FileProgress {
    partitioned: bool,
    lengths: RefCell<BTreeMap<String, PositionLog<u64>>>,
}

impl SinkProgress for FileProgress {
    fn position(&self, epoch: Option<Time>) -> SinkState {
        let mut logs = self.lengths.borrow_mut();
        if !self.partitioned {
            let bytes = (logs.get_mut(""))
                .and_then(|log| log.at(epoch))
                .unwrap_or(0);
            return SinkState::File { bytes };
        }
        SinkState::Files {
            lengths: (logs.iter_mut())
                .filter_map(|(name, log)| Some((name.clone(), log.at(epoch)?)))
                .collect(),
        }
    }
}

impl FileWriter {
    /// Open (create or append to) the sink's file or directory; on recovery, cut its files
    /// back to their checkpointed lengths.
    pub fn create(spec: &SinkSpec, resume: &SinkResume) -> Result<Self> {
        let encoder = LineEncoder::of(spec)?;
        let SinkConnector::File {
            path, partition_by, ..
        } = &spec.connector
        else {
            return Err(Error::Internal(
                "a file writer for another connector".into(),
            ));
        };
        let path = PathBuf::from(path);
        let partitioned = !partition_by.is_empty();
        let mut lengths: BTreeMap<String, u64> = BTreeMap::new();
        if partitioned {
            std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            for name in part_files(&path, &path)? {
                let len = std::fs::metadata(path.join(&name))
                    .map_err(|e| Error::io(path.join(&name), e))?
                    .len();
                lengths.insert(name, len);
            }
        } else {
            let file = open(&path)?;
            let len = file.metadata().map_err(|e| Error::io(&path, e))?.len();
            lengths.insert(String::new(), len);
        }
        let recorded: Option<BTreeMap<String, u64>> = match &resume.state {
            Some(SinkState::File { bytes }) if !partitioned => {
                Some(BTreeMap::from([(String::new(), *bytes)]))
            }
            Some(SinkState::Files { lengths }) if partitioned => {
                Some(lengths.iter().cloned().collect())
            }
            Some(SinkState::File { .. } | SinkState::Files { .. }) => {
                return Err(Error::checkpoint(
                    &path,
                    "the checkpoint was taken with this file sink partitioned differently (PARTITIONED BY added or removed)",
                ))
            }
            _ => None,
        };
        if let Some(recorded) = recorded {
            for (name, &bytes) in &recorded {
                let have = lengths.get(name).copied().unwrap_or(0);
                if bytes > have {
                    return Err(Error::checkpoint(
                        at(&path, name),
                        format!("the file sink holds {have} bytes, but the checkpoint recorded {bytes}: it was truncated or replaced since"),
                    ));
                }
            }
            // Files written after the checkpoint are emptied: their epochs are re-formed.
            for (name, len) in lengths.iter_mut() {
                let bytes = recorded.get(name).copied().unwrap_or(0);
                if *len != bytes {
                    let file = at(&path, name);
                    open(&file)?
                        .set_len(bytes)
                        .map_err(|e| Error::io(&file, e))?;
                    *len = bytes;
                }
            }
        }
        let progress = Rc::new(FileProgress {
            partitioned,
            lengths: RefCell::new(
                (lengths.into_iter())
                    .map(|(name, len)| (name, PositionLog::starting_at(Some(len))))
                    .collect(),
            ),
        });
        Ok(FileWriter {
            path,
            encoded: encoder.appends(),
            encoder,
            files: BTreeMap::new(),
            last_epoch: 0,
            progress,
        })
    }

    /// The shared length tracker (the sink's position for checkpoints).
    pub fn progress(&self) -> Rc<FileProgress> {
        self.progress.clone()
    }
}

/// Append `line` `times` times to the file `name` under `root`, opening it (and making its
/// directories) when it is not open.
fn append(
    files: &mut BTreeMap<String, BufWriter<File>>,
    root: &Path,
    name: &str,
    line: &[u8],
    times: u64,
) -> Result<()> {
    let out = match files.get_mut(name) {
        Some(out) => out,
        None => {
            let path = at(root, name);
            if let Some(dir) = path.parent().filter(|_| !name.is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            files
                .entry(name.to_string())
                .or_insert(BufWriter::new(open(&path)?))
        }
    };
    for _ in 0..times {
        out.write_all(line)
            .map_err(|e| Error::io(at(root, name), e))?;
    }
    Ok(())
}

impl EpochWriter for FileWriter {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        for (row, diff) in changes {
            let times = diff.unsigned_abs();
            if self.encoded {
                let mut values = row.iter();
                let (Some(Datum::Str(name)), Some(Datum::Str(line))) =
                    (values.next(), values.next())
                else {
                    return Err(Error::Internal(
                        "a file sink's row came without its file and line".into(),
                    ));
                };
                append(&mut self.files, &self.path, name, line.as_bytes(), times)?;
            } else {
                let (name, line) = self.encoder.encode_into(row, *diff, time)?;
                append(&mut self.files, &self.path, name, line, times)?;
            }
        }
        self.last_epoch = time;
        Ok(())
    }

    fn pending_since(&mut self) -> Result<Option<Time>> {
        for (name, mut out) in std::mem::take(&mut self.files) {
            let path = at(&self.path, &name);
            out.flush().map_err(|e| Error::io(&path, e))?;
            out.get_ref().sync_data().map_err(|e| Error::io(&path, e))?;
            let len = (out.get_ref().metadata())
                .map_err(|e| Error::io(&path, e))?
                .len();
            let mut logs = self.progress.lengths.borrow_mut();
            logs.entry(name)
                .or_insert_with(|| PositionLog::starting_at(None))
                .record(self.last_epoch, len);
        }
        Ok(None)
    }
}

/// The file `name` of a sink at `root`: `root` itself for `""` (an unpartitioned sink's one
/// file; `root.join("")` would name a directory).
fn at(root: &Path, name: &str) -> PathBuf {
    if name.is_empty() {
        root.to_path_buf()
    } else {
        root.join(name)
    }
}

/// Open `path` to append, creating it.
fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// A partition value or column name escaped for a path as Hive escapes them: `%XX` for the
/// characters a path cannot hold or that would read as structure (`/`, `=`, `:`, ...) and
/// for control characters.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// [`escape`] appended to `out`.
fn escape_into(out: &mut String, text: &str) {
    use std::fmt::Write;
    const SPECIAL: &[char] = &[
        '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '\u{7f}', '{', '[', ']', '^',
    ];
    for c in text.chars() {
        if c.is_control() || SPECIAL.contains(&c) {
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// The `part-0.*` files under `dir`, by their path relative to `root`.
fn part_files(root: &Path, dir: &Path) -> Result<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            found.extend(part_files(root, &path)?);
        } else if (path.file_name().and_then(|n| n.to_str()))
            .is_some_and(|n| n == "part-0.json" || n == "part-0.csv")
        {
            if let Ok(relative) = path.strip_prefix(root) {
                found.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataType, Value};

    fn spec(path: &Path) -> SinkSpec {
        SinkSpec {
            name: "out".into(),
            schema: Schema::new([
                ("k".to_string(), DataType::String),
                ("n".to_string(), DataType::Int),
                ("day".to_string(), DataType::String),
            ]),
            primary_key: Vec::new(),
            connector: SinkConnector::File {
                path: path.display().to_string(),
                format: FileFormat::Csv,
                partition_by: vec![2],
            },
            emit: Default::default(),
        }
    }

    fn row(k: &str, n: i64, day: Option<&str>) -> Row {
        let day = day.map_or(Value::Null, |d| Value::Str(d.into()));
        Row::pack(
            [Value::Str(k.into()), Value::Int(n), day]
                .iter()
                .map(Value::datum),
        )
    }

    /// Rows as the dataflow gives them to an appending sink's writer: encoded.
    fn lines(spec: &SinkSpec, time: Time, rows: &[(Row, Diff)]) -> Vec<(Row, Diff)> {
        let mut encoder = LineEncoder::of(spec).unwrap();
        assert!(encoder.appends());
        (rows.iter())
            .map(|(row, diff)| (encoder.encode(row, time, *diff).unwrap(), *diff))
            .collect()
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// An unpartitioned JSON file written past its checkpoint is cut back to it.
    #[test]
    fn a_file_written_past_its_checkpoint_is_cut_back() {
        let path =
            std::env::temp_dir().join(format!("ddflow-file-sink-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut spec = spec(&path);
        spec.connector = SinkConnector::File {
            path: path.display().to_string(),
            format: FileFormat::Json,
            partition_by: Vec::new(),
        };
        let mut w = FileWriter::create(&spec, &SinkResume::default()).unwrap();
        w.write_epoch(1, &[(row("a", 1, None), 1)]).unwrap();
        w.pending_since().unwrap();
        let at_one = w.progress().position(Some(1));
        let one = read(&path);
        w.write_epoch(2, &[(row("b", 2, None), 1)]).unwrap();
        w.pending_since().unwrap();
        assert_ne!(read(&path), one);
        drop(w);
        let resume = SinkResume {
            written_through: Some(1),
            replay_until: 2,
            state: Some(at_one),
        };
        FileWriter::create(&spec, &resume).unwrap();
        assert_eq!(read(&path), one);
        let _ = std::fs::remove_file(&path);
    }

    /// Rows go to their partition's file without the partition column; a restart from the
    /// checkpoint of epoch 1 cuts each file back to its length then and empties the file
    /// first written after it, so re-formed epochs are written once.
    #[test]
    fn partitioned_csv_files_resume_at_the_checkpointed_lengths() {
        let dir = std::env::temp_dir().join(format!("ddflow-file-sink-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spec = spec(&dir);
        let mut w = FileWriter::create(&spec, &SinkResume::default()).unwrap();
        let one = [(row("a, b", 1, Some("d1")), 1), (row("c", 2, None), 1)];
        w.write_epoch(1, &lines(&spec, 1, &one)).unwrap();
        w.pending_since().unwrap();
        let two = [(row("e", 3, Some("d1")), 1), (row("f", 4, Some("d/2")), 2)];
        w.write_epoch(2, &lines(&spec, 2, &two)).unwrap();
        w.pending_since().unwrap();
        let d1 = dir.join("day=d1/part-0.csv");
        let null = dir.join("day=__DEFAULT_PARTITION__/part-0.csv");
        let d2 = dir.join("day=d%2F2/part-0.csv");
        assert_eq!(read(&d1), "\"a, b\",1\ne,3\n");
        assert_eq!(read(&null), "c,2\n");
        assert_eq!(read(&d2), "f,4\nf,4\n");
        let at_one = w.progress().position(Some(1));
        assert!(matches!(&at_one, SinkState::Files { lengths } if lengths.len() == 2));
        let mut encoder = LineEncoder::of(&spec).unwrap();
        assert!(encoder.encode(&row("g", 5, Some("d1")), 3, -1).is_err());
        assert!(w.write_epoch(3, &[(row("g", 5, Some("d1")), 1)]).is_err());
        drop(w);
        let resume = SinkResume {
            written_through: Some(1),
            replay_until: 2,
            state: Some(at_one),
        };
        let mut again = FileWriter::create(&spec, &resume).unwrap();
        assert_eq!(
            (read(&d1), read(&null), read(&d2)),
            ("\"a, b\",1\n".into(), "c,2\n".into(), String::new())
        );
        again.write_epoch(2, &lines(&spec, 2, &two)).unwrap();
        again.pending_since().unwrap();
        assert_eq!(read(&d1), "\"a, b\",1\ne,3\n");
        assert_eq!(read(&d2), "f,4\nf,4\n");
        // A checkpoint of the unpartitioned layout does not resume a partitioned sink.
        let file_state = SinkResume {
            state: Some(SinkState::File { bytes: 0 }),
            ..resume
        };
        assert!(FileWriter::create(&spec, &file_state).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn partition_values_are_escaped_as_hive_does() {
        assert_eq!(escape("00:05"), "00%3A05");
        assert_eq!(escape("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(escape("2015-07-15"), "2015-07-15");
        assert_eq!(escape("50%"), "50%25");
        assert_eq!(escape("tab\there"), "tab%09here");
    }
}
