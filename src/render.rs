//! Rendering: the logical plan → differential operators inside one worker's dataflow.
//!
//! The runtime hands over one collection per source table; [`render_program`] builds every
//! view once (a view read by several statements is shared) and returns one collection per
//! sink. Nothing here talks to Kafka or commits anything.

pub mod aggregate;
pub mod scalar;

use std::collections::HashMap;

use differential_dataflow::VecCollection;

use crate::data::Row;
use crate::error::{Error, Result};
use crate::plan::ir::{Program, Relation};
use crate::spec::SinkSpec;
use crate::timestamp::{Diff, Time};

/// A collection of rows at epoch times.
pub type RowCollection<'s> = VecCollection<'s, Time, Row, Diff>;

/// Render every view and sink of `program` over the given source collections (by table name).
pub fn render_program<'s>(
    program: &Program,
    mut env: HashMap<String, RowCollection<'s>>,
) -> Result<Vec<(SinkSpec, RowCollection<'s>)>> {
    for view in &program.views {
        let rendered = render_relation(&view.relation, &env)?;
        env.insert(view.name.to_ascii_lowercase(), rendered);
    }
    program
        .sinks
        .iter()
        .map(|sink| Ok((sink.sink.clone(), render_relation(&sink.relation, &env)?)))
        .collect()
}

/// Render one relation; `env` maps lowercase source/view names to their collections.
pub fn render_relation<'s>(
    relation: &Relation,
    env: &HashMap<String, RowCollection<'s>>,
) -> Result<RowCollection<'s>> {
    Ok(match relation {
        Relation::Get { name, .. } => env
            .get(&name.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| Error::Internal(format!("relation \"{name}\" was not rendered")))?,
        Relation::Filter { input, predicate } => {
            let predicate = predicate.clone();
            render_relation(input, env)?
                .filter(move |row| scalar::is_true(&scalar::eval(&predicate, row)))
        }
        Relation::Project { input, exprs, .. } => {
            let exprs = exprs.clone();
            render_relation(input, env)?
                .map(move |row| exprs.iter().map(|e| scalar::eval(e, &row)).collect())
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            ..
        } => aggregate::render_reduce(render_relation(input, env)?, group_key, aggregates),
    })
}
