//! The Rust examples, run through the real broker with exact expected output.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::*;

#[allow(dead_code)]
#[path = "../examples/word_count.rs"]
mod word_count;

#[allow(dead_code)]
#[path = "../examples/reachability.rs"]
mod reachability;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn word_count_on_the_builder_equals_the_sql_dataflow() {
    let input = unique("ex-wc-in");
    let words = produce_words(&input, 3, 20_000, 500, 21);
    let b = bootstrap();
    for workers in ["1", "2"] {
        let output = unique("ex-wc-out");
        let report =
            word_count::run(args(&["word_count", &b, &input, &output, "-w", workers])).unwrap();
        assert_eq!(report.metrics.records_read, 20_000);
        assert_eq!(word_counts_in(&output), count(&words), "-w {workers}");
    }
    // The SQL path over the same topic.
    let (output, group) = (unique("ex-wc-sql"), unique("ex-wc-g"));
    let file = sql_file("wc", &word_count_sql(&input, &output, &group));
    ddflow_ok(&["run", file.to_str().unwrap()]);
    assert_eq!(word_counts_in(&output), count(&words));
}

/// Least hops from node 0 over `edges`, computed from scratch.
fn bfs(edges: &BTreeSet<(i64, i64)>) -> BTreeSet<String> {
    let mut hops: BTreeMap<i64, i64> = BTreeMap::new();
    let mut queue = VecDeque::new();
    if edges.iter().any(|(s, _)| *s == 0) {
        hops.insert(0, 0);
        queue.push_back(0);
    }
    while let Some(n) = queue.pop_front() {
        let h = hops[&n];
        for (_, t) in edges.range((n, i64::MIN)..=(n, i64::MAX)) {
            if !hops.contains_key(t) {
                hops.insert(*t, h + 1);
                queue.push_back(*t);
            }
        }
    }
    hops.into_iter().map(|(n, h)| format!("{n} {h}")).collect()
}

/// `n` edge changes over `nodes` nodes as CSV records `src,dst,change` on 3 partitions (a
/// quarter remove a live edge), and the edges live at the end.
fn edge_changes(seed: u64, n: i32, nodes: i64) -> (Vec<(i32, Vec<u8>)>, BTreeSet<(i64, i64)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut live: Vec<(i64, i64)> = Vec::new();
    let mut records: Vec<(i32, Vec<u8>)> = Vec::new();
    for i in 0..n {
        if !live.is_empty() && rng.random_range(0..4) == 0 {
            let (s, t) = live.swap_remove(rng.random_range(0..live.len()));
            records.push((i % 3, format!("{s},{t},-1").into_bytes()));
        } else {
            let (s, t) = (rng.random_range(0..nodes), rng.random_range(0..nodes));
            live.push((s, t));
            records.push((i % 3, format!("{s},{t},1").into_bytes()));
        }
    }
    // A removal and its edge's addition can land on different partitions and so in either
    // order; the edge set is the net count per edge, which both dataflows also keep.
    let mut net: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for (_, r) in &records {
        let text = String::from_utf8(r.clone()).unwrap();
        let f: Vec<i64> = text.split(',').map(|x| x.parse().unwrap()).collect();
        *net.entry((f[0], f[1])).or_default() += f[2];
    }
    let edges = (net.into_iter())
        .filter(|(_, n)| *n > 0)
        .map(|(e, _)| e)
        .collect();
    (records, edges)
}

/// `dataflows/reachability.sql` over `topic`, bounded, writing `output`.
fn reachability_sql(topic: &str, output: &std::path::Path) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dataflows/reachability.sql"),
    )
    .unwrap();
    let text = shipped
        .replace("'edges_topic'", &format!("'{topic}'"))
        .replace("'localhost:9092'", &format!("'{}'", bootstrap()))
        .replace("'reachable.jsonl'", &format!("'{}'", output.display()))
        .replace(
            "'scan.startup.mode' = 'earliest-offset'",
            "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset'",
        );
    assert_ne!(text, shipped);
    sql_file("reachability", &text)
}

#[test]
fn reachability_with_iterate_is_exact_as_edges_come_and_go() {
    let topic = unique("ex-edges");
    let (records, edges) = edge_changes(5, 3_000, 300);
    produce(&topic, 3, &records);
    let expected = bfs(&edges);
    assert!(expected.len() > 50, "{}", expected.len());
    for workers in ["1", "3"] {
        let path = temp_path("reachable.jsonl");
        let b = bootstrap();
        let report = reachability::run(args(&[
            "reachability",
            &b,
            &topic,
            path.to_str().unwrap(),
            "-w",
            workers,
        ]))
        .unwrap();
        assert_eq!(report.metrics.records_read, 3_000);
        assert_eq!(
            final_rows(&path, &["node", "hops"]),
            expected,
            "-w {workers}"
        );
    }
    // The same in SQL (WITH RECURSIVE), also with an epoch per few records, so the iteration
    // is updated through many additions and removals rather than computed once.
    for flags in [
        &["-w", "1"][..],
        &["-w", "2", "--epoch", "1ms", "--max-epoch", "1ms"],
    ] {
        let path = temp_path("reachable-sql.jsonl");
        let file = reachability_sql(&topic, &path);
        let mut run = vec!["run", file.to_str().unwrap()];
        run.extend(flags);
        ddflow_ok(&run);
        assert_eq!(final_rows(&path, &["node", "hops"]), expected, "{flags:?}");
    }
}

