//! Operating a run: Prometheus metrics scraped during a real run and read by Prometheus' own
//! reference parser (the `prometheus_client` Python package, which `.ci/test` installs); the
//! status line under a pseudo-terminal and plain lines in a pipe; progress reports; and a
//! cluster's processes sharing one fate.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::*;

/// One sample: metric name (with its suffix: `_total`, `_bucket`, ...), labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `GET /metrics` from `port`: the content type and the body.
fn scrape(port: u16) -> Option<(String, String)> {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    conn.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let content_type = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        })
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    Some((content_type, body.to_string()))
}

/// The samples of an OpenMetrics text, parsed by Prometheus' reference parser (strict: it
/// rejects a text that breaks the format).
fn parse(text: &str) -> Vec<Sample> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        print(json.dumps({"name": s.name, "labels": s.labels, "value": s.value}))
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Prometheus' parser refused the metrics (needs `pip install prometheus-client`, which .ci/test does): {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            Sample {
                name: v["name"].as_str().unwrap().to_string(),
                labels: (v["labels"].as_object().unwrap().iter())
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect(),
                value: v["value"].as_f64().unwrap(),
            }
        })
        .collect()
}

/// The values of `name`'s samples whose labels include `labels`.
fn values(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .collect()
}

/// The one value of `name` with `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let v = values(samples, name, labels);
    assert_eq!(v.len(), 1, "{name} {labels:?}: {v:?}");
    v[0]
}

