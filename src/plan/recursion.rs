//! Whether a `WITH RECURSIVE` relation reaches its fixed point on every input.
//!
//! The input is a stream: any rows may come, so a graph may have cycles. Iterating a body over
//! such input ends when the rows it can make are finitely many and each step only adds to what
//! it had (a monotone body), so [`check`] accepts exactly that, as a Datalog engine would:
//!
//! - every column of the body's output is **finite**: a value from outside the recursion
//!   (tables, views, constants, anything computed from them), or the relation's own value
//!   passed on unchanged; or a column that grows step by step (`depth + 1`) **bounded** by a
//!   filter on that column in the recursive part (`WHERE depth < 10`); or the least of values
//!   that grow (`MIN(hops + 1) ... GROUP BY node`, a shortest path: a least over
//!   non-negative steps settles, like Bellman-Ford without negative cycles), or the greatest of
//!   values that shrink;
//! - the body reads the relation only through filters, projections, inner joins, `EXISTS`/`IN`,
//!   `UNION`s and `GROUP BY`s with `MIN`/`MAX` (no `COUNT`/`SUM`, no negation: `NOT EXISTS`,
//!   `EXCEPT`, an outer join's padded side), so each step only adds rows;
//! - duplicates do not pile up: the body's result is a set (`UNION`, `DISTINCT`, `GROUP BY`), or
//!   a bounded column grows on every step, so every derivation is finitely long.
//!
//! Anything else is refused with what grows, or what is read negatively, and how to write it.
//!
//! ```
//! use ddflow::builder::Dataflow;
//!
//! # fn main() -> ddflow::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("ddflow-doc-rec-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let (edges, out) = (dir.join("edges.csv"), dir.join("hops.jsonl"));
//! std::fs::write(&edges, "0,1\n1,2\n2,0\n2,3\n7,8\n").unwrap();
//! let tables = format!(
//!     "CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'filesystem',
//!        'path' = '{}', 'format' = 'csv');
//!      CREATE TABLE hops (node BIGINT, hops BIGINT) WITH ('connector' = 'filesystem',
//!        'path' = '{}', 'format' = 'json');",
//!     edges.display(),
//!     out.display()
//! );
//! // The least number of hops from node 0: a MIN over steps that add one settles, even
//! // around the cycle 0 -> 1 -> 2 -> 0.
//! let shortest = "INSERT INTO hops
//!     WITH RECURSIVE h (node BIGINT, hops BIGINT) AS (
//!       SELECT node, MIN(hops) FROM (
//!         SELECT src AS node, 0 AS hops FROM edges WHERE src = 0
//!         UNION ALL SELECT e.dst, h.hops + 1 FROM h JOIN edges AS e ON e.src = h.node) AS s
//!       GROUP BY node)
//!     SELECT node, hops FROM h;";
//! Dataflow::sql(&format!("{tables} {shortest}"))?.run(["doc".to_string()], |_| Ok(()))?;
//! let written = std::fs::read_to_string(&out).unwrap();
//! for row in [r#""node":0,"hops":0"#, r#""node":1,"hops":1"#, r#""node":3,"hops":3"#] {
//!     assert!(written.contains(row), "{written}");
//! }
//! assert_eq!(written.lines().count(), 4); // 8 is not reachable from 0
//!
//! // The longest path instead never settles around the cycle: refused when planned.
//! let longest = shortest.replace("MIN(hops)", "MAX(hops)");
//! let e = ddflow::plan::plan_text("longest.sql", &format!("{tables} {longest}")).unwrap_err();
//! assert!(e.to_string().contains("can take new values forever"), "{e}");
//! # Ok(())
//! # }
//! ```

use crate::data::Schema;
use crate::plan::ir::{AggFunc, BinaryOp, Expr, JoinKind, Relation};

/// Why a recursion is refused: the message and a hint.
pub type Refusal = (String, String);

/// Where a column's values come from, as far as termination goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// Not from the recursion: finitely many values.
    Ground,
    /// The relation's column `i`, unchanged, read at occurrence `o` of the relation (a body
    /// may read it more than once: a bound on one occurrence says nothing of another).
    Copy(usize, usize),
    /// Finitely many values: the relation's columns, unchanged or bounded, not all from one
    /// column.
    Finite,
    /// The relation's column `i` (occurrence `o`) moved in one direction (`+1`: up).
    Step(usize, Dir, usize),
    /// The relation's column `i` moved in one direction, under a bound in that direction.
    Bounded(usize, Dir),
    /// The least (`Up`) or greatest (`Down`) of the relation's column `i` moved in that
    /// direction: settles.
    Settles(usize, Dir),
    /// Computed from the relation's values otherwise: may take new values forever.
    Grows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

