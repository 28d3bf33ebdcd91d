//! Scalar expressions: names, literals, operators and calls, typed against a scope.

use super::*;
use crate::data::decimal::MAX_PRECISION;

impl Lowerer<'_> {
    /// Lower an expression. With an aggregation context, the result refers to the `Reduce`
    /// output (keys, then aggregates) instead of the input row.
    pub(super) fn expr(
        &mut self,
        e: &SqlExpr,
        scope: &Scope,
        agg: &mut Option<AggCx>,
    ) -> Result<Typed> {
        // Every level of SQL nesting is one level of this recursion (and about one level of
        // the plan's expression tree, which workers evaluate recursively): bound it.
        if self.depth >= MAX_EXPR_DEPTH {
            return Err(self.err(
                e.span(),
                format!("expression too deep: more than {MAX_EXPR_DEPTH} nested terms"),
                Some("split it into views, or use IN (...) for long lists of alternatives".into()),
            ));
        }
        self.depth += 1;
        let result = self.expr_at_depth(e, scope, agg);
        self.depth -= 1;
        result
    }

    pub(super) fn expr_at_depth(
        &mut self,
        e: &SqlExpr,
        scope: &Scope,
        agg: &mut Option<AggCx>,
    ) -> Result<Typed> {
        if agg.is_some() {
            if let Some(call) = agg_call(e) {
                return self.agg_call(e, call, scope, agg);
            }
            if !contains_agg(e) {
                let plain = self.expr(e, scope, &mut None)?;
                let cx = agg
                    .as_ref()
                    .ok_or_else(|| Error::Internal("no aggregation context".into()))?;
                if let Some(i) = cx.keys.iter().position(|(k, _)| *k == plain.0) {
                    return Ok((Expr::Column(i), cx.keys[i].1));
                }
                match first_column(e) {
                    // A constant.
                    None => return Ok(plain),
                    Some(name)
                        if matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_)) =>
                    {
                        return Err(self.err(
                            e.span(),
                            format!("column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                            None,
                        ));
                    }
                    // An expression over grouped terms (`UPPER(k)` with `GROUP BY k`): its
                    // parts, each a key, an aggregate or a constant.
                    Some(_) => {}
                }
            }
        }
        self.expr_node(e, scope, agg)
    }

    pub(super) fn agg_call(
        &mut self,
        e: &SqlExpr,
        f: &sql::Function,
        scope: &Scope,
        agg: &mut Option<AggCx>,
    ) -> Result<Typed> {
        let name = object_name(&f.name).to_ascii_lowercase();
        let func = match name.as_str() {
            "count" => AggFunc::Count,
            "sum" => AggFunc::Sum,
            "min" => AggFunc::Min,
            "max" => AggFunc::Max,
            "avg" => AggFunc::Avg,
            _ => return Err(Error::Internal(format!("{name} is not an aggregate"))),
        };
        let FunctionArguments::List(list) = &f.args else {
            return Err(self.err(e.span(), format!("{name}() needs an argument"), None));
        };
        let distinct = matches!(
            list.duplicate_treatment,
            Some(sql::DuplicateTreatment::Distinct)
        );
        let (arg, arg_ty) = match list.args.as_slice() {
            [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)] if func == AggFunc::Count => {
                (None, DataType::Int)
            }
            [FunctionArg::Unnamed(FunctionArgExpr::Expr(a))] => {
                if contains_agg(a) {
                    return Err(self.err(a.span(), "aggregates cannot be nested", None));
                }
                let (x, t) = self.expr(a, scope, &mut None)?;
                (Some(x), t)
            }
            _ => return Err(self.err(e.span(), format!("{name}() takes one argument"), None)),
        };
        // `agg(x) FILTER (WHERE c)` is `agg(CASE WHEN c THEN x END)`: aggregates skip NULLs,
        // and `COUNT(*) FILTER (WHERE c)` counts `CASE WHEN c THEN 1 END`.
        let arg = match &f.filter {
            None => arg,
            Some(c) => {
                let (cond, ty) = self.expr(c, scope, &mut None)?;
                if ty != DataType::Bool {
                    return Err(self.err(
                        c.span(),
                        format!("FILTER must be BOOLEAN, not {ty}"),
                        None,
                    ));
                }
                Some(Expr::Case {
                    branches: vec![(cond, arg.unwrap_or(Expr::Literal(data::Value::Int(1))))],
                    otherwise: Box::new(Expr::Literal(data::Value::Null)),
                })
            }
        };
        let ty = match func {
            AggFunc::Count => DataType::Int,
            AggFunc::Min | AggFunc::Max => arg_ty,
            AggFunc::Sum | AggFunc::Avg if !arg_ty.is_numeric() => {
                return Err(self.err(
                    e.span(),
                    format!(
                        "{}() needs a numeric argument, not {arg_ty}",
                        name.to_uppercase()
                    ),
                    None,
                ));
            }
            // As in Flink: a DECIMAL sum is DECIMAL(38, s), a DECIMAL average DECIMAL(38,
            // max(6, s)); the average of integers is an integer (truncated).
            AggFunc::Sum => match arg_ty {
                DataType::Decimal(_, s) => DataType::Decimal(MAX_PRECISION, s),
                t => t,
            },
            AggFunc::Avg => match arg_ty {
                DataType::Decimal(_, s) => DataType::Decimal(MAX_PRECISION, s.max(6)),
                t => t,
            },
        };
        let cx = agg
            .as_mut()
            .ok_or_else(|| Error::Internal("no aggregation context".into()))?;
        let a = AggregateExpr {
            func,
            arg,
            arg_type: arg_ty,
            // MIN/MAX of the distinct values is MIN/MAX of the values.
            distinct: distinct && !matches!(func, AggFunc::Min | AggFunc::Max),
            strategy: AggStrategy::Accumulable,
        };
        let index = match cx.aggs.iter().position(|(x, _, _)| *x == a) {
            Some(i) => i,
            None => {
                cx.aggs.push((a, ty, format!("{name}_{}", cx.aggs.len())));
                cx.aggs.len() - 1
            }
        };
        Ok((Expr::Column(cx.keys.len() + index), ty))
    }

    pub(super) fn expr_node(
        &mut self,
        e: &SqlExpr,
        scope: &Scope,
        agg: &mut Option<AggCx>,
    ) -> Result<Typed> {
        let span = e.span();
        match e {
            SqlExpr::Identifier(id) => self.column(&id.value, None, span, scope),
            SqlExpr::CompoundIdentifier(parts) => self.compound(parts, span, scope),
            SqlExpr::Value(v) => self.literal(&v.value, span),
            SqlExpr::Interval(i) => self.interval(i, span),
            SqlExpr::TypedString(t) => self.typed_literal(t, span),
            SqlExpr::Nested(inner) => self.expr(inner, scope, agg),
            SqlExpr::UnaryOp { op, expr } => {
                let (x, ty) = self.expr(expr, scope, agg)?;
                match op {
                    UnaryOperator::Not if ty == DataType::Bool => Ok((
                        Expr::Unary {
                            op: UnaryOp::Not,
                            expr: Box::new(x),
                        },
                        ty,
                    )),
                    UnaryOperator::Minus if ty.is_numeric() => Ok((
                        Expr::Unary {
                            op: UnaryOp::Neg,
                            expr: Box::new(x),
                        },
                        ty,
                    )),
                    UnaryOperator::Plus if ty.is_numeric() => Ok((x, ty)),
                    _ => Err(self.err(span, format!("operator {op} cannot apply to {ty}"), None)),
                }
            }
            SqlExpr::BinaryOp { left, op, right } => {
                let l = self.expr(left, scope, agg)?;
                let r = self.expr(right, scope, agg)?;
                self.binary(op, l, r, span)
            }
            SqlExpr::IsNull(x) | SqlExpr::IsNotNull(x) => {
                let (x, _) = self.expr(x, scope, agg)?;
                Ok((
                    Expr::IsNull {
                        expr: Box::new(x),
                        negated: matches!(e, SqlExpr::IsNotNull(_)),
                    },
                    DataType::Bool,
                ))
            }
            SqlExpr::Like {
                negated,
                expr,
                pattern,
                escape_char,
                any: false,
            } => {
                let (l, lt) = self.expr(expr, scope, agg)?;
                let (r, rt) = self.expr(pattern, scope, agg)?;
                if lt != DataType::String || rt != DataType::String {
                    return Err(self.err(
                        span,
                        format!("LIKE needs STRING operands, not {lt} and {rt}"),
                        None,
                    ));
                }
                let escape = match escape_char.as_deref() {
                    None => None,
                    Some(SqlExpr::Value(v)) => match &v.value {
                        Value::SingleQuotedString(e) if e.chars().count() == 1 => e.chars().next(),
                        Value::SingleQuotedString(e) if e.is_empty() => None,
                        _ => {
                            return Err(self.err(
                                span,
                                format!("ESCAPE must be one character, not {v}"),
                                None,
                            ))
                        }
                    },
                    Some(other) => {
                        return Err(self.err(
                            other.span(),
                            "ESCAPE must be a one-character string literal",
                            None,
                        ))
                    }
                };
                if let Expr::Literal(data::Value::Str(p)) = &r {
                    if let Err(e) = crate::plan::like::check_pattern(p, escape) {
                        return Err(self.err(pattern.span(), e.0, None));
                    }
                }
                let x = Expr::Like {
                    expr: Box::new(l),
                    pattern: Box::new(r),
                    escape,
                };
                Ok((negate_if(*negated, x), DataType::Bool))
            }
            SqlExpr::Cast {
                expr,
                data_type,
                kind,
                ..
            } => {
                let safe = matches!(kind, sql::CastKind::TryCast | sql::CastKind::SafeCast);
                let (x, from) = self.expr(expr, scope, agg)?;
                let ty = self.data_type(data_type, span)?;
                let null = matches!(x, Expr::Literal(data::Value::Null));
                if !from.casts_to(ty) && !null {
                    return Err(self.err(
                        span,
                        format!("CAST from {from} to {ty} is not supported"),
                        Some(
                            "CAST converts text to and from every type, numbers and BOOLEAN among themselves, BIGINT or DOUBLE to and from TIMESTAMP (milliseconds), and DATE to and from TIMESTAMP"
                                .into(),
                        ),
                    ));
                }
                Ok(if from == ty || null {
                    (x, ty)
                } else {
                    (
                        Expr::Cast {
                            expr: Box::new(x),
                            from,
                            ty,
                            safe,
                        },
                        ty,
                    )
                })
            }
            SqlExpr::In {
                expr,
                target: sql::InTarget::List(list),
                negated,
                ..
            } => {
                let l = self.expr(expr, scope, agg)?;
                let mut terms = Vec::with_capacity(list.len());
                for item in list {
                    let r = self.expr(item, scope, agg)?;
                    terms.push(
                        self.binary(&BinaryOperator::Eq, l.clone(), r, item.span())?
                            .0,
                    );
                }
                // A balanced OR tree: a list of n values nests log2(n) deep, not n.
                let x = balanced(BinaryOp::Or, terms)
                    .unwrap_or(Expr::Literal(data::Value::Bool(false)));
                Ok((negate_if(*negated, x), DataType::Bool))
            }
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let v = self.expr(expr, scope, agg)?;
                let lo = self.expr(low, scope, agg)?;
                let hi = self.expr(high, scope, agg)?;
                let (a, _) = self.binary(&BinaryOperator::GtEq, v.clone(), lo, span)?;
                let (b, _) = self.binary(&BinaryOperator::LtEq, v, hi, span)?;
                let x = Expr::Binary {
                    op: BinaryOp::And,
                    left: Box::new(a),
                    right: Box::new(b),
                };
                Ok((negate_if(*negated, x), DataType::Bool))
            }
            SqlExpr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let operand = operand
                    .as_ref()
                    .map(|o| self.expr(o, scope, agg))
                    .transpose()?;
                let mut branches = Vec::new();
                let mut types = Vec::new();
                for cw in conditions {
                    let c = self.expr(&cw.condition, scope, agg)?;
                    let cond = match &operand {
                        Some(o) => {
                            self.binary(&BinaryOperator::Eq, o.clone(), c, cw.condition.span())?
                                .0
                        }
                        None => c.0,
                    };
                    let (r, rt) = self.expr(&cw.result, scope, agg)?;
                    types.push(rt);
                    branches.push((cond, r));
                }
                let (otherwise, else_ty) = match else_result {
                    Some(x) => self.expr(x, scope, agg)?,
                    None => (Expr::Literal(data::Value::Null), DataType::String),
                };
                let null = |e: &Expr| matches!(e, Expr::Literal(data::Value::Null));
                // The results meet in one type: equal, or numbers as their common type.
                let typed: Vec<DataType> = branches
                    .iter()
                    .zip(&types)
                    .filter(|((_, r), _)| !null(r))
                    .map(|(_, t)| *t)
                    .chain((!null(&otherwise)).then_some(else_ty))
                    .collect();
                let ty = match typed.split_first() {
                    None => types.first().copied().unwrap_or(DataType::String),
                    Some((first, rest)) => rest
                        .iter()
                        .try_fold(*first, |acc, t| common_type(acc, *t))
                        .ok_or_else(|| {
                            let listed: Vec<String> = typed.iter().map(|t| t.to_string()).collect();
                            self.err(
                                span,
                                format!("CASE results have different types ({})", listed.join(", ")),
                                Some("CAST them to one type".into()),
                            )
                        })?,
                };
                let branches = branches
                    .into_iter()
                    .zip(types)
                    .map(|((c, r), t)| (c, coerce(r, t, ty)))
                    .collect();
                Ok((
                    Expr::Case {
                        branches,
                        otherwise: Box::new(coerce(otherwise, else_ty, ty)),
                    },
                    ty,
                ))
            }
            SqlExpr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                let mut args = vec![self.expr(expr, scope, agg)?.0];
                args.push(match substring_from {
                    Some(f) => self.expr(f, scope, agg)?.0,
                    None => Expr::Literal(data::Value::Int(1)),
                });
                if let Some(f) = substring_for {
                    args.push(self.expr(f, scope, agg)?.0);
                }
                Ok((
                    Expr::Call {
                        func: ScalarFunc::Substr,
                        args,
                    },
                    DataType::String,
                ))
            }
            SqlExpr::Position { expr, r#in } => {
                let args = vec![self.expr(expr, scope, agg)?, self.expr(r#in, scope, agg)?];
                self.call(catalog("locate")?, args, span)
            }
            SqlExpr::Extract { field, expr, .. } => {
                let name = match field {
                    sql::DateTimeField::Year => "year",
                    sql::DateTimeField::Month => "month",
                    sql::DateTimeField::Day => "dayofmonth",
                    sql::DateTimeField::Hour => "hour",
                    sql::DateTimeField::Minute => "minute",
                    sql::DateTimeField::Second => "second",
                    other => {
                        return Err(self.err(
                            span,
                            format!("EXTRACT({other} FROM ...) is not supported"),
                            Some("extract YEAR, MONTH, DAY, HOUR, MINUTE or SECOND".into()),
                        ))
                    }
                };
                let args = vec![self.expr(expr, scope, agg)?];
                self.call(catalog(name)?, args, span)
            }
            SqlExpr::Trim { expr, .. } => {
                let (x, _) = self.expr(expr, scope, agg)?;
                Ok((
                    Expr::Call {
                        func: ScalarFunc::Trim,
                        args: vec![x],
                    },
                    DataType::String,
                ))
            }
            SqlExpr::Ceil { expr, .. } | SqlExpr::Floor { expr, .. } => {
                let name = if matches!(e, SqlExpr::Ceil { .. }) {
                    "ceil"
                } else {
                    "floor"
                };
                let args = vec![self.expr(expr, scope, agg)?];
                self.call(catalog(name)?, args, span)
            }
            SqlExpr::Function(f) => self.function(f, scope, agg, span),
            SqlExpr::Array(sql::Array { elem, .. }) => {
                let items = elem
                    .iter()
                    .map(|x| self.expr(x, scope, agg))
                    .collect::<Result<Vec<_>>>()?;
                self.array(items, span)
            }
            SqlExpr::CompoundFieldAccess { root, access_chain } => {
                // `p.tags[1]`: the leading `.field`s name a ROW field, as `p.tags` does.
                let mut names: Vec<sql::Ident> = match &**root {
                    SqlExpr::Identifier(i) => vec![i.clone()],
                    SqlExpr::CompoundIdentifier(is) => is.clone(),
                    _ => Vec::new(),
                };
                let mut rest = access_chain.as_slice();
                while let (false, [sql::AccessExpr::Dot(SqlExpr::Identifier(i)), tail @ ..]) =
                    (names.is_empty(), rest)
                {
                    names.push(i.clone());
                    rest = tail;
                }
                let mut x = if rest.len() < access_chain.len() {
                    self.expr(&SqlExpr::CompoundIdentifier(names), scope, agg)?
                } else {
                    self.expr(root, scope, agg)?
                };
                for access in rest {
                    let sql::AccessExpr::Subscript(sql::Subscript::Index { index }) = access else {
                        return Err(self.err(
                            span,
                            format!("\"{access}\" is not supported: only a[i] reads into a value"),
                            Some("name a ROW field as row.field".into()),
                        ));
                    };
                    let i = self.expr(index, scope, agg)?;
                    x = self.subscript(x, i, span)?;
                }
                Ok(x)
            }
            SqlExpr::Exists { .. }
            | SqlExpr::Subquery(_)
            | SqlExpr::In {
                target: sql::InTarget::Subquery(_),
                ..
            } => Err(self.err(
                span,
                "a subquery is supported only in WHERE ([NOT] EXISTS, [NOT] IN, or a scalar (SELECT ...) in a term joined by AND) and as a value in the SELECT list",
                Some("join the subquery in FROM instead".into()),
            )),
            _ => Err(self.err(
                span,
                format!("expression \"{e}\" is not supported yet"),
                None,
            )),
        }
    }

    /// `a.b[.c...]`: column `b[.c...]` of table or alias `a` when the scope knows `a`, else
    /// the field `a.b[.c...]` of a `ROW` column (Flink resolves names in that order).
    fn compound(
        &self,
        parts: &[sql::Ident],
        span: sqlparser::tokenizer::Span,
        scope: &Scope,
    ) -> Result<Typed> {
        let names: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
        if let [q, rest @ ..] = names.as_slice() {
            if !rest.is_empty() && scope.knows(q) {
                return self.column(&rest.join("."), Some(q), span, scope);
            }
        }
        let path = names.join(".");
        if names.len() == 2 && scope.find(&path, None).is_empty() {
            // Most likely a table name: say that it is unknown.
            return self.column(names[1], Some(names[0]), span, scope);
        }
        self.column(&path, None, span, scope)
    }

    pub(super) fn column(
        &self,
        name: &str,
        qualifier: Option<&str>,
        span: sqlparser::tokenizer::Span,
        scope: &Scope,
    ) -> Result<Typed> {
        if let Some(q) = qualifier {
            if !scope.knows(q) {
                return Err(self.err(span, format!("unknown table or alias \"{q}\""), None));
            }
        }
        match scope.find(name, qualifier).as_slice() {
            [i] => Ok((Expr::Column(*i), scope.schema.columns[*i].ty)),
            [] if !scope.find_prefix(name, qualifier).is_empty() => {
                let fields = scope.find_prefix(name, qualifier);
                Err(self.err(
                    span,
                    format!("\"{name}\" is a ROW column: read its fields, not the whole row"),
                    Some(format!(
                        "e.g. {}",
                        fields
                            .iter()
                            .take(2)
                            .map(|i| scope.schema.columns[*i].name.clone())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ))
            }
            [] => {
                let hint = closest(name, scope.schema.columns.iter().map(|c| c.name.as_str()))
                    .map(|c| format!("did you mean \"{c}\"?"));
                Err(self.err(span, format!("unknown column \"{name}\""), hint))
            }
            several => {
                let names: Vec<String> = several
                    .iter()
                    .filter_map(|i| scope.qualifiers[*i].first())
                    .map(|q| format!("{q}.{name}"))
                    .collect();
                let hint =
                    (!names.is_empty()).then(|| format!("qualify it: {}", names.join(" or ")));
                Err(self.err(span, format!("column \"{name}\" is ambiguous"), hint))
            }
        }
    }

    pub(super) fn literal(&self, v: &Value, span: sqlparser::tokenizer::Span) -> Result<Typed> {
        Ok(match v {
            Value::Number(n, _) => match n.parse::<i64>() {
                Ok(i) => (Expr::Literal(data::Value::Int(i)), DataType::Int),
                // As in Flink, `0.908` is an exact DECIMAL(3, 3); `1e3` is a DOUBLE.
                Err(_) if n.contains('.') && !n.contains(['e', 'E']) => {
                    let (p, s) = data::decimal::literal_type(n);
                    let m = data::decimal::parse(n, s).ok_or_else(|| {
                        self.err(
                            span,
                            format!("decimal literal {n} has more than 38 digits"),
                            Some("write it as a DOUBLE (1.5e40) or with fewer digits".into()),
                        )
                    })?;
                    (
                        Expr::Literal(data::Value::Decimal(m, s)),
                        DataType::Decimal(p, s),
                    )
                }
                Err(_) => match n.parse::<f64>() {
                    Ok(f) => (Expr::Literal(data::Value::Float(f.into())), DataType::Float),
                    Err(_) => return Err(self.err(span, format!("invalid number {n}"), None)),
                },
            },
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => {
                (Expr::Literal(data::Value::Str(s.clone())), DataType::String)
            }
            Value::Boolean(b) => (Expr::Literal(data::Value::Bool(*b)), DataType::Bool),
            Value::Null => (Expr::Literal(data::Value::Null), DataType::String),
            other => return Err(self.err(span, format!("literal {other} is not supported"), None)),
        })
    }

    /// `DATE '2026-01-31'`, `TIMESTAMP '2026-01-31 10:00:00'`: checked now, so a typo is a
    /// plan error.
    fn typed_literal(
        &self,
        t: &sql::TypedString,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        let ty = self.data_type(&t.data_type, span)?;
        let text = match &t.value.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        };
        let value = match ty {
            DataType::Date => data::parse_date(&text),
            DataType::Timestamp => data::parse_timestamp(&text),
            _ => {
                return Err(self.err(
                    span,
                    format!("{ty} '...' literals are not supported"),
                    Some(format!("write CAST('{text}' AS {ty})")),
                ))
            }
        };
        match value {
            Some(v) => Ok((Expr::Literal(data::Value::Int(v)), ty)),
            None => Err(self.err(
                span,
                format!("'{text}' is not a {ty}"),
                Some(match ty {
                    DataType::Date => "write a DATE as 'yyyy-MM-dd'".into(),
                    _ => "write a TIMESTAMP as 'yyyy-MM-dd HH:mm:ss[.SSS]'".into(),
                }),
            )),
        }
    }

    /// `INTERVAL '4' SECOND`, `INTERVAL '1:30' HOUR TO MINUTE`, `INTERVAL '2 03:04:05.5' DAY
    /// TO SECOND`: a day-time interval, in milliseconds. Year-month intervals are refused.
    fn interval(&self, i: &sql::Interval, span: sqlparser::tokenizer::Span) -> Result<Typed> {
        use sql::DateTimeField as F;
        let unit = |f: &F| match f {
            F::Day | F::Days => Some(0),
            F::Hour | F::Hours => Some(1),
            F::Minute | F::Minutes => Some(2),
            F::Second | F::Seconds => Some(3),
            _ => None,
        };
        let text = match i.value.as_ref() {
            SqlExpr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::Number(s, _) => s.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        };
        let first = i.leading_field.as_ref().map_or(Some(3), unit);
        let last = i.last_field.as_ref().map_or(first, unit);
        let (Some(first), Some(last)) = (first, last) else {
            return Err(self.err(
                span,
                format!("INTERVAL {} is not supported", i.leading_field.as_ref().map_or(String::new(), |f| f.to_string())),
                Some("write a day-time interval: DAY, HOUR, MINUTE or SECOND (year-month intervals are not supported yet)".into()),
            ));
        };
        let bad = || {
            self.err(
                span,
                format!("invalid interval {i}"),
                Some("e.g. INTERVAL '5' SECOND, INTERVAL '1:30' HOUR TO MINUTE".into()),
            )
        };
        let (negative, digits) = match text.trim().strip_prefix('-') {
            Some(rest) => (true, rest.trim()),
            None => (false, text.trim().trim_start_matches('+')),
        };
        let parts: Vec<&str> = digits.split([' ', ':']).collect();
        if last < first || parts.len() != last - first + 1 {
            return Err(bad());
        }
        const MS: [f64; 4] = [86_400_000.0, 3_600_000.0, 60_000.0, 1_000.0];
        let mut ms = 0.0;
        for (k, part) in parts.iter().enumerate() {
            let unit = first + k;
            let fractional = unit == 3 && part.contains('.');
            let ok = !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (fractional && b == b'.'));
            let v: f64 = part.parse().ok().filter(|_| ok).ok_or_else(bad)?;
            ms += v * MS[unit];
        }
        let ms = ms.round();
        if ms > i64::MAX as f64 {
            return Err(bad());
        }
        let ms = if negative { -(ms as i64) } else { ms as i64 };
        Ok((Expr::Literal(data::Value::Int(ms)), DataType::Interval))
    }

    pub(super) fn binary(
        &self,
        op: &BinaryOperator,
        (l, lt): Typed,
        (r, rt): Typed,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        use BinaryOperator as B;
        let numeric = |t: DataType| t.is_numeric() || t == DataType::Timestamp;
        let arithmetic = match op {
            B::Plus => Some(BinaryOp::Add),
            B::Minus => Some(BinaryOp::Sub),
            B::Multiply => Some(BinaryOp::Mul),
            B::Divide => Some(BinaryOp::Div),
            B::Modulo => Some(BinaryOp::Mod),
            _ => None,
        };
        let (op, ty, l, r) = match op {
            _ if arithmetic.is_some() && (lt == DataType::Interval || rt == DataType::Interval) => {
                // Time arithmetic, all in milliseconds: a timestamp moved by an interval,
                // intervals added, or scaled by an integer.
                use DataType::{Date, Int, Interval, Timestamp};
                // A DATE moves as its midnight, and the result is the day it lands on.
                if let (B::Plus | B::Minus, Date, Interval) | (B::Plus, Interval, Date) =
                    (op, lt, rt)
                {
                    let (l, r) = (coerce(l, lt, Timestamp), coerce(r, rt, Timestamp));
                    let lt = if lt == Date { Timestamp } else { lt };
                    let rt = if rt == Date { Timestamp } else { rt };
                    let (moved, _) = self.binary(op, (l, lt), (r, rt), span)?;
                    return Ok((coerce(moved, Timestamp, Date), Date));
                }
                let ty = match (op, lt, rt) {
                    (B::Plus, Timestamp, Interval) | (B::Plus, Interval, Timestamp) => Timestamp,
                    (B::Minus, Timestamp, Interval) => Timestamp,
                    (B::Plus | B::Minus, Interval, Interval) => Interval,
                    (B::Multiply, Interval, Int) | (B::Multiply, Int, Interval) => Interval,
                    (B::Divide, Interval, Int) => Interval,
                    _ => {
                        return Err(self.err(
                            span,
                            format!("operator {op} cannot apply to {lt} and {rt}"),
                            Some("a TIMESTAMP plus or minus an INTERVAL, INTERVALs added, or an INTERVAL times an integer".into()),
                        ))
                    }
                };
                (arithmetic.unwrap_or(BinaryOp::Add), ty, l, r)
            }
            _ if arithmetic.is_some() => {
                if !numeric(lt) || !numeric(rt) {
                    return Err(self.err(
                        span,
                        format!("operator {op} needs numeric operands, not {lt} and {rt}"),
                        None,
                    ));
                }
                let bop = arithmetic.unwrap_or(BinaryOp::Add);
                let decimal =
                    matches!(lt, DataType::Decimal(..)) || matches!(rt, DataType::Decimal(..));
                if decimal && lt != DataType::Float && rt != DataType::Float {
                    return Ok(decimal_arithmetic(bop, (l, lt), (r, rt)));
                }
                let ty = if lt == DataType::Float || rt == DataType::Float {
                    DataType::Float
                } else {
                    DataType::Int
                };
                // A DECIMAL meets a DOUBLE as a DOUBLE.
                let (l, r) = if decimal {
                    (coerce(l, lt, ty), coerce(r, rt, ty))
                } else {
                    (l, r)
                };
                (bop, ty, l, r)
            }
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                let Some((l, r)) = comparable((l, lt), (r, rt)) else {
                    return Err(self.err(
                        span,
                        format!("cannot compare {lt} with {rt}"),
                        Some("add a CAST".into()),
                    ));
                };
                let op = match op {
                    B::Eq => BinaryOp::Eq,
                    B::NotEq => BinaryOp::NotEq,
                    B::Lt => BinaryOp::Lt,
                    B::LtEq => BinaryOp::LtEq,
                    B::Gt => BinaryOp::Gt,
                    _ => BinaryOp::GtEq,
                };
                (op, DataType::Bool, l, r)
            }
            B::And | B::Or => {
                if lt != DataType::Bool || rt != DataType::Bool {
                    return Err(self.err(
                        span,
                        format!("operator {op} needs BOOLEAN operands, not {lt} and {rt}"),
                        None,
                    ));
                }
                let op = if matches!(op, B::And) {
                    BinaryOp::And
                } else {
                    BinaryOp::Or
                };
                (op, DataType::Bool, l, r)
            }
            B::StringConcat => (
                BinaryOp::Concat,
                DataType::String,
                coerce(l, lt, DataType::String),
                coerce(r, rt, DataType::String),
            ),
            other => {
                return Err(self.err(span, format!("operator {other} is not supported yet"), None))
            }
        };
        Ok((
            Expr::Binary {
                op,
                left: Box::new(l),
                right: Box::new(r),
            },
            ty,
        ))
    }

    pub(super) fn function(
        &mut self,
        f: &sql::Function,
        scope: &Scope,
        agg: &mut Option<AggCx>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        let name = object_name(&f.name).to_ascii_lowercase();
        let upper = name.to_uppercase();
        if f.over.is_some() {
            return Err(over_not_supported(self, &name, span));
        }
        if f.filter.is_some() {
            return Err(self.err(
                span,
                format!("FILTER applies to aggregates, not {upper}()"),
                None,
            ));
        }
        if is_agg_name(&name) {
            return Err(self.err(
                span,
                format!("aggregate {upper}() is not allowed here"),
                None,
            ));
        }
        if functions::PROCESSING_TIME.contains(&name.as_str()) {
            return Err(self.err(
                span,
                format!(
                    "{upper} reads the clock, so a streaming query's results would depend on when it runs (a replay after a restart would differ)"
                ),
                Some(if name == "proctime" {
                    "use a time column of the data instead (event time); or, for processing time, write SET 'processing-time' = 'epoch'; first and PROCTIME() as a whole computed column (`p AS PROCTIME()`) or select item: it is then the time of the epoch a record is read in, which a replay repeats".into()
                } else {
                    "use a time column of the data instead (event time), e.g. a TIMESTAMP field or METADATA FROM 'timestamp'".into()
                }),
            ));
        }
        if let Some(hint) = legacy_group_window(&name) {
            return Err(self.err(
                span,
                format!("{upper}() is a group window function, which belongs in GROUP BY"),
                Some(hint),
            ));
        }
        let def = functions::lookup(&name);
        if def.is_none() && self.functions.iter().any(|g| g.name == name) {
            let args = self.call_arguments(f, scope, agg, span, &upper)?;
            if let Some(call) = self.user_call(&name, args, span) {
                return call;
            }
        }
        if def.is_none() && name != "mod" {
            let hint = closest(
                &name,
                functions::names()
                    .chain(AGGREGATE_FUNCTIONS.iter().copied())
                    .chain(["mod"]),
            )
            .map(|c| format!("did you mean {}?", c.to_uppercase()));
            return Err(self.err(span, format!("unknown function {upper}()"), hint));
        }
        let args = self.call_arguments(f, scope, agg, span, &upper)?;
        let Some(def) = def else {
            // MOD(a, b) is `a % b`.
            let [a, b]: [Typed; 2] = args.try_into().map_err(|args: Vec<Typed>| {
                self.err(
                    span,
                    format!("MOD() takes 2 arguments, got {}", args.len()),
                    None,
                )
            })?;
            return self.binary(&BinaryOperator::Modulo, a, b, span);
        };
        self.call(def, args, span)
    }

    /// The arguments of a call, lowered.
    fn call_arguments(
        &mut self,
        f: &sql::Function,
        scope: &Scope,
        agg: &mut Option<AggCx>,
        span: sqlparser::tokenizer::Span,
        upper: &str,
    ) -> Result<Vec<Typed>> {
        let mut args = Vec::new();
        if let FunctionArguments::List(list) = &f.args {
            for a in &list.args {
                match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => {
                        args.push(self.expr(x, scope, agg)?)
                    }
                    _ => {
                        return Err(self.err(
                            span,
                            format!("unsupported argument to {upper}()"),
                            None,
                        ))
                    }
                }
            }
        }
        Ok(args)
    }

    /// A call of `def`: argument count and types checked, constant patterns validated.
    pub(super) fn call(
        &self,
        def: &functions::FunctionDef,
        mut args: Vec<Typed>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        let upper = def.names[0].to_uppercase();
        if !def.takes(args.len()) {
            return Err(self.err(
                span,
                format!(
                    "{upper}() takes {} arguments, got {}",
                    def.arity(),
                    args.len()
                ),
                None,
            ));
        }
        if let Some(&(_, DataType::Decimal(p, s))) = args.first() {
            if let Some(exact) = self.decimal_rounding(def, &mut args, (p, s), span)? {
                return Ok(exact);
            }
        }
        for (i, (x, ty)) in args.iter_mut().enumerate() {
            use ScalarFunc as F;
            let param = def.param(i).unwrap_or(functions::Param::Any);
            let to = match (def.func, param, *ty) {
                // CONCAT writes each value as text, as CAST(x AS STRING) does.
                (F::Concat | F::ConcatWs, _, t) if t != DataType::String => DataType::String,
                // The other numeric functions compute in DOUBLE.
                (_, functions::Param::Number, DataType::Decimal(..)) => DataType::Float,
                // Time functions read a DATE as its midnight.
                (_, functions::Param::Time, DataType::Date) => DataType::Timestamp,
                (F::DateFormat, _, DataType::Date) if i == 0 => DataType::Timestamp,
                _ => continue,
            };
            let e = std::mem::replace(x, Expr::Literal(data::Value::Null));
            *x = coerce(e, *ty, to);
            *ty = to;
        }
        for (i, (x, ty)) in args.iter().enumerate() {
            let param = def.param(i).unwrap_or(functions::Param::Any);
            let null = matches!(x, Expr::Literal(data::Value::Null));
            if !param.accepts(*ty) && !null {
                return Err(self.err(
                    span,
                    format!(
                        "{upper}() argument {} must be {}, not {ty}",
                        i + 1,
                        param.text()
                    ),
                    None,
                ));
            }
        }
        // The value looked for in an array is compared with its elements.
        if let (
            ScalarFunc::ArrayContains | ScalarFunc::ArrayPosition,
            Some(&(_, DataType::Array(e))),
        ) = (def.func, args.first())
        {
            let (x, t) = std::mem::replace(
                &mut args[1],
                (Expr::Literal(data::Value::Null), DataType::String),
            );
            let null = matches!(x, Expr::Literal(data::Value::Null));
            let fits = t == e.ty() || null || common_type(t, e.ty()) == Some(e.ty());
            if !fits {
                return Err(self.err(
                    span,
                    format!("{upper}() looks for a {t} in an ARRAY<{}>", e.ty()),
                    Some("CAST the value to the element type".into()),
                ));
            }
            args[1] = (coerce(x, t, e.ty()), e.ty());
        }
        if def.func == ScalarFunc::ArrayJoin
            && !matches!(args[0].1, DataType::Array(data::Elem::String))
        {
            return Err(self.err(
                span,
                format!("ARRAY_JOIN() joins an ARRAY<STRING>, not {}", args[0].1),
                None,
            ));
        }
        // Arguments that become the result must agree: equal types, or numbers as DOUBLE.
        let same_type = match def.func {
            ScalarFunc::Coalesce => 0..args.len(),
            ScalarFunc::Nullif => 0..2,
            ScalarFunc::If => 1..3,
            _ => 0..0,
        };
        if !same_type.is_empty() {
            let types: Vec<DataType> = args[same_type.clone()]
                .iter()
                .filter(|(x, _)| !matches!(x, Expr::Literal(data::Value::Null)))
                .map(|(_, t)| *t)
                .collect();
            let common = match types.first() {
                None => DataType::String,
                Some(&first) if types.iter().all(|t| *t == first) => first,
                Some(&first) if types.iter().all(|t| t.is_numeric()) => types
                    .iter()
                    .try_fold(first, |acc, t| common_type(acc, *t))
                    .unwrap_or(DataType::Float),
                Some(_) => {
                    let listed: Vec<String> = types.iter().map(|t| t.to_string()).collect();
                    return Err(self.err(
                        span,
                        format!(
                            "{upper}() arguments have different types ({})",
                            listed.join(", ")
                        ),
                        Some("CAST them to one type".into()),
                    ));
                }
            };
            for (x, t) in &mut args[same_type] {
                if *t != common && !matches!(x, Expr::Literal(data::Value::Null)) {
                    let taken = std::mem::replace(x, Expr::Literal(data::Value::Null));
                    *x = coerce(taken, *t, common);
                    *t = common;
                }
            }
        }
        if def.func == ScalarFunc::DateFormat
            && !matches!(args[0].1, DataType::Timestamp | DataType::String)
        {
            return Err(self.err(
                span,
                format!(
                    "DATE_FORMAT() argument 1 must be TIMESTAMP or STRING, not {}",
                    args[0].1
                ),
                None,
            ));
        }
        // A constant pattern is checked now, so a typo is a plan error, not NULLs.
        // A constant pattern (always the second argument) is checked now, so a typo is a
        // plan error, not NULLs.
        if let Some((Expr::Literal(data::Value::Str(p)), _)) = args.get(1) {
            use ScalarFunc as F;
            let bad = match def.func {
                F::Regexp | F::RegexpExtract | F::RegexpReplace => regex::Regex::new(p)
                    .err()
                    .map(|e| format!("invalid regular expression: {e}")),
                F::DateFormat | F::ToTimestamp | F::ToDate | F::UnixTimestamp | F::FromUnixtime => {
                    crate::data::time::java_pattern(p)
                        .err()
                        .map(|e| format!("invalid date pattern '{p}': {e}"))
                }
                _ => None,
            };
            if let Some(message) = bad {
                return Err(self.err(span, message, None));
            }
        }
        let ty = match def.returns {
            functions::Returns::Fixed(t) => t,
            functions::Returns::First => args[0].1,
            functions::Returns::Second => args[1].1,
        };
        Ok((
            Expr::Call {
                func: def.func,
                args: args.into_iter().map(|a| a.0).collect(),
            },
            ty,
        ))
    }
}

