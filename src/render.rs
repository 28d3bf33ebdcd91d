//! Rendering: the logical plan → differential operators inside one worker's dataflow.
//!
//! The runtime hands over one collection per source table; [`render_program`] builds every
//! view once (a view read by several statements is shared) and returns one collection per
//! sink. Nothing here talks to Kafka or commits anything.
//!
//! The arrangements fed directly by sources (those of the lowest `GROUP BY`s and joins) are the
//! dataflow's state: rendering hands each to [`crate::checkpoint`] as a
//! [`crate::state::StateArrangement`], and on recovery puts its restored contents in front of
//! it (see [`StateHooks`]).

pub mod accum;
pub mod aggregate;
pub mod event_time;
pub mod external;
pub mod functions;
pub mod fused;
pub mod join;
pub mod known;
pub mod over;
pub mod recursive;
pub mod scalar;
pub mod session;
pub mod temporal;
pub mod top_n;
pub mod totals;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};
use timely::dataflow::operators::vec::Map as _;
use timely::dataflow::operators::ToStream;
use timely::dataflow::{Scope, StreamVec};

use crate::checkpoint::operators::render_restore;
use crate::checkpoint::Checkpointing;
use crate::control::RunControl;
use crate::data::{DataType, Datum, Row, RowCollection, Schema};
use crate::error::{Error, Result};
use crate::plan::ir::{AggFunc, AggregateExpr, Expr, Program, Relation};
use crate::source::decode::RowMap;
use crate::spec::SinkSpec;
use crate::state::StateTrace;
use crate::timestamp::{Diff, Time};

/// A hash map for the rows, keys and groups operators keep per record: foldhash, not the
/// standard SipHash (which hashed a window's state keys at a tenth of a query's time).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// What rendering shares with checkpointing.
pub struct RenderState<'s> {
    /// The worker's scope.
    pub scope: Scope<'s, Time>,
    /// Set when the run checkpoints (and maybe restores).
    pub checkpointing: Option<Arc<Checkpointing>>,
    /// The traces of the state arrangements, in render order.
    pub traces: Vec<StateTrace>,
    /// Data-less streams with those arrangements' frontiers.
    pub progress: Vec<StreamVec<'s, Time, ()>>,
    /// For restore failures.
    pub control: Arc<RunControl>,
    /// Join inputs arranged so far, by input relation, key and NULL handling.
    join_sides: HashMap<String, (join::Arrangement<'s>, bool)>,
    /// The relations with state rendered so far, by relation.
    rendered: HashMap<String, Rendered<'s>>,
    /// The watermark of each table that has one (lowercase name), and how late a record of
    /// it may be.
    watermarks: HashMap<String, (event_time::Watermark<'s>, i64)>,
    /// The watermarks a restored run starts from (lowercase table name).
    pub restored_watermarks: HashMap<String, i64>,
    /// With checkpoints: each watermark's values by time, for the checkpoint to record.
    pub watermark_history: Vec<(String, crate::resume::WatermarkHistory)>,
    /// The narrowed tables (lowercase name): rows holding only the columns read.
    narrowed: HashMap<String, Narrowed<'s>>,
    /// The tables whose sources make their one reader's rows (see [`source_maps`]), until
    /// their rows are rendered.
    pub source_maps: SourceMaps,
    /// Those tables' rows (lowercase name), which are their readers' rows, with the chain's
    /// steps the source ran.
    mapped: HashMap<String, (Vec<fused::Step>, Rendered<'s>)>,
}

/// The tables (lowercase name) whose one reader is a chain of filters and projections, with
/// that chain's steps, first step first: their sources run the chain on each decoded row
/// (see [`source_maps`]).
#[derive(Debug, Clone, Default)]
pub struct SourceMaps(HashMap<String, Vec<fused::Step>>);

impl SourceMaps {
    /// The map a source of `table` runs, if it runs one.
    pub fn map(&self, table: &str) -> Option<RowMap> {
        let chain = fused::Chain::new(self.0.get(&table.to_ascii_lowercase())?.clone());
        Some(RowMap::new(move |values| chain.apply_values(values)))
    }
}

/// The source tables `program` reads once, through a chain of filters and projections over
/// the table (Nexmark's `bid` view and the query over it): each source runs its table's chain
/// on the values it decodes, making the chain's row at once instead of packing the table's
/// row for the chain to unpack. Not for a program with Rust code (which may read any table),
/// a table whose watermark a window follows (its statistics read the table's rows), nor a
/// read inside a recursion.
pub fn source_maps(program: &Program, with_code: bool) -> SourceMaps {
    if with_code {
        return SourceMaps::default();
    }
    // What renders: the sinks, and the views they read (as `render_program_with` finds them).
    let program = inline_chain_views(program);
    let read = program.views_read();
    let views = (program.views.iter()).filter(|v| read.contains(&v.name.to_ascii_lowercase()));
    let relations: Vec<&Relation> = (program.sinks.iter().map(|s| &s.relation))
        .chain(views.map(|v| &v.relation))
        .collect();
    let mut reads: HashMap<String, usize> = HashMap::new();
    let mut chains: Vec<(String, Vec<fused::Step>)> = Vec::new();
    for r in &relations {
        count_reads(r, &mut reads);
        chain_tops(r, &mut chains);
    }
    let maps = chains.into_iter().filter(|(table, _)| {
        reads.get(table) == Some(&1)
            && (program.sources.iter()).any(|s| s.name.eq_ignore_ascii_case(table))
            && !(program.watermarks.iter()).any(|w| w.table.eq_ignore_ascii_case(table))
    });
    SourceMaps(maps.collect())
}

/// Add to `chains` each chain of filters and projections in `r` that renders as one map over
/// a read of a name (as [`render_new`] finds them): the name, lowercase, and the chain's steps,
/// first step first. Recursions are not looked into.
fn chain_tops(r: &Relation, chains: &mut Vec<(String, Vec<fused::Step>)>) {
    if let Relation::Filter { .. } | Relation::Project { .. } = r {
        if let Some(name) = chain_input(r) {
            chains.push((name.to_ascii_lowercase(), in_order(fusible(r))));
            return;
        }
    }
    if !matches!(r, Relation::Recursive { .. }) {
        r.inputs().into_iter().for_each(|i| chain_tops(i, chains));
    }
}

/// A narrowed table's decoded rows, which hold only the columns of its layout (see
/// [`crate::spec::SourceSpec::layout`]): a chain of filters and projections reads them as
/// they are; anything else reads them widened to the table's schema, NULL where not read.
struct Narrowed<'s> {
    rows: Rendered<'s>,
    layout: Arc<[usize]>,
    width: usize,
    /// The widened rows, made when first read.
    widened: Option<Rendered<'s>>,
}

impl<'s> Narrowed<'s> {
    fn widened(&mut self) -> Rendered<'s> {
        let (layout, width) = (self.layout.clone(), self.width);
        let rows = &self.rows;
        (self.widened.get_or_insert_with(|| Rendered {
            collection: rows.collection.clone().map(move |row| {
                let mut datums: smallvec::SmallVec<[Datum<'_>; 32]> =
                    smallvec::smallvec![Datum::Null; width];
                for (d, &c) in row.iter().zip(layout.iter()) {
                    datums[c] = d;
                }
                Row::pack_slice(&datums)
            }),
            ..rows.clone()
        }))
        .clone()
    }
}

impl<'s> RenderState<'s> {
    /// Rendering without checkpoints.
    pub fn new(scope: Scope<'s, Time>, control: Arc<RunControl>) -> Self {
        RenderState {
            scope,
            checkpointing: None,
            traces: Vec::new(),
            progress: Vec::new(),
            control,
            join_sides: HashMap::new(),
            rendered: HashMap::new(),
            watermarks: HashMap::new(),
            restored_watermarks: HashMap::new(),
            watermark_history: Vec::new(),
            narrowed: HashMap::new(),
            source_maps: SourceMaps::default(),
            mapped: HashMap::new(),
        }
    }

    /// How many join inputs were arranged (joins of the same input by the same key share one).
    pub fn join_arrangements(&self) -> usize {
        self.join_sides.len()
    }

    /// How many relations with state (aggregates, joins, top-N, `OVER`, windows) were
    /// rendered: one the program computes twice is rendered once.
    pub fn stateful_relations(&self) -> usize {
        self.rendered.len()
    }
}

/// A rendered relation, whether it is computed from state (a `GROUP BY` below it), and
/// whether every source it reads skips bad records (so a row on which an expression fails is
/// skipped and counted, not a failure of the run).
#[derive(Clone)]
struct Rendered<'s> {
    collection: RowCollection<'s>,
    stateful: bool,
    skip_errors: bool,
}

