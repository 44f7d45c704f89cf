//! The `/info` flow: params -> cache -> (coalesced) fetch -> worker pool -> JSON.
//!
//! The same road as `/resize` in every respect a client or an operator can see: the same `src`
//! rules, signature check, origin guards and source cache (so `/info` and `/resize` of one `src`
//! cost one origin fetch), source limits, time limit, worker pool, result cache (under keys of its
//! own) and response headers (`Cache-Control`, `ETag`, `304`, `X-Cache`), and the same errors.

use super::lookup::Expiry;
use super::rejected::Fetched;
use super::*;
use crate::render::Job;
use crate::workers::Requesters;

impl App {
    pub(super) async fn info<B>(
        self: &Arc<Self>,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let query = self.signed_query(request)?;
        let params = InfoParams::parse(query).map_err(|e| Arc::new(e.into()))?;
        note.src_host = Some(params.src.host().to_owned());
        let key = CacheKey::info(&params, self.engine());
        let (rendition, result) = self
            .lookup(key, note, Expiry::Ttl, {
                let app = self.clone();
                move |requesters| app.make_info(params, requesters)
            })
            .await?;
        Ok(self.image_response(&rendition, request, false, result))
    }

    /// Fetches one source and describes it. Runs once per cache miss, in its own task.
    async fn make_info(
        self: Arc<Self>,
        params: InfoParams,
        requesters: Requesters,
    ) -> Result<Arc<Rendition>, Error> {
        let (admission, source, fetch_time) = self.admit_and_fetch(&params.src, requesters).await?;
        let (source, caching) = (source.bytes, source.caching);
        let fetched = Fetched::one(&params.src, &source);
        let estimate = {
            let (source, params) = (source.clone(), params.clone());
            move |renderer: &Renderer| {
                renderer.estimate(&Job::Info {
                    source: &source,
                    params: &params,
                })
            }
        };
        let source_bytes = source.len() as u64;
        let render = self.render_on_worker(
            admission,
            fetch_time,
            (source_bytes, caching, None),
            estimate,
            move |renderer| {
                renderer.render(Job::Info {
                    source: &source,
                    params: &params,
                })
            },
        );
        self.forget_if_refused(fetched, render).await
    }
}
