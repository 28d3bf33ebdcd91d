//! Chains of filters and projections run as one map per row.
//!
//! A view over a source is typically a projection over a filter over a projection (Nexmark's
//! `bid` is three), and a query over it adds more. Each rendered on its own, a row is unpacked
//! and packed again at every step. A chain none of whose expressions can fail (so no error
//! needs reporting with the step's input) is evaluated here instead: the row unpacked once,
//! each step over the datums the step below computed, the result packed once.

use smallvec::SmallVec;

use crate::data::{Datum, Row};
use crate::plan::ir::Expr;
use crate::render::scalar::{eval, is_true, with_arena};

/// One step of a chain.
#[derive(Debug, Clone)]
pub enum Step {
    /// Keep the rows on which the predicate is TRUE.
    Filter(Expr),
    /// Compute these expressions.
    Project(Vec<Expr>),
}

/// `row` through `steps` (first step first): the resulting row, or `None` when a filter
/// drops it.
pub fn apply(steps: &[Step], row: &Row) -> Option<Row> {
    with_arena(|arena| {
        let mut current: SmallVec<[Datum<'_>; 32]> = SmallVec::new();
        current.extend(row.iter());
        for step in steps {
            match step {
                Step::Filter(predicate) => {
                    if !is_true(eval(predicate, &current, arena)) {
                        return None;
                    }
                }
                Step::Project(exprs) => {
                    let next: SmallVec<[Datum<'_>; 32]> =
                        exprs.iter().map(|e| eval(e, &current, arena)).collect();
                    current = next;
                }
            }
        }
        Some(Row::pack(current))
    })
}
