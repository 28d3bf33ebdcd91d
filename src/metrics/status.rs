//! What a person watching a run sees: on a terminal, one status line redrawn in place (through
//! `indicatif`), with log lines printed above it; in a pipe or a file, a plain log line per
//! interval and no escape codes. Every time shown is a time (RFC 3339) or a duration.

use std::io::Write;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown (`--progress`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing.
    Off,
    /// A log line per second.
    Lines,
    /// A status line redrawn in place (a terminal).
    Status,
}

/// The status line while one is drawn: log lines go around it.
static BAR: RwLock<Option<ProgressBar>> = RwLock::new(None);

/// Where log lines go: standard error, around the status line when one is drawn. Give it to
/// `tracing_subscriber`'s `with_writer`.
pub fn log_writer() -> LogWriter {
    LogWriter(Vec::new())
}

/// One log line on its way to standard error (see [`log_writer`]).
pub struct LogWriter(Vec<u8>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let line = std::mem::take(&mut self.0);
        let bar = BAR.read().ok().and_then(|b| b.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(&line)),
            None => std::io::stderr().write_all(&line),
        }
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The run as the status line and progress lines show it, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    /// Records read from every source.
    pub read: u64,
    /// Records waiting in the source partitions (by the latest fetch responses).
    pub lag: i64,
    /// Changes written to every sink.
    pub changes: u64,
    /// How old the durable output frontier is (`None`: no epoch durable yet).
    pub output_age: Option<Duration>,
    /// When the last checkpoint completed (Unix milliseconds).
    pub last_checkpoint: Option<u64>,
}

impl Totals {
    /// The run's totals now.
    pub fn of(m: &super::Metrics) -> Self {
        let e = &m.exported;
        let frontier = e.frontier_ms();
        let checkpoint = e.last_checkpoint_seconds();
        Totals {
            read: m.records_read.load(std::sync::atomic::Ordering::Relaxed),
            lag: e.partitions().iter().map(|(_, p)| p.lag.get()).sum(),
            changes: m.changes_written.load(std::sync::atomic::Ordering::Relaxed),
            output_age: (frontier > 0).then(|| {
                Duration::from_millis(crate::timestamp::now_ms().saturating_sub(frontier))
            }),
            last_checkpoint: (checkpoint > 0.0).then_some((checkpoint * 1000.0) as u64),
        }
    }
}

/// Shows progress every second in the chosen mode (see the module docs).
pub struct Status {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    last: (Instant, u64),
    shown: Instant,
}

impl Status {
    /// How often the line is redrawn or a progress line logged.
    pub const INTERVAL: Duration = Duration::from_secs(1);

    /// Start showing progress (draws the status line at once in `Status` mode).
    pub fn start(mode: ProgressMode) -> Self {
        let bar = (mode == ProgressMode::Status).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_message("starting");
            bar.enable_steady_tick(Duration::from_millis(200));
            if let Ok(mut b) = BAR.write() {
                *b = Some(bar.clone());
            }
            bar
        });
        Status {
            mode,
            bar,
            last: (Instant::now(), 0),
            shown: Instant::now() - Self::INTERVAL,
        }
    }

    /// Show the run's progress if an interval has passed since it was last shown.
    pub fn tick(&mut self, metrics: &super::Metrics) {
        if self.mode == ProgressMode::Off || self.shown.elapsed() < Self::INTERVAL {
            return;
        }
        self.shown = Instant::now();
        let t = Totals::of(metrics);
        let rate = (t.read - self.last.1.min(t.read)) as f64
            / self.last.0.elapsed().as_secs_f64().max(1e-3);
        self.last = (Instant::now(), t.read);
        match &self.bar {
            Some(bar) => bar.set_message(line(&t, rate)),
            None => {
                let m = metrics.snapshot();
                tracing::info!(
                    records_read = t.read,
                    records_per_second = rate.round() as u64,
                    lag = t.lag,
                    output_age = %t.output_age.map_or("none yet".into(), duration_text),
                    changes_written = t.changes,
                    messages_produced = m.messages_produced,
                    records_skipped = m.records_skipped,
                    eval_errors_skipped = m.eval_errors_skipped,
                    late_records_dropped = m.late_records_dropped,
                    state_released = m.state_released,
                    committed = %u64::try_from(m.committed_epoch)
                        .map_or("nothing yet".into(), crate::timestamp::epoch_text),
                    last_checkpoint = %t.last_checkpoint
                        .map_or("none yet".into(), crate::timestamp::format_instant),
                    "progress"
                );
            }
        }
    }

    /// Stop showing progress: the status line is cleared.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            if let Ok(mut b) = BAR.write() {
                *b = None;
            }
            bar.finish_and_clear();
        }
    }
}

/// The status line's text.
fn line(t: &Totals, rate: f64) -> String {
    let age = t.output_age.map_or("no output yet".into(), |a| {
        format!("output {} old", duration_text(a))
    });
    let checkpoint = t.last_checkpoint.map_or(String::new(), |c| {
        let ago = crate::timestamp::now_ms().saturating_sub(c);
        format!(
            " · checkpoint {} ago",
            duration_text(Duration::from_millis(ago))
        )
    });
    format!(
        "{} rec/s in · lag {} · {age}{checkpoint} · {} read · {} changes out",
        grouped(rate.round() as u64),
        grouped(t.lag.max(0) as u64),
        grouped(t.read),
        grouped(t.changes)
    )
}

/// A duration as a person reads it: `85 ms`, `1.2 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.1} s", d.as_secs_f64()),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{} h {} min", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// A count with thousands separators: `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_reads_as_times_and_counts() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(duration_text(Duration::from_millis(85)), "85 ms");
        assert_eq!(duration_text(Duration::from_millis(1240)), "1.2 s");
        assert_eq!(duration_text(Duration::from_secs(185)), "3 min 5 s");
        assert_eq!(duration_text(Duration::from_secs(7800)), "2 h 10 min");
        let t = Totals {
            read: 1_000_000,
            lag: 2_500,
            changes: 42,
            output_age: Some(Duration::from_millis(120)),
            last_checkpoint: None,
        };
        assert_eq!(
            line(&t, 123_456.4),
            "123,456 rec/s in · lag 2,500 · output 120 ms old · 1,000,000 read · 42 changes out"
        );
    }
}
