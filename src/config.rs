//! All settings, each a CLI flag with an `IMGSHIELD_*` environment twin. `--help` is the reference;
//! the README's table mirrors it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::Strictness;

/// The command line: serve (the default), or a tool subcommand.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "imgshield",
    version,
    about = "A URL-driven image proxy and origin shield built on libvips",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: Config,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Print a signed URL (or, with --widths, a ready `srcset` value) for a path and query.
    Sign(SignArgs),
    /// Run both engines over a directory of images and report time, size, SSIM and colour
    /// differences; exits 1 when a case misses the thresholds (a rollout gate).
    Compare(CompareArgs),
}

#[derive(Clone, Debug, Args)]
pub struct CompareArgs {
    /// Directory of source images (JPEG, PNG, WebP, GIF; not recursive).
    pub dir: PathBuf,
    /// A parameter set as in a /resize query without `src`, e.g. `w=300` or
    /// `w=400&h=400&fit=cover&fm=png` (repeatable; default `w=300`).
    #[arg(long = "params")]
    pub params: Vec<String>,
    /// Transforms per engine and case; the fastest counts.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Lowest SSIM (luma) between the two engines' outputs that passes.
    #[arg(long, default_value_t = 0.92)]
    pub min_ssim: f64,
    /// Largest colour-histogram distance (0..1, see docs) that passes.
    #[arg(long, default_value_t = 0.05)]
    pub max_histogram_distance: f64,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, Args)]
pub struct SignArgs {
    /// Secret to sign with (the first given, when several are).
    #[arg(
        long = "secret",
        env = "IMGSHIELD_SECRET",
        value_delimiter = ',',
        required = true,
        hide_env_values = true
    )]
    pub secrets: Vec<String>,
    /// Prepended to every URL, e.g. `https://img.example.com`.
    #[arg(long, default_value = "")]
    pub base: String,
    /// Widths for a `srcset`: `w=N` is appended to the query for each (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub widths: Vec<u32>,
    /// Path and query to sign, e.g. `/resize?src=p/42.jpg&fit=cover`.
    pub path_and_query: String,
}

