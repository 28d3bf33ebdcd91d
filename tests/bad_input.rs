//! Bad input gets a clear message naming the problem, and bad records follow their policy.

use std::time::{Duration, Instant};

use crate::support::*;

fn raw_source_sql(input: &str, output: &str, extra: &str) -> String {
    let b = bootstrap();
    format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'raw', {extra}
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    )
}

fn bad_utf8_topic() -> String {
    let input = unique("bad-in");
    produce(
        &input,
        1,
        &[
            (0, b"ok".to_vec()),
            (0, vec![0xff, 0xfe]),
            (0, b"fine".to_vec()),
            (0, b"ok".to_vec()),
        ],
    );
    input
}

#[test]
fn undecodable_record_fails_naming_its_coordinates() {
    let (input, output) = (bad_utf8_topic(), unique("bad-out"));
    let file = sql_file("bad", &raw_source_sql(&input, &output, ""));
    let out = ddflow(&["run", file.to_str().unwrap(), "--group-id", &unique("g")]);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cannot decode record at topic \"{input}\" partition 0 offset 1: value is not valid UTF-8")),
        "{err}"
    );
    assert!(err.contains("hint: set 'format.bad-records'"), "{err}");
}

#[test]
fn skip_policy_counts_and_drops_bad_records() {
    let (input, output) = (bad_utf8_topic(), unique("skip-out"));
    let file = sql_file(
        "skip",
        &raw_source_sql(&input, &output, "'format.bad-records' = 'skip',"),
    );
    let out = ddflow_ok(&["run", file.to_str().unwrap(), "--report-json"]);
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(report["metrics"]["records_skipped"], 1);
    assert_eq!(report["metrics"]["records_read"], 4);
    let expected = [("fine".to_string(), 1), ("ok".to_string(), 2)]
        .into_iter()
        .collect();
    assert_eq!(word_counts_in(&output), expected);
}

