//! The output format: `Accept` negotiation (the only part of that header that can change the
//! output, reduced to an [`AcceptClass`]) and the choice among explicit `fm`, negotiated `fm=auto`
//! and the source's own family, for `/resize` and `/text`.

use crate::engine::{EngineError, SourceInfo};
use crate::params::banner::BannerFormat;
use crate::params::FormatChoice;
use crate::types::{AcceptClass, OutputFormat, SourceFormat};

/// `fm=auto`'s default preference: AVIF, then JPEG XL, then WebP (`--auto-formats`).
pub(crate) const AUTO_FORMATS: [OutputFormat; 3] =
    [OutputFormat::Avif, OutputFormat::Jxl, OutputFormat::Webp];

impl AcceptClass {
    /// Classifies an `Accept` header by what this server can encode (`can_encode`), in the
    /// default order.
    pub fn negotiate(accept: Option<&str>, can_encode: impl Fn(OutputFormat) -> bool) -> Self {
        AcceptClass::negotiate_in(&AUTO_FORMATS, accept, can_encode)
    }

    /// The class of the first format of `order` the header lists (with a q above zero) and this
    /// server can encode; `Legacy` when none.
    pub fn negotiate_in(
        order: &[OutputFormat],
        accept: Option<&str>,
        can_encode: impl Fn(OutputFormat) -> bool,
    ) -> Self {
        let accepts = |mime: &str| accept.is_some_and(|header| accepts_mime(header, mime));
        order
            .iter()
            .find(|format| can_encode(**format) && accepts(format.mime()))
            .map_or(AcceptClass::Legacy, |format| match format {
                OutputFormat::Avif => AcceptClass::Avif,
                OutputFormat::Jxl => AcceptClass::Jxl,
                OutputFormat::Webp => AcceptClass::Webp,
                _ => AcceptClass::Legacy,
            })
    }
}

/// True when `header` lists `mime` explicitly with a non-zero q. Wildcards do not count: `*/*`
/// does not promise that a browser can decode AVIF.
fn accepts_mime(header: &str, mime: &str) -> bool {
    header.split(',').any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(mime) {
            return false;
        }
        parts.all(|param| {
            let (name, value) = param.split_once('=').unwrap_or((param, ""));
            !name.trim().eq_ignore_ascii_case("q")
                || value.trim().parse::<f32>().is_ok_and(|q| q > 0.0)
        })
    })
}

/// Picks the output format: explicit `fm`, negotiated `fm=auto`, or the source's own family.
pub fn choose_format(
    choice: FormatChoice,
    accept: AcceptClass,
    info: &SourceInfo,
    can_encode: impl Fn(OutputFormat) -> bool,
) -> Result<OutputFormat, EngineError> {
    choose_format_animated(choice, accept, info, false, can_encode)
}

/// As [`choose_format`]; with `animate` (the source has frames and the request keeps them), `fm=auto`
/// and the source's own family pick a format that holds animation: WebP where the client takes it,
/// else GIF.
pub fn choose_format_animated(
    choice: FormatChoice,
    accept: AcceptClass,
    info: &SourceInfo,
    animate: bool,
    can_encode: impl Fn(OutputFormat) -> bool,
) -> Result<OutputFormat, EngineError> {
    let animate = animate && info.pages > 1;
    let still_fallback = if info.has_alpha {
        OutputFormat::Png
    } else {
        OutputFormat::Jpeg
    };
    let moving = |preferred: OutputFormat| {
        [preferred, OutputFormat::Gif]
            .into_iter()
            .find(|f| f.supports_animation() && can_encode(*f))
    };
    let format = match choice {
        FormatChoice::Fixed(format) => format,
        // JPEG XL animation is not written here; a JPEG XL client may not take WebP: GIF.
        FormatChoice::Auto if animate => match accept {
            AcceptClass::Avif | AcceptClass::Webp => moving(OutputFormat::Webp),
            AcceptClass::Jxl | AcceptClass::Legacy => moving(OutputFormat::Gif),
        }
        .unwrap_or(still_fallback),
        FormatChoice::Auto => match accept {
            AcceptClass::Avif => OutputFormat::Avif,
            AcceptClass::Jxl => OutputFormat::Jxl,
            AcceptClass::Webp => OutputFormat::Webp,
            AcceptClass::Legacy => still_fallback,
        },
        FormatChoice::Source => {
            let family = match info.format {
                SourceFormat::Jpeg => OutputFormat::Jpeg,
                SourceFormat::Png => OutputFormat::Png,
                SourceFormat::Webp => OutputFormat::Webp,
                SourceFormat::Gif => OutputFormat::Gif,
                SourceFormat::Heif => OutputFormat::Avif,
                SourceFormat::Jxl => OutputFormat::Jxl,
                SourceFormat::Tiff | SourceFormat::Other => still_fallback,
            };
            if can_encode(family) {
                family
            } else {
                still_fallback
            }
        }
    };
    if can_encode(format) {
        Ok(format)
    } else {
        Err(EngineError::UnsupportedFormat(format.as_str()))
    }
}

