//! libjpeg's large blocks (a progressive decode's whole-image coefficient buffer) are kept in one
//! pool for the process and reused by the next decode (`sys/jpeg.c`). The pool is shared by every
//! thread, so this test has a process of its own: another test's decodes would take its blocks.

mod jpegtools;

use imgshield::samples::photo_pixels;
use imgshield::vips::{Image, SaveFormat};
use jpegtools::ours;

fn progressive_photo(width: u32, height: u32, seed: u64) -> Vec<u8> {
    Image::from_pixels(&photo_pixels(width, height, seed), width, height, 3)
        .and_then(|image| {
            image.save(SaveFormat::Jpeg {
                quality: 90,
                progressive: true,
                strip: true,
            })
        })
        .expect("a progressive jpeg")
}

/// Our decode of `source` at 1/`shrink`.
fn decode(source: &[u8], shrink: u32) {
    drop(ours(source, shrink).expect("our decode"));
}

/// Minor page faults of the calling thread so far (`/proc/thread-self/stat`, field 10).
fn thread_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("procfs");
    let (_, rest) = stat.rsplit_once(')').expect("a stat line");
    rest.split_whitespace()
        .nth(7)
        .and_then(|field| field.parse().ok())
        .expect("minflt")
}

#[test]
fn a_second_decode_reuses_the_coefficient_buffer_and_a_small_one_lets_it_go() {
    let source = progressive_photo(2400, 1600, 5);
    let small = progressive_photo(240, 160, 6);
    let faults = || {
        let before = thread_faults();
        decode(&source, 8);
        thread_faults() - before
    };
    // The saves above left their blocks in the pool; a small decode frees the blocks it did not
    // use, so the next large decode starts cold.
    decode(&small, 8);
    let (first, second, third) = (faults(), faults(), faults());
    // libjpeg zeroes a ~8.6 MB coefficient buffer: ~2,100 fresh pages, none when it is reused.
    assert!(first > 1500, "{first} faults on the first decode");
    assert!(
        second * 4 < first && third * 4 < first,
        "{first}, then {second} and {third}"
    );
    // Bounded: after a small decode the large block is gone again.
    decode(&small, 8);
    let after = faults();
    assert!(after > 1500, "{after} faults after a small decode");
}
