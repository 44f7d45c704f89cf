//! What a source's origin allows about caching what is made from it, carried from the fetch to the
//! result and its response: whether shared caches may keep it, for how long, when it last changed,
//! and the origin's own `Cache-Control` (for `--cache-control-passthrough`).

use std::time::{Duration, SystemTime};

/// Who may keep a copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Store {
    /// Any cache (ours, a CDN's, a browser's).
    #[default]
    Public,
    /// Only the browser (`Cache-Control: private`): no cache of ours, no CDN.
    Private,
    /// Nobody (`no-store`).
    NoStore,
}

/// The caching rules of one result.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caching {
    pub store: Store,
    /// How long from `since` the origin lets a copy be reused (`s-maxage`, `max-age` or
    /// `Expires`); `None` when it said nothing.
    pub max_age: Option<Duration>,
    /// When `max_age` started counting (the fetch, or the origin's revalidation).
    pub since: Option<std::time::Instant>,
    /// The source's `Last-Modified` (a local file's modification time).
    pub last_modified: Option<SystemTime>,
    /// The origin's `Cache-Control`, verbatim.
    pub cache_control: Option<String>,
}

impl Caching {
    /// Whether a cache of ours (or a CDN) may keep the result.
    pub fn shared(&self) -> bool {
        self.store == Store::Public
    }

    /// What is left of the origin's lifetime now; `None` when it gave none.
    pub fn remaining(&self) -> Option<Duration> {
        let age = self.since.map_or(Duration::ZERO, |since| since.elapsed());
        self.max_age.map(|max| max.saturating_sub(age))
    }

    /// The rules of a result made from two sources (an image and its watermark): the stricter
    /// store, the shorter lifetime, the later change, and no verbatim header (there are two).
    pub fn combine(self, other: &Caching) -> Caching {
        let lifetime = |c: &Caching| c.remaining();
        let max_age = match (lifetime(&self), lifetime(other)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Caching {
            store: self.store.max(other.store),
            max_age,
            since: Some(std::time::Instant::now()),
            last_modified: self.last_modified.max(other.last_modified),
            cache_control: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_keeps_the_stricter_rule() {
        let public = Caching {
            max_age: Some(Duration::from_secs(600)),
            ..Caching::default()
        };
        let private = Caching {
            store: Store::Private,
            max_age: Some(Duration::from_secs(60)),
            cache_control: Some("private, max-age=60".into()),
            ..Caching::default()
        };
        let both = public.clone().combine(&private);
        assert_eq!(both.store, Store::Private);
        assert!(both
            .remaining()
            .is_some_and(|r| r <= Duration::from_secs(60)));
        assert_eq!(both.cache_control, None);
        let silent = Caching::default().combine(&Caching::default());
        assert_eq!(silent.max_age, None);
        assert!(silent.shared());
    }
}