/// Render every view and sink of `program` over the given source collections (by table name).
pub fn render_program<'s>(
    program: &Program,
    sources: HashMap<String, RowCollection<'s>>,
    state: &mut RenderState<'s>,
) -> Result<Vec<(SinkSpec, RowCollection<'s>)>> {
    render_program_with(program, sources, state, None)
}

/// [`render_program`], then `logic` (Rust code, see [`external`]) over the source tables and
/// the views, writing the program's external sinks.
pub fn render_program_with<'s>(
    program: &Program,
    sources: HashMap<String, RowCollection<'s>>,
    state: &mut RenderState<'s>,
    logic: Option<&external::Logic>,
) -> Result<Vec<(SinkSpec, RowCollection<'s>)>> {
    let tables: Vec<String> = sources.keys().cloned().collect();
    let mut env: HashMap<String, Rendered<'s>> = HashMap::new();
    for (name, collection) in sources {
        let source = (program.sources.iter()).find(|s| s.name.eq_ignore_ascii_case(&name));
        let skip_errors =
            source.is_some_and(|s| s.bad_records != crate::spec::BadRecordPolicy::Fail);
        // A file table is read again by every run, so what it feeds is rebuilt, not
        // restored: like what a restored GROUP BY feeds, it is not kept as state.
        let stateful = source.is_some_and(|s| s.file.is_some());
        let rows = Rendered {
            collection,
            stateful,
            skip_errors,
        };
        let key = name.to_ascii_lowercase();
        if let Some(steps) = state.source_maps.0.remove(&key) {
            state.mapped.insert(key, (steps, rows));
            continue;
        }
        match source.and_then(|s| Some((s.layout()?, s.schema.len()))) {
            Some((layout, width)) => {
                let narrowed = Narrowed {
                    rows,
                    layout: layout.into(),
                    width,
                    widened: None,
                };
                state.narrowed.insert(name, narrowed);
            }
            None => {
                env.insert(name, rows);
            }
        }
    }
    // Watermarks first: their state comes first in render order.
    for plan in &program.watermarks {
        let table = plan.table.to_ascii_lowercase();
        let stats = env
            .get(&event_time::statistics_name(&table))
            .ok_or_else(|| Error::Internal(format!("no watermark statistics for {table}")))?
            .collection
            .clone();
        let (group_key, aggregates) = event_time::per_partition();
        let mut hooks = StateHooks {
            keep: state.checkpointing.is_some(),
            state,
        };
        let partitions = aggregate::render_reduce(
            (stats, None),
            &group_key,
            &aggregates,
            |_, _| {},
            (None, false),
            &mut hooks,
        );
        let initial = state
            .restored_watermarks
            .get(&table)
            .copied()
            .unwrap_or(event_time::NONE);
        let history = state.checkpointing.is_some().then(|| {
            let h: crate::resume::WatermarkHistory =
                Rc::new(RefCell::new(crate::timestamp::Tracker::new(initial)));
            state.watermark_history.push((table.clone(), h.clone()));
            h
        });
        let watermark = event_time::watermark(partitions, plan.idle_timeout_ms, initial, history);
        let lateness = program
            .sources
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&table))
            .map_or(0, |s| s.late_records.lateness_ms());
        state.watermarks.insert(table, (watermark, lateness));
    }
    // Rust code may read any view; a SQL program renders only the views its sinks read, and
    // runs a view that only filters and projects as part of its one reader.
    let inlined;
    let program = match logic {
        Some(_) => program,
        None => {
            inlined = inline_chain_views(program);
            &inlined
        }
    };
    let read = logic.is_none().then(|| program.views_read());
    for view in &program.views {
        let name = view.name.to_ascii_lowercase();
        if read.as_ref().is_some_and(|read| !read.contains(&name)) {
            continue;
        }
        let rendered = render_relation(&view.relation, &env, state, &view.name)?;
        env.insert(name, rendered);
    }
    let mut outputs = program
        .sinks
        .iter()
        .map(|sink| {
            let rendered = render_relation(&sink.relation, &env, state, &sink.sink.name)?;
            let collection = match &sink.on_close {
                Some(close) => {
                    let (watermark, _) = state.watermark(&close.watermark)?;
                    event_time::on_window_close(rendered.collection, &watermark, close.column, 0)
                }
                None => rendered.collection,
            };
            Ok((sink.sink.clone(), collection))
        })
        .collect::<Result<Vec<_>>>()?;
    if let Some(logic) = logic {
        let mut cx = external::Context {
            env: &env,
            state,
            read: HashMap::new(),
            sinks: &program.external_sinks,
            outputs: Vec::new(),
            sources: tables,
        };
        logic(&mut cx)?;
        let written = std::mem::take(&mut cx.outputs);
        if let Some(missing) =
            (program.external_sinks.iter()).find(|s| !written.iter().any(|(w, _)| w.name == s.name))
        {
            return Err(Error::Config(format!(
                "the dataflow declares sink \"{}\" but never writes it",
                missing.name
            )));
        }
        outputs.extend(written);
    }
    Ok(outputs)
}

