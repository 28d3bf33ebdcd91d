//! Broker outages: a broker of the test's own behind a TCP proxy that the test cuts (every
//! connection closed, new ones refused) and restores. The broker keeps its data (its storage is
//! in memory, so it cannot itself be restarted without losing it).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::*;

/// A TCP proxy in front of one address that can be cut and restored.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(port: u16, upstream: u16) -> Proxy {
        let down = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (d, s) = (down.clone(), stop.clone());
        std::thread::spawn(move || {
            let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
            let mut listener: Option<TcpListener> = None;
            while !s.load(Ordering::SeqCst) {
                if d.load(Ordering::SeqCst) {
                    listener = None;
                    for c in conns.lock().unwrap().drain(..) {
                        let _ = c.shutdown(Shutdown::Both);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                let Some(l) = listener.as_ref() else {
                    if let Ok(l) = TcpListener::bind(("127.0.0.1", port)) {
                        l.set_nonblocking(true).unwrap();
                        listener = Some(l);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                match l.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        let mut list = conns.lock().unwrap();
                        list.push(client.try_clone().unwrap());
                        list.push(server.try_clone().unwrap());
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy { port, down, stop }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// A broker of this test's own, reachable only through a proxy.
struct Broker {
    process: Child,
    proxy: Proxy,
}

impl Broker {
    fn start() -> Broker {
        let (inner, outer) = (free_port(), free_port());
        let process = start_tansu(inner, outer);
        Broker {
            process,
            proxy: Proxy::start(outer, inner),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn produce_words_to(bootstrap: &str, topic: &str, words: &[String]) {
    produce_to(bootstrap, &[], topic, 2, &round_robin(words, 2));
}

fn words(n: usize, salt: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("w{}", (i * 7 + salt) % 97))
        .collect()
}

fn total_in(bootstrap: &str, topic: &str) -> i64 {
    let Ok(records) = ddflow::kafka::read_topic(bootstrap, topic, Duration::from_secs(10)) else {
        return 0;
    };
    ddflow::kafka::upsert_state(&records)
        .values()
        .map(|v| {
            serde_json::from_str::<serde_json::Value>(v).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .sum()
}

fn await_total(bootstrap: &str, topic: &str, total: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while total_in(bootstrap, topic) != total {
        assert!(Instant::now() < deadline, "output never reached {total}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn sql(bootstrap: &str, input: &str, output: &str, group: &str) -> String {
    format!(
        "CREATE TABLE words (value STRING) WITH ('connector' = 'kafka', 'topic' = '{input}',
           'properties.bootstrap.servers' = '{bootstrap}', 'properties.group.id' = '{group}', 'format' = 'raw');
         CREATE TABLE word_counts (value STRING, n BIGINT, PRIMARY KEY (value) NOT ENFORCED) WITH (
           'connector' = 'kafka', 'topic' = '{output}', 'properties.bootstrap.servers' = '{bootstrap}', 'format' = 'json');
         INSERT INTO word_counts SELECT value, COUNT(*) AS n FROM words GROUP BY value;"
    )
}

fn start_job(file: &std::path::Path, extra: &[&str]) -> Child {
    let ckpt = std::env::temp_dir().join(unique("ddflow-outage-ckpt"));
    Command::new(env!("CARGO_BIN_EXE_ddflow"))
        .args(["run", file.to_str().unwrap(), "--checkpoint-dir"])
        .arg(ckpt)
        .args(["--checkpoint-interval", "300ms"])
        .args(extra)
        .env("DDFLOW_LOG", "ddflow=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn broker_outage_mid_run_loses_nothing() {
    let broker = Broker::start();
    let b = broker.proxy.address();
    let (input, output, group) = (unique("out-in"), unique("out-out"), unique("out-g"));
    let first = words(10_000, 1);
    produce_words_to(&b, &input, &first);
    let file = sql_file("outage", &sql(&b, &input, &output, &group));
    let job = start_job(&file, &["--max-outage", "60s"]);
    await_total(&b, &output, 10_000);

    broker.proxy.cut();
    std::thread::sleep(Duration::from_secs(6));
    broker.proxy.restore();

    let second = words(10_000, 2);
    produce_words_to(&b, &input, &second);
    await_total(&b, &output, 20_000);
    let out = interrupt(job);
    assert!(
        text(&out.stderr).contains("broker unreachable"),
        "the outage is reported: {}",
        text(&out.stderr)
    );

    let expected = count(&[first, second].concat());
    let state =
        word_counts_of(&ddflow::kafka::read_topic(&b, &output, Duration::from_secs(10)).unwrap());
    assert_eq!(state, expected);
    let committed =
        ddflow::kafka::committed_offsets(&b, &group, &input, Duration::from_secs(10)).unwrap();
    assert_eq!(committed, vec![Some(10_000), Some(10_000)]);
}

#[test]
fn broker_that_never_returns_fails_after_max_outage() {
    let broker = Broker::start();
    let b = broker.proxy.address();
    let (input, output, group) = (unique("gone-in"), unique("gone-out"), unique("gone-g"));
    produce_words_to(&b, &input, &words(1000, 3));
    let file = sql_file("gone", &sql(&b, &input, &output, &group));
    let job = start_job(&file, &["--max-outage", "3s"]);
    await_total(&b, &output, 1000);
    broker.proxy.cut();
    let cut = Instant::now();
    let out = job.wait_with_output().unwrap();
    assert!(
        cut.elapsed() < Duration::from_secs(30),
        "{:?}",
        cut.elapsed()
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("has been unreachable for") && err.contains("--max-outage 3s"),
        "{err}"
    );
}
