//! Plan resolution on made-up headers: sizes, crops, pads and limits, without decoding anything.

use super::steps::follow_turns;
use super::*;
use crate::engine::{Crop, Placement};
use crate::params::{ParamLimits, Params, Position};
use crate::types::{Flip, Milli, Rotation, SourceFormat};

const MAX: u64 = 8192 * 8192;

fn info(width: u32, height: u32) -> SourceInfo {
    SourceInfo {
        width,
        height,
        format: SourceFormat::Jpeg,
        has_alpha: false,
        pages: 1,
    }
}

fn plan(query: &str, width: u32, height: u32) -> Plan {
    let params = Params::parse(query, &ParamLimits::default()).expect("valid params");
    resolve(&params, &info(width, height), OutputFormat::Jpeg, MAX).expect("plan")
}

fn size(width: u32, height: u32) -> Size {
    Size { width, height }
}

#[test]
fn width_only_keeps_aspect() {
    let p = plan("src=a&w=300", 4000, 3000);
    assert_eq!(p.resize, size(300, 225));
    assert_eq!(p.output_size(), size(300, 225));
}

#[test]
fn height_only_keeps_aspect() {
    assert_eq!(plan("src=a&h=300", 4000, 3000).resize, size(400, 300));
}

#[test]
fn inside_fits_within_the_box() {
    assert_eq!(
        plan("src=a&w=300&h=300", 4000, 3000).output_size(),
        size(300, 225)
    );
    assert_eq!(
        plan("src=a&w=300&h=300", 3000, 4000).output_size(),
        size(225, 300)
    );
}

#[test]
fn never_enlarges_unless_asked() {
    assert_eq!(plan("src=a&w=800", 400, 300).output_size(), size(400, 300));
    assert_eq!(
        plan("src=a&w=800&enlarge=1", 400, 300).output_size(),
        size(800, 600)
    );
}

#[test]
fn cover_fills_and_crops_the_centre() {
    let p = plan("src=a&w=300&h=300&fit=cover", 4000, 3000);
    assert_eq!(p.resize, size(400, 300));
    assert_eq!(
        p.crop,
        Some(Crop::Fixed(Rect {
            left: 50,
            top: 0,
            width: 300,
            height: 300
        }))
    );
    assert_eq!(p.output_size(), size(300, 300));
}

#[test]
fn a_focal_point_turns_and_mirrors_with_the_pixels() {
    let at = |x, y| Position::Focal {
        x: Milli(x),
        y: Milli(y),
    };
    let none = Flip::default();
    let h = Flip {
        horizontal: true,
        vertical: false,
    };
    assert_eq!(
        follow_turns(at(100, 200), Rotation::None, none),
        at(100, 200)
    );
    assert_eq!(
        follow_turns(at(100, 200), Rotation::Quarter, none),
        at(800, 100)
    );
    assert_eq!(
        follow_turns(at(100, 200), Rotation::Half, none),
        at(900, 800)
    );
    assert_eq!(
        follow_turns(at(100, 200), Rotation::ThreeQuarters, none),
        at(200, 900)
    );
    assert_eq!(follow_turns(at(100, 200), Rotation::None, h), at(900, 200));
}

#[test]
fn cover_on_a_small_source_crops_what_it_has() {
    let p = plan("src=a&w=300&h=300&fit=cover", 200, 100);
    assert_eq!(p.output_size(), size(200, 100));
}

#[test]
fn contain_pads_to_the_exact_box() {
    let p = plan("src=a&w=300&h=300&fit=contain", 4000, 3000);
    assert_eq!(p.resize, size(300, 225));
    assert_eq!(
        p.pad,
        Some(Placement {
            canvas: size(300, 300),
            left: 0,
            top: 38
        })
    );
    assert_eq!(p.background, Rgba::WHITE);
    // A small source is padded too, not enlarged.
    assert_eq!(
        plan("src=a&w=300&h=300&fit=contain", 100, 50).output_size(),
        size(300, 300)
    );
}

#[test]
fn fill_stretches() {
    assert_eq!(
        plan("src=a&w=300&h=100&fit=fill", 4000, 3000).output_size(),
        size(300, 100)
    );
    assert_eq!(
        plan("src=a&w=300&h=5000&fit=fill", 4000, 3000).output_size(),
        size(300, 3000)
    );
}

#[test]
fn outside_covers_without_cropping() {
    assert_eq!(
        plan("src=a&w=300&h=300&fit=outside", 4000, 3000).output_size(),
        size(400, 300)
    );
}

#[test]
fn extreme_aspect_ratios_never_reach_zero() {
    assert_eq!(plan("src=a&w=10", 10000, 1).output_size(), size(10, 1));
}

#[test]
fn output_pixels_are_capped() {
    let params = Params::parse(
        "src=a&w=8192&h=8192&fit=outside&enlarge=1",
        &ParamLimits::default(),
    )
    .expect("valid");
    let err = resolve(&params, &info(1, 1000), OutputFormat::Jpeg, MAX);
    assert!(matches!(err, Err(PlanError::OutputTooLarge { .. })));
}

#[test]
fn formats_with_a_size_limit_refuse_larger_outputs() {
    let params = Params::parse(
        "src=a&w=20000&enlarge=1",
        &ParamLimits {
            max_dimension: 30000,
            ..ParamLimits::default()
        },
    )
    .expect("valid");
    let webp = resolve(&params, &info(1000, 10), OutputFormat::Webp, u64::MAX);
    assert!(
        matches!(webp, Err(PlanError::TooLargeForFormat { max: 16383, .. })),
        "{webp:?}"
    );
    assert!(resolve(&params, &info(1000, 10), OutputFormat::Png, u64::MAX).is_ok());
}
