//! Scalar subqueries, `(SELECT ...)` used as a value, decorrelated into joins.
//!
//! Each scalar subquery in a `SELECT` list or `WHERE` term is replaced by a column of its
//! own, added to the `FROM` relation by a join, and the expression reads that column. Two
//! forms are taken, both of which give at most one value per outer row by construction:
//!
//! - An aggregate without `GROUP BY` (`(SELECT AVG(price) FROM bid)`). Uncorrelated, it is one
//!   row, joined to every outer row. Correlated by equalities with the outer row (`WHERE
//!   b.auction = a.id`), it becomes a `GROUP BY` of those inner terms, left-joined on them; an
//!   outer row without a group gets the aggregate's value over no rows (`COUNT` 0, the others
//!   NULL), computed when planned, so the classic "count bug" of decorrelation cannot happen.
//! - A plain `SELECT x FROM t WHERE t.key = outer.y ...` whose equalities cover a unique key
//!   of `t` (a view's `GROUP BY` columns), left-joined: NULL where no row matches.
//!
//! Anything else could return several rows for one outer row, which SQL makes a run-time
//! error; ddflow refuses it when planned, saying what to write instead.

use sqlparser::ast::{self as sql, Expr as SqlExpr, SetExpr, Spanned};

use super::from::{conjuncts, equality, key_pair, Scope};
use super::{contains_agg, Lowerer, Typed};
use crate::data::{Column, DataType, Schema, Value};
use crate::error::Result;
use crate::plan::ir::{AggFunc, Expr, JoinKind, Relation, UnaryOp};

/// The prefix of the columns that carry subquery values: no SQL name starts with it, so a
/// query cannot name them, and `SELECT *` leaves them out.
pub(super) const HIDDEN: &str = "$subquery";

/// Replace each scalar subquery in `e` (outside other subqueries) by the name of the column
/// that will carry its value, collecting the subqueries.
pub(super) fn take_subqueries(e: &mut SqlExpr, found: &mut Vec<(String, sql::Query)>) {
    let mut walk = |x: &mut SqlExpr| take_subqueries(x, found);
    match e {
        SqlExpr::Subquery(q) => {
            let name = format!("{HIDDEN}{}", found.len());
            found.push((name.clone(), (**q).clone()));
            *e = SqlExpr::Identifier(sql::Ident::new(name));
        }
        SqlExpr::BinaryOp { left, right, .. } => {
            walk(left);
            walk(right);
        }
        SqlExpr::UnaryOp { expr, .. }
        | SqlExpr::Nested(expr)
        | SqlExpr::Cast { expr, .. }
        | SqlExpr::IsNull(expr)
        | SqlExpr::IsNotNull(expr)
        | SqlExpr::IsTrue(expr)
        | SqlExpr::IsFalse(expr) => walk(expr),
        SqlExpr::Between {
            expr, low, high, ..
        } => {
            walk(expr);
            walk(low);
            walk(high);
        }
        SqlExpr::In {
            expr,
            target: sql::InTarget::List(list),
            ..
        } => {
            walk(expr);
            list.iter_mut().for_each(walk);
        }
        SqlExpr::Like { expr, pattern, .. } | SqlExpr::ILike { expr, pattern, .. } => {
            walk(expr);
            walk(pattern);
        }
        SqlExpr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.iter_mut().for_each(|x| walk(x));
            for c in conditions {
                walk(&mut c.condition);
                walk(&mut c.result);
            }
            else_result.iter_mut().for_each(|x| walk(x));
        }
        SqlExpr::Function(f) => {
            if let sql::FunctionArguments::List(list) = &mut f.args {
                for a in &mut list.args {
                    if let sql::FunctionArg::Unnamed(sql::FunctionArgExpr::Expr(x))
                    | sql::FunctionArg::Named {
                        arg: sql::FunctionArgExpr::Expr(x),
                        ..
                    } = a
                    {
                        walk(x);
                    }
                }
            }
        }
        _ => {}
    }
}

