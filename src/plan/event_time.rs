//! Event time in the plan: which columns carry a table's event time or a window's end, and
//! which `GROUP BY`s and top-Ns over windows let their state go.
//!
//! A column is traced down through projections of it, filters, window functions and group
//! keys to where it comes from. A window's `window_end` closes (and its state may go) under the
//! watermark of the table its time column comes from.

use crate::plan::ir::{AggStrategy, Expire, Expr, JoinKind, Program, Relation, View};

/// The source table whose `WATERMARK` column (`rowtime`, per table) column `col` of `r` is.
pub fn time_attribute(
    r: &Relation,
    col: usize,
    views: &[View],
    rowtimes: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    match r {
        Relation::Get { name, schema } => {
            match views.iter().find(|v| v.name.eq_ignore_ascii_case(name)) {
                Some(v) => time_attribute(&v.relation, col, views, rowtimes),
                None => {
                    let rowtime = rowtimes(name)?;
                    schema.columns[col]
                        .name
                        .eq_ignore_ascii_case(&rowtime)
                        .then(|| name.to_ascii_lowercase())
                }
            }
        }
        Relation::Filter { input, .. } => time_attribute(input, col, views, rowtimes),
        Relation::Project {
            input,
            exprs,
            schema,
        } => match &exprs[col] {
            Expr::Column(c) => time_attribute(input, *c, views, rowtimes),
            // The projection that adds a table's computed columns: the rowtime by name.
            _ => match &**input {
                Relation::Get { name, .. }
                    if !views.iter().any(|v| v.name.eq_ignore_ascii_case(name)) =>
                {
                    let rowtime = rowtimes(name)?;
                    schema.columns[col]
                        .name
                        .eq_ignore_ascii_case(&rowtime)
                        .then(|| name.to_ascii_lowercase())
                }
                _ => None,
            },
        },
        Relation::Window {
            input,
            time,
            schema,
            ..
        } => {
            let width = input.schema().len();
            if col < width {
                time_attribute(input, col, views, rowtimes)
            } else if col == schema.len() - 1 {
                // window_time is a time attribute, as in Flink.
                time_attribute(input, *time, views, rowtimes)
            } else {
                None
            }
        }
        Relation::Reduce {
            input, group_key, ..
        } => match group_key.get(col) {
            Some(Expr::Column(c)) => time_attribute(input, *c, views, rowtimes),
            _ => None,
        },
        // A top-N passes its input's columns on (Flink keeps their time attributes).
        Relation::TopN { input, schema, .. } if col + 1 < schema.len() => {
            time_attribute(input, col, views, rowtimes)
        }
        // A temporal join's rows keep the left row's time attributes, as in Flink.
        Relation::Join {
            left,
            as_of: Some(_),
            ..
        } if col < left.schema().len() => time_attribute(left, col, views, rowtimes),
        Relation::Join { .. } | Relation::Union { .. } | Relation::TopN { .. } => None,
    }
}

/// The table whose watermark closes the windows whose `window_end` column `col` of `r` is.
pub fn window_end(r: &Relation, col: usize, views: &[View]) -> Option<String> {
    match r {
        Relation::Get { name, .. } => views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .and_then(|v| window_end(&v.relation, col, views)),
        Relation::Filter { input, .. } => window_end(input, col, views),
        Relation::Project { input, exprs, .. } => match &exprs[col] {
            Expr::Column(c) => window_end(input, *c, views),
            _ => None,
        },
        Relation::Window {
            input,
            watermark,
            schema,
            ..
        } => {
            let width = input.schema().len();
            if col < width {
                window_end(input, col, views)
            } else if col == schema.len() - 2 {
                watermark.clone()
            } else {
                None
            }
        }
        Relation::Reduce {
            input, group_key, ..
        } => match group_key.get(col) {
            Some(Expr::Column(c)) => window_end(input, *c, views),
            _ => None,
        },
        // A window's rows are ranked within it only if the window is part of the partition;
        // then they are final when it is.
        Relation::TopN {
            input,
            partition_key,
            schema,
            ..
        } if col + 1 < schema.len() => {
            let own = window_end(input, col, views)?;
            partition_key
                .iter()
                .any(|k| matches!(k, Expr::Column(c) if window_end(input, *c, views).as_ref() == Some(&own)))
                .then_some(own)
        }
        // A joined row's window end is final only if both sides' rows of that window are: an
        // inner join whose key equates the window ends of both sides, on one watermark.
        Relation::Join {
            left,
            right,
            kind: JoinKind::Inner,
            left_key,
            right_key,
            ..
        } => {
            let width = left.schema().len();
            let own = if col < width {
                window_end(left, col, views)
            } else {
                window_end(right, col - width, views)
            }?;
            let both = left_key.iter().zip(right_key).any(|pair| match pair {
                (Expr::Column(a), Expr::Column(b)) => {
                    window_end(left, *a, views).as_ref() == Some(&own)
                        && window_end(right, *b, views).as_ref() == Some(&own)
                }
                _ => false,
            });
            both.then_some(own)
        }
        Relation::Join { .. } | Relation::Union { .. } | Relation::TopN { .. } => None,
    }
}

