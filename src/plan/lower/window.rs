//! Window table functions in `FROM`, in Flink's form:
//! `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND [, offset]))`, `HOP(..., slide,
//! size [, offset])`, `CUMULATE(..., step, size [, offset])`. (`TABLE t` reaches here as `t`:
//! the text layer blanks the keyword, see [`crate::spec::ddl`].)

use sqlparser::ast::{self as sql, Expr as SqlExpr, Spanned};

use super::*;
use crate::plan::ir::WindowKind;

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
            "session" => {
                return Err(self.err(
                    span,
                    "SESSION windows are not supported yet",
                    Some("use TUMBLE, HOP or CUMULATE".into()),
                ))
            }
            _ => {
                return Err(self.err(
                    span,
                    format!("unknown window function {}", name.to_uppercase()),
                    Some("use TUMBLE, HOP or CUMULATE".into()),
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
        let with_offset = args.len() == most;
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
        let kind = match (name.as_str(), lengths.as_slice()) {
            ("tumble", &[size]) => WindowKind::Tumble { size, offset },
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
            (_, &[step, size]) => {
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
        };
        let watermark = {
            let rowtimes = |t: &str| {
                self.watermarks
                    .iter()
                    .find(|(table, _, _, _)| table.eq_ignore_ascii_case(t))
                    .map(|(_, column, _, _)| column.clone())
            };
            crate::plan::event_time::time_attribute(&input, time, &self.views, &rowtimes)
        };
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
            schema: out.clone(),
        };
        Ok((relation, out, Some(table.to_ascii_lowercase())))
    }

    /// `DESCRIPTOR(column)`: a TIMESTAMP column of the window function's table.
    fn descriptor(&mut self, e: &SqlExpr, scope: &Scope, upper: &str) -> Result<usize> {
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
    fn interval_constant(&mut self, e: &SqlExpr, upper: &str, positive: bool) -> Result<i64> {
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
