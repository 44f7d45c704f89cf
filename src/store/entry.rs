//! The stored form of a [`Rendition`]: a stable, versioned byte encoding that any tier keeps as
//! opaque bytes, with its lengths and a blake3 checksum so that a truncated, corrupt or misplaced
//! entry is rejected rather than served.
//!
//! Layout (integers little-endian), version 1:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | magic `ISR\x01` |
//! | 2 | version (`1`) |
//! | 4 | meta length `m` |
//! | 8 | body length `b` |
//! | 32 | blake3 of (the key's 32 bytes, the 18 bytes above, meta, body) |
//! | `m` | meta: the fields below, in order |
//! | `b` | body |
//!
//! Meta fields: content type, ETag, format, engine (strings: u32 length + bytes); created (unix
//! ms, u64); store (u8); origin lifetime start (unix ms) and length (ms) (options: a u8 tag, then
//! the value); Last-Modified (unix ms); the origin's `Cache-Control`; the default
//! `Content-Disposition`; fetch and transform time (µs, u64). Times are wall-clock so freshness
//! survives a restart. A reader rejects a version it does not know: a change of layout is a new
//! version (and old entries become misses, never misreads).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};
use http::HeaderValue;

use crate::cache::{CacheKey, Rendition};
use crate::types::{Caching, OutputFormat, Store};

const MAGIC: [u8; 4] = *b"ISR\x01";
const VERSION: u16 = 1;
/// Magic, version, meta length, body length: the part the checksum covers before the meta.
const PREFIX: usize = 4 + 2 + 4 + 8;
const HEADER: usize = PREFIX + 32;
/// A meta section longer than this is corrupt (it holds a few short strings).
const MAX_META: usize = 64 * 1024;

/// Why stored bytes are not a valid entry for the key asked.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("not an entry (magic)")]
    Magic,
    #[error("unknown entry version {0}")]
    Version(u16),
    #[error("length mismatch (truncated or extended)")]
    Length,
    #[error("checksum mismatch")]
    Checksum,
    #[error("bad field {0}")]
    Field(&'static str),
}

impl Invalid {
    /// The `result` label of a rejected lookup.
    pub fn label(&self) -> &'static str {
        match self {
            Invalid::Version(_) => "version",
            _ => "corrupt",
        }
    }
}

/// The stored bytes of `rendition` under `key`.
pub fn encode(key: &CacheKey, rendition: &Rendition) -> Bytes {
    let meta = encode_meta(rendition);
    let body = &rendition.body;
    let mut out = BytesMut::with_capacity(HEADER + meta.len() + body.len());
    out.put_slice(&MAGIC);
    out.put_u16_le(VERSION);
    out.put_u32_le(u32::try_from(meta.len()).unwrap_or(u32::MAX));
    out.put_u64_le(body.len() as u64);
    let sum = checksum(key, &out[..PREFIX], &meta, body);
    out.put_slice(sum.as_bytes());
    out.put_slice(&meta);
    out.put_slice(body);
    out.freeze()
}

