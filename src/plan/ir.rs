//! The logical plan: relations over typed rows, and scalar expressions.
//!
//! This is what `plan::lower` produces from SQL and what `render` turns into differential
//! operators. Column references are positions in the input relation's schema, resolved and
//! type-checked during lowering, so rendering never looks at names.

use serde::{Deserialize, Serialize};

use crate::data::{DataType, Schema, Value};
use crate::spec::{SinkSpec, SourceSpec};

/// A scalar expression over one input row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// The input column at this position.
    Column(usize),
    /// A constant.
    Literal(Value),
    /// `NOT e`, `-e`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `l op r`.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `CAST(e AS ty)`: a value that does not convert is an evaluation error;
    /// `TRY_CAST(e AS ty)` (`safe`): it is NULL.
    Cast {
        /// The operand.
        expr: Box<Expr>,
        /// The operand's type (a TIMESTAMP cast to STRING is written as a time).
        from: DataType,
        /// Target type.
        ty: DataType,
        /// `TRY_CAST`: NULL instead of an error.
        #[serde(default)]
        safe: bool,
    },
    /// `e LIKE pattern [ESCAPE 'c']`: `%` matches any run of characters, `_` one character,
    /// and the escape character makes the next pattern character literal.
    Like {
        /// The string matched.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The `ESCAPE` character, if any.
        escape: Option<char>,
    },
    /// `e IS [NOT] NULL`.
    IsNull {
        /// The operand.
        expr: Box<Expr>,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// A built-in scalar function.
    Call {
        /// The function.
        func: ScalarFunc,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `CASE WHEN c1 THEN r1 ... ELSE e END` (a simple `CASE x WHEN v` is lowered to this form).
    Case {
        /// `(condition, result)` pairs, tried in order.
        branches: Vec<(Expr, Expr)>,
        /// The `ELSE` result (NULL when absent).
        otherwise: Box<Expr>,
    },
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    /// Boolean negation.
    Not,
    /// Arithmetic negation.
    Neg,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (integer division on integers; division by zero gives NULL)
    Div,
    /// `%`
    Mod,
    /// `=`
    Eq,
    /// `<>` / `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `AND` (three-valued)
    And,
    /// `OR` (three-valued)
    Or,
    /// `||` string concatenation
    Concat,
}

impl BinaryOp {
    /// The comparison that holds of `b op' a` when `a op b` does (`<` and `>` swap).
    pub fn flipped(self) -> BinaryOp {
        match self {
            BinaryOp::Lt => BinaryOp::Gt,
            BinaryOp::LtEq => BinaryOp::GtEq,
            BinaryOp::Gt => BinaryOp::Lt,
            BinaryOp::GtEq => BinaryOp::LtEq,
            other => other,
        }
    }

    /// `=`, `<>`, `<`, `<=`, `>`, `>=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
        )
    }

    /// `+`, `-`, `*`, `/`, `%`.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod
        )
    }
}

/// Built-in scalar functions (see [`crate::plan::functions::CATALOG`] for their SQL names and
/// types, and [`crate::render::functions`] for what they compute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScalarFunc {
    /// `a / b` of two DECIMAL mantissas, `a × 10^shift / b` rounded half up (the planner
    /// lowers a DECIMAL `/` to it, with the shift that gives the result's scale).
    DecimalDiv,
    /// `PROCTIME()`, a computed column of a table under `SET 'processing-time' = 'epoch'`: the
    /// time of the epoch the record is read in. Rendering gives it from the record's
    /// timestamp; it is never evaluated as a function.
    ProcTime,
    /// `LOWER(s)`
    Lower,
    /// `UPPER(s)`
    Upper,
    /// `INITCAP(s)`: each word's first letter upper case, the rest lower case
    Initcap,
    /// `CHAR_LENGTH(s)` / `LENGTH(s)`, in characters
    Length,
    /// `SUBSTRING(s, start [, len])`, 1-based
    Substr,
    /// `TRIM(s)`
    Trim,
    /// `LTRIM(s)`
    Ltrim,
    /// `RTRIM(s)`
    Rtrim,
    /// `CONCAT(a, b, ...)`; NULL when any argument is NULL
    Concat,
    /// `CONCAT_WS(sep, a, b, ...)`; NULL arguments are skipped, a NULL separator gives NULL
    ConcatWs,
    /// `REPLACE(s, from, to)`: every occurrence
    Replace,
    /// `LPAD(s, n, pad)`
    Lpad,
    /// `RPAD(s, n, pad)`
    Rpad,
    /// `POSITION(sub IN s)` / `LOCATE(sub, s)`: 1-based character position, 0 when absent
    Position,
    /// `SPLIT_INDEX(s, delimiter, i)`: the `i`th (from 0) piece, NULL past the end
    SplitIndex,
    /// `REGEXP(s, pattern)`: whether some substring matches
    Regexp,
    /// `REGEXP_EXTRACT(s, pattern [, group])`: the group (0: the whole match) of the first match
    RegexpExtract,
    /// `REGEXP_REPLACE(s, pattern, replacement)`: every match
    RegexpReplace,
    /// `ABS(x)`
    Abs,
    /// `FLOOR(x)`
    Floor,
    /// `CEIL(x)`
    Ceil,
    /// `ROUND(x [, digits])`, half away from zero
    Round,
    /// `POWER(x, y)`
    Power,
    /// `SQRT(x)`
    Sqrt,
    /// `LN(x)`
    Ln,
    /// `LOG10(x)`
    Log10,
    /// `EXP(x)`
    Exp,
    /// `COALESCE(a, b, ...)`
    Coalesce,
    /// `NULLIF(a, b)`: NULL when `a = b`, else `a`
    Nullif,
    /// `IF(condition, a, b)`
    If,
    /// `DATE_FORMAT(ts, pattern)`
    DateFormat,
    /// `YEAR(ts)` / `EXTRACT(YEAR FROM ts)`
    Year,
    /// `MONTH(ts)`
    Month,
    /// `DAYOFMONTH(ts)` / `EXTRACT(DAY FROM ts)`
    DayOfMonth,
    /// `HOUR(ts)`
    Hour,
    /// `MINUTE(ts)`
    Minute,
    /// `SECOND(ts)`
    Second,
    /// `TO_TIMESTAMP(s [, pattern])`
    ToTimestamp,
    /// `TO_DATE(s [, pattern])`
    ToDate,
    /// `ARRAY[a, b, ...]`
    ArrayConstruct,
    /// `a[i]`: the `i`th element (from 1); NULL outside the array
    ArrayElement,
    /// `CARDINALITY(a)`: the number of elements
    Cardinality,
    /// `ARRAY_CONTAINS(a, x)`: whether some element equals `x` (a NULL `x` looks for NULL)
    ArrayContains,
    /// `ARRAY_POSITION(a, x)`: the first position of `x` (from 1), 0 when absent
    ArrayPosition,
    /// `ARRAY_JOIN(a, delimiter [, null_text])`: the elements joined; NULLs skipped unless
    /// `null_text` is given
    ArrayJoin,
    /// `SPLIT(s, delimiter)`: the pieces of `s` (characters for an empty delimiter)
    Split,
    /// `UNIX_TIMESTAMP(s [, pattern])`: seconds since the Unix epoch
    UnixTimestamp,
    /// `FROM_UNIXTIME(seconds [, pattern])`
    FromUnixtime,
    /// `JSON_VALUE(json, path)`: the scalar at the path, as text
    JsonValue,
    /// `JSON_QUERY(json, path)`: the object or array at the path, as JSON text
    JsonQuery,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggFunc {
    /// `COUNT(*)` (argument is `None`) or `COUNT(x)` (non-NULL values).
    Count,
    /// `SUM(x)`; NULL over an empty or all-NULL group.
    Sum,
    /// `MIN(x)`
    Min,
    /// `MAX(x)`
    Max,
    /// `AVG(x)`, of the argument's type: an integer average is truncated toward zero, as in Flink.
    Avg,
}

