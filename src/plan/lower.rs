//! AST → IR: name resolution, type checking, `GROUP BY` → `Reduce`, errors with positions.
//!
//! This file holds the walk over a file's statements and the assembly of the [`Program`];
//! the work is split by what it lowers:
//! - [`ddl`]: `CREATE TABLE` (columns, types, keys, options) and `INSERT INTO`;
//! - [`query`]: `WITH`, set operations, `SELECT` lists, `GROUP BY` and aggregates;
//! - [`from`]: `FROM` and joins, and the [`Scope`] of names an expression sees;
//! - [`subquery`]: `IN`, `EXISTS` and their negations, decorrelated into semi- and anti-joins;
//! - [`recursive`]: `WITH RECURSIVE` names, checked to end on any input;
//! - [`scalar_subquery`]: `(SELECT ...)` as a value, decorrelated into joins;
//! - [`scalar`]: expressions, typed against a scope (the function catalog itself is
//!   [`crate::plan::functions`]).

use sqlparser::ast::{
    self as sql, BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, SelectItem, SetExpr, Spanned, Statement, UnaryOperator, Value,
};

use crate::data::{self, DataType, Schema};
use crate::error::{Error, Result, Span};
use crate::plan::functions;
use crate::plan::ir::*;
use crate::spec::ddl::Clauses;
use crate::spec::options::{closest, sink_spec, source_spec, TableDef};
use crate::spec::parse::Parsed;
use crate::spec::{KafkaSinkMode, SinkConnector, SinkSpec};

mod ddl;
mod from;
mod group_window;
mod over;
mod query;
mod recursive;
mod scalar;
mod scalar_subquery;
mod subquery;
mod temporal;
mod top_n;
mod udf;
mod window;
use crate::plan::ir::balanced;
use ddl::check_upsert_key;
use from::Scope;
use query::first_column;
use scalar::{castable, contains_agg};

/// An option error of a table, at the table's `CREATE TABLE`.
fn at_table(file: &str, span: Span, e: Error) -> Error {
    match e {
        Error::Option { message, hint } => Error::Sql {
            file: file.into(),
            span,
            message,
            hint,
        },
        other => other,
    }
}

fn unquote(s: &str) -> String {
    s.trim()
        .trim_matches(|c| c == '\'' || c == '"' || c == '`')
        .to_string()
}

/// Tables Rust code reads and writes besides the file's own statements (see
/// [`crate::builder`]).
#[derive(Debug, Clone, Default)]
pub struct External {
    /// Source tables (or views) the code reads.
    pub reads: Vec<String>,
    /// Sink tables the code writes.
    pub writes: Vec<String>,
}

/// Lower parsed statements into a program.
pub fn lower(file: &str, parsed: &Parsed) -> Result<Program> {
    lower_with(file, parsed, &External::default())
}

/// [`lower`], with the tables Rust code reads and writes.
pub fn lower_with(file: &str, parsed: &Parsed, external: &External) -> Result<Program> {
    let mut l = Lowerer {
        file,
        tables: Vec::new(),
        views: Vec::new(),
        read: Vec::new(),
        sinks: Vec::new(),
        settings: Vec::new(),
        depth: 0,
        statement_start: Span::default(),
        ctes: Vec::new(),
        computed: Vec::new(),
        watermarks: Vec::new(),
        functions: Vec::new(),
    };
    for (i, st) in parsed.statements.iter().enumerate() {
        l.statement_start = parsed.starts.get(i).copied().unwrap_or_default();
        match st {
            Statement::CreateTable(ct) => l.create_table(ct, &parsed.clauses)?,
            Statement::CreateView(cv) => {
                let name = object_name(&cv.name);
                let relation = l.query(&cv.query)?;
                l.check_row_numbers(&relation, true, st)?;
                l.check_new_name(&name, cv.name.span())?;
                l.views.push(View { name, relation });
            }
            Statement::Insert(ins) => l.insert(ins)?,
            Statement::Set(set) => l.set(&set.to_string(), st.span())?,
            Statement::CreateFunction(f) => l.create_function(f)?,
            other => {
                return Err(l.err(
                    other.span(),
                    "only CREATE TABLE, CREATE VIEW, CREATE FUNCTION and INSERT INTO ... SELECT are supported",
                    None,
                ))
            }
        }
    }
    l.finish(external)
}

