//! Event time through the broker: watermarks over out-of-order partitions read by several
//! workers, every window kind, both emit modes, against a batch computation.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::*;

/// Milliseconds the records of a partition run behind its newest one, at most: the
/// `WATERMARK` delay, so no record is ever late.
const DISORDER_MS: i64 = 2000;

/// Out-of-order records over three partitions (each up to [`DISORDER_MS`] behind its
/// partition's newest), produced in batches while a two-worker job runs, so partitions and
/// workers move through epochs at different paces. Tumbling and hopping counts written on
/// window close, and cumulating sums written as they grow, equal a batch computation: every
/// window once, complete, nothing retracted on close.
#[test]
fn windows_over_out_of_order_partitions_match_batch() {
    let (input, group) = (unique("et-in"), unique("et-group"));
    let (tumble, hop, cumulate) = (
        temp_path("et-tumble.jsonl"),
        temp_path("et-hop.jsonl"),
        temp_path("et-cumulate.jsonl"),
    );
    let b = bootstrap();
    let sql = format!(
        "CREATE TABLE events (k STRING, v BIGINT, ts TIMESTAMP(3),
             WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
           WITH ('connector' = 'kafka', 'topic' = '{input}', 'properties.bootstrap.servers' = '{b}',
           'properties.group.id' = '{group}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');
         CREATE TABLE tumble (k STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT)
           WITH ('connector' = 'filesystem', 'path' = '{}', 'sink.emit' = 'on-window-close');
         CREATE TABLE hop (k STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT)
           WITH ('connector' = 'filesystem', 'path' = '{}', 'sink.emit' = 'on-window-close');
         CREATE TABLE cumulate (k STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), s BIGINT)
           WITH ('connector' = 'filesystem', 'path' = '{}');
         INSERT INTO tumble SELECT k, window_start, window_end, COUNT(*)
           FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '1' SECOND))
           GROUP BY k, window_start, window_end;
         INSERT INTO hop SELECT k, window_start, window_end, COUNT(*)
           FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '2' SECOND))
           GROUP BY k, window_start, window_end;
         INSERT INTO cumulate SELECT k, window_start, window_end, SUM(v)
           FROM TABLE(CUMULATE(TABLE events, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '2' SECOND))
           GROUP BY k, window_start, window_end;",
        tumble.display(),
        hop.display(),
        cumulate.display()
    );
    let file = sql_file("event_time", &sql);
    produce(&input, 3, &[]);

    // Record i of partition p is at about base + 3i ms, up to DISORDER_MS earlier.
    let base: i64 = 1_767_225_600_000;
    let mut rng = StdRng::seed_from_u64(12);
    let (batches, per_batch) = (20usize, 450usize);
    let events: Vec<(i32, String, i64, i64)> = (0..batches * per_batch)
        .map(|i| {
            let ts = base + 3 * i as i64 - rng.random_range(0..DISORDER_MS);
            let k = format!("k{}", rng.random_range(0..5));
            ((i % 3) as i32, k, rng.random_range(-20..100), ts)
        })
        .collect();
    let json = |(p, k, v, ts): &(i32, String, i64, i64)| {
        (
            *p,
            format!(r#"{{"k":"{k}","v":{v},"ts":{ts}}}"#).into_bytes(),
        )
    };
    let batch_records: Vec<Vec<(i32, Vec<u8>)>> = events
        .chunks(per_batch)
        .map(|c| c.iter().map(json).collect())
        .collect();

    let mut job = ddflow_command(&["run", file.to_str().unwrap(), "-w", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ddflow");
    let topic = input.clone();
    let producer = std::thread::spawn(move || {
        for records in batch_records {
            produce(&topic, 3, &records);
            std::thread::sleep(Duration::from_millis(60));
        }
        // One record per partition far ahead closes every window before it.
        let flush: Vec<(i32, Vec<u8>)> = (0..3)
            .map(|p| {
                let json = format!(r#"{{"k":"flush","v":0,"ts":{}}}"#, base + 10_000_000);
                (p, json.into_bytes())
            })
            .collect();
        produce(&topic, 3, &flush);
    });

    // The batch computation.
    let fmt = ddflow::data::format_timestamp;
    let mut want_tumble: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut want_hop: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut want_cumulate: BTreeMap<(String, i64, i64), i64> = BTreeMap::new();
    for (_, k, v, ts) in &events {
        *want_tumble
            .entry((k.clone(), ts - ts.rem_euclid(1000)))
            .or_default() += 1;
        let last = ts - ts.rem_euclid(500);
        for start in (last - 1500..=last).step_by(500) {
            *want_hop.entry((k.clone(), start)).or_default() += 1;
        }
        let start = ts - ts.rem_euclid(2000);
        for end in (start + 500..=start + 2000).step_by(500) {
            if *ts < end {
                *want_cumulate.entry((k.clone(), start, end)).or_default() += v;
            }
        }
    }
    let rows = |m: &BTreeMap<(String, i64), i64>, size: i64| -> BTreeSet<String> {
        m.iter()
            .map(|((k, s), n)| format!("{k} {} {} {n}", fmt(*s), fmt(s + size)))
            .collect()
    };
    let (want_tumble, want_hop) = (rows(&want_tumble, 1000), rows(&want_hop, 2000));
    let want_cumulate: BTreeSet<String> = want_cumulate
        .iter()
        .map(|((k, s, e), v)| format!("{k} {} {} {v}", fmt(*s), fmt(*e)))
        .collect();

    producer.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while file_lines(&tumble).len() < want_tumble.len() || file_lines(&hop).len() < want_hop.len() {
        assert!(
            Instant::now() < deadline,
            "closed windows: tumble {} of {}, hop {} of {}",
            file_lines(&tumble).len(),
            want_tumble.len(),
            file_lines(&hop).len(),
            want_hop.len()
        );
        assert_running(&mut job);
        std::thread::sleep(Duration::from_millis(200));
    }
    interrupt(job);

    let closed = |path: &std::path::Path| -> BTreeSet<String> {
        let mut seen = closed_window_rows(path, "n");
        seen.retain(|r| !r.starts_with("flush "));
        seen
    };
    assert_eq!(closed(&tumble), want_tumble, "tumbling windows");
    assert_eq!(closed(&hop), want_hop, "hopping windows");
    let mut grown = final_rows(&cumulate, &["k", "window_start", "window_end", "s"]);
    grown.retain(|r| !r.starts_with("flush "));
    assert_eq!(grown, want_cumulate, "cumulating windows");
}

/// `SET 'window.emit' = 'on-window-close'`, Nexmark q5's shape: hopping counts per key, the
/// per-window maximum of those counts, and the keys whose count is the maximum (a join on the
/// window), into a file sink in the default emit mode. Read from a filled topic (three
/// partitions, out of order, 40k records) in 1 ms epochs, so windows grow over many epochs:
/// every row is still written once, when its window closes, never retracted, and the rows
/// equal a batch computation (the end of the bounded read closes the last windows). Without
/// the setting the same run writes counts as they grow (checked, so the test can tell the two
/// apart).
#[test]
fn windows_written_on_close_once_each_through_a_join() {
    let (input, group) = (unique("eoc-in"), unique("eoc-group"));
    let b = bootstrap();
    let sql = |emit: &str, out: &std::path::Path| {
        format!(
            "{emit}
             CREATE TABLE events (k STRING, ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
               WITH ('connector' = 'kafka', 'topic' = '{input}', 'properties.bootstrap.servers' = '{b}',
               'properties.group.id' = '{group}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset',
               'scan.bounded.mode' = 'latest-offset');
             CREATE TABLE hot (k STRING, window_start TIMESTAMP(3), window_end TIMESTAMP(3), n BIGINT)
               WITH ('connector' = 'filesystem', 'path' = '{}');
             CREATE VIEW counts AS SELECT k, window_start, window_end, COUNT(*) AS n
               FROM TABLE(HOP(TABLE events, DESCRIPTOR(ts), INTERVAL '0.5' SECOND, INTERVAL '2' SECOND))
               GROUP BY k, window_start, window_end;
             INSERT INTO hot SELECT c.k, c.window_start, c.window_end, c.n
               FROM counts c JOIN (SELECT window_end, MAX(n) AS m FROM counts GROUP BY window_end) x
               ON c.window_end = x.window_end AND c.n >= x.m;",
            out.display()
        )
    };
    let base: i64 = 1_767_225_600_000;
    let mut rng = StdRng::seed_from_u64(5);
    // Enough records that reading them spans several 1 ms epochs however fast they decode
    // (6,000 could be read in one).
    let events: Vec<(i32, String, i64)> = (0..40_000)
        .map(|i| {
            let ts = base + 2 * i as i64 - rng.random_range(0..DISORDER_MS);
            (i % 3, format!("k{}", rng.random_range(0..8)), ts)
        })
        .collect();
    let records: Vec<(i32, Vec<u8>)> = (events.iter())
        .map(|(p, k, ts)| (*p, format!(r#"{{"k":"{k}","ts":{ts}}}"#).into_bytes()))
        .collect();
    produce(&input, 3, &records);

    // The batch computation: per hopping window, the keys with the most records.
    let want = hot_in_hopping_windows(events.iter().map(|(_, k, ts)| (k.clone(), *ts)), 500, 2000);

    let run = |emit: &str, name: &str| {
        let out = temp_path(name);
        let file = sql_file(name, &sql(emit, &out));
        let flags = ["--epoch", "1ms", "--max-epoch", "1ms"];
        ddflow_ok(&[&["run", file.to_str().unwrap(), "-w", "2"][..], &flags[..]].concat());
        out
    };
    let on_close = run(
        "SET 'window.emit' = 'on-window-close';",
        "eoc-on-close.jsonl",
    );
    assert_eq!(
        closed_window_rows(&on_close, "n"),
        want,
        "rows written on close"
    );

    let grown = run("", "eoc-update.jsonl");
    let lines = file_lines(&grown);
    assert!(
        lines.iter().any(|l| l["op"] == "-"),
        "in the default mode, windows are written as they grow (and retracted)"
    );
    assert_eq!(
        final_rows(&grown, &["k", "window_start", "window_end", "n"]),
        want
    );
}

/// Interval joins under watermarks through the broker: clicks and impressions, each over
/// three partitions and out of order (up to [`DISORDER_MS`], so nothing is late), produced in
/// batches while a two-worker job runs. The inner join (each click with the impressions of
/// its ad in the 100 ms up to it) and the LEFT join's unattributed clicks equal a batch
/// computation, and once records far ahead on every partition move both watermarks past
/// them (twice: state goes at the first epoch after the watermark passed it), every click
/// and impression has left the state of both joins (each join arranges both sides): nothing
/// is kept for ever, and no result is retracted when it goes.
#[test]
fn interval_joins_release_their_state_and_match_batch() {
    let (clicks, impressions, group) = (unique("ij-clicks"), unique("ij-impr"), unique("ij-g"));
    let (attributed, unattributed) = (
        temp_path("ij-attributed.jsonl"),
        temp_path("ij-unattributed.jsonl"),
    );
    let b = bootstrap();
    let table = |name: &str, topic: &str| {
        format!(
            "CREATE TABLE {name} (id BIGINT, ad BIGINT, ts TIMESTAMP(3),
               WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)
             WITH ('connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{b}',
               'properties.group.id' = '{group}', 'format' = 'json', 'scan.startup.mode' = 'earliest-offset');"
        )
    };
    let sql = format!(
        "{}{}
         CREATE TABLE attributed (click BIGINT, impression BIGINT)
           WITH ('connector' = 'filesystem', 'path' = '{}');
         CREATE TABLE unattributed (click BIGINT)
           WITH ('connector' = 'filesystem', 'path' = '{}');
         INSERT INTO attributed SELECT c.id, i.id FROM clicks c, impressions i
           WHERE c.ad = i.ad AND i.ts BETWEEN c.ts - INTERVAL '0.1' SECOND AND c.ts;
         INSERT INTO unattributed SELECT c.id FROM clicks c LEFT JOIN impressions i
           ON c.ad = i.ad AND i.ts BETWEEN c.ts - INTERVAL '0.1' SECOND AND c.ts
           WHERE i.id IS NULL;",
        table("clicks", &clicks),
        table("impressions", &impressions),
        attributed.display(),
        unattributed.display(),
    );
    let file = sql_file("interval_join", &sql);
    produce(&clicks, 3, &[]);
    produce(&impressions, 3, &[]);

    // Record i of each topic is at about base + 3i ms, up to DISORDER_MS earlier.
    let base: i64 = 1_767_225_600_000;
    let mut rng = StdRng::seed_from_u64(7);
    let (batches, per_batch) = (10usize, 300usize);
    let mut records = |_| -> Vec<(i64, i64, i64)> {
        (0..batches * per_batch)
            .map(|i| {
                let ts = base + 3 * i as i64 - rng.random_range(0..DISORDER_MS);
                (i as i64, rng.random_range(0..40), ts)
            })
            .collect()
    };
    let (click_rows, impression_rows) = (records(0), records(1));
    let json = |(id, ad, ts): &(i64, i64, i64)| format!(r#"{{"id":{id},"ad":{ad},"ts":{ts}}}"#);
    let batched = |rows: &[(i64, i64, i64)]| -> Vec<Vec<(i32, Vec<u8>)>> {
        rows.chunks(per_batch)
            .map(|c| {
                c.iter()
                    .map(|r| ((r.0 % 3) as i32, json(r).into_bytes()))
                    .collect()
            })
            .collect()
    };
    let (click_batches, impression_batches) = (batched(&click_rows), batched(&impression_rows));

    let job = ddflow_command(&["run", file.to_str().unwrap(), "-w", "2", "--report-json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ddflow");
    let (c, i) = (clicks.clone(), impressions.clone());
    let producer = std::thread::spawn(move || {
        for (cb, ib) in click_batches.into_iter().zip(impression_batches) {
            produce(&c, 3, &cb);
            produce(&i, 3, &ib);
            std::thread::sleep(Duration::from_millis(60));
        }
        // One record per partition far ahead (ads no other record has) moves both
        // watermarks past everything before it.
        let far = base + 10_000_000;
        let flush = |id: i64, ts: i64| -> Vec<(i32, Vec<u8>)> {
            (0..3)
                .map(|p| (p, json(&(id + p as i64, -1 - id, ts)).into_bytes()))
                .collect()
        };
        produce(&c, 3, &flush(1_000_000, far));
        produce(&i, 3, &flush(2_000_000, far));
        // State goes at the first epoch after the watermark passed it, and the watermark
        // moves with new records: once more, a moment later. (The flush records themselves
        // stay: no watermark after them passes them.)
        std::thread::sleep(Duration::from_millis(1500));
        produce(&c, 3, &flush(1_000_010, far + 10_000));
        produce(&i, 3, &flush(2_000_010, far + 10_000));
    });

    // The batch computation.
    let mut want_attributed = BTreeSet::new();
    let mut want_unattributed = BTreeSet::new();
    for (click, ad, ts) in &click_rows {
        let mut found = false;
        for (impression, _, _) in impression_rows
            .iter()
            .filter(|(_, a, t)| a == ad && (ts - 100..=*ts).contains(t))
        {
            want_attributed.insert(format!("{click} {impression}"));
            found = true;
        }
        if !found {
            want_unattributed.insert(click.to_string());
        }
    }
    assert!(want_attributed.len() > 1000 && want_unattributed.len() > 500);

    producer.join().unwrap();
    let settled = || {
        let mut unattributed = final_rows(&unattributed, &["click"]);
        unattributed.retain(|c| c.parse::<i64>().unwrap() < 1_000_000);
        (
            final_rows(&attributed, &["click", "impression"]),
            unattributed,
        )
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut job = job;
    while settled() != (want_attributed.clone(), want_unattributed.clone()) {
        if Instant::now() > deadline {
            let (a, u) = settled();
            panic!(
                "attributed {} of {} (extra {:?}), unattributed {} of {} (extra {:?})",
                a.intersection(&want_attributed).count(),
                want_attributed.len(),
                a.difference(&want_attributed).take(5).collect::<Vec<_>>(),
                u.intersection(&want_unattributed).count(),
                want_unattributed.len(),
                u.difference(&want_unattributed).take(5).collect::<Vec<_>>(),
            );
        }
        assert_running(&mut job);
        std::thread::sleep(Duration::from_millis(200));
    }
    // The watermark passes a record's state at the epoch after the flush records': give the
    // job a moment to get there.
    std::thread::sleep(Duration::from_secs(2));
    let out = interrupt(job);
    assert_eq!(settled(), (want_attributed, want_unattributed));
    // An inner pair, once written, is never taken back (its rows leaving the state is not a
    // retraction); an unattributed click is, when an impression for it comes.
    let retracted = file_lines(&attributed)
        .iter()
        .filter(|l| l["op"] == "-")
        .count();
    assert_eq!(retracted, 0, "the inner interval join retracted pairs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let metrics = &report["metrics"];
    assert_eq!(metrics["late_records_dropped"], 0, "{metrics}");
    assert_eq!(
        metrics["state_released"],
        2 * (click_rows.len() + impression_rows.len()) as u64,
        "every click and impression leaves both joins' state: {metrics}"
    );
}
