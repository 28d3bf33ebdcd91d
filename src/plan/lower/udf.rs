//! User-defined scalar functions written in SQL:
//! `CREATE FUNCTION name(param TYPE, ...) RETURNS TYPE RETURN expression`.
//!
//! The body is an expression over the parameters only (a function sees no table), typed when
//! the function is defined, and may call built-in functions and functions defined earlier in
//! the file (so never itself). A call is the body with each parameter replaced by its argument
//! (converted to the parameter's type): the function is inlined, so it is as deterministic and
//! as incremental as the expression it stands for, and costs nothing beyond it.
//!
//! Flink's `CREATE FUNCTION name AS 'java.Class'` names a JVM class, which ddflow cannot load;
//! the text layer refuses it with this form as the way out.

use sqlparser::ast::{self as sql, CreateFunctionBody, FunctionReturnType, Spanned};

use super::from::Scope;
use super::scalar::{castable, coerce};
use super::{Lowerer, Typed};
use crate::data::{Column, DataType, Schema};
use crate::error::Result;
use crate::plan::functions;
use crate::plan::ir::Expr;

/// A function defined in the file.
#[derive(Debug, Clone)]
pub(super) struct SqlFunction {
    /// Lowercase name.
    pub name: String,
    /// Parameter names and types, in order.
    pub params: Vec<(String, DataType)>,
    /// The declared result type.
    pub returns: DataType,
    /// The body over the parameters (column `i` is parameter `i`), of type `returns`.
    pub body: Expr,
}

impl Lowerer<'_> {
    /// `CREATE FUNCTION`: check and type the definition, and remember it.
    pub(super) fn create_function(&mut self, f: &sql::CreateFunction) -> Result<()> {
        let span = f.name.span();
        let name = super::object_name(&f.name).to_ascii_lowercase();
        let form = "CREATE FUNCTION name(param TYPE, ...) RETURNS TYPE RETURN expression";
        if functions::lookup(&name).is_some() || super::scalar::is_agg_name(&name) {
            return Err(self.err(
                span,
                format!("{} is a built-in function", name.to_uppercase()),
                Some("give the function another name".into()),
            ));
        }
        if self.functions.iter().any(|g| g.name == name) {
            return Err(self.err(
                span,
                format!("function {} is already defined", name.to_uppercase()),
                None,
            ));
        }
        let mut params = Vec::new();
        for a in f.args.iter().flatten() {
            let Some(param) = &a.name else {
                return Err(self.err(span, "every parameter needs a name", Some(form.into())));
            };
            if a.default_expr.is_some() || a.mode.is_some() {
                return Err(self.err(
                    param.span,
                    "parameters take no default and no IN/OUT mode",
                    Some(form.into()),
                ));
            }
            let pname = param.value.to_ascii_lowercase();
            if params.iter().any(|(p, _)| *p == pname) {
                return Err(self.err(
                    param.span,
                    format!("parameter \"{pname}\" is declared twice"),
                    None,
                ));
            }
            params.push((pname, self.data_type(&a.data_type, param.span)?));
        }
        let returns = match &f.return_type {
            Some(FunctionReturnType::DataType(t)) => self.data_type(t, span)?,
            _ => {
                return Err(self.err(
                    span,
                    "a function needs RETURNS and one result type",
                    Some(form.into()),
                ))
            }
        };
        let body = match &f.function_body {
            Some(CreateFunctionBody::Return(e)) => e,
            _ => {
                return Err(self.err(
                    span,
                    "ddflow functions are one SQL expression: RETURN expression",
                    Some(form.into()),
                ))
            }
        };
        let schema = Schema {
            columns: (params.iter())
                .map(|(n, t)| Column {
                    name: n.clone(),
                    ty: *t,
                })
                .collect(),
        };
        let scope = Scope::of(schema, Vec::new());
        let (body, ty) = self.expr(body, &scope, &mut None)?;
        let body = if ty == returns {
            body
        } else if castable(ty, returns) || is_null(&body) {
            coerce(body, ty, returns)
        } else {
            return Err(self.err(
                span,
                format!(
                    "the body of {} is {ty}, not the {returns} it RETURNS",
                    name.to_uppercase()
                ),
                Some(format!("CAST(... AS {returns}) in the body")),
            ));
        };
        self.functions.push(SqlFunction {
            name,
            params,
            returns,
            body,
        });
        Ok(())
    }

    /// A call of a function defined in the file, if `name` is one: the body with the
    /// arguments in place of the parameters.
    pub(super) fn user_call(
        &self,
        name: &str,
        args: Vec<Typed>,
        span: sqlparser::tokenizer::Span,
    ) -> Option<Result<Typed>> {
        let f = self.functions.iter().find(|f| f.name == name)?;
        Some(self.inline(f, args, span))
    }

    fn inline(
        &self,
        f: &SqlFunction,
        args: Vec<Typed>,
        span: sqlparser::tokenizer::Span,
    ) -> Result<Typed> {
        let upper = f.name.to_uppercase();
        if args.len() != f.params.len() {
            return Err(self.err(
                span,
                format!(
                    "{upper}() takes {} arguments, got {}",
                    f.params.len(),
                    args.len()
                ),
                None,
            ));
        }
        let mut values = Vec::new();
        for ((x, ty), (param, want)) in args.into_iter().zip(&f.params) {
            if ty == *want || is_null(&x) {
                values.push(x);
            } else if castable(ty, *want) {
                values.push(coerce(x, ty, *want));
            } else {
                return Err(self.err(
                    span,
                    format!("{upper}() takes {want} for \"{param}\", got {ty}"),
                    Some(format!("CAST(... AS {want})")),
                ));
            }
        }
        let mut body = f.body.clone();
        body.replace_columns(&mut |i| values.get(i).cloned());
        Ok((body, f.returns))
    }
}

fn is_null(x: &Expr) -> bool {
    matches!(x, Expr::Literal(crate::data::Value::Null))
}
