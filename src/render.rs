//! Rendering: the logical plan → differential operators inside one worker's dataflow.
//!
//! The runtime hands over one collection per source table; [`render_program`] builds every
//! view once (a view read by several statements is shared) and returns one collection per
//! sink. Nothing here talks to Kafka or commits anything.
//!
//! The arrangements fed directly by sources (the inputs of the lowest `GROUP BY`s) are the
//! dataflow's state: rendering hands their traces to [`crate::checkpoint`], and on recovery
//! feeds their restored contents back in (see [`RenderState`]).

pub mod aggregate;
pub mod scalar;

use std::collections::HashMap;
use std::sync::Arc;

use differential_dataflow::VecCollection;
use timely::dataflow::{Scope, StreamVec};

use crate::checkpoint::operators::{render_restore, StateTrace};
use crate::checkpoint::Checkpointing;
use crate::control::RunControl;
use crate::data::Row;
use crate::error::{Error, Result};
use crate::plan::ir::{Program, Relation};
use crate::spec::SinkSpec;
use crate::timestamp::{Diff, Time};

/// A collection of rows at epoch times.
pub type RowCollection<'s> = VecCollection<'s, Time, Row, Diff>;

/// What rendering shares with checkpointing.
pub struct RenderState<'s> {
    /// The worker's scope.
    pub scope: Scope<'s, Time>,
    /// Set when the run checkpoints (and maybe restores).
    pub checkpointing: Option<Arc<Checkpointing>>,
    /// The traces of the state arrangements, in render order.
    pub traces: Vec<StateTrace>,
    /// Data-less streams with those arrangements' frontiers.
    pub progress: Vec<StreamVec<'s, Time, ()>>,
    /// For restore failures.
    pub control: Arc<RunControl>,
}

impl<'s> RenderState<'s> {
    /// Rendering without checkpoints.
    pub fn new(scope: Scope<'s, Time>, control: Arc<RunControl>) -> Self {
        RenderState {
            scope,
            checkpointing: None,
            traces: Vec::new(),
            progress: Vec::new(),
            control,
        }
    }
}

/// A rendered relation and whether it is computed from state (a `GROUP BY` below it).
#[derive(Clone)]
struct Rendered<'s> {
    collection: RowCollection<'s>,
    stateful: bool,
}

/// Render every view and sink of `program` over the given source collections (by table name).
pub fn render_program<'s>(
    program: &Program,
    sources: HashMap<String, RowCollection<'s>>,
    state: &mut RenderState<'s>,
) -> Result<Vec<(SinkSpec, RowCollection<'s>)>> {
    let mut env: HashMap<String, Rendered<'s>> = sources
        .into_iter()
        .map(|(name, collection)| {
            (
                name,
                Rendered {
                    collection,
                    stateful: false,
                },
            )
        })
        .collect();
    for view in &program.views {
        let rendered = render_relation(&view.relation, &env, state)?;
        env.insert(view.name.to_ascii_lowercase(), rendered);
    }
    program
        .sinks
        .iter()
        .map(|sink| {
            let rendered = render_relation(&sink.relation, &env, state)?;
            Ok((sink.sink.clone(), rendered.collection))
        })
        .collect()
}

/// Render one relation; `env` maps lowercase source/view names to their collections.
fn render_relation<'s>(
    relation: &Relation,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
) -> Result<Rendered<'s>> {
    Ok(match relation {
        Relation::Get { name, .. } => env
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| Error::Internal(format!("relation \"{name}\" was not rendered")))?,
        Relation::Filter { input, predicate } => {
            let predicate = predicate.clone();
            let input = render_relation(input, env, state)?;
            Rendered {
                collection: input
                    .collection
                    .filter(move |row| scalar::is_true(&scalar::eval(&predicate, row))),
                stateful: input.stateful,
            }
        }
        Relation::Project { input, exprs, .. } => {
            let exprs = exprs.clone();
            let input = render_relation(input, env, state)?;
            Rendered {
                collection: input
                    .collection
                    .map(move |row| exprs.iter().map(|e| scalar::eval(e, &row)).collect()),
                stateful: input.stateful,
            }
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            ..
        } => {
            let input = render_relation(input, env, state)?;
            let keyed = aggregate::key_rows(input.collection, group_key, aggregates);
            // Only arrangements fed directly by sources are state; the ones above them are
            // recomputed from it on restore.
            let (keyed, checkpointed) = match (&state.checkpointing, input.stateful) {
                (Some(ck), false) => {
                    let keyed = match ck.recovery.as_ref().filter(|r| r.manifest.is_some()) {
                        Some(_) => keyed.concat(render_restore(
                            state.scope,
                            ck,
                            state.traces.len(),
                            state.control.clone(),
                        )),
                        None => keyed,
                    };
                    (keyed, true)
                }
                _ => (keyed, false),
            };
            let (collection, trace, progress) = aggregate::render_reduce(keyed, aggregates);
            if checkpointed {
                state.traces.push(trace);
                state.progress.push(progress);
            }
            Rendered {
                collection,
                stateful: true,
            }
        }
    })
}
