//! Why a render failed, by who is to blame; `crate::error` turns each into its HTTP status.

use super::banner::BannerError;
use crate::engine::{EngineError, PlanError};
use crate::params::ParamError;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A request value that only the source could prove wrong (a text too large for the output).
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the source has {pixels} pixels, more than the {max} allowed")]
    TooManyPixels { pixels: u64, max: u64 },
    #[error("the source has {frames} frames or pages, more than the {max} allowed")]
    TooManyFrames { frames: u32, max: u32 },
    /// A decode that cannot be interrupted would not fit the time limit (see `cost`).
    #[error("{0}")]
    TooComplex(String),
}

/// What libvips says when a text's glyphs leave no ink at all.
const NO_INK: &str = "no text to render";

/// A text that draws nothing is the request's fault (400 naming `txt`), not ours (500). The
/// parameter check refuses the known invisible characters first; this catches what a font draws
/// blank that the list misses (the braille blank U+2800, the object replacement U+FFFC...).
pub(super) fn blaming_inkless_text(error: EngineError) -> RenderError {
    match error {
        EngineError::Internal(why) if why.contains(NO_INK) => RenderError::Param(
            ParamError::invalid("txt", "the text draws nothing: expected some visible text"),
        ),
        other => other.into(),
    }
}

impl From<BannerError> for RenderError {
    fn from(error: BannerError) -> RenderError {
        match error {
            BannerError::Param(e) => e.into(),
            BannerError::Plan(e) => e.into(),
            BannerError::Engine(e) => blaming_inkless_text(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_ink_is_the_requests_fault() {
        let inkless =
            EngineError::Internal("text rendering failed: text: no text to render".into());
        assert!(matches!(
            blaming_inkless_text(inkless),
            RenderError::Param(ParamError::Invalid { name: "txt", .. })
        ));
        let other = EngineError::Internal("out of memory".into());
        assert!(matches!(
            blaming_inkless_text(other),
            RenderError::Engine(EngineError::Internal(_))
        ));
    }
}