impl Lowerer<'_> {
    /// `outer` with one more column, `name`, holding the value of the scalar subquery
    /// `query` for each outer row (see the module documentation).
    pub(super) fn scalar_subquery(
        &mut self,
        (outer, scope): (Relation, Scope),
        name: &str,
        query: &sql::Query,
    ) -> Result<(Relation, Scope)> {
        let span = query.span();
        let width = scope.schema.len();
        let views = self.views.len();
        let (right, left_key, right_key, value) = match self.query(query) {
            Ok(r) => {
                self.one_column(&r, span)?;
                if crate::plan::keys::unique_key(&r, &self.views) != Some(Vec::new()) {
                    return Err(self.at_most_one_row(span));
                }
                (r, Vec::new(), Vec::new(), Expr::Column(width))
            }
            Err(_) => {
                // Views a failed attempt lowered (WITH inside the subquery) are not kept.
                self.views.truncate(views);
                self.correlated_value(query, &scope, span)?
            }
        };
        let ty = right.schema().columns[value_column(&value, width)].ty;
        let mut schema = scope.schema.clone();
        schema
            .columns
            .extend(right.schema().columns.iter().cloned());
        let joined = Relation::Join {
            left: Box::new(outer),
            right: Box::new(right),
            kind: JoinKind::Left,
            left_key,
            right_key,
            residual: None,
            schema,
            as_of: None,
            expire: None,
        };
        let mut exprs: Vec<Expr> = (0..width).map(Expr::Column).collect();
        exprs.push(value);
        let mut scope = scope;
        scope.push_unqualified(Column {
            name: name.to_string(),
            ty,
        });
        let relation = Relation::Project {
            input: Box::new(joined),
            exprs,
            schema: scope.schema.clone(),
        };
        Ok((relation, scope))
    }

    /// A correlated scalar subquery: its rows keyed by the inner terms of its equalities with
    /// the outer row, those keys, and the expression of the value over `outer ++ right`.
    fn correlated_value(
        &mut self,
        query: &sql::Query,
        outer: &Scope,
        span: sqlparser::tokenizer::Span,
    ) -> Result<(Relation, Vec<Expr>, Vec<Expr>, Expr)> {
        let plain = match query.body.as_ref() {
            SetExpr::Select(s)
                if query.with.is_none()
                    && s.distinct.is_none()
                    && s.having.is_none()
                    && matches!(&s.group_by, sql::GroupByExpr::Expressions(g, _) if g.is_empty())
                    && s.projection.len() == 1 =>
            {
                s
            }
            _ => {
                // Not a form ddflow decorrelates: report why it does not lower alone.
                self.query(query)?;
                return Err(self.at_most_one_row(span));
            }
        };
        let item = match &plain.projection[0] {
            sql::SelectItem::UnnamedExpr(e) | sql::SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => return Err(self.one_column_error(span)),
        };
        let (relation, inner) = self.from(plain)?;
        let width = outer.schema.len();
        let both = outer.clone().join(inner.clone());
        // Terms over the inner row filter it; equalities with the outer row key it.
        let (mut filters, mut outer_terms, mut inner_terms) = (Vec::new(), Vec::new(), Vec::new());
        for c in plain.selection.iter().flat_map(conjuncts) {
            if let Ok((x, ty)) = self.expr(c, &inner, &mut None) {
                if ty != DataType::Bool {
                    return Err(self.err(
                        c.span(),
                        format!("WHERE must be BOOLEAN, not {ty}"),
                        None,
                    ));
                }
                filters.push(x);
                continue;
            }
            let pair = equality(c).and_then(|(a, b)| {
                let a_outer = self.expr(a, outer, &mut None).ok();
                let b_outer = self.expr(b, outer, &mut None).ok();
                match (a_outer, b_outer) {
                    (Some(o), None) => Some((o, b)),
                    (None, Some(o)) => Some((o, a)),
                    _ => None,
                }
            });
            let Some((o, inner_term)) = pair else {
                self.expr(c, &both, &mut None)?;
                return Err(self.err(
                    c.span(),
                    "a correlated scalar subquery may name the outer row only in equalities (inner = outer) joined by AND",
                    Some("move the other condition to the outer query's WHERE".into()),
                ));
            };
            self.expr(inner_term, &inner, &mut None)?;
            outer_terms.push(o);
            inner_terms.push(inner_term.clone());
        }
        let filtered = match super::balanced(crate::plan::ir::BinaryOp::And, filters) {
            Some(predicate) => Relation::Filter {
                input: Box::new(relation),
                predicate,
            },
            None => relation,
        };
        let n = inner_terms.len();
        let mut items: Vec<(SqlExpr, Option<String>)> = inner_terms
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), Some(format!("k{i}"))))
            .collect();
        items.push((item.clone(), Some("value".into())));
        let (right, empty) = if contains_agg(item) {
            let r = self.aggregate(filtered, &inner, &inner_terms, &items, None)?;
            let empty = empty_value(&r, n);
            (r, Some(empty))
        } else {
            // At most one inner row per outer row: the keys must cover a unique key.
            let key = crate::plan::keys::unique_key(&filtered, &self.views);
            let mut exprs = Vec::new();
            let mut cols = Vec::new();
            for (e, alias) in &items {
                let (x, ty) = self.expr(e, &inner, &mut None)?;
                exprs.push(x);
                cols.push((alias.clone().unwrap_or_default(), ty));
            }
            let covered = key.is_some_and(|k| {
                k.iter().all(|c| {
                    exprs[..n]
                        .iter()
                        .any(|e| matches!(e, Expr::Column(x) if x == c))
                })
            });
            if !covered {
                return Err(self.at_most_one_row(span));
            }
            let r = Relation::Project {
                input: Box::new(filtered),
                exprs,
                schema: Schema::new(cols),
            };
            (r, None)
        };
        // The keys, with the types they meet in.
        let (mut left_key, mut right_key) = (Vec::new(), Vec::new());
        for (i, o) in outer_terms.iter().enumerate() {
            let r: Typed = (Expr::Column(width + i), right.schema().columns[i].ty);
            let Some((l, r)) = key_pair(o, &r, width) else {
                return Err(self.err(
                    span,
                    format!(
                        "the subquery compares {} with {}",
                        o.1,
                        right.schema().columns[i].ty
                    ),
                    Some("CAST one side to the other's type".into()),
                ));
            };
            left_key.push(l);
            right_key.push(r);
        }
        let got = Expr::Column(width + n);
        let value = match empty {
            // A matched row has non-NULL keys (NULL keys match nothing).
            Some(mut empty) if !is_null(&empty) => {
                empty.map_columns(&mut |c| c + width);
                Expr::Case {
                    branches: vec![(
                        Expr::IsNull {
                            expr: Box::new(Expr::Column(width)),
                            negated: false,
                        },
                        empty,
                    )],
                    otherwise: Box::new(got),
                }
            }
            _ => got,
        };
        Ok((right, left_key, right_key, value))
    }

    fn one_column(&self, r: &Relation, span: sqlparser::tokenizer::Span) -> Result<()> {
        if r.schema().len() == 1 {
            Ok(())
        } else {
            Err(self.one_column_error(span))
        }
    }

    fn one_column_error(&self, span: sqlparser::tokenizer::Span) -> crate::error::Error {
        self.err(
            span,
            "a scalar subquery must select exactly one column",
            None,
        )
    }

    fn at_most_one_row(&self, span: sqlparser::tokenizer::Span) -> crate::error::Error {
        self.err(
            span,
            "a scalar subquery must give at most one row per outer row",
            Some(
                "select an aggregate without GROUP BY (SELECT MAX(x) FROM ...), or match the inner table's key to the outer row (WHERE t.id = outer.id)"
                    .into(),
            ),
        )
    }
}

