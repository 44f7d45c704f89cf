//! Property tests for the pure guards every request passes: the query parser, the non-public address
//! classifier and the origin allowlist. Generated inputs, bounded case counts, no server needed.
//!
//! Each property names the attack or the cache bug it rules out; the generators produce the spellings
//! an attacker would try (odd IP notations, lookalike domains, userinfo), not only random noise.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use imgshield::origin::{is_public, AllowList, Reach};
use imgshield::params::{ParamError, ParamLimits, Params, Source};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

/// Cheap properties (pure functions of a few integers) run this many cases...
const MANY: u32 = 2000;
/// ...and the ones that build and parse URLs this many.
const SOME: u32 = 500;

fn cases(cases: u32) -> Config {
    // No regression files: this suite may only write its own source file. A failure prints the
    // minimal input, which is what a fixed unit test should then pin down.
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Percent-encodes the bytes of `text` whose flag in `mask` (cycled) is set: a spelling the form
/// decoder must undo before anything compares values.
fn percent_encode_some(text: &str, mask: &[bool]) -> String {
    let mut out = String::new();
    for (i, byte) in text.bytes().enumerate() {
        if mask.get(i % mask.len().max(1)).copied().unwrap_or(false) || !byte.is_ascii_graphic() {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

// ---------------------------------------------------------------- the query parser

/// Query-shaped noise: parameter names (known, unknown, escaped), separators, escapes of any byte.
fn query_noise() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        select(
            "src w h fit enlarge fm q sig = & ; + % %2 %00 %FF %C3%A9 .. / http:// a.jpg -1 8193 \
             99999999999 0x10"
                .split_whitespace()
                .collect::<Vec<_>>()
        )
        .prop_map(str::to_string),
        any::<u8>().prop_map(|b| format!("%{b:02x}")),
        any::<char>().prop_map(String::from),
        "[0-9]{1,12}",
    ];
    prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

/// One valid parameter set, as values (`None`: the parameter is absent).
#[derive(Clone, Debug)]
struct Spec {
    src: (String, String),
    w: Option<u32>,
    h: Option<u32>,
    fit: Option<&'static str>,
    enlarge: Option<bool>,
    fm: Option<&'static str>,
    q: Option<u8>,
}

/// What a parameter set means: src, w, h, fit, enlarge, fm, q.
type Meaning = (
    String,
    Option<u32>,
    Option<u32>,
    &'static str,
    bool,
    &'static str,
    Option<u8>,
);

/// A source as `(canonical spelling, another spelling of the same source)`.
fn src() -> impl Strategy<Value = (String, String)> {
    let local = (
        "[a-z0-9_-]{1,8}(/[a-z0-9_-]{1,8}){0,2}",
        select(vec!["jpg", "png", "webp"]),
    )
        .prop_map(|(path, ext)| {
            let path = format!("{path}.{ext}");
            let odd = format!("./{}", path.replace('/', "//./"));
            (path, odd)
        });
    let remote = (
        "[a-z]{1,10}\\.(com|net|org)",
        "[a-z0-9]{1,8}",
        any::<bool>(),
    )
        .prop_map(|(host, file, https)| {
            let (scheme, port) = if https { ("https", 443) } else { ("http", 80) };
            let plain = format!("{scheme}://{host}/img/{file}.jpg");
            let odd = format!(
                "{}://{}:{port}/img/x/../{file}.jpg#frag",
                scheme.to_uppercase(),
                host.to_uppercase()
            );
            (plain, odd)
        });
    prop_oneof![local, remote]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        src(),
        prop::option::of(1u32..=8192),
        prop::option::of(1u32..=8192),
        prop::option::of(select(vec![
            "inside", "cover", "contain", "fill", "outside",
        ])),
        prop::option::of(any::<bool>()),
        prop::option::of(select(vec!["jpeg", "png", "webp", "avif", "auto"])),
        prop::option::of(1u8..=100),
    )
        .prop_map(|(src, w, h, fit, enlarge, fm, q)| Spec {
            src,
            w,
            h,
            fit,
            enlarge,
            fm,
            q,
        })
}

impl Spec {
    /// The pairs as a client would send them. `odd`: the other src spelling, defaults spelled out,
    /// `true`/`false` for `enlarge`.
    fn pairs(&self, odd: bool) -> Vec<(String, String)> {
        let mut pairs = vec![(
            "src".to_string(),
            if odd { &self.src.1 } else { &self.src.0 }.clone(),
        )];
        let mut push = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name.to_string(), value));
            }
        };
        push("w", self.w.map(|v| v.to_string()));
        push("h", self.h.map(|v| v.to_string()));
        let fit = self.fit.or(odd.then_some("inside"));
        push("fit", fit.map(str::to_string));
        let enlarge = self.enlarge.or(odd.then_some(false));
        push(
            "enlarge",
            enlarge.map(|e| match (e, odd) {
                (true, false) => "1".to_string(),
                (false, false) => "0".to_string(),
                (e, true) => e.to_string(),
            }),
        );
        push("fm", self.fm.map(str::to_string));
        push("q", self.q.map(|v| v.to_string()));
        pairs
    }

    /// This set with one field (0..=6) taken from `other`; 7: `other`'s source; 8: all of `other`.
    fn with_field_of(&self, other: &Spec, field: usize) -> Spec {
        let mut mixed = self.clone();
        match field {
            0 => mixed.w = other.w,
            1 => mixed.h = other.h,
            2 => mixed.fit = other.fit,
            3 => mixed.enlarge = other.enlarge,
            4 => mixed.fm = other.fm,
            5 => mixed.q = other.q,
            6 => mixed.q = self.q.map(|q| q % 100 + 1),
            7 => mixed.src = other.src.clone(),
            _ => mixed = other.clone(),
        }
        mixed
    }

    /// What the parse must keep; `q` means nothing for lossless PNG.
    fn meaning(&self) -> Meaning {
        // PNG takes no quality; a fixed format's default quality is the same as none.
        let default = match self.fm {
            Some("jpeg") | Some("jpg") | Some("webp") => Some(80),
            Some("avif") => Some(60),
            _ => None,
        };
        let q = if self.fm == Some("png") || (default.is_some() && self.q == default) {
            None
        } else {
            self.q
        };
        (
            self.src.0.clone(),
            self.w,
            self.h,
            self.fit.unwrap_or("inside"),
            self.enlarge.unwrap_or(false),
            self.fm.unwrap_or("source"),
            q,
        )
    }
}

