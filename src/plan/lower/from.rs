//! `FROM` and `WHERE`: tables, views, subqueries and joins, and the names that reach them.
//!
//! A `FROM` list is a left-deep tree of [`Relation::Join`]s (`FROM a, b` is a join with no
//! key). An equality between a column expression of each side, in `ON` or in a `WHERE` over
//! inner joins, becomes a join key, so `FROM a, b WHERE a.x = b.y` is an equi-join, not a
//! cross product; every other condition stays a residual (`ON`) or a filter (`WHERE`).

use sqlparser::ast::{
    self as sql, BinaryOperator, Expr as SqlExpr, JoinConstraint, JoinOperator, Spanned,
    TableFactor,
};

use super::{balanced, object_name, Lowerer, Typed};
use crate::data::{DataType, Schema};
use crate::error::Result;
use crate::plan::ir::{Expr, JoinKind, Relation};
use crate::spec::options::closest;

/// The columns visible to an expression, with the names that qualify them.
#[derive(Clone)]
pub(super) struct Scope {
    pub(super) schema: Schema,
    /// Per column, the lowercase names that qualify it (its table's name and alias).
    pub(super) qualifiers: Vec<Vec<String>>,
    /// Per column, whether only a qualified name reaches it (the two sides' columns of a
    /// `USING` join, whose unqualified name is the merged column), and `*` leaves it out.
    pub(super) shadowed: Vec<bool>,
}

impl Scope {
    pub(super) fn of(schema: Schema, names: Vec<String>) -> Scope {
        let qualifiers = vec![names; schema.len()];
        let shadowed = vec![false; schema.len()];
        Scope {
            schema,
            qualifiers,
            shadowed,
        }
    }

    /// The columns of `self`, then those of `right`.
    pub(super) fn join(mut self, right: Scope) -> Scope {
        self.schema.columns.extend(right.schema.columns);
        self.qualifiers.extend(right.qualifiers);
        self.shadowed.extend(right.shadowed);
        self
    }

    /// Add a column that only its unqualified name reaches.
    pub(super) fn push_unqualified(&mut self, column: crate::data::Column) {
        self.schema.columns.push(column);
        self.qualifiers.push(Vec::new());
        self.shadowed.push(false);
    }

    /// The positions of the columns called `name`, qualified by `qualifier` if given.
    pub(super) fn find(&self, name: &str, qualifier: Option<&str>) -> Vec<usize> {
        let q = qualifier.map(str::to_ascii_lowercase);
        (0..self.schema.len())
            .filter(|&i| self.schema.columns[i].name.eq_ignore_ascii_case(name))
            .filter(|&i| match &q {
                Some(q) => self.qualifiers[i].contains(q),
                None => !self.shadowed[i],
            })
            .collect()
    }

    /// The positions of the fields of a `ROW` column called `name` (columns `name.*`).
    pub(super) fn find_prefix(&self, name: &str, qualifier: Option<&str>) -> Vec<usize> {
        let q = qualifier.map(str::to_ascii_lowercase);
        let prefix = format!("{}.", name.to_ascii_lowercase());
        (0..self.schema.len())
            .filter(|&i| {
                self.schema.columns[i]
                    .name
                    .to_ascii_lowercase()
                    .starts_with(&prefix)
            })
            .filter(|&i| match &q {
                Some(q) => self.qualifiers[i].contains(q),
                None => !self.shadowed[i],
            })
            .collect()
    }

    /// Whether some column is qualified by `qualifier`.
    pub(super) fn knows(&self, qualifier: &str) -> bool {
        let q = qualifier.to_ascii_lowercase();
        self.qualifiers.iter().any(|qs| qs.contains(&q))
    }

    /// The columns, each named as a qualified reference (`o.id`) where its table has a name:
    /// a join's schema, which only plans show.
    pub(super) fn qualified_schema(&self) -> Schema {
        Schema::new((0..self.schema.len()).map(|i| {
            let c = &self.schema.columns[i];
            match self.qualifiers[i].first() {
                Some(q) => (format!("{q}.{}", c.name), c.ty),
                None => (c.name.clone(), c.ty),
            }
        }))
    }

    /// A name for column `i` that resolves to it: qualified when its table has a name.
    pub(super) fn reference(&self, i: usize) -> SqlExpr {
        let name = sql::Ident::new(self.schema.columns[i].name.clone());
        match self.qualifiers[i].first() {
            Some(q) => SqlExpr::CompoundIdentifier(vec![sql::Ident::new(q.clone()), name]),
            None => SqlExpr::Identifier(name),
        }
    }
}

