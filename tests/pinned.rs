//! Pins what a refactor must not change: the canonical form of every route's parameters, the cache
//! keys made from them, and the ETags (hashes of the output bytes) of a set of real responses.
//!
//! A cache key that changes silently empties every cache in a rolling deploy, and a changed ETag
//! makes every CDN and browser download again; both must only change on purpose, with this table.
//! The ETags depend on the libvips, libjpeg and font packages of the machine (Debian's, installed by
//! `scripts/install-deps.sh`): a different build of those may legitimately change them.

mod common;

use common::{Fixtures, Server};
use http::StatusCode;
use imgshield::cache::CacheKey;
use imgshield::engine::rust::RustEngine;
use imgshield::engine::AcceptClass;
use imgshield::params::banner::TextRequest;
use imgshield::params::{InfoParams, ParamLimits, Params, Presets};

/// Compares every `(label, actual)` with its expected value and reports all differences at once,
/// with the whole actual table, so a deliberate change can be reviewed and pasted in one go.
fn check(expected: &[(&str, &str)], actual: &[(String, String)]) {
    let mut wrong: Vec<String> = expected
        .iter()
        .zip(actual)
        .filter(|((label, want), (got_label, got))| label != got_label || want != got)
        .map(|((label, want), (_, got))| format!("{label}: expected {want:?}, got {got:?}"))
        .collect();
    if expected.len() != actual.len() {
        wrong.push(format!(
            "{} expected rows, {} actual",
            expected.len(),
            actual.len()
        ));
    }
    let table: String = actual
        .iter()
        .map(|(label, value)| format!("    ({label:?}, {value:?}),\n"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} pinned value(s) changed:\n{}\nthe actual table:\n{table}",
        wrong.len(),
        wrong.join("\n")
    );
}

const RESIZE_QUERIES: [&str; 14] = [
    "src=a.jpg",
    "w=300&src=a.jpg&fit=inside&enlarge=0",
    "src=https://cdn.example.com/p/42.jpg?v=3&w=400&h=400&fit=cover&pos=attention&fm=webp&q=70",
    "src=a.jpg&w=300&h=200&fit=contain&bg=ff000080&pad=4&dpr=2",
    "src=a.jpg&crop=10,20,300,200&trim=true&rot=90&flip=hv&fx=0.2&fy=0.7&w=100&h=100&fit=cover",
    "src=a.jpg&w=300&blur=1.5&sharpen=true&gray=1&fm=png&q=50&palette=1",
    "src=a.jpg&w=300&fm=jpeg&q=80&prog=1&meta=keep&anim=0",
    "src=a.jpg&w=300&fm=webp&lossless=1&q=90",
    "src=a.jpg&w=300&fm=auto&engine=rust",
    "src=a.jpg&w=300&wm=logo.png&wmpos=top-left&wmscale=0.25&wmopacity=0.5&wmmargin=8",
    "src=a.jpg&w=300&txt=Hello%20world&txtsize=24&txtcolor=ff0000&txtpos=bottom&txtalign=right",
    "src=a.jpg&w=300&txt=%E6%97%A5%E6%9C%AC&txtfont=Noto%20Sans%20CJK%20JP&txtwidth=200&txtbg=00000080&txtmargin=4",
    "src=a.jpg&h=250&pos=bottom-left&w=100&fit=contain",
    "src=dir/b%20c.png&w=64&fm=gif",
];

