//! AST → IR: name resolution, type checking, `GROUP BY` → `Reduce`, errors with positions.

use sqlparser::ast::{
    self as sql, BinaryOperator, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, SelectItem, SetExpr, Spanned, Statement, UnaryOperator, Value,
};

use crate::data::{self, DataType, Schema};
use crate::error::{Error, Result, Span};
use crate::plan::functions;
use crate::plan::ir::*;
use crate::spec::options::{closest, sink_spec, source_spec, TableDef};
use crate::spec::parse::{MetadataClause, Parsed};
use crate::spec::{KafkaSinkMode, SinkConnector, SinkSpec};

mod from;
mod subquery;
use from::Scope;

fn unquote(s: &str) -> String {
    s.trim()
        .trim_matches(|c| c == '\'' || c == '"' || c == '`')
        .to_string()
}

/// Lower parsed statements into a program.
pub fn lower(file: &str, parsed: &Parsed) -> Result<Program> {
    let mut l = Lowerer {
        file,
        tables: Vec::new(),
        views: Vec::new(),
        read: Vec::new(),
        sinks: Vec::new(),
        settings: Vec::new(),
        depth: 0,
        statement_start: Span::default(),
        ctes: Vec::new(),
    };
    let mut metadata = parsed.metadata.iter();
    for (i, st) in parsed.statements.iter().enumerate() {
        l.statement_start = parsed.starts.get(i).copied().unwrap_or_default();
        match st {
            Statement::CreateTable(ct) => l.create_table(ct, &mut metadata)?,
            Statement::CreateView(cv) => {
                let name = object_name(&cv.name);
                let relation = l.query(&cv.query)?;
                l.check_new_name(&name, cv.name.span())?;
                l.views.push(View { name, relation });
            }
            Statement::Insert(ins) => l.insert(ins)?,
            Statement::Set(set) => l.set(&set.to_string(), st.span())?,
            other => {
                return Err(l.err(
                    other.span(),
                    "only CREATE TABLE, CREATE VIEW and INSERT INTO ... SELECT are supported",
                    None,
                ))
            }
        }
    }
    l.finish()
}

struct Lowerer<'a> {
    file: &'a str,
    tables: Vec<TableDef>,
    views: Vec<View>,
    /// Lowercase names of tables read by some query.
    read: Vec<String>,
    sinks: Vec<(String, Relation, Span)>,
    settings: Vec<(String, String)>,
    /// Current expression nesting (see [`MAX_EXPR_DEPTH`]).
    depth: usize,
    /// Where the statement being lowered starts (for nodes without a position of their own).
    statement_start: Span,
    /// The `WITH` names in scope, innermost last, and the views they were lowered to.
    ctes: Vec<(String, String)>,
}

/// Aggregation context: group keys (over the input) and the aggregates found so far.
struct AggCx {
    keys: Vec<(Expr, DataType)>,
    aggs: Vec<(AggregateExpr, DataType, String)>,
}

type Typed = (Expr, DataType);

impl<'a> Lowerer<'a> {
    /// `SET 'key' = 'value'` (also `SET key = value`, `SET key TO value`).
    fn set(&mut self, text: &str, span: sqlparser::tokenizer::Span) -> Result<()> {
        let body = text.trim().trim_start_matches("SET").trim();
        let parts = body
            .split_once('=')
            .or_else(|| body.split_once(" TO "))
            .map(|(k, v)| (unquote(k), unquote(v)));
        let Some((key, value)) = parts else {
            return Err(self.err(span, "expected SET 'key' = 'value'", None));
        };
        if !RUN_SETTINGS.iter().any(|(k, _)| *k == key) {
            let hint = closest(&key, RUN_SETTINGS.iter().map(|(k, _)| *k))
                .map(|k| format!("did you mean '{k}'?"));
            return Err(self.err(span, format!("unknown setting '{key}'"), hint));
        }
        self.settings.push((key, value));
        Ok(())
    }

