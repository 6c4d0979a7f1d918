//! The WebSocket subprotocol zocket speaks, and the optional auth token that
//! carries connection headers in `Sec-WebSocket-Protocol` instead of the URL.
//!
//! Why: browsers cannot set HTTP headers on a WebSocket, so the original
//! client put headers (tokens included) in the query string, where they end
//! up in proxy and access logs. A subprotocol entry is a request header:
//! not logged by default, not kept in history, not sent as a `Referer`.
//!
//! A client offers two protocols: [`SUBPROTOCOL`] and
//! `zocket.auth.<base64url(JSON object of headers)>` (no padding). The
//! server answers with [`SUBPROTOCOL`] only, never echoing the token.
//! Values in the object are strings, numbers or booleans (numbers and
//! booleans are read as their JSON text); `null` means "not given".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::headers::{HeaderError, HeaderIssue};

/// The subprotocol name the server selects.
pub const SUBPROTOCOL: &str = "zocket";

/// The prefix of the protocol entry that carries headers.
pub const AUTH_PREFIX: &str = "zocket.auth.";

/// Longest auth token accepted, in bytes (before decoding). Bounds the work
/// a client can make the server do before the upgrade.
pub const MAX_AUTH_TOKEN_LEN: usize = 8 * 1024;

/// Why headers could not be put into an auth token.
#[derive(Debug, thiserror::Error)]
pub enum AuthEncodeError {
    #[error("headers did not serialise: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("headers must serialise to a JSON object")]
    NotAnObject,
}

/// Encodes `headers` (any struct that serialises to a flat object, such as a
/// router's headers struct) as a `zocket.auth.…` protocol entry.
pub fn encode_auth_protocol<H: Serialize + ?Sized>(headers: &H) -> Result<String, AuthEncodeError> {
    let value = serde_json::to_value(headers)?;
    let mut object = match value {
        serde_json::Value::Object(map) => map,
        _ => return Err(AuthEncodeError::NotAnObject),
    };
    object.retain(|_, v| !v.is_null());
    let json = serde_json::to_vec(&object)?;
    Ok(format!("{AUTH_PREFIX}{}", URL_SAFE_NO_PAD.encode(json)))
}

/// Decodes the headers carried by one `Sec-WebSocket-Protocol` entry.
/// `Ok(None)` if the entry is not an auth token (e.g. plain `zocket`).
pub fn decode_auth_protocol(entry: &str) -> Result<Option<Vec<(String, String)>>, HeaderError> {
    let Some(token) = entry.trim().strip_prefix(AUTH_PREFIX) else {
        return Ok(None);
    };
    let fail = |message: String| HeaderError {
        details: vec![HeaderIssue {
            path: "sec-websocket-protocol".into(),
            message,
        }],
    };
    if token.len() > MAX_AUTH_TOKEN_LEN {
        return Err(fail(format!(
            "auth token is {} bytes; the limit is {MAX_AUTH_TOKEN_LEN}",
            token.len()
        )));
    }
    let json = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| fail(format!("auth token is not base64url: {e}")))?;
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&json)
        .map_err(|e| fail(format!("auth token is not a JSON object: {e}")))?;
    let mut pairs = Vec::with_capacity(object.len());
    for (key, value) in object {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(s) => s,
            serde_json::Value::Bool(b) => b.to_string(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                return Err(HeaderError {
                    details: vec![HeaderIssue {
                        path: key,
                        message: "header values must be strings, numbers or booleans".into(),
                    }],
                })
            }
        };
        pairs.push((key, text));
    }
    Ok(Some(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct Headers {
        user_name: String,
        token: Option<String>,
        age: u32,
    }

    #[test]
    fn round_trips_and_skips_nulls() {
        let entry = encode_auth_protocol(&Headers {
            user_name: "Alice".into(),
            token: None,
            age: 7,
        })
        .unwrap();
        assert!(entry.starts_with(AUTH_PREFIX));
        // Only token characters (RFC 7230 tchar) may appear in the header.
        assert!(entry
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        let mut pairs = decode_auth_protocol(&entry).unwrap().unwrap();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("age".to_owned(), "7".to_owned()),
                ("user-name".to_owned(), "Alice".to_owned())
            ]
        );
    }

    #[test]
    fn other_entries_are_ignored_and_garbage_is_an_error() {
        assert_eq!(decode_auth_protocol(SUBPROTOCOL).unwrap(), None);
        assert!(decode_auth_protocol("zocket.auth.!!!").is_err());
        let not_object = format!("{AUTH_PREFIX}{}", URL_SAFE_NO_PAD.encode("[1]"));
        assert!(decode_auth_protocol(&not_object).is_err());
        let nested = format!("{AUTH_PREFIX}{}", URL_SAFE_NO_PAD.encode(r#"{"a":{}}"#));
        assert_eq!(
            decode_auth_protocol(&nested).unwrap_err().details[0].path,
            "a"
        );
        let long = format!("{AUTH_PREFIX}{}", "A".repeat(MAX_AUTH_TOKEN_LEN + 1));
        assert!(decode_auth_protocol(&long).is_err());
    }
}