const RESIZE_EXPECTED: &[(&str, &str)] = &[
    ("src=a.jpg", "src=local:a.jpg& CacheKey(Hash(\"1e9c10ede32dfab20ce983f2dfb5ef0f3e6d5bd67ef9506f91d3f1775492599b\"))"),
    ("w=300&src=a.jpg&fit=inside&enlarge=0", "w=300&src=local:a.jpg& CacheKey(Hash(\"68992cdee452fe51e6c750dafdb8b7f7b96b30858b2bc99f60eb0ae759eb520f\"))"),
    ("src=https://cdn.example.com/p/42.jpg?v=3&w=400&h=400&fit=cover&pos=attention&fm=webp&q=70", "w=400&h=400&fit=cover&pos=attention&fm=webp&q=70&src=https://cdn.example.com/p/42.jpg?v=3& CacheKey(Hash(\"3f351fbcee8f76a050e6fab2fe6237ef41dbb97d619814e8d3efe035f7bdf913\"))"),
    ("src=a.jpg&w=300&h=200&fit=contain&bg=ff000080&pad=4&dpr=2", "w=600&h=400&fit=contain&pad=8,8,8,8&bg=ff000080&src=local:a.jpg& CacheKey(Hash(\"59ad4efef1cc12ea130472855261d0597f62904a1499a9918bd76f22278fc358\"))"),
    ("src=a.jpg&crop=10,20,300,200&trim=true&rot=90&flip=hv&fx=0.2&fy=0.7&w=100&h=100&fit=cover", "w=100&h=100&fit=cover&pos=focal:0.200,0.700&crop=10,20,300,200&trim=10&rot=90&flip=hv&src=local:a.jpg& CacheKey(Hash(\"ef18ef32cf9fea4779c793f10f92957c744127e41d992d8a787a48525c5416fd\"))"),
    ("src=a.jpg&w=300&blur=1.5&sharpen=true&gray=1&fm=png&q=50&palette=1", "w=300&fx=blur=1.500&sharpen=1.000&gray=1&fm=png&palette=1&src=local:a.jpg& CacheKey(Hash(\"68c7388657b68830646399489675934f940894571757fecc264201b2eac4335a\"))"),
    ("src=a.jpg&w=300&fm=jpeg&q=80&prog=1&meta=keep&anim=0", "w=300&fm=jpeg&prog=1&anim=0&meta=keep&src=local:a.jpg& CacheKey(Hash(\"4f264f07af48b974ceedad9955e1916381849f8c5564ab7d631897fb021dd4cd\"))"),
    ("src=a.jpg&w=300&fm=webp&lossless=1&q=90", "w=300&fm=webp&lossless=1&src=local:a.jpg& CacheKey(Hash(\"c48e696012b6cf54434a907abebb31508ec7d34e0166f091e2c3bc51834823f0\"))"),
    ("src=a.jpg&w=300&fm=auto&engine=rust", "w=300&fm=auto&engine=rust&src=local:a.jpg& CacheKey(Hash(\"1188ce7c903f76e4d6a346ca735e66807f5645a8a090ae840fc012275cff30dd\"))"),
    ("src=a.jpg&w=300&wm=logo.png&wmpos=top-left&wmscale=0.25&wmopacity=0.5&wmmargin=8", "w=300&wm=top-left,0.250,0.500,8,14:local:logo.png&src=local:a.jpg& CacheKey(Hash(\"ea4a915aca75728e2d8133975e3ad939b88291dfb46a68be6a71b12e48a561d6\"))"),
    ("src=a.jpg&w=300&txt=Hello%20world&txtsize=24&txtcolor=ff0000&txtpos=bottom&txtalign=right", "w=300&txt=txtsize=24&txtcolor=ff0000ff&txtpos=bottom&txtfont=sans-serif&txtwidth=&txtalign=right&txtmargin=16&txtbg=&txt=Hello+world&src=local:a.jpg& CacheKey(Hash(\"159d9fee880086dd81eb142221a0b43e796911faf087799d7502c8058357969e\"))"),
    ("src=a.jpg&w=300&txt=%E6%97%A5%E6%9C%AC&txtfont=Noto%20Sans%20CJK%20JP&txtwidth=200&txtbg=00000080&txtmargin=4", "w=300&txt=txtsize=32&txtcolor=000000ff&txtpos=center&txtfont=noto+sans+cjk+jp&txtwidth=200&txtalign=center&txtmargin=4&txtbg=00000080&txt=%E6%97%A5%E6%9C%AC&src=local:a.jpg& CacheKey(Hash(\"2dc55661d6dca065ca5249819d885bf72521f691f103842fe390572583b02bea\"))"),
    ("src=a.jpg&h=250&pos=bottom-left&w=100&fit=contain", "w=100&h=250&fit=contain&pos=bottom-left&src=local:a.jpg& CacheKey(Hash(\"de2267ebb23e156198eb822e7f8d276646fc821e11ce22adac1346bae9a21925\"))"),
    ("src=dir/b%20c.png&w=64&fm=gif", "w=64&fm=gif&src=local:dir/b c.png& CacheKey(Hash(\"ec3e6174da6c4469c42a156b4261f82713611188f57b91a34e576255e673c9ec\"))"),
];

