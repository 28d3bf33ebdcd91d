//! Rust code between sources and sinks: what a dataflow built with [`crate::builder`] sees
//! inside each worker's dataflow. It reads source tables and SQL views as collections of rows,
//! applies any differential operators, and hands collections to declared sinks.
//!
//! With checkpoints, each source table the code reads is kept as state (its distinct rows
//! with their multiplicities, in one arrangement): a restore puts the input back in front of
//! the code, which recomputes its own state from it, so results continue exactly whatever the
//! code does.

use std::collections::HashMap;

use timely::dataflow::operators::vec::Map as _;

use super::{RenderState, Rendered, StateHooks};
use crate::data::{Row, RowCollection, Schema};
use crate::error::{Error, Result};
use crate::metrics::arrangements::observed;
use crate::spec::SinkSpec;
use crate::state::StateArrangement;
use crate::timestamp::{Diff, Time};

/// User code run in each worker's dataflow (see [`Context`]).
pub type Logic = dyn for<'a, 's> Fn(&mut Context<'a, 's>) -> Result<()> + Send + Sync;

/// What user code sees in one worker's dataflow.
pub struct Context<'a, 's> {
    pub(super) env: &'a HashMap<String, Rendered<'s>>,
    pub(super) state: &'a mut RenderState<'s>,
    /// Source tables read so far (each kept once).
    pub(super) read: HashMap<String, RowCollection<'s>>,
    /// The sinks the code may write, and what it wrote.
    pub(super) sinks: &'a [SinkSpec],
    pub(super) outputs: Vec<(SinkSpec, RowCollection<'s>)>,
    /// Lowercase names of the source tables (the rest of `env` are views).
    pub(super) sources: Vec<String>,
}

impl<'s> Context<'_, 's> {
    /// The worker's scope, for operators that need it (e.g. `iterate`'s `enter`).
    pub fn scope(&self) -> timely::dataflow::Scope<'s, Time> {
        self.state.scope
    }

    /// This worker's index and the number of workers.
    pub fn worker(&self) -> (usize, usize) {
        (self.state.scope.index(), self.state.scope.peers())
    }

    /// The rows of a source table or a SQL view, by name (any case).
    pub fn read(&mut self, name: &str) -> Result<RowCollection<'s>> {
        let key = name.to_ascii_lowercase();
        if let Some(c) = self.read.get(&key) {
            return Ok(c.clone());
        }
        let rendered = self.env.get(&key).ok_or_else(|| {
            Error::Config(format!(
                "the dataflow reads \"{name}\", which is neither a declared source nor a view"
            ))
        })?;
        let rows = if self.sources.contains(&key) && !rendered.stateful {
            kept(self.state, rendered.collection.clone())
        } else {
            rendered.collection.clone()
        };
        self.read.insert(key, rows.clone());
        Ok(rows)
    }

    /// The schema of a declared sink, by name.
    pub fn sink_schema(&self, sink: &str) -> Result<&Schema> {
        Ok(&self.sink(sink)?.schema)
    }

    /// Write `rows` to the declared sink `sink` (rows in its column order and types).
    pub fn write(&mut self, sink: &str, rows: RowCollection<'s>) -> Result<()> {
        let spec = self.sink(sink)?.clone();
        if self.outputs.iter().any(|(s, _)| s.name == spec.name) {
            return Err(Error::Config(format!(
                "the dataflow writes sink \"{sink}\" twice: concatenate the collections first"
            )));
        }
        self.outputs.push((spec, rows));
        Ok(())
    }

    fn sink(&self, sink: &str) -> Result<&SinkSpec> {
        (self.sinks.iter())
            .find(|s| s.name.eq_ignore_ascii_case(sink))
            .ok_or_else(|| {
                Error::Config(format!(
                    "the dataflow writes \"{sink}\", which is not a declared sink"
                ))
            })
    }
}

/// `rows` kept as state with checkpoints: arranged by row (with the restored rows in front
/// when restoring), read back from the arrangement.
pub(super) fn kept<'s>(state: &mut RenderState<'s>, rows: RowCollection<'s>) -> RowCollection<'s> {
    let mut hooks = StateHooks {
        keep: state.checkpointing.is_some(),
        state,
    };
    if !hooks.keep {
        return rows;
    }
    hooks.state(rows, |rows, keep| {
        let arranged = observed::<Row, (), Diff, _>(rows.scope(), "Input", || {
            rows.arrange_by_self_named("Arrange: Input")
        });
        let state = keep.then(|| {
            let trace: Box<dyn StateArrangement> =
                Box::new(crate::state::KeyState::new(arranged.trace.clone(), Some));
            (trace, arranged.stream.clone().map(|_| ()))
        });
        (arranged.as_collection(|row, _| row.clone()), state)
    })
}
