//! The frame types: what the decoder yields and what the server writes.

use bytes::Bytes;

use super::header;

/// Frame opcodes (RFC 6455, section 5.2).
pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// A complete message (reassembled from its fragments) or a control frame
/// from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message, checked to be UTF-8.
    Text(String),
    Binary(Bytes),
    /// A ping, with the payload the pong must echo.
    Ping(Bytes),
    /// A pong: only a sign of life, its payload is not kept.
    Pong,
}

/// What the decoder found in the bytes it was fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Message),
    /// The client's close frame, with its code (1005 when it had none).
    Close(u16),
    /// The client broke the protocol: close with this code and reason.
    /// Nothing after it is decoded.
    Fail(u16, &'static str),
}

/// A complete unmasked server frame, header and payload in one buffer.
///
/// Built once per send and cloned (a reference count) for every
/// recipient, so a fan-out to N connections encodes once and gives the
/// socket one slice per frame.
#[derive(Clone, PartialEq, Eq)]
pub struct WireFrame {
    bytes: Bytes,
    head: u8,
}

impl WireFrame {
    /// A final frame with this opcode and payload.
    pub fn new(opcode: u8, payload: &[u8]) -> Self {
        let mut head = [0u8; header::MAX_SERVER_HEADER];
        let n = header::encode(opcode, payload.len(), &mut head);
        let mut bytes = Vec::with_capacity(n + payload.len());
        bytes.extend_from_slice(&head[..n]);
        bytes.extend_from_slice(payload);
        WireFrame {
            bytes: Bytes::from(bytes),
            head: n as u8,
        }
    }

    pub fn text(text: &str) -> Self {
        Self::new(opcode::TEXT, text.as_bytes())
    }

    pub fn binary(data: &[u8]) -> Self {
        Self::new(opcode::BINARY, data)
    }

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
        &self.bytes
    }

    /// The payload (after the header).
    pub fn payload(&self) -> &[u8] {
        &self.bytes[usize::from(self.head)..]
    }

    /// Bytes on the wire.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn opcode(&self) -> u8 {
        self.bytes[0] & 0x0F
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
}