#[test]
fn resize_canonical_forms_and_keys_are_pinned() {
    let engine = RustEngine::new().with_draft(true);
    let limits = ParamLimits::default();
    let mut actual = Vec::new();
    for query in RESIZE_QUERIES {
        let params = Params::parse(query, &limits).expect("valid query");
        let key = CacheKey::new(&params, Some(AcceptClass::Webp), &engine);
        actual.push((query.to_string(), format!("{} {key:?}", params.canonical())));
    }
    check(RESIZE_EXPECTED, &actual);
}

const OTHER_QUERIES: [&str; 6] = [
    "info:src=a.jpg",
    "info:bhy=5&src=https://cdn.example.com/x.png&bhx=7",
    "text:txt=Hello",
    "text:txt=Sale%20-50%25&w=400&h=100&bg=ffcc00&fm=jpeg&q=70&txtsize=40&txtpos=left",
    "text:txt=%E4%BD%A0%E5%A5%BD&fm=auto&txtcolor=fff&txtbg=000",
    "text:txt=a&fm=png&q=90&txtalign=center&txtwidth=50",
];

const OTHER_EXPECTED: &[(&str, &str)] = &[
    ("info:src=a.jpg", "bhx=4&bhy=3&src=local:a.jpg CacheKey(Hash(\"a9d84fcf424ad9bda761eb53f94982552fef74ea92d58b490bf425eb2b9e5603\"))"),
    ("info:bhy=5&src=https://cdn.example.com/x.png&bhx=7", "bhx=7&bhy=5&src=https://cdn.example.com/x.png CacheKey(Hash(\"72ef3bf4573f05e9d931f12dcb4475774ddb89bc11440d00fd37631e0e7a21b6\"))"),
    ("text:txt=Hello", "w=&h=&bg=ffffffff&fm=png&q=&txtsize=32&txtcolor=000000ff&txtpos=center&txtfont=sans-serif&txtwidth=&txtalign=center&txtmargin=16&txtbg=&txt=Hello CacheKey(Hash(\"67f41c357913ac3335df17ac3e698fab377fb3bbec7bc4b6179f88cfcdaa363a\"))"),
    ("text:txt=Sale%20-50%25&w=400&h=100&bg=ffcc00&fm=jpeg&q=70&txtsize=40&txtpos=left", "w=400&h=100&bg=ffcc00ff&fm=jpeg&q=70&txtsize=40&txtcolor=000000ff&txtpos=left&txtfont=sans-serif&txtwidth=&txtalign=left&txtmargin=16&txtbg=&txt=Sale+-50%25 CacheKey(Hash(\"10d306ab1c61f9243a1deeeae0e67882058ee3ea254caa81339fa471ea2d7be4\"))"),
    ("text:txt=%E4%BD%A0%E5%A5%BD&fm=auto&txtcolor=fff&txtbg=000", "w=&h=&bg=ffffffff&fm=auto&q=&txtsize=32&txtcolor=ffffffff&txtpos=center&txtfont=sans-serif&txtwidth=&txtalign=center&txtmargin=16&txtbg=000000ff&txt=%E4%BD%A0%E5%A5%BD CacheKey(Hash(\"392e07463cc0b35cc06168a51fd2ee8c974afa809f14317ff4d3ebf9cd01cd00\"))"),
    ("text:txt=a&fm=png&q=90&txtalign=center&txtwidth=50", "w=&h=&bg=ffffffff&fm=png&q=&txtsize=32&txtcolor=000000ff&txtpos=center&txtfont=sans-serif&txtwidth=50&txtalign=center&txtmargin=16&txtbg=&txt=a CacheKey(Hash(\"c961bf30ba9c3e725ef1a87b007e779d97cb3d38514139d9feb54e87922b537b\"))"),
];

#[test]
fn info_and_text_canonical_forms_and_keys_are_pinned() {
    let engine = RustEngine::new().with_draft(true);
    let limits = ParamLimits::default();
    let mut actual = Vec::new();
    for labelled in OTHER_QUERIES {
        let (route, query) = labelled.split_once(':').expect("route:query");
        let (canonical, key) = if route == "info" {
            let params = InfoParams::parse(query).expect("valid /info query");
            let key = CacheKey::info(&params, &engine);
            (params.canonical(), key)
        } else {
            let params = TextRequest::parse(query, &limits).expect("valid /text query");
            let key = CacheKey::for_route(
                "text",
                &params.canonical(),
                Some(AcceptClass::Avif),
                &engine,
            );
            (params.canonical(), key)
        };
        actual.push((labelled.to_string(), format!("{canonical} {key:?}")));
    }
    check(OTHER_EXPECTED, &actual);
}

