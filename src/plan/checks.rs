//! Whole-program checks that no single statement can make: topics that would feed a run its
//! own output or mix two writers' messages, and which sources need state to resume.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::plan::ir::{views_except, Program, Relation, View};
use crate::spec::{
    BadRecordPolicy, FileFormat, KafkaSinkMode, MessageFormat, SinkConnector, SourceSpec,
    StartupMode,
};

/// A CSV or partitioned file sink, or a changelog Kafka sink with a `csv` or `raw` value, takes
/// only inserts (as Flink's file system and plain Kafka sinks take only appends): its lines or
/// messages carry no change kind.
pub fn check_append_only_files(program: &Program) -> Result<()> {
    for s in &program.sinks {
        let what = match &s.sink.connector {
            SinkConnector::File {
                format,
                partition_by,
                ..
            } if !partition_by.is_empty() => "a partitioned file",
            SinkConnector::File {
                format: FileFormat::Csv,
                ..
            } => "a CSV file",
            SinkConnector::Kafka {
                mode: KafkaSinkMode::Changelog,
                value_format: MessageFormat::Csv | MessageFormat::Raw,
                ..
            } => "a changelog Kafka sink whose value format ('csv' or 'raw') has no change kind",
            _ => continue,
        };
        if !crate::plan::reduce::only_inserts(&s.relation, &program.views) {
            return Err(Error::Option {
                message: format!(
                    "sink \"{}\" is {what}, which takes only inserts, but the query writing it also retracts rows (it aggregates, ranks or outer-joins)",
                    s.sink.name,
                ),
                hint: Some("write updates to an upsert Kafka sink (PRIMARY KEY (...) NOT ENFORCED), or as JSON ('format' = 'json', each change with \"op\")".into()),
            });
        }
    }
    Ok(())
}

/// One use of a Kafka topic by the program.
struct TopicUse<'a> {
    bootstrap: &'a str,
    topic: &'a str,
    /// "the source table \"t\"", "the dead-letter topic of table \"t\"", "the sink \"s\"".
    role: String,
    writes: bool,
}

/// Refuse topics used in conflicting roles: a topic ddflow writes (a sink's, or a dead-letter
/// topic) that it also reads (ddflow would consume its own output, forever: one bad record
/// dead-lettered into its own source loops without end), or that another sink or dead-letter
/// queue also writes (their messages would mix, and upserts would clobber each other's keys).
///
/// Topics are compared per broker list; with `bootstrap_override` (`--bootstrap-servers`)
/// every table talks to the same brokers.
pub fn check_topics(program: &Program, bootstrap_override: Option<&str>) -> Result<()> {
    let mut uses: Vec<TopicUse<'_>> = Vec::new();
    for s in program.sources.iter().filter(|s| s.file.is_none()) {
        uses.push(TopicUse {
            bootstrap: &s.bootstrap_servers,
            topic: &s.topic,
            role: format!("the source table \"{}\"", s.name),
            writes: false,
        });
        if let BadRecordPolicy::DeadLetter { topic } = &s.bad_records {
            uses.push(TopicUse {
                bootstrap: &s.bootstrap_servers,
                topic,
                role: format!("the dead-letter topic of table \"{}\"", s.name),
                writes: true,
            });
        }
    }
    for s in &program.sinks {
        if let SinkConnector::Kafka {
            topic,
            bootstrap_servers,
            ..
        } = &s.sink.connector
        {
            uses.push(TopicUse {
                bootstrap: bootstrap_servers,
                topic,
                role: format!("the sink \"{}\"", s.sink.name),
                writes: true,
            });
        }
    }
    let files: Vec<(&str, &str)> = program
        .sinks
        .iter()
        .filter_map(|s| match &s.sink.connector {
            SinkConnector::File { path, .. } => Some((s.sink.name.as_str(), path.as_str())),
            _ => None,
        })
        .collect();
    for (i, (a, path)) in files.iter().enumerate() {
        if let Some((b, _)) = files[i + 1..].iter().find(|(_, p)| p == path) {
            return Err(Error::Option {
                message: format!(
                    "file \"{path}\" is the path of both sink \"{a}\" and sink \"{b}\": their lines would mix"
                ),
                hint: Some("give each file sink a path of its own".into()),
            });
        }
    }
    let same_cluster = |a: &TopicUse<'_>, b: &TopicUse<'_>| {
        bootstrap_override.is_some() || a.bootstrap.trim() == b.bootstrap.trim()
    };
    for (i, a) in uses.iter().enumerate() {
        for b in &uses[i + 1..] {
            if a.topic != b.topic || !(a.writes || b.writes) || !same_cluster(a, b) {
                continue;
            }
            let why = if a.writes && b.writes {
                "both would write it, mixing their messages (and an upsert sink's keys)"
            } else {
                "ddflow would read what it writes, forever"
            };
            return Err(Error::Option {
                message: format!(
                    "topic \"{}\" is {} and {}: {why}",
                    a.topic, a.role, b.role
                ),
                hint: Some("give each written topic (sinks, 'format.dead-letter.topic') a topic of its own".into()),
            });
        }
    }
    Ok(())
}

/// The sources whose rows reach a `GROUP BY` or a join (through any views) and that start from the
/// consumer group's committed offsets: a run that resumes them needs the `GROUP BY` state that
/// goes with those offsets, or its results would cover only the records after them.
pub fn resuming_stateful_sources(program: &Program) -> Vec<&SourceSpec> {
    let mut stateful = BTreeSet::new();
    let relations = program
        .views
        .iter()
        .map(|v| &v.relation)
        .chain(program.sinks.iter().map(|s| &s.relation));
    for r in relations {
        sources_under_reduce(r, &program.views, false, &mut stateful);
    }
    program
        .sources
        .iter()
        .filter(|s| s.startup == StartupMode::GroupOffsets)
        .filter(|s| stateful.contains(&s.name.to_ascii_lowercase()))
        .collect()
}

/// Collect (lowercase) the names of the sources read below a `Reduce` in `r`.
fn sources_under_reduce(r: &Relation, views: &[View], below: bool, out: &mut BTreeSet<String>) {
    match r {
        Relation::Get { name, .. } => {
            match views.iter().find(|v| v.name.eq_ignore_ascii_case(name)) {
                Some(v) => sources_under_reduce(&v.relation, views, below, out),
                None if below => {
                    out.insert(name.to_ascii_lowercase());
                }
                None => {}
            }
        }
        Relation::Reduce { input, .. }
        | Relation::TopN { input, .. }
        | Relation::Over { input, .. }
        | Relation::Window {
            input,
            kind: crate::plan::ir::WindowKind::Session { .. },
            ..
        } => sources_under_reduce(input, views, true, out),
        Relation::Filter { input, .. }
        | Relation::Project { input, .. }
        | Relation::Window { input, .. } => sources_under_reduce(input, views, below, out),
        // A join keeps both inputs arranged: that is state like a `GROUP BY`'s.
        Relation::Join { left, right, .. } => {
            sources_under_reduce(left, views, true, out);
            sources_under_reduce(right, views, true, out);
        }
        Relation::Union { inputs, .. } => {
            for i in inputs {
                sources_under_reduce(i, views, below, out);
            }
        }
        // An iteration keeps what it reads arranged; its own name is not read again.
        Relation::Recursive { name, body, .. } => {
            sources_under_reduce(body, &views_except(views, name), true, out);
        }
    }
}