/// Nodes reachable from 0 over `edges` (as `final_rows` prints them).
fn reached(edges: &BTreeSet<(i64, i64)>) -> BTreeSet<String> {
    bfs(edges)
        .into_iter()
        .map(|r| r.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_recursive_query_over_a_source_restores_from_a_checkpoint() {
    // The recursion reads the source directly, so the source's rows are its state: the second
    // run reads only the new edges and gets the old ones back from the checkpoint.
    let topic = unique("rec-edges");
    let mut rng = StdRng::seed_from_u64(9);
    let mut edge = || (rng.random_range(0..400i64), rng.random_range(0..400i64));
    let first: Vec<(i64, i64)> = (0..500).map(|_| edge()).collect();
    let second: Vec<(i64, i64)> = (0..500).map(|_| edge()).collect();
    let records = |edges: &[(i64, i64)]| -> Vec<(i32, Vec<u8>)> {
        (edges.iter().enumerate())
            .map(|(i, (s, t))| (i as i32 % 3, format!("{s},{t}").into_bytes()))
            .collect()
    };
    produce(&topic, 3, &records(&first));
    let (output, dir) = (temp_path("rec-out.jsonl"), temp_path("rec-ck"));
    let file = sql_file(
        "rec",
        &format!(
            "CREATE TABLE edges (src BIGINT, dst BIGINT) WITH ('connector' = 'kafka',
               'topic' = '{topic}', 'properties.bootstrap.servers' = '{}', 'format' = 'csv',
               'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
             CREATE TABLE reached (node BIGINT) WITH ('connector' = 'filesystem',
               'path' = '{}', 'format' = 'json');
             INSERT INTO reached
             WITH RECURSIVE r AS (
               SELECT src AS node FROM edges WHERE src = 0
               UNION SELECT e.dst FROM r JOIN edges AS e ON e.src = r.node)
             SELECT node FROM r;",
            bootstrap(),
            output.display()
        ),
    );
    let run = |workers: &str| -> serde_json::Value {
        let out = ddflow_ok(&[
            "run",
            file.to_str().unwrap(),
            "-w",
            workers,
            "--checkpoint-dir",
            dir.to_str().unwrap(),
            "--report-json",
        ]);
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let set = |edges: &[(i64, i64)]| edges.iter().copied().collect::<BTreeSet<_>>();
    let report = run("1");
    assert_eq!(report["metrics"]["records_read"], 500, "{report}");
    let expected = reached(&set(&first));
    assert!(expected.len() > 20, "{}", expected.len());
    assert_eq!(final_rows(&output, &["node"]), expected);
    produce(&topic, 3, &records(&second));
    let report = run("2");
    assert_eq!(report["metrics"]["records_read"], 500, "{report}");
    assert!(
        report["metrics"]["state_entries_restored"].as_u64() > Some(0),
        "{report}"
    );
    let all: Vec<(i64, i64)> = first.iter().chain(&second).copied().collect();
    assert_eq!(final_rows(&output, &["node"]), reached(&set(&all)));
}

#[allow(dead_code)]
#[path = "../examples/sql_then_rust.rs"]
mod sql_then_rust;

#[test]
fn a_sql_view_refined_in_rust_is_exact() {
    let (payments, output) = (unique("ex-pay"), unique("ex-leaders"));
    let mut rng = StdRng::seed_from_u64(9);
    let mut totals: BTreeMap<(String, String), i64> = BTreeMap::new();
    let records: Vec<(i32, Vec<u8>)> = (0..4_000i32)
        .map(|i| {
            let (user, region) = (
                format!("u{}", rng.random_range(0..40)),
                format!("r{}", rng.random_range(0..5)),
            );
            let amount = rng.random_range(1..20i64);
            *totals.entry((region.clone(), user.clone())).or_default() += amount;
            let json = serde_json::json!({"user": user, "amount": amount, "region": region});
            (i % 2, json.to_string().into_bytes())
        })
        .collect();
    produce(&payments, 2, &records);
    let mut expected: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for ((region, user), total) in totals {
        let best = expected.entry(region).or_insert((user.clone(), total));
        if total > best.1 || (total == best.1 && user < best.0) {
            *best = (user, total);
        }
    }
    let b = bootstrap();
    sql_then_rust::run(args(&["sql_then_rust", &b, &payments, &output, "-w", "2"])).unwrap();
    let records =
        ddflow::kafka::read_topic(&b, &output, std::time::Duration::from_secs(30)).unwrap();
    let got: BTreeMap<String, (String, i64)> = ddflow::kafka::upsert_state(&records)
        .into_values()
        .map(|v| {
            let v: serde_json::Value = serde_json::from_str(&v).unwrap();
            let region = v["region"].as_str().unwrap().to_string();
            (
                region,
                (
                    v["user"].as_str().unwrap().to_string(),
                    v["total"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn the_builder_restores_what_its_code_read_from_a_checkpoint() {
    let (input, output) = (unique("ex-ck-in"), unique("ex-ck-out"));
    let mut words = produce_words(&input, 2, 6_000, 200, 31);
    let dir = temp_path("ex-ck");
    let b = bootstrap();
    let run = |workers: &str| {
        word_count::run(args(&[
            "word_count",
            &b,
            &input,
            &output,
            "-w",
            workers,
            "--checkpoint-dir",
            dir.to_str().unwrap(),
        ]))
        .unwrap()
    };
    assert_eq!(run("1").metrics.records_read, 6_000);
    assert_eq!(word_counts_in(&output), count(&words));
    // The second run reads only the new records (from the checkpoint's offsets) and gets the
    // earlier ones back from the checkpoint: the counts cover both.
    words.extend(produce_words(&input, 2, 3_000, 200, 32));
    let second = run("2");
    assert_eq!(second.metrics.records_read, 3_000);
    assert!(second.metrics.state_entries_restored > 0);
    assert_eq!(word_counts_in(&output), count(&words));
}
