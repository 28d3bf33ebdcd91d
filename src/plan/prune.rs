//! Column pruning: every relation keeps only the columns something above it reads, so a join
//! arranges (and checkpoints) just the columns its output, keys and residual need, not whole
//! input rows.
//!
//! The pass walks each view and sink top-down with the set of columns its parent reads. A
//! `Project` drops the expressions nobody reads; a `Filter`, `Reduce` or `Join` asks its
//! inputs for what it reads itself besides; each side of a `Join` (and each input of a
//! `Union`) is then narrowed to exactly the columns asked for. Sources and views are read
//! whole (a view may have several readers), and a `Reduce` keeps all of its outputs.

use std::collections::{BTreeSet, HashMap};

use crate::data::Schema;
use crate::plan::ir::{Expr, Program, Relation};

/// Prune the columns of every view's and sink's relation.
pub fn prune(program: &mut Program) {
    let relations = program
        .views
        .iter_mut()
        .map(|v| &mut v.relation)
        .chain(program.sinks.iter_mut().map(|s| &mut s.relation));
    for r in relations {
        let all: BTreeSet<usize> = (0..r.schema().len()).collect();
        let mut demand = Demand::new();
        let (pruned, map) = needing(std::mem::replace(r, placeholder()), &all, &mut demand);
        *r = narrow(pruned, &map, &all);
    }
}

/// Per table or view (lowercase name): the columns of it something reads.
type Demand = HashMap<String, BTreeSet<usize>>;

/// Set each JSON source's `columns_read` to the value columns the program reads, when that
/// is fewer than all, so its decoder builds only those (the others read as NULL, and a value
/// of the wrong type in one is not an error: Flink's JSON format skips what a query does
/// not project, too). What reads a source: its uses by the sinks, through the views they
/// read (each view asked for what its readers read of it), and its watermark. Rust code
/// may read any column of any table or view: [`crate::builder`] decodes every column.
pub fn narrow_sources(program: &mut Program) {
    let mut demand = Demand::new();
    for s in &program.sinks {
        let all: BTreeSet<usize> = (0..s.relation.schema().len()).collect();
        needing(s.relation.clone(), &all, &mut demand);
    }
    // Views read only earlier views: from the last back, each is asked for what its readers
    // asked of it.
    for v in program.views.iter().rev() {
        if let Some(asked) = demand.get(&v.name.to_ascii_lowercase()).cloned() {
            needing(v.relation.clone(), &asked, &mut demand);
        }
    }
    for w in &program.watermarks {
        let columns = demand.entry(w.table.to_ascii_lowercase()).or_default();
        w.expr.visit_columns(&mut |c| {
            columns.insert(c);
        });
    }
    for source in &mut program.sources {
        if source.format != crate::spec::SourceFormat::Json {
            continue;
        }
        let read = demand.get(&source.name.to_ascii_lowercase());
        let value = |c: &usize| source.column_sources[*c] == crate::spec::ColumnSource::Value;
        let values = (0..source.schema.len()).filter(|c| value(c)).count();
        let columns: Vec<usize> = read
            .map(|r| r.iter().copied().filter(|c| value(c)).collect())
            .unwrap_or_default();
        if columns.len() < values {
            source.columns_read = Some(columns);
        }
    }
}

/// Where each column of a relation went in its pruned form (`None`: dropped).
type Map = Vec<Option<usize>>;

fn placeholder() -> Relation {
    Relation::Union {
        inputs: Vec::new(),
        schema: Schema::default(),
    }
}