/// Parameters and combinations the tables above cover thinly, and presets: pinned before `params`
/// became one parameter table per route (#13).
const MORE_RESIZE_QUERIES: [&str; 14] = [
    "src=a.jpg&w=200&h=100&fit=cover&pos=entropy&enlarge=1",
    "src=a.jpg&w=200&h=100&fit=cover&fx=0.1",
    "src=a.jpg&w=200&h=100&fit=cover&pos=focal&fx=0.5&fy=0.5",
    "src=a.jpg&w=200&h=100&fit=fill&pos=top",
    "src=a.jpg&h=120&fit=outside&sharpen=2.5&blur=0.3&trim=40",
    "src=a.jpg&w=100&h=100&fit=contain&pad=1,2,3,4&bg=0f08&rot=180&flip=v",
    "src=a.jpg&w=100&fm=avif&q=50&lossless=1&palette=1&prog=1",
    "src=a.jpg&w=100&fm=webp&q=80&palette=1&prog=1",
    "src=a.jpg&w=100&fm=gif&anim=1&meta=strip&engine=vips",
    "src=a.jpg&w=100&wm=https://cdn.example.com/logo.png",
    "src=a.jpg&w=100&txt=a&txtalign=centre&txtfont=DejaVu%20%20Sans%20Bold&txtpos=top-left",
    "src=a.jpg&p=thumb",
    "src=a.jpg&p=thumb,gray&w=300&fit=inside",
    "src=https://cdn.example.com/a.jpg&p=gray&fm=jpeg&q=80&sig=abc",
];

const MORE_RESIZE_EXPECTED: &[(&str, &str)] = &[
    ("src=a.jpg&w=200&h=100&fit=cover&pos=entropy&enlarge=1", "w=200&h=100&fit=cover&pos=entropy&enlarge=1&src=local:a.jpg& CacheKey(Hash(\"3c1de27ec32c66dfddcea22ed160c1c83fc2bd2269e53515246c543d3b15f084\"))"),
    ("src=a.jpg&w=200&h=100&fit=cover&fx=0.1", "w=200&h=100&fit=cover&pos=focal:0.100,0.500&src=local:a.jpg& CacheKey(Hash(\"24d18a9d0c79ee977c30c85f59d06545fc440a4d75c3ad7e1162d2a6510b5ebe\"))"),
    ("src=a.jpg&w=200&h=100&fit=cover&pos=focal&fx=0.5&fy=0.5", "w=200&h=100&fit=cover&src=local:a.jpg& CacheKey(Hash(\"e7cb6f4c44f1c15753810e0f8647537dcf06e19f249dd79c952c63e27639258f\"))"),
    ("src=a.jpg&w=200&h=100&fit=fill&pos=top", "w=200&h=100&fit=fill&src=local:a.jpg& CacheKey(Hash(\"d01d887bde8b0aed50c9b488f746ac90399baab260be7eb09e99bce0f8a749a0\"))"),
    ("src=a.jpg&h=120&fit=outside&sharpen=2.5&blur=0.3&trim=40", "h=120&fit=outside&trim=40&fx=blur=0.300&sharpen=2.500&gray=0&src=local:a.jpg& CacheKey(Hash(\"f74c8d81dd4626dbc5c3c2a1b5a37d81bf40bd2a08d679639152355075c1165f\"))"),
    ("src=a.jpg&w=100&h=100&fit=contain&pad=1,2,3,4&bg=0f08&rot=180&flip=v", "w=100&h=100&fit=contain&pad=1,2,3,4&bg=00ff0088&rot=180&flip=v&src=local:a.jpg& CacheKey(Hash(\"6e5e3d744fc81938e1d21ba3327560ac78e8fb0d0bb8f964be1f42175621d79a\"))"),
    ("src=a.jpg&w=100&fm=avif&q=50&lossless=1&palette=1&prog=1", "w=100&fm=avif&q=50&src=local:a.jpg& CacheKey(Hash(\"5bf850692d1883c875e8759e8a30ed2da39aa79b5af136a2f699d6f07bb092c9\"))"),
    ("src=a.jpg&w=100&fm=webp&q=80&palette=1&prog=1", "w=100&fm=webp&src=local:a.jpg& CacheKey(Hash(\"d89d6ee9d48f242c74f2bcc60cf2d1d18b5670494efde3bd0c2c36b83a678f94\"))"),
    ("src=a.jpg&w=100&fm=gif&anim=1&meta=strip&engine=vips", "w=100&fm=gif&engine=vips&src=local:a.jpg& CacheKey(Hash(\"347b0877df0dc2344860017571e21483f5d3011ff2be46817dcac1a9d5abac9b\"))"),
    ("src=a.jpg&w=100&wm=https://cdn.example.com/logo.png", "w=100&wm=bottom-right,,1.000,0,32:https://cdn.example.com/logo.png&src=local:a.jpg& CacheKey(Hash(\"af1e970cf5be4bc3b930876dfd2ac825ddae35346f006c523a49e31018eaab64\"))"),
    ("src=a.jpg&w=100&txt=a&txtalign=centre&txtfont=DejaVu%20%20Sans%20Bold&txtpos=top-left", "w=100&txt=txtsize=32&txtcolor=000000ff&txtpos=top-left&txtfont=dejavu+sans+bold&txtwidth=&txtalign=center&txtmargin=16&txtbg=&txt=a&src=local:a.jpg& CacheKey(Hash(\"9da69b456df7f29f7bb0a606c8293fdb12a4a9aa16f502f41a4fd664ed7b0676\"))"),
    ("src=a.jpg&p=thumb", "w=200&h=200&fit=cover&q=70&src=local:a.jpg& CacheKey(Hash(\"37a31f3b39e29ef32b34b2e0d03d1f70077a2965c718f353845e49a9b9527186\"))"),
    ("src=a.jpg&p=thumb,gray&w=300&fit=inside", "w=300&h=200&fx=blur=&sharpen=&gray=1&fm=png&src=local:a.jpg& CacheKey(Hash(\"5912b27d3cb2f909a3e2fb18ca0dd38844a0d02757eb588fa8b11bfa476aabe6\"))"),
    ("src=https://cdn.example.com/a.jpg&p=gray&fm=jpeg&q=80&sig=abc", "fx=blur=&sharpen=&gray=1&fm=jpeg&src=https://cdn.example.com/a.jpg& CacheKey(Hash(\"385949e91246fa1d36129db026c6987215805f23a7b7679f773d0d243ad43ed4\"))"),
];