struct Lowerer<'a> {
    file: &'a str,
    tables: Vec<TableDef>,
    views: Vec<View>,
    /// Lowercase names of tables read by some query.
    read: Vec<String>,
    sinks: Vec<(String, Relation, Span)>,
    settings: Vec<(String, String)>,
    /// Current expression nesting (see [`MAX_EXPR_DEPTH`]).
    depth: usize,
    /// Where the statement being lowered starts (for nodes without a position of their own).
    statement_start: Span,
    /// The `WITH` names in scope, innermost last, and the views they were lowered to.
    ctes: Vec<(String, String)>,
    /// Tables with computed columns (lowercase name): what reading one projects from its
    /// physical columns, and the schema that gives.
    computed: Vec<(String, Vec<Expr>, Schema)>,
    /// `WATERMARK FOR column AS expression`, per table (lowercase name): the column, the
    /// expression as written, and the expression over the decoded row.
    watermarks: Vec<(String, String, String, Expr)>,
    /// Functions defined by `CREATE FUNCTION`, in order.
    functions: Vec<udf::SqlFunction>,
}

/// Aggregation context: group keys (over the input) and the aggregates found so far.
struct AggCx {
    keys: Vec<(Expr, DataType)>,
    aggs: Vec<(AggregateExpr, DataType, String)>,
}

type Typed = (Expr, DataType);

impl<'a> Lowerer<'a> {
    /// `SET 'key' = 'value'` (also `SET key = value`, `SET key TO value`).
    fn set(&mut self, text: &str, span: sqlparser::tokenizer::Span) -> Result<()> {
        let body = text.trim().trim_start_matches("SET").trim();
        let parts = body
            .split_once('=')
            .or_else(|| body.split_once(" TO "))
            .map(|(k, v)| (unquote(k), unquote(v)));
        let Some((key, value)) = parts else {
            return Err(self.err(span, "expected SET 'key' = 'value'", None));
        };
        if !RUN_SETTINGS.iter().any(|(k, _)| *k == key) {
            let hint = closest(&key, RUN_SETTINGS.iter().map(|(k, _)| *k))
                .map(|k| format!("did you mean '{k}'?"));
            return Err(self.err(span, format!("unknown setting '{key}'"), hint));
        }
        let allowed: &[&str] = match key.as_str() {
            "processing-time" => &["epoch"],
            "window.emit" => &["update", "on-window-close"],
            _ => &[],
        };
        if !allowed.is_empty() && !allowed.iter().any(|a| a.eq_ignore_ascii_case(&value)) {
            let values: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
            let hint = format!("'{key}' takes {}", values.join(" or "));
            return Err(self.err(
                span,
                format!("'{value}' is not a value of '{key}'"),
                Some(hint),
            ));
        }
        self.settings.push((key, value));
        Ok(())
    }

