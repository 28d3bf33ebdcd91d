//! Rows, values and types: the data that flows between operators.
//!
//! A [`Row`] is a vector of [`Datum`]s laid out by a [`Schema`]. Rows are what differential
//! collections hold and what timely exchanges between workers (serialized with serde/bincode,
//! as timely does for every exchanged type).

use std::fmt;

use ordered_float::OrderedFloat;
use serde::{Deserialize, Serialize};

/// One SQL value. The derived order (`Null` first, then by variant) makes rows usable as
/// differential keys; comparisons in SQL expressions go through [`Datum::sql_cmp`] instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Datum {
    /// SQL NULL.
    #[default]
    Null,
    /// BOOLEAN.
    Bool(bool),
    /// BIGINT / INT / SMALLINT, and TIMESTAMP as milliseconds since the epoch.
    Int(i64),
    /// DOUBLE / FLOAT / DECIMAL (approximated).
    Float(OrderedFloat<f64>),
    /// STRING / VARCHAR / TEXT / BYTES (bytes that are not UTF-8 are rejected at decode).
    Str(String),
}

/// A row: values in schema order.
pub type Row = Vec<Datum>;

/// The SQL types ddflow knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// BOOLEAN.
    Bool,
    /// BIGINT (all integer widths are widened to 64 bits).
    Int,
    /// DOUBLE.
    Float,
    /// STRING.
    String,
    /// TIMESTAMP, held as milliseconds since the Unix epoch.
    Timestamp,
}

impl DataType {
    /// The SQL spelling used in plans and messages.
    pub fn sql_name(self) -> &'static str {
        match self {
            DataType::Bool => "BOOLEAN",
            DataType::Int => "BIGINT",
            DataType::Float => "DOUBLE",
            DataType::String => "STRING",
            DataType::Timestamp => "TIMESTAMP",
        }
    }

    /// Whether values of this type take part in arithmetic.
    pub fn is_numeric(self) -> bool {
        matches!(self, DataType::Int | DataType::Float)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Column name as written (compared case-insensitively).
    pub name: String,
    /// Column type.
    pub ty: DataType,
}

/// The columns of a relation, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Schema {
    /// The columns.
    pub columns: Vec<Column>,
}

impl Schema {
    /// A schema from `(name, type)` pairs.
    pub fn new(columns: impl IntoIterator<Item = (impl Into<String>, DataType)>) -> Self {
        Schema {
            columns: columns
                .into_iter()
                .map(|(name, ty)| Column {
                    name: name.into(),
                    ty,
                })
                .collect(),
        }
    }

    /// The index of a column, compared case-insensitively.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

impl Datum {
    /// Whether this is SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// SQL comparison: `None` when either side is NULL; integers and floats compare numerically.
    pub fn sql_cmp(&self, other: &Datum) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Datum::Null, _) | (_, Datum::Null) => None,
            (Datum::Int(a), Datum::Float(b)) => OrderedFloat(*a as f64).partial_cmp(b),
            (Datum::Float(a), Datum::Int(b)) => a.partial_cmp(&OrderedFloat(*b as f64)),
            (a, b) => Some(a.cmp(b)),
        }
    }

    /// This value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Datum::Null => serde_json::Value::Null,
            Datum::Bool(b) => serde_json::Value::Bool(*b),
            Datum::Int(i) => serde_json::Value::from(*i),
            Datum::Float(f) => serde_json::Number::from_f64(f.0)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Datum::Str(s) => serde_json::Value::String(s.clone()),
        }
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Datum::Null => f.write_str("NULL"),
            Datum::Bool(b) => write!(f, "{b}"),
            Datum::Int(i) => write!(f, "{i}"),
            Datum::Float(x) => write!(f, "{}", x.0),
            Datum::Str(s) => f.write_str(s),
        }
    }
}

/// A row as a JSON object keyed by the schema's column names.
pub fn row_to_json(schema: &Schema, row: &[Datum]) -> serde_json::Map<String, serde_json::Value> {
    schema
        .columns
        .iter()
        .zip(row)
        .map(|(c, d)| (c.name.clone(), d.to_json()))
        .collect()
}
