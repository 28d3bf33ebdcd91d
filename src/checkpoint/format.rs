//! The on-disk frame every checkpoint file uses: a fixed header, then a checksummed payload.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "DDFLOWCK"
//!      8     4  format version (little endian)
//!     12     4  file kind (1 = manifest, 2 = state shard)
//!     16     8  payload length in bytes
//!     24     4  CRC-32 of the payload
//!     28     …  payload (manifest: JSON; shard: bincode, varint integers)
//! ```
//!
//! Files are written to a temporary name, fsynced, renamed into place, and the directory is
//! fsynced, so a reader sees a whole file or none. Reading checks every header field and the
//! checksum before decoding, and decodes with a size limit, so a damaged or foreign file gives
//! an [`Error::Checkpoint`] naming the file and the problem, never a panic or a huge allocation.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// The first eight bytes of every checkpoint file.
pub const MAGIC: &[u8; 8] = b"DDFLOWCK";
/// The version of the layout this build writes and reads (2: rows are packed, see
/// `data::row`; 3: views no sink reads are not rendered, so their state is not numbered
/// among the arrangements').
pub const FORMAT_VERSION: u32 = 3;
const HEADER_LEN: usize = 28;

/// What a checkpoint file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The manifest that makes a checkpoint complete.
    Manifest = 1,
    /// One worker's share of one arrangement.
    State = 2,
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Manifest => "manifest",
            FileKind::State => "state shard",
        }
    }
}

/// The bincode settings for payloads: varint integers, little endian, bounded reads.
fn codec(limit: u64) -> impl Options {
    bincode::DefaultOptions::new().with_limit(limit)
}

/// Encode `value` as a bincode payload.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    codec(u64::MAX)
        .serialize(value)
        .map_err(|e| Error::Internal(format!("cannot encode checkpoint data: {e}")))
}

/// Decode a bincode payload read from `path`.
pub fn decode<T: DeserializeOwned>(path: &Path, payload: &[u8]) -> Result<T> {
    codec(payload.len() as u64 + 1024)
        .deserialize(payload)
        .map_err(|e| Error::checkpoint(path, format!("cannot decode the contents: {e}")))
}

/// Write `payload` framed as a `kind` file at `path`, atomically and durably.
pub fn write_file(path: &Path, kind: FileKind, payload: &[u8]) -> Result<u64> {
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    header.extend_from_slice(&(kind as u32).to_le_bytes());
    header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    header.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    let tmp = path.with_extension("tmp");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&header)?;
        f.write_all(payload)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(path.parent().unwrap_or(Path::new(".")))
    };
    write().map_err(|e| Error::io(path, e))?;
    Ok((HEADER_LEN + payload.len()) as u64)
}

/// Make a directory's entries (new, renamed, removed files) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Read and verify a `kind` file; returns its payload.
pub fn read_file(path: &Path, kind: FileKind) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io(path, e))?;
    let bad = |problem: String| Error::checkpoint(path, problem);
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    if &bytes[..8] != MAGIC {
        return Err(bad("not a ddflow checkpoint file (bad magic bytes)".into()));
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "written in checkpoint format version {version}; this ddflow reads version {FORMAT_VERSION}"
        )));
    }
    if u32_at(12) != kind as u32 {
        return Err(bad(format!(
            "expected a {} file, found file kind {}",
            kind.name(),
            u32_at(12)
        )));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[16..24]);
    let len = u64::from_le_bytes(len);
    let actual = (bytes.len() - HEADER_LEN) as u64;
    if actual != len {
        return Err(bad(format!(
            "truncated or overwritten: the header promises {len} payload bytes, the file has {actual}"
        )));
    }
    let stored = u32_at(24);
    let payload = bytes.split_off(HEADER_LEN);
    let crc = crc32fast::hash(&payload);
    if crc != stored {
        return Err(bad(format!(
            "checksum mismatch (stored {stored:08x}, computed {crc:08x}): the file is corrupt"
        )));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn damaged(edit: impl Fn(&mut Vec<u8>)) -> String {
        let dir = std::env::temp_dir().join(format!("ddflow-format-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        write_file(&path, FileKind::State, b"hello payload").unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        edit(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_file(&path, FileKind::State).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        err
    }

    #[test]
    fn round_trip_and_every_damage_is_named() {
        let dir = std::env::temp_dir().join(format!("ddflow-format-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ok.bin");
        write_file(&path, FileKind::Manifest, b"{}").unwrap();
        assert_eq!(read_file(&path, FileKind::Manifest).unwrap(), b"{}");
        let wrong = read_file(&path, FileKind::State).unwrap_err().to_string();
        assert!(wrong.contains("expected a state shard file"), "{wrong}");
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(damaged(|b| b.truncate(10)).contains("shorter than the 28-byte header"));
        assert!(damaged(|b| b.truncate(b.len() - 3))
            .contains("promises 13 payload bytes, the file has 10"));
        assert!(damaged(|b| b[0] = b'X').contains("not a ddflow checkpoint file"));
        assert!(damaged(|b| b[8] = 9).contains("format version 9; this ddflow reads version 3"));
        assert!(damaged(|b| *b.last_mut().unwrap() ^= 1).contains("checksum mismatch"));
    }
}
