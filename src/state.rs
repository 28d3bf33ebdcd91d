//! State: the arrangements a checkpoint saves, behind one small trait.
//!
//! Rendering decides which arrangements are state (those fed directly by sources; everything
//! above them is recomputed on restore) and hands each to checkpointing as a
//! [`StateArrangement`]: checkpointing asks whether it has passed an epoch, reads its entries
//! at that epoch as bytes, and holds its compaction back to the next checkpoint. It never
//! needs to know the arrangement's shape (key-only or key-value) or its difference type, and
//! restoring decodes the same entries with the types rendering asks for.

use bincode::Options;
use differential_dataflow::difference::Semigroup;
use differential_dataflow::operators::arrange::TraceAgent;
use differential_dataflow::trace::cursor::{cursor_list, BatchCursor, Cursor, Navigable};
use differential_dataflow::trace::implementations::{KeySpine, ValSpine};
use differential_dataflow::trace::TraceReader;
use serde::de::DeserializeOwned;
use serde::Serialize;
use timely::progress::frontier::AntichainRef;
use timely::progress::Antichain;

use crate::timestamp::Time;

/// One worker's share of one arrangement at an epoch: how many entries, and their encoding
/// (bincode of `Vec<(D, R)>`, the types that arrangement's restore reads back).
#[derive(Debug, Clone, Default)]
pub struct Entries {
    /// Entries encoded.
    pub count: u64,
    /// `Vec<(D, R)>`, encoded.
    pub bytes: Vec<u8>,
}

impl Entries {
    /// Encode `entries` (bincode, variable-length integers).
    pub fn encode<D: Serialize, R: Serialize>(entries: &[(D, R)]) -> Entries {
        let mut writer = EntryWriter::default();
        for (d, r) in entries {
            writer.push(d, r);
        }
        writer.finish()
    }

    /// Decode entries written by [`Entries::encode`]; the error says what is wrong. Lengths
    /// are bounded by the input's size, so damaged bytes cannot ask for a huge allocation.
    pub fn decode<D: DeserializeOwned, R: DeserializeOwned>(
        bytes: &[u8],
    ) -> Result<Vec<(D, R)>, String> {
        bincode::DefaultOptions::new()
            .with_limit(bytes.len() as u64 + 1024)
            .deserialize(bytes)
            .map_err(|e| e.to_string())
    }
}

/// Encodes entries one at a time, so a checkpoint of a large arrangement never holds a copy
/// of its entries: only their encoding. The bytes equal [`Entries::encode`] of the same list
/// (bincode writes a sequence as its length, then the elements, one after another).
#[derive(Default)]
pub struct EntryWriter {
    count: u64,
    body: Vec<u8>,
}

impl EntryWriter {
    /// Append one entry.
    pub fn push<D: Serialize, R: Serialize>(&mut self, data: &D, diff: &R) {
        // Encoding into memory cannot fail for these types.
        let _ = bincode::DefaultOptions::new().serialize_into(&mut self.body, &(data, diff));
        self.count += 1;
    }

    /// The entries, encoded.
    pub fn finish(self) -> Entries {
        let mut bytes = bincode::DefaultOptions::new()
            .serialize(&self.count)
            .unwrap_or_default();
        bytes.extend_from_slice(&self.body);
        Entries {
            count: self.count,
            bytes,
        }
    }
}

/// An arrangement a checkpoint covers, whatever its shape.
pub type StateTrace = Box<dyn StateArrangement>;

/// An arrangement whose contents a checkpoint saves.
pub trait StateArrangement {
    /// Whether the arrangement holds every update at times `<= epoch`.
    fn passed(&mut self, epoch: Time) -> bool;
    /// Allow compaction up to `frontier` (a checkpoint will not read before it).
    fn hold(&mut self, frontier: Time);
    /// The accumulated contents at times `<= epoch` (`None`: everything).
    fn entries(&mut self, epoch: Option<Time>) -> Entries;
}

/// A key-only arrangement (`key → accumulated difference`), saved as `(key, diff)` pairs after
/// `save` maps each difference (`None` drops the entry).
pub struct KeyState<K: Ord + Clone + 'static, R: Semigroup + Ord + 'static, F> {
    trace: TraceAgent<KeySpine<K, Time, R>>,
    save: F,
}

impl<K, R, F> KeyState<K, R, F>
where
    K: Ord + Clone + 'static,
    R: Semigroup + Ord + 'static,
{
    /// Save `trace`, each accumulated difference through `save`.
    pub fn new(trace: TraceAgent<KeySpine<K, Time, R>>, save: F) -> Self {
        KeyState { trace, save }
    }
}