/// Mark every `GROUP BY` whose key holds a window's end, and whose aggregates all live in the
/// one accumulable arrangement, to let a group's state go once its window is final.
pub fn plan_expiry(program: &mut Program) {
    let lateness = |table: &str| {
        program
            .sources
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(table))
            .map_or(0, |s| s.late_records.lateness_ms())
    };
    let lateness: Vec<(String, i64)> = program
        .sources
        .iter()
        .map(|s| (s.name.to_ascii_lowercase(), lateness(&s.name)))
        .collect();
    let views = program.views.clone();
    let relations = program
        .views
        .iter_mut()
        .map(|v| &mut v.relation)
        .chain(program.sinks.iter_mut().map(|s| &mut s.relation));
    for r in relations {
        mark(r, &views, &lateness);
    }
}

fn mark(r: &mut Relation, views: &[View], lateness: &[(String, i64)]) {
    match r {
        Relation::Get { .. } => {}
        Relation::Filter { input, .. }
        | Relation::Project { input, .. }
        | Relation::Window { input, .. } => mark(input, views, lateness),
        Relation::Join { left, right, .. } => {
            mark(left, views, lateness);
            mark(right, views, lateness);
        }
        Relation::Union { inputs, .. } => inputs.iter_mut().for_each(|i| mark(i, views, lateness)),
        // A window top-N: its partitions' state goes with their windows.
        Relation::TopN {
            input,
            partition_key,
            expire,
            ..
        } => {
            mark(input, views, lateness);
            *expire = expiry(input, partition_key, views, lateness);
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            expire,
            ..
        } => {
            mark(input, views, lateness);
            let accumulable = aggregates.iter().all(|a| {
                matches!(
                    a.strategy,
                    AggStrategy::Accumulable | AggStrategy::InsertOnly
                )
            });
            if accumulable {
                *expire = expiry(input, group_key, views, lateness);
            }
        }
    }
}

/// When the state of a group keyed by `key` (over `input`) can go: when a key column is a
/// window's end, once that window is final.
fn expiry(
    input: &Relation,
    key: &[Expr],
    views: &[View],
    lateness: &[(String, i64)],
) -> Option<Expire> {
    let (key, table) = key.iter().enumerate().find_map(|(i, k)| match k {
        Expr::Column(c) => window_end(input, *c, views).map(|t| (i, t)),
        _ => None,
    })?;
    let lateness_ms = lateness
        .iter()
        .find(|(t, _)| *t == table)
        .map_or(0, |(_, l)| *l);
    Some(Expire {
        key,
        watermark: table,
        lateness_ms,
    })
}

/// The tables some window reads the watermark of.
pub fn watermarked_tables(program: &Program) -> Vec<String> {
    fn walk(r: &Relation, out: &mut Vec<String>) {
        match r {
            Relation::Get { .. } => {}
            Relation::Filter { input, .. }
            | Relation::Project { input, .. }
            | Relation::Reduce { input, .. }
            | Relation::TopN { input, .. } => walk(input, out),
            Relation::Window {
                input, watermark, ..
            } => {
                if let Some(t) = watermark {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
                walk(input, out);
            }
            Relation::Join {
                left, right, as_of, ..
            } => {
                if let Some(t) = as_of.as_ref().and_then(|a| a.watermark.as_ref()) {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
                walk(left, out);
                walk(right, out);
            }
            Relation::Union { inputs, .. } => inputs.iter().for_each(|i| walk(i, out)),
        }
    }
    let mut out = Vec::new();
    for v in &program.views {
        walk(&v.relation, &mut out);
    }
    for s in &program.sinks {
        walk(&s.relation, &mut out);
    }
    out
}
