//! The Lanczos3 step in memory (`Image::reduce_in_memory`, fast_image_resize) against libvips'
//! `vips_reduce` path (`Image::resize_to`): the same sizes, the same picture, the decode behind it
//! stopped by the time limit, and images it does not take left to libvips.

use std::time::Duration;

use imgshield::quality::{ssim, Luma};
use imgshield::samples::photo_pixels;
use imgshield::vips::{FailOn, Image, SaveFormat};

fn luma(image: &Image<'_>) -> Luma {
    let pixels = image.decode_to_memory().expect("pixels");
    Luma::from_interleaved(
        image.width(),
        image.height(),
        image.bands() as usize,
        &pixels,
    )
}

fn photo(width: u32, height: u32, bands: u32) -> Image<'static> {
    let rgb = photo_pixels(width, height, 7);
    let pixels: Vec<u8> = match bands {
        1 => rgb.chunks_exact(3).map(|p| p[1]).collect(),
        4 => rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 200])
            .collect(),
        _ => rgb,
    };
    Image::from_pixels(&pixels, width, height, bands).expect("an image")
}

#[test]
fn the_same_sizes_and_picture_as_libvips_reduce() {
    for bands in [3, 1] {
        let image = photo(1200, 800, bands);
        // Within 2x (Lanczos alone), past 2x (a block average first), odd sizes, one pixel.
        for (w, h) in [(900, 600), (700, 467), (301, 199), (97, 61), (1, 1)] {
            let ours = image.reduce_in_memory(w, h, None).expect("reduced");
            let theirs = image.resize_to(w, h).expect("resized");
            assert_eq!((ours.width(), ours.height(), ours.bands()), (w, h, bands));
            if w > 8 {
                let score = ssim(&luma(&ours), &luma(&theirs)).expect("comparable");
                assert!(score >= 0.99, "{bands} bands to {w}x{h}: SSIM {score}");
            }
        }
    }
}

#[test]
fn images_with_alpha_are_left_to_libvips() {
    let image = photo(400, 300, 4);
    let ours = image.reduce_in_memory(150, 113, None).expect("reduced");
    let theirs = image.resize_to(150, 113).expect("resized");
    assert_eq!(
        ours.decode_to_memory().expect("pixels"),
        theirs.decode_to_memory().expect("pixels")
    );
}

#[test]
fn the_time_limit_stops_the_decode_behind_it() {
    let jpeg = photo(3000, 2000, 3)
        .save(SaveFormat::Jpeg {
            quality: 90,
            progressive: true,
            strip: true,
        })
        .expect("a jpeg");
    // libvips' loader is lazy: the decode runs inside the reduce.
    let lazy = Image::jpeg_shrunk(&jpeg, 1, true, FailOn::Warning).expect("a header");
    assert!(lazy
        .reduce_in_memory(300, 200, Some(Duration::from_micros(1)))
        .is_err());
    let lazy = Image::jpeg_shrunk(&jpeg, 1, true, FailOn::Warning).expect("a header");
    assert!(lazy
        .reduce_in_memory(300, 200, Some(Duration::from_secs(60)))
        .is_ok());
}

#[test]
fn enlarging_is_refused() {
    let image = photo(100, 80, 3);
    assert!(image.reduce_in_memory(101, 80, None).is_err());
    assert!(image.reduce_in_memory(0, 80, None).is_err());
}

#[test]
fn the_box_shrink_of_kept_levels_is_libvips_shrink_bit_for_bit() {
    use imgshield::engine::shrink::box_shrink;
    for bands in [3, 1] {
        // Whole blocks, and partial ones at the right and bottom edges (rounded up and down).
        for (width, height) in [(64, 48), (101, 99), (103, 37), (5, 3)] {
            let image = photo(width, height, bands);
            let pixels = image.decode_to_memory().expect("pixels");
            for factor in [2, 4, 8] {
                let ours = box_shrink(&pixels, (width, height, bands), factor);
                let Ok(theirs) = image.box_shrink(factor) else {
                    // libvips refuses a shrink to nothing; so does ours.
                    assert!(ours.is_none(), "{width}x{height}/{factor}");
                    continue;
                };
                let want = (
                    theirs.decode_to_memory().expect("pixels"),
                    theirs.width(),
                    theirs.height(),
                );
                assert_eq!(ours, Some(want), "{width}x{height}x{bands} by {factor}");
            }
        }
    }
    assert!(box_shrink(&[0; 11], (2, 2, 3), 2).is_none());
}
