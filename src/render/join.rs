//! Joins: matched pairs from two arrangements by key, and the NULL-padded rows of outer joins.
//!
//! ```text
//!  left ─► (key, row) ─► arrangement ─┬─ join_core ─► left ++ right, if the residual holds ─► out
//!  right ─► (key, row) ─► arrangement ─┘      │
//!                                             └─► rows with no match (outer joins) ++ NULLs ─► out
//! ```
//! A semi-join (`EXISTS`, `IN`) gives the left rows that have a match, an anti-join
//! (`NOT EXISTS`) those that have none, each as often as it is on the left.
//! A row whose key has a NULL never matches (SQL's `NULL = x` is not true). An inner join
//! drops it before arranging; a side an outer join keeps arranges it under a key no row of the
//! other side can have (a NULL, then the side, then the row), so it is state like every other
//! row and always unmatched. A left row is unmatched when no right row has its key (no
//! residual), or when no pair it is in passes the residual: then the rows that had a match
//! are found by a semijoin of the left rows with the distinct left halves of the matched pairs.
//! Matched pairs and padded rows change together in one epoch, so an outer join's output
//! retracts a padded row exactly when its first match arrives.
//!
//! The two input arrangements are the join's state: when they are fed directly by sources,
//! rendering hands them to checkpointing through [`StateHooks`]. Rendering shares one
//! arrangement between joins that read the same input by the same key.

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{KeyBuilder, KeySpine, ValSpine};
use differential_dataflow::VecCollection;
use timely::dataflow::operators::vec::Map;

use crate::data::{Datum, Row, RowCollection};
use crate::metrics::arrangements::observed;
use crate::plan::ir::{Expr, JoinKind};
use crate::render::event_time::{self, Watermark};
use crate::render::scalar;
use crate::render::{RenderState, StateHooks};
use crate::state::{StateArrangement, ValState};
use crate::timestamp::{Diff, Time};

/// What a `Join` node asks for (see [`crate::plan::ir::Relation::Join`]).
pub struct JoinSpec<'a> {
    /// Which unmatched rows are kept.
    pub kind: JoinKind,
    /// Extra condition over the joined row.
    pub residual: Option<&'a Expr>,
    /// Columns of the left row.
    pub left_width: usize,
    /// Columns of the right row.
    pub right_width: usize,
    /// What a residual condition that fails on a pair does (its schema is `left ++ right`).
    pub on_error: scalar::OnEvalError,
}

/// One side of a join: `(key, row)` arranged by key.
pub type Arrangement<'s> = Arranged<'s, TraceAgent<ValSpine<Row, Row, Time, Diff>>>;

/// How each side of a join of `kind` keys a row whose key has a NULL: kept under a key the
/// other side cannot have (a side whose unmatched rows are output), or dropped.
pub fn null_tags(kind: JoinKind) -> (Option<i64>, Option<i64>) {
    let left = kind.keeps_left() || kind == JoinKind::Anti;
    (left.then_some(1), kind.keeps_right().then_some(2))
}

/// How the rows of a join's side go (see [`crate::plan::ir::JoinExpire`]): a row whose time
/// (`column`) plus `horizon` is at or behind `bound` (less `lateness`) is taken back.
#[derive(Clone)]
pub struct SideExpiry<'s> {
    /// The join's bound (see [`crate::plan::ir::JoinExpire`]).
    pub bound: Watermark<'s>,
    /// Taken from the bound.
    pub lateness: i64,
    /// The row's time column.
    pub column: usize,
    /// How far past its time a row waits.
    pub horizon: i64,
}

/// Arrange one side of a join by `key` (see [`null_tags`] for `tag`), as state when `keep`
/// (checkpointing is on and the side is fed by sources); its rows go by `expiry`.
pub fn arrange_side<'s>(
    input: RowCollection<'s>,
    (key, tag): (&[Expr], Option<i64>),
    name: &str,
    keep: bool,
    expiry: Option<SideExpiry<'s>>,
    state: &mut RenderState<'s>,
) -> Arrangement<'s> {
    let control = state.control.clone();
    let mut hooks = StateHooks { state, keep };
    hooks.state(keyed(input, key, tag), |pairs, keep| {
        // After the restored rows, so they go too. A row goes once `time + horizon` is at or
        // behind the bound: a window "ending" one later is then closed.
        let pairs = match expiry {
            Some(e) => {
                let (column, horizon) = (e.column, e.horizon);
                let end_of = move |(_, row): &(Row, Row)| match row.get(column) {
                    Datum::Int(ts) => Some((None, ts.saturating_add(horizon).saturating_add(1))),
                    _ => None,
                };
                event_time::expire(pairs, (&e.bound, e.lateness), end_of, control)
            }
            None => pairs,
        };
        let arranged = observed::<Row, Row, Diff, _>(pairs.scope(), "Join", || {
            pairs.arrange_by_key_named(name)
        });
        let state = keep.then(|| {
            let trace: Box<dyn StateArrangement> = Box::new(ValState::new(arranged.trace.clone()));
            (trace, arranged.stream.clone().map(|_| ()))
        });
        (arranged, state)
    })
}