/// The value of the aggregate subquery `r` (keys, then its value) over no rows: its value
/// expression with each `COUNT` as 0 and every other aggregate as NULL.
fn empty_value(r: &Relation, keys: usize) -> Expr {
    let Relation::Project { input, exprs, .. } = r else {
        return Expr::Literal(Value::Null);
    };
    let aggregates = match &**input {
        Relation::Reduce { aggregates, .. } => aggregates,
        Relation::Filter { input, .. } => match &**input {
            Relation::Reduce { aggregates, .. } => aggregates,
            _ => return Expr::Literal(Value::Null),
        },
        _ => return Expr::Literal(Value::Null),
    };
    let mut e = exprs[keys].clone();
    e.replace_columns(&mut |c| {
        Some(match c.checked_sub(keys).and_then(|j| aggregates.get(j)) {
            Some(a) if a.func == AggFunc::Count => Expr::Literal(Value::Int(0)),
            _ => Expr::Literal(Value::Null),
        })
    });
    e
}

fn is_null(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Value::Null))
        || matches!(e, Expr::Cast { expr, .. } if is_null(expr))
        || matches!(e, Expr::Unary { op: UnaryOp::Neg, expr } if is_null(expr))
}

/// The column of the right side that `value` reads (its value column).
fn value_column(value: &Expr, width: usize) -> usize {
    let mut last = width;
    value.visit_columns(&mut |c| last = last.max(c));
    last - width
}
