//! Shared test harness: a real imgshield server on 127.0.0.1:0, a real misbehaving origin on
//! 127.0.0.1, an HTTP client, and generated fixtures. No mocks: libvips, sockets and HTTP are real.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use imgshield::config::Config;

// ---------------------------------------------------------------- fixtures

/// A directory of test images, written once per test.
pub(crate) struct Fixtures {
    pub dir: tempfile::TempDir,
}

impl Fixtures {
    pub(crate) fn new() -> Fixtures {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, bytes: &[u8]| {
            std::fs::write(dir.path().join(name), bytes).expect("write fixture")
        };
        let photo = photo_jpeg(1200, 800);
        write("photo.jpg", &photo);
        write("tall.jpg", &photo_jpeg(400, 1000));
        // Stored 400x200 landscape, EXIF says "rotate 90° clockwise": displayed 200x400.
        write(
            "rotated.jpg",
            &with_exif_orientation(&photo_jpeg(400, 200), 6),
        );
        write("alpha.png", &rgba_png(300, 200));
        write("truncated.jpg", &photo[..photo.len() / 2]);
        write(
            "garbage.jpg",
            b"this is not an image at all, just text pretending to be one",
        );
        write("empty.jpg", b"");
        write("bomb.png", &png_declaring(64_250, 64_250));
        write(
            "page.svg",
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#,
        );
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        write("sub/nested.jpg", &photo_jpeg(64, 64));
        Fixtures { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

pub(crate) fn photo_jpeg(width: u32, height: u32) -> Vec<u8> {
    imgshield::samples::photo_jpeg(width, height, u64::from(width ^ height), 85)
        .expect("generate jpeg")
}

/// `jpeg` with a minimal EXIF APP1 segment carrying `orientation` inserted after SOI.
pub(crate) fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    with_exif(jpeg, orientation, None)
}

/// `jpeg` with an EXIF APP1 segment: `orientation` and, if given, an ImageDescription (0x010E)
/// standing in for private data such as a GPS position.
pub(crate) fn with_exif(jpeg: &[u8], orientation: u16, description: Option<&str>) -> Vec<u8> {
    let text = description.map(|d| format!("{d}\0"));
    let entries: u16 = if text.is_some() { 2 } else { 1 };
    let ifd_len = 2 + 12 * u32::from(entries) + 4;
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0"); // little-endian TIFF header
    tiff.extend_from_slice(&8u32.to_le_bytes()); // first IFD at offset 8
    tiff.extend_from_slice(&entries.to_le_bytes());
    if let Some(text) = &text {
        tiff.extend_from_slice(&0x010Eu16.to_le_bytes()); // ImageDescription, sorted first
        tiff.extend_from_slice(&2u16.to_le_bytes()); // ASCII
        tiff.extend_from_slice(&u32::try_from(text.len()).expect("short").to_le_bytes());
        tiff.extend_from_slice(&(8 + ifd_len).to_le_bytes()); // value right after the IFD
    }
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // count
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    if let Some(text) = &text {
        tiff.extend_from_slice(text.as_bytes());
    }
    let length = u16::try_from(2 + 6 + tiff.len()).expect("small segment");
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An RGBA PNG encoded by the `image` crate (not by the code under test).
pub(crate) fn rgba_png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            128,
            if x < width / 2 { 255 } else { 60 },
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode png");
    out.into_inner()
}

/// A tiny, valid PNG whose header declares `width`×`height` pixels (a decompression bomb's header).
pub(crate) fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = rgba_png(1, 1);
    // Signature (8) + IHDR length (4) + "IHDR" (4): width and height follow, then the CRC at 29..33.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ---------------------------------------------------------------- the origin

/// How the test origin answers a path.
#[derive(Clone, Debug)]
pub(crate) enum Behaviour {
    Image(Vec<u8>),
    Status(u16),
    /// Waits before answering with the image.
    Slow(Duration, Vec<u8>),
    /// Declares the full length, sends half, closes.
    Truncated(Vec<u8>),
    /// Chunked body that never ends (bounded by the client hanging up, or 30 s).
    Endless,
    /// 200 with a body that is not an image.
    NotAnImage,
    Redirect(String),
    /// 200 with `garbage` (sent as `image/jpeg`) to the first request, then `Image(then)`: an
    /// origin that served a maintenance page (or a broken file) once and then recovered.
    GarbageOnce {
        garbage: Vec<u8>,
        then: Vec<u8>,
    },
    /// 200 with the image and these extra response headers (`Cache-Control`, `Expires`, ...).
    WithHeaders(Vec<u8>, Vec<(&'static str, String)>),
    /// 200 with `ETag` and `Cache-Control`; 304 (counted as `hits("<path> 304")`) when the
    /// request's `If-None-Match` names the tag.
    Validated {
        bytes: Vec<u8>,
        etag: String,
        cache_control: String,
    },
}

/// A real HTTP/1.1 origin on 127.0.0.1 that counts requests per path and misbehaves on demand.
pub(crate) struct Origin {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Behaviour>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    pub connections: Arc<AtomicUsize>,
}

impl Origin {
    pub(crate) async fn start() -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind origin");
        let addr = listener.local_addr().expect("addr");
        let routes: Arc<Mutex<HashMap<String, Behaviour>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let (r, h, c) = (routes.clone(), hits.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (r, h) = (r.clone(), h.clone());
                tokio::spawn(async move {
                    let _ = serve_origin_connection(stream, r, h).await;
                });
            }
        });
        Origin {
            addr,
            routes,
            hits,
            connections,
        }
    }

    pub(crate) fn route(&self, path: &str, behaviour: Behaviour) {
        self.routes
            .lock()
            .expect("lock")
            .insert(path.to_string(), behaviour);
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("lock")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `--allow-host` value that admits this origin.
    pub(crate) fn allow(&self) -> String {
        self.addr.to_string()
    }
}

async fn serve_origin_connection(
    mut stream: TcpStream,
    routes: Arc<Mutex<HashMap<String, Behaviour>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
) -> std::io::Result<()> {
    loop {
        // Read one request head (the client sends no bodies).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await? == 0 {
                return Ok(());
            }
            head.push(byte[0]);
            if head.len() > 16 * 1024 {
                return Ok(());
            }
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        let if_none_match = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("if-none-match")
                .then(|| value.trim().to_string())
        });
        *hits.lock().expect("lock").entry(path.clone()).or_default() += 1;
        let behaviour = {
            let mut routes = routes.lock().expect("lock");
            let behaviour = routes.get(&path).cloned().unwrap_or(Behaviour::Status(404));
            if let Behaviour::GarbageOnce { then, .. } = &behaviour {
                routes.insert(path.clone(), Behaviour::Image(then.clone()));
            }
            behaviour
        };
        let ok_head = |len: usize, ctype: &str| {
            format!("HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\n\r\n")
        };
        match behaviour {
            Behaviour::Image(bytes) | Behaviour::GarbageOnce { garbage: bytes, .. } => {
                stream
                    .write_all(ok_head(bytes.len(), "image/jpeg").as_bytes())
                    .await?;
                stream.write_all(&bytes).await?;
            }
            Behaviour::WithHeaders(bytes, extra) => {
                let mut head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n",
                    bytes.len()
                );
                for (name, value) in &extra {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&bytes).await?;
            }
            Behaviour::Slow(delay, bytes) => {
                tokio::time::sleep(delay).await;
                stream
                    .write_all(ok_head(bytes.len(), "image/jpeg").as_bytes())
                    .await?;
                stream.write_all(&bytes).await?;
            }
            Behaviour::Status(code) => {
                let body = format!("status {code}");
                let reply = format!(
                    "HTTP/1.1 {code} Whatever\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await?;
            }
            Behaviour::Truncated(bytes) => {
                stream
                    .write_all(ok_head(bytes.len(), "image/jpeg").as_bytes())
                    .await?;
                stream.write_all(&bytes[..bytes.len() / 2]).await?;
                stream.flush().await?;
                return Ok(()); // close mid-body
            }
            Behaviour::Endless => {
                stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .await?;
                let chunk = vec![0xAB; 64 * 1024];
                let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
                while tokio::time::Instant::now() < deadline {
                    stream
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await?;
                    stream.write_all(&chunk).await?;
                    stream.write_all(b"\r\n").await?;
                }
                return Ok(());
            }
            Behaviour::NotAnImage => {
                let body = b"<html><body>not an image</body></html>";
                stream
                    .write_all(ok_head(body.len(), "text/html").as_bytes())
                    .await?;
                stream.write_all(body).await?;
            }
            Behaviour::Redirect(location) => {
                let reply = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                );
                stream.write_all(reply.as_bytes()).await?;
            }
            Behaviour::Validated {
                bytes,
                etag,
                cache_control,
            } => {
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    *hits
                        .lock()
                        .expect("lock")
                        .entry(format!("{path} 304"))
                        .or_default() += 1;
                    let reply = format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nCache-Control: {cache_control}\r\n\r\n"
                    );
                    stream.write_all(reply.as_bytes()).await?;
                } else {
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nETag: {etag}\r\nCache-Control: {cache_control}\r\n\r\n",
                        bytes.len()
                    );
                    stream.write_all(reply.as_bytes()).await?;
                    stream.write_all(&bytes).await?;
                }
            }
        }
    }
}

