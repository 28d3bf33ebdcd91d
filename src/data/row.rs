//! The packed row: what differential collections hold and timely exchanges.
//!
//! A [`Row`] is a byte encoding of its values, one after another, kept inline (no heap
//! allocation) up to [`INLINE`] bytes and spilled to the heap only for longer rows. Values are
//! read back as borrowed [`Datum`]s (a string is a `&str` into the row), and written with a
//! [`RowPacker`] that can be reused. Equal rows have equal bytes (the encoding is canonical:
//! the narrowest integer width, one NaN, no negative zero), so `Eq`, `Hash` and `Ord` work on
//! the bytes. That byte order is what arrangements sort by; it is not SQL's order, which
//! [`Datum::sql_cmp`] gives.
//!
//! Encoding, per value: a tag byte, then
//! - `NULL`, `FALSE`, `TRUE`: nothing;
//! - integers: 1, 2, 4 or 8 little-endian bytes (the smallest that holds the value);
//! - doubles: 8 little-endian bytes;
//! - strings: the length (1 byte, or 4 for strings of 256 bytes or more), then UTF-8 bytes;
//! - decimal mantissas: 1, 2, 4, 8 or 16 little-endian bytes (the smallest that holds it);
//! - arrays: the byte length (4 bytes), then the elements, encoded as a row's values are.
//!
//! Rows that arrive from outside the process (checkpoint files) are validated when they are
//! deserialized, so reading a row never panics.
//!
//! ```
//! use ddflow::data::{Datum, Row};
//!
//! let row = Row::pack([Datum::Str("kafka"), Datum::Int(3), Datum::Null]);
//! assert_eq!(row.len(), 3);
//! assert_eq!(row.get(0), Datum::Str("kafka")); // borrowed from the row's bytes
//! let [word, n, missing] = row.unpack()[..] else { unreachable!() };
//! assert_eq!((word, n, missing.is_null()), (Datum::Str("kafka"), Datum::Int(3), true));
//!
//! // A packer reuses one row's allocation for the next.
//! let mut out = Row::default();
//! let mut packer = out.packer();
//! packer.push(Datum::Int(300));
//! packer.push(Datum::Bool(true));
//! assert_eq!(out, Row::pack([Datum::Int(300), Datum::Bool(true)]));
//! // Equal values, equal bytes: a small integer is stored in one byte whatever its type.
//! assert_eq!(Row::pack([Datum::Int(1)]).as_bytes().len(), 2); // a tag and one byte
//! ```

use std::fmt;

use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::decimal::Mantissa;

/// Bytes held inline before a row spills to the heap: a word or a few numbers fit.
pub const INLINE: usize = 24;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT8: u8 = 3;
const INT16: u8 = 4;
const INT32: u8 = 5;
const INT64: u8 = 6;
const FLOAT: u8 = 7;
const STR8: u8 = 8;
const STR32: u8 = 9;
const DEC8: u8 = 10;
const DEC16: u8 = 11;
const DEC32: u8 = 12;
const DEC64: u8 = 13;
const DEC128: u8 = 14;
const ARRAY: u8 = 15;

/// One SQL value, borrowed from a row (or an arena, or a literal). The derived order (`Null`
/// first, then by variant, then by value) is the order of `MIN`/`MAX` among values of one
/// type; comparisons in SQL expressions go through [`Datum::sql_cmp`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Datum<'a> {
    /// SQL NULL.
    #[default]
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// BIGINT / INT / SMALLINT, and TIMESTAMP as milliseconds since the epoch.
    Int(i64),
    /// DOUBLE / FLOAT.
    Float(OrderedFloat<f64>),
    /// STRING / VARCHAR / TEXT / BYTES (bytes that are not UTF-8 are rejected at decode).
    Str(&'a str),
    /// DECIMAL(p, s): the mantissa (the scale is the column type's).
    Decimal(Mantissa),
    /// ARRAY: its elements, packed as a row's values are.
    Array(ArrayRef<'a>),
}

/// The elements of an ARRAY value, borrowed: a packed encoding of [`Datum`]s, as a [`Row`]
/// holds them. Equal arrays have equal bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArrayRef<'a> {
    bytes: &'a [u8],
}

