//! The `ddflow` binary: parse flags, set up logging, run, and map errors to exit codes.

use clap::Parser;

/// Rows are packed by a source's fetcher thread and freed by a worker; glibc's allocator
/// takes a lock on the allocating thread's arena for every such free (in `perf` of Nexmark q0
/// the worker waited on it), mimalloc hands the block back without one. Without transparent
/// huge pages (`no_thp`): with them, memory mimalloc gave back and took again was zeroed 2 MB
/// at a time (Nexmark q5: 15% of samples in the kernel's `clear_page`, 3 s of system time).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// librdkafka's buffers (a fetch response, a decompressed batch: up to megabytes each) come
/// from glibc's allocator, which by default maps a block that large afresh, unmaps it when it
/// is freed, and gives the free top of a heap back to the system: each batch's memory was
/// faulted in and zeroed again (Nexmark q0 `-w 2`: page faults, `clear_page` and `munmap`
/// about a tenth of the process's CPU). With these two settings freed blocks are kept and
/// reused; a run that goes quiet still returns them (see `runtime`'s `malloc_trim`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_freed_buffers() {
    // The largest threshold glibc takes (on 64-bit), and a heap top kept up to 256 MB.
    const MMAP_THRESHOLD: libc::c_int = 32 << 20;
    const TRIM_THRESHOLD: libc::c_int = 256 << 20;
    // SAFETY: `mallopt` only sets the allocator's parameters, under its own lock, before any
    // other thread is started; a refused setting (0) leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
    }
}

/// Other allocators keep freed blocks on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_buffers() {}

fn main() {
    keep_freed_buffers();
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