/// One aggregate in a `Reduce`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateExpr {
    /// The function.
    pub func: AggFunc,
    /// The argument; `None` only for `COUNT(*)`.
    pub arg: Option<Expr>,
    /// The argument's type (`BIGINT` for `COUNT(*)`).
    pub arg_type: DataType,
    /// `COUNT(DISTINCT x)` and friends: aggregate over the set of distinct non-NULL values.
    pub distinct: bool,
    /// How it is computed: chosen by [`crate::plan::reduce`] once the whole program is known.
    pub strategy: AggStrategy,
}

/// How a `Reduce` computes one aggregate. Every strategy gives the same result; they differ in
/// what state they keep and what one change costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AggStrategy {
    /// `COUNT`, `SUM`, `AVG` (as a sum and a count): carried in the difference of the one
    /// arrangement per `GROUP BY`, so a change costs O(1) and no group is re-read.
    Accumulable,
    /// `MIN`/`MAX` over an input that only inserts (a source, through filters and maps): the
    /// best value so far, carried in the difference like an accumulable aggregate.
    InsertOnly,
    /// `COUNT`/`SUM`/`AVG (DISTINCT x)`: a distinct on `(key, x)` feeds the accumulable path.
    Distinct,
    /// `COUNT`/`SUM`/`AVG (DISTINCT x)` over an input that only inserts: one `(key, value)`
    /// entry per distinct value of all of the `GROUP BY`'s distinct aggregates, whose
    /// difference is the set of those aggregates the value has appeared in (a bit each, added
    /// by OR), feeds the accumulable path. `COUNT(DISTINCT x) FILTER (...)` over one column
    /// keeps one entry per value, not one per aggregate.
    DistinctInserts,
    /// `MIN`/`MAX` over an input that retracts (a view over a `GROUP BY`): a tree of
    /// reductions over hash buckets of the values, so a change re-reads O(log n) values,
    /// never the whole group.
    Hierarchical,
}

impl AggStrategy {
    /// Whether the aggregate is of the distinct values (either distinct strategy).
    pub fn is_distinct(self) -> bool {
        matches!(self, AggStrategy::Distinct | AggStrategy::DistinctInserts)
    }
}

/// The digits `CAST(expr AS DECIMAL(_, scale))` from type `from` makes over rows of `input`,
/// when known: BIGINT's 19 integer digits, or the DECIMAL operand's bound at the new scale
/// (rounding away digits may carry into one more integer digit).
fn cast_digits(expr: &Expr, from: DataType, scale: u8, input: &Schema) -> Option<u32> {
    let integer = match from {
        DataType::Int => 19,
        DataType::Decimal(_, from) => {
            let (digits, _) = expr.decimal_digits(input).filter(|&(_, s)| s == from)?;
            digits.saturating_sub(u32::from(from)) + u32::from(scale < from)
        }
        _ => return None,
    };
    Some(integer + u32::from(scale))
}

