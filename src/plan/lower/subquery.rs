//! Subqueries in `WHERE`: `EXISTS`, `IN (SELECT ...)` and their negations, decorrelated into
//! semi- and anti-joins.
//!
//! A subquery that lowers on its own is uncorrelated: it is the join's right side as it
//! stands. Otherwise it must be a plain `SELECT ... FROM ... WHERE ...` (no grouping): each of
//! its `WHERE` terms that names only its own columns filters its rows, and each one that also
//! names the outer query's columns becomes part of the join condition (an equality across the
//! two a key, anything else the residual). `x IN (SELECT y ...)` adds the key `x = y`.
//!
//! `NOT EXISTS` is an anti-join. `x NOT IN (SELECT y ...)` is one too, with SQL's NULL rules
//! on top: it is true only when the subquery is empty, or when `x` is not NULL, equals no `y`,
//! and no `y` is NULL; those counts come from a global `COUNT(*)`, `COUNT(y)` over the
//! subquery, joined to every row.

use sqlparser::ast::{self as sql, Expr as SqlExpr, SetExpr, Spanned, UnaryOperator};

use super::from::{conjuncts, equality, key_pair, Scope};
use super::{contains_agg, Lowerer, Typed};
use crate::data::Value;
use crate::data::{DataType, Schema};
use crate::error::Result;
use crate::plan::ir::{
    AggFunc, AggStrategy, AggregateExpr, BinaryOp, Expr, JoinKind, Relation, UnaryOp,
};

/// A subquery condition: the subquery, the tested expression of `IN`, and whether negated.
type Condition<'e> = (&'e sql::Query, Option<&'e SqlExpr>, bool);

/// A subquery as the right side of a semi-join.
struct Inner {
    /// Its rows.
    right: Relation,
    /// The join condition with the outer query: keys, and a residual over `outer ++ right`.
    left_key: Vec<Expr>,
    right_key: Vec<Expr>,
    residual: Option<Expr>,
    /// Where its select list starts in `right`, and how many columns it has.
    select: (usize, usize),
}

/// `c` as a subquery condition, looking through `NOT` and parentheses.
pub(super) fn subquery_condition(c: &SqlExpr) -> Option<Condition<'_>> {
    match c {
        SqlExpr::Exists { subquery, negated } => Some((subquery, None, *negated)),
        SqlExpr::In {
            expr,
            target: sql::InTarget::Subquery(subquery),
            negated,
            ..
        } => Some((subquery, Some(expr), *negated)),
        SqlExpr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => subquery_condition(expr).map(|(q, x, negated)| (q, x, !negated)),
        SqlExpr::Nested(inner) => subquery_condition(inner),
        _ => None,
    }
}

