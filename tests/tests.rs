//! The integration test binary: one module per area. Kafka tests talk to a real broker whose
//! address is in `DDFLOW_TEST_BOOTSTRAP` (`bash .ci/test` starts one).

/// Bad SQL, bad options, bad records, unreachable brokers: the messages users see.
mod bad_input;
/// The benchmark harness on small inputs.
mod bench;
/// Watermarks and windows through the broker against a batch computation.
mod event_time;
/// The Rust examples (builder API) through the broker, against SQL and batch computations.
mod examples;
/// Every tests/sql case and every dataflows/*.sql through the planner.
mod golden;
/// End to end through the broker: exact outputs, exact committed offsets, workers, epochs.
mod kafka_e2e;
/// Every Nexmark query over a generated stream against SQLite computing it in batch.
mod nexmark;
/// Operating a run: Prometheus metrics read by Prometheus' own parser.
mod operate;
/// The differential plan against a from-scratch recomputation on random inputs.
mod oracle;
/// The broker cut off mid-run (behind a proxy), for a while and for good.
mod outage;
/// Dataflow files and input records against their exact output changes, in-process.
mod output;
/// kill -9 at random moments, restores across worker counts, damaged checkpoints.
mod recovery;
/// Issue 9: one test per defect found by probing (wrong results, silent loss, unsafe defaults).
mod regression;
/// Fixtures.
mod support;
/// TLS through a terminating proxy in front of a broker of the test's own.
mod tls;