/// A relational expression: a multiset of rows that changes over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Relation {
    /// The rows of a source table or of an earlier view, by name.
    Get {
        /// Source or view name.
        name: String,
        /// Its schema.
        schema: Schema,
    },
    /// Rows for which the predicate is TRUE (NULL and FALSE drop the row).
    Filter {
        /// Input relation.
        input: Box<Relation>,
        /// Boolean predicate over the input row.
        predicate: Expr,
    },
    /// One output row per input row, computed column by column.
    Project {
        /// Input relation.
        input: Box<Relation>,
        /// One expression per output column.
        exprs: Vec<Expr>,
        /// Output schema (names from aliases).
        schema: Schema,
    },
    /// `GROUP BY`: one output row per group, laid out as group key columns then aggregates.
    /// A query without `GROUP BY` but with aggregates has an empty key (one global group).
    Reduce {
        /// Input relation.
        input: Box<Relation>,
        /// Group key expressions over the input row.
        group_key: Vec<Expr>,
        /// Aggregates over the input rows of each group.
        aggregates: Vec<AggregateExpr>,
        /// Output schema: key columns, then one column per aggregate.
        schema: Schema,
        /// When the groups are windows: when their state goes.
        #[serde(default)]
        expire: Option<Expire>,
    },
    /// An equi-join: rows are `left ++ right`; a pair matches when every key expression of
    /// the left row equals the one of the right row (NULL never equals anything) and the
    /// residual condition holds. With no key every pair is compared (a cross join).
    Join {
        /// Left input.
        left: Box<Relation>,
        /// Right input.
        right: Box<Relation>,
        /// Which unmatched rows are kept.
        kind: JoinKind,
        /// Key expressions over the left row.
        left_key: Vec<Expr>,
        /// Key expressions over the right row, of the same types as the left ones.
        right_key: Vec<Expr>,
        /// The rest of the `ON` condition, over the joined row (`left ++ right`).
        residual: Option<Expr>,
        /// Output schema: the left columns, then the right ones (only the left ones for
        /// semi- and anti-joins).
        schema: Schema,
        /// A temporal join (`JOIN versioned FOR SYSTEM_TIME AS OF left.ts`): each left row
        /// joins the right row of its key that was valid at its time.
        #[serde(default)]
        as_of: Option<AsOf>,
        /// An interval or window join under watermarks: when each side's rows go.
        #[serde(default)]
        expire: Option<JoinExpire>,
    },
    /// `UNION ALL`: the rows of every input (of equal column types), multiplicities added.
    Union {
        /// The inputs.
        inputs: Vec<Relation>,
        /// Output schema (the first input's names).
        schema: Schema,
    },
    /// A window table function (`TUMBLE`, `HOP`, `CUMULATE`, `SESSION`): each input row once
    /// per window its time falls in, with `window_start`, `window_end` and `window_time`
    /// (`window_end` less a millisecond) appended. A row whose time is NULL is in no window.
    /// Over a table with a watermark, a row at or behind the watermark (less the allowed
    /// lateness) when it arrives is late: dropped and counted.
    Window {
        /// Input relation.
        input: Box<Relation>,
        /// How rows are grouped into windows.
        kind: WindowKind,
        /// The input column of the rows' times (`DESCRIPTOR(...)`).
        time: usize,
        /// The table whose watermark the time column follows, if it has one.
        watermark: Option<String>,
        /// `SESSION`'s `PARTITION BY` columns: sessions are per partition (none for the
        /// other kinds).
        #[serde(default)]
        partition: Vec<usize>,
        /// Output schema: the input's columns, then the three window columns.
        schema: Schema,
    },
    /// `AGG(x) OVER (PARTITION BY k ORDER BY o ROWS BETWEEN n PRECEDING AND CURRENT ROW)`:
    /// every input row with the aggregate over its frame appended. Rows equal in the order are
    /// ordered by their values in SQL order, column by column, so each row's frame, and so the
    /// result, is determined by the partition's rows alone.
    Over {
        /// Input relation.
        input: Box<Relation>,
        /// `PARTITION BY` expressions over the input row (none: one partition).
        partition_key: Vec<Expr>,
        /// `ORDER BY` keys over the input row, most significant first (none: every row's
        /// frame is the whole partition).
        order: Vec<OrderKey>,
        /// The aggregate and its frame.
        over: OverAggregate,
        /// Output schema: the input's columns, then the aggregate's.
        schema: Schema,
    },
    /// `ROW_NUMBER() OVER (PARTITION BY k ORDER BY o)` filtered to `rownum <= limit` (top-N;
    /// deduplication is top-1): per partition, its first `limit` rows in the order, each with
    /// its row number appended. Rows equal in the order are ranked by their bytes, so the
    /// result is deterministic. A row counted `n` times is `n` rows.
    TopN {
        /// Input relation.
        input: Box<Relation>,
        /// `PARTITION BY` expressions over the input row (none: one partition).
        partition_key: Vec<Expr>,
        /// `ORDER BY` keys over the input row, most significant first.
        order: Vec<OrderKey>,
        /// How many rows per partition; `None` until the query's filter on the row number is
        /// found (planning refuses a top-N without one).
        limit: Option<u64>,
        /// Output schema: the input's columns, then the row number (BIGINT).
        schema: Schema,
        /// How it is computed: chosen by [`crate::plan::reduce`] once the whole program is
        /// known.
        strategy: TopNStrategy,
        /// When a partition is a window: when its state goes.
        #[serde(default)]
        expire: Option<Expire>,
    },
    /// `WITH RECURSIVE name AS (body)`: the least fixed point of `body`, which reads the
    /// relation itself as `Get { name }` (starting empty, evaluated again over its own last
    /// value until nothing changes), maintained incrementally with differential's `iterate`.
    /// Planning checks that the iteration ends on any input (see [`crate::plan::recursion`]).
    Recursive {
        /// The name `body` reads the relation by (a `WITH` name's internal view name).
        name: String,
        /// What one step computes from the relation's last value.
        body: Box<Relation>,
        /// Output schema (the `WITH` name's columns).
        schema: Schema,
    },
}