impl<'s> RenderState<'s> {
    /// How the state of a `GROUP BY` or top-N over windows goes, if it does.
    fn expiry(
        &self,
        expire: Option<&crate::plan::ir::Expire>,
    ) -> Result<Option<aggregate::Expiry<'s>>> {
        expire
            .map(|e| Ok((self.watermark(&e.watermark)?.0, e.key, e.lateness_ms)))
            .transpose()
    }

    /// The bound under which an interval join's rows go: the lesser of its sides' watermarks,
    /// each less its lateness (one watermark and its lateness when both sides follow it).
    fn join_bound(
        &self,
        e: &crate::plan::ir::JoinExpire,
    ) -> Result<(event_time::Watermark<'s>, i64)> {
        let (l, r) = (&e.left, &e.right);
        if l.watermark.eq_ignore_ascii_case(&r.watermark) && l.lateness_ms == r.lateness_ms {
            return self.watermark(&l.watermark);
        }
        let (a, la) = self.watermark(&l.watermark)?;
        let (b, lb) = self.watermark(&r.watermark)?;
        Ok((event_time::lesser((&a, la), (&b, lb)), 0))
    }

    /// What each side of an interval join under watermarks does with late rows and how its
    /// rows go, and the bound under which they go.
    fn join_expiry(&self, e: &crate::plan::ir::JoinExpire) -> Result<JoinRules<'s>> {
        let (bound, lateness) = self.join_bound(e)?;
        let side = |s: &crate::plan::ir::SideExpire| -> Result<SideRule<'s>> {
            let (watermark, own_lateness) = self.watermark(&s.watermark)?;
            let goes = s.horizon_ms.map(|horizon| join::SideExpiry {
                bound: bound.clone(),
                lateness,
                column: s.time,
                horizon,
            });
            Ok(((watermark, s.time, own_lateness), goes))
        };
        let (left, right) = (side(&e.left)?, side(&e.right)?);
        Ok(JoinRules {
            left,
            right,
            bound: (bound, lateness),
        })
    }

    /// The watermark of `table` and its allowed lateness.
    fn watermark(&self, table: &str) -> Result<(event_time::Watermark<'s>, i64)> {
        self.watermarks
            .get(&table.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| Error::Internal(format!("no watermark rendered for {table}")))
    }
}

/// A `GROUP BY` straight over a window that is not a session, whose keys and arguments are
/// plain columns: how it assigns the windows itself (see [`aggregate::Windowed`]).
fn windowed(
    input: &Relation,
    group_key: &[Expr],
    aggregates: &[crate::plan::ir::AggregateExpr],
) -> Option<aggregate::Windowed> {
    let Relation::Window {
        input, kind, time, ..
    } = input
    else {
        return None;
    };
    let plain = (group_key.iter())
        .chain(aggregates.iter().filter_map(|a| a.arg.as_ref()))
        .all(|e| matches!(e, Expr::Column(_)));
    let session = matches!(kind, crate::plan::ir::WindowKind::Session { .. });
    (plain && !session).then(|| aggregate::Windowed {
        kind: *kind,
        time: *time,
        width: input.schema().len(),
    })
}

/// The input rows of `window` (a `Window` that is not a session) that are on time: under a
/// watermark, those at or behind it (less the lateness) dropped and counted. Rendered once per
/// window, whether its rows are assigned as rows or inside a `GROUP BY`, so a late record is
/// counted once.
fn on_time<'s>(
    window: &Relation,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
    label: &str,
) -> Result<Rendered<'s>> {
    let Relation::Window {
        input,
        time,
        watermark,
        ..
    } = window
    else {
        return Err(Error::Internal(
            "rows on time of a relation that is not a window".into(),
        ));
    };
    let id = format!("on time: {window:?}");
    if let Some(done) = state.rendered.get(&id) {
        return Ok(done.clone());
    }
    let rendered = render_relation(input, env, state, label)?;
    let collection = match watermark {
        Some(table) => {
            let (watermark, lateness) = state.watermark(table)?;
            event_time::drop_late(
                rendered.collection,
                &watermark,
                *time,
                lateness,
                Some(state.control.clone()),
            )
        }
        None => rendered.collection,
    };
    let rendered = Rendered {
        collection,
        ..rendered
    };
    state.rendered.insert(id, rendered.clone());
    Ok(rendered)
}

/// Render one relation; `env` maps lowercase source/view names to their collections; `label`
/// names the view or sink it belongs to, in messages.
///
/// A relation that keeps state (an aggregate, a join, a top-N, an `OVER` aggregate, a window)
/// and that an earlier part of the program computes too, the same relation over the same
/// inputs, is that part's collection: computed once, with one state. (Nexmark q5 counts each
/// auction's bids per window twice in its text, once for the join and once for the maximum.)
fn render_relation<'s>(
    relation: &Relation,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
    label: &str,
) -> Result<Rendered<'s>> {
    let shared = matches!(
        relation,
        Relation::Reduce { .. }
            | Relation::Join { .. }
            | Relation::TopN { .. }
            | Relation::Over { .. }
            | Relation::Window { .. }
    );
    let id = shared.then(|| format!("{relation:?}"));
    if let Some(done) = id.as_ref().and_then(|id| state.rendered.get(id)) {
        return Ok(done.clone());
    }
    let rendered = render_new(relation, env, state, label)?;
    if let Some(id) = id {
        state.rendered.insert(id, rendered.clone());
    }
    Ok(rendered)
}

