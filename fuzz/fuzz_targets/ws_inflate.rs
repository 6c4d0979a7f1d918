//! The decoder of a connection that negotiated permessage-deflate, on
//! arbitrary bytes: it never panics, never yields anything after a close
//! or a failure, never yields a message over the size limit however far a
//! payload would inflate; and messages compressed as a client would are
//! decoded back unchanged, however the stream is cut.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zocket_runtime::ws::decode::Decoder;
use zocket_runtime::ws::deflate::{deflate, negotiate, Compression, Inflater, Window};
use zocket_runtime::ws::header::encode_masked;
use zocket_runtime::ws::{opcode, Event, Message};

const MAX: usize = 4096;

/// The client keeps its context between messages unless `fresh`: both
/// inflate paths.
fn decode(chunks: impl Iterator<Item = Vec<u8>>, fresh: bool) -> Vec<Event> {
    let offer: &[u8] = b"permessage-deflate; client_max_window_bits";
    let settings = Compression::default().client_no_context_takeover(fresh);
    let Some(agreed) = negotiate([offer], &settings) else {
        panic!("a plain offer is accepted");
    };
    let mut decoder = Decoder::with_inflater(MAX, Inflater::new(&agreed));
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
    let fresh = step & 1 == 0;
    // Arbitrary bytes, RSV1 or not.
    let events = decode(cut(rest, usize::from(step)), fresh);
    if let Some(end) = events
        .iter()
        .position(|e| matches!(e, Event::Close(..) | Event::Fail(..)))
    {
        assert_eq!(end, events.len() - 1, "events after the end: {events:?}");
    }
    for event in &events {
        if let Event::Message(Message::Text(t)) = event {
            assert!(t.len() <= MAX);
        }
        if let Event::Message(Message::Binary(b)) = event {
            assert!(b.len() <= MAX);
        }
    }

    // The same bytes as payloads of compressed client messages (each on
    // its own, as with no context takeover): a round trip.
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    for payload in rest.chunks(301) {
        let Some(deflated) = deflate(payload, Window::Wide, 6) else {
            return;
        };
        let start = wire.len();
        encode_masked(opcode::BINARY, true, &deflated, [step, 1, 2, 3], &mut wire);
        wire[start] |= 0x40; // RSV1: compressed
        expected.push(Event::Message(Message::Binary(payload.to_vec().into())));
    }
    assert_eq!(decode(cut(&wire, usize::from(step) + 1), fresh), expected);
});