/// The server's settings.
#[derive(Clone, Debug, Parser)]
#[command(name = "imgshield")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "IMGSHIELD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory that relative `src` paths are read from. Without it, a generated sample set is served.
    #[arg(long, env = "IMGSHIELD_ROOT")]
    pub root: Option<PathBuf>,

    /// Host allowed as a remote origin: `host` (the scheme's default port only), `host:port`,
    /// `host:*` (any port), `*.domain`, `*.domain:port` or `*.domain:*` (repeatable; comma-separated
    /// in the environment). Exact entries may resolve to loopback/private addresses; wildcard entries
    /// must resolve to public ones. Without any, remote `src` URLs are refused.
    #[arg(
        long = "allow-host",
        env = "IMGSHIELD_ALLOW_HOST",
        value_delimiter = ','
    )]
    pub allow_hosts: Vec<String>,

    /// HMAC secret for signed URLs (repeatable for rotation; comma-separated in the environment).
    /// With any, every /resize request must carry a valid `sig`; the first signs, any verifies.
    #[arg(
        long = "secret",
        env = "IMGSHIELD_SECRET",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub secrets: Vec<String>,

    /// Memory for cached results, in bytes (suffixes KiB, MiB, GiB accepted).
    #[arg(long, env = "IMGSHIELD_CACHE_BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub cache_bytes: u64,

    /// Memory for original bytes from remote origins (0 turns the source cache off), so that the
    /// widths of one photo cost the origin one fetch. Copies are revalidated with the origin's
    /// ETag/Last-Modified once past its max-age or `--cache-ttl`, whichever is shorter.
    #[arg(long, env = "IMGSHIELD_SOURCE_CACHE_BYTES", default_value = "256MiB", value_parser = parse_bytes)]
    pub source_cache_bytes: u64,

    /// Memory for decoded JPEG intermediates (0 turns it off): later sizes of a photo resize from
    /// a kept decode instead of decoding it again (see docs/BENCHMARKS.md for the gain).
    #[arg(long, env = "IMGSHIELD_DERIVATIVE_CACHE_BYTES", default_value = "128MiB", value_parser = parse_bytes)]
    pub derivative_cache_bytes: u64,

    /// How long a result stays in the memory cache.
    #[arg(long, env = "IMGSHIELD_CACHE_TTL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub cache_ttl: Duration,

    /// How long past `--cache-ttl` a result is kept to be served (as `X-Cache: STALE`) when
    /// refreshing it fails because the origin is failing or we are overloaded; 0 turns this off.
    #[arg(long, env = "IMGSHIELD_STALE_GRACE", default_value = "1h", value_parser = humantime::parse_duration)]
    pub stale_grace: Duration,

    /// How long past `--cache-ttl` a result is served at once while one background refresh runs
    /// (stale-while-revalidate), and the `stale-while-revalidate` directive sent to CDNs; 0 turns
    /// both off (a request past the TTL then waits for the refresh).
    #[arg(long, env = "IMGSHIELD_STALE_WHILE_REVALIDATE", default_value = "1m", value_parser = humantime::parse_duration)]
    pub stale_while_revalidate: Duration,

    /// The `stale-if-error` directive sent to CDNs: how long they may serve their copy while
    /// imgshield or its origin fails; 0 leaves it out.
    #[arg(long, env = "IMGSHIELD_STALE_IF_ERROR", default_value = "1d", value_parser = humantime::parse_duration)]
    pub stale_if_error: Duration,

    /// A directory for the local disk tier behind the memory cache (unset: none): results survive
    /// restarts, and a lookup that misses memory reads it before going to the origin.
    #[arg(long, env = "IMGSHIELD_DISK_CACHE_DIR")]
    pub disk_cache_dir: Option<PathBuf>,

    /// Bytes of results the disk tier may hold; the least recently used are evicted past it.
    #[arg(long, env = "IMGSHIELD_DISK_CACHE_BYTES", default_value = "4GiB", value_parser = parse_bytes)]
    pub disk_cache_bytes: u64,

    /// Longest a lookup waits for a storage tier (disk, shared) before going on without it.
    #[arg(long, env = "IMGSHIELD_TIER_TIMEOUT", default_value = "200ms", value_parser = humantime::parse_duration)]
    pub tier_timeout: Duration,

    /// Writes queued for each storage tier; past it a write is dropped (and counted), never waited for.
    #[arg(long, env = "IMGSHIELD_TIER_QUEUE", default_value_t = 256)]
    pub tier_queue: usize,

    /// Transforms running at once (default: the number of CPU cores).
    #[arg(long, env = "IMGSHIELD_WORKERS")]
    pub workers: Option<usize>,

    /// Cache misses in progress at once (fetching or transforming; default: twice the workers, so
    /// the next source downloads while one decodes). Bounds source memory to this × max-src-bytes.
    #[arg(long, env = "IMGSHIELD_INFLIGHT")]
    pub inflight: Option<usize>,

    /// Cache misses allowed to wait for an in-flight slot; beyond this, requests get 503 at once.
    #[arg(long, env = "IMGSHIELD_QUEUE", default_value_t = 64)]
    pub queue: usize,

    /// Longest a cache miss waits for a slot and for memory, in all; past it, 503 + `Retry-After`.
    #[arg(long, env = "IMGSHIELD_MAX_QUEUE_WAIT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub max_queue_wait: Duration,

    /// Memory the whole process may use, in bytes (default: 3/4 of the cgroup's `memory.max`, or of
    /// MemTotal). What the caches and a 64 MiB base leave of it is the budget that misses' sources
    /// and jobs (by their expected peak) draw on; excess misses wait or get 503.
    #[arg(long, env = "IMGSHIELD_MAX_MEMORY", value_parser = parse_bytes)]
    pub max_memory: Option<u64>,

    /// Largest source accepted, in bytes; enforced while streaming.
    #[arg(long, env = "IMGSHIELD_MAX_SRC_BYTES", default_value = "32MiB", value_parser = parse_bytes)]
    pub max_src_bytes: u64,

    /// Largest source accepted, in pixels (width × height), checked from the header before decoding.
    #[arg(long, env = "IMGSHIELD_MAX_SRC_PIXELS", default_value_t = 50_000_000)]
    pub max_src_pixels: u64,

    /// Most frames (animation) or pages (multi-page TIFF/HEIF) a source may declare; more are refused
    /// from the header, before decoding. Only the first frame is rendered, but the loaders scan them
    /// all, and an animated output must never be asked to hold more.
    #[arg(long, env = "IMGSHIELD_MAX_FRAMES", default_value_t = 1000)]
    pub max_frames: u32,

    /// Largest `w` or `h` a request may ask for.
    #[arg(long, env = "IMGSHIELD_MAX_DIMENSION", default_value_t = 8192)]
    pub max_dimension: u32,

    /// A web origin (`https://shop.example.com`) whose pages may read images and `/info` with
    /// `fetch()` or draw them on a canvas (CORS); repeat the flag for more, or `*` for any origin.
    /// Without it no CORS headers are sent. A list answers with the matching origin and `Vary: Origin`.
    #[arg(
        long = "cors-origin",
        env = "IMGSHIELD_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// A named parameter set, `name=query` (e.g. `thumb=w=200&h=200&fit=cover`), used as `p=thumb`;
    /// repeat the flag for more. The request's own parameters override the preset's.
    #[arg(long = "preset", env = "IMGSHIELD_PRESETS", value_delimiter = ';')]
    pub presets: Vec<String>,

    /// JPEG quality when a request gives no `q`.
    #[arg(long, env = "IMGSHIELD_QUALITY_JPEG", default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality_jpeg: u8,

    /// WebP quality when a request gives no `q`.
    #[arg(long, env = "IMGSHIELD_QUALITY_WEBP", default_value_t = 80, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality_webp: u8,

    /// AVIF quality when a request gives no `q` (AVIF at 60 looks like JPEG at 80, far smaller).
    #[arg(long, env = "IMGSHIELD_QUALITY_AVIF", default_value_t = 60, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality_avif: u8,

    /// JPEG XL quality when a request gives no `q` (libjxl's distance 1.45 at 75).
    #[arg(long, env = "IMGSHIELD_QUALITY_JXL", default_value_t = 75, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub quality_jxl: u8,

    /// The formats `fm=auto` may choose, best first, among `avif`, `jxl` and `webp` (the first
    /// one the client lists and this server can write wins; JPEG or PNG otherwise). Keep the
    /// edge's Accept classes in the same order (docs/EDGE.md).
    #[arg(long, env = "IMGSHIELD_AUTO_FORMATS", value_delimiter = ',', default_value = "avif,jxl,webp", value_parser = auto_format)]
    pub auto_formats: Vec<crate::types::OutputFormat>,

    /// Size images by client hints when the URL leaves it open: `Sec-CH-DPR`/`DPR` when it has a
    /// width or height but no `dpr`, `Sec-CH-Width`/`Width` (or the viewport) when it has neither;
    /// rounded up into a few buckets. Answers say `Accept-CH` and `Vary` on the hints they follow.
    #[arg(long, env = "IMGSHIELD_CLIENT_HINTS")]
    pub client_hints: bool,

    /// The quality for requests with `Save-Data: on` whose URL names no `q` (off without it).
    #[arg(long, env = "IMGSHIELD_SAVE_DATA_QUALITY", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub save_data_quality: Option<u8>,

    /// Accept JPEG XL sources (libvips marks its JPEG XL loader untrusted: off by default).
    #[arg(long, env = "IMGSHIELD_ALLOW_JXL_SOURCE")]
    pub allow_jxl_source: bool,

    /// Accept only presets: a `/resize` request may give `src`, `p` and `sig`, nothing else, and
    /// `/text` (which has no presets) is refused.
    #[arg(long, env = "IMGSHIELD_PRESETS_ONLY")]
    pub presets_only: bool,

    /// Largest output (and intermediate resize) in pixels. Memory grows with it: a 67-MP AVIF
    /// encode peaks above 1 GB, a 25-MP one near 400 MB.
    #[arg(
        long,
        env = "IMGSHIELD_MAX_OUTPUT_PIXELS",
        default_value_t = 25_000_000
    )]
    pub max_output_pixels: u64,

    /// Time allowed for a whole origin fetch (connect, headers and body).
    #[arg(long, env = "IMGSHIELD_FETCH_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub fetch_timeout: Duration,

    /// Time one transform may take (decode, resize, encode); libvips is stopped mid-operation when
    /// it runs out and the request gets 422 `processing_timeout`.
    #[arg(long, env = "IMGSHIELD_MAX_PROCESSING_TIME", default_value = "10s", value_parser = humantime::parse_duration)]
    pub max_processing_time: Duration,

    /// How damaged a source may be: `warning` refuses (422) anything the decoder had to fill in or
    /// guess (a JPEG scan ending early, invalid GIF frame data); damaged metadata still loads;
    /// `error` serves what the decoder got through and refuses only what stopped it.
    #[arg(long, env = "IMGSHIELD_FAIL_ON", value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,

    /// How far a JPEG is shrunk while it decodes: `draft` takes the coarsest DCT scale still as
    /// large as the output (faster; SSIM 0.994 against libvips' own thumbnail on the benchmark
    /// corpus), `headroom` keeps libvips' twice-the-output margin.
    #[arg(long, env = "IMGSHIELD_JPEG_SHRINK", value_enum, default_value_t = JpegShrink::Draft)]
    pub jpeg_shrink: JpegShrink,

    /// Who decodes JPEG sources: `own` decodes only the scans a DCT-scaled decode reads (exact:
    /// the same pixels as libvips' loader, less Huffman decoding on progressive files; see
    /// docs/BENCHMARKS.md), `libvips` keeps libvips' own loader for every JPEG.
    #[arg(long, env = "IMGSHIELD_JPEG_DECODER", value_enum, default_value_t = JpegDecoder::Own)]
    pub jpeg_decoder: JpegDecoder,

    /// Which scans our JPEG decode reads: `exact` only drops those a DCT-scaled decode does not
    /// read (the same pixels as libvips); `bounded` also drops the AC refinement scans at 1/4 and
    /// 1/8 (thumbnail SSIM >= 0.99 against `exact`; see `engine/jpeg_scans` and
    /// docs/BENCHMARKS.md). No effect with `--jpeg-decoder libvips`.
    #[arg(long, env = "IMGSHIELD_JPEG_SCANS", value_enum, default_value_t = JpegScans::Bounded)]
    pub jpeg_scans: JpegScans,

    /// Share of cache misses, 0 to 100, made by the pure-Rust engine instead of libvips, chosen by
    /// cache key (so a URL always goes the same way). What the Rust engine cannot do falls back.
    #[arg(long, env = "IMGSHIELD_RUST_PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub rust_percent: u8,

    /// Let requests choose their engine with `engine=vips|rust`. Without it, only signed URLs may
    /// (with `--secret`, every URL is signed); others get 403.
    #[arg(long, env = "IMGSHIELD_ALLOW_ENGINE_PARAM")]
    pub allow_engine_param: bool,

    /// Time allowed to connect to an origin.
    #[arg(long, env = "IMGSHIELD_CONNECT_TIMEOUT", default_value = "3s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// Redirects followed per fetch; each hop is checked against the allowlist again.
    #[arg(long, env = "IMGSHIELD_MAX_REDIRECTS", default_value_t = 5)]
    pub max_redirects: u8,

    /// Failures in a row after which an origin host is not asked for `--breaker-cooldown`; 0
    /// disables the breaker. Connect errors and connect timeouts count each time; 5xx, broken
    /// bodies and fetch timeouts once per distinct path (so one failing URL cannot open it).
    #[arg(long, env = "IMGSHIELD_BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,

    /// Object storage: `s3://` sources and the shared result tier.
    #[command(flatten)]
    pub s3: S3Args,

    /// How long a tripped origin is skipped before one probe request is let through.
    #[arg(long, env = "IMGSHIELD_BREAKER_COOLDOWN", default_value = "30s", value_parser = humantime::parse_duration)]
    pub breaker_cooldown: Duration,

    /// `Cache-Control: max-age` on successful responses, in seconds.
    #[arg(long, env = "IMGSHIELD_MAX_AGE", default_value_t = 31_536_000)]
    pub max_age: u64,

    /// Answer with the origin's own `Cache-Control` (imgproxy's cache-control passthrough)
    /// instead of one made from it and `--max-age`; sources without one still get ours.
    #[arg(long, env = "IMGSHIELD_CACHE_CONTROL_PASSTHROUGH")]
    pub cache_control_passthrough: bool,

    /// Time a client gets to send a request's headers; also how long an idle keep-alive connection
    /// is kept open (slowloris guard).
    #[arg(long, env = "IMGSHIELD_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// Client connections open at once. At the cap a new client is still accepted: the oldest
    /// connection without a complete request, else the longest idle one, is closed for it; only
    /// when every connection has a request in flight do new clients wait in the accept queue.
    /// Lowered at start-up to fit the open-files limit (`ulimit -n`, less 256).
    #[arg(long, env = "IMGSHIELD_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// Time a new connection gets to send its first bytes: one byte for HTTP/1 (then
    /// `--header-read-timeout` covers the head), the whole preface and SETTINGS frame for HTTP/2.
    /// Silent sockets and half prefaces are closed when it runs out.
    #[arg(long, env = "IMGSHIELD_FIRST_BYTE_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub first_byte_timeout: Duration,

    /// How long a connection (HTTP/1 keep-alive, or HTTP/2 with no open stream) may go without a
    /// request in flight before it is closed. HTTP/1 is also bound by `--header-read-timeout`.
    #[arg(long, env = "IMGSHIELD_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Interval of HTTP/2 keep-alive pings; a connection whose ping is not answered within the
    /// same time is closed. 0s turns the pings off.
    #[arg(long, env = "IMGSHIELD_HTTP2_PING_INTERVAL", default_value = "20s", value_parser = humantime::parse_duration)]
    pub http2_ping_interval: Duration,

    /// Longest request target (path and query) accepted; longer ones get 414.
    #[arg(long, env = "IMGSHIELD_MAX_URL_BYTES", default_value_t = 8192)]
    pub max_url_bytes: usize,

    /// Largest request head (request line and headers) accepted; larger ones get 431.
    #[arg(long, env = "IMGSHIELD_MAX_HEADER_BYTES", default_value = "64KiB", value_parser = parse_bytes)]
    pub max_header_bytes: u64,

    /// After SIGTERM/SIGINT, how long to keep serving with /readyz answering 503 before the
    /// listener closes (give the load balancer's readiness probe time to notice).
    #[arg(long, env = "IMGSHIELD_DRAIN_DELAY", default_value = "0s", value_parser = humantime::parse_duration)]
    pub drain_delay: Duration,

    /// Time in-flight requests get to finish after SIGTERM/SIGINT.
    #[arg(long, env = "IMGSHIELD_SHUTDOWN_GRACE", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Log line format.
    #[arg(long, env = "IMGSHIELD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// An image (file path or http(s) URL, read at start-up) answered instead of the JSON error
    /// body when `/resize` or `/text` fails, so pages show a placeholder, not a broken image.
    #[arg(long, env = "IMGSHIELD_FALLBACK_IMAGE")]
    pub fallback_image: Option<String>,

    /// The fallback for client errors (4xx) only; overrides `--fallback-image` for them.
    #[arg(long = "fallback-image-4xx", env = "IMGSHIELD_FALLBACK_IMAGE_4XX")]
    pub fallback_image_4xx: Option<String>,

    /// The fallback for origin and server errors (5xx) only; overrides `--fallback-image` for them.
    #[arg(long = "fallback-image-5xx", env = "IMGSHIELD_FALLBACK_IMAGE_5XX")]
    pub fallback_image_5xx: Option<String>,

    /// The status a fallback image is answered with: the error's own (`error`) or `200`.
    #[arg(long, env = "IMGSHIELD_FALLBACK_STATUS", value_enum, default_value_t = FallbackStatus::Error)]
    pub fallback_status: FallbackStatus,

    /// `Cache-Control: max-age` of a fallback answer (short: the real image may come back soon).
    #[arg(long, env = "IMGSHIELD_FALLBACK_MAX_AGE", default_value = "60s", value_parser = humantime::parse_duration)]
    pub fallback_max_age: Duration,

    /// Export traces over OTLP/HTTP (protobuf) to this collector, e.g. `http://127.0.0.1:4318`
    /// (`/v1/traces` is added unless the URL already names a path). Off without it.
    #[arg(long, env = "IMGSHIELD_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,

    /// Share of new traces exported (0 to 1); a request that arrives with a `traceparent` follows
    /// its caller's sampling decision.
    #[arg(long, env = "IMGSHIELD_OTLP_SAMPLE_RATIO", default_value_t = 1.0, value_parser = sample_ratio)]
    pub otlp_sample_ratio: f64,
}

