//! Flink DDL that `sqlparser` does not know, taken out of `CREATE TABLE` column lists before
//! the text is parsed.
//!
//! Four clauses are Flink's own:
//! - `part INT METADATA [FROM 'key'] [VIRTUAL]`: a column read from the record's metadata;
//! - `person ROW<id BIGINT, name STRING>` (or `ROW(...)`): a nested column;
//! - `ts AS <expression>`: a computed column;
//! - `WATERMARK FOR ts AS <expression>`.
//!
//! Each is recorded with the table it belongs to and blanked out of the text: replaced by
//! spaces (line breaks kept), a `ROW` type by `INT` and spaces, so every position `sqlparser`
//! reports for the rest still points at the original text. The expressions of computed
//! columns and watermarks, and the `ROW` types, are parsed here by `sqlparser` itself, from a
//! copy of the text in which everything else is blank, so their positions are right too.

use sqlparser::ast::{DataType as SqlType, Expr as SqlExpr};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::error::{Error, Result, Span};

/// A `METADATA [FROM 'key'] [VIRTUAL]` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataClause {
    /// The table it is declared in (lowercase).
    pub table: String,
    /// The column it belongs to (lowercase).
    pub column: String,
    /// The metadata key (`FROM 'key'`, or the column name).
    pub key: String,
    /// Where the clause starts.
    pub span: Span,
}

/// A column of a `ROW<...>` type: its type as `sqlparser` reads it (a `STRUCT`).
#[derive(Debug, Clone)]
pub struct RowClause {
    /// The table it is declared in (lowercase).
    pub table: String,
    /// The column (lowercase).
    pub column: String,
    /// The type.
    pub ty: SqlType,
    /// Where the type starts.
    pub span: Span,
}

/// A computed column `name AS expression`.
#[derive(Debug, Clone)]
pub struct ComputedClause {
    /// The table it is declared in (lowercase).
    pub table: String,
    /// The column name as written.
    pub column: String,
    /// Its place among the table's columns (0 = first).
    pub position: usize,
    /// The expression.
    pub expr: SqlExpr,
    /// Where the column is declared.
    pub span: Span,
}

/// `WATERMARK FOR column AS expression`.
#[derive(Debug, Clone)]
pub struct WatermarkClause {
    /// The table it is declared in (lowercase).
    pub table: String,
    /// The rowtime column (as written).
    pub column: String,
    /// The watermark expression.
    pub expr: SqlExpr,
    /// Where the clause starts.
    pub span: Span,
}

/// Everything taken out of the text.
#[derive(Debug, Clone, Default)]
pub struct Clauses {
    /// `METADATA` clauses.
    pub metadata: Vec<MetadataClause>,
    /// `ROW` columns.
    pub rows: Vec<RowClause>,
    /// Computed columns.
    pub computed: Vec<ComputedClause>,
    /// Watermarks.
    pub watermarks: Vec<WatermarkClause>,
}

