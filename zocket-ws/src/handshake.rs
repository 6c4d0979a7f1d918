//! The opening handshake (RFC 6455, section 4.2): checking an upgrade
//! request and deriving `Sec-WebSocket-Accept`.

use base64::Engine;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use sha1::{Digest, Sha1};

/// Why a request is not a WebSocket upgrade this server accepts. Each
/// variant maps to the HTTP status it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// 405: another method than GET.
    #[error("a WebSocket upgrade must be a GET request")]
    MethodNotGet,
    /// 400: HTTP/1.0 or HTTP/2 (no upgrade over HTTP/2 here).
    #[error("a WebSocket upgrade must be HTTP/1.1")]
    NotHttp11,
    /// 426: not asking to switch protocols.
    #[error("the `Connection` header must include `upgrade`")]
    NoConnectionUpgrade,
    /// 426: asking to switch to something else.
    #[error("the `Upgrade` header must be `websocket`")]
    NoUpgradeWebsocket,
    /// 426, with `Sec-WebSocket-Version: 13` in the answer.
    #[error("unsupported `Sec-WebSocket-Version`; this server speaks version 13")]
    UnsupportedVersion,
    /// 400.
    #[error("the `Sec-WebSocket-Key` header is missing")]
    MissingKey,
    /// 400.
    #[error("`Sec-WebSocket-Key` must be a base64-encoded 16-byte nonce")]
    InvalidKey,
    /// 426: the HTTP server gave no way to take the connection over.
    #[error("this connection cannot be upgraded")]
    NotUpgradable,
}

impl HandshakeError {
    /// The status to answer with: 405 for a wrong method, 426 (with
    /// `Sec-WebSocket-Version: 13`, see [`Self::needs_version_header`]) for
    /// an unsupported version or a request that is not an upgrade at all,
    /// 400 for a malformed one.
    pub fn status(&self) -> StatusCode {
        match self {
            HandshakeError::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::UnsupportedVersion
            | HandshakeError::NoConnectionUpgrade
            | HandshakeError::NoUpgradeWebsocket
            | HandshakeError::NotUpgradable => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::NotHttp11 | HandshakeError::MissingKey | HandshakeError::InvalidKey => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// Whether the answer carries `Sec-WebSocket-Version: 13` (and
    /// `Upgrade: websocket`), telling the client what it may retry with.
    pub fn needs_version_header(&self) -> bool {
        self.status() == StatusCode::UPGRADE_REQUIRED
    }
}

/// Checks an upgrade request; returns the `Sec-WebSocket-Accept` value.
pub fn check_request(method: &Method, headers: &HeaderMap) -> Result<String, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::MethodNotGet);
    }
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
    if !connection_upgrade {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    let upgrade_websocket = headers
        .get_all(header::UPGRADE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"));
    if !upgrade_websocket {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes().trim_ascii() != b"13")
    {
        return Err(HandshakeError::UnsupportedVersion);
    }
    let key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or(HandshakeError::MissingKey)?
        .as_bytes()
        .trim_ascii();
    let nonce = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| HandshakeError::InvalidKey)?;
    if nonce.len() != 16 {
        return Err(HandshakeError::InvalidKey);
    }
    Ok(accept_key(key))
}

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::default();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// The subprotocols a client offered, one entry each, in its order.
pub fn requested_protocols(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
}

/// The `Sec-WebSocket-Extensions` header values, for
/// [`deflate::negotiate`](super::deflate::negotiate).
pub fn requested_extensions(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .map(HeaderValue::as_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("header value"));
        }
        h
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn the_rfc_example() {
        assert_eq!(
            check_request(&Method::GET, &request(GOOD)).as_deref(),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn refusals() {
        let with = |name: &str, value: &'static str| {
            let mut pairs: Vec<(&'static str, &'static str)> =
                GOOD.iter().filter(|(k, _)| *k != name).copied().collect();
            if !value.is_empty() {
                let name: &'static str = GOOD.iter().find(|(k, _)| *k == name).expect("name").0;
                pairs.push((name, value));
            }
            check_request(&Method::GET, &request(&pairs))
        };
        assert_eq!(
            check_request(&Method::POST, &request(GOOD)),
            Err(HandshakeError::MethodNotGet)
        );
        assert_eq!(
            with("connection", "keep-alive"),
            Err(HandshakeError::NoConnectionUpgrade)
        );
        assert_eq!(
            with("upgrade", "h2c"),
            Err(HandshakeError::NoUpgradeWebsocket)
        );
        assert_eq!(
            with("sec-websocket-version", "8"),
            Err(HandshakeError::UnsupportedVersion)
        );
        assert_eq!(
            with("sec-websocket-version", ""),
            Err(HandshakeError::UnsupportedVersion)
        );
        assert_eq!(
            with("sec-websocket-key", ""),
            Err(HandshakeError::MissingKey)
        );
        assert_eq!(
            with("sec-websocket-key", "abc"),
            Err(HandshakeError::InvalidKey)
        );
        assert_eq!(
            with("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZSE="),
            Err(HandshakeError::InvalidKey),
            "17 bytes"
        );
        assert_eq!(HandshakeError::UnsupportedVersion.status(), 426);
        assert!(HandshakeError::UnsupportedVersion.needs_version_header());
        assert_eq!(HandshakeError::InvalidKey.status(), 400);
    }
}
