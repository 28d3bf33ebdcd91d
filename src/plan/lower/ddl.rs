//! Statements: `CREATE TABLE` (columns, types, keys, options) and `INSERT INTO`.

use super::*;

impl Lowerer<'_> {
    pub(super) fn create_table<'m>(
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

    pub(super) fn data_type(
        &self,
        dt: &sql::DataType,
        span: sqlparser::tokenizer::Span,
    ) -> Result<DataType> {
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