/// An aggregate over a frame of rows of an `OVER` window; every frame ends at the current row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverAggregate {
    /// The aggregate (`COUNT`, `SUM`, `AVG`, `MIN`, `MAX`; not `DISTINCT`).
    pub aggregate: AggregateExpr,
    /// Where each row's frame starts.
    pub frame: OverFrame,
}

/// The frame of an `OVER` aggregate: from where to the current row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverFrame {
    /// `ROWS BETWEEN n PRECEDING AND CURRENT ROW` (`None`: `UNBOUNDED PRECEDING`): the row
    /// and the `n` rows before it in the partition's order.
    Rows(Option<u64>),
    /// `RANGE BETWEEN d PRECEDING AND CURRENT ROW` (`None`: `UNBOUNDED PRECEDING`, also what
    /// an `OVER` with no frame means): the rows whose one `ORDER BY` value is within `d`
    /// before the row's (milliseconds for a `TIMESTAMP`), the row's peers (equal values)
    /// included.
    Range(Option<i64>),
}

/// One `ORDER BY` key of a top-N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderKey {
    /// The value ordered by.
    pub expr: Expr,
    /// `DESC`.
    pub descending: bool,
    /// Where NULLs go: first for `ASC` and last for `DESC` unless written (as in Flink, NULL
    /// is the least value).
    pub nulls_first: bool,
}

/// How a top-N is computed. Both give the same rows; they differ in the state they keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TopNStrategy {
    /// Over an input that only inserts: a row that falls out of its partition's first `limit`
    /// can never come back, so only those rows are kept, carried in the difference of one
    /// key-only arrangement (state per partition is bounded by `limit`).
    InsertOnly,
    /// Over an input that retracts: every row is kept, and the first `limit` are found by
    /// a tree of reductions over hash buckets of the rows, so a change re-reads
    /// O(`limit` × 16 × levels) rows, never the whole partition.
    Hierarchical,
}

/// How a window table function groups times into windows; all in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowKind {
    /// `TUMBLE(.., size [, offset])`: back-to-back windows of `size`.
    Tumble {
        /// Window length.
        size: i64,
        /// Where windows start, from the Unix epoch.
        offset: i64,
    },
    /// `HOP(.., slide, size [, offset])`: windows of `size` starting every `slide`.
    Hop {
        /// Distance between window starts.
        slide: i64,
        /// Window length (a multiple of `slide`).
        size: i64,
        /// Where windows start, from the Unix epoch.
        offset: i64,
    },
    /// `CUMULATE(.., step, size [, offset])`: within each `size`-long period, windows that
    /// all start at its start and end every `step`.
    Cumulate {
        /// Distance between window ends.
        step: i64,
        /// The longest window (a multiple of `step`).
        size: i64,
        /// Where periods start, from the Unix epoch.
        offset: i64,
    },
    /// `SESSION(.., gap)`: per partition, rows less than `gap` apart (in time order) are one
    /// session `[first, last + gap)`. A row's window depends on the other rows, so it can
    /// change (sessions merge) as rows arrive.
    Session {
        /// The least time between two sessions.
        gap: i64,
    },
}

impl WindowKind {
    /// The `(start, end)` of every window a time `t` falls in (a session's bounds depend on
    /// the other rows: none here).
    pub fn windows(self, t: i64, mut f: impl FnMut(i64, i64)) {
        let start_of = |t: i64, every: i64, offset: i64| t - (t - offset).rem_euclid(every);
        match self {
            WindowKind::Tumble { size, offset } => {
                let start = start_of(t, size, offset);
                f(start, start + size);
            }
            WindowKind::Hop {
                slide,
                size,
                offset,
            } => {
                let mut start = start_of(t, slide, offset);
                while start > t - size {
                    f(start, start + size);
                    start -= slide;
                }
            }
            WindowKind::Cumulate { step, size, offset } => {
                let start = start_of(t, size, offset);
                let mut end = start_of(t, step, offset) + step;
                while end <= start + size {
                    f(start, end);
                    end += step;
                }
            }
            WindowKind::Session { .. } => {}
        }
    }

    /// The sessions of `times` (sorted) under a gap: per time, its session's `(start, end)`.
    pub fn sessions(gap: i64, times: &[i64]) -> Vec<(i64, i64)> {
        let mut out = Vec::with_capacity(times.len());
        let mut first = 0;
        for i in 0..=times.len() {
            let ends = i == times.len() || (i > first && times[i] - times[i - 1] >= gap);
            if ends && i > first {
                let bounds = (times[first], times[i - 1].saturating_add(gap));
                out.extend(std::iter::repeat_n(bounds, i - first));
                first = i;
            }
        }
        out
    }
}

