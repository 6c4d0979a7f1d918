//! The frame header (RFC 6455, section 5.2): encoding unmasked (server)
//! and masked (client) headers, and parsing either, as the [`Role`] that
//! receives them expects.

use zocket_core::close;

use super::{opcode, Role};

/// Longest header of an unmasked (server) frame.
pub const MAX_SERVER_HEADER: usize = 10;

/// Writes the header of an unmasked final frame; returns its length (2, 4
/// or 10).
#[inline]
pub fn encode(opcode: u8, len: usize, out: &mut [u8; MAX_SERVER_HEADER]) -> usize {
    out[0] = 0x80 | opcode;
    if len < 126 {
        out[1] = len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// Appends a masked frame, as a client sends it (zocket's Rust client, and
/// tests, the fuzzer's round trip and load generators).
pub fn encode_masked(opcode: u8, fin: bool, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    let mut head = [0u8; MAX_SERVER_HEADER];
    let n = encode(opcode, payload.len(), &mut head);
    if !fin {
        head[0] &= 0x7F;
    }
    head[1] |= 0x80;
    out.extend_from_slice(&head[..n]);
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    super::mask::apply(&mut out[start..], mask);
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The last frame of its message.
    pub fin: bool,
    /// RSV1: the first frame of a compressed message (permessage-deflate).
    pub compressed: bool,
    /// See [`opcode`].
    pub opcode: u8,
    /// The masking key: always present in a client's frame, never in a
    /// server's.
    pub mask: Option<[u8; 4]>,
    /// Payload bytes that follow the header.
    pub payload_len: u64,
    /// Header bytes, mask included.
    pub len: usize,
}

impl Header {
    /// Close, ping or pong: never fragmented, at most 125 bytes.
    pub fn is_control(&self) -> bool {
        self.opcode & 0x08 != 0
    }
}

/// Why a header is refused: the close code and reason to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation(pub u16, pub &'static str);

/// Parses a frame header from the start of `buf`, received by `role`:
/// `Ok(None)` while incomplete. Refuses what the RFC forbids the peer:
/// reserved bits (RSV1 is allowed on the first frame of a data message
/// when permessage-deflate was negotiated, `deflate`; RSV2 and RSV3 never
/// are), unknown opcodes, unmasked client frames and masked server frames,
/// fragmented or oversized control frames, and lengths with the top bit
/// set.
pub fn parse(buf: &[u8], deflate: bool, role: Role) -> Result<Option<Header>, Violation> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let compressed = b0 & 0x40 != 0;
    let opcode = b0 & 0x0F;
    // RFC 7692, section 6: only a data message's first frame carries RSV1.
    let rsv1_allowed = deflate && matches!(opcode, opcode::TEXT | opcode::BINARY);
    if b0 & 0x30 != 0 || (compressed && !rsv1_allowed) {
        return Err(Violation(close::PROTOCOL_ERROR, "reserved bits set"));
    }
    match opcode {
        opcode::CONTINUATION
        | opcode::TEXT
        | opcode::BINARY
        | opcode::CLOSE
        | opcode::PING
        | opcode::PONG => {}
        _ => return Err(Violation(close::PROTOCOL_ERROR, "unknown opcode")),
    }
    let masked = b1 & 0x80 != 0;
    match (role, masked) {
        (Role::Server, false) => {
            return Err(Violation(close::PROTOCOL_ERROR, "unmasked client frame"))
        }
        (Role::Client, true) => {
            return Err(Violation(close::PROTOCOL_ERROR, "masked server frame"))
        }
        _ => {}
    }
    let (payload_len, len_bytes) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 2),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                let len = u64::from_be_bytes(be);
                if len >> 63 != 0 {
                    return Err(Violation(close::PROTOCOL_ERROR, "invalid frame length"));
                }
                (len, 8)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 0),
    };
    let control = opcode & 0x08 != 0;
    if control && (!fin || payload_len > 125) {
        return Err(Violation(close::PROTOCOL_ERROR, "invalid control frame"));
    }
    let mask_at = 2 + len_bytes;
    let (mask, len) = if masked {
        let Some(m) = buf.get(mask_at..mask_at + 4) else {
            return Ok(None);
        };
        (Some([m[0], m[1], m[2], m[3]]), mask_at + 4)
    } else if buf.len() < mask_at {
        return Ok(None);
    } else {
        (None, mask_at)
    };
    Ok(Some(Header {
        fin,
        compressed,
        opcode,
        mask,
        payload_len,
        len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sizes() {
        let mut h = [0u8; MAX_SERVER_HEADER];
        assert_eq!(encode(opcode::TEXT, 125, &mut h), 2);
        assert_eq!(encode(opcode::TEXT, 126, &mut h), 4);
        assert_eq!(encode(opcode::TEXT, 65535, &mut h), 4);
        assert_eq!(encode(opcode::TEXT, 65536, &mut h), 10);
    }

    #[test]
    fn parses_what_a_client_sends() {
        for len in [0usize, 5, 125, 126, 1000, 70_000] {
            let mut wire = Vec::new();
            encode_masked(
                opcode::BINARY,
                false,
                &vec![1; len],
                [9, 8, 7, 6],
                &mut wire,
            );
            let h = parse(&wire, false, Role::Server)
                .expect("valid")
                .expect("complete");
            assert_eq!((h.fin, h.opcode, h.payload_len), (false, 2, len as u64));
            assert_eq!(h.mask, Some([9, 8, 7, 6]));
            assert_eq!(h.len + len, wire.len());
            for cut in 0..h.len {
                assert_eq!(
                    parse(&wire[..cut], false, Role::Server),
                    Ok(None),
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn parses_what_a_server_sends_and_refuses_masks() {
        for len in [0usize, 5, 125, 126, 1000, 70_000] {
            let mut head = [0u8; MAX_SERVER_HEADER];
            let n = encode(opcode::TEXT, len, &mut head);
            let h = parse(&head[..n], false, Role::Client)
                .expect("valid")
                .expect("complete");
            assert_eq!((h.fin, h.opcode, h.payload_len), (true, 1, len as u64));
            assert_eq!((h.mask, h.len), (None, n));
            for cut in 0..n {
                assert_eq!(parse(&head[..cut], false, Role::Client), Ok(None));
            }
        }
        let mut masked = Vec::new();
        encode_masked(opcode::TEXT, true, b"hi", [1, 2, 3, 4], &mut masked);
        assert_eq!(
            parse(&masked, false, Role::Client).map_err(|v| v.0),
            Err(1002),
            "a server may not mask"
        );
        assert_eq!(
            parse(&[0xC1, 0x00], true, Role::Client).map(|h| h.map(|h| h.compressed)),
            Ok(Some(true))
        );
    }

    #[test]
    fn refuses_what_a_client_may_not_send() {
        let code = |b: &[u8]| parse(b, false, Role::Server).map(|_| ()).unwrap_err().0;
        assert_eq!(code(&[0x81, 0x01]), 1002, "unmasked");
        assert_eq!(code(&[0xC1, 0x81]), 1002, "rsv1 without permessage-deflate");
        assert_eq!(code(&[0xA1, 0x81]), 1002, "rsv2");
        assert_eq!(code(&[0x91, 0x81]), 1002, "rsv3");
        assert_eq!(code(&[0x83, 0x80]), 1002, "opcode 3");
        assert_eq!(code(&[0x09, 0x80]), 1002, "fragmented ping");
        assert_eq!(code(&[0x89, 0xFE, 0, 126]), 1002, "long ping");
        assert_eq!(
            code(&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            1002,
            "top length bit"
        );
        let deflate = |b: &[u8]| parse(b, true, Role::Server).map(|h| h.map(|h| h.compressed));
        assert_eq!(
            deflate(&[0xC1, 0x80, 0, 0, 0, 0]),
            Ok(Some(true)),
            "compressed text"
        );
        assert_eq!(
            deflate(&[0x42, 0x80, 0, 0, 0, 0]),
            Ok(Some(true)),
            "first fragment"
        );
        for (bytes, what) in [
            (&[0xC0, 0x80][..], "rsv1 on a continuation"),
            (&[0xC9, 0x80], "rsv1 on a ping"),
            (&[0xC8, 0x80], "rsv1 on a close"),
            (&[0xE1, 0x80], "rsv2 with permessage-deflate"),
        ] {
            assert_eq!(deflate(bytes).map_err(|v| v.0), Err(1002), "{what}");
        }
    }
}
