//! What the decode targets share: the limits they render under. Small, so the fuzzer spends its
//! time on parsing rather than on pixels; the server refuses larger sources by their header the
//! same way.

use std::time::Duration;

use imgshield::engine::Strictness;
use imgshield::render::RenderLimits;

pub(crate) const LIMITS: RenderLimits = RenderLimits {
    max_src_pixels: 1 << 20,
    max_frames: 64,
    max_output_pixels: 256 * 256,
    max_dimension: 256,
    // Generous next to what a 1 MP decode needs; a hang shows up as a libFuzzer timeout instead.
    time_limit: Duration::from_secs(5),
    strictness: Strictness::Warning,
    allow_jxl_source: false,
};
