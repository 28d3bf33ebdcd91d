//! Which columns identify a row of a relation (its unique key), and the checks that need it.
//!
//! An upsert sink replaces the row stored under a key with the newest one and deletes the key
//! when a row is retracted. That is only right when the query produces at most one row per
//! sink key, i.e. when the sink's `PRIMARY KEY` contains a unique key of the query. Flink
//! accepts a mismatch and quietly loses rows (FLINK-20370); ddflow refuses it.

use crate::data::DataType;
use crate::plan::ir::{views_except, Expr, JoinKind, Relation, View};

/// Column positions that identify each row of `relation` (no two rows agree on all of them),
/// if the planner can tell: the columns of a `GROUP BY` (none for a global aggregate, which
/// has one row), carried through filters and through projections that keep them. `None`:
/// rows may repeat (a source table, or a projection that drops a key column).
pub fn unique_key(relation: &Relation, views: &[View]) -> Option<Vec<usize>> {
    match relation {
        Relation::Get { name, .. } => views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .and_then(|v| unique_key(&v.relation, views)),
        Relation::Filter { input, .. } => unique_key(input, views),
        Relation::Project { input, exprs, .. } => unique_key(input, views)?
            .iter()
            .map(|k| exprs.iter().position(|e| keeps(e, *k)))
            .collect(),
        Relation::Reduce { group_key, .. } => Some((0..group_key.len()).collect()),
        // Within a partition, each row number is one row.
        Relation::TopN {
            partition_key,
            schema,
            ..
        } => partition_key
            .iter()
            .map(|e| match e {
                Expr::Column(c) => Some(*c),
                _ => None,
            })
            .chain([Some(schema.len() - 1)])
            .collect(),
        // Two inputs may hold equal rows.
        Relation::Union { .. } => None,
        // The body's key (a GROUP BY's), where the body reads the relation itself as a table
        // with no key.
        Relation::Recursive { name, body, .. } => unique_key(body, &views_except(views, name)),
        // Every input row, with a column added: the input's key.
        Relation::Over { input, .. } => unique_key(input, views),
        // A row is in several windows: its key with the window's bounds.
        Relation::Window { input, schema, .. } => {
            let mut key = unique_key(input, views)?;
            let n = schema.len();
            key.extend([n - 3, n - 2]);
            Some(key)
        }
        // A pair is identified by the keys of its two rows. When the join key covers the right
        // side's unique key, each left row matches at most one right row, so the left key
        // alone identifies the rows of an inner or left join (and symmetrically).
        Relation::Join {
            left,
            right,
            kind,
            left_key,
            right_key,
            as_of,
            ..
        } => {
            let width = left.schema().len();
            let lk = unique_key(left, views);
            // A left row joins one version at most.
            if kind.left_only() || as_of.is_some() {
                return lk;
            }
            let rk = unique_key(right, views);
            let covers = |key: &Option<Vec<usize>>, exprs: &[Expr]| {
                key.as_ref().is_some_and(|k| {
                    k.iter()
                        .all(|c| exprs.iter().any(|e| matches!(e, Expr::Column(x) if x == c)))
                })
            };
            if covers(&rk, right_key) && matches!(kind, JoinKind::Inner | JoinKind::Left) {
                return lk;
            }
            if covers(&lk, left_key) && matches!(kind, JoinKind::Inner | JoinKind::Right) {
                return rk.map(|k| k.into_iter().map(|c| c + width).collect());
            }
            let mut key = lk?;
            key.extend(rk?.into_iter().map(|c| c + width));
            Some(key)
        }
    }
}

/// Whether `e` is input column `column`, possibly through a cast that maps distinct values to
/// distinct values.
fn keeps(e: &Expr, column: usize) -> bool {
    match e {
        Expr::Column(c) => *c == column,
        Expr::Cast { expr, from, ty, .. } => injective(*from, *ty) && keeps(expr, column),
        _ => false,
    }
}

fn injective(from: DataType, to: DataType) -> bool {
    use DataType::*;
    matches!(
        (from, to),
        (_, String) | (Int, Timestamp) | (Timestamp, Int) | (Int, Decimal(..)) | (Date, Timestamp)
    ) && from != String
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink_relation(sql: &str) -> (Relation, Vec<View>) {
        let tables =
            "CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't',
            'properties.bootstrap.servers' = 'x', 'format' = 'json');
          CREATE TABLE o (a STRING, b BIGINT, c BIGINT) WITH ('connector' = 'print');";
        let p = crate::plan::plan_text("keys.sql", &format!("{tables}{sql}")).unwrap();
        (p.sinks[0].relation.clone(), p.views)
    }

    #[test]
    fn group_by_columns_are_the_key() {
        let (r, v) = sink_relation("INSERT INTO o SELECT k, v, COUNT(*) FROM t GROUP BY k, v;");
        assert_eq!(unique_key(&r, &v), Some(vec![0, 1]));
        let (r, v) =
            sink_relation("INSERT INTO o SELECT k, COUNT(*), SUM(v) FROM t GROUP BY k, v;");
        assert_eq!(unique_key(&r, &v), None, "v is grouped on but not selected");
        let (r, v) = sink_relation("INSERT INTO o SELECT k, v, v FROM t;");
        assert_eq!(unique_key(&r, &v), None, "a source has no key");
        let (r, v) = sink_relation(
            "CREATE VIEW c AS SELECT k, COUNT(*) AS n FROM t GROUP BY k;
             INSERT INTO o SELECT k, n, n FROM c WHERE n > 2;",
        );
        assert_eq!(unique_key(&r, &v), Some(vec![0]));
        let (r, v) = sink_relation(
            "INSERT INTO o SELECT 'all', COUNT(*), MAX(v) FROM t HAVING COUNT(*) > 0;",
        );
        assert_eq!(unique_key(&r, &v), Some(vec![]));
    }
}
