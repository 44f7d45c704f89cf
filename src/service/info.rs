//! The `/info` flow: params -> cache -> (coalesced) fetch -> worker pool -> JSON.
//!
//! The same road as `/resize` in every respect a client or an operator can see: the same `src`
//! rules, signature check, origin guards and source cache (so `/info` and `/resize` of one `src`
//! cost one origin fetch), source limits, time limit, worker pool, result cache (under keys of its
//! own) and response headers (`Cache-Control`, `ETag`, `304`, `X-Cache`), and the same errors.

use serde::Serialize;

use super::*;
use crate::engine::info::{describe, placeholders, Description, Placeholders};

/// The JSON body. Field order is the documented one (docs/API.md); serde keeps it.
#[derive(Serialize)]
struct InfoBody<'a> {
    format: &'static str,
    /// After EXIF auto-orientation: the size `/resize` works with and a browser shows.
    width: u32,
    height: u32,
    /// As stored in the file.
    stored_width: u32,
    stored_height: u32,
    orientation: u8,
    pages: u32,
    has_alpha: bool,
    color_space: &'a str,
    icc_profile: bool,
    file_size: u64,
    #[serde(flatten)]
    placeholders: &'a Placeholders,
}

impl<'a> InfoBody<'a> {
    fn new(d: &'a Description, placeholders: &'a Placeholders, file_size: u64) -> InfoBody<'a> {
        InfoBody {
            format: d.format,
            width: d.info.width,
            height: d.info.height,
            stored_width: d.stored_width,
            stored_height: d.stored_height,
            orientation: d.orientation,
            pages: d.info.pages,
            has_alpha: d.info.has_alpha,
            color_space: &d.color_space,
            icc_profile: d.icc_profile,
            file_size,
            placeholders,
        }
    }
}

impl App {
    pub(super) async fn info<B>(
        self: &Arc<Self>,
        request: &Request<B>,
        note: &mut Note,
    ) -> Result<Response<Body>, Arc<Error>> {
        let query = self.signed_query(request)?;
        let params = InfoParams::parse(query).map_err(|e| Arc::new(e.into()))?;
        let key = CacheKey::info(&params, self.engine());
        let (rendition, result) = self
            .lookup(key, note, || self.clone().make_info(params))
            .await?;
        Ok(self.image_response(&rendition, request, false, result))
    }

    /// Fetches one source and describes it. Runs once per cache miss, in its own task.
    async fn make_info(self: Arc<Self>, params: InfoParams) -> Result<Arc<Rendition>, Error> {
        let (admission, source, fetch_time) = self.admit_and_fetch(&params.src).await?;
        let (max_pixels, max_frames) = (self.max_src_pixels, self.max_frames);
        let (strictness, time_limit) = (self.strictness, self.max_processing_time);
        let engine = self.engine().name();
        let (rendition, transform_time) = admission
            .run(move || -> Result<_, Error> {
                let started = Instant::now();
                let description = describe(&source)?;
                check_source_limits(&description.info, max_pixels, max_frames)?;
                let placeholders =
                    placeholders(&source, params.blurhash, strictness, Some(time_limit))?;
                let body = InfoBody::new(&description, &placeholders, source.len() as u64);
                let json = serde_json::to_vec(&body)
                    .map_err(|e| Error::Internal(format!("/info JSON: {e}")))?;
                let transform_time = started.elapsed();
                Ok((
                    Rendition::json(Bytes::from(json), engine, fetch_time, transform_time),
                    transform_time,
                ))
            })
            .await??;
        self.metrics
            .observe_transform(rendition.engine, rendition.format, transform_time);
        Ok(Arc::new(rendition))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SourceFormat;

    #[test]
    fn the_body_has_every_documented_field_in_order() {
        let description = Description {
            info: SourceInfo {
                width: 200,
                height: 400,
                format: SourceFormat::Jpeg,
                has_alpha: false,
                pages: 1,
            },
            format: "jpeg",
            stored_width: 400,
            stored_height: 200,
            orientation: 6,
            color_space: "srgb".into(),
            icc_profile: false,
        };
        let placeholders = Placeholders {
            dominant_color: Some("#123456".into()),
            blurhash: "00H27h".into(),
        };
        let json = serde_json::to_string(&InfoBody::new(&description, &placeholders, 1234))
            .expect("serialises");
        assert_eq!(
            json,
            r##"{"format":"jpeg","width":200,"height":400,"stored_width":400,"stored_height":200,"orientation":6,"pages":1,"has_alpha":false,"color_space":"srgb","icc_profile":false,"file_size":1234,"dominant_color":"#123456","blurhash":"00H27h"}"##
        );
    }
}
