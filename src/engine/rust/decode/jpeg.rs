//! JPEG through jpeg-decoder, which can decode at 1/2, 1/4 or 1/8 scale in the DCT domain.

use super::*;
use jpeg_decoder::{Decoder, PixelFormat};

fn read_error(error: jpeg_decoder::Error) -> EngineError {
    match error {
        jpeg_decoder::Error::Unsupported(feature) => {
            EngineError::NotImplemented(format!("JPEG with {feature:?}"))
        }
        other => broken("JPEG", other),
    }
}

pub(super) fn header(bytes: &[u8]) -> Result<Header, EngineError> {
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(read_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| broken("JPEG", "no frame header"))?;
    Ok(Header {
        format: SourceFormat::Jpeg,
        width: u32::from(info.width),
        height: u32::from(info.height),
        has_alpha: false,
        pages: 1,
        orientation: decoder.exif_data().and_then(exif_orientation).unwrap_or(1),
    })
}

pub(super) fn decode(
    bytes: &[u8],
    shrink_to: (u32, u32),
    rule: ShrinkRule,
) -> Result<Decoded, EngineError> {
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(read_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| broken("JPEG", "no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let shrink = match info.pixel_format {
        // Lossless 16-bit JPEGs cannot be scaled by the decoder.
        PixelFormat::L16 => 1,
        _ => rule((width, height), shrink_to),
    };
    let (mut out_w, mut out_h) = (width, height);
    if shrink > 1 {
        // Asking for exactly ceil(size / shrink) makes the decoder pick that factor.
        let want = |v: u32| u16::try_from(v.div_ceil(shrink)).unwrap_or(u16::MAX);
        let (w, h) = decoder
            .scale(want(width), want(height))
            .map_err(read_error)?;
        (out_w, out_h) = (u32::from(w), u32::from(h));
    }
    let data = decoder.decode().map_err(read_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| broken("JPEG", "no frame header"))?;
    let pixels = match info.pixel_format {
        PixelFormat::RGB24 => Pixels {
            width: out_w,
            height: out_h,
            channels: 3,
            data,
        },
        PixelFormat::L8 => Pixels::from_grey(out_w, out_h, &data, false),
        PixelFormat::CMYK32 => {
            return Err(EngineError::NotImplemented(
                "CMYK JPEG colour conversion".into(),
            ))
        }
        PixelFormat::L16 => return Err(EngineError::NotImplemented("16-bit lossless JPEG".into())),
    };
    if pixels.data.len() != out_w as usize * out_h as usize * 3 {
        return Err(broken("JPEG", "decoded size does not match the header"));
    }
    Ok(Decoded {
        pixels,
        orientation: decoder.exif_data().and_then(exif_orientation).unwrap_or(1),
        icc: decoder.icc_profile(),
    })
}