/// What is known about a relation in the body.
struct Facts {
    cols: Vec<Col>,
    /// The relation's columns (and occurrences) a filter bounds: above (for `Up`) or below
    /// (`Down`).
    bounded: Vec<(usize, Dir, usize)>,
    /// Whether the rows are distinct (a `GROUP BY` or `DISTINCT`).
    set: bool,
}

/// Check the body of the recursive relation `label` (the `WITH` name, with columns `schema`),
/// which reads itself as `Get { name }`.
pub fn check(label: &str, name: &str, body: &Relation, schema: &Schema) -> Result<(), Refusal> {
    let facts = walk(label, name, body, &mut 0)?;
    let mut bounded_step = false;
    for (j, col) in facts.cols.iter().enumerate() {
        let column = schema.columns.get(j).map_or("?", |c| c.name.as_str());
        match *col {
            Col::Ground | Col::Copy(..) | Col::Finite => {}
            Col::Bounded(i, _) => bounded_step |= i == j,
            Col::Settles(i, _) if i == j => {}
            Col::Step(_, dir, _) => {
                let (bound, least) = match dir {
                    Dir::Up => ("WHERE depth < 10", "MIN"),
                    Dir::Down => ("WHERE depth > -10", "MAX"),
                };
                return Err((
                    format!(
                        "column \"{column}\" of recursive \"{label}\" changes on every step \
                         and nothing bounds it: around a cycle in the input it never stops"
                    ),
                    format!(
                        "bound it in the recursive part ({bound}), or keep one value per key \
                         ({least}({column}) with a GROUP BY)"
                    ),
                ));
            }
            Col::Settles(..) | Col::Grows => {
                return Err((
                    format!(
                        "column \"{column}\" of recursive \"{label}\" is computed from its own \
                         last value in a way that can take new values forever"
                    ),
                    "a recursive column may pass a value on, come from outside the recursion, \
                     grow by a constant under a bound (WHERE depth < 10), or be the MIN of a \
                     value grown by a non-negative constant (a shortest path)"
                        .into(),
                ));
            }
        }
    }
    if !facts.set && !bounded_step {
        return Err((
            format!(
                "recursive \"{label}\" keeps duplicates (UNION ALL): around a cycle in the input \
                 the same rows come again forever"
            ),
            "write UNION (distinct rows), or bound a depth column (WHERE depth < 10)".into(),
        ));
    }
    Ok(())
}

/// Whether `r` reads the relation named `name`.
pub fn reads(r: &Relation, name: &str) -> bool {
    match r {
        Relation::Get { name: n, .. } => n.eq_ignore_ascii_case(name),
        other => other.inputs().iter().any(|i| reads(i, name)),
    }
}

