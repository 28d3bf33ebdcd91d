//! Event time in the plan: which columns carry a table's event time or a window's end, and
//! which `GROUP BY`s and top-Ns over windows let their state go.
//!
//! A column is traced down through projections of it, filters, window functions and group
//! keys to where it comes from. A window's `window_end` closes (and its state may go) under the
//! watermark of the table its time column comes from.

use std::collections::HashMap;

use crate::data::Value;
use crate::plan::ir::{
    AggStrategy, BinaryOp, Expire, Expr, JoinExpire, JoinKind, Program, Relation, SideExpire, View,
};

/// `r`, or what the filters on top of it read.
fn below_filters(mut r: &Relation) -> &Relation {
    while let Relation::Filter { input, .. } = r {
        r = input;
    }
    r
}

/// The source table whose `WATERMARK` column (`rowtime`, per table) column `col` of `r` is.
pub fn time_attribute(
    r: &Relation,
    col: usize,
    views: &[View],
    rowtimes: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    match r {
        Relation::Get { name, schema } => {
            match views.iter().find(|v| v.name.eq_ignore_ascii_case(name)) {
                Some(v) => time_attribute(&v.relation, col, views, rowtimes),
                None => {
                    let rowtime = rowtimes(name)?;
                    schema.columns[col]
                        .name
                        .eq_ignore_ascii_case(&rowtime)
                        .then(|| name.to_ascii_lowercase())
                }
            }
        }
        Relation::Filter { input, .. } => time_attribute(input, col, views, rowtimes),
        Relation::Project {
            input,
            exprs,
            schema,
        } => match &exprs[col] {
            Expr::Column(c) => time_attribute(input, *c, views, rowtimes),
            // The projection that adds a table's computed columns (over the table, or over
            // filters on it that were moved below it): the rowtime by name.
            _ => match below_filters(input) {
                Relation::Get { name, .. }
                    if !views.iter().any(|v| v.name.eq_ignore_ascii_case(name)) =>
                {
                    let rowtime = rowtimes(name)?;
                    schema.columns[col]
                        .name
                        .eq_ignore_ascii_case(&rowtime)
                        .then(|| name.to_ascii_lowercase())
                }
                _ => None,
            },
        },
        Relation::Window {
            input,
            time,
            schema,
            ..
        } => {
            let width = input.schema().len();
            if col < width {
                time_attribute(input, col, views, rowtimes)
            } else if col == schema.len() - 1 {
                // window_time is a time attribute, as in Flink.
                time_attribute(input, *time, views, rowtimes)
            } else {
                None
            }
        }
        Relation::Reduce {
            input, group_key, ..
        } => match group_key.get(col) {
            Some(Expr::Column(c)) => time_attribute(input, *c, views, rowtimes),
            _ => None,
        },
        // A top-N and an OVER aggregate pass their input's columns on (Flink keeps their time
        // attributes).
        Relation::TopN { input, schema, .. } | Relation::Over { input, schema, .. }
            if col + 1 < schema.len() =>
        {
            time_attribute(input, col, views, rowtimes)
        }
        // A temporal join's rows keep the left row's time attributes, as in Flink.
        Relation::Join {
            left,
            as_of: Some(_),
            ..
        } if col < left.schema().len() => time_attribute(left, col, views, rowtimes),
        Relation::Join { .. }
        | Relation::Union { .. }
        | Relation::TopN { .. }
        | Relation::Over { .. }
        | Relation::Recursive { .. } => None,
    }
}

