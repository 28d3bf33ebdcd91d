//! Word count in Rust on ddflow's builder: the tables in SQL, the counting in differential.
//! ```text
//! cargo run --release --example word_count -- BOOTSTRAP INPUT OUTPUT [-w N] [-n N -p I -h FILE]
//! ```
//! `-w N` runs N workers; a cluster runs one process per `-p I` (0..N) with the same `-n N` and
//! hostfile. Any `ddflow run` flag works too (`--checkpoint-dir`, `--metrics-addr`, ...).
use ddflow::builder::Dataflow;
use ddflow::data::{Datum, Row};

/// Count the words of topic `input` (to its end) into the upsert topic `output`.
pub fn run(args: Vec<String>) -> ddflow::Result<ddflow::runtime::RunReport> {
    let [name, b, input, output, flags @ ..] = &args[..] else {
        return Err(ddflow::Error::Config(
            "usage: word_count BOOTSTRAP INPUT OUTPUT [flags]".into(),
        ));
    };
    let flow = Dataflow::sql(&format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'raw',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED)
           WITH ('connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}');"
    ))?
    .named("word_count")
    .reads(["words"])
    .writes(["word_counts"]);
    flow.run([name].into_iter().chain(flags).cloned(), |cx| {
        let counts = cx.read("words")?.count_core::<i64>();
        let rows = counts.map(|(w, n)| Row::pack([w.get(0), Datum::Int(n)]));
        cx.write("word_counts", rows)
    })
}

fn main() {
    if let Err(e) = run(std::env::args().collect()) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
