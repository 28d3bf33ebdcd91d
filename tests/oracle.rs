//! The rendered differential plan against a from-scratch recomputation: seeded random inserts
//! in batches (with NULLs); after every batch the accumulated output must equal a plain
//! evaluation of the plan over the input so far. Sources only ever insert, as Kafka sources
//! do; retractions reach the aggregates through views over a `GROUP BY`, so every reduction
//! plan (accumulable, insert-only MIN/MAX, distinct, hierarchical MIN/MAX) meets both.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use differential_dataflow::input::Input;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use ddflow::data::{Datum, Row, Value};
use ddflow::plan::ir::{AggFunc, Expr, OrderKey, OverFrame, Relation};
use ddflow::render::scalar::{eval, Arena};

const TABLES: &str = "CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't',
    'properties.bootstrap.servers' = 'x', 'format' = 'json');
  CREATE TABLE out1 (k STRING, n BIGINT, s BIGINT, lo BIGINT, hi BIGINT, d BIGINT, a DOUBLE, nv BIGINT) WITH ('connector' = 'print');
  CREATE TABLE out2 (n BIGINT, words BIGINT, lo BIGINT, hi BIGINT, d BIGINT, s BIGINT, lk STRING) WITH ('connector' = 'print');
  CREATE TABLE out3 (k STRING, w BIGINT) WITH ('connector' = 'print');
  CREATE TABLE out4 (n BIGINT, s BIGINT, lo STRING, a DOUBLE) WITH ('connector' = 'print');
  CREATE TABLE out5 (lo BIGINT, hi STRING, d BIGINT, sd BIGINT) WITH ('connector' = 'print');
  CREATE TABLE out6 (k STRING, lo BIGINT, hi BIGINT) WITH ('connector' = 'print');
  CREATE TABLE out7 (k STRING, a BIGINT, b BIGINT, c BIGINT, d BIGINT, e DOUBLE) WITH ('connector' = 'print');
  CREATE TABLE u (k STRING, w BIGINT) WITH ('connector' = 'kafka', 'topic' = 'u',
    'properties.bootstrap.servers' = 'x', 'format' = 'json');
  CREATE TABLE j4 (a STRING, b BIGINT, c STRING, d BIGINT) WITH ('connector' = 'print');
  CREATE TABLE j2 (a STRING, n BIGINT) WITH ('connector' = 'print');
  CREATE TABLE j3 (a STRING, b BIGINT, c BIGINT) WITH ('connector' = 'print');
  CREATE TABLE j5 (k STRING, a BIGINT, b BIGINT, c BIGINT) WITH ('connector' = 'print');
  CREATE TABLE tn (k STRING, v BIGINT, rn BIGINT) WITH ('connector' = 'print');
  CREATE TABLE tn4 (k STRING, a BIGINT, b BIGINT, rn BIGINT) WITH ('connector' = 'print');";