    fn err(
        &self,
        span: sqlparser::tokenizer::Span,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> Error {
        // Some nodes (SET, for one) carry no position: point at their statement.
        let span = if span.start.line == 0 {
            self.statement_start
        } else {
            Span {
                line: span.start.line,
                column: span.start.column,
            }
        };
        Error::Sql {
            file: self.file.to_string(),
            span,
            message: message.into(),
            hint,
        }
    }

    fn check_new_name(&self, name: &str, span: sqlparser::tokenizer::Span) -> Result<()> {
        let taken = self
            .tables
            .iter()
            .any(|t| t.name.eq_ignore_ascii_case(name))
            || self.views.iter().any(|v| v.name.eq_ignore_ascii_case(name));
        if taken {
            return Err(self.err(span, format!("\"{name}\" is already defined"), None));
        }
        Ok(())
    }

    fn create_table<'m>(
        &mut self,
        ct: &sql::CreateTable,
        metadata: &mut impl Iterator<Item = &'m MetadataClause>,
    ) -> Result<()> {
        let name = object_name(&ct.name);
        self.check_new_name(&name, ct.name.span())?;
        let mut columns = Vec::new();
        for c in &ct.columns {
            columns.push((
                c.name.value.clone(),
                self.data_type(&c.data_type, c.name.span)?,
            ));
        }
        let schema = Schema::new(columns);
        let mut meta = vec![None; schema.len()];
        let mut pending: Vec<&MetadataClause> = Vec::new();
        for clause in metadata.by_ref() {
            let in_table = clause.span.line >= ct.name.span().start.line
                && clause.span.line <= ct.span().end.line;
            if !in_table {
                pending.push(clause);
                break;
            }
            match schema.index_of(&clause.column) {
                Some(i) if meta[i].is_none() => meta[i] = Some(clause.key.clone()),
                _ => pending.push(clause),
            }
            if meta.iter().filter(|m| m.is_some()).count() == schema.len() {
                break;
            }
        }
        if let Some(c) = pending.first() {
            if schema.index_of(&c.column).is_none() && c.span.line <= ct.span().end.line {
                return Err(Error::Sql {
                    file: self.file.into(),
                    span: c.span,
                    message: "METADATA must follow a column name and type".into(),
                    hint: None,
                });
            }
        }
        let mut primary_key: Vec<String> = Vec::new();
        for constraint in &ct.constraints {
            if let sql::TableConstraint::PrimaryKey(pk) = constraint {
                primary_key.extend(
                    pk.columns
                        .iter()
                        // A quoted name (`user`) names the column, not its quoted spelling.
                        .map(|c| match &c.column.expr {
                            sql::Expr::Identifier(ident) => ident.value.to_ascii_lowercase(),
                            other => other.to_string().to_ascii_lowercase(),
                        }),
                );
            }
        }
        for c in &ct.columns {
            if c.options
                .iter()
                .any(|o| matches!(o.option, sql::ColumnOption::PrimaryKey(_)))
            {
                primary_key.push(c.name.value.to_ascii_lowercase());
            }
        }
        let options = match &ct.table_options {
            sql::CreateTableOptions::With(opts) | sql::CreateTableOptions::Options(opts) => opts
                .iter()
                .map(|o| match o {
                    sql::SqlOption::KeyValue { key, value } => {
                        Ok((object_name(key).to_ascii_lowercase(), literal_text(value)))
                    }
                    other => Err(self.err(
                        ct.name.span(),
                        format!("invalid table option {other}"),
                        Some("write options as 'key' = 'value'".into()),
                    )),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let span = ct.name.span().start;
        self.tables.push(TableDef {
            name,
            schema,
            metadata: meta,
            primary_key,
            options,
            span: Span {
                line: span.line,
                column: span.column,
            },
        });
        Ok(())
    }

    fn data_type(&self, dt: &sql::DataType, span: sqlparser::tokenizer::Span) -> Result<DataType> {
        let text = dt.to_string().to_ascii_uppercase();
        let base = text.split('(').next().unwrap_or("").trim();
        Ok(match base {
            "STRING" | "VARCHAR" | "CHAR" | "TEXT" | "BYTES" | "CHARACTER VARYING" => {
                DataType::String
            }
            "BIGINT" | "INT" | "INTEGER" | "SMALLINT" | "TINYINT" | "INT8" | "INT4" => {
                DataType::Int
            }
            "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "REAL" | "DECIMAL" | "NUMERIC" | "FLOAT8" => {
                DataType::Float
            }
            "BOOLEAN" | "BOOL" => DataType::Bool,
            "TIMESTAMP" => DataType::Timestamp,
            _ => {
                return Err(self.err(
                    span,
                    format!("unsupported type {text}"),
                    Some("use STRING, BIGINT, INT, DOUBLE, BOOLEAN or TIMESTAMP".into()),
                ))
            }
        })
    }

    fn insert(&mut self, ins: &sql::Insert) -> Result<()> {
        let sql::TableObject::TableName(name) = &ins.table else {
            return Err(self.err(ins.table.span(), "INSERT INTO needs a table name", None));
        };
        let target = object_name(name);
        let Some(table) = self
            .tables
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&target))
            .cloned()
        else {
            let hint = closest(&target, self.tables.iter().map(|t| t.name.as_str()))
                .map(|c| format!("did you mean \"{c}\"?"));
            return Err(self.err(name.span(), format!("unknown table \"{target}\""), hint));
        };
        let Some(query) = &ins.source else {
            return Err(self.err(name.span(), "INSERT INTO needs a SELECT", None));
        };
        if let Some((_, _, first)) = self
            .sinks
            .iter()
            .find(|(s, _, _)| s.eq_ignore_ascii_case(&table.name))
        {
            return Err(self.err(
                name.span(),
                format!(
                    "table \"{}\" is already written by the INSERT INTO at {first}: a sink table takes one INSERT",
                    table.name
                ),
                Some("write the second query into a table of its own (two queries writing one upsert topic would overwrite each other's rows)".into()),
            ));
        }
        let relation = self.query(query)?;
        let got = relation.schema().clone();
        if got.len() != table.schema.len() {
            return Err(self.err(
                query.span(),
                format!(
                    "the query has {} columns, but table \"{}\" has {}",
                    got.len(),
                    table.name,
                    table.schema.len()
                ),
                None,
            ));
        }
        let mut exprs = Vec::new();
        for (i, (have, want)) in got.columns.iter().zip(&table.schema.columns).enumerate() {
            exprs.push(if have.ty == want.ty {
                Expr::Column(i)
            } else if castable(have.ty, want.ty) {
                Expr::Cast {
                    expr: Box::new(Expr::Column(i)),
                    from: have.ty,
                    ty: want.ty,
                }
            } else {
                return Err(self.err(
                    query.span(),
                    format!(
                        "column {} (\"{}\") is {}, but \"{}\".\"{}\" is {}",
                        i + 1,
                        have.name,
                        have.ty,
                        table.name,
                        want.name,
                        want.ty
                    ),
                    Some("add a CAST".into()),
                ));
            });
        }
        let relation = Relation::Project {
            input: Box::new(relation),
            exprs,
            schema: table.schema.clone(),
        };
        let span = name.span().start;
        self.sinks.push((
            table.name.clone(),
            relation,
            Span {
                line: span.line,
                column: span.column,
            },
        ));
        Ok(())
    }

