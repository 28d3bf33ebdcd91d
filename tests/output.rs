//! Output goldens: a dataflow file and its input records give exactly the expected changes,
//! run in-process (no broker). Each case in `tests/output/` is `<case>.sql`, one
//! `<case>.<table>.jsonl` per source table (one record value per line, decoded as the table's
//! format; `@2 {...}` puts a record in partition 2, else it is in partition 0; a line `--`
//! ends an epoch; epoch `i` is at time `i` seconds, which is what idle timeouts measure) and
//! `<case>.out`: per sink and epoch, the changes the sink receives, each `+` or `-` and the
//! row as JSON, sorted, and the error if the run fails (nothing of the epoch it fails in is
//! written). Inputs are bounded: in the last epoch, watermarks pass every record, so every
//! window closes. `UPDATE_GOLDEN=1` rewrites the `.out` files; read the diff before
//! committing it. Adding a case is adding files.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use differential_dataflow::input::Input;

use ddflow::data::Row;
use ddflow::source::decode::{Decoder, RecordRef};
use ddflow::source::statistics::Statistics;

/// The time of input epoch `i`: `i` seconds.
fn time_of(epoch: usize) -> u64 {
    epoch as u64 * 1000
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/output");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

/// Per table, its records split into epochs.
fn inputs(case: &Path, tables: &[String]) -> HashMap<String, Vec<Vec<String>>> {
    tables
        .iter()
        .map(|t| {
            let path = case.with_extension(format!("{t}.jsonl"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut epochs = vec![Vec::new()];
            for line in text.lines() {
                match line.trim() {
                    "--" => epochs.push(Vec::new()),
                    "" => {}
                    record => epochs.last_mut().unwrap().push(record.to_string()),
                }
            }
            (t.clone(), epochs)
        })
        .collect()
}

/// A record's partition (`@N record`, else 0) and its text.
fn partition_of(record: &str) -> (i32, &str) {
    match record.strip_prefix('@') {
        Some(rest) => {
            let (p, r) = rest.split_once(' ').expect("@partition record");
            (p.parse::<i32>().expect("a partition number"), r)
        }
        None => (0, record),
    }
}

/// Run the case; the changes each sink received, as the `.out` text.
fn run(case: &Path) -> String {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(case).unwrap();
    let program = ddflow::plan::plan_text(&name, &text).unwrap_or_else(|e| panic!("{e}"));
    let tables: Vec<String> = program.sources.iter().map(|s| s.name.clone()).collect();
    let inputs = inputs(case, &tables);
    let epochs = inputs.values().map(Vec::len).max().unwrap_or(1);
    let sinks: Vec<(String, ddflow::data::Schema)> = program
        .sinks
        .iter()
        .map(|s| (s.sink.name.clone(), s.sink.schema.clone()))
        .collect();
    let (captured, failure, late, released) = {
        let program = program.clone();
        timely::execute_directly(move |worker| {
            let control = ddflow::control::RunControl::new();
            let captured: Rc<RefCell<Vec<(usize, Row, u64, i64)>>> = Rc::default();
            let (mut handles, probe) = worker.dataflow::<u64, _, _>(|scope| {
                let mut env = HashMap::new();
                let mut handles = Vec::new();
                for source in &program.sources {
                    let (handle, rows) = scope.new_collection::<Row, i64>();
                    let table = source.name.to_ascii_lowercase();
                    env.insert(table.clone(), rows);
                    let watermark = program
                        .watermarks
                        .iter()
                        .find(|w| w.table == table)
                        .map(|w| {
                            let (stats, rows) = scope.new_collection::<Row, i64>();
                            env.insert(ddflow::render::event_time::statistics_name(&table), rows);
                            let value = ddflow::render::event_time::watermark_value(
                                w,
                                source.layout().as_deref(),
                            );
                            (Statistics::new(Some(value)), stats)
                        });
                    handles.push((Decoder::new(source), source.name.clone(), handle, watermark));
                }
                let mut state = ddflow::render::RenderState::new(scope, control.clone());
                let outputs = ddflow::render::render_program(&program, env, &mut state).unwrap();
                let probe = timely::dataflow::ProbeHandle::new();
                for (i, (_, out)) in outputs.into_iter().enumerate() {
                    let captured = captured.clone();
                    out.inspect(move |(r, t, d)| {
                        captured.borrow_mut().push((i, r.clone(), *t, *d))
                    })
                    .probe_with(&probe);
                }
                (handles, probe)
            });
            // As the Kafka source does: every partition holds the watermark back until it
            // has records.
            for (_, table, _, watermark) in handles.iter_mut() {
                if let Some((stats, _)) = watermark.as_mut() {
                    let partitions: std::collections::BTreeSet<i32> = inputs[table.as_str()]
                        .iter()
                        .flatten()
                        .map(|r| partition_of(r).0)
                        .collect();
                    let partitions: Vec<i32> = partitions.into_iter().collect();
                    stats.announce(&partitions, time_of(0));
                }
            }
            for epoch in 0..epochs {
                let (now, next) = (time_of(epoch), time_of(epoch + 1));
                for (decoder, table, handle, watermark) in handles.iter_mut() {
                    let records = inputs[table.as_str()]
                        .get(epoch)
                        .cloned()
                        .unwrap_or_default();
                    let mut partitions = std::collections::BTreeSet::new();
                    for (offset, record) in records.iter().enumerate() {
                        let (partition, record) = partition_of(record);
                        partitions.insert(partition);
                        let mut rows = Vec::new();
                        let rec = RecordRef {
                            key: None,
                            payload: Some(record.as_bytes()),
                            partition,
                            offset: offset as i64,
                            timestamp: None,
                        };
                        decoder
                            .decode(rec, &mut rows)
                            .unwrap_or_else(|e| panic!("{table}: {record}: {e}"));
                        for row in rows {
                            if let Some((stats, _)) = watermark.as_mut() {
                                stats.observe(partition, now, &row);
                            }
                            handle.update(row, 1);
                        }
                    }
                    if let Some((stats, input)) = watermark.as_mut() {
                        if epoch + 1 == epochs {
                            let all: Vec<i32> = (0..16).collect();
                            stats.finish(&all, now);
                        }
                        for (row, _) in stats.drain_before(next) {
                            input.update(row, 1);
                        }
                        input.advance_to(next);
                        input.flush();
                    }
                    handle.advance_to(next);
                    handle.flush();
                }
                while probe.less_than(&next) {
                    worker.step();
                }
                // A failed run writes nothing from the epoch it failed in.
                if control.failed() {
                    let error = control
                        .take_error()
                        .map_or(String::new(), |e| e.to_string());
                    let changes = captured.borrow().clone();
                    return (changes, Some((now, error)), 0, 0);
                }
            }
            let changes = captured.borrow().clone();
            let metrics = control.metrics.snapshot();
            (
                changes,
                None,
                metrics.late_records_dropped,
                metrics.state_released,
            )
        })
    };
    let written_before = failure.as_ref().map_or(u64::MAX, |(epoch, _)| *epoch);
    // Per sink and epoch, the consolidated changes.
    let mut changes: BTreeMap<(usize, u64), BTreeMap<String, i64>> = BTreeMap::new();
    for (sink, row, time, diff) in captured.iter().filter(|c| c.2 < written_before) {
        let json = serde_json::Value::Object(ddflow::data::row_to_json(&sinks[*sink].1, row));
        *changes
            .entry((*sink, *time))
            .or_default()
            .entry(json.to_string())
            .or_default() += diff;
    }
    let mut out = String::new();
    for ((sink, time), rows) in changes {
        let rows: Vec<(String, i64)> = rows.into_iter().filter(|(_, d)| *d != 0).collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("{} epoch {}:\n", sinks[sink].0, time / 1000));
        for (row, diff) in rows {
            let sign = if diff > 0 { '+' } else { '-' };
            for _ in 0..diff.unsigned_abs() {
                out.push_str(&format!("  {sign} {row}\n"));
            }
        }
    }
    // What event time discarded, so a golden pins that late rows were dropped and passed
    // state was let go (and not just that the output is right).
    if late > 0 {
        out.push_str(&format!("late records dropped: {late}\n"));
    }
    if released > 0 {
        out.push_str(&format!("state entries released: {released}\n"));
    }
    if let Some((time, error)) = failure {
        out.push_str(&format!(
            "the run fails in epoch {}: {error}\n",
            time / 1000
        ));
    }
    out
}

#[test]
fn output_cases() {
    let cases = cases();
    assert!(!cases.is_empty(), "expected cases in tests/output");
    let mut failures = Vec::new();
    for case in cases {
        let got = run(&case);
        let path = case.with_extension("out");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
        } else {
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if got != want {
                failures.push(format!(
                    "{}: output differs:\n--- want\n{want}\n--- got\n{got}",
                    case.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The watermark rule against an oracle, on random out-of-order input: per seed, three
/// partitions' records over eight epochs, each record up to 3 s behind its partition's clock
/// (the `WATERMARK` allows 1 s, so some are late). The oracle applies the documented rule: a
/// partition's watermark is its largest `ts` less 1 s so far; the table's is the least over
/// the partitions (each holding it back from the start), never going back; a record is late
/// when its `ts` is at or behind the table's watermark after the previous epoch. The
/// on-window-close sink must write each window of the records not late once, with their count,
/// and the update-mode sink must add up to the same rows.
#[test]
fn windows_follow_the_watermark_rule_on_random_input() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    let dir = std::env::temp_dir().join(format!("ddflow-wm-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let case = dir.join("wm.sql");
    std::fs::write(
        &case,
        "CREATE TABLE t (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
           WITH ('connector' = 'kafka', 'topic' = 't', 'properties.bootstrap.servers' = 'b:9092', 'format' = 'json');
         CREATE TABLE closed (k STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT)
           WITH ('connector' = 'print', 'sink.emit' = 'on-window-close');
         CREATE TABLE grow (k STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT)
           WITH ('connector' = 'print');
         CREATE VIEW counts AS SELECT k, window_start, window_end, COUNT(*) AS n
           FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '2' SECOND))
           GROUP BY k, window_start, window_end;
         INSERT INTO closed SELECT * FROM counts;
         INSERT INTO grow SELECT * FROM counts;",
    )
    .unwrap();
    let fmt = ddflow::data::format_timestamp;
    let base: i64 = 1_767_225_600_000;
    for seed in 0..12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut clock = [base; 3];
        // Per epoch, (partition, key, ts).
        let epochs: Vec<Vec<(i32, String, i64)>> = (0..8)
            .map(|_| {
                let mut records = Vec::new();
                for p in 0..3i32 {
                    for _ in 0..rng.random_range(0..6) {
                        clock[p as usize] += rng.random_range(0..1500);
                        let ts = clock[p as usize] - rng.random_range(0..3000);
                        records.push((p, format!("k{}", rng.random_range(0..3)), ts));
                    }
                }
                records
            })
            .collect();
        let text: Vec<String> = epochs
            .iter()
            .map(|records| {
                records
                    .iter()
                    .map(|(p, k, ts)| format!("@{p} {{\"k\":\"{k}\",\"ts\":{ts}}}\n"))
                    .collect::<String>()
            })
            .collect();
        std::fs::write(dir.join("wm.t.jsonl"), text.join("--\n")).unwrap();

        // The oracle.
        let present: BTreeSet<i32> = epochs.iter().flatten().map(|r| r.0).collect();
        let mut highest: BTreeMap<i32, i64> = BTreeMap::new();
        let mut watermark = i64::MIN;
        let mut want: BTreeMap<(String, i64), i64> = BTreeMap::new();
        let mut late = 0;
        for records in &epochs {
            for (p, k, ts) in records {
                if *ts > watermark {
                    let start = ts - ts.rem_euclid(2000);
                    *want.entry((k.clone(), start)).or_default() += 1;
                } else {
                    late += 1;
                }
                let h = highest.entry(*p).or_insert(i64::MIN);
                *h = (*h).max(ts - 1000);
            }
            let least = present
                .iter()
                .map(|p| highest.get(p).copied().unwrap_or(i64::MIN))
                .min()
                .unwrap_or(i64::MIN);
            watermark = watermark.max(least);
        }
        let want: BTreeSet<String> = want
            .iter()
            .map(|((k, s), n)| {
                format!(
                    r#"{{"k":"{k}","window_start":"{}","window_end":"{}","n":{n}}}"#,
                    fmt(*s),
                    fmt(s + 2000)
                )
            })
            .collect();

        // What the sinks received.
        let out = run(&case);
        let mut sink = "";
        let mut closed: Vec<String> = Vec::new();
        let mut grown: BTreeMap<String, i64> = BTreeMap::new();
        let (mut dropped, mut released) = (0, 0);
        for line in out.lines() {
            if let Some(n) = line.strip_prefix("late records dropped: ") {
                dropped = n.parse().unwrap();
                continue;
            }
            if let Some(n) = line.strip_prefix("state entries released: ") {
                released = n.parse::<u64>().unwrap();
                continue;
            }
            if let Some(header) = line.strip_suffix(':') {
                sink = header.split(' ').next().unwrap();
                continue;
            }
            let (sign, row) = line.trim().split_once(' ').expect("a change line");
            let d = if sign == "+" { 1 } else { -1 };
            match sink {
                "closed" => {
                    assert_eq!(sign, "+", "seed {seed}: on-window-close retracted {row}");
                    closed.push(row.to_string());
                }
                "grow" => *grown.entry(row.to_string()).or_default() += d,
                other => panic!("seed {seed}: unexpected output {other}: {line}"),
            }
        }
        let closed_set: BTreeSet<String> = closed.iter().cloned().collect();
        assert_eq!(
            closed.len(),
            closed_set.len(),
            "seed {seed}: a window written twice"
        );
        assert_eq!(closed_set, want, "seed {seed}: closed windows\n{out}");
        grown.retain(|_, d| *d != 0);
        assert!(grown.values().all(|d| *d == 1), "seed {seed}: {grown:?}");
        let grown: BTreeSet<String> = grown.into_keys().collect();
        assert_eq!(grown, want, "seed {seed}: update-mode windows");
        assert_eq!(dropped, late, "seed {seed}: late records dropped");
        // The last epoch ends every partition, so every window's state goes.
        assert!(released > 0, "seed {seed}: no window state released");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
