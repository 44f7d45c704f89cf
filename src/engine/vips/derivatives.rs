//! The derivative cache: JPEG decodes kept as pixels, so that the second, third and sixth width of
//! one photo do not decode it again. Decoding (Huffman and IDCT) is ~90% of a large JPEG's
//! thumbnail cost and barely depends on the output size; resizing from pixels in memory is cheap.
//!
//! **When an intermediate may be used.** A cold transform shrinks a JPEG while decoding by a DCT
//! factor s in {8, 4, 2, 1}, then resizes with Lanczos3. Two rules pick s (`crate::engine::shrink`):
//! the draft rule (the default: the coarsest decode still as large as the target) and libvips'
//! thumbnail rule (the coarsest that leaves twice the target, `--jpeg-shrink
//! headroom`). The cache decides with the rule the cold path uses. A kept intermediate decoded at
//! shrink s' serves a target whose rule gives s only if s/reach <= s' <= s: it then has at least as
//! many pixels as the cold path would decode (so the final resize starts from at least as much
//! detail), and is close enough to look like it. Under libvips' rule the reach is one level
//! ([`HEADROOM_REACH`]); from further up, a Lanczos resize of the finer decode stops looking like
//! the cold path's block-shrunk one (SSIM 0.983 at a factor of 25). Under the draft rule it is the
//! level itself ([`DRAFT_REACH`]), because a draft decode is resized by less than 2 and a finer
//! one already looks sharper. Tested: SSIM >= 0.99 against a cold transform under both rules. Of
//! the usable ones, the smallest (largest s') is taken: the least resize work. Targets needing a
//! full-size decode (s = 1) take the ordinary path and keep nothing: holding a full decode in
//! memory costs more to make than it saves (measured on 12 MP: +40% for that request,
//! docs/BENCHMARKS.md). The one exception: while traffic asks for sources at several sizes, a
//! full-size target of a source with no level 2 kept decodes into memory and keeps its 2x box
//! shrink, which the source's smaller widths then derive from (`jpeg.rs`, `full_size`).
//!
//! **What is kept, and when.** A target needing a level that is not kept gets it **derived** from
//! the nearest finer kept level by a box shrink (block means, what DCT-domain scaling nearly
//! computes) instead of a new decode: a few milliseconds instead of tens. Derived levels obey the
//! rule above and are kept like decoded ones. Otherwise the source is decoded at the finest shrink
//! asked for so far and kept:
//! - under the draft rule from its first request: the decode is 1-2x the target per side (larger
//!   only at shrink 8, the coarsest DCT scale), so materialising it costs little next to the
//!   streaming thumbnail (measured on distinct sources: no slower, +9 MiB peak RSS; on srcset
//!   traffic 2.05x against 1.72x, docs/BENCHMARKS.md). **When recent traffic asks for sources at
//!   several sizes** ([`Mix`]), at the level the widest recent target needs from this source
//!   ([`Derivatives::widest_level`]; never finer than shrink 2, nor coarser than asked): the
//!   widths of a `srcset` arrive in any order, and a decode kept at the first width's level must
//!   be made again, finer, for any larger width that follows (decodes per source on shuffled
//!   srcset traffic: 2.0 at exactly the level asked, 1.67 at one level finer, 1.50 at the widest
//!   width's level, a third of them full-size widths that no kept level serves). Not always: on
//!   sources asked for once the finer decode is pure cost (21% more CPU per image and +80 MiB
//!   peak RSS on distinct sources, docs/BENCHMARKS.md). Every later request for a source that
//!   needs a level not kept decodes the same way, from the finest asked for so far;
//! - under libvips' rule from its second request only: its decodes are 2-4x the target per side
//!   (4-16x the pixels), and keeping them for sources asked for once cost 0.92x the cold path per
//!   CPU-second and +50 MiB (docs/BENCHMARKS.md). The first request takes the ordinary thumbnail
//!   path and only notes the source and the shrink it needed.
//!
//! Bounded: the cache is weighed by bytes (`--derivative-cache-bytes`) and, when full, drops the
//! least recently used levels (LRU, not moka's default TinyLFU admission). A kept level is worth
//! most in the seconds after its source's first request, while the other widths of its page
//! arrive; popular sources' results are answered from the result cache and rarely come back here.
//! Under TinyLFU a full cache refused new sources' decodes (levels already used by a few widths
//! weigh more in its frequency sketch than a new one), so on srcset traffic of new sources every
//! later width decoded again once the cache had filled: 3.4 decodes per source instead of 2.0,
//! docs/BENCHMARKS.md.
//!
//! Only plain JPEGs take this path: 8-bit sRGB or greyscale, no ICC profile, one page (anything
//! else goes through thumbnail's own colour handling, unchanged). Intermediates are auto-oriented,
//! keyed by blake3 of the source bytes and the shrink, weighed by their bytes
//! (`--derivative-cache-bytes`), and larger ones than `max_pixels` are not kept. They are bare
//! pixels: with `meta=keep` the metadata comes from the source's header (`steps::load_decoded`),
//! all of it but the orientation, as on the thumbnail path.
//!
//! How each lookup ends ([`Lookup`]) is told to an [`OnLookup`] callback: the server counts them in
//! its metrics; the engine knows nothing of those.