const QUERIES: [&str; 20] = [
    // Session windows (a gap of 2 ms over times -2..5 ms): rows merge sessions as they come.
    "CREATE VIEW tv AS SELECT k, v, CAST(v AS TIMESTAMP) AS ts FROM t;
     INSERT INTO tn4 SELECT k, COUNT(*), window_end, window_start
       FROM TABLE(SESSION(TABLE tv PARTITION BY k, DESCRIPTOR(ts), INTERVAL '0.002' SECOND))
       GROUP BY k, window_start, window_end;",
    "CREATE VIEW tv AS SELECT k, v, CAST(v AS TIMESTAMP) AS ts FROM t;
     INSERT INTO tn4 SELECT k, v, CAST(window_end AS BIGINT), CAST(window_start AS BIGINT)
       FROM TABLE(SESSION(TABLE tv, DESCRIPTOR(ts), INTERVAL '0.003' SECOND));",
    // Top-N over an insert-only input (only the best rows kept), duplicates and NULLs ranked.
    "INSERT INTO tn SELECT k, v, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) WHERE rn <= 2;",
    "INSERT INTO tn SELECT * FROM (SELECT k, v, ROW_NUMBER() OVER (ORDER BY v NULLS FIRST, k DESC) AS rn FROM t) WHERE rn <= 3;",
    // Top-N over retractions (the hierarchical plan): a global one and one per partition.
    "CREATE VIEW c AS SELECT k, COUNT(*) AS n, MAX(v) AS hi FROM t GROUP BY k;
     INSERT INTO tn4 SELECT * FROM (SELECT k, n, hi, ROW_NUMBER() OVER (ORDER BY n DESC, hi) AS rn FROM c) WHERE rn <= 2;",
    "CREATE VIEW c AS SELECT k, v, COUNT(*) AS n FROM t GROUP BY k, v;
     INSERT INTO tn4 SELECT k, v, n, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY n DESC) AS rn FROM c) WHERE rn <= 2;",
    // OVER aggregates: a ROWS frame over duplicates and NULLs; no frame (the partition up to
    // the row's peers) and a RANGE frame with an offset; over retractions, several at once.
    "INSERT INTO tn SELECT k, v, SUM(v) OVER (PARTITION BY k ORDER BY v ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t;",
    "INSERT INTO j5 SELECT k, v, AVG(v) OVER (PARTITION BY k ORDER BY v DESC), COUNT(*) OVER (ORDER BY v RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) FROM t;",
    "CREATE VIEW c AS SELECT k, COUNT(*) AS n, MAX(v) AS hi FROM t GROUP BY k;
     INSERT INTO j5 SELECT k, n, MIN(hi) OVER (ORDER BY n, k ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), COUNT(hi) OVER (PARTITION BY hi) FROM c;",
    // Every aggregate over an insert-only input, NULLs included.
    "INSERT INTO out1 SELECT k, COUNT(*) AS n, SUM(v) AS s, MIN(v) AS lo, MAX(v) AS hi,
       COUNT(DISTINCT v) AS d, AVG(v) AS a, COUNT(v) AS nv
       FROM t WHERE v > 1 OR v IS NULL GROUP BY k HAVING COUNT(*) > 1;",
    // DISTINCT aggregates over an insert-only input, several of one column with FILTERs and
    // some of other expressions whose values meet theirs (one entry per value and group).
    "INSERT INTO out7 SELECT k, COUNT(DISTINCT v), COUNT(DISTINCT v) FILTER (WHERE v > 1),
       SUM(DISTINCT v + 1) FILTER (WHERE v < 4), COUNT(DISTINCT 3 - v), AVG(DISTINCT v) FILTER (WHERE v <> 2)
       FROM t GROUP BY k;",
    "INSERT INTO out4 SELECT COUNT(DISTINCT v), SUM(DISTINCT v * v), MIN(k), AVG(DISTINCT 2 - v) FROM t;",
    // A view over a GROUP BY: the second GROUP BY sees retractions, and NULL maxima.
    "CREATE VIEW c AS SELECT k, COUNT(*) AS n, MAX(v) AS hi FROM t GROUP BY k;
     INSERT INTO out2 SELECT n, COUNT(*) AS words, MIN(hi), MAX(hi), COUNT(DISTINCT hi), SUM(hi), MIN(k)
       FROM c GROUP BY n;",
    "INSERT INTO out3 SELECT UPPER(k) || '!' AS k, v * 2 + 1 AS w FROM t WHERE v % 2 = 0 OR k = 'b';",
    // A global aggregate: one row even while the filtered input is empty.
    "INSERT INTO out4 SELECT COUNT(*), SUM(v), MIN(k), AVG(v) FROM t WHERE v > 3;",
    // A global aggregate over retractions.
    "CREATE VIEW c AS SELECT k, SUM(v) AS s FROM t GROUP BY k;
     INSERT INTO out5 SELECT MIN(s), MAX(k), COUNT(DISTINCT s), SUM(DISTINCT s) FROM c;",
    // Views that only filter and project, each read once, run inside their reader (the
    // render puts them in place): a chain of two, and one under a GROUP BY.
    "CREATE VIEW f AS SELECT k, CASE WHEN v > 4 THEN v ELSE 0 END AS w FROM t WHERE v > 1;
     CREATE VIEW g AS SELECT UPPER(k) AS k, w FROM f WHERE w < 40 OR k IS NULL;
     INSERT INTO out3 SELECT k, w FROM g WHERE k <> 'A' OR w > 10;",
    "CREATE VIEW f AS SELECT k, COALESCE(v, 7) AS w FROM t WHERE v <> 2 OR v IS NULL;
     INSERT INTO out6 SELECT k, MIN(w), MAX(w - 1) FROM f GROUP BY k;",
    // Only `v` is read, and only filtered before the aggregate: the filter reads the
    // table's narrowed rows, the aggregate whole ones.
    "INSERT INTO out4 SELECT COUNT(*), SUM(v), MIN('x'), AVG(v) FROM t WHERE v > 0 OR v IS NULL;",
    // MIN/MAX alone over retractions.
    "CREATE VIEW c AS SELECT k, v, COUNT(*) AS n FROM t GROUP BY k, v;
     INSERT INTO out6 SELECT k, MIN(v * n), MAX(v - n) FROM c GROUP BY k;",
];

