//! zocket's own server-side RFC 6455 framing, used on the fast path (the
//! socket is a plain `TcpStream` accepted by zocket's own accept loop):
//! the upgrade handshake, the unmasked server frame header, and an
//! incremental decoder of masked client frames that keeps only a partial
//! frame per connection (an idle connection holds no read buffer).

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use base64::Engine;
use sha1::{Digest, Sha1};
use zocket_core::close;

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub(crate) fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha1 = Sha1::default();
    sha1.update(key);
    sha1.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let b64 = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&b64).expect("base64 is a valid header value")
}

/// The same checks axum's `WebSocketUpgrade` makes on an HTTP/1.1 upgrade
/// request; returns the key, or the reason the request is not an upgrade.
pub(crate) fn check_upgrade<'a>(
    method: &Method,
    headers: &'a HeaderMap,
) -> Result<&'a HeaderValue, &'static str> {
    if method != Method::GET {
        return Err("Request method must be `GET`");
    }
    let connection_upgrade = headers.get_all(header::CONNECTION).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
    });
    if !connection_upgrade {
        return Err("Connection header did not include 'upgrade'");
    }
    let eq = |name: header::HeaderName, value: &str| {
        headers
            .get(name)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value.as_bytes()))
    };
    if !eq(header::UPGRADE, "websocket") {
        return Err("`Upgrade` header did not include 'websocket'");
    }
    if !eq(header::SEC_WEBSOCKET_VERSION, "13") {
        return Err("`Sec-WebSocket-Version` header did not include '13'");
    }
    headers
        .get(header::SEC_WEBSOCKET_KEY)
        .ok_or("`Sec-WebSocket-Key` header missing")
}

/// Subprotocols the client offered, one entry each.
pub(crate) fn requested_protocols(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
}

/// Close code 1005 (no status): stands for a close frame without a code.
pub(crate) const NO_STATUS: u16 = 1005;

pub(crate) const OP_CONT: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