impl Lowerer<'_> {
    /// The `FROM` clause: one relation and the scope its columns are named in.
    pub(super) fn from(&mut self, s: &sql::Select) -> Result<(Relation, Scope)> {
        let mut acc: Option<(Relation, Scope)> = None;
        for twj in &s.from {
            let mut cur = self.table_factor(&twj.relation)?;
            self.not_versioned(&twj.relation)?;
            for j in &twj.joins {
                cur = self.join_factor(cur, j)?;
            }
            acc = Some(match acc {
                None => cur,
                Some(prev) => self.cross(prev, cur),
            });
        }
        acc.ok_or_else(|| {
            self.err(
                s.span(),
                "a SELECT must read a table, view or subquery (FROM ...)",
                None,
            )
        })
    }

    /// The relation a table or view name reads (a `WITH` name first), and its schema.
    pub(super) fn named(
        &mut self,
        n: &str,
        span: sqlparser::tokenizer::Span,
    ) -> Result<(Relation, Schema)> {
        // A WITH name hides a view or table of the same name.
        let lookup = self
            .ctes
            .iter()
            .rev()
            .find(|(cte, _)| cte.eq_ignore_ascii_case(n))
            .map_or(n.to_string(), |(_, view)| view.clone());
        let (relation, schema) = if let Some(v) = self
            .views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(&lookup))
        {
            let schema = v.relation.schema().clone();
            (
                Relation::Get {
                    name: v.name.clone(),
                    schema: schema.clone(),
                },
                schema,
            )
        } else if let Some(t) = self.tables.iter().find(|t| t.name.eq_ignore_ascii_case(n)) {
            let lname = t.name.to_ascii_lowercase();
            if !self.read.contains(&lname) {
                self.read.push(lname.clone());
            }
            let get = Relation::Get {
                name: t.name.clone(),
                schema: t.schema.clone(),
            };
            match self.computed.iter().find(|(table, _, _)| *table == lname) {
                // Computed columns: the physical ones through a projection.
                Some((_, exprs, schema)) => (
                    Relation::Project {
                        input: Box::new(get),
                        exprs: exprs.clone(),
                        schema: schema.clone(),
                    },
                    schema.clone(),
                ),
                None => (get, t.schema.clone()),
            }
        } else {
            let names = self
                .tables
                .iter()
                .map(|t| t.name.as_str())
                .chain(self.views.iter().map(|v| v.name.as_str()))
                .filter(|n| !n.contains('#')); // WITH names out of scope
            let hint = closest(n, names).map(|c| format!("did you mean \"{c}\"?"));
            return Err(self.err(span, format!("unknown table or view \"{n}\""), hint));
        };
        Ok((relation, schema))
    }

    /// A table, a view or a subquery.
    fn table_factor(&mut self, factor: &TableFactor) -> Result<(Relation, Scope)> {
        match factor {
            TableFactor::Table { name, alias, .. } => {
                let n = object_name(name);
                let (relation, schema) = self.named(&n, name.span())?;
                let mut names = vec![n.to_ascii_lowercase()];
                names.extend(alias.iter().map(|a| a.name.value.to_ascii_lowercase()));
                // With an alias, the alias is the name a `*` expansion qualifies columns by.
                names.rotate_right(alias.iter().count());
                Ok((relation, Scope::of(schema, names)))
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let relation = self.query(subquery)?;
                let schema = relation.schema().clone();
                let names = alias
                    .iter()
                    .map(|a| a.name.value.to_ascii_lowercase())
                    .collect();
                Ok((relation, Scope::of(schema, names)))
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias: None,
            } => {
                let mut cur = self.table_factor(&table_with_joins.relation)?;
                self.not_versioned(&table_with_joins.relation)?;
                for j in &table_with_joins.joins {
                    cur = self.join_factor(cur, j)?;
                }
                Ok(cur)
            }
            TableFactor::TableFunction { expr, alias } => {
                let (relation, schema, table) = self.window_function(expr, factor.span())?;
                let mut names: Vec<String> = alias
                    .iter()
                    .map(|a| a.name.value.to_ascii_lowercase())
                    .collect();
                names.extend(table);
                Ok((relation, Scope::of(schema, names)))
            }
            other => Err(self.err(
                other.span(),
                "only tables, views, subqueries, window functions (TABLE(TUMBLE(...))) and joins of them can be read",
                None,
            )),
        }
    }

    /// `cur JOIN j`: a temporal join when `j` reads a table `FOR SYSTEM_TIME AS OF`.
    fn join_factor(&mut self, cur: (Relation, Scope), j: &sql::Join) -> Result<(Relation, Scope)> {
        let right = self.table_factor(&j.relation)?;
        match super::temporal::as_of_argument(&j.relation) {
            Some(time) => self.temporal_join(cur, right, j, time),
            None => self.join(cur, right, &j.join_operator, j.relation.span()),
        }
    }

    /// `FOR SYSTEM_TIME AS OF` is only for the right side of a join.
    fn not_versioned(&self, factor: &TableFactor) -> Result<()> {
        match super::temporal::as_of_argument(factor) {
            Some(time) => Err(self.err(
                time.span(),
                "FOR SYSTEM_TIME AS OF names the version of a table a join's left row reads: it goes on the right of a JOIN",
                Some("write FROM probe JOIN versioned FOR SYSTEM_TIME AS OF probe.ts ON ...".into()),
            )),
            None => Ok(()),
        }
    }

    /// Every pair of rows (`FROM a, b` before its `WHERE` adds keys; `CROSS JOIN`).
    fn cross(&mut self, left: (Relation, Scope), right: (Relation, Scope)) -> (Relation, Scope) {
        let scope = left.1.join(right.1);
        let relation = Relation::Join {
            left: Box::new(left.0),
            right: Box::new(right.0),
            kind: JoinKind::Inner,
            left_key: Vec::new(),
            right_key: Vec::new(),
            residual: None,
            schema: scope.qualified_schema(),
            as_of: None,
            expire: None,
        };
        (relation, scope)
    }

    /// `left <op> JOIN right ON ...`.
    pub(super) fn join(
        &mut self,
        left: (Relation, Scope),
        right: (Relation, Scope),
        op: &JoinOperator,
        span: sqlparser::tokenizer::Span,
    ) -> Result<(Relation, Scope)> {
        let (kind, constraint) = match op {
            JoinOperator::Join(c) | JoinOperator::Inner(c) => (JoinKind::Inner, c),
            JoinOperator::Left(c) | JoinOperator::LeftOuter(c) => (JoinKind::Left, c),
            JoinOperator::Right(c) | JoinOperator::RightOuter(c) => (JoinKind::Right, c),
            JoinOperator::FullOuter(c) => (JoinKind::Full, c),
            JoinOperator::CrossJoin(JoinConstraint::None) => return Ok(self.cross(left, right)),
            _ => return Err(self.err(
                span,
                "this kind of join is not supported",
                Some(
                    "write [INNER] JOIN, LEFT, RIGHT or FULL [OUTER] JOIN ... ON, or CROSS JOIN"
                        .into(),
                ),
            )),
        };
        let on = match constraint {
            JoinConstraint::On(e) => e,
            JoinConstraint::None if kind == JoinKind::Inner => return Ok(self.cross(left, right)),
            JoinConstraint::None => {
                return Err(self.err(
                    span,
                    format!("a {} JOIN needs an ON condition", kind_name(kind)),
                    None,
                ))
            }
            JoinConstraint::Using(names) => {
                let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
                return self.join_using(left, right, kind, &names, span);
            }
            JoinConstraint::UsingAlias(..) | JoinConstraint::Natural => {
                return Err(self.err(
                    span,
                    "NATURAL joins are not supported",
                    Some("name the columns: JOIN b USING (c), or ON a.c = b.c".into()),
                ))
            }
        };
        let width = left.1.schema.len();
        let scope = left.1.join(right.1);
        let (mut left_key, mut right_key, mut residual) = (Vec::new(), Vec::new(), Vec::new());
        for c in conjuncts(on) {
            if let Some((a, b)) = equality(c) {
                let a = self.expr(a, &scope, &mut None)?;
                let b = self.expr(b, &scope, &mut None)?;
                if let Some((l, r)) = key_pair(&a, &b, width) {
                    left_key.push(l);
                    right_key.push(r);
                    continue;
                }
            }
            let (x, ty) = self.expr(c, &scope, &mut None)?;
            if ty != DataType::Bool {
                return Err(self.err(c.span(), format!("ON must be BOOLEAN, not {ty}"), None));
            }
            residual.push(x);
        }
        let relation = Relation::Join {
            left: Box::new(left.0),
            right: Box::new(right.0),
            kind,
            left_key,
            right_key,
            residual: balanced(crate::plan::ir::BinaryOp::And, residual),
            schema: scope.qualified_schema(),
            as_of: None,
            expire: None,
        };
        Ok((relation, scope))
    }

    /// `left JOIN right USING (c, ...)`: joined on `left.c = right.c`; each `c` becomes one
    /// column, first in `SELECT *` (the left side's value, the right's for a RIGHT join, the
    /// one that is not NULL for a FULL join), and `left.c`, `right.c` stay reachable by their
    /// qualified names.
    fn join_using(
        &mut self,
        left: (Relation, Scope),
        right: (Relation, Scope),
        kind: JoinKind,
        names: &[String],
        span: sqlparser::tokenizer::Span,
    ) -> Result<(Relation, Scope)> {
        let width = left.1.schema.len();
        let mut pairs = Vec::new();
        for name in names {
            let name = super::unquote(name);
            let side = |scope: &Scope, which: &str| -> Result<usize> {
                match scope.find(&name, None).as_slice() {
                    [i] => Ok(*i),
                    [] => Err(self.err(
                        span,
                        format!("USING column \"{name}\" is not on the {which} side"),
                        None,
                    )),
                    _ => Err(self.err(
                        span,
                        format!("USING column \"{name}\" is ambiguous on the {which} side"),
                        Some("join ON qualified columns instead".into()),
                    )),
                }
            };
            pairs.push((
                name.clone(),
                side(&left.1, "left")?,
                side(&right.1, "right")?,
            ));
        }
        let scope = left.1.join(right.1);
        let (mut left_key, mut right_key) = (Vec::new(), Vec::new());
        let mut merged = Vec::new();
        for (name, l, r) in &pairs {
            let (lt, rt) = (
                scope.schema.columns[*l].ty,
                scope.schema.columns[width + r].ty,
            );
            let a: Typed = (Expr::Column(*l), lt);
            let b: Typed = (Expr::Column(width + r), rt);
            let Some((lk, rk)) = key_pair(&a, &b, width) else {
                return Err(self.err(
                    span,
                    format!("USING column \"{name}\" is {lt} on the left and {rt} on the right"),
                    Some("CAST one side in a subquery, or join ON".into()),
                ));
            };
            let ty = super::scalar::common_type(lt, rt).unwrap_or(lt);
            let (lx, rx) = (
                super::scalar::coerce(a.0, lt, ty),
                super::scalar::coerce(b.0, rt, ty),
            );
            let value = match kind {
                JoinKind::Right => rx,
                JoinKind::Full => Expr::Call {
                    func: crate::plan::ir::ScalarFunc::Coalesce,
                    args: vec![lx, rx],
                },
                _ => lx,
            };
            merged.push((name.clone(), ty, value));
            left_key.push(lk);
            right_key.push(rk);
        }
        let joined = Relation::Join {
            left: Box::new(left.0),
            right: Box::new(right.0),
            kind,
            left_key,
            right_key,
            residual: None,
            schema: scope.qualified_schema(),
            as_of: None,
            expire: None,
        };
        // The merged columns first, then every column of both sides.
        let mut out = Scope::of(Schema::default(), Vec::new());
        let mut exprs = Vec::new();
        for (name, ty, value) in merged {
            out.push_unqualified(crate::data::Column { name, ty });
            exprs.push(value);
        }
        let mut sides = scope;
        for (_, l, r) in &pairs {
            sides.shadowed[*l] = true;
            sides.shadowed[width + r] = true;
        }
        exprs.extend((0..sides.schema.len()).map(Expr::Column));
        let out = out.join(sides);
        let relation = Relation::Project {
            input: Box::new(joined),
            exprs,
            schema: out.qualified_schema(),
        };
        Ok((relation, out))
    }

    /// `WHERE w` over `relation`: equalities across the sides of inner joins become join keys,
    /// other terms across them the join's residual (where an interval join's bounds are
    /// found), the rest a filter.
    pub(super) fn where_clause(
        &mut self,
        mut relation: Relation,
        scope: &Scope,
        w: &SqlExpr,
    ) -> Result<Relation> {
        let mut rest = Vec::new();
        for c in conjuncts(w) {
            if let Some(condition) = super::subquery::subquery_condition(c) {
                relation = self.semi_join(relation, scope, condition, c.span())?;
                continue;
            }
            if let (Some((a, b)), Relation::Join { .. }) = (equality(c), &relation) {
                let a = self.expr(a, scope, &mut None)?;
                let b = self.expr(b, scope, &mut None)?;
                if push_key(&mut relation, &a, &b) {
                    continue;
                }
            }
            let (x, ty) = self.expr(c, scope, &mut None)?;
            if ty != DataType::Bool {
                return Err(self.err(c.span(), format!("WHERE must be BOOLEAN, not {ty}"), None));
            }
            if let Some(x) = push_residual(&mut relation, x) {
                rest.push(x);
            }
        }
        Ok(match balanced(crate::plan::ir::BinaryOp::And, rest) {
            Some(predicate) => Relation::Filter {
                input: Box::new(relation),
                predicate,
            },
            None => relation,
        })
    }
}

