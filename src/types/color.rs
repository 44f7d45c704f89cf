//! Colours: [`Rgba`] and its one canonical hex spelling.

/// A colour with alpha, 0..=255 per channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub const WHITE: Rgba = Rgba([255, 255, 255, 255]);
    pub const TRANSPARENT: Rgba = Rgba([0, 0, 0, 0]);
}

/// Parses a hex colour: `rgb`, `rgba`, `rrggbb` or `rrggbbaa`, with or without a leading `#`
/// (case-insensitive). Missing alpha is opaque.
pub fn parse_color(value: &str) -> Option<Rgba> {
    let hex = value.strip_prefix('#').unwrap_or(value);
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let nibble = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    let [r, g, b, a] = match hex.len() {
        3 | 4 => {
            let short = |i: usize| nibble(i).map(|n| n * 17);
            let a = if hex.len() == 4 { short(3)? } else { 255 };
            [short(0)?, short(1)?, short(2)?, a]
        }
        6 | 8 => {
            let a = if hex.len() == 8 { byte(6)? } else { 255 };
            [byte(0)?, byte(2)?, byte(4)?, a]
        }
        _ => return None,
    };
    Some(Rgba([r, g, b, a]))
}

/// The canonical spelling of a colour: eight lowercase hex digits.
pub fn color_str(color: Rgba) -> String {
    let [r, g, b, a] = color.0;
    format!("{r:02x}{g:02x}{b:02x}{a:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_every_length() {
        assert_eq!(parse_color("fff"), Some(Rgba([255, 255, 255, 255])));
        assert_eq!(parse_color("#F00a"), Some(Rgba([255, 0, 0, 170])));
        assert_eq!(parse_color("102030"), Some(Rgba([16, 32, 48, 255])));
        assert_eq!(parse_color("10203040"), Some(Rgba([16, 32, 48, 64])));
        for bad in ["", "#", "ff", "fffff", "ggg", "+1f", "１２３", "fffffffff"] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
        assert_eq!(color_str(Rgba([1, 2, 255, 128])), "0102ff80");
    }
}