use std::sync::Arc;

/// How many times larger (per side) than the cold path's decode an intermediate may be, under
/// libvips' twice-the-target rule. One level: from two or more levels up, the Lanczos resize of a
/// finer decode no longer looks like the cold path's block-shrunk one (SSIM 0.983 at 120x80 from a
/// full 6-MP decode, against >= 0.99 from one level up).
pub(super) const HEADROOM_REACH: u32 = 2;

/// The same under the draft rule: only the level itself. A draft decode is resized by less than 2
/// (below shrink 8), so a decode one level finer already looks sharper than the cold path's (SSIM
/// 0.989 at 700x467 from 1500x1000 instead of 750x500); the level is derived by a box shrink
/// instead.
pub(super) const DRAFT_REACH: u32 = 1;

/// How much finer (per side) than the target needs a kept decode is made under the draft rule.
pub(super) const DECODE_FINER_BY: u32 = 2;

/// The finest DCT shrink a kept decode is made at by choice: a full-size decode (shrink 1) is only
/// ever made when a target needs it, and then not kept (see `jpeg.rs`).
pub(super) const FINEST_CHOSEN: u32 = 2;

/// The DCT shrink a kept decode is made at, under the draft rule, for a source whose targets so far
/// need shrink `needed` at the finest: one level finer ([`DECODE_FINER_BY`]), but never finer than
/// [`FINEST_CHOSEN`] nor coarser than `needed`.
pub(super) fn decode_level(needed: u32) -> u32 {
    (needed / DECODE_FINER_BY).max(FINEST_CHOSEN).min(needed)
}

/// How many first sights [`Mix`] looks back on, roughly: both counts halve when this many have
/// accumulated, so the mix follows the traffic of the last few dozen sources.
const MIX_WINDOW: u32 = 64;

/// Later requests needing a finer level, per first sight, from which a first decode is made one
/// level finer (1 in 4): the break-even of a finer decode (about a quarter of a decode's cost,
/// measured) against the decode it saves.
const MIX_FINER_PER_FIRST: (u32, u32) = (1, 4);

/// What recent traffic says about sources being asked for at several sizes: first sights, and
/// later requests that needed a finer level than any asked for before (a `srcset`'s larger widths
/// after a smaller one). Approximate (relaxed atomics, racy halving): it only steers a choice.
/// Also the widest target asked for in this window and the one before: the width a `srcset`'s
/// largest image is asked at, which a source's first decode is made for
/// ([`Derivatives::widest_level`]).
#[derive(Debug, Default)]
struct Mix {
    firsts: std::sync::atomic::AtomicU32,
    finer_later: std::sync::atomic::AtomicU32,
    widest: [std::sync::atomic::AtomicU32; 2],
}

impl Mix {
    fn first(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let firsts = self.firsts.fetch_add(1, Relaxed) + 1;
        if firsts >= MIX_WINDOW {
            self.firsts.store(firsts / 2, Relaxed);
            let finer = self.finer_later.load(Relaxed);
            self.finer_later.store(finer / 2, Relaxed);
            self.widest[1].store(self.widest[0].swap(0, Relaxed), Relaxed);
        }
    }

    fn target(&self, width: u32) {
        self.widest[0].fetch_max(width, std::sync::atomic::Ordering::Relaxed);
    }

    /// The widest target of the last window or so (0 before any).
    fn widest(&self) -> u32 {
        use std::sync::atomic::Ordering::Relaxed;
        self.widest[0]
            .load(Relaxed)
            .max(self.widest[1].load(Relaxed))
    }

