//! Process policy, applied once by [`init`]: which loaders run, libvips' cache and threads off,
//! GLib log lines routed into our logs, and glibc's malloc arenas bounded.

use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int};
use std::ptr;
use std::sync::OnceLock;

use vips_sys as ffi;

use super::VipsError;

/// Facts about the library, fixed after [`init`].
#[derive(Debug)]
pub struct Runtime {
    pub version: String,
}

static RUNTIME: OnceLock<Result<Runtime, VipsError>> = OnceLock::new();

/// Loaders we accept. Everything else (SVG, PDF, ImageMagick, matrix, raw, ...) is blocked: those
/// parse complex untrusted formats or reach the file system, and an image proxy has no use for them.
const ALLOWED_LOADERS: [&CStr; 6] = [
    c"VipsForeignLoadJpeg",
    c"VipsForeignLoadPng",
    c"VipsForeignLoadWebp",
    c"VipsForeignLoadNsgif",
    c"VipsForeignLoadHeif",
    c"VipsForeignLoadTiff",
];

/// Initialises libvips once per process and applies our settings; later calls return the same result.
pub fn init() -> Result<&'static Runtime, VipsError> {
    RUNTIME.get_or_init(start).as_ref().map_err(Clone::clone)
}

/// The one start of libvips (`OnceLock` runs it once).
fn start() -> Result<Runtime, VipsError> {
    limit_malloc_arenas();
    let argv0 = CString::new("imgshield").map_err(|e| VipsError(e.to_string()))?;
    // SAFETY: argv0 is NUL-terminated and outlives the call; OnceLock guarantees this runs once.
    if unsafe { ffi::imgshield_init(argv0.as_ptr()) } != 0 {
        return Err(VipsError::take("vips_init failed"));
    }
    route_logs();
    apply_policy();
    // SAFETY: returns a static NUL-terminated string after init.
    let version = unsafe { CStr::from_ptr(ffi::vips_version_string()) }
        .to_string_lossy()
        .into_owned();
    Ok(Runtime { version })
}

/// Sends libvips' GLib log lines to [`route_glib_log`].
fn route_logs() {
    // SAFETY: the domain is a static C string and the handler is a plain function with
    // GLogFunc's signature that lives for the whole program.
    unsafe {
        ffi::g_log_set_handler(
            c"VIPS".as_ptr(),
            ffi::G_LOG_LEVEL_CRITICAL
                | ffi::G_LOG_LEVEL_WARNING
                | ffi::G_LOG_LEVEL_MESSAGE
                | ffi::G_LOG_LEVEL_INFO
                | ffi::G_LOG_LEVEL_DEBUG,
            Some(route_glib_log),
            ptr::null_mut(),
        );
    }
}

/// Cache, threads and the loader allowlist.
fn apply_policy() {
    // SAFETY: plain setters on an initialised library; the names are static C strings.
    unsafe {
        // We cache results ourselves; libvips' operation cache would only hold memory.
        ffi::vips_cache_set_max(0);
        // NOTE(perf): parallelism comes from our worker pool (one operation per core); libvips'
        // own threads mostly contend with it on small machines.
        ffi::vips_concurrency_set(1);
        ffi::vips_block_untrusted_set(1);
        ffi::vips_operation_block_set(c"VipsForeignLoad".as_ptr(), 1);
        for loader in ALLOWED_LOADERS {
            ffi::vips_operation_block_set(loader.as_ptr(), 0);
        }
        // libvips marks its JPEG XL saver untrusted with the loader; writing our own pixels is
        // not parsing untrusted input, so the saver is allowed. The loader stays blocked.
        ffi::vips_operation_block_set(c"VipsForeignSaveJxl".as_ptr(), 0);
    }
}

/// Lets libvips decode JPEG XL sources (`--allow-jxl-source`), or blocks it again. Process-wide:
/// `render` also refuses JPEG XL sources of a server that did not allow them.
pub fn allow_jxl_loader(allowed: bool) {
    if init().is_err() {
        return;
    }
    // SAFETY: a plain setter on an initialised library; the name is a static C string.
    unsafe { ffi::vips_operation_block_set(c"VipsForeignLoadJxl".as_ptr(), (!allowed).into()) };
}

/// Routes libvips' GLib log lines into our logs instead of raw stderr. Warnings about broken sources
/// ("error in tile ...") are expected on bad input and already surface as a 422, so they are debug.
unsafe extern "C" fn route_glib_log(
    _domain: *const c_char,
    level: c_int,
    message: *const c_char,
    _user_data: *mut c_void,
) {
    if message.is_null() {
        return;
    }
    // SAFETY: GLib passes a NUL-terminated message valid for the duration of the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    if level & ffi::G_LOG_LEVEL_CRITICAL != 0 {
        tracing::warn!(target: "libvips", "{text}");
    } else {
        tracing::debug!(target: "libvips", "{text}");
    }
}

/// glibc gives every thread that mallocs its own arena and keeps freed multi-megabyte pixel buffers
/// in them, which makes a long-running libvips server's RSS creep up (imgproxy issue #116). Two
/// arenas took peak RSS under 32 concurrent 24-MP misses from 108 to 84 MiB (docs/BENCHMARKS.md).
/// An explicit `MALLOC_ARENA_MAX` in the environment wins. Irrelevant, and skipped, when the binary
/// replaces malloc with jemalloc (the default `jemalloc` feature).
fn limit_malloc_arenas() {
    #[cfg(all(target_env = "gnu", not(feature = "jemalloc")))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only adjusts allocator tuning; called before libvips starts its threads.
        unsafe { ffi::mallopt(ffi::M_ARENA_MAX, 2) };
    }
}