/// [`render_relation`] for a relation not rendered before.
fn render_new<'s>(
    relation: &Relation,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
    label: &str,
) -> Result<Rendered<'s>> {
    Ok(match relation {
        Relation::Get { name, .. } if state.mapped.contains_key(&name.to_ascii_lowercase()) => {
            return Err(Error::Internal(format!(
                "table \"{name}\" is read beside the one chain its source runs"
            )))
        }
        Relation::Get { name, .. } => match state.narrowed.get_mut(&name.to_ascii_lowercase()) {
            Some(narrowed) => narrowed.widened(),
            None => env
                .get(&name.to_ascii_lowercase())
                .cloned()
                .ok_or_else(|| Error::Internal(format!("relation \"{name}\" was not rendered")))?,
        },
        Relation::Recursive { name, body, .. } => recursive::render(name, body, env, state, label)?,
        Relation::Filter { .. } | Relation::Project { .. }
            if fusible(relation).len() > 1
                || reads_narrowed(relation, state).is_some()
                || reads_mapped(relation, state).is_some() =>
        {
            let steps = fusible(relation);
            if let Some((table, (ran, rows))) = reads_mapped(relation, state) {
                // The source made this chain's rows: the chain it ran is this one.
                if !ran.iter().eq(steps.iter().rev().map(|(s, _)| s)) {
                    return Err(Error::Internal(format!(
                        "the source of \"{table}\" ran another chain than its reader's"
                    )));
                }
                return Ok(rows.clone());
            }
            let base = steps.last().map_or(relation, |(_, below)| *below);
            let chain = fused::Chain::new(in_order(steps));
            let (chain, input) = match reads_narrowed(relation, state) {
                Some(narrowed) => (
                    chain.read_through(&narrowed.layout, narrowed.width),
                    narrowed.rows.clone(),
                ),
                None => (chain, render_relation(base, env, state, label)?),
            };
            Rendered {
                collection: input.collection.flat_map(move |row| chain.apply(row)),
                ..input
            }
        }
        Relation::Filter {
            input: from,
            predicate,
        } => {
            let predicate = predicate.clone();
            let input = render_relation(from, env, state, label)?;
            let on_error = on_eval_error(label, from.schema(), &input, state);
            Rendered {
                collection: input
                    .collection
                    .filter(move |row| on_error.holds(&predicate, row)),
                ..input
            }
        }
        Relation::Project {
            input: from, exprs, ..
        } => {
            let mut exprs = exprs.clone();
            let mut input = render_relation(from, env, state, label)?;
            // PROCTIME(): the record's time, appended to the row for the projection to read.
            let proctime = Expr::Call {
                func: crate::plan::ir::ScalarFunc::ProcTime,
                args: Vec::new(),
            };
            if exprs.contains(&proctime) {
                let width = from.schema().len();
                exprs
                    .iter_mut()
                    .filter(|e| **e == proctime)
                    .for_each(|e| *e = Expr::Column(width));
                input.collection = input
                    .collection
                    .inner
                    .map(|(row, t, d)| {
                        let time = Datum::Int(i64::try_from(t).unwrap_or(i64::MAX));
                        (Row::pack(row.iter().chain([time])), t, d)
                    })
                    .as_collection();
            }
            let collection = if exprs.iter().any(|e| e.can_fail(from.schema())) {
                let on_error = on_eval_error(label, from.schema(), &input, state);
                input
                    .collection
                    .flat_map(move |row| on_error.project(&exprs, &row))
            } else {
                input
                    .collection
                    .map(move |row| scalar::project(&exprs, &row))
            };
            Rendered {
                collection,
                ..input
            }
        }
        Relation::Reduce {
            input,
            group_key,
            aggregates,
            schema,
            expire,
        } => {
            let input_schema = input.schema();
            let (input, window) = match windowed(input, group_key, aggregates) {
                // Windows assigned in the GROUP BY, over the window's rows on time.
                Some(window) => (on_time(input, env, state, label)?, Some(window)),
                None => {
                    let input = render_relation(input, env, state, label)?;
                    // Rows on which a key or argument fails are reported and dropped first.
                    let checked: Vec<Expr> = group_key
                        .iter()
                        .chain(aggregates.iter().filter_map(|a| a.arg.as_ref()))
                        .filter(|e| e.can_fail(input_schema))
                        .cloned()
                        .collect();
                    (
                        checked_rows(input, checked, label, input_schema, state),
                        None,
                    )
                }
            };
            let on_error = overflow_reporter(
                label,
                aggregates,
                input_schema,
                schema,
                state.control.clone(),
            );
            // Only arrangements fed directly by sources are state; the ones above them are
            // recomputed from it on restore.
            let expiry = state.expiry(expire.as_ref())?;
            let mut hooks = StateHooks {
                keep: state.checkpointing.is_some() && !input.stateful,
                state,
            };
            let collection = aggregate::render_reduce(
                (input.collection, window),
                group_key,
                aggregates,
                on_error,
                (expiry.clone(), expire.as_ref().is_some_and(|e| e.on_close)),
                &mut hooks,
            );
            // The retractions of state that goes are not results (on close, the groups are
            // written once, when they go).
            let collection = match (&expiry, expire) {
                (Some(_), Some(e)) if e.on_close => collection,
                (Some((watermark, key, lateness)), _) => {
                    event_time::hide_expired(collection, watermark, *key, *lateness)
                }
                (None, _) => collection,
            };
            let collection = if group_key.is_empty() {
                with_empty_group(collection, aggregates, state.scope)
            } else {
                collection
            };
            Rendered {
                collection,
                stateful: true,
                skip_errors: input.skip_errors,
            }
        }
        Relation::Window {
            input,
            kind: crate::plan::ir::WindowKind::Session { gap },
            time,
            watermark,
            partition,
            ..
        } => {
            let rendered = render_relation(input, env, state, label)?;
            let (collection, expiry) = match watermark {
                Some(table) => {
                    let (watermark, lateness) = state.watermark(table)?;
                    let on_time = event_time::drop_late(
                        rendered.collection,
                        &watermark,
                        *time,
                        lateness,
                        Some(state.control.clone()),
                    );
                    (on_time, Some((watermark, lateness)))
                }
                None => (rendered.collection, None),
            };
            let spec = session::SessionSpec {
                partition,
                time: *time,
                gap: *gap,
                width: input.schema().len(),
            };
            let mut hooks = StateHooks {
                keep: state.checkpointing.is_some() && !rendered.stateful,
                state,
            };
            Rendered {
                collection: session::render_sessions(collection, &spec, expiry, &mut hooks),
                stateful: true,
                skip_errors: rendered.skip_errors,
            }
        }
        Relation::Window { kind, time, .. } => {
            let rendered = on_time(relation, env, state, label)?;
            let assign = event_time::assign(*kind, *time);
            Rendered {
                collection: rendered.collection.flat_map(move |row| {
                    let mut out = smallvec::SmallVec::<[Row; 8]>::new();
                    assign(row, &mut |r| out.push(r));
                    out
                }),
                ..rendered
            }
        }
        Relation::Join {
            left,
            right,
            kind,
            left_key,
            right_key,
            residual,
            as_of: Some(as_of),
            ..
        } => {
            let l = render_relation(left, env, state, label)?;
            let checked = left_key
                .iter()
                .filter(|e| e.can_fail(left.schema()))
                .cloned()
                .collect();
            let l = checked_rows(l, checked, label, left.schema(), state);
            let r = render_relation(right, env, state, label)?;
            let both = Schema {
                columns: [
                    left.schema().columns.clone(),
                    right.schema().columns.clone(),
                ]
                .concat(),
            };
            let skip = l.skip_errors && r.skip_errors;
            let spec = temporal::TemporalSpec {
                kind: *kind,
                left_key,
                right_key,
                left_time: as_of.left_time,
                right_time: as_of.right_time,
                residual: residual.as_ref(),
                right_width: right.schema().len(),
                versions_insert_only: as_of.versions_insert_only,
                on_error: scalar::OnEvalError {
                    label: label.into(),
                    input: Arc::new(both),
                    skip,
                    control: state.control.clone(),
                },
                saved: (!l.stateful, !r.stateful),
            };
            let expiry = as_of
                .watermark
                .as_ref()
                .map(|table| state.watermark(table))
                .transpose()?;
            let control = Some(state.control.clone());
            let mut hooks = StateHooks {
                keep: state.checkpointing.is_some() && !l.stateful && !r.stateful,
                state,
            };
            Rendered {
                collection: temporal::render_temporal_join(
                    l.collection,
                    r.collection,
                    &spec,
                    expiry,
                    control,
                    &mut hooks,
                ),
                stateful: true,
                skip_errors: skip,
            }
        }
        Relation::Join {
            left,
            right,
            kind,
            left_key,
            right_key,
            residual,
            expire,
            ..
        } => {
            let (left_tag, right_tag) = join::null_tags(*kind);
            let rules = expire.as_ref().map(|e| state.join_expiry(e)).transpose()?;
            let (left_expiry, right_expiry, bound) = match rules {
                Some(JoinRules { left, right, bound }) => (Some(left), Some(right), Some(bound)),
                None => (None, None, None),
            };
            let side = (&**left, left_key.as_slice(), left_tag, "Arrange: Join left");
            let (left_arranged, left_skips) = join_side(side, left_expiry, env, state, label)?;
            let side = (
                &**right,
                right_key.as_slice(),
                right_tag,
                "Arrange: Join right",
            );
            let (right_arranged, right_skips) = join_side(side, right_expiry, env, state, label)?;
            let both = Schema {
                columns: [
                    left.schema().columns.clone(),
                    right.schema().columns.clone(),
                ]
                .concat(),
            };
            let spec = join::JoinSpec {
                kind: *kind,
                residual: residual.as_ref(),
                left_width: left.schema().len(),
                right_width: right.schema().len(),
                on_error: scalar::OnEvalError {
                    label: label.into(),
                    input: Arc::new(both),
                    skip: left_skips && right_skips,
                    control: state.control.clone(),
                },
            };
            let mut collection = join::render_join(left_arranged, right_arranged, &spec);
            // The retractions of rows that go are not results.
            if let (Some(e), Some((bound, lateness))) = (expire, bound) {
                let gone = |s: &crate::plan::ir::SideExpire, offset| {
                    s.horizon_ms.map(|h| (s.time + offset, h))
                };
                let right = (!kind.left_only())
                    .then(|| gone(&e.right, left.schema().len()))
                    .flatten();
                collection = event_time::hide_gone_pairs(
                    collection,
                    &bound,
                    lateness,
                    gone(&e.left, 0),
                    right,
                );
            }
            Rendered {
                collection,
                stateful: true,
                skip_errors: left_skips && right_skips,
            }
        }
        Relation::TopN {
            input,
            partition_key,
            order,
            limit,
            strategy,
            expire,
            ..
        } => {
            let input_schema = input.schema();
            let input = render_relation(input, env, state, label)?;
            let checked: Vec<Expr> = partition_key
                .iter()
                .chain(order.iter().map(|o| &o.expr))
                .filter(|e| e.can_fail(input_schema))
                .cloned()
                .collect();
            let input = checked_rows(input, checked, label, input_schema, state);
            let limit = limit.ok_or_else(|| Error::Internal("a top-N without a limit".into()))?;
            let spec = top_n::TopNSpec {
                partition_key,
                order,
                limit,
                strategy: *strategy,
            };
            // A window's partitions go once final; the output's window_end is the input's.
            let expiry = state.expiry(expire.as_ref())?;
            let end_column = expire
                .as_ref()
                .and_then(|e| match partition_key.get(e.key) {
                    Some(Expr::Column(c)) => Some(*c),
                    _ => None,
                });
            let mut hooks = StateHooks {
                keep: state.checkpointing.is_some() && !input.stateful,
                state,
            };
            let collection =
                top_n::render_top_n(input.collection, &spec, expiry.clone(), &mut hooks);
            let on_close = expire.as_ref().is_some_and(|e| e.on_close);
            let collection = match (&expiry, end_column) {
                (Some((watermark, _, lateness)), Some(end)) if on_close => {
                    event_time::on_window_close(collection, watermark, end, *lateness)
                }
                (Some((watermark, _, lateness)), Some(end)) => {
                    event_time::hide_expired(collection, watermark, end, *lateness)
                }
                _ => collection,
            };
            Rendered {
                collection,
                stateful: true,
                skip_errors: input.skip_errors,
            }
        }
        Relation::Over {
            input,
            partition_key,
            order,
            over,
            schema,
        } => {
            let input_schema = input.schema();
            let input = render_relation(input, env, state, label)?;
            let checked: Vec<Expr> = (partition_key.iter())
                .chain(order.iter().map(|o| &o.expr))
                .chain(over.aggregate.arg.iter())
                .filter(|e| e.can_fail(input_schema))
                .cloned()
                .collect();
            let input = checked_rows(input, checked, label, input_schema, state);
            // Reported like a GROUP BY's: with the partition key's values (the output's
            // leading columns stand in for their names).
            let on_error = overflow_reporter(
                label,
                std::slice::from_ref(&over.aggregate),
                input_schema,
                &Schema::new(
                    (partition_key.iter().enumerate())
                        .map(|(i, _)| (format!("partition key {}", i + 1), DataType::String))
                        .chain(schema.columns.last().map(|c| (c.name.clone(), c.ty))),
                ),
                state.control.clone(),
            );
            let mut hooks = StateHooks {
                keep: state.checkpointing.is_some() && !input.stateful,
                state,
            };
            let collection = over::render_over(
                input.collection,
                partition_key,
                order,
                over,
                on_error,
                &mut hooks,
            );
            Rendered {
                collection,
                stateful: true,
                skip_errors: input.skip_errors,
            }
        }
        Relation::Union { inputs, .. } => {
            let mut rendered = inputs
                .iter()
                .map(|i| render_relation(i, env, state, label))
                .collect::<Result<Vec<_>>>()?
                .into_iter();
            let first = rendered
                .next()
                .ok_or_else(|| Error::Internal("a UNION without inputs".into()))?;
            rendered.fold(first, |acc, next| Rendered {
                collection: acc.collection.concat(next.collection),
                stateful: acc.stateful || next.stateful,
                skip_errors: acc.skip_errors && next.skip_errors,
            })
        }
    })
}