impl<'a> ArrayRef<'a> {
    /// The elements.
    pub fn iter(self) -> DatumIter<'a> {
        DatumIter { data: self.bytes }
    }

    /// The number of elements.
    pub fn len(self) -> usize {
        self.iter().count()
    }

    /// Whether there are no elements.
    pub fn is_empty(self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded elements.
    pub fn as_bytes(self) -> &'a [u8] {
        self.bytes
    }

    /// The array whose elements are the values of `row`.
    pub fn of_row(row: &'a Row) -> ArrayRef<'a> {
        ArrayRef { bytes: &row.data }
    }

    /// The array of the values of `row`, copied into `arena`.
    pub fn in_arena(row: &Row, arena: &'a bumpalo::Bump) -> ArrayRef<'a> {
        ArrayRef {
            bytes: arena.alloc_slice_copy(&row.data),
        }
    }
}

/// An owned SQL value: literals in plans, and values kept across rows (group results).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Value {
    /// SQL NULL.
    #[default]
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// Integers and timestamps.
    Int(i64),
    /// Doubles.
    Float(OrderedFloat<f64>),
    /// Strings.
    Str(String),
    /// A `DECIMAL`: its mantissa and scale. A row holds only the mantissa (the scale is in
    /// the column's type), so a value read back from a datum has scale 0.
    Decimal(i128, u8),
    /// An `ARRAY`: its elements, packed.
    Array(Row),
}

impl<'a> Datum<'a> {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// SQL comparison: `None` when either side is NULL; integers and floats compare numerically.
    pub fn sql_cmp(&self, other: &Datum<'_>) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Datum::Null, _) | (_, Datum::Null) => None,
            (Datum::Int(a), Datum::Float(b)) => OrderedFloat(*a as f64).partial_cmp(b),
            (Datum::Float(a), Datum::Int(b)) => a.partial_cmp(&OrderedFloat(*b as f64)),
            (Datum::Bool(a), Datum::Bool(b)) => Some(a.cmp(b)),
            (Datum::Int(a), Datum::Int(b)) => Some(a.cmp(b)),
            (Datum::Float(a), Datum::Float(b)) => Some(a.cmp(b)),
            (Datum::Str(a), Datum::Str(b)) => Some(a.cmp(b)),
            (Datum::Decimal(a), Datum::Decimal(b)) => Some(a.cmp(b)),
            (a, b) => Some(a.cmp(b)),
        }
    }

    /// The owned value.
    pub fn to_value(self) -> Value {
        match self {
            Datum::Null => Value::Null,
            Datum::Bool(b) => Value::Bool(b),
            Datum::Int(i) => Value::Int(i),
            Datum::Float(f) => Value::Float(f),
            Datum::Str(s) => Value::Str(s.to_owned()),
            Datum::Decimal(m) => Value::Decimal(m.get(), 0),
            Datum::Array(a) => Value::Array(Row {
                data: SmallVec::from_slice(a.bytes),
            }),
        }
    }
}

impl Value {
    /// The value as a borrowed datum.
    pub fn datum(&self) -> Datum<'_> {
        match self {
            Value::Null => Datum::Null,
            Value::Bool(b) => Datum::Bool(*b),
            Value::Int(i) => Datum::Int(*i),
            Value::Float(f) => Datum::Float(*f),
            Value::Str(s) => Datum::Str(s),
            Value::Decimal(m, _) => Datum::Decimal(Mantissa::new(*m)),
            Value::Array(r) => Datum::Array(ArrayRef::of_row(r)),
        }
    }
}