/// Take the Flink clauses out of every `CREATE TABLE` column list in `text` (see the module
/// documentation); returns the text for `sqlparser`, of the same length, and the clauses.
pub fn strip(file: &str, text: &str) -> Result<(String, Clauses)> {
    let chars: Vec<char> = text.chars().collect();
    let mut s = Stripper {
        file,
        text,
        chars: &chars,
        out: chars.clone(),
        clauses: Clauses::default(),
    };
    let mut i = 0;
    let mut recent: Vec<String> = Vec::new(); // the words since the last `;`, `(` or `)`
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' | '`' => {
                let end = skip_quoted(&chars, i);
                recent.push(unquote(&chars[i..end]));
                i = end;
            }
            '-' if chars.get(i + 1) == Some(&'-') => i = skip_line(&chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => i = skip_block(&chars, i),
            '(' => {
                let end = matching(&chars, i);
                if let Some(table) = created_table(&recent) {
                    s.column_list(&table, i + 1, end.saturating_sub(1))?;
                }
                recent.clear();
                i = end;
            }
            ';' | ')' => {
                recent.clear();
                i += 1;
            }
            c if is_word(c) => {
                let end = word_end(&chars, i);
                recent.push(chars[i..end].iter().collect());
                i = end;
            }
            _ => i += 1,
        }
    }
    let mut out = s.out;
    blank_table_arguments(&mut out);
    rewrite_as_of(&mut out);
    Ok((out.into_iter().collect(), s.clauses))
}

/// The named argument `TABLE t PARTITION BY k` becomes (`, p__by => k`), in as many characters.
pub const PARTITION_ARGUMENT: &str = "p__by";

/// A window table function's table argument, `TUMBLE(TABLE bid, ...)`: `sqlparser` reads the
/// name alone as the argument, so the `TABLE` keyword right after `(` or `,` is blanked; and
/// `SESSION(TABLE bid PARTITION BY k, ...)`'s `PARTITION BY` after the name is written as a
/// named argument, `bid ,p__by=> k`, in the same number of characters.
fn blank_table_arguments(chars: &mut [char]) {
    let mut i = 0;
    let mut previous = ' '; // the last character that is not white space
                            // 1 after a blanked TABLE, 2 after the table's name (where PARTITION BY may come).
    let mut table_argument = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' | '`' => {
                i = skip_quoted(chars, i);
                previous = '\'';
                table_argument = if table_argument == 1 { 2 } else { 0 };
            }
            '-' if chars.get(i + 1) == Some(&'-') => i = skip_line(chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => i = skip_block(chars, i),
            c if is_word(c) => {
                let end = word_end(chars, i);
                let word: String = chars[i..end].iter().collect();
                let next = first_non_space(chars, end, chars.len());
                let by_end = word_end(chars, next);
                let by: String = chars[next..by_end].iter().collect();
                if (previous == '(' || previous == ',')
                    && word.eq_ignore_ascii_case("table")
                    && chars.get(next).is_some_and(|c| is_word(*c) || is_quote(*c))
                {
                    chars[i..end].iter_mut().for_each(|c| *c = ' ');
                    table_argument = 1;
                } else if table_argument == 2
                    && word.eq_ignore_ascii_case("partition")
                    && by.eq_ignore_ascii_case("by")
                {
                    let named = format!(",{PARTITION_ARGUMENT}=>");
                    for (k, c) in chars[i..by_end].iter_mut().enumerate() {
                        *c = named.chars().nth(k).unwrap_or(' ');
                    }
                    table_argument = 0;
                    previous = '>';
                    i = by_end;
                    continue;
                } else {
                    table_argument = if table_argument == 1 { 2 } else { 0 };
                }
                previous = 'a';
                i = end;
            }
            c if c.is_whitespace() => i += 1,
            c => {
                previous = c;
                table_argument = 0;
                i += 1;
            }
        }
    }
}

/// The named argument `t FOR SYSTEM_TIME AS OF o.ts` becomes (`t (v__asof=>o.ts)`).
pub const AS_OF_ARGUMENT: &str = "v__asof";

