//! The `/resize` flow: params -> cache -> (coalesced) fetch -> worker pool -> response.
//!
//! The hit path parses the query, hashes the key, does one cache lookup and clones reference-counted
//! values into the response: it takes no lock shared with the miss path and never waits for CPU work.
//! A miss runs as its own task, so a client that hangs up does not cancel work that coalesced
//! requests are waiting for, and the result still lands in the cache.

use std::future::Future;

use tracing::Instrument;

use super::*;
use crate::render::{Job, RenderError, Rendered};
use crate::types::AcceptClass;
use crate::workers::Admission;

/// Whether a route's cached results go stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expiry {
    /// After `--cache-ttl`: the origin's image may have changed, so a stale entry is refreshed.
    Ttl,
    /// Never: a pure function of its parameters (a `/text` banner) has nothing to refresh.
    Never,
}

/// How the cache answered a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Fresh in the cache.
    Hit,
    /// Not in the cache; this request made it.
    Miss,
    /// Another request was making it; this one waited for that result.
    Coalesced,
    /// Stale in the cache; this request refreshed it.
    Refreshed,
    /// Stale in the cache and the refresh failed on the origin's side: served the stale result.
    Stale,
}

impl Lookup {
    /// The `result` label of `imgshield_cache_lookups_total`.
    pub(super) fn label(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Miss => "miss",
            Lookup::Coalesced => "coalesced",
            Lookup::Refreshed => "refreshed",
            Lookup::Stale => "stale",
        }
    }

    /// The `X-Cache` header: whether this response came from memory without new work.
    fn header(self) -> &'static str {
        match self {
            Lookup::Hit => "HIT",
            Lookup::Stale => "STALE",
            Lookup::Miss | Lookup::Coalesced | Lookup::Refreshed => "MISS",
        }
    }
}

impl App {
    pub(super) async fn resize<B>(
        self: &Arc<Self>,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let query = self.signed_query(request)?;
        let params = Params::parse(query, &self.limits).map_err(|e| Arc::new(e.into()))?;
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

        let (rendition, result) = self
            .lookup(key, note, Expiry::Ttl, || {
                self.clone().produce(params, accept, selection)
            })
            .await?;
        self.stats
            .record_lookup(matches!(result, Lookup::Hit | Lookup::Stale));
        Ok(self.image_response(&rendition, request, negotiated, result))
    }

    /// Answers `key` from the result cache, or with what `make` produces on a miss or a stale entry
    /// (coalesced, see `fill` and `refresh`); counts the lookup and notes it for the log line.
    /// Every route that renders (`/resize`, `/info`, `/text`) goes through here.
    pub(super) async fn lookup<W>(
        self: &Arc<Self>,
        key: CacheKey,
        note: &mut Note,
        expiry: Expiry,
        make: impl FnOnce() -> W,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        let fresh = |hit: &Rendition| expiry == Expiry::Never || hit.is_fresh(self.cache_ttl);
        let (rendition, result) = match self.cache.get(&key).await {
            Some(hit) if fresh(&hit) => (hit, Lookup::Hit),
            Some(stale) => self.refresh(key, stale, make()).await?,
            None => self.fill(key, make()).await?,
        };
        if matches!(result, Lookup::Miss | Lookup::Refreshed) {
            note.fetch = Some(rendition.fetch_time);
            note.transform = Some(rendition.transform_time);
        }
        note.cache = Some(result.label());
        self.metrics
            .cache_lookups
            .get_or_create(&CacheLabels {
                result: result.label(),
            })
            .inc();
        Ok((rendition, result))
    }

    /// A miss: one caller makes the result, concurrent callers for the same key wait for it.
    async fn fill<W>(
        self: &Arc<Self>,
        key: CacheKey,
        work: W,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        let app = self.clone();
        // moka polls this init future for one caller only; the others wait for its result. The
        // work itself is a task of its own, so it finishes (and fills the cache) even if that
        // caller hangs up.
        let entry = self
            .cache
            .entry(key)
            .or_try_insert_with(async move { app.produce_in_task(key, work).await })
            .await?;
        let lookup = if entry.is_fresh() {
            Lookup::Miss
        } else {
            Lookup::Coalesced
        };
        Ok((entry.into_value(), lookup))
    }