#[test]
fn metrics_scraped_during_a_run_add_up_exactly() {
    let (input, output, group) = (unique("met-in"), unique("met-out"), unique("met-g"));
    let partitions = 4;
    produce(&input, partitions, &[]);
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw',
           'format.bad-records' = 'skip', 'scan.startup.mode' = 'earliest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    );
    let file = sql_file("metrics", &sql);
    let dir = temp_path("met-ckpt");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut job = ddflow_command(&[
        "run",
        file.to_str().unwrap(),
        "--metrics-addr",
        &addr,
        "--checkpoint-dir",
        dir.to_str().unwrap(),
        "--checkpoint-interval",
        "1s",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    // Feed while scraping: 40 batches of 1,000 words (one not UTF-8 per batch, skipped), 50 ms
    // apart, round robin over the partitions.
    // Each batch puts 250 records on each partition.
    let feeder = {
        let input = input.clone();
        std::thread::spawn(move || {
            for batch in 0..40 {
                let mut records: Vec<(i32, Vec<u8>)> = (0..999i32)
                    .map(|i| (i % 4, format!("w{}", (batch * 7 + i) % 100).into_bytes()))
                    .collect();
                records.push((3, vec![0xff, 0xfe]));
                produce(&input, 4, &records);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut ages = Vec::new();
    let last = loop {
        assert_running(&mut job);
        assert!(Instant::now() < deadline, "the metrics never added up");
        std::thread::sleep(Duration::from_millis(200));
        let Some((content_type, text)) = scrape(port) else {
            continue;
        };
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let samples = parse(&text);
        let age = value(&samples, "ddflow_output_age_seconds", &[]);
        if value(&samples, "ddflow_output_frontier_timestamp_seconds", &[]) > 0.0 {
            ages.push(age);
        }
        let read: f64 = values(&samples, "ddflow_records_read_total", &[("table", "words")])
            .iter()
            .sum();
        let lag: f64 = values(
            &samples,
            "ddflow_consumer_lag_records",
            &[("table", "words")],
        )
        .iter()
        .sum();
        if feeder.is_finished() && read == 40_000.0 && lag == 0.0 {
            let changes = value(
                &samples,
                "ddflow_sink_changes_written_total",
                &[("sink", "word_counts")],
            );
            if changes > 0.0 && value(&samples, "ddflow_checkpoints_total", &[]) >= 1.0 {
                break samples;
            }
        }
    };
    feeder.join().unwrap();
    // Per partition: records read equal those produced, position at the end, lag 0.
    for p in 0..partitions {
        let labels = [
            ("table", "words"),
            ("topic", input.as_str()),
            ("partition", &p.to_string()),
        ];
        let labels: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, *v)).collect();
        let expected = 10_000.0;
        assert_eq!(
            value(&last, "ddflow_records_read_total", &labels),
            expected,
            "partition {p}"
        );
        assert_eq!(value(&last, "ddflow_consumer_lag_records", &labels), 0.0);
        assert_eq!(
            value(&last, "ddflow_consumer_position_offset", &labels),
            expected
        );
        let skipped = if p == 3 { 40.0 } else { 0.0 };
        assert_eq!(
            value(&last, "ddflow_records_skipped_total", &labels),
            skipped
        );
    }
    assert_eq!(
        value(&last, "ddflow_broker_reachable", &[("table", "words")]),
        1.0
    );
    // The frontier's age stayed bounded while data flowed (epochs of 10 ms, at most 500 ms
    // while behind): never more than a few seconds.
    assert!(ages.len() >= 3, "{ages:?}");
    assert!(ages.iter().all(|a| (0.0..5.0).contains(a)), "{ages:?}");
    assert!(value(&last, "ddflow_offset_commits_total", &[]) >= 1.0);
    assert!(value(&last, "ddflow_offset_commit_duration_seconds_count", &[]) >= 1.0);
    assert!(value(&last, "ddflow_last_checkpoint_timestamp_seconds", &[]) > 1.7e9);
    // The GROUP BY's arrangement holds one update per distinct word (100), once compacted;
    // at most a few more while merges are pending.
    let updates = values(
        &last,
        "ddflow_state_updates",
        &[("arrangement", "Aggregate")],
    );
    assert_eq!(updates.len(), 1, "{last:?}");
    assert!((100.0..=400.0).contains(&updates[0]), "{updates:?}");
    assert!(value(&last, "ddflow_process_resident_memory_bytes", &[]) > 1e6);

    // Every metric the shipped Grafana dashboard queries exists.
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/monitoring/grafana-dashboard.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let names: std::collections::BTreeSet<&str> = last.iter().map(|s| s.name.as_str()).collect();
    let mut queried = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("ddflow_") {
                    queried += 1;
                    assert!(
                        names.contains(word),
                        "the dashboard queries {word}, which is not served"
                    );
                }
            }
        }
    }
    assert!(queried >= 10, "{queried}");
    interrupt(job);
    assert_eq!(word_counts_in(&output).values().sum::<i64>(), 39_960);
}

/// A word count over `count` fresh words, unbounded, to a blackhole sink.
fn word_count_to_blackhole(name: &str, count: usize) -> std::path::PathBuf {
    let input = unique(name);
    let words: Vec<(i32, Vec<u8>)> = (0..count)
        .map(|i| ((i % 2) as i32, format!("w{}", i % 50).into_bytes()))
        .collect();
    produce(&input, 2, &words);
    let b = bootstrap();
    sql_file(
        name,
        &format!(
            "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
               'properties.bootstrap.servers' = '{b}', 'format' = 'raw',
               'properties.group.id' = '{}', 'scan.startup.mode' = 'earliest-offset');
             CREATE TABLE sink (value STRING, n BIGINT) WITH ('connector' = 'blackhole');
             INSERT INTO sink SELECT value, COUNT(*) AS n FROM words GROUP BY value;",
            unique("g")
        ),
    )
}

#[test]
fn a_terminal_gets_a_status_line_redrawn_in_place() {
    let file = word_count_to_blackhole("status", 3_000);
    // Python's pty module gives ddflow a terminal and copies what it draws to our pipe.
    const SCRIPT: &str = "import os, pty, sys\n\
        pty.spawn(sys.argv[1:], lambda fd: os.read(fd, 4096))";
    let command = ddflow_command(&[]);
    let program = command.get_program().to_owned();
    let out = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(program)
        .args(["run", file.to_str().unwrap(), "--duration", "3s"])
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("DDFLOW_LOG", "ddflow=info")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let drawn = text(&out.stdout);
    // Redrawn in place: carriage return and "erase line" before each drawing.
    assert!(drawn.matches("\r\x1b[2K").count() >= 3, "{drawn:?}");
    let last = drawn
        .rsplit("\r\x1b[2K")
        .find(|l| l.contains("rec/s in"))
        .unwrap_or_else(|| panic!("no status line: {drawn:?}"));
    assert!(last.contains("lag 0"), "{last:?}");
    assert!(last.contains("3,000 read"), "{last:?}");
    assert!(last.contains("changes out"), "{last:?}");
    assert!(last.contains(" old"), "the output's age is shown: {last:?}");
    // A log line during the run went above the line, not into it.
    assert!(drawn.contains("run duration reached"), "{drawn:?}");
}

