//! End to end through the real broker: exact upsert state, exact committed offsets, idle
//! partitions, worker/process counts, and per-epoch consistency.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn word_count_is_exact_and_commits_end_offsets() {
    let (input, output, group) = (unique("wc-in"), unique("wc-out"), unique("wc-group"));
    let words = produce_words(&input, 4, 20_000, 500, 1);
    let file = sql_file("word_count", &word_count_sql(&input, &output, &group));
    ddflow_ok(&["run", file.to_str().unwrap(), "-w", "2"]);
    assert_eq!(word_counts_in(&output), count(&words));
    assert_eq!(committed(&group, &input), round_robin_ends(20_000, 4));
}

#[test]
fn idle_partitions_do_not_stall_output() {
    let (input, output, group) = (unique("idle-in"), unique("idle-out"), unique("idle-group"));
    produce(&input, 3, &[]);
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw',
           'scan.startup.mode' = 'earliest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    );
    let file = sql_file("idle", &sql);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ddflow"))
        .args([
            "run",
            file.to_str().unwrap(),
            "-w",
            "3",
            "--duration",
            "20s",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Only partition 0 ever receives data; partitions 1 and 2 (each on its own worker) stay empty.
    let words: Vec<(i32, Vec<u8>)> = (0..300)
        .map(|i| (0, format!("w{}", i % 7).into_bytes()))
        .collect();
    produce(&input, 3, &words);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut total = 0;
    while Instant::now() < deadline {
        total = word_counts_in(&output).values().sum::<i64>();
        if total == 300 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        total, 300,
        "output did not reach all 300 records while partitions 1 and 2 were idle"
    );
    assert!(
        still_running,
        "the output must advance while the run is live, not only at its end"
    );
}

#[test]
fn results_do_not_depend_on_workers_or_processes() {
    let input = unique("scale-in");
    let words = produce_words(&input, 4, 12_000, 300, 2);
    let expected = count(&words);
    // Each worker count with records fetched on threads of their own and by the workers.
    for (threads, fetch) in [("1", "on"), ("1", "off"), ("4", "on"), ("4", "off")] {
        let (output, group) = (unique("scale-out"), unique("scale-group"));
        let file = sql_file("wc", &word_count_sql(&input, &output, &group));
        let run = ["run", file.to_str().unwrap(), "-w", threads];
        ddflow_ok(&[&run[..], &["--fetch-threads", fetch]].concat());
        let what = format!("-w {threads} --fetch-threads {fetch}");
        assert_eq!(word_counts_in(&output), expected, "{what}");
        assert_eq!(
            committed(&group, &input),
            round_robin_ends(12_000, 4),
            "{what}"
        );
    }
    // Two processes of two workers each on localhost.
    let (output, group) = (unique("scale-out"), unique("scale-group"));
    let file = sql_file("wc", &word_count_sql(&input, &output, &group));
    let ports: Vec<u16> = (0..2)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect::<Vec<_>>()
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let hostfile = file.with_file_name("hosts.txt");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1]),
    )
    .unwrap();
    let spawn = |p: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ddflow"))
            .args([
                "run",
                file.to_str().unwrap(),
                "-w",
                "2",
                "-n",
                "2",
                "-p",
                p,
                "-h",
                hostfile.to_str().unwrap(),
            ])
            .env("DDFLOW_LOG", "ddflow=warn")
            .output()
    };
    let (first, second) = std::thread::scope(|s| {
        let other = s.spawn(|| spawn("1").unwrap());
        let first = spawn("0").unwrap();
        (first, other.join().unwrap())
    });
    for out in [&first, &second] {
        assert!(
            out.status.success(),
            "cluster process failed: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(word_counts_in(&output), expected, "-n 2 -w 2");
    assert_eq!(
        committed(&group, &input),
        round_robin_ends(12_000, 4),
        "-n 2 -w 2"
    );
}

#[test]
fn every_epoch_is_the_result_over_offset_prefixes() {
    let input = unique("epoch-in");
    let words = produce_words(&input, 3, 30_000, 200, 3);
    let b = bootstrap();
    let dir = std::env::temp_dir().join(unique("epochs"));
    std::fs::create_dir_all(&dir).unwrap();
    let (counts_path, progress_path) = (dir.join("counts.jsonl"), dir.join("progress.jsonl"));
    let sql = format!(
        "CREATE TABLE words (value STRING, part INT METADATA FROM 'partition' VIRTUAL,
                             off BIGINT METADATA FROM 'offset' VIRTUAL) WITH (
           'connector' = 'kafka', 'topic' = '{input}', 'properties.bootstrap.servers' = '{b}',
           'format' = 'raw', 'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE counts (value STRING, n BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
         CREATE TABLE progress (part BIGINT, n BIGINT, max_off BIGINT) WITH (
           'connector' = 'filesystem', 'path' = '{}', 'format' = 'json');
         INSERT INTO counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;
         INSERT INTO progress SELECT part, COUNT(*) AS n, MAX(off) AS max_off FROM words GROUP BY part;",
        counts_path.display(),
        progress_path.display()
    );
    let file = sql_file("epochs", &sql);
    // Epochs close every millisecond even while the source is behind (it always is here,
    // reading a filled topic): otherwise a fast read fits in one --max-epoch (500 ms).
    ddflow_ok(&[
        "run",
        file.to_str().unwrap(),
        "-w",
        "2",
        "--epoch",
        "1ms",
        "--max-epoch",
        "1ms",
    ]);
    let counts = changes_by_epoch(&counts_path, "value");
    let progress = changes_by_epoch(&progress_path, "part");
    let epochs: std::collections::BTreeSet<u64> =
        counts.keys().chain(progress.keys()).copied().collect();
    assert!(
        epochs.len() > 1,
        "expected several epochs, got {}",
        epochs.len()
    );
    let (mut word_state, mut part_state) = (BTreeMap::new(), BTreeMap::new());
    for epoch in &epochs {
        apply(&mut word_state, counts.get(epoch));
        apply(&mut part_state, progress.get(epoch));
        let words_total: i64 = word_state
            .values()
            .map(|v: &serde_json::Value| v["n"].as_i64().unwrap())
            .sum();
        let parts_total: i64 = part_state
            .values()
            .map(|v: &serde_json::Value| v["n"].as_i64().unwrap())
            .sum();
        assert_eq!(
            words_total, parts_total,
            "epoch {epoch}: counts and per-partition totals disagree"
        );
        for v in part_state.values() {
            // Every partition contributes a prefix: offsets 0..=max_off, no gaps, no tears.
            assert_eq!(
                v["n"].as_i64().unwrap(),
                v["max_off"].as_i64().unwrap() + 1,
                "epoch {epoch}: {v}"
            );
        }
    }
    let final_counts: BTreeMap<String, i64> = word_state
        .values()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_string(),
                v["n"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(final_counts, count(&words));
}

/// A JSON-lines changelog file grouped by epoch: epoch → [(key, row, +1/-1)].
fn changes_by_epoch(
    path: &std::path::Path,
    key: &str,
) -> BTreeMap<u64, Vec<(String, serde_json::Value, i64)>> {
    let mut out: BTreeMap<u64, Vec<_>> = BTreeMap::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let epoch = v["epoch"].as_u64().unwrap();
        let sign = if v["op"] == "+" { 1 } else { -1 };
        let obj = v.as_object_mut().unwrap();
        obj.remove("epoch");
        obj.remove("op");
        out.entry(epoch)
            .or_default()
            .push((v[key].to_string(), v, sign));
    }
    out
}

fn apply(
    state: &mut BTreeMap<String, serde_json::Value>,
    changes: Option<&Vec<(String, serde_json::Value, i64)>>,
) {
    for (key, row, sign) in changes.into_iter().flatten() {
        if *sign < 0 {
            if state.get(key) == Some(row) {
                state.remove(key);
            }
        } else {
            state.insert(key.clone(), row.clone());
        }
    }
}

/// The classic tutorial's output, byte for byte: key = the word as text, value = its count
/// as text (`'key.format' = 'raw'`, a `raw` value of the count cast to STRING without the key;
/// the same as `csv` of the BIGINT), and a changelog sink of CSV values keyed by `'key.fields'`.
#[test]
fn raw_and_csv_keys_and_values_are_written_byte_for_byte() {
    let (input, group) = (unique("fmt-in"), unique("fmt-group"));
    let (raw_out, csv_out, log_out) = (unique("fmt-raw"), unique("fmt-csv"), unique("fmt-log"));
    let words = produce_words(&input, 3, 5_000, 200, 4);
    let b = bootstrap();
    let sink = |name: &str, columns: &str, topic: &str, options: &str| {
        format!(
            "CREATE TABLE {name} ({columns}) WITH ('connector' = 'kafka', 'topic' = '{topic}',
               'properties.bootstrap.servers' = '{b}', {options});"
        )
    };
    let text = format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         {}
         {}
         {}
         INSERT INTO raw_counts SELECT value, CAST(COUNT(*) AS STRING) FROM words GROUP BY value;
         INSERT INTO csv_counts SELECT value, COUNT(*), 'x,\"y' FROM words GROUP BY value;
         INSERT INTO log SELECT value, LENGTH(value) FROM words WHERE value LIKE 'k%';",
        sink(
            "raw_counts",
            "word STRING, n STRING, PRIMARY KEY (word) NOT ENFORCED",
            &raw_out,
            "'key.format' = 'raw', 'value.format' = 'raw', 'value.fields-include' = 'EXCEPT_KEY'"
        ),
        sink(
            "csv_counts",
            "word STRING, n BIGINT, note STRING, PRIMARY KEY (word) NOT ENFORCED",
            &csv_out,
            "'key.format' = 'raw', 'value.format' = 'csv'"
        ),
        sink(
            "log",
            "word STRING, len BIGINT",
            &log_out,
            "'key.fields' = 'word', 'key.format' = 'raw', 'format' = 'csv', 'sink.mode' = 'changelog'"
        ),
    );
    let file = sql_file("formats", &text);
    ddflow_ok(&["run", file.to_str().unwrap(), "-w", "2"]);
    let read = |topic: &str| {
        ddflow::kafka::read_topic(&bootstrap(), topic, Duration::from_secs(30)).unwrap()
    };
    let want = count(&words);
    let raw: BTreeMap<String, String> = ddflow::kafka::upsert_state(&read(&raw_out))
        .into_iter()
        .collect();
    let want_raw: BTreeMap<String, String> = want
        .iter()
        .map(|(w, n)| (w.clone(), n.to_string()))
        .collect();
    assert_eq!(raw, want_raw);
    let csv: BTreeMap<String, String> = ddflow::kafka::upsert_state(&read(&csv_out))
        .into_iter()
        .collect();
    let want_csv: BTreeMap<String, String> = (want.iter())
        .map(|(w, n)| (w.clone(), format!("{w},{n},\"x,\"\"y\"")))
        .collect();
    assert_eq!(csv, want_csv);
    let mut log: Vec<(String, String)> = (read(&log_out).into_iter())
        .map(|r| (r.key.unwrap(), r.value.unwrap()))
        .collect();
    log.sort();
    let mut want_log: Vec<(String, String)> = (words.iter())
        .filter(|w| w.starts_with('k'))
        .map(|w| (w.clone(), format!("{w},{}", w.len())))
        .collect();
    want_log.sort();
    assert!(!want_log.is_empty());
    assert_eq!(log, want_log);
}
