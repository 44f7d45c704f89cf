//! Paragraph directions as Pango finds them, so text alignment can be made absolute. Pango lays out
//! each paragraph (text between line breaks) in the direction of its first strong character and,
//! with libvips' settings (auto-dir on, which `vips_text` does not let us change), flips the
//! alignment of right-to-left paragraphs: "right" puts an Arabic line at the left edge.
//! [`direction_runs`] splits a text into runs of paragraphs Pango gives one direction, so each
//! run can be rendered with the alignment that lands where the caller asked.

/// A paragraph's base direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Direction {
    Ltr,
    Rtl,
}

/// The blocks of the right-to-left scripts: Hebrew to Arabic Extended-A (Syriac, Thaana, NKo,
/// Samaritan, Mandaic between), the Hebrew and Arabic presentation forms, and plane 1's
/// right-to-left areas (Phoenician to Elymaic; Mende Kikakui, Adlam, Arabic mathematical letters).
const RTL_BLOCKS: [(u32, u32); 5] = [
    (0x0590, 0x08FF),
    (0xFB1D, 0xFDFF),
    (0xFE70, 0xFEFF),
    (0x10800, 0x10FFF),
    (0x1E800, 0x1EFFF),
];

/// The direction a character gives its paragraph when it is the first strong one; `None` for
/// neutral and weak characters (digits, punctuation, spaces, most marks). Letters stand for the
/// strong class: a letter of a right-to-left block is right-to-left, any other letter
/// left-to-right; the marks LRM, RLM and ALM count as theirs.
fn strong(c: char) -> Option<Direction> {
    match c {
        '\u{200E}' => Some(Direction::Ltr),
        '\u{200F}' | '\u{061C}' => Some(Direction::Rtl),
        c if c.is_alphabetic() => {
            let code = u32::from(c);
            let rtl = RTL_BLOCKS.iter().any(|&(lo, hi)| (lo..=hi).contains(&code));
            Some(if rtl { Direction::Rtl } else { Direction::Ltr })
        }
        _ => None,
    }
}

/// The direction of the first strong character of `paragraph`, if it has one.
fn paragraph_direction(paragraph: &str) -> Option<Direction> {
    paragraph.chars().find_map(strong)
}

/// Splits `text` at its line breaks (`\n`, `\r`, `\r\n`, as Pango does) into runs of consecutive
/// paragraphs of one direction, each run without the break that ends it. A paragraph without a
/// strong character takes the direction of the one before (Pango's rule), the first ones
/// left-to-right (the context's). A run with no visible character (blank lines) is merged into the
/// next one, where its lines keep their height and need no alignment.
pub(super) fn direction_runs(text: &str) -> Vec<(&str, Direction)> {
    let mut runs: Vec<(usize, usize, Direction)> = Vec::new();
    let mut current = Direction::Ltr;
    let mut start = 0;
    while start <= text.len() {
        let rest = &text[start..];
        let end = rest.find(['\n', '\r']).map_or(text.len(), |i| start + i);
        let next = if text[end..].starts_with("\r\n") {
            end + 2
        } else {
            end + 1
        };
        current = paragraph_direction(&text[start..end]).unwrap_or(current);
        match runs.last_mut() {
            Some((_, run_end, direction)) if *direction == current => *run_end = end,
            Some((run_start, run_end, direction))
                if text[*run_start..*run_end].trim().is_empty() =>
            {
                *run_end = end;
                *direction = current;
            }
            _ => runs.push((start, end, current)),
        }
        start = next;
    }
    runs.into_iter()
        .map(|(start, end, direction)| (&text[start..end], direction))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{Ltr, Rtl};

    #[test]
    fn the_first_strong_character_decides() {
        assert_eq!(paragraph_direction("Hello"), Some(Ltr));
        assert_eq!(paragraph_direction("123 مرحبا"), Some(Rtl));
        assert_eq!(paragraph_direction("«שלום» world"), Some(Rtl));
        assert_eq!(paragraph_direction("你好 مرحبا"), Some(Ltr));
        assert_eq!(paragraph_direction("\u{200F}Hello"), Some(Rtl));
        assert_eq!(paragraph_direction("123 !?"), None);
    }

    #[test]
    fn paragraphs_group_into_runs_of_one_direction() {
        assert_eq!(direction_runs("Hello\nworld"), vec![("Hello\nworld", Ltr)]);
        assert_eq!(
            direction_runs("مرحبا\nبالعالم"),
            vec![("مرحبا\nبالعالم", Rtl)]
        );
        assert_eq!(
            direction_runs("Sale\r\nتخفيض\n50%\nEnd"),
            vec![("Sale", Ltr), ("تخفيض\n50%", Rtl), ("End", Ltr)]
        );
        // Neutral first paragraphs are left-to-right; blank ones join the next run.
        assert_eq!(
            direction_runs("123\nمرحبا"),
            vec![("123", Ltr), ("مرحبا", Rtl)]
        );
        assert_eq!(direction_runs("\n \nمرحبا\n"), vec![("\n \nمرحبا\n", Rtl)]);
    }
}
