//! The incremental decoder of a peer's frames: bytes in, [`Event`]s out.
//! The server decodes its clients' masked frames ([`Decoder::new`]), the
//! Rust client its server's unmasked ones ([`Decoder::client`]).
//!
//! It holds only what belongs to an incomplete frame or a fragmented
//! message, and frees both once complete, so an idle connection holds no
//! buffer. Limits are checked from the header, before the payload arrives:
//! a peer announcing a 2 GiB frame is refused at once (1009), never
//! buffered. With permessage-deflate the inflated size is what counts:
//! inflation stops at the limit ([`Inflater`]).

use bytes::Bytes;
use zocket_core::close;

use super::deflate::{InflateError, Inflater};
use super::header::{self, Violation};
use super::utf8::Utf8Progress;
use super::{mask, opcode, Event, Message, Role};

/// A partial-frame buffer at most this big is kept between reads; a larger
/// one is freed once its frame is complete.
const KEEP_PARTIAL: usize = 512;

/// Decodes a peer's frames. See the [module docs](self).
#[derive(Debug)]
pub struct Decoder {
    max_message_size: usize,
    /// The end decoding: what the peer's frames must look like.
    role: Role,
    /// Bytes of a frame not complete yet.
    partial: Vec<u8>,
    /// A fragmented message being reassembled.
    message: Option<Fragmented>,
    /// A close frame or a failure was seen: nothing after it is decoded.
    done: bool,
    /// Set when permessage-deflate was negotiated.
    inflater: Option<Inflater>,
}

#[derive(Debug)]
struct Fragmented {
    opcode: u8,
    /// The message's bytes so far (inflated when compressed).
    bytes: Vec<u8>,
    utf8: Utf8Progress,
    compressed: bool,
}

enum Step {
    /// Not enough bytes; the frame's total size when known (else 0).
    Incomplete(usize),
    /// A frame of this many bytes was consumed.
    Frame(usize, Option<Event>),
}

impl Decoder {
    /// A server's decoder of masked client frames, refusing messages (and
    /// frames) larger than `max_message_size` bytes with 1009.
    pub fn new(max_message_size: usize) -> Self {
        Decoder {
            max_message_size,
            role: Role::Server,
            partial: Vec::new(),
            message: None,
            done: false,
            inflater: None,
        }
    }

    /// A decoder for a connection that negotiated permessage-deflate:
    /// messages whose first frame has RSV1 set are inflated with
    /// `inflater`, up to the same size limit.
    pub fn with_inflater(max_message_size: usize, inflater: Inflater) -> Self {
        Decoder {
            inflater: Some(inflater),
            ..Decoder::new(max_message_size)
        }
    }

    /// A client's decoder of unmasked server frames, with the same limit;
    /// `inflater` when permessage-deflate was agreed.
    pub fn client(max_message_size: usize, inflater: Option<Inflater>) -> Self {
        Decoder {
            role: Role::Client,
            inflater,
            ..Decoder::new(max_message_size)
        }
    }

