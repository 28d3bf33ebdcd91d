//! The broker a benchmark runs against: the one named by `--bootstrap-servers`, or a Tansu
//! broker started for the run (from `$TANSU` or `tansu` on the `PATH`) and stopped at the end.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A broker in use by the harness.
pub struct Broker {
    /// Its bootstrap address.
    pub bootstrap: String,
    started: Option<Child>,
}

impl Broker {
    /// Reuse `bootstrap` when given; otherwise start Tansu on a free local port.
    pub fn start_or_reuse(bootstrap: Option<&str>, work_dir: &Path) -> Result<Broker> {
        if let Some(b) = bootstrap {
            return Ok(Broker {
                bootstrap: b.to_string(),
                started: None,
            });
        }
        let binary = std::env::var_os("TANSU")
            .map(PathBuf::from)
            .or_else(|| find_on_path("tansu"))
            .ok_or_else(|| {
                Error::Config(
                    "no broker: pass --bootstrap-servers (or DDFLOW_BOOTSTRAP_SERVERS), or make a \
                     Tansu binary available as $TANSU or `tansu` on the PATH \
                     (`.ci/broker.sh --binary-only` installs one)"
                        .into(),
                )
            })?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Error::io("127.0.0.1:0", e))?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log = work_dir.join("tansu.log");
        let out = std::fs::File::create(&log).map_err(|e| Error::io(&log, e))?;
        let child = Command::new(&binary)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .map_err(|e| Error::io(&binary, e))?;
        let bootstrap = format!("127.0.0.1:{port}");
        let broker = Broker {
            bootstrap: bootstrap.clone(),
            started: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&bootstrap).is_err() {
            if Instant::now() > deadline {
                return Err(Error::KafkaTimeout(format!(
                    "the Tansu broker started from {} does not listen on {bootstrap} (log: {})",
                    binary.display(),
                    log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(c) = self.started.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
