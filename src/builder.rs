//! Dataflows written in Rust: declare tables in SQL, read them as differential collections of
//! rows in each worker's dataflow, apply any differential operators (`iterate` included), and
//! hand collections to sinks. The runtime supplies what `ddflow run` does: epochs bound to
//! Kafka offsets, offset commits once the output is durable, checkpoints (of the source
//! tables the code reads), and the `-w/-n/-p/-h` and `ddflow run` flags from the binary's own
//! arguments.
//!
//! ```
//! use ddflow::builder::Dataflow;
//! use ddflow::data::{Datum, Row};
//!
//! # fn main() -> ddflow::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("ddflow-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let (words, counts) = (dir.join("words.txt"), dir.join("counts.jsonl"));
//! std::fs::write(&words, "to\nbe\nor\nnot\nto\nbe\n").unwrap();
//! // A Kafka table is declared the same way ('connector' = 'kafka', 'topic' = ...).
//! let flow = Dataflow::sql(&format!(
//!     "CREATE TABLE words (value STRING) WITH ('connector' = 'filesystem',
//!        'path' = '{}', 'format' = 'raw');
//!      CREATE TABLE counts (value STRING, n BIGINT) WITH ('connector' = 'filesystem',
//!        'path' = '{}', 'format' = 'json');",
//!     words.display(),
//!     counts.display()
//! ))?
//! .reads(["words"])
//! .writes(["counts"]);
//! // The first argument is the program's name; then -w/-n/-p/-h and `ddflow run`'s flags.
//! let report = flow.run(["doc".to_string(), "-w".into(), "2".into()], |cx| {
//!     let counts = cx
//!         .read("words")?
//!         .count_core::<i64>()
//!         .map(|(word, n)| Row::pack([word.get(0), Datum::Int(n)]));
//!     cx.write("counts", counts)
//! })?;
//! assert_eq!(report.metrics.records_read, 6);
//! let written = std::fs::read_to_string(&counts).unwrap();
//! assert_eq!(written.lines().count(), 4); // to 2, be 2, or 1, not 1
//! assert!(written.contains(r#""value":"to","n":2"#), "{written}");
//! # Ok(())
//! # }
//! ```
//!
//! The SQL text may also hold views and `INSERT INTO` statements: they run as in a dataflow
//! file, and the code can read the views ([`Context::read`]) to continue from them.

use std::sync::Arc;

use clap::Parser;

use crate::error::{Error, Result};
use crate::plan::ir::Program;
use crate::plan::lower::External;
pub use crate::render::external::Context;
use crate::runtime::RunReport;

/// A dataflow declared in SQL and completed in Rust (see the module docs).
#[derive(Debug, Clone)]
pub struct Dataflow {
    name: String,
    text: String,
    external: External,
}

/// The binary's own arguments: those of `ddflow run` without the file.
#[derive(Debug, Parser)]
#[command(disable_help_flag = true)]
struct Flags {
    #[command(flatten)]
    run: crate::cli::RunArgs,
}

impl Dataflow {
    /// Tables (`CREATE TABLE ... WITH (...)`), and optionally views, functions, settings and
    /// `INSERT INTO` statements, as in a dataflow file.
    pub fn sql(text: &str) -> Result<Self> {
        Ok(Dataflow {
            name: "dataflow".into(),
            text: text.to_string(),
            external: External::default(),
        })
    }

    /// Name the dataflow (the default consumer group is `ddflow-<name>`).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The source tables and views the code reads.
    pub fn reads<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.external
            .reads
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The sink tables the code writes.
    pub fn writes<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.external
            .writes
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The planned program: the SQL statements, and the tables the code reads and writes.
    pub fn plan(&self) -> Result<Program> {
        let mut program = crate::plan::plan_text_with(&self.name, &self.text, &self.external)?;
        // The code may read any column of any table or view: every column is decoded
        // (the planner narrows a source to what the SQL reads).
        for source in &mut program.sources {
            source.columns_read = None;
        }
        Ok(program)
    }

    /// Run `logic` in every worker's dataflow, with the flags in `args` (the first is the
    /// program's name, as in `std::env::args()`): timely's `-w/-n/-p/-h` and the flags of
    /// `ddflow run` (`--checkpoint-dir`, `--duration`, `--metrics-addr`, ...). Returns when the
    /// input ends (bounded sources), the run is stopped (SIGINT, SIGTERM, `--duration`), or it
    /// fails.
    pub fn run<F>(&self, args: impl IntoIterator<Item = String>, logic: F) -> Result<RunReport>
    where
        F: for<'a, 's> Fn(&mut Context<'a, 's>) -> Result<()> + Send + Sync + 'static,
    {
        let mut argv: Vec<String> = args.into_iter().collect();
        let program_name = if argv.is_empty() {
            self.name.clone()
        } else {
            argv.remove(0)
        };
        argv.splice(0..0, [program_name, format!("{}.rs", self.name)]);
        let flags = Flags::try_parse_from(&argv).map_err(|e| Error::Config(e.to_string()))?;
        let program = self.plan()?;
        let (config, control) = crate::cli::prepare_run(&flags.run, &program)?;
        // What the code reads is only right from the start of its tables, or with the state of
        // a checkpoint: resuming from a group's committed offsets without it would see only
        // the records after them.
        if config.checkpoint.is_none() {
            let resuming = (program.sources.iter()).find(|s| {
                s.startup == crate::spec::StartupMode::GroupOffsets
                    && (self.external.reads.iter()).any(|r| r.eq_ignore_ascii_case(&s.name))
            });
            if let Some(s) = resuming {
                return Err(Error::State {
                    message: format!(
                        "the dataflow's code reads table \"{}\", which resumes from its consumer group's committed offsets, without a checkpoint directory to keep what it read before them",
                        s.name
                    ),
                    hint: "pass --checkpoint-dir DIR, or set 'scan.startup.mode' = 'earliest-offset' to read the table from its start on every run".into(),
                });
            }
        }
        let logic: Arc<crate::render::external::Logic> = Arc::new(logic);
        let report = crate::runtime::run_with(program, config, control, Some(logic))?;
        if flags.run.report_json {
            crate::cli::print_report(&report)?;
        }
        Ok(report)
    }
}