impl Lowerer<'_> {
    /// `ARRAY[a, b, ...]`: the elements meet in one type (numbers as their common type); an
    /// empty array or one of NULLs only is `ARRAY<STRING>`.
    fn array(&self, items: Vec<Typed>, span: sqlparser::tokenizer::Span) -> Result<Typed> {
        let null = |e: &Expr| matches!(e, Expr::Literal(data::Value::Null));
        let mut ty: Option<DataType> = None;
        for (x, t) in &items {
            if null(x) {
                continue;
            }
            ty = Some(match ty {
                None => *t,
                Some(acc) => common_type(acc, *t).ok_or_else(|| {
                    self.err(
                        span,
                        format!("ARRAY elements have different types ({acc}, {t})"),
                        Some("CAST them to one type".into()),
                    )
                })?,
            });
        }
        let ty = ty.unwrap_or(DataType::String);
        let Some(elem) = data::Elem::of(ty) else {
            return Err(self.err(span, "arrays of arrays are not supported", None));
        };
        let args = items.into_iter().map(|(x, t)| coerce(x, t, ty)).collect();
        Ok((
            Expr::Call {
                func: ScalarFunc::ArrayConstruct,
                args,
            },
            DataType::Array(elem),
        ))
    }

    /// `a[i]`: an array's `i`th element, counted from 1.
    fn subscript(
        &self,
        (a, at): Typed,
        (i, it): Typed,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        let DataType::Array(elem) = at else {
            return Err(self.err(
                span,
                format!("only an ARRAY can be indexed, not {at}"),
                None,
            ));
        };
        if it != DataType::Int {
            return Err(self.err(
                span,
                format!("an array index must be BIGINT, not {it}"),
                None,
            ));
        }
        Ok((
            Expr::Call {
                func: ScalarFunc::ArrayElement,
                args: vec![a, i],
            },
            elem.ty(),
        ))
    }

    /// `ABS`, `FLOOR`, `CEIL` and `ROUND` of a `DECIMAL(p, s)`, exact and typed as Flink
    /// types them: `ABS` keeps the type, `FLOOR`/`CEIL` give `DECIMAL(p - s + 1, 0)`, and
    /// `ROUND(x, d)` (a constant `d`) `DECIMAL(p - s + d + 1, d)` for `0 <= d < s`, the same
    /// type for `d >= s`, and `DECIMAL(p - s + 1, 0)` for `d < 0`. Evaluation reads the
    /// argument's scale from an extra last argument. `None` for the other functions.
    fn decimal_rounding(
        &self,
        def: &functions::FunctionDef,
        args: &mut Vec<Typed>,
        (p, s): (u8, u8),
        span: sqlparser::tokenizer::Span,
    ) -> Result<Option<Typed>> {
        use ScalarFunc as F;
        let scale = Expr::Literal(data::Value::Int(i64::from(s)));
        let whole = DataType::Decimal((p - s + 1).min(MAX_PRECISION), 0);
        let ty = match def.func {
            F::Abs => DataType::Decimal(p, s),
            F::Floor | F::Ceil => {
                args.push((scale, DataType::Int));
                whole
            }
            F::Round => {
                let digits = match args.get(1) {
                    None => 0,
                    Some((Expr::Literal(data::Value::Int(d)), _)) => *d,
                    Some((
                        Expr::Unary {
                            op: UnaryOp::Neg,
                            expr,
                        },
                        _,
                    )) if matches!(**expr, Expr::Literal(data::Value::Int(_))) => match **expr {
                        Expr::Literal(data::Value::Int(d)) => -d,
                        _ => 0,
                    },
                    Some(_) => {
                        return Err(self.err(
                            span,
                            "ROUND of a DECIMAL takes a constant number of places",
                            Some("write the places as a number, e.g. ROUND(price, 2)".into()),
                        ))
                    }
                };
                args.truncate(1);
                args.push((Expr::Literal(data::Value::Int(digits)), DataType::Int));
                args.push((scale, DataType::Int));
                match digits {
                    d if d >= i64::from(s) => DataType::Decimal(p, s),
                    d if d >= 0 => {
                        let d = d as u8;
                        DataType::Decimal((p - s + d + 1).min(MAX_PRECISION), d)
                    }
                    _ => whole,
                }
            }
            _ => return Ok(None),
        };
        let args = std::mem::take(args).into_iter().map(|a| a.0).collect();
        Ok(Some((
            Expr::Call {
                func: def.func,
                args,
            },
            ty,
        )))
    }
}

