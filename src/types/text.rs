//! The text to draw ([`TextSpec`]): what, how big, in which colour and face, and where. Shared by
//! the `txt*` parameters of `/resize` and the `/text` banner; the parser bounds it, the engine
//! draws it.

use super::{color_str, Gravity, Rgba};

/// Largest rendered text, in pixels, as [`TextSpec::estimated_size`] reckons it: 16 MP is 64 MB of
/// RGBA while Pango draws it, and room for 500 CJK characters at 140 px.
pub const MAX_TEXT_PIXELS: u64 = 16_000_000;
/// How wrapped lines line up with each other (`txtalign`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextAlign {
    Left,
    Center,
    Right,
}

impl TextAlign {
    pub fn as_str(self) -> &'static str {
        match self {
            TextAlign::Left => "left",
            TextAlign::Center => "center",
            TextAlign::Right => "right",
        }
    }

    pub fn parse(value: &str) -> Option<TextAlign> {
        Some(match value {
            "left" => TextAlign::Left,
            "center" | "centre" => TextAlign::Center,
            "right" => TextAlign::Right,
            _ => return None,
        })
    }

    /// The default: lines lean the way the text block is placed.
    pub fn following(position: Gravity) -> TextAlign {
        match position {
            Gravity::Left | Gravity::TopLeft | Gravity::BottomLeft => TextAlign::Left,
            Gravity::Right | Gravity::TopRight | Gravity::BottomRight => TextAlign::Right,
            Gravity::Center | Gravity::Top | Gravity::Bottom => TextAlign::Center,
        }
    }
}

/// A validated text to draw: what, how big, in which colour and face, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextSpec {
    /// `txt`: plain UTF-8 (never markup), 1..=500 characters, not only whitespace. `\r\n` is
    /// normalised to `\n` (a line break); other control characters are refused.
    pub text: String,
    /// `txtsize`: the em size in pixels, 6..=512; default 32.
    pub size: u32,
    /// `txtcolor`: hex `rgb`, `rgba`, `rrggbb` or `rrggbbaa`; default opaque black. Alpha makes the
    /// text translucent.
    pub color: Rgba,
    /// `txtpos`: where the text block sits (compass gravity); default center.
    pub position: Gravity,
    /// `txtfont`: a font family, optionally followed by Pango style words (`bold`, `italic`,
    /// `light`, `condensed`, ...): letters, digits, spaces and `-`, each word starting with a
    /// letter, at most 64 characters; stored lowercased with single spaces (fontconfig matches
    /// families without regard to case). Default `sans-serif`. An unknown family falls back to
    /// fontconfig's default face.
    pub font: String,
    /// `txtmargin`: pixels kept between the text block and the edge it leans to, 0..=4096;
    /// default 16. Also the padding around the text of an auto-sized `/text` canvas.
    pub margin: u32,
    /// `txtwidth`: wrap lines at this many pixels, 1..=max dimension. `None`: the canvas (or
    /// image) width less both margins.
    pub width: Option<u32>,
    /// `txtalign`: `left`, `center` or `right`; default follows `position` (left for the `*-left`
    /// and `left` positions, right for the right ones, center otherwise).
    pub align: TextAlign,
    /// `txtbg`: a box of this colour behind the text (padded by a quarter of the size); none by
    /// default.
    pub background: Option<Rgba>,
}

/// A text whose estimated rendering is larger than [`MAX_TEXT_PIXELS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextTooLarge {
    pub width: u64,
    pub height: u64,
}

impl TextSpec {
    /// Defaults applied, fixed order, the text percent-encoded (so it holds no `&` or `=`): safe to
    /// embed anywhere in a larger canonical string.
    pub fn canonical(&self) -> String {
        let text: String = form_urlencoded::byte_serialize(self.text.as_bytes()).collect();
        let font: String = form_urlencoded::byte_serialize(self.font.as_bytes()).collect();
        format!(
            "txtsize={}&txtcolor={}&txtpos={}&txtfont={}&txtwidth={}&txtalign={}&txtmargin={}&txtbg={}&txt={}",
            self.size,
            color_str(self.color),
            self.position.as_str(),
            font,
            self.width.map(|w| w.to_string()).unwrap_or_default(),
            self.align.as_str(),
            self.margin,
            self.background.map(color_str).unwrap_or_default(),
            text,
        )
    }

    /// The Pango font description: family and style words, then the size in pixels.
    pub fn font_description(&self) -> String {
        format!("{} {}px", self.font, self.size)
    }

    /// The wrap width on a canvas `canvas_width` wide: `txtwidth`, else the width less both
    /// margins (at least 1).
    pub fn wrap_width(&self, canvas_width: u32) -> u32 {
        self.width
            .unwrap_or_else(|| canvas_width.saturating_sub(self.margin.saturating_mul(2)))
            .max(1)
    }

    /// Padding between the text and the edge of its `txtbg` box (0 without a box).
    pub fn box_padding(&self) -> u32 {
        if self.background.is_some() {
            (self.size / 4).max(2)
        } else {
            0
        }
    }

    /// A generous upper bound of the rendered size (box included) when lines wrap at `wrap_width`:
    /// every character one em wide (CJK glyphs are; Latin ones about half), lines 1.5 em apart
    /// (Noto Sans CJK needs 1.45), and a wrapped paragraph taking twice the lines its length needs
    /// (a line may end early where the next word does not fit).
    pub fn estimated_size(&self, wrap_width: u32) -> (u64, u64) {
        let em = u64::from(self.size);
        let wrap = u64::from(wrap_width.max(1));
        let (mut widest, mut lines) = (0u64, 0u64);
        for paragraph in self.text.split('\n') {
            let chars = paragraph.chars().count().max(1) as u64;
            let length = chars * em;
            widest = widest.max(length.min(wrap));
            lines += if length <= wrap {
                1
            } else {
                (2 * length).div_ceil(wrap).min(chars)
            };
        }
        let pad = 2 * u64::from(self.box_padding());
        (widest.max(em) + pad, lines * em * 3 / 2 + pad)
    }

    /// Refuses a text whose estimated rendering exceeds [`MAX_TEXT_PIXELS`].
    pub fn check_size(&self, wrap_width: u32) -> Result<(), TextTooLarge> {
        let (width, height) = self.estimated_size(wrap_width);
        if width.saturating_mul(height) > MAX_TEXT_PIXELS {
            return Err(TextTooLarge { width, height });
        }
        Ok(())
    }
}
