//! JSON objects → datums, in one pass over the bytes.
//!
//! Each key is compared with the table's columns as it is read (first with the field the
//! table declares next at its level: a record written in the table's order, as most
//! producers write one, has no name looked up), a column's value becomes a datum borrowed
//! from the record (an escaped string is unescaped into the row's arena), and other fields
//! are skipped without being built. No JSON tree, map or string per field is allocated. The
//! common record is read by `scan`, a reader of its own; whatever it does not take on, and
//! every error, by serde's streaming interface here, which makes the messages.
//!
//! Matching follows Flink's JSON format: a field whose name equals the column's wins; else
//! the first field whose name equals it ignoring ASCII case. As Flink does, numbers may also
//! come as strings (`"NaN"`, `"Infinity"` and `"-Infinity"` are how JSON carries those
//! doubles), a TIMESTAMP as `"yyyy-MM-dd HH:mm:ss[.SSS]"` or as epoch milliseconds, and a
//! STRING column takes a number or boolean as its text.

use std::borrow::Cow;
use std::fmt;

use ordered_float::OrderedFloat;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::data::{DataType, Datum, Schema};
use crate::source::decode::{text_datum, DecodeError};

mod scan;

/// Where a table's value columns are in a JSON object: the columns named at this level of
/// nesting, and the `ROW` fields below it, each with its own. Built once per table, so a
/// field name is compared with the few names of its level, not with every column's path.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    /// Per column at this level: its field name, its index among the decoded columns, and
    /// its position in the schema.
    columns: Vec<(Name, usize, usize)>,
    /// Per `ROW` field at this level: its name and its fields.
    rows: Vec<(Name, Fields)>,
    /// The lengths of the names above, one bit each (a name of 64 bytes or more sets bit
    /// 0): most fields a record holds and the table does not read are told by their length.
    lengths: u64,
    /// The path of this level (`person`; empty at the top), for messages.
    path: String,
    /// The fields the table declares at this level, in its order, each with what it is here:
    /// a record written in that order (as most producers write a schema's fields) has each
    /// name compared once with the one expected next instead of looked up.
    declared: Vec<Declared>,
}

/// A field the table declares, as [`Fields::declared`] expects it.
#[derive(Debug, Clone)]
struct Declared {
    /// How the field begins in a record written without whitespace: `"name":`.
    prefix: Box<[u8]>,
    /// The prefix's first sixteen bytes as one word (zero past its end), and the bits of the
    /// word it fills: most prefixes are compared at once.
    word: u128,
    mask: u128,
    /// What the field is at its level.
    what: Known,
}

impl Declared {
    fn new(name: &str, what: Known) -> Declared {
        let prefix: Box<[u8]> = format!("\"{name}\":").into_bytes().into();
        let mut head = [0; 16];
        let n = prefix.len().min(16);
        head[..n].copy_from_slice(&prefix[..n]);
        Declared {
            word: u128::from_le_bytes(head),
            mask: u128::MAX >> (8 * (16 - n)),
            prefix,
            what,
        }
    }

    /// Whether `bytes` begin with the prefix.
    fn begins(&self, bytes: &[u8]) -> bool {
        match bytes.first_chunk::<16>() {
            Some(head) if self.prefix.len() <= 16 => {
                (u128::from_le_bytes(*head) ^ self.word) & self.mask == 0
            }
            _ => bytes.starts_with(&self.prefix),
        }
    }
}

/// What a field name is at a level: [`Field`] with its `ROW` by position.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Known {
    Column(usize, usize, bool),
    Row(usize),
    Skip,
}

impl Fields {
    /// The fields of the columns at `columns` (positions in `schema`): a column named by a
    /// path (`person.id`, from a `ROW` column) is read from nested objects.
    pub fn new(schema: &Schema, columns: &[usize]) -> Fields {
        let named: Vec<(&str, usize, usize)> = (columns.iter().enumerate())
            .map(|(i, &c)| (schema.columns[c].name.as_str(), i, c))
            .collect();
        let declared: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
        Fields::level(&named, &declared, String::new())
    }

