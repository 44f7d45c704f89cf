//! The `imgshield` binary: parse the command line, then serve until SIGTERM/SIGINT (or run a tool
//! subcommand such as `sign`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use imgshield::config::{Cli, Command};

/// jemalloc serves every allocation in the process, libvips' included (see Cargo.toml): in the
/// soak it kept peak and settled RSS lowest and gave freed pixel buffers back (docs/BENCHMARKS.md).
#[cfg(all(feature = "jemalloc", target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Sign(args)) = &cli.command {
        return match imgshield::signature::sign_command(args) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("imgshield sign: {message}");
                ExitCode::from(2)
            }
        };
    }
    if let Some(Command::Compare(args)) = &cli.command {
        return compare(args);
    }
    let config = cli.serve;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("imgshield: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let telemetry =
        imgshield::telemetry::exporting(&config).map(|otlp| imgshield::telemetry::Telemetry {
            format: config.log_format,
            otlp: otlp.map(|otlp| (otlp, runtime.handle().clone())),
        });
    let mut log_guard = match telemetry.and_then(imgshield::telemetry::init) {
        Ok(guard) => guard,
        Err(message) => {
            eprintln!("imgshield: {message}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(imgshield::run(config, shutdown_signal()));
    // The last spans go out while the runtime that posts them still runs.
    log_guard.finish_traces();
    // The grace period is over: a libvips job still running on a blocking thread is abandoned,
    // not waited for (dropping the runtime would wait for it without bound).
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("imgshield: {message}");
            ExitCode::FAILURE
        }
    }
}

/// `imgshield compare`: exit 0 when every case passes, 1 when one misses a threshold, 2 on misuse.
fn compare(args: &imgshield::config::CompareArgs) -> ExitCode {
    match imgshield::compare::run(args) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("imgshield compare: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{}", report.table());
            }
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("imgshield compare: {message}");
            ExitCode::from(2)
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
