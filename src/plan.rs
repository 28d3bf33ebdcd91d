//! Planning: a dataflow file → a typed logical [`Program`](ir::Program).
//!
//! `spec::parse` gives statements, [`lower`] resolves names and types and builds the IR,
//! [`prune`] drops the columns nothing reads, [`reduce`] chooses how each aggregate is computed, and [`explain`] prints the result. Nothing here builds operators.

pub mod checks;
pub mod event_time;
pub mod explain;
pub mod functions;
pub mod ir;
pub mod keys;
pub mod like;
pub mod lower;
pub mod prune;
pub mod recursion;
pub mod reduce;

use std::path::Path;

use crate::error::{Error, Result};

/// Stack for planning: parsing and lowering recurse once per level of SQL nesting, up to
/// [`ir::MAX_EXPR_DEPTH`] levels (and dropping a deep syntax tree recurses as deep); the
/// memory is reserved, and only used pages are committed.
const PLANNER_STACK: usize = 256 << 20;

/// Parse and plan dataflow text; `file` names it in messages.
///
/// Runs on a thread of its own with a stack large enough for the deepest text the parser
/// accepts, so deeply nested SQL is an "expression too deep" error, not a crash.
pub fn plan_text(file: &str, text: &str) -> Result<ir::Program> {
    plan_text_with(file, text, &lower::External::default())
}

/// [`plan_text`], with the tables Rust code reads and writes (see [`crate::builder`]).
pub fn plan_text_with(file: &str, text: &str, external: &lower::External) -> Result<ir::Program> {
    let (file, text, external) = (file.to_string(), text.to_string(), external.clone());
    std::thread::Builder::new()
        .name("ddflow-planner".into())
        .stack_size(PLANNER_STACK)
        .spawn(move || {
            let parsed = crate::spec::parse::parse(&file, &text)?;
            let mut program = lower::lower_with(&file, &parsed, &external)?;
            prune::prune(&mut program);
            reduce::choose(&mut program);
            event_time::plan_expiry(&mut program);
            Ok(program)
        })
        .map_err(|e| Error::Internal(format!("cannot start the planner thread: {e}")))?
        .join()
        .map_err(|_| Error::Internal("the planner panicked".into()))?
}

/// Read, parse and plan a dataflow file.
pub fn plan_file(path: &Path) -> Result<ir::Program> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    plan_text(&path.display().to_string(), &text)
}