#[test]
fn more_resize_canonical_forms_and_keys_are_pinned() {
    let engine = RustEngine::new().with_draft(true);
    let limits = ParamLimits {
        presets: Presets::parse(["thumb=w=200&h=200&fit=cover&q=70", "gray=gray=1&fm=png"])
            .expect("valid presets"),
        ..ParamLimits::default()
    };
    let mut actual = Vec::new();
    for query in MORE_RESIZE_QUERIES {
        let params = Params::parse(query, &limits).expect("valid query");
        let key = CacheKey::new(&params, Some(AcceptClass::Webp), &engine);
        actual.push((query.to_string(), format!("{} {key:?}", params.canonical())));
    }
    check(MORE_RESIZE_EXPECTED, &actual);
}

/// `(path and query, Accept)` of real requests whose bytes must not change.
const RESPONSES: [(&str, &str); 16] = [
    ("/resize?src=photo.jpg&w=300", ""),
    ("/resize?src=photo.jpg&w=400&h=400&fit=cover&fm=webp", ""),
    (
        "/resize?src=photo.jpg&w=300&h=300&fit=contain&fm=png&bg=ff0000",
        "",
    ),
    (
        "/resize?src=photo.jpg&crop=10,10,500,400&w=200&rot=90&flip=h",
        "",
    ),
    ("/resize?src=photo.jpg&w=300&blur=2&sharpen=true&gray=1", ""),
    (
        "/resize?src=photo.jpg&w=300&wm=alpha.png&wmpos=top-left&wmopacity=0.5",
        "",
    ),
    ("/resize?src=photo.jpg&w=300&txt=Hello&txtcolor=ff0000", ""),
    ("/resize?src=photo.jpg&w=320&fm=auto", "image/webp,*/*"),
    ("/resize?src=alpha.png&w=150", ""),
    ("/resize?src=rotated.jpg&w=100", ""),
    (
        "/resize?src=photo.jpg&w=300&h=100&fit=cover&pos=attention",
        "",
    ),
    ("/resize?src=tall.jpg&w=300&q=50&prog=1&trim=true", ""),
    ("/resize?src=photo.jpg&w=300&engine=rust", ""),
    ("/info?src=photo.jpg", ""),
    ("/text?txt=Hello&w=400&h=100&fm=png", ""),
    (
        "/text?txt=%E6%97%A5%E6%9C%AC%E8%AA%9E&fm=jpeg&txtsize=40",
        "",
    ),
];

