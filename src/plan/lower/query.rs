//! Queries: `WITH`, set operations, `SELECT` lists, `GROUP BY` and aggregates.

use super::from::conjuncts;
use super::scalar_subquery::{take_subqueries, HIDDEN};
use super::*;

impl Lowerer<'_> {
    pub(super) fn query(&mut self, q: &sql::Query) -> Result<Relation> {
        if q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
            return Err(self.err(
                q.span(),
                "ORDER BY, LIMIT and FETCH are not supported yet",
                None,
            ));
        }
        let scoped = self.ctes.len();
        let result = self.with_query(q);
        self.ctes.truncate(scoped);
        result
    }

    /// A query's `WITH` names, then its body, which they are in scope for.
    pub(super) fn with_query(&mut self, q: &sql::Query) -> Result<Relation> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                if with.recursive && Self::reads_itself(cte) {
                    self.recursive_cte(cte)?;
                    continue;
                }
                if !cte.alias.columns.is_empty() {
                    return Err(self.err(
                        cte.alias.name.span,
                        "column lists after a WITH name are not supported",
                        Some("name the columns with AS inside its query".into()),
                    ));
                }
                let relation = self.query(&cte.query)?;
                // A view of its own, under a name no statement can write; the name the query
                // uses resolves to it until the end of this query.
                let name = cte.alias.name.value.clone();
                let internal = format!("{name}#{}", self.views.len());
                self.views.push(View {
                    name: internal.clone(),
                    relation,
                });
                self.ctes.push((name, internal));
            }
        }
        self.set_expr(&q.body)
    }

    /// A query body: a SELECT, a parenthesized query, or a UNION of them.
    pub(super) fn set_expr(&mut self, body: &SetExpr) -> Result<Relation> {
        match body {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(inner) => self.query(inner),
            SetExpr::SetOperation {
                op: sql::SetOperator::Union,
                set_quantifier,
                left,
                right,
            } => {
                let left = self.set_expr(left)?;
                let right = self.set_expr(right)?;
                let union = self.union(left, right, body.span())?;
                match set_quantifier {
                    sql::SetQuantifier::All => Ok(union),
                    sql::SetQuantifier::Distinct | sql::SetQuantifier::None => Ok(distinct(union)),
                    other => Err(self.err(
                        body.span(),
                        format!("UNION {other} is not supported"),
                        Some("write UNION or UNION ALL".into()),
                    )),
                }
            }
            SetExpr::SetOperation {
                op: op @ (sql::SetOperator::Intersect | sql::SetOperator::Except),
                set_quantifier,
                left,
                right,
            } => {
                if !matches!(
                    set_quantifier,
                    sql::SetQuantifier::Distinct | sql::SetQuantifier::None
                ) {
                    return Err(self.err(
                        body.span(),
                        format!("{op} {set_quantifier} is not supported"),
                        Some(format!("write {op} (the distinct rows)")),
                    ));
                }
                let left = self.set_expr(left)?;
                let right = self.set_expr(right)?;
                let except = matches!(op, sql::SetOperator::Except);
                self.intersect_or_except(left, right, except, body.span())
            }
            other => Err(self.err(other.span(), format!("{other} is not supported yet"), None)),
        }
    }

    /// `left INTERSECT right` (or `EXCEPT`): the distinct rows on both sides (on the left
    /// only). Rows compare as `GROUP BY` compares them, so NULLs are equal, as SQL's set
    /// operations want: each side's distinct rows are tagged with their side, and a
    /// `GROUP BY` of every column counts the sides a row is on.
    fn intersect_or_except(
        &mut self,
        left: Relation,
        right: Relation,
        except: bool,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Relation> {
        let tag = |r: Relation, side: (i64, i64)| -> Relation {
            let width = r.schema().len();
            let mut exprs: Vec<Expr> = (0..width).map(Expr::Column).collect();
            exprs.push(Expr::Literal(data::Value::Int(side.0)));
            exprs.push(Expr::Literal(data::Value::Int(side.1)));
            let mut cols: Vec<(String, DataType)> = r
                .schema()
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.ty))
                .collect();
            cols.push(("$left".into(), DataType::Int));
            cols.push(("$right".into(), DataType::Int));
            Relation::Project {
                input: Box::new(distinct(r)),
                exprs,
                schema: Schema::new(cols),
            }
        };
        let both = self.union(tag(left, (1, 0)), tag(right, (0, 1)), span)?;
        let width = both.schema().len() - 2;
        let schema = Schema::new(
            both.schema().columns[..width]
                .iter()
                .map(|c| (c.name.clone(), c.ty))
                .chain([
                    ("$left".into(), DataType::Int),
                    ("$right".into(), DataType::Int),
                ]),
        );
        let sum = |c: usize| AggregateExpr {
            func: AggFunc::Sum,
            arg: Some(Expr::Column(c)),
            arg_type: DataType::Int,
            distinct: false,
            strategy: AggStrategy::Accumulable,
        };
        let counted = Relation::Reduce {
            input: Box::new(both),
            group_key: (0..width).map(Expr::Column).collect(),
            aggregates: vec![sum(width), sum(width + 1)],
            schema: schema.clone(),
            expire: None,
        };
        let on_right = Expr::Binary {
            op: if except { BinaryOp::Eq } else { BinaryOp::Gt },
            left: Box::new(Expr::Column(width + 1)),
            right: Box::new(Expr::Literal(data::Value::Int(0))),
        };
        let predicate = Expr::Binary {
            op: BinaryOp::And,
            left: Box::new(Expr::Binary {
                op: BinaryOp::Gt,
                left: Box::new(Expr::Column(width)),
                right: Box::new(Expr::Literal(data::Value::Int(0))),
            }),
            right: Box::new(on_right),
        };
        Ok(Relation::Project {
            input: Box::new(Relation::Filter {
                input: Box::new(counted),
                predicate,
            }),
            exprs: (0..width).map(Expr::Column).collect(),
            schema: Schema::new(
                schema.columns[..width]
                    .iter()
                    .map(|c| (c.name.clone(), c.ty)),
            ),
        })
    }

    /// `left UNION ALL right`: equal column counts; an INTEGER column meets a DOUBLE one as
    /// DOUBLE; other types must be equal.
    pub(super) fn union(
        &mut self,
        left: Relation,
        right: Relation,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Relation> {
        let (ls, rs) = (left.schema().clone(), right.schema().clone());
        if ls.len() != rs.len() {
            return Err(self.err(
                span,
                format!(
                    "the two sides of a UNION have {} and {} columns",
                    ls.len(),
                    rs.len()
                ),
                None,
            ));
        }
        let mut types = Vec::new();
        for (i, (l, r)) in ls.columns.iter().zip(&rs.columns).enumerate() {
            types.push(match (l.ty, r.ty) {
                (a, b) if a == b => a,
                (a, b) if a.is_numeric() && b.is_numeric() => {
                    super::scalar::common_type(a, b).unwrap_or(DataType::Float)
                }
                (a, b) => {
                    return Err(self.err(
                        span,
                        format!(
                            "UNION column {} (\"{}\") is {a} on one side and {b} on the other",
                            i + 1,
                            l.name
                        ),
                        Some("CAST one side to the other's type".into()),
                    ))
                }
            });
        }
        let schema = Schema::new(
            ls.columns
                .iter()
                .zip(&types)
                .map(|(c, t)| (c.name.clone(), *t)),
        );
        let widen = |r: Relation| with_types(r, &types);
        let mut inputs = Vec::new();
        for side in [widen(left), widen(right)] {
            match side {
                Relation::Union { inputs: inner, .. } => inputs.extend(inner),
                other => inputs.push(other),
            }
        }
        Ok(Relation::Union { inputs, schema })
    }

    pub(super) fn select(&mut self, s: &sql::Select) -> Result<Relation> {
        match &s.distinct {
            None | Some(sql::Distinct::All) => {}
            Some(sql::Distinct::Distinct) => {
                let mut plain = s.clone();
                plain.distinct = None;
                return Ok(distinct(self.select(&plain)?));
            }
            Some(sql::Distinct::On(_)) => {
                return Err(self.err(
                    s.span(),
                    "SELECT DISTINCT ON is not supported",
                    Some("use GROUP BY".into()),
                ))
            }
        }
        let (mut relation, mut scope) = self.from(s)?;
        // Scalar subqueries become joined columns: WHERE terms without one filter first.
        let (mut early, mut late, mut found) = (Vec::new(), Vec::new(), Vec::new());
        for c in s.selection.iter().flat_map(conjuncts) {
            let mut term = c.clone();
            let before = found.len();
            take_subqueries(&mut term, &mut found);
            if found.len() == before {
                early.push(term);
            } else {
                late.push(term);
            }
        }
        if let Some(w) = and_all(early) {
            relation = self.where_clause(relation, &scope, &w)?;
        }
        let mut projection = s.projection.clone();
        let in_where = found.len();
        for item in &mut projection {
            if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item {
                take_subqueries(e, &mut found);
            }
        }
        for (name, q) in &found {
            (relation, scope) = self.scalar_subquery((relation, scope), name, q)?;
        }
        if let Some(w) = and_all(late) {
            relation = self.where_clause(relation, &scope, &w)?;
        }
        let group_by = match &s.group_by {
            GroupByExpr::Expressions(e, _) => e.clone(),
            GroupByExpr::All(_) => {
                return Err(self.err(s.span(), "GROUP BY ALL is not supported", None))
            }
        };
        // Flink's legacy `GROUP BY TUMBLE(ts, ...)`: the window table function over FROM.
        let grouped = self.group_window(super::group_window::Grouped {
            relation,
            scope,
            group_by,
            projection,
            having: s.having.clone(),
        })?;
        let super::group_window::Grouped {
            mut relation,
            scope,
            group_by,
            projection,
            having,
        } = grouped;
        let items = self.select_items(&projection, &scope)?;
        if found.len() > in_where
            && (!group_by.is_empty() || items.iter().any(|(e, _)| contains_agg(e)))
        {
            return Err(self.err(
                found[in_where].1.span(),
                "a scalar subquery in the SELECT list of an aggregating query is not supported",
                Some(
                    "compute the aggregate in a view (or WITH) and select the subquery over it"
                        .into(),
                ),
            ));
        }
        let has_agg =
            items.iter().any(|(e, _)| contains_agg(e)) || having.as_ref().is_some_and(contains_agg);
        super::top_n::fold_limits(&mut relation, &self.views);
        let aggregating = !group_by.is_empty() || has_agg;
        let (relation, row_number) = self.rank(relation, &scope, &items, aggregating)?;
        let (relation, over) = self.over_items(relation, &scope, &items, aggregating)?;
        if group_by.is_empty() && !has_agg {
            if let Some(h) = &having {
                return Err(self.err(h.span(), "HAVING needs GROUP BY or an aggregate", None));
            }
            let mut exprs = Vec::new();
            let mut cols = Vec::new();
            for (i, (e, alias)) in items.iter().enumerate() {
                let computed = (row_number.iter().chain(&over)).find(|(at, _)| *at == i);
                let (x, ty) = match computed {
                    Some(&(_, column)) => {
                        (Expr::Column(column), relation.schema().columns[column].ty)
                    }
                    _ => match self.proctime(e) {
                        Some(x) => x,
                        None => self.expr(e, &scope, &mut None)?,
                    },
                };
                exprs.push(x);
                cols.push((output_name(e, alias.as_deref(), i), ty));
            }
            return Ok(Relation::Project {
                input: Box::new(relation),
                exprs,
                schema: Schema::new(unique_names(cols)),
            });
        }
        self.aggregate(relation, &scope, &group_by, &items, having.as_ref())
    }

    pub(super) fn select_items(
        &self,
        projection: &[SelectItem],
        scope: &Scope,
    ) -> Result<Vec<(SqlExpr, Option<String>)>> {
        let mut items = Vec::new();
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(e) => items.push((e.clone(), None)),
                SelectItem::ExprWithAlias { expr, alias } => {
                    items.push((expr.clone(), Some(alias.value.clone())))
                }
                SelectItem::ExprWithAliases { expr, .. } => {
                    return Err(self.err(expr.span(), "multiple aliases are not supported", None))
                }
                SelectItem::Wildcard(_) => {
                    items.extend(
                        (0..scope.schema.len())
                            .filter(|&i| !scope.shadowed[i])
                            .filter(|&i| !scope.schema.columns[i].name.starts_with(HIDDEN))
                            .map(|i| (scope.reference(i), None)),
                    );
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let q = match kind {
                        sql::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n),
                        sql::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    if !scope.knows(&q) {
                        return Err(self.err(
                            item.span(),
                            format!("unknown table or alias \"{q}\""),
                            None,
                        ));
                    }
                    let lq = q.to_ascii_lowercase();
                    items.extend(
                        (0..scope.schema.len())
                            .filter(|&i| scope.qualifiers[i].contains(&lq))
                            .map(|i| (scope.reference(i), None)),
                    );
                }
            }
        }
        Ok(items)
    }

    pub(super) fn aggregate(
        &mut self,
        input: Relation,
        scope: &Scope,
        group_by: &[SqlExpr],
        items: &[(SqlExpr, Option<String>)],
        having: Option<&SqlExpr>,
    ) -> Result<Relation> {
        let mut cx = AggCx {
            keys: Vec::new(),
            aggs: Vec::new(),
        };
        let mut key_names = Vec::new();
        for g in group_by {
            // GROUP BY 2, or GROUP BY an output alias.
            let resolved = match g {
                SqlExpr::Value(v) => match &v.value {
                    Value::Number(n, _) => {
                        let i: usize = n.parse().unwrap_or(0);
                        items
                            .get(i.wrapping_sub(1))
                            .map(|(e, _)| e.clone())
                            .ok_or_else(|| {
                                self.err(
                                    g.span(),
                                    format!("GROUP BY position {n} is out of range"),
                                    None,
                                )
                            })?
                    }
                    _ => g.clone(),
                },
                SqlExpr::Identifier(id) if scope.schema.index_of(&id.value).is_none() => items
                    .iter()
                    .find(|(_, a)| {
                        a.as_deref()
                            .is_some_and(|a| a.eq_ignore_ascii_case(&id.value))
                    })
                    .map_or(g.clone(), |(e, _)| e.clone()),
                _ => g.clone(),
            };
            if contains_agg(&resolved) {
                return Err(self.err(g.span(), "aggregates are not allowed in GROUP BY", None));
            }
            let typed = self.expr(&resolved, scope, &mut None)?;
            let name = items
                .iter()
                .find(|(e, _)| *e == resolved)
                .and_then(|(e, a)| a.clone().or_else(|| plain_name(e)))
                .unwrap_or_else(|| {
                    plain_name(&resolved).unwrap_or_else(|| format!("key{}", cx.keys.len()))
                });
            key_names.push(name);
            cx.keys.push(typed);
        }
        let mut cx = Some(cx);
        let mut outputs = Vec::new();
        for (i, (e, alias)) in items.iter().enumerate() {
            let (x, ty) = self.expr(e, scope, &mut cx)?;
            outputs.push((x, output_name(e, alias.as_deref(), i), ty));
        }
        let having = match having {
            Some(h) => {
                let (x, ty) = self.expr(h, scope, &mut cx)?;
                if ty != DataType::Bool {
                    return Err(self.err(
                        h.span(),
                        format!("HAVING must be BOOLEAN, not {ty}"),
                        None,
                    ));
                }
                Some(x)
            }
            None => None,
        };
        let cx = cx.ok_or_else(|| Error::Internal("aggregation context lost".into()))?;
        let mut cols: Vec<(String, DataType)> = key_names
            .into_iter()
            .zip(cx.keys.iter().map(|(_, t)| *t))
            .collect();
        cols.extend(cx.aggs.iter().map(|(_, t, n)| (n.clone(), *t)));
        let reduce = Relation::Reduce {
            input: Box::new(input),
            group_key: cx.keys.into_iter().map(|(e, _)| e).collect(),
            aggregates: cx.aggs.into_iter().map(|(a, _, _)| a).collect(),
            schema: Schema::new(cols),
            expire: None,
        };
        let filtered = match having {
            Some(predicate) => Relation::Filter {
                input: Box::new(reduce),
                predicate,
            },
            None => reduce,
        };
        let schema = Schema::new(unique_names(
            outputs.iter().map(|(_, n, t)| (n.clone(), *t)).collect(),
        ));
        Ok(Relation::Project {
            input: Box::new(filtered),
            exprs: outputs.into_iter().map(|(e, _, _)| e).collect(),
            schema,
        })
    }
}

