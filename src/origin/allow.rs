//! Which remote hosts may be fetched, and which addresses they may resolve to.
//!
//! Entries are `host`, `host:port`, `host:*`, `*.domain`, `*.domain:port` or `*.domain:*`,
//! normalised by the same URL host parser that normalised the request (case, IDNA, IPv4 notations,
//! IPv6 brackets). Without a port an entry allows the scheme's default port only (80 for http, 443
//! for https): every other port on the host, and so a port scan of it, needs an explicit `:*`. An
//! exact entry is an explicit decision by the operator, so it may point at loopback or private
//! addresses (tests use `127.0.0.1:PORT`); a wildcard entry may only ever reach public addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com` stored as `.example.com`: matches strict subdomains only.
    Subdomains(String),
}

/// Which ports an entry allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ports {
    /// No port written: the URL scheme's default (80 for http, 443 for https) only.
    Default,
    /// `:*`: any port.
    Any,
    /// `:N`: that port only.
    One(u16),
}

impl Ports {
    fn allow(self, url: &Url) -> bool {
        match self {
            // `Url::port` is `None` exactly when the URL names no port or its scheme's default.
            Ports::Default => url.port().is_none(),
            Ports::Any => true,
            Ports::One(port) => url.port_or_known_default() == Some(port),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    host: HostPattern,
    port: Ports,
}

/// What an allowed URL may connect to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Explicitly allowed host: any address it resolves to.
    Any,
    /// Allowed through a wildcard: public addresses only.
    PublicOnly,
}

#[derive(Clone, Debug, Default)]
pub struct AllowList {
    entries: Vec<Entry>,
}

impl AllowList {
    pub fn parse(entries: &[String]) -> Result<AllowList, String> {
        let entries = entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(parse_entry)
            .collect::<Result<_, _>>()?;
        Ok(AllowList { entries })
    }

    /// `Some(reach)` if the URL's host and port are allowed.
    pub fn check(&self, url: &Url) -> Option<Reach> {
        let host = url.host_str()?.to_ascii_lowercase();
        url.port_or_known_default()?;
        let mut reach = None;
        for entry in &self.entries {
            if !entry.port.allow(url) {
                continue;
            }
            match &entry.host {
                HostPattern::Exact(h) if *h == host => return Some(Reach::Any),
                HostPattern::Subdomains(suffix) if host.ends_with(suffix.as_str()) => {
                    reach = Some(Reach::PublicOnly)
                }
                _ => {}
            }
        }
        reach
    }
}

fn parse_entry(entry: &str) -> Result<Entry, String> {
    let bad = |why: &str| format!("--allow-host '{entry}': {why}");
    let (host, port) = split_port(entry);
    let port = match port {
        None => Ports::Default,
        Some("*") => Ports::Any,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
            .parse::<u16>()
            .map(Ports::One)
            .map_err(|_| bad("the port is not a number from 0 to 65535 or '*'"))?,
        Some(_) => return Err(bad("the port is not a number from 0 to 65535 or '*'")),
    };
    let (wildcard, host) = match host.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, host),
    };
    let normalised = Host::parse(host).map_err(|e| bad(&e.to_string()))?;
    let host = match (&normalised, wildcard) {
        (Host::Domain(d), true) => HostPattern::Subdomains(format!(".{}", d.to_ascii_lowercase())),
        (_, true) => return Err(bad("a wildcard needs a domain name")),
        (h, false) => HostPattern::Exact(h.to_string().to_ascii_lowercase()),
    };
    Ok(Entry { host, port })
}

/// Splits `host:port` and `[v6]:port`; a bare IPv6 address has no port.
fn split_port(entry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.find(']') {
            Some(end) => {
                let (host, after) = entry.split_at(end + 2);
                (host, after.strip_prefix(':'))
            }
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (entry, None),
    }
}