/// A temporal table reference, `rates FOR SYSTEM_TIME AS OF o.ts` (Flink's, where the time
/// is a column of the probe side): `sqlparser`'s generic dialect does not read it, so it is
/// written as a table argument, `rates (v__asof=>o.ts)`, in as many characters and lines (the
/// column's name moves left). Anything else after `AS OF` is left alone, for the parser to
/// refuse.
fn rewrite_as_of(chars: &mut [char]) {
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' | '`' => i = skip_quoted(chars, i),
            '-' if chars.get(i + 1) == Some(&'-') => i = skip_line(chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => i = skip_block(chars, i),
            c if is_word(c) => {
                let end = word_end(chars, i);
                let mut at = end;
                let mut matched = chars[i..end]
                    .iter()
                    .collect::<String>()
                    .eq_ignore_ascii_case("for");
                for expected in ["system_time", "as", "of"] {
                    if !matched {
                        break;
                    }
                    let next = first_non_space(chars, at, chars.len());
                    let next_end = word_end(chars, next);
                    let word: String = chars[next..next_end].iter().collect();
                    matched = next > at && word.eq_ignore_ascii_case(expected);
                    at = next_end;
                }
                if !matched {
                    i = end;
                    continue;
                }
                // The time: a name, maybe qualified (`o.ts`).
                let start = first_non_space(chars, at, chars.len());
                let mut stop = start;
                while stop < chars.len() && (is_word(chars[stop]) || chars[stop] == '.') {
                    stop += 1;
                }
                if stop == start || stop - i < AS_OF_ARGUMENT.len() + 4 + (stop - start) {
                    i = end;
                    continue;
                }
                let name: Vec<char> = chars[start..stop].to_vec();
                let written: Vec<char> = format!("({AS_OF_ARGUMENT}=>")
                    .chars()
                    .chain(name)
                    .chain([')'])
                    .collect();
                // Line breaks stay (first), so the lines after it keep their numbers.
                let breaks = chars[i..stop].iter().filter(|c| **c == '\n').count();
                let pad = (stop - i) - written.len();
                for (k, c) in chars[i..stop].iter_mut().enumerate() {
                    *c = match k {
                        k if k < breaks => '\n',
                        k if k < pad => ' ',
                        k => written[k - pad],
                    };
                }
                i = stop;
            }
            _ => i += 1,
        }
    }
}

struct Stripper<'t> {
    file: &'t str,
    text: &'t str,
    chars: &'t [char],
    out: Vec<char>,
    clauses: Clauses,
}

impl Stripper<'_> {
    /// The column list of `table`, between `start` and `end` (exclusive).
    fn column_list(&mut self, table: &str, start: usize, end: usize) -> Result<()> {
        let segments = split_top_level(self.chars, start, end);
        let mut removed = vec![false; segments.len()];
        let mut position = 0;
        for (n, &(a, b)) in segments.iter().enumerate() {
            let words = words(self.chars, a, b, 3);
            let Some((w0, _, after0)) = words.first().cloned() else {
                continue;
            };
            let w1 = words.get(1).map(|w| w.0.to_ascii_uppercase());
            let upper0 = w0.to_ascii_uppercase();
            if upper0 == "WATERMARK" && w1.as_deref() == Some("FOR") {
                let (column, _, after_col) = words.get(2).cloned().unwrap_or_default();
                let (kw, _, after_as) = word_after(self.chars, after_col, b);
                if !kw.eq_ignore_ascii_case("as") {
                    return Err(self.error(a, "expected WATERMARK FOR <column> AS <expression>"));
                }
                let expr = self.expr(after_as, b)?;
                self.clauses.watermarks.push(WatermarkClause {
                    table: table.into(),
                    column,
                    expr,
                    span: self.span(first_non_space(self.chars, a, b)),
                });
                removed[n] = true;
            } else if ["PRIMARY", "CONSTRAINT", "UNIQUE", "PERIOD"].contains(&upper0.as_str()) {
                continue;
            } else if w1.as_deref() == Some("AS") {
                let after_as = words[1].2;
                let expr = self.expr(after_as, b)?;
                self.clauses.computed.push(ComputedClause {
                    table: table.into(),
                    column: w0,
                    position,
                    expr,
                    span: self.span(first_non_space(self.chars, a, b)),
                });
                removed[n] = true;
                position += 1;
            } else {
                self.column(table, &w0, after0, b)?;
                position += 1;
            }
        }
        // Blank removed definitions with a comma each, keeping one between kept ones.
        for (n, &(a, b)) in segments.iter().enumerate() {
            if removed[n] {
                self.blank(a, b);
            }
            let comma = b; // the comma after segment n, if any
            let kept_later = removed[n + 1..].iter().any(|r| !r);
            if comma < end && (removed[n] || !kept_later) {
                self.blank(comma, comma + 1);
            }
        }
        Ok(())
    }

    /// A physical column definition: its `ROW` type and `METADATA` clause, if any.
    fn column(&mut self, table: &str, name: &str, from: usize, end: usize) -> Result<()> {
        let column = name.to_ascii_lowercase();
        let (ty, ty_start, ty_end) = word_after(self.chars, from, end);
        if ty.eq_ignore_ascii_case("row") {
            let open = first_non_space(self.chars, ty_end, end);
            if matches!(self.chars.get(open), Some('<' | '(')) && open < end {
                let close = matching(self.chars, open);
                let ty = self.row_type(ty_start, close)?;
                self.clauses.rows.push(RowClause {
                    table: table.into(),
                    column: column.clone(),
                    ty,
                    span: self.span(ty_start),
                });
                self.blank(ty_start, close);
                self.out[ty_start..ty_start + 3].copy_from_slice(&['I', 'N', 'T']);
            }
        }
        let mut i = from;
        while i < end {
            let (w, ws, we) = word_after(self.chars, i, end);
            if w.is_empty() {
                i = ws + 1; // punctuation, as in `TIMESTAMP(3)`
                continue;
            }
            if w.eq_ignore_ascii_case("metadata") && !is_quote(self.chars[ws]) {
                let (tail_end, key) = metadata_tail(self.chars, we);
                self.clauses.metadata.push(MetadataClause {
                    table: table.into(),
                    column: column.clone(),
                    key: key.unwrap_or_else(|| column.clone()),
                    span: self.span(ws),
                });
                self.blank(ws, tail_end);
                break;
            }
            i = we;
        }
        Ok(())
    }

    /// The `ROW` type between `start` and `end` as `sqlparser` reads it: `ROW<...>` and
    /// `ROW(...)` written as `STRUCT<...>`.
    fn row_type(&self, start: usize, end: usize) -> Result<SqlType> {
        let mut text = String::new();
        let mut i = start;
        while i < end {
            let c = self.chars[i];
            match c {
                '\'' | '"' | '`' => {
                    let e = skip_quoted(self.chars, i);
                    text.extend(&self.chars[i..e]);
                    i = e;
                    continue;
                }
                c if is_word(c) => {
                    let e = word_end(self.chars, i);
                    let w: String = self.chars[i..e].iter().collect();
                    let open = first_non_space(self.chars, e, end);
                    if w.eq_ignore_ascii_case("row")
                        && matches!(self.chars.get(open), Some('<' | '('))
                    {
                        text.push_str("STRUCT<");
                        i = open + 1;
                    } else {
                        text.push_str(&w);
                        i = e;
                    }
                    continue;
                }
                // A `ROW(...)` closes with `)` in the text and `>` for sqlparser.
                ')' if self.is_row_paren_close(&text) => {
                    text.push('>');
                    i += 1;
                    continue;
                }
                _ => {}
            }
            text.push(c);
            i += 1;
        }
        let dialect = GenericDialect {};
        Parser::new(&dialect)
            .try_with_sql(&text)
            .and_then(|mut p| p.parse_data_type())
            .map_err(|e| {
                let message = e.to_string();
                let message = message
                    .split(" at Line: ")
                    .next()
                    .unwrap_or(&message)
                    .trim_start_matches("sql parser error: ")
                    .to_string();
                self.error(start, &format!("invalid ROW type: {message}"))
            })
    }

    /// Whether the `)` being read closes a `ROW(` (rather than, say, `TIMESTAMP(3)`): the
    /// last unclosed `(`/`<` in `text` is a `STRUCT<` written for a `ROW(`.
    fn is_row_paren_close(&self, text: &str) -> bool {
        let mut depth = 0i32;
        for (i, c) in text.char_indices().rev() {
            match c {
                ')' | '>' => depth += 1,
                '(' if depth == 0 => return false,
                '<' if depth == 0 => return text[..i].ends_with("STRUCT"),
                '(' | '<' => depth -= 1,
                _ => {}
            }
        }
        false
    }

    /// The expression between `start` and `end`, parsed with its positions in the file.
    fn expr(&self, start: usize, end: usize) -> Result<SqlExpr> {
        let masked: String = self
            .chars
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if (start..end).contains(&i) || c == '\n' {
                    c
                } else {
                    ' '
                }
            })
            .collect();
        let dialect = GenericDialect {};
        let parsed = Parser::new(&dialect)
            .try_with_sql(&masked)
            .and_then(|mut p| {
                let e = p.parse_expr()?;
                p.expect_token(&sqlparser::tokenizer::Token::EOF)?;
                Ok(e)
            });
        parsed.map_err(
            |e| match crate::spec::parse::parse_error(self.file, &e.to_string()) {
                // The end of the text (`a +)`) has no position: point after the expression.
                Error::Sql {
                    file,
                    span,
                    message,
                    hint,
                } if span.line == 0 => Error::Sql {
                    file,
                    span: self.span(end),
                    message,
                    hint,
                },
                other => other,
            },
        )
    }

    fn blank(&mut self, start: usize, end: usize) {
        self.out[start..end]
            .iter_mut()
            .filter(|c| **c != '\n')
            .for_each(|c| *c = ' ');
    }

    fn span(&self, at: usize) -> Span {
        span_at(self.text, at)
    }

    fn error(&self, at: usize, message: &str) -> Error {
        Error::Sql {
            file: self.file.into(),
            span: self.span(at),
            message: message.into(),
            hint: None,
        }
    }
}

