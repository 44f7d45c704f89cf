//! The `imgshield` binary: parse the command line, then serve until SIGTERM/SIGINT (or run a tool
//! subcommand such as `sign`).

use clap::Parser;
use imgshield::config::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Sign(args)) = &cli.command {
        return match imgshield::signature::sign_command(args) {
            Ok(line) => {
                println!("{line}");
                std::process::ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("imgshield sign: {message}");
                std::process::ExitCode::from(2)
            }
        };
    }
    let config = cli.serve;
    let _log_guard = imgshield::telemetry::init(config.log_format);
    match imgshield::run(config, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("imgshield: {message}");
            std::process::ExitCode::FAILURE
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
