//! TLS end to end: a broker of the test's own behind a TLS-terminating proxy (the test broker
//! has no TLS listener of its own), with a self-signed certificate the test makes. ddflow reads
//! and writes through it with `'properties.security.protocol' = 'SSL'`; a table without it
//! fails with a message that points at TLS, not at the broker address.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::ssl::{SslAcceptor, SslMethod, SslStream};
use openssl::x509::extension::{BasicConstraints, SubjectAlternativeName};
use openssl::x509::{X509NameBuilder, X509};

use crate::support::*;

/// A self-signed certificate for 127.0.0.1 / localhost (its own CA).
fn certificate() -> (X509, PKey<Private>) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "localhost").unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
        .unwrap();
    b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (b.build(), key)
}

/// Accept TLS on `port` and forward the plain bytes to `upstream`, one thread per connection.
fn tls_proxy(port: u16, upstream: u16, cert: &X509, key: &PKey<Private>) {
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_certificate(cert).unwrap();
    acceptor.set_private_key(key).unwrap();
    let acceptor = Arc::new(acceptor.build());
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let acceptor = acceptor.clone();
            std::thread::spawn(move || {
                if let Ok(tls) = acceptor.accept(client) {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) {
                        relay(tls, server);
                    }
                }
            });
        }
    });
}

/// Move bytes both ways until either side closes. One thread owns the TLS stream, so both
/// directions take turns with short read timeouts.
fn relay(mut tls: SslStream<TcpStream>, mut server: TcpStream) {
    let tick = Some(Duration::from_millis(2));
    tls.get_ref().set_read_timeout(tick).unwrap();
    server.set_read_timeout(tick).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    while pump(&mut tls, &mut server, &mut buf) && pump(&mut server, &mut tls, &mut buf) {}
}

/// Move what `from` has (if anything, within its read timeout) to `to`; false once either side
/// has closed.
fn pump(from: &mut impl Read, to: &mut impl Write, buf: &mut [u8]) -> bool {
    match from.read(buf) {
        Ok(0) => false,
        Ok(n) => to.write_all(&buf[..n]).is_ok(),
        Err(e) => matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
    }
}

struct TlsBroker {
    process: std::process::Child,
    address: String,
    ca: PathBuf,
}

impl TlsBroker {
    fn start(dir: &Path) -> TlsBroker {
        let (inner, outer) = (free_port(), free_port());
        let process = start_tansu(inner, outer);
        let (cert, key) = certificate();
        tls_proxy(outer, inner, &cert, &key);
        std::fs::create_dir_all(dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, cert.to_pem().unwrap()).unwrap();
        TlsBroker {
            process,
            address: format!("127.0.0.1:{outer}"),
            ca,
        }
    }

    /// The client settings for this broker.
    fn client(&self) -> Vec<(String, String)> {
        vec![
            ("security.protocol".into(), "SSL".into()),
            ("ssl.ca.location".into(), self.ca.display().to_string()),
        ]
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn dataflow(broker: &TlsBroker, input: &str, output: &str, security: &str) -> String {
    let b = &broker.address;
    format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{b}', 'format' = 'raw', {security}
           'scan.startup.mode' = 'earliest-offset', 'scan.bounded.mode' = 'latest-offset');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{b}',
           {security} 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    )
}

#[test]
fn issue9_15_reads_and_writes_through_tls() {
    let broker = TlsBroker::start(&temp_path("tls"));
    let (input, output) = (unique("tls-in"), unique("tls-out"));
    let client = broker.client();
    let words: Vec<String> = (0..500).map(|i| format!("w{}", i % 17)).collect();
    produce_to(&broker.address, &client, &input, 2, &round_robin(&words, 2));
    let security = format!(
        "'properties.security.protocol' = 'SSL', 'properties.ssl.ca.location' = '{}',",
        broker.ca.display()
    );
    let file = sql_file("tls", &dataflow(&broker, &input, &output, &security));
    ddflow_ok(&["run", file.to_str().unwrap(), "-w", "2"]);
    let records =
        ddflow::kafka::read_topic_with(&broker.address, &client, &output, Duration::from_secs(30))
            .unwrap();
    let got = word_counts_of(&records);
    assert_eq!(got, count(&words));

    // Without the TLS settings, the message points at TLS.
    let plain = sql_file("plain", &dataflow(&broker, &input, &unique("o"), ""));
    let out = ddflow(&["run", plain.to_str().unwrap(), "--broker-timeout", "3s"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("hint: a TLS problem: set 'properties.security.protocol' to 'SSL'"),
        "{err}"
    );
}
