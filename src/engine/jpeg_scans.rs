//! The scan plan: which scans of a progressive JPEG a decode at a DCT scale actually reads, and the
//! file without the others. Skipping them is exact: libjpeg-turbo's reduced IDCTs read only some
//! coefficients (1/8: DC; 1/4: rows and columns {0,1,3,5,7}; 1/2: all but row and column 4), so
//! a scan that carries none of those for any of its components changes no output pixel — provided
//! block smoothing is off, since smoothing rewrites DC where AC is missing (a complete file is
//! never smoothed, so a full decode matches). Most of a progressive decode's CPU is Huffman
//! decoding of the AC scans, which is what a small thumbnail skips.
//!
//! A skipped scan is never decoded, so its header is checked here as libjpeg would check it (legal
//! `Ss`/`Se`/`Ah`/`Al`, known components, defined Huffman tables, a sensible progression): where
//! libjpeg would fail or warn, or where the layout is anything but plain (junk between segments,
//! no end marker, a second frame, 12-bit or lossless data), there is no plan and libvips' own
//! loader decodes the file, so a broken file keeps the status it had; so does a file whose scans
//! stop before every coefficient is complete (cut short, then closed with an end marker). What a
//! skipped scan's entropy-coded data holds is never read, so damage confined to it (garbage, or a
//! cut inside the last scan) cannot make a decode warn: such a file is served, from intact scans.
//!
//! A [`ScanRule`] says what else a plan may drop. `Exact` (above) drops nothing more. `Bounded`
//! (the server's default, `--jpeg-scans bounded`) also drops, at 1/4 and 1/8 only, the AC
//! successive-approximation refinements of the coefficients the scale reads, keeping a prefix of
//! each coefficient's scans (see `bounded`). Chosen by measurement (docs/BENCHMARKS.md, "bounded-loss
//! rule"): on 15 photos (make-corpus 6-18 MP, written by libjpeg's script as cjpeg, jpegtran and
//! Pillow write it, 4:2:2, and two mozjpeg-style scripts) at widths decoded at 1/8 and 1/4, the
//! final thumbnail (draft decode, Lanczos3, q80) kept SSIM at least 0.9940 against the exact path
//! and 0.9923 against libvips' full-decode Lanczos (gate: 0.99 and 0.98; dropping only the last
//! refinement bit: 0.9950 and 0.9931, for less CPU saved; a 24-MP photo near its 1/4 size: 0.9924
//! and 0.9902), and cost 2.2x less decode CPU at 1/4 (3.2x fewer instructions), 1.13x less at 1/8. At 1/2 the issue measured the loss too
//! close to the output's own q80 error to be a default: never dropped there.

use super::jpeg_layout::{segment_length, skip_entropy_data};

mod bounded;
pub use bounded::ScanRule;

/// How a JPEG is to be decoded at a scale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanPlan {
    /// As it is: a sequential file, or every scan is needed.
    Whole,
    /// These bytes: the file without the scans the scale does not read.
    Filtered {
        bytes: Vec<u8>,
        kept: u32,
        dropped: u32,
    },
}

/// libjpeg's zig-zag order: the natural (row-major) index of the `k`th coefficient of a band.
const NATURAL_ORDER: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// libjpeg's limit on the blocks of an interleaved scan's MCU (`D_MAX_BLOCKS_IN_MCU`).
const MAX_BLOCKS_IN_MCU: u32 = 10;

#[derive(Clone, Copy, Debug)]
struct Component {
    id: u8,
    h: u8,
    v: u8,
}

#[derive(Debug)]
struct Frame {
    progressive: bool,
    huffman: bool,
    components: Vec<Component>,
}

#[derive(Debug)]
struct Scan {
    /// From the first 0xFF of its marker to the marker after its entropy-coded data.
    range: (usize, usize),
    /// Indices into the frame's components.
    components: Vec<usize>,
    ss: usize,
    se: usize,
    ah: u8,
    al: u8,
}

/// The exact plan for decoding `bytes` at 1/`shrink` (1, 2, 4 or 8), or `None` when the file is
/// not one this step decodes (libvips' loader should: see the module doc).
pub fn scan_plan(bytes: &[u8], shrink: u32) -> Option<ScanPlan> {
    scan_plan_under(bytes, shrink, ScanRule::Exact)
}

/// The plan for decoding `bytes` at 1/`shrink` under `rule` ([`scan_plan`] for
/// [`ScanRule::Exact`]).
pub fn scan_plan_under(bytes: &[u8], shrink: u32, rule: ScanRule) -> Option<ScanPlan> {
    let (frame, scans) = walk(bytes)?;
    if !frame.progressive {
        return Some(ScanPlan::Whole);
    }
    check_progression(&frame, &scans)?;
    let mut kept = kept_scans(&frame, &scans, shrink);
    bounded::drop_bounded(frame.components.len(), &scans, &mut kept, shrink, rule);
    let dropped = kept.iter().filter(|keep| !**keep).count();
    if dropped == 0 {
        return Some(ScanPlan::Whole);
    }
    let mut filtered = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for (scan, _) in scans.iter().zip(&kept).filter(|(_, keep)| !**keep) {
        filtered.extend_from_slice(bytes.get(at..scan.range.0)?);
        at = scan.range.1;
    }
    filtered.extend_from_slice(bytes.get(at..)?);
    Some(ScanPlan::Filtered {
        bytes: filtered,
        kept: u32::try_from(scans.len() - dropped).ok()?,
        dropped: u32::try_from(dropped).ok()?,
    })
}