#[test]
fn a_pipe_gets_plain_progress_lines_and_times_as_times() {
    let file = word_count_to_blackhole("plain", 2_000);
    let out = ddflow_command(&[
        "run",
        file.to_str().unwrap(),
        "--duration",
        "3s",
        "--progress",
    ])
    .env("DDFLOW_LOG", "ddflow=info")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log = text(&out.stderr);
    assert!(!log.contains('\x1b'), "escape codes in a pipe: {log:?}");
    assert!(!log.contains('\r'), "{log:?}");
    let progress: Vec<&str> = log.lines().filter(|l| l.contains(" progress ")).collect();
    assert!(progress.len() >= 2, "{log}");
    let last = progress.last().unwrap();
    assert!(last.contains("records_read=2000"), "{last}");
    assert!(last.contains("lag=0"), "{last}");
    // The committed epoch is an RFC 3339 time, not a count of milliseconds.
    let committed = last
        .split_whitespace()
        .find_map(|f| f.strip_prefix("committed="))
        .unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(committed).is_ok(),
        "{committed}"
    );
    let age = last
        .split("output_age=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(age.ends_with(" ms") || age.ends_with(" s"), "{age}");

    // The same run's log for a log shipper: one JSON object per line.
    let out = ddflow_command(&[
        "--log-format",
        "json",
        "run",
        file.to_str().unwrap(),
        "--duration",
        "2s",
        "--progress",
    ])
    .env("DDFLOW_LOG", "ddflow=info")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "progress" && l["fields"]["records_read"] == 2000));
}

