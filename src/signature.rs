//! Signed URLs: with `--secret`, every `/resize` request must carry `sig`, an HMAC-SHA256 over the
//! path and the query without `sig`, as sent (order and percent-encoding untouched), in unpadded
//! base64url. Several secrets may be configured for rotation: the first signs, any verifies.
//!
//! The message is the raw request target rather than the canonical params so that a signature
//! cannot be stretched to a URL the signer never wrote (an extra parameter, another encoding).
//! Verification uses ring's constant-time comparison.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;

/// Shortest secret accepted: 128 bits of a random string.
pub const MIN_SECRET_LEN: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("this URL must be signed: 'sig' is missing")]
    Missing,
    #[error("the signature does not match")]
    Invalid,
}

pub struct Signer {
    keys: Vec<hmac::Key>,
}

impl Signer {
    /// `None` when no secret is configured (signing off).
    pub fn new(secrets: &[String]) -> Result<Option<Signer>, String> {
        let secrets: Vec<&String> = secrets.iter().filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return Ok(None);
        }
        if let Some(short) = secrets.iter().find(|s| s.len() < MIN_SECRET_LEN) {
            return Err(format!(
                "a --secret of {} bytes is too short; use at least {MIN_SECRET_LEN} random bytes",
                short.len()
            ));
        }
        let keys = secrets
            .iter()
            .map(|s| hmac::Key::new(hmac::HMAC_SHA256, s.as_bytes()))
            .collect();
        Ok(Some(Signer { keys }))
    }

    /// The `sig` value for `path` and `query` (which must not contain `sig`).
    pub fn sign(&self, path: &str, query: &str) -> String {
        let tag = hmac::sign(&self.keys[0], message(path, query).as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Checks the `sig` parameter of a raw query string against every configured secret.
    pub fn verify(&self, path: &str, raw_query: &str) -> Result<(), SignatureError> {
        let (unsigned, sig) = split_sig(raw_query)?;
        let tag = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| SignatureError::Invalid)?;
        let message = message(path, &unsigned);
        if self
            .keys
            .iter()
            .any(|key| hmac::verify(key, message.as_bytes(), &tag).is_ok())
        {
            Ok(())
        } else {
            Err(SignatureError::Invalid)
        }
    }
}

fn message(path: &str, query: &str) -> String {
    format!("{path}?{query}")
}

/// Separates the one `sig=` pair from the rest of the query, keeping the rest byte for byte.
fn split_sig(raw_query: &str) -> Result<(String, &str), SignatureError> {
    let mut sig = None;
    let mut rest = Vec::new();
    for pair in raw_query.split('&') {
        match pair.strip_prefix("sig=") {
            Some(_) if sig.is_some() => return Err(SignatureError::Invalid),
            Some(value) => sig = Some(value),
            None => rest.push(pair),
        }
    }
    let sig = sig.ok_or(SignatureError::Missing)?;
    Ok((rest.join("&"), sig))
}

/// Appends `&sig=...` (or `?sig=...`) to a path-and-query.
pub fn signed_url(signer: &Signer, path_and_query: &str) -> String {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let sig = signer.sign(path, query);
    if query.is_empty() {
        format!("{path}?sig={sig}")
    } else {
        format!("{path}?{query}&sig={sig}")
    }
}

/// `imgshield sign`: one signed URL, or a `srcset` value with one signed URL per width.
pub fn sign_command(args: &crate::config::SignArgs) -> Result<String, String> {
    let signer = Signer::new(&args.secrets)?.ok_or("a non-empty --secret is required")?;
    if !args.path_and_query.starts_with('/') {
        return Err("the path must start with '/', e.g. /resize?src=a.jpg".into());
    }
    if args.path_and_query.contains("sig=") {
        return Err("the URL already has a 'sig' parameter".into());
    }
    if args.widths.is_empty() {
        return Ok(format!(
            "{}{}",
            args.base,
            signed_url(&signer, &args.path_and_query)
        ));
    }
    let separator = if args.path_and_query.contains('?') {
        '&'
    } else {
        '?'
    };
    let entries: Vec<String> = args
        .widths
        .iter()
        .map(|w| {
            let url = signed_url(&signer, &format!("{}{separator}w={w}", args.path_and_query));
            format!("{}{url} {w}w", args.base)
        })
        .collect();
    Ok(entries.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secrets: &[&str]) -> Signer {
        Signer::new(&secrets.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("valid secrets")
            .expect("signing on")
    }

    #[test]
    fn a_signed_url_verifies_and_any_change_breaks_it() {
        let s = signer(&["0123456789abcdef-secret"]);
        let url = signed_url(&s, "/resize?src=a.jpg&w=300");
        let (path, query) = url.split_once('?').expect("query");
        assert_eq!(s.verify(path, query), Ok(()));
        let tampered = query.replace("w=300", "w=301");
        assert_eq!(s.verify(path, &tampered), Err(SignatureError::Invalid));
        assert_eq!(s.verify("/other", query), Err(SignatureError::Invalid));
        let extra = format!("{query}&fm=png");
        assert_eq!(s.verify(path, &extra), Err(SignatureError::Invalid));
        assert_eq!(
            s.verify(path, "src=a.jpg&w=300"),
            Err(SignatureError::Missing)
        );
        let doubled = format!("{query}&sig=AAAA");
        assert_eq!(s.verify(path, &doubled), Err(SignatureError::Invalid));
        assert_eq!(
            s.verify(path, "src=a.jpg&w=300&sig=not*base64"),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn rotation_accepts_old_and_new_secrets_but_signs_with_the_first() {
        let old = signer(&["old-secret-0123456789"]);
        let rotated = signer(&["new-secret-0123456789", "old-secret-0123456789"]);
        let by_old = signed_url(&old, "/resize?src=a.jpg");
        let (path, query) = by_old.split_once('?').expect("query");
        assert_eq!(rotated.verify(path, query), Ok(()));
        let by_new = signed_url(&rotated, "/resize?src=a.jpg");
        let (path, query) = by_new.split_once('?').expect("query");
        assert_eq!(old.verify(path, query), Err(SignatureError::Invalid));
    }

    #[test]
    fn the_signature_is_unpadded_base64url_of_hmac_sha256() {
        // RFC 4231 test case 2 (key "Jefe" is too short for us, so check the primitive directly).
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let tag = hmac::sign(&key, b"what do ya want for nothing?");
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = signer(&["0123456789abcdef"]).sign("/resize", "src=a.jpg");
        assert_eq!(sig.len(), 43);
        assert!(sig
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Signer::new(&["short".to_string()]).is_err());
        assert!(matches!(Signer::new(&[]), Ok(None)));
    }
}