    /// Whether a close frame or a protocol failure ended the stream.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes the frames in `data` (the bytes just read), appending what
    /// they hold to `out` in order.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Event>) {
        if self.done {
            return;
        }
        if self.partial.is_empty() {
            let (used, need) = self.decode(data, out);
            if !self.done && used < data.len() {
                self.keep(&data[used..], need);
            }
            return;
        }
        let mut buf = std::mem::take(&mut self.partial);
        buf.extend_from_slice(data);
        let (used, need) = self.decode(&buf, out);
        if self.done || used == buf.len() {
            if buf.capacity() <= KEEP_PARTIAL {
                buf.clear();
                self.partial = buf;
            }
        } else if used == 0 {
            buf.reserve(need.saturating_sub(buf.len()));
            self.partial = buf;
        } else {
            self.keep(&buf[used..], need);
        }
    }

    fn keep(&mut self, rest: &[u8], need: usize) {
        let mut partial = Vec::with_capacity(need.max(rest.len()));
        partial.extend_from_slice(rest);
        self.partial = partial;
    }

    /// Decodes complete frames from the start of `buf`; returns the bytes
    /// they took and the size of the incomplete frame after them.
    fn decode(&mut self, buf: &[u8], out: &mut Vec<Event>) -> (usize, usize) {
        let mut pos = 0;
        while !self.done {
            match self.frame(&buf[pos..]) {
                Step::Incomplete(need) => return (pos, need),
                Step::Frame(used, event) => {
                    pos += used;
                    if let Some(event) = event {
                        self.done = matches!(event, Event::Close(..) | Event::Fail(..));
                        out.push(event);
                    }
                }
            }
        }
        (pos, 0)
    }

    fn fail(&mut self, Violation(code, reason): Violation) -> Step {
        self.message = None;
        Step::Frame(0, Some(Event::Fail(code, reason)))
    }

    fn frame(&mut self, buf: &[u8]) -> Step {
        let head = match header::parse(buf, self.inflater.is_some(), self.role) {
            Ok(Some(head)) => head,
            Ok(None) => return Step::Incomplete(0),
            Err(violation) => return self.fail(violation),
        };
        let too_big = Violation(close::MESSAGE_TOO_BIG, "message too big");
        if head.payload_len > self.max_message_size as u64 {
            return self.fail(too_big);
        }
        let len = head.payload_len as usize;
        // Sequencing is checked before the payload arrives: fail fast.
        match (head.opcode, &self.message) {
            (opcode::CONTINUATION, None) => {
                return self.fail(Violation(
                    close::PROTOCOL_ERROR,
                    "continuation without a message",
                ))
            }
            (opcode::TEXT | opcode::BINARY, Some(_)) => {
                return self.fail(Violation(
                    close::PROTOCOL_ERROR,
                    "new message inside a fragmented one",
                ))
            }
            // A compressed message's size is checked as it inflates.
            (opcode::CONTINUATION, Some(m))
                if !m.compressed && m.bytes.len() + len > self.max_message_size =>
            {
                return self.fail(too_big)
            }
            _ => {}
        }
        let total = head.len + len;
        if buf.len() < total {
            return Step::Incomplete(total);
        }
        let mut payload = buf[head.len..total].to_vec();
        if let Some(key) = head.mask {
            mask::apply(&mut payload, key);
        }
        let compressed = head.compressed
            || matches!((head.opcode, &self.message), (opcode::CONTINUATION, Some(m)) if m.compressed);
        let event = match head.opcode {
            opcode::PING => Some(Event::Message(Message::Ping(Bytes::from(payload)))),
            opcode::PONG => Some(Event::Message(Message::Pong)),
            opcode::CLOSE => Some(match super::close::parse(&payload) {
                Ok((code, reason)) => Event::Close(code, reason.to_owned()),
                Err((code, reason)) => Event::Fail(code, reason),
            }),
            opcode::CONTINUATION => {
                let Some(mut m) = self.message.take() else {
                    return self.fail(Violation(close::PROTOCOL_ERROR, "continuation"));
                };
                if compressed {
                    if let Err(violation) = self.inflate(&payload, head.fin, &mut m.bytes) {
                        return self.fail(violation);
                    }
                } else {
                    m.bytes.extend_from_slice(&payload);
                }
                match self.complete(m, head.fin) {
                    Ok(event) => event,
                    Err(violation) => return self.fail(violation),
                }
            }
            op => {
                let bytes = if compressed {
                    let mut bytes = Vec::new();
                    if let Err(violation) = self.inflate(&payload, head.fin, &mut bytes) {
                        return self.fail(violation);
                    }
                    bytes
                } else {
                    payload
                };
                let m = Fragmented {
                    opcode: op,
                    bytes,
                    utf8: Utf8Progress::default(),
                    compressed,
                };
                match self.complete(m, head.fin) {
                    Ok(event) => event,
                    Err(violation) => return self.fail(violation),
                }
            }
        };
        Step::Frame(total, event)
    }

    /// Inflates a compressed frame's payload onto the message's bytes.
    fn inflate(&mut self, payload: &[u8], fin: bool, out: &mut Vec<u8>) -> Result<(), Violation> {
        let Some(inflater) = &mut self.inflater else {
            return Err(Violation(close::PROTOCOL_ERROR, "reserved bits set"));
        };
        inflater
            .inflate(payload, fin, out, self.max_message_size)
            .map_err(|error| match error {
                InflateError::TooBig => Violation(close::MESSAGE_TOO_BIG, "message too big"),
                InflateError::Invalid => {
                    Violation(close::INVALID_PAYLOAD, "invalid compressed data")
                }
            })
    }

    /// Checks a data message's new bytes; yields it when final, else keeps
    /// it for the next fragment.
    fn complete(&mut self, mut m: Fragmented, fin: bool) -> Result<Option<Event>, Violation> {
        let bad_utf8 = Violation(close::INVALID_PAYLOAD, "invalid UTF-8 in text frame");
        if m.opcode == opcode::TEXT {
            m.utf8.advance(&m.bytes, fin).map_err(|_| bad_utf8)?;
        }
        if !fin {
            self.message = Some(m);
            return Ok(None);
        }
        let message = if m.opcode == opcode::TEXT {
            Message::Text(String::from_utf8(m.bytes).map_err(|_| bad_utf8)?)
        } else {
            Message::Binary(Bytes::from(m.bytes))
        };
        Ok(Some(Event::Message(message)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::encode_masked;
    use proptest::prelude::*;

    fn masked(op: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_masked(op, fin, payload, [1, 2, 3, 4], &mut out);
        out
    }

    fn decode_chunks(chunks: &[&[u8]], max: usize) -> Vec<Event> {
        let mut d = Decoder::new(max);
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c, &mut out);
        }
        out
    }

    #[test]
    fn whole_and_byte_by_byte() {
        let mut all = masked(opcode::TEXT, true, "héllo wörld, a longer text".as_bytes());
        all.extend(masked(opcode::BINARY, true, &[0u8; 300]));
        all.extend(masked(opcode::PING, true, b"p"));
        all.extend(masked(opcode::PONG, true, b""));
        all.extend(masked(opcode::CLOSE, true, &[0x03, 0xE8, b'o', b'k']));
        all.extend(masked(opcode::TEXT, true, b"after the close: ignored"));
        let expected = vec![
            Event::Message(Message::Text("héllo wörld, a longer text".into())),
            Event::Message(Message::Binary(Bytes::from(vec![0u8; 300]))),
            Event::Message(Message::Ping(Bytes::from_static(b"p"))),
            Event::Message(Message::Pong),
            Event::Close(1000, "ok".into()),
        ];
        assert_eq!(decode_chunks(&[&all], 1 << 20), expected);
        let bytes: Vec<&[u8]> = all.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes, 1 << 20), expected);
    }

    #[test]
    fn fragments_with_interleaved_control() {
        let text = "aé€😀z".as_bytes();
        let mut all = masked(opcode::TEXT, false, &text[..2]);
        all.extend(masked(opcode::PING, true, b""));
        all.extend(masked(opcode::CONTINUATION, false, &text[2..5]));
        all.extend(masked(opcode::CONTINUATION, true, &text[5..]));
        assert_eq!(
            decode_chunks(&[&all], 1024),
            vec![
                Event::Message(Message::Ping(Bytes::new())),
                Event::Message(Message::Text("aé€😀z".into())),
            ]
        );
    }

    #[test]
    fn violations() {
        let fail = |e: &[Event]| match e.last() {
            Some(Event::Fail(code, _)) => *code,
            other => panic!("{other:?}"),
        };
        let d = |b: &[u8]| fail(&decode_chunks(&[b], 10));
        assert_eq!(d(&masked(opcode::TEXT, true, &[0xFF])), 1007);
        assert_eq!(
            d(&masked(opcode::TEXT, true, &[b'a'; 11])[..6]),
            1009,
            "before the payload"
        );
        assert_eq!(d(&masked(opcode::CONTINUATION, true, b"a")), 1002);
        assert_eq!(d(&masked(opcode::CLOSE, true, &[3, 0xED])), 1002);
        assert_eq!(d(&masked(opcode::CLOSE, true, &[3, 0xE8, 0xFF])), 1007);
        let mut two = masked(opcode::TEXT, false, b"a");
        two.extend(masked(opcode::TEXT, true, b"b"));
        assert_eq!(d(&two), 1002);
        let mut big = masked(opcode::TEXT, false, b"aaaaaa");
        big.extend(masked(opcode::CONTINUATION, true, b"aaaaa"));
        assert_eq!(d(&big), 1009, "reassembled size");
        let mut bad_frag = masked(opcode::TEXT, false, b"a");
        bad_frag.extend(masked(opcode::CONTINUATION, false, &[0xC0, 0x80]));
        assert_eq!(d(&bad_frag), 1007, "fails at the fragment");
    }

    /// A compressed client frame: RSV1 on when `first`.
    fn compressed(op: u8, fin: bool, first: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = masked(op, fin, payload);
        if first {
            out[0] |= 0x40;
        }
        out
    }

    #[test]
    fn compressed_messages_inflate_within_the_limit() {
        use crate::deflate::{self, negotiate, Compression, Inflater, Window};
        let agreed = negotiate([b"permessage-deflate".as_slice()], &Compression::default())
            .expect("accepted");
        let decoder = |max| Decoder::with_inflater(max, Inflater::new(&agreed));
        let feed = |mut d: Decoder, wire: &[u8]| {
            let mut out = Vec::new();
            for byte in wire.chunks(7) {
                d.feed(byte, &mut out);
            }
            out
        };
        let text = "compressed and fragmented, with a ping between; ".repeat(30);
        let payload = deflate::deflate(text.as_bytes(), Window::Wide, 6).expect("shrinks");
        let (a, b) = payload.split_at(payload.len() / 3);
        let mut wire = compressed(opcode::TEXT, false, true, a);
        wire.extend(masked(opcode::PING, true, b""));
        wire.extend(compressed(opcode::CONTINUATION, true, false, b));
        wire.extend(masked(opcode::TEXT, true, b"plain"));
        assert_eq!(
            feed(decoder(4096), &wire),
            vec![
                Event::Message(Message::Ping(Bytes::new())),
                Event::Message(Message::Text(text.clone())),
                Event::Message(Message::Text("plain".into())),
            ]
        );
        let code = |events: Vec<Event>| match events.last() {
            Some(Event::Fail(code, _)) => *code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(feed(decoder(text.len() - 1), &wire)),
            1009,
            "inflated size"
        );
        let one = compressed(opcode::TEXT, true, true, &payload);
        assert_eq!(code(feed(Decoder::new(4096), &one)), 1002, "not negotiated");
        let mut rsv1_continuation = compressed(opcode::TEXT, false, true, a);
        rsv1_continuation.extend(compressed(opcode::CONTINUATION, true, true, b));
        assert_eq!(code(feed(decoder(4096), &rsv1_continuation)), 1002);
        let bad = compressed(opcode::BINARY, true, true, &[0xFF; 8]);
        assert_eq!(code(feed(decoder(4096), &bad)), 1007);
    }

    /// An unmasked frame, as a server sends it.
    fn plain(op: u8, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let mut head = [0u8; header::MAX_SERVER_HEADER];
        let n = header::encode(op, payload.len(), &mut head);
        if !fin {
            head[0] &= 0x7F;
        }
        if rsv1 {
            head[0] |= 0x40;
        }
        let mut out = head[..n].to_vec();
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn a_client_decodes_server_frames_and_refuses_masked_ones() {
        use crate::deflate::{self, Window};
        use crate::offer;
        let agreement = offer::accept_response(
            [b"permessage-deflate; server_no_context_takeover".as_slice()],
            true,
        )
        .expect("valid")
        .expect("agreed");
        let text = "a compressed fan-out frame from the server; ".repeat(40);
        let compressed = deflate::deflate(text.as_bytes(), Window::Wide, 6).expect("shrinks");
        let mut wire = plain(opcode::TEXT, false, false, b"hel");
        wire.extend(plain(opcode::PING, true, false, b"p"));
        wire.extend(plain(opcode::CONTINUATION, true, false, b"lo"));
        wire.extend(plain(opcode::TEXT, true, true, &compressed));
        wire.extend(plain(
            opcode::CLOSE,
            true,
            false,
            &[0x03, 0xE8, b'b', b'y', b'e'],
        ));
        let expected = vec![
            Event::Message(Message::Ping(Bytes::from_static(b"p"))),
            Event::Message(Message::Text("hello".into())),
            Event::Message(Message::Text(text.clone())),
            Event::Close(1000, "bye".into()),
        ];
        for chunk in [1, 5, wire.len()] {
            let mut d = Decoder::client(1 << 20, Some(agreement.inflater()));
            let mut out = Vec::new();
            for part in wire.chunks(chunk) {
                d.feed(part, &mut out);
            }
            assert_eq!(out, expected, "chunks of {chunk}");
        }
        let code = |d: &mut Decoder, wire: &[u8]| {
            let mut out = Vec::new();
            d.feed(wire, &mut out);
            match out.last() {
                Some(Event::Fail(code, _)) => *code,
                other => panic!("{other:?}"),
            }
        };
        let masked_frame = masked(opcode::TEXT, true, b"hi");
        assert_eq!(code(&mut Decoder::client(1024, None), &masked_frame), 1002);
        let big = plain(opcode::TEXT, true, true, &compressed);
        let mut small = Decoder::client(text.len() - 1, Some(agreement.inflater()));
        assert_eq!(code(&mut small, &big), 1009, "inflated past the limit");
        assert_eq!(
            code(&mut Decoder::client(1 << 20, None), &big),
            1002,
            "not agreed"
        );
        let unmasked_ping = plain(opcode::PING, true, false, b"");
        assert_eq!(
            code(&mut Decoder::new(1024), &unmasked_ping),
            1002,
            "a server refuses what a client must not send"
        );
    }

    #[test]
    fn idle_decoder_holds_no_buffer() {
        let mut d = Decoder::new(1 << 20);
        let mut out = Vec::new();
        let frame = masked(opcode::BINARY, true, &vec![5u8; 10_000]);
        d.feed(&frame[..5000], &mut out);
        d.feed(&frame[5000..], &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(d.partial.capacity(), 0, "a large partial buffer is freed");
    }

    /// A message as a client sends it: kind, payload, fragment sizes.
    fn message() -> impl Strategy<Value = (bool, Vec<u8>, Vec<usize>)> {
        (
            any::<bool>(),
            prop_oneof![
                ".{0,300}".prop_map(String::into_bytes),
                proptest::collection::vec(any::<u8>(), 0..300)
            ],
            proptest::collection::vec(1usize..100, 0..4),
        )
    }

    proptest! {
        /// Encoding messages (fragmented, with pings between fragments) and
        /// decoding the stream in arbitrary chunks yields them unchanged.
        #[test]
        fn encode_then_decode_is_the_identity(
            messages in proptest::collection::vec(message(), 1..8),
            cuts in proptest::collection::vec(1usize..64, 1..16),
        ) {
            let mut wire = Vec::new();
            let mut expected = Vec::new();
            for (text, payload, fragments) in &messages {
                let text = *text && std::str::from_utf8(payload).is_ok();
                let op = if text { opcode::TEXT } else { opcode::BINARY };
                let mut rest: &[u8] = payload;
                let mut first = true;
                for size in fragments {
                    // Splitting mid-character is allowed: only the whole
                    // message must be UTF-8.
                    let n = (*size).min(rest.len());
                    let (part, tail) = rest.split_at(n);
                    let code = if first { op } else { opcode::CONTINUATION };
                    encode_masked(code, false, part, [7, 1, 9, 3], &mut wire);
                    encode_masked(opcode::PING, true, b"x", [2, 2, 2, 2], &mut wire);
                    expected.push(Event::Message(Message::Ping(Bytes::from_static(b"x"))));
                    rest = tail;
                    first = false;
                }
                let code = if first { op } else { opcode::CONTINUATION };
                encode_masked(code, true, rest, [0xA5, 0x5A, 0, 0xFF], &mut wire);
                expected.push(Event::Message(if text {
                    Message::Text(String::from_utf8(payload.clone()).unwrap_or_default())
                } else {
                    Message::Binary(Bytes::from(payload.clone()))
                }));
            }
            let mut decoder = Decoder::new(1 << 16);
            let mut got = Vec::new();
            let mut pos = 0;
            let mut i = 0;
            while pos < wire.len() {
                let n = cuts[i % cuts.len()].min(wire.len() - pos);
                decoder.feed(&wire[pos..pos + n], &mut got);
                pos += n;
                i += 1;
            }
            prop_assert_eq!(got, expected);
        }
    }
}