/// `--log-format json`: every log line is one JSON object, and the skipped record's warning
/// carries its coordinates as fields.
#[test]
fn json_logs_name_the_skipped_record() {
    let (input, output) = (bad_utf8_topic(), unique("json-log-out"));
    let file = sql_file(
        "json_log",
        &raw_source_sql(&input, &output, "'format.bad-records' = 'skip',"),
    );
    let out = ddflow_ok(&["run", file.to_str().unwrap(), "--log-format", "json"]);
    let lines: Vec<serde_json::Value> = text(&out.stderr)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let skipped: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "skipping bad record")
        .collect();
    assert_eq!(skipped.len(), 1, "{lines:?}");
    let fields = &skipped[0]["fields"];
    assert_eq!(skipped[0]["level"], "WARN");
    assert_eq!(fields["topic"], input.as_str());
    assert_eq!(
        (fields["partition"].as_i64(), fields["offset"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(fields["skipped"], 1);
}

#[test]
fn dead_letter_topic_gets_exactly_the_bad_records() {
    let (input, output, dlq) = (bad_utf8_topic(), unique("dl-out"), unique("dlq"));
    ddflow::kafka::ensure_topic(&bootstrap(), &dlq, 1, Duration::from_secs(10)).unwrap();
    let extra =
        format!("'format.bad-records' = 'dead-letter', 'format.dead-letter.topic' = '{dlq}',");
    let file = sql_file("dl", &raw_source_sql(&input, &output, &extra));
    ddflow_ok(&["run", file.to_str().unwrap()]);
    let dead = ddflow::kafka::read_topic(&bootstrap(), &dlq, Duration::from_secs(20)).unwrap();
    assert_eq!(dead.len(), 1);
    let header = |k: &str| {
        dead[0]
            .headers
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("ddflow.source.topic"), Some(input.clone()));
    assert_eq!(header("ddflow.source.partition").as_deref(), Some("0"));
    assert_eq!(header("ddflow.source.offset").as_deref(), Some("1"));
    assert!(header("ddflow.error").unwrap().contains("not valid UTF-8"));
    assert_eq!(word_counts_in(&output).values().sum::<i64>(), 3);
}

#[test]
fn json_field_of_wrong_type_names_the_field() {
    let input = unique("json-in");
    produce(
        &input,
        1,
        &[
            (0, br#"{"who":"a","amount":1.5}"#.to_vec()),
            (0, br#"{"who":"b","amount":"lots"}"#.to_vec()),
        ],
    );
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE pay (who STRING, amount DOUBLE) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset',
           'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE out (who STRING, total DOUBLE) WITH ('connector' = 'print');
         INSERT INTO out SELECT who, SUM(amount) AS total FROM pay GROUP BY who;"
    );
    let out = ddflow(&["run", sql_file("json", &sql).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("partition 0 offset 1: field \"amount\": expected DOUBLE, got \"lots\""),
        "{err}"
    );
}

#[test]
fn unreachable_broker_fails_within_the_timeout() {
    let sql = "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = 't',
                 'properties.bootstrap.servers' = '127.0.0.1:1', 'format' = 'raw');
               CREATE TABLE out (value STRING, n BIGINT) WITH ('connector' = 'print');
               INSERT INTO out SELECT value, COUNT(*) AS n FROM words GROUP BY value;";
    let start = Instant::now();
    let out = ddflow(&[
        "run",
        sql_file("unreachable", sql).to_str().unwrap(),
        "--broker-timeout",
        "2s",
    ]);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(3), "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("no broker at \"127.0.0.1:1\" answered within 2 s"),
        "{err}"
    );
}

#[test]
fn bad_sql_reports_line_and_column() {
    let sql = "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka');\nINSERT INTO out SELEC value FROM words;";
    let out = ddflow(&["check", sql_file("bad_sql", sql).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad_sql.sql:2:"), "{err}");
}

#[test]
fn unknown_setting_is_named_with_a_suggestion() {
    let file = sql_file("set", "SET 'checkpoint.intervl' = '5s';");
    let out = ddflow(&["check", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown setting 'checkpoint.intervl'")
            && err.contains("did you mean 'checkpoint.interval'?"),
        "{err}"
    );
}

/// A file table (`'connector' = 'filesystem'`): a missing file fails before the run starts,
/// a line that does not decode fails the run naming the file and line, or is skipped and
/// counted under `'skip'`.
#[test]
fn file_tables_name_their_file_and_line() {
    let rates = temp_path("rates.csv");
    std::fs::write(&rates, "a,1\nb,x\nc,3\n").unwrap();
    let out_path = temp_path("rates-out.jsonl");
    let sql = |path: &std::path::Path, extra: &str| {
        format!(
            "CREATE TABLE rates (c STRING, rate BIGINT) WITH ('connector' = 'filesystem',
               'path' = '{}', 'format' = 'csv' {extra});
             CREATE TABLE o (c STRING, rate BIGINT) WITH ('connector' = 'filesystem', 'path' = '{}');
             INSERT INTO o SELECT c, rate FROM rates;",
            path.display(),
            out_path.display()
        )
    };
    let missing = temp_path("missing.csv");
    let out = ddflow(&["run", sql_file("f", &sql(&missing, "")).to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "table \"rates\" reads the file \"{}\", which cannot be opened",
            missing.display()
        )),
        "{err}"
    );
    let out = ddflow(&["run", sql_file("f", &sql(&rates, "")).to_str().unwrap()]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "line 2 of \"{}\" does not decode",
            rates.display()
        )),
        "{err}"
    );
    let skip = sql(&rates, ", 'format.bad-records' = 'skip'");
    let out = ddflow_ok(&[
        "run",
        sql_file("f", &skip).to_str().unwrap(),
        "--report-json",
    ]);
    let report: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(report["metrics"]["records_skipped"], 1);
    assert_eq!(report["metrics"]["records_read"], 3);
    let rows = final_rows(&out_path, &["c", "rate"]);
    assert_eq!(rows, ["a 1", "c 3"].map(String::from).into());
}