fn auto_format(value: &str) -> Result<crate::types::OutputFormat, String> {
    use crate::types::OutputFormat;
    match OutputFormat::parse(value.trim()) {
        Some(format @ (OutputFormat::Avif | OutputFormat::Jxl | OutputFormat::Webp)) => Ok(format),
        _ => Err("one of avif, jxl, webp".into()),
    }
}

fn sample_ratio(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
        _ => Err("a number from 0 to 1".into()),
    }
}

/// How a JPEG is shrunk while it is decoded (`--jpeg-shrink`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JpegShrink {
    /// The coarsest DCT scale whose decode is still as large as the output (Pillow's `draft()`),
    /// then Lanczos3: 6-9% more thumbnails per CPU-second on progressive photos, SSIM 0.994 against
    /// libvips' own output.
    Draft,
    /// libvips thumbnail's rule: keep at least twice the output size before Lanczos3.
    Headroom,
}

/// Who decodes JPEG sources (`--jpeg-decoder`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JpegDecoder {
    /// Our load step with its scan plan (`engine/vips/jpeg_load.rs`).
    Own,
    /// libvips' `jpegload`.
    Libvips,
}

/// Which scans our JPEG decode reads (`--jpeg-scans`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum JpegScans {
    /// Only those the DCT scale reads: bit-identical to libvips' loader.
    Exact,
    /// Also not the AC refinement scans at 1/4 and 1/8 (bounded loss).
    Bounded,
}

