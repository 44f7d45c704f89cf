//! How the result is handed to the browser, not what it looks like: `filename=` (the name a
//! "Save as" or a download offers) and `dl=1` (download instead of showing). Neither changes the
//! bytes, so neither is part of the canonical form: every name of one rendition shares its cache
//! entry, and the `Content-Disposition` header is written per response.

use crate::params::ParamError;

/// Longest `filename=` accepted, in characters (before the extension is added).
pub const MAX_FILENAME_CHARS: usize = 100;

/// `filename=` and `dl=`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// The name without a path, as given (its image extension is replaced by the output's).
    pub filename: Option<String>,
    /// `dl=1`: `Content-Disposition: attachment` (the browser downloads instead of showing).
    pub download: bool,
}

/// A `filename=` value: 1 to [`MAX_FILENAME_CHARS`] characters of any script, none of them a
/// control character, a path separator or a quote, and not only dots and spaces.
pub(super) fn parse_filename(value: &str, name: &'static str) -> Result<String, ParamError> {
    let refuse = |reason: &str| ParamError::invalid(name, reason);
    let chars = value.chars().count();
    if chars == 0 || chars > MAX_FILENAME_CHARS {
        return Err(refuse("must be 1 to 100 characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() || matches!(c, '/' | '\\' | '"'))
    {
        return Err(refuse(
            "must not contain control characters, slashes, backslashes or quotes",
        ));
    }
    if value.chars().all(|c| c == '.' || c.is_whitespace()) {
        return Err(refuse(
            "must contain a character other than dots and spaces",
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_any_script_are_kept() {
        for good in [
            "photo",
            "IMG_0042.JPG",
            "été à Paris",
            "写真",
            "a.b.c",
            "-x-",
        ] {
            assert_eq!(
                parse_filename(good, "filename"),
                Ok(good.to_owned()),
                "{good}"
            );
        }
    }

    #[test]
    fn paths_quotes_controls_and_empty_names_are_refused() {
        let long = "x".repeat(MAX_FILENAME_CHARS + 1);
        for bad in [
            "",
            "a/b",
            "..\\x",
            "a\"b",
            "a\r\nSet-Cookie: x",
            "tab\tx",
            "..",
            " . ",
            &long,
        ] {
            assert!(parse_filename(bad, "filename").is_err(), "{bad:?}");
        }
        assert!(parse_filename(&"é".repeat(MAX_FILENAME_CHARS), "filename").is_ok());
    }
}
