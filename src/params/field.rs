//! The shape of a route's parameter table: one [`Field`] per parameter (or per group of parameters
//! that make one typed value, such as `pos`/`fx`/`fy`), saying which query names it reads, how they
//! are parsed into the route's typed struct and how that value is written into the canonical form.
//!
//! A route's known names, its parse and its canonical form all walk the same table, so adding a
//! parameter is one entry (plus its parser and its test). Two orders matter and they differ: the
//! *table order* is the order of the canonical form (pinned: it is hashed into cache keys), while
//! errors are reported in *parse order*: stage by stage ([`Stage`]), table order within a stage.

use std::fmt::{Display, Write};

use super::query::Query;
use super::{ParamError, ParamLimits};

/// When a field is parsed. The subject of a request is checked first but written last (it is the
/// one free-form value), and some values depend on others, so parsing goes stage by stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// What the request is about (`src`; `txt` for `/text`), and what the query layer has already
    /// handled (`sig`, `p`): a missing or broken subject is reported before anything else.
    Subject,
    /// Values that stand alone.
    Options,
    /// Values whose bounds or defaults follow earlier ones: `dpr` and the sizes it scales; a
    /// text's wrap width, its alignment (which follows its position) and its box.
    Layout,
    /// `/resize`'s watermark.
    Watermark,
    /// `/resize`'s text.
    Text,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Subject,
        Stage::Options,
        Stage::Layout,
        Stage::Watermark,
        Stage::Text,
    ];
}

/// Parses a field's values (taken through [`Args`]) into the route's draft `D`.
pub(crate) type Parse<D> = fn(Args<'_>, &mut D, &ParamLimits) -> Result<(), ParamError>;
/// Writes a field of the finished value `T` into the canonical form, or nothing at its default.
pub(crate) type Canonical<T> = fn(&T, Put<'_>);

/// One row of a route's parameter table.
pub(crate) struct Field<D: 'static, T: 'static> {
    /// The query names this field reads; errors name them, `Args` takes them by index.
    pub names: &'static [&'static str],
    pub stage: Stage,
    pub parse: Parse<D>,
    /// The key and writer of this field in the canonical form; `None` for what does not change the
    /// output or is folded into another field (`sig`, `p`, `dpr`).
    pub canonical: Option<(&'static str, Canonical<T>)>,
}

impl<D, T> Field<D, T> {
    /// A field that is not written into the canonical form (or not on its own).
    pub(crate) const fn new(names: &'static [&'static str], stage: Stage, parse: Parse<D>) -> Self {
        Field {
            names,
            stage,
            parse,
            canonical: None,
        }
    }

    /// A field written into the canonical form by `write`, keyed by its first name.
    pub(crate) const fn written(
        names: &'static [&'static str],
        stage: Stage,
        parse: Parse<D>,
        write: Canonical<T>,
    ) -> Self {
        Field {
            names,
            stage,
            parse,
            canonical: Some((names[0], write)),
        }
    }
}

/// The values of one field's names, taken out of the query (so a value is parsed once).
pub(crate) struct Args<'q> {
    query: &'q mut Query,
    names: &'static [&'static str],
}

impl Args<'_> {
    /// The `i`th name of the field.
    pub(super) fn name(&self, i: usize) -> &'static str {
        self.names[i]
    }

    pub(super) fn take(&mut self, i: usize) -> Option<String> {
        self.query.take(self.names[i])
    }

    pub(super) fn invalid(&self, i: usize, reason: impl Into<String>) -> ParamError {
        ParamError::invalid(self.names[i], reason)
    }

    /// `0`/`false` or `1`/`true`; absent is `default`.
    pub(super) fn flag(&mut self, i: usize, default: bool) -> Result<bool, ParamError> {
        self.query.flag(self.names[i], default)
    }

    /// An integer in `range`.
    pub(super) fn integer(
        &mut self,
        i: usize,
        range: std::ops::RangeInclusive<u32>,
    ) -> Result<Option<u32>, ParamError> {
        self.query.integer(self.names[i], range)
    }

    /// A plain decimal in `range` (thousandths).
    pub(super) fn decimal(
        &mut self,
        i: usize,
        range: std::ops::RangeInclusive<crate::types::Milli>,
    ) -> Result<Option<crate::types::Milli>, ParamError> {
        self.query.decimal(self.names[i], range)
    }

    /// Parses the `i`th value (given its name, for errors) into `slot` when it is given; absent,
    /// `slot` keeps its default.
    pub(super) fn set<V>(
        &mut self,
        i: usize,
        slot: &mut V,
        parse: impl FnOnce(&str, &'static str) -> Result<V, ParamError>,
    ) -> Result<(), ParamError> {
        if let Some(value) = self.take(i) {
            *slot = parse(&value, self.names[i])?;
        }
        Ok(())
    }

    /// The query itself, for a field that reads another table's names (the `txt*` group).
    pub(super) fn query(&mut self) -> &mut Query {
        self.query
    }
}

