//! The `txt*` parameters: defaults, bounds, refusals and the canonical form.

use super::*;

fn limits() -> ParamLimits {
    ParamLimits::default()
}

fn spec(query: &str) -> Result<Option<TextSpec>, ParamError> {
    let mut values = TextValues::default();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        assert!(values.accept(&name, &value)?, "{name} is a text parameter");
    }
    TextSpec::parse(&values, &limits())
}

#[test]
fn defaults_are_documented_values() {
    let s = spec("txt=hello").expect("valid").expect("some");
    assert_eq!(s.text, "hello");
    assert_eq!(s.size, 32);
    assert_eq!(s.color, Rgba([0, 0, 0, 255]));
    assert_eq!(s.position, Gravity::Center);
    assert_eq!(s.font, "sans-serif");
    assert_eq!((s.margin, s.width, s.background), (16, None, None));
    assert_eq!(s.align, TextAlign::Center);
    assert_eq!(s.font_description(), "sans-serif 32px");
    assert_eq!(spec(""), Ok(None));
}

#[test]
fn every_parameter_parses() {
    let s = spec(
        "txt=a%26b&txtsize=64&txtcolor=f00&txtpos=bottom-right&txtfont=DejaVu%20%20Sans%20Bold\
         &txtwidth=300&txtalign=left&txtmargin=0&txtbg=00000080",
    )
    .expect("valid")
    .expect("some");
    assert_eq!(s.text, "a&b");
    assert_eq!((s.size, s.color), (64, Rgba([255, 0, 0, 255])));
    assert_eq!(s.position, Gravity::BottomRight);
    assert_eq!(s.font, "dejavu sans bold");
    assert_eq!(
        (s.width, s.align, s.margin),
        (Some(300), TextAlign::Left, 0)
    );
    assert_eq!(s.background, Some(Rgba([0, 0, 0, 128])));
    assert_eq!(s.box_padding(), 16);
}

#[test]
fn alignment_follows_the_position_unless_given() {
    let align = |q: &str| spec(q).expect("valid").expect("some").align;
    assert_eq!(align("txt=a&txtpos=top-left"), TextAlign::Left);
    assert_eq!(align("txt=a&txtpos=left"), TextAlign::Left);
    assert_eq!(align("txt=a&txtpos=southeast"), TextAlign::Right);
    assert_eq!(align("txt=a&txtpos=top"), TextAlign::Center);
    assert_eq!(
        align("txt=a&txtpos=right&txtalign=center"),
        TextAlign::Center
    );
}

#[test]
fn invalid_values_name_their_parameter() {
    let cases = [
        ("txt=", "txt"),
        ("txt=%20%0A%20", "txt"),
        ("txt=a%00b", "txt"),
        ("txt=a%1Bb", "txt"),
        ("txt=a%09b", "txt"),
        ("txt=a%E2%80%A8b", "txt"),
        ("txt=a&txtsize=5", "txtsize"),
        ("txt=a&txtsize=513", "txtsize"),
        ("txt=a&txtsize=+32", "txtsize"),
        ("txt=a&txtsize=big", "txtsize"),
        ("txt=a&txtcolor=red", "txtcolor"),
        ("txt=a&txtcolor=12345", "txtcolor"),
        ("txt=a&txtpos=middle", "txtpos"),
        ("txt=a&txtfont=", "txtfont"),
        ("txt=a&txtfont=Sans%2C%2012", "txtfont"),
        ("txt=a&txtfont=Sans%2012px", "txtfont"),
        ("txt=a&txtfont=Sans%20%3Cb%3E", "txtfont"),
        ("txt=a&txtfont=-Sans", "txtfont"),
        ("txt=a&txtfont=Sans%20%40wght%3D200", "txtfont"),
        ("txt=a&txtwidth=0", "txtwidth"),
        ("txt=a&txtwidth=8193", "txtwidth"),
        ("txt=a&txtalign=justify", "txtalign"),
        ("txt=a&txtmargin=-1", "txtmargin"),
        ("txt=a&txtmargin=4097", "txtmargin"),
        ("txt=a&txtbg=nope", "txtbg"),
        ("txtsize=12", "txtsize"),
        ("txtbg=fff", "txtbg"),
        ("txt=a&txt=b", "repeated txt"),
    ];
    for (query, name) in cases {
        let err = spec(query).expect_err(query);
        assert_eq!(name_of(err), name, "{query}");
    }
    let long = format!("txtfont={}", "a".repeat(65));
    assert_eq!(
        name_of(spec(&format!("txt=a&{long}")).expect_err("long")),
        "txtfont"
    );
}

#[test]
fn text_is_bounded_in_length_and_rendered_size() {
    assert!(spec(&format!("txt={}", "x".repeat(500))).is_ok());
    assert!(
        spec(&format!("txt={}", "好".repeat(500))).is_ok(),
        "500 CJK chars at 32 px"
    );
    let err = spec(&format!("txt={}", "x".repeat(501))).expect_err("too long");
    assert_eq!(name_of(err), "txt");
    // 300 characters at 512 px is far beyond the rendering budget.
    let err = spec(&format!("txt={}&txtsize=512", "x".repeat(300))).expect_err("huge");
    assert_eq!(name_of(err), "txt");
    // So are many short lines under one long one (wide *and* tall).
    let tall = format!("{}{}", "x".repeat(100), "\nx".repeat(150));
    let query = format!(
        "txt={}&txtsize=64",
        form_urlencoded::byte_serialize(tall.as_bytes()).collect::<String>()
    );
    assert_eq!(name_of(spec(&query).expect_err("tall")), "txt");
    // Combining marks stack upwards: a few are scripts, a pile is Zalgo.
    assert!(spec("txt=Vi%E1%BB%87t%20a%CC%81%CC%82").is_ok());
    let zalgo = format!("txt=a{}", "%CC%81".repeat(5));
    assert_eq!(name_of(spec(&zalgo).expect_err("zalgo")), "txt");
}

#[test]
fn estimates_cover_wrapping() {
    let s = spec("txt=abcdefghij&txtsize=10")
        .expect("valid")
        .expect("some");
    assert_eq!(s.estimated_size(1000), (100, 15));
    // Wrapped at 50 px: up to twice the 2 lines the length needs.
    assert_eq!(s.estimated_size(50), (50, 60));
    let lines = spec("txt=ab%0Acd%0D%0Aef&txtsize=10")
        .expect("valid")
        .expect("some");
    assert_eq!(lines.text, "ab\ncd\nef");
    assert_eq!(lines.estimated_size(1000), (20, 45));
}

#[test]
fn the_canonical_form_is_unambiguous_and_default_insensitive() {
    let a = spec("txt=hi").expect("ok").expect("some");
    let b = spec("txtpos=center&txt=hi&txtsize=32&txtcolor=000&txtfont=Sans-Serif&txtalign=center")
        .expect("ok")
        .expect("some");
    assert_eq!(a.canonical(), b.canonical());
    let c = spec("txt=hi&txtsize=33").expect("ok").expect("some");
    assert_ne!(a.canonical(), c.canonical());
    // The text cannot forge other fields.
    let forged = spec("txt=hi%26txtsize%3D33").expect("ok").expect("some");
    assert_ne!(forged.canonical(), c.canonical());
    assert!(!forged.canonical().contains("hi&"));
}
