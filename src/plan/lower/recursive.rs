//! `WITH RECURSIVE name [(columns)] AS (query)`: a `WITH` name whose query reads itself,
//! lowered to a [`Relation::Recursive`] view (its least fixed point) once
//! [`crate::plan::recursion::check`] has shown the iteration ends on any input.
//!
//! The columns' types are those declared (`WITH RECURSIVE r (node BIGINT, hops BIGINT)`, as
//! Materialize's `WITH MUTUALLY RECURSIVE` wants), or, in the standard form `anchor UNION
//! [ALL] recursive part`, the anchor's.

use std::ops::ControlFlow;

use super::*;
use crate::plan::recursion;

impl Lowerer<'_> {
    /// Whether `cte` of a `WITH RECURSIVE` reads its own name.
    pub(super) fn reads_itself(cte: &sql::Cte) -> bool {
        reads_name(&cte.query.body, &cte.alias.name.value)
    }

    /// Lower the recursive `cte` into a view and bring its name into scope.
    pub(super) fn recursive_cte(&mut self, cte: &sql::Cte) -> Result<()> {
        let label = cte.alias.name.value.clone();
        let span = cte.alias.name.span;
        let schema = self.recursive_schema(cte)?;
        // The body reads the name as the view's own; until the body is known, the view is an
        // empty relation of the declared schema.
        let internal = format!("{label}#{}", self.views.len());
        self.views.push(View {
            name: internal.clone(),
            relation: Relation::Union {
                inputs: Vec::new(),
                schema: schema.clone(),
            },
        });
        self.ctes.push((label.clone(), internal.clone()));
        let body = self.query(&cte.query)?;
        let body = self.conform(body, &schema, &label, span)?;
        recursion::check(&label, &internal, &body, &schema)
            .map_err(|(m, h)| self.err(span, m, Some(h)))?;
        let view = (self.views.iter_mut())
            .find(|v| v.name == internal)
            .ok_or_else(|| Error::Internal(format!("view {internal} went missing")))?;
        view.relation = Relation::Recursive {
            name: internal,
            body: Box::new(body),
            schema,
        };
        Ok(())
    }

    /// The columns of a recursive `WITH` name: declared, or the anchor's.
    fn recursive_schema(&mut self, cte: &sql::Cte) -> Result<Schema> {
        let label = &cte.alias.name.value;
        let span = cte.alias.name.span;
        let mut declared = Vec::new();
        for c in &cte.alias.columns {
            let ty = (c.data_type.as_ref())
                .map(|t| self.data_type(t, c.name.span))
                .transpose()?;
            declared.push((c.name.value.clone(), ty));
        }
        let types: Option<Vec<DataType>> = declared.iter().map(|(_, t)| *t).collect();
        if let Some(types) = types.filter(|_| !declared.is_empty()) {
            return Ok(Schema::new(
                declared.iter().map(|(n, _)| n.clone()).zip(types),
            ));
        }
        let SetExpr::SetOperation {
            op: sql::SetOperator::Union,
            left: anchor,
            ..
        } = &*cte.query.body
        else {
            return Err(self.err(
                span,
                format!("the column types of recursive \"{label}\" cannot be told from its query"),
                Some(format!(
                    "declare them, WITH RECURSIVE {label} (a BIGINT, b STRING) AS (...), or \
                     write it as a first part that does not read {label} UNION the part that does"
                )),
            ));
        };
        if reads_name(anchor, label) {
            return Err(self.err(
                anchor.span(),
                format!("the first part of recursive \"{label}\" reads \"{label}\" itself"),
                Some(format!(
                    "start from rows that do not depend on it: WITH RECURSIVE {label} AS \
                     (SELECT ... FROM base UNION SELECT ... FROM {label} ...)"
                )),
            ));
        }
        // Lowered once for its types only: what it adds is dropped.
        let (views, ctes) = (self.views.len(), self.ctes.len());
        let anchor = self.set_expr(anchor);
        self.views.truncate(views);
        self.ctes.truncate(ctes);
        let anchor = anchor?;
        let columns = &anchor.schema().columns;
        if !declared.is_empty() && declared.len() != columns.len() {
            return Err(self.err(
                span,
                format!(
                    "recursive \"{label}\" names {} columns but its query has {}",
                    declared.len(),
                    columns.len()
                ),
                None,
            ));
        }
        Ok(Schema::new(columns.iter().enumerate().map(|(i, c)| {
            let (name, ty) = declared.get(i).cloned().unwrap_or((c.name.clone(), None));
            (name, ty.unwrap_or(c.ty))
        })))
    }

    /// `body` with the column types of `schema` (numbers widened), or an error naming the
    /// column that does not fit.
    fn conform(
        &self,
        body: Relation,
        schema: &Schema,
        label: &str,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Relation> {
        let have = body.schema().clone();
        if have.len() != schema.len() {
            return Err(self.err(
                span,
                format!(
                    "recursive \"{label}\" has {} columns but its query gives {}",
                    schema.len(),
                    have.len()
                ),
                None,
            ));
        }
        for (got, want) in have.columns.iter().zip(&schema.columns) {
            let widens = got.ty.is_numeric() && want.ty.is_numeric() && castable(got.ty, want.ty);
            if got.ty != want.ty && !widens {
                return Err(self.err(
                    span,
                    format!(
                        "column \"{}\" of recursive \"{label}\" is {} but its query gives {}",
                        want.name, want.ty, got.ty
                    ),
                    Some("CAST it in the query, or declare the column's type".into()),
                ));
            }
        }
        let types: Vec<DataType> = schema.columns.iter().map(|c| c.ty).collect();
        Ok(super::query::with_types(body, &types))
    }
}

/// Whether the query text `body` reads the table or view `name` anywhere.
fn reads_name(body: &SetExpr, name: &str) -> bool {
    sql::visit_relations(body, |n: &sql::ObjectName| {
        let last =
            n.0.last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.as_str());
        if last.is_some_and(|l| l.eq_ignore_ascii_case(name)) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .is_break()
}