/// What is known of `r`; `occ` numbers the occurrences of the relation read so far.
fn walk(label: &str, name: &str, r: &Relation, occ: &mut usize) -> Result<Facts, Refusal> {
    let width = r.schema().len();
    if !reads(r, name) {
        return Ok(Facts {
            cols: vec![Col::Ground; width],
            bounded: Vec::new(),
            set: false,
        });
    }
    let unsupported = |what: &str| -> Refusal {
        (
            format!("recursive \"{label}\" reads itself under {what}, which is not supported"),
            "its recursive part may filter, project, join (inner, EXISTS, IN), UNION and \
             GROUP BY with MIN or MAX"
                .into(),
        )
    };
    Ok(match r {
        Relation::Get { .. } => {
            *occ += 1;
            Facts {
                cols: (0..width).map(|i| Col::Copy(i, *occ)).collect(),
                bounded: Vec::new(),
                set: false,
            }
        }
        Relation::Filter { input, predicate } => {
            let mut facts = walk(label, name, input, occ)?;
            bounds(predicate, &facts.cols, &mut facts.bounded);
            facts.cols = bounded(facts.cols, &facts.bounded);
            facts
        }
        Relation::Project { input, exprs, .. } => {
            let facts = walk(label, name, input, occ)?;
            // Columns passed on in full keep a set a set.
            let mut passed: Vec<usize> = (exprs.iter())
                .filter_map(|e| match e {
                    Expr::Column(c) => Some(*c),
                    _ => None,
                })
                .collect();
            passed.sort_unstable();
            passed.dedup();
            let cols = exprs.iter().map(|e| class(e, &facts.cols)).collect();
            Facts {
                cols: bounded(cols, &facts.bounded),
                bounded: facts.bounded,
                set: facts.set && passed.len() == facts.cols.len(),
            }
        }
        Relation::Union { inputs, .. } => {
            // Bounds name their occurrence, so each part's hold for its own columns.
            let mut cols = vec![Col::Ground; width];
            let mut bounded = Vec::new();
            for input in inputs {
                let facts = walk(label, name, input, occ)?;
                for (c, f) in cols.iter_mut().zip(&facts.cols) {
                    *c = merge(*c, *f);
                }
                bounded.extend(facts.bounded);
            }
            Facts {
                cols,
                bounded,
                set: false,
            }
        }
        Relation::Join {
            left,
            right,
            kind,
            as_of,
            expire,
            ..
        } => {
            let negated = match kind {
                JoinKind::Inner | JoinKind::Semi => None,
                JoinKind::Left if !reads(right, name) => None,
                JoinKind::Right if !reads(left, name) => None,
                JoinKind::Anti => Some("NOT EXISTS / NOT IN"),
                _ => Some("the padded side of an outer join"),
            };
            if let Some(what) = negated {
                return Err((
                    format!(
                        "recursive \"{label}\" reads itself under {what}: a row there can make \
                         another go, so the iteration need not settle"
                    ),
                    "read it only positively (inner joins, EXISTS, IN); compute the \
                     negation after the recursion, over its result"
                        .into(),
                ));
            }
            if as_of.is_some() || expire.is_some() {
                return Err(unsupported("a temporal or interval join"));
            }
            let (l, r) = (
                walk(label, name, left, occ)?,
                walk(label, name, right, occ)?,
            );
            let mut cols = l.cols;
            if !kind.left_only() {
                cols.extend(r.cols);
            }
            let mut bounded = l.bounded;
            bounded.extend(r.bounded);
            Facts {
                cols,
                bounded,
                set: false,
            }
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            expire,
            ..
        } => {
            if expire.is_some() {
                return Err(unsupported("a window's GROUP BY"));
            }
            let facts = walk(label, name, input, occ)?;
            let mut cols: Vec<Col> = group_key.iter().map(|e| class(e, &facts.cols)).collect();
            for a in aggregates {
                let arg = a
                    .arg
                    .as_ref()
                    .map_or(Col::Ground, |e| class(e, &facts.cols));
                let col = match (a.func, arg) {
                    (AggFunc::Min | AggFunc::Max, Col::Ground | Col::Copy(..) | Col::Finite) => arg,
                    (AggFunc::Min | AggFunc::Max, Col::Bounded(..)) => Col::Finite,
                    (AggFunc::Min, Col::Step(i, Dir::Up, _) | Col::Settles(i, Dir::Up)) => {
                        Col::Settles(i, Dir::Up)
                    }
                    (AggFunc::Max, Col::Step(i, Dir::Down, _) | Col::Settles(i, Dir::Down)) => {
                        Col::Settles(i, Dir::Down)
                    }
                    (AggFunc::Min | AggFunc::Max, _) => Col::Grows,
                    _ => {
                        return Err((
                            format!(
                                "recursive \"{label}\" reads itself under {}: each step \
                                 changes the values it reads, so the iteration need not settle",
                                format!("{:?}", a.func).to_uppercase()
                            ),
                            "only MIN and MAX may aggregate inside a recursion; aggregate its \
                             result after it"
                                .into(),
                        ))
                    }
                };
                cols.push(col);
            }
            Facts {
                cols,
                bounded: facts.bounded,
                set: true,
            }
        }
        Relation::Window { .. } => return Err(unsupported("a window")),
        Relation::TopN { .. } => return Err(unsupported("ROW_NUMBER() OVER")),
        Relation::Over { .. } => return Err(unsupported("an OVER aggregate")),
        Relation::Recursive { .. } => return Err(unsupported("another recursion")),
    })
}

