//! The query of `GET /info`: `src` (the same rules as `/resize`) and the BlurHash component counts
//! `bhx`, `bhy`. Pure, like the rest of `params`; the canonical form goes into the cache key.

use std::sync::LazyLock;

use super::field::{self, Field, Stage};
use super::query::Query;
use super::{ParamError, ParamLimits, Source};
use crate::placeholder::Components;

/// The table, worked out once.
static PARSING: LazyLock<field::Parsing<InfoParams, InfoParams>> =
    LazyLock::new(|| field::Parsing::of(FIELDS));

/// A validated `/info` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoParams {
    pub src: Source,
    /// BlurHash components; 4×3 unless `bhx`/`bhy` say otherwise.
    pub blurhash: Components,
}

/// `/info`'s parameters, in canonical order. `sig` is verified (and allowed) before parsing, as
/// for `/resize`.
static FIELDS: &[Field<InfoParams, InfoParams>] = &[
    Field::written(
        &["bhx"],
        Stage::Options,
        |mut a, p, _| {
            let x = components(&mut a, p.blurhash.x())?;
            // Cannot fail: both counts are 1 to 9.
            p.blurhash = Components::new(x, p.blurhash.y()).ok_or_else(|| a.invalid(0, RANGE))?;
            Ok(())
        },
        |p, out| out.put(p.blurhash.x()),
    ),
    Field::written(
        &["bhy"],
        Stage::Options,
        |mut a, p, _| {
            let y = components(&mut a, p.blurhash.y())?;
            p.blurhash = Components::new(p.blurhash.x(), y).ok_or_else(|| a.invalid(0, RANGE))?;
            Ok(())
        },
        |p, out| out.put(p.blurhash.y()),
    ),
    Field::written(
        &["src"],
        Stage::Subject,
        |mut a, p, _| {
            p.src = Source::parse(&a.take(0).ok_or(ParamError::MissingSrc)?)?;
            Ok(())
        },
        |p, out| out.put(p.src.identity()),
    ),
    Field::new(&["sig"], Stage::Subject, |mut a, _, _| {
        a.take(0);
        Ok(())
    }),
];

const RANGE: &str = "expected an integer from 1 to 9";

impl InfoParams {
    /// Parses a raw (still percent-encoded) query string.
    pub fn parse(query: &str) -> Result<InfoParams, ParamError> {
        let mut q = Query::plain(query, |name| PARSING.known(name))?;
        let mut params = InfoParams {
            // Replaced by the `src` field, which runs first and refuses a query without one.
            src: Source::placeholder(),
            blurhash: Components::DEFAULT,
        };
        field::parse(&PARSING, &mut q, &mut params, &ParamLimits::default())?;
        Ok(params)
    }

    /// Defaults applied, fixed order, `src` last: what the cache key hashes.
    pub fn canonical(&self) -> String {
        field::canonical_joined(FIELDS, self)
    }
}

/// A component count, 1 to 9; absent, `current`.
fn components(a: &mut field::Args<'_>, current: u8) -> Result<u8, ParamError> {
    let mut n = current;
    a.set(0, &mut n, |v, name| match super::plain_number::<u8>(v) {
        Some(n @ 1..=9) => Ok(n),
        _ => Err(ParamError::invalid(name, RANGE)),
    })?;
    Ok(n)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_listed_once() {
        field::assert_names_unique(FIELDS);
    }

    #[test]
    fn defaults_and_canonical_form() {
        let p = InfoParams::parse("src=a.jpg").expect("valid");
        assert_eq!(p.blurhash, Components::DEFAULT);
        let explicit = InfoParams::parse("bhy=3&src=a.jpg&bhx=4").expect("valid");
        assert_eq!(p.canonical(), explicit.canonical());
        let other = InfoParams::parse("src=a.jpg&bhx=5").expect("valid");
        assert_ne!(p.canonical(), other.canonical());
        assert_eq!(other.blurhash, Components::new(5, 3).expect("valid"));
    }

    #[test]
    fn component_counts_are_bounded_and_named() {
        for bad in ["0", "10", "-1", "", "4.0", "x", "999"] {
            for name in ["bhx", "bhy"] {
                let err = InfoParams::parse(&format!("src=a.jpg&{name}={bad}")).expect_err(bad);
                assert!(
                    matches!(err, ParamError::Invalid { name: n, .. } if n == name),
                    "{name}={bad}: {err:?}"
                );
            }
        }
        assert!(InfoParams::parse("src=a.jpg&bhx=1&bhy=9").is_ok());
    }

    #[test]
    fn resize_parameters_and_unknown_ones_are_refused_by_name() {
        let err = InfoParams::parse("src=a.jpg&w=300&zoom=2").expect_err("unknown");
        assert_eq!(err.to_string(), "unknown parameter(s): w, zoom");
        assert_eq!(
            InfoParams::parse("src=a.jpg&src=b.jpg"),
            Err(ParamError::Repeated("src".into()))
        );
        assert_eq!(InfoParams::parse("bhx=3"), Err(ParamError::MissingSrc));
        assert!(matches!(
            InfoParams::parse("src=../etc/passwd"),
            Err(ParamError::Invalid { name: "src", .. })
        ));
    }
}
