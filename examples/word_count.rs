//! Word count built in Rust code with the ddflow library: the same engine as
//! `dataflows/word_count.sql`, without SQL.
//!
//! ```text
//! cargo run --release --example word_count -- BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC [-w N] [-n N -p I [-h FILE]]
//! ```
//!
//! Reads words (raw values) from INPUT_TOPIC up to the end offsets seen at start (bounded
//! mode), counts them with differential's `count`, upserts `{"value": word, "n": count}` keyed
//! by word into OUTPUT_TOPIC, and commits the input offsets to group `ddflow-word_count` once
//! the output is acknowledged. The trailing arguments are timely's worker flags.

use std::time::Duration;

use ddflow::control::RunControl;
use ddflow::data::{DataType, Datum, Row, Schema};
use ddflow::resume::{SinkResume, SourceRecovery};
use ddflow::sink::{render_sink, SinkSettings};
use ddflow::source::{render_kafka_source, SourceSettings};
use ddflow::spec::{
    BadRecordPolicy, ColumnSource, DeliveryGuarantee, KafkaSinkMode, SinkConnector, SinkSpec,
    SourceFormat, SourceSpec, StartupMode,
};
use ddflow::timestamp::Time;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(bootstrap), Some(input), Some(output)) = (args.next(), args.next(), args.next())
    else {
        eprintln!("usage: word_count BOOTSTRAP INPUT_TOPIC OUTPUT_TOPIC [timely flags: -w N -n N -p I -h FILE]");
        std::process::exit(2);
    };
    let timely_args: Vec<String> = args.collect();

    let source = SourceSpec {
        name: "words".into(),
        schema: Schema::new([("value", DataType::String)]),
        column_sources: vec![ColumnSource::Value],
        topic: input.clone(),
        bootstrap_servers: bootstrap.clone(),
        group_id: Some("ddflow-word_count".into()),
        properties: Default::default(),
        format: SourceFormat::Raw,
        bad_records: BadRecordPolicy::Fail,
        startup: StartupMode::Earliest,
        bounded: true,
        watermark: None,
        idle_timeout_ms: None,
        file: None,
        late_records: Default::default(),
    };
    let sink = SinkSpec {
        name: "word_counts".into(),
        schema: Schema::new([("value", DataType::String), ("n", DataType::Int)]),
        primary_key: vec![0],
        connector: SinkConnector::Kafka {
            topic: output.clone(),
            bootstrap_servers: bootstrap.clone(),
            properties: Default::default(),
            mode: KafkaSinkMode::Upsert,
            delivery: DeliveryGuarantee::AtLeastOnce,
            key_format: Default::default(),
            value_format: Default::default(),
            value_except_key: false,
        },
        emit: Default::default(),
    };
    let timeout = Duration::from_secs(10);
    let fail = |e: ddflow::Error| -> ! {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    };
    let partitions =
        ddflow::kafka::partition_count(&bootstrap, &input, timeout).unwrap_or_else(|e| fail(e));
    ddflow::kafka::ensure_topic(&bootstrap, &output, 1, timeout).unwrap_or_else(|e| fail(e));

    let control = RunControl::new();
    let worker_control = control.clone();
    let source_settings = SourceSettings {
        epoch_interval: Duration::from_millis(10),
        max_epoch: Duration::from_millis(500),
        broker_timeout: timeout,
        default_group_id: "ddflow-word_count".into(),
        bootstrap_override: None,
        max_outage: Duration::from_secs(120),
        fetch_thread: true,
    };
    let sink_settings = SinkSettings {
        bootstrap_override: None,
        broker_timeout: timeout,
        group_id: "ddflow-word_count".into(),
        max_outage: Duration::from_secs(120),
    };
    let guards = timely::execute_from_args(timely_args.into_iter(), move |worker| {
        let control = worker_control.clone();
        let built = worker.dataflow::<Time, _, _>(|scope| -> ddflow::Result<()> {
            let (words, _, handle) = render_kafka_source(
                scope,
                &source,
                partitions,
                &source_settings,
                SourceRecovery::default(),
                None,
                None,
                control.clone(),
            )?;
            let counts = words
                .map(|row| Row::pack([row.get(0)]))
                .count_core::<i64>()
                .map(|(word, n)| Row::pack([word.get(0), Datum::Int(n)]));
            let (durable, _) = render_sink(
                counts,
                &sink,
                &sink_settings,
                1,
                &SinkResume::default(),
                Vec::new(),
                control.clone(),
            )?;
            ddflow::progress::render_committer(
                durable,
                vec![handle],
                Duration::from_secs(120),
                control.clone(),
            );
            Ok(())
        });
        if let Err(e) = built {
            control.fail(e);
        }
        while worker.step_or_park(Some(Duration::from_millis(100))) {}
    })
    .unwrap_or_else(|e| fail(ddflow::Error::Config(e)));
    drop(guards);
    if let Some(e) = control.take_error() {
        fail(e);
    }
    let m = control.metrics.snapshot();
    println!(
        "read {} records, wrote {} changes as {} messages",
        m.records_read, m.changes_written, m.messages_produced
    );
}