fn query(pairs: &[(String, String)], mask: &[bool]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            // Values always escape what the form syntax needs; the mask escapes more at random.
            let value = percent_encode_some(value, mask).replace('&', "%26");
            format!("{}={value}", percent_encode_some(name, mask))
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn parse(query: &str) -> Result<Params, ParamError> {
    Params::parse(query, &ParamLimits::default())
}

proptest! {
    #![proptest_config(cases(MANY))]

    #[test]
    fn the_parser_never_panics_on_arbitrary_strings(input in any::<String>()) {
        let first = parse(&input);
        prop_assert_eq!(first, parse(&input));
    }

    #[test]
    fn the_parser_never_panics_on_query_shaped_noise(input in query_noise(), tail in any::<Vec<u8>>()) {
        let input = format!("{input}{}", String::from_utf8_lossy(&tail));
        let first = parse(&input);
        prop_assert_eq!(first, parse(&input));
    }

    #[test]
    fn the_canonical_form_ignores_order_spelling_and_explicit_defaults(
        spec in spec(),
        order in Just((0..8).collect::<Vec<usize>>()).prop_shuffle(),
        mask in prop::collection::vec(prop::bool::weighted(0.2), 1..8),
    ) {
        let plain = parse(&query(&spec.pairs(false), &[false])).expect("a valid parameter set");
        let odd_pairs = spec.pairs(true);
        let shuffled: Vec<_> = order.iter().filter_map(|&i| odd_pairs.get(i).cloned()).collect();
        let odd = parse(&query(&shuffled, &mask)).expect("the same set, spelled differently");
        prop_assert_eq!(plain.canonical(), odd.canonical());
        prop_assert_eq!(&plain, &odd);
        let meaning: Meaning = (
            match &plain.src {
                Source::Local(path) => path.as_str().to_string(),
                Source::Remote(url) => url.as_str().to_string(),
            },
            plain.width,
            plain.height,
            plain.fit.as_str(),
            plain.enlarge,
            plain.format.as_str(),
            plain.quality,
        );
        prop_assert_eq!(meaning, spec.meaning());
    }

    #[test]
    fn different_parameter_sets_never_share_a_canonical_form(
        a in spec(),
        other in spec(),
        field in 0usize..9,
    ) {
        // Mostly sets that differ in one field (the likeliest collisions), sometimes in all.
        let b = a.with_field_of(&other, field);
        let pa = parse(&query(&a.pairs(false), &[false])).expect("valid a");
        let pb = parse(&query(&b.pairs(false), &[false])).expect("valid b");
        // A shared canonical form is a shared cache entry: it must mean the same request.
        prop_assert_eq!(pa.canonical() == pb.canonical(), a.meaning() == b.meaning());
    }

    #[test]
    fn out_of_range_sizes_and_qualities_are_refused_by_name(
        name in select(vec!["w", "h", "q"]),
        max in 1u32..=20_000,
        pick in 0usize..4,
        big in any::<u64>(),
        src_first in any::<bool>(),
    ) {
        let ceiling = if name == "q" { 100 } else { u64::from(max) };
        let bad = match pick {
            0 => "0".to_string(),
            1 => (ceiling + 1 + big % 1_000_000).to_string(),
            2 => (ceiling + 1).max(big).to_string(),
            _ => format!("-{}", big % 1_000_000),
        };
        let query = if src_first {
            format!("src=a.jpg&{name}={bad}")
        } else {
            format!("{name}={bad}&src=a.jpg")
        };
        let err = Params::parse(&query, &ParamLimits { max_dimension: max, ..ParamLimits::default() })
            .expect_err("out of range");
        prop_assert!(
            matches!(&err, ParamError::Invalid { name: n, .. } if *n == name),
            "{query}: {err:?}"
        );
        let quoted = format!("'{name}'");
        prop_assert!(err.to_string().contains(&quoted), "{}", err);
    }
}

// ---------------------------------------------------------------- non-public addresses

/// The IPv4 blocks that must never be reached through a wildcard entry: (prefix, length).
const PRIVATE_V4: [([u8; 4], u32); 9] = [
    ([127, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([172, 16, 0, 0], 12),
    ([192, 168, 0, 0], 16),
    ([169, 254, 0, 0], 16),
    ([100, 64, 0, 0], 10),
    ([0, 0, 0, 0], 8),
    ([224, 0, 0, 0], 4),
    ([240, 0, 0, 0], 4),
];

fn in_block(prefix: [u8; 4], len: u32, bits: u32) -> Ipv4Addr {
    let mask = u32::MAX << (32 - len);
    Ipv4Addr::from((u32::from_be_bytes(prefix) & mask) | (bits & !mask))
}

/// Half the time an address at the edge of a special block (the /24 documentation and IETF blocks,
/// the CGNAT and 172.16/12 boundaries), where a wrong mask or a misread segment shows; else any.
fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    let edges = select(vec![
        [192, 0, 0],
        [192, 0, 2],
        [198, 51, 100],
        [203, 0, 113],
        [198, 18, 7],
        [198, 20, 0],
        [100, 63, 255],
        [100, 64, 0],
        [100, 127, 255],
        [100, 128, 0],
        [172, 15, 255],
        [172, 16, 0],
        [172, 31, 255],
        [172, 32, 0],
        [169, 254, 169],
        [8, 8, 8],
        [255, 255, 255],
    ]);
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        (edges, any::<u8>()).prop_map(|([a, b, c], d)| Ipv4Addr::new(a, b, c, d)),
    ]
}

fn embedded(v4: Ipv4Addr) -> (u16, u16) {
    let [a, b, c, d] = v4.octets();
    (u16::from_be_bytes([a, b]), u16::from_be_bytes([c, d]))
}

proptest! {
    #![proptest_config(cases(MANY))]

    #[test]
    fn every_address_in_a_private_block_is_not_public(bits in any::<u32>()) {
        for (prefix, len) in PRIVATE_V4 {
            let ip = in_block(prefix, len, bits);
            prop_assert!(!is_public(IpAddr::V4(ip)), "{} in {:?}/{}", ip, prefix, len);
        }
    }

    #[test]
    fn ipv6_forms_embedding_an_ipv4_address_classify_like_it(v4 in ipv4(), rest in any::<u128>()) {
        let expected = is_public(IpAddr::V4(v4));
        let (hi, lo) = embedded(v4);
        let [_, _, _, s3, s4, s5, s6, s7] = Ipv6Addr::from(rest).segments();
        let forms = [
            ("mapped", v4.to_ipv6_mapped()),
            ("nat64", Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo)),
            ("6to4", Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 0)),
            // The subnet and interface bits of a 6to4 address do not change where it leads.
            ("6to4 host", Ipv6Addr::new(0x2002, hi, lo, s3, s4, s5, s6, s7)),
        ];
        for (name, v6) in forms {
            prop_assert_eq!(is_public(IpAddr::V6(v6)), expected, "{} form {} of {}", name, v6, v4);
        }
    }

    #[test]
    fn unique_local_and_link_local_ipv6_are_not_public(bits in any::<u128>()) {
        let ula = Ipv6Addr::from((0xfc00u128 << 112) | (bits >> 7));
        let link_local = Ipv6Addr::from((0xfe80u128 << 112) | (bits >> 10));
        prop_assert!(!is_public(IpAddr::V6(ula)), "{}", ula);
        prop_assert!(!is_public(IpAddr::V6(link_local)), "{}", link_local);
    }
}

