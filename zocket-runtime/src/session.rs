//! Resumable sessions (PROTOCOL.md, section 12): the tokens that name them
//! and the table of sessions a reconnecting client can take back.
//!
//! A session is attached while a connection serves it and suspended while
//! it waits, up to the resume window, for a client to come back. Only a
//! suspended session can be resumed, once per token: the resume spends the
//! token and the new connection gets a new one. A token is 256 random bits
//! from the operating system: the first half finds the session, the second
//! is compared in constant time, so neither a lookup nor a comparison tells
//! an attacker how close a guess was.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use rand::TryRngCore;
use tokio::sync::oneshot;
use zocket_core::resume::{SessionPayload, SESSION_TYPE};
use zocket_core::{wire, ClientId};

use crate::ws::WireFrame;

const HALF: usize = 16;

/// A session's resume token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token {
    key: [u8; HALF],
    secret: [u8; HALF],
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A token is a credential: never in logs.
        f.write_str("Token(..)")
    }
}

impl Token {
    fn generate() -> Token {
        let mut bytes = [0u8; 2 * HALF];
        if rand::rngs::OsRng.try_fill_bytes(&mut bytes).is_err() {
            // The thread generator is a CSPRNG seeded from the OS too.
            rand::Rng::fill(&mut rand::rng(), &mut bytes[..]);
        }
        let mut key = [0u8; HALF];
        let mut secret = [0u8; HALF];
        key.copy_from_slice(&bytes[..HALF]);
        secret.copy_from_slice(&bytes[HALF..]);
        Token { key, secret }
    }

    /// 64 lowercase hex digits.
    pub fn encode(&self) -> String {
        use std::fmt::Write;
        let mut out = String::with_capacity(4 * HALF);
        for b in self.key.iter().chain(&self.secret) {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    /// The inverse of [`encode`](Self::encode); `None` for anything else.
    pub fn parse(text: &str) -> Option<Token> {
        let text = text.as_bytes();
        if text.len() != 4 * HALF {
            return None;
        }
        let mut bytes = [0u8; 2 * HALF];
        for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16).filter(|_| !c.is_ascii_uppercase());
            *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        let mut key = [0u8; HALF];
        let mut secret = [0u8; HALF];
        key.copy_from_slice(&bytes[..HALF]);
        secret.copy_from_slice(&bytes[HALF..]);
        Some(Token { key, secret })
    }
}

/// The `zocket.session` frame a connection of session `id` starts with.
pub(crate) fn session_frame(id: &ClientId, token: &Token, recovered: bool) -> WireFrame {
    let payload = SessionPayload {
        client_id: id.as_str().to_owned(),
        token: token.encode(),
        recovered,
    };
    let text = wire::encode_as(SESSION_TYPE, &payload)
        .expect("two strings and a bool always serialise to JSON");
    WireFrame::text(&text)
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8; HALF], b: &[u8; HALF]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

enum State {
    Attached,
    /// Waiting for a client; the sender wakes the suspended connection's
    /// task when one takes the session over.
    Suspended(oneshot::Sender<()>),
}

struct Entry<T: ?Sized> {
    secret: [u8; HALF],
    value: Arc<T>,
    state: State,
}

/// Why a resume found nothing to take over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Miss {
    /// No session has this token: never issued, spent by an earlier resume,
    /// or its session ended (window over, clean close).
    #[error("unknown or spent token")]
    Unknown,
    /// The session is still served by a connection (the server has not
    /// seen that one drop).
    #[error("session still attached")]
    Attached,
}

/// The sessions of one server, by token.
pub(crate) struct Sessions<T: ?Sized> {
    map: Mutex<HashMap<[u8; HALF], Entry<T>>>,
}

impl<T: ?Sized> Default for Sessions<T> {
    fn default() -> Self {
        Sessions {
            map: Mutex::default(),
        }
    }
}

impl<T: ?Sized> Sessions<T> {
    /// A new session, attached to the connection that made it.
    pub fn open(&self, value: Arc<T>) -> Token {
        let token = Token::generate();
        self.map.lock().insert(
            token.key,
            Entry {
                secret: token.secret,
                value,
                state: State::Attached,
            },
        );
        token
    }

