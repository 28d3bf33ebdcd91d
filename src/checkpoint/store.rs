//! The checkpoint directory: where each file lives, the manifest that makes a checkpoint
//! complete, loading the latest one (with every check), and pruning.
//!
//! ```text
//! <dir>/checkpoints/<epoch>/state-a<arrangement>-w<worker>.bin   one per worker and arrangement
//! <dir>/checkpoints/<epoch>/manifest.bin                         written last: "complete"
//! <dir>/journal/<table>/<run>-w<worker>-<seq>.log                 bindings since (see journal)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::checkpoint::format::{self, FileKind};
use crate::error::{Error, Result};
use crate::resume::SinkState;
use crate::state::Entries;
use crate::timestamp::Time;

/// What a complete checkpoint holds. Written as JSON inside a framed file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The epoch: the state is the accumulation of all updates at times `<= epoch`.
    pub epoch: Time,
    /// Wall-clock milliseconds when the checkpoint completed.
    pub created_ms: u64,
    /// How many workers wrote it (restores may use any number).
    pub workers: usize,
    /// The dataflow's plan (JSON); a restore must run the same plan.
    pub plan: String,
    /// The state files.
    pub shards: Vec<ShardInfo>,
    /// Per source table, `(partition, next offset)` after all records of epochs `<= epoch`.
    pub sources: BTreeMap<String, Vec<(i32, i64)>>,
    /// Per sink, how far its durable output reached at `epoch`.
    pub sinks: BTreeMap<String, SinkState>,
    /// Per table with a watermark that a window reads (lowercase), its watermark at `epoch`:
    /// a restored run goes on from it, as the watermark never goes back.
    #[serde(default)]
    pub watermarks: BTreeMap<String, i64>,
}

/// One state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// File name inside the checkpoint's directory.
    pub file: String,
    /// Which arrangement (render order of the stateful operators).
    pub arrangement: usize,
    /// The worker that wrote it.
    pub worker: usize,
    /// Number of `((key, value), diff)` entries.
    pub entries: u64,
    /// File size.
    pub bytes: u64,
}

