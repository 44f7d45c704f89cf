//! Client hints and Save-Data (opt-in): a browser that says its device pixel ratio (`Sec-CH-DPR`,
//! `DPR`), the image's display width (`Sec-CH-Width`, `Width`) or its viewport
//! (`Sec-CH-Viewport-Width`, `Viewport-Width`) gets an image sized for it when the URL leaves that
//! open, and `Save-Data: on` gets a lower quality when the URL names none. The hints become query
//! parameters before parsing, rounded **up** into a few buckets, so they reach the cache key like any
//! parameter and cannot explode it (at most 4 ratios, 17 widths). Answers that could follow a hint
//! say `Vary` on it; every image answer says `Accept-CH` so browsers start sending them.

use std::borrow::Cow;

use http::HeaderMap;

use crate::params::Presets;

/// Device pixel ratios a hint is rounded up to (thousandths, as `dpr=` takes them).
pub(super) const DPR_BUCKETS: [(u32, &str); 4] =
    [(1000, "1"), (1500, "1.5"), (2000, "2"), (3000, "3")];
/// Widths (device pixels) a width hint is rounded up to; larger hints get the last.
pub(super) const WIDTH_BUCKETS: [u32; 17] = [
    64, 128, 256, 320, 480, 640, 768, 960, 1080, 1280, 1440, 1600, 1920, 2048, 2560, 3200, 3840,
];

/// `Accept-CH` on image answers when hints are on.
pub(super) const ACCEPT_CH: &str =
    "Sec-CH-DPR, Sec-CH-Width, Sec-CH-Viewport-Width, DPR, Width, Viewport-Width";

/// What the server does with hints.
#[derive(Clone, Copy, Debug)]
pub(super) struct ClientHints {
    /// `--client-hints`: size by DPR and width hints.
    pub(super) sizes: bool,
    /// `--save-data-quality`: the quality for `Save-Data: on`.
    pub(super) save_data_quality: Option<u8>,
}

/// A query with the hints applied, and the request headers the answer varies on for them.
pub(super) struct Hinted<'q> {
    pub(super) query: Cow<'q, str>,
    pub(super) vary: Vec<&'static str>,
}

impl ClientHints {
    /// `query` with the hinted parameters the URL (and its presets) leave open.
    pub(super) fn apply<'q>(
        &self,
        query: &'q str,
        headers: &HeaderMap,
        presets: &Presets,
    ) -> Hinted<'q> {
        let given = Given::of(query, presets);
        let mut extra = String::new();
        let mut vary = Vec::new();
        if self.sizes {
            let dpr = header_number(headers, &["sec-ch-dpr", "dpr"]).map(bucket_dpr);
            let width = header_number(headers, &["sec-ch-width", "width"]);
            let viewport = header_number(headers, &["sec-ch-viewport-width", "viewport-width"]);
            if !given.w && !given.h {
                vary.extend([
                    "Sec-CH-Width",
                    "Width",
                    "Sec-CH-Viewport-Width",
                    "Viewport-Width",
                ]);
                // Width is in device pixels already; a viewport is in CSS pixels.
                let device = width.or_else(|| {
                    viewport.map(|v| v * dpr.map_or(1.0, |(milli, _)| f64::from(milli) / 1000.0))
                });
                if let Some(device) = device {
                    extra.push_str(&format!("&w={}", bucket_width(device)));
                }
            }
            if !given.dpr && (given.w || given.h) {
                vary.extend(["Sec-CH-DPR", "DPR"]);
                if let Some((_, text)) = dpr.filter(|(milli, _)| *milli > 1000) {
                    extra.push_str(&format!("&dpr={text}"));
                }
            }
        }
        if let Some(quality) = self.save_data_quality.filter(|_| !given.q) {
            vary.push("Save-Data");
            let on = headers
                .get("save-data")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("on"));
            if on {
                extra.push_str(&format!("&q={quality}"));
            }
        }
        let query = if extra.is_empty() {
            Cow::Borrowed(query)
        } else if query.is_empty() {
            Cow::Owned(extra[1..].to_owned())
        } else {
            Cow::Owned(format!("{query}{extra}"))
        };
        Hinted { query, vary }
    }
}

/// Which of the hinted parameters the URL or its presets set.
#[derive(Default)]
struct Given {
    w: bool,
    h: bool,
    dpr: bool,
    q: bool,
}

