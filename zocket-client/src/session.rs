//! The client's side of a resumable session (PROTOCOL.md, section 12): the
//! token the server gave it and how many frames of the session it has
//! received, presented when it reconnects.

use zocket_core::resume::{ResumeRequest, SessionPayload};

/// Told to `on_resumed` listeners when a reconnect that presented a
/// session token got its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resumed {
    /// The session goes on: same client id, same rooms, and every message
    /// sent meanwhile follows, in order, before anything new. False: a
    /// fresh session (the window passed, missed messages were trimmed, the
    /// server restarted), so rejoin rooms as after any new connection.
    pub recovered: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Session {
    /// The token of the last `zocket.session` frame; `None` before the
    /// first, or from a server that does not keep sessions.
    token: Option<String>,
    client_id: Option<String>,
    /// Frames of the session received (every text frame but
    /// `zocket.session`).
    received: u64,
    /// The current connection presented a token.
    asked: bool,
}

impl Session {
    /// The `zocket-resume` header value for the next connection, if there
    /// is a session to resume.
    pub fn next_request(&mut self) -> Option<String> {
        self.asked = self.token.is_some();
        let token = self.token.clone()?;
        Some(
            ResumeRequest {
                token,
                position: self.received,
            }
            .encode(),
        )
    }

    /// Counts a frame of the session.
    pub fn received(&mut self) {
        self.received += 1;
    }

    /// A `zocket.session` frame: what to tell `on_resumed` listeners, if
    /// this connection asked to resume.
    pub fn opened(&mut self, payload: SessionPayload) -> Option<Resumed> {
        if !payload.recovered {
            self.received = 0;
        }
        self.token = Some(payload.token);
        self.client_id = Some(payload.client_id);
        let asked = std::mem::take(&mut self.asked);
        asked.then_some(Resumed {
            recovered: payload.recovered,
        })
    }

    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(token: &str, recovered: bool) -> SessionPayload {
        SessionPayload {
            client_id: "client_1_a".into(),
            token: token.into(),
            recovered,
        }
    }

    #[test]
    fn presents_the_latest_token_and_count() {
        let mut session = Session::default();
        assert_eq!(session.next_request(), None, "nothing to resume yet");
        assert_eq!(session.opened(payload("t1", false)), None, "not asked");
        session.received();
        session.received();
        assert_eq!(session.next_request().as_deref(), Some("t1.2"));
        assert_eq!(
            session.opened(payload("t2", true)),
            Some(Resumed { recovered: true })
        );
        session.received();
        assert_eq!(session.next_request().as_deref(), Some("t2.3"));
        // Not recovered: a new session, counted from 0.
        assert_eq!(
            session.opened(payload("t3", false)),
            Some(Resumed { recovered: false })
        );
        assert_eq!(session.next_request().as_deref(), Some("t3.0"));
        assert_eq!(session.client_id(), Some("client_1_a"));
    }
}