/// Joins of `t` and `u`, whose rows are inserted and retracted at random (NULL keys and
/// duplicate rows included), and of views over a `GROUP BY` (which retract by themselves).
const JOIN_QUERIES: [&str; 28] = [
    // WITH RECURSIVE over a graph that changes as t and u do (cycles, duplicate edges, NULL
    // nodes): what is reachable from the nodes 'a' names, the least hops to each, and the
    // paths of at most three steps from the nodes 'b' names (duplicates kept).
    "CREATE VIEW e AS SELECT t.v AS s, u.w AS d FROM t JOIN u ON t.k = u.k;
     INSERT INTO j2 WITH RECURSIVE r AS (SELECT v AS n FROM t WHERE k = 'a'
       UNION SELECT e.d FROM r JOIN e ON e.s = r.n) SELECT 'r', n FROM r;",
    "CREATE VIEW e AS SELECT t.v AS s, u.w AS d FROM t JOIN u ON t.k = u.k;
     INSERT INTO j3 WITH RECURSIVE h (n BIGINT, hops BIGINT) AS (
       SELECT n, MIN(hops) FROM (SELECT v AS n, 0 AS hops FROM t WHERE k = 'a'
         UNION ALL SELECT e.d, h.hops + 1 FROM h JOIN e ON e.s = h.n) AS x GROUP BY n)
       SELECT 'h', n, hops FROM h;",
    "CREATE VIEW e AS SELECT t.v AS s, u.w AS d FROM t JOIN u ON t.k = u.k;
     INSERT INTO j3 WITH RECURSIVE p AS (SELECT v AS n, 0 AS depth FROM t WHERE k = 'b'
       UNION ALL SELECT e.d, p.depth + 1 FROM p JOIN e ON e.s = p.n WHERE p.depth < 3)
       SELECT 'p', n, depth FROM p;",
    // A top-N over an outer join, which retracts (the hierarchical plan), dedup to one row.
    "CREATE VIEW p AS SELECT t.k AS k, t.v AS v, u.w AS w FROM t LEFT JOIN u ON t.k = u.k;
     INSERT INTO tn4 SELECT k, v, w, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY w DESC NULLS LAST, v) AS rn FROM p) WHERE rn = 1;",
    "INSERT INTO j2 SELECT k, v FROM t INTERSECT SELECT k, w FROM u;",
    "INSERT INTO j2 SELECT k, v FROM t EXCEPT SELECT k, w FROM u;",
    // Scalar subqueries, decorrelated into left joins: correlated aggregates (COUNT over no
    // rows is 0), an uncorrelated one in WHERE, and a lookup by a view's key.
    "INSERT INTO j3 SELECT k, (SELECT COUNT(*) FROM u WHERE u.k = t.k), (SELECT SUM(w) FROM u WHERE u.k = t.k AND w > 0) FROM t;",
    "INSERT INTO j2 SELECT k, v FROM t WHERE v >= (SELECT AVG(w) FROM u);",
    "CREATE VIEW s AS SELECT k, SUM(w) AS total FROM u GROUP BY k;
     INSERT INTO j2 SELECT k, (SELECT total FROM s WHERE s.k = t.k) FROM t;",
    // Aggregates with FILTER (WHERE ...), over inserts and retractions (an outer join's
    // rows: the planner takes a table's rows to only insert).
    "CREATE VIEW p AS SELECT t.k AS k, t.v AS v FROM t LEFT JOIN u ON t.k = u.k;
     INSERT INTO j5 SELECT k, COUNT(*) FILTER (WHERE v > 2), COUNT(DISTINCT v) FILTER (WHERE v < 4),
       SUM(v) FILTER (WHERE v <> 0) FROM p GROUP BY k;",
    // Subqueries in WHERE, decorrelated into semi- and anti-joins.
    "INSERT INTO j2 SELECT k, v FROM t WHERE k IN (SELECT k FROM u WHERE w > 0);",
    "INSERT INTO j2 SELECT k, v FROM t WHERE v NOT IN (SELECT w FROM u);",
    "INSERT INTO j2 SELECT k, v FROM t WHERE EXISTS (SELECT * FROM u WHERE u.k = t.k AND u.w > t.v);",
    "INSERT INTO j2 SELECT k, v FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.k = t.k) AND v > 0;",
    // Set operations and WITH over inserts and retractions.
    "INSERT INTO j2 SELECT DISTINCT k, v FROM t WHERE v IS NOT NULL;",
    "INSERT INTO j2 SELECT k, v FROM t UNION ALL SELECT k, w FROM u WHERE w > 0;",
    "INSERT INTO j2 SELECT k, v FROM t UNION SELECT k, w FROM u;",
    "INSERT INTO j3 WITH c AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k)
       SELECT x.k, x.n, y.n FROM c AS x JOIN c AS y ON x.k = y.k;",
    "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t JOIN u ON t.k = u.k;",
    "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t LEFT JOIN u ON t.k = u.k;",
    "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t RIGHT JOIN u ON t.k = u.k;",
    "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t FULL OUTER JOIN u ON t.k = u.k;",
    // A residual condition on an outer join: a left row with only failing pairs is padded.
    "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t FULL JOIN u ON t.k = u.k AND t.v < u.w;",
    // Two keys, one of them across types (BIGINT = DOUBLE), and a WHERE that becomes a key.
    "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t, u WHERE t.k = u.k AND t.v = u.w * 1.0;",
    // A join of two GROUP BY views (both sides retract), aggregated again.
    "CREATE VIEW a AS SELECT k, COUNT(*) AS n FROM t GROUP BY k;
     CREATE VIEW b AS SELECT k, SUM(w) AS s FROM u GROUP BY k;
     INSERT INTO j3 SELECT a.k, a.n, b.s FROM a LEFT JOIN b ON a.k = b.k;",
    "CREATE VIEW p AS SELECT t.k AS k, u.w AS w FROM t LEFT JOIN u ON t.k = u.k;
     INSERT INTO j2 SELECT k, COUNT(w) FROM p GROUP BY k;",
    // A self-join, and a cross join with a condition that is no key.
    "INSERT INTO j3 SELECT x.k, x.v, y.v FROM t AS x JOIN t AS y ON x.k = y.k AND x.v <> y.v;",
    "INSERT INTO j3 SELECT t.k, t.v, u.w FROM t CROSS JOIN u WHERE t.v > u.w;",
];