/// The table whose watermark closes the windows whose `window_end` column `col` of `r` is.
pub fn window_end(r: &Relation, col: usize, views: &[View]) -> Option<String> {
    match r {
        Relation::Get { name, .. } => views
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
            .and_then(|v| window_end(&v.relation, col, views)),
        Relation::Filter { input, .. } => window_end(input, col, views),
        Relation::Project { input, exprs, .. } => match &exprs[col] {
            Expr::Column(c) => window_end(input, *c, views),
            _ => None,
        },
        Relation::Window {
            input,
            watermark,
            schema,
            ..
        } => {
            let width = input.schema().len();
            if col < width {
                window_end(input, col, views)
            } else if col == schema.len() - 2 {
                watermark.clone()
            } else {
                None
            }
        }
        Relation::Reduce {
            input, group_key, ..
        } => match group_key.get(col) {
            Some(Expr::Column(c)) => window_end(input, *c, views),
            _ => None,
        },
        // A window's rows are ranked within it only if the window is part of the partition;
        // then they are final when it is.
        Relation::TopN {
            input,
            partition_key,
            schema,
            ..
        } if col + 1 < schema.len() => {
            let own = window_end(input, col, views)?;
            partition_key
                .iter()
                .any(|k| matches!(k, Expr::Column(c) if window_end(input, *c, views).as_ref() == Some(&own)))
                .then_some(own)
        }
        // A joined row's window end is final only if both sides' rows of that window are: an
        // inner join whose key equates the window ends of both sides, on one watermark.
        Relation::Join {
            left,
            right,
            kind: JoinKind::Inner,
            left_key,
            right_key,
            ..
        } => {
            let width = left.schema().len();
            let own = if col < width {
                window_end(left, col, views)
            } else {
                window_end(right, col - width, views)
            }?;
            let both = left_key.iter().zip(right_key).any(|pair| match pair {
                (Expr::Column(a), Expr::Column(b)) => {
                    window_end(left, *a, views).as_ref() == Some(&own)
                        && window_end(right, *b, views).as_ref() == Some(&own)
                }
                _ => false,
            });
            both.then_some(own)
        }
        // An OVER aggregate's frames span windows unless partitioned by one: kept.
        Relation::Join { .. }
        | Relation::Union { .. }
        | Relation::TopN { .. }
        | Relation::Over { .. }
        | Relation::Recursive { .. } => None,
    }
}

/// Mark every `GROUP BY` whose key holds a window's end, and whose aggregates all live in the
/// one accumulable arrangement, to let a group's state go once its window is final; and every
/// interval or window join under watermarks, to let its rows go (see [`JoinExpire`]).
///
/// Only where everything that reads the rows reads each window whole (a sink, or an
/// operator keyed by the same window end, or a join whose rows go too): a restored run
/// recomputes what reads restored state from it, and state that went before the checkpoint is
/// not in it. A per-key total over window counts would miss the windows gone; such a `GROUP
/// BY` keeps its windows.
pub fn plan_expiry(program: &mut Program) {
    let known = Known {
        on_close: program
            .setting("window.emit")
            .is_some_and(|v| v.eq_ignore_ascii_case("on-window-close")),
        views: program.views.clone(),
        tables: program
            .sources
            .iter()
            .map(|s| {
                let rowtime = s.watermark.as_ref().map(|(column, _)| column.clone());
                (
                    s.name.to_ascii_lowercase(),
                    s.late_records.lateness_ms(),
                    rowtime,
                )
            })
            .collect(),
    };
    // Whether every reader of each view reads its windows whole: sinks first, then views in
    // reverse (a view reads only views declared before it).
    let mut whole: HashMap<String, bool> = HashMap::new();
    for s in &program.sinks {
        known.note_readers(&s.relation, true, &mut whole);
    }
    for v in program.views.iter().rev() {
        let own = whole
            .get(&v.name.to_ascii_lowercase())
            .copied()
            .unwrap_or(true);
        known.note_readers(&v.relation, own, &mut whole);
    }
    for v in &mut program.views {
        let own = whole
            .get(&v.name.to_ascii_lowercase())
            .copied()
            .unwrap_or(true);
        known.mark(&mut v.relation, own);
    }
    for s in &mut program.sinks {
        known.mark(&mut s.relation, true);
    }
    let read = watermarked_tables(program);
    program.watermarks.retain(|w| read.contains(&w.table));
}

