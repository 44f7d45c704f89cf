//! Text parameters: `txt*` (text drawn onto an image, and the `/text` banner) -> a typed, bounded,
//! canonical [`TextSpec`]. The rest of a `/text` query is `super::banner`.
//!
//! Pure, like the rest of `params`: no libvips, no fonts. Cost is bounded here, before anything is
//! rendered, because Pango lays out and rasterises a text eagerly and in one piece: the text is at
//! most `MAX_TEXT_CHARS` characters, the size at most `MAX_TEXT_SIZE` px, and the rendered
//! area, estimated generously from both, at most [`MAX_TEXT_PIXELS`].

use std::sync::LazyLock;

use crate::types::text::{TextAlign, TextSpec, TextTooLarge, MAX_TEXT_PIXELS};
use crate::types::{parse_color, Gravity, Rgba};

use super::field::{self, Field, Stage};
use super::query::Query;
use super::{ParamError, ParamLimits};

/// The table, worked out once.
static PARSING: LazyLock<field::Parsing<TextSpec, TextSpec>> =
    LazyLock::new(|| field::Parsing::of(&TEXT));

impl From<TextTooLarge> for ParamError {
    /// Names `txt`, with what would bring the size down.
    fn from(
        TextTooLarge {
            width: w,
            height: h,
        }: TextTooLarge,
    ) -> ParamError {
        invalid(
            NAMES[0],
            format!(
                "the text would render about {w}x{h} pixels, more than the {MAX_TEXT_PIXELS} allowed: \
                 shorten it, lower 'txtsize' or narrow 'txtwidth'"
            ),
        )
    }
}

/// Longest text, in characters (Unicode scalar values, so at most 2000 bytes of UTF-8).
const MAX_TEXT_CHARS: usize = 500;
/// `txtsize` range, in pixels (the font's em size).
const MIN_TEXT_SIZE: u32 = 6;
const MAX_TEXT_SIZE: u32 = 512;
/// Longest `txtfont`.
const MAX_FONT_LEN: usize = 64;
/// Largest `txtmargin`, in pixels.
const MAX_TEXT_MARGIN: u32 = 4096;
/// Combining marks allowed in a row: enough for any real script (Vietnamese stacks two, Tibetan
/// and Indic clusters a few), not enough for "Zalgo" text, whose marks pile up into a tall image.
const MAX_COMBINING_RUN: usize = 4;

/// Defaults, applied when a parameter is absent (and written into the canonical form).
const DEFAULT_TEXT_SIZE: u32 = 32;
const DEFAULT_TEXT_COLOR: Rgba = Rgba([0, 0, 0, 255]);
const DEFAULT_TEXT_POSITION: Gravity = Gravity::Center;
/// fontconfig's alias for the default sans-serif face (DejaVu Sans on Debian); glyphs it lacks,
/// such as CJK, come from fontconfig's fallback (Noto Sans CJK with `fonts-noto-cjk`).
const DEFAULT_FONT: &str = "sans-serif";
const DEFAULT_TEXT_MARGIN: u32 = 16;

