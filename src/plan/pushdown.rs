//! Filters moved below joins, to the side whose columns they read, and below projections.
//!
//! `WHERE a.category = 10` over `bid JOIN auction` is lowered as a filter over the join, which
//! then arranges every auction and computes every pair before most go. A term of a filter's
//! `AND` that reads one side's columns only is that side's filter: it runs on the side's rows
//! before they are arranged (Nexmark q20 keeps one auction in ten). Likewise the terms of an
//! inner join's `ON` residual that read one side.
//!
//! A term moves only where it keeps its meaning:
//! - above an inner join, to either side; above a left, semi- or anti-join, to the left side
//!   (its rows come out as they went in, or not at all); above a right join, to the right
//!   side; never out of a full join, whose NULL-padded rows on either side a term would judge;
//! - never into a temporal join (`FOR SYSTEM_TIME AS OF`), whose versioned side must keep
//!   every version for the one valid at a time to be found;
//! - only a term that cannot fail: below the join it is evaluated on rows that match nothing,
//!   which the filter above never saw.
//!
//! On the way down, terms over columns a projection passes through unchanged go below it (it
//! makes one row of each, so they run on the same rows), and a filter's terms that cannot fail
//! join the filter below them: Nexmark's views, a projection over a filter over the
//! projection that adds computed columns, filter first.

use crate::data::Schema;
use crate::plan::ir::{balanced, BinaryOp, Expr, JoinKind, Program, Relation};

/// Move the filter terms of every view and sink of `program` below the joins they sit on.
pub fn push_filters(program: &mut Program) {
    for view in &mut program.views {
        push(&mut view.relation);
    }
    for sink in &mut program.sinks {
        push(&mut sink.relation);
    }
}

/// Push the filters in `r` and everything below it.
fn push(r: &mut Relation) {
    while step(r) {}
    for input in r.inputs_mut() {
        push(input);
    }
}

/// Move filter terms down one relation at `r`; whether anything moved.
fn step(r: &mut Relation) -> bool {
    match r {
        Relation::Filter { input, predicate } => {
            let fails = predicate.can_fail(input.schema());
            let kept = match &mut **input {
                Relation::Join { .. } => into_join(predicate, input),
                Relation::Project { .. } => through_project(predicate, input),
                // A filter over a filter is one (unless its terms could fail on rows the one
                // below drops).
                Relation::Filter {
                    predicate: below, ..
                } if !fails => {
                    *below = and(below, predicate);
                    None
                }
                _ => return false,
            };
            match kept {
                Some(p) if p == *predicate => false,
                Some(p) => {
                    *predicate = p;
                    true
                }
                None => {
                    *r = take(input);
                    true
                }
            }
        }
        Relation::Join {
            kind: JoinKind::Inner,
            residual: residual @ Some(_),
            as_of: None,
            left,
            right,
            schema,
            ..
        } => {
            // The residual reads the joined row (an inner join's schema).
            let terms = conjuncts(&residual.take().expect("matched Some"));
            let count = terms.len();
            let kept = to_sides(terms, (left, right), schema, (true, true));
            let moved = kept.len() < count;
            *residual = conjoin(kept);
            moved
        }
        _ => false,
    }
}

/// Move the terms of `predicate` (a filter over `project`) that read only columns the
/// projection passes through unchanged below it; what stays above, if anything. (The
/// projection computes a row for every row below it, so a term runs on the same rows.)
fn through_project(predicate: &Expr, project: &mut Relation) -> Option<Expr> {
    let Relation::Project { input, exprs, .. } = project else {
        return Some(predicate.clone());
    };
    let passed = |c: usize| match exprs.get(c) {
        Some(Expr::Column(below)) => Some(*below),
        _ => None,
    };
    let mut kept = Vec::new();
    for mut term in conjuncts(predicate) {
        let mut plain = true;
        term.visit_columns(&mut |c| plain &= passed(c).is_some());
        if plain {
            term.map_columns(&mut |c| passed(c).expect("checked plain"));
            add_filter(input, term);
        } else {
            kept.push(term);
        }
    }
    conjoin(kept)
}

