//! Following a request: its id in the response and in its access-log line, and its spans exported
//! over OTLP/HTTP to a real receiver started here, which decodes the protobuf and checks the
//! trace's structure (the caller's parent, the request span, its children).

mod common;

use std::convert::Infallible;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prost::Message;

use common::Fixtures;

// ------------------------------------------------ the OTLP trace messages (the fields we read)

#[derive(Clone, PartialEq, Message)]
struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    resource_spans: Vec<ResourceSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct ResourceSpans {
    #[prost(message, optional, tag = "1")]
    resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    scope_spans: Vec<ScopeSpans>,
}

#[derive(Clone, PartialEq, Message)]
struct Resource {
    #[prost(message, repeated, tag = "1")]
    attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct ScopeSpans {
    #[prost(message, repeated, tag = "2")]
    spans: Vec<Span>,
}

#[derive(Clone, PartialEq, Message)]
struct Span {
    #[prost(bytes = "vec", tag = "1")]
    trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    span_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    parent_span_id: Vec<u8>,
    #[prost(string, tag = "5")]
    name: String,
    #[prost(message, repeated, tag = "9")]
    attributes: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct KeyValue {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(message, optional, tag = "2")]
    value: Option<AnyValue>,
}

#[derive(Clone, PartialEq, Message)]
struct AnyValue {
    #[prost(string, tag = "1")]
    string_value: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .map(|v| v.string_value.as_str())
}

/// A real OTLP/HTTP receiver: accepts `POST /v1/traces` (protobuf), keeps every span and the
/// resource attributes it came with, answers 200.
async fn receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<(Vec<KeyValue>, Span)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let spans = Arc::new(Mutex::new(Vec::new()));
    let kept = spans.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let kept = kept.clone();
                async move {
                    let ok = request.uri().path() == "/v1/traces"
                        && request.headers().get("content-type").map(|v| v.as_bytes())
                            == Some(b"application/x-protobuf");
                    let body = request.into_body().collect().await.map(|b| b.to_bytes());
                    let decoded = body
                        .ok()
                        .filter(|_| ok)
                        .and_then(|b| ExportTraceServiceRequest::decode(b).ok());
                    let status = match decoded {
                        Some(export) => {
                            let mut kept = kept.lock().expect("lock");
                            for resource in export.resource_spans {
                                let attributes =
                                    resource.resource.map(|r| r.attributes).unwrap_or_default();
                                for scope in resource.scope_spans {
                                    for span in scope.spans {
                                        kept.push((attributes.clone(), span));
                                    }
                                }
                            }
                            200
                        }
                        None => 400,
                    };
                    let mut answer = http::Response::new(Full::new(Bytes::new()));
                    *answer.status_mut() = http::StatusCode::from_u16(status).expect("status");
                    Ok::<_, Infallible>(answer)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, spans)
}

/// The binary with `args`, its stderr in a file; returns it with its base URL.
fn spawn(args: &[&str], log: &std::path::Path) -> (Child, String) {
    let stderr = std::fs::File::create(log).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_imgshield"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
        first.push(byte[0]);
    }
    let first = String::from_utf8(first).expect("utf-8");
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    (child, base)
}

/// Kills the binary if the test ends (or fails) before `stop`: no server outlives its test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn stop(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        assert!(started.elapsed() < Duration::from_secs(20), "no exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_followed_in_its_response_its_log_line_and_its_exported_spans() {
    let fixtures = Fixtures::new();
    let (collector, spans) = receiver().await;
    let log = fixtures.path().join("imgshield.log");
    let root = fixtures.path().to_str().expect("utf-8 path");
    let endpoint = format!("http://{collector}");
    let (child, base) = spawn(&["--root", root, "--otlp-endpoint", &endpoint], &log);
    let mut child = Running(child);

    let traceparent = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let reply = common::fetch(
        http::Method::GET,
        &format!("{base}/resize?src=photo.jpg&w=64"),
        &[
            ("traceparent", &traceparent),
            ("x-request-id", "edge-req-42"),
        ],
    )
    .await;
    assert_eq!(reply.status, http::StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("x-request-id"), Some("edge-req-42"));
    let sent = reply
        .header("traceparent")
        .expect("a traceparent")
        .to_owned();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(
        (parts[0], parts[1], parts[3]),
        ("00", CALLER_TRACE, "01"),
        "{sent}"
    );
    let request_span = parts[2].to_owned();
    assert_ne!(request_span, CALLER_SPAN);

    // A request without ids gets made ones, and they differ per request.
    let plain = common::fetch(http::Method::GET, &format!("{base}/healthz"), &[]).await;
    let made = plain.header("x-request-id").expect("an id").to_owned();
    assert_eq!(made.len(), 32);
    assert!(plain
        .header("traceparent")
        .is_some_and(|t| t.contains(&made)));

    stop(&mut child.0);
    let text = std::fs::read_to_string(&log).expect("the log");
    let access = text
        .lines()
        .find(|l| l.contains("edge-req-42") && l.contains("route=\"resize\""))
        .unwrap_or_else(|| panic!("no access line with the id in:\n{text}"));
    for field in [
        "status=200",
        "src=\"local\"",
        "key=",
        "bytes=",
        "cache=\"miss\"",
        "total_ms=",
    ] {
        assert!(access.contains(field), "{field} missing: {access}");
    }

    let spans = spans.lock().expect("lock").clone();
    let ours: Vec<&(Vec<KeyValue>, Span)> = spans
        .iter()
        .filter(|(_, s)| hex(&s.trace_id) == CALLER_TRACE)
        .collect();
    let (resource, request) = ours
        .iter()
        .find(|(_, s)| s.name == "request")
        .map(|(r, s)| (r, s))
        .unwrap_or_else(|| panic!("no request span in {spans:?}"));
    assert_eq!(attribute(resource, "service.name"), Some("imgshield"));
    assert_eq!(
        hex(&request.span_id),
        request_span,
        "the span the response named"
    );
    assert_eq!(
        hex(&request.parent_span_id),
        CALLER_SPAN,
        "the caller's span is the parent"
    );
    assert_eq!(attribute(&request.attributes, "id"), Some("edge-req-42"));
    // The miss's stages are the request's children, across the task and the worker thread.
    for stage in ["queue_wait", "fetch", "cpu_wait", "transform"] {
        let child = ours
            .iter()
            .find(|(_, s)| s.name == stage)
            .unwrap_or_else(|| panic!("no {stage} span in {ours:?}"));
        assert_eq!(
            hex(&child.1.parent_span_id),
            request_span,
            "{stage}'s parent"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_endpoint_stops_the_start_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_imgshield"))
        .args(["--listen", "127.0.0.1:0", "--otlp-endpoint", "ftp://x"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--otlp-endpoint"), "{stderr}");
}
