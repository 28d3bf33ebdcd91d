//! Shared test fixtures: the broker address, unique topic names, producing records, running
//! the `ddflow` binary, and reading results back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

/// The test broker, from `DDFLOW_TEST_BOOTSTRAP` (set by `.ci/test`).
pub fn bootstrap() -> String {
    std::env::var("DDFLOW_TEST_BOOTSTRAP").unwrap_or_else(|_| {
        panic!("DDFLOW_TEST_BOOTSTRAP is not set: run the tests with `bash .ci/test`, which starts a broker")
    })
}

/// A topic (or group) name no other test or run uses.
pub fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{name}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Create `topic` with `partitions` partitions and produce `records` as (partition, value).
pub fn produce(topic: &str, partitions: i32, records: &[(i32, Vec<u8>)]) {
    let records: Vec<(i32, Option<&[u8]>, Option<&[u8]>)> = records
        .iter()
        .map(|(p, v)| (*p, None, Some(v.as_slice())))
        .collect();
    produce_with(topic, partitions, &[], &records);
}

/// Create `topic` and produce `(partition, key, value)` records (a `None` value is a
/// tombstone) with the client settings `config` (e.g. a compression codec).
pub fn produce_with(
    topic: &str,
    partitions: i32,
    config: &[(&str, &str)],
    records: &[(i32, Option<&[u8]>, Option<&[u8]>)],
) {
    let config: Vec<(String, String)> = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    produce_to(&bootstrap(), &config, topic, partitions, records);
}

/// [`produce_with`] on the broker at `bootstrap`, with its client settings `config` (also used
/// to create the topic).
pub fn produce_to(
    bootstrap: &str,
    config: &[(String, String)],
    topic: &str,
    partitions: i32,
    records: &[(i32, Option<&[u8]>, Option<&[u8]>)],
) {
    ddflow::kafka::ensure_topic_with(
        bootstrap,
        config,
        topic,
        partitions,
        Duration::from_secs(20),
    )
    .expect("create topic");
    let producer: BaseProducer = ddflow::kafka::producer_config(bootstrap, config)
        .create()
        .expect("producer");
    for (p, k, v) in records {
        let mut rec: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).partition(*p);
        if let Some(k) = k {
            rec = rec.key(*k);
        }
        if let Some(v) = v {
            rec = rec.payload(*v);
        }
        ddflow::kafka::send_waiting(&producer, rec).expect("produce");
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// `words` as records, spread round-robin over `partitions`.
pub fn round_robin(words: &[String], partitions: i32) -> Vec<(i32, Option<&[u8]>, Option<&[u8]>)> {
    words
        .iter()
        .enumerate()
        .map(|(i, w)| ((i as i32) % partitions, None, Some(w.as_bytes())))
        .collect()
}

/// The JSON objects of a file sink, one per line.
pub fn file_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start a broker of the test's own listening on `port` and advertising `advertised` (the
/// port of a proxy in front of it); returns once it accepts connections.
pub fn start_tansu(port: u16, advertised: u16) -> std::process::Child {
    let tansu = std::env::var("TANSU")
        .expect("TANSU (the broker binary) is not set: run the tests with `bash .ci/test`");
    let process = Command::new(tansu)
        .args([
            "broker",
            "--listener-url",
            &format!("tcp://127.0.0.1:{port}"),
            "--advertised-listener-url",
            &format!("tcp://127.0.0.1:{advertised}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tansu");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "tansu did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    process
}

/// A fresh temporary directory (not created).
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(unique(name))
}

/// Produce `count` seeded words round-robin over `partitions`; returns the words in order.
pub fn produce_words(
    topic: &str,
    partitions: i32,
    count: u64,
    keys: u64,
    seed: u64,
) -> Vec<String> {
    let mut gen =
        ddflow::loadgen::KeyGen::new(keys, ddflow::loadgen::KeyDist::Zipf(1.0), seed).unwrap();
    let words: Vec<String> = (0..count)
        .map(|_| ddflow::loadgen::word(gen.next_key()))
        .collect();
    produce_with(topic, partitions, &[], &round_robin(&words, partitions));
    words
}

/// Exact counts of `words`.
pub fn count(words: &[String]) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for w in words {
        *m.entry(w.clone()).or_insert(0) += 1;
    }
    m
}

/// Write a dataflow file into a fresh temporary directory.
pub fn sql_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("ddflow-test"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.sql"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The word-count dataflow between two topics, bounded, to an upsert sink.
pub fn word_count_sql(input: &str, output: &str, group: &str) -> String {
    let b = bootstrap();
    format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    )
}

/// The `ddflow` binary as a command: quiet logs, and default state directories under a
/// directory of this test process (never the user's home).
pub fn ddflow_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ddflow"));
    c.args(args).env("DDFLOW_LOG", "ddflow=warn").env(
        "DDFLOW_STATE_DIR",
        std::env::temp_dir().join(format!("ddflow-test-state-{}", std::process::id())),
    );
    c
}

/// Run the `ddflow` binary.
pub fn ddflow(args: &[&str]) -> Output {
    ddflow_command(args).output().expect("run ddflow")
}

