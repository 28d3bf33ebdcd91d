//! The harness's output: a text table, CSV or JSON (`--out`), and a PNG chart (`--plot`).

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::Measurement;
use crate::error::{Error, Result};

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

/// One measurement on one line (progress output).
pub fn one_line(m: &Measurement) -> String {
    let mut s = format!("{} [{}]", m.workload, m.config);
    if let Some(w) = m.wall_s {
        let _ = write!(s, " {w:.2} s");
    }
    if let Some(r) = m.ratio_to_baseline {
        let _ = write!(s, " {r:.2}x baseline");
    }
    if let Some(l) = m.latency {
        let _ = write!(s, " p50 {:.1} ms p99 {:.1} ms", l.p50_ms, l.p99_ms);
    }
    s
}

/// The result table.
pub fn table(rows: &[Measurement]) -> String {
    let header = [
        "workload",
        "config",
        "records",
        "wall s",
        "rec/s",
        "baseline rec/s",
        "ratio",
        "peak RSS MB",
        "out msgs",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "target",
        "met",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for m in rows {
        let l = m.latency;
        cells.push(vec![
            m.workload.clone(),
            m.config.clone(),
            m.records.to_string(),
            opt(m.wall_s, 2),
            opt(m.records_per_s, 0),
            opt(m.baseline_records_per_s, 0),
            m.ratio_to_baseline
                .map_or("-".into(), |r| format!("{r:.2}x")),
            opt(m.peak_rss_mb, 0),
            m.output_messages.map_or("-".into(), |n| n.to_string()),
            opt(l.map(|l| l.p50_ms), 1),
            opt(l.map(|l| l.p99_ms), 1),
            opt(l.map(|l| l.p999_ms), 1),
            opt(l.map(|l| l.max_ms), 1),
            m.target.as_ref().map_or("-".into(), |t| t.goal.clone()),
            m.target
                .as_ref()
                .map_or("-".into(), |t| if t.met { "yes" } else { "NO" }.into()),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, row) in cells.iter().enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", line.join(" | "));
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "|-{}-|", rule.join("-|-"));
        }
    }
    for m in rows.iter().filter(|m| !m.extra.is_empty()) {
        let extra: Vec<String> = m.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(out, "{} [{}]: {}", m.workload, m.config, extra.join(" "));
    }
    out
}

