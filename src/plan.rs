//! Planning: a dataflow file → a typed logical [`Program`](ir::Program).
//!
//! `spec::parse` gives statements, [`lower`] resolves names and types and builds the IR, and
//! [`explain`] prints it. Nothing here builds operators.

pub mod explain;
pub mod ir;
pub mod lower;

use std::path::Path;

use crate::error::{Error, Result};

/// Parse and plan dataflow text; `file` names it in messages.
pub fn plan_text(file: &str, text: &str) -> Result<ir::Program> {
    let (statements, metadata) = crate::spec::parse::parse(file, text)?;
    lower::lower(file, &statements, &metadata)
}

/// Read, parse and plan a dataflow file.
pub fn plan_file(path: &Path) -> Result<ir::Program> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    plan_text(&path.display().to_string(), &text)
}