/// Run the binary and insist on success.
pub fn ddflow_ok(args: &[&str]) -> Output {
    let out = ddflow(args);
    assert!(
        out.status.success(),
        "ddflow {args:?} failed:\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The word → count state of an upsert topic written by the word-count dataflow.
pub fn word_counts_in(topic: &str) -> BTreeMap<String, i64> {
    let records = ddflow::kafka::read_topic(&bootstrap(), topic, Duration::from_secs(30))
        .expect("read output");
    word_counts_of(&records)
}

/// The word → count state of the records of an upsert topic written by the word-count
/// dataflow.
pub fn word_counts_of(records: &[ddflow::kafka::ReadRecord]) -> BTreeMap<String, i64> {
    ddflow::kafka::upsert_state(records)
        .into_iter()
        .map(|(key, value)| {
            let k: serde_json::Value = serde_json::from_str(&key).expect("key is JSON");
            let v: serde_json::Value = serde_json::from_str(&value).expect("value is JSON");
            assert_eq!(k["value"], v["value"], "key and value disagree");
            (
                v["value"].as_str().unwrap().to_string(),
                v["n"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Committed offsets of `group` on `topic`.
pub fn committed(group: &str, topic: &str) -> Vec<Option<i64>> {
    ddflow::kafka::committed_offsets(&bootstrap(), group, topic, Duration::from_secs(10))
        .expect("committed offsets")
}

/// Per-partition record counts of a round-robin production of `count` records.
pub fn round_robin_ends(count: u64, partitions: i32) -> Vec<Option<i64>> {
    (0..partitions as u64)
        .map(|p| {
            Some((count / partitions as u64 + u64::from(p < count % partitions as u64)) as i64)
        })
        .collect()
}

/// The rows a file sink's changelog adds up to, each as its columns' values joined by spaces;
/// every row must end with multiplicity one.
pub fn final_rows(path: &std::path::Path, columns: &[&str]) -> std::collections::BTreeSet<String> {
    let mut rows: BTreeMap<String, i64> = BTreeMap::new();
    for line in file_lines(path) {
        let text: Vec<String> = columns
            .iter()
            .map(|c| match &line[*c] {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect();
        *rows.entry(text.join(" ")).or_default() += if line["op"] == "+" { 1 } else { -1 };
    }
    rows.retain(|_, n| *n != 0);
    assert!(rows.values().all(|n| *n == 1), "{rows:?}");
    rows.into_keys().collect()
}

/// The rows an on-window-close file sink wrote, each as `k window_start window_end <count>`
/// (the count in column `count`); every line must be an insertion, and no row written twice.
pub fn closed_window_rows(
    path: &std::path::Path,
    count: &str,
) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    for line in file_lines(path) {
        assert_eq!(line["op"], "+", "on-window-close retracts nothing: {line}");
        let row = format!(
            "{} {} {} {}",
            line["k"].as_str().unwrap(),
            line["window_start"].as_str().unwrap(),
            line["window_end"].as_str().unwrap(),
            line[count]
        );
        assert!(seen.insert(row.clone()), "window written twice: {row}");
    }
    seen
}

/// Panic, with its error output, if the job has exited.
pub fn assert_running(job: &mut std::process::Child) {
    if let Some(status) = job.try_wait().unwrap() {
        let mut err = String::new();
        std::io::Read::read_to_string(job.stderr.as_mut().unwrap(), &mut err).unwrap();
        panic!("ddflow exited ({status}): {err}");
    }
}

/// Ctrl-C the job (drain, final checkpoint, commit) and wait for it to exit 0; its output.
pub fn interrupt(job: std::process::Child) -> std::process::Output {
    assert!(Command::new("kill")
        .args(["-INT", &job.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = job.wait_with_output().unwrap();
    assert!(out.status.success(), "ddflow failed: {}", text(&out.stderr));
    out
}

/// The keys with the most records in each hopping window (`slide` and `size` in ms, `size`
/// a multiple of `slide`) over `(key, ts)` records, each as `k window_start window_end count`
/// (the rows a "hot items" query over `HOP` windows gives, as Nexmark q5's).
pub fn hot_in_hopping_windows(
    records: impl IntoIterator<Item = (String, i64)>,
    slide: i64,
    size: i64,
) -> std::collections::BTreeSet<String> {
    let mut counts: BTreeMap<(i64, String), i64> = BTreeMap::new();
    for (k, ts) in records {
        let last = ts - ts.rem_euclid(slide);
        for start in (last - size + slide..=last).step_by(slide as usize) {
            *counts.entry((start, k.clone())).or_default() += 1;
        }
    }
    let mut most: BTreeMap<i64, i64> = BTreeMap::new();
    for ((start, _), n) in &counts {
        let m = most.entry(*start).or_default();
        *m = (*m).max(*n);
    }
    let fmt = ddflow::data::format_timestamp;
    (counts.iter())
        .filter(|((start, _), n)| most[start] == **n)
        .map(|((start, k), n)| format!("{k} {} {} {n}", fmt(*start), fmt(start + size)))
        .collect()
}