/// The table a `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name` before a `(` creates.
fn created_table(words: &[String]) -> Option<String> {
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let create = upper.iter().position(|w| w == "CREATE")?;
    let rest = &upper[create + 1..];
    let table = rest.iter().position(|w| w == "TABLE")?;
    if rest[..table].iter().any(|w| w != "TEMPORARY") {
        return None;
    }
    let name = words.last()?;
    let between = &rest[table + 1..rest.len() - 1];
    let ok = between.is_empty() || between == ["IF", "NOT", "EXISTS"];
    (ok && rest.len() > table + 1).then(|| name.to_ascii_lowercase())
}

/// The top-level `,`-separated parts of `start..end`: `(start, end)` of each, the end being
/// the comma's position (or `end`).
fn split_top_level(chars: &[char], start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let (mut depth, mut angle) = (0i32, 0i32);
    let mut part = start;
    let mut i = start;
    let mut last_word = String::new();
    while i < end {
        match chars[i] {
            '\'' | '"' | '`' => {
                i = skip_quoted(chars, i);
                continue;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                i = skip_line(chars, i);
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i = skip_block(chars, i);
                continue;
            }
            c if is_word(c) => {
                let e = word_end(chars, i);
                last_word = chars[i..e].iter().collect::<String>().to_ascii_uppercase();
                i = e;
                continue;
            }
            '(' => depth += 1,
            ')' => depth -= 1,
            // Angle brackets nest only in types: `ROW<...>`, `ARRAY<...>`, `MAP<...>`.
            '<' if ["ROW", "ARRAY", "MAP"].contains(&last_word.as_str()) || angle > 0 => angle += 1,
            '>' if angle > 0 => angle -= 1,
            ',' if depth == 0 && angle == 0 => {
                parts.push((part, i));
                part = i + 1;
            }
            _ => {}
        }
        if !chars[i].is_whitespace() {
            last_word.clear();
        }
        i += 1;
    }
    parts.push((part, end));
    parts
}

