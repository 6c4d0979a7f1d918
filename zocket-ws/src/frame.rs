//! The frame types: what the decoder yields and what the server writes.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::deflate::{self, Compression, Window};
use super::header;

/// Frame opcodes (RFC 6455, section 5.2).
pub mod opcode {
    /// A later fragment of a text or binary message.
    pub const CONTINUATION: u8 = 0x0;
    /// A text message (or its first fragment).
    pub const TEXT: u8 = 0x1;
    /// A binary message (or its first fragment).
    pub const BINARY: u8 = 0x2;
    /// The closing handshake.
    pub const CLOSE: u8 = 0x8;
    /// A heartbeat the other side must answer.
    pub const PING: u8 = 0x9;
    /// The answer to a ping.
    pub const PONG: u8 = 0xA;
}

/// Which end of a connection this codec plays: a server decodes masked
/// frames, a client unmasked ones, and each refuses the other kind with
/// 1002 (RFC 6455, section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// zocket's server, decoding a client's frames.
    Server,
    /// zocket's Rust client, decoding a server's frames.
    Client,
}

/// A complete message (reassembled from its fragments) or a control frame
/// from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, checked to be UTF-8.
    Text(String),
    /// A binary message (zocket answers it with `binary_unsupported`).
    Binary(Bytes),
    /// A ping, with the payload the pong must echo.
    Ping(Bytes),
    /// A pong: only a sign of life, its payload is not kept.
    Pong,
}

/// What the decoder found in the bytes it was fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete message or a control frame.
    Message(Message),
    /// The peer's close frame, with its code (1005 when it had none) and
    /// its reason (checked to be UTF-8).
    Close(u16, String),
    /// The peer broke the protocol: close with this code and reason.
    /// Nothing after it is decoded.
    Fail(u16, &'static str),
}

/// A complete unmasked server frame, header and payload in one buffer.
///
/// Built once per send and cloned (a reference count) for every
/// recipient, so a fan-out to N connections encodes once and gives the
/// socket one slice per frame. Its permessage-deflate variants are made
/// on first use and shared the same way ([`WireFrame::deflated`]).
#[derive(Clone)]
pub struct WireFrame(Arc<Encoded>);

struct Encoded {
    bytes: Box<[u8]>,
    head: u8,
    /// The compressed variant per [`Window`], once a recipient that
    /// negotiated compression needed it; `None` inside if the compressor
    /// failed (the frame then goes as it is).
    deflated: [OnceLock<Option<WireFrame>>; 2],
}

impl PartialEq for WireFrame {
    fn eq(&self, other: &Self) -> bool {
        self.0.bytes == other.0.bytes
    }
}

impl Eq for WireFrame {}

impl WireFrame {
    /// A final frame with this opcode and payload.
    pub fn new(opcode: u8, payload: &[u8]) -> Self {
        Self::encode(opcode, false, payload)
    }

    fn encode(opcode: u8, compressed: bool, payload: &[u8]) -> Self {
        let mut head = [0u8; header::MAX_SERVER_HEADER];
        let n = header::encode(opcode, payload.len(), &mut head);
        if compressed {
            head[0] |= 0x40;
        }
        let mut bytes = Vec::with_capacity(n + payload.len());
        bytes.extend_from_slice(&head[..n]);
        bytes.extend_from_slice(payload);
        WireFrame(Arc::new(Encoded {
            bytes: bytes.into_boxed_slice(),
            head: n as u8,
            deflated: [OnceLock::new(), OnceLock::new()],
        }))
    }

    /// This frame as sent to a connection that negotiated permessage-deflate
    /// with `window`: the compressed frame (RSV1 set), made by the first
    /// such recipient and shared by the others. Control frames and
    /// payloads under `settings.min_size` go as they are.
    pub fn deflated(&self, window: Window, settings: &Compression) -> WireFrame {
        let payload = self.payload();
        if self.opcode() & 0x08 != 0 || payload.len() < settings.min_size.max(1) {
            return self.clone();
        }
        // Under 512 bytes no back-reference reaches past a 9-bit window:
        // the wide variant serves narrow recipients too.
        let window = if payload.len() <= 512 {
            Window::Wide
        } else {
            window
        };
        let variant = self.0.deflated[window.index()].get_or_init(|| {
            deflate::deflate(payload, window, settings.level)
                .map(|compressed| WireFrame::encode(self.opcode(), true, &compressed))
        });
        variant.as_ref().unwrap_or(self).clone()
    }