type Multiset = BTreeMap<Vec<Value>, i64>;

#[test]
fn incremental_results_match_recomputation() {
    for (q, query) in QUERIES.iter().enumerate() {
        let program =
            ddflow::plan::plan_text("oracle.sql", &format!("{TABLES}\n{query}")).expect("plans");
        for seed in 0..4 {
            check(&program, seed * 10 + q as u64, false);
        }
    }
}

#[test]
fn joins_match_recomputation_under_inserts_and_retractions() {
    for (q, query) in JOIN_QUERIES.iter().enumerate() {
        let program =
            ddflow::plan::plan_text("oracle.sql", &format!("{TABLES}\n{query}")).expect("plans");
        for seed in 0..4 {
            check(&program, 1000 + seed * 10 + q as u64, true);
        }
    }
}

/// Joins that read the same input by the same key share one arrangement: a self-join
/// arranges its table once, and a second join of it by another key adds one more.
#[test]
fn joins_share_arrangements_of_the_same_input_and_key() {
    for (query, expected) in [
        (
            "INSERT INTO j3 SELECT x.k, x.v, y.v FROM t AS x JOIN t AS y ON x.k = y.k;",
            1,
        ),
        (
            "INSERT INTO j3 SELECT x.k, x.v, y.v FROM t AS x JOIN t AS y ON x.k = y.k
            JOIN t AS z ON y.v = z.v;",
            3,
        ),
        // An outer join keeps NULL-keyed rows: not the same arrangement as an inner join's.
        (
            "INSERT INTO j3 SELECT x.k, x.v, y.v FROM t AS x LEFT JOIN t AS y ON x.k = y.k;",
            2,
        ),
    ] {
        assert_eq!(rendered_counts(query).0, expected, "{query}");
    }
}

/// `query` (over `t`) rendered: how many join inputs it arranged, and how many relations
/// with state it rendered.
fn rendered_counts(query: &str) -> (usize, usize) {
    let program =
        ddflow::plan::plan_text("oracle.sql", &format!("{TABLES}\n{query}")).expect("plans");
    timely::execute_directly(move |worker| {
        worker.dataflow::<u64, _, _>(|scope| {
            let (_, t) = scope.new_collection::<Row, i64>();
            let env = HashMap::from([("t".to_string(), t)]);
            let mut state =
                ddflow::render::RenderState::new(scope, ddflow::control::RunControl::new());
            ddflow::render::render_program(&program, env, &mut state).unwrap();
            (state.join_arrangements(), state.stateful_relations())
        })
    })
}

/// A `GROUP BY` the query computes twice (as Nexmark q5 does) is rendered once.
#[test]
fn the_same_aggregate_twice_is_computed_once() {
    let query = "INSERT INTO j3 SELECT a.k, a.n, b.n FROM
        (SELECT k, COUNT(*) AS n FROM t GROUP BY k) AS a
        JOIN (SELECT k, COUNT(*) AS n FROM t GROUP BY k) AS b ON a.k = b.k;";
    let (join_arrangements, stateful) = rendered_counts(query);
    // The aggregate and the join.
    assert_eq!(stateful, 2);
    // Both sides of the join are the one aggregate, arranged by k once.
    assert_eq!(join_arrangements, 1);
}

