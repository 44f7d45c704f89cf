//! Writes the sources `scripts/deadline-check.sh` measures with into a directory:
//! `scan-heavy.jpg` (7000×7000, 1891 scans) and `photo-25mp.jpg` (5000×5000).
//!
//! `cargo run --release --example deadline_fixtures -- <dir>`

use std::path::PathBuf;

fn main() -> Result<(), String> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: deadline_fixtures <dir>")?,
    );
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    imgshield::vips::init().map_err(|e| e.to_string())?;
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    };
    write(
        "scan-heavy.jpg",
        imgshield::samples::scan_heavy_jpeg(7000, 7000, 9),
    )?;
    let photo = imgshield::samples::photo_jpeg(5000, 5000, 25, 85).map_err(|e| e.to_string())?;
    write("photo-25mp.jpg", photo)
}