#[test]
fn progress_json_reports_each_query_with_offsets_that_add_up() {
    let (a, b) = (unique("pj-a"), unique("pj-b"));
    // Distinct values, so every row read is one change written (nothing consolidates).
    produce(
        &a,
        2,
        &(0..600)
            .map(|i| (i % 2, format!("x{i:04}").into_bytes()))
            .collect::<Vec<_>>(),
    );
    produce(
        &b,
        1,
        &(0..250)
            .map(|i| (0, format!("y{i:04}").into_bytes()))
            .collect::<Vec<_>>(),
    );
    let bs = bootstrap();
    let g = unique("pj-g");
    let file = sql_file(
        "pj",
        &format!(
            "CREATE TABLE a (value STRING) WITH ('connector' = 'kafka', 'topic' = '{a}',
               'properties.bootstrap.servers' = '{bs}', 'format' = 'raw', 'properties.group.id' = '{g}',
               'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
             CREATE TABLE b (value STRING) WITH ('connector' = 'kafka', 'topic' = '{b}',
               'properties.bootstrap.servers' = '{bs}', 'format' = 'raw', 'properties.group.id' = '{g}',
               'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
             CREATE TABLE only_a (value STRING) WITH ('connector' = 'blackhole');
             CREATE TABLE both (value STRING) WITH ('connector' = 'blackhole');
             CREATE VIEW va AS SELECT value FROM a;
             INSERT INTO only_a SELECT value FROM va WHERE value < 'x0100';
             INSERT INTO both SELECT value FROM va UNION ALL SELECT value FROM b;"
        ),
    );
    let path = temp_path("progress.jsonl");
    ddflow_ok(&[
        "run",
        file.to_str().unwrap(),
        "--progress-json",
        path.to_str().unwrap(),
    ]);
    let reports: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (query, tables, rows, outputs) in [
        ("only_a", vec!["a"], 600, 100),
        ("both", vec!["a", "b"], 850, 850),
    ] {
        let mine: Vec<&serde_json::Value> = reports.iter().filter(|r| r["id"] == query).collect();
        assert!(!mine.is_empty(), "{reports:?}");
        let ids: Vec<u64> = mine
            .iter()
            .map(|r| r["batchId"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, (0..ids.len() as u64).collect::<Vec<_>>());
        let sum = |f: &dyn Fn(&serde_json::Value) -> u64| mine.iter().map(|r| f(r)).sum::<u64>();
        assert_eq!(
            sum(&|r| r["numInputRows"].as_u64().unwrap()),
            rows,
            "{query}"
        );
        assert_eq!(
            sum(&|r| r["sink"]["numOutputRows"].as_u64().unwrap()),
            outputs,
            "{query}"
        );
        let last = mine.last().unwrap();
        let sources: Vec<&str> = (last["sources"].as_array().unwrap().iter())
            .map(|s| s["table"].as_str().unwrap())
            .collect();
        assert_eq!(sources, tables, "{query}");
        // Per partition, each interval starts where the last ended, and the run ends at the
        // end of the input.
        for table in &tables {
            let parts = if *table == "a" { 2 } else { 1 };
            for p in 0..parts {
                let p = p.to_string();
                let mut at = 0;
                for r in &mine {
                    let s = r["sources"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["table"] == *table)
                        .unwrap();
                    assert_eq!(
                        s["startOffset"][&p].as_i64().unwrap(),
                        at,
                        "{query} {table} {p}"
                    );
                    at = s["endOffset"][&p].as_i64().unwrap();
                }
                let end = if *table == "a" { 300 } else { 250 };
                assert_eq!(at, end, "{query} {table} {p}");
            }
        }
        // Every record read was processed (its output durable) by the end.
        assert_eq!(
            sum(&|r| r["numProcessedRows"].as_u64().unwrap()),
            rows,
            "{query}"
        );
        assert!(chrono::DateTime::parse_from_rfc3339(last["timestamp"].as_str().unwrap()).is_ok());
    }
}

/// A hostfile for `n` processes on this host, next to `file`.
fn hostfile(file: &std::path::Path, n: usize) -> std::path::PathBuf {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let lines: String = (listeners.iter())
        .map(|l| format!("127.0.0.1:{}\n", l.local_addr().unwrap().port()))
        .collect();
    let path = file.with_file_name(format!("hosts-{}.txt", unique("h")));
    std::fs::write(&path, lines).unwrap();
    path
}

/// Process `p` of an `n`-process cluster of one worker each, running `file`.
fn cluster_process(
    file: &std::path::Path,
    hosts: &std::path::Path,
    (p, n): (usize, usize),
    extra: &[&str],
) -> std::process::Child {
    let (p, n) = (p.to_string(), n.to_string());
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "-n",
        &n,
        "-p",
        &p,
        "-h",
        hosts.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ddflow_command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for `job` to exit within `within`; its exit code and error output.
fn exit_within(mut job: std::process::Child, within: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + within;
    while job.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = job.kill();
            let out = job.wait_with_output().unwrap();
            panic!("still running after {within:?}: {}", text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = job.wait_with_output().unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_failure_in_one_process_stops_the_whole_cluster_with_its_exit_code() {
    let (input, output, group) = (unique("fate-in"), unique("fate-out"), unique("fate-g"));
    // Partition 1 (read by process 1's worker) holds a record that does not decode, after
    // good ones; partition 0 only good ones. The source fails on bad records.
    let mut records: Vec<(i32, Vec<u8>)> = (0..200).map(|i| (i % 2, b"ok".to_vec())).collect();
    records.push((1, vec![0xff, 0xfe]));
    produce(&input, 2, &records);
    let b = bootstrap();
    let file = sql_file(
        "fate",
        &format!(
            "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
               'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw',
               'scan.startup.mode' = 'earliest-offset');
             CREATE TABLE echo (value STRING) WITH ('connector' = 'kafka', 'topic' = '{output}',
               'properties.bootstrap.servers' = '{b}', 'format' = 'json');
             INSERT INTO echo SELECT value FROM words;"
        ),
    );
    let hosts = hostfile(&file, 2);
    let started = Instant::now();
    let zero = cluster_process(&file, &hosts, (0, 2), &[]);
    let one = cluster_process(&file, &hosts, (1, 2), &[]);
    let (code1, err1) = exit_within(one, Duration::from_secs(60));
    let (code0, err0) = exit_within(zero, Duration::from_secs(60));
    assert_eq!(code1, Some(2), "{err1}");
    assert!(
        err1.contains("partition 1") && err1.contains("offset 100"),
        "{err1}"
    );
    // Process 0 read nothing wrong, yet stops with the same code, saying which process
    // failed and why.
    assert_eq!(code0, Some(2), "{err0}");
    assert!(err0.contains("process 1 of the cluster failed"), "{err0}");
    assert!(err0.contains("offset 100"), "{err0}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // Nothing was committed past the bad record on its partition.
    let committed = committed(&group, &input);
    assert!(committed[1].is_none_or(|o| o <= 100), "{committed:?}");
}

#[test]
fn a_killed_process_stops_the_cluster_and_a_restart_at_any_size_is_exact() {
    let (input, output, group) = (unique("lost-in"), unique("lost-out"), unique("lost-g"));
    let mut words = produce_words(&input, 4, 6_000, 300, 11);
    let b = bootstrap();
    let file = sql_file(
        "lost",
        &format!(
            "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
               'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw');
             CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
               'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
             INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
        ),
    );
    let dir = temp_path("lost-ckpt");
    let ck = [
        "--checkpoint-dir",
        dir.to_str().unwrap(),
        "--checkpoint-interval",
        "300ms",
    ];
    let await_output = |words: &Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !(ddflow::kafka::partition_count(&bootstrap(), &output, Duration::from_secs(2))
            .is_ok()
            && word_counts_in(&output).values().sum::<i64>() == words.len() as i64)
        {
            assert!(Instant::now() < deadline, "the output never added up");
            std::thread::sleep(Duration::from_millis(300));
        }
    };

    // A cluster of two processes, each serving its own metrics (at PORT + its index);
    // process 1 is killed once the output is there.
    let port = loop {
        let p = free_port();
        if std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            break p;
        }
    };
    let addr = format!("127.0.0.1:{port}");
    let mut with_metrics = ck.to_vec();
    with_metrics.extend(["--metrics-addr", addr.as_str()]);
    let hosts = hostfile(&file, 2);
    let zero = cluster_process(&file, &hosts, (0, 2), &with_metrics);
    let one = cluster_process(&file, &hosts, (1, 2), &with_metrics);
    await_output(&words);
    // Partition p is read by worker p % 2, so process 0 serves partitions 0 and 2, process 1
    // partitions 1 and 3; between them, every record.
    let mut read = 0.0;
    for (process, mine) in [(0u16, ["0", "2"]), (1, ["1", "3"])] {
        let (_, text) = scrape(port + process).expect("each process serves its metrics");
        let samples = parse(&text);
        let partitions: Vec<&str> = (samples.iter())
            .filter(|s| s.name == "ddflow_records_read_total")
            .map(|s| s.labels["partition"].as_str())
            .collect();
        let mut partitions = partitions;
        partitions.sort();
        assert_eq!(partitions, mine, "process {process}");
        read += values(&samples, "ddflow_records_read_total", &[])
            .iter()
            .sum::<f64>();
    }
    assert_eq!(read, words.len() as f64);
    std::thread::sleep(Duration::from_millis(700)); // a checkpoint after the output
    let mut one = one;
    one.kill().unwrap();
    one.wait().unwrap();
    let killed = Instant::now();
    let (code0, err0) = exit_within(zero, Duration::from_secs(30));
    assert_eq!(code0, Some(3), "{err0}");
    assert!(err0.contains("lost contact with another process"), "{err0}");
    assert!(
        !err0.contains("panicked"),
        "a panic shown for a lost peer: {err0}"
    );
    assert!(killed.elapsed() < Duration::from_secs(30));

    // More words while it is down; the cluster restarts as it was.
    let more = produce_words(&input, 4, 3_000, 300, 12);
    words.extend(more);
    let hosts = hostfile(&file, 2);
    let zero = cluster_process(&file, &hosts, (0, 2), &ck);
    let one = cluster_process(&file, &hosts, (1, 2), &ck);
    await_output(&words);
    // A graceful stop of a cluster: every process is signalled (each drains once all have
    // stopped reading).
    for job in [&one, &zero] {
        let pid = job.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success());
    }
    for job in [one, zero] {
        let (code, err) = exit_within(job, Duration::from_secs(30));
        assert_eq!(code, Some(0), "{err}");
    }
    assert_eq!(word_counts_in(&output), count(&words), "-n 2 after kill -9");

    // And at another size: one process of three workers.
    words.extend(produce_words(&input, 4, 2_000, 300, 13));
    let mut args = vec!["run", file.to_str().unwrap(), "-w", "3"];
    args.extend_from_slice(&ck);
    let job = ddflow_command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    await_output(&words);
    interrupt(job);
    assert_eq!(word_counts_in(&output), count(&words), "-w 3 after -n 2");
    assert_eq!(
        committed(&group, &input)
            .iter()
            .map(|o| o.unwrap())
            .sum::<i64>(),
        words.len() as i64
    );
}
