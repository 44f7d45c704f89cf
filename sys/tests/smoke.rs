//! Link and smoke test: the library links, initialises and reports a version at least the one
//! build.rs demanded.

use std::ffi::{CStr, CString};

#[test]
fn vips_initialises_and_reports_its_version() {
    let argv0 = CString::new("vips-sys-smoke").expect("no NUL in a literal");
    // SAFETY: argv0 is a valid NUL-terminated string that outlives the call; init may run once per
    // process and this test binary calls it once.
    let rc = unsafe { vips_sys::imgshield_init(argv0.as_ptr()) };
    assert_eq!(rc, 0, "vips_init failed");

    // SAFETY: vips is initialised; the version string is static and NUL-terminated.
    let version = unsafe { CStr::from_ptr(vips_sys::vips_version_string()) };
    let version = version.to_str().expect("version is ASCII");
    // SAFETY: plain integer queries after init.
    let (major, minor) = unsafe { (vips_sys::vips_version(0), vips_sys::vips_version(1)) };
    assert!(
        version.starts_with(&format!("{major}.{minor}")),
        "{version}"
    );
    assert!(
        (major, minor) >= (8, 13),
        "libvips {version} is older than 8.13"
    );
}
