//! Temporal joins: `probe JOIN versioned FOR SYSTEM_TIME AS OF probe.ts ON ...`, as in Flink.
//!
//! The versioned side is a source table with a `PRIMARY KEY` and a `WATERMARK`: each of its
//! records is a version of its key, valid from its rowtime until the key's next version (an
//! upsert stream read as history). The `ON` condition equates a probe expression with every
//! primary key column (that is the join's key); the rest of it is checked on the joined row.
//!
//! A static table (a file, `'connector' = 'filesystem'`) has one version for all time, so a
//! temporal join with it, as of event or processing time, is a join with it (Flink's lookup
//! join of a bounded side input, Nexmark q13).
//! `sqlparser` reaches here with the clause as a table argument (see [`crate::spec::ddl`]).

use sqlparser::ast::{self as sql, Expr as SqlExpr, JoinConstraint, JoinOperator, Spanned};

use super::from::{conjuncts, equality, key_pair, Scope};
use super::{balanced, object_name, Lowerer};
use crate::data::DataType;
use crate::error::Result;
use crate::plan::ir::{AsOf, BinaryOp, Expr, JoinKind, Relation};
use crate::spec::ddl::AS_OF_ARGUMENT;

/// The time a table reference is read `FOR SYSTEM_TIME AS OF`, if it is.
pub(super) fn as_of_argument(factor: &sql::TableFactor) -> Option<&SqlExpr> {
    let sql::TableFactor::Table {
        args: Some(args), ..
    } = factor
    else {
        return None;
    };
    match args.args.as_slice() {
        [sql::FunctionArg::Named {
            name,
            arg: sql::FunctionArgExpr::Expr(e),
            ..
        }] if name.value == AS_OF_ARGUMENT => Some(e),
        _ => None,
    }
}