    fn err(
        &self,
        span: sqlparser::tokenizer::Span,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Error {
        // Some nodes (SET, for one) carry no position: point at their statement.
        let span = if span.start.line == 0 {
            self.statement_start
        } else {
            Span {
                line: span.start.line,
                column: span.start.column,
            }
        };
        Error::Sql {
            file: self.file.to_string(),
            span,
            message: message.into(),
            hint,
        }
    }

    fn check_new_name(&self, name: &str, span: sqlparser::tokenizer::Span) -> Result<()> {
        let taken = self
            .tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
            || self.views.iter().any(|v| v.name.eq_ignore_ascii_case(name));
        if taken {
            return Err(self.err(span, format!("\"{name}\" is already defined"), None));
        }
        Ok(())
    }

    fn finish(mut self, external: &External) -> Result<Program> {
        let start = Span { line: 1, column: 1 };
        for name in &external.reads {
            let known = self
                .tables
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(name))
                || self.views.iter().any(|v| v.name.eq_ignore_ascii_case(name));
            if !known {
                return Err(Error::Sql {
                    file: self.file.into(),
                    span: start,
                    message: format!("the dataflow reads \"{name}\", which no CREATE TABLE or CREATE VIEW declares"),
                    hint: None,
                });
            }
            if self
                .tables
                .iter()
                .any(|t| t.name.eq_ignore_ascii_case(name))
            {
                self.read.push(name.to_ascii_lowercase());
            }
        }
        let mut external_sinks = Vec::new();
        for name in &external.writes {
            let table = (self.tables.iter())
                .find(|t| t.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| Error::Sql {
                    file: self.file.into(),
                    span: start,
                    message: format!(
                        "the dataflow writes \"{name}\", which no CREATE TABLE declares"
                    ),
                    hint: None,
                })?;
            if self.read.contains(&table.name.to_ascii_lowercase()) {
                return Err(Error::Sql {
                    file: self.file.into(),
                    span: table.span,
                    message: format!(
                        "table \"{}\" is both read and written in one dataflow",
                        table.name
                    ),
                    hint: None,
                });
            }
            external_sinks.push(sink_spec(table).map_err(|e| at_table(self.file, table.span, e))?);
        }
        if self.sinks.is_empty() && external_sinks.is_empty() {
            return Err(Error::Sql {
                file: self.file.into(),
                span: Span { line: 1, column: 1 },
                message: "the file has no INSERT INTO statement, so nothing would run".into(),
                hint: Some("add INSERT INTO <sink table> SELECT ...".into()),
            });
        }
        let mut sources = Vec::new();
        for t in &self.tables {
            let lname = t.name.to_ascii_lowercase();
            let written = self
                .sinks
                .iter()
                .any(|(s, _, _)| s.eq_ignore_ascii_case(&t.name));
            if self.read.contains(&lname) {
                if written {
                    return Err(Error::Sql {
                        file: self.file.into(),
                        span: t.span,
                        message: format!(
                            "table \"{}\" is both read and written in one dataflow",
                            t.name
                        ),
                        hint: Some("read the topic in another dataflow file".into()),
                    });
                }
                let mut spec = source_spec(t).map_err(|e| at_table(self.file, t.span, e))?;
                spec.watermark = self
                    .watermarks
                    .iter()
                    .find(|(table, _, _, _)| *table == lname)
                    .map(|(_, column, text, _)| (column.clone(), text.clone()));
                sources.push(spec);
            }
        }
        let mut sinks = Vec::new();
        for (name, relation, span) in self.sinks {
            let table = self
                .tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| Error::Internal(format!("sink {name} lost")))?;
            let sink = sink_spec(table).map_err(|e| at_table(self.file, table.span, e))?;
            check_upsert_key(self.file, &sink, &relation, &self.views, span)?;
            let on_close = match sink.emit {
                crate::spec::EmitMode::Update => None,
                crate::spec::EmitMode::OnWindowClose => {
                    // The sink's window_end: by name first, else any column that is one.
                    let ends: Vec<(usize, String)> = (0..sink.schema.len())
                        .filter_map(|c| {
                            crate::plan::event_time::window_end(&relation, c, &self.views)
                                .map(|t| (c, t))
                        })
                        .collect();
                    let named = ends.iter().find(|(c, _)| {
                        sink.schema.columns[*c]
                            .name
                            .eq_ignore_ascii_case("window_end")
                    });
                    match named.or(ends.first()) {
                        Some((column, watermark)) => Some(crate::plan::ir::WindowClose {
                            column: *column,
                            watermark: watermark.clone(),
                        }),
                        None => {
                            return Err(Error::Sql {
                                file: self.file.into(),
                                span,
                                message: format!(
                                    "sink \"{name}\" has 'sink.emit' = 'on-window-close', but no column of it is the window_end of a window over a table with a WATERMARK"
                                ),
                                hint: Some(
                                    "select window_end from TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), ...)) over a table that declares WATERMARK FOR ts, and keep it in the sink"
                                        .into(),
                                ),
                            })
                        }
                    }
                }
            };
            sinks.push(SinkPlan {
                sink,
                relation,
                on_close,
            });
        }
        // Views whose row numbers only their readers bound were inlined into them.
        let views = self.views.clone();
        let mut program = Program {
            sources,
            views: self
                .views
                .into_iter()
                .filter(|v| !top_n::unresolved(&v.relation, &views))
                .collect(),
            sinks,
            watermarks: Vec::new(),
            settings: self.settings,
            external_sinks,
        };
        // Every source's; planning keeps those an operator reads.
        let tables: Vec<String> = program
            .sources
            .iter()
            .map(|s| s.name.to_ascii_lowercase())
            .collect();
        for table in tables {
            let Some((_, _, _, expr)) = self.watermarks.iter().find(|w| w.0 == table) else {
                continue;
            };
            let idle_timeout_ms = program
                .sources
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(&table))
                .and_then(|s| s.idle_timeout_ms);
            program.watermarks.push(crate::plan::ir::WatermarkPlan {
                table,
                expr: expr.clone(),
                idle_timeout_ms,
            });
        }
        crate::plan::checks::check_topics(&program, None)?;
        crate::plan::checks::check_append_only_files(&program)?;
        Ok(program)
    }
}

pub(super) fn object_name(n: &sql::ObjectName) -> String {
    n.0.iter()
        .map(|p| {
            p.as_ident()
                .map_or_else(|| p.to_string(), |i| i.value.clone())
        })
        .collect::<Vec<_>>()
        .join(".")
}