/// One side of a join, arranged by its key: the arrangement an earlier join made of the same
/// input by the same key, or a new one (state, as for a `GROUP BY`, when fed directly by
/// sources).
fn join_side<'s>(
    (input, key, tag, name): (&Relation, &[crate::plan::ir::Expr], Option<i64>, &str),
    expiry: Option<SideRule<'s>>,
    env: &HashMap<String, Rendered<'s>>,
    state: &mut RenderState<'s>,
    label: &str,
) -> Result<(join::Arrangement<'s>, bool)> {
    // Sides whose rows go are their join's own.
    let id = format!("{input:?} by {key:?} {tag:?}");
    if let (Some(shared), None) = (state.join_sides.get(&id), &expiry) {
        return Ok(shared.clone());
    }
    let rendered = render_relation(input, env, state, label)?;
    let checked = key
        .iter()
        .filter(|e| e.can_fail(input.schema()))
        .cloned()
        .collect();
    let mut rendered = checked_rows(rendered, checked, label, input.schema(), state);
    let shared = expiry.is_none();
    let (late, goes) = expiry.map_or((None, None), |(late, goes)| (Some(late), goes));
    if let Some((watermark, column, lateness)) = late {
        let control = Some(state.control.clone());
        rendered.collection =
            event_time::drop_late(rendered.collection, &watermark, column, lateness, control);
    }
    let keep = state.checkpointing.is_some() && !rendered.stateful;
    let arranged = join::arrange_side(rendered.collection, (key, tag), name, keep, goes, state);
    let side = (arranged, rendered.skip_errors);
    if shared {
        state.join_sides.insert(id, side.clone());
    }
    Ok(side)
}

