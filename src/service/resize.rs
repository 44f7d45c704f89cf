//! The `/resize` flow: params -> cache -> (coalesced) fetch -> worker pool -> response.
//!
//! The hit path parses the query, hashes the key, does one cache lookup and clones reference-counted
//! values into the response: it takes no lock shared with the miss path and never waits for CPU work.
//! A miss (see `lookup`) is admitted to the worker pool, fetches its source, and is rendered on a
//! worker by `render::Renderer`.

use tracing::Instrument;

use super::disposition::Disposition;
use super::lookup::{Expiry, Lookup};
use super::rejected;
use super::*;
use crate::origin::Got;
use crate::render::{Job, RenderError, Rendered};
use crate::types::{AcceptClass, Caching};
use crate::workers::{Admission, Requesters};

impl App {
    pub(super) async fn resize<B>(
        self: &Arc<Self>,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let query = self.signed_query(request)?;
        let hinted = self
            .hints
            .map(|hints| hints.apply(query, request.headers(), &self.limits.presets));
        let query = hinted.as_ref().map_or(query, |h| &h.query);
        let params = Params::parse(query, &self.limits).map_err(|e| Arc::new(e.into()))?;
        note.src_host = Some(params.src.host().to_owned());
        if params.engine.is_some() && !self.allow_engine_param {
            return Err(Arc::new(Error::EngineParamNotAllowed));
        }
        let negotiated = params.format == FormatChoice::Auto;
        let renderer = &self.renderer;
        let accept = negotiated.then(|| {
            let header = request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok());
            renderer.accept_class(header)
        });
        let primary = renderer.primary();
        let selection = renderer.select(params.engine, || {
            let digest = CacheKey::new(&params, accept, primary.as_ref());
            digest.sample()
        });
        let key = CacheKey::new(&params, accept, selection.engine.as_ref());
        // The default name is made once per rendition; a chosen one per request.
        let chosen = (params.delivery != Default::default()).then(|| Disposition::of(&params));

        let (rendition, result) = self
            .lookup(key, note, Expiry::Ttl, {
                let app = self.clone();
                move |requesters| app.produce(params, accept, selection, requesters)
            })
            .await?;
        self.stats
            .record_lookup(matches!(result, Lookup::Hit | Lookup::Stale));
        let mut response = self.image_response(&rendition, request, negotiated, result);
        let disposition = match &chosen {
            Some(chosen) => chosen.header(&rendition.content_type),
            None => rendition.disposition.clone(),
        };
        if let Some(value) = disposition {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
        if let (Some(hints), Some(hinted)) = (&self.hints, &hinted) {
            let headers = response.headers_mut();
            if hints.sizes {
                headers.insert("accept-ch", HeaderValue::from_static(hints::ACCEPT_CH));
            }
            for name in &hinted.vary {
                headers.append(header::VARY, HeaderValue::from_static(name));
            }
        }
        Ok(response)
    }

    /// The start of every miss: a place in the bounded work (before the fetch, so a burst of misses
    /// waits holding no source bytes; dropped there if its `requesters` all go), then the source,
    /// with its fetch time. Shared with `/info`.
    pub(super) async fn admit_and_fetch(
        &self,
        src: &Source,
        requesters: Requesters,
    ) -> Result<(Admission, Got, Duration), Error> {
        let origin_kind = match src {
            Source::Remote(url) if url.scheme() == "s3" => "s3",
            Source::Remote(_) => "remote",
            Source::Local(_) => "local",
        };
        let admission = self.workers.admit(requesters).await?;
        let fetch_started = Instant::now();
        let source = match self
            .origin
            .fetch(src)
            .instrument(tracing::debug_span!("fetch", origin = origin_kind))
            .await
        {
            Ok(source) => source,
            Err(e) => {
                self.metrics
                    .origin_errors
                    .get_or_create(&KindLabels { kind: e.kind() })
                    .inc();
                return Err(e.into());
            }
        };
        let fetch_time = fetch_started.elapsed();
        // Only what was really read from an origin or the disk, not a source-cache copy.
        if source.fetched {
            self.metrics
                .origin_fetch_duration
                .get_or_create(&OriginLabels {
                    origin: origin_kind,
                })
                .observe(fetch_time.as_secs_f64());
            self.metrics.source_bytes.inc_by(source.bytes.len() as u64);
        }
        Ok((admission, source, fetch_time))
    }

