//! `OVER` aggregates in a select list: `AVG(price) OVER (PARTITION BY seller ORDER BY
//! dateTime ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)`, and the `RANGE` and `UNBOUNDED`
//! frames, as Flink writes them. Each such item becomes a [`Relation::Over`] appending its
//! value to every row; the select list then reads that column. An `OVER` aggregate inside a
//! larger expression is refused (select it, and compute with it in the query over it).

use super::scalar::is_agg_name;
use super::top_n::MAX_ORDER_KEYS;
use super::*;

/// The frames taken, for refusals.
const FRAMES: &str = "ROWS BETWEEN n PRECEDING AND CURRENT ROW, ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW, RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW, or no frame (RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)";

impl Lowerer<'_> {
    /// The select list's `AGG(x) OVER (...)` items: `input` with each one's value appended,
    /// in item order, and `(item position, column)` per item.
    pub(super) fn over_items(
        &mut self,
        mut input: Relation,
        scope: &Scope,
        items: &[(SqlExpr, Option<String>)],
        aggregating: bool,
    ) -> Result<(Relation, Vec<(usize, usize)>)> {
        let mut columns = Vec::new();
        for (at, (e, alias)) in items.iter().enumerate() {
            let SqlExpr::Function(f) = e else { continue };
            if f.over.is_none() || !is_agg_name(&object_name(&f.name).to_ascii_lowercase()) {
                continue;
            }
            if aggregating {
                return Err(self.err(
                    e.span(),
                    "an OVER aggregate in a query with GROUP BY (or another aggregate) is not supported",
                    Some("aggregate in a subquery (or WITH) and compute the OVER aggregate in the query over it".into()),
                ));
            }
            let name = super::query::output_name(e, alias.as_deref(), at);
            let column = input.schema().len();
            input = self.over(input, scope, e, f, name)?;
            columns.push((at, column));
        }
        Ok((input, columns))
    }

    /// `input` with the value of `f`, an aggregate with a window, appended to each row.
    fn over(
        &mut self,
        input: Relation,
        scope: &Scope,
        e: &SqlExpr,
        f: &sql::Function,
        name: String,
    ) -> Result<Relation> {
        let span = e.span();
        let spec =
            match &f.over {
                Some(sql::WindowType::WindowSpec(spec)) if spec.window_name.is_none() => spec,
                _ => return Err(self.err(
                    span,
                    "named windows (OVER w) are not supported",
                    Some(
                        "write the window in place: AVG(x) OVER (PARTITION BY ... ORDER BY ...)"
                            .into(),
                    ),
                )),
            };
        let mut cx = Some(AggCx {
            keys: Vec::new(),
            aggs: Vec::new(),
        });
        let (_, ty) = self.agg_call(e, f, scope, &mut cx)?;
        let Some((mut aggregate, _, _)) = cx.and_then(|cx| cx.aggs.into_iter().next()) else {
            return Err(Error::Internal("an OVER aggregate lost its call".into()));
        };
        if aggregate.distinct {
            return Err(self.err(span, "DISTINCT in an OVER aggregate is not supported", None));
        }
        // The frame's rows are folded afresh at each change of the partition, so MIN and MAX
        // keep the best value of what they have seen, as over an insert-only input.
        aggregate.strategy = match aggregate.func {
            AggFunc::Min | AggFunc::Max => AggStrategy::InsertOnly,
            _ => AggStrategy::Accumulable,
        };
        let mut partition_key = Vec::new();
        for p in &spec.partition_by {
            if contains_agg(p) {
                return Err(self.err(p.span(), "aggregates are not allowed in PARTITION BY", None));
            }
            partition_key.push(self.expr(p, scope, &mut None)?.0);
        }
        let (order, order_types) = self.over_order(spec, scope)?;
        let frame = self.frame(spec, scope, &order, &order_types, span)?;
        let mut cols: Vec<(String, DataType)> = (input.schema().columns.iter())
            .map(|c| (c.name.clone(), c.ty))
            .collect();
        cols.push((name, ty));
        Ok(Relation::Over {
            input: Box::new(input),
            partition_key,
            order,
            over: OverAggregate { aggregate, frame },
            schema: Schema::new(cols),
        })
    }

    /// The window's `ORDER BY`, with each key's type.
    fn over_order(
        &mut self,
        spec: &sql::WindowSpec,
        scope: &Scope,
    ) -> Result<(Vec<OrderKey>, Vec<DataType>)> {
        if spec.order_by.len() > MAX_ORDER_KEYS {
            return Err(self.err(
                spec.order_by[MAX_ORDER_KEYS].expr.span(),
                format!("an OVER window orders by at most {MAX_ORDER_KEYS} keys"),
                None,
            ));
        }
        let (mut order, mut types) = (Vec::new(), Vec::new());
        for o in &spec.order_by {
            if contains_agg(&o.expr) {
                return Err(self.err(
                    o.expr.span(),
                    "aggregates are not allowed in ORDER BY here",
                    None,
                ));
            }
            let descending = match &o.options.sort {
                None | Some(sql::OrderBySort::Asc) => false,
                Some(sql::OrderBySort::Desc) => true,
                Some(sql::OrderBySort::Using(_)) => {
                    return Err(self.err(
                        o.expr.span(),
                        "ORDER BY ... USING is not supported",
                        None,
                    ))
                }
            };
            let (expr, ty) = self.expr(&o.expr, scope, &mut None)?;
            if matches!(ty, DataType::Array(_)) {
                return Err(self.err(o.expr.span(), format!("{ty} values have no order"), None));
            }
            order.push(OrderKey {
                expr,
                descending,
                nulls_first: o.options.nulls_first.unwrap_or(!descending),
            });
            types.push(ty);
        }
        Ok((order, types))
    }

    /// The window's frame: it must end at the current row.
    fn frame(
        &mut self,
        spec: &sql::WindowSpec,
        scope: &Scope,
        order: &[OrderKey],
        order_types: &[DataType],
        span: sqlparser::tokenizer::Span,
    ) -> Result<OverFrame> {
        use sql::{WindowFrameBound as Bound, WindowFrameUnits as Units};
        let Some(frame) = &spec.window_frame else {
            return Ok(OverFrame::Range(None));
        };
        let refuse = |l: &Self, what: &str| {
            Err(l.err(
                span,
                format!("{what} is not supported in an OVER window"),
                Some(format!("frames taken: {FRAMES}")),
            ))
        };
        match &frame.end_bound {
            None | Some(Bound::CurrentRow) => {}
            Some(_) => return refuse(self, "a frame that does not end at the current row"),
        }
        let preceding = match &frame.start_bound {
            Bound::CurrentRow => Some(None),
            Bound::Preceding(None) => None,
            Bound::Preceding(Some(e)) => Some(Some(&**e)),
            Bound::Following(_) => return refuse(self, "a frame starting at a following row"),
        };
        match frame.units {
            Units::Rows => {
                let n = match preceding {
                    None => return Ok(OverFrame::Rows(None)),
                    Some(None) => 0,
                    Some(Some(e)) => match e {
                        SqlExpr::Value(v) => match &v.value {
                            Value::Number(n, _) => n.parse::<u64>().ok(),
                            _ => None,
                        },
                        _ => None,
                    }
                    .ok_or_else(|| {
                        self.err(
                            e.span(),
                            "ROWS ... PRECEDING takes a whole number of rows",
                            Some("e.g. ROWS BETWEEN 10 PRECEDING AND CURRENT ROW".into()),
                        )
                    })?,
                };
                Ok(OverFrame::Rows(Some(n)))
            }
            Units::Range => {
                let Some(bound) = preceding else {
                    return Ok(OverFrame::Range(None));
                };
                let ascending_time = matches!(
                    (order, order_types),
                    ([o], [DataType::Int | DataType::Timestamp | DataType::Date]) if !o.descending
                );
                if !ascending_time {
                    return Err(self.err(
                        span,
                        "a RANGE frame with an offset needs one ascending ORDER BY key of type TIMESTAMP, DATE or BIGINT",
                        Some("e.g. OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW)".into()),
                    ));
                }
                let Some(e) = bound else {
                    return Ok(OverFrame::Range(Some(0)));
                };
                let (x, ty) = self.expr(e, scope, &mut None)?;
                let d = match (x, ty, order_types[0]) {
                    (
                        Expr::Literal(data::Value::Int(ms)),
                        DataType::Interval,
                        DataType::Timestamp,
                    ) => ms,
                    (Expr::Literal(data::Value::Int(ms)), DataType::Interval, DataType::Date)
                        if ms % 86_400_000 == 0 =>
                    {
                        ms / 86_400_000
                    }
                    (Expr::Literal(data::Value::Int(n)), DataType::Int, DataType::Int) => n,
                    _ => {
                        return Err(self.err(
                            e.span(),
                            format!(
                                "the RANGE offset must be a constant {} not below zero",
                                match order_types[0] {
                                    DataType::Int => "BIGINT",
                                    DataType::Date => "INTERVAL of whole days",
                                    _ => "INTERVAL",
                                }
                            ),
                            None,
                        ))
                    }
                };
                if d < 0 {
                    return Err(self.err(e.span(), "the RANGE offset is below zero", None));
                }
                Ok(OverFrame::Range(Some(d)))
            }
            Units::Groups => refuse(self, "a GROUPS frame"),
        }
    }
}