/// Join two arranged sides (arranged with [`arrange_side`] and the tags of [`null_tags`]).
pub fn render_join<'s>(
    left: Arrangement<'s>,
    right: Arrangement<'s>,
    spec: &JoinSpec<'_>,
) -> RowCollection<'s> {
    // The matched pairs: the output of all but semi- and anti-joins, and what a residual
    // condition is checked on. A semi- or anti-join without one never forms them.
    let residual = spec.residual.cloned();
    let with_residual = residual.is_some();
    let on_error = spec.on_error.clone();
    let pairs_of = |left: &Arrangement<'s>, right: &Arrangement<'s>| {
        let on_error = on_error.clone();
        let residual = residual.clone();
        left.clone()
            .join_core(right.clone(), move |_key, l: &Row, r: &Row| {
                let row = l.concat(r);
                residual
                    .as_ref()
                    .is_none_or(|p| on_error.holds(p, &row))
                    .then_some(row)
            })
    };
    let width = spec.left_width;
    let left_half = move |row: &Row| Row::pack(row.iter().take(width));
    let right_half = move |row: &Row| Row::pack(row.iter().skip(width));
    if spec.kind.left_only() {
        let pairs = with_residual.then(|| pairs_of(&left, &right));
        let hits = hits(&left, &right, pairs.as_ref(), left_half);
        return match spec.kind {
            JoinKind::Anti => rows_of(&left).concat(hits.negate()),
            _ => hits,
        };
    }
    let matched = pairs_of(&left, &right);
    let pairs = with_residual.then_some(&matched);
    let mut output = matched.clone();
    if spec.kind.keeps_left() {
        let nulls = nulls(spec.right_width);
        let hits = hits(&left, &right, pairs, left_half);
        let unmatched = rows_of(&left).concat(hits.negate());
        output = output.concat(unmatched.map(move |l| l.concat(&nulls)));
    }
    if spec.kind.keeps_right() {
        let nulls = nulls(spec.left_width);
        let hits = hits(&right, &left, pairs, right_half);
        let unmatched = rows_of(&right).concat(hits.negate());
        output = output.concat(unmatched.map(move |r| nulls.concat(&r)));
    }
    output
}

/// The rows of an arranged side.
fn rows_of<'s>(side: &Arrangement<'s>) -> RowCollection<'s> {
    side.clone().as_collection(|_key, row: &Row| row.clone())
}

/// `(key, row)` per row. A row whose key has a NULL is dropped, or, when `kept_as` names the
/// side (an outer join keeps its unmatched rows), keyed by `[NULL, side, row...]`, which no
/// row of the other side has.
fn keyed<'s>(
    input: RowCollection<'s>,
    key: &[Expr],
    kept_as: Option<i64>,
) -> VecCollection<'s, Time, (Row, Row), Diff> {
    let key = key.to_vec();
    input.flat_map(move |row| {
        let k = scalar::project(&key, &row);
        if !k.iter().any(|d| d.is_null()) {
            return Some((k, row));
        }
        let side = kept_as?;
        let k = Row::pack(
            [Datum::Null, Datum::Int(side)]
                .into_iter()
                .chain(row.iter()),
        );
        Some((k, row))
    })
}

/// The rows of `this` side that have a match, each as often as it is in `this`. Without a
/// residual condition, that is the rows whose key the `other` side has; with one (`pairs`
/// are then the matched pairs that pass it), the rows that are the `half` (this side's
/// columns) of a pair.
fn hits<'s>(
    this: &Arrangement<'s>,
    other: &Arrangement<'s>,
    pairs: Option<&RowCollection<'s>>,
    half: impl Fn(&Row) -> Row + 'static,
) -> RowCollection<'s> {
    if let Some(pairs) = pairs {
        let hits = pairs
            .clone()
            .map(move |row| half(&row))
            .distinct_core::<Diff>();
        return rows_of(this)
            .map(|row| (row, ()))
            .semijoin(hits)
            .map(|(row, ())| row);
    }
    let keys = other
        .clone()
        .reduce_abelian::<_, KeyBuilder<Row, Time, Diff>, KeySpine<Row, Time, Diff>, _, _>(
            "Join keys",
            |_key, _rows, out: &mut Vec<((), Diff)>| out.push(((), 1)),
            |vec, key: &Row, upds: &mut Vec<((), Time, Diff)>| {
                vec.clear();
                vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
            },
        );
    this.clone()
        .join_core(keys, |_key, row: &Row, _unit: &()| Some(row.clone()))
}

/// A row of `n` NULLs.
pub fn nulls(n: usize) -> Row {
    Row::pack(std::iter::repeat_n(Datum::Null, n))
}