/// When a `GROUP BY` over windows lets a group's state go: once the watermark (of `watermark`)
/// is past the group's `window_end` (key column `key`) by the allowed lateness, no record can
/// reach the group any more; its state is retracted then, and the retraction is not passed on
/// (the group's last row stays the result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expire {
    /// The position in the group key of `window_end`.
    pub key: usize,
    /// The table whose watermark closes the windows.
    pub watermark: String,
    /// How long after its end a window still takes late records.
    pub lateness_ms: i64,
    /// Under `SET 'window.emit' = 'on-window-close'`: each group's row is written once, when
    /// its window is final, and never retracted (as Flink's window aggregates and window
    /// top-N), instead of as the window grows. The rows then only insert.
    #[serde(default)]
    pub on_close: bool,
}

/// When an interval join (`l.ts BETWEEN r.ts - a AND r.ts + b`) or a window join (equal
/// window ends) lets its rows go. Each side's time column is a time attribute of an
/// insert-only input or a window's end, with a watermark; rows at or behind their own side's
/// watermark (less its lateness) are late (dropped, counted). The join's bound is the lesser
/// of the two sides' watermarks, each less its lateness: no row to come on either side has a
/// time at or behind it. A row goes once its time plus its side's horizon is at or behind
/// the bound; the horizons are chosen so that by then no row to come can be its partner, and
/// (in an outer, semi- or anti-join) every partner it has is gone too, so nothing it is in can
/// change any more. The retractions of rows that go are not results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinExpire {
    /// The left side's time and watermark.
    pub left: SideExpire,
    /// The right side's time and watermark.
    pub right: SideExpire,
}

/// One side of a [`JoinExpire`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideExpire {
    /// The time column of the side's row.
    pub time: usize,
    /// The table whose watermark the time follows.
    pub watermark: String,
    /// How far behind that watermark a row may be and still count.
    pub lateness_ms: i64,
    /// A row goes once its time plus this is at or behind the join's bound; `None`: kept
    /// (the condition does not bound the other side's time from this one).
    pub horizon_ms: Option<i64>,
}

/// What makes a join temporal: the right side is a versioned table, keyed by its primary
/// key (the join's right key, in full); each of its rows is a version of its key valid from
/// its time until the key's next version. A left row joins the version of its key valid at
/// its own time (the latest whose time is not after it; of versions of one key at one time,
/// the greatest in byte order), if the residual holds, or none (NULLs, in a LEFT join).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsOf {
    /// The left row's time column (`FOR SYSTEM_TIME AS OF` it).
    pub left_time: usize,
    /// The right row's time column: from when it is valid (the versioned table's rowtime).
    pub right_time: usize,
    /// The table whose watermark the left time is the time attribute of: left rows behind
    /// it (less its allowed lateness) are late (dropped, counted), and state it has passed
    /// goes.
    pub watermark: Option<String>,
    /// The versions only ever arrive (the right input never retracts), so a version the
    /// watermark has passed hides all older ones of its key for good: those go.
    pub versions_insert_only: bool,
}

/// A sink written on window close (`'sink.emit' = 'on-window-close'`): each window's final rows
/// once, when the watermark of `watermark` passes the window's end (column `column`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowClose {
    /// The sink's `window_end` column.
    pub column: usize,
    /// The table whose watermark closes the windows.
    pub watermark: String,
}

/// The watermark of a source table: per partition, the largest value of `expr` over its
/// records; the table's watermark is the least of those over the partitions that are not
/// idle, and never goes back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatermarkPlan {
    /// The table.
    pub table: String,
    /// The `WATERMARK ... AS` expression, over the table's decoded (physical) row.
    pub expr: Expr,
    /// A partition without records for this long (in epoch time) does not hold it back.
    pub idle_timeout_ms: Option<u64>,
}

impl Relation {
    /// Call `f` on every expression of this relation and of its inputs (keys, predicates,
    /// projections, aggregate arguments, residual conditions).
    pub fn visit_exprs(&self, f: &mut impl FnMut(&Expr)) {
        match self {
            Relation::Get { .. } => {}
            Relation::Filter { input, predicate } => {
                predicate.visit(f);
                input.visit_exprs(f);
            }
            Relation::Project { input, exprs, .. } => {
                exprs.iter().for_each(|e| e.visit(f));
                input.visit_exprs(f);
            }
            Relation::Reduce {
                input,
                group_key,
                aggregates,
                ..
            } => {
                group_key.iter().for_each(|e| e.visit(f));
                aggregates
                    .iter()
                    .filter_map(|a| a.arg.as_ref())
                    .for_each(|e| e.visit(f));
                input.visit_exprs(f);
            }
            Relation::Join {
                left,
                right,
                left_key,
                right_key,
                residual,
                ..
            } => {
                left_key.iter().chain(right_key).for_each(|e| e.visit(f));
                residual.iter().for_each(|e| e.visit(f));
                left.visit_exprs(f);
                right.visit_exprs(f);
            }
            Relation::Union { inputs, .. } => inputs.iter().for_each(|i| i.visit_exprs(f)),
            Relation::Window { input, .. } => input.visit_exprs(f),
            Relation::Recursive { body, .. } => body.visit_exprs(f),
            Relation::TopN {
                input,
                partition_key,
                order,
                ..
            } => {
                partition_key.iter().for_each(|e| e.visit(f));
                order.iter().for_each(|o| o.expr.visit(f));
                input.visit_exprs(f);
            }
            Relation::Over {
                input,
                partition_key,
                order,
                over,
                ..
            } => {
                partition_key.iter().for_each(|e| e.visit(f));
                order.iter().for_each(|o| o.expr.visit(f));
                over.aggregate.arg.iter().for_each(|e| e.visit(f));
                input.visit_exprs(f);
            }
        }
    }

