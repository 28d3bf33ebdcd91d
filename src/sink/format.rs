//! How sinks write values as text: a value's text (numbers as JSON writes them, strings as
//! themselves, times as `yyyy-MM-dd HH:mm:ss.SSS`) and CSV lines of values, shared by the
//! file sink and the Kafka sink's `csv` and `raw` formats.

use crate::data::{value_to_json, DataType, Datum};
use crate::error::{Error, Result};

/// A value as text: what a CSV field, a `raw` message or a partition name holds.
pub fn text(d: Datum<'_>, ty: DataType) -> String {
    match value_to_json(d, ty) {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Values as one CSV line without its terminator (RFC 4180 quoting, NULL an empty field).
pub fn csv_line<'a>(values: impl IntoIterator<Item = (Datum<'a>, DataType)>) -> Result<String> {
    let fields: Vec<String> = (values.into_iter())
        .map(|(d, ty)| match d {
            Datum::Null => String::new(),
            d => text(d, ty),
        })
        .collect();
    let mut out = csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let bad = |e: &dyn std::fmt::Display| Error::Internal(format!("CSV line: {e}"));
    out.write_record(&fields).map_err(|e| bad(&e))?;
    let bytes = out.into_inner().map_err(|e| bad(&e))?;
    let mut line = String::from_utf8(bytes).map_err(|e| bad(&e))?;
    line.pop();
    Ok(line)
}
