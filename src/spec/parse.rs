//! `sqlparser` wrapper: a dataflow file → statements, with 1-based line:column positions.
//!
//! Flink's own DDL clauses (metadata, `ROW` and computed columns, watermarks) are taken out of
//! the text first by [`crate::spec::ddl`], which keeps every position in messages right.

use sqlparser::ast::Statement;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result, Span};
use crate::spec::ddl::Clauses;

/// A parsed file.
#[derive(Debug)]
pub struct Parsed {
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// Where each statement starts (same order).
    pub starts: Vec<Span>,
    /// The Flink clauses taken out of `CREATE TABLE` column lists (see [`crate::spec::ddl`]).
    pub clauses: Clauses,
}

/// Parse a whole file into statements. The parser's nesting is bounded by
/// [`MAX_EXPR_DEPTH`](crate::plan::ir::MAX_EXPR_DEPTH): deeper text is an "expression too deep"
/// error, never a stack overflow (the planner runs on a thread with room for that depth).
pub fn parse(file: &str, text: &str) -> Result<Parsed> {
    let (clean, clauses) = crate::spec::ddl::strip(file, text)?;
    let dialect = GenericDialect {};
    // Tokenized once: the positions below and the parser share the tokens.
    let tokens = Tokenizer::new(&dialect, &clean)
        .tokenize_with_location()
        .map_err(|e| parse_error(file, &e.to_string()))?;
    let positions = Positions::of(&tokens);
    if let Some(span) = java_function(&tokens) {
        return Err(Error::Sql {
            file: file.to_string(),
            span,
            message: "CREATE FUNCTION ... AS 'class' names a Java class, which ddflow cannot load".into(),
            hint: Some("write the function in SQL: CREATE FUNCTION name(param TYPE, ...) RETURNS TYPE RETURN expression".into()),
        });
    }
    let statements = Parser::new(&dialect)
        .with_recursion_limit(crate::plan::ir::MAX_EXPR_DEPTH)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| match e {
            ParserError::RecursionLimitExceeded => Error::Sql {
                file: file.to_string(),
                span: positions.deepest_parenthesis,
                message: format!(
                    "expression too deep: more than {} nested levels",
                    crate::plan::ir::MAX_EXPR_DEPTH
                ),
                hint: Some("split it into views".into()),
            },
            e => parse_error(file, &e.to_string()),
        })?;
    Ok(Parsed {
        statements,
        starts: positions.statement_starts,
        clauses,
    })
}

/// Where a Flink `CREATE [TEMPORARY] [SYSTEM] FUNCTION name AS 'class'` starts, if the file
/// has one (a function implemented by a JVM class).
fn java_function(tokens: &[TokenWithSpan]) -> Option<Span> {
    use sqlparser::keywords::Keyword;
    let words: Vec<&TokenWithSpan> = (tokens.iter())
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    let keyword =
        |t: &TokenWithSpan, k: Keyword| matches!(&t.token, Token::Word(w) if w.keyword == k);
    for (i, t) in words.iter().enumerate() {
        if !keyword(t, Keyword::CREATE) {
            continue;
        }
        let mut j = i + 1;
        while words.get(j).is_some_and(|w| {
            keyword(w, Keyword::TEMPORARY)
                || keyword(w, Keyword::TEMP)
                || keyword(w, Keyword::SYSTEM)
        }) {
            j += 1;
        }
        if !words.get(j).is_some_and(|w| keyword(w, Keyword::FUNCTION)) {
            continue;
        }
        // The name (maybe dotted), then AS and a string.
        j += 1;
        while words.get(j).is_some_and(|w| {
            matches!(w.token, Token::Word(_) | Token::Period) && !keyword(w, Keyword::AS)
        }) {
            j += 1;
        }
        let as_string = words.get(j).is_some_and(|w| keyword(w, Keyword::AS))
            && words
                .get(j + 1)
                .is_some_and(|w| matches!(w.token, Token::SingleQuotedString(_)));
        if as_string {
            return Some(Span {
                line: t.span.start.line,
                column: t.span.start.column,
            });
        }
    }
    None
}

/// Positions read off the tokens, for messages about nodes that carry none.
struct Positions {
    /// Where each `;`-separated statement starts (its first token).
    statement_starts: Vec<Span>,
    /// Where the parentheses nest deepest (for "expression too deep").
    deepest_parenthesis: Span,
}

impl Positions {
    fn of(tokens: &[TokenWithSpan]) -> Positions {
        let at = |t: &TokenWithSpan| Span {
            line: t.span.start.line,
            column: t.span.start.column,
        };
        let mut statement_starts = Vec::new();
        let mut at_start = true;
        let (mut depth, mut deepest, mut deepest_parenthesis) = (0usize, 0usize, Span::default());
        for t in tokens {
            match t.token {
                Token::Whitespace(_) => continue,
                Token::SemiColon => {
                    at_start = true;
                    continue;
                }
                Token::LParen => {
                    depth += 1;
                    if depth > deepest {
                        deepest = depth;
                        deepest_parenthesis = at(t);
                    }
                }
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            if at_start {
                statement_starts.push(at(t));
                at_start = false;
            }
        }
        Positions {
            statement_starts,
            deepest_parenthesis,
        }
    }
}

/// A parser error as `Error::Sql`, with the location sqlparser puts in its message.
pub(crate) fn parse_error(file: &str, message: &str) -> Error {
    let (message, span) = match message.rfind(" at Line: ") {
        Some(i) => {
            let loc = &message[i + " at Line: ".len()..];
            let mut parts = loc.split(", Column: ");
            let line = parts
                .next()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0);
            let column = parts
                .next()
                .and_then(|c| c.trim().parse().ok())
                .unwrap_or(0);
            (message[..i].to_string(), Span { line, column })
        }
        None => (message.to_string(), Span::default()),
    };
    let message = message.trim_start_matches("sql parser error: ").to_string();
    let hint = if message.contains("Expected: a list of columns in parentheses") {
        Some("a column named KEY, INDEX or another reserved word needs quotes: `key` STRING".into())
    } else if message.contains("Expected") {
        Some("dataflow files hold CREATE TABLE, CREATE VIEW and INSERT INTO ... SELECT statements separated by ';'".into())
    } else {
        None
    };
    Error::Sql {
        file: file.to_string(),
        span,
        message: format!("syntax error: {message}"),
        hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_know_where_they_start() {
        let p = parse("f", "SET 'a' = 'b';\n\n  -- c\n  SET 'x' = 'y';").unwrap();
        assert_eq!(
            p.starts,
            [Span { line: 1, column: 1 }, Span { line: 4, column: 3 }]
        );
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let err = parse(
            "f.sql",
            "CREATE TABLE t (v STRING);\nINSERT INTO o SELEC v FROM t;",
        )
        .unwrap_err();
        match err {
            Error::Sql { span, message, .. } => {
                assert_eq!(span.line, 2, "{message}");
                assert!(message.starts_with("syntax error"), "{message}");
            }
            e => panic!("{e}"),
        }
    }
}
