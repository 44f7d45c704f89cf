//! Text: the user's text laid out by Pango and rasterised by Cairo (`sys/text.c`), as plain text
//! (never parsed as markup), into 8-bit RGBA pixels we own. The calls are those of libvips'
//! `vips_text`, so the pixels are the same, without its process-wide lock or its per-call set-up:
//! each thread keeps its own font map and context for its whole life (the first text a thread
//! renders loads its fonts). Paragraphs are aligned by their direction (`bidi`).

use std::ffi::CString;
use std::os::raw::c_int;
use std::ptr::{self, NonNull};

use vips_sys as ffi;

use super::bidi::{self, Direction};
use super::draw::Align;
use super::error::c_dim;
use super::{init, Image, VipsError};

/// What a text without ink fails with: `render::error` recognises it as the request's fault.
const NO_INK: &str = "text rendering failed: text: no text to render";

/// Rendered text: `width`×`height` 8-bit RGBA pixels, not premultiplied, row after row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPixels {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// A Pango layout made on this thread (its context is the thread's): not `Send`.
struct Layout {
    raw: NonNull<ffi::PangoLayout>,
    /// The ink rectangle: left, top, width, height in pixels.
    ink: [c_int; 4],
}

impl Drop for Layout {
    fn drop(&mut self) {
        // SAFETY: raw is the layout imgshield_text_layout made, released once, here.
        unsafe { ffi::imgshield_text_layout_free(self.raw.as_ptr()) }
    }
}

impl Layout {
    fn new(
        text: &str,
        font: &CString,
        [r, g, b]: [u8; 3],
        width: c_int,
        align: Align,
    ) -> Result<Layout, VipsError> {
        if text.contains('\0') {
            return Err(VipsError("the text contains a NUL character".into()));
        }
        let align = match align {
            Align::Low => ffi::VIPS_ALIGN_LOW,
            Align::Centre => ffi::VIPS_ALIGN_CENTRE,
            Align::High => ffi::VIPS_ALIGN_HIGH,
        };
        let mut raw: *mut ffi::PangoLayout = ptr::null_mut();
        let mut ink: [c_int; 4] = [0; 4];
        // SAFETY: text is valid for text.len() bytes (the C side validates it as UTF-8); font is
        // NUL-terminated; both outlive the call, which copies them. raw and ink are valid
        // out-pointers (ink to 4 ints).
        let rc = unsafe {
            ffi::imgshield_text_layout(
                text.as_ptr().cast(),
                text.len(),
                font.as_ptr(),
                width,
                align,
                r.into(),
                g.into(),
                b.into(),
                &mut raw,
                ink.as_mut_ptr(),
            )
        };
        match NonNull::new(raw) {
            Some(raw) if rc == 0 => Ok(Layout { raw, ink }),
            _ => Err(VipsError("text rendering failed: invalid text".into())),
        }
    }

    /// Rasterises the layout's ink rectangle into RGBA pixels.
    fn render(&self) -> Result<TextPixels, VipsError> {
        let [left, top, w, h] = self.ink;
        if w <= 0 || h <= 0 {
            return Err(VipsError(NO_INK.into()));
        }
        let (width, height) = (w.unsigned_abs(), h.unsigned_abs());
        let stride = w
            .checked_mul(4)
            .ok_or_else(|| VipsError(format!("the text is too wide: {width} pixels")))?;
        let len = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(4))
            .ok_or_else(|| VipsError(format!("the text is too large: {width}x{height}")))?;
        let mut pixels = vec![0u8; len];
        // SAFETY: pixels is a zeroed buffer of exactly height rows of stride = 4 * width bytes, as
        // Cairo's ARGB32 needs (stride a multiple of 4), alive and unaliased for the call; the
        // layout is live and was made on this thread.
        let rc = unsafe {
            ffi::imgshield_text_render(
                self.raw.as_ptr(),
                pixels.as_mut_ptr(),
                w,
                h,
                stride,
                left,
                top,
            )
        };
        if rc != 0 {
            return Err(VipsError("text rendering failed: cairo".into()));
        }
        unpremultiply_argb(&mut pixels);
        Ok(TextPixels {
            width,
            height,
            rgba: pixels,
        })
    }
}