/// Filter terms moved below a join (`plan::pushdown`) keep the query's meaning: each query's
/// rendering against the recomputation of the same query written so nothing moves (the join
/// in a view, the filter over a read of it).
#[test]
fn filters_below_joins_keep_their_meaning() {
    let cases = [
        (
            "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t JOIN u ON t.k = u.k AND u.w > 1
             WHERE t.v > 2 AND t.v < u.w;",
            "CREATE VIEW p AS SELECT t.k AS a, t.v AS b, u.k AS c, u.w AS d FROM t JOIN u
             ON t.k = u.k; INSERT INTO j4 SELECT * FROM p WHERE d > 1 AND b > 2 AND b < d;",
        ),
        (
            "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t LEFT JOIN u ON t.k = u.k
             WHERE t.v > 2 AND u.w IS NULL;",
            "CREATE VIEW p AS SELECT t.k AS a, t.v AS b, u.k AS c, u.w AS d FROM t LEFT JOIN u
             ON t.k = u.k; INSERT INTO j4 SELECT * FROM p WHERE b > 2 AND d IS NULL;",
        ),
        (
            "INSERT INTO j4 SELECT t.k, t.v, u.k, u.w FROM t RIGHT JOIN u ON t.k = u.k
             WHERE u.w > 2 AND t.v IS NULL;",
            "CREATE VIEW p AS SELECT t.k AS a, t.v AS b, u.k AS c, u.w AS d FROM t RIGHT JOIN u
             ON t.k = u.k; INSERT INTO j4 SELECT * FROM p WHERE d > 2 AND b IS NULL;",
        ),
        (
            "INSERT INTO j2 SELECT k, v FROM t WHERE v > 2 AND EXISTS (SELECT * FROM u WHERE u.k = t.k);",
            "CREATE VIEW p AS SELECT k, v FROM t WHERE EXISTS (SELECT * FROM u WHERE u.k = t.k);
             INSERT INTO j2 SELECT * FROM p WHERE v > 2;",
        ),
        (
            "INSERT INTO j2 SELECT k, v FROM t WHERE v > 2 AND NOT EXISTS (SELECT * FROM u WHERE u.k = t.k);",
            "CREATE VIEW p AS SELECT k, v FROM t WHERE NOT EXISTS (SELECT * FROM u WHERE u.k = t.k);
             INSERT INTO j2 SELECT * FROM p WHERE v > 2;",
        ),
        (
            "INSERT INTO j2 SELECT k, v FROM t WHERE v > 2 AND v NOT IN (SELECT w FROM u);",
            "CREATE VIEW p AS SELECT k, v FROM t WHERE v NOT IN (SELECT w FROM u);
             INSERT INTO j2 SELECT * FROM p WHERE v > 2;",
        ),
    ];
    for (i, (moved, kept)) in cases.into_iter().enumerate() {
        let plan = |q: &str| {
            ddflow::plan::plan_text("oracle.sql", &format!("{TABLES}\n{q}")).expect("plans")
        };
        let (moved, kept) = (plan(moved), plan(kept));
        // A filter now sits below a join.
        let text = ddflow::plan::explain::explain(&moved);
        let filter_below = text
            .lines()
            .skip_while(|l| !l.contains("Join"))
            .any(|l| l.contains("Filter"));
        assert!(
            filter_below,
            "case {i}: no filter moved below its join:\n{text}"
        );
        for seed in 0..4 {
            let kept = kept.clone();
            check_with(&moved, 3000 + seed * 10 + i as u64, true, move |inputs| {
                oracle(&kept, inputs)
            });
        }
    }
}

/// `IN`/`NOT IN`/`EXISTS` against SQL's own rules computed directly (three-valued `IN`; the
/// oracle above checks the rendering against the plan, this checks the plan against SQL).
#[test]
fn subqueries_follow_sql_null_rules() {
    type Rule = fn(&Value, &Value, &[Value]) -> bool;
    // t's row (k, v); u's rows' w values.
    let cases: [(&str, Rule); 3] = [
        (
            "INSERT INTO j2 SELECT k, v FROM t WHERE v NOT IN (SELECT w FROM u);",
            |_, v, ws| {
                // TRUE only when no w equals v and no comparison is unknown.
                ws.is_empty()
                    || (*v != Value::Null && !ws.contains(&Value::Null) && !ws.contains(v))
            },
        ),
        (
            "INSERT INTO j2 SELECT k, v FROM t WHERE v IN (SELECT w FROM u);",
            |_, v, ws| *v != Value::Null && ws.contains(v),
        ),
        (
            "INSERT INTO j2 SELECT k, v FROM t WHERE NOT EXISTS (SELECT w FROM u WHERE w = 3);",
            |_, _, ws| !ws.contains(&Value::Int(3)),
        ),
    ];
    for (i, (query, rule)) in cases.into_iter().enumerate() {
        let program =
            ddflow::plan::plan_text("oracle.sql", &format!("{TABLES}\n{query}")).expect("plans");
        for seed in 0..4 {
            check_with(&program, 2000 + seed * 10 + i as u64, true, move |[t, u]| {
                let ws: Vec<Value> = u
                    .iter()
                    .flat_map(|(r, n)| std::iter::repeat_n(r[1].clone(), *n as usize))
                    .collect();
                t.iter()
                    .filter(|(r, _)| rule(&r[0], &r[1], &ws))
                    .map(|(r, n)| (r.clone(), *n))
                    .collect()
            });
        }
    }
}

fn values(row: &Row) -> Vec<Value> {
    row.iter().map(Datum::to_value).collect()
}

/// Feed `t` (and `u`) random rows in rounds, and after each round compare the accumulated
/// output with [`oracle`]. With `retract`, some rounds also take back rows present.
fn check(program: &ddflow::plan::ir::Program, seed: u64, retract: bool) {
    let plan = program.clone();
    check_with(program, seed, retract, move |inputs| oracle(&plan, inputs));
}

