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

impl From<BannerError> for RenderError {
    fn from(error: BannerError) -> RenderError {
        match error {
            BannerError::Param(e) => e.into(),
            BannerError::Plan(e) => e.into(),
            BannerError::Engine(e) => e.into(),
        }
    }
}
