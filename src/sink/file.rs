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

use crate::data::{row_to_json, Datum, Row, Schema};
use crate::error::{Error, Result};
use crate::resume::{PositionLog, SinkProgress, SinkResume, SinkState};
use crate::sink::format::{csv_line, text};
use crate::sink::EpochWriter;
use crate::spec::{FileFormat, SinkConnector, SinkSpec};
use crate::timestamp::{Diff, Time};

/// Flink's (and Hive's) name of the partition of NULL values.
pub const DEFAULT_PARTITION: &str = "__DEFAULT_PARTITION__";

/// Appends lines to a file, or to the files of a partitioned directory.
pub struct FileWriter {
    /// The file, or the partitioned directory.
    path: PathBuf,
    schema: Schema,
    format: FileFormat,
    partition_by: Vec<usize>,
    /// The columns a line holds (all but the partition columns), as a schema.
    line_schema: Schema,
    /// Open files by their path relative to `path` (`""`: the one file of an unpartitioned
    /// sink).
    files: BTreeMap<String, BufWriter<File>>,
    dirty: Vec<String>,
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
        let SinkConnector::File {
            path,
            format,
            partition_by,
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
        let line_schema = Schema::new(
            (spec.schema.columns.iter().enumerate())
                .filter(|(i, _)| !partition_by.contains(i))
                .map(|(_, c)| (c.name.clone(), c.ty)),
        );
        Ok(FileWriter {
            path,
            schema: spec.schema.clone(),
            format: *format,
            partition_by: partition_by.clone(),
            line_schema,
            files: BTreeMap::new(),
            dirty: Vec::new(),
            last_epoch: 0,
            progress,
        })
    }

    /// The shared length tracker (the sink's position for checkpoints).
    pub fn progress(&self) -> Rc<FileProgress> {
        self.progress.clone()
    }

    /// The file `row` goes to, relative to the sink's path, and the row's line columns.
    fn place(&self, row: &Row) -> (String, Row) {
        if self.partition_by.is_empty() {
            return (String::new(), row.clone());
        }
        let datums = row.unpack();
        let mut name = String::new();
        for &i in &self.partition_by {
            let column = &self.schema.columns[i];
            name.push_str(&escape(&column.name));
            name.push('=');
            name.push_str(&match datums[i] {
                Datum::Null => DEFAULT_PARTITION.to_string(),
                d => escape(&text(d, column.ty)),
            });
            name.push('/');
        }
        name.push_str(match self.format {
            FileFormat::Json => "part-0.json",
            FileFormat::Csv => "part-0.csv",
        });
        let line = Row::pack(
            (datums.iter().enumerate())
                .filter(|(i, _)| !self.partition_by.contains(i))
                .map(|(_, d)| *d),
        );
        (name, line)
    }

    /// The open file `name`, opened (and its directories made) on first use.
    fn file(&mut self, name: &str) -> Result<&mut BufWriter<File>> {
        if !self.files.contains_key(name) {
            let path = at(&self.path, name);
            if let Some(dir) = path.parent().filter(|_| !name.is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            self.files
                .insert(name.to_string(), BufWriter::new(open(&path)?));
        }
        self.files
            .get_mut(name)
            .ok_or_else(|| Error::Internal("a file sink lost its file".into()))
    }

    fn line(&self, row: &Row, diff: Diff, time: Time) -> Result<String> {
        match self.format {
            FileFormat::Json => {
                let mut object = row_to_json(&self.line_schema, row);
                object.insert(
                    "op".into(),
                    serde_json::Value::from(if diff > 0 { "+" } else { "-" }),
                );
                object.insert("epoch".into(), serde_json::Value::from(time));
                Ok(serde_json::Value::Object(object).to_string())
            }
            FileFormat::Csv if diff < 0 => Err(Error::Internal(
                "a retraction reached a CSV file sink (the planner admits only inserting queries)"
                    .into(),
            )),
            FileFormat::Csv => csv_line(
                row.iter()
                    .zip(self.line_schema.columns.iter().map(|c| c.ty)),
            ),
        }
    }
}

impl EpochWriter for FileWriter {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        for (row, diff) in changes {
            let (name, line_row) = self.place(row);
            let line = self.line(&line_row, *diff, time)?;
            if !self.dirty.contains(&name) {
                self.dirty.push(name.clone());
            }
            let path = at(&self.path, &name);
            let out = self.file(&name)?;
            for _ in 0..diff.unsigned_abs() {
                writeln!(out, "{line}").map_err(|e| Error::io(&path, e))?;
            }
        }
        self.last_epoch = time;
        Ok(())
    }

    fn pending_since(&mut self) -> Result<Option<Time>> {
        for name in std::mem::take(&mut self.dirty) {
            let path = at(&self.path, &name);
            let out = self.file(&name)?;
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
    const SPECIAL: &[char] = &[
        '"', '#', '%', '\'', '*', '/', ':', '=', '?', '\\', '\u{7f}', '{', '[', ']', '^',
    ];
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || SPECIAL.contains(&c) {
            out.push_str(&format!("%{:02X}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
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
        w.write_epoch(
            1,
            &[(row("a, b", 1, Some("d1")), 1), (row("c", 2, None), 1)],
        )
        .unwrap();
        w.pending_since().unwrap();
        w.write_epoch(
            2,
            &[(row("e", 3, Some("d1")), 1), (row("f", 4, Some("d/2")), 2)],
        )
        .unwrap();
        w.pending_since().unwrap();
        let d1 = dir.join("day=d1/part-0.csv");
        let null = dir.join("day=__DEFAULT_PARTITION__/part-0.csv");
        let d2 = dir.join("day=d%2F2/part-0.csv");
        assert_eq!(read(&d1), "\"a, b\",1\ne,3\n");
        assert_eq!(read(&null), "c,2\n");
        assert_eq!(read(&d2), "f,4\nf,4\n");
        let at_one = w.progress().position(Some(1));
        assert!(matches!(&at_one, SinkState::Files { lengths } if lengths.len() == 2));
        assert!(w.write_epoch(3, &[(row("g", 5, Some("d1")), -1)]).is_err());
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
        again
            .write_epoch(
                2,
                &[(row("e", 3, Some("d1")), 1), (row("f", 4, Some("d/2")), 2)],
            )
            .unwrap();
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
