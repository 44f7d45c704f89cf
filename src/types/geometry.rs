//! Geometry: sizes, rectangles and compass gravity (where something sits inside a box).

/// A width and a height in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// A rectangle: its top-left corner and its size, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
