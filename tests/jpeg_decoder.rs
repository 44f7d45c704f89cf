//! Our own JPEG load step (scan plan + libjpeg decode) against libvips' `jpegload`: the same pixels
//! at every DCT scale, on progressive files written by different encoders and scan scripts, and
//! the same output and status end to end (orientation, ICC, CMYK, damaged files). Fixtures are made
//! by real encoders: libvips, libjpeg-turbo's `cjpeg` and `jpegtran` (libjpeg-turbo-progs).

mod jpegtools;

use std::path::Path;
use std::time::Duration;

use imgshield::engine::vips::{own_decodes_on_this_thread, JpegDecoder, VipsEngine};
use imgshield::engine::{scan_plan, Engine, OutputFormat, Plan, ScanPlan, Size, Strictness};
use imgshield::samples::photo_pixels;
use imgshield::vips::{FailOn, Image, JpegDecode, JpegDecodeError, SaveFormat};
use jpegtools::{ours, run};

const WIDTH: u32 = 203;
const HEIGHT: u32 = 157;

/// A mozjpeg-like script: DC at full precision first, luma 1-2 and 3-63 at Al=2, chroma, then
/// the luma refinements (the last carrying most of the file).
const MOZJPEG_LIKE: &str = "0,1,2: 0-0, 0, 0;\n0: 1-2, 0, 2;\n0: 3-63, 0, 2;\n\
                            2: 1-63, 0, 0;\n1: 1-63, 0, 0;\n0: 1-63, 2, 1;\n0: 1-63, 1, 0;\n";

/// The test photo as a PPM for cjpeg, and as a baseline JPEG for jpegtran.
fn write_inputs(dir: &Path) {
    let mut ppm = format!("P6\n{WIDTH} {HEIGHT}\n255\n").into_bytes();
    ppm.extend(photo_pixels(WIDTH, HEIGHT, 7));
    std::fs::write(dir.join("photo.ppm"), ppm).expect("ppm");
    std::fs::write(dir.join("mozjpeg.scans"), MOZJPEG_LIKE).expect("scans");
    let baseline = run("cjpeg", &["-quality", "88", "photo.ppm"], dir);
    std::fs::write(dir.join("baseline.jpg"), baseline).expect("jpg");
}

/// Progressive files from each encoder and script, and the odd layouts libjpeg decodes.
fn corpus(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    write_inputs(dir);
    let cjpeg = |args: &[&str]| {
        let mut all = args.to_vec();
        all.push("photo.ppm");
        run("cjpeg", &all, dir)
    };
    let libvips = SaveFormat::Jpeg {
        quality: 85,
        progressive: true,
        strip: true,
    };
    let vips = Image::from_pixels(&photo_pixels(WIDTH, HEIGHT, 7), WIDTH, HEIGHT, 3)
        .and_then(|image| image.save(libvips))
        .expect("libvips save");
    vec![
        ("libvips interlace", vips),
        ("cjpeg 4:2:0", cjpeg(&["-progressive"])),
        ("cjpeg 4:2:2", cjpeg(&["-progressive", "-sample", "2x1"])),
        ("cjpeg 4:4:4", cjpeg(&["-progressive", "-sample", "1x1"])),
        ("cjpeg 4:1:1", cjpeg(&["-progressive", "-sample", "4x1"])),
        ("cjpeg grey", cjpeg(&["-progressive", "-grayscale"])),
        ("cjpeg restarts", cjpeg(&["-progressive", "-restart", "1"])),
        ("cjpeg arithmetic", cjpeg(&["-progressive", "-arithmetic"])),
        (
            "jpegtran",
            run("jpegtran", &["-progressive", "baseline.jpg"], dir),
        ),
        (
            "jpegtran mozjpeg-like",
            run(
                "jpegtran",
                &["-scans", "mozjpeg.scans", "baseline.jpg"],
                dir,
            ),
        ),
        (
            "baseline",
            std::fs::read(dir.join("baseline.jpg")).expect("jpg"),
        ),
        (
            "baseline, stray bytes before its end",
            stray_bytes_before_the_end(dir),
        ),
    ]
}

/// Found by fuzz/jpeg_load: libvips stops reading once every row is out, so stray bytes after a
/// sequential file's last scan never warn there; they must not in ours either.
fn stray_bytes_before_the_end(dir: &Path) -> Vec<u8> {
    let mut jpeg = std::fs::read(dir.join("baseline.jpg")).expect("jpg");
    let end = jpeg.len() - 2;
    jpeg.splice(end..end, [0x55; 96]);
    jpeg
}

