//! The quality gate of the bounded-loss scan rule (`--jpeg-scans bounded`): for progressive photos
//! from each encoder script, at widths whose draft decode is at 1/8 and at 1/4, the final
//! thumbnail (draft decode + Lanczos3 + JPEG q80, what `/resize` returns) must keep SSIM >= 0.99
//! against the exact path and >= 0.98 against libvips' full-decode Lanczos, and libjpeg must not
//! warn about the filtered stream (the decode runs with `fail_on=warning`, which refuses on any
//! warning). The fast version runs on small photo-like files; `full_corpus_gate` (ignored) runs
//! the same gate on a directory of real files and prints the figures for docs/BENCHMARKS.md.

mod jpegtools;

use std::path::Path;

use imgshield::engine::vips::{draft_shrink, own_decodes_on_this_thread, JpegDecoder, VipsEngine};
use imgshield::engine::{scan_plan_under, Engine, OutputFormat, Plan, ScanPlan, ScanRule, Size};
use imgshield::quality::{ssim, Luma};
use imgshield::vips::{FailOn, Image, JpegDecode, SaveFormat};
use jpegtools::run;

/// mozjpeg-style scripts: DC at full precision first, luma 1-2 and 3-63 at Al=2, its refinements
/// last; chroma at full precision (Cr first), or with a refinement of its own (Cb first).
const MOZJPEG_LIKE: [&str; 2] = [
    "0,1,2: 0-0, 0, 0;\n0: 1-2, 0, 2;\n0: 3-63, 0, 2;\n2: 1-63, 0, 0;\n1: 1-63, 0, 0;\n\
     0: 1-63, 2, 1;\n0: 1-63, 1, 0;\n",
    "0,1,2: 0-0, 0, 0;\n0: 1-2, 0, 2;\n0: 3-63, 0, 2;\n1: 1-63, 0, 1;\n2: 1-63, 0, 1;\n\
     0: 1-63, 2, 1;\n1: 1-63, 1, 0;\n2: 1-63, 1, 0;\n0: 1-63, 1, 0;\n",
];

/// `photo.ppm` in `dir` written as a progressive JPEG by each encoder script.
fn scripts(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let baseline = run("cjpeg", &["-quality", "90", "photo.ppm"], dir);
    std::fs::write(dir.join("baseline.jpg"), baseline).expect("baseline");
    let mut out = vec![
        (
            "cjpeg -progressive".to_string(),
            run(
                "cjpeg",
                &["-quality", "90", "-progressive", "photo.ppm"],
                dir,
            ),
        ),
        (
            "cjpeg -progressive 4:2:2".to_string(),
            run(
                "cjpeg",
                &[
                    "-quality",
                    "90",
                    "-progressive",
                    "-sample",
                    "2x1",
                    "photo.ppm",
                ],
                dir,
            ),
        ),
        (
            "jpegtran -progressive".to_string(),
            run("jpegtran", &["-progressive", "baseline.jpg"], dir),
        ),
    ];
    for (i, script) in MOZJPEG_LIKE.iter().enumerate() {
        let name = format!("mozjpeg{i}.scans");
        std::fs::write(dir.join(&name), script).expect("scans");
        let args = ["-quality", "90", "-scans", name.as_str(), "photo.ppm"];
        out.push((
            format!("cjpeg -scans mozjpeg-like {i}"),
            run("cjpeg", &args, dir),
        ));
    }
    out
}

/// How the stream our decode reads is made from a file at a scale.
#[derive(Clone, Copy, Debug)]
enum Stream {
    Under(ScanRule),
    /// Over-lossy on purpose, to see the gate fail: at 1/4, only what 1/8 reads (luma DC).
    EighthAtQuarter,
}

fn stream(source: &[u8], shrink: u32, how: Stream) -> Vec<u8> {
    let (rule, plan_shrink) = match how {
        Stream::Under(rule) => (rule, shrink),
        Stream::EighthAtQuarter => (ScanRule::Exact, if shrink == 4 { 8 } else { shrink }),
    };
    match scan_plan_under(source, plan_shrink, rule).expect("a plan") {
        ScanPlan::Whole => source.to_vec(),
        ScanPlan::Filtered { bytes, .. } => bytes,
    }
}