/// A packed row of values (see the module documentation).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Row {
    data: SmallVec<[u8; INLINE]>,
}

impl Row {
    /// A row of `datums`.
    ///
    /// The values are packed into a buffer the thread keeps, and the row takes one allocation
    /// of its final size (growing the row's own buffer as values come took several).
    pub fn pack<'a>(datums: impl IntoIterator<Item = Datum<'a>>) -> Row {
        thread_local! {
            static SCRATCH: std::cell::RefCell<Vec<u8>> =
                std::cell::RefCell::new(Vec::with_capacity(256));
        }
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                scratch.clear();
                for d in datums {
                    encode(&mut *scratch, d);
                }
                Row {
                    data: SmallVec::from_slice(&scratch),
                }
            }
            // Packed while packing (a datum's iterator that packs rows itself).
            Err(_) => {
                let mut row = Row::default();
                row.packer().extend(datums);
                row
            }
        })
    }

    /// A row of `datums` (a convenience for slices).
    pub fn pack_slice(datums: &[Datum<'_>]) -> Row {
        Row::pack(datums.iter().copied())
    }

    /// Clear this row and return a packer that appends to it (reusing its allocation).
    pub fn packer(&mut self) -> RowPacker<'_> {
        self.data.clear();
        RowPacker {
            data: &mut self.data,
        }
    }

    /// The values, in order.
    pub fn iter(&self) -> DatumIter<'_> {
        DatumIter { data: &self.data }
    }

    /// The value at `index` (NULL past the end). Linear in `index`: to read several columns,
    /// unpack the row once with [`Row::unpack`].
    pub fn get(&self, index: usize) -> Datum<'_> {
        self.iter().nth(index).unwrap_or(Datum::Null)
    }

    /// The values, unpacked into a vector that lives on the stack for up to 32 columns.
    pub fn unpack(&self) -> SmallVec<[Datum<'_>; 32]> {
        let mut datums = SmallVec::new();
        for d in self.iter() {
            datums.push(d);
        }
        datums
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the row has no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The values of `self`, then those of `other` (the encoding has no header, so this is
    /// the two encodings one after the other).
    pub fn concat(&self, other: &Row) -> Row {
        let mut data = SmallVec::with_capacity(self.data.len() + other.data.len());
        data.extend_from_slice(&self.data);
        data.extend_from_slice(&other.data);
        Row { data }
    }

    /// The values at `columns`, in that order (NULL for a column past the end), copied as
    /// encoded: nothing is decoded, so this costs a scan of the row and a few copies.
    pub fn project(&self, columns: &[usize]) -> Row {
        let Some(&last) = columns.iter().max() else {
            return Row::default();
        };
        let spans = self.spans(last + 1);
        // The whole row, in order: the common case of a GROUP BY of every column.
        if spans.len() == columns.len()
            && spans.ends.last().map_or(0, |s| s.1) == self.data.len()
            && columns.iter().enumerate().all(|(i, c)| i == *c)
        {
            return self.clone();
        }
        spans.project(columns, usize::MAX, &[])
    }

    /// Where each of the first `count` values starts and ends in the row's bytes (fewer if
    /// the row is shorter): its values found without decoding them.
    pub fn spans(&self, count: usize) -> Spans<'_> {
        let mut ends = SmallVec::new();
        let mut at = 0;
        while ends.len() < count {
            match skip(&self.data, at) {
                Some(end) => {
                    ends.push((at, end));
                    at = end;
                }
                None => break,
            }
        }
        Spans { row: self, ends }
    }

    /// This row with `datums` appended.
    pub fn extend<'a>(mut self, datums: impl IntoIterator<Item = Datum<'a>>) -> Row {
        let mut packer = RowPacker {
            data: &mut self.data,
        };
        packer.extend(datums);
        self
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// A row from encoded bytes, checking that they are a well-formed, canonical encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Row, String> {
        let mut at = 0;
        while at < bytes.len() {
            at = validate(bytes, at)?;
        }
        Ok(Row {
            data: SmallVec::from_slice(bytes),
        })
    }

    /// Give back heap room beyond the row's bytes (after a packer reserved more than it took).
    pub fn shrink_to_fit(&mut self) {
        if self.data.spilled() && self.data.capacity() > self.data.len() {
            self.data.shrink_to_fit();
        }
    }

    /// Heap bytes this row owns beyond its own size (0 when it is inline).
    pub fn heap_size(&self) -> usize {
        if self.data.spilled() {
            self.data.capacity()
        } else {
            0
        }
    }
}

