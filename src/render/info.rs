//! `/info`: a source's header facts and placeholders as the documented JSON document, under the
//! same source limits as `/resize`.

use bytes::Bytes;
use serde::Serialize;

use super::{RenderError, Renderer};
use crate::engine::info::{describe, placeholders, Description, Placeholders};
use crate::engine::EngineError;
use crate::params::InfoParams;

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

impl Renderer {
    pub(super) fn info(&self, source: &[u8], params: &InfoParams) -> Result<Bytes, RenderError> {
        let description = describe(source)?;
        self.check_source(&description.info)?;
        self.check_decode_cost(source)?;
        let limits = &self.limits;
        let placeholders = placeholders(
            source,
            params.blurhash,
            limits.strictness,
            Some(limits.time_limit),
        )?;
        let body = InfoBody::new(&description, &placeholders, source.len() as u64);
        let json = serde_json::to_vec(&body)
            .map_err(|e| EngineError::Internal(format!("/info JSON: {e}")))?;
        Ok(Bytes::from(json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SourceFormat, SourceInfo};

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