/// `NOT x` when `negated`, else `x` (for `NOT IN`, `NOT BETWEEN`, `NOT LIKE`).
pub(super) fn negate_if(negated: bool, x: Expr) -> Expr {
    if negated {
        Expr::Unary {
            op: UnaryOp::Not,
            expr: Box::new(x),
        }
    } else {
        x
    }
}

/// Whether `INSERT` converts a `from` value into a `to` column by itself.
pub(super) fn castable(from: DataType, to: DataType) -> bool {
    matches!(
        (from, to),
        (DataType::Int, DataType::Float)
            | (_, DataType::String)
            | (DataType::Int, DataType::Timestamp)
            | (DataType::Timestamp, DataType::Int)
            | (DataType::Int | DataType::Decimal(..), DataType::Decimal(..))
            | (DataType::Decimal(..), DataType::Float)
    )
}

/// Flink's legacy group window functions (`TUMBLE(ts, INTERVAL ...)`, `TUMBLE_START(...)`,
/// `SESSION(...)`, ...) met outside a `GROUP BY` that has their window: how to write them.
fn legacy_group_window(name: &str) -> Option<String> {
    let (kind, _) = name.split_once('_').unwrap_or((name, ""));
    matches!(kind, "session" | "tumble" | "hop").then(|| {
        "GROUP BY k, TUMBLE(ts, INTERVAL '10' SECOND) and select TUMBLE_START(ts, INTERVAL '10' SECOND) (or TUMBLE_END, TUMBLE_ROWTIME) with the same arguments; or the window table function: FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND)) ... GROUP BY window_start, window_end".into()
    })
}

