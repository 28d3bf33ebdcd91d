//! Record bytes → [`Row`], per the table's format and metadata columns.
//!
//! Decoding never panics: a record that does not fit (bad UTF-8, bad JSON, a JSON value of
//! the wrong type, wrong CSV arity) is a [`DecodeError`] naming the column and the problem;
//! the source applies the table's bad-record policy to it.

use std::sync::Arc;

use ordered_float::OrderedFloat;
use smallvec::{smallvec, SmallVec};

use crate::data::{DataType, Datum, Row, Schema};
use crate::spec::{ColumnSource, SourceFormat, SourceSpec};

/// One Kafka record, borrowed from the client.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// The key bytes, if any.
    pub key: Option<&'a [u8]>,
    /// The value bytes (`None` for a tombstone).
    pub payload: Option<&'a [u8]>,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Record timestamp in ms, if any.
    pub timestamp: Option<i64>,
}

/// Why a record did not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a source makes of each decoded row, when the program reads its table only through
/// one chain of filters and projections (see [`crate::render::source_maps`]): that chain's
/// row (`None` when a filter drops it), made from the decoded values without packing the
/// table's row first.
#[derive(Clone)]
pub struct RowMap(Arc<dyn Fn(&[Datum<'_>]) -> Option<Row> + Send + Sync>);

impl RowMap {
    /// The map `f`.
    pub fn new(f: impl Fn(&[Datum<'_>]) -> Option<Row> + Send + Sync + 'static) -> RowMap {
        RowMap(Arc::new(f))
    }

    /// The row the map makes of `values`, if it keeps one.
    pub fn apply(&self, values: &[Datum<'_>]) -> Option<Row> {
        (self.0)(values)
    }
}

impl std::fmt::Debug for RowMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowMap")
    }
}

/// Decodes the records of one source table.
#[derive(Debug, Clone)]
pub struct Decoder {
    schema: Schema,
    /// The columns that are not the value's (key, partition, offset, timestamp), by position.
    metadata: Vec<(usize, ColumnSource)>,
    format: SourceFormat,
    /// Positions (in `schema`) of the value columns, in order.
    value_columns: Vec<usize>,
    /// Where the value columns are in a JSON object.
    json_fields: crate::source::json::Fields,
    /// The columns a row holds when the table is narrowed ([`SourceSpec::layout`]).
    layout: Option<Vec<usize>>,
    /// Set when the rows are a chain's over the table, not the table's.
    map: Option<RowMap>,
}

impl Decoder {
    /// A decoder for `spec`'s format and columns.
    pub fn new(spec: &SourceSpec) -> Self {
        let value_columns: Vec<usize> = (0..spec.schema.len())
            .filter(|i| spec.column_sources[*i] == ColumnSource::Value)
            .collect();
        // A JSON object's fields the program does not read are skipped, not decoded.
        let decoded: Vec<usize> = match &spec.columns_read {
            Some(read) => (value_columns.iter().copied())
                .filter(|c| read.contains(c))
                .collect(),
            None => value_columns.clone(),
        };
        Decoder {
            json_fields: crate::source::json::Fields::new(&spec.schema, &decoded),
            schema: spec.schema.clone(),
            metadata: (spec.column_sources.iter().enumerate())
                .filter(|(_, s)| **s != ColumnSource::Value)
                .map(|(i, s)| (i, s.clone()))
                .collect(),
            format: spec.format.clone(),
            value_columns,
            layout: spec.layout(),
            map: None,
        }
    }

    /// This decoder making `map`'s rows instead of the table's, when there is one.
    pub fn mapped(self, map: Option<RowMap>) -> Self {
        Decoder { map, ..self }
    }

    /// Decode one record into rows laid out by the table's schema, appended to `out`: one row,
    /// or one per line for a CSV message of several lines (with a map, the map's rows: none
    /// for a record its filters drop). On error nothing is appended (a message is decoded
    /// whole or not at all). A tombstone (no value) is not a record to decode: the source
    /// skips it before calling this. Text is packed straight from the record's bytes (a raw
    /// word is never copied into a string of its own).
    pub fn decode(&self, rec: RecordRef<'_>, out: &mut Vec<Row>) -> Result<(), DecodeError> {
        let start = out.len();
        let result = self
            .metadata(rec)
            .and_then(|meta| self.decode_values(rec.payload, &meta, out));
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The metadata columns of `rec`, by position.
    fn metadata<'a>(
        &self,
        rec: RecordRef<'a>,
    ) -> Result<SmallVec<[(usize, Datum<'a>); 4]>, DecodeError> {
        let mut meta = SmallVec::new();
        for (i, source) in &self.metadata {
            let value = match source {
                ColumnSource::Value => continue, // not in `metadata`
                ColumnSource::Key => match rec.key {
                    None => Datum::Null,
                    Some(k) => Datum::Str(utf8(k, "key")?),
                },
                ColumnSource::Partition => Datum::Int(i64::from(rec.partition)),
                ColumnSource::Offset => Datum::Int(rec.offset),
                ColumnSource::Timestamp => rec.timestamp.map_or(Datum::Null, Datum::Int),
            };
            meta.push((*i, value));
        }
        Ok(meta)
    }

    /// Append the row of `values` (laid out by the schema) with the metadata columns set: the
    /// columns of the layout when the table is narrowed, the map's row (if it keeps one) when
    /// there is a map.
    fn emit<'a>(&self, values: &mut [Datum<'a>], meta: &[(usize, Datum<'a>)], out: &mut Vec<Row>) {
        for (i, d) in meta {
            values[*i] = *d;
        }
        match (&self.map, &self.layout) {
            (Some(map), _) => out.extend(map.apply(values)),
            (None, Some(layout)) => out.push(Row::pack(layout.iter().map(|&c| values[c]))),
            (None, None) => out.push(Row::pack_slice(values)),
        }
    }

    /// Append the rows of the value bytes.
    fn decode_values(
        &self,
        payload: Option<&[u8]>,
        meta: &[(usize, Datum<'_>)],
        out: &mut Vec<Row>,
    ) -> Result<(), DecodeError> {
        // Strings a JSON value must unescape (or a number given to a STRING column) live here,
        // as long as the row is being built.
        let arena = bumpalo::Bump::new();
        let mut values: SmallVec<[Datum<'_>; 32]> = smallvec![Datum::Null; self.schema.len()];
        if self.value_columns.is_empty() {
            self.emit(&mut values, meta, out);
            return Ok(());
        }
        let Some(bytes) = payload else {
            return Err(DecodeError("record has no value (tombstone)".into()));
        };
        match &self.format {
            SourceFormat::Raw => {
                values[self.value_columns[0]] = Datum::Str(utf8(bytes, "value")?);
                self.emit(&mut values, meta, out);
            }
            SourceFormat::Json => {
                crate::source::json::decode_object(
                    bytes,
                    &self.schema,
                    &self.json_fields,
                    &arena,
                    &mut values,
                )?;
                self.emit(&mut values, meta, out);
            }
            SourceFormat::Csv { delimiter } => {
                self.decode_csv(bytes, *delimiter, &mut values, meta, out)?
            }
        }
        Ok(())
    }

    /// Every line of the message is a row; a message with no line, or with any line that does
    /// not fit the table, is a bad record as a whole.
    fn decode_csv<'a>(
        &self,
        bytes: &[u8],
        delimiter: u8,
        values: &mut [Datum<'a>],
        meta: &[(usize, Datum<'a>)],
        out: &mut Vec<Row>,
    ) -> Result<(), DecodeError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        let mut rows = 0;
        loop {
            let read = reader
                .read_byte_record(&mut record)
                .map_err(|e| DecodeError(format!("invalid CSV: {e}")))?;
            if !read {
                break;
            }
            rows += 1;
            if record.len() != self.value_columns.len() {
                return Err(DecodeError(format!(
                    "CSV line {rows} has {} fields, the table declares {}",
                    record.len(),
                    self.value_columns.len()
                )));
            }
            let mut line: SmallVec<[Datum<'_>; 16]> = values.iter().copied().collect();
            for (field, &col) in record.iter().zip(&self.value_columns) {
                let column = &self.schema.columns[col];
                let text = utf8(field, &column.name)?;
                line[col] = text_datum(text, column.ty).ok_or_else(|| {
                    DecodeError(format!(
                        "CSV line {rows}, field \"{}\": expected {}, got \"{text}\"",
                        column.name, column.ty
                    ))
                })?;
            }
            self.emit(&mut line, meta, out);
        }
        if rows == 0 {
            return Err(DecodeError("CSV message holds no line".into()));
        }
        Ok(())
    }
}

fn utf8<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(bytes).map_err(|e| DecodeError(format!("{what} is not valid UTF-8: {e}")))
}

/// A CSV field (or a JSON string) as a datum of type `ty`; an empty field is NULL; `None` when
/// it does not parse.
pub(crate) fn text_datum(text: &str, ty: DataType) -> Option<Datum<'_>> {
    if text.is_empty() {
        return Some(Datum::Null);
    }
    match ty {
        DataType::String => Some(Datum::Str(text)),
        DataType::Int | DataType::Interval => text.trim().parse().ok().map(Datum::Int),
        DataType::Decimal(p, s) => crate::data::decimal::parse(text, s)
            .filter(|m| crate::data::decimal::fits(*m, p))
            .map(|m| Datum::Decimal(crate::data::decimal::Mantissa::new(m))),
        DataType::Timestamp => crate::data::parse_timestamp(text)
            .or_else(|| text.trim().parse().ok())
            .map(Datum::Int),
        DataType::Date => crate::data::parse_date(text).map(Datum::Int),
        // An array is read only from a JSON array.
        DataType::Array(_) => None,
        DataType::Float => text
            .trim()
            .parse()
            .ok()
            .map(|f| Datum::Float(OrderedFloat(f))),
        DataType::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(Datum::Bool(true)),
            "false" => Some(Datum::Bool(false)),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{BadRecordPolicy, StartupMode};

    fn spec(format: SourceFormat, cols: Vec<(&str, DataType, ColumnSource)>) -> SourceSpec {
        SourceSpec {
            name: "t".into(),
            schema: Schema::new(cols.iter().map(|(n, t, _)| (n.to_string(), *t))),
            column_sources: cols.into_iter().map(|(_, _, s)| s).collect(),
            topic: "t".into(),
            bootstrap_servers: "x".into(),
            group_id: None,
            properties: Default::default(),
            format,
            bad_records: BadRecordPolicy::Fail,
            startup: StartupMode::Earliest,
            bounded: false,
            file: None,
            watermark: None,
            idle_timeout_ms: None,
            late_records: Default::default(),
            columns_read: None,
        }
    }

    fn decode1(d: &Decoder, rec: RecordRef<'_>) -> Result<Row, DecodeError> {
        let mut out = Vec::new();
        d.decode(rec, &mut out)?;
        assert_eq!(out.len(), 1);
        Ok(out.remove(0))
    }

    fn rec(payload: &[u8]) -> RecordRef<'_> {
        RecordRef {
            key: Some(b"k"),
            payload: Some(payload),
            partition: 3,
            offset: 42,
            timestamp: Some(7),
        }
    }

    #[test]
    fn json_columns_the_program_does_not_read_are_skipped() {
        let mut s = spec(
            SourceFormat::Json,
            vec![
                ("a", DataType::Int, ColumnSource::Value),
                ("b", DataType::Int, ColumnSource::Value),
                ("p", DataType::Int, ColumnSource::Partition),
            ],
        );
        s.columns_read = Some(vec![0]);
        let d = Decoder::new(&s);
        // "b" is not read: not decoded, so a value of another type there is no error.
        let row = decode1(&d, rec(br#"{"a":1,"b":"x"}"#)).unwrap();
        // The row holds what is read: "a" and the partition.
        assert_eq!(s.layout(), Some(vec![0, 2]));
        assert_eq!(row.unpack().as_slice(), [Datum::Int(1), Datum::Int(3)]);
        let e = decode1(&d, rec(br#"{"a":"y","b":2}"#)).unwrap_err();
        assert_eq!(e.0, r#"field "a": expected BIGINT, got "y""#);
    }

    #[test]
    fn json_with_metadata() {
        let d = Decoder::new(&spec(
            SourceFormat::Json,
            vec![
                ("user", DataType::String, ColumnSource::Value),
                ("amount", DataType::Float, ColumnSource::Value),
                ("p", DataType::Int, ColumnSource::Partition),
                ("k", DataType::String, ColumnSource::Key),
            ],
        ));
        let row = decode1(&d, rec(br#"{"user":"ann","amount":2}"#)).unwrap();
        assert_eq!(
            row,
            Row::pack([
                Datum::Str("ann"),
                Datum::Float(OrderedFloat(2.0)),
                Datum::Int(3),
                Datum::Str("k")
            ])
        );
        let err = decode1(&d, rec(br#"{"user":"ann","amount":"x"}"#)).unwrap_err();
        assert!(err.0.contains("field \"amount\": expected DOUBLE"), "{err}");
        assert!(decode1(&d, rec(b"{nope"))
            .unwrap_err()
            .0
            .starts_with("invalid JSON"));
        let nan = decode1(&d, rec(br#"{"user":"x","amount":"NaN"}"#)).unwrap();
        assert!(matches!(nan.get(1), Datum::Float(f) if f.0.is_nan()));
        let inf = decode1(&d, rec(br#"{"user":"x","amount":"-Infinity"}"#)).unwrap();
        assert_eq!(inf.get(1), Datum::Float(OrderedFloat(f64::NEG_INFINITY)));
    }

    #[test]
    fn csv_arity_and_types() {
        let d = Decoder::new(&spec(
            SourceFormat::Csv { delimiter: b',' },
            vec![
                ("a", DataType::Int, ColumnSource::Value),
                ("b", DataType::String, ColumnSource::Value),
            ],
        ));
        assert_eq!(
            decode1(&d, rec(b"1,x")).unwrap(),
            Row::pack([Datum::Int(1), Datum::Str("x")])
        );
        assert_eq!(
            decode1(&d, rec(b"1,x,y")).unwrap_err().0,
            "CSV line 1 has 3 fields, the table declares 2"
        );
        assert!(decode1(&d, rec(b"z,x"))
            .unwrap_err()
            .0
            .contains("expected BIGINT"));
    }

    #[test]
    fn csv_message_of_several_lines_is_several_rows_or_none() {
        let d = Decoder::new(&spec(
            SourceFormat::Csv { delimiter: b',' },
            vec![
                ("a", DataType::Int, ColumnSource::Value),
                ("b", DataType::String, ColumnSource::Value),
                ("p", DataType::Int, ColumnSource::Partition),
            ],
        ));
        let mut out = vec![Row::pack([Datum::Null; 3])];
        d.decode(rec(b"1,x\n2,y\n3,z\n"), &mut out).unwrap();
        let a: Vec<Datum> = out.iter().map(|r| r.get(0)).collect();
        assert_eq!(
            a,
            [Datum::Null, Datum::Int(1), Datum::Int(2), Datum::Int(3)]
        );
        assert!(
            out[1..].iter().all(|r| r.get(2) == Datum::Int(3)),
            "metadata on every row"
        );
        let err = d.decode(rec(b"4,u\nfive,v"), &mut out).unwrap_err();
        assert_eq!(
            err.0,
            "CSV line 2, field \"a\": expected BIGINT, got \"five\""
        );
        assert_eq!(out.len(), 4, "a bad message adds no row at all");
        assert_eq!(
            d.decode(rec(b""), &mut out).unwrap_err().0,
            "CSV message holds no line"
        );
    }

    #[test]
    fn raw_rejects_bad_utf8() {
        let d = Decoder::new(&spec(
            SourceFormat::Raw,
            vec![("value", DataType::String, ColumnSource::Value)],
        ));
        assert_eq!(
            decode1(&d, rec(b"word")).unwrap(),
            Row::pack([Datum::Str("word")])
        );
        assert!(decode1(&d, rec(&[0xff, 0xfe]))
            .unwrap_err()
            .0
            .starts_with("value is not valid UTF-8"));
    }
}
