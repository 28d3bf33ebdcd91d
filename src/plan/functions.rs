//! The scalar function catalog: one line per function, with its SQL names, parameter types
//! and result type. Lowering looks a call up here and checks its arguments at plan time, so a
//! wrong call is an error with a position, never a NULL at run time. Evaluation is
//! [`crate::render::functions`].

use crate::data::{DataType, Elem};
use crate::plan::ir::ScalarFunc;

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// STRING.
    Str,
    /// BIGINT.
    Int,
    /// BIGINT or DOUBLE.
    Number,
    /// BOOLEAN.
    Bool,
    /// TIMESTAMP (a DATE is passed as its midnight).
    Time,
    /// An ARRAY.
    Array,
    /// Anything.
    Any,
}

impl Param {
    /// Whether a value of type `ty` may be passed.
    pub fn accepts(self, ty: DataType) -> bool {
        match self {
            Param::Str => ty == DataType::String,
            Param::Int => ty == DataType::Int,
            Param::Number => ty.is_numeric(),
            Param::Bool => ty == DataType::Bool,
            Param::Time => ty == DataType::Timestamp,
            Param::Array => matches!(ty, DataType::Array(_)),
            Param::Any => true,
        }
    }

    /// How a message names it.
    pub fn text(self) -> &'static str {
        match self {
            Param::Str => "STRING",
            Param::Int => "BIGINT",
            Param::Number => "a number",
            Param::Bool => "BOOLEAN",
            Param::Time => "TIMESTAMP",
            Param::Array => "an ARRAY",
            Param::Any => "any value",
        }
    }
}

/// The result type of a call.
#[derive(Debug, Clone, Copy)]
pub enum Returns {
    /// Always this type.
    Fixed(DataType),
    /// The type of the first argument.
    First,
    /// The type of the second argument.
    Second,
}

/// One function.
#[derive(Debug)]
pub struct FunctionDef {
    /// Its SQL names (lowercase); the first is the one messages use.
    pub names: &'static [&'static str],
    /// What evaluates it.
    pub func: ScalarFunc,
    /// Parameters; the last `optional` of them may be left out.
    pub params: &'static [Param],
    /// Trailing parameters that may be left out.
    pub optional: usize,
    /// Whether the last parameter repeats (any number of further arguments of its kind).
    pub variadic: bool,
    /// The result type.
    pub returns: Returns,
}

use DataType as T;
use Param::*;
use Returns::*;
use ScalarFunc as F;

const fn def(
    names: &'static [&'static str],
    func: ScalarFunc,
    params: &'static [Param],
    optional: usize,
    returns: Returns,
) -> FunctionDef {
    FunctionDef {
        names,
        func,
        params,
        optional,
        variadic: false,
        returns,
    }
}

const fn variadic(
    names: &'static [&'static str],
    func: ScalarFunc,
    params: &'static [Param],
    returns: Returns,
) -> FunctionDef {
    FunctionDef {
        variadic: true,
        ..def(names, func, params, 0, returns)
    }
}