fn q80(image: &Image<'_>) -> Luma {
    let format = SaveFormat::Jpeg {
        quality: 80,
        progressive: false,
        strip: true,
    };
    let jpeg = image.save(format).expect("q80 save");
    let decoded = Image::jpeg_shrunk(&jpeg, 1, false, FailOn::Warning).expect("reload");
    let pixels = decoded.decode_to_memory().expect("pixels");
    Luma::from_interleaved(
        decoded.width(),
        decoded.height(),
        decoded.bands() as usize,
        &pixels,
    )
}

/// The thumbnail `/resize` makes of `source` at `width` (draft decode, Lanczos3, q80), with the
/// decode reading `how`'s stream; the scale decoded at.
fn draft_thumbnail(source: &[u8], (width, height): (u32, u32), how: Stream) -> (Luma, u32) {
    let whole = Image::header_from_buffer(source).expect("header");
    let shrink = draft_shrink((whole.width(), whole.height()), (width, height));
    let header = Image::jpeg_header(source, shrink).expect("scaled header");
    let decode = JpegDecode {
        shrink,
        fail_on: FailOn::Warning,
        max_scans: 1000,
        time_limit: None,
    };
    let decoded = Image::decode_jpeg(&stream(source, shrink, how), &header, decode)
        .unwrap_or_else(|e| panic!("{how:?} at 1/{shrink}: libjpeg refused or warned: {e}"));
    let resized = decoded.resize_to(width, height).expect("resize");
    (q80(&resized), shrink)
}

/// libvips' full-decode Lanczos (`thumbnail_image` of the whole decode), q80.
fn full_decode_thumbnail(source: &[u8], (width, height): (u32, u32)) -> Luma {
    let full = Image::jpeg_shrunk(source, 1, false, FailOn::Warning).expect("full decode");
    q80(&full
        .thumbnail_of_decoded(width, height, false)
        .expect("thumbnail"))
}

/// Widths whose draft decode is at 1/8 and at 1/4 (near the decode size, where the loss shows
/// most, and half-way down), with heights that keep the aspect.
fn gate_sizes(source: &[u8]) -> Vec<(u32, u32)> {
    let header = Image::header_from_buffer(source).expect("header");
    let (w, h) = (header.width(), header.height());
    [
        w / 8 * 19 / 20,
        w / 8 * 6 / 10,
        w / 4 * 19 / 20,
        w / 4 * 6 / 10,
    ]
    .into_iter()
    .map(|width| {
        (
            width,
            (u64::from(width) * u64::from(h) / u64::from(w)) as u32,
        )
    })
    .collect()
}

/// The lowest SSIM of `how`'s thumbnails against the exact path's and against libvips' full
/// decode, over the gate's widths; each (scale, width, against exact, against full) printed.
fn gate(name: &str, source: &[u8], how: Stream) -> (f64, f64) {
    let mut worst = (1.0f64, 1.0f64);
    for size in gate_sizes(source) {
        let (ours, shrink) = draft_thumbnail(source, size, how);
        let (exact, _) = draft_thumbnail(source, size, Stream::Under(ScanRule::Exact));
        let full = full_decode_thumbnail(source, size);
        let against_exact = ssim(&ours, &exact).expect("same size");
        let against_full = ssim(&ours, &full).expect("same size");
        println!(
            "{name}\t{how:?}\t1/{shrink}\tw={}\texact {against_exact:.4}\tfull {against_full:.4}",
            size.0
        );
        worst = (worst.0.min(against_exact), worst.1.min(against_full));
    }
    worst
}

/// A 2-MP photo-like file from `scripts/make-corpus.sh` (the benchmark corpus's generator: libvips'
/// progressive save, i.e. libjpeg's script), as a PPM written again by each encoder script.
fn small_corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-corpus.sh");
    let made = run(
        "bash",
        &[&script.to_string_lossy(), "--progressive", ".", "1", "2"],
        dir,
    );
    let made = String::from_utf8_lossy(&made);
    let path = made.lines().next().expect("make-corpus prints its file");
    let ppm = run("djpeg", &["-ppm", path], dir);
    std::fs::write(dir.join("photo.ppm"), ppm).expect("ppm");
    scripts(dir)
}