// ---------------------------------------------------------------- the server under test

pub(crate) struct Server {
    pub running: imgshield::http::Running,
    pub base: String,
}

impl Server {
    /// Starts imgshield on 127.0.0.1:0 with `root` and extra flags.
    pub(crate) async fn start(root: &Path, extra: &[&str]) -> Server {
        let mut args: Vec<String> =
            vec!["imgshield".into(), "--listen".into(), "127.0.0.1:0".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let config = Config::try_parse_from_args(&args);
        let running = imgshield::http::start(&config, root)
            .await
            .expect("server starts");
        let base = format!("http://{}", running.local_addr());
        Server { running, base }
    }

    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    pub(crate) async fn get(&self, path_and_query: &str) -> Reply {
        fetch(Method::GET, &self.url(path_and_query), &[]).await
    }

    pub(crate) async fn get_with(&self, path_and_query: &str, headers: &[(&str, &str)]) -> Reply {
        fetch(Method::GET, &self.url(path_and_query), headers).await
    }

    pub(crate) async fn head(&self, path_and_query: &str) -> Reply {
        fetch(Method::HEAD, &self.url(path_and_query), &[]).await
    }

    /// The value of one metric series in the /metrics text, 0 when absent.
    pub(crate) async fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics").await.text();
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series)
                    .and_then(|rest| rest.trim().parse::<f64>().ok())
            })
            .unwrap_or(0.0)
    }

    /// Healthy: liveness answers and a good image request still succeeds.
    pub(crate) async fn assert_healthy(&self, good: &str) {
        assert_eq!(self.get("/healthz").await.status, StatusCode::OK);
        let reply = self.get(good).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "good request after bad input: {}",
            reply.text()
        );
    }
}

