//! The crate error: one enum for every failure a user can see.
//!
//! Each variant belongs to a [`Domain`] (the user's input, an external system, or a bug of ours)
//! and maps to a stable exit code. `Display` prints only the error itself, lowercase, no period;
//! hints are kept apart so `main` can print them on their own line.

use std::fmt;

/// Who is responsible for an error, and so what the user should do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Bad SQL, bad options, bad flags, malformed records under the `fail` policy.
    User,
    /// The broker or the file system failed or could not be reached.
    External,
    /// An invariant of ddflow broke: a bug.
    Internal,
}

/// A position in a dataflow file, 1-based, as editors count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Line, starting at 1.
    pub line: u64,
    /// Column, starting at 1.
    pub column: u64,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Every error ddflow reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SQL text does not parse, or names something that does not exist.
    #[error("{file}:{span}: {message}")]
    Sql {
        /// The dataflow file (or `<input>`).
        file: String,
        /// Where in the file.
        span: Span,
        /// What is wrong.
        message: String,
        /// What the user might do instead.
        hint: Option<String>,
    },
    /// A `WITH (...)` option is unknown, missing or has a bad value.
    #[error("{message}")]
    Option {
        /// What is wrong, naming the option and the table.
        message: String,
        /// What the user might do instead.
        hint: Option<String>,
    },
    /// A command-line flag or run setting is invalid.
    #[error("{0}")]
    Config(String),
    /// A run would continue from Kafka offsets without the state that belongs to them.
    #[error("{message}")]
    State {
        /// What would go wrong.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// A record could not be decoded and the policy is `fail`.
    #[error(
        "cannot decode record at topic \"{topic}\" partition {partition} offset {offset}: {reason}"
    )]
    Decode {
        /// Source topic.
        topic: String,
        /// Source partition.
        partition: i32,
        /// Offset of the bad record.
        offset: i64,
        /// What was wrong with it.
        reason: String,
    },
    /// A query result cannot be computed or represented (e.g. a BIGINT `SUM` beyond 64 bits).
    #[error("in \"{context}\": {message}")]
    Eval {
        /// The view or sink whose query failed.
        context: String,
        /// What went wrong, naming the expression and the group.
        message: String,
        /// What the user might do instead.
        hint: Option<String>,
    },
    /// The broker could not be reached or refused a request.
    #[error("kafka: {context}: {source}")]
    Kafka {
        /// What ddflow was doing.
        context: String,
        /// The client's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// The broker answered with an error that retrying cannot fix.
    #[error("kafka: {context}: {message}")]
    KafkaFatal {
        /// What ddflow was doing.
        context: String,
        /// The client's error.
        message: String,
        /// What to check.
        hint: String,
    },
    /// The broker did not answer within the allowed time.
    #[error("kafka: {0}")]
    KafkaTimeout(String),
    /// A sink could not write.
    #[error("sink \"{sink}\": {message}")]
    Sink {
        /// The sink table.
        sink: String,
        /// What failed.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A checkpoint file is missing, damaged, foreign, or belongs to another dataflow.
    #[error("checkpoint {path}: {problem}")]
    Checkpoint {
        /// The file or directory.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A bug: an invariant of ddflow did not hold.
    #[error("internal error: {0}")]
    Internal(String),
    /// Another process of the cluster failed, and this one stopped with it.
    #[error("process {process} of the cluster failed: {message}")]
    PeerFailed {
        /// The failed process's index (`-p`).
        process: usize,
        /// Its error, as it printed it.
        message: String,
        /// Its exit code, which this process exits with too.
        exit_code: i32,
    },
    /// Another process of the cluster went away without a word (killed, crashed, its host
    /// or the network gone).
    #[error("lost contact with another process of the cluster: {0}")]
    PeerLost(String),
}

impl Error {
    /// Who is responsible for this error.
    pub fn domain(&self) -> Domain {
        match self {
            Error::Sql { .. }
            | Error::Option { .. }
            | Error::Config(_)
            | Error::Decode { .. }
            | Error::State { .. }
            | Error::Eval { .. } => Domain::User,
            Error::Kafka { .. }
            | Error::KafkaFatal { .. }
            | Error::KafkaTimeout(_)
            | Error::Sink { .. }
            | Error::Io { .. }
            | Error::Checkpoint { .. }
            | Error::PeerLost(_) => Domain::External,
            Error::PeerFailed { exit_code, .. } => match exit_code {
                2 => Domain::User,
                4 => Domain::Internal,
                _ => Domain::External,
            },
            Error::Internal(_) => Domain::Internal,
        }
    }

    /// A hint for the user, printed on its own line after the error.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Sql { hint, .. } | Error::Option { hint, .. } | Error::Eval { hint, .. } => {
                hint.as_deref()
            }
            Error::KafkaFatal { hint, .. } | Error::State { hint, .. } => Some(hint),
            Error::Kafka { source, .. } => Some(permanent_kafka_error(source).unwrap_or(BROKER_HINT)),
            Error::KafkaTimeout(_) => Some(BROKER_HINT),
            Error::Decode { .. } => {
                Some("set 'format.bad-records' = 'skip' (or 'dead-letter') on the source to keep going")
            }
            Error::Checkpoint { .. } => Some(
                "ddflow never resets state silently: restore from an intact checkpoint, or point --checkpoint-dir at an empty directory to start over",
            ),
            Error::PeerLost(_) | Error::PeerFailed { .. } => Some(
                "every process of a cluster stops when one fails; fix the cause and start them all again with the same checkpoint directory: the results continue exactly",
            ),
            _ => None,
        }
    }

    /// The process exit code: 2 for user errors, 3 for external failures, 4 for bugs.
    pub fn exit_code(&self) -> i32 {
        match self.domain() {
            Domain::User => 2,
            Domain::External => 3,
            Domain::Internal => 4,
        }
    }

    /// Shorthand for an option error without a hint.
    pub fn option(message: impl Into<String>) -> Self {
        Error::Option {
            message: message.into(),
            hint: None,
        }
    }

    /// Shorthand for a Kafka client error with context.
    pub fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        Error::Kafka {
            context: context.into(),
            source,
        }
    }
}

