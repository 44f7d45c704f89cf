//! The local-directory origin (`--root`, or the generated sample set).
//!
//! `params` has already refused `..`, absolute paths and NUL; here the file system has the last word:
//! the path is canonicalised (resolving symlinks) and must still lie below the canonical root.

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{Got, OriginError};
use crate::params::LocalPath;
use crate::types::Caching;

pub(super) struct LocalRoot {
    root: PathBuf,
    max_bytes: u64,
}

impl LocalRoot {
    pub(super) fn new(root: &Path, max_bytes: u64) -> Result<LocalRoot, String> {
        let root = root
            .canonicalize()
            .map_err(|e| format!("image root {}: {e}", root.display()))?;
        if !root.is_dir() {
            return Err(format!("image root {} is not a directory", root.display()));
        }
        Ok(LocalRoot { root, max_bytes })
    }

    /// The file's bytes; its modification time is the result's `Last-Modified`.
    pub(super) async fn read(&self, path: &LocalPath) -> Result<Got, OriginError> {
        let (root, relative, limit) =
            (self.root.clone(), path.as_str().to_string(), self.max_bytes);
        tokio::task::spawn_blocking(move || {
            let bytes = read_below(&root, &relative, limit)?;
            let modified = std::fs::metadata(root.join(&relative))
                .and_then(|meta| meta.modified())
                .ok();
            Ok(Got {
                bytes,
                caching: Caching {
                    last_modified: modified,
                    ..Caching::default()
                },
                fetched: true,
            })
        })
        .await
        .map_err(|e| OriginError::Local(e.to_string()))?
    }
}

fn read_below(root: &Path, relative: &str, limit: u64) -> Result<Bytes, OriginError> {
    let io = |e: std::io::Error| match e.kind() {
        // Whatever the client wrote that names no readable file is "not found", not our failure.
        std::io::ErrorKind::NotFound
        | std::io::ErrorKind::NotADirectory
        | std::io::ErrorKind::IsADirectory
        | std::io::ErrorKind::InvalidFilename => OriginError::NotFound,
        _ if e.raw_os_error() == Some(ELOOP) => OriginError::NotFound,
        _ => OriginError::Local(e.to_string()),
    };
    let path = root.join(relative).canonicalize().map_err(io)?;
    if !path.starts_with(root) {
        return Err(OriginError::PathEscapesRoot);
    }
    // Only regular files, checked before opening: opening a FIFO would block until a writer came.
    let meta = std::fs::metadata(&path).map_err(io)?;
    if !meta.is_file() {
        return Err(OriginError::NotFound);
    }
    if meta.len() > limit {
        return Err(OriginError::TooLarge { limit });
    }
    let file = std::fs::File::open(&path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(OriginError::NotFound);
    }
    // The file may grow between stat and read: read at most limit + 1 bytes and check again.
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > limit {
        return Err(OriginError::TooLarge { limit });
    }
    Ok(Bytes::from(data))
}

/// Linux's "too many levels of symbolic links".
const ELOOP: i32 = 40;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_files_below_the_root_and_refuses_symlinks_out() {
        let outside = tempfile::tempdir().expect("tmp");
        std::fs::write(outside.path().join("secret.jpg"), b"secret").expect("write");
        let root = tempfile::tempdir().expect("tmp");
        let root_path = root.path().canonicalize().expect("canonical");
        std::fs::create_dir(root_path.join("sub")).expect("mkdir");
        std::fs::write(root_path.join("sub/a.jpg"), b"abc").expect("write");
        std::os::unix::fs::symlink(
            outside.path().join("secret.jpg"),
            root_path.join("link.jpg"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink(outside.path(), root_path.join("dirlink")).expect("symlink");

        assert_eq!(
            read_below(&root_path, "sub/a.jpg", 10),
            Ok(Bytes::from_static(b"abc"))
        );
        assert_eq!(
            read_below(&root_path, "link.jpg", 10),
            Err(OriginError::PathEscapesRoot)
        );
        assert_eq!(
            read_below(&root_path, "dirlink/secret.jpg", 10),
            Err(OriginError::PathEscapesRoot)
        );
        assert_eq!(
            read_below(&root_path, "missing.jpg", 10),
            Err(OriginError::NotFound)
        );
        assert_eq!(
            read_below(&root_path, "sub", 10),
            Err(OriginError::NotFound)
        );
        assert_eq!(
            read_below(&root_path, "sub/a.jpg", 2),
            Err(OriginError::TooLarge { limit: 2 })
        );
        // A path through a file, and an over-long name: the client's mistake, so "not found".
        assert_eq!(
            read_below(&root_path, "sub/a.jpg/x", 10),
            Err(OriginError::NotFound)
        );
        assert_eq!(
            read_below(&root_path, &"n".repeat(300), 10),
            Err(OriginError::NotFound)
        );
        // A FIFO would block an open() until a writer appears: it must be refused without opening.
        let fifo = root_path.join("fifo.jpg");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        assert_eq!(
            read_below(&root_path, "fifo.jpg", 10),
            Err(OriginError::NotFound)
        );
    }
}
