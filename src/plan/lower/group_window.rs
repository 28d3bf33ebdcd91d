//! Flink's legacy group windows: `GROUP BY k, TUMBLE(ts, size)` (also `HOP(ts, slide, size)`
//! and `SESSION(ts, gap)`) with `TUMBLE_START(ts, size)`, `TUMBLE_END`, `TUMBLE_ROWTIME` in the
//! select list. Flink still runs them (Nexmark's q11 is written so); they mean the window
//! table function over the query's `FROM`, grouped by `window_start, window_end`, which is
//! what this rewrites them to: the `FROM` relation in windows (a session's partition being
//! the other `GROUP BY` columns), the call in `GROUP BY` replaced by the window columns and
//! each auxiliary function by the column it names.

use std::ops::ControlFlow;

use super::*;

/// The query parts a group window rewrites.
pub(super) struct Grouped {
    pub relation: Relation,
    pub scope: Scope,
    pub group_by: Vec<SqlExpr>,
    pub projection: Vec<SelectItem>,
    pub having: Option<SqlExpr>,
}

/// The group window functions and how many arguments each takes (the time and lengths).
const GROUP_WINDOWS: [(&str, usize); 3] = [("tumble", 2), ("hop", 3), ("session", 2)];

impl Lowerer<'_> {
    /// Rewrite a `GROUP BY` with a group window (see the module); without one, unchanged.
    pub(super) fn group_window(&mut self, mut q: Grouped) -> Result<Grouped> {
        let calls: Vec<usize> = (0..q.group_by.len())
            .filter(|&i| window_call(&q.group_by[i]).is_some())
            .collect();
        let at = match calls.as_slice() {
            [] => return Ok(q),
            [at] => *at,
            [_, second, ..] => {
                return Err(self.err(
                    q.group_by[*second].span(),
                    "one group window per GROUP BY",
                    None,
                ))
            }
        };
        let call = q.group_by[at].clone();
        let Some((name, f)) = window_call(&call) else {
            return Err(Error::Internal("a group window lost its call".into()));
        };
        let upper = name.to_uppercase();
        let args = unnamed_args(f);
        let expected = GROUP_WINDOWS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |w| w.1);
        if args.len() != expected {
            return Err(self.err(
                call.span(),
                format!(
                    "{upper}(time, ...) as a group window takes {expected} arguments, got {}",
                    args.len()
                ),
                None,
            ));
        }
        let time = match self.expr(args[0], &q.scope, &mut None)? {
            (Expr::Column(c), DataType::Timestamp) => c,
            (_, ty) => {
                return Err(self.err(
                    args[0].span(),
                    format!("{upper}'s first argument is a TIMESTAMP column, not {ty}"),
                    None,
                ))
            }
        };
        let mut lengths = Vec::new();
        for a in &args[1..] {
            lengths.push(self.interval_constant(a, &upper, true)?);
        }
        // A session is per value of the other GROUP BY columns.
        let mut partition = Vec::new();
        if name == "session" {
            for (i, g) in q.group_by.iter().enumerate().filter(|(i, _)| *i != at) {
                match self.expr(g, &q.scope, &mut None)? {
                    (Expr::Column(c), _) => partition.push(c),
                    _ => {
                        return Err(self.err(
                            q.group_by[i].span(),
                            "with a SESSION group window, the other GROUP BY terms must be columns",
                            Some(
                                "compute the expression in a subquery and group by its column"
                                    .into(),
                            ),
                        ))
                    }
                }
            }
        }
        let kind = self.window_kind(name, &lengths, 0, call.span())?;
        let (relation, _) = self.window(q.relation, &q.scope.schema, time, kind, partition);
        q.relation = relation;
        for column in WINDOW_COLUMNS {
            q.scope.push_unqualified(crate::data::Column {
                name: column.into(),
                ty: DataType::Timestamp,
            });
        }
        // `window_time` follows from `window_end`; grouping by it too lets `*_ROWTIME` name it.
        q.group_by.splice(at..=at, WINDOW_COLUMNS.map(ident));
        // The auxiliary functions name the window's columns.
        let arguments = args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let mut failure = None;
        let mut rewrite = |e: &mut SqlExpr| {
            let SqlExpr::Function(g) = &*e else {
                return ControlFlow::Continue(());
            };
            let fname = object_name(&g.name).to_ascii_lowercase();
            let Some((kind, part)) = fname.split_once('_') else {
                return ControlFlow::Continue(());
            };
            if !GROUP_WINDOWS.iter().any(|(n, _)| *n == kind) {
                return ControlFlow::Continue(());
            }
            let column = match part {
                "start" => "window_start",
                "end" => "window_end",
                "rowtime" => "window_time",
                _ => return ControlFlow::Continue(()),
            };
            let same: Vec<String> = unnamed_args(g).iter().map(|a| a.to_string()).collect();
            if kind != name || same != arguments {
                failure = Some(self.err(
                    e.span(),
                    format!(
                        "{}() does not match the GROUP BY's {call}",
                        fname.to_uppercase()
                    ),
                    Some(format!(
                        "write {upper}_{}({})",
                        part.to_uppercase(),
                        arguments.join(", ")
                    )),
                ));
                return ControlFlow::Break(());
            }
            *e = ident(column);
            ControlFlow::Continue(())
        };
        for item in &mut q.projection {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                let _ = sql::visit_expressions_mut(e, &mut rewrite);
            }
        }
        if let Some(h) = &mut q.having {
            let _ = sql::visit_expressions_mut(h, &mut rewrite);
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(q),
        }
    }
}

const WINDOW_COLUMNS: [&str; 3] = ["window_start", "window_end", "window_time"];

/// `TUMBLE(...)`, `HOP(...)` or `SESSION(...)` as a `GROUP BY` term: its name and call.
fn window_call(e: &SqlExpr) -> Option<(&'static str, &sql::Function)> {
    let SqlExpr::Function(f) = e else {
        return None;
    };
    let name = object_name(&f.name).to_ascii_lowercase();
    GROUP_WINDOWS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, _)| (*n, f))
}

fn unnamed_args(f: &sql::Function) -> Vec<&SqlExpr> {
    match &f.args {
        FunctionArguments::List(list) => list
            .args
            .iter()
            .filter_map(|a| match a {
                FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn ident(name: &str) -> SqlExpr {
    SqlExpr::Identifier(sql::Ident::new(name))
}