/// The rendition stored in `bytes`, if they are a whole, valid entry made for `key`. The body is
/// a slice of `bytes` (no copy).
pub fn decode(key: &CacheKey, bytes: &Bytes) -> Result<Rendition, Invalid> {
    if bytes.len() < HEADER {
        return Err(if bytes.len() >= 4 && bytes[..4] != MAGIC {
            Invalid::Magic
        } else {
            Invalid::Length
        });
    }
    if bytes[..4] != MAGIC {
        return Err(Invalid::Magic);
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != VERSION {
        return Err(Invalid::Version(version));
    }
    let mut prefix = Reader(&bytes[6..PREFIX]);
    let meta_len = prefix.u32().ok_or(Invalid::Length)? as usize;
    let body_len =
        usize::try_from(prefix.u64().ok_or(Invalid::Length)?).map_err(|_| Invalid::Length)?;
    if meta_len > MAX_META
        || HEADER
            .checked_add(meta_len)
            .and_then(|n| n.checked_add(body_len))
            != Some(bytes.len())
    {
        return Err(Invalid::Length);
    }
    let meta = &bytes[HEADER..HEADER + meta_len];
    let body = bytes.slice(HEADER + meta_len..);
    if checksum(key, &bytes[..PREFIX], meta, &body).as_bytes() != &bytes[PREFIX..HEADER] {
        return Err(Invalid::Checksum);
    }
    decode_meta(meta, body)
}

fn checksum(key: &CacheKey, prefix: &[u8], meta: &[u8], body: &[u8]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(key.as_bytes());
    hasher.update(prefix);
    hasher.update(meta);
    hasher.update(body);
    hasher.finalize()
}

fn encode_meta(r: &Rendition) -> Vec<u8> {
    let mut w = Vec::with_capacity(256);
    put_bytes(&mut w, r.content_type.as_bytes());
    put_bytes(&mut w, r.etag.as_bytes());
    put_bytes(&mut w, r.format.as_bytes());
    put_bytes(&mut w, r.engine.as_bytes());
    w.put_u64_le(unix_ms(r.created).unwrap_or(0));
    w.put_u8(match r.caching.store {
        Store::Public => 0,
        Store::Private => 1,
        Store::NoStore => 2,
    });
    // The origin's lifetime as a wall-clock start and a length: `since` is an `Instant`.
    let since = r
        .caching
        .since
        .and_then(|since| SystemTime::now().checked_sub(since.elapsed()));
    put_option(&mut w, since.and_then(unix_ms), |w, v| w.put_u64_le(v));
    put_option(&mut w, r.caching.max_age.map(millis), |w, v| {
        w.put_u64_le(v)
    });
    put_option(&mut w, r.caching.last_modified.and_then(unix_ms), |w, v| {
        w.put_u64_le(v)
    });
    put_option(&mut w, r.caching.cache_control.as_deref(), |w, v| {
        put_bytes(w, v.as_bytes())
    });
    put_option(&mut w, r.disposition.as_ref(), |w, v| {
        put_bytes(w, v.as_bytes())
    });
    w.put_u64_le(micros(r.fetch_time));
    w.put_u64_le(micros(r.transform_time));
    w
}

fn decode_meta(meta: &[u8], body: Bytes) -> Result<Rendition, Invalid> {
    let mut r = Reader(meta);
    let content_type = header(r.bytes()).ok_or(Invalid::Field("content type"))?;
    let etag = header(r.bytes()).ok_or(Invalid::Field("etag"))?;
    let format = r
        .bytes()
        .and_then(static_format)
        .ok_or(Invalid::Field("format"))?;
    let engine = r
        .bytes()
        .and_then(static_engine)
        .ok_or(Invalid::Field("engine"))?;
    let created = r.u64().map(from_unix_ms).ok_or(Invalid::Field("created"))?;
    let store = match r.u8() {
        Some(0) => Store::Public,
        Some(1) => Store::Private,
        Some(2) => Store::NoStore,
        _ => return Err(Invalid::Field("store")),
    };
    let since = r.option(Reader::u64).ok_or(Invalid::Field("since"))?;
    let max_age = r.option(Reader::u64).ok_or(Invalid::Field("max-age"))?;
    let last_modified = r
        .option(Reader::u64)
        .ok_or(Invalid::Field("last-modified"))?;
    let cache_control = r
        .option(|r| r.bytes().and_then(|b| std::str::from_utf8(b).ok()))
        .ok_or(Invalid::Field("cache-control"))?;
    let disposition = r
        .option(|r| header(r.bytes()))
        .ok_or(Invalid::Field("disposition"))?;
    let fetch_time = r.u64().ok_or(Invalid::Field("fetch time"))?;
    let transform_time = r.u64().ok_or(Invalid::Field("transform time"))?;
    if !r.0.is_empty() {
        return Err(Invalid::Field("trailing meta"));
    }
    // What is left of the origin's lifetime now, counted from now (`since` is an `Instant`).
    let max_age = max_age.map(|max| {
        let age = since.map_or(Duration::ZERO, |s| {
            from_unix_ms(s).elapsed().unwrap_or(Duration::ZERO)
        });
        Duration::from_millis(max).saturating_sub(age)
    });
    let caching = Caching {
        store,
        max_age,
        since: max_age.map(|_| Instant::now()),
        last_modified: last_modified.map(from_unix_ms),
        cache_control: cache_control.map(str::to_owned),
    };
    let rendition = Rendition {
        body,
        content_type,
        etag,
        format,
        engine,
        fetch_time: Duration::from_micros(fetch_time),
        transform_time: Duration::from_micros(transform_time),
        created,
        caching: Caching::default(),
        last_modified: None,
        disposition,
        from_tier: None,
    };
    Ok(rendition.with_caching(caching))
}

/// The `&'static str` a stored format name stands for; `None` for a name this build does not make.
fn static_format(name: &[u8]) -> Option<&'static str> {
    let name = std::str::from_utf8(name).ok()?;
    if name == "json" {
        return Some("json");
    }
    OutputFormat::parse(name).map(OutputFormat::as_str)
}

/// The engines whose names a stored entry may carry (an unknown one is a miss).
fn static_engine(name: &[u8]) -> Option<&'static str> {
    ["vips", "rust"]
        .into_iter()
        .find(|known| known.as_bytes() == name)
}

fn header(bytes: Option<&[u8]>) -> Option<HeaderValue> {
    HeaderValue::from_bytes(bytes?).ok()
}

fn put_bytes(w: &mut Vec<u8>, bytes: &[u8]) {
    w.put_u32_le(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    w.put_slice(bytes);
}

fn put_option<T>(w: &mut Vec<u8>, value: Option<T>, put: impl FnOnce(&mut Vec<u8>, T)) {
    match value {
        None => w.put_u8(0),
        Some(value) => {
            w.put_u8(1);
            put(w, value);
        }
    }
}

fn unix_ms(at: SystemTime) -> Option<u64> {
    at.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_unix_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH
        .checked_add(Duration::from_millis(ms))
        .unwrap_or(UNIX_EPOCH)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Checked reads from a byte slice: `None` past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Some(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Option<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Some(u64::from_le_bytes(b))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// An option: `Some(None)` for tag 0, `Some(Some(v))` for tag 1, `None` when malformed.
    fn option<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        match self.u8()? {
            0 => Some(None),
            1 => read(self).map(Some),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