impl<K, R, F> StateArrangement for KeyState<K, R, F>
where
    K: Ord + Clone + Serialize + std::fmt::Debug + 'static,
    R: Semigroup + Serialize + Ord + std::fmt::Debug + 'static,
    F: FnMut(R) -> Option<R>,
{
    fn passed(&mut self, epoch: Time) -> bool {
        passed(&mut self.trace, epoch)
    }

    fn hold(&mut self, frontier: Time) {
        hold(&mut self.trace, frontier)
    }

    fn entries(&mut self, epoch: Option<Time>) -> Entries {
        let mut entries = EntryWriter::default();
        let save = &mut self.save;
        accumulated(&mut self.trace, epoch, |key: &K, _: &(), sum: R| {
            if let Some(d) = save(sum) {
                entries.push(key, &d);
            }
        });
        entries.finish()
    }
}

/// A key-value arrangement with integer differences, saved as `((key, value), diff)`.
pub struct ValState<K: Ord + Clone + 'static, V: Ord + Clone + 'static> {
    trace: TraceAgent<ValSpine<K, V, Time, i64>>,
}

impl<K: Ord + Clone + 'static, V: Ord + Clone + 'static> ValState<K, V> {
    /// Save `trace`.
    pub fn new(trace: TraceAgent<ValSpine<K, V, Time, i64>>) -> Self {
        ValState { trace }
    }
}

impl<K, V> StateArrangement for ValState<K, V>
where
    K: Ord + Clone + Serialize + std::fmt::Debug + 'static,
    V: Ord + Clone + Serialize + std::fmt::Debug + 'static,
{
    fn passed(&mut self, epoch: Time) -> bool {
        passed(&mut self.trace, epoch)
    }

    fn hold(&mut self, frontier: Time) {
        hold(&mut self.trace, frontier)
    }

    fn entries(&mut self, epoch: Option<Time>) -> Entries {
        let mut entries = EntryWriter::default();
        accumulated(&mut self.trace, epoch, |key: &K, val: &V, sum: i64| {
            entries.push(&(key, val), &sum)
        });
        entries.finish()
    }
}

/// Call `each(key, value, sum)` for every `(key, value)` of `trace` whose updates at times
/// `<= epoch` (`None`: all) add up to a non-zero difference.
fn accumulated<Tr, K, V, R>(trace: &mut Tr, epoch: Option<Time>, mut each: impl FnMut(&K, &V, R))
where
    Tr: TraceReader<Time = Time, Batch: Navigable>,
    for<'a> BatchCursor<Tr>:
        Cursor<Key<'a> = &'a K, Val<'a> = &'a V, TimeGat<'a> = &'a Time, DiffGat<'a> = &'a R>,
    K: 'static,
    V: 'static,
    R: Semigroup + 'static,
{
    let Some(batches) = trace.batches_through(Antichain::new().borrow()) else {
        return;
    };
    let (mut cursor, storage) = cursor_list(batches);
    while cursor.key_valid(&storage) {
        while cursor.val_valid(&storage) {
            let mut sum: Option<R> = None;
            cursor.map_times(&storage, |t, d| {
                if epoch.is_none_or(|c| *t <= c) {
                    match &mut sum {
                        Some(s) => s.plus_equals(d),
                        None => sum = Some(d.clone()),
                    }
                }
            });
            if let Some(sum) = sum.filter(|s| !s.is_zero()) {
                each(cursor.key(&storage), cursor.val(&storage), sum);
            }
            cursor.step_val(&storage);
        }
        cursor.step_key(&storage);
    }
}

fn passed<Tr: TraceReader<Time = Time>>(trace: &mut Tr, epoch: Time) -> bool {
    let mut upper = Antichain::new();
    trace.read_upper(&mut upper);
    !upper.less_equal(&epoch)
}

fn hold<Tr: TraceReader<Time = Time>>(trace: &mut Tr, frontier: Time) {
    trace.set_logical_compaction(AntichainRef::new(&[frontier]));
    trace.set_physical_compaction(AntichainRef::new(&[frontier]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_written_one_at_a_time_decode_as_a_list() {
        let list = vec![("a".to_string(), 1i64), ("bb".to_string(), -300)];
        let mut writer = EntryWriter::default();
        for (d, r) in &list {
            writer.push(d, r);
        }
        let entries = writer.finish();
        assert_eq!(entries.bytes, Entries::encode(&list).bytes);
        assert_eq!(
            Entries::decode::<String, i64>(&entries.bytes).unwrap(),
            list
        );
        assert!(Entries::decode::<String, i64>(&entries.bytes[..entries.bytes.len() - 1]).is_err());
    }
}
