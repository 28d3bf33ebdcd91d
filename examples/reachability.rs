//! Reachability over a stream of edge changes, kept exact with differential's `iterate`: what
//! no SQL peer maintains incrementally over Kafka.
//!
//! ```text
//! cargo run --release --example reachability -- BOOTSTRAP EDGES OUTPUT_FILE [-w N] [-n N -p I -h FILE]
//! ```
//! Each record of topic EDGES is a CSV line `src,dst,change`: `1` adds the edge, `-1` removes
//! it. OUTPUT_FILE receives, as a JSON changelog, every node reachable from node 0 (with its
//! distance in hops), inserted and retracted as the edges change. `-w N` runs N workers; a
//! cluster runs one process per `-p I` with the same `-n N` and hostfile. Any `ddflow run` flag
//! works too (`--checkpoint-dir`, `--duration`, `--metrics-addr`, ...).
use ddflow::builder::Dataflow;
use ddflow::data::{Datum, Row};
use differential_dataflow::operators::iterate::Iterate;
use differential_dataflow::operators::ThresholdTotal;

/// The node every path starts from.
const ROOT: i64 = 0;

/// Keep the nodes reachable from [`ROOT`] over the edges of topic `edges` in `output`.
pub fn run(args: Vec<String>) -> ddflow::Result<ddflow::runtime::RunReport> {
    let [name, b, edges, output, flags @ ..] = &args[..] else {
        return Err(ddflow::Error::Config(
            "usage: reachability BOOTSTRAP EDGES OUTPUT_FILE [flags]".into(),
        ));
    };
    let flow = Dataflow::sql(&format!(
        "CREATE TABLE edges (src BIGINT, dst BIGINT, change INT) WITH ('connector' = 'kafka',
           'topic' = '{edges}', 'properties.bootstrap.servers' = '{b}', 'format' = 'csv',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE reachable (node BIGINT, hops BIGINT) WITH ('connector' = 'filesystem',
           'path' = '{output}', 'format' = 'json');"
    ))?
    .named("reachability")
    .reads(["edges"])
    .writes(["reachable"]);
    flow.run([name].into_iter().chain(flags).cloned(), |cx| {
        // Each record is a change of an edge's multiplicity; an edge exists while positive.
        let changes = cx.read("edges")?;
        let edges = changes
            .explode(|row| {
                let d = row.unpack();
                let (Datum::Int(s), Datum::Int(t), Datum::Int(c)) = (d[0], d[1], d[2]) else {
                    return None;
                };
                Some(((s, t), c))
            })
            .threshold_total(|_, n| i64::from(*n > 0));
        // Distances from the root: the least number of hops over the current edges.
        let roots = (edges.clone())
            .flat_map(|(s, _)| (s == ROOT).then_some((ROOT, 0i64)))
            .distinct_core::<i64>();
        let hops = roots.clone().iterate(|scope, inner| {
            let (edges, roots) = (edges.enter(scope), roots.enter(scope));
            inner
                .join_map(edges, |_, h, t| (*t, h + 1))
                .concat(roots)
                .reduce(|_, hops, out| out.push((*hops[0].0, 1i64)))
        });
        cx.write(
            "reachable",
            hops.map(|(n, h)| Row::pack([Datum::Int(n), Datum::Int(h)])),
        )
    })
}

fn main() {
    if let Err(e) = run(std::env::args().collect()) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