impl<'a> FromIterator<Datum<'a>> for Row {
    fn from_iter<I: IntoIterator<Item = Datum<'a>>>(iter: I) -> Row {
        Row::pack(iter)
    }
}

/// Where the first values of a row are in its bytes ([`Row::spans`]): values read or copied
/// as encoded, one at a time, without decoding those before them. (Tied to its row: spans of
/// one row cannot cut another's bytes.)
pub struct Spans<'r> {
    row: &'r Row,
    ends: SmallVec<[(usize, usize); 16]>,
}

impl<'r> Spans<'r> {
    /// How many values were found.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether none were.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes value `i` takes encoded (1, a NULL's, past those found).
    pub fn encoded_len(&self, i: usize) -> usize {
        self.ends.get(i).map_or(1, |(start, end)| end - start)
    }

    /// Value `i` (NULL past those found).
    pub fn get(&self, i: usize) -> Datum<'r> {
        let row: &'r Row = self.row;
        match self.ends.get(i) {
            Some(&(start, end)) => (DatumIter {
                data: &row.data[start..end],
            })
            .next()
            .unwrap_or(Datum::Null),
            None => Datum::Null,
        }
    }

    /// The values at `columns` of the row with `extra` appended after its first `width`
    /// values, without building that row: a column below `width` is copied as encoded, one
    /// at or past it is `extra[column - width]`, and one past both is NULL.
    pub fn project(&self, columns: &[usize], width: usize, extra: &[Datum<'_>]) -> Row {
        let mut row = Row::default();
        let mut packer = row.packer();
        for &c in columns {
            if c < width {
                packer.push_copies(self, c..c + 1);
            } else {
                packer.push(extra.get(c - width).copied().unwrap_or(Datum::Null));
            }
        }
        row
    }
}

/// Appends values to a [`Row`].
pub struct RowPacker<'r> {
    data: &'r mut SmallVec<[u8; INLINE]>,
}

impl RowPacker<'_> {
    /// Append one value.
    pub fn push(&mut self, datum: Datum<'_>) {
        encode(&mut *self.data, datum);
    }

    /// Append the values `columns` of `spans`' row as they are encoded there, with one copy
    /// (NULL for each past those found).
    pub fn push_copies(&mut self, spans: &Spans<'_>, columns: std::ops::Range<usize>) {
        let found = columns.start.min(spans.len())..columns.end.min(spans.len());
        if !found.is_empty() {
            let (start, end) = (spans.ends[found.start].0, spans.ends[found.end - 1].1);
            self.data.extend_from_slice(&spans.row.data[start..end]);
        }
        for _ in found.len()..columns.len() {
            self.data.push(NULL);
        }
    }

    /// Reserve room for `bytes` more bytes (exactly: a row stored in an arrangement keeps
    /// what it reserved).
    pub fn reserve_exact(&mut self, bytes: usize) {
        self.data.reserve_exact(bytes);
    }

    /// Append every value of `datums`.
    pub fn extend<'a>(&mut self, datums: impl IntoIterator<Item = Datum<'a>>) {
        for d in datums {
            self.push(d);
        }
    }
}

/// What values are encoded into: a row's own bytes, or the buffer [`Row::pack`] fills first
/// (a plain vector, whose appends check less than a small vector's).
trait Bytes {
    fn push(&mut self, byte: u8);
    fn extend_from_slice(&mut self, bytes: &[u8]);
}