/// Where the value of `e` comes from, over columns of classes `cols`.
fn class(e: &Expr, cols: &[Col]) -> Col {
    let mut ground = true;
    e.visit_columns(&mut |c| ground &= cols.get(c) == Some(&Col::Ground));
    if ground {
        return Col::Ground;
    }
    match e {
        Expr::Column(c) => cols.get(*c).copied().unwrap_or(Col::Grows),
        // A widening cast keeps the value.
        Expr::Cast { expr, from, ty, .. } if from.is_numeric() && ty.is_numeric() => {
            class(expr, cols)
        }
        Expr::Binary {
            op: op @ (BinaryOp::Add | BinaryOp::Sub),
            left,
            right,
        } => {
            let (base, k, sub) = match (&**left, &**right) {
                (x, Expr::Literal(v)) => (class(x, cols), constant_sign(v), *op == BinaryOp::Sub),
                (Expr::Literal(v), x) if *op == BinaryOp::Add => {
                    (class(x, cols), constant_sign(v), false)
                }
                _ => return Col::Grows,
            };
            let Some(k) = k else { return Col::Grows };
            let k = if sub { -k } else { k };
            let dir = match k {
                0 => return base,
                k if k > 0 => Dir::Up,
                _ => Dir::Down,
            };
            match base {
                Col::Copy(i, o) => Col::Step(i, dir, o),
                Col::Step(i, d, o) if d == dir => Col::Step(i, dir, o),
                Col::Bounded(i, d) if d == dir => Col::Bounded(i, dir),
                _ => Col::Grows,
            }
        }
        _ => Col::Grows,
    }
}

/// The sign of a numeric constant (`None`: not a number, or NULL).
fn constant_sign(v: &crate::data::Value) -> Option<i8> {
    use crate::data::Value;
    let sign = |x: f64| {
        if x > 0.0 {
            1
        } else if x < 0.0 {
            -1
        } else {
            0
        }
    };
    match v {
        Value::Int(i) => Some(i.signum() as i8),
        Value::Float(f) => Some(sign(f.0)),
        Value::Decimal(m, _) => Some(m.signum() as i8),
        _ => None,
    }
}

/// The two classes a `UNION` column gets from two parts.
fn merge(a: Col, b: Col) -> Col {
    match (a, b) {
        (x, y) if x == y => x,
        (Col::Ground, x) | (x, Col::Ground) => x,
        (
            Col::Copy(..) | Col::Finite | Col::Bounded(..),
            Col::Copy(..) | Col::Finite | Col::Bounded(..),
        ) => Col::Finite,
        _ => Col::Grows,
    }
}

/// The bounds the conjuncts of `predicate` put on the relation's columns: `c < k`, `c <= k`
/// (and `k > c`, `k >= c`) bound a column moving up, `c > k` and `c >= k` one moving down.
fn bounds(predicate: &Expr, cols: &[Col], out: &mut Vec<(usize, Dir, usize)>) {
    let Expr::Binary { op, left, right } = predicate else {
        return;
    };
    if *op == BinaryOp::And {
        bounds(left, cols, out);
        bounds(right, cols, out);
        return;
    }
    let (column, op) = match (&**left, &**right) {
        (c, Expr::Literal(v)) if constant_sign(v).is_some() => (c, *op),
        (Expr::Literal(v), c) if constant_sign(v).is_some() => (c, op.flipped()),
        _ => return,
    };
    let dir = match op {
        BinaryOp::Lt | BinaryOp::LtEq => Dir::Up,
        BinaryOp::Gt | BinaryOp::GtEq => Dir::Down,
        _ => return,
    };
    if let Col::Copy(i, o) | Col::Step(i, _, o) = class(column, cols) {
        if !out.contains(&(i, dir, o)) {
            out.push((i, dir, o));
        }
    }
}

/// `cols` with each step under one of the `bounds` (its column, direction and occurrence)
/// marked bounded.
fn bounded(cols: Vec<Col>, bounds: &[(usize, Dir, usize)]) -> Vec<Col> {
    (cols.into_iter())
        .map(|c| match c {
            Col::Step(i, d, o) if bounds.contains(&(i, d, o)) => Col::Bounded(i, d),
            c => c,
        })
        .collect()
}
