//! Window table functions in `FROM`, in Flink's form:
//! `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND [, offset]))`, `HOP(..., slide,
//! size [, offset])`, `CUMULATE(..., step, size [, offset])`, `SESSION(TABLE t [PARTITION BY k],
//! DESCRIPTOR(ts), gap)`. (`TABLE t` reaches here as `t`: the text layer blanks the keyword,
//! see [`crate::spec::ddl`].)

use sqlparser::ast::{self as sql, Expr as SqlExpr, Spanned};

use super::*;
use crate::plan::ir::WindowKind;
use crate::spec::ddl::PARTITION_ARGUMENT;

impl Lowerer<'_> {
    /// A window function: its rows, their schema, and the name of the table it reads (for
    /// qualified names).
    pub(super) fn window_function(
        &mut self,
        expr: &SqlExpr,
        span: sqlparser::tokenizer::Span,
    ) -> Result<(Relation, Schema, Option<String>)> {
        let SqlExpr::Function(f) = expr else {
            return Err(self.err(
                span,
                "TABLE(...) reads a window function",
                Some("write TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))".into()),
            ));
        };
        let name = object_name(&f.name).to_ascii_lowercase();
        let args: Vec<&SqlExpr> = match &f.args {
            sql::FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|a| match a {
                    sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let (least, most) = match name.as_str() {
            "tumble" => (3, 4),
            "hop" | "cumulate" => (4, 5),
            "session" => (3, 3),
            _ => {
                return Err(self.err(
                    span,
                    format!("unknown window function {}", name.to_uppercase()),
                    Some("use TUMBLE, HOP, CUMULATE or SESSION".into()),
                ))
            }
        };
        let upper = name.to_uppercase();
        if args.len() < least || args.len() > most {
            return Err(self.err(
                span,
                format!(
                    "{upper}(TABLE t, DESCRIPTOR(time), ...) takes {least} to {most} arguments, got {}",
                    args.len()
                ),
                None,
            ));
        }
        let table = match args[0] {
            SqlExpr::Identifier(i) => i.value.clone(),
            SqlExpr::CompoundIdentifier(parts) => parts
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join("."),
            other => {
                return Err(self.err(
                    other.span(),
                    format!("{upper} reads a table or view: TABLE name"),
                    None,
                ))
            }
        };
        let (input, schema) = self.named(&table, args[0].span())?;
        let scope = Scope::of(schema.clone(), vec![table.to_ascii_lowercase()]);
        let time = self.descriptor(args[1], &scope, &upper)?;
        // `TABLE t PARTITION BY k` reaches here as a named argument `p => k` (see
        // `crate::spec::ddl`).
        let partition_by = match &f.args {
            sql::FunctionArguments::List(list) => list.args.iter().find_map(|a| match a {
                sql::FunctionArg::Named {
                    name,
                    arg: sql::FunctionArgExpr::Expr(e),
                    ..
                } if name.value == PARTITION_ARGUMENT => Some(e),
                _ => None,
            }),
            _ => None,
        };
        let mut partition = Vec::new();
        if let Some(by) = partition_by {
            if name != "session" {
                return Err(self.err(
                    by.span(),
                    format!("{upper} takes no PARTITION BY (SESSION does)"),
                    None,
                ));
            }
            let keys: Vec<&SqlExpr> = match by {
                SqlExpr::Tuple(keys) => keys.iter().collect(),
                SqlExpr::Nested(key) => vec![key],
                key => vec![key],
            };
            for k in keys {
                match self.expr(k, &scope, &mut None)? {
                    (Expr::Column(c), _) => partition.push(c),
                    _ => {
                        return Err(self.err(
                            k.span(),
                            "SESSION's PARTITION BY takes columns of its table",
                            None,
                        ))
                    }
                }
            }
        }
        let with_offset = args.len() == most && name != "session";
        let lengths_end = if with_offset {
            args.len() - 1
        } else {
            args.len()
        };
        let mut lengths = Vec::new();
        for a in &args[2..lengths_end] {
            lengths.push(self.interval_constant(a, &upper, true)?);
        }
        let offset = match with_offset {
            true => self.interval_constant(args[args.len() - 1], &upper, false)?,
            false => 0,
        };
        let kind = self.window_kind(&name, &lengths, offset, span)?;
        let (relation, out) = self.window(input, &schema, time, kind, partition);
        Ok((relation, out, Some(table.to_ascii_lowercase())))
    }

    /// The window of `kind` (named `name`) with these lengths and offset.
    pub(super) fn window_kind(
        &self,
        name: &str,
        lengths: &[i64],
        offset: i64,
        span: sqlparser::tokenizer::Span,
    ) -> Result<WindowKind> {
        Ok(match (name, lengths) {
            ("tumble", &[size]) => WindowKind::Tumble { size, offset },
            ("session", &[gap]) => WindowKind::Session { gap },
            ("hop", &[slide, size]) => {
                if size % slide != 0 {
                    return Err(self.err(
                        span,
                        "HOP's size must be a whole number of slides",
                        None,
                    ));
                }
                WindowKind::Hop {
                    slide,
                    size,
                    offset,
                }
            }
            ("cumulate", &[step, size]) => {
                if size % step != 0 {
                    return Err(self.err(
                        span,
                        "CUMULATE's size must be a whole number of steps",
                        None,
                    ));
                }
                WindowKind::Cumulate { step, size, offset }
            }
            _ => return Err(Error::Internal("window arguments lost".into())),
        })
    }

    /// The `WATERMARK` column (rowtime) of `table`, if it has one.
    pub(super) fn rowtime(&self, table: &str) -> Option<String> {
        self.watermarks
            .iter()
            .find(|(t, _, _, _)| t.eq_ignore_ascii_case(table))
            .map(|(_, column, _, _)| column.clone())
    }

    /// `input` (of `schema`) in windows of `kind` by its time column `time`: the relation and
    /// its schema (the input's columns, then `window_start`, `window_end`, `window_time`).
    pub(super) fn window(
        &self,
        input: Relation,
        schema: &Schema,
        time: usize,
        kind: WindowKind,
        partition: Vec<usize>,
    ) -> (Relation, Schema) {
        let rowtimes = |t: &str| self.rowtime(t);
        let watermark =
            crate::plan::event_time::time_attribute(&input, time, &self.views, &rowtimes);
        let mut out: Vec<(String, DataType)> = schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        for c in ["window_start", "window_end", "window_time"] {
            out.push((c.to_string(), DataType::Timestamp));
        }
        let out = Schema::new(out);
        let relation = Relation::Window {
            input: Box::new(input),
            kind,
            time,
            watermark,
            partition,
            schema: out.clone(),
        };
        (relation, out)
    }

    /// `DESCRIPTOR(column)`: a TIMESTAMP column of the window function's table.
    pub(super) fn descriptor(&mut self, e: &SqlExpr, scope: &Scope, upper: &str) -> Result<usize> {
        let column = match e {
            SqlExpr::Function(f) if object_name(&f.name).eq_ignore_ascii_case("descriptor") => {
                match &f.args {
                    sql::FunctionArguments::List(list) => match list.args.as_slice() {
                        [sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(c))] => Some(c),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => None,
        };
        let Some(column) = column else {
            return Err(self.err(
                e.span(),
                format!("{upper}'s second argument is DESCRIPTOR(time column)"),
                None,
            ));
        };
        let (x, ty) = self.expr(column, scope, &mut None)?;
        match (x, ty) {
            (Expr::Column(i), DataType::Timestamp) => Ok(i),
            (_, ty) => Err(self.err(
                column.span(),
                format!("{upper} needs a TIMESTAMP column in DESCRIPTOR(...), not {ty}"),
                None,
            )),
        }
    }

    /// A window length (`positive`) or offset: a constant `INTERVAL`, in milliseconds.
    pub(super) fn interval_constant(
        &mut self,
        e: &SqlExpr,
        upper: &str,
        positive: bool,
    ) -> Result<i64> {
        let empty = Scope::of(Schema::default(), Vec::new());
        let value = match self.expr(e, &empty, &mut None) {
            Ok((Expr::Literal(data::Value::Int(ms)), DataType::Interval)) => Some(ms),
            Ok((
                Expr::Unary {
                    op: UnaryOp::Neg,
                    expr,
                },
                DataType::Interval,
            )) => match *expr {
                Expr::Literal(data::Value::Int(ms)) => Some(-ms),
                _ => None,
            },
            _ => None,
        };
        match value {
            Some(ms) if ms > 0 || !positive => Ok(ms),
            _ => Err(self.err(
                e.span(),
                format!("{upper}'s lengths are positive INTERVAL constants (its offset a constant INTERVAL)"),
                Some("e.g. INTERVAL '10' SECOND".into()),
            )),
        }
    }
}