    /// The level whose columns' paths below it are `named`, in a table whose columns' paths
    /// below it are `declared`.
    fn level(named: &[(&str, usize, usize)], declared: &[&str], path: String) -> Fields {
        let mut fields = Fields {
            path,
            ..Fields::default()
        };
        let mut below: Vec<(&str, Vec<(&str, usize, usize)>)> = Vec::new();
        for &(name, i, c) in named {
            // A field named with the whole path is the column too (a flat `"p.id"` key).
            fields.columns.push((Name::new(name), i, c));
            if let Some((row, rest)) = name.split_once('.') {
                match below.iter_mut().find(|(r, _)| *r == row) {
                    Some((_, under)) => under.push((rest, i, c)),
                    None => below.push((row, vec![(rest, i, c)])),
                }
            }
        }
        for (row, under) in below {
            let path = match fields.path.as_str() {
                "" => row.to_string(),
                p => format!("{p}.{row}"),
            };
            let declared_under: Vec<&str> = (declared.iter())
                .filter_map(|d| d.split_once('.').filter(|(r, _)| *r == row))
                .map(|(_, rest)| rest)
                .collect();
            fields
                .rows
                .push((Name::new(row), Fields::level(&under, &declared_under, path)));
        }
        let names =
            (fields.columns.iter().map(|(n, ..)| n)).chain(fields.rows.iter().map(|(n, _)| n));
        fields.lengths = names.fold(0, |bits, n| bits | length_bit(n.bytes.len()));
        // This level's names, first seen first; one a record cannot hold unescaped is left
        // to be looked up.
        let mut order: Vec<&str> = Vec::new();
        for d in declared {
            let name = d.split_once('.').map_or(*d, |(row, _)| row);
            let raw = !name.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20);
            if raw && !order.contains(&name) {
                order.push(name);
            }
        }
        fields.declared = (order.into_iter())
            .map(|name| {
                Declared::new(
                    name,
                    fields.known(name.as_bytes(), Name::head(name.as_bytes())),
                )
            })
            .collect();
        fields
    }

    /// The field declared at `position` of this level, when `bytes` begin with it as
    /// written without whitespace: what it is, and how many bytes its name took.
    fn expected(&self, position: usize, bytes: &[u8]) -> Option<(Field<'_>, usize)> {
        let d = self.declared.get(position)?;
        (d.begins(bytes)).then(|| (self.field_of(d.what), d.prefix.len()))
    }

    /// The position after the declared field named `name`, if one is.
    fn after(&self, name: &[u8]) -> Option<usize> {
        (self.declared.iter())
            .position(|d| d.prefix.len() == name.len() + 3 && &d.prefix[1..=name.len()] == name)
            .map(|p| p + 1)
    }

    /// What a field `name` is at this level: a column (with whether its case matches) or a
    /// `ROW` field whose name equals it, else the first whose name equals it ignoring ASCII
    /// case, else nothing. Most fields a record holds and the table does not read are told by
    /// their length alone.
    fn field(&self, name: &[u8]) -> Field<'_> {
        self.field_with_head(name, Name::head(name))
    }

    /// [`Fields::field`], given the name's [`Name::head`].
    fn field_with_head(&self, name: &[u8], head: u64) -> Field<'_> {
        self.field_of(self.known(name, head))
    }

    /// The field `known` names.
    fn field_of(&self, known: Known) -> Field<'_> {
        match known {
            Known::Column(i, c, exact) => Field::Column(i, c, exact),
            Known::Row(r) => Field::Row(&self.rows[r].1),
            Known::Skip => Field::Skip,
        }
    }

    /// What [`Fields::field_with_head`] finds, its `ROW` by position.
    fn known(&self, name: &[u8], head: u64) -> Known {
        if self.lengths & length_bit(name.len()) == 0 {
            return Known::Skip;
        }
        for &(ref n, i, c) in &self.columns {
            if n.is(name, head) {
                return Known::Column(i, c, true);
            }
        }
        if let Some(r) = self.rows.iter().position(|(n, _)| n.is(name, head)) {
            return Known::Row(r);
        }
        let folded = fold(head);
        for &(ref n, i, c) in &self.columns {
            if n.is_folded(name, folded) {
                return Known::Column(i, c, false);
            }
        }
        (self.rows.iter())
            .position(|(n, _)| n.is_folded(name, folded))
            .map_or(Known::Skip, Known::Row)
    }
}

/// The bit of [`Fields::lengths`] for a name of `len` bytes.
fn length_bit(len: usize) -> u64 {
    1 << if len < 64 { len } else { 0 }
}

/// A field name to look for, with its first eight bytes as one word, as written and with
/// ASCII letters in lower case (each compared at once).
#[derive(Debug, Clone)]
struct Name {
    bytes: Box<[u8]>,
    head: u64,
    folded: u64,
}

impl Name {
    fn new(name: &str) -> Name {
        let head = Name::head(name.as_bytes());
        Name {
            bytes: name.as_bytes().into(),
            head,
            folded: fold(head),
        }
    }

    /// The first eight bytes of `name` (fewer, zero-padded) as a word.
    fn head(name: &[u8]) -> u64 {
        (name.iter().take(8).enumerate()).fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
    }

    /// Whether `name`, whose [`Name::head`] is `head`, is this name.
    fn is(&self, name: &[u8], head: u64) -> bool {
        self.bytes.len() == name.len()
            && self.head == head
            && (name.len() <= 8 || self.bytes[8..] == name[8..])
    }

    /// Whether `name`, whose head's [`fold`] is `folded`, is this name ignoring ASCII case.
    fn is_folded(&self, name: &[u8], folded: u64) -> bool {
        self.bytes.len() == name.len()
            && self.folded == folded
            && (name.len() <= 8 || self.bytes[8..].eq_ignore_ascii_case(&name[8..]))
    }
}

/// A one in each byte of a word: eight bytes looked at at once (here and in `scan`).
const ONES: u64 = u64::MAX / 255;

/// `word`'s bytes with ASCII capitals made small (`A`..=`Z` + 0x20), all eight at once.
fn fold(word: u64) -> u64 {
    let low = word & (ONES * 0x7f);
    // Per byte, the high bit: at least `A`, above `Z`, ASCII.
    let from_a = low + ONES * (0x80 - u64::from(b'A'));
    let past_z = low + ONES * (0x7f - u64::from(b'Z'));
    let capital = (from_a ^ past_z) & !word & (ONES * 0x80);
    word | capital >> 2
}

