//! The file sink (`'connector' = 'filesystem'`): JSON lines, one change a line, appended.
//!
//! Each line is the row as a JSON object plus `"op"` (`"+"`/`"-"`) and `"epoch"`; a change of
//! multiplicity `n` is written as `n` lines. The file is fsynced before an epoch counts as
//! durable.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};

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
}

impl FileWriter {
    /// Open (create or append to) `path`.
    pub fn create(spec: &SinkSpec, path: &str) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| Error::Io {
                path: path.to_string(),
                source,
            })?;
        Ok(FileWriter {
            path: path.to_string(),
            schema: spec.schema.clone(),
            out: BufWriter::new(file),
            dirty: false,
        })
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
        Ok(())
    }

    fn durable(&mut self) -> Result<bool> {
        if std::mem::take(&mut self.dirty) {
            self.out.flush().map_err(|e| self.io(e))?;
            self.out.get_ref().sync_data().map_err(|e| self.io(e))?;
        }
        Ok(true)
    }
}