impl Bytes for Vec<u8> {
    #[inline]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

impl Bytes for SmallVec<[u8; INLINE]> {
    #[inline]
    fn push(&mut self, byte: u8) {
        SmallVec::push(self, byte);
    }
    #[inline]
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        SmallVec::extend_from_slice(self, bytes);
    }
}

/// Append `datum`'s encoding to `data`.
#[inline]
fn encode(data: &mut impl Bytes, datum: Datum<'_>) {
    match datum {
        Datum::Null => data.push(NULL),
        Datum::Bool(false) => data.push(FALSE),
        Datum::Bool(true) => data.push(TRUE),
        Datum::Int(i) => {
            if let Ok(v) = i8::try_from(i) {
                data.push(INT8);
                data.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i16::try_from(i) {
                data.push(INT16);
                data.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i32::try_from(i) {
                data.push(INT32);
                data.extend_from_slice(&v.to_le_bytes());
            } else {
                data.push(INT64);
                data.extend_from_slice(&i.to_le_bytes());
            }
        }
        Datum::Float(f) => {
            data.push(FLOAT);
            data.extend_from_slice(&canonical(f.0).to_bits().to_le_bytes());
        }
        Datum::Str(s) => {
            match u8::try_from(s.len()) {
                Ok(n) => data.extend_from_slice(&[STR8, n]),
                Err(_) => {
                    data.push(STR32);
                    // Strings are bounded by Kafka's message size, far below 4 GiB.
                    let n = u32::try_from(s.len()).unwrap_or(u32::MAX);
                    data.extend_from_slice(&n.to_le_bytes());
                }
            }
            data.extend_from_slice(s.as_bytes());
        }
        Datum::Decimal(m) => {
            let m = m.get();
            if let Ok(v) = i8::try_from(m) {
                data.push(DEC8);
                data.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i16::try_from(m) {
                data.push(DEC16);
                data.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i32::try_from(m) {
                data.push(DEC32);
                data.extend_from_slice(&v.to_le_bytes());
            } else if let Ok(v) = i64::try_from(m) {
                data.push(DEC64);
                data.extend_from_slice(&v.to_le_bytes());
            } else {
                data.push(DEC128);
                data.extend_from_slice(&m.to_le_bytes());
            }
        }
        Datum::Array(a) => {
            data.push(ARRAY);
            // Arrays are bounded by Kafka's message size, far below 4 GiB.
            let n = u32::try_from(a.bytes.len()).unwrap_or(u32::MAX);
            data.extend_from_slice(&n.to_le_bytes());
            data.extend_from_slice(a.bytes);
        }
    }
}

/// One NaN and no negative zero, so equal doubles (as SQL groups them) have equal bytes.
fn canonical(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

/// The values of a row, in order.
#[derive(Clone)]
pub struct DatumIter<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for DatumIter<'a> {
    type Item = Datum<'a>;

    fn next(&mut self) -> Option<Datum<'a>> {
        let (&tag, rest) = self.data.split_first()?;
        // Rows are built by `RowPacker` or checked by `Row::from_bytes`, so the encoding is
        // well formed; a malformed tail would end the iteration rather than panic.
        let (datum, rest) = match tag {
            NULL => (Datum::Null, rest),
            FALSE => (Datum::Bool(false), rest),
            TRUE => (Datum::Bool(true), rest),
            INT8 => take::<1>(rest).map(|(b, r)| (Datum::Int(i8::from_le_bytes(b).into()), r))?,
            INT16 => take::<2>(rest).map(|(b, r)| (Datum::Int(i16::from_le_bytes(b).into()), r))?,
            INT32 => take::<4>(rest).map(|(b, r)| (Datum::Int(i32::from_le_bytes(b).into()), r))?,
            INT64 => take::<8>(rest).map(|(b, r)| (Datum::Int(i64::from_le_bytes(b)), r))?,
            FLOAT => take::<8>(rest)
                .map(|(b, r)| (Datum::Float(OrderedFloat(f64::from_le_bytes(b))), r))?,
            DEC8 => take::<1>(rest).map(|(b, r)| (decimal(i8::from_le_bytes(b).into()), r))?,
            DEC16 => take::<2>(rest).map(|(b, r)| (decimal(i16::from_le_bytes(b).into()), r))?,
            DEC32 => take::<4>(rest).map(|(b, r)| (decimal(i32::from_le_bytes(b).into()), r))?,
            DEC64 => take::<8>(rest).map(|(b, r)| (decimal(i64::from_le_bytes(b).into()), r))?,
            DEC128 => take::<16>(rest).map(|(b, r)| (decimal(i128::from_le_bytes(b)), r))?,
            ARRAY => {
                let (len, rest) =
                    take::<4>(rest).map(|(b, r)| (u32::from_le_bytes(b) as usize, r))?;
                let (bytes, rest) = (rest.get(..len)?, rest.get(len..)?);
                (Datum::Array(ArrayRef { bytes }), rest)
            }
            STR8 | STR32 => {
                let (len, rest) = if tag == STR8 {
                    take::<1>(rest).map(|(b, r)| (usize::from(b[0]), r))?
                } else {
                    take::<4>(rest).map(|(b, r)| (u32::from_le_bytes(b) as usize, r))?
                };
                let (text, rest) = (rest.get(..len)?, rest.get(len..)?);
                (Datum::Str(utf8(text)), rest)
            }
            _ => return None,
        };
        self.data = rest;
        Some(datum)
    }
}

/// The text of a string value of a row.
///
/// Not checked again: a row's strings are UTF-8 by construction. Its bytes are written by
/// [`encode`] from a `&str`, copied from another row's bytes, or checked by
/// [`Row::from_bytes`] (which [`validate`]s a string's bytes before reading them), and no
/// other code can reach them; a [`DatumIter`] reads only those bytes. (Checking them here was
/// ~3% of a stateless Nexmark query's CPU.)
#[allow(unsafe_code)]
#[inline]
fn utf8(text: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(text).is_ok());
    // SAFETY: `text` is the bytes of a string value of a row or array, UTF-8 as said above.
    unsafe { std::str::from_utf8_unchecked(text) }
}

fn decimal<'a>(m: i128) -> Datum<'a> {
    Datum::Decimal(Mantissa::new(m))
}

fn take<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let head = bytes.get(..N)?;
    Some((head.try_into().ok()?, &bytes[N..]))
}

/// Where the value encoded at `at` ends, without decoding it (`None` at the end of the row or
/// on a malformed tail). From a value's start, the next value's start: the only offsets a
/// [`Spans`] holds.
fn skip(bytes: &[u8], at: usize) -> Option<usize> {
    let tag = *bytes.get(at)?;
    let body = at + 1;
    let len = |n: usize| -> Option<usize> {
        let b = bytes.get(body..body + n)?;
        Some(match n {
            1 => usize::from(b[0]),
            _ => u32::from_le_bytes(b.try_into().ok()?) as usize,
        })
    };
    let end = match tag {
        NULL | FALSE | TRUE => body,
        INT8 | DEC8 => body + 1,
        INT16 | DEC16 => body + 2,
        INT32 | DEC32 => body + 4,
        INT64 | FLOAT | DEC64 => body + 8,
        DEC128 => body + 16,
        STR8 => body + 1 + len(1)?,
        STR32 | ARRAY => body + 4 + len(4)?,
        _ => return None,
    };
    (end <= bytes.len()).then_some(end)
}

/// Check the value encoded at `at`, returning where the next one starts.
fn validate(bytes: &[u8], at: usize) -> Result<usize, String> {
    // A string's bytes are checked before a `DatumIter` reads them (it takes them as UTF-8).
    let text = match bytes[at] {
        STR8 => Some(at + 2),
        STR32 => Some(at + 5),
        _ => None,
    };
    if let (Some(start), Some(end)) = (text, skip(bytes, at)) {
        std::str::from_utf8(&bytes[start..end])
            .map_err(|e| format!("the string at byte {at} is not UTF-8: {e}"))?;
    }
    let mut one = DatumIter { data: &bytes[at..] };
    let datum = one
        .next()
        .ok_or_else(|| format!("malformed value at byte {at}"))?;
    let end = bytes.len() - one.data.len();
    if let Datum::Array(a) = datum {
        Row::from_bytes(a.bytes).map_err(|e| format!("in the array at byte {at}: {e}"))?;
    }
    // Canonical: re-encoding gives the same bytes (so equal values compare equal).
    let mut again = Row::default();
    again.packer().push(datum);
    if again.as_bytes() != &bytes[at..end] {
        return Err(format!("value at byte {at} is not in canonical form"));
    }
    Ok(end)
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.data)
    }
}