#[test]
fn our_decode_matches_libvips_at_every_scale_for_every_encoder() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, source) in corpus(dir.path()) {
        for shrink in [1, 2, 4, 8] {
            let theirs = Image::jpeg_shrunk(&source, shrink, false, FailOn::Warning)
                .and_then(|image| image.decode_to_memory())
                .expect("libvips decodes");
            let image =
                ours(&source, shrink).unwrap_or_else(|e| panic!("{name} at 1/{shrink}: {e:?}"));
            let header = Image::jpeg_header(&source, shrink).expect("header");
            assert_eq!(
                (image.width(), image.height(), image.bands()),
                (header.width(), header.height(), header.bands()),
                "{name} 1/{shrink}"
            );
            let pixels = image.decode_to_memory().expect("pixels");
            assert!(pixels == theirs, "{name} at 1/{shrink}: the pixels differ");
        }
        if !name.starts_with("baseline") {
            assert!(
                matches!(scan_plan(&source, 8), Some(ScanPlan::Filtered { .. })),
                "{name}: 1/8 skips scans"
            );
        }
    }
}

/// A JPEG with an EXIF APP1 segment carrying `orientation` (big-endian TIFF, one IFD entry).
fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    let length = u16::try_from(exif.len() + 2).expect("small");
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend(exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn engine(decoder: JpegDecoder, draft: bool, strictness: Strictness) -> VipsEngine {
    VipsEngine::with_strictness(strictness)
        .expect("libvips")
        .with_draft(draft)
        .with_jpeg_decoder(decoder)
}

fn keep_metadata(width: u32, height: u32) -> Plan {
    let mut plan = Plan::scale_to(Size { width, height }, OutputFormat::Jpeg);
    plan.strip_metadata = false;
    plan
}

/// Both decoders, both load paths (the draft load and libvips' thumbnail), the same bytes out.
/// Returns how many of the two paths our decode served (only a scale that skips scans takes it).
fn assert_same_output(name: &str, source: &[u8], plan: &Plan) -> u64 {
    let mut own_decodes = 0;
    for draft in [true, false] {
        let before = own_decodes_on_this_thread();
        let [own, libvips] = [JpegDecoder::Own, JpegDecoder::Libvips].map(|decoder| {
            engine(decoder, draft, Strictness::Warning)
                .transform(source, plan)
                .map(|encoded| (encoded.width, encoded.height, encoded.bytes))
                .map_err(|e| e.to_string())
        });
        assert_eq!(own, libvips, "{name}, draft {draft}");
        assert!(own.is_ok(), "{name}: {own:?}");
        own_decodes += own_decodes_on_this_thread() - before;
    }
    own_decodes
}

#[test]
fn every_orientation_icc_and_cmyk_come_out_as_libvips_makes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_inputs(dir.path());
    let progressive = run("jpegtran", &["-progressive", "baseline.jpg"], dir.path());
    // 1/8 of 203x157 is what both paths decode for a 12x9 output; 51x40 is decoded whole.
    for orientation in 1..=8 {
        let source = with_orientation(&progressive, orientation);
        let upright = |w, h| if orientation >= 5 { (h, w) } else { (w, h) };
        let name = format!("orientation {orientation}");
        let (w, h) = upright(12, 9);
        assert_eq!(
            assert_same_output(&name, &source, &keep_metadata(w, h)),
            2,
            "{name}"
        );
        let (w, h) = upright(51, 40);
        assert_eq!(
            assert_same_output(&name, &source, &keep_metadata(w, h)),
            0,
            "{name}"
        );
    }
    // libvips' built-in sRGB profile, and a CMYK file as Photoshop writes them (Adobe, inverted).
    run(
        "vips",
        &[
            "jpegsave",
            "baseline.jpg",
            "icc.jpg",
            "--profile",
            "srgb",
            "--interlace",
        ],
        dir.path(),
    );
    run(
        "vips",
        &["colourspace", "baseline.jpg", "cmyk.v", "cmyk"],
        dir.path(),
    );
    run(
        "vips",
        &["jpegsave", "cmyk.v", "cmyk.jpg", "--interlace"],
        dir.path(),
    );
    for name in ["icc.jpg", "cmyk.jpg"] {
        let source = std::fs::read(dir.path().join(name)).expect("fixture");
        assert!(matches!(
            scan_plan(&source, 8),
            Some(ScanPlan::Filtered { .. })
        ));
        // Neither is a plain JPEG: both paths go through the thumbnail, which decodes at 1/8 here.
        assert_eq!(assert_same_output(name, &source, &keep_metadata(12, 9)), 2);
    }
}

