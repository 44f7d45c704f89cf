//! `Content-Disposition` for `/resize`: the name a browser's "Save as" or download offers (the
//! `filename=` given, else the source's own file name) with the extension of the format actually
//! sent, `inline` or, with `dl=1`, `attachment`. Written per response: the name is not part of the
//! rendition, so every name of one image shares its cache entry.

use http::HeaderValue;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::params::{Params, Source, MAX_FILENAME_CHARS};
use crate::types::OutputFormat;

/// RFC 8187 `attr-char`: everything else in `filename*` is percent-encoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// What a response's `Content-Disposition` says, taken from the request before it is rendered.
pub(super) struct Disposition {
    stem: String,
    attachment: bool,
}

impl Disposition {
    pub(super) fn of(params: &Params) -> Disposition {
        let stem = match &params.delivery.filename {
            Some(name) => without_image_extension(name).to_owned(),
            None => source_stem(&params.src),
        };
        Disposition {
            stem,
            attachment: params.delivery.download,
        }
    }

    /// The header for a body of `content_type`.
    pub(super) fn header(&self, content_type: &HeaderValue) -> Option<HeaderValue> {
        let format = OutputFormat::ALL
            .into_iter()
            .find(|f| content_type.as_bytes() == f.mime().as_bytes())?;
        let name = format!("{}.{}", self.stem, extension(format));
        // The plain `filename` for old clients: ASCII only, without quotes or backslashes.
        let fallback: String = name
            .chars()
            .map(|c| match c {
                ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
                _ => '_',
            })
            .collect();
        let kind = if self.attachment {
            "attachment"
        } else {
            "inline"
        };
        let value = format!(
            "{kind}; filename=\"{fallback}\"; filename*=UTF-8''{}",
            utf8_percent_encode(&name, ATTR_CHAR)
        );
        HeaderValue::from_str(&value).ok()
    }
}

fn extension(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Jpeg => "jpg",
        other => other.as_str(),
    }
}

/// `name` without a trailing image extension (the output's is added instead); never empty.
fn without_image_extension(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.trim_matches('.').is_empty()
                && [
                    "jpg", "jpeg", "png", "webp", "avif", "gif", "tif", "tiff", "heic", "heif",
                ]
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known)) =>
        {
            stem
        }
        _ => name,
    }
}

/// The source's file name without its extension, cleaned of what a file name cannot hold;
/// `image` when nothing is left.
fn source_stem(src: &Source) -> String {
    let path = match src {
        Source::Remote(url) => url.path().to_owned(),
        Source::Local(path) => path.as_str().to_owned(),
    };
    let last = path.rsplit('/').next().unwrap_or("");
    let decoded = percent_decode_str(last).decode_utf8_lossy();
    let clean: String = decoded
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\' | '"'))
        .take(MAX_FILENAME_CHARS)
        .collect();
    let stem = without_image_extension(clean.trim());
    if stem
        .trim_matches(|c: char| c == '.' || c.is_whitespace())
        .is_empty()
    {
        "image".to_owned()
    } else {
        stem.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ParamLimits;

    fn header(query: &str, mime: &'static str) -> String {
        let params = Params::parse(query, &ParamLimits::default()).expect("valid params");
        let value = Disposition::of(&params)
            .header(&HeaderValue::from_static(mime))
            .expect("a header");
        value.to_str().expect("ascii").to_owned()
    }

    #[test]
    fn the_source_name_with_the_output_extension_by_default() {
        assert_eq!(
            header("src=https://a.example/p/IMG_42.JPG&w=9", "image/webp"),
            "inline; filename=\"IMG_42.webp\"; filename*=UTF-8''IMG_42.webp"
        );
        assert_eq!(
            header("src=https://a.example/&w=9", "image/jpeg"),
            "inline; filename=\"image.jpg\"; filename*=UTF-8''image.jpg"
        );
    }

    #[test]
    fn a_given_name_any_script_and_a_download() {
        assert_eq!(
            header(
                "src=a.jpg&filename=%C3%A9t%C3%A9%20x.png&dl=1",
                "image/avif"
            ),
            "attachment; filename=\"_t_ x.avif\"; filename*=UTF-8''%C3%A9t%C3%A9%20x.avif"
        );
        assert_eq!(
            header("src=%E5%86%99.png", "image/png"),
            "inline; filename=\"_.png\"; filename*=UTF-8''%E5%86%99.png"
        );
    }

    #[test]
    fn a_name_never_breaks_out_of_the_header() {
        let value = header("src=https://a.example/a%2522b%255Cc%2525d.gif", "image/gif");
        assert_eq!(
            value,
            "inline; filename=\"abc_d.gif\"; filename*=UTF-8''abc%25d.gif"
        );
    }
}