impl<'de> Deserialize<'de> for Row {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Row, D::Error> {
        struct Bytes;
        impl<'de> serde::de::Visitor<'de> for Bytes {
            type Value = Row;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an encoded row")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Row, E> {
                Row::from_bytes(v).map_err(E::custom)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Row, A::Error> {
                let mut bytes = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                Row::from_bytes(&bytes).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_bytes(Bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_projection_over_appended_values_is_the_projection_of_the_extended_row() {
        let row = Row::pack([Datum::Str("k"), Datum::Int(1 << 40), Datum::Null]);
        let extra = [
            Datum::Int(-5),
            Datum::Str("a string longer than the inline bytes"),
        ];
        let extended = row.clone().extend(extra);
        for columns in [&[0, 3, 4][..], &[4, 2, 1, 0], &[3], &[], &[1, 7]] {
            assert_eq!(
                row.spans(3).project(columns, 3, &extra),
                extended.project(columns),
                "{columns:?}"
            );
        }
        // Fewer spans than asked for: the row is shorter.
        let spans = row.spans(10);
        assert_eq!(spans.len(), 3);
        // Values read from their spans, and copied as encoded into another row.
        assert_eq!(spans.get(0), Datum::Str("k"));
        assert_eq!(spans.get(1), Datum::Int(1 << 40));
        assert_eq!(spans.get(3), Datum::Null);
        let mut copied = Row::default();
        let mut packer = copied.packer();
        packer.push_copies(&spans, 1..2);
        packer.push(Datum::Bool(true));
        packer.push_copies(&spans, 0..3);
        packer.push_copies(&spans, 2..5);
        packer.push_copies(&spans, 7..9);
        let (k, big) = (Datum::Str("k"), Datum::Int(1 << 40));
        let null = Datum::Null;
        assert_eq!(
            copied,
            Row::pack([
                big,
                Datum::Bool(true),
                k,
                big,
                null,
                null,
                null,
                null,
                null,
                null
            ])
        );
    }

    use proptest::prelude::*;

    fn datum() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            prop_oneof![
                Just(i64::from(i8::MIN)),
                Just(128),
                Just(-32769),
                Just(1 << 31)
            ]
            .prop_map(Value::Int),
            any::<f64>().prop_map(|f| Value::Float(OrderedFloat(f))),
            ".{0,40}".prop_map(Value::Str),
            any::<i128>().prop_map(|m| Value::Decimal(m, 0)),
            any::<i64>().prop_map(|m| Value::Decimal(m.into(), 0)),
            proptest::collection::vec(any::<i64>(), 0..4)
                .prop_map(|v| Value::Array(Row::pack(v.into_iter().map(Datum::Int)))),
            "[a-z]{250,300}".prop_map(Value::Str),
        ]
    }

