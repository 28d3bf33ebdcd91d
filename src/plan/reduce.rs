//! Reduction planning: how each `GROUP BY` aggregate is computed.
//!
//! Lowering builds every `Reduce` with placeholder strategies; [`choose`] sets them once the
//! whole program is known, because the choice depends on whether a `Reduce`'s input can
//! retract, and a view's input is another statement:
//! - `COUNT`, `SUM`, `AVG`: [`AggStrategy::Accumulable`];
//! - `COUNT`/`SUM`/`AVG` of `DISTINCT` values: [`AggStrategy::DistinctInserts`] over an
//!   insert-only input (up to [`MAX_DISTINCT_INSERTS`] of them), else [`AggStrategy::Distinct`];
//! - `MIN`/`MAX` over an insert-only input: [`AggStrategy::InsertOnly`]; over an input that
//!   retracts: [`AggStrategy::Hierarchical`].
//!
//! Sources only insert (a Kafka record is never taken back); filters, maps and inner joins
//! keep that; the output of a `GROUP BY` retracts (a group's old row goes when its new row
//! comes), unless it is a window's written on close, and so does an outer join (a
//! NULL-padded row goes when its first match comes).

use crate::plan::ir::{
    AggFunc, AggStrategy, JoinKind, Program, Relation, TopNStrategy, View, WindowKind,
};

/// The most `DISTINCT` aggregates of one `GROUP BY` that [`AggStrategy::DistinctInserts`]
/// computes (one bit each).
pub const MAX_DISTINCT_INSERTS: usize = 64;

/// Set the strategy of every aggregate in `program`.
pub fn choose(program: &mut Program) {
    let views = program.views.clone();
    for view in &mut program.views {
        plan_relation(&mut view.relation, &views);
    }
    for sink in &mut program.sinks {
        plan_relation(&mut sink.relation, &views);
    }
}

/// Plan the `Reduce`s and top-Ns in `relation` (`views` are the program's, to look through
/// names).
fn plan_relation(relation: &mut Relation, views: &[View]) {
    match relation {
        Relation::Get { .. } => {}
        Relation::Filter { input, .. }
        | Relation::Project { input, .. }
        | Relation::Window { input, .. } => plan_relation(input, views),
        Relation::Reduce {
            input, aggregates, ..
        } => {
            plan_relation(input, views);
            let input_only_inserts = only_inserts(input, views);
            for a in aggregates.iter_mut() {
                a.strategy = match a.func {
                    AggFunc::Min | AggFunc::Max if input_only_inserts => AggStrategy::InsertOnly,
                    AggFunc::Min | AggFunc::Max => AggStrategy::Hierarchical,
                    _ if a.distinct && input_only_inserts => AggStrategy::DistinctInserts,
                    _ if a.distinct => AggStrategy::Distinct,
                    _ => AggStrategy::Accumulable,
                };
            }
            // The set of aggregates a value appeared in is a 64-bit mask.
            let distinct = aggregates.iter().filter(|a| a.strategy.is_distinct());
            if distinct.count() > MAX_DISTINCT_INSERTS {
                for a in aggregates.iter_mut().filter(|a| a.strategy.is_distinct()) {
                    a.strategy = AggStrategy::Distinct;
                }
            }
        }
        Relation::Join {
            left, right, as_of, ..
        } => {
            plan_relation(left, views);
            plan_relation(right, views);
            if let Some(a) = as_of {
                a.versions_insert_only = only_inserts(right, views);
            }
        }
        Relation::TopN {
            input, strategy, ..
        } => {
            plan_relation(input, views);
            *strategy = if only_inserts(input, views) {
                TopNStrategy::InsertOnly
            } else {
                TopNStrategy::Hierarchical
            };
        }
        Relation::Union { inputs, .. } => inputs.iter_mut().for_each(|i| plan_relation(i, views)),
        Relation::Recursive { body, .. } => plan_relation(body, views),
        Relation::Over { input, .. } => plan_relation(input, views),
    }
}