    /// A stale entry: refresh it (one refresh at a time per key; whoever waited behind a successful
    /// refresh gets its result), and if the origin is failing, serve the stale result instead.
    async fn refresh<W>(
        self: &Arc<Self>,
        key: CacheKey,
        stale: Arc<Rendition>,
        work: W,
    ) -> Result<(Arc<Rendition>, Lookup), Arc<Error>>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        let (app, ttl) = (self.clone(), self.cache_ttl);
        let outcome = self
            .cache
            .entry(key)
            .and_try_compute_with(|current| async move {
                if current.is_some_and(|entry| entry.value().is_fresh(ttl)) {
                    return Ok(Op::Nop);
                }
                app.produce_in_task(key, work).await.map(Op::Put)
            })
            .await;
        match outcome {
            Ok(CompResult::Inserted(entry) | CompResult::ReplacedWith(entry)) => {
                Ok((entry.into_value(), Lookup::Refreshed))
            }
            Ok(CompResult::Unchanged(entry)) => Ok((entry.into_value(), Lookup::Coalesced)),
            Ok(CompResult::StillNone(_) | CompResult::Removed(_)) => Err(Arc::new(
                Error::Internal("cache entry vanished during refresh".into()),
            )),
            Err(error) if error.serves_stale() => {
                tracing::warn!(code = error.code(), error = %error, "refresh failed; serving stale");
                Ok((stale, Lookup::Stale))
            }
            Err(error) => {
                // The origin's verdict changed (gone, or no longer an image): drop the old result.
                self.cache.invalidate(&key).await;
                Err(Arc::new(error))
            }
        }
    }

    /// Runs `work` as a task of its own that also stores its result: if the request that started
    /// it hangs up, the work still finishes and lands in the cache for the next request.
    async fn produce_in_task<W>(
        self: Arc<Self>,
        key: CacheKey,
        work: W,
    ) -> Result<Arc<Rendition>, Error>
    where
        W: Future<Output = Result<Arc<Rendition>, Error>> + Send + 'static,
    {
        // The miss's own task carries the span of the request that started it.
        let span = tracing::Span::current();
        tokio::spawn(async move {
            let result = work.instrument(span).await;
            if let Ok(rendition) = &result {
                self.cache.insert(key, rendition.clone()).await;
            }
            result
        })
        .await
        .unwrap_or_else(|e| Err(Error::Internal(format!("transform task: {e}"))))
    }

    /// The start of every miss: a place in the bounded work (before the fetch, so a burst of misses
    /// waits holding no source bytes), then the source, with its fetch time. Shared with `/info`.
    pub(super) async fn admit_and_fetch(
        &self,
        src: &Source,
    ) -> Result<(Admission, Bytes, Duration), Error> {
        let origin_kind = match src {
            Source::Remote(_) => "remote",
            Source::Local(_) => "local",
        };
        let admission = self
            .workers
            .admit()
            .instrument(tracing::debug_span!("queue_wait"))
            .await?;
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
        self.metrics
            .origin_fetch_duration
            .get_or_create(&OriginLabels {
                origin: origin_kind,
            })
            .observe(fetch_time.as_secs_f64());
        self.metrics.source_bytes.inc_by(source.len() as u64);
        Ok((admission, source, fetch_time))
    }

    /// Fetches, decodes, transforms and encodes one source. Runs once per cache miss, in its own task.
    async fn produce(
        self: Arc<Self>,
        params: Params,
        accept: Option<AcceptClass>,
        selection: Selection,
    ) -> Result<Arc<Rendition>, Error> {
        let (admission, source, fetch_time) = self.admit_and_fetch(&params.src).await?;
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
        self.render_on_worker(admission, fetch_time, move |renderer| {
            renderer.render(Job::Resize {
                source: &source,
                params: &params,
                accept: accept.unwrap_or(AcceptClass::Legacy),
                selection: &selection,
                watermark,
            })
        })
        .await
    }

    /// Runs one render on the worker pool (`admission` holds its place) and wraps what it made
    /// for the cache, counting its transform time. `/resize`, `/info` and `/text` share it.
    pub(super) async fn render_on_worker<F>(
        &self,
        admission: Admission,
        fetch_time: Duration,
        job: F,
    ) -> Result<Arc<Rendition>, Error>
    where
        F: FnOnce(&Renderer) -> Result<Rendered, RenderError> + Send + 'static,
    {
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
        Ok(Arc::new(rendition))
    }

    pub(super) fn image_response<B>(
        &self,
        r: &Rendition,
        request: &Request<B>,
        negotiated: bool,
        lookup: Lookup,
    ) -> Response<Body> {
        let not_modified = request
            .headers()
            .get(header::IF_NONE_MATCH)
            .is_some_and(|inm| etag_matches(inm, &r.etag));
        let head = request.method() == Method::HEAD;
        let (status, body) = if not_modified {
            (StatusCode::NOT_MODIFIED, Bytes::new())
        } else {
            if !head {
                self.metrics.response_bytes.inc_by(r.body.len() as u64);
            }
            // HEAD gets the body too: hyper sends its length and drops the bytes (a refcount, no copy).
            (StatusCode::OK, r.body.clone())
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        let headers: &mut HeaderMap = response.headers_mut();
        if !not_modified {
            headers.insert(header::CONTENT_TYPE, r.content_type.clone());
        }
        if lookup == Lookup::Stale {
            // Short-lived downstream: a CDN should come back soon for the fresh version.
            headers.insert(header::CACHE_CONTROL, self.stale_cache_control.clone());
            headers.insert(
                header::WARNING,
                HeaderValue::from_static("110 - \"Response is Stale\""),
            );
        } else {
            headers.insert(header::CACHE_CONTROL, self.cache_control.clone());
        }
        headers.insert(header::ETAG, r.etag.clone());
        if negotiated {
            headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        }
        headers.insert("x-cache", HeaderValue::from_static(lookup.header()));
        headers.insert("x-engine", HeaderValue::from_static(r.engine));
        response
    }
}
