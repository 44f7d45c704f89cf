//! The `/text` flow: params -> cache -> (coalesced) render on the worker pool -> response.
//!
//! A banner is a pure function of its canonical parameters (and the engine and fonts), with no
//! origin behind it: any cached entry is served as it is (there is nothing to refresh), and
//! concurrent misses on one key share one render. Like `/resize`, a miss runs as a task of its own,
//! so a client that hangs up does not waste the work, and signed URLs are enforced when
//! `--secret` is set (the renderer is as much a CPU sink as the resizer).

use super::lookup::Expiry;
use super::*;
use crate::engine::EngineError;
use crate::params::banner::{BannerFormat, TextRequest};
use crate::render::{banner_format, Job};
use crate::types::{AcceptClass, OutputFormat};
use crate::workers::Requesters;

impl App {
    pub(super) async fn text<B>(
        self: &Arc<Self>,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let query = self.signed_query(request)?;
        let params = TextRequest::parse(query, &self.limits).map_err(|e| Arc::new(e.into()))?;
        let accept = (params.format == BannerFormat::Auto).then(|| {
            let header = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            self.renderer.accept_class(header)
        });
        let format = banner_format(params.format, accept.unwrap_or(AcceptClass::Legacy));
        let primary = self.renderer.primary();
        if !primary.can_encode(format) {
            return Err(Arc::new(Error::Engine(EngineError::UnsupportedFormat(
                format.as_str(),
            ))));
        }
        let key = CacheKey::for_route("text", &params.canonical(), accept, primary.as_ref());
        let (rendition, lookup) = self
            .lookup(key, note, Expiry::Never, {
                let app = self.clone();
                move |requesters| app.render(params, format, requesters)
            })
            .await?;
        Ok(self.image_response(&rendition, request, accept.is_some(), lookup))
    }

    /// One render on the worker pool: admission (or 503 when the queue is full), then the CPU job.
    async fn render(
        self: Arc<Self>,
        params: TextRequest,
        format: OutputFormat,
        requesters: Requesters,
    ) -> Result<Arc<Rendition>, Error> {
        let admission = self.workers.admit(requesters).await?;
        let estimate = {
            let params = params.clone();
            move |renderer: &Renderer| {
                renderer.estimate(&Job::Banner {
                    request: &params,
                    format,
                })
            }
        };
        // A banner has no source: nothing but our own rules apply to it.
        let caching = crate::types::Caching::default();
        self.render_on_worker(
            admission,
            Duration::ZERO,
            (0, caching, None),
            estimate,
            move |renderer| {
                renderer.render(Job::Banner {
                    request: &params,
                    format,
                })
            },
        )
        .await
    }
}
