//! The raw query string as name -> value pairs, and named presets that expand into such pairs.
//!
//! Presets come first and the request's own parameters override them (imgproxy's rule), so
//! `p=thumb&w=300` is the thumb preset at width 300. With `presets_only`, a request may name
//! nothing but `src`, `p`, `sig` and the delivery names `filename` and `dl`: an operator can then
//! allow exactly the renditions their pages use.

use std::collections::BTreeMap;

use super::{resize, ParamError};

/// Parameters a request may give when only presets are allowed: the subject, the presets, the
/// signature, and how the result is delivered (`filename`, `dl`), which makes no new rendition.
const ALWAYS_ALLOWED: &[&str] = &["src", "p", "sig", "filename", "dl"];

/// Sets `name` to `value`, replacing an earlier value.
fn set(values: &mut Vec<(&'static str, String)>, name: &'static str, value: String) {
    match values.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => values.push((name, value)),
    }
}

/// Named parameter sets, validated once at start-up.
#[derive(Clone, Debug, Default)]
pub struct Presets(BTreeMap<String, Vec<(&'static str, String)>>);

impl Presets {
    /// Parses `name=query` definitions. A preset may not set `src`, `p`, `sig` or `engine`.
    pub fn parse<'a>(definitions: impl IntoIterator<Item = &'a str>) -> Result<Presets, String> {
        let mut presets = BTreeMap::new();
        for definition in definitions {
            let (name, query) = definition
                .split_once('=')
                .ok_or_else(|| format!("preset '{definition}' is not name=query"))?;
            let valid_name = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_name {
                return Err(format!(
                    "preset name '{name}' must be 1-64 of [A-Za-z0-9_-]"
                ));
            }
            let pairs =
                Query::pairs(query, resize::known).map_err(|e| format!("preset '{name}': {e}"))?;
            if let Some((bad, _)) = pairs
                .iter()
                .find(|(n, _)| matches!(*n, "src" | "p" | "sig" | "engine"))
            {
                return Err(format!("preset '{name}' may not set '{bad}'"));
            }
            if presets.insert(name.to_string(), pairs).is_some() {
                return Err(format!("preset '{name}' is defined twice"));
            }
        }
        Ok(Presets(presets))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether any of the comma-separated `names` sets `parameter` (unknown names set nothing).
    pub fn set_by(&self, names: &str, parameter: &str) -> bool {
        names
            .split(',')
            .filter_map(|name| self.0.get(name))
            .any(|pairs| pairs.iter().any(|(n, _)| *n == parameter))
    }
}

/// The request's parameters by name, each at most once.
///
/// NOTE(perf): a short list, not a map: a request names a handful of parameters and the parser asks
/// for each of the ~45 known ones, so `take` is a scan of what is left (nothing, once the few given
/// have been taken). Parsing is on the hit path.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    values: Vec<(&'static str, String)>,
}

impl Query {
    /// Splits and decodes a raw query string; `known` gives the route's spelling of a name it
    /// knows. Repeated names are refused at once, unknown ones together.
    pub(crate) fn pairs(
        query: &str,
        known: impl Fn(&str) -> Option<&'static str>,
    ) -> Result<Vec<(&'static str, String)>, ParamError> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match known(&name) {
                Some(known) if pairs.iter().any(|(n, _)| *n == known) => {
                    return Err(ParamError::Repeated(name.into()))
                }
                Some(known) => pairs.push((known, value.into_owned())),
                None if !unknown.iter().any(|u| *u == name) => unknown.push(name.into_owned()),
                None => {}
            }
        }
        if unknown.is_empty() {
            Ok(pairs)
        } else {
            Err(ParamError::Unknown(unknown))
        }
    }

    /// The request's parameters, none of them a preset.
    pub(crate) fn plain(
        query: &str,
        known: impl Fn(&str) -> Option<&'static str>,
    ) -> Result<Query, ParamError> {
        Ok(Query {
            values: Query::pairs(query, known)?,
        })
    }

    /// `/resize`'s parameters with its presets (`p=a,b`) expanded underneath them.
    pub(crate) fn with_presets(
        query: &str,
        presets: &Presets,
        presets_only: bool,
    ) -> Result<Query, ParamError> {
        let own = Query::pairs(query, resize::known)?;
        if presets_only {
            if let Some((name, _)) = own.iter().find(|(n, _)| !ALWAYS_ALLOWED.contains(n)) {
                return Err(ParamError::Invalid {
                    name,
                    reason: "only presets (p=) are allowed on this server".into(),
                });
            }
        }
        let Some((_, names)) = own.iter().find(|(n, _)| *n == "p") else {
            return Ok(Query { values: own });
        };
        let mut values: Vec<(&'static str, String)> = Vec::new();
        for name in names.split(',') {
            let preset = presets.0.get(name).ok_or_else(|| ParamError::Invalid {
                name: "p",
                reason: format!("no preset named '{name}'"),
            })?;
            for (key, value) in preset {
                set(&mut values, key, value.clone());
            }
        }
        for (name, value) in own {
            if name != "p" {
                set(&mut values, name, value);
            }
        }
        Ok(Query { values })
    }

    /// Adds a value that the query must not have yet (the `txt*` values gathered one by one).
    pub(crate) fn insert(&mut self, name: &'static str, value: String) -> Result<(), ParamError> {
        if self.has(name) {
            return Err(ParamError::Repeated(name.to_string()));
        }
        self.values.push((name, value));
        Ok(())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }

    pub(crate) fn take(&mut self, name: &'static str) -> Option<String> {
        let i = self.values.iter().position(|(n, _)| *n == name)?;
        Some(self.values.swap_remove(i).1)
    }

    /// `0`/`false` or `1`/`true`; absent is `default`.
    pub(crate) fn flag(&mut self, name: &'static str, default: bool) -> Result<bool, ParamError> {
        match self.take(name).as_deref() {
            None => Ok(default),
            Some("0") | Some("false") => Ok(false),
            Some("1") | Some("true") => Ok(true),
            Some(_) => Err(ParamError::invalid(name, "expected 0 or 1")),
        }
    }

    /// An integer in `range`.
    pub(crate) fn integer(
        &mut self,
        name: &'static str,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Option<u32>, ParamError> {
        self.take(name)
            .map(|v| match super::plain_number::<u32>(&v) {
                Some(n) if range.contains(&n) => Ok(n),
                _ => Err(ParamError::invalid(
                    name,
                    format!(
                        "expected an integer from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            })
            .transpose()
    }

    /// A plain decimal in `range` (thousandths).
    pub(crate) fn decimal(
        &mut self,
        name: &'static str,
        range: std::ops::RangeInclusive<crate::types::Milli>,
    ) -> Result<Option<crate::types::Milli>, ParamError> {
        self.take(name)
            .map(|v| match crate::types::Milli::parse(&v) {
                Some(n) if range.contains(&n) => Ok(n),
                _ => Err(ParamError::invalid(
                    name,
                    format!(
                        "expected a number from {} to {}",
                        range.start(),
                        range.end()
                    ),
                )),
            })
            .transpose()
    }

    /// What no parser took: a programming error if a known name is left over.
    pub(crate) fn leftover(&self) -> Option<&'static str> {
        self.values.first().map(|(name, _)| *name)
    }
}