    /// The relations this one reads directly, to change.
    pub fn inputs_mut(&mut self) -> Vec<&mut Relation> {
        match self {
            Relation::Get { .. } => Vec::new(),
            Relation::Filter { input, .. }
            | Relation::Project { input, .. }
            | Relation::Reduce { input, .. }
            | Relation::Window { input, .. }
            | Relation::Over { input, .. }
            | Relation::TopN { input, .. } => vec![input],
            Relation::Recursive { body, .. } => vec![body],
            Relation::Join { left, right, .. } => vec![left, right],
            Relation::Union { inputs, .. } => inputs.iter_mut().collect(),
        }
    }

    /// The relations this one reads directly.
    pub fn inputs(&self) -> Vec<&Relation> {
        match self {
            Relation::Get { .. } => Vec::new(),
            Relation::Filter { input, .. }
            | Relation::Project { input, .. }
            | Relation::Reduce { input, .. }
            | Relation::Window { input, .. }
            | Relation::Over { input, .. }
            | Relation::TopN { input, .. } => vec![input],
            Relation::Recursive { body, .. } => vec![body],
            Relation::Join { left, right, .. } => vec![left, right],
            Relation::Union { inputs, .. } => inputs.iter().collect(),
        }
    }

    /// The schema of the rows this relation produces.
    pub fn schema(&self) -> &Schema {
        match self {
            Relation::Get { schema, .. }
            | Relation::Project { schema, .. }
            | Relation::Reduce { schema, .. }
            | Relation::Join { schema, .. }
            | Relation::Union { schema, .. }
            | Relation::Window { schema, .. }
            | Relation::Over { schema, .. }
            | Relation::TopN { schema, .. }
            | Relation::Recursive { schema, .. } => schema,
            Relation::Filter { input, .. } => input.schema(),
        }
    }
}

/// `views` but the one named `name`: what a walk that follows names through views reads
/// inside the body of the recursion `name`, which must not follow its own name back to itself.
pub fn views_except(views: &[View], name: &str) -> Vec<View> {
    (views.iter())
        .filter(|v| !v.name.eq_ignore_ascii_case(name))
        .cloned()
        .collect()
}

/// Which rows a join keeps besides the matched pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinKind {
    /// Matched pairs only (also `CROSS JOIN` and `FROM a, b`, with no key).
    Inner,
    /// Also every left row without a match, with NULLs for the right columns.
    Left,
    /// Also every right row without a match, with NULLs for the left columns.
    Right,
    /// Both: unmatched rows of either side, padded with NULLs.
    Full,
    /// The left rows with at least one match (`EXISTS`, `IN`); only the left columns.
    Semi,
    /// The left rows with no match (`NOT EXISTS`); only the left columns.
    Anti,
}

impl JoinKind {
    /// Whether the output has only the left columns.
    pub fn left_only(self) -> bool {
        matches!(self, JoinKind::Semi | JoinKind::Anti)
    }

    /// Whether unmatched left rows are kept.
    pub fn keeps_left(self) -> bool {
        matches!(self, JoinKind::Left | JoinKind::Full)
    }

    /// Whether unmatched right rows are kept.
    pub fn keeps_right(self) -> bool {
        matches!(self, JoinKind::Right | JoinKind::Full)
    }
}