impl Given {
    fn of(query: &str, presets: &Presets) -> Given {
        let mut given = Given::default();
        let mut preset_names = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "w" => given.w = true,
                "h" => given.h = true,
                "dpr" => given.dpr = true,
                "q" => given.q = true,
                "p" => preset_names.push(value.into_owned()),
                _ => {}
            }
        }
        for names in &preset_names {
            given.w |= presets.set_by(names, "w");
            given.h |= presets.set_by(names, "h");
            given.dpr |= presets.set_by(names, "dpr");
            given.q |= presets.set_by(names, "q");
        }
        given
    }
}

/// The first of `names` present, as a positive finite number.
fn header_number(headers: &HeaderMap, names: &[&str]) -> Option<f64> {
    names.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite() && *n > 0.0)
    })
}

fn bucket_dpr(dpr: f64) -> (u32, &'static str) {
    DPR_BUCKETS
        .iter()
        .find(|(milli, _)| dpr * 1000.0 <= f64::from(*milli) + 0.5)
        .copied()
        .unwrap_or(DPR_BUCKETS[DPR_BUCKETS.len() - 1])
}

fn bucket_width(width: f64) -> u32 {
    WIDTH_BUCKETS
        .iter()
        .copied()
        .find(|bucket| width <= f64::from(*bucket))
        .unwrap_or(WIDTH_BUCKETS[WIDTH_BUCKETS.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn hinted(query: &str, pairs: &[(&'static str, &'static str)]) -> (String, Vec<&'static str>) {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        let presets = Presets::parse(["wide=w=800", "sharp=dpr=2"]).expect("presets");
        let hints = ClientHints {
            sizes: true,
            save_data_quality: Some(50),
        };
        let out = hints.apply(query, &headers, &presets);
        (out.query.into_owned(), out.vary)
    }

    #[test]
    fn hints_fill_only_what_the_url_leaves_open_rounded_up() {
        assert_eq!(
            hinted("src=a.jpg&w=300", &[("sec-ch-dpr", "1.25")]).0,
            "src=a.jpg&w=300&dpr=1.5"
        );
        assert_eq!(
            hinted("src=a.jpg&w=300", &[("dpr", "7")]).0,
            "src=a.jpg&w=300&dpr=3"
        );
        assert_eq!(
            hinted("src=a.jpg&w=300", &[("dpr", "1")]).0,
            "src=a.jpg&w=300"
        );
        assert_eq!(
            hinted("src=a.jpg&w=300&dpr=2", &[("dpr", "3")]).0,
            "src=a.jpg&w=300&dpr=2"
        );
        assert_eq!(
            hinted("src=a.jpg", &[("sec-ch-width", "701")]).0,
            "src=a.jpg&w=768"
        );
        assert_eq!(
            hinted("src=a.jpg", &[("width", "99999")]).0,
            "src=a.jpg&w=3840"
        );
        assert_eq!(
            hinted("src=a.jpg", &[("viewport-width", "400"), ("dpr", "2")]).0,
            "src=a.jpg&w=960"
        );
        assert_eq!(
            hinted("src=a.jpg&p=wide", &[("width", "300"), ("dpr", "2")]).0,
            "src=a.jpg&p=wide&dpr=2"
        );
        assert_eq!(
            hinted("src=a.jpg&w=10&p=sharp", &[("dpr", "3")]).0,
            "src=a.jpg&w=10&p=sharp"
        );
        for junk in ["-2", "NaN", "inf", "0", "abc"] {
            assert_eq!(
                hinted("src=a.jpg&w=300", &[("dpr", junk)]).0,
                "src=a.jpg&w=300",
                "{junk}"
            );
        }
    }

    #[test]
    fn save_data_lowers_the_quality_unless_the_url_names_one() {
        assert_eq!(
            hinted("src=a.jpg&w=1", &[("save-data", "on")]).0,
            "src=a.jpg&w=1&q=50"
        );
        assert_eq!(
            hinted("src=a.jpg&w=1&q=90", &[("save-data", "on")]).0,
            "src=a.jpg&w=1&q=90"
        );
        assert_eq!(
            hinted("src=a.jpg&w=1", &[("save-data", "off")]).0,
            "src=a.jpg&w=1"
        );
        let (_, vary) = hinted("src=a.jpg&w=1", &[]);
        assert_eq!(vary, ["Sec-CH-DPR", "DPR", "Save-Data"]);
    }
}
