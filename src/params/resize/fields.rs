//! `/resize`'s parameter table: one row per parameter, or per group of parameters that make one
//! typed value. The rows are in the order of the canonical form (pinned by `tests/pinned.rs`: it
//! is hashed into every cache key); errors come in parse order, stage by stage (see `Stage`).
//!
//! Adding a parameter: a row here (its names, stage, parser and canonical writer), a default in
//! `Params::defaults`, and a test. `normalised` only if it interacts with another parameter.

use super::delivery::parse_filename;
use super::groups::{self, DPR};
use super::{Draft, Fit, FormatChoice, Params};
use crate::params::field::{Field, Stage};
use crate::params::ops::{background_str, Position};
use crate::params::text::{TextValues, NAMES as TEXT_NAMES};
use crate::params::{ParamError, Source};
use crate::types::{parse_color, EngineChoice, Flip, Gravity, Milli, Rotation, TextSpec};

pub(super) static FIELDS: &[Field<Draft, Params>] = &[
    // Scales `w`, `h` and `pad` into output pixels, so it is parsed before them; not written
    // itself, the sizes it scaled are.
    Field::new(&[DPR], Stage::Layout, |mut a, d, _| {
        d.dpr = a
            .decimal(0, Milli::ONE..=Milli(4000))?
            .unwrap_or(Milli::ONE);
        Ok(())
    }),
    Field::written(
        &["w"],
        Stage::Layout,
        |mut a, d, limits| {
            let max = limits.max_dimension;
            d.params.width = a
                .integer(0, 1..=max)?
                .map(|w| d.scale(a.name(0), w, max))
                .transpose()?;
            Ok(())
        },
        |p, out| {
            if let Some(w) = p.width {
                out.put(w)
            }
        },
    ),
    Field::written(
        &["h"],
        Stage::Layout,
        |mut a, d, limits| {
            let max = limits.max_dimension;
            d.params.height = a
                .integer(0, 1..=max)?
                .map(|h| d.scale(a.name(0), h, max))
                .transpose()?;
            Ok(())
        },
        |p, out| {
            if let Some(h) = p.height {
                out.put(h)
            }
        },
    ),
    Field::written(
        &["fit"],
        Stage::Options,
        |mut a, d, _| {
            a.set(0, &mut d.params.fit, |v, name| {
                Fit::parse(v).ok_or_else(|| {
                    ParamError::invalid(name, "expected inside, cover, contain, fill or outside")
                })
            })
        },
        |p, out| {
            if p.fit != Fit::Inside {
                out.put(p.fit.as_str())
            }
        },
    ),
    Field::written(
        &["pos", "fx", "fy"],
        Stage::Options,
        groups::position,
        |p, out| {
            if p.position != Position::Gravity(Gravity::Center) {
                out.put(p.position.canonical())
            }
        },
    ),
    Field::written(
        &["enlarge"],
        Stage::Options,
        |mut a, d, _| {
            d.params.enlarge = a.flag(0, false)?;
            Ok(())
        },
        |p, out| {
            if p.enlarge {
                out.put(1)
            }
        },
    ),
    Field::written(&["crop"], Stage::Options, groups::crop, |p, out| {
        if let Some(r) = p.crop {
            out.put(format_args!(
                "{},{},{},{}",
                r.left, r.top, r.width, r.height
            ))
        }
    }),
    Field::written(&["trim"], Stage::Options, groups::trim, |p, out| {
        p.trim.map_or((), |t| out.put(t))
    }),
    Field::written(&["pad"], Stage::Layout, groups::padding, |p, out| {
        let pad = p.padding;
        if !pad.is_zero() {
            out.put(format_args!(
                "{},{},{},{}",
                pad.top, pad.right, pad.bottom, pad.left
            ))
        }
    }),
    Field::written(
        &["bg"],
        Stage::Options,
        |mut a, d, _| {
            a.set(0, &mut d.params.background, |v, name| {
                parse_color(v).map(Some).ok_or_else(|| {
                    ParamError::invalid(
                        name,
                        "expected a hex colour: rgb, rgba, rrggbb or rrggbbaa",
                    )
                })
            })
        },
        |p, out| {
            if p.background.is_some() {
                out.put(background_str(p.background))
            }
        },
    ),
    Field::written(
        &["rot"],
        Stage::Options,
        |mut a, d, _| {
            a.set(0, &mut d.params.rotation, |v, name| {
                Rotation::from_degrees(v)
                    .ok_or_else(|| ParamError::invalid(name, "expected 0, 90, 180 or 270"))
            })
        },
        |p, out| {
            if p.rotation != Rotation::None {
                out.put(p.rotation.degrees())
            }
        },
    ),
    Field::written(
        &["flip"],
        Stage::Options,
        |mut a, d, _| {
            a.set(0, &mut d.params.flip, |v, name| {
                Flip::parse(v).ok_or_else(|| ParamError::invalid(name, "expected h, v or hv"))
            })
        },
        |p, out| {
            if p.flip != Flip::default() {
                out.put(p.flip.as_str())
            }
        },
    ),
    Field {
        names: &["blur", "sharpen", "gray"],
        stage: Stage::Options,
        parse: groups::effects,
        // Written as `fx`, which as a query name is the focal point's x.
        canonical: Some(("fx", |p, out| {
            if p.effects != Default::default() {
                out.put(p.effects.canonical())
            }
        })),
    },
    Field::written(&["fm"], Stage::Options, groups::format, |p, out| {
        if p.format != FormatChoice::Source {
            out.put(p.format.as_str())
        }
    }),
    Field::written(
        &["q"],
        Stage::Options,
        |mut a, d, _| {
            d.params.quality = a.integer(0, 1..=100)?.map(|q| q as u8);
            Ok(())
        },
        |p, out| {
            if let Some(q) = p.quality {
                out.put(q)
            }
        },
    ),
    Field::written(
        &["prog"],
        Stage::Options,
        |mut a, d, _| {
            d.params.encoding.progressive = a.flag(0, false)?;
            Ok(())
        },
        |p, out| {
            if p.encoding.progressive {
                out.put(1)
            }
        },
    ),
    Field::written(
        &["palette"],
        Stage::Options,
        |mut a, d, _| {
            d.params.encoding.palette = a.flag(0, false)?;
            Ok(())
        },
        |p, out| {
            if p.encoding.palette {
                out.put(1)
            }
        },
    ),
    Field::written(
        &["lossless"],
        Stage::Options,
        |mut a, d, _| {
            d.params.encoding.lossless = a.flag(0, false)?;
            Ok(())
        },
        |p, out| {
            if p.encoding.lossless {
                out.put(1)
            }
        },
    ),
    Field::written(
        &["anim"],
        Stage::Options,
        |mut a, d, _| {
            d.params.animated = a.flag(0, true)?;
            Ok(())
        },
        |p, out| {
            if !p.animated {
                out.put(0)
            }
        },
    ),
    Field::written(
        &["meta"],
        Stage::Options,
        |mut a, d, _| {
            a.set(0, &mut d.params.keep_metadata, |v, name| match v {
                "strip" => Ok(false),
                "keep" => Ok(true),
                _ => Err(ParamError::invalid(name, "expected strip or keep")),
            })
        },
        |p, out| {
            if p.keep_metadata {
                out.put("keep")
            }
        },
    ),
    // A named engine is kept apart from a sampled one: only a sampled request may fall back.
    Field::written(
        &["engine"],
        Stage::Options,
        |mut a, d, _| {
            a.set(0, &mut d.params.engine, |v, name| match v {
                "vips" => Ok(Some(EngineChoice::Vips)),
                "rust" => Ok(Some(EngineChoice::Rust)),
                _ => Err(ParamError::invalid(name, "expected vips or rust")),
            })
        },
        |p, out| {
            if let Some(engine) = p.engine {
                out.put(engine.as_str())
            }
        },
    ),
    Field::written(
        &TEXT_NAMES,
        Stage::Text,
        |mut a, d, limits| {
            let values = TextValues::take_from(a.query());
            d.params.text = TextSpec::parse(&values, limits)?;
            Ok(())
        },
        |p, out| {
            if let Some(text) = &p.text {
                out.put(text.canonical())
            }
        },
    ),
    Field::written(
        &groups::WATERMARK,
        Stage::Watermark,
        groups::watermark,
        |p, out| {
            if let Some(wm) = &p.watermark {
                out.put(wm.canonical())
            }
        },
    ),
    Field::written(
        &["src"],
        Stage::Subject,
        |mut a, d, _| {
            d.params.src = Source::parse(&a.take(0).ok_or(ParamError::MissingSrc)?)?;
            Ok(())
        },
        |p, out| out.put(p.src.identity()),
    ),
    // Verified (and stripped from the cache key) by `signature` before parsing.
    Field::new(&["sig"], Stage::Subject, |mut a, _, _| {
        a.take(0);
        Ok(())
    }),
    // Presets, expanded by `Query::with_presets`: the name never reaches the fields.
    Field::new(&["p"], Stage::Subject, |_, _, _| Ok(())),
    // How the result is delivered, not what it is: not written (see `delivery`).
    Field::new(&["filename"], Stage::Options, |mut a, d, _| {
        a.set(0, &mut d.params.delivery.filename, |v, name| {
            parse_filename(v, name).map(Some)
        })
    }),
    Field::new(&["dl"], Stage::Options, |mut a, d, _| {
        d.params.delivery.download = a.flag(0, false)?;
        Ok(())
    }),
];