    /// Fetches, decodes, transforms and encodes one source. Runs once per cache miss, in its own task.
    async fn produce(
        self: Arc<Self>,
        params: Params,
        accept: Option<AcceptClass>,
        selection: Selection,
        requesters: Requesters,
    ) -> Result<Arc<Rendition>, Error> {
        let (admission, source, fetch_time) = self.admit_and_fetch(&params.src, requesters).await?;
        // A watermark is fetched like a source (same allowlist, limits and source cache).
        let watermark = match &params.watermark {
            Some(wm) => Some(self.origin.fetch(&wm.src).await.map_err(|e| {
                self.metrics
                    .origin_errors
                    .get_or_create(&KindLabels { kind: e.kind() })
                    .inc();
                Error::from(e)
            })?),
            None => None,
        };
        let caching = match &watermark {
            Some(wm) => source.caching.clone().combine(&wm.caching),
            None => source.caching.clone(),
        };
        let private = !caching.shared();
        let disposition = Disposition::of(&params);
        let (source, watermark) = (source.bytes, watermark.map(|wm| wm.bytes));
        let fetched = rejected::Fetched::resize(&params, &source, watermark.as_ref());
        let accept = accept.unwrap_or(AcceptClass::Legacy);
        let estimate = {
            let (source, params, selection) = (source.clone(), params.clone(), selection.clone());
            let watermark = watermark.clone();
            move |renderer: &Renderer| {
                renderer.estimate(&Job::Resize {
                    source: &source,
                    params: &params,
                    accept,
                    selection: &selection,
                    watermark,
                    private,
                })
            }
        };
        let source_bytes = source.len() as u64;
        let render = self.render_on_worker(
            admission,
            fetch_time,
            (source_bytes, caching, Some(disposition)),
            estimate,
            move |renderer| {
                renderer.render(Job::Resize {
                    source: &source,
                    params: &params,
                    accept,
                    selection: &selection,
                    watermark,
                    private,
                })
            },
        );
        self.forget_if_refused(fetched, render).await
    }

    /// Runs one render on the worker pool (`admission` holds its place; `estimate` sizes its share
    /// of the memory budget first, with the `source_bytes` fetched) and wraps what it made for the
    /// cache under its sources' `caching` rules, counting its transform time. `/resize`, `/info`
    /// and `/text` share it.
    pub(super) async fn render_on_worker<E, F>(
        &self,
        mut admission: Admission,
        fetch_time: Duration,
        (source_bytes, caching, disposition): (u64, Caching, Option<Disposition>),
        estimate: E,
        job: F,
    ) -> Result<Arc<Rendition>, Error>
    where
        E: FnOnce(&Renderer) -> Result<u64, RenderError> + Send + 'static,
        F: FnOnce(&Renderer) -> Result<Rendered, RenderError> + Send + 'static,
    {
        // The header probe is cheap but is libvips' work: off the async threads, without a CPU slot.
        let renderer = self.renderer.clone();
        let bytes = tokio::task::spawn_blocking(move || estimate(&renderer))
            .await
            .map_err(|e| Error::Internal(format!("estimate task: {e}")))??;
        admission.fit(source_bytes, bytes).await?;
        let renderer = self.renderer.clone();
        let (rendered, transform_time) = admission
            .run(move || {
                let started = Instant::now();
                let rendered = job(&renderer);
                (rendered, started.elapsed())
            })
            .await?;
        let (rendition, fell_back) = match rendered? {
            Rendered::Image(made) => (
                Rendition::new(made.encoded, made.engine, fetch_time, transform_time),
                made.fell_back,
            ),
            Rendered::Json(body) => (
                Rendition::json(body, self.engine().name(), fetch_time, transform_time),
                false,
            ),
        };
        self.metrics
            .observe_transform(rendition.engine, rendition.format, transform_time);
        if fell_back {
            self.metrics.engine_fallbacks.inc();
        }
        let disposition = disposition.and_then(|d| d.header(&rendition.content_type));
        Ok(Arc::new(
            rendition
                .with_caching(caching)
                .with_disposition(disposition),
        ))
    }
}
