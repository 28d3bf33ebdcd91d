//! Regressions of issue 9 (wrong results, silent loss and unsafe defaults found by probing):
//! one test per item, named `issue9_<item>_...`, each through the real broker where Kafka is
//! involved. The planner-only refusals also have golden cases in `tests/sql/error_*.sql`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

/// A bounded JSON source table `t` over `topic` with columns `cols` (SQL text).
fn json_source(topic: &str, cols: &str, extra: &str) -> String {
    let b = bootstrap();
    format!(
        "CREATE TABLE t ({cols}) WITH ('connector' = 'kafka', 'topic' = '{topic}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'json', {extra}
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');\n"
    )
}

/// A file sink table `out` with columns `cols` at `path`.
fn file_sink(cols: &str, path: &Path) -> String {
    format!(
        "CREATE TABLE out ({cols}) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json');\n",
        path.display()
    )
}

fn json_records(topic: &str, records: &[Value]) {
    let bytes: Vec<Vec<u8>> = records.iter().map(|r| r.to_string().into_bytes()).collect();
    let recs: Vec<(i32, Option<&[u8]>, Option<&[u8]>)> = bytes
        .iter()
        .map(|b| (0, None, Some(b.as_slice())))
        .collect();
    produce_with(topic, 1, &[], &recs);
}

/// The rows of a file sink with their multiplicities (`op` and `epoch` removed).
fn file_state(path: &Path) -> BTreeMap<String, i64> {
    let mut state = BTreeMap::new();
    for mut line in file_lines(path) {
        let obj = line.as_object_mut().unwrap();
        let sign = if obj.remove("op").unwrap() == "+" {
            1
        } else {
            -1
        };
        obj.remove("epoch");
        *state.entry(line.to_string()).or_insert(0) += sign;
    }
    state.retain(|_, n| *n != 0);
    state
}

fn expect_rows(path: &Path, rows: &[Value]) {
    let want: BTreeMap<String, i64> = rows.iter().map(|r| (r.to_string(), 1)).collect();
    assert_eq!(file_state(path), want);
}

