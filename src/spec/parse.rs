//! `sqlparser` wrapper: a dataflow file → statements, with 1-based line:column positions.
//!
//! Flink-style metadata columns (`part INT METADATA FROM 'partition' VIRTUAL`) are not SQL that
//! `sqlparser` knows, so [`strip_metadata`] records and blanks those clauses first, replacing
//! them with spaces of the same length so that every position in messages stays right.

use sqlparser::ast::Statement;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::{Error, Result, Span};

/// A `METADATA [FROM 'key'] [VIRTUAL]` clause found in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataClause {
    /// The column it belongs to (lowercase).
    pub column: String,
    /// The metadata key (`FROM 'key'`, or the column name).
    pub key: String,
    /// Where the clause starts.
    pub span: Span,
}

/// A parsed file.
#[derive(Debug)]
pub struct Parsed {
    /// The statements, in order.
    pub statements: Vec<Statement>,
    /// Where each statement starts (same order).
    pub starts: Vec<Span>,
    /// The `METADATA` clauses blanked out of the text.
    pub metadata: Vec<MetadataClause>,
}

/// Parse a whole file into statements. The parser's nesting is bounded by
/// [`MAX_EXPR_DEPTH`](crate::plan::ir::MAX_EXPR_DEPTH): deeper text is an "expression too deep"
/// error, never a stack overflow (the planner runs on a thread with room for that depth).
pub fn parse(file: &str, text: &str) -> Result<Parsed> {
    let (clean, metadata) = strip_metadata(file, text)?;
    let dialect = GenericDialect {};
    // Tokenized once: the positions below and the parser share the tokens.
    let tokens = Tokenizer::new(&dialect, &clean)
        .tokenize_with_location()
        .map_err(|e| parse_error(file, &e.to_string()))?;
    let positions = Positions::of(&tokens);
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
        metadata,
    })
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
fn parse_error(file: &str, message: &str) -> Error {
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
    let hint = if message.contains("Expected") {
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

/// Blank out `METADATA [FROM '...'] [VIRTUAL]` clauses (outside quotes and comments) and
/// report them with the column they follow.
pub fn strip_metadata(file: &str, text: &str) -> Result<(String, Vec<MetadataClause>)> {
    let mut out: Vec<char> = text.chars().collect();
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < out.len() {
        match out[i] {
            '\'' | '"' | '`' => i = skip_quoted(&out, i),
            '-' if out.get(i + 1) == Some(&'-') => {
                while i < out.len() && out[i] != '\n' {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < out.len() && (out[i].is_alphanumeric() || out[i] == '_') {
                    i += 1;
                }
                let word: String = out[start..i].iter().collect();
                if word.eq_ignore_ascii_case("metadata") {
                    let column = preceding_column(&out, start).ok_or_else(|| {
                        sql_error(
                            file,
                            text,
                            start,
                            "METADATA must follow a column name and type",
                        )
                    })?;
                    let (end, key) = metadata_tail(&out, i);
                    let key = key.unwrap_or_else(|| column.clone());
                    clauses.push(MetadataClause {
                        column,
                        key,
                        span: span_at(text, start),
                    });
                    out[start..end]
                        .iter_mut()
                        .filter(|c| **c != '\n')
                        .for_each(|c| *c = ' ');
                    i = end;
                }
            }
            _ => i += 1,
        }
    }
    Ok((out.into_iter().collect(), clauses))
}

fn skip_quoted(chars: &[char], start: usize) -> usize {
    let q = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == q {
            if chars.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    i
}

/// After `METADATA`: optional `FROM 'key'` and optional `VIRTUAL`; returns the end and key.
fn metadata_tail(chars: &[char], mut i: usize) -> (usize, Option<String>) {
    let mut key = None;
    let word_at = |i: usize| -> (usize, String) {
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let s = j;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        (j, chars[s..j].iter().collect())
    };
    let (j, w) = word_at(i);
    if w.eq_ignore_ascii_case("from") {
        let mut k = j;
        while k < chars.len() && chars[k].is_whitespace() {
            k += 1;
        }
        if chars.get(k) == Some(&'\'') {
            let end = skip_quoted(chars, k);
            key = Some(chars[k + 1..end.saturating_sub(1)].iter().collect());
            i = end;
        }
    }
    let (j, w) = word_at(i);
    if w.eq_ignore_ascii_case("virtual") {
        i = j;
    }
    (i, key)
}

/// The column name of the definition that a METADATA keyword at `pos` ends: the first word
/// after the enclosing `(` or the previous `,` at the same depth.
fn preceding_column(chars: &[char], pos: usize) -> Option<String> {
    let mut depth = 0i32;
    let mut i = pos;
    while i > 0 {
        i -= 1;
        match chars[i] {
            ')' => depth += 1,
            '(' if depth > 0 => depth -= 1,
            '(' | ',' if depth == 0 => break,
            _ => {}
        }
    }
    let def: String = chars[i + 1..pos].iter().collect();
    def.split_whitespace().next().map(|w| {
        w.trim_matches(|c| c == '`' || c == '"')
            .to_ascii_lowercase()
    })
}

fn span_at(text: &str, char_index: usize) -> Span {
    let mut span = Span { line: 1, column: 1 };
    for c in text.chars().take(char_index) {
        if c == '\n' {
            span.line += 1;
            span.column = 1;
        } else {
            span.column += 1;
        }
    }
    span
}

fn sql_error(file: &str, text: &str, at: usize, message: &str) -> Error {
    Error::Sql {
        file: file.into(),
        span: span_at(text, at),
        message: message.into(),
        hint: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_clauses_are_blanked_in_place() {
        let sql = "CREATE TABLE t (v STRING, part INT METADATA FROM 'partition' VIRTUAL,\n off BIGINT METADATA)";
        let (clean, clauses) = strip_metadata("f", sql).unwrap();
        assert_eq!(clean.len(), sql.len());
        assert!(!clean.to_lowercase().contains("metadata"));
        assert_eq!(
            clauses[0],
            MetadataClause {
                column: "part".into(),
                key: "partition".into(),
                span: Span {
                    line: 1,
                    column: 36
                }
            }
        );
        assert_eq!(clauses[1].column, "off");
        assert_eq!(clauses[1].key, "off");
        assert_eq!(clauses[1].span.line, 2);
    }

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
