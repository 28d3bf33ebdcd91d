//! `WITH RECURSIVE` ([`Relation::Recursive`]): the body's least fixed point, kept with
//! differential's iteration. Each input change is a new outer time; inside it the body runs
//! again over the relation's last value (an inner round per step) until nothing changes, and
//! only the difference leaves the loop, so a change costs what it changes, not a recomputation.
//!
//! The parts of the body that do not read the relation are rendered outside the loop as any
//! relation is, and entered into it; the ones fed by sources without state above them are
//! kept as state first ([`super::external::kept`]), so a restored run puts them back in front
//! of the loop, which recomputes from them. The parts that read the relation (planning allows
//! filters, projections, inner and semi-joins, unions and `GROUP BY` with `MIN`/`MAX`, see
//! [`crate::plan::recursion`]) are rendered here over the loop's nested time.

use std::collections::HashMap;
use std::sync::Arc;

use differential_dataflow::operators::iterate::VecVariable;
use differential_dataflow::VecCollection;
use timely::order::Product;

use super::aggregate::best_of;
use super::{external, render_relation, RenderState, Rendered};
use crate::control::RunControl;
use crate::data::{Row, Schema};
use crate::error::{Error, Result};
use crate::plan::ir::{AggFunc, Expr, JoinKind, Relation};
use crate::plan::recursion::reads;
use crate::render::scalar::OnEvalError;
use crate::timestamp::{Diff, Time};

/// Rows inside the loop: at an outer time and a round.
type Nested<'i> = VecCollection<'i, Product<Time, u64>, Row, Diff>;

/// Render `Recursive { name, body }`.
pub(super) fn render<'s>(
    name: &str,
    body: &Relation,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
    label: &str,
) -> Result<Rendered<'s>> {
    let mut outer = Vec::new();
    outside(name, body, env, state, label, &mut outer)?;
    let skip = outer.iter().all(|r: &Rendered<'s>| r.skip_errors);
    let step = Step {
        name,
        label: label.into(),
        skip,
        control: state.control.clone(),
    };
    let scope = state.scope;
    let collection = scope.iterative::<u64, _, _>(|inner| {
        let (variable, itself) = VecVariable::new(inner, Product::new(Default::default(), 1));
        let mut entered = outer.into_iter().map(|r| r.collection.enter(inner));
        let next = step.render(body, &itself, &mut entered)?.consolidate();
        variable.set(next.clone());
        Ok::<_, Error>(next.leave(scope))
    })?;
    Ok(Rendered {
        collection,
        stateful: true,
        skip_errors: skip,
    })
}

/// Render, in order, the largest parts of `r` that do not read `name`, outside the loop.
fn outside<'s>(
    name: &str,
    r: &Relation,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
    label: &str,
    out: &mut Vec<Rendered<'s>>,
) -> Result<()> {
    if reads(r, name) {
        for input in r.inputs() {
            outside(name, input, env, state, label, out)?;
        }
        return Ok(());
    }
    let mut rendered = render_relation(r, env, state, label)?;
    if !rendered.stateful {
        rendered.collection = external::kept(state, rendered.collection);
        rendered.stateful = true;
    }
    out.push(rendered);
    Ok(())
}

/// What rendering the parts that read the relation needs.
struct Step<'a> {
    name: &'a str,
    label: Arc<str>,
    skip: bool,
    control: Arc<RunControl>,
}

