//! W5: the Nexmark queries of `dataflows/nexmark/` over one pre-loaded Nexmark topic, each run
//! to the end of the topic (bounded) with `-w 1` and `-w 2`, against the raw-consume baseline
//! of the same topic measured right before it, and, with a peer given, Flink 2.0 running the
//! same file (`benches/flink/run_query.py`).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::bench::baseline::raw_consume;
use crate::bench::child::DdflowChild;
use crate::bench::workloads::{Context, PARTITIONS, TIMEOUT};
use crate::bench::{Measurement, Target};
use crate::error::{Error, Result};
use crate::loadgen::{self, KeyDist, LoadSpec, Shape};

/// Every query, as shipped.
pub const QUERIES: [(&str, &str); 23] = [
    ("q0", include_str!("../../dataflows/nexmark/q0.sql")),
    ("q1", include_str!("../../dataflows/nexmark/q1.sql")),
    ("q2", include_str!("../../dataflows/nexmark/q2.sql")),
    ("q3", include_str!("../../dataflows/nexmark/q3.sql")),
    ("q4", include_str!("../../dataflows/nexmark/q4.sql")),
    ("q5", include_str!("../../dataflows/nexmark/q5.sql")),
    ("q6", include_str!("../../dataflows/nexmark/q6.sql")),
    ("q7", include_str!("../../dataflows/nexmark/q7.sql")),
    ("q8", include_str!("../../dataflows/nexmark/q8.sql")),
    ("q9", include_str!("../../dataflows/nexmark/q9.sql")),
    ("q10", include_str!("../../dataflows/nexmark/q10.sql")),
    ("q11", include_str!("../../dataflows/nexmark/q11.sql")),
    ("q12", include_str!("../../dataflows/nexmark/q12.sql")),
    ("q13", include_str!("../../dataflows/nexmark/q13.sql")),
    ("q14", include_str!("../../dataflows/nexmark/q14.sql")),
    ("q15", include_str!("../../dataflows/nexmark/q15.sql")),
    ("q16", include_str!("../../dataflows/nexmark/q16.sql")),
    ("q17", include_str!("../../dataflows/nexmark/q17.sql")),
    ("q18", include_str!("../../dataflows/nexmark/q18.sql")),
    ("q19", include_str!("../../dataflows/nexmark/q19.sql")),
    ("q20", include_str!("../../dataflows/nexmark/q20.sql")),
    ("q21", include_str!("../../dataflows/nexmark/q21.sql")),
    ("q22", include_str!("../../dataflows/nexmark/q22.sql")),
];

/// q13's side input, as shipped.
const SIDE_INPUT: &str = include_str!("../../dataflows/nexmark/side_input.csv");

/// The queries that keep no state: W5's baseline target applies to them.
const STATELESS: [&str; 3] = ["q0", "q1", "q2"];

/// Where a Nexmark file is made to run elsewhere: its topic, broker and paths.
pub struct Placement<'a> {
    /// The topic holding the events (the files read `nexmark`).
    pub topic: &'a str,
    /// The broker (the files name `localhost:9092`).
    pub bootstrap: &'a str,
    /// q13's side input file.
    pub side_input: &'a Path,
    /// `Some`: every blackhole sink becomes this JSON-lines file.
    pub sink_file: Option<&'a Path>,
    /// q10's partitioned output directory.
    pub q10_dir: &'a Path,
}

/// A shipped Nexmark file made runnable by `placement`, reading its topic from the start to
/// the end it has when the run starts (bounded), so the run exits when it is done.
pub fn runnable(text: &str, placement: &Placement<'_>) -> String {
    let mut text = text
        .replace(
            "'topic' = 'nexmark'",
            &format!("'topic' = '{}'", placement.topic),
        )
        .replace("localhost:9092", placement.bootstrap)
        .replace(
            "'scan.startup.mode' = 'earliest-offset',",
            "'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset',",
        )
        .replace(
            "'path' = 'dataflows/nexmark/side_input.csv'",
            &format!("'path' = '{}'", placement.side_input.display()),
        );
    text = text.replace(
        "'path' = 'file:///tmp/nexmark_q10/bid/'",
        &format!("'path' = '{}'", placement.q10_dir.display()),
    );
    if let Some(out) = placement.sink_file {
        let file = format!(
            "'connector' = 'filesystem', 'path' = '{}', 'format' = 'json'",
            out.display()
        );
        text = text.replace("'connector' = 'blackhole'", &file);
    }
    text
}