    proptest! {
        #[test]
        fn rows_round_trip(values in proptest::collection::vec(datum(), 0..12)) {
            let row = Row::pack(values.iter().map(Value::datum));
            let back: Vec<Value> = row.iter().map(Datum::to_value).collect();
            let want: Vec<Value> = values
                .iter()
                .map(|v| match v {
                    Value::Float(f) => Value::Float(OrderedFloat(canonical(f.0))),
                    v => v.clone(),
                })
                .collect();
            prop_assert_eq!(&back, &want);
            prop_assert_eq!(row.len(), values.len());
            let bytes = bincode::serialize(&row).unwrap();
            let again: Row = bincode::deserialize(&bytes).unwrap();
            prop_assert_eq!(again, row);
        }

        #[test]
        fn projecting_copies_what_packing_the_picked_values_gives(
            values in proptest::collection::vec(datum(), 0..8),
            columns in proptest::collection::vec(0usize..10, 0..6),
            extra in proptest::collection::vec(datum(), 0..3),
        ) {
            let row = Row::pack(values.iter().map(Value::datum));
            let picked = columns
                .iter()
                .map(|c| values.get(*c).map_or(Datum::Null, Value::datum));
            prop_assert_eq!(row.project(&columns), Row::pack(picked.clone()));
            prop_assert_eq!(
                row.project(&columns).extend(extra.iter().map(Value::datum)),
                Row::pack(picked.chain(extra.iter().map(Value::datum)))
            );
        }

        #[test]
        fn equal_values_have_equal_bytes(a in datum(), b in datum()) {
            let (ra, rb) = (Row::pack([a.datum()]), Row::pack([b.datum()]));
            prop_assert_eq!(ra == rb, a.datum() == b.datum());
        }
    }