impl Step<'_> {
    fn on_error(&self, input: &Schema) -> OnEvalError {
        OnEvalError {
            label: self.label.clone(),
            input: Arc::new(input.clone()),
            skip: self.skip,
            control: self.control.clone(),
        }
    }

    /// `r` inside the loop: `itself` is the relation's last value, `outer` the parts rendered
    /// outside, entered, in the order [`outside`] rendered them.
    fn render<'i>(
        &self,
        r: &Relation,
        itself: &Nested<'i>,
        outer: &mut impl Iterator<Item = Nested<'i>>,
    ) -> Result<Nested<'i>> {
        if !reads(r, self.name) {
            return outer
                .next()
                .ok_or_else(|| Error::Internal("a recursion's input was not rendered".into()));
        }
        Ok(match r {
            Relation::Get { .. } => itself.clone(),
            Relation::Filter { input, predicate } => {
                let on_error = self.on_error(input.schema());
                let predicate = predicate.clone();
                (self.render(input, itself, outer)?)
                    .filter(move |row| on_error.holds(&predicate, row))
            }
            Relation::Project { input, exprs, .. } => {
                let on_error = self.on_error(input.schema());
                let exprs = exprs.clone();
                (self.render(input, itself, outer)?)
                    .flat_map(move |row| on_error.project(&exprs, &row))
            }
            Relation::Union { inputs, .. } => {
                let mut parts = Vec::new();
                for input in inputs {
                    parts.push(self.render(input, itself, outer)?);
                }
                (parts.into_iter().reduce(|all, part| all.concat(part)))
                    .ok_or_else(|| Error::Internal("an empty union reads a recursion".into()))?
            }
            Relation::Join {
                left,
                right,
                kind: kind @ (JoinKind::Inner | JoinKind::Semi),
                left_key,
                right_key,
                residual,
                schema,
                as_of: None,
                expire: None,
            } => {
                let l = self.render(left, itself, outer)?;
                let r = self.render(right, itself, outer)?;
                let keyed = |rows: Nested<'i>, key: &[Expr], input: &Schema| {
                    let (key, on_error) = (key.to_vec(), self.on_error(input));
                    rows.flat_map(move |row| {
                        let k = on_error.project(&key, &row)?;
                        (!k.iter().any(|d| d.is_null())).then_some((k, row))
                    })
                };
                let pairs = keyed(l.clone(), left_key, left.schema())
                    .join_map(keyed(r, right_key, right.schema()), |_, a, b| a.concat(b));
                let pairs = match residual {
                    Some(residual) => {
                        let both = Schema {
                            columns: [
                                left.schema().columns.clone(),
                                right.schema().columns.clone(),
                            ]
                            .concat(),
                        };
                        let (on_error, residual) = (self.on_error(&both), residual.clone());
                        pairs.filter(move |row| on_error.holds(&residual, row))
                    }
                    None => pairs,
                };
                if *kind == JoinKind::Inner {
                    pairs
                } else {
                    // Each left row as often as it is there, when some pair holds it.
                    let width = schema.len();
                    let hits = pairs
                        .map(move |row| Row::pack(row.iter().take(width)))
                        .distinct_core::<Diff>();
                    l.map(|row| (row, ())).semijoin(hits).map(|(row, ())| row)
                }
            }
            Relation::Reduce {
                input,
                group_key,
                aggregates,
                expire: None,
                ..
            } if aggregates
                .iter()
                .all(|a| matches!(a.func, AggFunc::Min | AggFunc::Max) && a.arg.is_some()) =>
            {
                let on_error = self.on_error(input.schema());
                let key = group_key.clone();
                let args: Vec<Expr> = aggregates.iter().filter_map(|a| a.arg.clone()).collect();
                let rows = self.render(input, itself, outer)?;
                if aggregates.is_empty() {
                    return Ok(rows
                        .flat_map(move |row| on_error.project(&key, &row))
                        .distinct_core::<Diff>());
                }
                let funcs: Vec<AggFunc> = aggregates.iter().map(|a| a.func).collect();
                rows.flat_map(move |row| {
                    Some((
                        on_error.project(&key, &row)?,
                        on_error.project(&args, &row)?,
                    ))
                })
                .reduce(
                    move |_, values: &[(&Row, Diff)], out: &mut Vec<(Row, Diff)>| {
                        out.push((best_of(&funcs, values), 1));
                    },
                )
                .map(|(key, values)| key.concat(&values))
            }
            _ => {
                return Err(Error::Internal(
                    "planning let a recursion read itself under an operator it cannot render"
                        .into(),
                ))
            }
        })
    }
}
