//! The client half of permessage-deflate (RFC 7692): the offer, checking
//! the server's answer, and compressing what the client sends.
//!
//! The offer is the plainest one, `permessage-deflate;
//! client_max_window_bits`: it lets the server pick any client window and
//! asks nothing of the server, so every server that speaks the extension
//! can accept it (zocket's answers with `server_no_context_takeover`). The
//! answer is checked strictly, since RFC 7692 section 5 tells a client to
//! fail the connection on an answer it did not ask for: another extension,
//! the extension twice, an unknown or repeated parameter or a bad value.
//!
//! ```
//! use zocket_ws::offer::{accept_response, Deflater, OFFER};
//!
//! assert_eq!(OFFER, "permessage-deflate; client_max_window_bits");
//! let answer: &[u8] = b"permessage-deflate; server_no_context_takeover";
//! let agreed = accept_response([answer], true)?.expect("agreed");
//! assert!(agreed.server_no_context_takeover);
//! let mut deflater = Deflater::new(&agreed, 6);
//! let text = "a message the client sends, compressed ".repeat(20);
//! let payload = deflater.deflate(text.as_bytes()).expect("compressed");
//! assert!(payload.len() < text.len() / 4);
//! # Ok::<(), zocket_ws::offer::ExtensionError>(())
//! ```

use flate2::Compress;

use super::deflate::{deflate_with, parse_offer, split_outside_quotes, Inflater, EXTENSION};

/// The `Sec-WebSocket-Extensions` value the client offers.
pub const OFFER: &str = "permessage-deflate; client_max_window_bits";

/// Why the server's `Sec-WebSocket-Extensions` answer fails the
/// connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The server answered with extensions although none were offered.
    #[error("the server agreed to extensions the client did not offer: `{0}`")]
    NotOffered(String),
    /// An extension other than permessage-deflate.
    #[error("the server agreed to an unknown extension `{0}`")]
    Unknown(String),
    /// permessage-deflate more than once.
    #[error("the server agreed to permessage-deflate more than once")]
    Repeated,
    /// An unknown or repeated parameter, or a bad value.
    #[error("the server's permessage-deflate parameters are invalid: `{0}`")]
    InvalidParameters(String),
}

/// What the server agreed to, as the client reads its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreement {
    /// The server compresses each message on its own: the client's
    /// inflater keeps no state between messages.
    pub server_no_context_takeover: bool,
    /// The client must compress each message on its own.
    pub client_no_context_takeover: bool,
    /// The largest window the server's messages use (none: 15 bits).
    pub server_max_window_bits: Option<u8>,
    /// The largest window the client may compress with (none: 15 bits).
    pub client_max_window_bits: Option<u8>,
}

impl Agreement {
    /// The inflater for the server's messages.
    pub fn inflater(&self) -> Inflater {
        Inflater::with_window(
            self.server_max_window_bits.unwrap_or(15),
            !self.server_no_context_takeover,
        )
    }
}

/// Reads the server's `Sec-WebSocket-Extensions` header values: `None`
/// when it agreed to no extension, the agreement when it took the offer
/// (`offered`: whether the client sent [`OFFER`]).
pub fn accept_response<'a>(
    header_values: impl IntoIterator<Item = &'a [u8]>,
    offered: bool,
) -> Result<Option<Agreement>, ExtensionError> {
    let mut agreed = None;
    for value in header_values {
        for extension in split_outside_quotes(value, b',') {
            let text = String::from_utf8_lossy(extension.trim_ascii()).into_owned();
            if !offered {
                return Err(ExtensionError::NotOffered(text));
            }
            let name = split_outside_quotes(extension, b';')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            if !name.eq_ignore_ascii_case(EXTENSION.as_bytes()) {
                return Err(ExtensionError::Unknown(text));
            }
            if agreed.is_some() {
                return Err(ExtensionError::Repeated);
            }
            let answer =
                parse_offer(extension).ok_or(ExtensionError::InvalidParameters(text.clone()))?;
            // In an answer, `client_max_window_bits` carries the window
            // the server picked (RFC 7692, section 7.1.2.2).
            let client_max_window_bits = match answer.client_max_window_bits {
                Some(None) => return Err(ExtensionError::InvalidParameters(text)),
                bits => bits.flatten(),
            };
            agreed = Some(Agreement {
                server_no_context_takeover: answer.server_no_context_takeover,
                client_no_context_takeover: answer.client_no_context_takeover,
                server_max_window_bits: answer.server_max_window_bits,
                client_max_window_bits,
            });
        }
    }
    Ok(agreed)
}

/// Compresses the client's messages as agreed: with context takeover
/// (each message may refer to the ones before, a better ratio on a chatty
/// connection) unless the server asked for `client_no_context_takeover`.
pub struct Deflater {
    /// `None` when the agreed window is 8 bits, which zlib cannot
    /// compress with: every message then goes uncompressed, as RFC 7692
    /// allows a sender per message.
    compress: Option<Compress>,
    keep_context: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater")
            .field("compresses", &self.compress.is_some())
            .field("keep_context", &self.keep_context)
            .finish()
    }
}

