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
pub mod pushdown;
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
///
/// ```
/// let text = "
///   CREATE TABLE clicks (user_id BIGINT, url STRING) WITH ('connector' = 'kafka',
///     'topic' = 'clicks', 'properties.bootstrap.servers' = 'localhost:9092', 'format' = 'json');
///   CREATE TABLE per_user (user_id BIGINT, n BIGINT, PRIMARY KEY (user_id) NOT ENFORCED)
///     WITH ('connector' = 'upsert-kafka', 'topic' = 'per_user',
///     'properties.bootstrap.servers' = 'localhost:9092', 'key.format' = 'json', 'value.format' = 'json');
///   INSERT INTO per_user SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;";
/// let program = ddflow::plan::plan_text("clicks.sql", text)?;
/// // `explain` prints the plan and how each aggregate is computed.
/// let plan = ddflow::plan::explain::explain(&program);
/// assert!(plan.contains("Reduce key=(user_id) aggs=(count(*) as count_0 [accumulable])"), "{plan}");
///
/// // Errors name the file, line and column, with a hint.
/// let e = ddflow::plan::plan_text("bad.sql", &text.replace("COUNT(*)", "COUNT(urls)")).unwrap_err();
/// assert!(e.to_string().starts_with("bad.sql:7:"), "{e}");
/// assert!(e.to_string().contains("unknown column \"urls\""), "{e}");
/// # Ok::<(), ddflow::Error>(())
/// ```
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
            pushdown::push_filters(&mut program);
            prune::prune(&mut program);
            // A window aggregate written on close only inserts, so what reads it may be
            // planned again (a MAX over it needs no retractions, and may close too): until
            // nothing changes, once per level of such aggregates.
            loop {
                let before = program.clone();
                reduce::choose(&mut program);
                event_time::plan_expiry(&mut program);
                if program == before {
                    break;
                }
            }
            prune::narrow_sources(&mut program);
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