/// A join side's late rows: its watermark, its time column, its allowed lateness.
type SideLate<'s> = (event_time::Watermark<'s>, usize, i64);

/// A join side under watermarks: which rows are late, and how its rows go (if they do).
type SideRule<'s> = (SideLate<'s>, Option<join::SideExpiry<'s>>);

/// An interval join's rules: each side's, and the bound (a watermark, less a lateness) under
/// which rows go.
struct JoinRules<'s> {
    left: SideRule<'s>,
    right: SideRule<'s>,
    bound: (event_time::Watermark<'s>, i64),
}

/// What a `Filter`, `Project`, join or `GROUP BY` over `input` does with a row on which an
/// expression fails: follow the bad-record policy of the sources below it.
fn on_eval_error(
    label: &str,
    schema: &Schema,
    input: &Rendered<'_>,
    state: &RenderState<'_>,
) -> scalar::OnEvalError {
    scalar::OnEvalError {
        label: label.into(),
        input: Arc::new(schema.clone()),
        skip: input.skip_errors,
        control: state.control.clone(),
    }
}

/// The filters and projections from `relation` down that none of whose expressions can fail
/// (and that do not read the record's time), each with the relation below it, top first:
/// the steps `fused` runs as one map. The last pair's relation is what the chain reads.
fn fusible(relation: &Relation) -> Vec<(fused::Step, &Relation)> {
    let proctime = Expr::Call {
        func: crate::plan::ir::ScalarFunc::ProcTime,
        args: Vec::new(),
    };
    let mut steps = Vec::new();
    let mut at = relation;
    loop {
        match at {
            Relation::Filter { input, predicate } if !predicate.can_fail(input.schema()) => {
                steps.push((fused::Step::Filter(predicate.clone()), &**input));
                at = input;
            }
            Relation::Project { input, exprs, .. }
                if !exprs.contains(&proctime)
                    && !exprs.iter().any(|e| e.can_fail(input.schema())) =>
            {
                steps.push((fused::Step::Project(exprs.clone()), &**input));
                at = input;
            }
            _ => return steps,
        }
    }
}

/// The narrowed table that the chain of filters and projections from `relation` down reads,
/// if it reads one.
fn reads_narrowed<'a, 's>(
    relation: &Relation,
    state: &'a RenderState<'s>,
) -> Option<&'a Narrowed<'s>> {
    state
        .narrowed
        .get(&chain_input(relation)?.to_ascii_lowercase())
}