/// The text parameters, in the order of [`TextSpec::canonical`] (which ends with `txt`) and in
/// which a styling parameter given without `txt` is named. Errors come in parse order (see
/// [`Stage`]): the text, its style and margin, then its layout. Absent, a value keeps its default
/// from [`defaults`].
static TEXT: [Field<TextSpec, TextSpec>; 9] = [
    Field::new(&["txt"], Stage::Subject, |mut a, s, _| {
        a.set(0, &mut s.text, parse_text)
    }),
    Field::new(&["txtsize"], Stage::Options, |mut a, s, _| {
        a.set(0, &mut s.size, |v, name| {
            parse_u32_in(name, v, MIN_TEXT_SIZE, MAX_TEXT_SIZE)
        })
    }),
    Field::new(&["txtcolor"], Stage::Options, |mut a, s, _| {
        a.set(0, &mut s.color, |v, name| {
            parse_color(v).ok_or_else(|| invalid(name, COLOR))
        })
    }),
    Field::new(&["txtpos"], Stage::Options, |mut a, s, _| {
        a.set(0, &mut s.position, |v, name| {
            Gravity::parse(v).ok_or_else(|| invalid(name, GRAVITY))
        })
    }),
    Field::new(&["txtfont"], Stage::Options, |mut a, s, _| {
        a.set(0, &mut s.font, parse_font)
    }),
    Field::new(&["txtwidth"], Stage::Layout, |mut a, s, limits| {
        a.set(0, &mut s.width, |v, name| {
            parse_u32_in(name, v, 1, limits.max_dimension).map(Some)
        })
    }),
    // Absent, the alignment follows the position: hence a later stage.
    Field::new(&["txtalign"], Stage::Layout, |mut a, s, _| {
        s.align = TextAlign::following(s.position);
        a.set(0, &mut s.align, |v, name| {
            TextAlign::parse(v).ok_or_else(|| invalid(name, "expected left, center or right"))
        })
    }),
    Field::new(&["txtmargin"], Stage::Options, |mut a, s, _| {
        a.set(0, &mut s.margin, |v, name| {
            parse_u32_in(name, v, 0, MAX_TEXT_MARGIN)
        })
    }),
    Field::new(&["txtbg"], Stage::Layout, |mut a, s, _| {
        a.set(0, &mut s.background, |v, name| {
            parse_color(v).ok_or_else(|| invalid(name, COLOR)).map(Some)
        })
    }),
];

/// Every name of [`TEXT`], for the routes that take the text parameters as one field.
pub(super) static NAMES: [&str; 9] = {
    let mut names = [""; 9];
    let mut i = 0;
    while i < names.len() {
        names[i] = TEXT[i].names[0];
        i += 1;
    }
    names
};

const COLOR: &str = "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa";
const GRAVITY: &str =
    "expected center, top, bottom, left, right, top-left, top-right, bottom-left or bottom-right";

/// A [`TextSpec`] with every default applied and no text yet: what the table parses into.
pub(super) fn defaults() -> TextSpec {
    TextSpec {
        text: String::new(),
        size: DEFAULT_TEXT_SIZE,
        color: DEFAULT_TEXT_COLOR,
        position: DEFAULT_TEXT_POSITION,
        font: DEFAULT_FONT.to_string(),
        margin: DEFAULT_TEXT_MARGIN,
        width: None,
        align: TextAlign::following(DEFAULT_TEXT_POSITION),
        background: None,
    }
}

/// The raw values of the text parameters, percent-decoded, as they come out of a query string.
#[derive(Clone, Debug, Default)]
pub(crate) struct TextValues(Query);

impl TextValues {
    /// Takes `name=value` if `name` is a text parameter: `Ok(true)` when taken, `Ok(false)` when
    /// the name is not ours, [`ParamError::Repeated`] when it was already given. For tests: the
    /// routes move the values out of their query ([`TextValues::take_from`]).
    #[cfg(test)]
    pub(crate) fn accept(&mut self, name: &str, value: &str) -> Result<bool, ParamError> {
        let Some(name) = NAMES.iter().find(|n| **n == name) else {
            return Ok(false);
        };
        self.0.insert(name, value.to_string())?;
        Ok(true)
    }

    /// Moves the text parameters out of a route's query.
    pub(super) fn take_from(query: &mut Query) -> TextValues {
        let mut values = Query::default();
        for name in NAMES {
            if let Some(value) = query.take(name) {
                // Each name once, and `values` starts empty: no repeat is possible.
                let _ = values.insert(name, value);
            }
        }
        TextValues(values)
    }

    pub(super) fn has_text(&self) -> bool {
        self.0.has(NAMES[0])
    }

    /// The first text parameter given, other than `txt` itself.
    fn first_styling(&self) -> Option<&'static str> {
        NAMES[1..].iter().copied().find(|name| self.0.has(name))
    }
}

pub(super) fn invalid(name: &'static str, reason: impl Into<String>) -> ParamError {
    ParamError::invalid(name, reason)
}

