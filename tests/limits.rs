//! Client-side limits that hold against abusive clients: slow or idle connections are closed, huge
//! URLs and headers are refused, and the connection cap makes extra clients wait while every
//! connection is busy (tests/connections.rs has the rest of the cap's policy).

mod common;

use std::time::Duration;

use common::{Behaviour, Fixtures, Origin, Server};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_disconnected_after_the_header_timeout() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--header-read-timeout", "1s"]).await;
    let mut slow = TcpStream::connect(s.running.local_addr())
        .await
        .expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial head");
    // Never finish the head: the server must hang up (a generous bound, not a timing assertion).
    assert!(
        closed_within(&mut slow, Duration::from_secs(10))
            .await
            .is_some(),
        "slowloris connection kept open"
    );
    s.assert_healthy("/resize?src=photo.jpg&w=10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--header-read-timeout", "1s"]).await;
    let mut idle = TcpStream::connect(s.running.local_addr())
        .await
        .expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    let seen = closed_within(&mut idle, Duration::from_secs(10))
        .await
        .expect("the idle connection is closed");
    assert!(
        seen.starts_with(b"HTTP/1.1 200"),
        "the request itself was answered first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_url_gets_414() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--max-url-bytes", "256"]).await;
    let long = format!("/resize?src=photo.jpg&w=10&pad={}", "x".repeat(300));
    let reply = s.get(&long).await;
    assert_eq!(reply.status, StatusCode::URI_TOO_LONG);
    assert_eq!(reply.code(), "url_too_long");
    assert_eq!(
        s.get("/resize?src=photo.jpg&w=10").await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_head_is_refused() {
    let f = Fixtures::new();
    let s = Server::start(f.path(), &["--max-header-bytes", "8KiB"]).await;
    let mut client = TcpStream::connect(s.running.local_addr())
        .await
        .expect("connect");
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n",
        "j".repeat(32 * 1024)
    );
    // The server may stop reading and answer before the whole head is written.
    let _ = client.write_all(huge.as_bytes()).await;
    let seen = closed_within(&mut client, Duration::from_secs(10))
        .await
        .expect("the connection is closed");
    let head = String::from_utf8_lossy(&seen);
    assert!(head.starts_with("HTTP/1.1 431"), "{head:?}");
    s.assert_healthy("/resize?src=photo.jpg&w=10").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_beyond_the_connection_cap_wait_while_every_connection_is_busy() {
    let f = Fixtures::new();
    let origin = Origin::start().await;
    origin.route(
        "/slow.jpg",
        Behaviour::Slow(Duration::from_millis(1500), common::photo_jpeg(64, 64)),
    );
    let s = Server::start(
        f.path(),
        &["--max-connections", "1", "--allow-host", &origin.allow()],
    )
    .await;
    let addr = s.running.local_addr();
    // The only place holds a request in flight (a slow origin): it cannot give way.
    let mut holder = TcpStream::connect(addr).await.expect("first connection");
    let busy = format!(
        "GET /resize?src={}&w=10 HTTP/1.1\r\nHost: x\r\n\r\n",
        origin.url("/slow.jpg")
    );
    holder.write_all(busy.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let waiting = tokio::spawn(async move {
        let mut second = TcpStream::connect(addr)
            .await
            .expect("the kernel accepts the connection");
        second
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        closed_within(&mut second, Duration::from_secs(30)).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the second client is not served while the first has a request in flight"
    );
    // Once the first request is answered, its connection is idle and gives way.
    let answer = waiting
        .await
        .expect("join")
        .expect("answered once the first request is done");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let mut first = [0u8; 16];
    holder.read_exact(&mut first).await.expect("first answer");
    assert!(first.starts_with(b"HTTP/1.1 200"));
}
