//! The `Origin` check made before the upgrade.
//!
//! Why: a browser sends cookies and other ambient credentials with a
//! WebSocket upgrade from any page (WebSockets are not covered by CORS), so
//! without this check any web site could act as its visitor on this server
//! (cross-site WebSocket hijacking). Clients that are not browsers send no
//! `Origin` and are not affected.

use axum::http::{header, HeaderMap};

/// Which `Origin` values may open a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OriginPolicy {
    /// Only pages served from the same host and port as the request's
    /// `Host` header (the default).
    #[default]
    SameHost,
    /// The same host, or one of these origins (`scheme://host[:port]`,
    /// compared without case, default ports optional).
    AllowList(Vec<String>),
    /// Any origin: only for servers that use no ambient credentials.
    Any,
}

/// A refused origin (answered with HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("origin `{origin}` is not allowed")]
pub(crate) struct OriginError {
    pub origin: String,
}

/// Checks the request's `Origin` against the policy.
pub(crate) fn check(policy: &OriginPolicy, headers: &HeaderMap) -> Result<(), OriginError> {
    if *policy == OriginPolicy::Any {
        return Ok(());
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let refused = || OriginError {
        origin: String::from_utf8_lossy(origin.as_bytes()).into_owned(),
    };
    let origin = origin.to_str().map_err(|_| refused())?;
    let Some(parsed) = Origin::parse(origin) else {
        return Err(refused());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if parsed.same_authority(host) {
        return Ok(());
    }
    if let OriginPolicy::AllowList(allowed) = policy {
        if allowed
            .iter()
            .filter_map(|a| Origin::parse(a))
            .any(|a| a == parsed)
        {
            return Ok(());
        }
    }
    Err(refused())
}

/// An origin split into scheme, host and port (explicit or default).
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn parse(text: &str) -> Option<Origin> {
        let (scheme, rest) = text.trim().split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return None;
        }
        let (host, port) = split_port(authority)?;
        let default = default_port(&scheme);
        Some(Origin {
            port: port.or(default),
            host: host.to_ascii_lowercase(),
            scheme,
        })
    }

    /// Whether this origin names the host (and port) of a `Host` header.
    fn same_authority(&self, host_header: &str) -> bool {
        let Some((host, port)) = split_port(host_header.trim()) else {
            return false;
        };
        host.eq_ignore_ascii_case(&self.host) && port.or(default_port(&self.scheme)) == self.port
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Splits `host[:port]` (with `[v6]` literals); `None` for a bad port.
fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.is_empty() {
        return None;
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (&authority[..v6.len() + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    #[test]
    fn same_host_and_missing_origin_pass() {
        let p = OriginPolicy::SameHost;
        assert!(check(&p, &headers(None, "x:1")).is_ok());
        assert!(check(
            &p,
            &headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")
        )
        .is_ok());
        assert!(check(
            &p,
            &headers(Some("https://Chat.Example"), "chat.example:443")
        )
        .is_ok());
        assert!(check(&p, &headers(Some("http://[::1]:8080"), "[::1]:8080")).is_ok());
    }

    #[test]
    fn other_hosts_ports_and_junk_are_refused() {
        let p = OriginPolicy::SameHost;
        for bad in [
            "http://evil.example",
            "http://127.0.0.1:3001",
            "null",
            "http://127.0.0.1:3000@evil",
            "http://127.0.0.1:99999",
        ] {
            assert!(
                check(&p, &headers(Some(bad), "127.0.0.1:3000")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn allow_list_and_any() {
        let p = OriginPolicy::AllowList(vec!["https://app.example".into()]);
        assert!(check(&p, &headers(Some("https://app.example:443"), "api:80")).is_ok());
        assert!(check(&p, &headers(Some("http://app.example"), "api:80")).is_err());
        assert!(check(&OriginPolicy::Any, &headers(Some("null"), "api")).is_ok());
    }
}