impl Expr {
    /// The terms of this expression's top-level `AND`s (itself when it is no `AND`).
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match self {
            Expr::Binary {
                op: BinaryOp::And,
                left,
                right,
            } => {
                let mut terms = left.conjuncts();
                terms.extend(right.conjuncts());
                terms
            }
            other => vec![other],
        }
    }

    /// Whether evaluating this expression over rows of `input` can raise an evaluation error
    /// (integer and DECIMAL arithmetic can overflow or divide by zero; a `CAST` from text or
    /// DOUBLE may not convert). Arithmetic on a DOUBLE is IEEE 754 and never fails; DECIMAL
    /// `*`, `+`, `-` and casts whose operands' digits fit the result (see
    /// [`Expr::decimal_digits`]) cannot fail either (Nexmark q1's `0.908 * price`).
    pub fn can_fail(&self, input: &Schema) -> bool {
        let here = match self {
            Expr::Binary { op, left, right } => {
                op.is_arithmetic()
                    && !left.is_double(input)
                    && !right.is_double(input)
                    && (!matches!(op, BinaryOp::Mul | BinaryOp::Add | BinaryOp::Sub)
                        || self.decimal_digits(input).is_none())
            }
            Expr::Unary { op, expr } => {
                *op == UnaryOp::Neg
                    && !expr.is_double(input)
                    && expr.decimal_digits(input).is_none()
            }
            Expr::Cast {
                expr,
                from,
                ty,
                safe,
            } => {
                let fits = match *ty {
                    DataType::Decimal(p, s) => {
                        cast_digits(expr, *from, s, input).is_some_and(|d| d <= u32::from(p))
                    }
                    _ => false,
                };
                !safe
                    && !fits
                    && *ty != DataType::String
                    && (matches!(from, DataType::String | DataType::Float)
                        || matches!(ty, DataType::Decimal(..))
                        || matches!(from, DataType::Decimal(..)) && *ty == DataType::Int)
            }
            Expr::Call { func, .. } => matches!(
                func,
                ScalarFunc::Abs | ScalarFunc::Round | ScalarFunc::DecimalDiv
            ),
            _ => false,
        };
        here || self.children().iter().any(|c| c.can_fail(input))
    }

    /// A bound on this DECIMAL expression's values over rows of `input`: `(digits, scale)`,
    /// the mantissa at `scale` is under `10^digits` (at most 38). `None` when it is no DECIMAL
    /// or the bound is not known. A cast that does not fail fits its type; a product's
    /// mantissa has at most the digits of both; a sum or difference (of one scale) one more.
    pub fn decimal_digits(&self, input: &Schema) -> Option<(u32, u8)> {
        let max = u32::from(crate::data::decimal::MAX_PRECISION);
        let bound = match self {
            // A column's values fit its type; one digit more is left for a value a rounding
            // (a quotient's, half up) carried past it.
            Expr::Column(c) => match input.columns.get(*c)?.ty {
                DataType::Decimal(p, s) => (u32::from(p) + 1, s),
                _ => return None,
            },
            Expr::Literal(Value::Decimal(m, s)) => {
                (m.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1), *s)
            }
            Expr::Cast {
                expr,
                from,
                ty: DataType::Decimal(p, s),
                ..
            } => {
                let p = u32::from(*p);
                let known = cast_digits(expr, *from, *s, input);
                (known.map_or(p, |d| d.min(p)), *s)
            }
            Expr::Unary {
                op: UnaryOp::Neg,
                expr,
            } => expr.decimal_digits(input)?,
            Expr::Binary { op, left, right } => {
                let ((d1, s1), (d2, s2)) =
                    (left.decimal_digits(input)?, right.decimal_digits(input)?);
                match op {
                    BinaryOp::Mul => (d1 + d2, s1.checked_add(s2)?),
                    BinaryOp::Add | BinaryOp::Sub if s1 == s2 => (d1.max(d2) + 1, s1),
                    _ => return None,
                }
            }
            _ => return None,
        };
        (bound.0 <= max).then_some(bound)
    }

    /// Whether this expression is surely a DOUBLE over rows of `input` (so arithmetic with it
    /// is done in DOUBLE).
    fn is_double(&self, input: &Schema) -> bool {
        match self {
            Expr::Column(c) => input
                .columns
                .get(*c)
                .is_some_and(|c| c.ty == DataType::Float),
            Expr::Literal(v) => matches!(v, Value::Float(_)),
            Expr::Cast { ty, .. } => *ty == DataType::Float,
            Expr::Unary {
                op: UnaryOp::Neg,
                expr,
            } => expr.is_double(input),
            Expr::Binary { op, left, right } if op.is_arithmetic() => {
                left.is_double(input) || right.is_double(input)
            }
            _ => false,
        }
    }

    /// The expressions directly under this one.
    fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Column(_) | Expr::Literal(_) => Vec::new(),
            Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } => {
                vec![expr]
            }
            Expr::Binary { left, right, .. } => vec![left, right],
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
            Expr::Call { args, .. } => args.iter().collect(),
            Expr::Case {
                branches,
                otherwise,
            } => branches
                .iter()
                .flat_map(|(c, r)| [c, r])
                .chain([&**otherwise])
                .collect(),
        }
    }

    /// Call `f` on this expression and every expression under it.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        for c in self.children() {
            c.visit(f);
        }
    }

    /// Call `f` on every column position this expression reads.
    pub fn visit_columns(&self, f: &mut impl FnMut(usize)) {
        match self {
            Expr::Column(c) => f(*c),
            Expr::Literal(_) => {}
            Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } => {
                expr.visit_columns(f)
            }
            Expr::Binary { left, right, .. } => {
                left.visit_columns(f);
                right.visit_columns(f);
            }
            Expr::Like { expr, pattern, .. } => {
                expr.visit_columns(f);
                pattern.visit_columns(f);
            }
            Expr::Call { args, .. } => args.iter().for_each(|a| a.visit_columns(f)),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (c, r) in branches {
                    c.visit_columns(f);
                    r.visit_columns(f);
                }
                otherwise.visit_columns(f);
            }
        }
    }

    /// Change every column position `c` this expression reads to `f(c)`.
    pub fn map_columns(&mut self, f: &mut impl FnMut(usize) -> usize) {
        match self {
            Expr::Column(c) => *c = f(*c),
            Expr::Literal(_) => {}
            Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } => {
                expr.map_columns(f)
            }
            Expr::Binary { left, right, .. } => {
                left.map_columns(f);
                right.map_columns(f);
            }
            Expr::Like { expr, pattern, .. } => {
                expr.map_columns(f);
                pattern.map_columns(f);
            }
            Expr::Call { args, .. } => args.iter_mut().for_each(|a| a.map_columns(f)),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (c, r) in branches {
                    c.map_columns(f);
                    r.map_columns(f);
                }
                otherwise.map_columns(f);
            }
        }
    }

    /// Replace each column `c` this expression reads by `f(c)` where that is `Some`.
    pub fn replace_columns(&mut self, f: &mut impl FnMut(usize) -> Option<Expr>) {
        if let Expr::Column(c) = self {
            if let Some(e) = f(*c) {
                *self = e;
            }
            return;
        }
        match self {
            Expr::Column(_) | Expr::Literal(_) => {}
            Expr::Unary { expr, .. } | Expr::Cast { expr, .. } | Expr::IsNull { expr, .. } => {
                expr.replace_columns(f)
            }
            Expr::Binary { left, right, .. } => {
                left.replace_columns(f);
                right.replace_columns(f);
            }
            Expr::Like { expr, pattern, .. } => {
                expr.replace_columns(f);
                pattern.replace_columns(f);
            }
            Expr::Call { args, .. } => args.iter_mut().for_each(|a| a.replace_columns(f)),
            Expr::Case {
                branches,
                otherwise,
            } => {
                for (c, r) in branches {
                    c.replace_columns(f);
                    r.replace_columns(f);
                }
                otherwise.replace_columns(f);
            }
        }
    }

    /// The smallest and largest column position read, if any.
    pub fn column_range(&self) -> Option<(usize, usize)> {
        let mut range: Option<(usize, usize)> = None;
        self.visit_columns(&mut |c| {
            range = Some(range.map_or((c, c), |(lo, hi)| (lo.min(c), hi.max(c))));
        });
        range
    }
}