#[test]
fn bounded_thumbnails_pass_the_quality_gate_for_every_script() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, source) in small_corpus(dir.path()) {
        let plan = scan_plan_under(&source, 4, ScanRule::Bounded).expect("a plan");
        assert!(
            matches!(plan, ScanPlan::Filtered { .. }),
            "{name}: the bounded rule drops scans at 1/4"
        );
        let (exact, full) = gate(&name, &source, Stream::Under(ScanRule::Bounded));
        assert!(
            exact >= 0.99,
            "{name}: SSIM {exact:.4} against the exact path"
        );
        assert!(
            full >= 0.98,
            "{name}: SSIM {full:.4} against the full decode"
        );
    }
}

#[test]
fn the_gate_fails_an_over_lossy_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = small_corpus(dir.path());
    let (name, source) = &corpus[0];
    let (exact, full) = gate(name, source, Stream::EighthAtQuarter);
    assert!(
        exact < 0.99 && full < 0.98,
        "{name}: luma DC only at 1/4 passed the gate ({exact:.4}, {full:.4})"
    );
}

/// `--jpeg-scans bounded` reaches the load step: our decode serves the draft load, the output
/// differs from the exact one (the refinements were not read) and stays within the gate.
#[test]
fn the_bounded_decoder_is_what_the_engine_uses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = small_corpus(dir.path());
    let (_, source) = &corpus[0];
    let mut plan = Plan::scale_to(
        Size {
            width: 412,
            height: 275,
        },
        OutputFormat::Jpeg,
    );
    plan.quality = 80;
    let [exact, bounded] = [JpegDecoder::Own, JpegDecoder::OwnBounded].map(|decoder| {
        let engine = VipsEngine::new()
            .expect("libvips")
            .with_draft(true)
            .with_jpeg_decoder(decoder);
        let before = own_decodes_on_this_thread();
        let out = engine.transform(source, &plan).expect("transform").bytes;
        // At 1/4 the exact plan of libjpeg's default script drops nothing: libvips decodes.
        let own = u64::from(decoder == JpegDecoder::OwnBounded);
        assert_eq!(own_decodes_on_this_thread() - before, own, "{decoder:?}");
        let image = Image::jpeg_shrunk(&out, 1, false, FailOn::Warning).expect("reload");
        let pixels = image.decode_to_memory().expect("pixels");
        let luma = Luma::from_interleaved(412, 275, image.bands() as usize, &pixels);
        drop(image);
        (out, luma)
    });
    assert_ne!(exact.0, bounded.0, "the bounded rule changed nothing");
    let similarity = ssim(&exact.1, &bounded.1).expect("same size");
    assert!(similarity >= 0.99, "SSIM {similarity:.4}");
    let engine = |decoder| {
        VipsEngine::new()
            .expect("libvips")
            .with_jpeg_decoder(decoder)
    };
    assert_ne!(
        engine(JpegDecoder::OwnBounded).version(),
        engine(JpegDecoder::Own).version(),
        "the response cache key must tell the rules apart"
    );
}

/// The gate on every `*.jpg` of `IMGSHIELD_GATE_DIR` (real progressive photos), for each rule:
/// `cargo test --release --test jpeg_bounded -- --ignored --nocapture`.
#[test]
#[ignore]
fn full_corpus_gate() {
    let dir = std::env::var("IMGSHIELD_GATE_DIR").expect("IMGSHIELD_GATE_DIR");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("gate dir")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "jpg"))
        .collect();
    files.sort();
    for rule in [ScanRule::Bounded, ScanRule::BoundedLastBit] {
        let mut worst = (1.0f64, 1.0f64);
        for path in &files {
            let source = std::fs::read(path).expect("file");
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let (exact, full) = gate(&name.unwrap_or_default(), &source, Stream::Under(rule));
            worst = (worst.0.min(exact), worst.1.min(full));
        }
        println!(
            "{rule:?}: worst SSIM {:.4} against exact, {:.4} against full",
            worst.0, worst.1
        );
    }
}