/// What a field of an object is to the table.
enum Field<'f> {
    /// The column at this index among the decoded columns and this position in the schema,
    /// and whether the name's case matched.
    Column(usize, usize, bool),
    /// A `ROW` column: its fields are the columns under the field's name.
    Row(&'f Fields),
    /// Neither: skipped.
    Skip,
}

/// Decode the JSON object `bytes` into `values` (laid out by `schema`, NULL in every column
/// on entry), setting the columns `fields` names; strings that must be unescaped are placed
/// in `arena`. The common record is read by `scan`; what it leaves, and every error, by
/// serde_json.
pub fn decode_object<'a>(
    bytes: &'a [u8],
    schema: &Schema,
    fields: &Fields,
    arena: &'a bumpalo::Bump,
    values: &mut [Datum<'a>],
) -> Result<(), DecodeError> {
    if scan::decode(bytes, schema, fields, arena, values).is_some() {
        return Ok(());
    }
    values.fill(Datum::Null);
    decode_with_serde(bytes, schema, fields, arena, values)
}

/// [`decode_object`] through serde_json's streaming interface.
fn decode_with_serde<'a>(
    bytes: &'a [u8],
    schema: &Schema,
    fields: &Fields,
    arena: &'a bumpalo::Bump,
    values: &mut [Datum<'a>],
) -> Result<(), DecodeError> {
    let mut field_error = None;
    let mut found = Found::new(values.len());
    let seed = ObjectSeed {
        schema,
        fields,
        arena,
        values,
        found: &mut found,
        error: &mut field_error,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    match (result, field_error) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(e)) => Err(e),
        (Err(e), None) if e.to_string().starts_with(NOT_AN_OBJECT) => {
            Err(DecodeError("JSON value is not an object".into()))
        }
        (Err(e), None) => Err(DecodeError(format!("invalid JSON: {e}"))),
    }
}

/// Which decoded columns a field has set, one bit each.
struct Found(smallvec::SmallVec<[u64; 1]>);

impl Found {
    fn new(columns: usize) -> Found {
        Found(smallvec::smallvec![0; columns.div_ceil(64)])
    }
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
}

const NOT_AN_OBJECT: &str = "ddflow: not an object";

struct ObjectSeed<'s, 'a> {
    schema: &'s Schema,
    /// The columns of this object's level, and the `ROW`s below it.
    fields: &'s Fields,
    arena: &'a bumpalo::Bump,
    values: &'s mut [Datum<'a>],
    /// Per decoded column: set by a field already.
    found: &'s mut Found,
    error: &'s mut Option<DecodeError>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for ObjectSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ObjectSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.fields.field(&key.0) {
                Field::Row(row) => {
                    let seed = ObjectSeed {
                        schema: self.schema,
                        fields: row,
                        arena: self.arena,
                        values: &mut *self.values,
                        found: &mut *self.found,
                        error: &mut *self.error,
                    };
                    map.next_value_seed(seed)?;
                }
                // A field of another case comes second to one that matches exactly, and to an
                // earlier one of another case.
                Field::Column(i, c, is_exact) if is_exact || !self.found.get(i) => {
                    let col = &self.schema.columns[c];
                    let seed = DatumSeed {
                        ty: col.ty,
                        arena: self.arena,
                    };
                    match map.next_value_seed(seed)? {
                        Ok(d) => {
                            self.values[c] = d;
                            self.found.set(i);
                        }
                        Err(got) => {
                            *self.error = Some(DecodeError(format!(
                                "field \"{}\": expected {}, got {got}",
                                col.name, col.ty
                            )));
                            return Err(de::Error::custom("field of the wrong type"));
                        }
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v: serde_json::Value =
            de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.not_an_object(&v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.not_an_object(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.not_an_object(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.not_an_object(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.not_an_object(&v.to_string())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.not_an_object(&quoted(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if !self.fields.path.is_empty() {
            return Ok(()); // a NULL row: its fields stay NULL
        }
        Err(E::custom(NOT_AN_OBJECT))
    }
}

impl ObjectSeed<'_, '_> {
    /// A value that is not an object: the record is not one, or a `ROW` field is not.
    fn not_an_object<E: de::Error>(self, got: &str) -> Result<(), E> {
        if self.fields.path.is_empty() {
            return Err(E::custom(NOT_AN_OBJECT));
        }
        let path = &self.fields.path;
        *self.error = Some(DecodeError(format!(
            "field \"{path}\": expected ROW, got {got}"
        )));
        Err(E::custom("field of the wrong type"))
    }
}

/// A field name, borrowed from the record unless it had escapes. Its bytes are compared with
/// the columns' names, not checked as UTF-8 first (a name that is not matches none; checking
/// every name was a tenth of decoding).
struct Key<'de>(Cow<'de, [u8]>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v.as_bytes())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.as_bytes().to_owned())))
            }
        }
        d.deserialize_bytes(V)
    }
}

/// One field's value as a datum of type `ty`, or (as `Err`) the JSON text of a value that
/// does not fit it, for the message.
struct DatumSeed<'a> {
    ty: DataType,
    arena: &'a bumpalo::Bump,
}

type Fits<'a> = Result<Datum<'a>, String>;

