//! `'properties.*'` options: Kafka client settings passed to librdkafka, checked when the file
//! is planned, and never shown with their values when they look secret.
//!
//! Each property is checked by librdkafka's own configuration parser (no client is created and
//! nothing connects), so a misspelt name or a bad value is reported by `ddflow check`, with a
//! "did you mean" from librdkafka's property list. Settings that ddflow's guarantees rest on
//! (offsets committed only for durable output, an idempotent producer, ...) cannot be
//! overridden; the message says why.

use std::fmt;

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaConfRes;
use serde::{Deserialize, Serialize};

use crate::spec::librdkafka_properties::PROPERTIES;
use crate::spec::options::closest;

/// Whether a property's value must never be shown: passwords, secrets, keys, tokens and every
/// SASL setting.
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password")
        || k.contains("secret")
        || k.contains("token")
        || k.ends_with(".key")
        || k.starts_with("sasl.")
        || k.starts_with("ssl.key")
}

/// How a secret value is shown.
pub const REDACTED: &str = "<redacted>";

/// `'properties.*'` options of a table, prefix removed, in declaration order. `Debug` and
/// `Serialize` (plans in checkpoint manifests) show secret values as [`REDACTED`], so a
/// password never reaches a log, a message or a file, and rotating it keeps checkpoints valid.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Properties(pub Vec<(String, String)>);

impl Properties {
    fn shown(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| {
            let v = if is_secret(k) { REDACTED } else { v.as_str() };
            (k.as_str(), v)
        })
    }
}

impl std::ops::Deref for Properties {
    type Target = [(String, String)];
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.shown()).finish()
    }
}

impl Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.shown())
    }
}

/// Which client a table's properties configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A source: a consumer (and the dead-letter producer).
    Source,
    /// A Kafka sink: a producer.
    Sink,
}

/// Settings ddflow sets itself and does not let a table override, with the reason.
const PROTECTED: &[(&str, Option<Role>, &str)] = &[
    (
        "enable.auto.commit",
        Some(Role::Source),
        "ddflow commits offsets itself, only for output that is durable",
    ),
    (
        "enable.auto.offset.store",
        Some(Role::Source),
        "ddflow commits offsets itself, only for output that is durable",
    ),
    (
        "enable.partition.eof",
        Some(Role::Source),
        "bounded runs detect the end of each partition through it",
    ),
    (
        "isolation.level",
        Some(Role::Source),
        "sources read only committed records (read_committed)",
    ),
    (
        "auto.offset.reset",
        Some(Role::Source),
        "the start position is 'scan.startup.mode'",
    ),
    (
        "enable.idempotence",
        Some(Role::Sink),
        "sinks rely on an idempotent producer to write each change once, in order",
    ),
    (
        "acks",
        Some(Role::Sink),
        "an idempotent producer needs acks=all",
    ),
    (
        "transactional.id",
        Some(Role::Sink),
        "ddflow names transactional producers itself (<group>-<sink>-<worker>)",
    ),
    (
        "message.timeout.ms",
        Some(Role::Sink),
        "it follows --max-outage",
    ),
    (
        "group.instance.id",
        None,
        "sources are assigned partitions, not group members",
    ),
];

/// Check a table's properties; each problem names the option (never a secret value).
/// Returns the problems and a "did you mean" hint for the first misspelt name.
pub fn check(
    table: &str,
    role: Role,
    properties: &[(String, String)],
) -> (Vec<String>, Option<String>) {
    let mut problems = Vec::new();
    let mut hint = None;
    for (key, value) in properties {
        if let Some((_, _, why)) = PROTECTED
            .iter()
            .find(|(k, r, _)| k == key && r.is_none_or(|r| r == role))
        {
            problems.push(format!(
                "option 'properties.{key}' of table \"{table}\" cannot be set: {why}"
            ));
            continue;
        }
        let checked = ClientConfig::new()
            .set(key.as_str(), value.as_str())
            .create_native_config();
        match checked {
            Ok(_) => {}
            Err(KafkaError::ClientConfig(RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN, ..)) => {
                problems.push(format!(
                    "unknown Kafka client property 'properties.{key}' for table \"{table}\""
                ));
                if let Some(best) = closest(key, PROPERTIES.iter().copied()) {
                    hint.get_or_insert(format!("did you mean 'properties.{best}'?"));
                }
            }
            Err(KafkaError::ClientConfig(_, description, ..)) => {
                let detail = if is_secret(key) {
                    "librdkafka rejects the value (not shown: the setting looks secret)".to_string()
                } else {
                    description
                };
                problems.push(format!(
                    "invalid value for 'properties.{key}' of table \"{table}\": {detail}"
                ));
            }
            Err(e) => problems.push(format!(
                "cannot check 'properties.{key}' of table \"{table}\": {}",
                redact_error(e)
            )),
        }
    }
    (problems, hint)
}

/// A client error with any secret configuration value removed from it (librdkafka's messages
/// for a bad setting quote its value).
pub fn redact_error(e: KafkaError) -> KafkaError {
    match e {
        KafkaError::ClientConfig(res, description, key, value) if is_secret(&key) => {
            let description = if value.is_empty() {
                description
            } else {
                description.replace(&value, REDACTED)
            };
            KafkaError::ClientConfig(res, description, key, REDACTED.into())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for k in [
            "sasl.password",
            "sasl.username",
            "ssl.key.password",
            "ssl.key.pem",
            "ssl.keystore.password",
            "sasl.oauthbearer.client.secret",
            "ssl_engine_callback_data.token",
            "my.private.key",
        ] {
            assert!(is_secret(k), "{k}");
        }
        for k in [
            "bootstrap.servers",
            "security.protocol",
            "ssl.ca.location",
            "fetch.max.bytes",
        ] {
            assert!(!is_secret(k), "{k}");
        }
    }

    #[test]
    fn debug_and_serialize_redact_secrets() {
        let p = Properties(vec![
            ("sasl.password".into(), "hunter2".into()),
            ("fetch.max.bytes".into(), "1000".into()),
        ]);
        let debug = format!("{p:?}");
        let json = serde_json::to_string(&p).unwrap();
        for text in [&debug, &json] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains(REDACTED) && text.contains("1000"), "{text}");
        }
    }

    #[test]
    fn misspelt_and_invalid_properties_never_show_secret_values() {
        let props = vec![
            ("sasl.pasword".to_string(), "hunter2".to_string()),
            ("socket.timeout.ms".to_string(), "soon".to_string()),
            ("enable.auto.commit".to_string(), "true".to_string()),
        ];
        let (problems, hint) = check("t", Role::Source, &props);
        let all = format!("{problems:?} {hint:?}");
        assert!(!all.contains("hunter2"), "{all}");
        assert_eq!(problems.len(), 3, "{all}");
        assert!(problems[0].contains("unknown Kafka client property 'properties.sasl.pasword'"));
        assert_eq!(
            hint.as_deref(),
            Some("did you mean 'properties.sasl.password'?")
        );
        assert!(
            problems[1].contains("invalid value for 'properties.socket.timeout.ms'"),
            "{all}"
        );
        assert!(
            problems[2].contains("cannot be set: ddflow commits offsets itself"),
            "{all}"
        );
    }

    #[test]
    fn the_linked_librdkafka_knows_every_listed_property() {
        for name in PROPERTIES {
            let result = ClientConfig::new().set(*name, "x").create_native_config();
            assert!(
                !matches!(
                    result,
                    Err(KafkaError::ClientConfig(
                        RDKafkaConfRes::RD_KAFKA_CONF_UNKNOWN,
                        ..
                    ))
                ),
                "{name}"
            );
        }
    }
}