/// The frame and every scan of a plainly laid-out file, checking each scan's header as libjpeg's
/// marker reader and input controller would.
fn walk(bytes: &[u8]) -> Option<(Frame, Vec<Scan>)> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut frame: Option<Frame> = None;
    let mut scans = Vec::new();
    // Huffman tables defined so far, by class (DC, AC) and slot: whether each would build.
    let mut tables = [[None::<bool>; 4]; 2];
    let mut at = 2;
    loop {
        // Segments follow each other directly; junk between them is left to libvips.
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let start = at;
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            0xD9 => break,
            0x00 | 0x01 | 0xD0..=0xD8 | 0xDC => return None,
            _ => {}
        }
        let length = segment_length(bytes, at)?;
        let body = bytes.get(at + 2..at + length)?;
        at += length;
        match marker {
            0xC0 | 0xC1 | 0xC2 | 0xC9 | 0xCA if frame.is_none() => {
                frame = Some(read_frame(marker, body)?)
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return None,
            0xC4 => read_tables(body, &mut tables)?,
            0xDA => {
                let frame = frame.as_ref()?;
                let mut scan = read_scan(frame, body, &tables)?;
                let end = skip_entropy_data(bytes, at);
                // No marker after the data: the file is cut short.
                if end >= bytes.len() {
                    return None;
                }
                scan.range = (start, end);
                scans.push(scan);
                at = end;
            }
            _ => {}
        }
    }
    let frame = frame?;
    (!scans.is_empty()).then_some((frame, scans))
}

fn read_frame(marker: u8, body: &[u8]) -> Option<Frame> {
    let [precision, _, _, _, _, count, rest @ ..] = body else {
        return None;
    };
    if *precision != 8 || !matches!(count, 1 | 3 | 4) || rest.len() != usize::from(*count) * 3 {
        return None;
    }
    let mut components: Vec<Component> = Vec::with_capacity(usize::from(*count));
    for c in rest.chunks_exact(3) {
        let (h, v) = (c[1] >> 4, c[1] & 0x0F);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
            return None;
        }
        if components.iter().any(|known| known.id == c[0]) {
            return None;
        }
        components.push(Component { id: c[0], h, v });
    }
    Some(Frame {
        progressive: matches!(marker, 0xC2 | 0xCA),
        huffman: matches!(marker, 0xC0..=0xC2),
        components,
    })
}

/// Records the tables of a DHT segment and whether libjpeg could build each (its code lengths do
/// not overflow, as `jpeg_make_d_derived_tbl` checks).
fn read_tables(mut body: &[u8], tables: &mut [[Option<bool>; 4]; 2]) -> Option<()> {
    while let [index, rest @ ..] = body {
        let (class, slot) = (usize::from(index >> 4), usize::from(index & 0x0F));
        let counts = rest.get(..16)?;
        let symbols: usize = counts.iter().map(|&n| usize::from(n)).sum();
        if class > 1 || slot > 3 || symbols > 256 {
            return None;
        }
        let values = rest.get(16..16 + symbols)?;
        let dc_values_fit = class == 1 || values.iter().all(|&v| v <= 15);
        *tables.get_mut(class)?.get_mut(slot)? = Some(codes_fit(counts) && dc_values_fit);
        body = rest.get(16 + symbols..)?;
    }
    Some(())
}

/// Canonical Huffman codes of these lengths fit, without the all-ones code of any length.
fn codes_fit(counts: &[u8]) -> bool {
    let mut code: u32 = 0;
    let Some(first) = counts.iter().position(|&n| n > 0) else {
        return true;
    };
    let last = counts.iter().rposition(|&n| n > 0).unwrap_or(first);
    for (length, &n) in counts.iter().enumerate().take(last + 1).skip(first) {
        code += u32::from(n);
        if code >= 1 << (length + 1) {
            return false;
        }
        code <<= 1;
    }
    true
}