/// `... OVER (...)` where it is not a whole select item: `ROW_NUMBER()` (see `top_n`) and
/// the aggregates (see `over`) are taken as select items only, other window functions not.
pub(super) fn over_not_supported(
    l: &Lowerer<'_>,
    name: &str,
    span: sqlparser::tokenizer::Span,
) -> Error {
    if is_agg_name(name) || name == "row_number" {
        return l.err(
            span,
            format!("{}() OVER (...) must be a whole SELECT item", name.to_uppercase()),
            Some(format!("select it with a name ({}(...) OVER (...) AS v) and compute with v in the query over it", name.to_uppercase())),
        );
    }
    l.err(
        span,
        format!("the window function {}() is not supported", name.to_uppercase()),
        Some(
            "window functions taken: ROW_NUMBER() (for top-N: filter rownum <= N in the query over it) and the aggregates COUNT, SUM, AVG, MIN, MAX OVER (PARTITION BY ... ORDER BY ... ROWS/RANGE ... PRECEDING)".into(),
        ),
    )
}

/// A function the planner itself names (for syntax such as `POSITION(a IN b)`).
pub(super) fn catalog(name: &str) -> Result<&'static functions::FunctionDef> {
    functions::lookup(name)
        .ok_or_else(|| Error::Internal(format!("{name} is missing from the function catalog")))
}