impl Config {
    /// The engine's JPEG decoder for `--jpeg-decoder` and `--jpeg-scans`.
    pub fn engine_jpeg_decoder(&self) -> crate::engine::vips::JpegDecoder {
        match (self.jpeg_decoder, self.jpeg_scans) {
            (JpegDecoder::Libvips, _) => crate::engine::vips::JpegDecoder::Libvips,
            (JpegDecoder::Own, JpegScans::Exact) => crate::engine::vips::JpegDecoder::Own,
            (JpegDecoder::Own, JpegScans::Bounded) => crate::engine::vips::JpegDecoder::OwnBounded,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Warning,
    Error,
}

impl From<FailOn> for Strictness {
    fn from(value: FailOn) -> Strictness {
        match value {
            FailOn::Warning => Strictness::Warning,
            FailOn::Error => Strictness::Error,
        }
    }
}

/// `--fallback-status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FallbackStatus {
    /// The error's own status (404, 422, 502, ...): CDNs and crawlers see the failure.
    Error,
    /// `200`: for clients that show nothing on an error status.
    #[value(name = "200")]
    Ok,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Object storage (`src=s3://bucket/key`, `--shared-store`). Unset settings fall back to the
/// standard `AWS_*` environment (keys, session token, region, endpoint, web identity), then the
/// container and instance metadata credentials.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct S3Args {
    /// Bucket whose objects may be sources, as `src=s3://NAME/key` (repeatable; comma-separated in
    /// the environment). Without any, `s3://` sources are refused (403).
    #[arg(
        long = "allow-s3-bucket",
        env = "IMGSHIELD_ALLOW_S3_BUCKET",
        value_delimiter = ','
    )]
    pub allow_buckets: Vec<String>,

    /// S3-compatible endpoint, e.g. `http://127.0.0.1:9000` for MinIO or an R2 account URL;
    /// without it, AWS (or `AWS_ENDPOINT_URL_S3`).
    #[arg(long = "s3-endpoint", env = "IMGSHIELD_S3_ENDPOINT")]
    pub endpoint: Option<String>,

    /// Region to sign for; without it `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`.
    #[arg(long = "s3-region", env = "IMGSHIELD_S3_REGION")]
    pub region: Option<String>,

    /// Path-style requests (`endpoint/bucket/key`), as MinIO, Ceph and most local servers need;
    /// otherwise virtual-hosted (`bucket.endpoint/key`).
    #[arg(long = "s3-path-style", env = "IMGSHIELD_S3_PATH_STYLE")]
    pub path_style: bool,

    /// Access key id (else `AWS_ACCESS_KEY_ID` and the rest of the chain).
    #[arg(long = "s3-access-key-id", env = "IMGSHIELD_S3_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,

    /// A shared result tier on object storage, `s3://bucket/prefix` (unset: none): replicas given
    /// the same one serve each other's results, and a restarted one starts warm. Looked up after
    /// memory and `--disk-cache-dir`; see docs/STORAGE.md for the bucket's lifecycle rule.
    #[arg(long = "shared-store", env = "IMGSHIELD_SHARED_STORE")]
    pub shared_store: Option<String>,

    /// Secret access key (else `AWS_SECRET_ACCESS_KEY`); prefer the environment to the command line.
    #[arg(
        long = "s3-secret-access-key",
        env = "IMGSHIELD_S3_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
}

