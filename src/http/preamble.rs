//! A connection's first bytes, read by us under `--first-byte-timeout` before hyper sees them:
//! for HTTP/1 the first byte (hyper's `--header-read-timeout` then covers the head), for HTTP/2
//! (prior knowledge) the whole 24-byte preface and the client's first frame, its SETTINGS. hyper
//! has no timer of its own before either, so a silent socket or a half preface would stay open.
//! The bytes read are handed to hyper in front of the rest of the stream ([`Prefixed`]).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// What an HTTP/2 client sends first (RFC 9113, section 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// A frame header: 24-bit length, type, flags, stream id.
const FRAME_HEADER: usize = 9;
/// The largest frame a client may send before it has our SETTINGS (SETTINGS_MAX_FRAME_SIZE's
/// initial value); a larger one is hyper's to refuse.
const MAX_FIRST_FRAME: usize = 16_384;

/// How many more bytes the preamble needs; 0 once it is complete (or is not HTTP/2's).
pub(crate) fn missing(seen: &[u8]) -> usize {
    if seen.len() < PREFACE.len() {
        return if PREFACE.starts_with(seen) {
            PREFACE.len() - seen.len()
        } else {
            0 // HTTP/1 (or garbage, hyper answers it): one byte is enough
        };
    }
    if &seen[..PREFACE.len()] != PREFACE {
        return 0;
    }
    let frame = &seen[PREFACE.len()..];
    if frame.len() < FRAME_HEADER {
        return FRAME_HEADER - frame.len();
    }
    let length = usize::from(frame[0]) << 16 | usize::from(frame[1]) << 8 | usize::from(frame[2]);
    if length > MAX_FIRST_FRAME {
        return 0;
    }
    (FRAME_HEADER + length).saturating_sub(frame.len())
}

/// Reads into `seen` until the preamble is complete. `Ok(false)`: the client closed first.
pub(crate) async fn read(stream: &mut TcpStream, seen: &mut Vec<u8>) -> io::Result<bool> {
    let mut chunk = [0u8; 4096];
    let room = chunk.len();
    loop {
        let want = missing(seen);
        if want == 0 {
            return Ok(true);
        }
        let n = stream.read(&mut chunk[..want.min(room)]).await?;
        if n == 0 {
            return Ok(false);
        }
        seen.extend_from_slice(&chunk[..n]);
    }
}

/// The stream with the bytes already read in front of it.
pub(crate) struct Prefixed {
    prefix: Vec<u8>,
    at: usize,
    inner: TcpStream,
}

impl Prefixed {
    pub(crate) fn new(prefix: Vec<u8>, inner: TcpStream) -> Prefixed {
        Prefixed {
            prefix,
            at: 0,
            inner,
        }
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.at < this.prefix.len() {
            let rest = &this.prefix[this.at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preamble_ends_where_each_protocol_says() {
        assert_eq!(missing(b""), 24);
        assert_eq!(missing(b"G"), 0);
        assert_eq!(missing(b"PRI * HTTP"), 14);
        assert_eq!(missing(b"PRI * HTTP/1.1"), 0);
        assert_eq!(missing(PREFACE), 9);
        let mut settings = PREFACE.to_vec();
        settings.extend_from_slice(&[0, 0, 12, 4, 0, 0, 0, 0, 0]);
        assert_eq!(missing(&settings), 12);
        settings.extend_from_slice(&[0; 12]);
        assert_eq!(missing(&settings), 0);
        let mut huge = PREFACE.to_vec();
        huge.extend_from_slice(&[0xFF, 0xFF, 0xFF, 4, 0, 0, 0, 0, 0]);
        assert_eq!(missing(&huge), 0);
    }
}
