use super::*;
use crate::samples::{photo_jpeg, photo_pixels};
use crate::vips::{Image, SaveFormat};

/// libvips' progressive save: libjpeg's default script, 10 scans, 4:2:0.
fn progressive() -> Vec<u8> {
    let format = SaveFormat::Jpeg {
        quality: 85,
        progressive: true,
        strip: true,
    };
    Image::from_pixels(&photo_pixels(96, 64, 3), 96, 64, 3)
        .and_then(|image| image.save(format))
        .expect("a progressive jpeg")
}

/// Where each scan header's `Ss Se Ah|Al` bytes are, in file order.
fn scan_parameters(bytes: &[u8]) -> Vec<usize> {
    let (_, scans) = walk(bytes).expect("a plain file");
    scans
        .iter()
        .map(|scan| {
            let length = usize::from(u16::from_be_bytes([
                bytes[scan.range.0 + 2],
                bytes[scan.range.0 + 3],
            ]));
            scan.range.0 + 2 + length - 3
        })
        .collect()
}

#[test]
fn the_idct_sizes_follow_the_sampling() {
    let frame = |sampling: [(u8, u8); 3]| Frame {
        progressive: true,
        huffman: true,
        components: sampling
            .iter()
            .enumerate()
            .map(|(i, &(h, v))| Component { id: i as u8, h, v })
            .collect(),
    };
    let yuv420 = frame([(2, 2), (1, 1), (1, 1)]);
    let yuv422 = frame([(2, 1), (1, 1), (1, 1)]);
    let yuv444 = frame([(1, 1), (1, 1), (1, 1)]);
    let sizes = |frame: &Frame, shrink| {
        frame
            .components
            .iter()
            .map(|c| idct_size(frame, c, shrink))
            .collect::<Vec<_>>()
    };
    assert_eq!(sizes(&yuv420, 8), [1, 2, 2]);
    assert_eq!(sizes(&yuv420, 4), [2, 4, 4]);
    assert_eq!(sizes(&yuv420, 2), [4, 8, 8]);
    assert_eq!(sizes(&yuv420, 1), [8, 8, 8]);
    // 4:2:2 chroma is only halved horizontally: the same IDCT, upsampled.
    assert_eq!(sizes(&yuv422, 8), [1, 1, 1]);
    assert_eq!(sizes(&yuv444, 4), [2, 2, 2]);
}

#[test]
fn the_reduced_idcts_read_what_libjpeg_turbo_reads() {
    let count = |size| read_coefficients(size).iter().filter(|r| **r).count();
    assert_eq!([count(1), count(2), count(4), count(8)], [1, 25, 49, 64]);
    // Zig-zag 1 and 2 are (0,1) and (1,0); 3 is (2,0), which the 2x2 IDCT skips.
    assert_eq!(read_coefficients(2)[..4], [true, true, true, false]);
}

#[test]
fn at_one_eighth_the_luma_ac_scans_are_dropped() {
    let jpeg = progressive();
    let Some(ScanPlan::Filtered {
        bytes,
        kept,
        dropped,
    }) = scan_plan(&jpeg, 8)
    else {
        panic!("a filtered plan");
    };
    // DC first and refinement, and both passes of each chroma band (its IDCT is 2x2): 6 of 10.
    assert_eq!((kept, dropped), (6, 4));
    assert!(bytes.len() < jpeg.len());
    let (_, scans) = walk(&bytes).expect("the filtered file walks");
    assert_eq!(scans.len(), 6);
}

#[test]
fn larger_scales_and_sequential_files_are_decoded_whole() {
    let jpeg = progressive();
    for shrink in [1, 2, 4] {
        assert_eq!(
            scan_plan(&jpeg, shrink),
            Some(ScanPlan::Whole),
            "1/{shrink}"
        );
    }
    let baseline = photo_jpeg(64, 48, 1, 80).expect("jpeg");
    assert_eq!(scan_plan(&baseline, 8), Some(ScanPlan::Whole));
}