#[test]
fn damaged_files_get_the_status_libvips_gives_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = corpus(dir.path());
    let (_, progressive) = &corpus[1];
    let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        200,
        progressive.len() / 3,
        progressive.len() / 2,
        progressive.len() - 2,
    ] {
        damaged.push((format!("cut at {cut}"), progressive[..cut].to_vec()));
        // Cut, then closed with an end marker: a scan ends early.
        let mut closed = progressive[..cut].to_vec();
        closed.extend_from_slice(&[0xFF, 0xD9]);
        damaged.push((format!("cut at {cut}, closed"), closed));
    }
    // Garbage over the first (DC) scan's data, which every scale reads.
    let sos = progressive
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    let mut garbled = progressive.clone();
    for byte in &mut garbled[sos + 20..sos + 60] {
        *byte = 0xA5;
    }
    damaged.push(("garbled DC scan".into(), garbled));
    // Cut inside the last scan (luma's last refinement, which 1/8 skips) and closed: the scans the
    // scale reads are intact, so ours serves it where libvips warns. The one known difference.
    let last = progressive
        .windows(2)
        .rposition(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    let mut cut_late = progressive[..last + 40].to_vec();
    cut_late.extend_from_slice(&[0xFF, 0xD9]);
    let small = Plan::scale_to(
        Size {
            width: 25,
            height: 19,
        },
        OutputFormat::Png,
    );
    let served = engine(JpegDecoder::Own, true, Strictness::Warning).transform(&cut_late, &small);
    assert!(served.is_ok(), "{served:?}");
    for (name, source) in &damaged {
        for strictness in [Strictness::Warning, Strictness::Error] {
            let plan = Plan::scale_to(
                Size {
                    width: 25,
                    height: 19,
                },
                OutputFormat::Png,
            );
            let [own, libvips] = [JpegDecoder::Own, JpegDecoder::Libvips].map(|decoder| {
                engine(decoder, true, strictness)
                    .transform(source, &plan)
                    .map(|encoded| encoded.bytes)
                    .is_ok()
            });
            assert_eq!(own, libvips, "{name} at {strictness:?}");
        }
    }
}

/// A progressive JPEG (libvips' interlaced save, metadata stripped) of generated photo pixels.
fn progressive_photo(width: u32, height: u32, seed: u64, quality: u8) -> Vec<u8> {
    Image::from_pixels(&photo_pixels(width, height, seed), width, height, 3)
        .and_then(|image| {
            image.save(SaveFormat::Jpeg {
                quality,
                progressive: true,
                strip: true,
            })
        })
        .expect("a progressive jpeg")
}

#[test]
fn the_scan_cap_and_the_deadline_stop_the_decode() {
    let big = progressive_photo(1600, 1200, 2, 90);
    let header = Image::jpeg_header(&big, 1).expect("header");
    let capped = JpegDecode {
        shrink: 1,
        fail_on: FailOn::Warning,
        max_scans: 3,
        time_limit: None,
    };
    let stopped = Image::decode_jpeg(&big, &header, capped).map(|_| ());
    assert!(
        matches!(stopped, Err(JpegDecodeError::Stopped(_))),
        "{stopped:?}"
    );
    let hurried = JpegDecode {
        max_scans: 100,
        time_limit: Some(Duration::from_micros(1)),
        ..capped
    };
    let stopped = Image::decode_jpeg(&big, &header, hurried).map(|_| ());
    assert!(
        matches!(stopped, Err(JpegDecodeError::Stopped(_))),
        "{stopped:?}"
    );
    let unhurried = JpegDecode {
        max_scans: 100,
        ..capped
    };
    assert!(Image::decode_jpeg(&big, &header, unhurried).is_ok());
}

/// Found by fuzz/jpeg_load: libvips 8.14 aborts the process reading the header of a scale with no
/// rows (64x4 at 1/8); ours refuses it first.
#[test]
fn a_scale_with_no_rows_is_refused_not_aborted() {
    let thin = progressive_photo(64, 4, 1, 80);
    assert!(Image::jpeg_header(&thin, 8).is_err());
    assert_eq!(Image::jpeg_header(&thin, 4).expect("a header").height(), 1);
}
