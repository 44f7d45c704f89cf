//! Which engine makes a miss: libvips (the primary) unless the request names an engine
//! (`engine=rust`, when allowed) or its cache key falls in the `--rust-percent` sample.
//!
//! The primary stays authoritative for everything before the transform (probe, limits, format
//! negotiation), so both engines get the identical plan and an A/B difference is only ever the
//! engine's. A sampled request that the Rust engine cannot serve (a format it cannot write, an
//! operation it lacks, a source it cannot read) falls back to the primary: sampling must never
//! turn a working URL into an error. A request that names its engine gets that engine's answer.

use std::sync::Arc;

use super::{Encoded, Engine, EngineError, Plan};
use crate::types::EngineChoice;

pub struct Engines {
    primary: Arc<dyn Engine>,
    rust: Arc<dyn Engine>,
    /// 0..=100: the share of unnamed misses sent to the Rust engine.
    rust_percent: u8,
}

/// The engine chosen for one request.
#[derive(Clone)]
pub struct Selection {
    pub engine: Arc<dyn Engine>,
    /// Sampled, not named: fall back to the primary when this engine cannot do the work.
    pub sampled: bool,
}

impl std::fmt::Debug for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Selection")
            .field("engine", &self.engine.name())
            .field("sampled", &self.sampled)
            .finish()
    }
}

/// A transform's result with the engine that actually made it.
#[derive(Debug)]
pub struct Made {
    pub encoded: Encoded,
    pub engine: &'static str,
    pub fell_back: bool,
}

impl Engines {
    pub fn new(primary: Arc<dyn Engine>, rust: Arc<dyn Engine>, rust_percent: u8) -> Engines {
        Engines {
            primary,
            rust,
            rust_percent: rust_percent.min(100),
        }
    }

    pub fn primary(&self) -> &Arc<dyn Engine> {
        &self.primary
    }

    /// `requested` is the `engine` parameter; `sample` gives a stable hash of the request (its cache
    /// key without the engine), so a URL is always sampled the same way and caches once. It is only
    /// called when sampling is on, keeping the hit path free of a second hash otherwise.
    pub fn select(
        &self,
        requested: Option<EngineChoice>,
        sample: impl FnOnce() -> u64,
    ) -> Selection {
        match requested {
            Some(EngineChoice::Vips) => Selection {
                engine: self.primary.clone(),
                sampled: false,
            },
            Some(EngineChoice::Rust) => Selection {
                engine: self.rust.clone(),
                sampled: false,
            },
            None if self.rust_percent > 0 && sample() % 100 < u64::from(self.rust_percent) => {
                Selection {
                    engine: self.rust.clone(),
                    sampled: true,
                }
            }
            None => Selection {
                engine: self.primary.clone(),
                sampled: false,
            },
        }
    }

    /// Transforms with the selected engine, falling back to the primary for a sampled request the
    /// selected engine cannot serve. Timeouts and internal failures do not fall back: they would
    /// fail again, and the deadline has been spent.
    pub fn transform(
        &self,
        selection: &Selection,
        source: &[u8],
        plan: &Plan,
    ) -> Result<Made, EngineError> {
        let cannot = |e: &EngineError| {
            matches!(
                e,
                EngineError::NotImplemented(_)
                    | EngineError::UnsupportedFormat(_)
                    | EngineError::Undecodable(_)
            )
        };
        match selection.engine.transform(source, plan) {
            Ok(encoded) => Ok(Made {
                encoded,
                engine: selection.engine.name(),
                fell_back: false,
            }),
            Err(e) if selection.sampled && cannot(&e) => {
                tracing::debug!(engine = selection.engine.name(), error = %e, "falling back to the primary engine");
                Ok(Made {
                    encoded: self.primary.transform(source, plan)?,
                    engine: self.primary.name(),
                    fell_back: true,
                })
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rust::RustEngine;
    use crate::engine::vips::VipsEngine;

    fn engines(percent: u8) -> Engines {
        Engines::new(
            Arc::new(VipsEngine::new().expect("libvips")),
            Arc::new(RustEngine::new()),
            percent,
        )
    }

    #[test]
    fn the_sample_share_follows_the_percentage() {
        let e = engines(25);
        let rust = (0..10_000_u64)
            .map(|i| blake3::hash(&i.to_le_bytes()))
            .map(|h| u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes")))
            .filter(|&sample| e.select(None, || sample).engine.name() == "rust")
            .count();
        assert!((2_300..2_700).contains(&rust), "{rust} of 10000");
        assert_eq!(engines(0).select(None, || 0).engine.name(), "vips");
        assert_eq!(engines(100).select(None, || 99).engine.name(), "rust");
    }

    #[test]
    fn a_named_engine_wins_over_the_sample() {
        let e = engines(100);
        let named = e.select(Some(EngineChoice::Vips), || 1);
        assert_eq!((named.engine.name(), named.sampled), ("vips", false));
        let named = engines(0).select(Some(EngineChoice::Rust), || 1);
        assert_eq!((named.engine.name(), named.sampled), ("rust", false));
    }

    #[test]
    fn a_sampled_request_falls_back_and_a_named_one_does_not() {
        let e = engines(100);
        let source = crate::samples::photo_jpeg(64, 48, 3, 90).expect("jpeg");
        let plan = Plan::scale_to(
            crate::engine::Size {
                width: 32,
                height: 24,
            },
            crate::engine::OutputFormat::Webp,
        );
        let sampled = e.select(None, || 5);
        let made = e.transform(&sampled, &source, &plan).expect("fell back");
        assert_eq!((made.engine, made.fell_back), ("vips", true));
        let named = e.select(Some(EngineChoice::Rust), || 5);
        assert!(matches!(
            e.transform(&named, &source, &plan).map(|m| m.engine),
            Err(EngineError::NotImplemented(_))
        ));
        let mut jpeg = plan;
        jpeg.format = crate::engine::OutputFormat::Jpeg;
        let made = e.transform(&sampled, &source, &jpeg).expect("rust");
        assert_eq!((made.engine, made.fell_back), ("rust", false));
    }
}