    #[test]
    fn short_rows_stay_inline() {
        let row = Row::pack([Datum::Str("hello world"), Datum::Int(7), Datum::Null]);
        assert_eq!(row.heap_size(), 0);
        assert_eq!(std::mem::size_of::<Row>(), 32);
        assert_eq!(std::mem::size_of::<Datum>(), 24);
        let long = Row::pack([Datum::Str(&"x".repeat(100))]);
        assert!(long.heap_size() >= 102);
    }

    #[test]
    fn malformed_bytes_are_refused() {
        for bad in [
            &[42u8][..],
            &[INT64, 1, 2],
            &[STR8, 5, b'a'],
            &[STR8, 1, 0xff],
            &[STR32, 1, 0, 0, 0, 0xff],
            &[ARRAY, 3, 0, 0, 0, STR8, 1, 0xff],
            &[ARRAY, 2, 0, 0, 0, INT8],
            &[ARRAY, 2, 0, 0, 0, 42, 0],
        ] {
            assert!(Row::from_bytes(bad).is_err(), "{bad:?}");
        }
        // A string's bytes are checked as UTF-8 here, once: reading a row does not check them.
        for bad in [
            &[STR8, 1, 0xc3][..],
            &[STR8, 2, b'a', 0x80],
            &[INT8, 1, STR8, 1, 0xff],
        ] {
            let e = Row::from_bytes(bad).unwrap_err();
            assert!(e.contains("not UTF-8"), "{bad:?}: {e}");
        }
        let ok = Row::from_bytes(&[STR8, 2, 0xc3, 0xa9]).unwrap();
        assert_eq!(ok.get(0), Datum::Str("é"));
        // Not canonical: 7 as an eight-byte integer, and a negative zero.
        assert!(Row::from_bytes(&[INT64, 7, 0, 0, 0, 0, 0, 0, 0]).is_err());
        let mut neg_zero = vec![FLOAT];
        neg_zero.extend_from_slice(&(-0.0f64).to_bits().to_le_bytes());
        assert!(Row::from_bytes(&neg_zero).is_err());
        assert!(bincode::deserialize::<Row>(&bincode::serialize(&vec![42u8]).unwrap()).is_err());
    }
}
