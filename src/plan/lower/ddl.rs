//! Statements: `CREATE TABLE` (columns, types, keys, options) and `INSERT INTO`.

use super::*;

impl Lowerer<'_> {
    pub(super) fn create_table(&mut self, ct: &sql::CreateTable, clauses: &Clauses) -> Result<()> {
        let name = object_name(&ct.name);
        self.check_new_name(&name, ct.name.span())?;
        // The text scan names a table by the last part of its name.
        let short = ct
            .name
            .0
            .last()
            .map(|p| p.to_string().trim_matches(['`', '"']).to_ascii_lowercase())
            .unwrap_or_default();
        let mine = |table: &str| table == short;
        let mut columns = Vec::new();
        for c in &ct.columns {
            if c.name.value.contains('.') {
                return Err(self.err(
                    c.name.span,
                    format!("column name \"{}\" contains '.'", c.name.value),
                    Some(
                        "a '.' names a field of a ROW column (person.id); rename the column".into(),
                    ),
                ));
            }
            let lname = c.name.value.to_ascii_lowercase();
            match clauses
                .rows
                .iter()
                .find(|r| mine(&r.table) && r.column == lname)
            {
                Some(row) => self.flatten(&c.name.value, &row.ty, at(row.span), &mut columns)?,
                None => columns.push((
                    c.name.value.clone(),
                    self.data_type(&c.data_type, c.name.span)?,
                )),
            }
        }
        let schema = Schema::new(columns);
        let mut meta = vec![None; schema.len()];
        for clause in clauses.metadata.iter().filter(|c| mine(&c.table)) {
            match schema.index_of(&clause.column) {
                Some(i) if meta[i].is_none() => meta[i] = Some(clause.key.clone()),
                _ => {
                    return Err(Error::Sql {
                        file: self.file.into(),
                        span: clause.span,
                        message: "METADATA must follow a column name and type".into(),
                        hint: None,
                    })
                }
            }
        }
        self.computed_columns(&name, &schema, clauses, &mine)?;
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
        let partition_by =
            match &ct.hive_distribution {
                sql::HiveDistributionStyle::NONE => Vec::new(),
                sql::HiveDistributionStyle::PARTITIONED { columns } => {
                    columns.iter().map(|c| c.name.value.clone()).collect()
                }
                _ => return Err(self.err(
                    ct.name.span(),
                    "only PARTITIONED BY (column, ...) is supported of Hive's distribution clauses",
                    None,
                )),
            };
        let span = ct.name.span().start;
        self.tables.push(TableDef {
            partition_by,
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

    /// `PROCTIME()` as a whole computed column or select item, when the file opted in to
    /// processing time (`SET 'processing-time' = 'epoch'` before it): the time of the
    /// record's epoch. Anywhere else it is refused (see `scalar`).
    pub(super) fn proctime(&self, e: &sql::Expr) -> Option<(Expr, DataType)> {
        let sql::Expr::Function(f) = e else {
            return None;
        };
        let no_args = match &f.args {
            sql::FunctionArguments::None => true,
            sql::FunctionArguments::List(l) => l.args.is_empty(),
            _ => false,
        };
        let opted_in = self
            .settings
            .iter()
            .any(|(k, v)| k == "processing-time" && v.eq_ignore_ascii_case("epoch"));
        (opted_in && no_args && object_name(&f.name).eq_ignore_ascii_case("proctime")).then(|| {
            (
                Expr::Call {
                    func: crate::plan::ir::ScalarFunc::ProcTime,
                    args: Vec::new(),
                },
                DataType::Timestamp,
            )
        })
    }

    /// The leaf fields of a `ROW` column as columns named by their path (`person.id`), in
    /// order; a nested `ROW` is flattened in place.
    fn flatten(
        &self,
        path: &str,
        ty: &sql::DataType,
        span: sqlparser::tokenizer::Span,
        out: &mut Vec<(String, DataType)>,
    ) -> Result<()> {
        match ty {
            sql::DataType::Struct(fields, _) => {
                for f in fields {
                    let Some(name) = f.field_name.as_ref().map(|n| n.value.clone()) else {
                        return Err(self.err(
                            span,
                            format!("ROW field \"{}\" needs a name and a type", f.field_type),
                            Some("write ROW<name TYPE, ...>".into()),
                        ));
                    };
                    self.flatten(&format!("{path}.{name}"), &f.field_type, span, out)?;
                }
                Ok(())
            }
            other => {
                out.push((path.to_string(), self.data_type(other, span)?));
                Ok(())
            }
        }
    }

    /// A table's computed columns (`ts AS <expression>`) and its watermark: reading the table
    /// reads its physical columns through a projection that adds the computed ones in their
    /// declared places. The watermark is checked (a `TIMESTAMP` column, a `TIMESTAMP`
    /// expression) and recorded on the table; no operator reads event time yet.
    fn computed_columns(
        &mut self,
        table: &str,
        physical: &Schema,
        clauses: &Clauses,
        mine: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        let computed: Vec<_> = clauses.computed.iter().filter(|c| mine(&c.table)).collect();
        let scope = Scope::of(physical.clone(), vec![table.to_ascii_lowercase()]);
        let mut full = Vec::new();
        let mut exprs = Vec::new();
        let mut next_physical = 0;
        let declared = computed.len() + physical.len();
        for position in 0..declared {
            if let Some(c) = computed.iter().find(|c| c.position == position) {
                if c.column.contains('.') || physical.index_of(&c.column).is_some() {
                    return Err(self.err(
                        at(c.span),
                        format!("computed column \"{}\" is already a column", c.column),
                        None,
                    ));
                }
                let (e, ty) = match self.proctime(&c.expr) {
                    Some(e) => e,
                    None => self.expr(&c.expr, &scope, &mut None)?,
                };
                exprs.push(e);
                full.push((c.column.clone(), ty));
            } else if next_physical < physical.len() {
                exprs.push(Expr::Column(next_physical));
                let col = &physical.columns[next_physical];
                full.push((col.name.clone(), col.ty));
                // The fields of one ROW column take one declared place.
                let row = col.name.split('.').next().unwrap_or_default().to_string();
                next_physical += 1;
                while next_physical < physical.len()
                    && col.name.contains('.')
                    && physical.columns[next_physical].name.split('.').next() == Some(row.as_str())
                {
                    exprs.push(Expr::Column(next_physical));
                    let col = &physical.columns[next_physical];
                    full.push((col.name.clone(), col.ty));
                    next_physical += 1;
                }
            }
        }
        let full = Schema::new(full);
        let mut watermark = None;
        for w in clauses.watermarks.iter().filter(|w| mine(&w.table)) {
            if watermark.is_some() {
                return Err(self.err(at(w.span), "a table has at most one WATERMARK", None));
            }
            let full_scope = Scope::of(full.clone(), vec![table.to_ascii_lowercase()]);
            let (_, column_ty) = self.column(&w.column, None, at(w.span), &full_scope)?;
            let (mut wm, ty) = self.expr(&w.expr, &full_scope, &mut None)?;
            // Over the decoded row: computed columns by their expressions.
            wm.replace_columns(&mut |c| exprs.get(c).cloned());
            if column_ty != DataType::Timestamp || ty != DataType::Timestamp {
                return Err(self.err(
                    at(w.span),
                    format!(
                        "a WATERMARK is FOR a TIMESTAMP column AS a TIMESTAMP expression, not {column_ty} and {ty}"
                    ),
                    Some("e.g. WATERMARK FOR ts AS ts - INTERVAL '5' SECOND".into()),
                ));
            }
            watermark = Some((w.column.clone(), w.expr.to_string(), wm));
        }
        if !computed.is_empty() {
            self.computed
                .push((table.to_ascii_lowercase(), exprs, full));
        }
        if let Some((column, text, expr)) = watermark {
            self.watermarks
                .push((table.to_ascii_lowercase(), column, text, expr));
        }
        Ok(())
    }

    pub(super) fn data_type(
        &self,
        dt: &sql::DataType,
        span: sqlparser::tokenizer::Span,
    ) -> Result<DataType> {
        if let sql::DataType::Array(def) = dt {
            use sql::ArrayElemTypeDef as A;
            let inner = match def {
                A::AngleBracket(t)
                | A::SquareBracket(t, _)
                | A::Parenthesis(t)
                | A::ParenthesisNotNull(t)
                | A::Qualified(t, _) => t,
                A::None => {
                    return Err(self.err(
                        span,
                        "ARRAY needs an element type",
                        Some("write ARRAY<STRING>, ARRAY<BIGINT>, ...".into()),
                    ))
                }
            };
            let elem = self.data_type(inner, span)?;
            return match crate::data::Elem::of(elem) {
                Some(e) => Ok(DataType::Array(e)),
                None => Err(self.err(
                    span,
                    format!("unsupported type {dt}: arrays of arrays are not supported"),
                    None,
                )),
            };
        }
        let text = dt.to_string().to_ascii_uppercase();
        let base = text.split('(').next().unwrap_or("").trim();
        Ok(match base {
            "STRING" | "VARCHAR" | "CHAR" | "TEXT" | "BYTES" | "CHARACTER VARYING" => {
                DataType::String
            }
            "BIGINT" | "INT" | "INTEGER" | "SMALLINT" | "TINYINT" | "INT8" | "INT4" => {
                DataType::Int
            }
            "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "REAL" | "FLOAT8" => DataType::Float,
            "DECIMAL" | "NUMERIC" | "DEC" => {
                // DECIMAL(p, s); DECIMAL(p) is DECIMAL(p, 0); DECIMAL is DECIMAL(10, 0).
                let inner = text
                    .split_once('(')
                    .map(|(_, rest)| rest.trim_end_matches(')'))
                    .unwrap_or("");
                let numbers: Vec<Option<u8>> = inner
                    .split(',')
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| n.trim().parse().ok())
                    .collect();
                let (p, s) = match numbers.as_slice() {
                    [] => (10, 0),
                    [Some(p)] => (*p, 0),
                    [Some(p), Some(s)] => (*p, *s),
                    _ => (0, 1),
                };
                if p == 0 || p > crate::data::decimal::MAX_PRECISION || s > p {
                    return Err(self.err(
                        span,
                        format!("invalid type {text}"),
                        Some("DECIMAL(p, s) takes a precision p from 1 to 38 and a scale s from 0 to p".into()),
                    ));
                }
                DataType::Decimal(p, s)
            }
            "BOOLEAN" | "BOOL" => DataType::Bool,
            "TIMESTAMP" => DataType::Timestamp,
            "DATE" => DataType::Date,
            _ => return Err(self.err(
                span,
                format!("unsupported type {text}"),
                Some(
                    "use STRING, BIGINT, INT, DOUBLE, DECIMAL(p, s), BOOLEAN, TIMESTAMP, DATE, ARRAY<TYPE> or ROW<name TYPE, ...>"
                        .into(),
                ),
            )),
        })
    }

    pub(super) fn insert(&mut self, ins: &sql::Insert) -> Result<()> {
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
        let lname = table.name.to_ascii_lowercase();
        if let Some((_, _, schema)) = self.computed.iter().find(|(t, _, _)| *t == lname) {
            let computed: Vec<&str> = schema
                .columns
                .iter()
                .filter(|c| table.schema.index_of(&c.name).is_none())
                .map(|c| c.name.as_str())
                .collect();
            return Err(self.err(
                name.span(),
                format!(
                    "table \"{}\" has computed columns ({}), so it can only be read",
                    table.name,
                    computed.join(", ")
                ),
                Some("declare the sink table with plain columns and compute the values in the SELECT".into()),
            ));
        }
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
        self.check_row_numbers(&relation, false, ins)?;
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
                    safe: false,
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
}

/// An upsert sink needs at most one row per key: its `PRIMARY KEY` must contain a unique key
/// of the query (see [`crate::plan::keys`]).
pub(super) fn check_upsert_key(
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

/// An option value as text: `'x'` → `x`, numbers and identifiers as written.
pub(super) fn literal_text(e: &SqlExpr) -> String {
    match e {
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        SqlExpr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

/// A position of ours as a `sqlparser` span, for [`Lowerer::err`].
fn at(span: Span) -> sqlparser::tokenizer::Span {
    let l = sqlparser::tokenizer::Location::new(span.line, span.column);
    sqlparser::tokenizer::Span::new(l, l)
}
