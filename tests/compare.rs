//! `imgshield compare` as a rollout gate: the real binary over a directory of generated images.

mod common;

use std::process::{Command, Output};

fn compare(dir: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imgshield"))
        .arg("compare")
        .arg(dir)
        .args(["--runs", "1"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run imgshield compare")
}

fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("photo.jpg"), common::photo_jpeg(900, 600)).expect("write");
    std::fs::write(dir.path().join("alpha.png"), common::rgba_png(300, 200)).expect("write");
    std::fs::write(dir.path().join("notes.txt"), b"not an image: ignored").expect("write");
    dir
}

#[test]
fn both_engines_are_compared_per_case_and_in_total() {
    let dir = corpus();
    let out = compare(
        dir.path(),
        &[
            "--params",
            "w=300",
            "--params",
            "w=200&h=200&fit=cover&fm=png",
        ],
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{table}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Two images x two parameter sets, each a row with its verdict.
    for row in [
        "| alpha.png | w=300 | 300x200 |",
        "| photo.jpg | w=300 | 300x200 |",
        "| photo.jpg | w=200&h=200&fit=cover&fm=png | 200x200 |",
    ] {
        assert!(table.contains(row), "missing {row:?} in\n{table}");
    }
    assert_eq!(table.matches("| pass |").count(), 4, "{table}");
    assert!(
        table.contains("compared 4, passed 4, failed 0, skipped 0, errors 0"),
        "{table}"
    );
}

#[test]
fn json_carries_the_measures_and_thresholds_gate_the_exit_code() {
    let dir = corpus();
    let out = compare(dir.path(), &["--json", "--params", "w=300&fm=webp"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // The Rust engine cannot write WebP: skipped (production falls back), not failed.
    assert_eq!(report["summary"]["skipped"], 2, "{report}");
    assert_eq!(report["cases"][0]["outcome"]["status"], "skipped");

    let out = compare(dir.path(), &["--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let case = &report["cases"][1]["outcome"];
    assert_eq!(case["status"], "compared");
    let ssim = case["ssim"].as_f64().expect("ssim");
    assert!((0.95..=1.0).contains(&ssim), "{case}");
    assert!(case["time_ratio"].as_f64().expect("ratio") > 0.0);

    // An impossible SSIM bound fails the gate.
    let out = compare(dir.path(), &["--min-ssim", "1.5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL"));
}

#[test]
fn an_empty_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = compare(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no JPEG, PNG, WebP or GIF files"));
}
