//! The image engine boundary: a synchronous [`Engine`] takes source bytes and a resolved [`Plan`] and
//! returns encoded bytes. It knows nothing about HTTP, caches or origins.
//!
//! Nothing here names a libvips type, so the pure-Rust engine can implement the same trait and honour
//! the same `Plan`. Engines run on blocking worker threads only (see `workers`).

mod decode_cost;
pub mod info;
mod jpeg_layout;
mod jpeg_scans;
mod plan;
mod riff;
pub mod rust;
pub mod select;
pub mod shrink;
pub mod trim;
pub mod vips;

pub use decode_cost::{uninterruptible_decode, UninterruptibleDecode, MAX_JPEG_SCANS};
pub use jpeg_layout::{jpeg_layout, JpegLayout};
pub use jpeg_scans::{scan_plan, scan_plan_under, ScanPlan, ScanRule};
pub use riff::drop_webp_metadata;

pub use crate::types::{AcceptClass, OutputFormat, Rect, Rgba, Size, SourceFormat};
pub use plan::{Crop, Overlay, Placement, Plan, PlanError};

use std::time::{Duration, Instant};

use bytes::Bytes;

/// How broken a source may be before decoding it is refused. Decoders report damage at two levels:
/// errors (they cannot go on) and warnings (they went on, filling or guessing what was missing).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strictness {
    /// Refuse on any decoder warning too: a JPEG whose scan ends early at an end marker, a GIF frame
    /// with invalid LZW data. The same default as sharp's `failOn: 'warning'`. Checked with libvips
    /// 8.14: damaged metadata (a PNG text chunk's CRC, a short iCCP chunk) and stray bytes before a
    /// JPEG's end marker still load.
    #[default]
    Warning,
    /// Refuse only what the decoder cannot get through (truncation, corrupt headers); warnings are
    /// tolerated and whatever is missing is filled in.
    Error,
}

impl From<Strictness> for crate::vips::FailOn {
    fn from(value: Strictness) -> crate::vips::FailOn {
        match value {
            Strictness::Warning => crate::vips::FailOn::Warning,
            Strictness::Error => crate::vips::FailOn::Error,
        }
    }
}

/// What an engine learned from a source's header, before decoding any pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// Width after EXIF auto-orientation.
    pub width: u32,
    /// Height after EXIF auto-orientation.
    pub height: u32,
    pub format: SourceFormat,
    pub has_alpha: bool,
    /// Frames or pages (1 for still images).
    pub pages: u32,
}

impl SourceInfo {
    pub fn pixels(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

/// The result of a transform.
#[derive(Clone, Debug)]
pub struct Encoded {
    pub bytes: Bytes,
    pub format: OutputFormat,
    pub width: u32,
    pub height: u32,
}

/// Why an engine failed. The engine says what went wrong; `error` decides what that means for HTTP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// The bytes are not an image this engine accepts, or they are broken (truncated, corrupt).
    #[error("the source is not a decodable image: {0}")]
    Undecodable(String),
    /// The engine cannot write this format in this build.
    #[error("this server cannot encode {0}")]
    UnsupportedFormat(&'static str),
    /// The plan's time limit ran out; the work was stopped.
    #[error("processing took longer than the {0:?} allowed")]
    Timeout(std::time::Duration),
    /// Work that cannot be interrupted would not end before the time limit, so it was not begun
    /// (the text says what and why).
    #[error("{0}")]
    WouldTimeOut(String),
    /// This engine cannot do what the plan or the source needs yet (the text names it); another
    /// engine may.
    #[error("not implemented by this engine: {0}")]
    NotImplemented(String),
    /// Something failed that is not the source's fault.
    #[error("image processing failed: {0}")]
    Internal(String),
}

/// An image engine. Implementations are synchronous and CPU-bound; call them from a blocking thread.
pub trait Engine: Send + Sync + 'static {
    /// A short stable name, used in metrics, logs and the cache key.
    fn name(&self) -> &'static str;
    /// The engine's version (for libvips, the library's) and any setting of it that changes its
    /// output (`+draft` for the draft JPEG shrink rule); part of the cache key.
    fn version(&self) -> &str;
    /// Whether this build can write `format`, probed once at start-up.
    fn can_encode(&self, format: OutputFormat) -> bool;
    /// Reads the header only: dimensions, format, alpha. Cheap; decodes no pixels.
    fn probe(&self, source: &[u8]) -> Result<SourceInfo, EngineError>;
    /// Decodes, transforms and encodes `source` as `plan` says.
    fn transform(&self, source: &[u8], plan: &Plan) -> Result<Encoded, EngineError>;
    /// What `trim` keeps of the auto-oriented source (see [`trim`]); `None` when nothing is trimmed.
    /// The decode it makes is stopped past `time_limit`.
    fn trim_box(
        &self,
        _source: &[u8],
        _threshold: u8,
        _time_limit: Option<Duration>,
    ) -> Result<Option<Rect>, EngineError> {
        Err(EngineError::NotImplemented("trim".into()))
    }
}

/// The time budget of one transform (`Plan::time_limit`), shared by the engines.
pub(crate) struct Clock {
    deadline: Option<(Instant, Duration)>,
}

impl Clock {
    pub(crate) fn start(limit: Option<Duration>) -> Clock {
        Clock {
            deadline: limit.map(|l| (Instant::now() + l, l)),
        }
    }

    /// The whole time limit, when there is one.
    pub(crate) fn limit(&self) -> Option<Duration> {
        self.deadline.map(|(_, limit)| limit)
    }

    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|(at, _)| at.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn check(&self) -> Result<(), EngineError> {
        match self.deadline {
            Some((at, limit)) if Instant::now() >= at => Err(EngineError::Timeout(limit)),
            _ => Ok(()),
        }
    }

    /// A failure after the deadline is the kill we asked for, not a broken source.
    pub(crate) fn explain(&self, error: EngineError) -> EngineError {
        self.check().err().unwrap_or(error)
    }
}
