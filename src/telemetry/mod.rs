//! Logging and tracing set-up: tracing-subscriber with `RUST_LOG`-style filtering (default `info`),
//! human or JSON lines written by a background thread (a slow terminal never stalls a request),
//! and, with `--otlp-endpoint`, the request spans exported over OTLP (see [`otlp`]).

mod otlp;

use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

pub use otlp::{link, Remote};

/// Set once when the OTLP layer is installed.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether request spans are exported (`--otlp-endpoint`), so their ids come from the exporter.
pub fn exporting_traces() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// What the subscriber needs: the log format and, optionally, where traces go.
pub struct Telemetry {
    pub format: LogFormat,
    /// `--otlp-endpoint` and the runtime its exports run on.
    pub otlp: Option<(otlp::Exporting, tokio::runtime::Handle)>,
}

/// Keeps the writer and the exporter alive; dropping it flushes both.
pub struct Guard {
    _log: WorkerGuard,
    traces: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Guard {
    /// Exports the spans still queued and stops the exporter; call it while the runtime the
    /// exports run on is still up (dropping the guard does it too).
    pub fn finish_traces(&mut self) {
        if let Some(provider) = self.traces.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("imgshield: flushing traces failed: {e}");
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.finish_traces();
    }
}

/// The OTLP settings from the configuration, or `None` when tracing is off.
pub fn exporting(config: &crate::config::Config) -> Result<Option<otlp::Exporting>, String> {
    config
        .otlp_endpoint
        .as_deref()
        .map(|endpoint| otlp::Exporting::new(endpoint, config.otlp_sample_ratio))
        .transpose()
}

/// Installs the global subscriber. Keep the guard alive for as long as the server runs.
pub fn init(telemetry: Telemetry) -> Result<Guard, String> {
    let (writer, log_guard) = tracing_appender::non_blocking(std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A line when a span closes, with its busy and idle time: the per-request timeline, only
    // when debug logging is asked for (the request span itself is info level).
    let timeline = filter
        .max_level_hint()
        .is_none_or(|level| level >= LevelFilter::DEBUG);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .with_span_events(if timeline {
            FmtSpan::CLOSE
        } else {
            FmtSpan::NONE
        });
    let fmt = match telemetry.format {
        LogFormat::Human => fmt.with_filter(filter).boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).with_filter(filter).boxed(),
    };
    let (traces, provider) = match telemetry.otlp {
        Some((exporting, runtime)) => {
            let (layer, provider) = exporting.layer(runtime)?;
            EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
            (Some(layer), Some(provider))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(traces)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    Ok(Guard {
        _log: log_guard,
        traces: provider,
    })
}