fn check_fails(name: &str, sql: &str, wants: &[&str]) -> String {
    let out = ddflow(&["check", sql_file(name, sql).to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for w in wants {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
    err
}

#[test]
fn issue9_01_like_backtracks_over_percent_in_the_data_and_honours_escape() {
    let (input, path) = (unique("like-in"), temp_path("like.jsonl"));
    let words = ["a%c", "abc", "100%", "100", "a_b", "axb"];
    let recs: Vec<(i32, Option<&[u8]>, Option<&[u8]>)> = words
        .iter()
        .map(|w| (0, None, Some(w.as_bytes())))
        .collect();
    produce_with(&input, 1, &[], &recs);
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'raw',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         {}
         INSERT INTO out SELECT value, value LIKE 'a%', value LIKE '%!%%' ESCAPE '!',
           value LIKE 'a!_b' ESCAPE '!' FROM words;",
        file_sink("w STRING, p1 BOOLEAN, p2 BOOLEAN, p3 BOOLEAN", &path)
    );
    ddflow_ok(&["run", sql_file("like", &sql).to_str().unwrap()]);
    let row = |w: &str, p1, p2, p3| json!({"w": w, "p1": p1, "p2": p2, "p3": p3});
    expect_rows(
        &path,
        &[
            row("a%c", true, true, false),
            row("abc", true, false, false),
            row("100%", false, true, false),
            row("100", false, false, false),
            row("a_b", true, false, true),
            row("axb", true, false, false),
        ],
    );
}

#[test]
fn issue9_02_bigint_sum_is_exact_avg_uses_it_and_an_overflowing_sum_fails_the_run() {
    let input = unique("sum-in");
    let big = 1i64 << 62;
    json_records(
        &input,
        &[
            json!({"k": "a", "x": big}),
            json!({"k": "a", "x": big}),
            json!({"k": "a", "x": big}),
            json!({"k": "b", "x": 1}),
            json!({"k": "b", "x": 2}),
            json!({"k": "c", "x": i64::MAX}),
            json!({"k": "c", "x": i64::MAX}),
            json!({"k": "c", "x": -i64::MAX}),
        ],
    );
    // AVG from the exact sum (a BIGINT, truncated toward zero, as in Flink; of a DOUBLE, a
    // DOUBLE); a SUM that passes 64 bits on the way but ends inside is exact.
    let path = temp_path("avg.jsonl");
    let sql = format!(
        "{}{}INSERT INTO out SELECT k, AVG(x), AVG(CAST(x AS DOUBLE)), COUNT(*),
           SUM(CASE WHEN k <> 'a' THEN x END)
           FROM t GROUP BY k HAVING AVG(x) >= 1;",
        json_source(&input, "k STRING, x BIGINT", ""),
        file_sink("k STRING, a BIGINT, f DOUBLE, n BIGINT, s BIGINT", &path)
    );
    ddflow_ok(&["run", sql_file("avg", &sql).to_str().unwrap()]);
    expect_rows(
        &path,
        &[
            json!({"k": "a", "a": big, "f": big as f64, "n": 3, "s": null}),
            json!({"k": "b", "a": 1, "f": 1.5, "n": 2, "s": 3}),
            json!({"k": "c", "a": i64::MAX / 3, "f": i64::MAX as f64 / 3.0, "n": 3, "s": i64::MAX}),
        ],
    );
    // A SUM whose result does not fit BIGINT stops the run before the epoch is written.
    let path = temp_path("sum.jsonl");
    let sql = format!(
        "{}{}INSERT INTO out SELECT k, SUM(x) FROM t GROUP BY k;",
        json_source(&input, "k STRING, x BIGINT", ""),
        file_sink("k STRING, s BIGINT", &path)
    );
    let out = ddflow(&["run", sql_file("sum", &sql).to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "in \"out\": SUM(x) does not fit BIGINT for the group (k = \"a\"): its exact sum is 13835058055282163712"
        ),
        "{err}"
    );
    assert!(err.contains("hint: sums are exact in 128 bits"), "{err}");
    assert_eq!(file_lines(&path), Vec::<Value>::new(), "nothing written");
}

#[test]
fn issue9_03_nan_infinities_and_null_are_five_distinct_keys() {
    let (input, output) = (unique("nan-in"), unique("nan-out"));
    let values = ["NaN", "Infinity", "-Infinity", "1.5", "NaN"];
    let mut records: Vec<Value> = values.iter().map(|v| json!({ "s": v })).collect();
    records.push(json!({ "s": null }));
    json_records(&input, &records);
    let b = bootstrap();
    let sql = format!(
        "{}CREATE TABLE o (x DOUBLE, n BIGINT, PRIMARY KEY (x) NOT ENFORCED) WITH ('connector' = 'kafka',
           'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO o SELECT CAST(s AS DOUBLE) AS x, COUNT(*) AS n FROM t GROUP BY CAST(s AS DOUBLE);",
        json_source(&input, "s STRING", "")
    );
    ddflow_ok(&["run", sql_file("nan", &sql).to_str().unwrap()]);
    let records = ddflow::kafka::read_topic(&b, &output, Duration::from_secs(20)).unwrap();
    let state = ddflow::kafka::upsert_state(&records);
    let want: BTreeMap<String, String> = [
        (r#"{"x":"NaN"}"#, r#"{"x":"NaN","n":2}"#),
        (r#"{"x":"Infinity"}"#, r#"{"x":"Infinity","n":1}"#),
        (r#"{"x":"-Infinity"}"#, r#"{"x":"-Infinity","n":1}"#),
        (r#"{"x":1.5}"#, r#"{"x":1.5,"n":1}"#),
        (r#"{"x":null}"#, r#"{"x":null,"n":1}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(state, want);
}

const KEYED_TABLES: &str = "CREATE TABLE t (k STRING, v BIGINT) WITH ('connector' = 'kafka',
    'topic' = 't', 'properties.bootstrap.servers' = 'x', 'format' = 'json');\n";

#[test]
fn issue9_04_a_sink_key_that_does_not_cover_the_query_key_is_refused() {
    let sink = |key: &str| {
        format!(
            "{KEYED_TABLES}CREATE TABLE o (k STRING, v BIGINT, n BIGINT, PRIMARY KEY ({key}) NOT ENFORCED)
               WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'x');\n"
        )
    };
    check_fails(
        "narrow_key",
        &format!(
            "{}INSERT INTO o SELECT k, v, COUNT(*) FROM t GROUP BY k, v;",
            sink("k")
        ),
        &[
            "narrow_key.sql:5:",
            "sink \"o\" has PRIMARY KEY (k), but the query's rows are unique only by (k, v)",
            "hint: declare PRIMARY KEY (k, v) NOT ENFORCED",
        ],
    );
    check_fails(
        "no_key",
        &format!("{}INSERT INTO o SELECT k, v, v FROM t;", sink("k")),
        &[
            "can produce several rows per key",
            "'sink.mode' = 'changelog'",
        ],
    );
    let ok = sql_file(
        "wide_key",
        &format!(
            "{}INSERT INTO o SELECT k, v, COUNT(*) FROM t GROUP BY k, v;",
            sink("k, v")
        ),
    );
    ddflow_ok(&["check", ok.to_str().unwrap()]);
}

#[test]
fn issue9_05_a_second_insert_into_one_sink_is_refused() {
    check_fails(
        "two_inserts",
        &format!(
            "{KEYED_TABLES}CREATE TABLE o (k STRING, n BIGINT, PRIMARY KEY (k) NOT ENFORCED)
               WITH ('connector' = 'kafka', 'topic' = 'o', 'properties.bootstrap.servers' = 'x');
             INSERT INTO o SELECT k, COUNT(*) FROM t GROUP BY k;
             INSERT INTO o SELECT k, SUM(v) FROM t GROUP BY k;"
        ),
        &[
            "two_inserts.sql:6:",
            "table \"o\" is already written by the INSERT INTO at 5:",
        ],
    );
}

#[test]
fn issue9_06_columns_named_like_a_sinks_own_fields_are_refused() {
    check_fails(
        "op_column",
        &format!(
            "{KEYED_TABLES}CREATE TABLE o (k STRING, op STRING) WITH ('connector' = 'kafka', 'topic' = 'o',
               'properties.bootstrap.servers' = 'x', 'sink.mode' = 'changelog');
             INSERT INTO o SELECT k, k FROM t;"
        ),
        &["column \"op\" of sink \"o\" has the name of the field \"op\" that 'sink.mode' = 'changelog' adds"],
    );
    check_fails(
        "epoch_column",
        &format!(
            "{KEYED_TABLES}CREATE TABLE o (k STRING, epoch BIGINT) WITH ('connector' = 'filesystem', 'path' = '/tmp/x');
             INSERT INTO o SELECT k, v FROM t;"
        ),
        &["column \"epoch\" of sink \"o\" has the name of the field \"epoch\" that a file sink adds"],
    );
}

#[test]
fn issue9_07_a_global_aggregate_over_no_rows_is_one_row_in_batch_and_streaming() {
    let input = unique("empty-in");
    produce_with(&input, 2, &[], &[]);
    let cols = "n BIGINT, s BIGINT, m BIGINT";
    let query = "INSERT INTO out SELECT COUNT(*), SUM(x), MAX(x) FROM t;";
    let path = temp_path("empty.jsonl");
    let sql = format!(
        "{}{}{query}",
        json_source(&input, "x BIGINT", ""),
        file_sink(cols, &path)
    );
    ddflow_ok(&["run", sql_file("empty", &sql).to_str().unwrap(), "-w", "2"]);
    assert_eq!(
        file_lines(&path),
        [json!({"n": 0, "s": null, "m": null, "op": "+", "epoch": 0})]
    );
    // Live: the empty row first, replaced once records arrive.
    let path = temp_path("live.jsonl");
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE t (x BIGINT) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
         {}{query}",
        file_sink(cols, &path)
    );
    let file = sql_file("live", &sql);
    let child = ddflow_command(&["run", file.to_str().unwrap(), "--duration", "6s"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while file_lines(&path).is_empty() {
        assert!(Instant::now() < deadline, "the empty row did not appear");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(file_state(&path).len(), 1);
    json_records(&input, &[json!({"x": 4}), json!({"x": 7})]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    expect_rows(&path, &[json!({"n": 2, "s": 11, "m": 7})]);
    assert_eq!(file_lines(&path)[0]["n"], 0, "the empty row came first");
}

/// The word count with the default start mode (the consumer group's committed offsets).
fn resuming_word_count(input: &str, output: &str, group: &str, startup: &str) -> String {
    let b = bootstrap();
    format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'properties.group.id' = '{group}', 'format' = 'raw'{startup});
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    )
}

/// The word count of [`resuming_word_count`], bounded, in a file of its own.
fn bounded_resuming_word_count(name: &str, input: &str, output: &str, group: &str) -> PathBuf {
    let sql = resuming_word_count(
        input,
        output,
        group,
        ", 'scan.bounded.mode' = 'latest-offset'",
    );
    sql_file(name, &sql)
}

fn words_topic(topic: &str, words: &[&str]) {
    let recs: Vec<(i32, Option<&[u8]>, Option<&[u8]>)> = words
        .iter()
        .map(|w| (0, None, Some(w.as_bytes())))
        .collect();
    produce_with(topic, 1, &[], &recs);
}

#[test]
fn issue9_08_a_plain_rerun_resumes_with_its_state() {
    let (input, output, group) = (unique("rerun-in"), unique("rerun-out"), unique("rerun-g"));
    words_topic(&input, &["a"; 5]);
    let state = temp_path("state");
    let file = bounded_resuming_word_count("rerun", &input, &output, &group);
    let run = || {
        let out = ddflow_command(&["run", file.to_str().unwrap()])
            .env("DDFLOW_STATE_DIR", &state)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    run();
    assert_eq!(word_counts_in(&output)["a"], 5);
    words_topic(&input, &["a", "b"]);
    run();
    assert_eq!(
        word_counts_in(&output),
        [("a".to_string(), 6), ("b".to_string(), 1)].into()
    );
    assert_eq!(committed(&group, &input), vec![Some(7)]);
    // The state is where the documentation says: one directory per file and group.
    let dirs: Vec<_> = std::fs::read_dir(&state).unwrap().collect();
    assert_eq!(dirs.len(), 1);
}

#[test]
fn issue9_08_committed_offsets_without_their_state_are_refused() {
    let (input, output, group) = (
        unique("nostate-in"),
        unique("nostate-out"),
        unique("nostate-g"),
    );
    words_topic(&input, &["a"; 5]);
    let file = bounded_resuming_word_count("nostate", &input, &output, &group);
    ddflow_ok(&["run", file.to_str().unwrap()]);
    words_topic(&input, &["a"]);
    let empty = temp_path("empty-ckpt");
    let out = ddflow(&[
        "run",
        file.to_str().unwrap(),
        "--checkpoint-dir",
        empty.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "table \"words\" would resume from the offsets consumer group \"{group}\" committed on topic \"{input}\" (partition:offset 0:5)"
        )),
        "{err}"
    );
    assert!(err.contains("hint: to recompute from the start"), "{err}");
    assert_eq!(word_counts_in(&output)["a"], 5, "nothing was written");
}

#[test]
fn issue9_08_a_journal_without_a_checkpoint_and_a_moving_start_is_refused() {
    let (input, output, group) = (unique("jrnl-in"), unique("jrnl-out"), unique("jrnl-g"));
    words_topic(&input, &["old"]);
    let sql = resuming_word_count(
        &input,
        &output,
        &group,
        ", 'scan.startup.mode' = 'latest-offset'",
    );
    let file = sql_file("journal", &sql);
    let dir = temp_path("jrnl-ckpt");
    let args = [
        "run",
        file.to_str().unwrap(),
        "--checkpoint-dir",
        dir.to_str().unwrap(),
        "--checkpoint-interval",
        "1h",
    ];
    let mut child = ddflow_command(&args).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    words_topic(&input, &["new", "new"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let done = ddflow::kafka::partition_count(&bootstrap(), &output, Duration::from_secs(2))
            .is_ok()
            && word_counts_in(&output).get("new") == Some(&2);
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the first run wrote nothing");
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL: no final checkpoint
    child.wait().unwrap();
    let out = ddflow(&args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("holds the journal of a run that stopped before its first checkpoint, and table \"words\" starts at 'latest-offset'"),
        "{err}"
    );
}

#[test]
fn issue9_09_every_line_of_a_csv_message_is_a_row() {
    let (input, path) = (unique("csv-in"), temp_path("csv.jsonl"));
    let messages: [&[u8]; 3] = [b"a,1\nb,2\nc,3\n", b"d,4\ne,x", b"f,6"];
    let recs: Vec<(i32, Option<&[u8]>, Option<&[u8]>)> =
        messages.iter().map(|m| (0, None, Some(*m))).collect();
    produce_with(&input, 1, &[], &recs);
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE t (w STRING, n BIGINT) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'csv', 'format.bad-records' = 'skip',
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         {}INSERT INTO out SELECT w, n FROM t;",
        file_sink("w STRING, n BIGINT", &path)
    );
    let out = ddflow_ok(&[
        "run",
        sql_file("csv", &sql).to_str().unwrap(),
        "--report-json",
    ]);
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(report["metrics"]["records_read"], 3);
    assert_eq!(
        report["metrics"]["records_skipped"], 1,
        "the message with a bad line"
    );
    let row = |w: &str, n: i64| json!({"w": w, "n": n});
    expect_rows(&path, &[row("a", 1), row("b", 2), row("c", 3), row("f", 6)]);
}

#[test]
fn issue9_10_a_written_topic_that_is_also_read_is_refused() {
    let tables = |dlq: &str, sink: &str| {
        format!(
            "CREATE TABLE t (v STRING) WITH ('connector' = 'kafka', 'topic' = 'in',
               'properties.bootstrap.servers' = 'x', 'format' = 'raw',
               'format.bad-records' = 'dead-letter', 'format.dead-letter.topic' = '{dlq}');
             CREATE TABLE o (v STRING) WITH ('connector' = 'kafka', 'topic' = '{sink}',
               'properties.bootstrap.servers' = 'x', 'sink.mode' = 'changelog');
             INSERT INTO o SELECT v FROM t;"
        )
    };
    check_fails(
        "dlq_loop",
        &tables("in", "out"),
        &["topic \"in\" is the source table \"t\" and the dead-letter topic of table \"t\": ddflow would read what it writes, forever"],
    );
    check_fails(
        "sink_loop",
        &tables("dead", "in"),
        &["topic \"in\" is the source table \"t\" and the sink \"o\""],
    );
    check_fails(
        "dlq_is_sink",
        &tables("out", "out"),
        &["both would write it"],
    );
}

#[test]
fn issue9_11_tombstones_are_skipped_and_counted() {
    let (input, output) = (unique("tomb-in"), unique("tomb-out"));
    produce_with(
        &input,
        1,
        &[],
        &[
            (0, Some(b"k1"), Some(b"a")),
            (0, Some(b"k1"), None),
            (0, Some(b"k2"), Some(b"b")),
        ],
    );
    let file = sql_file("tomb", &word_count_sql(&input, &output, &unique("g")));
    let out = ddflow_ok(&["run", file.to_str().unwrap(), "--report-json"]);
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(report["metrics"]["tombstones_skipped"], 1);
    assert_eq!(report["metrics"]["records_read"], 3);
    assert_eq!(
        word_counts_in(&output),
        [("a".to_string(), 1), ("b".to_string(), 1)].into()
    );
}

#[test]
fn issue9_12_a_second_run_on_one_checkpoint_directory_is_refused() {
    let (input, output) = (unique("lock-in"), unique("lock-out"));
    words_topic(&input, &["a"]);
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'raw', 'scan.startup.mode' = 'earliest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    );
    let file = sql_file("lock", &sql);
    let dir = temp_path("lock-ckpt");
    let args = [
        "run",
        file.to_str().unwrap(),
        "--checkpoint-dir",
        dir.to_str().unwrap(),
    ];
    let mut first = ddflow_command(&args).spawn().unwrap();
    let lock = dir.join("lock-p0");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the first run did not lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = ddflow(&args);
    let err = text(&second.stderr);
    assert_eq!(second.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "is in use by another ddflow process (pid {}, process index 0)",
            first.id()
        )),
        "{err}"
    );
    first.kill().unwrap(); // however the holder exits, the lock goes with it
    first.wait().unwrap();
    let third = ddflow(&[&args[..], &["--duration", "1s"]].concat());
    assert!(third.status.success(), "{}", text(&third.stderr));
}

#[test]
fn issue9_13_deep_expressions_are_an_error_with_a_position_not_a_crash() {
    let table = "CREATE TABLE t (v BIGINT) WITH ('connector' = 'kafka', 'topic' = 't',
        'properties.bootstrap.servers' = '127.0.0.1:1', 'format' = 'json');
      CREATE TABLE o (x BIGINT) WITH ('connector' = 'print');\n";
    let chain = vec!["v"; 5000].join(" + ");
    let nested = format!("{}v{}", "(".repeat(5000), ")".repeat(5000));
    for (name, expr) in [("chain", &chain), ("nested", &nested)] {
        let file = sql_file(name, &format!("{table}INSERT INTO o SELECT {expr} FROM t;"));
        for command in ["check", "explain", "run"] {
            let out = ddflow(&[command, file.to_str().unwrap()]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {name}: {err}");
            assert!(
                err.contains(&format!("{name}.sql:4:")) && err.contains("expression too deep"),
                "{command} {name}: {err}"
            );
        }
    }
    // A long IN list is not deep: it plans.
    let list: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    let file = sql_file(
        "in_list",
        &format!(
            "{table}INSERT INTO o SELECT v FROM t WHERE v IN ({});",
            list.join(", ")
        ),
    );
    ddflow_ok(&["check", file.to_str().unwrap()]);
}

#[test]
fn issue9_14_every_compression_codec_is_read() {
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let (input, output) = (unique(&format!("{codec}-in")), unique("codec-out"));
        let words: Vec<String> = (0..2000).map(|i| format!("w{}", i % 13)).collect();
        produce_with(
            &input,
            2,
            &[("compression.type", codec)],
            &round_robin(&words, 2),
        );
        let file = sql_file("codec", &word_count_sql(&input, &output, &unique("g")));
        let out = ddflow(&["run", file.to_str().unwrap(), "--broker-timeout", "5s"]);
        assert!(out.status.success(), "{codec}: {}", text(&out.stderr));
        assert_eq!(word_counts_in(&output), count(&words), "{codec}");
    }
}

#[test]
fn issue9_15_tls_and_sasl_are_built_in() {
    // The settings a managed Kafka service needs are accepted by the linked librdkafka.
    let sql = "CREATE TABLE t (v STRING) WITH ('connector' = 'kafka', 'topic' = 't',
        'properties.bootstrap.servers' = 'x', 'format' = 'raw',
        'properties.security.protocol' = 'SASL_SSL', 'properties.sasl.mechanism' = 'SCRAM-SHA-512',
        'properties.sasl.username' = 'u', 'properties.sasl.password' = 'p',
        'properties.builtin.features' = 'ssl,sasl_plain,sasl_scram,gzip,snappy,lz4,zstd');
      CREATE TABLE o (v STRING) WITH ('connector' = 'print');
      INSERT INTO o SELECT v FROM t;";
    ddflow_ok(&["check", sql_file("sasl", sql).to_str().unwrap()]);
}

#[test]
fn issue9_16_sigterm_drains_commits_and_checkpoints() {
    let (input, output, group) = (unique("term-in"), unique("term-out"), unique("term-g"));
    words_topic(&input, &["a", "b", "a"]);
    let sql = resuming_word_count(&input, &output, &group, "");
    let file = sql_file("term", &sql);
    let dir = temp_path("term-ckpt");
    let child = ddflow_command(&[
        "run",
        file.to_str().unwrap(),
        "--checkpoint-dir",
        dir.to_str().unwrap(),
        "--checkpoint-interval",
        "1h",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = ddflow::kafka::partition_count(&bootstrap(), &output, Duration::from_secs(2))
            .is_ok()
            && word_counts_in(&output).values().sum::<i64>() == 3;
        if seen {
            break;
        }
        assert!(Instant::now() < deadline, "no output");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(committed(&group, &input), vec![Some(3)]);
    let manifest = ddflow::checkpoint::Store::open(&dir)
        .unwrap()
        .latest()
        .unwrap()
        .expect("a final checkpoint");
    assert_eq!(manifest.sources["words"], vec![(0, 3)]);
}

#[test]
fn issue9_17_secret_property_values_are_never_printed() {
    let b = bootstrap();
    let source = |props: &str| {
        format!(
            "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 't',
               'properties.bootstrap.servers' = '{b}', 'format' = 'raw', {props});
             CREATE TABLE o (value STRING) WITH ('connector' = 'print');
             INSERT INTO o SELECT value FROM words;"
        )
    };
    let err = check_fails(
        "misspelt",
        &source("'properties.sasl.pasword' = 'hunter2', 'properties.socket.timeout.ms' = 'soon'"),
        &[
            "unknown Kafka client property 'properties.sasl.pasword' for table \"words\"",
            "invalid value for 'properties.socket.timeout.ms' of table \"words\"",
            "hint: did you mean 'properties.sasl.password'?",
        ],
    );
    assert!(!err.contains("hunter2"), "{err}");
    check_fails(
        "protected",
        &source("'properties.enable.auto.commit' = 'true'"),
        &["option 'properties.enable.auto.commit' of table \"words\" cannot be set: ddflow commits offsets itself"],
    );
    // A run that fails to connect with a password set does not show it either.
    let file = sql_file(
        "secret_run",
        &source(
            "'properties.security.protocol' = 'SASL_PLAINTEXT', 'properties.sasl.mechanism' = 'PLAIN',
             'properties.sasl.username' = 'u', 'properties.sasl.password' = 'hunter2'",
        )
        .replace(&b, "127.0.0.1:1"),
    );
    let path = file.to_str().unwrap();
    for args in [
        &["check", path][..],
        &["explain", path],
        &["run", path, "--broker-timeout", "2s"],
    ] {
        let out = ddflow_command(args)
            .env("DDFLOW_LOG", "debug")
            .output()
            .unwrap();
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("hunter2"), "{args:?}: {all}");
    }
}

#[test]
fn issue9_doubles_and_timestamps_print_as_sql_values_and_json_follows_column_order() {
    let (input, output) = (unique("fmt-in"), unique("fmt-out"));
    json_records(
        &input,
        &[json!({"d": 1e300, "w": 1.0, "ts": "2026-11-25 13:49:56.123"})],
    );
    let b = bootstrap();
    let sql = format!(
        "{}CREATE TABLE shown (zeta STRING, alpha STRING, ts TIMESTAMP) WITH ('connector' = 'print');
         CREATE TABLE o (zeta DOUBLE, alpha DOUBLE, ts TIMESTAMP) WITH ('connector' = 'kafka',
           'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'sink.mode' = 'changelog');
         INSERT INTO shown SELECT CAST(d AS STRING), CAST(w AS STRING), ts FROM t;
         INSERT INTO o SELECT d, w, ts FROM t;",
        json_source(&input, "d DOUBLE, w DOUBLE, ts TIMESTAMP", "")
    );
    let out = ddflow_ok(&["run", sql_file("fmt", &sql).to_str().unwrap()]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains("| +  | 1.0E300 | 1.0   | 2026-11-25 13:49:56.123 |"),
        "{shown}"
    );
    assert!(!shown.contains("1764"), "no raw epoch numbers: {shown}");
    let records = ddflow::kafka::read_topic(&b, &output, Duration::from_secs(20)).unwrap();
    assert_eq!(
        records[0].value.as_deref(),
        Some(r#"{"zeta":1e+300,"alpha":1.0,"ts":"2026-11-25 13:49:56.123","op":"+"}"#)
    );
}

#[test]
fn issue9_logs_are_plain_in_a_pipe_and_an_error_is_printed_once() {
    let sql = "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 't',
                 'properties.bootstrap.servers' = '127.0.0.1:1', 'format' = 'raw',
                 'scan.startup.mode' = 'earliest-offset');
               CREATE TABLE out (value STRING, n BIGINT) WITH ('connector' = 'print');
               INSERT INTO out SELECT value, COUNT(*) AS n FROM words GROUP BY value;";
    let out = ddflow_command(&[
        "run",
        sql_file("plain", sql).to_str().unwrap(),
        "--broker-timeout",
        "1s",
    ])
    .env("DDFLOW_LOG", "ddflow=info")
    .output()
    .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains('\u{1b}'), "colour codes in a pipe: {err:?}");
    assert_eq!(err.matches("answered within 1 s").count(), 1, "{err}");
}

#[test]
fn issue9_help_flags_and_typos_say_what_they_mean() {
    let help = text(&ddflow_ok(&["run", "--help"]).stdout);
    assert!(
        help.contains("here -h is timely's --hostfile; --help prints this help"),
        "{help}"
    );
    check_fails(
        "typo",
        &format!("{KEYED_TABLES}CREATE TABLE o (n BIGINT) WITH ('connector' = 'print');\nINSERT INTO o SELECT CUONT(*) FROM t;"),
        &["typo.sql:4:", "unknown function CUONT()", "hint: did you mean COUNT?"],
    );
    check_fails(
        "set_position",
        "\n\n  SET 'checkpoint.intervl' = '5s';",
        &["set_position.sql:3:3: unknown setting 'checkpoint.intervl'"],
    );
    let file = sql_file("flags", &format!("{KEYED_TABLES}CREATE TABLE o (k STRING) WITH ('connector' = 'print');\nINSERT INTO o SELECT k FROM t;"));
    for (flag, want) in [
        (
            "--sink-partitions",
            "invalid value '0' for '--sink-partitions <SINK_PARTITIONS>'",
        ),
        (
            "--checkpoints-kept",
            "invalid value '0' for '--checkpoints-kept <CHECKPOINTS_KEPT>'",
        ),
    ] {
        let out = ddflow(&["run", file.to_str().unwrap(), flag, "0"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn issue9_an_oversized_message_names_message_max_bytes() {
    let (input, output) = (unique("big-in"), unique("big-out"));
    let word = "x".repeat(1 << 20);
    produce_with(
        &input,
        1,
        &[("message.max.bytes", "3000000")],
        &[(0, None, Some(word.as_bytes()))],
    );
    let file = sql_file("big", &word_count_sql(&input, &output, &unique("g")));
    let out = ddflow(&["run", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("raise 'properties.message.max.bytes' on the sink table"),
        "{err}"
    );
}

/// Issue 11, item 5: a division by zero or a CAST that does not convert is never a silent
/// NULL. With the default policy the run fails, naming the sink, expression and row, and
/// nothing of that epoch is written; with `'format.bad-records' = 'skip'` the row is dropped
/// and counted; `TRY_CAST` asks for NULL.
#[test]
fn issue11_evaluation_errors_follow_the_bad_record_policy() {
    let input = unique("eval-in");
    json_records(
        &input,
        &[
            json!({"a": 6, "b": 3, "s": "1"}),
            json!({"a": 1, "b": 0, "s": "2"}),
            json!({"a": 4, "b": 2, "s": "three"}),
        ],
    );
    let query = "INSERT INTO out SELECT a / b, CAST(s AS BIGINT), TRY_CAST(s AS BIGINT) FROM t;";
    let cols = "a BIGINT, b BIGINT, s STRING";
    let sink_cols = "q BIGINT, n BIGINT, t BIGINT";

    let path = temp_path("eval-fail.jsonl");
    let sql = format!(
        "{}{}{query}",
        json_source(&input, cols, ""),
        file_sink(sink_cols, &path)
    );
    let out = ddflow(&["run", sql_file("eval-fail", &sql).to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            r#"in "out": division by zero in (a / b) for the row (a = 1, b = 0, s = "2")"#
        ),
        "{err}"
    );
    assert!(err.contains("hint: TRY_CAST gives NULL"), "{err}");
    assert_eq!(
        file_lines(&path),
        Vec::<Value>::new(),
        "nothing of the epoch written"
    );

    let path = temp_path("eval-skip.jsonl");
    let sql = format!(
        "{}{}{query}",
        json_source(&input, cols, "'format.bad-records' = 'skip',"),
        file_sink(sink_cols, &path)
    );
    let out = ddflow_ok(&[
        "run",
        sql_file("eval-skip", &sql).to_str().unwrap(),
        "--report-json",
    ]);
    let report: Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(report["metrics"]["eval_errors_skipped"], 2);
    assert_eq!(report["metrics"]["records_skipped"], 0);
    expect_rows(&path, &[json!({"q": 2, "n": 1, "t": 1})]);

    let path = temp_path("eval-try.jsonl");
    let sql = format!(
        "{}{}INSERT INTO out SELECT a, b, TRY_CAST(s AS BIGINT) FROM t;",
        json_source(&input, cols, ""),
        file_sink("a BIGINT, b BIGINT, t BIGINT", &path)
    );
    ddflow_ok(&["run", sql_file("eval-try", &sql).to_str().unwrap()]);
    expect_rows(
        &path,
        &[
            json!({"a": 6, "b": 3, "t": 1}),
            json!({"a": 1, "b": 0, "t": 2}),
            json!({"a": 4, "b": 2, "t": null}),
        ],
    );
}