/// `r` with at least the columns in `needed` (in their order, perhaps with others), and
/// where each of its columns went.
fn needing(r: Relation, needed: &BTreeSet<usize>, demand: &mut Demand) -> (Relation, Map) {
    let width = r.schema().len();
    match r {
        Relation::Get { ref name, .. } => {
            demand
                .entry(name.to_ascii_lowercase())
                .or_default()
                .extend(needed.iter().copied());
            (r, (0..width).map(Some).collect())
        }
        Relation::Filter {
            input,
            mut predicate,
        } => {
            let mut need = needed.clone();
            predicate.visit_columns(&mut |c| {
                need.insert(c);
            });
            let (input, map) = needing(*input, &need, demand);
            remap(&mut predicate, &map);
            let relation = Relation::Filter {
                input: Box::new(input),
                predicate,
            };
            (relation, map)
        }
        Relation::Project {
            input,
            exprs,
            schema,
        } => {
            let keep: Vec<usize> = (0..exprs.len()).filter(|i| needed.contains(i)).collect();
            let mut need = BTreeSet::new();
            for &i in &keep {
                exprs[i].visit_columns(&mut |c| {
                    need.insert(c);
                });
            }
            let (input, inner) = needing(*input, &need, demand);
            let mut map = vec![None; exprs.len()];
            let mut kept = Vec::with_capacity(keep.len());
            for (to, &i) in keep.iter().enumerate() {
                let mut e = exprs[i].clone();
                remap(&mut e, &inner);
                kept.push(e);
                map[i] = Some(to);
            }
            let relation = Relation::Project {
                input: Box::new(input),
                exprs: kept,
                schema: pick(&schema, &keep),
            };
            (relation, map)
        }
        Relation::Reduce {
            input,
            mut group_key,
            mut aggregates,
            schema,
            expire,
        } => {
            let mut need = BTreeSet::new();
            let mut read = |e: &Expr| {
                e.visit_columns(&mut |c| {
                    need.insert(c);
                })
            };
            group_key.iter().for_each(&mut read);
            aggregates
                .iter()
                .filter_map(|a| a.arg.as_ref())
                .for_each(&mut read);
            let (input, inner) = needing(*input, &need, demand);
            group_key.iter_mut().for_each(|e| remap(e, &inner));
            for a in &mut aggregates {
                if let Some(e) = &mut a.arg {
                    remap(e, &inner);
                }
            }
            let relation = Relation::Reduce {
                input: Box::new(input),
                group_key,
                aggregates,
                schema,
                expire,
            };
            (relation, (0..width).map(Some).collect())
        }
        Relation::Join {
            left,
            right,
            kind,
            mut left_key,
            mut right_key,
            mut residual,
            schema,
            mut as_of,
            expire,
        } => {
            let (lw, rw) = (left.schema().len(), right.schema().len());
            let (mut need_l, mut need_r) = (BTreeSet::new(), BTreeSet::new());
            let mut split = |c: usize| {
                if c < lw {
                    need_l.insert(c);
                } else {
                    need_r.insert(c - lw);
                }
            };
            needed.iter().for_each(|&c| split(c));
            if let Some(r) = &residual {
                r.visit_columns(&mut split);
            }
            for e in &left_key {
                e.visit_columns(&mut |c| {
                    need_l.insert(c);
                });
            }
            for e in &right_key {
                e.visit_columns(&mut |c| {
                    need_r.insert(c);
                });
            }
            if let Some(a) = &as_of {
                need_l.insert(a.left_time);
                need_r.insert(a.right_time);
            }
            let (l, ml) = needing(*left, &need_l, demand);
            let l = narrow(l, &ml, &need_l);
            let (r, mr) = needing(*right, &need_r, demand);
            let r = narrow(r, &mr, &need_r);
            let (ml, mr) = (exact(lw, &need_l), exact(rw, &need_r));
            let new_lw = need_l.len();
            left_key.iter_mut().for_each(|e| remap(e, &ml));
            right_key.iter_mut().for_each(|e| remap(e, &mr));
            if let Some(a) = &mut as_of {
                a.left_time = ml[a.left_time].expect("the left time is kept");
                a.right_time = mr[a.right_time].expect("the right time is kept");
            }
            // Over `left ++ right`.
            let joined: Map = ml
                .iter()
                .copied()
                .chain(mr.iter().map(|m| m.map(|c| c + new_lw)))
                .collect();
            if let Some(e) = &mut residual {
                remap(e, &joined);
            }
            let (out, map) = if kind.left_only() {
                let keep: Vec<usize> = need_l.iter().copied().collect();
                (pick(&schema, &keep), ml)
            } else {
                let keep: Vec<usize> = need_l
                    .iter()
                    .copied()
                    .chain(need_r.iter().map(|c| c + lw))
                    .collect();
                (pick(&schema, &keep), joined)
            };
            let relation = Relation::Join {
                left: Box::new(l),
                right: Box::new(r),
                kind,
                left_key,
                right_key,
                residual,
                schema: out,
                as_of,
                // Planned after pruning.
                expire,
            };
            (relation, map)
        }
        Relation::Window {
            input,
            kind,
            time,
            watermark,
            partition,
            schema,
        } => {
            // The window columns are always kept; the input keeps what is read, the time and
            // a session's partition.
            let iw = input.schema().len();
            let mut need: BTreeSet<usize> = needed.iter().copied().filter(|c| *c < iw).collect();
            need.insert(time);
            need.extend(partition.iter().copied());
            let (inner, m) = needing(*input, &need, demand);
            let inner = narrow(inner, &m, &need);
            let mut map = exact(iw, &need);
            let time = map[time].expect("the time column is kept");
            let partition = partition
                .iter()
                .map(|c| map[*c].expect("a partition column is kept"))
                .collect();
            let n = need.len();
            map.extend([Some(n), Some(n + 1), Some(n + 2)]);
            let keep: Vec<usize> = need.iter().copied().chain([iw, iw + 1, iw + 2]).collect();
            let relation = Relation::Window {
                input: Box::new(inner),
                kind,
                time,
                watermark,
                partition,
                schema: pick(&schema, &keep),
            };
            (relation, map)
        }
        Relation::TopN {
            input,
            mut partition_key,
            mut order,
            limit,
            schema,
            strategy,
            expire,
        } => {
            // The input keeps what is read above and what the partition and order read; the
            // row number is always kept.
            let iw = input.schema().len();
            let mut need: BTreeSet<usize> = needed.iter().copied().filter(|c| *c < iw).collect();
            for e in partition_key.iter().chain(order.iter().map(|o| &o.expr)) {
                e.visit_columns(&mut |c| {
                    need.insert(c);
                });
            }
            let (inner, m) = needing(*input, &need, demand);
            let inner = narrow(inner, &m, &need);
            let mut map = exact(iw, &need);
            partition_key.iter_mut().for_each(|e| remap(e, &map));
            order.iter_mut().for_each(|o| remap(&mut o.expr, &map));
            map.push(Some(need.len()));
            let keep: Vec<usize> = need.iter().copied().chain([iw]).collect();
            let relation = Relation::TopN {
                input: Box::new(inner),
                partition_key,
                order,
                limit,
                schema: pick(&schema, &keep),
                strategy,
                expire,
            };
            (relation, map)
        }
        // An OVER aggregate orders tied rows by all their columns, so its input keeps them
        // all: what it computes does not depend on what is read above it.
        Relation::Over {
            input,
            partition_key,
            order,
            over,
            schema,
        } => {
            let iw = input.schema().len();
            let all: BTreeSet<usize> = (0..iw).collect();
            let (inner, m) = needing(*input, &all, demand);
            let inner = narrow(inner, &m, &all);
            let relation = Relation::Over {
                input: Box::new(inner),
                partition_key,
                order,
                over,
                schema,
            };
            (relation, (0..width).map(Some).collect())
        }
        Relation::Union { inputs, schema } => {
            let inputs = inputs
                .into_iter()
                .map(|i| {
                    let (i, map) = needing(i, needed, demand);
                    narrow(i, &map, needed)
                })
                .collect();
            let keep: Vec<usize> = needed.iter().copied().collect();
            let relation = Relation::Union {
                inputs,
                schema: pick(&schema, &keep),
            };
            (relation, exact(width, needed))
        }
        // Every column feeds the next step: the body keeps them all (narrowed inside).
        Relation::Recursive { name, body, schema } => {
            let all: BTreeSet<usize> = (0..width).collect();
            let (inner, m) = needing(*body, &all, demand);
            let relation = Relation::Recursive {
                name,
                body: Box::new(narrow(inner, &m, &all)),
                schema,
            };
            (relation, (0..width).map(Some).collect())
        }
    }
}

