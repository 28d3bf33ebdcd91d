//! The file sink (`'connector' = 'filesystem'`): JSON lines, one change a line, appended.
//!
//! Each line is the row as a JSON object plus `"op"` (`"+"`/`"-"`) and `"epoch"`; a change of
//! multiplicity `n` is written as `n` lines. The file is fsynced before an epoch counts as
//! durable. Its length after each durable epoch is the sink's position for checkpoints; on
//! recovery the file is cut back to the checkpointed length, and re-formed epochs are
//! appended again exactly as before.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::rc::Rc;

use crate::resume::{PositionLog, SinkProgress, SinkResume, SinkState};

use crate::data::{row_to_json, Row, Schema};
use crate::error::{Error, Result};
use crate::sink::EpochWriter;
use crate::spec::SinkSpec;
use crate::timestamp::{Diff, Time};

/// Appends JSON lines to a file.
pub struct FileWriter {
    path: String,
    schema: Schema,
    out: BufWriter<File>,
    dirty: bool,
    last_epoch: Time,
    progress: Rc<FileProgress>,
}

/// Lengths of a file sink after its durable epochs.
pub struct FileProgress {
    lengths: RefCell<PositionLog<u64>>,
}

impl SinkProgress for FileProgress {
    fn position(&self, epoch: Option<Time>) -> SinkState {
        let bytes = self.lengths.borrow_mut().at(epoch).unwrap_or(0);
        SinkState::File { bytes }
    }
}

impl FileWriter {
    /// Open (create or append to) `path`; on recovery, cut it back to its checkpointed length.
    pub fn create(spec: &SinkSpec, path: &str, resume: &SinkResume) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let len = match resume.state {
            Some(SinkState::File { bytes }) if bytes > len => {
                return Err(Error::checkpoint(
                    path,
                    format!("the file sink holds {len} bytes, but the checkpoint recorded {bytes}: it was truncated or replaced since"),
                ))
            }
            Some(SinkState::File { bytes }) => {
                file.set_len(bytes).map_err(|e| Error::io(path, e))?;
                bytes
            }
            _ => len,
        };
        let progress = Rc::new(FileProgress {
            lengths: RefCell::new(PositionLog::starting_at(Some(len))),
        });
        Ok(FileWriter {
            path: path.to_string(),
            schema: spec.schema.clone(),
            out: BufWriter::new(file),
            dirty: false,
            last_epoch: 0,
            progress,
        })
    }

    /// The shared length tracker (the sink's position for checkpoints).
    pub fn progress(&self) -> Rc<FileProgress> {
        self.progress.clone()
    }

    fn io(&self, source: std::io::Error) -> Error {
        Error::Io {
            path: self.path.clone(),
            source,
        }
    }
}

impl EpochWriter for FileWriter {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        for (row, diff) in changes {
            let mut object = row_to_json(&self.schema, row);
            object.insert(
                "op".into(),
                serde_json::Value::from(if *diff > 0 { "+" } else { "-" }),
            );
            object.insert("epoch".into(), serde_json::Value::from(time));
            let line = serde_json::Value::Object(object).to_string();
            for _ in 0..diff.unsigned_abs() {
                writeln!(self.out, "{line}").map_err(|e| self.io(e))?;
            }
        }
        self.dirty = true;
        self.last_epoch = time;
        Ok(())
    }

    fn pending_since(&mut self) -> Result<Option<Time>> {
        if std::mem::take(&mut self.dirty) {
            self.out.flush().map_err(|e| self.io(e))?;
            self.out.get_ref().sync_data().map_err(|e| self.io(e))?;
            let len = self.out.get_ref().metadata().map_err(|e| self.io(e))?.len();
            self.progress
                .lengths
                .borrow_mut()
                .record(self.last_epoch, len);
        }
        Ok(None)
    }
}
