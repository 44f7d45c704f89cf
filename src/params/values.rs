//! Value types shared by several parameters: compass gravity (`pos`, `wmpos`, `txtpos`) and colours
//! (`bg`, `txtcolor`). Pure parsing, each with one canonical spelling for the cache key.

use crate::engine::Rgba;

/// Where something sits inside a box: the eight compass points and the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gravity {
    Center,
    Top,
    Bottom,
    Left,
    Right,
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

impl Gravity {
    pub const ALL: [Gravity; 9] = [
        Gravity::Center,
        Gravity::Top,
        Gravity::Bottom,
        Gravity::Left,
        Gravity::Right,
        Gravity::TopLeft,
        Gravity::TopRight,
        Gravity::BottomLeft,
        Gravity::BottomRight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Gravity::Center => "center",
            Gravity::Top => "top",
            Gravity::Bottom => "bottom",
            Gravity::Left => "left",
            Gravity::Right => "right",
            Gravity::TopLeft => "top-left",
            Gravity::TopRight => "top-right",
            Gravity::BottomLeft => "bottom-left",
            Gravity::BottomRight => "bottom-right",
        }
    }

    /// Also takes the compass names weserv and imgproxy use (`north`, `se`, ...).
    pub fn parse(value: &str) -> Option<Gravity> {
        Some(match value {
            "center" | "centre" | "ce" => Gravity::Center,
            "top" | "north" | "no" => Gravity::Top,
            "bottom" | "south" | "so" => Gravity::Bottom,
            "left" | "west" | "we" => Gravity::Left,
            "right" | "east" | "ea" => Gravity::Right,
            "top-left" | "northwest" | "nowe" => Gravity::TopLeft,
            "top-right" | "northeast" | "noea" => Gravity::TopRight,
            "bottom-left" | "southwest" | "sowe" => Gravity::BottomLeft,
            "bottom-right" | "southeast" | "soea" => Gravity::BottomRight,
            _ => return None,
        })
    }

    /// The fraction (0, 0.5 or 1) of the free space that goes before the object, per axis.
    pub fn fractions(self) -> (f64, f64) {
        let x = match self {
            Gravity::Left | Gravity::TopLeft | Gravity::BottomLeft => 0.0,
            Gravity::Right | Gravity::TopRight | Gravity::BottomRight => 1.0,
            _ => 0.5,
        };
        let y = match self {
            Gravity::Top | Gravity::TopLeft | Gravity::TopRight => 0.0,
            Gravity::Bottom | Gravity::BottomLeft | Gravity::BottomRight => 1.0,
            _ => 0.5,
        };
        (x, y)
    }

    /// The offset of an `inner`-long object inside `outer`, `margin` kept from the edge it leans to.
    pub fn place(self, outer: (u32, u32), inner: (u32, u32), margin: u32) -> (i64, i64) {
        let (fx, fy) = self.fractions();
        let axis = |outer: u32, inner: u32, f: f64| -> i64 {
            let free = i64::from(outer) - i64::from(inner);
            let m = i64::from(margin);
            if f == 0.0 {
                m
            } else if f == 1.0 {
                free - m
            } else {
                free / 2
            }
        };
        (axis(outer.0, inner.0, fx), axis(outer.1, inner.1, fy))
    }
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

    #[test]
    fn gravity_names_round_trip_and_place() {
        for g in Gravity::ALL {
            assert_eq!(Gravity::parse(g.as_str()), Some(g));
        }
        assert_eq!(Gravity::parse("southeast"), Some(Gravity::BottomRight));
        assert_eq!(Gravity::parse("middle"), None);
        assert_eq!(Gravity::BottomRight.place((100, 50), (10, 10), 5), (85, 35));
        assert_eq!(Gravity::TopLeft.place((100, 50), (10, 10), 5), (5, 5));
        assert_eq!(Gravity::Center.place((100, 50), (10, 10), 5), (45, 20));
    }
}
