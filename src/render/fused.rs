//! Chains of filters and projections run as one map per row.
//!
//! A view over a source is typically a projection over a filter over a projection (Nexmark's
//! `bid` is three), and a query over it adds more. Each rendered on its own, a row is unpacked
//! and packed again at every step. A chain none of whose expressions can fail (so no error
//! needs reporting with the step's input) is evaluated here instead, composed first: each
//! step's expressions are rewritten over the chain's input (a column a projection computed
//! becomes that computation), so a chain is usually one stage of filters, then one
//! projection, over the input row. The row is unpacked once, and only as far as its last
//! column the stage reads; the filters run before anything is projected (so a projection
//! below a filter is not computed for rows the filter drops); the result is packed once. A
//! source that runs its table's one chain (see [`super::source_maps`]) hands it the values it
//! decoded ([`Chain::apply_values`]): no row is packed or unpacked before the chain's own.
//!
//! A computed column read twice by the step above stays computed once: the chain is cut
//! there into a second stage, which reads the first's values. What a stage's filters decide
//! (a column equal to a constant) is folded into its projection ([`super::known`]).

use smallvec::SmallVec;

use crate::data::{Datum, Row, Value};
use crate::plan::ir::Expr;
use crate::render::known::decide_under;
use crate::render::scalar::{compare, eval, is_true, with_arena, Arena};

/// One step of a chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Keep the rows on which the predicate is TRUE.
    Filter(Expr),
    /// Compute these expressions.
    Project(Vec<Expr>),
}

/// Filters, then a projection, over the stage's input.
#[derive(Debug, Clone, PartialEq)]
struct Stage {
    filters: Vec<Expr>,
    /// `None`: the input passes through.
    project: Option<Vec<Expr>>,
    /// One past the last input column the stage's filters read.
    filter_reads: usize,
    /// One past the last input column the stage reads.
    reads: usize,
    /// Set for a chain of this one stage whose projection keeps some input columns as they
    /// are.
    copies: Option<Copies>,
    /// The input columns the projection picks, when that is all it does: read without
    /// evaluating an expression for each.
    picks: Option<Vec<usize>>,
}

/// How a stage's row is made when kept columns are copied as encoded.
#[derive(Debug, Clone, PartialEq)]
struct Copies {
    /// The columns the stage's filters and computed expressions read: the only ones decoded.
    decoded: Vec<usize>,
    /// The output, in order: runs of input columns copied, and computed columns.
    out: Vec<Out>,
}

/// A piece of a stage's output row.
#[derive(Debug, Clone, PartialEq)]
enum Out {
    /// These input columns, in order, copied with one copy.
    Copy(std::ops::Range<usize>),
    /// The projection's expression at this position.
    Eval(usize),
}

/// A chain of steps, composed into stages.
#[derive(Debug, Clone)]
pub struct Chain {
    stages: Vec<Stage>,
}

impl Chain {
    /// The chain of `steps`, first step first.
    pub fn new(steps: Vec<Step>) -> Chain {
        let mut stages: Vec<Stage> = Vec::new();
        for step in steps {
            let last = stages.last_mut().filter(|s| composes(s, &step));
            let stage = match last {
                Some(stage) => stage,
                None => {
                    stages.push(Stage {
                        filters: Vec::new(),
                        project: None,
                        filter_reads: 0,
                        reads: 0,
                        copies: None,
                        picks: None,
                    });
                    stages.last_mut().expect("just pushed")
                }
            };
            match step {
                Step::Filter(mut p) => {
                    substitute(&mut p, stage.project.as_deref());
                    stage.filters.push(p);
                }
                Step::Project(mut exprs) => {
                    for e in &mut exprs {
                        substitute(e, stage.project.as_deref());
                    }
                    stage.project = Some(exprs);
                }
            }
        }
        for stage in &mut stages {
            if let Some(project) = &mut stage.project {
                decide_under(&stage.filters, project);
            }
            stage.count_reads();
        }
        if let [only] = stages.as_mut_slice() {
            only.plan_copies();
        }
        Chain { stages }
    }

