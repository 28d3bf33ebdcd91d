//! A stable, readable text form of a planned program (`ddflow explain`, golden tests).

use std::fmt::Write;

use crate::data::Schema;
use crate::plan::ir::*;
use crate::spec::{BadRecordPolicy, ColumnSource, MessageFormat, SinkConnector, SourceFormat};

/// The whole program: sources, then views, then sinks, each relation as an indented tree.
pub fn explain(program: &Program) -> String {
    let mut out = String::new();
    for s in &program.sources {
        let format = match &s.format {
            SourceFormat::Raw => "raw".to_string(),
            SourceFormat::Json => "json".to_string(),
            SourceFormat::Csv { delimiter } => format!("csv delimiter={:?}", *delimiter as char),
        };
        let bad = match &s.bad_records {
            BadRecordPolicy::Fail => "fail".to_string(),
            BadRecordPolicy::Skip => "skip".to_string(),
            BadRecordPolicy::DeadLetter { topic } => format!("dead-letter({topic})"),
        };
        match &s.file {
            Some(path) => writeln!(
                out,
                "source {}: file path={path} format={format} (read whole by every run) bad-records={bad}",
                s.name
            ),
            None => writeln!(
                out,
                "source {}: kafka topic={} format={format} startup={:?} bounded={} bad-records={bad}",
                s.name, s.topic, s.startup, s.bounded
            ),
        }
        .ok();
        for (i, (c, origin)) in s.schema.columns.iter().zip(&s.column_sources).enumerate() {
            let unread = (s.columns_read.as_ref()).is_some_and(|read| !read.contains(&i));
            let origin = if *origin != ColumnSource::Value {
                format!(" METADATA {origin:?}")
            } else if unread {
                " (not read: skipped, not decoded)".to_string()
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {} {}{origin}", c.name, c.ty);
        }
        if let Some((column, expr)) = &s.watermark {
            let _ = writeln!(out, "  watermark for {column}: {expr}");
        }
    }
    for v in &program.views {
        let _ = writeln!(out, "view {}:", v.name);
        functions(&mut out, &v.relation);
        relation(&mut out, &v.relation, 1);
    }
    for s in &program.sinks {
        let key: Vec<&str> = s
            .sink
            .primary_key
            .iter()
            .map(|i| s.sink.schema.columns[*i].name.as_str())
            .collect();
        let target = match &s.sink.connector {
            SinkConnector::Kafka {
                topic,
                mode,
                key_format,
                value_format,
                value_except_key,
                ..
            } => {
                let mut t = format!("kafka topic={topic} mode={mode:?}");
                if (*key_format, *value_format, *value_except_key)
                    != (MessageFormat::Json, MessageFormat::Json, false)
                {
                    let except = if *value_except_key {
                        " value.fields-include=EXCEPT_KEY"
                    } else {
                        ""
                    };
                    t.push_str(&format!(
                        " key.format={key_format:?} value.format={value_format:?}{except}"
                    ));
                }
                t
            }
            SinkConnector::Print { mode } => format!("print mode={mode:?}"),
            SinkConnector::Blackhole => "blackhole".to_string(),
            SinkConnector::File {
                path,
                format,
                partition_by,
            } => {
                let parts: Vec<&str> = (partition_by.iter())
                    .map(|&i| s.sink.schema.columns[i].name.as_str())
                    .collect();
                let parts = if parts.is_empty() {
                    String::new()
                } else {
                    format!(" partitioned by ({})", parts.join(", "))
                };
                format!("file path={path} format={format:?}{parts}")
            }
        };
        let key = if key.is_empty() {
            String::new()
        } else {
            format!(" key=({})", key.join(", "))
        };
        let close = s.on_close.as_ref().map_or(String::new(), |c| {
            format!(
                " emit=on-window-close(window_end {}, watermark of {})",
                s.sink.schema.columns[c.column].name, c.watermark
            )
        });
        let _ = writeln!(out, "sink {}: {target}{key}{close}", s.sink.name);
        functions(&mut out, &s.relation);
        relation(&mut out, &s.relation, 1);
    }
    out
}

/// The catalog functions a view or sink's query calls, by name, once each (none: no line).
fn functions(out: &mut String, r: &Relation) {
    let mut names = std::collections::BTreeSet::new();
    r.visit_exprs(&mut |e| {
        if let Expr::Call { func, .. } = e {
            if let Some(def) = crate::plan::functions::CATALOG
                .iter()
                .find(|d| d.func == *func)
            {
                names.insert(def.names[0].to_uppercase());
            }
        }
    });
    if !names.is_empty() {
        let names: Vec<String> = names.into_iter().collect();
        let _ = writeln!(out, "  functions: {}", names.join(", "));
    }
}

fn relation(out: &mut String, r: &Relation, depth: usize) {
    let pad = "  ".repeat(depth);
    match r {
        Relation::Get { name, .. } => {
            let _ = writeln!(out, "{pad}Get {name}");
        }
        Relation::Filter { input, predicate } => {
            let _ = writeln!(out, "{pad}Filter {}", expr(predicate, input.schema()));
            relation(out, input, depth + 1);
        }
        Relation::Project {
            input,
            exprs,
            schema,
        } => {
            let cols: Vec<String> = exprs
                .iter()
                .zip(&schema.columns)
                .map(|(e, c)| {
                    let text = expr(e, input.schema());
                    if text == c.name {
                        text
                    } else {
                        format!("{text} AS {}", c.name)
                    }
                })
                .collect();
            let _ = writeln!(out, "{pad}Project {}", cols.join(", "));
            relation(out, input, depth + 1);
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            schema,
            expire,
        } => {
            let keys: Vec<String> = group_key.iter().map(|e| expr(e, input.schema())).collect();
            let aggs: Vec<String> = aggregates
                .iter()
                .zip(schema.columns.iter().skip(group_key.len()))
                .map(|(a, c)| {
                    let arg = a
                        .arg
                        .as_ref()
                        .map_or("*".into(), |e| expr(e, input.schema()));
                    let d = if a.distinct { "DISTINCT " } else { "" };
                    let how = match a.strategy {
                        AggStrategy::Accumulable => "accumulable",
                        AggStrategy::InsertOnly => "insert-only",
                        AggStrategy::Distinct => "distinct, accumulable",
                        AggStrategy::DistinctInserts => "distinct of inserts, accumulable",
                        AggStrategy::Hierarchical => "hierarchical",
                    };
                    format!("{:?}({d}{arg}) AS {} [{how}]", a.func, c.name).to_lowercase()
                })
                .collect();
            let expiry = expiry(expire.as_ref(), &keys);
            let _ = writeln!(
                out,
                "{pad}Reduce key=({}) aggs=({}){expiry}",
                keys.join(", "),
                aggs.join(", ")
            );
            relation(out, input, depth + 1);
        }
        Relation::Window {
            input,
            kind,
            time,
            watermark,
            partition,
            ..
        } => {
            let t = &input.schema().columns[*time].name;
            let how = match kind {
                WindowKind::Tumble { size, offset } => {
                    format!("TUMBLE size={size}ms offset={offset}ms")
                }
                WindowKind::Hop {
                    slide,
                    size,
                    offset,
                } => {
                    format!("HOP slide={slide}ms size={size}ms offset={offset}ms")
                }
                WindowKind::Cumulate { step, size, offset } => {
                    format!("CUMULATE step={step}ms size={size}ms offset={offset}ms")
                }
                WindowKind::Session { gap } => {
                    let by: Vec<&str> = partition
                        .iter()
                        .map(|c| input.schema().columns[*c].name.as_str())
                        .collect();
                    format!("SESSION gap={gap}ms partition=({})", by.join(", "))
                }
            };
            let late = watermark.as_ref().map_or(String::new(), |w| {
                format!(" late=(at or behind watermark({w}): dropped)")
            });
            let _ = writeln!(out, "{pad}Window {how} time={t}{late}");
            relation(out, input, depth + 1);
        }
        Relation::Join {
            left,
            right,
            kind,
            left_key,
            right_key,
            residual,
            schema,
            as_of,
            expire,
        } => {
            let on: Vec<String> = left_key
                .iter()
                .zip(right_key)
                .map(|(l, r)| format!("{} = {}", expr(l, left.schema()), expr(r, right.schema())))
                .collect();
            let on = on.join(", ");
            // The residual reads `left ++ right` (a semi-join's schema is the left one).
            let both = if kind.left_only() {
                let mut both = left.schema().clone();
                both.columns.extend(right.schema().columns.iter().cloned());
                both
            } else {
                schema.clone()
            };
            let residual = residual
                .as_ref()
                .map_or(String::new(), |e| format!(" residual={}", expr(e, &both)));
            let temporal = as_of.as_ref().map_or(String::new(), |a| {
                let versions = if a.versions_insert_only {
                    "each key's versions before its last one behind it go"
                } else {
                    "versions are kept"
                };
                let state = a.watermark.as_ref().map_or(String::new(), |w| {
                    format!(" late=(at or behind watermark({w}): dropped) state=(left rows behind it go; {versions})")
                });
                format!(
                    " as_of=(left.{} in right.{} until the key's next version){state}",
                    left.schema().columns[a.left_time].name,
                    right.schema().columns[a.right_time].name,
                )
            });
            let expire = expire.as_ref().map_or(String::new(), |e| {
                let watermark = |s: &crate::plan::ir::SideExpire| match s.lateness_ms {
                    0 => format!("watermark({})", s.watermark),
                    l => format!("watermark({}) - {l}ms", s.watermark),
                };
                let (lw, rw) = (watermark(&e.left), watermark(&e.right));
                let (lt, rt) = (
                    &left.schema().columns[e.left.time].name,
                    &right.schema().columns[e.right.time].name,
                );
                let bound = if lw == rw { lw.clone() } else { format!("the lesser of {lw}, {rw}") };
                let goes = |time: &str, s: &crate::plan::ir::SideExpire| {
                    s.horizon_ms.map_or("are kept".into(), |h| {
                        format!("go once {time} + {h}ms is behind {bound}")
                    })
                };
                format!(
                    " late=(left.{lt} at or behind {lw}, right.{rt} at or behind {rw}: dropped) state=(left rows {}; right rows {})",
                    goes(lt, &e.left),
                    goes(rt, &e.right),
                )
            });
            let _ = writeln!(
                out,
                "{pad}Join {} key=({on}){residual}{temporal}{expire}",
                format!("{kind:?}").to_lowercase()
            );
            relation(out, left, depth + 1);
            relation(out, right, depth + 1);
        }
        Relation::TopN {
            input,
            partition_key,
            order,
            limit,
            strategy,
            expire,
            ..
        } => {
            let keys: Vec<String> = partition_key
                .iter()
                .map(|e| expr(e, input.schema()))
                .collect();
            let order: Vec<String> = order
                .iter()
                .map(|o| {
                    let dir = if o.descending { "DESC" } else { "ASC" };
                    let nulls = if o.nulls_first { "FIRST" } else { "LAST" };
                    format!("{} {dir} NULLS {nulls}", expr(&o.expr, input.schema()))
                })
                .collect();
            let how = match strategy {
                TopNStrategy::InsertOnly => "insert-only",
                TopNStrategy::Hierarchical => "hierarchical",
            };
            let limit = limit.map_or("?".into(), |l| l.to_string());
            let expiry = expiry(expire.as_ref(), &keys);
            let _ = writeln!(
                out,
                "{pad}TopN partition=({}) order=({}) limit={limit} [{how}]{expiry}",
                keys.join(", "),
                order.join(", "),
            );
            relation(out, input, depth + 1);
        }
        Relation::Over {
            input,
            partition_key,
            order,
            over,
            schema,
        } => {
            let keys: Vec<String> = (partition_key.iter())
                .map(|e| expr(e, input.schema()))
                .collect();
            let order: Vec<String> = (order.iter())
                .map(|o| {
                    let dir = if o.descending { "DESC" } else { "ASC" };
                    let nulls = if o.nulls_first { "FIRST" } else { "LAST" };
                    format!("{} {dir} NULLS {nulls}", expr(&o.expr, input.schema()))
                })
                .collect();
            let a = &over.aggregate;
            let arg = a
                .arg
                .as_ref()
                .map_or("*".into(), |e| expr(e, input.schema()));
            let frame = match over.frame {
                OverFrame::Rows(Some(n)) => format!("ROWS {n} PRECEDING"),
                OverFrame::Rows(None) => "ROWS UNBOUNDED PRECEDING".into(),
                OverFrame::Range(Some(d)) => format!("RANGE {d} PRECEDING"),
                OverFrame::Range(None) => "RANGE UNBOUNDED PRECEDING".into(),
            };
            let name = schema.columns.last().map_or("", |c| c.name.as_str());
            let _ = writeln!(
                out,
                "{pad}Over partition=({}) order=({}) {:?}({arg}) {frame} AS {name}",
                keys.join(", "),
                order.join(", "),
                a.func
            );
            relation(out, input, depth + 1);
        }
        Relation::Union { inputs, .. } => {
            let _ = writeln!(out, "{pad}Union all");
            for i in inputs {
                relation(out, i, depth + 1);
            }
        }
        Relation::Recursive { name, body, .. } => {
            // The parts reading `name` run in the loop: a GROUP BY there is one reduce,
            // whatever strategy the line shows.
            let _ = writeln!(
                out,
                "{pad}Recursive {name} (iterated to a fixed point; what reads {name} runs in the loop)"
            );
            relation(out, body, depth + 1);
        }
    }
}

/// When a `GROUP BY`'s or top-N's state goes (`keys`: its key expressions as text).
fn expiry(expire: Option<&Expire>, keys: &[String]) -> String {
    expire.map_or(String::new(), |e| {
        format!(
            " expire=(when watermark({}) passes {} + {}ms)",
            e.watermark,
            keys.get(e.key).map_or("?", String::as_str),
            e.lateness_ms,
        ) + if e.on_close {
            " emit=on-window-close"
        } else {
            ""
        }
    })
}

/// An expression as SQL-like text, with column names from `schema`.
pub fn expr(e: &Expr, schema: &Schema) -> String {
    match e {
        Expr::Column(i) => schema
            .columns
            .get(*i)
            .map_or(format!("#{i}"), |c| c.name.clone()),
        Expr::Literal(crate::data::Value::Str(s)) => format!("'{}'", s.replace('\'', "''")),
        Expr::Literal(d) => d.to_string(),
        Expr::Unary {
            op: UnaryOp::Not,
            expr: x,
        } => format!("NOT {}", expr(x, schema)),
        Expr::Unary {
            op: UnaryOp::Neg,
            expr: x,
        } => format!("-{}", expr(x, schema)),
        Expr::Binary { op, left, right } => {
            let op = match op {
                BinaryOp::Add => "+",
                BinaryOp::Sub => "-",
                BinaryOp::Mul => "*",
                BinaryOp::Div => "/",
                BinaryOp::Mod => "%",
                BinaryOp::Eq => "=",
                BinaryOp::NotEq => "<>",
                BinaryOp::Lt => "<",
                BinaryOp::LtEq => "<=",
                BinaryOp::Gt => ">",
                BinaryOp::GtEq => ">=",
                BinaryOp::And => "AND",
                BinaryOp::Or => "OR",
                BinaryOp::Concat => "||",
            };
            format!("({} {op} {})", expr(left, schema), expr(right, schema))
        }
        Expr::Cast {
            expr: x, ty, safe, ..
        } => {
            let cast = if *safe { "TRY_CAST" } else { "CAST" };
            format!("{cast}({} AS {ty})", expr(x, schema))
        }
        Expr::Like {
            expr: x,
            pattern,
            escape,
        } => {
            let escape = escape.map_or(String::new(), |c| {
                format!(" ESCAPE '{}'", c.to_string().replace('\'', "''"))
            });
            format!(
                "({} LIKE {}{escape})",
                expr(x, schema),
                expr(pattern, schema)
            )
        }
        Expr::IsNull { expr: x, negated } => format!(
            "{} IS {}NULL",
            expr(x, schema),
            if *negated { "NOT " } else { "" }
        ),
        Expr::Call { func, args } => {
            let args: Vec<String> = args.iter().map(|a| expr(a, schema)).collect();
            match (func, args.as_slice()) {
                (ScalarFunc::ArrayConstruct, _) => return format!("ARRAY[{}]", args.join(", ")),
                (ScalarFunc::ArrayElement, [a, i]) => return format!("{a}[{i}]"),
                _ => {}
            }
            let name = crate::plan::functions::CATALOG
                .iter()
                .find(|f| f.func == *func)
                .map_or_else(|| format!("{func:?}"), |f| f.names[0].to_string());
            format!("{}({})", name.to_uppercase(), args.join(", "))
        }
        Expr::Case {
            branches,
            otherwise,
        } => {
            let mut s = "CASE".to_string();
            for (c, r) in branches {
                let _ = write!(s, " WHEN {} THEN {}", expr(c, schema), expr(r, schema));
            }
            let _ = write!(s, " ELSE {} END", expr(otherwise, schema));
            s
        }
    }
}