/// Cairo's premultiplied native-endian ARGB32 words -> RGBA bytes, in place, as `vips_text` does
/// it (each colour times 255 over alpha, truncated).
fn unpremultiply_argb(pixels: &mut [u8]) {
    for px in pixels.chunks_exact_mut(4) {
        let word = u32::from_ne_bytes([px[0], px[1], px[2], px[3]]);
        let a = word >> 24;
        let [r, g, b] = [(word >> 16) & 0xff, (word >> 8) & 0xff, word & 0xff];
        let un = |c: u32| match a {
            0 | 255 => c as u8,
            a => (255 * c / a).min(255) as u8,
        };
        px.copy_from_slice(&[un(r), un(g), un(b), a as u8]);
    }
}

/// The alignment to ask Pango for so that a paragraph of `direction` lands at `align`: Pango flips
/// it for right-to-left paragraphs.
fn pango_align(align: Align, direction: Direction) -> Align {
    match (align, direction) {
        (Align::Low, Direction::Rtl) => Align::High,
        (Align::High, Direction::Rtl) => Align::Low,
        (align, _) => align,
    }
}

/// Rendered runs of text one under the other on a transparent block as wide as the widest, each
/// placed by `align`.
fn stack(runs: &[TextPixels], align: Align) -> TextPixels {
    let width = runs.iter().map(|r| r.width).max().unwrap_or(1);
    let height = runs
        .iter()
        .map(|r| r.height)
        .fold(0u32, u32::saturating_add);
    let row = width as usize * 4;
    let mut rgba = vec![0u8; row * height as usize];
    let mut top = 0usize;
    for run in runs {
        let room = (width - run.width) as usize;
        let left = match align {
            Align::Low => 0,
            Align::Centre => room / 2,
            Align::High => room,
        };
        let run_row = run.width as usize * 4;
        for (y, src) in run.rgba.chunks_exact(run_row).enumerate() {
            let at = (top + y) * row + left * 4;
            rgba[at..at + run_row].copy_from_slice(src);
        }
        top += run.height as usize;
    }
    TextPixels {
        width,
        height,
        rgba,
    }
}