#[test]
fn the_flag_picks_the_rule_and_bounded_is_the_default() {
    use clap::Parser;
    use imgshield::config::Config;
    let decoder = |args: &[&str]| {
        let all = [&["imgshield"], args].concat();
        Config::try_parse_from(all)
            .expect("valid flags")
            .engine_jpeg_decoder()
    };
    assert_eq!(decoder(&[]), JpegDecoder::OwnBounded);
    assert_eq!(decoder(&["--jpeg-scans", "exact"]), JpegDecoder::Own);
    assert_eq!(
        decoder(&["--jpeg-scans", "bounded"]),
        JpegDecoder::OwnBounded
    );
    assert_eq!(
        decoder(&["--jpeg-decoder", "libvips", "--jpeg-scans", "bounded"]),
        JpegDecoder::Libvips
    );
}

/// The odd layouts libjpeg decodes (4:1:1, 4:4:4, grey, restart markers, arithmetic coding): the
/// bounded stream decodes at 1/4 and 1/8 without a libjpeg warning, at the header's size.
#[test]
fn odd_layouts_decode_under_the_bounded_rule_without_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    small_corpus(dir.path());
    for extra in [
        &["-sample", "4x1"][..],
        &["-sample", "1x1"],
        &["-grayscale"],
        &["-restart", "1"],
        &["-arithmetic"],
    ] {
        let args = [&["-quality", "90", "-progressive"], extra, &["photo.ppm"]].concat();
        let source = run("cjpeg", &args, dir.path());
        for shrink in [4, 8] {
            let stream = stream(&source, shrink, Stream::Under(ScanRule::Bounded));
            assert!(
                stream.len() < source.len(),
                "{extra:?} 1/{shrink}: drops scans"
            );
            let header = Image::jpeg_header(&source, shrink).expect("header");
            let decode = JpegDecode {
                shrink,
                fail_on: FailOn::Warning,
                max_scans: 1000,
                time_limit: None,
            };
            let image = Image::decode_jpeg(&stream, &header, decode)
                .unwrap_or_else(|e| panic!("{extra:?} at 1/{shrink}: {e}"));
            assert_eq!(
                (image.width(), image.height(), image.bands()),
                (header.width(), header.height(), header.bands()),
                "{extra:?} 1/{shrink}"
            );
        }
    }
}

/// Where each scan of `jpeg` starts and ends (its SOS marker to the next marker that is not a
/// restart or a stuffed byte).
fn scan_ranges(jpeg: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xD9 {
        let length = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let mut end = at + 2 + length;
        if jpeg[at + 1] == 0xDA {
            while jpeg[end] != 0xFF || matches!(jpeg[end + 1], 0x00 | 0xD0..=0xD7) {
                end += 1;
            }
            ranges.push((at, end));
        }
        at = end;
    }
    ranges
}

/// What the rule keeps a prefix of each coefficient's scans for: dropping a refinement but keeping
/// a later one of the same coefficients makes libjpeg warn, and the gate's decode refuses it.
#[test]
fn a_refinement_kept_after_a_dropped_one_makes_libjpeg_warn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, source) = small_corpus(dir.path()).swap_remove(0);
    let scans = scan_ranges(&source);
    // libjpeg's script: the sixth scan is Y 1-63 at Ah=2, Al=1; the tenth, Y 1-63 at Ah=1, Al=0.
    assert_eq!(scans.len(), 10);
    let (start, end) = scans[5];
    assert_eq!(
        source[start + 4..start + 10],
        [1, 1, source[start + 6], 1, 63, 0x21]
    );
    let stream = [&source[..start], &source[end..]].concat();
    let header = Image::jpeg_header(&source, 4).expect("header");
    let decode = JpegDecode {
        shrink: 4,
        fail_on: FailOn::Warning,
        max_scans: 1000,
        time_limit: None,
    };
    let refused = Image::decode_jpeg(&stream, &header, decode).map(|_| ());
    let message = refused
        .expect_err("libjpeg accepted a bogus progression")
        .to_string();
    assert!(message.contains("progression"), "{message}");
    // Under fail_on=error the same stream decodes: it is a warning.
    let lenient = JpegDecode {
        fail_on: FailOn::Error,
        ..decode
    };
    assert!(Image::decode_jpeg(&stream, &header, lenient).is_ok());
}
