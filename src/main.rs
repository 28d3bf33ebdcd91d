//! The `ddflow` binary: parse flags, set up logging, run, and map errors to exit codes.

use clap::Parser;

/// Rows are packed by a source's fetcher thread and freed by a worker; glibc's allocator
/// takes a lock on the allocating thread's arena for every such free (in `perf` of Nexmark q0
/// the worker waited on it), mimalloc hands the block back without one. Without transparent
/// huge pages (`no_thp`): with them, memory mimalloc gave back and took again was zeroed 2 MB
/// at a time (Nexmark q5: 15% of samples in the kernel's `clear_page`, 3 s of system time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = ddflow::cli::Cli::parse();
    // When another process of a cluster goes away, timely's network threads panic and the
    // workers waiting on them follow; the run then reports it once, as an error. Other panics
    // (bugs) print as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !ddflow::runtime::lost_peer(ddflow::runtime::panic_text(info.payload())) {
            default_hook(info);
        }
    }));
    let filter = tracing_subscriber::EnvFilter::try_from_env("DDFLOW_LOG")
        .unwrap_or_else(|_| "ddflow=info".into())
        // The SQL parser logs every token at debug level, secrets in WITH options included:
        // never show them.
        .add_directive("sqlparser=off".parse().expect("a valid directive"))
        // rdkafka reports a consumer ddflow closed before dropping it (kafka::GroupConsumer)
        // as a failed close; its other messages there are about group rebalances, which
        // ddflow's consumers never join.
        .add_directive(
            "rdkafka::consumer::base_consumer=off"
                .parse()
                .expect("a valid directive"),
        );
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Around the status line when one is drawn.
        .with_writer(ddflow::metrics::status::log_writer);
    match cli.log_format {
        ddflow::cli::LogFormat::Json => logs.json().init(),
        // Colour codes only for a terminal, never into a pipe or a file.
        ddflow::cli::LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    if let Err(error) = ddflow::cli::run(cli) {
        eprintln!("error: {error}");
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            eprintln!("  caused by: {cause}");
            source = cause.source();
        }
        if let Some(hint) = error.hint() {
            eprintln!("hint: {hint}");
        }
        std::process::exit(error.exit_code());
    }
}