impl Config {
    pub fn workers(&self) -> usize {
        self.workers
            .filter(|n| *n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn inflight(&self) -> usize {
        self.inflight
            .filter(|n| *n > 0)
            .unwrap_or(2 * self.workers())
    }

    /// The server's settings with no flags: the defaults, and what `IMGSHIELD_*` variables say.
    pub fn from_env() -> Result<Config, String> {
        use clap::Parser;
        Config::try_parse_from(["imgshield"]).map_err(|e| e.to_string())
    }

    pub fn max_output_pixels(&self) -> u64 {
        self.max_output_pixels
    }
}

/// Parses `1048576`, `512KiB`, `256MiB`, `1GiB` (also KB/MB/GB as powers of 1000).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a byte size"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        other => return Err(format!("unknown byte unit '{other}'")),
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse() {
        assert_eq!(parse_bytes("1024"), Ok(1024));
        assert_eq!(parse_bytes("256MiB"), Ok(256 << 20));
        assert_eq!(parse_bytes("2 GiB"), Ok(2 << 30));
        assert_eq!(parse_bytes("5MB"), Ok(5_000_000));
        assert!(parse_bytes("MiB").is_err());
        assert!(parse_bytes("5 parsecs").is_err());
        assert!(parse_bytes("99999999999999999999GiB").is_err());
    }

    #[test]
    fn defaults_parse() {
        let config = Config::try_parse_from(["imgshield"]).expect("defaults are valid");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert!(config.workers() >= 1);
        let config = Config::try_parse_from([
            "imgshield",
            "--allow-host",
            "a.com",
            "--allow-host",
            "b.com:81",
        ])
        .expect("valid");
        assert_eq!(config.allow_hosts, ["a.com", "b.com:81"]);
    }
}