    fn finer_later(&self) {
        self.finer_later
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether sources are being asked for at several sizes often enough to decode finer.
    fn several_sizes(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let (finer, firsts) = (self.finer_later.load(Relaxed), self.firsts.load(Relaxed));
        firsts > 0 && finer * MIX_FINER_PER_FIRST.1 >= firsts * MIX_FINER_PER_FIRST.0
    }
}

/// Decoded pixels of one source at one DCT shrink.
#[derive(Debug)]
pub struct Intermediate {
    pub width: u32,
    pub height: u32,
    pub bands: u32,
    pub pixels: Vec<u8>,
}

/// How many sources the first-sight notes remember, and for how long: enough for the widths of one
/// page's images to meet (they arrive within seconds), small enough to stay a few MiB with moka's
/// per-entry overhead (~100-200 bytes) on traffic of distinct sources.
const SEEN_CAPACITY: u64 = 20_000;
const SEEN_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// How a lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lookup {
    /// A kept level served the target.
    Hit,
    /// The level was made from a finer kept one (and kept).
    Derived,
    /// Decoded now and kept.
    Miss,
    /// First sight of the source: nothing kept.
    First,
    /// A source or target this path does not take.
    Bypass,
}

impl Lookup {
    /// The metric label value: `hit`, `derived`, `miss`, `first` or `bypass`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "hit",
            Lookup::Derived => "derived",
            Lookup::Miss => "miss",
            Lookup::First => "first",
            Lookup::Bypass => "bypass",
        }
    }
}

/// Told how every lookup ended (the server bumps a counter). The default does nothing.
#[derive(Clone)]
pub struct OnLookup(Arc<dyn Fn(Lookup) + Send + Sync>);

impl OnLookup {
    pub fn new(callback: impl Fn(Lookup) + Send + Sync + 'static) -> OnLookup {
        OnLookup(Arc::new(callback))
    }
}

impl Default for OnLookup {
    fn default() -> OnLookup {
        OnLookup::new(|_| {})
    }
}

/// Cheap to clone: clones share one cache.
#[derive(Clone)]
pub struct Derivatives {
    cache: moka::sync::Cache<([u8; 32], u32), Arc<Intermediate>>,
    /// Sources asked for once, with the finest shrink asked for.
    seen: moka::sync::Cache<[u8; 32], u32>,
    mix: Arc<Mix>,
    max_pixels: u64,
    on_lookup: OnLookup,
}

impl std::fmt::Debug for Derivatives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derivatives")
            .field("entries", &self.cache.entry_count())
            .field("max_pixels", &self.max_pixels)
            .finish()
    }
}