trait ParseArgs {
    fn try_parse_from_args(args: &[String]) -> Config;
}

impl ParseArgs for Config {
    fn try_parse_from_args(args: &[String]) -> Config {
        use clap::Parser;
        Config::try_parse_from(args).expect("valid test config")
    }
}

pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The JSON error code.
    pub(crate) fn code(&self) -> String {
        let json: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        json["code"].as_str().unwrap_or_default().to_string()
    }

    /// Decodes the body with the `image` crate: (format, width, height).
    pub(crate) fn image(&self) -> (image::ImageFormat, u32, u32) {
        let format = image::guess_format(&self.body).expect("a known image format");
        let decoded = image::load_from_memory(&self.body).expect("a decodable image");
        (format, decoded.width(), decoded.height())
    }
}

pub(crate) async fn fetch(method: Method, url: &str, headers: &[(&str, &str)]) -> Reply {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Empty::new()).expect("request");
    let response = tokio::time::timeout(Duration::from_secs(60), client.request(request))
        .await
        .expect("the server answers within 60 s")
        .expect("the request succeeds at the HTTP level");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

pub(crate) fn root_of(fixtures: &Fixtures) -> PathBuf {
    fixtures.path().to_path_buf()
}

/// Fixtures, a real origin, and a server that allows it (with `extra` flags): the start of every
/// test that fetches remote sources.
pub(crate) async fn with_origin(extra: &[&str]) -> (Fixtures, Origin, Server) {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    let allow = origin.allow();
    let mut args = vec!["--allow-host", allow.as_str()];
    args.extend_from_slice(extra);
    let server = Server::start(fixtures.path(), &args).await;
    (fixtures, origin, server)
}

/// `/resize` of the origin's `path`, with `rest` (`&w=60`, ...) appended.
pub(crate) fn resize_url(origin: &Origin, path: &str, rest: &str) -> String {
    format!("/resize?src={}{rest}", origin.url(path))
}