// ---------------------------------------------------------------- the allowlist

/// One IPv4 number written as the URL parser accepts it: 1 to 4 parts, each decimal, octal
/// (leading 0) or hex (0x/0X, any case), optionally with a trailing dot and percent-escapes.
#[derive(Clone, Debug)]
struct Notation {
    parts: usize,
    radixes: [u8; 4],
    zeros: [u8; 4],
    trailing_dot: bool,
    escape: Vec<bool>,
}

fn notation() -> impl Strategy<Value = Notation> {
    (
        1usize..=4,
        [0u8..3, 0u8..3, 0u8..3, 0u8..3],
        [0u8..3, 0u8..3, 0u8..3, 0u8..3],
        prop::bool::weighted(0.2),
        prop::collection::vec(prop::bool::weighted(0.15), 1..6),
    )
        .prop_map(|(parts, radixes, zeros, trailing_dot, escape)| Notation {
            parts,
            radixes,
            zeros,
            trailing_dot,
            escape,
        })
}

impl Notation {
    fn write(&self, ip: Ipv4Addr) -> String {
        let n = u32::from(ip);
        let octets = ip.octets();
        let last_bits = 32 - 8 * (self.parts as u32 - 1);
        let last = if last_bits == 32 {
            n
        } else {
            n & ((1 << last_bits) - 1)
        };
        let mut values: Vec<u32> = octets[..self.parts - 1]
            .iter()
            .map(|&o| u32::from(o))
            .collect();
        values.push(last);
        let written: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let zeros = "0".repeat(usize::from(self.zeros[i]));
                match self.radixes[i] {
                    0 => v.to_string(),
                    1 => format!("0{zeros}{v:o}"),
                    _ if i % 2 == 0 => format!("0x{zeros}{v:x}"),
                    _ => format!("0X{zeros}{v:X}"),
                }
            })
            .collect();
        let dot = if self.trailing_dot { "." } else { "" };
        percent_encode_some(&format!("{}{dot}", written.join(".")), &self.escape)
    }
}

