//! Fuzzes the query parsers of `/resize`, `/text` and `/info`: any input must parse or be refused,
//! never panic, and what is accepted must be within the limits and parse the same way twice.
#![no_main]

use imgshield::engine::OutputFormat;
use imgshield::params::banner::TextRequest;
use imgshield::params::{FormatChoice, InfoParams, ParamLimits, Params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The server hands the parser a `&str`; lossy conversion lets every input reach it.
    let query = String::from_utf8_lossy(data);
    let limits = ParamLimits::default();
    if let Ok(banner) = TextRequest::parse(&query, &limits) {
        assert_eq!(
            TextRequest::parse(&query, &limits).map(|b| b.canonical()),
            Ok(banner.canonical())
        );
    }
    if let Ok(info) = InfoParams::parse(&query) {
        assert_eq!(InfoParams::parse(&query).as_ref().ok(), Some(&info));
    }
    let Ok(params) = Params::parse(&query, &limits) else {
        return;
    };
    assert_eq!(
        Params::parse(&query, &limits).as_ref(),
        Ok(&params),
        "parsing is deterministic"
    );
    assert_eq!(
        Params::parse(&query, &limits).map(|p| p.canonical()),
        Ok(params.canonical())
    );
    for side in [params.width, params.height].into_iter().flatten() {
        assert!(
            (1..=limits.max_dimension).contains(&side),
            "{side} accepted"
        );
    }
    if let Some(q) = params.quality {
        assert!((1..=100).contains(&q), "q={q} accepted");
    }
    if params.format == FormatChoice::Fixed(OutputFormat::Png) {
        assert_eq!(params.quality, None, "PNG is lossless: no quality");
    }
    // A tighter limit may only refuse more, never accept something different.
    let tight = ParamLimits {
        max_dimension: 64,
        ..ParamLimits::default()
    };
    if let Ok(small) = Params::parse(&query, &tight) {
        assert_eq!(small, params, "the limit changed what was parsed");
    }
});
