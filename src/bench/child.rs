//! A `ddflow run` child process: started from this binary, watched for memory, stopped with
//! SIGINT (a graceful stop: drain, flush, commit) and its JSON report collected.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A running `ddflow run`.
pub struct DdflowChild {
    child: std::process::Child,
    /// When it was spawned.
    pub started: Instant,
    log: PathBuf,
}

impl DdflowChild {
    /// Spawn `ddflow run <file> --report-json <flags...>`, stderr to `log`.
    pub fn spawn(file: &Path, flags: &[String], log: &Path) -> Result<DdflowChild> {
        let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
        let err = std::fs::File::create(log).map_err(|e| Error::io(log, e))?;
        let started = Instant::now();
        let child = Command::new(&exe)
            .arg("run")
            .arg(file)
            .arg("--report-json")
            .args(flags)
            // The harness reads progress lines (e.g. restore completion) from the log.
            .env("DDFLOW_LOG", "ddflow=info")
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .map_err(|e| Error::io(&exe, e))?;
        Ok(DdflowChild {
            child,
            started,
            log: log.to_path_buf(),
        })
    }

    /// Fails with the end of its log when the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::Internal(format!(
                "ddflow run exited early ({status}); log {}:\n{}",
                self.log.display(),
                tail(&self.log)
            ))),
            Err(e) => Err(Error::io("ddflow child", e)),
        }
    }

    /// Peak resident memory so far (`VmHWM`), bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        status_kb(self.child.id(), "VmHWM:").map(|kb| kb * 1024)
    }

    /// Current resident memory (`VmRSS`), bytes.
    pub fn rss(&self) -> Option<u64> {
        status_kb(self.child.id(), "VmRSS:").map(|kb| kb * 1024)
    }

    /// Time from spawn until it exited, once it has exited successfully; `None` while it
    /// runs. Fails with the end of its log when it exited with an error.
    pub fn exited(&mut self) -> Result<Option<Duration>> {
        match self.child.try_wait() {
            Ok(None) => Ok(None),
            Ok(Some(status)) if status.success() => Ok(Some(self.started.elapsed())),
            Ok(Some(status)) => Err(Error::Internal(format!(
                "ddflow run failed ({status}); log {}:\n{}",
                self.log.display(),
                tail(&self.log)
            ))),
            Err(e) => Err(Error::io("ddflow child", e)),
        }
    }

    /// Stop gracefully (SIGINT) and return its report (`ddflow run --report-json`).
    pub fn stop(mut self, timeout: Duration) -> Result<serde_json::Value> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + timeout;
        while self
            .child
            .try_wait()
            .map_err(|e| Error::io("ddflow child", e))?
            .is_none()
        {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err(Error::Internal(format!(
                    "ddflow run did not stop within {timeout:?} of SIGINT; log {}",
                    self.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.report()
    }

    /// The report of a process that has exited (`ddflow run --report-json`).
    pub fn report(&mut self) -> Result<serde_json::Value> {
        let mut text = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            use std::io::Read;
            out.read_to_string(&mut text)
                .map_err(|e| Error::io("ddflow child", e))?;
        }
        let line = text
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or("");
        serde_json::from_str(line).map_err(|e| {
            Error::Internal(format!(
                "ddflow run printed no report ({e}); log {}:\n{}",
                self.log.display(),
                tail(&self.log)
            ))
        })
    }

    /// Kill it at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DdflowChild {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
