//! The `src` parameter: an absolute http(s) URL, an `s3://bucket/key` object, or a path below the
//! local root.
//!
//! Remote URLs go through a real URL parser (never string matching), so userinfo, odd host notations
//! and percent-encoding are normalised before anyone compares hosts. Local paths are checked
//! lexically here (no `..`, no absolute paths, no NUL or backslash); the origin re-checks them
//! against the file system, where symlinks are visible.

use super::ParamError;

/// Where the original image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Remote(url::Url),
    Local(LocalPath),
}

/// A relative, lexically safe path below the local root: non-empty `/`-separated components, none
/// of them `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Source {
    pub fn parse(value: &str) -> Result<Source, ParamError> {
        let invalid = |reason: &str| ParamError::invalid("src", reason.to_string());
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if let Some((scheme, _)) = value.split_once(':') {
            let looks_like_scheme = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if looks_like_scheme && !scheme.contains('/') {
                return Self::parse_url(value);
            }
        }
        LocalPath::parse(value).map(Source::Local)
    }

    fn parse_url(value: &str) -> Result<Source, ParamError> {
        let invalid = |reason: String| ParamError::invalid("src", reason);
        let mut url =
            url::Url::parse(value).map_err(|e| invalid(format!("not a valid URL: {e}")))?;
        if url.scheme() == "s3" {
            return Self::parse_s3(url);
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme '{}' is not allowed; use http, https or s3",
                url.scheme()
            )));
        }
        if url.host().is_none() {
            return Err(invalid("the URL has no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("credentials in the URL are not allowed".into()));
        }
        // The fragment never reaches the origin; dropping it keeps one cache entry per image.
        url.set_fragment(None);
        Ok(Source::Remote(url))
    }

    /// `s3://bucket/key`: a bucket name as S3 allows one, a key, nothing else (no port,
    /// credentials, query or fragment: none of them would reach the object).
    fn parse_s3(url: url::Url) -> Result<Source, ParamError> {
        let invalid = |reason: &str| ParamError::invalid("src", reason.to_string());
        let bucket = url.host_str().unwrap_or_default();
        if !is_bucket_name(bucket) {
            return Err(invalid("not a valid S3 bucket name"));
        }
        if url.port().is_some() || !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("an s3 URL is s3://bucket/key"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("an s3 URL has no query or fragment"));
        }
        let key = url.path().trim_start_matches('/');
        if key.is_empty() || key.ends_with('/') {
            return Err(invalid("the s3 URL names no object"));
        }
        Ok(Source::Remote(url))
    }

    /// What a parse draft holds until its `src` field has run (which refuses a query without
    /// one, so this never reaches a caller).
    pub(super) fn placeholder() -> Source {
        Source::Local(LocalPath(String::new()))
    }

    /// The stable identity of the source: the normalised URL, or the root-relative path.
    /// The origin's host for logs (`local` for a file below the root).
    pub fn host(&self) -> &str {
        match self {
            Source::Remote(url) => url.host_str().unwrap_or("-"),
            Source::Local(_) => "local",
        }
    }

    pub fn identity(&self) -> String {
        match self {
            Source::Remote(url) => url.as_str().to_string(),
            Source::Local(path) => format!("local:{}", path.as_str()),
        }
    }
}

/// S3's rules for new bucket names: 3 to 63 of `a-z`, `0-9`, `.` and `-`, starting and ending
/// with a letter or digit.
pub fn is_bucket_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
}

impl LocalPath {
    fn parse(value: &str) -> Result<LocalPath, ParamError> {
        let invalid = |reason: &str| ParamError::invalid("src", reason.to_string());
        if value.starts_with('/') {
            return Err(invalid("absolute paths are not allowed"));
        }
        if value.contains('\0') || value.contains('\\') {
            return Err(invalid("the path contains a forbidden character"));
        }
        let mut parts = Vec::new();
        for part in value.split('/') {
            match part {
                "" | "." => continue,
                ".." => return Err(invalid("'..' is not allowed in paths")),
                _ => parts.push(part),
            }
        }
        if parts.is_empty() {
            return Err(invalid("the path names no file"));
        }
        Ok(LocalPath(parts.join("/")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalised() {
        let Source::Local(p) = Source::parse("./a//b/./c.jpg").expect("valid") else {
            panic!("expected local");
        };
        assert_eq!(p.as_str(), "a/b/c.jpg");
    }

    #[test]
    fn escapes_are_refused() {
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "/etc/passwd",
            "a\\..\\b",
            "a\0b",
            "",
            ".",
            "./",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_parsed_and_normalised() {
        let src = Source::parse("HTTPS://Example.COM:443/a/../p.jpg#frag").expect("valid");
        assert_eq!(src.identity(), "https://example.com/p.jpg");
    }

    #[test]
    fn only_http_and_https_are_allowed() {
        for bad in [
            "file:///etc/passwd",
            "ftp://x/y.jpg",
            "gopher://x",
            "data:image/png;base64,AA",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        for good in ["abc", "my-bucket.images", "0a9"] {
            assert!(is_bucket_name(good), "{good}");
        }
        for bad in [
            "ab",
            "Abc",
            "-abc",
            "abc-",
            "a_b",
            "a/b",
            "",
            &"a".repeat(64),
        ] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_key() {
        let src = Source::parse("s3://photos/a/../b%20c.jpg").expect("valid");
        assert_eq!(src.identity(), "s3://photos/b%20c.jpg");
        for bad in [
            "s3://Photos/a.jpg",
            "s3://ph/a.jpg",
            "s3://photos",
            "s3://photos/",
            "s3://photos/dir/",
            "s3://photos:9000/a.jpg",
            "s3://u:p@photos/a.jpg",
            "s3://photos/a.jpg?versionId=1",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_are_refused() {
        assert!(Source::parse("http://allowed.com@evil.com/a.jpg").is_err());
        assert!(Source::parse("http://u:p@example.com/a.jpg").is_err());
    }

    #[test]
    fn local_identities_cannot_be_forged_by_a_url() {
        // Local identities are prefixed with "local:", which is not an allowed URL scheme.
        assert!(Source::parse("local:a.jpg").is_err());
        let local = Source::parse("a.jpg").expect("valid").identity();
        assert_eq!(local, "local:a.jpg");
    }
}