/// A checkpoint directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Open (creating if needed) the checkpoint directory at `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let store = Store {
            root: root.to_path_buf(),
        };
        std::fs::create_dir_all(store.checkpoints()).map_err(|e| Error::io(root, e))?;
        Ok(store)
    }

    /// Take the exclusive lock of process `process` on the directory, or fail naming the
    /// process that holds it. The lock lives as long as the returned file, and the operating
    /// system releases it when the process exits, however it exits.
    pub fn lock(&self, process: usize) -> Result<std::fs::File> {
        use std::io::{Read, Seek, Write};
        let path = self.root.join(format!("lock-p{process}"));
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() {
                    "another ddflow process".to_string()
                } else {
                    format!("another ddflow process ({holder})")
                };
                return Err(Error::checkpoint(
                    &self.root,
                    format!("is in use by {who}: two runs on one checkpoint directory would overwrite each other's state"),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let me = format!("pid {}, process index {process}", std::process::id());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .map_err(|e| Error::io(&path, e))?;
        Ok(file)
    }

    /// The directory root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// The directory of the checkpoint at `epoch`.
    pub fn epoch_dir(&self, epoch: Time) -> PathBuf {
        self.checkpoints().join(format!("{epoch:020}"))
    }

    /// The journal directory of source table `table`.
    pub fn journal_dir(&self, table: &str) -> PathBuf {
        self.root.join("journal").join(table.to_ascii_lowercase())
    }

    /// Write one worker's share of one arrangement into the checkpoint directory `dir`.
    pub fn write_shard(
        &self,
        dir: &Path,
        arrangement: usize,
        worker: usize,
        entries: &Entries,
    ) -> Result<ShardInfo> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let file = format!("state-a{arrangement}-w{worker}.bin");
        let bytes = format::write_file(&dir.join(&file), FileKind::State, &entries.bytes)?;
        Ok(ShardInfo {
            file,
            arrangement,
            worker,
            entries: entries.count,
            bytes,
        })
    }

    /// Read one state file of the checkpoint at `epoch`, as the `(data, diff)` entries its
    /// arrangement saved.
    pub fn read_shard<D: DeserializeOwned, R: DeserializeOwned>(
        &self,
        epoch: Time,
        shard: &ShardInfo,
    ) -> Result<Vec<(D, R)>> {
        let path = self.epoch_dir(epoch).join(&shard.file);
        let entries: Vec<(D, R)> = Entries::decode(&format::read_file(&path, FileKind::State)?)
            .map_err(|e| Error::checkpoint(&path, format!("cannot decode the contents: {e}")))?;
        if entries.len() as u64 != shard.entries {
            return Err(Error::checkpoint(
                &path,
                format!(
                    "holds {} entries, the manifest says {}",
                    entries.len(),
                    shard.entries
                ),
            ));
        }
        Ok(entries)
    }

    /// Mark the checkpoint complete by writing its manifest (atomically, durably).
    pub fn commit(&self, manifest: &Manifest) -> Result<()> {
        let dir = self.epoch_dir(manifest.epoch);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let json = serde_json::to_vec(manifest)
            .map_err(|e| Error::Internal(format!("cannot encode a manifest: {e}")))?;
        format::write_file(&dir.join("manifest.bin"), FileKind::Manifest, &json)?;
        Ok(())
    }

    /// The latest complete checkpoint, with every state file verified (length, checksum), or
    /// `None` if there is none. A damaged latest checkpoint is an error, not a fallback.
    pub fn latest(&self) -> Result<Option<Manifest>> {
        let Some(epoch) = self.complete_epochs()?.pop() else {
            return Ok(None);
        };
        let path = self.epoch_dir(epoch).join("manifest.bin");
        let payload = format::read_file(&path, FileKind::Manifest)?;
        let manifest: Manifest = serde_json::from_slice(&payload)
            .map_err(|e| Error::checkpoint(&path, format!("cannot decode the manifest: {e}")))?;
        if manifest.epoch != epoch {
            return Err(Error::checkpoint(
                &path,
                format!(
                    "the manifest is for epoch {}, its directory for epoch {epoch}",
                    manifest.epoch
                ),
            ));
        }
        for shard in &manifest.shards {
            let file = self.epoch_dir(epoch).join(&shard.file);
            format::read_file(&file, FileKind::State)?;
        }
        Ok(Some(manifest))
    }

    /// Epochs of complete checkpoints (those with a manifest), oldest first.
    fn complete_epochs(&self) -> Result<Vec<Time>> {
        let dir = self.checkpoints();
        let mut epochs = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            if path.extension().is_some_and(|x| x == "pending") {
                continue; // a final checkpoint being written
            }
            let Some(epoch) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<Time>().ok())
            else {
                return Err(Error::checkpoint(
                    &path,
                    "is not a checkpoint (expected only epoch-numbered directories here)",
                ));
            };
            if path.join("manifest.bin").exists() {
                epochs.push(epoch);
            }
        }
        epochs.sort_unstable();
        Ok(epochs)
    }

    /// Delete every checkpoint older than the newest `keep` complete ones, and incomplete
    /// checkpoints older than the newest complete one.
    pub fn prune(&self, keep: usize) -> Result<()> {
        let complete = self.complete_epochs()?;
        let Some(&oldest_kept) = complete
            .len()
            .checked_sub(keep.max(1))
            .map_or(complete.first(), |i| complete.get(i))
        else {
            return Ok(());
        };
        let dir = self.checkpoints();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            let epoch = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<Time>().ok());
            if epoch.is_some_and(|e| e < oldest_kept) {
                std::fs::remove_dir_all(&path).map_err(|e| Error::io(&path, e))?;
            }
        }
        Ok(())
    }
}