impl Deflater {
    /// A compressor for `agreement` at zlib `level` (0 to 9, capped).
    pub fn new(agreement: &Agreement, level: u32) -> Self {
        let bits = agreement.client_max_window_bits.unwrap_or(15);
        let compress = (bits >= 9).then(|| {
            Compress::new_with_window_bits(flate2::Compression::new(level.min(9)), false, bits)
        });
        Deflater {
            compress,
            keep_context: !agreement.client_no_context_takeover,
        }
    }

    /// One message's payload compressed (the sync-flush tail stripped), to
    /// send with RSV1 set; `None`: send it uncompressed.
    pub fn deflate(&mut self, payload: &[u8]) -> Option<Vec<u8>> {
        let compress = self.compress.as_mut()?;
        if !self.keep_context {
            compress.reset();
        }
        let deflated = deflate_with(compress, payload);
        if deflated.is_none() {
            // A half-written stream must not be continued: the next
            // message starts afresh (valid for a peer keeping its window).
            compress.reset();
        }
        deflated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{negotiate, Compression, InflateError};

    fn answer(value: &str) -> Result<Option<Agreement>, ExtensionError> {
        accept_response([value.as_bytes()], true)
    }

    #[test]
    fn zocket_servers_answer_is_accepted() {
        for settings in [
            Compression::default(),
            Compression::default().client_no_context_takeover(true),
        ] {
            let agreed = negotiate([OFFER.as_bytes()], &settings).expect("the server accepts");
            let ours = answer(&agreed.response()).expect("valid").expect("agreed");
            assert!(ours.server_no_context_takeover);
            assert_eq!(
                ours.client_no_context_takeover,
                settings.client_no_context_takeover
            );
        }
    }

    #[test]
    fn answers_with_parameters() {
        let a = answer(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=\"12\"",
        )
        .expect("valid")
        .expect("agreed");
        assert_eq!(
            a,
            Agreement {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(12),
            }
        );
        assert_eq!(answer(""), Ok(None), "no extension agreed");
        assert_eq!(accept_response([], true), Ok(None));
        assert_eq!(accept_response([], false), Ok(None));
    }

    #[test]
    fn answers_that_fail_the_connection() {
        assert!(matches!(
            accept_response([b"permessage-deflate".as_slice()], false),
            Err(ExtensionError::NotOffered(_))
        ));
        assert!(matches!(
            answer("x-webkit-deflate-frame"),
            Err(ExtensionError::Unknown(_))
        ));
        assert!(matches!(
            answer("permessage-deflate, permessage-deflate"),
            Err(ExtensionError::Repeated)
        ));
        assert_eq!(
            accept_response(
                [b"permessage-deflate".as_slice(), b"permessage-deflate"],
                true
            ),
            Err(ExtensionError::Repeated),
            "across header lines"
        );
        for bad in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; x=1",
        ] {
            assert!(
                matches!(answer(bad), Err(ExtensionError::InvalidParameters(_))),
                "{bad}"
            );
        }
        assert_eq!(
            ExtensionError::Unknown("foo".into()).to_string(),
            "the server agreed to an unknown extension `foo`"
        );
    }

    /// The server's inflater reads what the client's deflater writes, with
    /// and without context takeover.
    #[test]
    fn deflater_round_trips_through_the_servers_inflater() {
        let message = "a client message, again and again: context helps. ".repeat(10);
        for settings in [
            Compression::default(),
            Compression::default().client_no_context_takeover(true),
        ] {
            let server = negotiate([OFFER.as_bytes()], &settings).expect("accepted");
            let client = answer(&server.response()).expect("valid").expect("agreed");
            let mut deflater = Deflater::new(&client, 6);
            let mut inflater = Inflater::new(&server);
            let mut sizes = Vec::new();
            for _ in 0..3 {
                let payload = deflater.deflate(message.as_bytes()).expect("compressed");
                sizes.push(payload.len());
                let mut out = Vec::new();
                inflater
                    .inflate(&payload, true, &mut out, 1 << 16)
                    .expect("inflates");
                assert_eq!(out, message.as_bytes());
            }
            if settings.client_no_context_takeover {
                assert_eq!(sizes[0], sizes[1], "each message on its own");
            } else {
                assert!(sizes[1] < sizes[0] / 2, "refers to the first: {sizes:?}");
            }
        }
        let eight = Agreement {
            client_max_window_bits: Some(8),
            ..answer("permessage-deflate")
                .expect("valid")
                .expect("agreed")
        };
        assert_eq!(Deflater::new(&eight, 6).deflate(b"anything"), None);
    }

    #[test]
    fn the_inflater_follows_the_servers_context_and_window() {
        let text = "server text ".repeat(100);
        let compressed =
            crate::deflate::deflate(text.as_bytes(), crate::deflate::Window::Narrow, 6)
                .expect("compressed");
        let agreement =
            answer("permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
                .expect("valid")
                .expect("agreed");
        let mut inflater = agreement.inflater();
        for _ in 0..2 {
            let mut out = Vec::new();
            inflater
                .inflate(&compressed, true, &mut out, 1 << 16)
                .expect("each message on its own");
            assert_eq!(out, text.as_bytes());
        }
        let mut out = Vec::new();
        assert_eq!(
            inflater.inflate(&compressed, true, &mut out, 100),
            Err(InflateError::TooBig)
        );
    }
}