/// Renders plain UTF-8 `text` (never interpreted as markup) in `color` (RGBA) as RGBA pixels just
/// large enough for its ink. `font` is a Pango font description such as `"DejaVu Sans Bold 32px"`;
/// glyphs it lacks (CJK, say) come from fontconfig's fallback fonts. Lines wrap at `wrap_width`
/// pixels (at word boundaries, between characters for longer words), aligned by `align` on the
/// page whatever their direction: `High` puts the right edge of an Arabic line, as of an English
/// one, at the right. The caller bounds the cost (text length, size, wrap width).
pub fn render_text(
    text: &str,
    font: &str,
    color: [u8; 4],
    wrap_width: Option<u32>,
    align: Align,
) -> Result<TextPixels, VipsError> {
    let [r, g, b, a] = color;
    let font = CString::new(font)
        .map_err(|_| VipsError("the font name contains a NUL character".into()))?;
    let width = c_dim(wrap_width.unwrap_or(0))?;
    let runs = bidi::direction_runs(text);
    let rendered = runs
        .iter()
        .map(|&(run, direction)| {
            Layout::new(run, &font, [r, g, b], width, pango_align(align, direction))?.render()
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|mut rendered| match rendered.len() {
            1 => rendered.swap_remove(0),
            _ => stack(&rendered, align),
        });
    let mut pixels = match rendered {
        Ok(pixels) => pixels,
        // A run with nothing visible (a direction mark alone) renders nothing by itself; the
        // whole text as one layout still does, aligned as Pango reads `align`.
        Err(_) if runs.len() > 1 => Layout::new(text, &font, [r, g, b], width, align)?.render()?,
        Err(err) => return Err(err),
    };
    if a != 255 {
        let factor = f32::from(a) / 255.0;
        for px in pixels.rgba.chunks_exact_mut(4) {
            px[3] = (f32::from(px[3]) * factor).round() as u8;
        }
    }
    Ok(pixels)
}

impl Image<'static> {
    /// [`render_text`] as an 8-bit sRGB RGBA image.
    pub fn text(
        text: &str,
        font: &str,
        color: [u8; 4],
        wrap_width: Option<u32>,
        align: Align,
    ) -> Result<Image<'static>, VipsError> {
        init()?;
        let pixels = render_text(text, font, color, wrap_width, align)?;
        Image::from_pixels(&pixels.rgba, pixels.width, pixels.height, 4)
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;
    use crate::vips::image::produce;

    /// The old path, kept as the reference: `vips_text` of the text escaped into markup, one
    /// coloured span, wrapped and aligned the same way (one paragraph direction only).
    fn vips_text(
        text: &str,
        font: &str,
        [r, g, b]: [u8; 3],
        width: u32,
        align: Align,
    ) -> TextPixels {
        let mut escaped = String::new();
        for c in text.chars() {
            match c {
                '&' => escaped.push_str("&amp;"),
                '<' => escaped.push_str("&lt;"),
                '>' => escaped.push_str("&gt;"),
                '"' => escaped.push_str("&quot;"),
                '\'' => escaped.push_str("&apos;"),
                c => escaped.push(c),
            }
        }
        let markup = format!("<span foreground=\"#{r:02x}{g:02x}{b:02x}\">{escaped}</span>");
        let markup = CString::new(markup).expect("no NUL");
        let font = CString::new(font).expect("no NUL");
        let align = match align {
            Align::Low => ffi::VIPS_ALIGN_LOW,
            Align::Centre => ffi::VIPS_ALIGN_CENTRE,
            Align::High => ffi::VIPS_ALIGN_HIGH,
        };
        let width = c_dim(width).expect("width");
        init().expect("init");
        let image = produce("vips_text", |out| {
            // SAFETY: markup and font are NUL-terminated and outlive the call; out is valid.
            unsafe { ffi::imgshield_text(out, markup.as_ptr(), font.as_ptr(), width, align) }
        })
        .expect("rendered");
        TextPixels {
            width: image.width(),
            height: image.height(),
            rgba: image.decode_to_memory().expect("pixels"),
        }
    }

    /// The largest difference of any channel of any pixel.
    fn max_difference(a: &TextPixels, b: &TextPixels) -> u8 {
        assert_eq!((a.width, a.height), (b.width, b.height));
        a.rgba
            .iter()
            .zip(&b.rgba)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn pixels_match_vips_text() {
        let cases: [(&str, &str, Align, u32); 9] = [
            (
                "图像服务文字横幅示例",
                "sans-serif 32px",
                Align::Centre,
                368,
            ),
            ("Hello, world", "DejaVu Sans Bold 40px", Align::Low, 0),
            ("مرحبا بالعالم", "sans-serif 32px", Align::High, 300),
            ("שלום עולם", "sans-serif 24px", Align::Low, 0),
            ("नमस्ते दुनिया", "sans-serif 28px", Align::Low, 0),
            ("สวัสดีชาวโลก", "sans-serif 28px", Align::Low, 0),
            (
                "one two three four five six",
                "sans-serif 20px",
                Align::Centre,
                80,
            ),
            (
                "日本語のテキストと English mixed",
                "serif 24px",
                Align::High,
                200,
            ),
            ("<b>&amp; 'quoted'</b>", "sans-serif 18px", Align::Low, 0),
        ];
        for (text, font, align, width) in cases {
            let wrap = (width > 0).then_some(width);
            let new = render_text(text, font, [200, 30, 60, 255], wrap, align).expect("new");
            let old = vips_text(text, font, [200, 30, 60], width, align);
            assert_eq!(max_difference(&new, &old), 0, "{text:?} in {font}");
        }
    }

    #[test]
    fn inkless_and_nul_texts_fail_as_before() {
        let err = render_text(" ", "sans-serif 20px", [0, 0, 0, 255], None, Align::Low);
        assert_eq!(err.map(|_| ()), Err(VipsError(NO_INK.into())));
        assert!(render_text("a\0b", "sans-serif 20px", [0; 4], None, Align::Low).is_err());
        assert!(render_text("ab", "sans\0serif", [0; 4], None, Align::Low).is_err());
    }

    #[test]
    fn each_thread_renders_with_its_own_font_map() {
        let reference = render_text(
            "文字 text",
            "sans-serif 24px",
            [0, 0, 0, 255],
            None,
            Align::Low,
        );
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..5)
                        .map(|_| {
                            render_text(
                                "文字 text",
                                "sans-serif 24px",
                                [0, 0, 0, 255],
                                None,
                                Align::Low,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for thread in threads {
            for pixels in thread.join().expect("no panic") {
                assert_eq!(pixels, reference);
            }
        }
    }
}