/// `r` (whose columns went where `map` says) as exactly the columns `needed`, in order.
fn narrow(r: Relation, map: &Map, needed: &BTreeSet<usize>) -> Relation {
    let exprs: Vec<Expr> = needed
        .iter()
        .map(|&c| Expr::Column(map[c].expect("a needed column is kept")))
        .collect();
    let identity = exprs.len() == r.schema().len()
        && exprs
            .iter()
            .enumerate()
            .all(|(i, e)| matches!(e, Expr::Column(c) if *c == i));
    if identity {
        return r;
    }
    let positions: Vec<usize> = needed.iter().map(|&c| map[c].unwrap_or(0)).collect();
    let schema = pick(r.schema(), &positions);
    Relation::Project {
        input: Box::new(r),
        exprs,
        schema,
    }
}

/// The map of a relation of `width` columns narrowed to exactly `needed`.
fn exact(width: usize, needed: &BTreeSet<usize>) -> Map {
    let mut map = vec![None; width];
    for (to, &c) in needed.iter().enumerate() {
        map[c] = Some(to);
    }
    map
}

fn pick(schema: &Schema, positions: &[usize]) -> Schema {
    Schema::new(positions.iter().map(|&i| {
        let c = &schema.columns[i];
        (c.name.clone(), c.ty)
    }))
}

