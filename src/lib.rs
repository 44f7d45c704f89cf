//! imgshield: a URL-driven image proxy and origin shield.
//!
//! Request flow: `http` accepts a connection -> `service` routes it -> `params` parses the query ->
//! `cache` answers hits -> misses are coalesced, fetched by `origin` and rendered by `render` (the
//! one use-case entry, on the bounded `workers` pool) with an `engine`, stored in the cache and
//! answered. `types` is the vocabulary every layer shares; `error` is the one place failures become
//! HTTP statuses; `metrics` is the one place metric names live. docs/ARCHITECTURE.md has the walk
//! hop by hop and what each module may import.
//!
//! `unsafe` is denied everywhere but `vips`, the safe layer over the `vips-sys` FFI crate.
#![deny(unsafe_code)]

pub mod cache;
pub mod compare;
pub mod config;
pub mod engine;
pub mod error;
pub mod http;
pub mod metrics;
pub mod objstore;
pub mod origin;
pub mod params;
pub mod placeholder;
pub mod quality;
pub mod render;
pub mod samples;
pub mod service;
pub mod signature;
pub mod store;
pub mod telemetry;
pub mod types;
#[allow(unsafe_code)]
pub mod vips;
pub mod workers;

use std::future::Future;

use config::Config;

/// Runs the server until `shutdown` resolves; prints where it listens and URLs to try.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), String> {
    let (root, generated) = match &config.root {
        Some(root) => (root.clone(), false),
        None => (samples::default_root()?, true),
    };
    let server = http::start(&config, &root).await?;
    let addr = server.local_addr();
    tracing::info!(%addr, root = %root.display(), engine = server.app().engine().version(), "imgshield listening");
    println!(
        "imgshield {} listening on http://{addr}",
        env!("CARGO_PKG_VERSION")
    );
    if generated {
        println!("serving the generated sample set from {}", root.display());
        println!("try:");
        for url in [
            "/resize?src=sample.jpg&w=300",
            "/resize?src=sample.jpg&w=400&h=400&fit=cover&fm=webp",
            "/resize?src=portrait.jpg&w=300&h=300&fit=contain&fm=png",
            "/resize?src=logo.png&w=128&fm=auto",
            "/dashboard",
            "/metrics",
        ] {
            println!("  http://{addr}{url}");
        }
    }
    shutdown.await;
    // Readiness goes false first and the server keeps serving for the drain delay, so a load
    // balancer polling /readyz sees it and stops routing before the listener closes.
    server.app().set_draining();
    if !config.drain_delay.is_zero() {
        tracing::info!(delay = ?config.drain_delay, "draining: /readyz answers 503");
        tokio::time::sleep(config.drain_delay).await;
    }
    let app = server.app().clone();
    server.shutdown().await;
    app.flush_tiers(config.shutdown_grace).await;
    Ok(())
}
