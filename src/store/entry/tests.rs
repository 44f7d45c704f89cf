//! Round trips, and every way stored bytes can be wrong.

use super::*;
use crate::engine::rust::RustEngine;
use crate::params::{ParamLimits, Params};

fn key(src: &str) -> CacheKey {
    let params = Params::parse(&format!("src={src}"), &ParamLimits::default()).expect("valid");
    CacheKey::new(&params, None, &RustEngine::new())
}

fn sample() -> Rendition {
    let body = Bytes::from(
        (0..5000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let caching = Caching {
        max_age: Some(Duration::from_secs(600)),
        since: Some(Instant::now()),
        last_modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        cache_control: Some("public, max-age=600".into()),
        ..Caching::default()
    };
    Rendition::json(
        body,
        "vips",
        Duration::from_millis(3),
        Duration::from_millis(9),
    )
    .with_caching(caching)
    .with_disposition(Some(HeaderValue::from_static(
        "inline; filename=\"a.json\"",
    )))
}

#[test]
fn an_entry_comes_back_as_it_went_in() {
    let (k, r) = (key("a.jpg"), sample());
    let back = decode(&k, &encode(&k, &r)).expect("valid entry");
    assert_eq!(back.body, r.body);
    assert_eq!(back.content_type, r.content_type);
    assert_eq!(back.etag, r.etag);
    assert_eq!((back.format, back.engine), ("json", "vips"));
    assert_eq!(back.disposition, r.disposition);
    assert_eq!(back.last_modified, r.last_modified);
    assert_eq!(back.caching.cache_control, r.caching.cache_control);
    assert_eq!(back.caching.last_modified, r.caching.last_modified);
    assert_eq!(back.caching.store, Store::Public);
    assert_eq!(unix_ms(back.created), unix_ms(r.created));
    assert_eq!(back.transform_time, Duration::from_millis(9));
    let left = back.caching.remaining().expect("a lifetime");
    assert!(left <= Duration::from_secs(600) && left > Duration::from_secs(590));
    assert!(back.is_fresh(Duration::from_secs(60)));
}

#[test]
fn age_and_lifetime_survive_the_round_trip() {
    let k = key("a.jpg");
    let mut r = sample();
    r.created = SystemTime::now() - Duration::from_secs(120);
    r.caching.since = Instant::now().checked_sub(Duration::from_secs(590));
    let back = decode(&k, &encode(&k, &r)).expect("valid entry");
    assert!(back.age() >= Duration::from_secs(120));
    assert!(!back.is_fresh(Duration::from_secs(60)));
    let left = back.caching.remaining().expect("a lifetime");
    assert!(left <= Duration::from_secs(10));
    let plain = Rendition::json(
        Bytes::from_static(b"{}"),
        "rust",
        Duration::ZERO,
        Duration::ZERO,
    );
    let back = decode(&k, &encode(&k, &plain)).expect("valid entry");
    assert_eq!(back.caching, Caching::default());
    assert_eq!(back.disposition, None);
}

#[test]
fn every_truncation_is_rejected() {
    let (k, r) = (key("a.jpg"), sample());
    let whole = encode(&k, &r);
    for len in 0..whole.len() {
        let cut = whole.slice(..len);
        assert!(decode(&k, &cut).is_err(), "accepted a {len}-byte prefix");
    }
    let mut longer = BytesMut::from(&whole[..]);
    longer.put_u8(0);
    assert_eq!(decode(&k, &longer.freeze()).err(), Some(Invalid::Length));
}

#[test]
fn a_flipped_bit_anywhere_is_rejected() {
    let (k, r) = (key("a.jpg"), sample());
    let whole = encode(&k, &r);
    for at in (0..whole.len()).step_by(7) {
        let mut bad = whole.to_vec();
        bad[at] ^= 0x10;
        assert!(
            decode(&k, &Bytes::from(bad)).is_err(),
            "accepted a flip at {at}"
        );
    }
}

#[test]
fn an_entry_under_another_key_is_rejected() {
    let r = sample();
    let stored = encode(&key("a.jpg"), &r);
    assert_eq!(
        decode(&key("b.jpg"), &stored).err(),
        Some(Invalid::Checksum)
    );
}

#[test]
fn another_version_is_a_miss_not_a_misread() {
    let k = key("a.jpg");
    let mut bytes = encode(&k, &sample()).to_vec();
    bytes[4] = 2;
    assert_eq!(
        decode(&k, &Bytes::from(bytes)).err(),
        Some(Invalid::Version(2))
    );
}