/// The mapped table (lowercase name) that the chain of filters and projections from
/// `relation` down reads, if it reads one, with the steps its source ran and its rows.
fn reads_mapped<'a, 's>(
    relation: &Relation,
    state: &'a RenderState<'s>,
) -> Option<(&'a str, &'a (Vec<fused::Step>, Rendered<'s>))> {
    let name = chain_input(relation)?.to_ascii_lowercase();
    let (name, mapped) = state.mapped.get_key_value(&name)?;
    Some((name.as_str(), mapped))
}

/// The steps [`fusible`] found, first step first.
fn in_order(steps: Vec<(fused::Step, &Relation)>) -> Vec<fused::Step> {
    steps.into_iter().rev().map(|(s, _)| s).collect()
}

/// The name `relation` reads when it is, all the way down, a chain of filters and
/// projections (see [`fusible`]) over a read of that name.
fn chain_input(relation: &Relation) -> Option<&str> {
    match fusible(relation).last() {
        Some((_, Relation::Get { name, .. })) => Some(name),
        _ => None,
    }
}

/// `program` with each view that is a chain of filters and projections (see [`fusible`])
/// over one input, and that one relation reads once, put in place of that read: the view's
/// chain and its reader's then run as one map, unpacking and packing each row once instead of
/// twice (Nexmark's `bid` view and the query over it). Such a view holds no state, so what
/// holds state renders in the same order, and none of its expressions can fail, so no error
/// names it. Reads inside a recursion are left alone.
fn inline_chain_views(program: &Program) -> Program {
    let mut program = program.clone();
    loop {
        let mut reads: HashMap<String, usize> = HashMap::new();
        let relations = (program.sinks.iter().map(|s| &s.relation))
            .chain(program.views.iter().map(|v| &v.relation));
        for r in relations {
            count_reads(r, &mut reads);
        }
        let chain = (program.views.iter()).position(|v| {
            chain_input(&v.relation).is_some()
                && reads.get(&v.name.to_ascii_lowercase()) == Some(&1)
        });
        let Some(i) = chain else {
            return program;
        };
        let view = program.views.remove(i);
        let relations = (program.sinks.iter_mut().map(|s| &mut s.relation))
            .chain(program.views.iter_mut().map(|v| &mut v.relation));
        let mut placed = false;
        for r in relations {
            placed |= substitute_read(r, &view);
        }
        if !placed {
            // Read inside a recursion only: keep it a view.
            program.views.insert(i, view);
            return program;
        }
    }
}

/// Count in `reads` each name `r` reads (lowercase), inside recursions too.
fn count_reads(r: &Relation, reads: &mut HashMap<String, usize>) {
    if let Relation::Get { name, .. } = r {
        *reads.entry(name.to_ascii_lowercase()).or_default() += 1;
    }
    for input in r.inputs() {
        count_reads(input, reads);
    }
}

/// Put `view`'s relation in place of a read of it in `r` (not inside a recursion); whether
/// there was one.
fn substitute_read(r: &mut Relation, view: &crate::plan::ir::View) -> bool {
    match r {
        Relation::Get { name, .. } if name.eq_ignore_ascii_case(&view.name) => {
            *r = view.relation.clone();
            true
        }
        Relation::Get { .. } | Relation::Recursive { .. } => false,
        Relation::Filter { input, .. }
        | Relation::Project { input, .. }
        | Relation::Reduce { input, .. }
        | Relation::Window { input, .. }
        | Relation::Over { input, .. }
        | Relation::TopN { input, .. } => substitute_read(input, view),
        Relation::Join { left, right, .. } => {
            substitute_read(left, view) || substitute_read(right, view)
        }
        Relation::Union { inputs, .. } => inputs.iter_mut().any(|i| substitute_read(i, view)),
    }
}

/// `input` without the rows on which one of `exprs` fails (each reported): what a join key
/// or a `GROUP BY` key or argument is computed from, so the operators that compute them
/// never meet an error. Nothing is added when no expression can fail.
fn checked_rows<'s>(
    input: Rendered<'s>,
    exprs: Vec<Expr>,
    label: &str,
    schema: &Schema,
    state: &RenderState<'s>,
) -> Rendered<'s> {
    if exprs.is_empty() {
        return input;
    }
    let on_error = on_eval_error(label, schema, &input, state);
    Rendered {
        collection: input.collection.filter(move |row| {
            scalar::project(&exprs, row);
            on_error.check(&exprs, row)
        }),
        ..input
    }
}

/// How a `Reduce` hands its state arrangements to checkpointing and gets their restored
/// contents back.
pub struct StateHooks<'a, 's> {
    state: &'a mut RenderState<'s>,
    /// Whether the arrangements are state (checkpointing is on and they are fed by sources).
    keep: bool,
}

impl<'s> StateHooks<'_, 's> {
    /// Arrange `updates` with `arrange`, which gets them (with the restored contents in front,
    /// when restoring) and whether to keep the arrangement as state; it returns its result and,
    /// when kept, the arrangement and a data-less stream with its frontier.
    pub fn state<D, R, A>(
        &mut self,
        updates: VecCollection<'s, Time, D, R>,
        arrange: impl FnOnce(
            VecCollection<'s, Time, D, R>,
            bool,
        ) -> (A, Option<(StateTrace, StreamVec<'s, Time, ()>)>),
    ) -> A
    where
        D: serde::de::DeserializeOwned + Clone + 'static,
        R: serde::de::DeserializeOwned + differential_dataflow::difference::Semigroup + 'static,
    {
        let restoring = self.keep
            && self
                .state
                .checkpointing
                .as_ref()
                .and_then(|ck| ck.recovery.as_ref())
                .is_some_and(|r| r.manifest.is_some());
        let updates = match (&self.state.checkpointing, restoring) {
            (Some(ck), true) => updates.concat(render_restore(
                self.state.scope,
                ck,
                self.state.traces.len(),
                self.state.control.clone(),
            )),
            _ => updates,
        };
        let (result, kept) = arrange(updates, self.keep);
        if let Some((trace, progress)) = kept {
            self.state.traces.push(trace);
            self.state.progress.push(progress);
        }
        result
    }
}

/// A global aggregate (no `GROUP BY`) has one row even over no input, as in SQL: `COUNT` 0,
/// every other aggregate NULL. The reduce produces a row only for a non-empty input, so this
/// adds the empty-input row at time 0 (before any record) and retracts it whenever the reduce
/// has its row: `output + (empty_row − output mapped to empty_row)`.
fn with_empty_group<'s>(
    output: RowCollection<'s>,
    aggregates: &[AggregateExpr],
    scope: Scope<'s, Time>,
) -> RowCollection<'s> {
    let empty: Row = aggregates
        .iter()
        .map(|a| match a.func {
            AggFunc::Count => Datum::Int(0),
            _ => Datum::Null,
        })
        .collect();
    // One worker adds it, so it is there once.
    let initial: Vec<(Row, Time, Diff)> = if scope.index() == 0 {
        vec![(empty.clone(), 0, 1)]
    } else {
        Vec::new()
    };
    let present = output.clone().map(move |_| empty.clone()).negate();
    output.concat(initial.to_stream(scope).as_collection().concat(present))
}

