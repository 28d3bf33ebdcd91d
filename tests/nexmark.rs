//! Nexmark conformance: every query of `dataflows/nexmark/` over a bounded Nexmark stream in
//! the broker, run to the end, against the same query computed in batch by SQLite over the
//! same events (`tests/nexmark/qN.sql`; the README there says how the text was rewritten).
//!
//! The stream is `ddflow gen --shape nexmark`'s: 20,000 events (400 persons, 1,200 auctions,
//! 18,400 bids) at 500 events per second of event time (40 s of it, so several windows of
//! each kind), over 4 partitions, produced once for all queries. Each query runs with `-w 2`,
//! its `blackhole` sink swapped for a file sink; what the file's changes add up to must equal
//! SQLite's rows exactly (as multisets), with timestamps compared as milliseconds and
//! `DECIMAL`s as their exact text. Where the SQL leaves a choice (rows that tie in a
//! `ROW_NUMBER`'s `ORDER BY`), the comparison is per partition on the `ORDER BY` values of each
//! rank, and every row written must be one of the candidates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ddflow::bench::nexmark::{runnable, Placement};
use ddflow::data::{DataType, Schema};
use ddflow::loadgen::nexmark::{Event, Nexmark};
use ddflow::loadgen::{generate, KeyDist, LoadSpec, Shape};
use ddflow::spec::SinkConnector;

use crate::support::*;

const EVENTS: u64 = 20_000;
const EVENT_RATE: u64 = 500;
const SEED: u64 = 7;

/// The topic holding the stream, produced once per test process.
fn topic() -> &'static str {
    static TOPIC: OnceLock<String> = OnceLock::new();
    TOPIC.get_or_init(|| {
        let topic = unique("nexmark");
        let spec = LoadSpec {
            bootstrap: bootstrap(),
            topic: topic.clone(),
            count: EVENTS,
            rate: None,
            partitions: 4,
            keys: 1,
            dist: KeyDist::Uniform,
            shape: Shape::Nexmark,
            seed: SEED,
            keyed: false,
            event_rate: Some(EVENT_RATE),
            create_topic: true,
        };
        let report = generate(&spec, &std::sync::atomic::AtomicBool::new(false)).unwrap();
        assert_eq!(report.produced, EVENTS);
        topic
    })
}

/// The same events in SQLite: `person`, `auction`, `bid`, times as milliseconds.
fn sqlite() -> rusqlite::Connection {
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch(
        "CREATE TABLE person (id INTEGER, name TEXT, emailAddress TEXT, creditCard TEXT,
             city TEXT, state TEXT, dateTime INTEGER, extra TEXT);
         CREATE TABLE auction (id INTEGER, itemName TEXT, description TEXT, initialBid INTEGER,
             reserve INTEGER, dateTime INTEGER, expires INTEGER, seller INTEGER,
             category INTEGER, extra TEXT);
         CREATE TABLE bid (auction INTEGER, bidder INTEGER, price INTEGER, channel TEXT,
             url TEXT, dateTime INTEGER, extra TEXT);
         CREATE INDEX bid_auction ON bid (auction);",
    )
    .unwrap();
    let g = Nexmark {
        seed: SEED,
        event_rate: EVENT_RATE,
        ..Default::default()
    };
    let tx = db.unchecked_transaction().unwrap();
    for n in 0..EVENTS {
        match g.event(n) {
            Event::Person(p) => tx.execute(
                "INSERT INTO person VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    p.id as i64,
                    p.name,
                    p.email_address,
                    p.credit_card,
                    p.city,
                    p.state,
                    p.date_time,
                    p.extra
                ],
            ),
            Event::Auction(a) => tx.execute(
                "INSERT INTO auction VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params![
                    a.id as i64,
                    a.item_name,
                    a.description,
                    a.initial_bid as i64,
                    a.reserve as i64,
                    a.date_time,
                    a.expires,
                    a.seller as i64,
                    a.category as i64,
                    a.extra
                ],
            ),
            Event::Bid(b) => tx.execute(
                "INSERT INTO bid VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    b.auction as i64,
                    b.bidder as i64,
                    b.price as i64,
                    b.channel,
                    b.url,
                    b.date_time,
                    b.extra
                ],
            ),
        }
        .unwrap();
    }
    tx.commit().unwrap();
    db
}

