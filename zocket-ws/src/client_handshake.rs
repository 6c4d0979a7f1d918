//! The client half of the opening handshake (RFC 6455, section 4.1):
//! writing the upgrade request and checking the server's `101` answer.
//!
//! Everything the answer must hold is checked, since a client that takes
//! a wrong answer would speak WebSocket to something that does not: the
//! `Upgrade` and `Connection` headers, `Sec-WebSocket-Accept` against the
//! key sent, a subprotocol among those offered, and the extensions
//! ([`offer::accept_response`]).
//!
//! ```
//! use http::HeaderMap;
//! use zocket_ws::client_handshake::{check_response, key, request};
//! use zocket_ws::handshake::accept_key;
//!
//! let key = key([7; 16]);
//! let offered = HeaderMap::new();
//! let head = request("example.com:80", "/chat", &key, &offered);
//! assert!(head.starts_with(b"GET /chat HTTP/1.1\r\nHost: example.com:80\r\n"));
//!
//! let mut answer = HeaderMap::new();
//! answer.insert("upgrade", "websocket".parse()?);
//! answer.insert("connection", "Upgrade".parse()?);
//! answer.insert("sec-websocket-accept", accept_key(key.as_bytes()).parse()?);
//! let accepted = check_response(&offered, &key, &answer)?;
//! assert_eq!((accepted.protocol, accepted.deflate), (None, None));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::Engine;
use http::{header, HeaderMap};

use super::handshake::{accept_key, requested_extensions, requested_protocols};
use super::offer::{self, Agreement, ExtensionError};

