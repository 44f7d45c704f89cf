//! Probes the system libvips with pkg-config (never assumes a path) and compiles the fixed-arity C shim
//! against the headers it found.

/// 8.13 is the oldest release with `vips_block_untrusted_set` and the `fail_on` load option we rely on.
const MIN_VIPS: &str = "8.13";

fn main() {
    println!("cargo:rerun-if-changed=shim.c");
    println!("cargo:rerun-if-changed=shim.h");
    println!("cargo:rerun-if-changed=ops.c");
    println!("cargo:rerun-if-changed=ops.h");
    println!("cargo:rerun-if-changed=jpeg.c");
    println!("cargo:rerun-if-changed=jpeg.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=text.c");
    println!("cargo:rerun-if-changed=text.h");
    println!("cargo:rerun-if-changed=text_jpeg.c");
    println!("cargo:rerun-if-changed=text_jpeg.h");

    let lib = match pkg_config::Config::new()
        .atleast_version(MIN_VIPS)
        .probe("vips")
    {
        Ok(lib) => lib,
        Err(err) => {
            eprintln!(
                "vips-sys: libvips >= {MIN_VIPS} was not found by pkg-config ({err}).\n\
                 On Debian or Ubuntu install it with:  apt-get install -y libvips-dev pkg-config"
            );
            std::process::exit(1);
        }
    };

    // jpeg.c calls libjpeg directly: the system libjpeg-turbo that libvips itself links (one
    // libjpeg in the process; a second, static one would clash on the `jpeg_*` symbols).
    let jpeg = match pkg_config::Config::new().probe("libjpeg") {
        Ok(jpeg) => jpeg,
        Err(err) => {
            eprintln!(
                "vips-sys: libjpeg was not found by pkg-config ({err}).\n\
                 On Debian or Ubuntu install it with:  apt-get install -y libjpeg62-turbo-dev"
            );
            std::process::exit(1);
        }
    };

    let mut build = cc::Build::new();
    build
        .file("shim.c")
        .file("ops.c")
        .file("jpeg.c")
        .warnings(true)
        .extra_warnings(true);
    for path in lib.include_paths.iter().chain(&jpeg.include_paths) {
        build.include(path);
    }
    build.compile("imgshield_vips_shim");
    build_text();
    println!("cargo:version={}", lib.version);
}

/// `text.c` and `text_jpeg.c`: Pango, Cairo and the system libjpeg (the one libvips links: one
/// libjpeg in the process) called directly. All are libvips' own dependencies, loaded with it
/// anyway, and their -dev packages come with libvips-dev.
fn build_text() {
    let pango = probe("pangocairo", "libpango1.0-dev");
    let jpeg = probe("libjpeg", "libjpeg-dev");
    let mut build = cc::Build::new();
    build
        .file("text.c")
        .file("text_jpeg.c")
        .warnings(true)
        .extra_warnings(true);
    for path in pango.include_paths.iter().chain(&jpeg.include_paths) {
        build.include(path);
    }
    build.compile("imgshield_text");
}

/// The pkg-config `name`, or exit naming the Debian `package` that provides it.
fn probe(name: &str, package: &str) -> pkg_config::Library {
    pkg_config::Config::new().probe(name).unwrap_or_else(|err| {
        eprintln!(
            "vips-sys: {name} was not found by pkg-config ({err}).\n\
             On Debian or Ubuntu install it with:  apt-get install -y {package}"
        );
        std::process::exit(1);
    })
}
