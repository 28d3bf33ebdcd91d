//! How sinks write values as text: a value's text (numbers as JSON writes them, strings as
//! themselves, times as `yyyy-MM-dd HH:mm:ss.SSS`) and CSV lines of values, shared by the
//! file sink and the Kafka sink's `csv` and `raw` formats.

use std::fmt::Write;

use crate::data::{value_to_json, write_timestamp, DataType, Datum};

/// A value as text: what a CSV field, a `raw` message or a partition name holds.
pub fn text(d: Datum<'_>, ty: DataType) -> String {
    let mut out = String::new();
    push_text(&mut out, d, ty);
    out
}

/// [`text`] appended to `out`: strings, integers and timestamps (most of what file sinks
/// write) without a JSON value in between.
pub fn push_text(out: &mut String, d: Datum<'_>, ty: DataType) {
    match (d, ty) {
        (Datum::Str(s), _) => out.push_str(s),
        (Datum::Int(ms), DataType::Timestamp) => write_timestamp(out, ms),
        (Datum::Int(_), DataType::Interval | DataType::Date) => push_json(out, d, ty),
        (Datum::Int(i), _) => {
            let _ = write!(out, "{i}");
        }
        _ => push_json(out, d, ty),
    }
}

fn push_json(out: &mut String, d: Datum<'_>, ty: DataType) {
    match value_to_json(d, ty) {
        serde_json::Value::String(s) => out.push_str(&s),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// Values as one CSV line without its terminator (RFC 4180 quoting, NULL an empty field).
pub fn csv_line<'a>(values: impl IntoIterator<Item = (Datum<'a>, DataType)>) -> String {
    let mut line = CsvLine::default();
    let mut out = Vec::new();
    for (d, ty) in values {
        line.value(d, ty, &mut out);
    }
    line.end(&mut out);
    out.pop();
    // Fields are text and quoting adds only ASCII.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes CSV lines into a byte buffer, one value at a time: RFC 4180 quoting (by
/// `csv_core`, as the `csv` crate quotes), NULL an empty field, `\n` after each line.
pub struct CsvLine {
    core: csv_core::Writer,
    fields: usize,
    text: String,
}

impl Default for CsvLine {
    fn default() -> Self {
        CsvLine {
            core: csv_core::WriterBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            fields: 0,
            text: String::new(),
        }
    }
}

/// A fresh writer: between lines one holds nothing (`csv_core`'s is not `Clone`).
impl Clone for CsvLine {
    fn clone(&self) -> Self {
        CsvLine::default()
    }
}

impl CsvLine {
    /// The next field of the line: `d`'s text.
    pub fn value(&mut self, d: Datum<'_>, ty: DataType, out: &mut Vec<u8>) {
        self.text.clear();
        if !d.is_null() {
            push_text(&mut self.text, d, ty);
        }
        if self.fields > 0 {
            write_with(out, 2, |o| self.core.delimiter(o).1);
        }
        let field = self.text.as_bytes();
        // At most every byte doubled, and the opening quote (`csv_core`'s bound).
        write_with(out, 2 * field.len() + 2, |o| self.core.field(field, o).2);
        self.fields += 1;
    }

    /// End the line (a closing quote, and `""` for a line of one empty field).
    pub fn end(&mut self, out: &mut Vec<u8>) {
        write_with(out, 4, |o| self.core.terminator(o).1);
        self.fields = 0;
    }
}

/// Let `write` fill up to `room` bytes at the end of `out`; keep what it wrote.
fn write_with(out: &mut Vec<u8>, room: usize, write: impl FnOnce(&mut [u8]) -> usize) {
    let start = out.len();
    out.resize(start + room, 0);
    let n = write(&mut out[start..]);
    out.truncate(start + n);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_quote_as_rfc_4180_says() {
        let line = |values: &[Datum<'_>]| csv_line(values.iter().map(|d| (*d, DataType::String)));
        assert_eq!(line(&[Datum::Str("a"), Datum::Str("b")]), "a,b");
        assert_eq!(
            line(&[Datum::Str("a, b"), Datum::Str("say \"hi\"")]),
            "\"a, b\",\"say \"\"hi\"\"\""
        );
        assert_eq!(
            line(&[Datum::Str("two\nlines"), Datum::Null]),
            "\"two\nlines\","
        );
        assert_eq!(line(&[Datum::Null]), "\"\"");
        assert_eq!(
            csv_line([
                (Datum::Int(-7), DataType::Int),
                (Datum::Int(1_436_918_400_250), DataType::Timestamp),
                (Datum::Bool(true), DataType::Bool),
            ]),
            "-7,2015-07-15 00:00:00.250,true"
        );
    }
}