impl<'de: 'a, 'a> DeserializeSeed<'de> for DatumSeed<'a> {
    type Value = Fits<'a>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Fits<'a>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'a> DatumSeed<'a> {
    fn text(&self, text: &'a str, json: impl FnOnce() -> String) -> Fits<'a> {
        text_value(text, self.ty).ok_or_else(json)
    }

    fn number(&self, n: serde_json::Number) -> Fits<'a> {
        match self.ty {
            DataType::String => Ok(Datum::Str(self.arena.alloc_str(&n.to_string()))),
            DataType::Int | DataType::Timestamp | DataType::Interval => {
                n.as_i64().map(Datum::Int).ok_or_else(|| n.to_string())
            }
            DataType::Float => n
                .as_f64()
                .map(|f| Datum::Float(OrderedFloat(f)))
                .ok_or_else(|| n.to_string()),
            // The number's own digits (a double's shortest text), rounded to the scale.
            DataType::Decimal(..) => {
                let text = n.to_string();
                match text_datum(&text, self.ty) {
                    Some(Datum::Decimal(m)) => Ok(Datum::Decimal(m)),
                    _ => Err(text),
                }
            }
            // A DATE is text (`"2026-01-31"`), as Flink's JSON format reads it.
            DataType::Bool | DataType::Date | DataType::Array(_) => Err(n.to_string()),
        }
    }
}