/// The rows SQLite computes for `tests/nexmark/<query>.sql`, each value as text.
fn expected(query: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/nexmark/{query}.sql"));
    let sql = std::fs::read_to_string(&path).unwrap();
    let db = sqlite();
    let mut statement = db.prepare(&sql).unwrap();
    let columns = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            (0..columns)
                .map(|i| {
                    Ok(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
                        rusqlite::types::ValueRef::Real(f) => f.to_string(),
                        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                        rusqlite::types::ValueRef::Blob(_) => "BLOB".to_string(),
                    })
                })
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Run `dataflows/nexmark/<query>.sql` over the stream to its end, its sink a file; the rows
/// the file's changes add up to (each value as text, timestamps as milliseconds), with their
/// multiplicities.
fn actual(query: &str) -> BTreeMap<Vec<String>, i64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("dataflows/nexmark/{query}.sql"));
    // A file, or (q10's partitioned sink) a directory.
    let out = temp_path(&format!("{query}-out"));
    let side_input = Path::new(env!("CARGO_MANIFEST_DIR")).join("dataflows/nexmark/side_input.csv");
    let bootstrap = bootstrap();
    let placement = Placement {
        topic: topic(),
        bootstrap: &bootstrap,
        side_input: &side_input,
        sink_file: Some(&out),
        q10_dir: &out,
    };
    let text = runnable(&std::fs::read_to_string(&path).unwrap(), &placement);
    let file = sql_file(query, &text);
    let program = ddflow::plan::plan_text(query, &text).unwrap();
    let schema = program.sinks[0].sink.schema.clone();
    ddflow_ok(&["run", file.to_str().unwrap(), "-w", "2"]);
    let mut rows: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    if let SinkConnector::File { partition_by, .. } = &program.sinks[0].sink.connector {
        if !partition_by.is_empty() {
            for row in partitioned_csv(&out, &schema, partition_by) {
                *rows.entry(row).or_default() += 1;
            }
            return rows;
        }
    }
    for line in file_lines(&out) {
        let row: Vec<String> = (schema.columns.iter())
            .map(|c| value_text(&line[c.name.as_str()], c.ty))
            .collect();
        *rows.entry(row).or_default() += if line["op"] == "+" { 1 } else { -1 };
    }
    rows.retain(|_, n| *n != 0);
    rows
}

/// The rows of a partitioned CSV sink's directory: each `part-0.csv` line's fields, with the
/// partition columns' values read back from the directory names (`dt=2015-07-15/hm=00%3A01`),
/// each value as the text SQLite's result has for it.
fn partitioned_csv(dir: &Path, schema: &Schema, partition_by: &[usize]) -> Vec<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                assert_eq!(
                    path.file_name().unwrap(),
                    "part-0.csv",
                    "{}",
                    path.display()
                );
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty(), "no part files under {}", dir.display());
    let unescape = |s: &str| -> String {
        let mut out = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    let mut rows = Vec::new();
    for file in files {
        let relative = file.strip_prefix(dir).unwrap();
        let parts: Vec<(String, String)> = (relative.parent().unwrap().components())
            .map(|c| {
                let (k, v) = c.as_os_str().to_str().unwrap().split_once('=').unwrap();
                (unescape(k), unescape(v))
            })
            .collect();
        let names: Vec<&str> = partition_by
            .iter()
            .map(|&i| schema.columns[i].name.as_str())
            .collect();
        assert_eq!(
            parts.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            names
        );
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&file)
            .unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            let mut fields = record.iter();
            let row = (schema.columns.iter().enumerate())
                .map(|(i, c)| {
                    let text = match partition_by.iter().position(|&p| p == i) {
                        Some(k) => parts[k].1.clone(),
                        None => fields.next().unwrap().to_string(),
                    };
                    value_text(&serde_json::Value::String(text), c.ty)
                })
                .collect();
            assert!(
                fields.next().is_none(),
                "{}: a line with more fields",
                file.display()
            );
            rows.push(row);
        }
    }
    rows
}