fn allow(entries: &[String]) -> AllowList {
    AllowList::parse(entries).expect("valid allowlist")
}

/// A remote URL as the server would get it: through `Source::parse`.
fn remote(url: &str) -> Result<url::Url, String> {
    match Source::parse(url) {
        Ok(Source::Remote(url)) => Ok(url),
        other => Err(format!("{url}: {other:?}")),
    }
}

/// Host names the URL parser keeps as they are: no `--` (so no `xn--` punycode labels), no empty labels.
const LABEL: &str = "[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,3})?";

fn regex(pattern: &str) -> impl Strategy<Value = String> {
    proptest::string::string_regex(pattern).expect("a valid generator pattern")
}

fn domain() -> impl Strategy<Value = String> {
    regex(&format!(
        "{LABEL}(\\.{LABEL}){{0,2}}\\.(com|net|io|example)"
    ))
}

proptest! {
    #![proptest_config(cases(SOME))]

    #[test]
    fn any_ip_notation_matches_exactly_what_the_dotted_form_matches(
        ip in any::<u32>(),
        other in any::<u32>(),
        how in notation(),
        port in prop::option::of(1u16..),
        name in domain(),
    ) {
        let ip = Ipv4Addr::from(ip);
        let written = how.write(ip);
        let (entry_port, url_port) = match port {
            Some(p) => (format!(":{p}"), format!(":{p}")),
            None => (String::new(), String::new()),
        };
        let odd = remote(&format!("http://{written}{url_port}/a.jpg")).expect("an IP URL");
        let dotted = remote(&format!("http://{ip}{url_port}/a.jpg")).expect("a dotted URL");
        let dotted_host = ip.to_string();
        prop_assert_eq!(odd.host_str(), Some(dotted_host.as_str()), "{}", written);

        let same = allow(&[format!("{ip}{entry_port}")]);
        prop_assert_eq!(same.check(&odd), Some(Reach::Any), "{} vs {}", written, ip);
        prop_assert_eq!(same.check(&odd), same.check(&dotted));
        // The operator may write the entry in the odd notation too.
        let odd_entry = allow(&[format!("{written}{entry_port}")]);
        prop_assert_eq!(odd_entry.check(&dotted), Some(Reach::Any), "entry {}", written);

        let other = Ipv4Addr::from(other);
        let foreign = allow(&[
            format!("{other}{entry_port}"),
            format!("{name}{entry_port}"),
            format!("*.{name}"),
        ]);
        let expected = (other == ip).then_some(Reach::Any);
        prop_assert_eq!(foreign.check(&odd), expected, "{} vs {}", written, other);
        prop_assert_eq!(foreign.check(&dotted), expected);
    }

    #[test]
    fn wildcards_match_strict_subdomains_and_no_lookalike(
        base in domain(),
        sub in regex(&format!("{LABEL}(\\.{LABEL}){{0,2}}")),
        // Glued straight onto the domain: ends in a letter, digit or `-`, never in a dot.
        glued in "[a-z0-9]{1,4}([.-][a-z0-9]{1,4}){0,2}-?",
        tail in "[a-z]{1,8}\\.(evil|attacker)",
        port in 1u16..,
    ) {
        let list = allow(&[format!("*.{base}")]);
        let check = |host: &str| -> Result<Option<Reach>, String> {
            Ok(list.check(&remote(&format!("https://{host}/a.jpg"))?))
        };
        prop_assert_eq!(check(&format!("{sub}.{base}")), Ok(Some(Reach::PublicOnly)));
        let shouted = format!("{sub}.{base}").to_uppercase();
        prop_assert_eq!(check(&shouted), Ok(Some(Reach::PublicOnly)));
        for lookalike in [
            base.clone(),
            format!("{glued}{base}"),
            format!("{sub}-{base}"),
            format!("{base}.{tail}"),
            format!("{sub}.{base}.{tail}"),
        ] {
            prop_assert_eq!(check(&lookalike), Ok(None), "{} vs *.{}", lookalike, base);
        }
        let with_port = allow(&[format!("*.{base}:{port}")]);
        let other_port = port.checked_add(1).unwrap_or(1);
        let sub_url = |p: u16| {
            remote(&format!("https://{sub}.{base}:{p}/a.jpg")).map_err(TestCaseError::fail)
        };
        prop_assert_eq!(with_port.check(&sub_url(port)?), Some(Reach::PublicOnly));
        prop_assert_eq!(with_port.check(&sub_url(other_port)?), None);
    }

    #[test]
    fn urls_with_userinfo_are_refused(
        user in "[a-zA-Z0-9._~-]{0,10}",
        password in prop::option::of("[a-zA-Z0-9._~-]{0,10}"),
        extra_at in any::<bool>(),
        host in prop_oneof![domain(), any::<u32>().prop_map(|ip| Ipv4Addr::from(ip).to_string())],
        https in any::<bool>(),
    ) {
        // `http://:@host/` has no credentials once parsed; anything else carries some.
        prop_assume!(!user.is_empty() || extra_at || password.as_deref().is_some_and(|p| !p.is_empty()));
        let user = if extra_at { format!("{user}@allowed.com") } else { user };
        let userinfo = match &password {
            Some(p) => format!("{user}:{p}"),
            None => user,
        };
        let scheme = if https { "https" } else { "http" };
        let url = format!("{scheme}://{userinfo}@{host}/a.jpg");
        let err = Source::parse(&url).expect_err("credentials in the URL");
        prop_assert!(matches!(err, ParamError::Invalid { name: "src", .. }), "{}: {:?}", url, err);
        // And through the whole query parser, with the URL escaped as a client would.
        let escaped = percent_encode_some(&url, &[true]);
        let err = parse(&format!("w=10&src={escaped}")).expect_err("credentials in the query");
        prop_assert!(matches!(err, ParamError::Invalid { name: "src", .. }), "{:?}", err);
    }
}
