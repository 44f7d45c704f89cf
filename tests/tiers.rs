//! The storage tiers behind the memory cache, against the real binary and a real origin: the disk
//! tier across a restart (the origin is not asked again), corrupted and truncated entries (never
//! served), an entry gone stale on disk (refreshed, or served stale only if the origin fails), and
//! a directory nothing can be written to (clients served, the errors counted).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Behaviour, Fixtures, Origin, Reply};
use http::{Method, StatusCode};

/// The binary, killed when dropped (a failing test leaves nothing running).
struct Binary {
    child: Child,
    base: String,
}

impl Binary {
    fn start(args: &[&str]) -> Binary {
        let mut child = Command::new(env!("CARGO_BIN_EXE_imgshield"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let first = BufReader::new(stdout)
            .lines()
            .next()
            .expect("a first line")
            .expect("utf-8");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        Binary { child, base }
    }

    async fn get(&self, path: &str) -> Reply {
        common::fetch(Method::GET, &format!("{}{path}", self.base), &[]).await
    }

    async fn metric(&self, series: &str) -> f64 {
        let text = self.get("/metrics").await.text();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    }

    /// Waits until `series` reaches `at_least` (the tier writes off the request path).
    async fn wait_metric(&self, series: &str, at_least: f64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let value = self.metric(series).await;
            if value >= at_least {
                return;
            }
            assert!(Instant::now() < deadline, "{series} stayed at {value}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A crash, not a clean stop: whatever the disk holds now is what the next start finds.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const STORED: &str = "imgshield_tier_writes_total{tier=\"disk\",result=\"stored\"}";

fn lookups(result: &str) -> String {
    format!("imgshield_tier_lookups_total{{tier=\"disk\",result=\"{result}\"}}")
}

struct Setup {
    _fixtures: Fixtures,
    origin: Origin,
    disk: tempfile::TempDir,
    root: String,
    allow: String,
}

async fn setup() -> Setup {
    let fixtures = Fixtures::new();
    let origin = Origin::start().await;
    origin.route("/photo.jpg", Behaviour::Image(common::photo_jpeg(640, 480)));
    origin.route("/tall.jpg", Behaviour::Image(common::photo_jpeg(300, 700)));
    let root = fixtures.path().to_str().expect("utf-8").to_string();
    let allow = origin.allow();
    Setup {
        _fixtures: fixtures,
        origin,
        disk: tempfile::tempdir().expect("temp dir"),
        root,
        allow,
    }
}

impl Setup {
    fn start(&self, extra: &[&str]) -> Binary {
        let dir = self.disk.path().to_str().expect("utf-8");
        let mut args = vec![
            "--root",
            &self.root,
            "--allow-host",
            &self.allow,
            "--disk-cache-dir",
            dir,
        ];
        args.extend_from_slice(extra);
        Binary::start(&args)
    }

    fn url(&self, path: &str, rest: &str) -> String {
        format!("/resize?src={}{rest}", self.origin.url(path))
    }
}

/// The entry files under `dir` (not the temporary ones).
fn entry_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for fan in std::fs::read_dir(dir).expect("dir").flatten() {
        if fan.file_name() == "tmp" || !fan.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(fan.path()).expect("fan").flatten() {
            files.push(file.path());
        }
    }
    files
}

/// The entry file holding the result whose ETag is `etag`.
fn entry_with(dir: &Path, etag: &str) -> PathBuf {
    entry_files(dir)
        .into_iter()
        .find(|path| {
            let bytes = std::fs::read(path).expect("read entry");
            bytes.windows(etag.len()).any(|w| w == etag.as_bytes())
        })
        .unwrap_or_else(|| panic!("no entry holds {etag}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disk_tier_answers_after_a_crash_without_asking_the_origin() {
    let s = setup().await;
    let urls = [
        s.url("/photo.jpg", "&w=120"),
        s.url("/photo.jpg", "&w=200&fm=png"),
        s.url("/tall.jpg", "&w=90"),
        format!("/info?src={}", s.origin.url("/tall.jpg")),
    ];
    let first = s.start(&[]);
    let mut made = Vec::new();
    for url in &urls {
        let reply = first.get(url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.header("x-cache"), Some("MISS"));
        made.push(reply);
    }
    first.wait_metric(STORED, urls.len() as f64).await;
    let fetched = (s.origin.hits("/photo.jpg"), s.origin.hits("/tall.jpg"));
    first.kill();

    let second = s.start(&[]);
    // Concurrent requests for one key after the restart make one disk read between them.
    let same = (0..8).map(|_| {
        let url = format!("{}{}", second.base, urls[0]);
        tokio::spawn(async move { common::fetch(Method::GET, &url, &[]).await })
    });
    for reply in futures_join(same).await {
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, made[0].body);
    }
    assert_eq!(second.metric(&lookups("hit")).await, 1.0);
    let stats: serde_json::Value =
        serde_json::from_slice(&second.get("/stats").await.body).expect("JSON");
    assert_eq!(stats["tiers"][0]["tier"], "disk");
    assert_eq!(stats["tiers"][0]["hits"], 1);
    let answered_by_disk = "imgshield_cache_lookups_total{result=\"disk\"}";
    let by_disk = second.metric(answered_by_disk).await;
    assert!(by_disk >= 1.0);
    for (url, before) in urls.iter().zip(&made).skip(1) {
        let reply = second.get(url).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-cache"), Some("HIT-DISK"), "{url}");
        assert_eq!(reply.body, before.body);
        assert_eq!(reply.header("etag"), before.header("etag"));
        assert_eq!(reply.header("content-type"), before.header("content-type"));
        assert_eq!(
            reply.header("content-disposition"),
            before.header("content-disposition")
        );
    }
    // Promoted into memory: the next answer is a plain hit.
    assert_eq!(second.get(&urls[1]).await.header("x-cache"), Some("HIT"));
    assert_eq!(
        (s.origin.hits("/photo.jpg"), s.origin.hits("/tall.jpg")),
        fetched,
        "the origin was asked again after the restart"
    );
    assert_eq!(
        second.metric(answered_by_disk).await,
        by_disk + (urls.len() - 1) as f64
    );
}

async fn futures_join(tasks: impl Iterator<Item = tokio::task::JoinHandle<Reply>>) -> Vec<Reply> {
    let mut replies = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        replies.push(task.await.expect("join"));
    }
    replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_and_truncated_entries_are_never_served() {
    let s = setup().await;
    let (flipped, cut) = (s.url("/photo.jpg", "&w=150"), s.url("/tall.jpg", "&w=80"));
    let first = s.start(&[]);
    let made = [first.get(&flipped).await, first.get(&cut).await];
    first.wait_metric(STORED, 2.0).await;
    first.kill();

    // One byte of the body flipped (the file keeps its length); the other file cut short.
    let etag = |reply: &Reply| reply.header("etag").expect("etag").to_string();
    let path = entry_with(s.disk.path(), &etag(&made[0]));
    let mut bytes = std::fs::read(&path).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).expect("write");
    let path = entry_with(s.disk.path(), &etag(&made[1]));
    let bytes = std::fs::read(&path).expect("read");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).expect("write");

    let fetched = (s.origin.hits("/photo.jpg"), s.origin.hits("/tall.jpg"));
    let second = s.start(&[]);
    for (url, before) in [&flipped, &cut].into_iter().zip(&made) {
        let reply = second.get(url).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-cache"), Some("MISS"), "{url}");
        assert_eq!(
            reply.body, before.body,
            "what was served is not what was made"
        );
    }
    assert_eq!(second.metric(&lookups("corrupt")).await, 2.0);
    assert_eq!(second.metric(&lookups("hit")).await, 0.0);
    assert_eq!(
        (s.origin.hits("/photo.jpg"), s.origin.hits("/tall.jpg")),
        (fetched.0 + 1, fetched.1 + 1),
        "the origin is asked again for both"
    );
    // The bad entries are replaced by good ones.
    second.wait_metric(STORED, 2.0).await;
    second.kill();
    let third = s.start(&[]);
    for url in [&flipped, &cut] {
        assert_eq!(third.get(url).await.header("x-cache"), Some("HIT-DISK"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_stale_on_disk_is_refreshed_or_served_stale_never_fresh() {
    let s = setup().await;
    let url = s.url("/photo.jpg", "&w=110");
    let ttl = ["--cache-ttl", "1s", "--stale-while-revalidate", "0s"];
    let first = s.start(&ttl);
    let made = first.get(&url).await;
    first.wait_metric(STORED, 1.0).await;
    first.kill();
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Past its TTL: the origin is asked (not a HIT-DISK), like a stale memory entry.
    let second = s.start(&ttl);
    let fetched = s.origin.hits("/photo.jpg");
    let reply = second.get(&url).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-cache"), Some("MISS"));
    assert_eq!(s.origin.hits("/photo.jpg"), fetched + 1);
    assert_eq!(second.metric(&lookups("stale")).await, 1.0);
    second.wait_metric(STORED, 1.0).await;
    second.kill();
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Stale again, and now the origin fails: the stale copy is served, and says so.
    s.origin.route("/photo.jpg", Behaviour::Status(503));
    let third = s.start(&ttl);
    let reply = third.get(&url).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-cache"), Some("STALE"));
    assert_eq!(reply.body, made.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_nothing_can_be_written_to_serves_every_client_and_counts_the_errors() {
    let s = setup().await;
    // A regular file where the directory should be: no entry can ever be made (even as root).
    let blocker = s.disk.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").expect("write");
    let dir = blocker.join("cache");
    let dir = dir.to_str().expect("utf-8");
    let server = Binary::start(&[
        "--root",
        &s.root,
        "--allow-host",
        &s.allow,
        "--disk-cache-dir",
        dir,
    ]);
    for width in [100, 120, 140] {
        let url = s.url("/photo.jpg", &format!("&w={width}"));
        let reply = server.get(&url).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(reply.image().1, width);
        assert_eq!(server.get(&url).await.header("x-cache"), Some("HIT"));
    }
    server
        .wait_metric(
            "imgshield_tier_writes_total{tier=\"disk\",result=\"error\"}",
            3.0,
        )
        .await;
    assert!(
        server
            .metric("imgshield_tier_errors_total{tier=\"disk\",kind=\"io\"}")
            .await
            >= 3.0
    );
    assert_eq!(server.metric(STORED).await, 0.0);
}