/// The format of a `/text` banner: `fm` as given, or for `fm=auto` by the client's class, lossless
/// PNG for clients without AVIF or WebP (text edges stay crisp, alpha survives).
pub fn banner_format(choice: BannerFormat, accept: AcceptClass) -> OutputFormat {
    match (choice, accept) {
        (BannerFormat::Fixed(format), _) => format,
        (BannerFormat::Auto, AcceptClass::Avif) => OutputFormat::Avif,
        (BannerFormat::Auto, AcceptClass::Jxl) => OutputFormat::Jxl,
        (BannerFormat::Auto, AcceptClass::Webp) => OutputFormat::Webp,
        (BannerFormat::Auto, AcceptClass::Legacy) => OutputFormat::Png,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(width: u32, height: u32) -> SourceInfo {
        SourceInfo {
            width,
            height,
            format: SourceFormat::Jpeg,
            has_alpha: false,
            pages: 1,
        }
    }

    #[test]
    fn accept_negotiation_prefers_avif_then_webp() {
        let all = |_: OutputFormat| true;
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        assert_eq!(AcceptClass::negotiate(Some(chrome), all), AcceptClass::Avif);
        let no_avif = |f: OutputFormat| f != OutputFormat::Avif;
        assert_eq!(
            AcceptClass::negotiate(Some(chrome), no_avif),
            AcceptClass::Webp
        );
        assert_eq!(
            AcceptClass::negotiate(Some("image/webp;q=0, */*"), all),
            AcceptClass::Legacy
        );
        assert_eq!(
            AcceptClass::negotiate(Some("*/*"), all),
            AcceptClass::Legacy
        );
        assert_eq!(AcceptClass::negotiate(None, all), AcceptClass::Legacy);
        assert_eq!(
            AcceptClass::negotiate(Some("IMAGE/WEBP ; q=0.5"), all),
            AcceptClass::Webp
        );
    }

    #[test]
    fn format_follows_source_family_and_alpha() {
        let all = |_: OutputFormat| true;
        let mut png = info(10, 10);
        png.format = SourceFormat::Png;
        png.has_alpha = true;
        let pick = |choice, accept, info: &SourceInfo| choose_format(choice, accept, info, all);
        assert_eq!(
            pick(FormatChoice::Source, AcceptClass::Legacy, &info(1, 1)),
            Ok(OutputFormat::Jpeg)
        );
        assert_eq!(
            pick(FormatChoice::Source, AcceptClass::Legacy, &png),
            Ok(OutputFormat::Png)
        );
        assert_eq!(
            pick(FormatChoice::Auto, AcceptClass::Legacy, &png),
            Ok(OutputFormat::Png)
        );
        assert_eq!(
            pick(FormatChoice::Auto, AcceptClass::Legacy, &info(1, 1)),
            Ok(OutputFormat::Jpeg)
        );
        assert_eq!(
            pick(FormatChoice::Auto, AcceptClass::Webp, &png),
            Ok(OutputFormat::Webp)
        );
        let no_avif = |f: OutputFormat| f != OutputFormat::Avif;
        assert_eq!(
            choose_format(
                FormatChoice::Fixed(OutputFormat::Avif),
                AcceptClass::Legacy,
                &png,
                no_avif
            ),
            Err(EngineError::UnsupportedFormat("avif"))
        );
    }
}