/// `r` with its columns cast to `types`, keeping their names (`r` itself when none differs).
pub(super) fn with_types(r: Relation, types: &[DataType]) -> Relation {
    let from = r.schema().clone();
    if from.columns.iter().zip(types).all(|(c, t)| c.ty == *t) {
        return r;
    }
    let exprs = (from.columns.iter().zip(types).enumerate())
        .map(|(i, (c, t))| scalar::coerce(Expr::Column(i), c.ty, *t))
        .collect();
    let schema = Schema::new(
        from.columns
            .iter()
            .zip(types)
            .map(|(c, t)| (c.name.clone(), *t)),
    );
    Relation::Project {
        input: Box::new(r),
        exprs,
        schema,
    }
}

/// The distinct rows of `r`: a `GROUP BY` of every column, with no aggregates.
/// `terms` joined by `AND`; `None` when there are none.
fn and_all(terms: Vec<SqlExpr>) -> Option<SqlExpr> {
    terms.into_iter().reduce(|a, b| SqlExpr::BinaryOp {
        left: Box::new(a),
        op: sql::BinaryOperator::And,
        right: Box::new(b),
    })
}

pub(super) fn distinct(r: Relation) -> Relation {
    let schema = r.schema().clone();
    Relation::Reduce {
        group_key: (0..schema.len()).map(Expr::Column).collect(),
        aggregates: Vec::new(),
        input: Box::new(r),
        schema,
        expire: None,
    }
}

