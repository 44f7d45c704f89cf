//! Who a request is, across the log, the response and the trace: a request id (`X-Request-Id` as
//! the client or the edge sent it, else made here) and a W3C trace context (`traceparent` read,
//! continued and returned). Every log line of the request carries the id (it is a field of the
//! request span), the response says both, and with `--otlp-endpoint` the exported spans carry the
//! same trace id (see `telemetry`).

use std::cell::Cell;

use http::{HeaderMap, HeaderValue};

/// Longest `X-Request-Id` taken from a client; a longer or odd one is replaced, not trusted.
const MAX_REQUEST_ID: usize = 128;

/// A request's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct TraceContext {
    pub(super) trace_id: [u8; 16],
    /// This request's span: the parent of everything it does, and the id sent back.
    pub(super) span_id: [u8; 8],
    /// The caller's span, from its `traceparent`.
    pub(super) parent: Option<[u8; 8]>,
    pub(super) sampled: bool,
    /// The id the log lines and the response carry: the client's, else the trace id.
    pub(super) request_id: String,
    /// `X-Request-Id` as the client sent it (when it was sane).
    given: Option<String>,
}

impl TraceContext {
    /// Reads `traceparent` and `X-Request-Id`, making what is missing or malformed.
    pub(super) fn of(headers: &HeaderMap) -> TraceContext {
        let incoming = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_traceparent);
        let (trace_id, parent, sampled) = match incoming {
            Some((trace, parent, flags)) => (trace, Some(parent), flags & 1 == 1),
            None => (random_bytes(), None, true),
        };
        let given = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| is_request_id(v))
            .map(str::to_owned);
        TraceContext {
            trace_id,
            span_id: random_bytes(),
            parent,
            sampled,
            request_id: given.clone().unwrap_or_else(|| hex(&trace_id)),
            given,
        }
    }

    /// Takes the ids the trace exporter gave this request's span; a request id that was made
    /// (not sent by the client) follows the trace id.
    pub(super) fn adopt(&mut self, exported: crate::telemetry::Remote) {
        (self.trace_id, self.span_id) = (exported.trace_id, exported.span_id);
        self.sampled = exported.sampled;
        if self.given.is_none() {
            self.request_id = hex(&self.trace_id);
        }
    }

    /// `traceparent` naming this request's span, for the response (and for whoever is called next).
    pub(super) fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex(&self.trace_id),
            hex(&self.span_id),
            u8::from(self.sampled)
        )
    }

    /// The caller's span, for the exporter to parent this request's span on.
    pub(super) fn remote(&self) -> Option<crate::telemetry::Remote> {
        self.parent.map(|span_id| crate::telemetry::Remote {
            trace_id: self.trace_id,
            span_id,
            sampled: self.sampled,
        })
    }

    /// The response headers: `X-Request-Id` and `traceparent`.
    pub(super) fn write(&self, headers: &mut HeaderMap) {
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            headers.insert("x-request-id", id);
        }
        if let Ok(parent) = HeaderValue::from_str(&self.traceparent()) {
            headers.insert("traceparent", parent);
        }
    }
}

/// `version-traceid-parentid-flags`, version `00` (or a later one, read the same way as the spec
/// asks), ids lower-case hex and not all zero.
fn parse_traceparent(value: &str) -> Option<([u8; 16], [u8; 8], u8)> {
    let value = value.trim();
    let mut parts = value.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    let version = unhex::<1>(version)?;
    let trace = unhex::<16>(trace)?;
    let parent = unhex::<8>(parent)?;
    let flags = unhex::<1>(flags)?;
    let _ = version;
    (trace != [0; 16] && parent != [0; 8]).then_some((trace, parent, flags[0]))
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let nibble = |d: u8| match d {
            b'0'..=b'9' => Some(d - b'0'),
            b'a'..=b'f' => Some(d - b'a' + 10),
            _ => None,
        };
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// An id an edge or a client may set: 1 to 128 of `A-Z a-z 0-9 - _ . : / + = @`.
fn is_request_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// Ids that are unique, not secret: a per-thread splitmix64 stream seeded from the OS once.
fn random_bytes<const N: usize>() -> [u8; N] {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(seed());
    }
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(8) {
        let next = STATE.with(|state| {
            let x = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(x);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        });
        chunk.copy_from_slice(&next.to_le_bytes()[..chunk.len()]);
    }
    if out.iter().all(|&b| b == 0) {
        out[0] = 1;
    }
    out
}

fn seed() -> u64 {
    use ring::rand::SecureRandom;
    let mut seed = [0u8; 8];
    // Without the OS generator (never seen), the time and the thread still make distinct streams.
    if ring::rand::SystemRandom::new().fill(&mut seed).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        seed = (now as u64).to_le_bytes();
    }
    u64::from_le_bytes(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_caller_trace_is_continued_under_a_new_span() {
        let context = TraceContext::of(&headers(&[(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )]));
        assert_eq!(hex(&context.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            context.parent.map(|p| hex(&p)).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_ne!(hex(&context.span_id), "00f067aa0ba902b7");
        assert!(context.sampled);
        let sent = context.traceparent();
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{sent}"
        );
        assert!(sent.ends_with("-01"));
        assert_eq!(context.request_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "garbage",
        ] {
            let context = TraceContext::of(&headers(&[("traceparent", bad)]));
            assert_eq!(context.parent, None, "{bad}");
            assert_ne!(
                hex(&context.trace_id),
                "4bf92f3577b34da6a3ce929d0e0e4736",
                "{bad}"
            );
        }
        let later = TraceContext::of(&headers(&[(
            "traceparent",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more",
        )]));
        assert!(later.parent.is_some(), "a later version is read as 00");
        assert!(!later.sampled);
    }

    #[test]
    fn a_sane_request_id_is_kept_and_anything_else_replaced() {
        let kept = TraceContext::of(&headers(&[("x-request-id", "edge-7f3a:42")]));
        assert_eq!(kept.request_id, "edge-7f3a:42");
        let long: &'static str = Box::leak("x".repeat(129).into_boxed_str());
        for bad in ["", "a b", "a\"b", "<script>", long] {
            let made = TraceContext::of(&headers(&[("x-request-id", bad)]));
            assert_eq!(made.request_id, hex(&made.trace_id), "{bad:?}");
        }
    }

    #[test]
    fn made_ids_differ() {
        let a = TraceContext::of(&HeaderMap::new());
        let b = TraceContext::of(&HeaderMap::new());
        assert_ne!(a.trace_id, b.trace_id);
        assert_ne!(a.span_id, b.span_id);
        assert_eq!(a.request_id.len(), 32);
    }
}