/// Up to `n` words (identifiers, quoted names) from `start`, with where each starts and ends.
fn words(chars: &[char], start: usize, end: usize, n: usize) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut i = start;
    while out.len() < n {
        let (w, s, e) = word_after(chars, i, end);
        if w.is_empty() {
            break;
        }
        out.push((w, s, e));
        i = e;
    }
    out
}

/// The word (identifier or quoted name, unquoted) after `i` and before `end`: its text,
/// start and end; empty when the next thing is not a word.
fn word_after(chars: &[char], i: usize, end: usize) -> (String, usize, usize) {
    let s = first_non_space(chars, i, end);
    if s >= end {
        return (String::new(), s, s);
    }
    if is_quote(chars[s]) {
        let e = skip_quoted(chars, s).min(end);
        return (unquote(&chars[s..e]), s, e);
    }
    if is_word(chars[s]) {
        let e = word_end(chars, s).min(end);
        return (chars[s..e].iter().collect(), s, e);
    }
    (String::new(), s, s)
}

fn first_non_space(chars: &[char], mut i: usize, end: usize) -> usize {
    while i < end && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_quote(c: char) -> bool {
    matches!(c, '\'' | '"' | '`')
}

fn word_end(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && is_word(chars[i]) {
        i += 1;
    }
    i
}

fn unquote(quoted: &[char]) -> String {
    let s: String = quoted.iter().collect();
    match quoted.first() {
        Some(&q) if is_quote(q) => {
            let inner = s.trim_start_matches(q).trim_end_matches(q);
            inner.replace(&format!("{q}{q}"), &q.to_string())
        }
        _ => s,
    }
}

/// The position after the bracket matching the one at `open` (quotes and comments skipped).
fn matching(chars: &[char], open: usize) -> usize {
    let (o, c) = (chars[open], if chars[open] == '(' { ')' } else { '>' });
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' | '`' => {
                i = skip_quoted(chars, i);
                continue;
            }
            x if x == o => depth += 1,
            x if x == c => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

pub(crate) fn skip_quoted(chars: &[char], start: usize) -> usize {
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

fn skip_line(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i] != '\n' {
        i += 1;
    }
    i
}

fn skip_block(chars: &[char], start: usize) -> usize {
    let mut i = start + 2;
    while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
        i += 1;
    }
    (i + 2).min(chars.len())
}

/// After `METADATA`: optional `FROM 'key'` and optional `VIRTUAL`; returns the end and key.
fn metadata_tail(chars: &[char], mut i: usize) -> (usize, Option<String>) {
    let mut key = None;
    let (w, _, e) = word_after(chars, i, chars.len());
    if w.eq_ignore_ascii_case("from") {
        let k = first_non_space(chars, e, chars.len());
        if chars.get(k) == Some(&'\'') {
            let end = skip_quoted(chars, k);
            key = Some(unquote(&chars[k..end]));
            i = end;
        }
    }
    let (w, s, e) = word_after(chars, i, chars.len());
    if w.eq_ignore_ascii_case("virtual") && !is_quote(chars[s]) {
        i = e;
    }
    (i, key)
}

/// The 1-based line:column of the character at `char_index`.
pub(crate) fn span_at(text: &str, char_index: usize) -> Span {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_ok(sql: &str) -> (String, Clauses) {
        let (clean, clauses) = strip("f", sql).unwrap();
        assert_eq!(clean.chars().count(), sql.chars().count());
        assert_eq!(clean.matches('\n').count(), sql.matches('\n').count());
        (clean, clauses)
    }

    #[test]
    fn metadata_clauses_are_blanked_in_place() {
        let sql = "CREATE TABLE t (v STRING, part INT METADATA FROM 'partition' VIRTUAL,\n off BIGINT METADATA, ts TIMESTAMP(3) METADATA FROM 'timestamp')";
        let (clean, clauses) = strip_ok(sql);
        assert!(!clean.to_lowercase().contains("metadata"));
        assert_eq!(
            clauses.metadata[0],
            MetadataClause {
                table: "t".into(),
                column: "part".into(),
                key: "partition".into(),
                span: Span {
                    line: 1,
                    column: 36
                }
            }
        );
        assert_eq!(clauses.metadata[1].column, "off");
        assert_eq!(clauses.metadata[1].key, "off");
        assert_eq!(clauses.metadata[1].span.line, 2);
        assert_eq!(clauses.metadata[2].key, "timestamp");
    }

    #[test]
    fn table_arguments_of_window_functions_lose_their_keyword() {
        let sql = "SELECT * FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)), t AS `table`";
        let (clean, _) = strip("f.sql", sql).unwrap();
        assert_eq!(
            clean,
            "SELECT * FROM TABLE(TUMBLE(      bid, DESCRIPTOR(ts), INTERVAL '1' SECOND)), t AS `table`"
        );
    }

    #[test]
    fn rows_computed_columns_and_watermarks_are_taken_out() {
        let sql = "CREATE TABLE `nx` (\n  c AS a + 1,\n  a INT,\n  p ROW<id BIGINT, q ROW(x STRING, t TIMESTAMP(3))>,\n  ts AS CASE WHEN a > 1 THEN p.q.t END,\n  WATERMARK FOR ts AS ts - INTERVAL '4' SECOND,\n  PRIMARY KEY (a) NOT ENFORCED\n) WITH ('x' = 'y'); SELECT a AS b FROM nx";
        let (clean, c) = strip_ok(sql);
        let compact = clean.split_whitespace().collect::<Vec<_>>().join(" ");
        let compact = compact.replace(" ,", ",");
        assert_eq!(
            compact,
            "CREATE TABLE `nx` ( a INT, p INT, PRIMARY KEY (a) NOT ENFORCED ) WITH ('x' = 'y'); SELECT a AS b FROM nx"
        );
        assert_eq!(c.rows.len(), 1);
        assert_eq!(
            c.rows[0].ty.to_string(),
            "STRUCT<id BIGINT, q STRUCT<x STRING, t TIMESTAMP(3)>>"
        );
        let computed: Vec<_> = c
            .computed
            .iter()
            .map(|c| (c.column.as_str(), c.position, c.expr.to_string()))
            .collect();
        assert_eq!(
            computed,
            [
                ("c", 0, "a + 1".to_string()),
                ("ts", 3, "CASE WHEN a > 1 THEN p.q.t END".to_string())
            ]
        );
        assert_eq!(c.computed[1].span, Span { line: 5, column: 3 });
        assert_eq!(c.watermarks[0].column, "ts");
        assert_eq!(c.watermarks[0].expr.to_string(), "ts - INTERVAL '4' SECOND");
        assert!(c.computed.iter().all(|x| x.table == "nx"));
    }

    #[test]
    fn expression_errors_point_into_the_file() {
        let err = strip("f", "CREATE TABLE t (a INT,\n  b AS a +)").unwrap_err();
        match err {
            Error::Sql { span, message, .. } => {
                assert_eq!(span.line, 2, "{message}");
                assert!(message.starts_with("syntax error"), "{message}");
            }
            e => panic!("{e}"),
        }
    }
}
