//! Top-N and deduplication: `ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)` in a select
//! list, and the filter on it (`WHERE rownum <= N`, `= 1`) in the query that reads it, as in
//! Flink. The select item becomes a [`Relation::TopN`] without a limit; the reader's filter
//! sets the limit ([`fold_limits`]). A row number nobody filters is refused: it would rank
//! every row of every partition, and each new row would renumber those after it.

use super::*;

/// The hint every refusal of an unfiltered row number gives.
const TOP_N_FORM: &str = "filter the row number in the query that reads it, as Flink's top-N: SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rownum FROM t) WHERE rownum <= 3 (or = 1 to keep one row per key)";

impl Lowerer<'_> {
    /// A select list's `ROW_NUMBER() OVER (...)` item, if any: `input` ranked (the row number
    /// appended as its last column), and the item's position with that column's.
    pub(super) fn rank(
        &mut self,
        input: Relation,
        scope: &Scope,
        items: &[(SqlExpr, Option<String>)],
        aggregating: bool,
    ) -> Result<(Relation, Option<(usize, usize)>)> {
        let ranked: Vec<usize> = (0..items.len())
            .filter(|&i| matches!(&items[i].0, SqlExpr::Function(f) if row_number_call(f)))
            .collect();
        let at = match ranked.as_slice() {
            [] => return Ok((input, None)),
            [at] => *at,
            [_, second, ..] => {
                return Err(self.err(
                    items[*second].0.span(),
                    "one ROW_NUMBER() per SELECT is supported",
                    None,
                ))
            }
        };
        let (e, alias) = &items[at];
        if aggregating {
            return Err(self.err(
                e.span(),
                "ROW_NUMBER() in an aggregating query is not supported",
                Some(
                    "aggregate in a subquery (or WITH) and rank its rows in the query over it"
                        .into(),
                ),
            ));
        }
        let SqlExpr::Function(f) = e else {
            return Err(Error::Internal("a row number item lost its call".into()));
        };
        let width = input.schema().len();
        let name = super::query::output_name(e, alias.as_deref(), at);
        let ranked = self.top_n(input, scope, f, name, e.span())?;
        Ok((ranked, Some((at, width))))
    }

    /// Rank the rows of `input` by `f`'s window: a top-N whose last column is the row number.
    fn top_n(
        &mut self,
        input: Relation,
        scope: &Scope,
        f: &sql::Function,
        name: String,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Relation> {
        let no_args = match &f.args {
            FunctionArguments::None => true,
            FunctionArguments::List(l) => l.args.is_empty(),
            FunctionArguments::Subquery(_) => false,
        };
        if !no_args {
            return Err(self.err(span, "ROW_NUMBER() takes no arguments", None));
        }
        if f.filter.is_some() {
            return Err(self.err(span, "FILTER applies to aggregates, not ROW_NUMBER()", None));
        }
        let spec = match &f.over {
            Some(sql::WindowType::WindowSpec(spec)) if spec.window_name.is_none() => spec,
            _ => return Err(self.err(
                span,
                "named windows (OVER w) are not supported",
                Some(
                    "write the window in place: ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)"
                        .into(),
                ),
            )),
        };
        if spec.window_frame.is_some() {
            return Err(self.err(
                span,
                "ROW_NUMBER() takes no window frame (ROWS/RANGE ...)",
                None,
            ));
        }
        if spec.order_by.is_empty() {
            return Err(self.err(
                span,
                "ROW_NUMBER() needs ORDER BY in its OVER clause: which rows of a partition come first",
                Some("e.g. OVER (PARTITION BY auction ORDER BY price DESC)".into()),
            ));
        }
        if spec.order_by.len() > MAX_ORDER_KEYS {
            return Err(self.err(
                span,
                format!("ROW_NUMBER() orders by at most {MAX_ORDER_KEYS} keys"),
                None,
            ));
        }
        let mut partition_key = Vec::new();
        for p in &spec.partition_by {
            if contains_agg(p) {
                return Err(self.err(p.span(), "aggregates are not allowed in PARTITION BY", None));
            }
            partition_key.push(self.expr(p, scope, &mut None)?.0);
        }
        let mut order = Vec::new();
        for o in &spec.order_by {
            if contains_agg(&o.expr) {
                return Err(self.err(
                    o.expr.span(),
                    "aggregates are not allowed in ORDER BY here",
                    None,
                ));
            }
            let descending = match &o.options.sort {
                None | Some(sql::OrderBySort::Asc) => false,
                Some(sql::OrderBySort::Desc) => true,
                Some(sql::OrderBySort::Using(_)) => {
                    return Err(self.err(
                        o.expr.span(),
                        "ORDER BY ... USING is not supported",
                        None,
                    ))
                }
            };
            let (expr, ty) = self.expr(&o.expr, scope, &mut None)?;
            if matches!(ty, DataType::Array(_)) {
                return Err(self.err(o.expr.span(), format!("{ty} values have no order"), None));
            }
            order.push(OrderKey {
                expr,
                descending,
                nulls_first: o.options.nulls_first.unwrap_or(!descending),
            });
        }
        let mut cols: Vec<(String, DataType)> = input
            .schema()
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        cols.push((name, DataType::Int));
        Ok(Relation::TopN {
            input: Box::new(input),
            partition_key,
            order,
            limit: None,
            schema: Schema::new(cols),
            strategy: TopNStrategy::InsertOnly,
            expire: None,
        })
    }

    /// A statement's relation may not hold a row number nobody filters; a view's may at its
    /// top (its readers filter it). The error points at the statement's first `ROW_NUMBER`.
    pub(super) fn check_row_numbers(
        &self,
        relation: &Relation,
        view: bool,
        statement: &(impl sql::Visit + Spanned),
    ) -> Result<()> {
        let bad = if view {
            !open_top(relation, &self.views)
        } else {
            unresolved(relation, &self.views)
        };
        if !bad {
            return Ok(());
        }
        let mut span = statement.span();
        let _ = sql::visit_expressions(statement, |e| {
            if let SqlExpr::Function(f) = e {
                if row_number_call(f) {
                    span = e.span();
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        });
        Err(self.err(
            span,
            "ROW_NUMBER() needs a filter on it (rownum <= N, or = 1) in the query that reads it",
            Some(TOP_N_FORM.into()),
        ))
    }
}

/// How many `ORDER BY` keys a top-N takes (their directions are bits of one word).
pub const MAX_ORDER_KEYS: usize = 64;

/// Whether `f` is `ROW_NUMBER() OVER (...)`.
pub(super) fn row_number_call(f: &sql::Function) -> bool {
    f.over.is_some() && object_name(&f.name).eq_ignore_ascii_case("row_number")
}

/// Set the limits of the top-Ns whose row numbers the filters at the top of `relation` bound
/// (`rownum <= N`, `rownum < N`, `rownum = N`, also written the other way round). The filters
/// stay: they still pick the rows (`rownum = 3` keeps the third). A view read this way is
/// inlined, so each reader gets its own limit.
pub(super) fn fold_limits(relation: &mut Relation, views: &[View]) {
    let mut at = relation;
    while let Relation::Filter { input, predicate } = at {
        let mut bounds = Vec::new();
        bounds_in(predicate, &mut bounds);
        for (column, n) in bounds {
            cap(input, column, n, views);
        }
        at = input;
    }
}

/// The `(column, largest row number kept)` of each conjunct of `e` that bounds a column.
fn bounds_in(e: &Expr, out: &mut Vec<(usize, i64)>) {
    let Expr::Binary { op, left, right } = e else {
        return;
    };
    if *op == BinaryOp::And {
        bounds_in(left, out);
        bounds_in(right, out);
        return;
    }
    let bound = match (&**left, &**right) {
        (Expr::Column(c), Expr::Literal(data::Value::Int(n))) => match op {
            BinaryOp::LtEq | BinaryOp::Eq => Some((*c, *n)),
            BinaryOp::Lt => Some((*c, n.saturating_sub(1))),
            _ => None,
        },
        (Expr::Literal(data::Value::Int(n)), Expr::Column(c)) => match op {
            BinaryOp::GtEq | BinaryOp::Eq => Some((*c, *n)),
            BinaryOp::Gt => Some((*c, n.saturating_sub(1))),
            _ => None,
        },
        _ => None,
    };
    out.extend(bound);
}

/// Limit the top-N whose row number column `column` of `r` is to `n` rows; whether one was.
fn cap(r: &mut Relation, column: usize, n: i64, views: &[View]) -> bool {
    match r {
        Relation::Filter { input, .. } => cap(input, column, n, views),
        Relation::Project { input, exprs, .. } => match exprs[column] {
            Expr::Column(c) => cap(input, c, n, views),
            _ => false,
        },
        Relation::TopN { limit, schema, .. } if column + 1 == schema.len() => {
            let n = n.max(0) as u64;
            *limit = Some(limit.map_or(n, |l| l.min(n)));
            true
        }
        Relation::Get { name, .. } => {
            let Some(view) = views.iter().find(|v| v.name.eq_ignore_ascii_case(name)) else {
                return false;
            };
            if !unresolved(&view.relation, views) {
                return false;
            }
            let mut inlined = view.relation.clone();
            let capped = cap(&mut inlined, column, n, views);
            if capped {
                *r = inlined;
            }
            capped
        }
        _ => false,
    }
}

/// Whether `r` holds (or reads a view that holds) a top-N without a limit.
pub(super) fn unresolved(r: &Relation, views: &[View]) -> bool {
    match r {
        Relation::TopN { limit: None, .. } => true,
        Relation::Get { name, .. } => views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .is_some_and(|v| unresolved(&v.relation, views)),
        // The body reads the recursion itself: not looked through again.
        Relation::Recursive { name, body, .. } => unresolved(body, &views_except(views, name)),
        other => other.inputs().into_iter().any(|i| unresolved(i, views)),
    }
}

/// Whether every top-N without a limit in `r` is at its top (under filters and projections),
/// where a reader's filter can bound it.
fn open_top(r: &Relation, views: &[View]) -> bool {
    match r {
        Relation::Filter { input, .. } | Relation::Project { input, .. } => open_top(input, views),
        Relation::TopN {
            limit: None, input, ..
        } => !unresolved(input, views),
        Relation::Get { name, .. } => {
            match views.iter().find(|v| v.name.eq_ignore_ascii_case(name)) {
                Some(v) => open_top(&v.relation, views),
                None => true,
            }
        }
        other => !unresolved(other, views),
    }
}