impl TextSpec {
    /// Parses the text parameters of a request that draws text onto an image. `Ok(None)` when
    /// none is given; styling without `txt` is refused, naming the first styling parameter.
    ///
    /// The rendered size is checked against [`MAX_TEXT_PIXELS`] for the widest wrap the request
    /// allows (`txtwidth`, else `limits.max_dimension`); check again with the real wrap width
    /// ([`TextSpec::wrap_width`]) once the image's width is known.
    pub(crate) fn parse(
        values: &TextValues,
        limits: &ParamLimits,
    ) -> Result<Option<TextSpec>, ParamError> {
        let spec = match TextSpec::parse_unchecked(values, limits)? {
            Some(spec) => spec,
            None => return Ok(None),
        };
        spec.check_size(spec.width.unwrap_or(limits.max_dimension))?;
        Ok(Some(spec))
    }

    pub(super) fn parse_unchecked(
        values: &TextValues,
        limits: &ParamLimits,
    ) -> Result<Option<TextSpec>, ParamError> {
        if !values.has_text() {
            return match values.first_styling() {
                Some(name) => Err(invalid(name, "needs 'txt', the text to draw")),
                None => Ok(None),
            };
        }
        let mut spec = defaults();
        field::parse(&PARSING, &mut values.0.clone(), &mut spec, limits)?;
        Ok(Some(spec))
    }
}

pub(super) fn parse_u32_in(
    name: &'static str,
    value: &str,
    min: u32,
    max: u32,
) -> Result<u32, ParamError> {
    match super::plain_number::<u32>(value) {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(invalid(
            name,
            format!("expected an integer from {min} to {max}"),
        )),
    }
}

/// Unicode combining marks that stack on their base character (the general "combining" blocks).
fn is_combining(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// Characters that draw nothing and take no room: Unicode's default-ignorable code points (zero-width
/// spaces and joiners, bidirectional marks, the word joiner and invisible operators, variation
/// selectors, the byte-order mark, Hangul fillers, tags), the soft hyphen, and the characters
/// fonts draw blank (the braille blank, the interlinear annotation and object replacement marks).
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFFC}'
        | '\u{2800}'
        | '\u{16FE4}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

fn parse_text(value: &str, name: &'static str) -> Result<String, ParamError> {
    let text = value.replace("\r\n", "\n");
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(invalid(
            name,
            format!("{chars} characters; at most {MAX_TEXT_CHARS} are allowed"),
        ));
    }
    // Pango lays out nothing for a text of spaces and invisible characters (libvips then fails
    // with "no text to render"): refuse it here, naming the parameter.
    if text.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        return Err(invalid(
            name,
            "expected some visible text (not only spaces or invisible characters)",
        ));
    }
    // U+2028/U+2029 break lines too, which the size estimate counts only for `\n`.
    if let Some(c) = text
        .chars()
        .find(|c| (c.is_control() && *c != '\n') || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Err(invalid(
            name,
            format!(
                "control character U+{:04X} is not allowed (only line breaks)",
                u32::from(c)
            ),
        ));
    }
    let mut run = 0;
    for c in text.chars() {
        run = if is_combining(c) { run + 1 } else { 0 };
        if run > MAX_COMBINING_RUN {
            return Err(invalid(
                name,
                format!("more than {MAX_COMBINING_RUN} combining marks in a row"),
            ));
        }
    }
    Ok(text)
}

fn parse_font(value: &str, name: &'static str) -> Result<String, ParamError> {
    let reason = "expected a font family (letters, digits, spaces and '-', each word starting with a letter, at most 64 characters), e.g. 'DejaVu Sans Bold'";
    if value.len() > MAX_FONT_LEN
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
    {
        return Err(invalid(name, reason));
    }
    let words: Vec<&str> = value.split_whitespace().collect();
    // A word starting with a digit or '-' would reach Pango as a size ("12", "12px") or garbage.
    if words.is_empty()
        || words
            .iter()
            .any(|w| !w.starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        return Err(invalid(name, reason));
    }
    Ok(words.join(" ").to_ascii_lowercase())
}

/// What a refusal names, for the tests here and in `banner`: the parameter, or `repeated NAME`.
#[cfg(test)]
pub(super) fn name_of(err: ParamError) -> String {
    match err {
        ParamError::Invalid { name, .. } => name.to_string(),
        ParamError::Repeated(name) => format!("repeated {name}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests;
