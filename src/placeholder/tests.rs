//! Unit tests of the dominant colour and the BlurHash encoder, against reference hashes.

use super::blurhash::{linear_to_srgb, srgb_to_linear, BASE83};
use super::*;

fn image(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    (0..height)
        .flat_map(|y| (0..width).map(move |x| (x, y)))
        .flat_map(|(x, y)| f(x, y))
        .collect()
}

fn gradient(x: u32, y: u32) -> [u8; 4] {
    [
        (x * 8 % 256) as u8,
        (y * 10 % 256) as u8,
        (x * y % 256) as u8,
        255,
    ]
}

fn decode83(text: &str) -> u32 {
    text.bytes().fold(0, |acc, c| {
        let digit = BASE83
            .iter()
            .position(|b| *b == c)
            .expect("a base-83 digit");
        acc * 83 + digit as u32
    })
}

#[test]
fn a_uniform_image_is_its_own_dominant_colour() {
    let px = image(20, 10, |_, _| [18, 52, 86, 255]);
    let pixels = Pixels::new(&px, 20, 10, 4).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([18, 52, 86])));
    assert_eq!(Rgb([18, 52, 86]).hex(), "#123456");
}

#[test]
fn the_larger_area_wins_over_the_mean() {
    // 70% red, 30% blue: the answer is the red, not the purple mean.
    let px = image(10, 10, |x, _| {
        if x < 7 {
            [200, 30, 40, 255]
        } else {
            [20, 60, 220, 255]
        }
    });
    let pixels = Pixels::new(&px, 10, 10, 4).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([200, 30, 40])));
    // And 30/70 flips it: the rule is not "the first colour seen".
    let px = image(10, 10, |x, _| {
        if x < 3 {
            [200, 30, 40, 255]
        } else {
            [20, 60, 220, 255]
        }
    });
    let pixels = Pixels::new(&px, 10, 10, 4).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([20, 60, 220])));
}

#[test]
fn the_fullest_bin_is_averaged() {
    // Two shades in one 16-level bin (200 and 202 red) average to 201; a third colour outside
    // it, with fewer pixels, is ignored.
    let px = image(10, 1, |x, _| match x {
        0..=3 => [200, 30, 40, 255],
        4..=6 => [202, 30, 40, 255],
        _ => [0, 0, 0, 255],
    });
    let pixels = Pixels::new(&px, 10, 1, 4).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([201, 30, 40])));
}

#[test]
fn transparent_pixels_do_not_vote() {
    // 80% fully or nearly transparent black, 20% opaque orange: a logo on nothing.
    let px = image(10, 10, |x, y| match (x, y) {
        (0..=1, _) => [255, 128, 0, 255],
        (_, 0..=4) => [0, 0, 0, 0],
        _ => [0, 0, 0, 40],
    });
    let pixels = Pixels::new(&px, 10, 10, 4).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([255, 128, 0])));
    let clear = image(4, 4, |_, _| [10, 20, 30, 0]);
    assert_eq!(
        dominant_color(&Pixels::new(&clear, 4, 4, 4).expect("pixels")),
        None
    );
}

#[test]
fn grey_images_are_read_as_grey() {
    let px = [90u8, 255, 90, 255, 90, 0];
    let pixels = Pixels::new(&px, 3, 1, 2).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([90, 90, 90])));
    let pixels = Pixels::new(&[7, 7, 7, 7], 2, 2, 1).expect("pixels");
    assert_eq!(dominant_color(&pixels), Some(Rgb([7, 7, 7])));
}

#[test]
fn pixel_buffers_must_match_their_size() {
    assert!(Pixels::new(&[0; 12], 2, 2, 3).is_ok());
    assert!(Pixels::new(&[0; 11], 2, 2, 3).is_err());
    assert!(Pixels::new(&[0; 10], 2, 1, 5).is_err());
    assert!(Pixels::new(&[], 0, 0, 3).is_err());
}

#[test]
fn component_counts_are_bounded() {
    assert_eq!(Components::new(4, 3), Some(Components::DEFAULT));
    assert!(Components::new(1, 9).is_some());
    assert!(Components::new(0, 3).is_none());
    assert!(Components::new(4, 10).is_none());
}

