//! The binding journal: every epoch binding a source worker records, appended to a file before
//! the worker closes the epoch, so a restart re-forms the epochs after the last checkpoint
//! exactly (see [`crate::timestamp`] and [`crate::checkpoint`]).
//!
//! Each source worker appends to its own segment files under
//! `<checkpoint dir>/journal/<table>/`, named `<run>-w<worker>-<seq>.log`, one line per binding:
//! `<epoch> <partition>:<next>,... <crc32>`. A line is written with one `write` call and
//! fdatasynced before the epoch is closed, so it survives a crash of the process or the machine
//! (a new segment's directory entry is made durable when the segment is created).
//! When a checkpoint at `c` completes, a worker starts a new segment and
//! deletes its own segments that hold only epochs `<= c`. A torn last line (the process died
//! mid-write) is ignored: its epoch was never closed, so nothing was written for it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::timestamp::{Binding, Time};

/// Appends one source worker's bindings.
pub struct JournalWriter {
    dir: PathBuf,
    prefix: String,
    seq: u64,
    file: File,
    /// `(path, last epoch written)` of every open or closed segment of this writer.
    segments: Vec<(PathBuf, Option<Time>)>,
}

impl JournalWriter {
    /// Start a journal for worker `worker` of run `run` in `dir` (created if missing).
    pub fn create(dir: &Path, run: u64, worker: usize) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let prefix = format!("{run}-w{worker}");
        let (path, file) = open_segment(dir, &prefix, 0)?;
        Ok(JournalWriter {
            dir: dir.to_path_buf(),
            prefix,
            seq: 0,
            file,
            segments: vec![(path, None)],
        })
    }

    /// Append the binding of `epoch`.
    pub fn append(&mut self, epoch: Time, next_offsets: &[(i32, i64)]) -> Result<()> {
        let body = format_body(epoch, next_offsets);
        let line = format!("{body} {:08x}\n", crc32fast::hash(body.as_bytes()));
        let (path, last) = self.segments.last_mut().expect("a segment is open");
        // Durable before the epoch closes: a power loss must not lose a binding whose epoch's
        // output may already be in a sink (about 0.2 ms here; epochs with no new records are
        // not journaled).
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| Error::io(&*path, e))?;
        *last = Some(epoch);
        Ok(())
    }

    /// A checkpoint at `epoch` is complete: start a new segment, and delete this writer's
    /// segments that hold nothing after `epoch` (every line is already durable: see `append`).
    pub fn checkpointed(&mut self, epoch: Time) -> Result<()> {
        self.seq += 1;
        let (path, file) = open_segment(&self.dir, &self.prefix, self.seq)?;
        self.file = file;
        self.segments.push((path, None));
        let open = self.segments.len() - 1;
        let mut kept = Vec::new();
        for (i, (path, last)) in self.segments.drain(..).enumerate() {
            if i != open && last.is_none_or(|l| l <= epoch) {
                let _ = std::fs::remove_file(&path);
            } else {
                kept.push((path, last));
            }
        }
        self.segments = kept;
        Ok(())
    }
}

fn open_segment(dir: &Path, prefix: &str, seq: u64) -> Result<(PathBuf, File)> {
    let path = dir.join(format!("{prefix}-{seq}.log"));
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    crate::checkpoint::format::sync_dir(dir).map_err(|e| Error::io(dir, e))?;
    Ok((path, file))
}

fn format_body(epoch: Time, next_offsets: &[(i32, i64)]) -> String {
    let offsets: Vec<String> = next_offsets
        .iter()
        .map(|(p, o)| format!("{p}:{o}"))
        .collect();
    format!("{epoch} {}", offsets.join(","))
}

/// Every binding in the journal of one table with an epoch after `after`, oldest first,
/// with the names of the files read.
pub fn load(dir: &Path, after: Time) -> Result<(Vec<Binding>, Vec<PathBuf>)> {
    let mut bindings = Vec::new();
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((bindings, files)),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_none_or(|x| x != "log") {
            continue;
        }
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            match parse_line(line) {
                Some(b) if b.epoch > after => bindings.push(b),
                Some(_) => {}
                // The last line may be torn by a crash mid-write; any other bad line is damage.
                None if i + 1 == lines.len() => {}
                None => {
                    return Err(Error::checkpoint(
                        &path,
                        format!("journal line {} is damaged: {:?}", i + 1, line.trim_end()),
                    ))
                }
            }
        }
        files.push(path);
    }
    bindings.sort_by_key(|b| b.epoch);
    Ok((bindings, files))
}

fn parse_line(line: &str) -> Option<Binding> {
    let line = line.strip_suffix('\n')?;
    let (body, crc) = line.rsplit_once(' ')?;
    if u32::from_str_radix(crc, 16).ok()? != crc32fast::hash(body.as_bytes()) {
        return None;
    }
    let (epoch, offsets) = body.split_once(' ')?;
    let next_offsets = offsets
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|po| {
            let (p, o) = po.split_once(':')?;
            Some((p.parse().ok()?, o.parse().ok()?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Binding {
        epoch: epoch.parse().ok()?,
        next_offsets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_load_rotate_and_torn_tail() {
        let dir = std::env::temp_dir().join(format!("ddflow-journal-{}", rand::random::<u64>()));
        let mut j = JournalWriter::create(&dir, 7, 1).unwrap();
        j.append(10, &[(0, 5), (2, 7)]).unwrap();
        j.append(20, &[(0, 9), (2, 7)]).unwrap();
        j.checkpointed(15).unwrap(); // the first segment still holds epoch 20: kept
        j.append(30, &[(0, 11), (2, 8)]).unwrap();
        let (all, files) = load(&dir, 0).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(
            all.iter().map(|b| b.epoch).collect::<Vec<_>>(),
            vec![10, 20, 30]
        );
        assert_eq!(all[1].next_offsets, vec![(0, 9), (2, 7)]);
        assert_eq!(load(&dir, 20).unwrap().0.len(), 1);

        // A torn last line is ignored; a damaged line before the end is an error.
        let last = files.iter().max().unwrap().clone();
        let mut f = OpenOptions::new().append(true).open(&last).unwrap();
        f.write_all(b"40 0:1").unwrap();
        assert_eq!(load(&dir, 0).unwrap().0.len(), 3);
        f.write_all(b"2\n50 0:13 00000000\n").unwrap();
        let err = load(&dir, 0).unwrap_err().to_string();
        assert!(err.contains("journal line 2 is damaged"), "{err}");

        j.checkpointed(30).unwrap();
        let (left, files) = load(&dir, 0).unwrap();
        assert_eq!((left.len(), files.len()), (0, 1), "old segments pruned");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