/// A JSON value of the sink as the text SQLite's result has for it.
fn value_text(v: &serde_json::Value, ty: DataType) -> String {
    match (v, ty) {
        (serde_json::Value::Null, _) => "NULL".into(),
        (serde_json::Value::String(s), DataType::Timestamp) => {
            ddflow::data::parse_timestamp(s).unwrap().to_string()
        }
        (serde_json::Value::Number(n), DataType::Decimal(_, scale)) => {
            format!("{:.*}", scale as usize, n.as_f64().unwrap())
        }
        (serde_json::Value::String(s), _) => s.clone(),
        (v, _) => v.to_string(),
    }
}

/// Rows as a multiset.
fn multiset(rows: Vec<Vec<String>>) -> BTreeMap<Vec<String>, i64> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(r).or_default() += 1;
    }
    m
}

/// Multisets equal, or a readable account of how they differ.
fn assert_same(
    query: &str,
    actual: &BTreeMap<Vec<String>, i64>,
    expected: &BTreeMap<Vec<String>, i64>,
) {
    let missing: Vec<_> = (expected.iter())
        .filter(|(r, n)| actual.get(*r) != Some(n))
        .take(5)
        .collect();
    let extra: Vec<_> = (actual.iter())
        .filter(|(r, n)| expected.get(*r) != Some(n))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{query}: {} rows expected, {} written; expected but not written (or not as often): {missing:?}; written but not expected: {extra:?}",
        expected.values().sum::<i64>(),
        actual.values().sum::<i64>()
    );
    assert!(
        !expected.is_empty(),
        "{query}: the stream gives this query no rows"
    );
}

/// An exactly determined query: the rows must be SQLite's.
fn exact(query: &str) {
    let expected = multiset(expected(query));
    assert_same(query, &actual(query), &expected);
}

/// A `ROW_NUMBER` query keeping the first `n` rows of each partition. SQLite's rows are every
/// candidate with its row number in column `rank` (a sink column when `rank_in_sink`, else an
/// extra last column). Rows that tie in the `ORDER BY` may be numbered either way, so per
/// partition the written rows' `ORDER BY` values, rank by rank, must be SQLite's, and each
/// written row must be a candidate.
fn top_n(
    query: &str,
    n: usize,
    partition: &[usize],
    order: &[usize],
    rank: usize,
    rank_in_sink: bool,
) {
    let actual = actual(query);
    assert!(
        actual.values().all(|m| *m == 1),
        "{query}: a row written twice"
    );
    let candidates = expected(query);
    let rank_of = |row: &[String]| row[rank].parse::<usize>().unwrap();
    let key = |row: &[String], cols: &[usize]| -> Vec<String> {
        cols.iter().map(|c| row[*c].clone()).collect()
    };
    // Per partition: (rank, ORDER BY values), from SQLite's first n and from what was written.
    let mut want: BTreeMap<Vec<String>, Vec<(usize, Vec<String>)>> = BTreeMap::new();
    let mut candidate_rows = std::collections::BTreeSet::new();
    for row in &candidates {
        let sink_row: Vec<String> = if rank_in_sink {
            row.clone()
        } else {
            row[..row.len() - 1].to_vec()
        };
        // With the rank in the sink, a candidate is the row whatever number it got.
        let mut unranked = sink_row.clone();
        if rank_in_sink {
            unranked[rank] = String::new();
        }
        candidate_rows.insert(unranked);
        if rank_of(row) <= n {
            want.entry(key(row, partition))
                .or_default()
                .push((rank_of(row), key(row, order)));
        }
    }
    let mut got: BTreeMap<Vec<String>, Vec<(usize, Vec<String>)>> = BTreeMap::new();
    for row in actual.keys() {
        let mut unranked = row.clone();
        if rank_in_sink {
            unranked[rank] = String::new();
        }
        assert!(
            candidate_rows.contains(&unranked),
            "{query}: {row:?} is not a candidate"
        );
        let r = if rank_in_sink { rank_of(row) } else { 0 };
        got.entry(key(row, partition))
            .or_default()
            .push((r, key(row, order)));
    }
    let normalize = |m: &mut BTreeMap<Vec<String>, Vec<(usize, Vec<String>)>>, ranked: bool| {
        for v in m.values_mut() {
            if !ranked {
                v.iter_mut().for_each(|(r, _)| *r = 0);
            }
            v.sort();
        }
    };
    normalize(&mut want, rank_in_sink);
    normalize(&mut got, rank_in_sink);
    if !rank_in_sink {
        // Without a rank column, the ORDER BY values of the n best rows, as a sorted list.
        for v in want.values_mut().chain(got.values_mut()) {
            v.sort();
        }
    }
    let differ: Vec<_> = (want.iter())
        .filter(|(p, v)| got.get(*p) != Some(v))
        .take(3)
        .map(|(p, v)| (p, v, got.get(p)))
        .collect();
    assert!(
        differ.is_empty() && got.len() == want.len(),
        "{query}: {} partitions expected, {} written; differing (partition, expected, written): {differ:?}",
        want.len(),
        got.len()
    );
}

