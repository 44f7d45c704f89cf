//! A real S3-compatible server for the tests: `s3s-fs` (installed by scripts/install-s3s-fs.sh,
//! which scripts/test.sh runs), started on 127.0.0.1 with a temp dir and credentials. Buckets are directories of that dir and
//! objects are files in them, so a test puts and changes objects by writing files.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const ACCESS_KEY: &str = "imgshield-test";
pub(crate) const SECRET_KEY: &str = "imgshield-test-secret";

pub(crate) struct S3Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
}

/// Where scripts/install-s3s-fs.sh puts the binary (or `IMGSHIELD_S3S_FS`).
fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("IMGSHIELD_S3S_FS") {
        return PathBuf::from(path);
    }
    let tools = std::env::var_os("IMGSHIELD_TOOLS_DIR").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/imgshield-tools")
        },
        PathBuf::from,
    );
    tools.join("bin/s3s-fs")
}

impl S3Server {
    /// Starts s3s-fs with one directory per bucket in `buckets`.
    pub(crate) fn start(buckets: &[&str]) -> S3Server {
        let dir = tempfile::tempdir().expect("temp dir");
        for bucket in buckets {
            std::fs::create_dir(dir.path().join(bucket)).expect("bucket dir");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = S3Server {
            child: None,
            dir,
            port,
        };
        server.restart();
        server
    }

    /// (Re)starts the server on its port and directory.
    pub(crate) fn restart(&mut self) {
        let binary = binary();
        assert!(
            binary.exists(),
            "{} is missing: run scripts/install-s3s-fs.sh (it installs s3s-fs, the S3 server these tests need)",
            binary.display()
        );
        let child = Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("s3s-fs starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server; the port then refuses connections.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The flags that point imgshield at this server.
    pub(crate) fn flags(&self) -> Vec<String> {
        [
            "--s3-endpoint",
            &self.endpoint(),
            "--s3-path-style",
            "--s3-region",
            "us-east-1",
            "--s3-access-key-id",
            ACCESS_KEY,
            "--s3-secret-access-key",
            SECRET_KEY,
        ]
        .map(str::to_string)
        .to_vec()
    }

    /// The file holding `key` of `bucket`.
    pub(crate) fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.dir.path().join(bucket).join(key)
    }

    /// Puts (or replaces) `key` in `bucket`.
    pub(crate) fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let path = self.dir.path().join(bucket).join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("key dirs");
        }
        std::fs::write(path, bytes).expect("object written");
    }

    /// The objects of `bucket` below `prefix`, as (key, size), by walking the server's files.
    pub(crate) fn objects(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let root = self.dir.path().join(bucket);
        let mut found = Vec::new();
        let mut stack = vec![root.join(prefix)];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(key) = path.strip_prefix(&root) {
                    let key = key.to_string_lossy().into_owned();
                    // s3s-fs keeps its own metadata in dot files next to the objects.
                    if !key.split('/').any(|part| part.starts_with('.')) {
                        let size = entry.metadata().map_or(0, |m| m.len());
                        found.push((key, size));
                    }
                }
            }
        }
        found
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The imgshield binary, started with `args` on 127.0.0.1:0; killed when dropped.
pub(crate) struct Replica {
    child: Child,
    pub base: String,
}

impl Replica {
    pub(crate) fn start(args: &[String]) -> Replica {
        use std::io::Read;
        let mut child = Command::new(env!("CARGO_BIN_EXE_imgshield"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
            first.push(byte[0]);
        }
        let first = String::from_utf8_lossy(&first).into_owned();
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_string();
        // Keep reading stdout so the binary never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Replica { child, base }
    }

    pub(crate) fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// The sum of every series of `name` whose labels contain `labels`, from /metrics.
    pub(crate) async fn metric_sum(&self, name: &str, labels: &str) -> f64 {
        let reply = crate::common::fetch(http::Method::GET, &self.url("/metrics"), &[]).await;
        String::from_utf8_lossy(&reply.body)
            .lines()
            .filter(|line| line.starts_with(&format!("{name}{{")) && line.contains(labels))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