impl Lowerer<'_> {
    /// The rows of `outer` (named by `scope`) for which the subquery condition holds.
    pub(super) fn semi_join(
        &mut self,
        outer: Relation,
        scope: &Scope,
        (query, test, negated): Condition<'_>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Relation> {
        let width = scope.schema.len();
        let views = self.views.len();
        let (inner, correlated) = match self.query(query) {
            Ok(right) => {
                let select = (0, right.schema().len());
                let inner = Inner {
                    right,
                    left_key: Vec::new(),
                    right_key: Vec::new(),
                    residual: None,
                    select,
                };
                (inner, false)
            }
            Err(_) => {
                // Views a failed attempt lowered (WITH inside the subquery) are not kept.
                self.views.truncate(views);
                (self.correlated(query, scope, test.is_some(), span)?, true)
            }
        };
        let Inner {
            right,
            mut left_key,
            mut right_key,
            residual,
            select,
        } = inner;
        if let Some(x) = test {
            if select.1 != 1 {
                return Err(self.err(
                    query.span(),
                    format!(
                        "IN (SELECT ...) needs a subquery of one column, not {}",
                        select.1
                    ),
                    None,
                ));
            }
            let x = self.expr(x, scope, &mut None)?;
            let y = (
                Expr::Column(width + select.0),
                right.schema().columns[select.0].ty,
            );
            let Some((l, r)) = key_pair(&x, &y, width) else {
                return Err(self.err(
                    span,
                    format!("IN compares {} with a subquery of {}", x.1, y.1),
                    Some("CAST one side to the other's type".into()),
                ));
            };
            left_key.push(l);
            right_key.push(r);
        }
        let kind = if negated {
            JoinKind::Anti
        } else {
            JoinKind::Semi
        };
        let null_aware = negated && test.is_some();
        if null_aware && correlated {
            return Err(self.err(
                span,
                "NOT IN with a correlated subquery is not supported",
                Some(
                    "write NOT EXISTS (... AND inner = outer), which treats NULLs differently"
                        .into(),
                ),
            ));
        }
        let stats = null_aware.then(|| counts(&right, select.0));
        let joined = Relation::Join {
            left: Box::new(outer),
            right: Box::new(right),
            kind,
            left_key: left_key.clone(),
            right_key,
            residual,
            schema: scope.schema.clone(),
            as_of: None,
            expire: None,
        };
        let Some(stats) = stats else {
            return Ok(joined);
        };
        // NOT IN: keep a row when the subquery is empty, or when x is not NULL and no y is.
        let mut schema = scope.schema.clone();
        schema
            .columns
            .extend(stats.schema().columns.iter().cloned());
        let with_counts = Relation::Join {
            left: Box::new(joined),
            right: Box::new(stats),
            kind: JoinKind::Inner,
            left_key: Vec::new(),
            right_key: Vec::new(),
            residual: None,
            schema,
            as_of: None,
            expire: None,
        };
        let (n, non_null) = (Expr::Column(width), Expr::Column(width + 1));
        let eq = |a: Expr, b: Expr| Expr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(a),
            right: Box::new(b),
        };
        let x = left_key.pop().unwrap_or(Expr::Literal(Value::Null));
        let x_not_null = Expr::Unary {
            op: UnaryOp::Not,
            expr: Box::new(Expr::IsNull {
                expr: Box::new(x),
                negated: false,
            }),
        };
        let predicate = Expr::Binary {
            op: BinaryOp::Or,
            left: Box::new(eq(n.clone(), Expr::Literal(Value::Int(0)))),
            right: Box::new(Expr::Binary {
                op: BinaryOp::And,
                left: Box::new(x_not_null),
                right: Box::new(eq(non_null, n)),
            }),
        };
        Ok(Relation::Project {
            input: Box::new(Relation::Filter {
                input: Box::new(with_counts),
                predicate,
            }),
            exprs: (0..width).map(Expr::Column).collect(),
            schema: scope.schema.clone(),
        })
    }

    /// A correlated subquery: its rows (filtered by its own terms) and the join condition its
    /// other terms make with the outer query (keys, residual over `outer ++ inner`). With
    /// `select`, its select list (what `IN` compares with) follows its columns.
    fn correlated(
        &mut self,
        query: &sql::Query,
        outer: &Scope,
        select: bool,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Inner> {
        let plain = match query.body.as_ref() {
            SetExpr::Select(s)
                if query.with.is_none()
                    && s.distinct.is_none()
                    && s.having.is_none()
                    && matches!(&s.group_by, sql::GroupByExpr::Expressions(g, _) if g.is_empty())
                    && !s.projection.iter().any(|i| match i {
                        sql::SelectItem::UnnamedExpr(e)
                        | sql::SelectItem::ExprWithAlias { expr: e, .. } => contains_agg(e),
                        _ => false,
                    }) =>
            {
                s
            }
            _ => {
                // Not a form ddflow decorrelates: report why the subquery does not lower alone.
                self.query(query)?;
                return Err(self.err(span, "this subquery is not supported", None));
            }
        };
        let (relation, inner) = self.from(plain)?;
        let width = outer.schema.len();
        let both = outer.clone().join(inner.clone());
        let (mut filters, mut left_key, mut right_key, mut residual) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
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
            if let Some((a, b)) = equality(c) {
                let a: Typed = self.expr(a, &both, &mut None)?;
                let b: Typed = self.expr(b, &both, &mut None)?;
                if let Some((l, r)) = key_pair(&a, &b, width) {
                    left_key.push(l);
                    right_key.push(r);
                    continue;
                }
            }
            let (x, ty) = self.expr(c, &both, &mut None)?;
            if ty != DataType::Bool {
                return Err(self.err(c.span(), format!("WHERE must be BOOLEAN, not {ty}"), None));
            }
            residual.push(x);
        }
        let filtered = match super::balanced(BinaryOp::And, filters) {
            Some(predicate) => Relation::Filter {
                input: Box::new(relation),
                predicate,
            },
            None => relation,
        };
        // The subquery's select list: what IN compares with (EXISTS ignores it, but it must
        // still be valid SQL).
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for (i, item) in plain.projection.iter().enumerate() {
            match item {
                sql::SelectItem::UnnamedExpr(e)
                | sql::SelectItem::ExprWithAlias { expr: e, .. } => {
                    let (x, ty) = self.expr(e, &inner, &mut None)?;
                    exprs.push(x);
                    cols.push((format!("c{i}"), ty));
                }
                _ => {
                    exprs.extend((0..inner.schema.len()).map(Expr::Column));
                    cols.extend(inner.schema.columns.iter().map(|c| (c.name.clone(), c.ty)));
                }
            }
        }
        let residual = super::balanced(BinaryOp::And, residual);
        let inner_width = inner.schema.len();
        if !select {
            return Ok(Inner {
                right: filtered,
                left_key,
                right_key,
                residual,
                select: (inner_width, 0),
            });
        }
        // The right side is the projected rows, so the residual reads the inner row's columns
        // through the projection: keep every inner column and put the select list after them.
        let mut all: Vec<Expr> = (0..inner_width).map(Expr::Column).collect();
        all.extend(exprs);
        let mut all_cols: Vec<(String, DataType)> = inner
            .schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        all_cols.extend(cols);
        let all_cols_len = all_cols.len();
        let right = Relation::Project {
            input: Box::new(filtered),
            exprs: all,
            schema: Schema::new(all_cols),
        };
        Ok(Inner {
            right,
            left_key,
            right_key,
            residual,
            select: (inner_width, all_cols_len - inner_width),
        })
    }
}

/// `COUNT(*)`, `COUNT(y)` over a relation whose column `y` is tested: one row, even when it
/// is empty.
fn counts(right: &Relation, y: usize) -> Relation {
    let count = |arg: Option<Expr>| AggregateExpr {
        func: AggFunc::Count,
        arg,
        arg_type: DataType::Int,
        distinct: false,
        strategy: AggStrategy::Accumulable,
    };
    Relation::Reduce {
        input: Box::new(right.clone()),
        group_key: Vec::new(),
        aggregates: vec![count(None), count(Some(Expr::Column(y)))],
        schema: Schema::new([("n", DataType::Int), ("non_null", DataType::Int)]),
        expire: None,
    }
}