/// True for addresses on the public internet; false for loopback, private, link-local (cloud
/// metadata at 169.254.169.254 included), CGNAT, multicast, documentation, reserved and the IPv6
/// forms that embed any of these.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[0] == 0x64 && s[1] == 0xff9b {
        return is_public_v4(embedded_v4(s[6], s[7])); // NAT64
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 6to4
    }
    if s[..6].iter().all(|x| *x == 0) {
        return false; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
    }
    !(ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid")
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn exact_hosts_and_ports_match() {
        let allow = list(&["Example.com", "127.0.0.1:18080", "[::1]:9000"]);
        assert_eq!(
            allow.check(&url("https://example.com/a.jpg")),
            Some(Reach::Any)
        );
        assert_eq!(
            allow.check(&url("http://127.0.0.1:18080/a.jpg")),
            Some(Reach::Any)
        );
        assert_eq!(allow.check(&url("http://127.0.0.1:18081/a.jpg")), None);
        assert_eq!(
            allow.check(&url("http://[::1]:9000/a.jpg")),
            Some(Reach::Any)
        );
        assert_eq!(allow.check(&url("https://evil.com/a.jpg")), None);
        assert_eq!(allow.check(&url("https://sub.example.com/a.jpg")), None);
    }

    #[test]
    fn wildcards_match_subdomains_only_and_reach_public_only() {
        let allow = list(&["*.example.com"]);
        assert_eq!(
            allow.check(&url("https://cdn.example.com/a")),
            Some(Reach::PublicOnly)
        );
        assert_eq!(allow.check(&url("https://example.com/a")), None);
        assert_eq!(allow.check(&url("https://badexample.com/a")), None);
    }

    #[test]
    fn an_exact_entry_for_one_port_does_not_widen_a_wildcard_match_on_another() {
        let allow = list(&["cdn.example.com:8443", "*.example.com:*"]);
        assert_eq!(
            allow.check(&url("https://cdn.example.com:8443/a")),
            Some(Reach::Any)
        );
        // Admitted only by the wildcard: public addresses only, whatever the exact entry says.
        assert_eq!(
            allow.check(&url("http://cdn.example.com:6379/a")),
            Some(Reach::PublicOnly)
        );
        // Without `:*` the wildcard allows the default port only.
        let default_only = list(&["cdn.example.com:8443", "*.example.com"]);
        assert_eq!(
            default_only.check(&url("http://cdn.example.com:6379/a")),
            None
        );
    }

    #[test]
    fn a_host_without_a_port_allows_the_default_port_only() {
        let allow = list(&["images.example.com", "*.cdn.example.net", "10.0.0.5"]);
        for ok in [
            "http://images.example.com/a",
            "https://images.example.com/a",
            "http://images.example.com:80/a",
            "https://images.example.com:443/a",
            "https://eu.cdn.example.net/a",
            "http://10.0.0.5/a",
        ] {
            assert!(allow.check(&url(ok)).is_some(), "{ok}");
        }
        for refused in [
            "http://images.example.com:8080/a",
            "http://images.example.com:443/a",
            "https://images.example.com:80/a",
            "https://eu.cdn.example.net:8443/a",
            "http://10.0.0.5:6379/a",
            "http://10.0.0.5:22/a",
        ] {
            assert_eq!(allow.check(&url(refused)), None, "{refused}");
        }
    }

    #[test]
    fn a_star_port_allows_every_port_and_a_number_one() {
        let allow = list(&["images.example.com:*", "*.cdn.example.net:*", "[::1]:*"]);
        assert_eq!(
            allow.check(&url("http://images.example.com:8080/a")),
            Some(Reach::Any)
        );
        assert_eq!(
            allow.check(&url("https://eu.cdn.example.net:8443/a")),
            Some(Reach::PublicOnly)
        );
        assert_eq!(allow.check(&url("http://[::1]:9/a")), Some(Reach::Any));
        assert_eq!(allow.check(&url("http://other.example.com:8080/a")), None);
        let one = list(&["images.example.com:8080"]);
        assert!(one
            .check(&url("http://images.example.com:8080/a"))
            .is_some());
        assert_eq!(one.check(&url("http://images.example.com/a")), None);
        for bad in [
            "a.com:",
            "a.com:+80",
            "a.com:65536",
            "a.com:**",
            "*.a.com:8*",
        ] {
            assert!(AllowList::parse(&[bad.into()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn odd_ip_notations_are_normalised_before_matching() {
        let allow = list(&["127.0.0.1:80"]);
        // 0x7f.1 and 2130706433 are 127.0.0.1 to the URL parser, and so to us.
        assert_eq!(allow.check(&url("http://0x7f.1/a")), Some(Reach::Any));
        assert_eq!(allow.check(&url("http://2130706433/a")), Some(Reach::Any));
        assert_eq!(
            list(&["example.com"]).check(&url("http://2130706433/a")),
            None
        );
    }

    #[test]
    fn bad_entries_are_refused() {
        assert!(AllowList::parse(&["example.com:http".into()]).is_err());
        assert!(AllowList::parse(&["*.127.0.0.1".into()]).is_err());
    }

    #[test]
    fn non_public_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001:db8::1",
        ] {
            assert!(
                !is_public(ip.parse().expect("ip")),
                "{ip} must not be public"
            );
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:2800:220:1::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip} is public");
        }
    }
}