/// The relation in `slot`, taken out of it.
fn take(slot: &mut Box<Relation>) -> Relation {
    let placeholder = Relation::Union {
        inputs: Vec::new(),
        schema: slot.schema().clone(),
    };
    std::mem::replace(&mut **slot, placeholder)
}

/// Move the terms of `predicate` (a filter over `join`) that read one side the join lets
/// them go to into that side; what stays above, if anything.
fn into_join(predicate: &Expr, join: &mut Relation) -> Option<Expr> {
    let Relation::Join {
        left,
        right,
        kind,
        as_of,
        schema,
        ..
    } = join
    else {
        return Some(predicate.clone());
    };
    if as_of.is_some() {
        return Some(predicate.clone());
    }
    let sides = match kind {
        JoinKind::Inner => (true, true),
        JoinKind::Left | JoinKind::Semi | JoinKind::Anti => (true, false),
        JoinKind::Right => (false, true),
        JoinKind::Full => (false, false),
    };
    conjoin(to_sides(conjuncts(predicate), (left, right), schema, sides))
}

/// Add each of `terms` (over the joined row, `joined`) that reads one side, and may go to it
/// (`sides`: left, right), to that side as a filter; the terms that stay.
fn to_sides(
    terms: Vec<Expr>,
    (left, right): (&mut Box<Relation>, &mut Box<Relation>),
    joined: &Schema,
    (to_left, to_right): (bool, bool),
) -> Vec<Expr> {
    let width = left.schema().len();
    let mut kept = Vec::new();
    for term in terms {
        match side(&term, width, joined) {
            Some(Side::Left) if to_left => add_filter(left, term),
            Some(Side::Right) if to_right => add_filter(right, shifted(term, width)),
            _ => kept.push(term),
        }
    }
    kept
}

/// A side of a join.
enum Side {
    Left,
    Right,
}

/// Which side of a join whose left rows are `width` wide a term reads only, if it reads one
/// and cannot fail over the joined row.
fn side(term: &Expr, width: usize, joined: &Schema) -> Option<Side> {
    if term.can_fail(joined) {
        return None;
    }
    let (mut left, mut right) = (false, false);
    term.visit_columns(&mut |c| {
        if c < width {
            left = true;
        } else {
            right = true;
        }
    });
    match (left, right) {
        (true, false) => Some(Side::Left),
        (false, true) => Some(Side::Right),
        // A term that reads no column (a constant) stays where it is.
        _ => None,
    }
}

/// `term` over the joined row, rewritten over the right side's row.
fn shifted(mut term: Expr, width: usize) -> Expr {
    term.map_columns(&mut |c| c - width);
    term
}

/// `input` filtered by `term` too: joined to a filter already there, unless `term` could fail
/// (`AND` evaluates it when the filter's own terms are unknown, on rows the filter drops), when
/// it goes on top of that filter.
fn add_filter(input: &mut Box<Relation>, term: Expr) {
    let fails = term.can_fail(input.schema());
    if let Relation::Filter { predicate, .. } = &mut **input {
        if !fails {
            *predicate = and(predicate, &term);
            return;
        }
    }
    let below = take(input);
    **input = Relation::Filter {
        input: Box::new(below),
        predicate: term,
    };
}

/// The terms of `e`'s top-level `AND`s, to move.
fn conjuncts(e: &Expr) -> Vec<Expr> {
    e.conjuncts().into_iter().cloned().collect()
}

/// The `AND` of `terms` (balanced, as lowering builds it: moving terms keeps expressions
/// shallow), `None` for none.
fn conjoin(terms: Vec<Expr>) -> Option<Expr> {
    balanced(BinaryOp::And, terms)
}

/// `a AND b`, over the terms of both.
fn and(a: &Expr, b: &Expr) -> Expr {
    let terms = [conjuncts(a), conjuncts(b)].concat();
    conjoin(terms).expect("at least two terms")
}