/// [`check`] against `expected`, a function of the inputs so far.
fn check_with(
    program: &ddflow::plan::ir::Program,
    seed: u64,
    retract: bool,
    expected: impl Fn(&[Multiset; 2]) -> Multiset + Send + Sync + 'static,
) {
    let program = program.clone();
    timely::execute_directly(move |worker| {
        let captured = Rc::new(RefCell::new(Vec::new()));
        let sink = captured.clone();
        let (mut inputs, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let (t_input, t_rows) = scope.new_collection::<Row, i64>();
            let (u_input, u_rows) = scope.new_collection::<Row, i64>();
            let env = HashMap::from([("t".to_string(), t_rows), ("u".to_string(), u_rows)]);
            let mut state =
                ddflow::render::RenderState::new(scope, ddflow::control::RunControl::new());
            let mut sinks = ddflow::render::render_program(&program, env, &mut state).unwrap();
            let (_, out) = sinks.remove(0);
            let (probe, _) = out
                .inspect(move |(r, t, d)| sink.borrow_mut().push((values(r), *t, *d)))
                .probe();
            ([t_input, u_input], probe)
        });
        // Rows as each table's decoder makes them: a narrowed table's hold only the columns
        // the program reads (the oracle's evaluation reads whole rows).
        let layouts: Vec<Option<Vec<usize>>> = ["t", "u"]
            .iter()
            .map(|t| {
                let source = program.sources.iter().find(|s| s.name == *t);
                source.and_then(|s| s.layout())
            })
            .collect();
        let decoded = |layout: &Option<Vec<usize>>, row: &[Value]| match layout {
            Some(layout) => Row::pack(layout.iter().map(|&c| row[c].datum())),
            None => Row::pack(row.iter().map(Value::datum)),
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut present: [Multiset; 2] = Default::default();
        for round in 0..30u64 {
            for ((input, present), layout) in
                inputs.iter_mut().zip(present.iter_mut()).zip(&layouts)
            {
                for _ in 0..rng.random_range(1..8) {
                    let k = match rng.random_range(0..6) {
                        5 if retract => Value::Null,
                        i => Value::Str(["a", "b", "c", "d", "e", "f"][i].into()),
                    };
                    let v = match rng.random_range(0..8) {
                        0 => Value::Null,
                        v => Value::Int(v - 2),
                    };
                    let row = vec![k, v];
                    input.update(decoded(layout, &row), 1);
                    *present.entry(row).or_insert(0) += 1;
                }
                if retract {
                    for _ in 0..rng.random_range(0..4) {
                        let rows: Vec<Vec<Value>> = present.keys().cloned().collect();
                        if rows.is_empty() {
                            break;
                        }
                        let row = rows[rng.random_range(0..rows.len())].clone();
                        input.update(decoded(layout, &row), -1);
                        let n = present.get_mut(&row).expect("present");
                        *n -= 1;
                        if *n == 0 {
                            present.remove(&row);
                        }
                    }
                }
                input.advance_to(round + 1);
                input.flush();
            }
            while probe.less_than(inputs[0].time()) {
                worker.step();
            }
            let mut got: Multiset = BTreeMap::new();
            for (r, t, d) in captured.borrow().iter() {
                if *t <= round {
                    *got.entry(r.clone()).or_insert(0) += d;
                }
            }
            got.retain(|_, d| *d != 0);
            let expected = expected(&present);
            assert_eq!(got, expected, "seed {seed}, round {round}");
        }
    });
}

/// Plain evaluation of the program's first sink over the input multisets of `t` and `u`.
fn oracle(program: &ddflow::plan::ir::Program, [t, u]: &[Multiset; 2]) -> Multiset {
    let mut env: HashMap<String, Multiset> =
        HashMap::from([("t".to_string(), t.clone()), ("u".to_string(), u.clone())]);
    for view in &program.views {
        let r = evaluate(&view.relation, &env);
        env.insert(view.name.to_ascii_lowercase(), r);
    }
    evaluate(&program.sinks[0].relation, &env)
}

fn ev(e: &Expr, row: &[Value]) -> Value {
    let datums: Vec<Datum> = row.iter().map(Value::datum).collect();
    eval(e, &datums, &Arena::new()).to_value()
}

