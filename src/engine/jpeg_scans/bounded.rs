//! The bounded-loss rule: at 1/4 and 1/8, a plan may also drop the AC successive-approximation
//! refinement scans of the coefficients the scale reads. Those coefficients then keep the precision
//! of their first pass (the low `Al` bits are zero), so the error is bounded by the quantisation
//! step times 2^`Al`, on coefficients whose weight in a reduced IDCT is small. What is dropped is a
//! suffix of each coefficient's successive-approximation chain, so the progression libjpeg sees is
//! still consistent (a kept scan never refines bits a dropped one should have sent).

use super::Scan;

/// Which scans a plan may drop (`--jpeg-scans`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScanRule {
    /// Only scans the scale does not read: bit-identical to a full decode at that scale.
    #[default]
    Exact,
    /// Also, at 1/4 and 1/8, every AC refinement scan (`Ss` > 0, `Ah` > 0), and any later scan of
    /// the same coefficients. DC refinements are kept (they are small and cheap).
    Bounded,
    /// A measured alternative to [`ScanRule::Bounded`]: only the last refinement of each AC band
    /// (`Ah` > 0, `Al` = 0), keeping the earlier ones.
    BoundedLastBit,
}

impl ScanRule {
    /// Whether the rule drops `scan` (a scan the scale reads) at 1/`shrink`.
    fn drops(self, scan: &Scan, shrink: u32) -> bool {
        let refinement = scan.ss > 0 && scan.ah > 0;
        matches!(shrink, 4 | 8)
            && match self {
                ScanRule::Exact => false,
                ScanRule::Bounded => refinement,
                ScanRule::BoundedLastBit => refinement && scan.al == 0,
            }
    }
}

/// Unmarks in `kept` the scans `rule` drops at 1/`shrink`, and with each every later scan that
/// touches one of its coefficients: each coefficient keeps a prefix of its scans.
pub(super) fn drop_bounded(
    components: usize,
    scans: &[Scan],
    kept: &mut [bool],
    shrink: u32,
    rule: ScanRule,
) {
    if rule == ScanRule::Exact {
        return;
    }
    let mut cut = vec![[false; 64]; components];
    for (scan, keep) in scans.iter().zip(kept.iter_mut()).filter(|(_, keep)| **keep) {
        let band = scan.ss..=scan.se;
        let after_a_cut = scan
            .components
            .iter()
            .any(|&c| cut[c][band.clone()].contains(&true));
        if after_a_cut || rule.drops(scan, shrink) {
            *keep = false;
            for &c in &scan.components {
                cut[c][band.clone()].fill(true);
            }
        }
    }
}