/// What a `Reduce` does with a group result that does not fit its type: fail the run, naming
/// the view or sink, the aggregate, the group and the exact value.
fn overflow_reporter(
    label: &str,
    aggregates: &[AggregateExpr],
    input: &Schema,
    output: &Schema,
    control: Arc<RunControl>,
) -> impl Fn(&Row, aggregate::AggregateError) + 'static {
    let label = label.to_string();
    let texts: Vec<String> = aggregates
        .iter()
        .map(|a| {
            let arg = a
                .arg
                .as_ref()
                .map_or("*".to_string(), |e| crate::plan::explain::expr(e, input));
            let distinct = if a.distinct { "DISTINCT " } else { "" };
            format!(
                "{}({distinct}{arg})",
                format!("{:?}", a.func).to_uppercase()
            )
        })
        .collect();
    let keys: Vec<(String, DataType)> = output
        .columns
        .iter()
        .take(output.len() - aggregates.len())
        .map(|c| (c.name.clone(), c.ty))
        .collect();
    let results: Vec<DataType> = output
        .columns
        .iter()
        .skip(output.len() - aggregates.len())
        .map(|c| c.ty)
        .collect();
    let arg_types: Vec<DataType> = aggregates.iter().map(|a| a.arg_type).collect();
    move |key, error| {
        // The exact sum, at the argument's scale for a DECIMAL.
        let ty = results[error.aggregate];
        let exact = crate::data::decimal::format(error.exact, arg_types[error.aggregate].scale());
        let group: Vec<String> = keys
            .iter()
            .zip(key.iter())
            .map(|((name, ty), d)| format!("{name} = {}", crate::data::value_to_json(d, *ty)))
            .collect();
        control.fail(Error::Eval {
            context: label.clone(),
            message: format!(
                "{} does not fit {ty} for the group ({}): its exact sum is {exact}",
                texts[error.aggregate],
                group.join(", "),
            ),
            hint: Some(
                "sums are exact in 128 bits, but a BIGINT result must fit 64 bits and a DECIMAL 38 digits; CAST the argument to DOUBLE to sum approximately"
                    .into(),
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &str = "CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka',
        'topic' = 't', 'properties.bootstrap.servers' = 'x', 'format' = 'json');
      CREATE TABLE o (k STRING, w BIGINT) WITH ('connector' = 'print');
      CREATE TABLE p (k STRING, w BIGINT) WITH ('connector' = 'print');
      CREATE TABLE q (k STRING, w BIGINT) WITH ('connector' = 'print');
      CREATE TABLE r (k STRING, w BIGINT) WITH ('connector' = 'print');";

    fn inlined(statements: &str) -> Program {
        let program =
            crate::plan::plan_text("t.sql", &format!("{TABLES}\n{statements}")).expect("plans");
        inline_chain_views(&program)
    }

    fn reads(r: &Relation) -> Vec<String> {
        let mut names = HashMap::new();
        count_reads(r, &mut names);
        let mut names: Vec<String> = names.into_keys().collect();
        names.sort();
        names
    }

    #[test]
    fn a_chain_view_read_once_is_put_in_its_reader() {
        let p = inlined(
            "CREATE VIEW f AS SELECT k, v AS w FROM t WHERE v > 1;
             CREATE VIEW g AS SELECT UPPER(k) AS k, w FROM f WHERE w < 40;
             INSERT INTO o SELECT k, w FROM g;",
        );
        assert!(p.views.is_empty(), "{:?}", p.views);
        assert_eq!(reads(&p.sinks[0].relation), ["t"]);
    }

    #[test]
    fn a_view_read_twice_holding_state_or_that_can_fail_stays_a_view() {
        let p = inlined(
            "CREATE VIEW f AS SELECT k, v AS w FROM t WHERE v > 1;
             CREATE VIEW c AS SELECT k, COUNT(*) AS w FROM t GROUP BY k;
             CREATE VIEW m AS SELECT k, v * 2 AS w FROM t;
             INSERT INTO o SELECT k, w FROM f;
             INSERT INTO p SELECT k, w FROM f WHERE w > 3;
             INSERT INTO q SELECT k, w FROM c;
             INSERT INTO r SELECT k, w FROM m;",
        );
        let views: Vec<&str> = p.views.iter().map(|v| v.name.as_str()).collect();
        // An error in `m` (an overflow) names the view.
        assert_eq!(views, ["f", "c", "m"]);
        assert_eq!(reads(&p.sinks[2].relation), ["c"]);
    }

    fn mapped(statements: &str) -> Vec<String> {
        let program =
            crate::plan::plan_text("t.sql", &format!("{TABLES}\n{statements}")).expect("plans");
        let mut tables: Vec<String> = source_maps(&program, false).0.into_keys().collect();
        tables.sort();
        tables
    }

    #[test]
    fn a_source_runs_the_one_chain_that_reads_its_table() {
        // Views nobody reads do not count; the one query's chain (through a view) does.
        let one = "CREATE VIEW f AS SELECT k, v AS w FROM t WHERE v > 1;
             CREATE VIEW unread AS SELECT k, v AS w FROM t;
             INSERT INTO o SELECT UPPER(k) AS k, w FROM f WHERE w < 40;";
        assert_eq!(mapped(one), ["t"]);
        let program = crate::plan::plan_text("t.sql", &format!("{TABLES}\n{one}")).expect("plans");
        assert!(
            source_maps(&program, true).0.is_empty(),
            "not with Rust code"
        );
        let chain = source_maps(&program, false).map("T").expect("a map");
        let (k, v) = (Datum::Str("a"), Datum::Int(5));
        assert_eq!(chain.apply(&[k, v]), Some(Row::pack([Datum::Str("A"), v])));
        assert_eq!(chain.apply(&[k, Datum::Int(1)]), None);
        assert_eq!(chain.apply(&[k, Datum::Int(40)]), None);
        // Read twice, or read by something that is not a chain: not mapped.
        assert!(mapped(
            "INSERT INTO o SELECT k, v AS w FROM t WHERE v > 1;
             INSERT INTO p SELECT k, v AS w FROM t WHERE v < 1;"
        )
        .is_empty());
        assert!(mapped("INSERT INTO o SELECT k, COUNT(*) AS w FROM t GROUP BY k;").is_empty());
    }
}