/// What expiry planning looks up: the program's views, and per source table (lowercase) its
/// allowed lateness and its rowtime column.
struct Known {
    /// `SET 'window.emit' = 'on-window-close'`: window groups and top-Ns write on close.
    on_close: bool,
    views: Vec<View>,
    tables: Vec<(String, i64, Option<String>)>,
}

impl Known {
    fn lateness(&self, table: &str) -> i64 {
        self.tables
            .iter()
            .find(|(t, _, _)| t == table)
            .map_or(0, |(_, l, _)| *l)
    }

    fn rowtime(&self, table: &str) -> Option<String> {
        self.tables
            .iter()
            .find(|(t, _, _)| t.eq_ignore_ascii_case(table))
            .and_then(|(_, _, r)| r.clone())
    }

    /// Whether the inputs of `r` are read window by window whole, when `r`'s rows are
    /// (`whole`): through filters, projections and unions; into a `GROUP BY` or top-N keyed
    /// by a window's end, or a join whose rows go under watermarks. Not into any other
    /// aggregate, join, `OVER`, window or iteration.
    fn inputs_whole(&self, r: &Relation, whole: bool) -> bool {
        whole
            && match r {
                Relation::Filter { .. } | Relation::Project { .. } | Relation::Union { .. } => true,
                Relation::Reduce {
                    input, group_key, ..
                } => self.expiry(input, group_key).is_some(),
                Relation::TopN {
                    input,
                    partition_key,
                    ..
                } => self.expiry(input, partition_key).is_some(),
                Relation::Join { .. } => self.join_rule(r).is_some(),
                _ => false,
            }
    }

    /// For each view `r` reads, whether it reads its windows whole (`whole`: whether `r`'s
    /// own rows are), and-ed into `views`.
    fn note_readers(&self, r: &Relation, whole: bool, views: &mut HashMap<String, bool>) {
        if let Relation::Get { name, .. } = r {
            let name = name.to_ascii_lowercase();
            if self
                .views
                .iter()
                .any(|v| v.name.eq_ignore_ascii_case(&name))
            {
                *views.entry(name).or_insert(true) &= whole;
            }
            return;
        }
        let below = self.inputs_whole(r, whole);
        for input in r.inputs() {
            self.note_readers(input, below, views);
        }
    }

    /// How the join `r` (not a temporal one) lets its rows go, if its sides' times are bound
    /// under watermarks (see [`JoinExpire`]).
    fn join_rule(&self, r: &Relation) -> Option<JoinExpire> {
        let Relation::Join {
            left,
            right,
            kind,
            left_key,
            right_key,
            residual,
            as_of: None,
            ..
        } = r
        else {
            return None;
        };
        let pairs = time_bounds(left_key, right_key, residual.as_ref(), left.schema().len());
        pairs
            .into_iter()
            .find_map(|(l, r, bounds)| self.join_expiry(left, right, *kind, (l, r), bounds))
    }

    /// Plan the expiry in `r`, whose rows are read window by window whole when `whole`.
    fn mark(&self, r: &mut Relation, whole: bool) {
        let below = self.inputs_whole(r, whole);
        match r {
            Relation::Get { .. } => {}
            Relation::Filter { input, .. }
            | Relation::Project { input, .. }
            | Relation::Over { input, .. }
            | Relation::Window { input, .. } => self.mark(input, below),
            Relation::Join { left, right, .. } => {
                self.mark(left, below);
                self.mark(right, below);
                // After its sides: their rows' kinds decide the rule.
                let rule = whole.then(|| self.join_rule(r)).flatten();
                if let Relation::Join { expire, .. } = r {
                    *expire = rule;
                }
            }
            Relation::Union { inputs, .. } => inputs.iter_mut().for_each(|i| self.mark(i, below)),
            Relation::Recursive { body, .. } => self.mark(body, below),
            // A window top-N: its partitions' state goes with their windows.
            Relation::TopN {
                input,
                partition_key,
                expire,
                ..
            } => {
                self.mark(input, below);
                *expire = self.expiry(input, partition_key).filter(|_| whole);
            }
            Relation::Reduce {
                input,
                group_key,
                aggregates,
                expire,
                ..
            } => {
                self.mark(input, below);
                let accumulable = aggregates.iter().all(|a| {
                    matches!(
                        a.strategy,
                        AggStrategy::Accumulable | AggStrategy::InsertOnly
                    )
                });
                *expire = self
                    .expiry(input, group_key)
                    .filter(|_| accumulable && whole);
            }
        }
    }