/// Every scalar function. `CASE`, `CAST`, `LIKE`, `IN`, `BETWEEN`, `MOD` (as `%`) and
/// `EXTRACT` are syntax, lowered where they are parsed.
#[rustfmt::skip]
pub const CATALOG: &[FunctionDef] = &[
    // Strings.
    def(&["lower"], F::Lower, &[Str], 0, Fixed(T::String)),
    def(&["upper"], F::Upper, &[Str], 0, Fixed(T::String)),
    def(&["initcap"], F::Initcap, &[Str], 0, Fixed(T::String)),
    def(&["trim"], F::Trim, &[Str], 0, Fixed(T::String)),
    def(&["ltrim"], F::Ltrim, &[Str], 0, Fixed(T::String)),
    def(&["rtrim"], F::Rtrim, &[Str], 0, Fixed(T::String)),
    def(&["char_length", "character_length", "length"], F::Length, &[Str], 0, Fixed(T::Int)),
    def(&["substring", "substr"], F::Substr, &[Str, Int, Int], 1, Fixed(T::String)),
    variadic(&["concat"], F::Concat, &[Any], Fixed(T::String)),
    variadic(&["concat_ws"], F::ConcatWs, &[Str, Any], Fixed(T::String)),
    def(&["replace"], F::Replace, &[Str, Str, Str], 0, Fixed(T::String)),
    def(&["lpad"], F::Lpad, &[Str, Int, Str], 0, Fixed(T::String)),
    def(&["rpad"], F::Rpad, &[Str, Int, Str], 0, Fixed(T::String)),
    def(&["locate"], F::Position, &[Str, Str], 0, Fixed(T::Int)),
    def(&["split_index"], F::SplitIndex, &[Str, Str, Int], 0, Fixed(T::String)),
    def(&["regexp"], F::Regexp, &[Str, Str], 0, Fixed(T::Bool)),
    def(&["regexp_extract"], F::RegexpExtract, &[Str, Str, Int], 1, Fixed(T::String)),
    def(&["regexp_replace"], F::RegexpReplace, &[Str, Str, Str], 0, Fixed(T::String)),
    // Numbers.
    def(&["abs"], F::Abs, &[Number], 0, First),
    def(&["floor"], F::Floor, &[Number], 0, First),
    def(&["ceil", "ceiling"], F::Ceil, &[Number], 0, First),
    def(&["round"], F::Round, &[Number, Int], 1, First),
    def(&["power", "pow"], F::Power, &[Number, Number], 0, Fixed(T::Float)),
    def(&["sqrt"], F::Sqrt, &[Number], 0, Fixed(T::Float)),
    def(&["ln"], F::Ln, &[Number], 0, Fixed(T::Float)),
    def(&["log10"], F::Log10, &[Number], 0, Fixed(T::Float)),
    def(&["exp"], F::Exp, &[Number], 0, Fixed(T::Float)),
    // Conditions.
    variadic(&["coalesce"], F::Coalesce, &[Any], First),
    def(&["nullif"], F::Nullif, &[Any, Any], 0, First),
    def(&["if"], F::If, &[Bool, Any, Any], 0, Second),
    // Time (UTC, milliseconds; patterns in Java's SimpleDateFormat letters, as Flink).
    def(&["date_format"], F::DateFormat, &[Any, Str], 0, Fixed(T::String)),
    def(&["year"], F::Year, &[Time], 0, Fixed(T::Int)),
    def(&["month"], F::Month, &[Time], 0, Fixed(T::Int)),
    def(&["dayofmonth"], F::DayOfMonth, &[Time], 0, Fixed(T::Int)),
    def(&["hour"], F::Hour, &[Time], 0, Fixed(T::Int)),
    def(&["minute"], F::Minute, &[Time], 0, Fixed(T::Int)),
    def(&["second"], F::Second, &[Time], 0, Fixed(T::Int)),
    def(&["to_timestamp"], F::ToTimestamp, &[Str, Str], 1, Fixed(T::Timestamp)),
    def(&["to_date"], F::ToDate, &[Str, Str], 1, Fixed(T::Date)),
    def(&["unix_timestamp"], F::UnixTimestamp, &[Str, Str], 1, Fixed(T::Int)),
    def(&["from_unixtime"], F::FromUnixtime, &[Int, Str], 1, Fixed(T::String)),
    // Arrays (`ARRAY[...]` and `a[i]` are syntax).
    def(&["cardinality"], F::Cardinality, &[Array], 0, Fixed(T::Int)),
    def(&["array_contains"], F::ArrayContains, &[Array, Any], 0, Fixed(T::Bool)),
    def(&["array_position"], F::ArrayPosition, &[Array, Any], 0, Fixed(T::Int)),
    def(&["array_join"], F::ArrayJoin, &[Array, Str, Str], 1, Fixed(T::String)),
    def(&["split"], F::Split, &[Str, Str], 0, Fixed(T::Array(Elem::String))),
    // JSON text.
    def(&["json_value"], F::JsonValue, &[Str, Str], 0, Fixed(T::String)),
    def(&["json_query"], F::JsonQuery, &[Str, Str], 0, Fixed(T::String)),
];

/// Functions that read the clock: refused in a streaming query, with the reason.
pub const PROCESSING_TIME: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "now",
    "proctime",
    "current_row_timestamp",
];

/// The function called `name` (lowercase).
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    CATALOG.iter().find(|f| f.names.contains(&name))
}

/// Every name, for "did you mean".
pub fn names() -> impl Iterator<Item = &'static str> {
    CATALOG.iter().flat_map(|f| f.names.iter().copied())
}

impl FunctionDef {
    /// The parameter the `i`th argument is checked against, if there is one.
    pub fn param(&self, i: usize) -> Option<Param> {
        match self.params.get(i) {
            Some(p) => Some(*p),
            None if self.variadic => self.params.last().copied(),
            None => None,
        }
    }

    /// Whether `n` arguments are allowed.
    pub fn takes(&self, n: usize) -> bool {
        let least = self.params.len() - self.optional;
        n >= least && (self.variadic || n <= self.params.len())
    }

    /// The argument counts allowed, as messages say them.
    pub fn arity(&self) -> String {
        let least = self.params.len() - self.optional;
        match (self.variadic, least == self.params.len()) {
            (true, _) => format!("at least {least}"),
            (false, true) => least.to_string(),
            (false, false) => format!("{least} to {}", self.params.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase_and_unique() {
        let all: Vec<&str> = names().collect();
        for n in &all {
            assert_eq!(*n, n.to_lowercase());
            assert_eq!(all.iter().filter(|m| *m == n).count(), 1, "{n} twice");
        }
        assert!(!all.iter().any(|n| PROCESSING_TIME.contains(n)));
    }

    #[test]
    fn arity_follows_optional_and_variadic_parameters() {
        let substring = lookup("substr").unwrap();
        assert!(!substring.takes(1) && substring.takes(2) && substring.takes(3));
        assert!(!substring.takes(4));
        assert_eq!(substring.arity(), "2 to 3");
        let concat_ws = lookup("concat_ws").unwrap();
        assert!(!concat_ws.takes(1) && concat_ws.takes(2) && concat_ws.takes(9));
        assert_eq!(concat_ws.param(5), Some(Any));
        assert_eq!(lookup("lower").unwrap().arity(), "1");
    }
}