impl Lowerer<'_> {
    /// `left JOIN j`, where `j` reads a versioned table `FOR SYSTEM_TIME AS OF time` (its
    /// relation and scope are `right`).
    pub(super) fn temporal_join(
        &mut self,
        left: (Relation, Scope),
        right: (Relation, Scope),
        j: &sql::Join,
        time: &SqlExpr,
    ) -> Result<(Relation, Scope)> {
        let span = j.relation.span();
        let (kind, on) = match &j.join_operator {
            JoinOperator::Join(JoinConstraint::On(on))
            | JoinOperator::Inner(JoinConstraint::On(on)) => (JoinKind::Inner, on),
            JoinOperator::Left(JoinConstraint::On(on))
            | JoinOperator::LeftOuter(JoinConstraint::On(on)) => (JoinKind::Left, on),
            _ => {
                return Err(self.err(
                    span,
                    "a temporal join (FOR SYSTEM_TIME AS OF) is an INNER or LEFT JOIN ... ON",
                    Some("the ON condition equates the versioned table's primary key".into()),
                ))
            }
        };
        let sql::TableFactor::Table { name, .. } = &j.relation else {
            return Err(sqlparser_lost());
        };
        let table_name = object_name(name);
        let Some(table) = self
            .tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&table_name))
        else {
            return Err(self.err(
                name.span(),
                format!("\"{table_name}\" is not a table: only a source table can be read FOR SYSTEM_TIME AS OF"),
                Some("declare the versioned table with CREATE TABLE ... (PRIMARY KEY (k) NOT ENFORCED, WATERMARK FOR ts AS ...)".into()),
            ));
        };
        if table.is_file() {
            // A static table: its one version holds at every time, so joining it as of any
            // time (processing time included) is joining with it.
            let (_, ty) = self.expr(time, &left.1, &mut None)?;
            if ty != DataType::Timestamp {
                return Err(self.err(
                    time.span(),
                    format!(
                        "FOR SYSTEM_TIME AS OF takes a TIMESTAMP of the join's left side, not {ty}"
                    ),
                    None,
                ));
            }
            return self.join(left, right, &j.join_operator, span);
        }
        let primary_key = table.primary_key.clone();
        if primary_key.is_empty() {
            return Err(self.err(
                name.span(),
                format!("the versioned table \"{table_name}\" needs a PRIMARY KEY: its versions are of one key"),
                Some("add PRIMARY KEY (k) NOT ENFORCED to its CREATE TABLE".into()),
            ));
        }
        let Some(rowtime) = self.rowtime(&table_name) else {
            return Err(self.err(
                name.span(),
                format!("the versioned table \"{table_name}\" needs a WATERMARK: its rowtime is when each version becomes valid"),
                Some("add WATERMARK FOR ts AS ts - INTERVAL '...' SECOND to its CREATE TABLE".into()),
            ));
        };
        let right_schema = right.1.schema.clone();
        let column = |n: &str| {
            right_schema
                .columns
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(n))
        };
        let right_time = column(&rowtime).ok_or_else(sqlparser_lost)?;
        let (left_time, ty) = self.expr(time, &left.1, &mut None)?;
        let left_time = match (left_time, ty) {
            (Expr::Column(c), DataType::Timestamp) => c,
            (_, ty) => {
                return Err(self.err(
                    time.span(),
                    format!("FOR SYSTEM_TIME AS OF takes a TIMESTAMP column of the join's left side, not {ty}"),
                    None,
                ))
            }
        };
        let rowtimes = |t: &str| self.rowtime(t);
        let watermark =
            crate::plan::event_time::time_attribute(&left.0, left_time, &self.views, &rowtimes);

        let width = left.1.schema.len();
        let scope = left.1.join(right.1);
        let mut keys: Vec<Option<Expr>> = vec![None; primary_key.len()];
        let mut residual = Vec::new();
        for c in conjuncts(on) {
            if let Some((a, b)) = equality(c) {
                let a = self.expr(a, &scope, &mut None)?;
                let b = self.expr(b, &scope, &mut None)?;
                if let Some((l, Expr::Column(r))) =
                    key_pair(&a, &b, width).or_else(|| constant_key(&a, &b, width))
                {
                    let slot = primary_key
                        .iter()
                        .position(|k| right_schema.columns[r].name.eq_ignore_ascii_case(k));
                    if let Some(slot) = slot.filter(|s| keys[*s].is_none()) {
                        keys[slot] = Some(l);
                        continue;
                    }
                }
            }
            let (x, ty) = self.expr(c, &scope, &mut None)?;
            if ty != DataType::Bool {
                return Err(self.err(c.span(), format!("ON must be BOOLEAN, not {ty}"), None));
            }
            residual.push(x);
        }
        let missing: Vec<&str> = primary_key
            .iter()
            .zip(&keys)
            .filter(|(_, k)| k.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(self.err(
                on.span(),
                format!(
                    "a temporal join's ON equates every primary key column of \"{table_name}\"; missing: {}",
                    missing.join(", ")
                ),
                Some(format!("add {table_name}.{} = <probe column>", missing[0])),
            ));
        }
        let right_key = primary_key
            .iter()
            .map(|k| column(k).map(Expr::Column).ok_or_else(sqlparser_lost))
            .collect::<Result<Vec<_>>>()?;
        let relation = Relation::Join {
            left: Box::new(left.0),
            right: Box::new(right.0),
            kind,
            left_key: keys.into_iter().flatten().collect(),
            right_key,
            residual: balanced(BinaryOp::And, residual),
            schema: scope.qualified_schema(),
            as_of: Some(AsOf {
                left_time,
                right_time,
                watermark,
                versions_insert_only: false,
            }),
            expire: None,
        };
        Ok((relation, scope))
    }
}

/// `right.k = <constant>` (either way round) as a key pair: the constant is the probe's side.
fn constant_key(a: &(Expr, DataType), b: &(Expr, DataType), width: usize) -> Option<(Expr, Expr)> {
    let (column, constant) = match (&a.0, &b.0) {
        (Expr::Column(c), other) if *c >= width && other.column_range().is_none() => (a, b),
        (other, Expr::Column(c)) if *c >= width && other.column_range().is_none() => (b, a),
        _ => return None,
    };
    let Expr::Column(c) = column.0 else {
        return None;
    };
    (column.1 == constant.1).then(|| (constant.0.clone(), Expr::Column(c - width)))
}

fn sqlparser_lost() -> crate::error::Error {
    crate::error::Error::Internal("a temporal join's table lost its columns".into())
}
