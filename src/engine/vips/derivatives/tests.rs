//! The derivative cache's reach, keeping and eviction rules.

use super::*;

fn intermediate(width: u32, height: u32) -> Arc<Intermediate> {
    Arc::new(Intermediate {
        width,
        height,
        bands: 3,
        pixels: vec![0; (width * height * 3) as usize],
    })
}

#[test]
fn the_smallest_usable_intermediate_is_found() {
    let d = Derivatives::new(1 << 30, 1 << 30, OnLookup::default());
    let key = [7; 32];
    assert!(d.find(&key, 8, HEADROOM_REACH).is_none());
    d.store(key, 2, intermediate(300, 200));
    // Needs shrink 1 (a large target): shrink 2 has too few pixels.
    assert!(d.find(&key, 1, HEADROOM_REACH).is_none());
    assert_eq!(d.find(&key, 4, HEADROOM_REACH).map(|(s, _)| s), Some(2));
    // Two levels up is too far from what the cold path would decode.
    assert!(d.find(&key, 8, HEADROOM_REACH).is_none());
    d.store(key, 4, intermediate(150, 100));
    assert_eq!(d.find(&key, 8, HEADROOM_REACH).map(|(s, _)| s), Some(4));
    assert_eq!(d.find(&key, 4, HEADROOM_REACH).map(|(s, _)| s), Some(4));
    assert_eq!(d.find(&key, 2, HEADROOM_REACH).map(|(s, _)| s), Some(2));
    assert!(
        d.find(&[8; 32], 8, HEADROOM_REACH).is_none(),
        "another source"
    );
}

#[test]
fn a_source_is_kept_from_its_second_sight_at_the_finest_shrink_asked() {
    let d = Derivatives::new(1 << 30, 1 << 30, OnLookup::default());
    assert_eq!(
        d.admit(&[3; 32], 4, false, None),
        None,
        "first sight keeps nothing"
    );
    assert_eq!(
        d.admit(&[3; 32], 8, false, None),
        Some(4),
        "the finer of the two"
    );
    assert_eq!(d.admit(&[3; 32], 2, false, None), Some(2));
    assert_eq!(d.admit(&[4; 32], 2, false, None), None, "another source");
    assert_eq!(
        d.admit(&[5; 32], 8, true, None),
        Some(8),
        "kept from the first sight, at the level asked"
    );
    assert_eq!(
        d.admit(&[5; 32], 4, true, None),
        Some(2),
        "asked again, finer: one level finer than that"
    );
    assert_eq!(
        d.admit(&[5; 32], 8, true, None),
        Some(2),
        "the finest asked so far"
    );
}

#[test]
fn first_decodes_are_made_finer_only_while_sources_are_asked_for_at_several_sizes() {
    let d = Derivatives::new(1 << 30, 1 << 30, OnLookup::default());
    let source = |i: u32| {
        let mut key = [0; 32];
        key[..4].copy_from_slice(&i.to_be_bytes());
        key
    };
    // Distinct sources asked for once: the level asked, however many.
    for i in 0..200 {
        assert_eq!(d.admit(&source(i), 8, true, None), Some(8), "source {i}");
    }
    // srcset-like traffic: each source at 8, then a larger width needing 4 (served here by
    // the lookup's note). Within a few dozen sources the first decodes turn finer.
    let mut finer_from = None;
    for i in 1000..1100 {
        let first = d.admit(&source(i), 8, true, None);
        if first == Some(4) && finer_from.is_none() {
            finer_from = Some(i - 1000);
        }
        assert!(d.find(&source(i), 4, DRAFT_REACH).is_none());
    }
    let after = finer_from.expect("first decodes made finer");
    assert!(after <= 40, "after {after} sources");
    assert_eq!(
        d.admit(&source(5000), 2, true, None),
        Some(2),
        "never finer than 2"
    );
    // Back to distinct sources: back to the level asked.
    let back = (0..200)
        .map(|i| d.admit(&source(10_000 + i), 8, true, None))
        .position(|level| level == Some(8));
    assert!(back.is_some_and(|i| i <= 150), "back after {back:?}");
}

#[test]
fn coarser_levels_are_derived_from_the_nearest_finer_one() {
    let d = Derivatives::new(1 << 30, 1 << 30, OnLookup::default());
    let key = [5; 32];
    assert!(d.finer(&key, 8).is_none());
    d.store(key, 1, intermediate(400, 300));
    d.store(key, 2, intermediate(200, 150));
    assert_eq!(d.finer(&key, 8).map(|(s, _)| s), Some(2));
    assert_eq!(d.finer(&key, 2).map(|(s, _)| s), Some(1));
    assert!(
        d.finer(&key, 1).is_none(),
        "nothing is finer than full size"
    );
}