/// A scan header as libjpeg's `get_sos`, `per_scan_setup` and progressive `start_pass` read it;
/// `None` where they would fail.
fn read_scan(frame: &Frame, body: &[u8], tables: &[[Option<bool>; 4]; 2]) -> Option<Scan> {
    let [count, rest @ ..] = body else {
        return None;
    };
    let count = usize::from(*count);
    if !(1..=4).contains(&count) || body.len() != 1 + 2 * count + 3 {
        return None;
    }
    let mut components: Vec<usize> = Vec::with_capacity(count);
    let mut selectors = Vec::with_capacity(count);
    for pair in rest.get(..2 * count)?.chunks_exact(2) {
        let index = frame.components.iter().position(|c| c.id == pair[0])?;
        if components.contains(&index) {
            return None;
        }
        components.push(index);
        selectors.push((usize::from(pair[1] >> 4), usize::from(pair[1] & 0x0F)));
    }
    let [ss, se, a] = rest.get(2 * count..)? else {
        return None;
    };
    let (ss, se, ah, al) = (usize::from(*ss), usize::from(*se), a >> 4, a & 0x0F);
    let blocks: u32 = components
        .iter()
        .map(|&i| u32::from(frame.components[i].h) * u32::from(frame.components[i].v))
        .sum();
    if count > 1 && blocks > MAX_BLOCKS_IN_MCU {
        return None;
    }
    let scan = Scan {
        range: (0, 0),
        components,
        ss,
        se,
        ah,
        al,
    };
    if frame.progressive && !legal_progressive(&scan) {
        return None;
    }
    if frame.huffman {
        for (dc, ac) in selectors {
            let needs = if scan.ss == 0 {
                (scan.ah == 0).then_some((0, dc))
            } else {
                Some((1, ac))
            };
            if let Some((class, slot)) = needs {
                tables.get(class)?.get(slot)?.filter(|ok| *ok)?;
            }
        }
    }
    Some(scan)
}

/// The checks of libjpeg's progressive `start_pass` that end in `JERR_BAD_PROGRESSION`.
fn legal_progressive(scan: &Scan) -> bool {
    let band = if scan.ss == 0 {
        scan.se == 0
    } else {
        scan.ss <= scan.se && scan.se <= 63 && scan.components.len() == 1
    };
    band && (scan.ah == 0 || scan.al + 1 == scan.ah) && scan.al <= 13
}

/// Replays libjpeg's successive-approximation bookkeeping (`coef_bits`): `None` where it would warn
/// of a bogus progression (an AC scan before its DC, a refinement that does not follow on), or
/// where the scans stop before every coefficient is complete, as in a file cut short and closed
/// with an end marker (libjpeg warns of the scan that ends early, which a plan might skip).
fn check_progression(frame: &Frame, scans: &[Scan]) -> Option<()> {
    let mut bits = vec![[-1i8; 64]; frame.components.len()];
    for scan in scans {
        for &c in &scan.components {
            let known = bits.get_mut(c)?;
            if scan.ss > 0 && known[0] < 0 {
                return None;
            }
            for bits in known.get_mut(scan.ss..=scan.se)? {
                if i16::from(scan.ah) != i16::from((*bits).max(0)) {
                    return None;
                }
                *bits = i8::try_from(scan.al).ok()?;
            }
        }
    }
    bits.iter().flatten().all(|&b| b == 0).then_some(())
}

/// Which scans to keep: those carrying a coefficient the scale reads, closed so that every
/// coefficient of a kept scan keeps all its scans (libjpeg's progression stays consistent).
fn kept_scans(frame: &Frame, scans: &[Scan], shrink: u32) -> Vec<bool> {
    let mut needed: Vec<[bool; 64]> = frame
        .components
        .iter()
        .map(|c| read_coefficients(idct_size(frame, c, shrink)))
        .collect();
    let mut kept = vec![false; scans.len()];
    loop {
        let mut changed = false;
        for (scan, keep) in scans
            .iter()
            .zip(kept.iter_mut())
            .filter(|(_, keep)| !**keep)
        {
            let touches = scan
                .components
                .iter()
                .any(|&c| (scan.ss..=scan.se).any(|k| needed[c][k]));
            if touches {
                *keep = true;
                changed = true;
                for &c in &scan.components {
                    needed[c][scan.ss..=scan.se].fill(true);
                }
            }
        }
        if !changed {
            return kept;
        }
    }
}

/// The IDCT size libjpeg-turbo uses for `component` at 1/`shrink` (`jpeg_calc_output_dimensions`):
/// a subsampled component gets a larger IDCT, so that upsampling has less to do.
fn idct_size(frame: &Frame, component: &Component, shrink: u32) -> u32 {
    let min = 8 / shrink.clamp(1, 8);
    let max_h = frame
        .components
        .iter()
        .map(|c| u32::from(c.h))
        .max()
        .unwrap_or(1);
    let max_v = frame
        .components
        .iter()
        .map(|c| u32::from(c.v))
        .max()
        .unwrap_or(1);
    let (h, v) = (u32::from(component.h), u32::from(component.v));
    let mut size = min;
    while size < 8
        && (max_h * min).is_multiple_of(h * size * 2)
        && (max_v * min).is_multiple_of(v * size * 2)
    {
        size *= 2;
    }
    size
}

/// The coefficients (in zig-zag order) an IDCT of `size` reads.
fn read_coefficients(size: u32) -> [bool; 64] {
    let rows: &[u8] = match size {
        1 => &[0],
        2 => &[0, 1, 3, 5, 7],
        4 => &[0, 1, 2, 3, 5, 6, 7],
        _ => &[0, 1, 2, 3, 4, 5, 6, 7],
    };
    let mut read = [false; 64];
    for (k, natural) in NATURAL_ORDER.iter().enumerate() {
        read[k] = rows.contains(&(natural / 8)) && rows.contains(&(natural % 8));
    }
    read
}

#[cfg(test)]
mod tests;