    /// Whether RSV1 is set: a compressed message.
    pub fn is_compressed(&self) -> bool {
        self.0.bytes[0] & 0x40 != 0
    }

    /// An unfragmented text frame.
    pub fn text(text: &str) -> Self {
        Self::new(opcode::TEXT, text.as_bytes())
    }

    /// An unfragmented binary frame.
    pub fn binary(data: &[u8]) -> Self {
        Self::new(opcode::BINARY, data)
    }

    /// A ping with an empty payload (the server's heartbeat).
    pub fn ping() -> Self {
        Self::new(opcode::PING, &[])
    }

    /// The pong answering a ping with `payload`.
    pub fn pong(payload: &[u8]) -> Self {
        Self::new(opcode::PONG, payload)
    }

    /// A close frame; code 1005 (no status) is an empty close payload, as
    /// the RFC forbids sending 1005 itself.
    pub fn close(code: u16, reason: &str) -> Self {
        Self::new(opcode::CLOSE, &super::close::payload(code, reason))
    }

    /// The frame as written on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    /// The payload (after the header).
    pub fn payload(&self) -> &[u8] {
        &self.0.bytes[usize::from(self.0.head)..]
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.0.bytes.len()
    }

    /// Never true for a frame built here (every frame has a header).
    pub fn is_empty(&self) -> bool {
        self.0.bytes.is_empty()
    }

    /// The frame's [`opcode`].
    pub fn opcode(&self) -> u8 {
        self.0.bytes[0] & 0x0F
    }
}

impl std::fmt::Debug for WireFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireFrame")
            .field("opcode", &self.opcode())
            .field("payload", &String::from_utf8_lossy(self.payload()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_header() {
        let f = WireFrame::text("hi");
        assert_eq!(f.as_bytes(), &[0x81, 2, b'h', b'i']);
        assert_eq!(f.payload(), b"hi");
        assert_eq!(f.opcode(), opcode::TEXT);
        let big = WireFrame::binary(&[7u8; 300]);
        assert_eq!(&big.as_bytes()[..4], &[0x82, 126, 1, 44]);
        assert_eq!(big.payload().len(), 300);
        assert_eq!(
            WireFrame::close(1000, "ok").payload(),
            &[3, 0xE8, b'o', b'k']
        );
        assert_eq!(WireFrame::close(1005, "ignored").payload(), b"");
    }

    #[test]
    fn deflated_variants_are_made_once_and_shared() {
        let settings = Compression::default();
        let text = "a fan-out message, compressed once for every recipient. ".repeat(40);
        let frame = WireFrame::text(&text);
        let first = frame.deflated(Window::Wide, &settings);
        assert!(first.is_compressed() && !frame.is_compressed());
        assert_eq!(first.as_bytes()[0], 0xC1, "FIN, RSV1, text");
        assert!(first.len() < frame.len() / 5);
        let again = frame.clone().deflated(Window::Wide, &settings);
        assert!(Arc::ptr_eq(&first.0, &again.0), "the same compressed frame");
        let narrow = frame.deflated(Window::Narrow, &settings);
        assert!(narrow.is_compressed() && !Arc::ptr_eq(&first.0, &narrow.0));

        let short = WireFrame::text("short");
        assert!(Arc::ptr_eq(
            &short.deflated(Window::Wide, &settings).0,
            &short.0
        ));
        let ping = WireFrame::new(opcode::PING, &[b'p'; 125]);
        assert!(!ping
            .deflated(Window::Wide, &settings.min_size(0))
            .is_compressed());
    }
}