/// Writes the header of an unmasked final frame into `out`; returns its
/// length (2, 4 or 10).
#[inline]
pub(crate) fn frame_header(opcode: u8, len: usize, out: &mut [u8; 16]) -> usize {
    out[0] = 0x80 | opcode;
    if len < 126 {
        out[1] = len as u8;
        2
    } else if len <= u16::MAX as usize {
        out[1] = 126;
        out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// The opcode and payload of a queued message, as written on the wire.
/// A close frame's payload is its code (in `extra`, written after the
/// header) followed by the reason.
#[inline]
pub(crate) fn wire_parts(message: &Message) -> (u8, &[u8], Option<[u8; 2]>) {
    match message {
        Message::Text(t) => (OP_TEXT, t.as_bytes(), None),
        Message::Binary(b) => (OP_BINARY, b, None),
        Message::Ping(b) => (OP_PING, b, None),
        Message::Pong(b) => (OP_PONG, b, None),
        // 1005 (no status) stands for an empty close payload: it is never
        // sent on the wire.
        Message::Close(Some(c)) if c.code != NO_STATUS => {
            (OP_CLOSE, c.reason.as_bytes(), Some(c.code.to_be_bytes()))
        }
        Message::Close(_) => (OP_CLOSE, &[], None),
    }
}

/// What the decoder found in the bytes read.
#[derive(Debug, PartialEq)]
pub(crate) enum Event {
    Message(Message),
    /// The client's close frame: its code (1005 when it had none).
    Close(u16),
    /// The client broke the protocol: close with this code and reason.
    Fail(u16, &'static str),
}

/// Decodes masked client frames. Holds only what belongs to an incomplete
/// frame or a fragmented message; both are freed once complete.
#[derive(Default)]
pub(crate) struct Decoder {
    /// Bytes of a frame not complete yet.
    partial: Vec<u8>,
    /// A fragmented message being reassembled (opcode, bytes, how far its
    /// UTF-8 has been checked).
    message: Option<(u8, Vec<u8>, usize)>,
    /// A close frame or a failure was seen: nothing after it is decoded.
    done: bool,
}

/// Keep a partial-frame buffer at most this big between reads; a larger
/// one is released once its frame is complete.
const KEEP_PARTIAL: usize = 512;

impl Decoder {
    /// Decodes the frames in `data` (just read), appending events to `out`.
    pub fn feed(&mut self, data: &[u8], max_size: usize, out: &mut Vec<Event>) {
        if self.done {
            return;
        }
        if self.partial.is_empty() {
            let (used, need) = self.decode(data, max_size, out);
            if !self.done && used < data.len() {
                let rest = &data[used..];
                let mut partial = Vec::with_capacity(need.max(rest.len()));
                partial.extend_from_slice(rest);
                self.partial = partial;
            }
        } else {
            let mut buf = std::mem::take(&mut self.partial);
            buf.extend_from_slice(data);
            let (used, need) = self.decode(&buf, max_size, out);
            if self.done || used == buf.len() {
                if buf.capacity() <= KEEP_PARTIAL {
                    buf.clear();
                    self.partial = buf;
                }
            } else if used == 0 {
                buf.reserve(need.saturating_sub(buf.len()));
                self.partial = buf;
            } else {
                let rest = &buf[used..];
                let mut partial = Vec::with_capacity(need.max(rest.len()));
                partial.extend_from_slice(rest);
                self.partial = partial;
            }
        }
    }

    /// Decodes complete frames from the start of `buf`; returns how many
    /// bytes they took and the size of the incomplete frame after them
    /// (0 when not known yet).
    fn decode(&mut self, buf: &[u8], max_size: usize, out: &mut Vec<Event>) -> (usize, usize) {
        let mut pos = 0;
        while !self.done {
            match self.frame(&buf[pos..], max_size) {
                Frame::Incomplete(need) => return (pos, need),
                Frame::Done(used, event) => {
                    pos += used;
                    if let Some(event) = event {
                        if matches!(event, Event::Close(_) | Event::Fail(..)) {
                            self.done = true;
                        }
                        out.push(event);
                    }
                }
            }
        }
        (pos, 0)
    }

    fn fail(&mut self, code: u16, reason: &'static str) -> Frame {
        self.message = None;
        Frame::Done(0, Some(Event::Fail(code, reason)))
    }

    fn frame(&mut self, buf: &[u8], max_size: usize) -> Frame {
        if buf.len() < 2 {
            return Frame::Incomplete(0);
        }
        let (b0, b1) = (buf[0], buf[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        if b0 & 0x70 != 0 {
            return self.fail(close::PROTOCOL_ERROR, "reserved bits set");
        }
        if b1 & 0x80 == 0 {
            return self.fail(close::PROTOCOL_ERROR, "unmasked client frame");
        }
        let control = opcode & 0x08 != 0;
        match opcode {
            OP_CONT | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
            _ => return self.fail(close::PROTOCOL_ERROR, "unknown opcode"),
        }
        let (len, mut head) = match b1 & 0x7F {
            126 => {
                if buf.len() < 4 {
                    return Frame::Incomplete(0);
                }
                (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4)
            }
            127 => {
                if buf.len() < 10 {
                    return Frame::Incomplete(0);
                }
                let len = u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes"));
                if len >> 63 != 0 {
                    return self.fail(close::PROTOCOL_ERROR, "invalid frame length");
                }
                (len, 10)
            }
            n => (n as u64, 2),
        };
        if control && (!fin || len > 125) {
            return self.fail(close::PROTOCOL_ERROR, "invalid control frame");
        }
        if len > max_size as u64 {
            return self.fail(close::MESSAGE_TOO_BIG, "message too big");
        }
        let len = len as usize;
        // Sequencing is checked before the payload arrives: fail fast.
        match opcode {
            OP_CONT if self.message.is_none() => {
                return self.fail(close::PROTOCOL_ERROR, "continuation without a message");
            }
            OP_TEXT | OP_BINARY if self.message.is_some() => {
                return self.fail(close::PROTOCOL_ERROR, "new message inside a fragmented one");
            }
            _ => {}
        }
        if let Some((_, bytes, _)) = &self.message {
            if bytes.len() + len > max_size {
                return self.fail(close::MESSAGE_TOO_BIG, "message too big");
            }
        }
        if buf.len() < head + 4 + len {
            return Frame::Incomplete(head + 4 + len);
        }
        let mask: [u8; 4] = buf[head..head + 4].try_into().expect("4 bytes");
        head += 4;
        let total = head + len;
        let masked = &buf[head..total];
        let event = match opcode {
            OP_PING => Some(Event::Message(Message::Ping(Bytes::from(unmask(
                masked, mask,
            ))))),
            // Only a sign of life: the payload is not kept.
            OP_PONG => Some(Event::Message(Message::Pong(Bytes::new()))),
            OP_CLOSE => Some(close_event(&unmask(masked, mask))),
            OP_CONT => {
                let (op, mut bytes, checked) = self.message.take().expect("checked above");
                unmask_into(masked, mask, &mut bytes);
                let mut checked = checked;
                if op == OP_TEXT {
                    match std::str::from_utf8(&bytes[checked..]) {
                        Ok(_) => checked = bytes.len(),
                        Err(e) if e.error_len().is_none() && !fin => {
                            checked += e.valid_up_to();
                        }
                        Err(_) => {
                            return self.fail(close::INVALID_PAYLOAD, "invalid UTF-8 in text frame")
                        }
                    }
                }
                if fin {
                    Some(Event::Message(data_message(op, bytes)))
                } else {
                    self.message = Some((op, bytes, checked));
                    None
                }
            }
            op => {
                let bytes = unmask(masked, mask);
                if fin {
                    if op == OP_TEXT {
                        match String::from_utf8(bytes) {
                            Ok(text) => Some(Event::Message(Message::Text(Utf8Bytes::from(text)))),
                            Err(_) => {
                                return self
                                    .fail(close::INVALID_PAYLOAD, "invalid UTF-8 in text frame")
                            }
                        }
                    } else {
                        Some(Event::Message(Message::Binary(Bytes::from(bytes))))
                    }
                } else {
                    let mut checked = 0;
                    if op == OP_TEXT {
                        match std::str::from_utf8(&bytes) {
                            Ok(_) => checked = bytes.len(),
                            Err(e) if e.error_len().is_none() => checked = e.valid_up_to(),
                            Err(_) => {
                                return self
                                    .fail(close::INVALID_PAYLOAD, "invalid UTF-8 in text frame")
                            }
                        }
                    }
                    self.message = Some((op, bytes, checked));
                    None
                }
            }
        };
        Frame::Done(total, event)
    }
}

enum Frame {
    /// Not enough bytes; the frame's total size when known (else 0).
    Incomplete(usize),
    Done(usize, Option<Event>),
}

fn data_message(op: u8, bytes: Vec<u8>) -> Message {
    if op == OP_TEXT {
        // Validated fragment by fragment above.
        match String::from_utf8(bytes) {
            Ok(text) => Message::Text(Utf8Bytes::from(text)),
            Err(_) => unreachable!("text checked incrementally"),
        }
    } else {
        Message::Binary(Bytes::from(bytes))
    }
}

fn close_event(payload: &[u8]) -> Event {
    match payload.len() {
        0 => Event::Close(NO_STATUS),
        1 => Event::Fail(close::PROTOCOL_ERROR, "invalid close frame"),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let allowed = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !allowed {
                Event::Fail(close::PROTOCOL_ERROR, "invalid close code")
            } else if std::str::from_utf8(&payload[2..]).is_err() {
                Event::Fail(close::INVALID_PAYLOAD, "invalid UTF-8 in close reason")
            } else {
                Event::Close(code)
            }
        }
    }
}

fn unmask(masked: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(masked.len());
    unmask_into(masked, mask, &mut out);
    out
}

fn unmask_into(masked: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(masked);
    let data = &mut out[start..];
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let done = data.len() & !7;
    for chunk in data[..done].chunks_exact_mut(8) {
        let v = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in data[done..].iter_mut().enumerate() {
        *b ^= mask[(done + i) & 3];
    }
}

/// A close frame for the queue (`code` 1005: an empty close payload).
pub(crate) fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 65535 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&mask);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        f
    }

    fn decode_chunks(chunks: &[&[u8]], max: usize) -> Vec<Event> {
        let mut d = Decoder::default();
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c, max, &mut out);
        }
        out
    }

    #[test]
    fn text_binary_ping_close_in_one_read_and_byte_by_byte() {
        let mut all = masked(OP_TEXT, true, "héllo wörld, a longer text".as_bytes());
        all.extend(masked(OP_BINARY, true, &[0u8; 300]));
        all.extend(masked(OP_PING, true, b"p"));
        all.extend(masked(OP_PONG, true, b""));
        all.extend(masked(OP_CLOSE, true, &[0x03, 0xE8, b'o', b'k']));
        let expected = vec![
            Event::Message(Message::text("héllo wörld, a longer text")),
            Event::Message(Message::Binary(Bytes::from(vec![0u8; 300]))),
            Event::Message(Message::Ping(Bytes::from_static(b"p"))),
            Event::Message(Message::Pong(Bytes::new())),
            Event::Close(1000),
        ];
        assert_eq!(decode_chunks(&[&all], 1 << 20), expected);
        let bytes: Vec<&[u8]> = all.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes, 1 << 20), expected);
    }

    #[test]
    fn fragments_with_interleaved_control() {
        let text = "aé€😀z".as_bytes();
        let mut all = masked(OP_TEXT, false, &text[..2]);
        all.extend(masked(OP_PING, true, b""));
        all.extend(masked(OP_CONT, false, &text[2..5]));
        all.extend(masked(OP_CONT, true, &text[5..]));
        assert_eq!(
            decode_chunks(&[&all], 1024),
            vec![
                Event::Message(Message::Ping(Bytes::new())),
                Event::Message(Message::text("aé€😀z")),
            ]
        );
    }

    #[test]
    fn violations() {
        let mut unmasked = masked(OP_TEXT, true, b"x");
        unmasked[1] &= 0x7F;
        let fail = |e: &[Event]| match e.last() {
            Some(Event::Fail(code, _)) => *code,
            other => panic!("{other:?}"),
        };
        assert_eq!(fail(&decode_chunks(&[&unmasked[..2]], 10)), 1002);
        assert_eq!(
            fail(&decode_chunks(&[&masked(OP_TEXT, true, &[0xFF])], 10)),
            1007
        );
        assert_eq!(
            fail(&decode_chunks(
                &[&masked(OP_TEXT, true, &[b'a'; 11])[..4]],
                10
            )),
            1009
        );
        assert_eq!(
            fail(&decode_chunks(&[&masked(OP_CONT, true, b"a")], 10)),
            1002
        );
        assert_eq!(fail(&decode_chunks(&[&masked(0x3, true, b"")], 10)), 1002);
        assert_eq!(
            fail(&decode_chunks(&[&masked(OP_PING, false, b"")], 10)),
            1002
        );
        assert_eq!(
            fail(&decode_chunks(&[&masked(OP_CLOSE, true, &[3, 0xED])], 10)),
            1002
        );
        assert_eq!(
            fail(&decode_chunks(
                &[&masked(OP_CLOSE, true, &[3, 0xE8, 0xFF])],
                10
            )),
            1007
        );
        let mut two = masked(OP_TEXT, false, b"a");
        two.extend(masked(OP_TEXT, true, b"b"));
        assert_eq!(fail(&decode_chunks(&[&two], 10)), 1002);
        let mut big = masked(OP_TEXT, false, b"aaaaaa");
        big.extend(masked(OP_CONT, true, b"aaaaa"));
        assert_eq!(fail(&decode_chunks(&[&big], 10)), 1009);
        let mut bad_frag = masked(OP_TEXT, false, b"a");
        bad_frag.extend(masked(OP_CONT, false, &[0xC0, 0x80]));
        assert_eq!(fail(&decode_chunks(&[&bad_frag], 10)), 1007);
    }

    #[test]
    fn header_sizes() {
        let mut h = [0u8; 16];
        assert_eq!(frame_header(OP_TEXT, 125, &mut h), 2);
        assert_eq!(frame_header(OP_TEXT, 126, &mut h), 4);
        assert_eq!(frame_header(OP_TEXT, 70000, &mut h), 10);
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
