//! `--metrics-addr`: a thread beside the workers that serves `/metrics` over HTTP (through
//! `tiny_http`) for Prometheus to scrape. It only reads the shared counters.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::error::{Error, Result};

/// The content type of the OpenMetrics text format, which Prometheus negotiates.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The serving thread; dropping it stops the server.
pub struct MetricsServer {
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// The address it listens on (the port is the one asked for, or the one the system chose
    /// for port 0).
    pub addr: SocketAddr,
}

impl MetricsServer {
    /// Listen on `addr` and serve `metrics` until dropped.
    pub fn start(addr: SocketAddr, metrics: super::Shared) -> Result<Self> {
        let server = tiny_http::Server::http(addr).map_err(|e| {
            Error::Config(format!(
                "cannot serve metrics on {addr} (--metrics-addr): {e}"
            ))
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| Error::Internal("the metrics server has no IP address".into()))?;
        let server = Arc::new(server);
        let serving = server.clone();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for request in serving.incoming_requests() {
                    respond(request, (*metrics).as_ref());
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the metrics thread: {e}")))?;
        tracing::info!(%addr, "serving Prometheus metrics at http://{addr}/metrics");
        Ok(MetricsServer {
            server,
            thread: Some(thread),
            addr,
        })
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn respond(request: tiny_http::Request, metrics: &super::Metrics) {
    let typed = |response: tiny_http::Response<_>, value: &str| match tiny_http::Header::from_bytes(
        &b"Content-Type"[..],
        value.as_bytes(),
    ) {
        Ok(h) => response.with_header(h),
        Err(()) => response,
    };
    let path = request.url().split('?').next().unwrap_or("");
    let response = match (request.method(), path) {
        (tiny_http::Method::Get, "/metrics") => {
            let text = metrics.exported.encode(metrics);
            typed(tiny_http::Response::from_string(text), CONTENT_TYPE)
        }
        (tiny_http::Method::Get, "/") => typed(
            tiny_http::Response::from_string("ddflow: Prometheus metrics are at /metrics\n"),
            "text/plain; charset=utf-8",
        ),
        _ => tiny_http::Response::from_string("not found: metrics are at /metrics\n")
            .with_status_code(404),
    };
    // A scraper that went away is no concern of the run.
    let _ = request.respond(response);
}
