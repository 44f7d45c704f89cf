//! `/resize` parsing: defaults, bounds, refusals and the canonical form.

use super::*;
use crate::params::Presets;

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

#[test]
fn every_name_is_listed_once() {
    field::assert_names_unique(fields::FIELDS);
}

#[test]
fn every_name_in_the_table_is_taken_by_its_parser() {
    // A name that no parser takes is refused as left over, so a query naming all of them (`p`
    // aside: it needs a preset) parses only if every row takes its own names.
    let query = "src=a.jpg&w=100&h=100&dpr=2&fit=cover&pos=focal&fx=0.2&fy=0.3&enlarge=1\
                 &crop=0,0,10,10&trim=5&pad=1&bg=fff&rot=90&flip=h&blur=1&sharpen=true&gray=1\
                 &fm=webp&q=80&prog=0&palette=0&lossless=0&anim=0&meta=keep&engine=rust\
                 &wm=logo.png&wmpos=top&wmscale=0.5&wmopacity=0.5&wmmargin=4&txt=hi&txtsize=20\
                 &txtcolor=fff&txtpos=top&txtfont=Sans&txtwidth=100&txtalign=left&txtmargin=2\
                 &txtbg=000&filename=photo&dl=1&sig=x";
    parse(query).expect("every parameter at once");
    let given: Vec<&str> = query
        .split('&')
        .filter_map(|pair| pair.split_once('=').map(|(name, _)| name))
        .collect();
    for name in fields::FIELDS.iter().flat_map(|f| f.names) {
        assert!(
            *name == "p" || given.contains(name),
            "'{name}' is not in the query"
        );
    }
}

#[test]
fn the_first_wrong_parameter_in_parse_order_is_named() {
    let named = |query: &str| match parse(query) {
        Err(ParamError::Invalid { name, .. }) => name,
        other => panic!("{query}: {other:?}"),
    };
    // The subject first, then the plain options, then the sizes `dpr` scales, then the watermark,
    // then the text, whatever the order of the query or of the canonical form.
    assert_eq!(named("txt=&wm=../x&w=0&fit=no&src=../x"), "src");
    assert_eq!(named("txt=&wm=../x&w=0&fit=no&src=a.jpg"), "fit");
    assert_eq!(named("txt=&wm=../x&w=0&engine=gpu&src=a.jpg"), "engine");
    assert_eq!(named("txt=&wm=../x&pad=x&dpr=9&src=a.jpg"), "dpr");
    assert_eq!(named("txt=&wm=../x&pad=x&w=0&src=a.jpg"), "w");
    assert_eq!(named("txt=&wm=../x&pad=x&src=a.jpg"), "pad");
    assert_eq!(named("txt=&wmpos=top&src=a.jpg"), "wmpos");
    assert_eq!(named("txt=&src=a.jpg"), "txt");
    // Within a group, its parser's order: fx/fy are checked before pos.
    assert_eq!(named("pos=nowhere&fy=2&src=a.jpg"), "fy");
    assert_eq!(named("pos=top&fx=0.5&src=a.jpg"), "pos");
    assert_eq!(named("w=5000&dpr=2&src=a.jpg"), "dpr");
    assert_eq!(named("w=8193&dpr=2&src=a.jpg"), "w");
}

#[test]
fn presets_expand_under_the_request_and_presets_only_refuses_the_rest() {
    let presets = Presets::parse(["thumb=w=200&h=200&fit=cover", "gray=gray=1"]).expect("valid");
    let limits = ParamLimits {
        presets,
        ..ParamLimits::default()
    };
    let p = Params::parse("src=a.jpg&p=thumb,gray&w=300", &limits).expect("valid");
    assert_eq!(
        p.canonical(),
        "w=300&h=200&fit=cover&fx=blur=&sharpen=&gray=1&src=local:a.jpg&"
    );
    let only = ParamLimits {
        presets_only: true,
        ..limits
    };
    assert!(Params::parse("src=a.jpg&p=thumb&sig=x", &only).is_ok());
    assert!(matches!(
        Params::parse("src=a.jpg&p=thumb&w=1", &only),
        Err(ParamError::Invalid { name: "w", .. })
    ));
}