/// Hashes computed by woltapp's C encoder (`encode.c`, as bundled in the PyPI package
/// blurhash-python 1.2.2, called through its cffi binding `create_hash_from_pixels`) on the
/// same pixels. The `split` and `uniform` ones are also what woltapp's TypeScript encoder
/// (npm `blurhash` 2.0.5) gives; for `gradient` it gives a different second character (`D`, not
/// `x`), because it scales the AC terms by the largest signed value (see the module doc).
#[test]
fn blurhash_matches_the_reference_encoder() {
    let gradient_px = image(32, 24, gradient);
    let gradient_pixels = Pixels::new(&gradient_px, 32, 24, 4).expect("pixels");
    let cases = [
        (4, 3, "LxH27h2lwtX3mAWUjwfAgFfmfTfi"),
        (1, 1, "00H27h"),
        (5, 2, "DxH27h2lwtX3a^mAWUjwfAfT"),
        (
            9,
            9,
            "|xH27h2lwtX3a^ofWroeWnmAWUjwfAfTf6fNf8fRgFfmfTfifNfifTfjfPn$WsjsfNfTfTfOfPfQe-fTfNfTfSfNfSfRfRofWojrfTfNfSfSfOfPe?fNfTfOfSfSfOfRfPoeWpjufPfRfOfQfRfSeofRfPfQfRfPfPfRfO",
        ),
    ];
    for (x, y, expected) in cases {
        let components = Components::new(x, y).expect("valid");
        assert_eq!(blurhash(&gradient_pixels, components), expected, "{x}x{y}");
    }
    let split = image(10, 10, |x, _| {
        if x < 7 {
            [200, 30, 40, 255]
        } else {
            [20, 60, 220, 255]
        }
    });
    let split = Pixels::new(&split, 10, 10, 4).expect("pixels");
    assert_eq!(
        blurhash(&split, Components::DEFAULT),
        "L$JpO0{[OHssw}s8a~jufQfQfQfQ"
    );
    // RGB input (3 bands) reads the same as opaque RGBA.
    let uniform = image(8, 8, |_, _| [18, 52, 86, 255]);
    let rgb: Vec<u8> = uniform.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    for pixels in [Pixels::new(&uniform, 8, 8, 4), Pixels::new(&rgb, 8, 8, 3)] {
        let pixels = pixels.expect("pixels");
        assert_eq!(
            blurhash(&pixels, Components::DEFAULT),
            "L327F4pMfQpMpMkDfQkDfQfQfQfQ"
        );
    }
}

#[test]
fn blurhash_structure_holds_for_every_component_count() {
    let px = image(17, 11, gradient);
    let pixels = Pixels::new(&px, 17, 11, 4).expect("pixels");
    for x in 1..=9u8 {
        for y in 1..=9u8 {
            let hash = blurhash(&pixels, Components::new(x, y).expect("valid"));
            assert_eq!(
                hash.len(),
                4 + 2 * usize::from(x) * usize::from(y),
                "{x}x{y}"
            );
            // The first character says the component counts.
            assert_eq!(
                decode83(&hash[..1]),
                u32::from(x - 1) + u32::from(y - 1) * 9
            );
        }
    }
}

#[test]
fn the_dc_term_is_the_mean_colour_and_alpha_is_flattened_onto_white() {
    // Half transparent, half mid-grey: over white, the mean is between white and the grey in
    // linear light; the DC term (characters 2..6) holds it in sRGB.
    let px = image(8, 8, |x, _| {
        if x < 4 {
            [0, 0, 0, 0]
        } else {
            [119, 119, 119, 255]
        }
    });
    let hash = blurhash(
        &Pixels::new(&px, 8, 8, 4).expect("pixels"),
        Components::DEFAULT,
    );
    let dc = decode83(&hash[2..6]);
    let mean = (srgb_to_linear(255) + srgb_to_linear(119)) / 2.0;
    let expected = u32::from(linear_to_srgb(mean));
    assert_eq!(dc, expected << 16 | expected << 8 | expected, "{hash}");
}
