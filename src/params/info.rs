//! The query of `GET /info`: `src` (the same rules as `/resize`) and the BlurHash component counts
//! `bhx`, `bhy`. Pure, like the rest of `params`; the canonical form goes into the cache key.

use super::query::named_slots;
use super::{ParamError, Source};
use crate::placeholder::Components;

/// A validated `/info` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoParams {
    pub src: Source,
    /// BlurHash components; 4×3 unless `bhx`/`bhy` say otherwise.
    pub blurhash: Components,
}

/// `sig` is verified (and allowed) before parsing, as for `/resize`.
const KNOWN: [&str; 4] = ["src", "bhx", "bhy", "sig"];

impl InfoParams {
    /// Parses a raw (still percent-encoded) query string.
    pub fn parse(query: &str) -> Result<InfoParams, ParamError> {
        let [src, bhx, bhy, _sig] = named_slots(query, &KNOWN, |_, _| Ok(false))?;
        let src = Source::parse(&src.ok_or(ParamError::MissingSrc)?)?;
        let x = components("bhx", bhx.as_deref(), Components::DEFAULT.x())?;
        let y = components("bhy", bhy.as_deref(), Components::DEFAULT.y())?;
        let blurhash = Components::new(x, y)
            .ok_or_else(|| ParamError::invalid("bhx", "expected an integer from 1 to 9"))?;
        Ok(InfoParams { src, blurhash })
    }

    /// Defaults applied, fixed order, `src` last: what the cache key hashes.
    pub fn canonical(&self) -> String {
        format!(
            "bhx={}&bhy={}&src={}",
            self.blurhash.x(),
            self.blurhash.y(),
            self.src.identity()
        )
    }
}

fn components(name: &'static str, value: Option<&str>, default: u8) -> Result<u8, ParamError> {
    match value.map(str::parse::<u8>) {
        None => Ok(default),
        Some(Ok(n @ 1..=9)) => Ok(n),
        Some(_) => Err(ParamError::invalid(name, "expected an integer from 1 to 9")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
