//! The console sink (`'connector' = 'print'`): a readable table per epoch, of the epoch's
//! changes or of the whole result. This and `main.rs` are the only places that print.

use std::collections::BTreeMap;
use std::io::Write;

use crate::data::{format_value, Row, Schema};
use crate::error::{Error, Result};
use crate::sink::EpochWriter;
use crate::spec::{PrintMode, SinkSpec};
use crate::timestamp::{epoch_text, Diff, Time};

/// Prints epochs to standard output.
pub struct ConsoleWriter {
    name: String,
    schema: Schema,
    mode: PrintMode,
    /// The whole result, kept in `complete` mode.
    state: BTreeMap<Row, Diff>,
}

impl ConsoleWriter {
    /// A writer for `spec` in `mode`.
    pub fn new(spec: &SinkSpec, mode: PrintMode) -> Self {
        ConsoleWriter {
            name: spec.name.clone(),
            schema: spec.schema.clone(),
            mode,
            state: BTreeMap::new(),
        }
    }
}

impl EpochWriter for ConsoleWriter {
    fn write_epoch(&mut self, time: Time, changes: &[(Row, Diff)]) -> Result<()> {
        let (title, rows): (String, Vec<(String, &Row, Diff)>) = match self.mode {
            PrintMode::Changelog => (
                format!(
                    "{}: epoch {}, {} changes",
                    self.name,
                    epoch_text(time),
                    changes.len()
                ),
                changes
                    .iter()
                    .map(|(r, d)| (if *d > 0 { "+" } else { "-" }.to_string(), r, d.abs()))
                    .collect(),
            ),
            PrintMode::Complete => {
                for (row, diff) in changes {
                    let n = self.state.entry(row.clone()).or_insert(0);
                    *n += diff;
                    if *n == 0 {
                        self.state.remove(row);
                    }
                }
                // Rows are shown in value order (the state's byte order is not one people read).
                let mut rows: Vec<(String, &Row, Diff)> = self
                    .state
                    .iter()
                    .map(|(r, d)| (String::new(), r, *d))
                    .collect();
                rows.sort_by(|a, b| a.1.iter().cmp(b.1.iter()));
                (
                    format!(
                        "{}: result after epoch {}, {} rows",
                        self.name,
                        epoch_text(time),
                        self.state.len()
                    ),
                    rows,
                )
            }
        };
        let text = render_table(&title, &self.schema, &rows);
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| Error::Sink {
                sink: self.name.clone(),
                message: format!("cannot write to stdout: {e}"),
            })
    }

    fn pending_since(&mut self) -> Result<Option<Time>> {
        Ok(None)
    }
}

/// A boxed text table: one column for the change sign (when present), then the row's columns;
/// a row with multiplicity `n > 1` gets a `×n` suffix.
fn render_table(title: &str, schema: &Schema, rows: &[(String, &Row, Diff)]) -> String {
    let signed = rows.iter().any(|(s, _, _)| !s.is_empty());
    let mut header: Vec<String> = schema.columns.iter().map(|c| c.name.clone()).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(sign, row, n)| {
            let mut cells: Vec<String> = row
                .iter()
                .zip(&schema.columns)
                .map(|(d, c)| format_value(d, c.ty))
                .collect();
            if *n > 1 {
                if let Some(last) = cells.last_mut() {
                    last.push_str(&format!(" (x{n})"));
                }
            }
            if signed {
                cells.insert(0, sign.clone());
            }
            cells
        })
        .collect();
    if signed {
        header.insert(0, "op".into());
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c:<w$} "))
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    let rule = format!(
        "+{}+\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let mut out = format!("{title}\n{rule}{}{rule}", line(&header));
    for c in &cells {
        out.push_str(&line(c));
    }
    out.push_str(&rule);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataType, Datum};

    #[test]
    fn table_layout() {
        let schema = Schema::new([("word", DataType::String), ("n", DataType::Int)]);
        let (a, b) = (
            Row::pack([Datum::Str("a"), Datum::Int(1)]),
            Row::pack([Datum::Str("bb"), Datum::Int(10)]),
        );
        let text = render_table("t", &schema, &[("-".into(), &a, 1), ("+".into(), &b, 2)]);
        let expected = "t\n+----+------+---------+\n| op | word | n       |\n+----+------+---------+\n| -  | a    | 1       |\n| +  | bb   | 10 (x2) |\n+----+------+---------+\n";
        assert_eq!(text, expected);
    }
}