fn kind_name(kind: JoinKind) -> &'static str {
    match kind {
        JoinKind::Inner => "INNER",
        JoinKind::Left => "LEFT",
        JoinKind::Right => "RIGHT",
        JoinKind::Full => "FULL",
        JoinKind::Semi => "SEMI",
        JoinKind::Anti => "ANTI",
    }
}

/// The terms of `e` as a conjunction (`a AND (b AND c)` → `a, b, c`).
pub(super) fn conjuncts(e: &SqlExpr) -> Vec<&SqlExpr> {
    match e {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            let mut out = conjuncts(left);
            out.extend(conjuncts(right));
            out
        }
        SqlExpr::Nested(inner) => conjuncts(inner),
        other => vec![other],
    }
}

/// `a = b` → `(a, b)`.
pub(super) fn equality(e: &SqlExpr) -> Option<(&SqlExpr, &SqlExpr)> {
    match e {
        SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => Some((left, right)),
        _ => None,
    }
}

/// When one of `a`, `b` reads only left columns (below `width`) and the other only right
/// ones, the pair as join keys: the left one, and the right one over the right row. Numbers
/// of different types meet as DOUBLE, so equal values have equal keys.
pub(super) fn key_pair(a: &Typed, b: &Typed, width: usize) -> Option<(Expr, Expr)> {
    let side = |e: &Expr| match e.column_range()? {
        (_, hi) if hi < width => Some(false),
        (lo, _) if lo >= width => Some(true),
        _ => None,
    };
    let (l, r) = match (side(&a.0)?, side(&b.0)?) {
        (false, true) => (a, b),
        (true, false) => (b, a),
        _ => return None,
    };
    // Keys of different numeric types meet as their common type (BIGINT and DOUBLE as
    // DOUBLE, DECIMALs at one scale), so equal values have equal bytes.
    let (l, r) = match (l.1, r.1) {
        (x, y) if x == y => (l.0.clone(), r.0.clone()),
        (x, y) if x.is_numeric() && y.is_numeric() => {
            let t = super::scalar::common_type(x, y)?;
            (
                super::scalar::coerce(l.0.clone(), x, t),
                super::scalar::coerce(r.0.clone(), y, t),
            )
        }
        _ => return None,
    };
    let mut r = r;
    r.map_columns(&mut |c| c - width);
    Some((l, r))
}

