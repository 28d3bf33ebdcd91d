//! Criterion micro-benchmarks of the hot paths: record decode, expression evaluation,
//! aggregate update and epoch/binding bookkeeping. `cargo bench --bench micro`.
//!
//! These time code in isolation; the end-to-end figures come from `ddflow bench`.
#![allow(missing_docs)] // criterion_group! defines an undocumented function

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;

use ddflow::data::{Datum, Row};
use ddflow::plan::ir::{AggregateExpr, Expr, Program, Relation};
use ddflow::render::accum::{Accums, Slots};
use ddflow::render::scalar::{eval, holds, Arena};
use ddflow::source::decode::{Decoder, RecordRef};
use ddflow::timestamp::{next_epoch, BindingLog};
use differential_dataflow::difference::Semigroup;

const PAYMENTS: &str = r#"
CREATE TABLE payments (`user` STRING, amount DOUBLE, region STRING, ts BIGINT) WITH (
  'connector' = 'kafka', 'topic' = 'payments', 'format' = 'json',
  'properties.bootstrap.servers' = 'localhost:9092'
);
CREATE TABLE words (value STRING) WITH (
  'connector' = 'kafka', 'topic' = 'words', 'format' = 'raw',
  'properties.bootstrap.servers' = 'localhost:9092'
);
CREATE TABLE out_stats (`user` STRING, n BIGINT, total DOUBLE, smallest DOUBLE, regions BIGINT)
  WITH ('connector' = 'print');
CREATE TABLE out_words (value STRING, n BIGINT) WITH ('connector' = 'print');
INSERT INTO out_stats
SELECT `user`, COUNT(*), SUM(amount * 1.1 + 2), MIN(amount), COUNT(DISTINCT region)
FROM payments WHERE amount > 10 AND region <> 'north' GROUP BY `user`;
INSERT INTO out_words SELECT value, COUNT(*) FROM words GROUP BY value;
"#;

fn program() -> Program {
    ddflow::plan::plan_text("micro.sql", PAYMENTS).expect("the benchmark dataflow plans")
}

/// The predicate and the aggregation of the first statement.
fn parts(program: &Program) -> (Expr, Vec<Expr>, Vec<AggregateExpr>) {
    let (mut predicate, mut reduce) = (None, None);
    let mut stack = vec![&program.sinks[0].relation];
    while let Some(r) = stack.pop() {
        match r {
            Relation::Filter {
                input,
                predicate: p,
            } => {
                predicate = Some(p.clone());
                stack.push(input);
            }
            Relation::Reduce {
                input,
                group_key,
                aggregates,
                ..
            } => {
                reduce = Some((group_key.clone(), aggregates.clone()));
                stack.push(input);
            }
            Relation::Project { input, .. }
            | Relation::Window { input, .. }
            | Relation::Over { input, .. }
            | Relation::TopN { input, .. } => stack.push(input),
            Relation::Recursive { body, .. } => stack.push(body),
            Relation::Join { left, right, .. } => stack.extend([&**left, &**right]),
            Relation::Union { inputs, .. } => stack.extend(inputs),
            Relation::Get { .. } => {}
        }
    }
    let (keys, aggs) = reduce.expect("a GROUP BY");
    (predicate.expect("a WHERE"), keys, aggs)
}

fn record(payload: &[u8], offset: i64) -> RecordRef<'_> {
    RecordRef {
        key: None,
        payload: Some(payload),
        partition: 0,
        offset,
        timestamp: None,
    }
}