    fn finish(self) -> Result<Program> {
        if self.sinks.is_empty() {
            return Err(Error::Sql {
                file: self.file.into(),
                span: Span { line: 1, column: 1 },
                message: "the file has no INSERT INTO statement, so nothing would run".into(),
                hint: Some("add INSERT INTO <sink table> SELECT ...".into()),
            });
        }
        let mut sources = Vec::new();
        for t in &self.tables {
            let lname = t.name.to_ascii_lowercase();
            let written = self
                .sinks
                .iter()
                .any(|(s, _, _)| s.eq_ignore_ascii_case(&t.name));
            if self.read.contains(&lname) {
                if written {
                    return Err(Error::Sql {
                        file: self.file.into(),
                        span: t.span,
                        message: format!(
                            "table \"{}\" is both read and written in one dataflow",
                            t.name
                        ),
                        hint: Some("read the topic in another dataflow file".into()),
                    });
                }
                sources.push(source_spec(t)?);
            }
        }
        let mut sinks = Vec::new();
        for (name, relation, span) in self.sinks {
            let table = self
                .tables
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| Error::Internal(format!("sink {name} lost")))?;
            let sink = sink_spec(table)?;
            check_upsert_key(self.file, &sink, &relation, &self.views, span)?;
            sinks.push(SinkPlan { sink, relation });
        }
        let program = Program {
            sources,
            views: self.views,
            sinks,
            settings: self.settings,
        };
        crate::plan::checks::check_topics(&program, None)?;
        Ok(program)
    }

    fn query(&mut self, q: &sql::Query) -> Result<Relation> {
        if q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
            return Err(self.err(
                q.span(),
                "ORDER BY, LIMIT and FETCH are not supported yet",
                None,
            ));
        }
        let scoped = self.ctes.len();
        let result = self.with_query(q);
        self.ctes.truncate(scoped);
        result
    }

    /// A query's `WITH` names, then its body, which they are in scope for.
    fn with_query(&mut self, q: &sql::Query) -> Result<Relation> {
        if let Some(with) = &q.with {
            if with.recursive {
                return Err(self.err(q.span(), "WITH RECURSIVE is not supported yet", None));
            }
            for cte in &with.cte_tables {
                if !cte.alias.columns.is_empty() {
                    return Err(self.err(
                        cte.alias.name.span,
                        "column lists after a WITH name are not supported",
                        Some("name the columns with AS inside its query".into()),
                    ));
                }
                let relation = self.query(&cte.query)?;
                // A view of its own, under a name no statement can write; the name the query
                // uses resolves to it until the end of this query.
                let name = cte.alias.name.value.clone();
                let internal = format!("{name}#{}", self.views.len());
                self.views.push(View {
                    name: internal.clone(),
                    relation,
                });
                self.ctes.push((name, internal));
            }
        }
        self.set_expr(&q.body)
    }

    /// A query body: a SELECT, a parenthesized query, or a UNION of them.
    fn set_expr(&mut self, body: &SetExpr) -> Result<Relation> {
        match body {
            SetExpr::Select(s) => self.select(s),
            SetExpr::Query(inner) => self.query(inner),
            SetExpr::SetOperation {
                op: sql::SetOperator::Union,
                set_quantifier,
                left,
                right,
            } => {
                let left = self.set_expr(left)?;
                let right = self.set_expr(right)?;
                let union = self.union(left, right, body.span())?;
                match set_quantifier {
                    sql::SetQuantifier::All => Ok(union),
                    sql::SetQuantifier::Distinct | sql::SetQuantifier::None => Ok(distinct(union)),
                    other => Err(self.err(
                        body.span(),
                        format!("UNION {other} is not supported"),
                        Some("write UNION or UNION ALL".into()),
                    )),
                }
            }
            other => Err(self.err(
                other.span(),
                "INTERSECT, EXCEPT and VALUES are not supported yet",
                None,
            )),
        }
    }

    /// `left UNION ALL right`: equal column counts; an INTEGER column meets a DOUBLE one as
    /// DOUBLE; other types must be equal.
    fn union(
        &mut self,
        left: Relation,
        right: Relation,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Relation> {
        let (ls, rs) = (left.schema().clone(), right.schema().clone());
        if ls.len() != rs.len() {
            return Err(self.err(
                span,
                format!(
                    "the two sides of a UNION have {} and {} columns",
                    ls.len(),
                    rs.len()
                ),
                None,
            ));
        }
        let mut types = Vec::new();
        for (i, (l, r)) in ls.columns.iter().zip(&rs.columns).enumerate() {
            types.push(match (l.ty, r.ty) {
                (a, b) if a == b => a,
                (DataType::Int, DataType::Float) | (DataType::Float, DataType::Int) => {
                    DataType::Float
                }
                (a, b) => {
                    return Err(self.err(
                        span,
                        format!(
                            "UNION column {} (\"{}\") is {a} on one side and {b} on the other",
                            i + 1,
                            l.name
                        ),
                        Some("CAST one side to the other's type".into()),
                    ))
                }
            });
        }
        let schema = Schema::new(
            ls.columns
                .iter()
                .zip(&types)
                .map(|(c, t)| (c.name.clone(), *t)),
        );
        let widen = |r: Relation| -> Relation {
            let from = r.schema().clone();
            if from.columns.iter().zip(&types).all(|(c, t)| c.ty == *t) {
                return r;
            }
            let exprs = from
                .columns
                .iter()
                .zip(&types)
                .enumerate()
                .map(|(i, (c, t))| {
                    if c.ty == *t {
                        Expr::Column(i)
                    } else {
                        Expr::Cast {
                            expr: Box::new(Expr::Column(i)),
                            from: c.ty,
                            ty: *t,
                        }
                    }
                })
                .collect();
            let schema = Schema::new(
                from.columns
                    .iter()
                    .zip(&types)
                    .map(|(c, t)| (c.name.clone(), *t)),
            );
            Relation::Project {
                input: Box::new(r),
                exprs,
                schema,
            }
        };
        let mut inputs = Vec::new();
        for side in [widen(left), widen(right)] {
            match side {
                Relation::Union { inputs: inner, .. } => inputs.extend(inner),
                other => inputs.push(other),
            }
        }
        Ok(Relation::Union { inputs, schema })
    }

    fn select(&mut self, s: &sql::Select) -> Result<Relation> {
        match &s.distinct {
            None | Some(sql::Distinct::All) => {}
            Some(sql::Distinct::Distinct) => {
                let mut plain = s.clone();
                plain.distinct = None;
                return Ok(distinct(self.select(&plain)?));
            }
            Some(sql::Distinct::On(_)) => {
                return Err(self.err(
                    s.span(),
                    "SELECT DISTINCT ON is not supported",
                    Some("use GROUP BY".into()),
                ))
            }
        }
        let (mut relation, scope) = self.from(s)?;
        if let Some(w) = &s.selection {
            relation = self.where_clause(relation, &scope, w)?;
        }
        let group_by = match &s.group_by {
            GroupByExpr::Expressions(e, _) => e.clone(),
            GroupByExpr::All(_) => {
                return Err(self.err(s.span(), "GROUP BY ALL is not supported", None))
            }
        };
        let items = self.select_items(&s.projection, &scope)?;
        let has_agg = items.iter().any(|(e, _)| contains_agg(e))
            || s.having.as_ref().is_some_and(contains_agg);
        if group_by.is_empty() && !has_agg {
            if let Some(h) = &s.having {
                return Err(self.err(h.span(), "HAVING needs GROUP BY or an aggregate", None));
            }
            let mut exprs = Vec::new();
            let mut cols = Vec::new();
            for (i, (e, alias)) in items.iter().enumerate() {
                let (x, ty) = self.expr(e, &scope, &mut None)?;
                exprs.push(x);
                cols.push((output_name(e, alias.as_deref(), i), ty));
            }
            return Ok(Relation::Project {
                input: Box::new(relation),
                exprs,
                schema: Schema::new(unique_names(cols)),
            });
        }
        self.aggregate(relation, &scope, &group_by, &items, s.having.as_ref())
    }

    fn select_items(
        &self,
        projection: &[SelectItem],
        scope: &Scope,
    ) -> Result<Vec<(SqlExpr, Option<String>)>> {
        let mut items = Vec::new();
        for item in projection {
            match item {
                SelectItem::UnnamedExpr(e) => items.push((e.clone(), None)),
                SelectItem::ExprWithAlias { expr, alias } => {
                    items.push((expr.clone(), Some(alias.value.clone())))
                }
                SelectItem::ExprWithAliases { expr, .. } => {
                    return Err(self.err(expr.span(), "multiple aliases are not supported", None))
                }
                SelectItem::Wildcard(_) => {
                    items.extend((0..scope.schema.len()).map(|i| (scope.reference(i), None)));
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let q = match kind {
                        sql::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n),
                        sql::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    if !scope.knows(&q) {
                        return Err(self.err(
                            item.span(),
                            format!("unknown table or alias \"{q}\""),
                            None,
                        ));
                    }
                    let lq = q.to_ascii_lowercase();
                    items.extend(
                        (0..scope.schema.len())
                            .filter(|&i| scope.qualifiers[i].contains(&lq))
                            .map(|i| (scope.reference(i), None)),
                    );
                }
            }
        }
        Ok(items)
    }

    fn aggregate(
        &mut self,
        input: Relation,
        scope: &Scope,
        group_by: &[SqlExpr],
        items: &[(SqlExpr, Option<String>)],
        having: Option<&SqlExpr>,
    ) -> Result<Relation> {
        let mut cx = AggCx {
            keys: Vec::new(),
            aggs: Vec::new(),
        };
        let mut key_names = Vec::new();
        for g in group_by {
            // GROUP BY 2, or GROUP BY an output alias.
            let resolved = match g {
                SqlExpr::Value(v) => match &v.value {
                    Value::Number(n, _) => {
                        let i: usize = n.parse().unwrap_or(0);
                        items
                            .get(i.wrapping_sub(1))
                            .map(|(e, _)| e.clone())
                            .ok_or_else(|| {
                                self.err(
                                    g.span(),
                                    format!("GROUP BY position {n} is out of range"),
                                    None,
                                )
                            })?
                    }
                    _ => g.clone(),
                },
                SqlExpr::Identifier(id) if scope.schema.index_of(&id.value).is_none() => items
                    .iter()
                    .find(|(_, a)| {
                        a.as_deref()
                            .is_some_and(|a| a.eq_ignore_ascii_case(&id.value))
                    })
                    .map_or(g.clone(), |(e, _)| e.clone()),
                _ => g.clone(),
            };
            if contains_agg(&resolved) {
                return Err(self.err(g.span(), "aggregates are not allowed in GROUP BY", None));
            }
            let typed = self.expr(&resolved, scope, &mut None)?;
            let name = items
                .iter()
                .find(|(e, _)| *e == resolved)
                .and_then(|(e, a)| a.clone().or_else(|| plain_name(e)))
                .unwrap_or_else(|| {
                    plain_name(&resolved).unwrap_or_else(|| format!("key{}", cx.keys.len()))
                });
            key_names.push(name);
            cx.keys.push(typed);
        }
        let mut cx = Some(cx);
        let mut outputs = Vec::new();
        for (i, (e, alias)) in items.iter().enumerate() {
            let (x, ty) = self.expr(e, scope, &mut cx)?;
            outputs.push((x, output_name(e, alias.as_deref(), i), ty));
        }
        let having = match having {
            Some(h) => {
                let (x, ty) = self.expr(h, scope, &mut cx)?;
                if ty != DataType::Bool {
                    return Err(self.err(
                        h.span(),
                        format!("HAVING must be BOOLEAN, not {ty}"),
                        None,
                    ));
                }
                Some(x)
            }
            None => None,
        };
        let cx = cx.ok_or_else(|| Error::Internal("aggregation context lost".into()))?;
        let mut cols: Vec<(String, DataType)> = key_names
            .into_iter()
            .zip(cx.keys.iter().map(|(_, t)| *t))
            .collect();
        cols.extend(cx.aggs.iter().map(|(_, t, n)| (n.clone(), *t)));
        let reduce = Relation::Reduce {
            input: Box::new(input),
            group_key: cx.keys.into_iter().map(|(e, _)| e).collect(),
            aggregates: cx.aggs.into_iter().map(|(a, _, _)| a).collect(),
            schema: Schema::new(cols),
        };
        let filtered = match having {
            Some(predicate) => Relation::Filter {
                input: Box::new(reduce),
                predicate,
            },
            None => reduce,
        };
        let schema = Schema::new(unique_names(
            outputs.iter().map(|(_, n, t)| (n.clone(), *t)).collect(),
        ));
        Ok(Relation::Project {
            input: Box::new(filtered),
            exprs: outputs.into_iter().map(|(e, _, _)| e).collect(),
            schema,
        })
    }

    /// Lower an expression. With an aggregation context, the result refers to the `Reduce`
    /// output (keys, then aggregates) instead of the input row.
    fn expr(&mut self, e: &SqlExpr, scope: &Scope, agg: &mut Option<AggCx>) -> Result<Typed> {
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

    fn expr_at_depth(
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
                if let Some(name) = first_column(e) {
                    return Err(self.err(
                        e.span(),
                        format!("column \"{name}\" must appear in the GROUP BY clause or be used in an aggregate function"),
                        None,
                    ));
                }
                return Ok(plain); // a constant
            }
        }
        self.expr_node(e, scope, agg)
    }

    fn agg_call(
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
        if f.over.is_some() {
            return Err(over_not_supported(self, e.span()));
        }
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
            AggFunc::Sum => arg_ty,
            AggFunc::Avg => DataType::Float,
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

    fn expr_node(&mut self, e: &SqlExpr, scope: &Scope, agg: &mut Option<AggCx>) -> Result<Typed> {
        let span = e.span();
        match e {
            SqlExpr::Identifier(id) => self.column(&id.value, None, span, scope),
            SqlExpr::CompoundIdentifier(parts) => match parts.as_slice() {
                [q, c] => self.column(&c.value, Some(&q.value), span, scope),
                _ => Err(self.err(span, format!("cannot resolve \"{e}\""), None)),
            },
            SqlExpr::Value(v) => self.literal(&v.value, span),
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
                expr, data_type, ..
            } => {
                let (x, from) = self.expr(expr, scope, agg)?;
                let ty = self.data_type(data_type, span)?;
                Ok(if from == ty {
                    (x, ty)
                } else {
                    (
                        Expr::Cast {
                            expr: Box::new(x),
                            from,
                            ty,
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
                let mut ty = None;
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
                    ty.get_or_insert(rt);
                    branches.push((cond, r));
                }
                let otherwise = match else_result {
                    Some(x) => self.expr(x, scope, agg)?.0,
                    None => Expr::Literal(data::Value::Null),
                };
                Ok((
                    Expr::Case {
                        branches,
                        otherwise: Box::new(otherwise),
                    },
                    ty.unwrap_or(DataType::String),
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
                let (x, ty) = self.expr(expr, scope, agg)?;
                let func = if matches!(e, SqlExpr::Ceil { .. }) {
                    ScalarFunc::Ceil
                } else {
                    ScalarFunc::Floor
                };
                Ok((
                    Expr::Call {
                        func,
                        args: vec![x],
                    },
                    ty,
                ))
            }
            SqlExpr::Function(f) => self.function(f, scope, agg, span),
            SqlExpr::Exists { .. }
            | SqlExpr::Subquery(_)
            | SqlExpr::In {
                target: sql::InTarget::Subquery(_),
                ..
            } => Err(self.err(
                span,
                "a subquery is supported only as a WHERE condition joined by AND: [NOT] EXISTS (SELECT ...) or x [NOT] IN (SELECT ...)",
                Some("join the subquery in FROM instead".into()),
            )),
            _ => Err(self.err(
                span,
                format!("expression \"{e}\" is not supported yet"),
                None,
            )),
        }
    }

    fn column(
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

    fn literal(&self, v: &Value, span: sqlparser::tokenizer::Span) -> Result<Typed> {
        Ok(match v {
            Value::Number(n, _) => match n.parse::<i64>() {
                Ok(i) => (Expr::Literal(data::Value::Int(i)), DataType::Int),
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

    fn binary(
        &self,
        op: &BinaryOperator,
        (l, lt): Typed,
        (r, rt): Typed,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        use BinaryOperator as B;
        let numeric = |t: DataType| t.is_numeric() || t == DataType::Timestamp;
        let (op, ty) = match op {
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                if !numeric(lt) || !numeric(rt) {
                    return Err(self.err(
                        span,
                        format!("operator {op} needs numeric operands, not {lt} and {rt}"),
                        None,
                    ));
                }
                let ty = if lt == DataType::Float || rt == DataType::Float {
                    DataType::Float
                } else {
                    DataType::Int
                };
                let op = match op {
                    B::Plus => BinaryOp::Add,
                    B::Minus => BinaryOp::Sub,
                    B::Multiply => BinaryOp::Mul,
                    B::Divide => BinaryOp::Div,
                    _ => BinaryOp::Mod,
                };
                (op, ty)
            }
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => {
                if !(lt == rt
                    || (numeric(lt) && numeric(rt))
                    || matches!(l, Expr::Literal(data::Value::Null))
                    || matches!(r, Expr::Literal(data::Value::Null)))
                {
                    return Err(self.err(
                        span,
                        format!("cannot compare {lt} with {rt}"),
                        Some("add a CAST".into()),
                    ));
                }
                let op = match op {
                    B::Eq => BinaryOp::Eq,
                    B::NotEq => BinaryOp::NotEq,
                    B::Lt => BinaryOp::Lt,
                    B::LtEq => BinaryOp::LtEq,
                    B::Gt => BinaryOp::Gt,
                    _ => BinaryOp::GtEq,
                };
                (op, DataType::Bool)
            }
            B::And | B::Or => {
                if lt != DataType::Bool || rt != DataType::Bool {
                    return Err(self.err(
                        span,
                        format!("operator {op} needs BOOLEAN operands, not {lt} and {rt}"),
                        None,
                    ));
                }
                (
                    if matches!(op, B::And) {
                        BinaryOp::And
                    } else {
                        BinaryOp::Or
                    },
                    DataType::Bool,
                )
            }
            B::StringConcat => (BinaryOp::Concat, DataType::String),
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

    fn function(
        &mut self,
        f: &sql::Function,
        scope: &Scope,
        agg: &mut Option<AggCx>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        let name = object_name(&f.name).to_ascii_lowercase();
        let upper = name.to_uppercase();
        if f.over.is_some() {
            return Err(over_not_supported(self, span));
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
                Some("use a time column of the data instead (event time), e.g. a TIMESTAMP field or METADATA FROM 'timestamp'".into()),
            ));
        }
        let def = functions::lookup(&name);
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

    /// A call of `def`: argument count and types checked, constant patterns validated.
    fn call(
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
                Some(_) if types.iter().all(|t| t.is_numeric()) => DataType::Float,
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
                    *x = Expr::Cast {
                        expr: Box::new(std::mem::replace(x, Expr::Literal(data::Value::Null))),
                        from: *t,
                        ty: common,
                    };
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
                F::DateFormat | F::ToTimestamp | F::UnixTimestamp | F::FromUnixtime => {
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

/// An upsert sink needs at most one row per key: its `PRIMARY KEY` must contain a unique key
/// of the query (see [`crate::plan::keys`]).
fn check_upsert_key(
    file: &str,
    sink: &SinkSpec,
    relation: &Relation,
    views: &[View],
    span: Span,
) -> Result<()> {
    if !matches!(
        sink.connector,
        SinkConnector::Kafka {
            mode: KafkaSinkMode::Upsert,
            ..
        }
    ) {
        return Ok(());
    }
    let names = |cols: &[usize]| -> String {
        cols.iter()
            .map(|i| sink.schema.columns[*i].name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let declared = names(&sink.primary_key);
    let (message, hint) = match crate::plan::keys::unique_key(relation, views) {
        Some(key) if key.iter().all(|k| sink.primary_key.contains(k)) => return Ok(()),
        Some(key) => (
            format!(
                "sink \"{}\" has PRIMARY KEY ({declared}), but the query's rows are unique only by ({}): rows that share ({declared}) would overwrite each other, and deleting one would delete the key while others remain",
                sink.name,
                names(&key)
            ),
            format!(
                "declare PRIMARY KEY ({}) NOT ENFORCED, or GROUP BY ({declared}) only",
                names(&key)
            ),
        ),
        None => (
            format!(
                "sink \"{}\" is an upsert sink keyed by ({declared}), but the query can produce several rows per key (it has no GROUP BY, or does not select every GROUP BY column): they would overwrite each other, and deleting one would delete the key while others remain",
                sink.name
            ),
            format!(
                "GROUP BY {declared} (and select those columns), or write every change with 'sink.mode' = 'changelog'"
            ),
        ),
    };
    Err(Error::Sql {
        file: file.into(),
        span,
        message,
        hint: Some(hint),
    })
}

/// `terms` joined by `op` (associative) as a balanced tree; `None` when there are none.
fn balanced(op: BinaryOp, mut terms: Vec<Expr>) -> Option<Expr> {
    while terms.len() > 1 {
        let mut next = Vec::with_capacity(terms.len().div_ceil(2));
        let mut it = terms.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => Expr::Binary {
                    op,
                    left: Box::new(a),
                    right: Box::new(b),
                },
                None => a,
            });
        }
        terms = next;
    }
    terms.pop()
}

/// The distinct rows of `r`: a `GROUP BY` of every column, with no aggregates.
fn distinct(r: Relation) -> Relation {
    let schema = r.schema().clone();
    Relation::Reduce {
        group_key: (0..schema.len()).map(Expr::Column).collect(),
        aggregates: Vec::new(),
        input: Box::new(r),
        schema,
    }
}

/// Output column names made unique as Flink does: a repeated name gets the smallest number
/// suffix that is free (`id`, `id0`, `id1`), so a view over a join can name each column.
fn unique_names(cols: Vec<(String, DataType)>) -> Vec<(String, DataType)> {
    let mut taken: Vec<String> = Vec::with_capacity(cols.len());
    cols.into_iter()
        .map(|(name, ty)| {
            let mut unique = name.clone();
            let mut n = 0;
            while taken.iter().any(|t| t.eq_ignore_ascii_case(&unique)) {
                unique = format!("{name}{n}");
                n += 1;
            }
            taken.push(unique.clone());
            (unique, ty)
        })
        .collect()
}

/// `NOT x` when `negated`, else `x` (for `NOT IN`, `NOT BETWEEN`, `NOT LIKE`).
fn negate_if(negated: bool, x: Expr) -> Expr {
    if negated {
        Expr::Unary {
            op: UnaryOp::Not,
            expr: Box::new(x),
        }
    } else {
        x
    }
}

fn castable(from: DataType, to: DataType) -> bool {
    matches!(
        (from, to),
        (DataType::Int, DataType::Float)
            | (_, DataType::String)
            | (DataType::Int, DataType::Timestamp)
            | (DataType::Timestamp, DataType::Int)
    )
}

/// `... OVER (...)`: not yet (window functions and `ROW_NUMBER` top-N come with event time).
fn over_not_supported(l: &Lowerer<'_>, span: sqlparser::tokenizer::Span) -> Error {
    l.err(
        span,
        "OVER windows are not supported yet",
        Some(
            "aggregate with GROUP BY; ROW_NUMBER() top-N and OVER windows are still to come".into(),
        ),
    )
}

/// A function the planner itself names (for syntax such as `POSITION(a IN b)`).
fn catalog(name: &str) -> Result<&'static functions::FunctionDef> {
    functions::lookup(name)
        .ok_or_else(|| Error::Internal(format!("{name} is missing from the function catalog")))
}

/// Aggregate functions the planner knows (lowercase).
const AGGREGATE_FUNCTIONS: &[&str] = &["count", "sum", "min", "max", "avg"];

fn is_agg_name(name: &str) -> bool {
    AGGREGATE_FUNCTIONS.contains(&name)
}

fn agg_call(e: &SqlExpr) -> Option<&sql::Function> {
    match e {
        SqlExpr::Function(f) if is_agg_name(&object_name(&f.name).to_ascii_lowercase()) => Some(f),
        _ => None,
    }
}

/// Whether `e` contains an aggregate call anywhere.
/// Whether `e` calls an aggregate of its own query (not one inside a subquery of it).
fn contains_agg(e: &SqlExpr) -> bool {
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

/// The first column reference in `e`, if any.
fn first_column(e: &SqlExpr) -> Option<String> {
    let mut found = None;
    let _ = sql::visit_expressions(e, |x| {
        if found.is_none() {
            match x {
                SqlExpr::Identifier(id) => found = Some(id.value.clone()),
                SqlExpr::CompoundIdentifier(p) => found = p.last().map(|i| i.value.clone()),
                _ => {}
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

fn plain_name(e: &SqlExpr) -> Option<String> {
    match e {
        SqlExpr::Identifier(id) => Some(id.value.clone()),
        SqlExpr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()),
        SqlExpr::Function(f) => Some(object_name(&f.name).to_ascii_lowercase()),
        SqlExpr::Nested(x) => plain_name(x),
        SqlExpr::Cast { expr, .. } => plain_name(expr),
        _ => None,
    }
}

fn output_name(e: &SqlExpr, alias: Option<&str>, i: usize) -> String {
    alias
        .map(String::from)
        .or_else(|| plain_name(e))
        .unwrap_or_else(|| format!("expr{}", i + 1))
}

fn object_name(n: &sql::ObjectName) -> String {
    n.0.iter()
        .map(|p| {
            p.as_ident()
                .map_or_else(|| p.to_string(), |i| i.value.clone())
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// An option value as text: `'x'` → `x`, numbers and identifiers as written.
fn literal_text(e: &SqlExpr) -> String {
    match e {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        SqlExpr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}