impl Error {
    /// Shorthand for a checkpoint problem.
    pub fn checkpoint(path: impl AsRef<std::path::Path>, problem: impl Into<String>) -> Self {
        Error::Checkpoint {
            path: path.as_ref().display().to_string(),
            problem: problem.into(),
        }
    }

    /// Shorthand for an I/O error on a path.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// The hint for a broker that does not answer, when nothing more telling is known.
pub const BROKER_HINT: &str =
    "check 'properties.bootstrap.servers' and that the broker is running, or try --embedded";

/// Whether a client error is permanent (retrying cannot help), with what the user should check.
/// `None`: a transient error, to be retried.
pub fn permanent_kafka_error(e: &rdkafka::error::KafkaError) -> Option<&'static str> {
    use rdkafka::types::RDKafkaErrorCode as C;
    let code = e.rdkafka_error_code()?;
    Some(match code {
        C::NotImplemented | C::UnsupportedCompressionType | C::UnsupportedFeature => {
            "the records use a feature (e.g. a compression codec) this ddflow build or the broker does not support"
        }
        C::TopicAuthorizationFailed
        | C::GroupAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::TransactionalIdAuthorizationFailed => {
            "the broker denies access: check the ACLs of the user in 'properties.sasl.username'"
        }
        C::SaslAuthenticationFailed | C::Authentication => {
            "authentication failed: check 'properties.sasl.mechanism', 'properties.sasl.username' and 'properties.sasl.password'"
        }
        C::SSL => {
            "the TLS handshake failed: check 'properties.security.protocol' and the 'properties.ssl.*' certificate settings"
        }
        C::UnknownTopicOrPartition | C::UnknownTopic => {
            "the topic or partition no longer exists on the broker"
        }
        C::UnsupportedVersion | C::InvalidConfig | C::Fatal => {
            "the broker refuses the client's request"
        }
        _ => return None,
    })
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::error::KafkaError;
    use rdkafka::types::RDKafkaErrorCode as C;

    #[test]
    fn permanent_consumer_errors_are_told_from_transient_ones() {
        let consume = |c| KafkaError::MessageConsumption(c);
        for permanent in [
            C::NotImplemented,
            C::UnsupportedCompressionType,
            C::TopicAuthorizationFailed,
            C::SaslAuthenticationFailed,
            C::SSL,
            C::UnknownTopicOrPartition,
        ] {
            assert!(
                permanent_kafka_error(&consume(permanent)).is_some(),
                "{permanent:?}"
            );
        }
        for transient in [
            C::BrokerTransportFailure,
            C::AllBrokersDown,
            C::NotLeaderForPartition,
            C::RequestTimedOut,
        ] {
            assert!(
                permanent_kafka_error(&consume(transient)).is_none(),
                "{transient:?}"
            );
        }
        let hint = permanent_kafka_error(&consume(C::NotImplemented)).unwrap();
        assert!(hint.contains("compression codec"), "{hint}");
    }
}