/// Aggregate functions the planner knows (lowercase).
pub(super) const AGGREGATE_FUNCTIONS: &[&str] = &["count", "sum", "min", "max", "avg"];

pub(super) fn is_agg_name(name: &str) -> bool {
    AGGREGATE_FUNCTIONS.contains(&name)
}

/// An aggregate call of its query's `GROUP BY` (not an `OVER` aggregate, see `over`).
pub(super) fn agg_call(e: &SqlExpr) -> Option<&sql::Function> {
    match e {
        SqlExpr::Function(f)
            if f.over.is_none() && is_agg_name(&object_name(&f.name).to_ascii_lowercase()) =>
        {
            Some(f)
        }
        _ => None,
    }
}

/// Whether `e` contains an aggregate call anywhere.
/// Whether `e` calls an aggregate of its own query (not one inside a subquery of it).
pub(super) fn contains_agg(e: &SqlExpr) -> bool {
    let (mut aggs, mut subqueries) = (Vec::new(), Vec::new());
    let _ = sql::visit_expressions(e, |x| {
        if agg_call(x).is_some() {
            aggs.push(x.span());
        }
        if matches!(
            x,
            SqlExpr::Subquery(_)
                | SqlExpr::Exists { .. }
                | SqlExpr::In {
                    target: sql::InTarget::Subquery(_),
                    ..
                }
        ) {
            subqueries.push(x.span());
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    aggs.iter().any(|a| {
        !subqueries
            .iter()
            .any(|s| s.start <= a.start && a.end <= s.end)
    })
}

/// The two sides of a comparison, brought to a type they compare in: equal types; numbers
/// (and TIMESTAMPs with numbers, as milliseconds) at their common type; a DATE with a
/// TIMESTAMP as TIMESTAMPs; a text literal with a DATE or TIMESTAMP read as one (`d >=
/// '2026-01-01'`, as in Flink). `None` when they do not compare.
fn comparable((l, lt): Typed, (r, rt): Typed) -> Option<(Expr, Expr)> {
    use DataType::{Date, Decimal, Float, String, Timestamp};
    let null = |e: &Expr| matches!(e, Expr::Literal(data::Value::Null));
    let text = |e: &Expr| matches!(e, Expr::Literal(data::Value::Str(_)));
    let numeric = |t: DataType| t.is_numeric() || t == Timestamp;
    if lt == rt || null(&l) || null(&r) {
        return Some((l, r));
    }
    match (lt, rt) {
        (Date, Timestamp) | (Timestamp, Date) => {
            Some((coerce(l, lt, Timestamp), coerce(r, rt, Timestamp)))
        }
        (Date | Timestamp, String) if text(&r) => Some((l, coerce(r, String, lt))),
        (String, Date | Timestamp) if text(&l) => Some((coerce(l, String, rt), r)),
        _ if numeric(lt) && numeric(rt) => Some(match common_type(lt, rt) {
            // A DECIMAL is compared at a common scale, or as a DOUBLE with one.
            Some(t @ Decimal(..)) => (coerce(l, lt, t), coerce(r, rt, t)),
            Some(Float) if matches!(lt, Decimal(..)) || matches!(rt, Decimal(..)) => {
                (coerce(l, lt, Float), coerce(r, rt, Float))
            }
            _ => (l, r),
        }),
        _ => None,
    }
}

/// The type two values meet as: equal types as they are; numbers as DOUBLE when one is a
/// DOUBLE, else as the DECIMAL that holds both (a BIGINT is a DECIMAL(19, 0)); `None` when
/// they do not meet.
pub(super) fn common_type(a: DataType, b: DataType) -> Option<DataType> {
    if a == b {
        return Some(a);
    }
    if a.is_numeric() && b.is_numeric() && (a == DataType::Float || b == DataType::Float) {
        return Some(DataType::Float);
    }
    let ((p1, s1), (p2, s2)) = (a.as_decimal()?, b.as_decimal()?);
    let s = s1.max(s2);
    let p = ((p1 - s1).max(p2 - s2) + s).min(MAX_PRECISION);
    Some(DataType::Decimal(p, s))
}

/// `x`, of type `from`, as a `to` (a NULL literal as it is; a number literal made a DOUBLE
/// is the DOUBLE literal, as evaluating the cast would give, so rows do not convert it).
pub(super) fn coerce(x: Expr, from: DataType, to: DataType) -> Expr {
    if from == to || matches!(x, Expr::Literal(data::Value::Null)) {
        return x;
    }
    let double = |v: f64| Expr::Literal(data::Value::Float(ordered_float::OrderedFloat(v)));
    match (&x, from, to) {
        (Expr::Literal(data::Value::Int(i)), DataType::Int, DataType::Float) => {
            return double(*i as f64)
        }
        (Expr::Literal(data::Value::Decimal(m, _)), DataType::Decimal(_, s), DataType::Float) => {
            return double(data::decimal::to_f64(*m, s))
        }
        _ => {}
    }
    Expr::Cast {
        expr: Box::new(x),
        from,
        ty: to,
        safe: false,
    }
}

/// Exact arithmetic on `DECIMAL`s (and BIGINTs, as DECIMAL(19, 0)), typed as Flink types it
/// (`LogicalTypeMerging`): `+`, `-` and `%` at the larger scale, `*` adding the scales, `/` at
/// a scale of at least 6, and a precision over 38 cut to 38 at the cost of scale. Computed
/// on mantissas; `/` (`ScalarFunc::DecimalDiv`) rounds half up.
fn decimal_arithmetic(op: BinaryOp, (l, lt): Typed, (r, rt): Typed) -> Typed {
    let ((p1, s1), (p2, s2)) = (
        lt.as_decimal().unwrap_or((19, 0)),
        rt.as_decimal().unwrap_or((19, 0)),
    );
    let (l, r) = (
        coerce(l, lt, DataType::Decimal(p1, s1)),
        coerce(r, rt, DataType::Decimal(p2, s2)),
    );
    let binary = |op, l, r| Expr::Binary {
        op,
        left: Box::new(l),
        right: Box::new(r),
    };
    let at = |x, (p, s): (u8, u8), to: u8| {
        coerce(
            x,
            DataType::Decimal(p, s),
            DataType::Decimal(MAX_PRECISION, to),
        )
    };
    let (p, s) = match op {
        BinaryOp::Mul => adjust(u32::from(p1) + u32::from(p2) + 1, s1 + s2),
        BinaryOp::Div => {
            let s = (s1 + p2 + 1).max(6);
            adjust(u32::from(p1 - s1 + s2) + u32::from(s), s)
        }
        BinaryOp::Mod => {
            let s = s1.max(s2);
            adjust(u32::from((p1 - s1).min(p2 - s2) + s), s)
        }
        _ => {
            let s = s1.max(s2);
            adjust(u32::from((p1 - s1).max(p2 - s2) + s) + 1, s)
        }
    };
    let ty = DataType::Decimal(p, s);
    let e = match op {
        // m1 × m2 is at scale s1 + s2; `adjust` may have cut the scale below that.
        BinaryOp::Mul => coerce(
            binary(op, l, r),
            DataType::Decimal(MAX_PRECISION, s1 + s2),
            ty,
        ),
        // m1 × 10^(s + s2 - s1) / m2 is the quotient at scale s.
        BinaryOp::Div => Expr::Call {
            func: ScalarFunc::DecimalDiv,
            args: vec![
                l,
                r,
                Expr::Literal(data::Value::Int(
                    i64::from(s) + i64::from(s2) - i64::from(s1),
                )),
            ],
        },
        _ => {
            let common = s1.max(s2);
            binary(op, at(l, (p1, s1), common), at(r, (p2, s2), common))
        }
    };
    (e, ty)
}

/// A DECIMAL type of `precision` digits and `scale`, as Flink fits it into 38 digits: the
/// integer digits are kept, and the scale shrinks, but not below min(scale, 6).
fn adjust(precision: u32, scale: u8) -> (u8, u8) {
    let max = u32::from(MAX_PRECISION);
    if precision <= max {
        return (precision as u8, scale);
    }
    let integer = precision - u32::from(scale);
    let least = u32::from(scale.min(6));
    (MAX_PRECISION, max.saturating_sub(integer).max(least) as u8)
}
