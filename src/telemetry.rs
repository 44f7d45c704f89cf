//! Logging set-up: tracing-subscriber with `RUST_LOG`-style filtering (default `info`), human or JSON
//! lines, written by a background thread so a slow terminal never stalls a request.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Keep the guard alive: dropping it flushes and stops the writer.
pub fn init(format: LogFormat) -> WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        // A line when a span closes, with its busy and idle time: the per-request timeline. The
        // spans are debug level, so this is silent unless debug logging is asked for.
        .with_span_events(FmtSpan::CLOSE);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    guard
}