macro_rules! exact {
    ($($name:ident: $query:literal,)*) => {
        $(#[test]
        fn $name() {
            exact($query);
        })*
    };
}

exact! {
    q0_pass_through: "q0",
    q1_currency_conversion: "q1",
    q2_selection: "q2",
    q3_local_item_suggestion: "q3",
    q4_average_price_per_category: "q4",
    q5_hot_items: "q5",
    q6_average_selling_price_by_seller: "q6",
    q7_highest_bid: "q7",
    q8_monitor_new_users: "q8",
    q10_log_to_file_system: "q10",
    q11_user_sessions: "q11",
    q13_bounded_side_input_join: "q13",
    q14_calculation_with_a_function: "q14",
    q15_bidding_statistics: "q15",
    q16_channel_statistics: "q16",
    q17_auction_statistics: "q17",
    q20_expand_bid_with_auction: "q20",
    q21_channel_ids: "q21",
    q22_url_directories: "q22",
}

#[test]
fn q9_winning_bids() {
    // Partition: the auction's id; ORDER BY price DESC, bid time (columns 12 and 13).
    top_n("q9", 1, &[0], &[12, 13], 15, false);
}

#[test]
fn q18_last_bid_per_bidder_and_auction() {
    // Partition: bidder, auction; ORDER BY dateTime DESC.
    top_n("q18", 1, &[1, 0], &[5], 7, false);
}

#[test]
fn q19_top_ten_bids_per_auction() {
    // Partition: auction; ORDER BY price DESC; the row number is the sink's last column.
    top_n("q19", 10, &[0], &[2], 7, true);
}

#[test]
fn q12_processing_time_windows() {
    // Which window a bid lands in depends on when it was read; what does not: each bidder's
    // bids over its windows, and windows 10 s long.
    let mut per_bidder: BTreeMap<String, i64> = BTreeMap::new();
    for (row, n) in actual("q12") {
        let (start, end): (i64, i64) = (row[2].parse().unwrap(), row[3].parse().unwrap());
        assert_eq!((end - start, start % 10_000), (10_000, 0), "{row:?}");
        *per_bidder.entry(row[0].clone()).or_default() += row[1].parse::<i64>().unwrap() * n;
    }
    let want: BTreeMap<String, i64> = (expected("q12").into_iter())
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(per_bidder, want);
}

/// Every query file has a conformance test here (or is listed as not run, with why).
#[test]
fn every_query_is_checked() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dataflows/nexmark");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let source = include_str!("nexmark.rs");
    for f in files {
        let q = f.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            source.contains(&format!("\"{q}\"")),
            "{q} has no conformance test in tests/nexmark.rs"
        );
        let expected = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/nexmark/{q}.sql"));
        assert!(
            expected.exists(),
            "{q} has no SQLite text in tests/nexmark/"
        );
    }
}