/// Add `a = b` as a key of the inner join in `relation` whose two sides it spans, looking
/// through the left inputs of inner and left joins (a condition on a left join's left side
/// may be applied before it); false when there is none.
fn push_key(relation: &mut Relation, a: &Typed, b: &Typed) -> bool {
    let Relation::Join {
        left,
        kind,
        left_key,
        right_key,
        as_of,
        ..
    } = relation
    else {
        return false;
    };
    let width = left.schema().len();
    // A temporal join's key is the versioned table's primary key, as written in its ON.
    if *kind == JoinKind::Inner && as_of.is_none() {
        if let Some((l, r)) = key_pair(a, b, width) {
            left_key.push(l);
            right_key.push(r);
            return true;
        }
    }
    let in_left = |e: &Expr| e.column_range().is_some_and(|(_, hi)| hi < width);
    matches!(
        kind,
        JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti
    ) && in_left(&a.0)
        && in_left(&b.0)
        && push_key(left, a, b)
}

/// Add the `WHERE` term `x` to the residual of the inner join `relation` is, when `x` reads
/// both its sides (the same rows pass either way); otherwise give it back.
fn push_residual(relation: &mut Relation, x: Expr) -> Option<Expr> {
    let Relation::Join {
        left,
        kind: JoinKind::Inner,
        residual,
        as_of: None,
        ..
    } = relation
    else {
        return Some(x);
    };
    let width = left.schema().len();
    match x.column_range() {
        Some((lo, hi)) if lo < width && hi >= width => {
            *residual = balanced(
                crate::plan::ir::BinaryOp::And,
                residual.take().into_iter().chain([x]).collect(),
            );
            None
        }
        _ => Some(x),
    }
}