impl<'de: 'a, 'a> Visitor<'de> for DatumSeed<'a> {
    type Value = Fits<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Fits<'a>, E> {
        Ok(Ok(Datum::Null))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Fits<'a>, E> {
        Ok(match self.ty {
            DataType::Bool => Ok(Datum::Bool(b)),
            DataType::String => Ok(Datum::Str(if b { "true" } else { "false" })),
            _ => Err(b.to_string()),
        })
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fits<'a>, E> {
        Ok(self.number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fits<'a>, E> {
        Ok(self.number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fits<'a>, E> {
        Ok(match serde_json::Number::from_f64(v) {
            Some(n) => self.number(n),
            None => Err(v.to_string()),
        })
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Fits<'a>, E> {
        Ok(self.text(v, || quoted(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Fits<'a>, E> {
        let text: &'a str = self.arena.alloc_str(v);
        Ok(self.text(text, || quoted(v)))
    }
    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Fits<'a>, M::Error> {
        let v: serde_json::Value =
            de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Err(v.to_string()))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Fits<'a>, A::Error> {
        let DataType::Array(elem) = self.ty else {
            let v: serde_json::Value =
                de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
            return Ok(Err(v.to_string()));
        };
        // The elements, each of the element type, packed into the arena.
        let mut row = crate::data::Row::default();
        let mut packer = row.packer();
        let mut bad = None;
        let element = DatumSeed {
            ty: elem.ty(),
            arena: self.arena,
        };
        while let Some(fits) = seq.next_element_seed(DatumSeed { ..element })? {
            match fits {
                Ok(d) => packer.push(d),
                Err(text) => {
                    bad.get_or_insert(text);
                }
            }
        }
        Ok(match bad {
            Some(text) => Err(format!("[.. {text} ..]")),
            None => Ok(Datum::Array(crate::data::ArrayRef::in_arena(
                &row, self.arena,
            ))),
        })
    }
}

/// A JSON string as a datum of type `ty`: a STRING as it is, another type parsed from the
/// text (an empty one is not NULL but does not fit); `None` when it does not fit.
fn text_value(text: &str, ty: DataType) -> Option<Datum<'_>> {
    match ty {
        DataType::String => Some(Datum::Str(text)),
        ty => text_datum(text, ty).filter(|d| !d.is_null()),
    }
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;

    /// Every column of `schema` read from `json`.
    fn decode_all(schema: &Schema, json: &str) -> Result<Vec<Value>, DecodeError> {
        let arena = bumpalo::Bump::new();
        let mut values = vec![Datum::Null; schema.len()];
        let all: Vec<usize> = (0..schema.len()).collect();
        let fields = Fields::new(schema, &all);
        decode_object(json.as_bytes(), schema, &fields, &arena, &mut values)?;
        Ok(values.iter().map(|d| d.to_value()).collect())
    }

    fn decode(json: &str) -> Result<Vec<Value>, DecodeError> {
        let schema = Schema::new([
            ("user", DataType::String),
            ("n", DataType::Int),
            ("x", DataType::Float),
            ("ok", DataType::Bool),
        ]);
        decode_all(&schema, json)
    }

    /// A name equal to a column's or a `ROW`'s wins over one equal ignoring case; among
    /// those of one kind, a column comes first.
    #[test]
    fn a_field_is_found_by_its_exact_name_first_then_ignoring_case() {
        let schema = Schema::new([
            ("event_type", DataType::Int),
            ("EVENT_TYPE", DataType::Int),
            ("p.id", DataType::Int),
            ("P", DataType::Int),
            ("dateTimeLonger", DataType::Int),
        ]);
        let fields = Fields::new(&schema, &[0, 1, 2, 3, 4]);
        let what = |name: &str| match fields.field(name.as_bytes()) {
            Field::Column(_, c, exact) => format!("{c} {exact}"),
            Field::Row(row) => format!("row {}", row.path),
            Field::Skip => "skip".into(),
        };
        let found = [
            ("event_type", "0 true"),
            ("EVENT_TYPE", "1 true"),
            ("Event_Type", "0 false"),
            ("p", "row p"),
            ("P", "3 true"),
            ("p.id", "2 true"),
            ("P.ID", "2 false"),
            ("datetimelonger", "4 false"),
            ("dateTimeLongeR", "4 false"),
            ("dateTimeLongex", "skip"),
            ("dateTimeLongerX", "skip"),
            ("q", "skip"),
        ];
        for (name, what_it_is) in found {
            assert_eq!(what(name), what_it_is, "{name}");
        }
    }

    #[test]
    fn names_fold_as_ascii_lowercase_does() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'q'; 8];
                word[at] = b;
                let mut lower = word;
                lower.make_ascii_lowercase();
                let fold = fold(u64::from_le_bytes(word));
                assert_eq!(fold, u64::from_le_bytes(lower), "{b:#x} at {at}");
            }
        }
    }

    #[test]
    fn fields_by_name_case_and_type() {
        let v =
            decode(r#"{"USER":"b","user":"a\n","n":"7","x":3,"ok":true,"z":[1,{"q":2}]}"#).unwrap();
        assert_eq!(
            v,
            [
                Value::Str("a\n".into()),
                Value::Int(7),
                Value::Float(OrderedFloat(3.0)),
                Value::Bool(true)
            ]
        );
        let v = decode(r#"{"User":1.5,"N":null,"x":"-Infinity"}"#).unwrap();
        assert_eq!(v[0], Value::Str("1.5".into()));
        assert_eq!(v[1], Value::Null);
        assert_eq!(v[2], Value::Float(OrderedFloat(f64::NEG_INFINITY)));
    }

    /// Names are compared as bytes: unescaped first, and one that is not UTF-8 matches no
    /// column (it is skipped, as other fields are).
    #[test]
    fn field_names_are_compared_unescaped_as_bytes() {
        let v = decode(r#"{"\u0075ser":"e","n":2}"#).unwrap();
        assert_eq!(v[0], Value::Str("e".into()));
        assert_eq!(v[1], Value::Int(2));
        let schema = Schema::new([("n", DataType::Int)]);
        let fields = Fields::new(&schema, &[0]);
        let arena = bumpalo::Bump::new();
        let mut values = vec![Datum::Null];
        decode_object(
            b"{\"\xff\":1,\"n\":3}",
            &schema,
            &fields,
            &arena,
            &mut values,
        )
        .unwrap();
        assert_eq!(values[0], Datum::Int(3));
    }

    #[test]
    fn row_columns_are_read_from_nested_objects() {
        let schema = Schema::new([
            ("k", DataType::Int),
            ("p.id", DataType::Int),
            ("p.q.name", DataType::String),
            ("b.id", DataType::Int),
        ]);
        let decode = |json: &str| decode_all(&schema, json);
        let v = decode(r#"{"k":1,"P":{"id":7,"x":[1],"q":{"name":"a"}},"b":null}"#).unwrap();
        assert_eq!(
            v,
            [
                Value::Int(1),
                Value::Int(7),
                Value::Str("a".into()),
                Value::Null
            ]
        );
        let e = decode(r#"{"p":{"q":5}}"#).unwrap_err().0;
        assert_eq!(e, r#"field "p.q": expected ROW, got 5"#);
        let e = decode(r#"{"p":{"id":"x"}}"#).unwrap_err().0;
        assert_eq!(e, r#"field "p.id": expected BIGINT, got "x""#);
    }

    #[test]
    fn a_nested_field_sets_only_a_column_under_its_row() {
        // "abid" ends as "p.id" does after "p.": a field "id" inside "p" is not it.
        let schema = Schema::new([("abid", DataType::Int), ("p.id", DataType::Int)]);
        let values = decode_all(&schema, r#"{"p":{"id":7}}"#).unwrap();
        assert_eq!(values, [Value::Null, Value::Int(7)]);
    }

    #[test]
    fn errors_name_the_field_or_the_syntax() {
        let e = |j| decode(j).unwrap_err().0;
        assert_eq!(e(r#"{"n":"x"}"#), r#"field "n": expected BIGINT, got "x""#);
        assert_eq!(e(r#"{"n":2.5}"#), r#"field "n": expected BIGINT, got 2.5"#);
        assert_eq!(
            e(r#"{"ok":{"a":[1]}}"#),
            r#"field "ok": expected BOOLEAN, got {"a":[1]}"#
        );
        assert_eq!(e("[1]"), "JSON value is not an object");
        assert!(e("{nope").starts_with("invalid JSON"), "{}", e("{nope"));
        assert!(e(r#"{"n":1} x"#).starts_with("invalid JSON"));
    }

    #[test]
    fn arrays_are_read_element_by_element() {
        use crate::data::Elem;
        let schema = Schema::new([("a", DataType::Array(Elem::Int))]);
        let read = |json: &str| {
            decode_all(&schema, json)
                .map(|v| crate::data::value_to_json(v[0].datum(), schema.columns[0].ty))
        };
        assert_eq!(
            read(r#"{"a":[1,null,3]}"#).unwrap().to_string(),
            "[1,null,3]"
        );
        assert_eq!(read(r#"{"a":[]}"#).unwrap().to_string(), "[]");
        assert_eq!(
            read(r#"{"a":[1,"x"]}"#).unwrap_err().0,
            r#"field "a": expected ARRAY<BIGINT>, got [.. "x" ..]"#
        );
        assert_eq!(
            read(r#"{"a":5}"#).unwrap_err().0,
            r#"field "a": expected ARRAY<BIGINT>, got 5"#
        );
    }

    /// A table with a column of every kind the fast reader reads or leaves to serde.
    fn mixed() -> Schema {
        Schema::new([
            ("user", DataType::String),
            ("n", DataType::Int),
            ("x", DataType::Float),
            ("ok", DataType::Bool),
            ("t", DataType::Timestamp),
            ("d", DataType::Decimal(10, 2)),
            ("event_dateTime", DataType::Timestamp),
            ("p.id", DataType::Int),
            ("p.q.name", DataType::String),
        ])
    }

    /// `json` read by the fast reader (`None`: left to serde) and by the serde path alone,
    /// each as the `Debug` text of its values (so `-0.0` differs from `0.0`).
    fn both(schema: &Schema, json: &[u8]) -> (Option<String>, Result<String, DecodeError>) {
        let all: Vec<usize> = (0..schema.len()).collect();
        let fields = Fields::new(schema, &all);
        let arena = bumpalo::Bump::new();
        let text = |values: &[Datum]| {
            format!(
                "{:?}",
                values.iter().map(|d| d.to_value()).collect::<Vec<_>>()
            )
        };
        let mut values = vec![Datum::Null; schema.len()];
        let fast = scan::decode(json, schema, &fields, &arena, &mut values).map(|()| text(&values));
        let mut values = vec![Datum::Null; schema.len()];
        let serde =
            decode_with_serde(json, schema, &fields, &arena, &mut values).map(|()| text(&values));
        // And the two together (the fast reader first) are the serde path.
        let mut values = vec![Datum::Null; schema.len()];
        let together =
            decode_object(json, schema, &fields, &arena, &mut values).map(|()| text(&values));
        assert_eq!(together, serde, "{}", String::from_utf8_lossy(json));
        (fast, serde)
    }

    #[test]
    fn the_fast_reader_takes_common_records_as_serde_reads_them() {
        let schema = mixed();
        for json in [
            r#"{"user":"ann","n":7,"x":2.5,"ok":true,"t":"2015-07-15 00:00:00.000","d":"1.25"}"#,
            r#" { "USER" : "b" , "x" : -0.0e0 , "p" : { "id" : 3 , "q" : { "name" : "é" } } } "#,
            r#"{"user":"a\"b\\c\/\n\u00e9","x":-0.0,"n":"42","t":1436918400000}"#,
            r#"{"x":-0,"n":-9223372036854775808,"ok":false,"p":null,"z":[1,{"q":[]},{}]}"#,
            r#"{"x":1.5e3,"user":true,"d":12,"t":null,"z":"\ud83d\ude00","zz":-1.25E-7}"#,
            r#"{"x":18446744073709551615,"User":"second","user":"first","USER":"third"}"#,
            r#"{"x":"NaN","n":9223372036854775807,"ok":"TRUE","p":{"id":null,"q":null}}"#,
            r#"{}"#,
        ] {
            let (fast, serde) = both(&schema, json.as_bytes());
            assert_eq!(fast, Some(serde.unwrap()), "{json}");
        }
    }

    #[test]
    fn the_fast_reader_leaves_rare_forms_and_errors_to_serde() {
        let schema = mixed();
        for json in [
            r#"{"user":"\ud83d\ude00"}"#,   // a surrogate pair, read
            r#"{"\u0075ser":"e"}"#,         // an escaped name
            r#"{"user":5}"#,                // a number as a STRING
            r#"{"d":1.25}"#,                // a fraction as a DECIMAL
            r#"{"n":-0}"#,                  // serde_json reads -0 as a double
            r#"{"n":9223372036854775808}"#, // past BIGINT
            r#"{"x":1e23}"#,                // a power of ten a double does not hold
            r#"{"x":123456789012345678901}"#,
            r#"{"n":1.0}"#,
            r#"{"n":"x"}"#,
            r#"{"n":""}"#,
            r#"{"ok":{"a":[1]}}"#,
            r#"{"p":5}"#,
            r#"{"z":01}"#,
            r#"{"z":1.}"#,
            r#"{"z":[1,]}"#,
            r#"{"z":{"a":1,}}"#,
            r#"{"z":"\x"}"#,
            "{\"z\":\"\u{1}\"}",
            r#"{"n":1,}"#,
            r#"{"n":1} x"#,
            r#"[1]"#,
            r#"{"n":1"#,
        ] {
            let (fast, _) = both(&schema, json.as_bytes());
            assert_eq!(fast, None, "{json}");
        }
        // Nesting past 64 in a skipped field: serde's limit is 128.
        let deep = format!(r#"{{"z":{}1{},"n":2}}"#, "[".repeat(100), "]".repeat(100));
        let (fast, serde) = both(&schema, deep.as_bytes());
        assert_eq!((fast, serde.is_ok()), (None, true));
        // Not UTF-8: in a skipped string both take it (serde_json does not check it there);
        // in one that is read, both refuse it.
        let (fast, serde) = both(&schema, b"{\"z\":\"\xff\",\"n\":1}");
        assert_eq!(fast, Some(serde.unwrap()));
        let (fast, serde) = both(&schema, b"{\"user\":\"\xff\"}");
        assert_eq!((fast, serde.is_err()), (None, true));
    }

    /// Each level expects the fields the table declares there, in its order (read or not),
    /// as what looking each name up finds.
    #[test]
    fn declared_fields_are_expected_in_the_tables_order() {
        let schema = mixed();
        let names = |f: &Fields| -> Vec<String> {
            (f.declared.iter())
                .map(|d| String::from_utf8(d.prefix.to_vec()).unwrap())
                .collect()
        };
        let looked_up = |f: &Fields| {
            (f.declared.iter()).all(|d| {
                let name = &d.prefix[1..d.prefix.len() - 2];
                d.what == f.known(name, Name::head(name))
            })
        };
        // Two columns read: the others are expected too, to be skipped.
        let fields = Fields::new(&schema, &[1, 8]);
        let top = [
            "\"user\":",
            "\"n\":",
            "\"x\":",
            "\"ok\":",
            "\"t\":",
            "\"d\":",
            "\"event_dateTime\":",
            "\"p\":",
        ];
        assert_eq!(names(&fields), top);
        let p = &fields.rows[0].1;
        assert_eq!(names(p), ["\"id\":", "\"q\":"]);
        assert_eq!(names(&p.rows[0].1), ["\"name\":"]);
        assert!(looked_up(&fields) && looked_up(p) && looked_up(&p.rows[0].1));
        assert_eq!(fields.declared[0].what, Known::Skip);
        assert_eq!(fields.declared[1].what, Known::Column(0, 1, true));
        assert_eq!(fields.declared[7].what, Known::Row(0));
        // Found at the position after their own, or not at all.
        assert_eq!(fields.after(b"ok"), Some(4));
        assert_eq!(fields.after(b"OK"), None);
        assert_eq!(fields.expected(3, br#""ok":true"#).map(|(_, n)| n), Some(5));
        assert!(fields.expected(3, br#""ok" :true"#).is_none());
        assert!(fields.expected(2, br#""ok":true"#).is_none());
        // Compared as a word with sixteen bytes to read, else byte by byte; a longer name
        // past its sixteenth byte too.
        let long = Declared::new("event_dateTime_x", Known::Skip);
        for (bytes, begins) in [
            (&br#""ok":1,"n":2,"x":3"#[..], true),
            (br#""ok":1"#, true),
            (br#""ok""#, false),
            (br#""oK":1,"n":2,"x":3"#, false),
        ] {
            assert_eq!(fields.declared[3].begins(bytes), begins);
        }
        assert!(long.begins(br#""event_dateTime_x":1"#));
        assert!(!long.begins(br#""event_dateTime_y":1"#));
        assert!(!long.begins(br#""event_dateTime_x" :1"#));
        // A name a record cannot hold unescaped is looked up instead.
        let odd = Schema::new([("a\"b", DataType::Int), ("c", DataType::Int)]);
        assert_eq!(names(&Fields::new(&odd, &[0, 1])), ["\"c\":"]);
    }

    /// Records written in the table's order, with fields left out, added, moved, spaced or
    /// of another case: the fast reader (taking the expected names) reads what serde reads.
    #[test]
    fn records_in_the_declared_order_read_as_serde_reads_them() {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;

        let values = |name: &'static str| -> BoxedStrategy<String> {
            let v: &[&str] = match name {
                "user" => &[r#""ann""#, r#""a\"b""#, "null", "5"],
                "n" | "id" => &["7", "-3", "null", r#""42""#, "1.5"],
                "x" => &["2.5", "-0.0", "1e3", "null"],
                "ok" => &["true", "false", "null"],
                "t" | "event_dateTime" => &[r#""2015-07-15 00:00:00.000""#, "1436918400000"],
                "d" => &[r#""1.25""#, "12"],
                "name" => &[r#""é""#, "null"],
                _ => &["1", r#""z""#, "[1,{}]", "{}"],
            };
            prop::sample::select(v.to_vec())
                .prop_map(str::to_string)
                .boxed()
        };
        // A field: left out, as declared, of another case, spaced, or followed by another.
        let field = move |name: &'static str| {
            let v = values(name);
            (
                0u8..8,
                v,
                prop::sample::select(vec!["z", "USER", "n", "id"]),
            )
                .prop_map(move |(how, v, extra)| match how {
                    0 => vec![],
                    1 => vec![format!("\"{}\":{v}", name.to_uppercase())],
                    2 => vec![format!("\"{name}\" : {v}")],
                    3 => vec![format!("\"{name}\":{v}"), format!("\"{extra}\":{v}")],
                    _ => vec![format!("\"{name}\":{v}")],
                })
        };
        let object = |fields: Vec<Vec<String>>| format!("{{{}}}", fields.concat().join(","));
        let q = field("name").prop_map(move |f| object(vec![f]));
        let p =
            (field("id"), prop::option::of(q), any::<bool>()).prop_map(
                move |(id, q, null)| match (null, q) {
                    (true, _) => "null".to_string(),
                    (false, Some(q)) => object(vec![id, vec![format!("\"q\":{q}")]]),
                    (false, None) => object(vec![id]),
                },
            );
        let record = (
            (field("user"), field("n"), field("x"), field("ok")),
            (field("t"), field("d"), field("event_dateTime")),
            p,
            any::<prop::sample::Index>(),
        )
            .prop_map(move |((a, b, c, d), (e, f, g), p, swap)| {
                let mut fields = vec![a, b, c, d, e, f, g, vec![format!("\"p\":{p}")]];
                // Sometimes two fields change places.
                let i = swap.index(fields.len() * 2);
                if i + 1 < fields.len() {
                    fields.swap(i, i + 1);
                }
                object(fields)
            });
        let schema = mixed();
        let mut runner = TestRunner::deterministic();
        let (mut taken, mut n) = (0, 0);
        for _ in 0..5_000 {
            let json = record.new_tree(&mut runner).unwrap().current();
            let (fast, serde) = both(&schema, json.as_bytes());
            if let Some(fast) = &fast {
                assert_eq!(Ok(fast), serde.as_ref(), "{json}");
                taken += 1;
            }
            n += 1;
        }
        assert!(taken * 2 > n, "{taken} of {n} records taken");
    }

    /// Generated records, valid and broken: whatever the fast reader takes, serde reads the
    /// same; and it takes most of the valid ones.
    #[test]
    fn the_fast_reader_agrees_with_serde_on_generated_records() {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;

        let key = prop_oneof![
            Just("user"),
            Just("USER"),
            Just("n"),
            Just("N"),
            Just("x"),
            Just("ok"),
            Just("t"),
            Just("d"),
            Just("p"),
            Just("id"),
            Just("q"),
            Just("name"),
            Just("z"),
            Just("\\u0075ser"),
            Just("event_dateTime"),
            Just("EVENT_DATETIME"),
            Just("event_dateTimf"),
            Just("event_date"),
        ];
        let scalar = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("false".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            (0u64..1000).prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| f.to_string()),
            (-99999i64..99999, 0u32..8, -30i32..30)
                .prop_map(|(m, f, e)| format!("{m}.{}e{e}", "5".repeat(f as usize + 1))),
            (-999i64..999, 1u32..30).prop_map(|(m, f)| format!("{m}.{:0w$}", 7, w = f as usize)),
            prop_oneof![
                Just("-0"),
                Just("-0.0"),
                Just("1e22"),
                Just("1E-22"),
                Just("2.5e+3"),
                Just("9223372036854775808"),
                Just("-9223372036854775809"),
                Just("123456789012345678901"),
                Just("1.7976931348623157e308"),
            ]
            .prop_map(str::to_string),
            "\"([a-z é]|\\\\[\"\\\\/bfnrt]|\\\\u00e9|\\\\ud83d\\\\ude00|\\\\u0041){0,12}\"",
            prop_oneof![
                Just("\"2015-07-15 00:00:00.000\""),
                Just("\"7\""),
                Just("\"\""),
                Just("\"NaN\""),
                Just("\"1.25\""),
                Just("\"true\""),
            ]
            .prop_map(str::to_string),
        ];
        let ws = prop_oneof![Just(""), Just(""), Just(" "), Just("\n\t ")];
        let value = scalar.prop_recursive(3, 24, 5, move |inner| {
            prop_oneof![
                prop::collection::vec((key.clone(), ws.clone(), inner.clone()), 0..5).prop_map(
                    |fields| {
                        let fields: Vec<String> = (fields.into_iter())
                            .map(|(k, w, v)| format!("{w}\"{k}\"{w}:{w}{v}{w}"))
                            .collect();
                        format!("{{{}}}", fields.join(","))
                    }
                ),
                prop::collection::vec(inner, 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            ]
        });
        // A record: an object; sometimes one byte replaced, removed or added.
        let broken = prop_oneof![
            4 => Just(None),
            1 => (any::<prop::sample::Index>(), 0u8..3, prop::sample::select(
                b"\"\\,:{}[]0e.- \x01\xffn".to_vec()
            )).prop_map(Some),
        ];
        let record = (
            value.prop_filter("an object", |v| v.starts_with('{')),
            broken,
        );
        let schema = mixed();
        let mut runner = TestRunner::deterministic();
        let (mut valid, mut taken_valid, mut taken_broken) = (0, 0, 0);
        for _ in 0..20_000 {
            let (json, broken) = record.new_tree(&mut runner).unwrap().current();
            let mut bytes = json.into_bytes();
            if let Some((at, how, b)) = broken {
                let at = at.index(bytes.len());
                match how {
                    0 => bytes[at] = b,
                    1 => drop(bytes.remove(at)),
                    _ => bytes.insert(at, b),
                }
            }
            let (fast, serde) = both(&schema, &bytes);
            if let Some(fast) = &fast {
                assert_eq!(
                    Ok(fast),
                    serde.as_ref(),
                    "{}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            match (broken.is_none(), fast.is_some()) {
                (true, taken) => {
                    valid += 1;
                    taken_valid += usize::from(taken);
                }
                (false, taken) => taken_broken += usize::from(taken),
            }
        }
        eprintln!("{taken_valid} of {valid} valid, {taken_broken} broken taken");
        assert!(
            taken_valid * 3 > valid,
            "{taken_valid} of {valid} valid records taken"
        );
        assert!(taken_broken > 100, "{taken_broken} broken records taken");
    }
}
