//! ddflow: declarative SQL stream processing over Kafka on timely and differential dataflow.
//!
//! ```text
//! Kafka partitions ──► source (one consumer per worker; records stamped with epochs bound
//!   to per-partition offsets) ──► plan (SQL → IR) rendered as differential operators
//!   ──► sinks (console, Kafka, file) write each epoch whole once the frontier passes it
//!   ──► progress: the sinks' durability frontier commits the epoch's Kafka offsets
//! ```
//!
//! Entry points, each with a runnable example: [`builder::Dataflow`] builds a dataflow in
//! Rust (tables declared in SQL, the work in differential); [`plan::plan_text`] (or
//! [`plan::plan_file`]) and [`runtime::run`] are what `ddflow run` does with a SQL file;
//! [`plan::recursion`] runs a `WITH RECURSIVE` query; [`data::Row`] is what collections hold.
//!
//! | module | owns |
//! |---|---|
//! | [`builder`] | dataflows written in Rust: SQL-declared tables, differential in between |
//! | [`cli`] | flags, subcommands, the embedded demo flow |
//! | [`config`] | run settings and their validation; timely's `-w/-n/-p/-h` |
//! | [`spec`] | SQL text → typed tables and options, with positions |
//! | [`plan`] | typing and lowering to the IR; `explain` |
//! | [`render`] | IR → differential operators |
//! | [`timestamp`] | the epoch type and the epoch → offsets binding contract |
//! | [`source`] | Kafka reading, decoding, bad-record policy, bindings |
//! | [`sink`] | writing whole epochs; durability back-pressure |
//! | [`progress`] | offset commits after sinks are durable (and checkpoints complete) |
//! | [`state`] | the arrangements a checkpoint saves, behind one trait |
//! | [`resume`] | positions and resume points shared by sources, sinks and checkpoints |
//! | [`checkpoint`] | checkpoints, the binding journal, recovery and re-sharding |
//! | [`runtime`] | worker lifecycle and wiring |
//! | [`kafka`] | client settings and admin helpers |
//! | [`loadgen`], [`embedded`] | generated load and the in-process demo broker |
//! | [`bench`](mod@bench) | the benchmark harness (`ddflow bench`): workloads, baseline, report |
//! | [`control`] | stop/fail signals shared by workers (and by a cluster's processes) |
//! | [`metrics`] | counters; Prometheus `/metrics`; the status line; `--progress-json` |
//!
//! See [`timestamp`] for what a time means, [`sink`] and [`progress::commit`] for when
//! output and offsets become durable.
#![warn(missing_docs)]

pub mod bench;
pub mod builder;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod control;
pub mod data;
pub mod embedded;
pub mod error;
pub mod kafka;
pub mod loadgen;
pub mod metrics;
pub mod plan;
pub mod progress;
pub mod render;
pub mod resume;
pub mod runtime;
pub mod sink;
pub mod source;
pub mod spec;
pub mod state;
pub mod timestamp;

pub use error::{Error, Result};