    /// The connection of `token`'s session dropped: it waits for a resume.
    /// The receiver completes when one takes it over; `None` if the session
    /// is not there (it cannot be: only its own connection suspends it).
    pub fn suspend(&self, token: &Token) -> Option<oneshot::Receiver<()>> {
        let mut map = self.map.lock();
        let entry = map.get_mut(&token.key)?;
        let (tx, rx) = oneshot::channel();
        entry.state = State::Suspended(tx);
        Some(rx)
    }

    /// Takes over the suspended session of `token` for a new connection:
    /// its value, and the new token (the presented one is spent). Wakes the
    /// suspended connection's task, which then leaves the session alone.
    pub fn resume(&self, token: &Token) -> Result<(Arc<T>, Token), Miss> {
        let mut map = self.map.lock();
        let known = map
            .get(&token.key)
            .is_some_and(|entry| constant_time_eq(&entry.secret, &token.secret));
        if !known {
            return Err(Miss::Unknown);
        }
        let Some(entry) = map.get(&token.key) else {
            return Err(Miss::Unknown);
        };
        if matches!(entry.state, State::Attached) {
            return Err(Miss::Attached);
        }
        let Some(mut entry) = map.remove(&token.key) else {
            return Err(Miss::Unknown);
        };
        if let State::Suspended(wake) = std::mem::replace(&mut entry.state, State::Attached) {
            let _ = wake.send(());
        }
        let next = Token::generate();
        entry.secret = next.secret;
        let value = entry.value.clone();
        map.insert(next.key, entry);
        Ok((value, next))
    }

    /// Ends `token`'s session; true if it was there (a session whose token
    /// a resume spent meanwhile is the new connection's to end).
    pub fn end(&self, token: &Token) -> bool {
        self.map.lock().remove(&token.key).is_some()
    }

    /// Sessions open (attached or suspended).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_differ() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a, b);
        assert_eq!(a.encode().len(), 64);
        assert_eq!(Token::parse(&a.encode()), Some(a.clone()));
        assert_eq!(Token::parse(&a.encode().to_uppercase()), None);
        assert_eq!(Token::parse(&a.encode()[1..]), None);
        assert_eq!(Token::parse(&format!("{}g", &a.encode()[1..])), None);
        assert_eq!(format!("{a:?}"), "Token(..)");
    }

    #[test]
    fn only_a_suspended_session_resumes_and_a_token_works_once() {
        let sessions = Sessions::default();
        let token = sessions.open(Arc::new("ctx"));
        assert_eq!(sessions.resume(&token).err(), Some(Miss::Attached));
        let mut woken = sessions.suspend(&token).expect("open session");
        let (value, next) = sessions.resume(&token).expect("suspended");
        assert_eq!(*value, "ctx");
        assert!(woken.try_recv().is_ok(), "the suspended task is told");
        // Spent: neither a second resume nor the old connection's end
        // touches the session now.
        assert_eq!(sessions.resume(&token).err(), Some(Miss::Unknown));
        assert!(!sessions.end(&token));
        assert_eq!(sessions.len(), 1);
        assert!(sessions.end(&next));
        assert_eq!(sessions.resume(&next).err(), Some(Miss::Unknown));
        assert_eq!(sessions.len(), 0);
    }

    #[test]
    fn a_guessed_secret_is_refused() {
        let sessions = Sessions::default();
        let token = sessions.open(Arc::new(1));
        sessions.suspend(&token);
        let mut guess = token.clone();
        guess.secret[HALF - 1] ^= 1;
        assert_eq!(sessions.resume(&guess).err(), Some(Miss::Unknown));
        let other = Token::generate();
        assert_eq!(sessions.resume(&other).err(), Some(Miss::Unknown));
        assert!(sessions.resume(&token).is_ok(), "guesses do not spend it");
    }

    #[test]
    fn an_ended_session_cannot_be_resumed() {
        let sessions = Sessions::default();
        let token = sessions.open(Arc::new(()));
        let woken = sessions.suspend(&token).expect("open");
        assert!(sessions.end(&token));
        assert_eq!(sessions.resume(&token).err(), Some(Miss::Unknown));
        drop(woken);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(&[7; HALF], &[7; HALF]));
        let mut b = [7; HALF];
        b[0] = 8;
        assert!(!constant_time_eq(&[7; HALF], &b));
    }
}