    /// When the state of a group keyed by `key` (over `input`) can go: when a key column is a
    /// window's end, once that window is final.
    fn expiry(&self, input: &Relation, key: &[Expr]) -> Option<Expire> {
        let (key, table) = key.iter().enumerate().find_map(|(i, k)| match k {
            Expr::Column(c) => window_end(input, *c, &self.views).map(|t| (i, t)),
            _ => None,
        })?;
        Some(Expire {
            key,
            lateness_ms: self.lateness(&table),
            watermark: table,
            on_close: self.on_close,
        })
    }

    /// The table whose watermark column `col` of `side` follows, if no row to come on that
    /// side has a time at or behind it (less its lateness) once late rows are dropped: a time
    /// attribute of an insert-only input, or a window's end (a window's rows change only
    /// while it is open).
    fn side_watermark(&self, side: &Relation, col: usize) -> Option<String> {
        window_end(side, col, &self.views).or_else(|| {
            let rowtimes = |t: &str| self.rowtime(t);
            time_attribute(side, col, &self.views, &rowtimes)
                .filter(|_| crate::plan::reduce::only_inserts(side, &self.views))
        })
    }

    /// How a join of `kind` whose pairs have `left.l - right.r` within `bounds` lets its rows
    /// go, if both times follow watermarks (see [`JoinExpire`] for the rule).
    fn join_expiry(
        &self,
        left: &Relation,
        right: &Relation,
        kind: JoinKind,
        (l, r): (usize, usize),
        (lo, hi): (Option<i64>, Option<i64>),
    ) -> Option<JoinExpire> {
        let (lw, rw) = (
            self.side_watermark(left, l)?,
            self.side_watermark(right, r)?,
        );
        // With 0 in the interval, a row to come (after the bound) is never one that goes.
        let lo0 = lo.map(|lo| lo.min(0));
        let hi0 = hi.map(|hi| hi.max(0));
        // A left row's partners have times at most `l - lo`, a right row's at least `r - hi`.
        let (mut left_horizon, mut right_horizon) = (lo0.map(|lo| -lo), hi0);
        // A side whose unmatched rows are output (or whose matches are) must not see its
        // partners go first: the other side waits for its own partners' horizon.
        let width = |a: Option<i64>, b: Option<i64>| Some(a?.saturating_add(b?));
        if kind.keeps_left() || kind.left_only() {
            right_horizon = width(hi0, lo0.map(|lo| -lo));
        }
        if kind.keeps_right() {
            left_horizon = width(hi0, lo0.map(|lo| -lo));
        }
        if kind == JoinKind::Full || (left_horizon.is_none() && right_horizon.is_none()) {
            return None;
        }
        let side = |time, watermark: String, horizon_ms| SideExpire {
            time,
            lateness_ms: self.lateness(&watermark),
            watermark,
            horizon_ms,
        };
        Some(JoinExpire {
            left: side(l, lw, left_horizon),
            right: side(r, rw, right_horizon),
        })
    }
}