/// The widths of a `srcset` asked for smallest first (the worst order for a cache that keeps
/// the level asked): each output matches a cold transform, and the source is decoded
/// `decodes` times.
fn srcset_smallest_first() -> u64 {
    use crate::engine::{Engine, OutputFormat, Plan, Rgba, Size};
    let luma = |encoded: &[u8]| {
        let rgba = image::load_from_memory(encoded)
            .expect("decodable")
            .to_rgba8();
        crate::quality::Luma::from_rgba_over_white(rgba.width(), rgba.height(), rgba.as_raw())
    };
    let misses = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = misses.clone();
    let on_lookup = OnLookup::new(move |lookup| {
        if matches!(lookup, Lookup::Miss | Lookup::First) {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let engine = || super::super::VipsEngine::new().expect("libvips initialises");
    let cold = engine().with_draft(true);
    let warm =
        engine()
            .with_draft(true)
            .with_derivatives(Derivatives::new(1 << 30, 1 << 30, on_lookup));
    let src = crate::samples::photo_jpeg(3000, 2000, 7, 90).expect("jpeg");
    // Shrinks 8, 4, 2 and 2 under the draft rule.
    for (width, height) in [(320, 213), (640, 427), (960, 640), (1280, 853)] {
        let mut plan = Plan::scale_to(Size { width, height }, OutputFormat::Jpeg);
        plan.background = Rgba::WHITE;
        plan.quality = 80;
        let a = warm.transform(&src, &plan).expect("warm");
        let b = cold.transform(&src, &plan).expect("cold");
        assert_eq!((a.width, a.height), (width, height));
        let score = crate::quality::ssim(&luma(&a.bytes), &luma(&b.bytes)).expect("size");
        assert!(
            score >= 0.99,
            "{width}x{height}: SSIM {score:.4} against a cold transform"
        );
    }
    misses.load(std::sync::atomic::Ordering::SeqCst)
}

#[test]
fn a_srcset_asked_smallest_first_is_decoded_twice_not_three_times() {
    // 320 (shrink 8): decoded at 8 and kept (nothing is known of the traffic yet); 640 (4):
    // asked again, finer, so decoded one level finer, at 2, and kept; 960 and 1280 (2): from
    // it. Keeping exactly the level asked decoded it at 8, 4 and 2.
    assert_eq!(srcset_smallest_first(), 2);
}

#[test]
fn a_full_cache_keeps_the_newest_source_over_older_much_used_ones() {
    // Room for four 100x100 levels.
    let d = Derivatives::new(4 * 30_000, 1 << 30, OnLookup::default());
    let old = |i: u8| [i; 32];
    for i in 1..=4 {
        d.store(old(i), 4, intermediate(100, 100));
        for _ in 0..5 {
            assert!(d.find(&old(i), 4, DRAFT_REACH).is_some());
        }
    }
    d.cache.run_pending_tasks();
    // A new source's decode, asked for once so far: kept, in place of the least recent.
    d.store([9; 32], 4, intermediate(100, 100));
    d.cache.run_pending_tasks();
    assert!(
        d.find(&[9; 32], 4, DRAFT_REACH).is_some(),
        "the new decode was refused"
    );
    assert!(d.find(&old(1), 4, DRAFT_REACH).is_none(), "the oldest goes");
}

#[test]
fn oversized_intermediates_are_not_kept() {
    let d = Derivatives::new(1 << 30, 10_000, OnLookup::default());
    d.store([1; 32], 1, intermediate(200, 100));
    assert!(d.find(&[1; 32], 8, HEADROOM_REACH).is_none());
}

#[test]
fn while_sources_are_asked_at_several_sizes_a_first_decode_serves_the_widest_recent_width() {
    let draft = crate::engine::vips::draft_shrink;
    let d = Derivatives::new(1 << 30, 16_000_000, OnLookup::default());
    assert_eq!(d.widest_level((4000, 3000), draft), None, "no traffic yet");
    // One srcset: a source at 250 px, then at 1000 px (a finer level: several sizes).
    d.note_width(250);
    assert_eq!(d.admit(&[1; 32], 8, true, None), Some(8));
    d.note_width(1000);
    assert_eq!(d.admit(&[1; 32], 2, true, None), Some(2));
    assert_eq!(d.widest_level((4000, 3000), draft), Some(4));
    assert_eq!(d.widest_level((2000, 1334), draft), Some(2));
    // 1000 px of a 1500-px photo needs the full size: never chosen, level 2 at the finest.
    assert_eq!(d.widest_level((1500, 1000), draft), Some(2));
    // A first decode at the widest width's level, whatever width comes first.
    assert_eq!(d.admit(&[2; 32], 8, true, Some(2)), Some(2));
    assert_eq!(d.admit(&[2; 32], 4, true, Some(2)), Some(2));
    assert_eq!(
        d.admit(&[9; 32], 4, true, Some(8)),
        Some(4),
        "never coarser than asked"
    );
    // A source whose full size was asked first is decoded at 2, not 1, for a smaller width.
    assert_eq!(d.admit(&[3; 32], 1, true, None), Some(1));
    assert_eq!(d.admit(&[3; 32], 8, true, Some(2)), Some(2));
    // Never a level larger than the cache keeps.
    let small = Derivatives::new(1 << 30, 500_000, OnLookup::default());
    small.note_width(250);
    small.admit(&[1; 32], 8, true, None);
    small.note_width(1000);
    small.admit(&[1; 32], 2, true, None);
    assert_eq!(small.widest_level((2000, 1334), draft), Some(4));
}