/// Where one field writes its part of the canonical form; used at most once.
pub(crate) struct Put<'a> {
    out: &'a mut String,
    key: &'static str,
}

impl Put<'_> {
    /// Writes `key=value&`.
    pub(super) fn put(self, value: impl Display) {
        // Writing to a String cannot fail.
        let _ = write!(self.out, "{}={value}&", self.key);
    }

    /// Writes `value&`, for a value that is itself a list of `key=value` pairs.
    pub(super) fn inline(self, value: impl Display) {
        let _ = write!(self.out, "{value}&");
    }
}

/// A table's rows in parse order: stage by stage, table order within a stage.
pub(crate) fn parse_order<E>(table: &[E], stage: fn(&E) -> Stage) -> impl Iterator<Item = &E> {
    Stage::ALL
        .into_iter()
        .flat_map(move |s| table.iter().filter(move |e| stage(e) == s))
}

/// What a route works out from its table once and keeps (in a `LazyLock`): the rows in parse
/// order and every name, the subject's first. Working these out on each request cost more than
/// the parsing itself on the hit path.
pub(crate) struct Parsing<D: 'static, T: 'static> {
    order: Vec<&'static Field<D, T>>,
    names: Vec<&'static str>,
}

impl<D, T> Parsing<D, T> {
    pub(crate) fn of(table: &'static [Field<D, T>]) -> Self {
        let order: Vec<&'static Field<D, T>> = parse_order(table, |f| f.stage).collect();
        let names = order
            .iter()
            .flat_map(|field| field.names)
            .copied()
            .collect();
        Parsing { order, names }
    }

    /// The table's name equal to `name`, if any (what [`Query`] keeps instead of the request's
    /// copy).
    pub(crate) fn known(&self, name: &str) -> Option<&'static str> {
        self.names.iter().find(|known| **known == name).copied()
    }
}

/// Runs every field's parser in parse order; the first error wins. A value that no field took
/// means a name is known but unparsed: a programming error, refused rather than ignored.
pub(crate) fn parse<D, T>(
    parsing: &Parsing<D, T>,
    query: &mut Query,
    draft: &mut D,
    limits: &ParamLimits,
) -> Result<(), ParamError> {
    for field in &parsing.order {
        let args = Args {
            query: &mut *query,
            names: field.names,
        };
        (field.parse)(args, draft, limits)?;
    }
    match query.leftover() {
        Some(name) => Err(ParamError::invalid(name, "not valid on this endpoint")),
        None => Ok(()),
    }
}

/// The canonical form of `value`: every field's `key=value&`, in table order.
pub(crate) fn canonical<D, T>(table: &[Field<D, T>], value: &T) -> String {
    let mut out = String::with_capacity(64);
    for field in table {
        if let Some((key, write)) = field.canonical {
            write(value, Put { out: &mut out, key });
        }
    }
    out
}

/// [`canonical`] without the last `&`, for the routes whose form has none.
pub(crate) fn canonical_joined<D, T>(table: &[Field<D, T>], value: &T) -> String {
    let mut out = canonical(table, value);
    out.pop();
    out
}

/// Every name at most once in a table: the invariant `known` relies on.
#[cfg(test)]
pub(crate) fn assert_names_unique<D, T>(table: &[Field<D, T>]) {
    let names: Vec<&str> = table.iter().flat_map(|f| f.names).copied().collect();
    for (i, name) in names.iter().enumerate() {
        assert!(!names[..i].contains(name), "'{name}' is listed twice");
    }
}