/// A `Sec-WebSocket-Key` from 16 random bytes (the caller's: this crate
/// has no randomness of its own).
pub fn key(nonce: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// The upgrade request's head: `GET target` to `host` (as the `Host`
/// header: the URL's authority), with `key` and the extra `headers` (the
/// subprotocols, `Sec-WebSocket-Extensions`, the application's own). A
/// header in `headers` replaces none of the handshake's own.
pub fn request(host: &str, target: &str, key: &str, headers: &HeaderMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    for part in [
        "GET ",
        target,
        " HTTP/1.1\r\nHost: ",
        host,
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ",
        key,
        "\r\nSec-WebSocket-Version: 13\r\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Why a `101 Switching Protocols` answer fails the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// No `Upgrade: websocket`.
    #[error("the server's answer lacks `Upgrade: websocket`")]
    NoUpgrade,
    /// No `Connection: upgrade`.
    #[error("the server's answer lacks `Connection: upgrade`")]
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Accept` missing or not derived from our key: not a
    /// WebSocket server, or a proxy answering for one.
    #[error("the server's `Sec-WebSocket-Accept` does not match the key sent")]
    WrongAccept,
    /// A subprotocol the client did not offer.
    #[error("the server picked the subprotocol `{0}`, which was not offered")]
    UnexpectedProtocol(String),
    /// The extensions answered cannot be used.
    #[error(transparent)]
    Extension(#[from] ExtensionError),
}

/// What the server agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The subprotocol it picked among those offered.
    pub protocol: Option<String>,
    /// permessage-deflate, if offered and accepted.
    pub deflate: Option<Agreement>,
}

/// Checks the headers of a `101` answer to a request with `key` and the
/// extra headers `sent` (what [`request`] was given).
pub fn check_response(
    sent: &HeaderMap,
    key: &str,
    response: &HeaderMap,
) -> Result<Accepted, ResponseError> {
    let has_token = |name: header::HeaderName, token: &[u8]| {
        response
            .get_all(name)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
    };
    if !has_token(header::UPGRADE, b"websocket") {
        return Err(ResponseError::NoUpgrade);
    }
    if !has_token(header::CONNECTION, b"upgrade") {
        return Err(ResponseError::NoConnectionUpgrade);
    }
    let accept = response
        .get(header::SEC_WEBSOCKET_ACCEPT)
        .map(|v| v.as_bytes().trim_ascii());
    if accept != Some(accept_key(key.as_bytes()).as_bytes()) {
        return Err(ResponseError::WrongAccept);
    }
    let protocol = match response.get(header::SEC_WEBSOCKET_PROTOCOL) {
        None => None,
        Some(value) => {
            let picked = value.as_bytes().trim_ascii();
            if !requested_protocols(sent).any(|p| p == picked) {
                let picked = String::from_utf8_lossy(picked).into_owned();
                return Err(ResponseError::UnexpectedProtocol(picked));
            }
            Some(String::from_utf8_lossy(picked).into_owned())
        }
    };
    let offered = requested_extensions(sent).any(|v| v == offer::OFFER.as_bytes());
    let deflate = offer::accept_response(requested_extensions(response), offered)?;
    Ok(Accepted { protocol, deflate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    /// The RFC's example answer, plus `extra`.
    fn answer(extra: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = headers(&[
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ]);
        h.extend(headers(extra));
        h
    }

    #[test]
    fn the_request_head() {
        let sent = headers(&[
            ("sec-websocket-protocol", "zocket, zocket.auth.e30"),
            ("sec-websocket-extensions", offer::OFFER),
        ]);
        let head = String::from_utf8(request("[::1]:8080", "/ws?a=1", KEY, &sent)).expect("ascii");
        assert_eq!(
            head,
            "GET /ws?a=1 HTTP/1.1\r\nHost: [::1]:8080\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nsec-websocket-protocol: zocket, zocket.auth.e30\r\n\
             sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        );
        assert_eq!(key([0; 16]), "AAAAAAAAAAAAAAAAAAAAAA==");
    }

    #[test]
    fn a_good_answer() {
        let sent = headers(&[
            ("sec-websocket-protocol", "zocket, zocket.auth.e30"),
            ("sec-websocket-extensions", offer::OFFER),
        ]);
        let accepted = check_response(
            &sent,
            KEY,
            &answer(&[
                ("sec-websocket-protocol", "zocket"),
                (
                    "sec-websocket-extensions",
                    "permessage-deflate; server_no_context_takeover",
                ),
            ]),
        )
        .expect("accepted");
        assert_eq!(accepted.protocol.as_deref(), Some("zocket"));
        assert!(accepted
            .deflate
            .is_some_and(|d| d.server_no_context_takeover));
        let declined = check_response(&sent, KEY, &answer(&[])).expect("declining is fine");
        assert_eq!((declined.protocol, declined.deflate), (None, None));
    }

    #[test]
    fn answers_that_fail_the_connection() {
        let none = HeaderMap::new();
        let check = |sent: &HeaderMap, response: HeaderMap| check_response(sent, KEY, &response);
        let mut no_upgrade = answer(&[]);
        no_upgrade.remove("upgrade");
        assert_eq!(check(&none, no_upgrade), Err(ResponseError::NoUpgrade));
        let mut no_connection = answer(&[]);
        no_connection.insert("connection", HeaderValue::from_static("keep-alive"));
        assert_eq!(
            check(&none, no_connection),
            Err(ResponseError::NoConnectionUpgrade)
        );
        let mut wrong = answer(&[]);
        wrong.insert(
            "sec-websocket-accept",
            HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        );
        assert_eq!(check(&none, wrong), Err(ResponseError::WrongAccept));
        let mut missing = answer(&[]);
        missing.remove("sec-websocket-accept");
        assert_eq!(check(&none, missing), Err(ResponseError::WrongAccept));
        assert_eq!(
            check(&none, answer(&[("sec-websocket-protocol", "zocket")])),
            Err(ResponseError::UnexpectedProtocol("zocket".into()))
        );
        assert!(matches!(
            check(
                &none,
                answer(&[("sec-websocket-extensions", "permessage-deflate")])
            ),
            Err(ResponseError::Extension(ExtensionError::NotOffered(_)))
        ));
        let offered = headers(&[("sec-websocket-extensions", offer::OFFER)]);
        assert!(matches!(
            check(
                &offered,
                answer(&[(
                    "sec-websocket-extensions",
                    "permessage-deflate; client_max_window_bits"
                )])
            ),
            Err(ResponseError::Extension(ExtensionError::InvalidParameters(
                _
            )))
        ));
    }
}