const RESPONSES_EXPECTED: &[(&str, &str)] = &[
    (
        "/resize?src=photo.jpg&w=300",
        "image/jpeg vips \"2ab5c21bedc9fb39ac68c2f61b1416bc\"",
    ),
    (
        "/resize?src=photo.jpg&w=400&h=400&fit=cover&fm=webp",
        "image/webp vips \"7ded4b94aefeeb23cd7ba975cc133777\"",
    ),
    (
        "/resize?src=photo.jpg&w=300&h=300&fit=contain&fm=png&bg=ff0000",
        "image/png vips \"468749c86a5f9fceae95a64aaefd7a4d\"",
    ),
    (
        "/resize?src=photo.jpg&crop=10,10,500,400&w=200&rot=90&flip=h",
        "image/jpeg vips \"9dbc99b9829b9750f4e0cd0645f7c592\"",
    ),
    (
        "/resize?src=photo.jpg&w=300&blur=2&sharpen=true&gray=1",
        "image/jpeg vips \"f6f3efd60bee0022bc1c1fe77f55c268\"",
    ),
    (
        "/resize?src=photo.jpg&w=300&wm=alpha.png&wmpos=top-left&wmopacity=0.5",
        "image/jpeg vips \"535c3dd42b1ca3bdd7ae5c2f6bf61c7a\"",
    ),
    (
        "/resize?src=photo.jpg&w=300&txt=Hello&txtcolor=ff0000",
        "image/jpeg vips \"1bd6732c8656d372822934aba4f47783\"",
    ),
    (
        "/resize?src=photo.jpg&w=320&fm=auto",
        "image/webp vips \"e68d98d4a30e5b35be4d2847423a1be2\"",
    ),
    (
        "/resize?src=alpha.png&w=150",
        "image/png vips \"a6b1f60e79c9a07d6aa4d93b0725043a\"",
    ),
    (
        "/resize?src=rotated.jpg&w=100",
        "image/jpeg vips \"f0ec00cd3f8c582b92bde4c1a907bf7a\"",
    ),
    (
        "/resize?src=photo.jpg&w=300&h=100&fit=cover&pos=attention",
        "image/jpeg vips \"88cb21837ebe8d4129b70fab5a54be78\"",
    ),
    (
        "/resize?src=tall.jpg&w=300&q=50&prog=1&trim=true",
        "image/jpeg vips \"e9132635f697a0a482307133e4342091\"",
    ),
    (
        "/resize?src=photo.jpg&w=300&engine=rust",
        "image/jpeg rust \"7a2b3eb00e61f75ceffe812375a38ebb\"",
    ),
    (
        "/info?src=photo.jpg",
        "application/json vips \"2f17371132136b20426f7e5811703968\"",
    ),
    (
        "/text?txt=Hello&w=400&h=100&fm=png",
        "image/png vips \"f0479cbcedbf45b66adb283cd48be561\"",
    ),
    (
        "/text?txt=%E6%97%A5%E6%9C%AC%E8%AA%9E&fm=jpeg&txtsize=40",
        "image/jpeg vips \"266b51ca3a0cdeb54c14c993b3209a75\"",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_etags_are_pinned() {
    let fixtures = Fixtures::new();
    let server = Server::start(fixtures.path(), &["--allow-engine-param"]).await;
    let mut actual = Vec::new();
    for (url, accept) in RESPONSES {
        let headers: Vec<(&str, &str)> = if accept.is_empty() {
            Vec::new()
        } else {
            vec![("accept", accept)]
        };
        let reply = server.get_with(url, &headers).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}: {}", reply.text());
        let value = format!(
            "{} {} {}",
            reply.header("content-type").unwrap_or("-"),
            reply.header("x-engine").unwrap_or("-"),
            reply.header("etag").unwrap_or("-"),
        );
        actual.push((url.to_string(), value));
    }
    check(RESPONSES_EXPECTED, &actual);
}