#[test]
fn a_dropped_scan_libjpeg_would_refuse_leaves_the_file_to_libvips() {
    let jpeg = progressive();
    let at = scan_parameters(&jpeg);
    // The second scan (Y 1-5, dropped at 1/8): an illegal Al, then a band past 63.
    let mut bad_al = jpeg.clone();
    bad_al[at[1] + 2] = 0x0E;
    assert_eq!(scan_plan(&bad_al, 8), None);
    let mut bad_band = jpeg.clone();
    bad_band[at[1] + 1] = 64;
    assert_eq!(scan_plan(&bad_band, 8), None);
    // A refinement that does not follow on (libjpeg warns of a bogus progression).
    let mut bogus = jpeg.clone();
    bogus[at[1] + 2] = 0x10;
    assert_eq!(scan_plan(&bogus, 8), None);
}

#[test]
fn cut_or_damaged_files_get_no_plan_and_never_panic() {
    let jpeg = progressive();
    assert_eq!(scan_plan(&jpeg[..jpeg.len() / 2], 8), None);
    assert_eq!(scan_plan(&jpeg[..jpeg.len() - 2], 8), None);
    assert_eq!(scan_plan(b"not a jpeg", 8), None);
    for cut in (0..jpeg.len()).step_by(7) {
        for shrink in [1, 8] {
            let _ = scan_plan(&jpeg[..cut], shrink);
        }
    }
    // Junk between segments is libvips' to judge.
    let mut junk = jpeg[..2].to_vec();
    junk.extend_from_slice(b"xx");
    junk.extend_from_slice(&jpeg[2..]);
    assert_eq!(scan_plan(&junk, 8), None);
}

#[test]
fn huffman_codes_must_fit_their_lengths() {
    let mut counts = [0u8; 16];
    counts[0] = 1;
    counts[1] = 1;
    assert!(codes_fit(&counts));
    // The all-ones code of a length is reserved: "0", "10", "11" does not fit.
    counts[1] = 2;
    assert!(!codes_fit(&counts));
    assert!(codes_fit(&[0; 16]));
}

/// How many scans `rule` keeps of libvips' progressive file (libjpeg's 10-scan script) at each scale.
fn kept_under(rule: ScanRule) -> [u32; 4] {
    let jpeg = progressive();
    [1, 2, 4, 8].map(|shrink| match scan_plan_under(&jpeg, shrink, rule) {
        Some(ScanPlan::Whole) => 10,
        Some(ScanPlan::Filtered { kept, dropped, .. }) => {
            assert_eq!(kept + dropped, 10);
            kept
        }
        None => panic!("a plan at 1/{shrink}"),
    })
}

#[test]
fn the_bounded_rule_drops_ac_refinements_at_one_quarter_and_one_eighth_only() {
    assert_eq!(kept_under(ScanRule::Exact), [10, 10, 10, 6]);
    // 1/4: DC, its refinement, Y 1-5 and 6-63 at Al=2, Cb and Cr at Al=1; not the Y refinements
    // (Al 2->1, 1->0) nor the chroma ones. 1/8: the chroma refinements go too.
    assert_eq!(kept_under(ScanRule::Bounded), [10, 10, 6, 4]);
    // Only the last bit: Y keeps its 2->1 refinement.
    assert_eq!(kept_under(ScanRule::BoundedLastBit), [10, 10, 7, 4]);
}

/// A scan of one component over `ss..=se` at `ah`/`al`, for the rule's bookkeeping.
fn scan(component: usize, (ss, se): (usize, usize), (ah, al): (u8, u8)) -> Scan {
    Scan {
        range: (0, 0),
        components: vec![component],
        ss,
        se,
        ah,
        al,
    }
}

#[test]
fn a_later_scan_of_a_dropped_coefficient_is_dropped_too() {
    let scans = [
        Scan {
            components: vec![0, 1],
            ..scan(0, (0, 0), (0, 0))
        },
        scan(0, (1, 63), (0, 1)),
        scan(0, (1, 63), (1, 0)),
        // A second first pass of complete coefficients (libjpeg accepts it): after the dropped
        // refinement it would overwrite what was never refined, so it goes too, and its band with it.
        scan(0, (1, 9), (0, 0)),
        scan(1, (1, 63), (0, 0)),
    ];
    let mut kept = vec![true; scans.len()];
    bounded::drop_bounded(2, &scans, &mut kept, 4, ScanRule::Bounded);
    assert_eq!(kept, [true, true, false, false, true]);
    let mut kept = vec![true; scans.len()];
    bounded::drop_bounded(2, &scans, &mut kept, 2, ScanRule::Bounded);
    assert_eq!(kept, [true; 5], "never at 1/2");
}