/// The pairs `(left column, right column)` whose difference `left - right` a join's pairs
/// bound, with the bounds `(lo, hi)`: from keys equating two columns (`[0, 0]`) and from
/// residual terms `a op b + c` (`BETWEEN` is two of them). A strict comparison bounds as
/// the non-strict one (state is kept no shorter).
fn time_bounds(
    left_key: &[Expr],
    right_key: &[Expr],
    residual: Option<&Expr>,
    width: usize,
) -> Vec<(usize, usize, (Option<i64>, Option<i64>))> {
    let mut out: Vec<(usize, usize, (Option<i64>, Option<i64>))> = Vec::new();
    let mut bound = |l: usize, r: usize, lo: Option<i64>, hi: Option<i64>| {
        let at = match out.iter().position(|(a, b, _)| (*a, *b) == (l, r)) {
            Some(i) => i,
            None => {
                out.push((l, r, (None, None)));
                out.len() - 1
            }
        };
        let b = &mut out[at].2;
        b.0 = b.0.max(lo);
        b.1 = match (b.1, hi) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
    };
    for (a, b) in left_key.iter().zip(right_key) {
        if let (Expr::Column(a), Expr::Column(b)) = (a, b) {
            bound(*a, *b, Some(0), Some(0));
        }
    }
    for term in residual.iter().flat_map(|r| r.conjuncts()) {
        let Expr::Binary { op, left, right } = term else {
            continue;
        };
        let (Some((a, ca)), Some((b, cb))) = (shifted(left), shifted(right)) else {
            continue;
        };
        // `a + ca op b + cb`, i.e. `a - b op cb - ca`; as `left - right`.
        let (l, r, k, op) = match (a < width, b < width) {
            (true, false) => (a, b - width, cb.checked_sub(ca), *op),
            (false, true) => (b, a - width, ca.checked_sub(cb), op.flipped()),
            _ => continue,
        };
        let Some(k) = k else { continue };
        match op {
            BinaryOp::Gt | BinaryOp::GtEq => bound(l, r, Some(k), None),
            BinaryOp::Lt | BinaryOp::LtEq => bound(l, r, None, Some(k)),
            BinaryOp::Eq => bound(l, r, Some(k), Some(k)),
            _ => {}
        }
    }
    // The pairs bounded both ways first.
    out.sort_by_key(|(_, _, (lo, hi))| !(lo.is_some() && hi.is_some()));
    out
}

/// `column`, `column + c`, `c + column` or `column - c` (c a constant) as `(column, c)`.
fn shifted(e: &Expr) -> Option<(usize, i64)> {
    let constant = |e: &Expr| match e {
        Expr::Literal(Value::Int(c)) => Some(*c),
        _ => None,
    };
    match e {
        Expr::Column(c) => Some((*c, 0)),
        Expr::Binary { op, left, right } => match (op, &**left, &**right) {
            (BinaryOp::Add, Expr::Column(c), k) | (BinaryOp::Add, k, Expr::Column(c)) => {
                Some((*c, constant(k)?))
            }
            (BinaryOp::Sub, Expr::Column(c), k) => Some((*c, constant(k)?.checked_neg()?)),
            _ => None,
        },
        _ => None,
    }
}

/// The tables some window reads the watermark of.
pub fn watermarked_tables(program: &Program) -> Vec<String> {
    fn walk(r: &Relation, out: &mut Vec<String>) {
        match r {
            Relation::Get { .. } => {}
            Relation::Filter { input, .. }
            | Relation::Project { input, .. }
            | Relation::Reduce { input, .. }
            | Relation::Over { input, .. }
            | Relation::TopN { input, .. } => walk(input, out),
            Relation::Window {
                input, watermark, ..
            } => {
                if let Some(t) = watermark {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
                walk(input, out);
            }
            Relation::Join {
                left,
                right,
                as_of,
                expire,
                ..
            } => {
                let sides = expire
                    .iter()
                    .flat_map(|e| [&e.left.watermark, &e.right.watermark]);
                for t in as_of
                    .iter()
                    .filter_map(|a| a.watermark.as_ref())
                    .chain(sides)
                {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
                walk(left, out);
                walk(right, out);
            }
            Relation::Union { inputs, .. } => inputs.iter().for_each(|i| walk(i, out)),
            Relation::Recursive { body, .. } => walk(body, out),
        }
    }
    let mut out = Vec::new();
    for v in &program.views {
        walk(&v.relation, &mut out);
    }
    for s in &program.sinks {
        walk(&s.relation, &mut out);
    }
    out
}