fn remap(e: &mut Expr, map: &Map) {
    e.map_columns(&mut |c| map[c].expect("a column read is kept"));
}

#[cfg(test)]
mod tests {
    fn read(sql: &str) -> Option<Vec<usize>> {
        let tables = "CREATE TABLE t (
                a BIGINT, b STRING, r ROW<x BIGINT, y STRING>, ts TIMESTAMP(3), p INT METADATA FROM 'partition',
                WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
            ) WITH ('connector' = 'kafka', 'topic' = 't',
                'properties.bootstrap.servers' = 'x', 'format' = 'json');
            CREATE TABLE o (a BIGINT, b BIGINT) WITH ('connector' = 'print');";
        let program = crate::plan::plan_text("t.sql", &format!("{tables}\n{sql}")).unwrap();
        program.sources[0].columns_read.clone()
    }

    #[test]
    fn a_json_source_decodes_only_what_the_program_reads() {
        // Columns: a 0, b 1, r.x 2, r.y 3, ts 4, p 5 (metadata).
        assert_eq!(
            read("INSERT INTO o SELECT a, r.x FROM t WHERE b <> 'z';"),
            Some(vec![0, 1, 2])
        );
        // Through a view, asked only for what its reader reads; a view nobody reads asks
        // nothing.
        assert_eq!(
            read(
                "CREATE VIEW v AS SELECT a, r.y, b FROM t;
                 CREATE VIEW unread AS SELECT ts, r.x FROM t;
                 INSERT INTO o SELECT a, CHAR_LENGTH(y) FROM v;"
            ),
            Some(vec![0, 3])
        );
        // A window reads the time column (and its watermark's columns).
        assert_eq!(
            read(
                "INSERT INTO o SELECT a, COUNT(*) FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), \
                 INTERVAL '1' MINUTE)) GROUP BY a, window_start, window_end;"
            ),
            Some(vec![0, 4])
        );
        // Every value column read: nothing to narrow.
        assert_eq!(
            read("INSERT INTO o SELECT a, r.x FROM t WHERE b <> r.y AND ts IS NOT NULL;"),
            None
        );
    }
}