    /// The chain reading rows that hold only the columns of `layout` (positions in the rows
    /// of `width` columns it was built for, in order): a narrowed table's decoded rows, read
    /// without widening. The first stage is the only one that reads the input; a chain of
    /// filters only projects the rows it keeps to the whole width, as its readers expect.
    pub fn read_through(mut self, layout: &[usize], width: usize) -> Chain {
        if let [only] = self.stages.as_mut_slice() {
            if only.project.is_none() {
                only.project = Some((0..width).map(Expr::Column).collect());
            }
        }
        if let Some(first) = self.stages.first_mut() {
            let exprs = first
                .filters
                .iter_mut()
                .chain(first.project.iter_mut().flatten());
            exprs.for_each(|e| read_through(e, layout));
            first.count_reads();
        }
        if let [only] = self.stages.as_mut_slice() {
            only.plan_copies();
        }
        self
    }

    /// `row` through the chain: the resulting row, or `None` when a filter drops it.
    pub fn apply(&self, row: Row) -> Option<Row> {
        let first = match self.stages.as_slice() {
            [stage @ Stage {
                copies: Some(copies),
                ..
            }] => return stage.copy(&row, copies),
            [first, ..] => first,
            [] => return Some(row),
        };
        // `Some(None)`: the row passes through unchanged (a chain of filters).
        let out = with_arena(|arena| {
            // The first stage's input is unpacked as far as its filters read, and only for a
            // row they keep as far as its projection reads.
            let mut input = row.iter();
            let mut values: SmallVec<[Datum<'_>; 32]> = SmallVec::new();
            values.extend(input.by_ref().take(first.filter_reads));
            if !first.keeps(&values, arena) {
                return None;
            }
            values.extend(input.take(first.reads - first.filter_reads));
            self.finish(&values, arena)
        })?;
        Some(out.unwrap_or(row))
    }

    /// A row's values (as a source decodes them, before any row is packed) through the
    /// chain: the resulting row, or `None` when a filter drops it.
    pub fn apply_values(&self, values: &[Datum<'_>]) -> Option<Row> {
        with_arena(|arena| {
            if !self.stages.first().is_none_or(|s| s.keeps(values, arena)) {
                return None;
            }
            // One stage (the usual view over a source) packs its projection at once.
            match self.stages.as_slice() {
                [Stage {
                    picks: Some(picks), ..
                }] => {
                    let pick = |c: &usize| values.get(*c).copied().unwrap_or(Datum::Null);
                    return Some(Row::pack(picks.iter().map(pick)));
                }
                [Stage {
                    project: Some(exprs),
                    ..
                }] => return Some(Row::pack(exprs.iter().map(|e| eval(e, values, arena)))),
                _ => {}
            }
            let out = self.finish(values, arena)?;
            Some(out.unwrap_or_else(|| Row::pack_slice(values)))
        })
    }

    /// The rest of the chain once the first stage's filters kept `input`: that stage's
    /// projection, then the later stages. `None` when a later filter drops the row,
    /// `Some(None)` when no stage projects (the row passes through).
    fn finish<'a>(&'a self, input: &[Datum<'a>], arena: &'a Arena) -> Option<Option<Row>> {
        // A stage reads one buffer and projects into the other: the buffers stay where they
        // are (moving one copies all of its inline room, not just its values).
        let mut buffers: [SmallVec<[Datum<'a>; 32]>; 2] = [SmallVec::new(), SmallVec::new()];
        // Which buffer holds the row so far; `None`: the input.
        let mut current = None;
        for (i, stage) in self.stages.iter().enumerate() {
            let [a, b] = &mut buffers;
            let (from, to): (&[Datum<'a>], _) = match current {
                None => (input, a),
                Some(0) => (a, b),
                Some(_) => (b, a),
            };
            if i > 0 && !stage.keeps(from, arena) {
                return None;
            }
            if let Some(exprs) = &stage.project {
                to.clear();
                to.extend(exprs.iter().map(|e| eval(e, from, arena)));
                current = Some(current.map_or(0, |c| 1 - c));
            }
        }
        Some(current.map(|c| Row::pack_slice(&buffers[c])))
    }
}

impl Stage {
    /// Whether the stage's filters keep `values`.
    fn keeps<'a>(&'a self, values: &[Datum<'a>], arena: &'a Arena) -> bool {
        (self.filters.iter()).all(|p| holds(p, values, arena))
    }

    /// Plan [`Stage::copies`] (called once reads are counted).
    fn plan_copies(&mut self) {
        let Some(project) = &self.project else {
            return;
        };
        if !project.iter().any(|e| matches!(e, Expr::Column(_))) {
            return;
        }
        let mut decoded = Vec::new();
        let computed = project.iter().filter(|e| !matches!(e, Expr::Column(_)));
        for e in self.filters.iter().chain(computed) {
            e.visit_columns(&mut |c| decoded.push(c));
        }
        decoded.sort_unstable();
        decoded.dedup();
        let mut out: Vec<Out> = Vec::new();
        for (i, e) in project.iter().enumerate() {
            match (e, out.last_mut()) {
                (Expr::Column(c), Some(Out::Copy(run))) if run.end == *c => run.end += 1,
                (Expr::Column(c), _) => out.push(Out::Copy(*c..c + 1)),
                _ => out.push(Out::Eval(i)),
            }
        }
        self.copies = Some(Copies { decoded, out });
    }

    /// `row` through this stage, the chain's only one, planned with [`Stage::plan_copies`]:
    /// the values found without decoding them, those the filters and computed columns read
    /// decoded, the kept columns copied as encoded.
    fn copy(&self, row: &Row, copies: &Copies) -> Option<Row> {
        let spans = row.spans(self.reads);
        let project = self.project.as_deref().unwrap_or_default();
        with_arena(|arena| {
            let width = copies.decoded.last().map_or(0, |c| c + 1);
            let mut values: SmallVec<[Datum<'_>; 32]> = SmallVec::from_elem(Datum::Null, width);
            for &c in &copies.decoded {
                values[c] = spans.get(c);
            }
            if !self.keeps(&values, arena) {
                return None;
            }
            // Room for the copies, and for a number per computed column (more if it is not).
            let room = (copies.out.iter())
                .map(|o| match o {
                    Out::Copy(run) => run.clone().map(|c| spans.encoded_len(c)).sum(),
                    Out::Eval(_) => 9,
                })
                .sum();
            let mut out = Row::default();
            let mut packer = out.packer();
            packer.reserve_exact(room);
            for o in &copies.out {
                match o {
                    Out::Copy(run) => packer.push_copies(&spans, run.clone()),
                    Out::Eval(i) => packer.push(eval(&project[*i], &values, arena)),
                }
            }
            out.shrink_to_fit();
            Some(out)
        })
    }

    /// Set how far the stage's filters, and the stage, read its input.
    fn count_reads(&mut self) {
        let mut reads = 0;
        for e in &self.filters {
            e.visit_columns(&mut |c| reads = reads.max(c + 1));
        }
        self.filter_reads = reads;
        for e in self.project.iter().flatten() {
            e.visit_columns(&mut |c| reads = reads.max(c + 1));
        }
        self.reads = reads;
        self.picks = (self.project.as_ref()).and_then(|exprs| {
            (exprs.iter())
                .map(|e| match e {
                    Expr::Column(c) => Some(*c),
                    _ => None,
                })
                .collect()
        });
    }
}

/// Whether `predicate` is TRUE on `values`. A column compared with a constant (most filters
/// over a source) is compared without evaluating either side.
fn holds<'a>(predicate: &'a Expr, values: &[Datum<'a>], arena: &'a Arena) -> bool {
    if let Expr::Binary { op, left, right } = predicate {
        if let (true, Expr::Column(c), Expr::Literal(v)) = (op.is_comparison(), &**left, &**right) {
            let (l, r) = (values.get(*c).copied().unwrap_or(Datum::Null), v.datum());
            return !l.is_null() && !r.is_null() && compare(*op, l, r);
        }
    }
    is_true(eval(predicate, values, arena))
}

/// `e`, which reads columns of a table's whole row, rewritten to read the row that holds only
/// `layout`'s columns. A column not there reads as NULL (the planner keeps every column
/// something reads, so none is missing).
pub fn read_through(e: &mut Expr, layout: &[usize]) {
    e.replace_columns(&mut |c| {
        Some(match layout.iter().position(|&l| l == c) {
            Some(at) => Expr::Column(at),
            None => Expr::Literal(Value::Null),
        })
    });
}

/// Whether `step` can be rewritten over `stage`'s input: it reads no column the stage
/// computes (other than a plain column or a constant) more than once.
fn composes(stage: &Stage, step: &Step) -> bool {
    let Some(project) = &stage.project else {
        return true;
    };
    let mut uses: SmallVec<[u8; 32]> = SmallVec::from_elem(0, project.len());
    let mut count = |c: usize| {
        if let Some(n) = uses.get_mut(c) {
            *n = n.saturating_add(1);
        }
    };
    match step {
        Step::Filter(p) => p.visit_columns(&mut count),
        Step::Project(exprs) => exprs.iter().for_each(|e| e.visit_columns(&mut count)),
    }
    project
        .iter()
        .zip(&uses)
        .all(|(e, &n)| n <= 1 || matches!(e, Expr::Column(_) | Expr::Literal(_)))
}

/// `e`, which reads the columns `project` computes, rewritten to read `project`'s input.
fn substitute(e: &mut Expr, project: Option<&[Expr]>) {
    if let Some(project) = project {
        e.replace_columns(&mut |c| {
            Some(
                project
                    .get(c)
                    .cloned()
                    .unwrap_or(Expr::Literal(Value::Null)),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ir::BinaryOp;

    fn col(i: usize) -> Expr {
        Expr::Column(i)
    }
    fn lit(i: i64) -> Expr {
        Expr::Literal(Value::Int(i))
    }
    fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }

    /// `row` through `chain` both ways: packed, and as a source's decoded values; they agree.
    fn apply(chain: &Chain, row: &Row) -> Option<Row> {
        let values: Vec<Datum<'_>> = row.iter().collect();
        let out = chain.apply(row.clone());
        assert_eq!(chain.apply_values(&values), out, "{row:?}");
        out
    }

    /// Every one of [`rows`] through `chain` ([`apply`]) as through `steps` one at a time;
    /// how many the chain kept.
    fn stepwise_on_every_row(chain: &Chain, steps: &[Step]) -> usize {
        let mut kept = 0;
        for row in rows() {
            let want = stepwise(steps, &row);
            kept += usize::from(want.is_some());
            assert_eq!(apply(chain, &row), want, "{row:?}");
        }
        kept
    }

    /// The steps one at a time, each over the values the one below computed.
    fn stepwise(steps: &[Step], row: &Row) -> Option<Row> {
        let arena = crate::render::scalar::Arena::new();
        let mut current: Vec<Datum<'_>> = row.iter().collect();
        for step in steps {
            match step {
                Step::Filter(p) => {
                    if !is_true(eval(p, &current, &arena)) {
                        return None;
                    }
                }
                Step::Project(exprs) => {
                    current = exprs.iter().map(|e| eval(e, &current, &arena)).collect();
                }
            }
        }
        Some(Row::pack(current))
    }

    fn rows() -> Vec<Row> {
        (0..30)
            .map(|i| {
                Row::pack([
                    Datum::Int(i % 3),
                    Datum::Int(i),
                    Datum::Null,
                    Datum::Int(i * 7),
                ])
            })
            .collect()
    }

    #[test]
    fn a_composed_chain_computes_what_its_steps_do() {
        // Nexmark's shape: a computed column, a filter on the input, a projection keeping
        // the computed column, a filter on it, a projection of the projection.
        let steps = vec![
            Step::Project(vec![
                col(0),
                col(1),
                bin(BinaryOp::Mul, col(3), lit(2)),
                col(2),
            ]),
            Step::Filter(bin(BinaryOp::Eq, col(0), lit(1))),
            Step::Project(vec![col(2), col(1), col(3)]),
            Step::Filter(bin(BinaryOp::Gt, col(0), lit(50))),
            Step::Project(vec![col(1), col(0), lit(9)]),
        ];
        let chain = Chain::new(steps.clone());
        assert_eq!(chain.stages.len(), 1, "{chain:?}");
        assert_eq!(chain.stages[0].filters.len(), 2);
        assert_eq!(chain.stages[0].filter_reads, 4);
        assert_eq!(chain.stages[0].reads, 4);
        // Column 1 is copied as encoded; the filters and the computed column decode 0 and 3.
        let copies = chain.stages[0].copies.as_ref().unwrap();
        assert_eq!(copies.decoded, vec![0, 3]);
        assert_eq!(
            copies.out,
            vec![Out::Copy(1..2), Out::Eval(1), Out::Eval(2)]
        );
        assert_eq!(stepwise_on_every_row(&chain, &steps), 9);
    }

    #[test]
    fn a_computed_column_read_twice_is_computed_once() {
        let steps = vec![
            Step::Project(vec![bin(BinaryOp::Add, col(1), lit(1))]),
            Step::Project(vec![bin(BinaryOp::Mul, col(0), col(0))]),
            Step::Filter(bin(BinaryOp::Gt, col(0), lit(100))),
        ];
        let chain = Chain::new(steps.clone());
        assert_eq!(chain.stages.len(), 2, "{chain:?}");
        stepwise_on_every_row(&chain, &steps);
    }

    #[test]
    fn a_chain_of_filters_passes_rows_through_and_reads_only_what_it_needs() {
        let steps = vec![
            Step::Filter(bin(BinaryOp::Eq, col(0), lit(2))),
            Step::Filter(bin(BinaryOp::Lt, col(1), lit(20))),
        ];
        let chain = Chain::new(steps.clone());
        assert_eq!(chain.stages[0].reads, 2);
        assert_eq!(chain.stages[0].filter_reads, 2);
        assert!(chain.stages[0].project.is_none());
        let out: Vec<_> = rows().iter().filter_map(|r| apply(&chain, r)).collect();
        let want: Vec<_> = rows().iter().filter_map(|r| stepwise(&steps, r)).collect();
        assert_eq!(out, want);
        assert_eq!(out.len(), 6);
    }

    #[test]
    fn what_the_filters_decide_is_folded_into_the_projection() {
        // Nexmark's `bid`: the time is one of three columns by the event type, and the view
        // keeps one type.
        let steps = vec![
            Step::Filter(bin(BinaryOp::Eq, col(0), lit(2))),
            Step::Project(vec![
                col(1),
                Expr::Case {
                    branches: vec![
                        (bin(BinaryOp::Eq, col(0), lit(0)), col(2)),
                        (bin(BinaryOp::Eq, col(0), lit(1)), col(1)),
                    ],
                    otherwise: Box::new(col(3)),
                },
            ]),
        ];
        let chain = Chain::new(steps.clone());
        assert_eq!(chain.stages[0].project, Some(vec![col(1), col(3)]));
        assert_eq!(stepwise_on_every_row(&chain, &steps), 10);
    }

    #[test]
    fn kept_columns_in_order_are_copied_at_once() {
        let steps = vec![Step::Project(vec![
            col(1),
            col(2),
            col(3),
            bin(BinaryOp::Add, col(0), lit(1)),
            col(0),
            col(9), // past the row's end: NULL
        ])];
        let chain = Chain::new(steps.clone());
        let copies = chain.stages[0].copies.as_ref().unwrap();
        assert_eq!(copies.decoded, vec![0]);
        let runs = [
            Out::Copy(1..4),
            Out::Eval(3),
            Out::Copy(0..1),
            Out::Copy(9..10),
        ];
        assert_eq!(copies.out, runs);
        stepwise_on_every_row(&chain, &steps);
    }

    #[test]
    fn a_row_is_unpacked_past_the_filters_columns_only_when_kept() {
        let steps = vec![
            Step::Filter(bin(BinaryOp::Eq, col(0), lit(0))),
            Step::Project(vec![col(3), col(1)]),
        ];
        let chain = Chain::new(steps.clone());
        assert_eq!(
            (chain.stages[0].filter_reads, chain.stages[0].reads),
            (1, 4)
        );
        stepwise_on_every_row(&chain, &steps);
    }

    /// A column compared with a constant is decided as evaluating the comparison decides it,
    /// for every comparison, NULL on either side, and values of other types.
    #[test]
    fn a_column_compared_with_a_constant_holds_as_evaluated() {
        use ordered_float::OrderedFloat;
        let constants = [
            Value::Null,
            Value::Int(2),
            Value::Float(OrderedFloat(2.0)),
            Value::Float(OrderedFloat(f64::NAN)),
            Value::Str("b".into()),
            Value::Bool(true),
        ];
        let values = [
            Datum::Null,
            Datum::Int(1),
            Datum::Int(2),
            Datum::Int(3),
            Datum::Float(OrderedFloat(2.0)),
            Datum::Float(OrderedFloat(f64::NAN)),
            Datum::Str("a"),
            Datum::Str("b"),
            Datum::Bool(true),
        ];
        let ops = [
            BinaryOp::Eq,
            BinaryOp::NotEq,
            BinaryOp::Lt,
            BinaryOp::LtEq,
            BinaryOp::Gt,
            BinaryOp::GtEq,
        ];
        let arena = Arena::new();
        let mut decided = 0;
        for op in ops {
            for c in &constants {
                let p = bin(op, col(0), Expr::Literal(c.clone()));
                for v in values {
                    let row = [v];
                    let evaluated = is_true(eval(&p, &row, &arena));
                    assert_eq!(holds(&p, &row, &arena), evaluated, "{p:?} on {v:?}");
                    decided += usize::from(evaluated);
                }
            }
        }
        assert!(decided > 20, "{decided} comparisons held");
        // Anything else is evaluated.
        let p = bin(BinaryOp::Eq, lit(2), col(0));
        assert!(holds(&p, &[Datum::Int(2)], &arena));
        assert!(!holds(&p, &[Datum::Int(3)], &arena));
    }
}