/// Whether the rows of `relation` only ever insert (`views` are the program's).
pub fn only_inserts(relation: &Relation, views: &[View]) -> bool {
    match relation {
        // A name that is not a view is a source.
        Relation::Get { name, .. } => views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .is_none_or(|v| only_inserts(&v.relation, views)),
        // A row's session changes as sessions merge.
        Relation::Window {
            kind: WindowKind::Session { .. },
            ..
        } => false,
        Relation::Filter { input, .. }
        | Relation::Project { input, .. }
        | Relation::Window { input, .. } => only_inserts(input, views),
        // A group's old row goes when its new row comes, unless its rows are written once,
        // when their window closes (and so is a window top-N's).
        Relation::Reduce { expire, .. } | Relation::TopN { expire, .. } => {
            expire.as_ref().is_some_and(|e| e.on_close)
        }
        // Matched pairs of insert-only inputs only insert (so do semi-joins); an outer join
        // takes back a NULL-padded row when its first match arrives, an anti-join a row.
        // A temporal join takes a row back when an earlier version arrives late.
        Relation::Join {
            left,
            right,
            kind,
            as_of,
            ..
        } => {
            as_of.is_none()
                && matches!(kind, JoinKind::Inner | JoinKind::Semi)
                && only_inserts(left, views)
                && only_inserts(right, views)
        }
        // A row falls out of the first N when a better one comes; a row's frame changes
        // when a row comes before it.
        // An iteration's rows change as it converges again after each input change.
        Relation::Over { .. } | Relation::Recursive { .. } => false,
        Relation::Union { inputs, .. } => inputs.iter().all(|i| only_inserts(i, views)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strategies(sql: &str) -> Vec<Vec<AggStrategy>> {
        let tables = "CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka',
            'topic' = 't', 'properties.bootstrap.servers' = 'x', 'format' = 'json');
          CREATE TABLE o (a BIGINT, b BIGINT, c BIGINT) WITH ('connector' = 'print');";
        let program = crate::plan::plan_text("t.sql", &format!("{tables}\n{sql}")).unwrap();
        let mut out = Vec::new();
        fn walk(r: &Relation, out: &mut Vec<Vec<AggStrategy>>) {
            match r {
                Relation::Get { .. } => {}
                Relation::Filter { input, .. }
                | Relation::Project { input, .. }
                | Relation::Window { input, .. }
                | Relation::Over { input, .. }
                | Relation::TopN { input, .. } => walk(input, out),
                Relation::Reduce {
                    input, aggregates, ..
                } => {
                    walk(input, out);
                    out.push(aggregates.iter().map(|a| a.strategy).collect());
                }
                Relation::Join { left, right, .. } => {
                    walk(left, out);
                    walk(right, out);
                }
                Relation::Union { inputs, .. } => inputs.iter().for_each(|i| walk(i, out)),
                Relation::Recursive { body, .. } => walk(body, out),
            }
        }
        for v in &program.views {
            walk(&v.relation, &mut out);
        }
        walk(&program.sinks[0].relation, &mut out);
        out
    }

    #[test]
    fn strategies_follow_functions_and_whether_the_input_retracts() {
        use AggStrategy::*;
        assert_eq!(
            strategies(
                "INSERT INTO o SELECT COUNT(*), MIN(v), COUNT(DISTINCT k) FROM t WHERE v > 0;"
            ),
            [vec![Accumulable, InsertOnly, DistinctInserts]]
        );
        assert_eq!(
            strategies(
                "CREATE VIEW c AS SELECT k, MAX(v) AS m FROM t GROUP BY k;
                 INSERT INTO o SELECT MIN(m), SUM(DISTINCT m), MAX(DISTINCT m) FROM c;"
            ),
            [vec![InsertOnly], vec![Hierarchical, Distinct, Hierarchical]]
        );
        // An outer join's rows retract; more DISTINCT aggregates than a set has bits.
        assert_eq!(
            strategies(
                "CREATE VIEW p AS SELECT x.k AS k, x.v AS v FROM t AS x LEFT JOIN t AS y ON x.k = y.k;
                 INSERT INTO o SELECT COUNT(DISTINCT v) FILTER (WHERE v > 1), 0, 0 FROM p;"
            ),
            [vec![Distinct]]
        );
        for (n, expected) in [
            (MAX_DISTINCT_INSERTS, DistinctInserts),
            (MAX_DISTINCT_INSERTS + 1, Distinct),
        ] {
            let columns: Vec<String> = (0..n).map(|i| format!("c{i} BIGINT")).collect();
            let aggregates: Vec<String> =
                (0..n).map(|i| format!("COUNT(DISTINCT v + {i})")).collect();
            let planned = strategies(&format!(
                "CREATE TABLE w ({}) WITH ('connector' = 'print');
                 INSERT INTO w SELECT {} FROM t;",
                columns.join(", "),
                aggregates.join(", ")
            ));
            assert_eq!(planned, [vec![expected; n]]);
        }
    }
}