fn evaluate(rel: &Relation, env: &HashMap<String, Multiset>) -> Multiset {
    let mut out = Multiset::new();
    match rel {
        Relation::Get { name, .. } => return env[&name.to_ascii_lowercase()].clone(),
        // The least fixed point, by evaluating the body again from nothing until it settles.
        Relation::Recursive { name, body, .. } => {
            let mut env = env.clone();
            let mut last = Multiset::new();
            for _ in 0..10_000 {
                env.insert(name.to_ascii_lowercase(), last.clone());
                let next = evaluate(body, &env);
                if next == last {
                    return next;
                }
                last = next;
            }
            panic!("recursion {name} did not settle");
        }
        Relation::Filter { input, predicate } => {
            for (row, n) in evaluate(input, env) {
                if ev(predicate, &row) == Value::Bool(true) {
                    out.insert(row, n);
                }
            }
        }
        Relation::Project { input, exprs, .. } => {
            for (row, n) in evaluate(input, env) {
                *out.entry(exprs.iter().map(|e| ev(e, &row)).collect())
                    .or_insert(0) += n;
            }
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            ..
        } => {
            let mut groups: BTreeMap<Vec<Value>, Vec<(Vec<Value>, i64)>> = BTreeMap::new();
            if group_key.is_empty() {
                groups.insert(Vec::new(), Vec::new()); // SQL: one group, even over no rows
            }
            for (row, n) in evaluate(input, env) {
                let key: Vec<Value> = group_key.iter().map(|e| ev(e, &row)).collect();
                groups.entry(key).or_default().push((row, n));
            }
            for (mut key, rows) in groups {
                debug_assert!(rows.iter().all(|(_, n)| *n > 0));
                for agg in aggregates {
                    let mut values: Vec<Value> = Vec::new();
                    for (row, n) in &rows {
                        let v = agg.arg.as_ref().map_or(Value::Int(1), |e| ev(e, row));
                        if v != Value::Null {
                            values.extend(std::iter::repeat_n(v, *n as usize));
                        }
                    }
                    if agg.distinct {
                        values.sort();
                        values.dedup();
                    }
                    key.push(fold(agg.func, &values));
                }
                out.insert(key, 1);
            }
        }
        // Per partition, the rows in time order, split where two are a gap apart.
        Relation::Window {
            input,
            kind: ddflow::plan::ir::WindowKind::Session { gap },
            time,
            partition,
            ..
        } => {
            let mut partitions: BTreeMap<Vec<Value>, Vec<(i64, Vec<Value>, i64)>> = BTreeMap::new();
            for (row, n) in evaluate(input, env) {
                if let Value::Int(ts) = row[*time] {
                    let key = partition.iter().map(|c| row[*c].clone()).collect();
                    partitions.entry(key).or_default().push((ts, row, n));
                }
            }
            for rows in partitions.values_mut() {
                rows.sort();
                let mut i = 0;
                while i < rows.len() {
                    let mut j = i + 1;
                    while j < rows.len() && rows[j].0 - rows[j - 1].0 < *gap {
                        j += 1;
                    }
                    let (start, end) = (rows[i].0, rows[j - 1].0 + gap);
                    for (_, row, n) in &rows[i..j] {
                        let mut r = row.clone();
                        r.extend([Value::Int(start), Value::Int(end), Value::Int(end - 1)]);
                        *out.entry(r).or_insert(0) += n;
                    }
                    i = j;
                }
            }
        }
        // Every row in each of its windows (the late rule is the event-time oracle's).
        Relation::Window {
            input, kind, time, ..
        } => {
            for (row, n) in evaluate(input, env) {
                if let Value::Int(ts) = row[*time] {
                    kind.windows(ts, |start, end| {
                        let mut r = row.clone();
                        r.extend([Value::Int(start), Value::Int(end), Value::Int(end - 1)]);
                        *out.entry(r).or_insert(0) += n;
                    });
                }
            }
        }
        // Each partition's rows, sorted by the order (NULL least, unless placed), then by
        // their bytes; the first `limit`, numbered.
        Relation::TopN {
            input,
            partition_key,
            order,
            limit,
            ..
        } => {
            let mut partitions: BTreeMap<Vec<Value>, Vec<Vec<Value>>> = BTreeMap::new();
            for (row, n) in evaluate(input, env) {
                assert!(n > 0, "a multiset has no negative rows");
                let key: Vec<Value> = partition_key.iter().map(|e| ev(e, &row)).collect();
                partitions
                    .entry(key)
                    .or_default()
                    .extend(std::iter::repeat_n(row, n as usize));
            }
            let bytes = |r: &[Value]| Row::pack(r.iter().map(Value::datum));
            for rows in partitions.values_mut() {
                rows.sort_by(|a, b| order_cmp(order, a, b).then_with(|| bytes(a).cmp(&bytes(b))));
                let limit = limit.expect("planned with a limit") as usize;
                for (i, row) in rows.iter().take(limit).enumerate() {
                    let mut r = row.clone();
                    r.push(Value::Int(i as i64 + 1));
                    *out.entry(r).or_insert(0) += 1;
                }
            }
        }
        // Each partition's rows sorted by the order, then by their values; each row's frame
        // found by testing every row of the partition against the frame's definition.
        Relation::Over {
            input,
            partition_key,
            order,
            over,
            ..
        } => {
            let mut partitions: BTreeMap<Vec<Value>, Vec<Vec<Value>>> = BTreeMap::new();
            for (row, n) in evaluate(input, env) {
                let key: Vec<Value> = partition_key.iter().map(|e| ev(e, &row)).collect();
                partitions
                    .entry(key)
                    .or_default()
                    .extend(std::iter::repeat_n(row, n as usize));
            }
            let by_order = |a: &Vec<Value>, b: &Vec<Value>| order_cmp(order, a, b);
            for rows in partitions.values_mut() {
                rows.sort_by(|a, b| by_order(a, b).then_with(|| a.cmp(b)));
                for (i, row) in rows.iter().enumerate() {
                    let in_frame = |j: usize| match over.frame {
                        OverFrame::Rows(n) => j <= i && n.is_none_or(|n| j as u64 + n >= i as u64),
                        OverFrame::Range(d) => {
                            let peer_or_before = by_order(&rows[j], row).is_le();
                            let within = d.is_none_or(|d| {
                                match (ev(&order[0].expr, row), ev(&order[0].expr, &rows[j])) {
                                    (Value::Int(v), Value::Int(w)) => w >= v - d,
                                    _ => by_order(&rows[j], row).is_eq(),
                                }
                            });
                            peer_or_before && within
                        }
                    };
                    let agg = &over.aggregate;
                    let values: Vec<Value> = (0..rows.len())
                        .filter(|&j| in_frame(j))
                        .map(|j| agg.arg.as_ref().map_or(Value::Int(1), |e| ev(e, &rows[j])))
                        .filter(|v| *v != Value::Null)
                        .collect();
                    let mut r = row.clone();
                    r.push(fold(agg.func, &values));
                    *out.entry(r).or_insert(0) += 1;
                }
            }
        }
        Relation::Union { inputs, .. } => {
            for i in inputs {
                for (row, n) in evaluate(i, env) {
                    *out.entry(row).or_insert(0) += n;
                }
            }
        }
        Relation::Join {
            left,
            right,
            kind,
            left_key,
            right_key,
            residual,
            ..
        } => {
            let (l, r) = (evaluate(left, env), evaluate(right, env));
            let (lw, rw) = (left.schema().len(), right.schema().len());
            let matches = |a: &[Value], b: &[Value]| {
                let ka: Vec<Value> = left_key.iter().map(|e| ev(e, a)).collect();
                let kb: Vec<Value> = right_key.iter().map(|e| ev(e, b)).collect();
                let joined: Vec<Value> = a.iter().chain(b).cloned().collect();
                !ka.contains(&Value::Null)
                    && ka == kb
                    && residual
                        .as_ref()
                        .is_none_or(|p| ev(p, &joined) == Value::Bool(true))
            };
            for (a, n) in &l {
                for (b, m) in &r {
                    if matches(a, b) {
                        *out.entry(a.iter().chain(b).cloned().collect()).or_insert(0) += n * m;
                    }
                }
            }
            if kind.left_only() {
                out.clear();
                let semi = *kind == ddflow::plan::ir::JoinKind::Semi;
                for (a, n) in l
                    .iter()
                    .filter(|(a, _)| r.keys().any(|b| matches(a, b)) == semi)
                {
                    *out.entry(a.clone()).or_insert(0) += n;
                }
            }
            if kind.keeps_left() {
                for (a, n) in l.iter().filter(|(a, _)| !r.keys().any(|b| matches(a, b))) {
                    let row = a
                        .iter()
                        .cloned()
                        .chain(std::iter::repeat_n(Value::Null, rw));
                    *out.entry(row.collect()).or_insert(0) += n;
                }
            }
            if kind.keeps_right() {
                for (b, m) in r.iter().filter(|(b, _)| !l.keys().any(|a| matches(a, b))) {
                    let row = std::iter::repeat_n(Value::Null, lw).chain(b.iter().cloned());
                    *out.entry(row.collect()).or_insert(0) += m;
                }
            }
        }
    }
    out.retain(|_, n| *n != 0);
    out
}

