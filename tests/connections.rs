//! Connection hygiene: silent sockets, half HTTP/2 prefaces and idle connections are closed, and a
//! full connection table never locks clients out (issue #14). Bounds are generous "did not hang"
//! limits (several times the configured timeout), never timings.

mod common;

use std::time::Duration;

use common::{Fixtures, Server};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];
/// Well past every short timeout the tests configure, far below the defaults they replace.
const BOUND: Duration = Duration::from_secs(5);

/// Reads until the server closes the connection; `None` if it stays open past `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let result = tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    result.ok().map(|()| seen)
}

async fn connect(s: &Server) -> TcpStream {
    TcpStream::connect(s.running.local_addr())
        .await
        .expect("connect")
}

async fn closed(s: &Server, reason: &str) -> f64 {
    s.metric(&format!(
        "imgshield_http_connections_closed_total{{reason=\"{reason}\"}}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_are_closed_after_the_first_byte_timeout() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--first-byte-timeout", "300ms"]).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(connect(&s).await);
    }
    for socket in &mut silent {
        let seen = closed_within(socket, BOUND)
            .await
            .expect("a silent socket is closed");
        assert!(seen.is_empty(), "nothing is sent to a silent socket");
    }
    assert_eq!(closed(&s, "first_byte_timeout").await, 3.0);
    s.assert_healthy("/resize?src=photo.jpg&w=10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_and_stalled_http2_prefaces_are_closed() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--first-byte-timeout", "300ms"]).await;
    // Part of the preface; all of it; all of it and half a SETTINGS frame header.
    let stalls: [&[u8]; 3] = [b"PRI * HTTP", PREFACE, &[PREFACE, &[0, 0]].concat()];
    for stall in stalls {
        let mut socket = connect(&s).await;
        socket.write_all(stall).await.expect("write");
        assert!(
            closed_within(&mut socket, BOUND).await.is_some(),
            "a connection stalled after {stall:?} is closed"
        );
    }
    assert_eq!(closed(&s, "handshake_timeout").await, 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_http1_head_that_started_in_time_is_still_served() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--first-byte-timeout", "300ms"]).await;
    let mut client = connect(&s).await;
    client.write_all(b"GET /hea").await.expect("write");
    // Past the first-byte timeout: the head's own timeout (10 s) governs now.
    tokio::time::sleep(Duration::from_millis(900)).await;
    client
        .write_all(b"lthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let seen = closed_within(&mut client, BOUND).await.expect("answered");
    assert!(
        seen.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&seen)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_connection_table_of_silent_sockets_does_not_lock_clients_out() {
    let f = Fixtures::new();
    // Silent sockets would hold their places for a minute on their own.
    let s = Server::start(
        f.path(),
        &["--max-connections", "4", "--first-byte-timeout", "60s"],
    )
    .await;
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(connect(&s).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reply = tokio::time::timeout(BOUND, s.get("/healthz"))
        .await
        .expect("/healthz answers with the table full of silent sockets");
    assert_eq!(reply.status, StatusCode::OK);
    s.assert_healthy("/resize?src=photo.jpg&w=10").await;
    // The oldest silent ones gave way, and are closed, not left half-open.
    assert!(closed(&s, "evicted_unserved").await >= 4.0);
    assert!(closed_within(&mut silent[0], BOUND).await.is_some());
    assert!(s.metric("imgshield_http_connections").await <= 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_longest_idle_keep_alive_connection_gives_way() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--max-connections", "2"]).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut client = connect(&s).await;
        client.write_all(request).await.expect("write");
        let mut buf = [0u8; 1024];
        let n = client.read(&mut buf).await.expect("read");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        idle.push(client);
    }
    let reply = tokio::time::timeout(BOUND, s.get("/healthz"))
        .await
        .expect("answered at the cap");
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        closed_within(&mut idle[0], BOUND).await.is_some(),
        "the longest idle connection was closed"
    );
    assert!(closed(&s, "evicted_idle").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_http1_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--idle-timeout", "300ms"]).await;
    let mut client = connect(&s).await;
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let seen = closed_within(&mut client, BOUND)
        .await
        .expect("the idle keep-alive connection is closed");
    assert!(seen.starts_with(b"HTTP/1.1 200"), "answered first");
    assert_eq!(closed(&s, "idle_timeout").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_connection_without_streams_is_closed_after_the_idle_timeout() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--idle-timeout", "300ms"]).await;
    let mut client = connect(&s).await;
    client
        .write_all(&[PREFACE, EMPTY_SETTINGS].concat())
        .await
        .expect("write");
    let seen = closed_within(&mut client, BOUND)
        .await
        .expect("the idle HTTP/2 connection is closed");
    // The server's SETTINGS (type 4) came first: the handshake itself went through.
    assert!(seen.len() >= 9 && seen[3] == 4, "{seen:?}");
    assert_eq!(closed(&s, "idle_timeout").await, 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_http2_clients_are_served_with_short_timeouts() {
    use http_body_util::{BodyExt, Empty};
    let f = Fixtures::new();
    let s = Server::start(
        f.path(),
        &[
            "--first-byte-timeout",
            "300ms",
            "--idle-timeout",
            "300ms",
            "--http2-ping-interval",
            "200ms",
        ],
    )
    .await;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<Empty<bytes::Bytes>>();
    for round in 0..2 {
        let uri: http::Uri = s.url("/resize?src=photo.jpg&w=64").parse().expect("uri");
        let response = client.get(uri).await.expect("h2 request");
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), StatusCode::OK, "round {round}");
        let body = response.into_body().collect().await.expect("body");
        let width = image::load_from_memory(&body.to_bytes())
            .expect("jpeg")
            .width();
        assert_eq!(width, 64);
        // Past the idle timeout: the pooled connection is closed and the client reconnects.
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
}
