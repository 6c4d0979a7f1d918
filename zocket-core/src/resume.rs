//! What both ends agree on for resuming a session (PROTOCOL.md, section
//! 12): the `zocket.session` frame the server opens every connection of a
//! resumable router with, and how a reconnecting client presents its token
//! and the position of the last frame it saw.
//!
//! The position is a count: the frames of the session the client has
//! received, every text frame but `zocket.session` itself. Both sides count
//! the same frames, so no frame needs a sequence number of its own and a
//! message fanned out to a room is still encoded once for all its members.

use serde::{Deserialize, Serialize};

/// The `type` of the frame that opens every connection of a resumable
/// router. Clients that do not know it ignore it (it is not among the
/// router's outgoing types).
pub const SESSION_TYPE: &str = "zocket.session";

/// The upgrade-request header a non-browser client resumes with:
/// `zocket-resume: <token>.<position>`.
pub const RESUME_HEADER: &str = "zocket-resume";

/// The prefix of the `Sec-WebSocket-Protocol` entry a browser resumes with:
/// `zocket.resume.<token>.<position>` (browsers cannot set headers).
pub const RESUME_PROTOCOL_PREFIX: &str = "zocket.resume.";

/// The payload of a `zocket.session` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionPayload {
    /// The connection's client id: the old one when `recovered`.
    pub client_id: String,
    /// The token to resume with next time. A new one on every connection:
    /// a token is spent by the resume that presents it.
    pub token: String,
    /// The client presented a token and the session continues: same id,
    /// rooms and context, and every frame after its position follows. False
    /// for a fresh session (none asked, window over, frames trimmed, token
    /// unknown): the count starts again at 0 and the application rejoins.
    pub recovered: bool,
}

/// A client's request to resume: its token and how many frames of the
/// session it has received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeRequest {
    /// The token of the last `zocket.session` frame it received.
    pub token: String,
    /// The frames of the session it has received since.
    pub position: u64,
}

/// Longest token accepted in a resume request, in bytes; a longer one is
/// unknown without being looked at.
pub const MAX_TOKEN_LEN: usize = 128;

impl ResumeRequest {
    /// `<token>.<position>`, the value of the header and of the protocol
    /// entry after its prefix.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.token, self.position)
    }

    /// Reads `<token>.<position>`; `None` for anything else (treated as no
    /// resume: the connection starts a fresh session).
    pub fn parse(value: &str) -> Option<ResumeRequest> {
        let (token, position) = value.trim().rsplit_once('.')?;
        if token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || !token.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        if position.is_empty() || !position.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(ResumeRequest {
            token: token.to_owned(),
            position: position.parse().ok()?,
        })
    }

    /// The protocol entry form, `zocket.resume.<token>.<position>`.
    pub fn protocol_entry(&self) -> String {
        format!("{RESUME_PROTOCOL_PREFIX}{}", self.encode())
    }

    /// Reads a protocol entry; `None` if it is not a resume entry.
    pub fn from_protocol_entry(entry: &str) -> Option<ResumeRequest> {
        Self::parse(entry.trim().strip_prefix(RESUME_PROTOCOL_PREFIX)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_malformed_values() {
        let request = ResumeRequest {
            token: "ab12".into(),
            position: 1000,
        };
        assert_eq!(request.encode(), "ab12.1000");
        assert_eq!(ResumeRequest::parse("ab12.1000"), Some(request.clone()));
        assert_eq!(
            ResumeRequest::from_protocol_entry(&request.protocol_entry()),
            Some(request)
        );
        for bad in [
            "",
            ".",
            "ab12",
            "ab12.",
            ".5",
            "ab12.-1",
            "ab12.1e3",
            "a-b.1",
            "ab12.99999999999999999999999",
        ] {
            assert_eq!(ResumeRequest::parse(bad), None, "{bad:?}");
        }
        let long = format!("{}.1", "a".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(ResumeRequest::parse(&long), None);
        assert_eq!(ResumeRequest::from_protocol_entry("zocket.auth.x"), None);
    }

    #[test]
    fn session_payload_is_camel_case() {
        let payload = SessionPayload {
            client_id: "client_1_ab".into(),
            token: "t".into(),
            recovered: true,
        };
        let json = serde_json::to_string(&payload).unwrap();
        assert_eq!(
            json,
            r#"{"clientId":"client_1_ab","token":"t","recovered":true}"#
        );
    }
}