/// Output column names made unique as Flink does: a repeated name gets the smallest number
/// suffix that is free (`id`, `id0`, `id1`), so a view over a join can name each column.
pub(super) fn unique_names(cols: Vec<(String, DataType)>) -> Vec<(String, DataType)> {
    let mut taken: Vec<String> = Vec::with_capacity(cols.len());
    cols.into_iter()
        .map(|(name, ty)| {
            let mut unique = name.clone();
            let mut n = 0;
            while taken.iter().any(|t| t.eq_ignore_ascii_case(&unique)) {
                unique = format!("{name}{n}");
                n += 1;
            }
            taken.push(unique.clone());
            (unique, ty)
        })
        .collect()
}

pub(super) fn output_name(e: &SqlExpr, alias: Option<&str>, i: usize) -> String {
    alias
        .map(String::from)
        .or_else(|| plain_name(e))
        .unwrap_or_else(|| format!("expr{}", i + 1))
}

pub(super) fn plain_name(e: &SqlExpr) -> Option<String> {
    match e {
        SqlExpr::Identifier(id) => Some(id.value.clone()),
        SqlExpr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
        SqlExpr::Function(f) => Some(object_name(&f.name).to_ascii_lowercase()),
        SqlExpr::Nested(x) => plain_name(x),
        SqlExpr::Cast { expr, .. } => plain_name(expr),
        _ => None,
    }
}

/// The first column reference in `e`, if any.
pub(super) fn first_column(e: &SqlExpr) -> Option<String> {
    let mut found = None;
    let _ = sql::visit_expressions(e, |x| {
        if found.is_none() {
            match x {
                SqlExpr::Identifier(id) => found = Some(id.value.clone()),
                SqlExpr::CompoundIdentifier(p) => found = p.last().map(|i| i.value.clone()),
                _ => {}
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}