fn decode(c: &mut Criterion) {
    let program = program();
    let json = Decoder::new(&program.sources[0]);
    let raw = Decoder::new(&program.sources[1]);
    let payload = br#"{"user":"kalomi","amount":517,"region":"east","ts":1795580000000}"#;
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    let mut rows = Vec::with_capacity(1);
    g.bench_function("json payment", |b| {
        b.iter(|| {
            json.decode(black_box(record(payload, 7)), &mut rows)
                .unwrap();
            rows.pop()
        })
    });
    // Nexmark q0's source: a bid event, read narrowed to the columns q0 reads.
    let q0 = include_str!("../dataflows/nexmark/q0.sql");
    let q0 = ddflow::plan::plan_text("q0.sql", q0).expect("Nexmark q0 plans");
    let nexmark = Decoder::new(&q0.sources[0]);
    let bid = br#"{"event_type":2,"person":null,"auction":null,"bid":{"auction":1000,"bidder":1001,"price":1462978,"channel":"channel-5845","url":"https://www.nexmark.com/geh/aet/gp_/item.htm?query=1&channel_id=1419247616","dateTime":"2015-07-15 00:00:00.000","extra":"dkvhxhztixjlqjilorssoxcrxztikmuehtkjmvdqocmcqovpezhfvtcet"}}"#;
    g.bench_function("json nexmark bid", |b| {
        b.iter(|| {
            nexmark
                .decode(black_box(record(bid, 7)), &mut rows)
                .unwrap();
            rows.pop()
        })
    });
    // The same record read by q0's source, which runs q0's chain on the decoded values.
    let maps = ddflow::render::source_maps(&q0, false);
    let q0_source = Decoder::new(&q0.sources[0]).mapped(maps.map(&q0.sources[0].name));
    g.bench_function("json nexmark bid through q0's chain", |b| {
        b.iter(|| {
            q0_source
                .decode(black_box(record(bid, 7)), &mut rows)
                .unwrap();
            rows.pop()
        })
    });
    g.bench_function("raw word", |b| {
        b.iter(|| {
            raw.decode(black_box(record(b"kalomine", 7)), &mut rows)
                .unwrap();
            rows.pop()
        })
    });
    g.finish();
}

fn expressions(c: &mut Criterion) {
    let program = program();
    let (predicate, _, aggs) = parts(&program);
    let sum_arg = aggs[1].arg.clone().expect("SUM has an argument");
    let row = Row::pack([
        Datum::Str("kalomi"),
        Datum::Float(517.0.into()),
        Datum::Str("east"),
        Datum::Int(1_795_580_000_000),
    ]);
    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(1));
    g.bench_function("where amount > 10 and region <> 'north'", |b| {
        b.iter(|| holds(black_box(&predicate), black_box(&row)))
    });
    g.bench_function("amount * 1.1 + 2", |b| {
        b.iter(|| {
            let datums = black_box(&row).unpack();
            let arena = Arena::new();
            eval(black_box(&sum_arg), &datums, &arena).to_value()
        })
    });
    g.finish();
}

fn aggregates(c: &mut Criterion) {
    let program = program();
    let (_, _, aggs) = parts(&program);
    // What the accumulable plan does per input row: its accumulators, added to the group's.
    let slots = Slots::new(&aggs);
    let rows: Vec<[Datum; 3]> = (0..64)
        .map(|i| {
            [
                Datum::Float((i as f64 * 1.1 + 2.0).into()),
                Datum::Float((i as f64).into()),
                Datum::Str(["north", "south", "east", "west"][i % 4]),
            ]
        })
        .collect();
    let mut g = c.benchmark_group("aggregate");
    g.throughput(Throughput::Elements(rows.len() as u64));
    g.bench_function(
        "accumulate count, sum, min, distinct slot over 64 rows",
        |b| {
            b.iter(|| {
                let mut group = Accums::default();
                for r in &rows {
                    group.plus_equals(&slots.of_row(black_box(r), 1));
                }
                group
            })
        },
    );
    g.finish();
}

fn bookkeeping(c: &mut Criterion) {
    let mut g = c.benchmark_group("bookkeeping");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("record 1000 bindings, look up, prune", |b| {
        b.iter_batched(
            BindingLog::default,
            |mut log| {
                let mut epoch = 0;
                for i in 0..1000i64 {
                    epoch = next_epoch(epoch, 1_795_580_000_000 + i as u64);
                    log.record(epoch, (0..4).map(|p| (p, i * 100 + i64::from(p))).collect());
                }
                let committed = log.latest_below(Some(epoch - 10)).map(|b| b.epoch);
                if let Some(c) = committed {
                    log.prune_before(c);
                }
                log
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // Reports as text only: the chart fonts of criterion's plotters backend are not set up
    // here (`ddflow bench --plot` draws the end-to-end charts).
    config = Criterion::default().without_plots();
    targets = decode, expressions, aggregates, bookkeeping
}
criterion_main!(benches);