impl Derivatives {
    pub fn new(max_bytes: u64, max_pixels: u64, on_lookup: OnLookup) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &([u8; 32], u32), value: &Arc<Intermediate>| {
                u32::try_from(value.pixels.len()).unwrap_or(u32::MAX)
            })
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .build();
        // Recency too: a note matters while the source's other widths are arriving.
        let seen = moka::sync::Cache::builder()
            .max_capacity(SEEN_CAPACITY)
            .eviction_policy(moka::policy::EvictionPolicy::lru())
            .time_to_live(SEEN_FOR)
            .build();
        Derivatives {
            cache,
            seen,
            mix: Arc::default(),
            max_pixels,
            on_lookup,
        }
    }

    /// The smallest cached intermediate of `source` that the rule allows for a target needing
    /// shrink `needed`, with its shrink: at most `reach` times finer ([`HEADROOM_REACH`] or
    /// [`DRAFT_REACH`]).
    pub fn find(
        &self,
        source: &[u8; 32],
        needed: u32,
        reach: u32,
    ) -> Option<(u32, Arc<Intermediate>)> {
        self.note_finer(source, needed);
        [8, 4, 2, 1]
            .into_iter()
            .filter(|&s| s <= needed && s * reach >= needed)
            .find_map(|s| self.cache.get(&(*source, s)).map(|i| (s, i)))
    }

    /// The coarsest kept level finer than `needed` (any distance): what a derived level is made from.
    pub fn finer(&self, source: &[u8; 32], needed: u32) -> Option<(u32, Arc<Intermediate>)> {
        [4, 2, 1]
            .into_iter()
            .filter(|&s| s < needed)
            .find_map(|s| self.cache.get(&(*source, s)).map(|i| (s, i)))
    }

    /// Whether traffic asks for sources at several sizes ([`Mix`]).
    pub fn several_sizes(&self) -> bool {
        self.mix.several_sizes()
    }

    /// Whether a level of `source` at `shrink` is kept.
    pub fn has(&self, source: &[u8; 32], shrink: u32) -> bool {
        self.cache.contains_key(&(*source, shrink))
    }

    /// Notes the width of a target (see [`Derivatives::widest_level`]).
    pub fn note_width(&self, width: u32) {
        self.mix.target(width);
    }

    /// While traffic asks for sources at several sizes ([`Mix`]): the DCT shrink that the widest
    /// target of recent traffic needs from a source of upright size `size` under `rule`, never
    /// finer than [`FINEST_CHOSEN`] nor than a level this cache keeps (`max_pixels`). A `srcset`'s
    /// widths arrive in any order; a source decoded at this level from its first request serves
    /// every later width below full size by a box shrink, with no second decode. The width alone
    /// decides, as `srcset` asks by width.
    pub fn widest_level(
        &self,
        (width, height): (u32, u32),
        rule: fn((u32, u32), (u32, u32)) -> u32,
    ) -> Option<u32> {
        let widest = self.mix.widest();
        if widest == 0 || !self.mix.several_sizes() {
            return None;
        }
        let level = rule((width, height), (widest, 1));
        [2, 4, 8].into_iter().find(|&s| {
            s >= level.max(FINEST_CHOSEN) && self.keeps((width.div_ceil(s), height.div_ceil(s)))
        })
    }

    /// Whether a level of `width` x `height` is small enough to keep (`max_pixels`).
    pub fn keeps(&self, (width, height): (u32, u32)) -> bool {
        u64::from(width) * u64::from(height) <= self.max_pixels
    }

    /// A source already seen asked for at a finer level than before: counted in the [`Mix`], and
    /// remembered as the finest asked.
    fn note_finer(&self, source: &[u8; 32], needed: u32) {
        if self.seen.get(source).is_some_and(|before| needed < before) {
            self.mix.finer_later();
            self.seen.insert(*source, needed);
        }
    }

    /// Notes a request for `source` needing shrink `needed`, and says the shrink to decode at and
    /// keep. Under the draft rule (`keep_first`) from the first request: the level asked, or, when
    /// traffic asks for sources at several sizes ([`Mix`]), the level the widest recent target
    /// needs (`widest`, from [`Derivatives::widest_level`]) if finer, else one level finer
    /// ([`decode_level`]); later requests the same, from the finest asked so far. Under libvips'
    /// rule: `None` (keep nothing) the first time, then the finest asked for so far.
    pub fn admit(
        &self,
        source: &[u8; 32],
        needed: u32,
        keep_first: bool,
        widest: Option<u32>,
    ) -> Option<u32> {
        self.note_finer(source, needed);
        let again = self.seen.get(source);
        let finest = again.map_or(needed, |before| before.min(needed));
        self.seen.insert(*source, finest);
        // Never finer than FINEST_CHOSEN by choice: a full-size decode is made only for a
        // full-size target (which `finest` may record).
        let finer = |finest: u32| {
            widest
                .map_or(decode_level(finest), |w| w.min(finest))
                .max(FINEST_CHOSEN.min(needed))
        };
        match again {
            None if !keep_first => None,
            None => {
                let several = self.mix.several_sizes();
                self.mix.first();
                Some(if several { finer(finest) } else { finest })
            }
            Some(_) if keep_first => Some(finer(finest)),
            Some(_) => Some(finest),
        }
    }

    /// Keeps `intermediate` unless it is larger than the cache is meant for.
    pub fn store(&self, source: [u8; 32], shrink: u32, intermediate: Arc<Intermediate>) {
        let pixels = u64::from(intermediate.width) * u64::from(intermediate.height);
        if pixels <= self.max_pixels {
            self.cache.insert((source, shrink), intermediate);
        }
    }

    /// Tells the [`OnLookup`] callback how a lookup ended.
    pub fn record(&self, result: Lookup) {
        (self.on_lookup.0)(result);
    }

    /// A source that cannot take this path (not a plain JPEG).
    pub fn bypass(&self) {
        self.record(Lookup::Bypass);
    }

    /// Forgets every kept decode.
    pub fn clear(&self) {
        self.seen.invalidate_all();
        self.cache.invalidate_all();
        self.cache.run_pending_tasks();
    }

    pub fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }
}

#[cfg(test)]
mod tests;