/// A named intermediate result (`CREATE VIEW name AS SELECT ...`), readable by later statements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct View {
    /// View name.
    pub name: String,
    /// Its definition.
    pub relation: Relation,
}

/// `INSERT INTO sink SELECT ...`: the query's rows, already cast to the sink's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkPlan {
    /// The sink table.
    pub sink: SinkSpec,
    /// What to write into it; its schema equals `sink.schema`.
    pub relation: Relation,
    /// With `'sink.emit' = 'on-window-close'`: the windows that close it.
    #[serde(default)]
    pub on_close: Option<WindowClose>,
}

/// A whole dataflow file, planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// Source tables that some statement reads (declaration order).
    pub sources: Vec<SourceSpec>,
    /// Views in dependency order (each reads only sources and earlier views).
    pub views: Vec<View>,
    /// One entry per `INSERT INTO`.
    pub sinks: Vec<SinkPlan>,
    /// The watermarks of the source tables that declare one and that some window reads.
    #[serde(default)]
    pub watermarks: Vec<WatermarkPlan>,
    /// Run settings from `SET 'key' = 'value'` statements (checked keys; see
    /// [`RUN_SETTINGS`]). Not part of the plan a checkpoint must match.
    #[serde(skip)]
    pub settings: Vec<(String, String)>,
    /// Sinks that Rust code writes (a dataflow built with [`crate::builder`]), not an
    /// `INSERT INTO`.
    #[serde(default)]
    pub external_sinks: Vec<crate::spec::SinkSpec>,
}

impl Program {
    /// The source tables (lowercase) whose records reach the sink named `sink`, through any
    /// views, in the order the program declares them.
    pub fn tables_read_by(&self, sink: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for s in self.sinks.iter().filter(|s| s.sink.name == sink) {
            self.names_read(&s.relation, &mut seen);
        }
        (self.sources.iter())
            .filter(|t| seen.iter().any(|n| n.eq_ignore_ascii_case(&t.name)))
            .map(|t| t.name.to_ascii_lowercase())
            .collect()
    }

    /// The value of the last `SET 'key' = ...` of the file, if any.
    pub fn setting(&self, key: &str) -> Option<&str> {
        (self.settings.iter().rev())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The views (lowercase) some sink reads, through other views: the others compute
    /// nothing anyone sees.
    pub fn views_read(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for s in &self.sinks {
            self.names_read(&s.relation, &mut seen);
        }
        (self.views.iter())
            .filter(|v| seen.iter().any(|n| n.eq_ignore_ascii_case(&v.name)))
            .map(|v| v.name.to_ascii_lowercase())
            .collect()
    }

    /// Add to `seen` the names of the tables and views `r` reads, and those the views read.
    fn names_read<'a>(&'a self, r: &'a Relation, seen: &mut Vec<&'a str>) {
        if let Relation::Get { name, .. } = r {
            if seen.contains(&name.as_str()) {
                return;
            }
            seen.push(name);
            if let Some(v) = self
                .views
                .iter()
                .find(|v| v.name.eq_ignore_ascii_case(name))
            {
                self.names_read(&v.relation, seen);
            }
        }
        for input in r.inputs() {
            self.names_read(input, seen);
        }
    }
}

/// The deepest expression nesting the planner accepts. Evaluation recurses once per level, so
/// this bounds the stack a worker thread needs for any plan (a few hundred bytes per level).
pub const MAX_EXPR_DEPTH: usize = 1000;

/// The keys a dataflow file may `SET`, with what they mean.
pub const RUN_SETTINGS: &[(&str, &str)] = &[
    (
        "processing-time",
        "'epoch': PROCTIME() computed columns read the time of the epoch a record is read in",
    ),
    (
        "window.emit",
        "'on-window-close': window GROUP BYs and top-Ns write each window's rows once, when the watermark closes it (as Flink's), not as it grows ('update', the default)",
    ),
    (
        "checkpoint.dir",
        "checkpoint directory (as --checkpoint-dir)",
    ),
    (
        "checkpoint.interval",
        "time between checkpoints, e.g. 10s (as --checkpoint-interval)",
    ),
    (
        "metrics.addr",
        "serve Prometheus metrics at http://HOST:PORT/metrics (as --metrics-addr)",
    ),
];

/// `terms` joined by `op` (associative) as a balanced tree; `None` when there are none.
pub fn balanced(op: BinaryOp, mut terms: Vec<Expr>) -> Option<Expr> {
    while terms.len() > 1 {
        let mut next = Vec::with_capacity(terms.len().div_ceil(2));
        let mut it = terms.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => Expr::Binary {
                    op,
                    left: Box::new(a),
                    right: Box::new(b),
                },
                None => a,
            });
        }
        terms = next;
    }
    terms.pop()
}