impl Context<'_> {
    /// W5: every Nexmark query, `-w 1` and `-w 2` (the configured worker counts), with the
    /// raw-consume baseline of the topic measured before each query, and the peer's rate
    /// when one is configured.
    pub fn w5(&self) -> Result<Vec<Measurement>> {
        let events = self.settings.w5_events;
        let topic = self.topic("w5-nexmark");
        let spec = LoadSpec {
            bootstrap: self.bootstrap.clone(),
            topic: topic.clone(),
            count: events,
            rate: None,
            partitions: PARTITIONS,
            keys: 1,
            dist: KeyDist::Uniform,
            shape: Shape::Nexmark,
            seed: self.settings.seed,
            keyed: false,
            event_rate: None,
            create_topic: true,
        };
        let report = loadgen::generate(&spec, &AtomicBool::new(false))?;
        eprintln!(
            "bench: loaded {} Nexmark events into {topic} in {:.1} s",
            report.produced,
            report.elapsed.as_secs_f64()
        );
        let side_input = self.settings.work_dir.join("nexmark_side_input.csv");
        std::fs::write(&side_input, SIDE_INPUT).map_err(|e| Error::io(&side_input, e))?;
        let q10_dir = self
            .settings
            .work_dir
            .join(format!("nexmark_q10-{}", self.run));
        let placement = Placement {
            topic: &topic,
            bootstrap: &self.bootstrap,
            side_input: &side_input,
            sink_file: None,
            q10_dir: &q10_dir,
        };
        let mut rows = Vec::new();
        for (name, text) in QUERIES {
            if !self.settings.w5_queries.is_empty()
                && !self.settings.w5_queries.iter().any(|q| q == name)
            {
                continue;
            }
            let file = self
                .settings
                .work_dir
                .join(format!("w5-{name}-{}.sql", self.run));
            std::fs::write(&file, runnable(text, &placement)).map_err(|e| Error::io(&file, e))?;
            let peer = match &self.settings.w5_flink {
                Some(dir) => Some(self.flink(dir, name, &topic, events)?),
                None => None,
            };
            // The baseline and each worker count, in turn, `w5_repeat` times.
            let workers = &self.settings.w5_workers;
            let (mut bases, mut runs) = (Vec::new(), vec![Vec::new(); workers.len()]);
            for _ in 0..self.settings.w5_repeat {
                bases.push(raw_consume(
                    &self.bootstrap,
                    &topic,
                    PARTITIONS,
                    events,
                    TIMEOUT,
                )?);
                for (&w, runs) in workers.iter().zip(&mut runs) {
                    runs.push(self.w5_run(name, &file, w, events, &q10_dir)?);
                }
            }
            let base = median(&mut bases, |b| *b);
            let base_rate = events as f64 / base.as_secs_f64();
            for (&w, runs) in workers.iter().zip(&mut runs) {
                let (wall, _, report) = median(runs, |r| r.0).clone();
                let peak = runs.iter().filter_map(|r| r.1).max();
                let rate = events as f64 / wall;
                let mut m = Measurement {
                    workload: "W5 Nexmark".into(),
                    config: format!("{name} -w {w}"),
                    records: events,
                    wall_s: Some(wall),
                    records_per_s: Some(rate),
                    baseline_records_per_s: Some(base_rate),
                    ratio_to_baseline: Some(rate / base_rate),
                    peak_rss_mb: peak.map(|b| b as f64 / 1e6),
                    output_messages: report["metrics"]["changes_written"].as_u64(),
                    extra: vec![
                        ("baseline_s".into(), format!("{:.2}", base.as_secs_f64())),
                        ("runs".into(), self.settings.w5_repeat.to_string()),
                    ],
                    ..Default::default()
                };
                let mut goals = Vec::new();
                let mut met = true;
                if STATELESS.contains(&name) {
                    goals.push(">= 0.8x baseline".to_string());
                    met &= rate / base_rate >= 0.8;
                }
                if let Some(peer) = &peer {
                    m.extra.push(("flink_status".into(), peer.status.clone()));
                    if let Some(flink) = peer.events_per_s {
                        m.extra
                            .push(("flink_events_per_s".into(), format!("{flink:.0}")));
                        m.extra
                            .push(("ratio_to_flink".into(), format!("{:.1}", rate / flink)));
                        goals.push(">= 5x Flink".to_string());
                        met &= rate >= 5.0 * flink;
                    }
                }
                if !goals.is_empty() {
                    m.target = Some(Target {
                        goal: goals.join(", "),
                        met,
                    });
                }
                rows.push(m);
            }
        }
        Ok(rows)
    }

    /// One bounded run of a W5 query with `w` workers, its records read checked: wall
    /// seconds, peak RSS, the run's report.
    fn w5_run(
        &self,
        name: &str,
        file: &Path,
        w: usize,
        events: u64,
        q10_dir: &Path,
    ) -> Result<(f64, Option<u64>, serde_json::Value)> {
        let log = self.log(&format!("w5-{name}-w{w}"));
        let (wall, peak, report) = run_to_end(file, &self.flags(w, 1, &[]), &log)?;
        // q10's files are not looked at; the next run writes them afresh.
        let _ = std::fs::remove_dir_all(q10_dir);
        // q13 reads its side input's lines too.
        let side = if name == "q13" {
            SIDE_INPUT.lines().count() as u64
        } else {
            0
        };
        let read = report["metrics"]["records_read"].as_u64().unwrap_or(0);
        if read != events + side {
            return Err(Error::Internal(format!(
                "W5 {name} -w {w} read {read} records, not {events} events and {side} side input lines; log {}",
                log.display()
            )));
        }
        Ok((wall, peak, report))
    }

    /// Flink running the same query over the topic to `events`, at parallelism 2, through
    /// `benches/flink/run_query.py` (which applies its own few rewrites to the shipped file)
    /// with the installation `peer` that `benches/flink/setup.sh` made.
    fn flink(&self, peer: &Path, name: &str, topic: &str, events: u64) -> Result<PeerResult> {
        let python = peer.join("venv/bin/python");
        let per_partition = events / PARTITIONS as u64;
        let ends: Vec<String> = (0..PARTITIONS as u64)
            .map(|p| (per_partition + u64::from(p < events % PARTITIONS as u64)).to_string())
            .collect();
        let log = self.log(&format!("w5-{name}-flink"));
        let err = std::fs::File::create(&log).map_err(|e| Error::io(&log, e))?;
        let output = Command::new(&python)
            .arg(&self.settings.flink_script)
            .arg(name)
            .args(["--topic", topic, "--bootstrap", &self.bootstrap])
            .args(["--end-offsets", &ends.join(",")])
            .args(["--parallelism", "2"])
            .arg("--jars")
            .arg(peer.join("jars"))
            .stderr(err)
            .output()
            .map_err(|e| Error::io(&python, e))?;
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            Error::Internal(format!(
                "the Flink peer printed no result for {name} ({e}); log {}",
                log.display()
            ))
        })?;
        let ok = v["status"] == "ok";
        let status = match v["error"].as_str() {
            Some(error) if !ok => {
                let first = error.lines().next().unwrap_or(error);
                format!("{}: {first}", v["status"].as_str().unwrap_or("failed"))
            }
            _ => v["status"].as_str().unwrap_or("failed").to_string(),
        };
        Ok(PeerResult {
            events_per_s: v["events_per_s"].as_f64().filter(|_| ok),
            status,
        })
    }
}

/// What the peer did with one query.
struct PeerResult {
    /// Events per second, when it ran.
    events_per_s: Option<f64>,
    /// `ok`, or why not.
    status: String,
}

/// The middle one of `items` by `key` (the upper middle of an even count).
fn median<T, K: PartialOrd>(items: &mut [T], key: impl Fn(&T) -> K) -> &T {
    items.sort_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    &items[items.len() / 2]
}

/// Run a bounded dataflow until it exits by itself: wall seconds from spawn, peak RSS (bytes,
/// sampled while it runs), and its report.
fn run_to_end(
    file: &Path,
    flags: &[String],
    log: &Path,
) -> Result<(f64, Option<u64>, serde_json::Value)> {
    let mut child = DdflowChild::spawn(file, flags, log)?;
    let mut peak = None;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(p) = child.peak_rss() {
            peak = Some(p.max(peak.unwrap_or(0)));
        }
        if let Some(wall) = child.exited()? {
            let report = child.report()?;
            return Ok((wall.as_secs_f64(), peak, report));
        }
        if Instant::now() > deadline {
            return Err(Error::Internal(format!(
                "a bounded run did not finish within {TIMEOUT:?}; log {}",
                log.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
