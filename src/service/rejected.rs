//! Sources a render refused are not kept: when the bytes of a fetched source turn out not to be a
//! usable image (not an image, corrupt, over a source limit), its copy leaves the source cache, so
//! the next request asks the origin again instead of failing from the cached bytes until
//! `--cache-ttl`. The result cache and the derivative cache never keep a failure in the first place.

use std::future::Future;

use super::*;
use crate::engine::EngineError;

/// The sources one render was given, with the bytes it was given.
pub(super) struct Fetched(Vec<(Source, Bytes)>);

impl Fetched {
    /// `/resize`'s: the source and, if any, the watermark.
    pub(super) fn resize(params: &Params, source: &Bytes, watermark: Option<&Bytes>) -> Fetched {
        let mut fetched = vec![(params.src.clone(), source.clone())];
        if let (Some(wm), Some(bytes)) = (&params.watermark, watermark) {
            fetched.push((wm.src.clone(), bytes.clone()));
        }
        Fetched(fetched)
    }

    /// `/info`'s: the source.
    pub(super) fn one(src: &Source, source: &Bytes) -> Fetched {
        Fetched(vec![(src.clone(), source.clone())])
    }
}

/// Whether `error` is a verdict on the source's bytes (the same bytes would fail every request),
/// rather than on this request (a crop outside the image) or on our capacity.
pub(super) fn refuses_source(error: &Error) -> bool {
    matches!(
        error,
        Error::Engine(EngineError::Undecodable(_))
            | Error::TooManyPixels { .. }
            | Error::TooManyFrames { .. }
    )
}

impl App {
    /// Runs `render`; if it refused the sources' bytes, forgets their cached copies.
    pub(super) async fn forget_if_refused<F>(
        &self,
        fetched: Fetched,
        render: F,
    ) -> Result<Arc<Rendition>, Error>
    where
        F: Future<Output = Result<Arc<Rendition>, Error>>,
    {
        let result = render.await;
        if let Err(error) = &result {
            if refuses_source(error) {
                for (source, bytes) in &fetched.0 {
                    if self.origin.forget(source, bytes).await {
                        self.metrics.source_cache_refused.inc();
                        tracing::info!(
                            code = error.code(),
                            "a refused source left the source cache"
                        );
                    }
                }
            }
        }
        result
    }
}
