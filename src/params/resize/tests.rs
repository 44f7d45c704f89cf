//! `/resize` parsing: defaults, bounds, refusals and the canonical form.

use super::*;

fn parse(query: &str) -> Result<Params, ParamError> {
    Params::parse(query, &ParamLimits::default())
}

#[test]
fn defaults_are_applied() {
    let p = parse("src=a.jpg").expect("valid");
    assert_eq!(p.fit, Fit::Inside);
    assert_eq!(p.format, FormatChoice::Source);
    assert_eq!(
        (p.width, p.height, p.quality, p.enlarge),
        (None, None, None, false)
    );
}

#[test]
fn order_and_explicit_defaults_do_not_change_the_canonical_form() {
    let a = parse("src=a.jpg&w=300").expect("valid");
    let b = parse("w=300&fit=inside&enlarge=0&src=a.jpg").expect("valid");
    assert_eq!(a.canonical(), b.canonical());
    let c = parse("w=301&src=a.jpg").expect("valid");
    assert_ne!(a.canonical(), c.canonical());
}

#[test]
fn unknown_parameters_are_named() {
    let err = parse("src=a.jpg&width=3&zoom=2").expect_err("unknown");
    assert_eq!(err.to_string(), "unknown parameter(s): width, zoom");
}

#[test]
fn repeated_parameters_are_refused() {
    assert_eq!(
        parse("src=a.jpg&w=1&w=2"),
        Err(ParamError::Repeated("w".into()))
    );
}

#[test]
fn dimensions_are_bounded() {
    for bad in ["0", "8193", "-1", "3.5", "", "1e3", "99999999999"] {
        assert!(parse(&format!("src=a.jpg&w={bad}")).is_err(), "w={bad}");
        assert!(parse(&format!("src=a.jpg&h={bad}")).is_err(), "h={bad}");
    }
    assert_eq!(parse("src=a.jpg&w=8192").expect("max").width, Some(8192));
}

#[test]
fn quality_is_bounded_and_dropped_for_png() {
    assert!(parse("src=a.jpg&q=0").is_err());
    assert!(parse("src=a.jpg&q=101").is_err());
    assert_eq!(parse("src=a.jpg&q=55").expect("q").quality, Some(55));
    assert_eq!(parse("src=a.jpg&q=55&fm=png").expect("q").quality, None);
}

#[test]
fn formats_and_fits_parse() {
    assert_eq!(
        parse("src=a.jpg&fm=webp").expect("webp").format,
        FormatChoice::Fixed(OutputFormat::Webp)
    );
    assert_eq!(
        parse("src=a.jpg&fm=auto").expect("auto").format,
        FormatChoice::Auto
    );
    assert!(parse("src=a.jpg&fm=bmp").is_err());
    assert_eq!(parse("src=a.jpg&fit=cover").expect("cover").fit, Fit::Cover);
    assert!(parse("src=a.jpg&fit=crop").is_err());
}

#[test]
fn engine_is_named_or_left_to_the_server() {
    assert_eq!(parse("src=a.jpg").expect("none").engine, None);
    assert_eq!(
        parse("src=a.jpg&engine=rust").expect("rust").engine,
        Some(EngineChoice::Rust)
    );
    assert!(parse("src=a.jpg&engine=gpu").is_err());
    let named = parse("src=a.jpg&engine=vips").expect("vips");
    assert_ne!(
        named.canonical(),
        parse("src=a.jpg").expect("ok").canonical()
    );
}

#[test]
fn src_is_required() {
    assert_eq!(parse("w=3"), Err(ParamError::MissingSrc));
}

#[test]
fn garbage_never_panics() {
    // A cheap deterministic fuzz: random bytes, percent-escapes and separators.
    let alphabet = b"src=wh&fitmq%25%2e%00./:?#\\\xff0123456789auto";
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..20_000 {
        let len = (state % 40) as usize;
        let mut query = Vec::with_capacity(len);
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            query.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let _ = parse(&String::from_utf8_lossy(&query));
    }
}
