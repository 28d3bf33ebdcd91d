//! `ddflow bench` end to end on small sizes: the harness reaches the exact expected state
//! of every output topic (it waits for the counts to add up to the records loaded), and its
//! report carries the figures. No speed is asserted.

use crate::support::{bootstrap, ddflow_ok, text};

#[test]
fn bench_reports_w1_and_w3_on_small_inputs() {
    let dir = std::env::temp_dir().join(crate::support::unique("ddflow-bench"));
    let out = dir.join("results.json");
    ddflow_ok(&[
        "bench",
        "--bootstrap-servers",
        &bootstrap(),
        "--workloads",
        "w1,w3",
        "--w1-records",
        "20000",
        "--w1-workers",
        "1,2",
        "--w3-keys",
        "5000",
        "--work-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (row, config) in rows[..2].iter().zip(["-w 1", "-w 2"]) {
        assert_eq!(row["workload"], "W1 catch-up");
        assert_eq!(row["config"], config);
        assert_eq!(row["records"], 20_000);
        assert!(row["output_messages"].as_u64().unwrap() > 0, "{row}");
        assert!(row["ratio_to_baseline"].as_f64().unwrap() > 0.0, "{row}");
    }
    let w3 = &rows[2];
    assert_eq!(w3["config"], "5000 distinct keys, -w 1");
    let extra: std::collections::BTreeMap<String, String> =
        serde_json::from_value(w3["extra"].clone())
            .map(|v: Vec<(String, String)>| v.into_iter().collect())
            .unwrap();
    assert_eq!(
        extra["restored_entries"],
        "5000",
        "{}",
        text(w3.to_string().as_bytes())
    );
    assert!(extra["checkpoint_bytes"].parse::<u64>().unwrap() > 5000 * 4);
}

/// W6 on a short stream: 2 minutes of event time at 500 records a second, so the windows
/// closed by the end (all but the last 10 s one) hold exactly 55,000 records, each counted
/// once; RSS is sampled against that event time.
#[test]
fn bench_w6_counts_every_closed_window_exactly() {
    let dir = std::env::temp_dir().join(crate::support::unique("ddflow-bench-w6"));
    let out = dir.join("results.json");
    ddflow_ok(&[
        "bench",
        "--bootstrap-servers",
        &bootstrap(),
        "--workloads",
        "w6",
        "--w6-event-minutes",
        "2",
        "--w6-event-rate",
        "500",
        "--w6-rate",
        "10000",
        "--w6-keys",
        "2000",
        "--work-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let w6 = &rows.as_array().unwrap()[0];
    assert_eq!(w6["workload"], "W6 soak");
    assert_eq!(w6["records"], 60_000);
    let extra: std::collections::BTreeMap<String, String> =
        serde_json::from_value(w6["extra"].clone())
            .map(|v: Vec<(String, String)>| v.into_iter().collect())
            .unwrap();
    assert_eq!(extra["records_in_closed_windows"], "55000", "{w6}");
    assert_eq!(extra["expected_in_closed_windows"], "55000");
    assert_eq!(extra["records_read"], "60000");
    let curve = w6["rss_curve"].as_array().unwrap();
    assert!(!curve.is_empty(), "{w6}");
}

/// W5 on a small stream: each chosen query runs to the end of the topic with each worker
/// count, twice (`--w5-repeat 2`; the harness fails unless every run read every event), and
/// its row carries the output changes: q0 writes every bid (92% of the events), q6 one row
/// per closed auction or fewer.
#[test]
fn bench_w5_runs_nexmark_queries_to_the_end() {
    let dir = std::env::temp_dir().join(crate::support::unique("ddflow-bench-w5"));
    let out = dir.join("results.json");
    ddflow_ok(&[
        "bench",
        "--bootstrap-servers",
        &bootstrap(),
        "--workloads",
        "w5",
        "--w5-events",
        "10000",
        "--w5-queries",
        "q0,q6,q10,q13",
        "--w5-workers",
        "1,2",
        "--w5-repeat",
        "2",
        "--work-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let rows = rows.as_array().unwrap();
    let configs: Vec<&str> = rows.iter().map(|r| r["config"].as_str().unwrap()).collect();
    assert_eq!(
        configs,
        [
            "q0 -w 1", "q0 -w 2", "q6 -w 1", "q6 -w 2", "q10 -w 1", "q10 -w 2", "q13 -w 1",
            "q13 -w 2"
        ]
    );
    for row in rows {
        assert_eq!(row["workload"], "W5 Nexmark");
        assert_eq!(row["records"], 10_000);
        assert!(row["ratio_to_baseline"].as_f64().unwrap() > 0.0, "{row}");
        let extra = row["extra"].as_array().unwrap();
        assert!(extra.contains(&serde_json::json!(["runs", "2"])), "{row}");
    }
    // 1 : 3 : 46 persons : auctions : bids, so 9,200 bids.
    assert_eq!(rows[0]["output_messages"], 9_200);
    assert_eq!(rows[1]["output_messages"], 9_200);
    assert_eq!(rows[4]["output_messages"], 9_200);
    assert!(rows[2]["output_messages"].as_u64().unwrap() > 0);
}