/// Write `rows` as JSON (`.json`) or CSV (anything else).
pub fn write(rows: &[Measurement], path: &Path) -> Result<()> {
    let text = if path.extension().is_some_and(|e| e == "json") {
        serde_json::to_string_pretty(rows).map_err(|e| Error::Internal(e.to_string()))?
    } else {
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| Error::Internal(format!("CSV: {e}"));
        w.write_record([
            "workload",
            "config",
            "records",
            "wall_s",
            "records_per_s",
            "baseline_records_per_s",
            "ratio_to_baseline",
            "peak_rss_mb",
            "output_messages",
            "p50_ms",
            "p99_ms",
            "p999_ms",
            "max_ms",
            "target",
            "met",
            "extra",
        ])
        .map_err(io)?;
        for m in rows {
            let f = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
            let l = m.latency;
            let extra: Vec<String> = m.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
            w.write_record([
                m.workload.clone(),
                m.config.clone(),
                m.records.to_string(),
                f(m.wall_s),
                f(m.records_per_s),
                f(m.baseline_records_per_s),
                f(m.ratio_to_baseline),
                f(m.peak_rss_mb),
                m.output_messages.map_or(String::new(), |n| n.to_string()),
                f(l.map(|l| l.p50_ms)),
                f(l.map(|l| l.p99_ms)),
                f(l.map(|l| l.p999_ms)),
                f(l.map(|l| l.max_ms)),
                m.target.as_ref().map_or(String::new(), |t| t.goal.clone()),
                m.target
                    .as_ref()
                    .map_or(String::new(), |t| t.met.to_string()),
                extra.join(" "),
            ])
            .map_err(io)?;
        }
        String::from_utf8(w.into_inner().map_err(|e| Error::Internal(e.to_string()))?)
            .map_err(|e| Error::Internal(e.to_string()))?
    };
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Draw a PNG: throughput as a ratio to the baseline (left), latency percentiles (middle)
/// and, with W6, RSS against event time (right).
pub fn plot(rows: &[Measurement], path: &Path) -> Result<()> {
    use plotters::prelude::*;
    register_font()?;
    let err = |e: &dyn std::fmt::Display| Error::Internal(format!("plot {}: {e}", path.display()));
    let soaks: Vec<&Measurement> = rows.iter().filter(|m| !m.rss_curve.is_empty()).collect();
    let width = if soaks.is_empty() { 1200 } else { 1800 };
    let root = BitMapBackend::new(path, (width, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (left, rest) = root.split_horizontally(600);
    let (right, third) = rest.split_horizontally(600);

    let ratios: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|m| {
            m.ratio_to_baseline
                .map(|r| (format!("{} {}", short(&m.workload), workers(&m.config)), r))
        })
        .collect();
    let top = ratios.iter().map(|r| r.1).fold(1.0f64, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&left)
        .caption("Throughput / raw-consume baseline", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(60)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..ratios.len().max(1) as f64 - 0.5, 0.0..top)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(ratios.len().max(1))
        .x_label_style(("sans-serif", 12))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() > 0.01 || i < 0.0 {
                return String::new();
            }
            ratios
                .get(i as usize)
                .map_or(String::new(), |r| r.0.clone())
        })
        .y_desc("ratio")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(ratios.iter().enumerate().map(|(i, (_, r))| {
            let x = i as f64;
            Rectangle::new([(x - 0.4, 0.0), (x + 0.4, *r)], BLUE.mix(0.6).filled())
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(
            [(-0.5, 0.85), (ratios.len().max(1) as f64 - 0.5, 0.85)],
            RED,
        ))
        .map_err(|e| err(&e))?
        .label("target 0.85x")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;

    // ddflow's percentiles (solid) and the broker floor's at the same rate (dashed), per rate.
    let points = |l: &crate::bench::Latency| [l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms];
    let rate = |config: &str| config.split(',').next().unwrap_or(config).to_string();
    let latencies: Vec<(String, [f64; 4], Option<[f64; 4]>)> = rows
        .iter()
        .filter_map(|m| {
            m.latency
                .map(|l| (rate(&m.config), points(&l), m.floor.as_ref().map(points)))
        })
        .collect();
    let top = latencies
        .iter()
        .flat_map(|l| l.1.into_iter().chain(l.2.into_iter().flatten()))
        .fold(10.0f64, f64::max)
        * 1.5;
    let mut chart = ChartBuilder::on(&right)
        .caption("End-to-end latency (W2)", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0..4usize, (0.1..top).log_scale())
        .map_err(|e| err(&e))?;
    let names = ["p50", "p99", "p99.9", "max"];
    chart
        .configure_mesh()
        .x_labels(4)
        .x_label_formatter(&|i| names.get(*i).map_or(String::new(), |n| n.to_string()))
        .y_desc("ms")
        .draw()
        .map_err(|e| err(&e))?;
    for (k, (label, values, floor)) in latencies.iter().enumerate() {
        let color = [BLUE, GREEN, MAGENTA, CYAN, BLACK][k % 5].to_rgba();
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| (i, v.max(0.1))),
                color.stroke_width(2),
            ))
            .map_err(|e| err(&e))?
            .label(format!("ddflow {label}"))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
        if let Some(floor) = floor {
            chart
                .draw_series(DashedLineSeries::new(
                    floor.iter().enumerate().map(|(i, v)| (i, v.max(0.1))),
                    6,
                    4,
                    color.stroke_width(1),
                ))
                .map_err(|e| err(&e))?
                .label(format!("broker floor {label}"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(("sans-serif", 12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;

    if !soaks.is_empty() {
        let end = soaks
            .iter()
            .flat_map(|m| m.rss_curve.iter().map(|p| p.0))
            .fold(1.0f64, f64::max);
        let top = soaks
            .iter()
            .flat_map(|m| m.rss_curve.iter().map(|p| p.1))
            .fold(10.0f64, f64::max)
            * 1.2;
        let mut chart = ChartBuilder::on(&third)
            .caption("RSS over event time (W6 soak)", ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..end, 0.0..top)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("minutes of event time")
            .y_desc("RSS MB")
            .draw()
            .map_err(|e| err(&e))?;
        for (k, m) in soaks.iter().enumerate() {
            let color = [BLUE, GREEN, MAGENTA][k % 3].to_rgba();
            chart
                .draw_series(LineSeries::new(
                    m.rss_curve.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(|e| err(&e))?
                .label(short(&m.workload).to_string())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// The worker flag of a configuration (`-w 2`), or the whole of it.
fn workers(config: &str) -> &str {
    config
        .rsplit(", ")
        .next()
        .filter(|c| c.starts_with("-w"))
        .unwrap_or(config)
}

fn short(workload: &str) -> &str {
    workload.split(' ').next().unwrap_or(workload)
}

/// Plot text needs a TrueType font: `$DDFLOW_FONT`, or DejaVu Sans / Liberation Sans.
fn register_font() -> Result<()> {
    let candidates = [
        std::env::var("DDFLOW_FONT").unwrap_or_default(),
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf".into(),
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf".into(),
        "/usr/share/fonts/dejavu/DejaVuSans.ttf".into(),
    ];
    let bytes = candidates
        .iter()
        .filter(|p| !p.is_empty())
        .find_map(|p| std::fs::read(p).ok())
        .ok_or_else(|| {
            Error::Config(
                "--plot needs a TrueType font: set DDFLOW_FONT to a .ttf file (DejaVu Sans was \
                 not found)"
                    .into(),
            )
        })?;
    plotters::style::register_font(
        "sans-serif",
        plotters::style::FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| Error::Config("the font for --plot is not a valid TrueType file".into()))
}
