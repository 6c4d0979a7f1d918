//! The RFC 6455 decoder on arbitrary bytes, fed in arbitrary chunks, as
//! the server decodes a client's frames and as the Rust client decodes a
//! server's (with and without permessage-deflate): it never panics, never
//! yields anything after a close or a failure, never yields a message over
//! the size limit; and messages encoded as a client would are decoded back
//! unchanged, however the stream is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zocket_runtime::ws::decode::Decoder;
use zocket_runtime::ws::header::encode_masked;
use zocket_runtime::ws::offer::accept_response;
use zocket_runtime::ws::{opcode, Event, Message};

const MAX: usize = 4096;

fn decode(chunks: impl Iterator<Item = Vec<u8>>) -> Vec<Event> {
    decode_with(Decoder::new(MAX), chunks)
}

fn decode_with(mut decoder: Decoder, chunks: impl Iterator<Item = Vec<u8>>) -> Vec<Event> {
    let mut events = Vec::new();
    for chunk in chunks {
        decoder.feed(&chunk, &mut events);
    }
    events
}

fn cut(data: &[u8], step: usize) -> impl Iterator<Item = Vec<u8>> + '_ {
    data.chunks(step.max(1)).map(<[u8]>::to_vec)
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    // Arbitrary bytes, to a server and to a client.
    let agreed = accept_response([b"permessage-deflate".as_slice()], true)
        .ok()
        .flatten()
        .expect("a valid answer");
    for decoder in [
        Decoder::new(MAX),
        Decoder::client(MAX, None),
        Decoder::client(MAX, Some(agreed.inflater())),
    ] {
        check(&decode_with(decoder, cut(rest, usize::from(step))));
    }

    // The same bytes as payloads of client messages: a round trip.
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for (i, payload) in rest.chunks(97).enumerate() {
        let text = i % 2 == 0 && std::str::from_utf8(payload).is_ok();
        let (op, message) = if text {
            let t = String::from_utf8(payload.to_vec()).unwrap_or_default();
            (opcode::TEXT, Message::Text(t))
        } else {
            (opcode::BINARY, Message::Binary(payload.to_vec().into()))
        };
        let split = payload.len() / 2;
        encode_masked(op, false, &payload[..split], [step, 1, 2, 3], &mut wire);
        encode_masked(opcode::CONTINUATION, true, &payload[split..], [3, step, 2, 1], &mut wire);
        expected.push(Event::Message(message));
    }
    assert_eq!(decode(cut(&wire, usize::from(step) + 1)), expected);
});

/// Nothing after the end, nothing over the limit.
fn check(events: &[Event]) {
    if let Some(end) = events
        .iter()
        .position(|e| matches!(e, Event::Close(..) | Event::Fail(..)))
    {
        assert_eq!(end, events.len() - 1, "events after the end: {events:?}");
    }
    for event in events {
        if let Event::Message(Message::Text(t)) = event {
            assert!(t.len() <= MAX);
        }
        if let Event::Message(Message::Binary(b)) = event {
            assert!(b.len() <= MAX);
        }
    }
}