/// Two rows in the order of `order` (NULL least, unless placed).
fn order_cmp(order: &[OrderKey], a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    for o in order {
        let (x, y) = (ev(&o.expr, a), ev(&o.expr, b));
        let nulls = if o.nulls_first {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        };
        let c = match (x == Value::Null, y == Value::Null) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => nulls,
            (false, true) => nulls.reverse(),
            _ if o.descending => y.cmp(&x),
            _ => x.cmp(&y),
        };
        if c.is_ne() {
            return c;
        }
    }
    std::cmp::Ordering::Equal
}

fn fold(func: AggFunc, values: &[Value]) -> Value {
    let ints = || {
        values.iter().map(|v| {
            if let Value::Int(i) = v {
                *i
            } else {
                panic!("ints only in the oracle")
            }
        })
    };
    match func {
        AggFunc::Count => Value::Int(values.len() as i64),
        AggFunc::Sum if values.is_empty() => Value::Null,
        AggFunc::Sum => Value::Int(ints().sum()),
        AggFunc::Min => values.iter().min().cloned().unwrap_or(Value::Null),
        AggFunc::Max => values.iter().max().cloned().unwrap_or(Value::Null),
        AggFunc::Avg if values.is_empty() => Value::Null,
        // An integer average is an integer, truncated toward zero (as in Flink).
        AggFunc::Avg => {
            Value::Int((ints().map(i128::from).sum::<i128>() / values.len() as i128) as i64)
        }
    }
}
