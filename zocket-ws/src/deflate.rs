//! permessage-deflate (RFC 7692): the offer/answer in the handshake, the
//! server's compression of outgoing messages and the bounded inflation of
//! the client's.
//!
//! The server always answers `server_no_context_takeover`: every message
//! it sends is compressed on its own, so one compressed payload is valid
//! for every recipient and a fan-out frame is compressed once for all of
//! them ([`WireFrame::deflated`](super::WireFrame::deflated)), with a
//! compressor per worker thread instead of one per connection. The client
//! may keep its context (the server holds one inflate state per
//! connection that uses it) unless [`Compression::client_no_context_takeover`]
//! asks it not to.
//!
//! Inflation is bounded: a message inflating past the size limit fails with
//! 1009 once the limit is crossed, never inflated further (a compression
//! bomb costs at most the limit).
//!
//! Built on `flate2` with the pure-Rust `zlib-rs` backend: the window-bits
//! parameters need `Compress::new_with_window_bits`, which flate2 offers
//! only with a zlib backend (miniz_oxide has a fixed 32 KiB window).
//! zlib (and so flate2) cannot deflate with an 8-bit window, so an offer
//! that insists on `server_max_window_bits=8` is declined.
//!
//! ```
//! use zocket_ws::deflate::{negotiate, Compression};
//!
//! let offer: &[u8] = b"permessage-deflate; client_max_window_bits";
//! let agreed = negotiate([offer], &Compression::default()).expect("accepted");
//! assert_eq!(agreed.response(), "permessage-deflate; server_no_context_takeover");
//! ```

use std::cell::RefCell;

use flate2::{Compress, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const EXTENSION: &str = "permessage-deflate";

/// The tail a sender strips from every compressed message and a receiver
/// appends before inflating (RFC 7692, section 7.2.1): an empty stored
/// block, what a sync flush ends with.
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// Server settings for permessage-deflate; off unless set in the server's
/// `Config::compression` (zocket-runtime re-exports this type).
///
/// ```
/// use zocket_ws::deflate::Compression;
///
/// let settings = Compression::default().min_size(256);
/// assert_eq!(settings.min_size, 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Compression {
    /// Messages with a smaller payload are sent uncompressed (RFC 7692 lets
    /// the sender choose per message): deflating a short message costs
    /// more CPU than the few bytes it saves, and may even grow it. Default
    /// 128 bytes. Longer messages are always compressed: one that does not
    /// shrink grows by a few bytes, and finding out would cost the
    /// compression anyway.
    pub min_size: usize,
    /// zlib compression level, 0 (none) to 9 (smallest); default 6, zlib's
    /// own default. A fan-out frame is compressed once for all its
    /// recipients, so a higher level costs once per message, not per
    /// recipient.
    pub level: u32,
    /// Answer `client_no_context_takeover`: clients compress each message
    /// on its own, so the server keeps no inflate state (about 40 KiB with
    /// a 32 KiB window) between a connection's messages, at the price of a
    /// lower ratio on what clients send. Default `false`.
    pub client_no_context_takeover: bool,
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            min_size: 128,
            level: 6,
            client_no_context_takeover: false,
        }
    }
}

impl Compression {
    /// Sets [`min_size`](Self::min_size).
    #[must_use]
    pub fn min_size(mut self, bytes: usize) -> Self {
        self.min_size = bytes;
        self
    }

    /// Sets [`level`](Self::level) (capped at 9).
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Sets [`client_no_context_takeover`](Self::client_no_context_takeover).
    #[must_use]
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }
}

/// The window the server compresses with for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// 32 KiB (15 bits): clients that set no `server_max_window_bits`.
    Wide,
    /// 512 bytes (9 bits, zlib's smallest): clients that asked for any
    /// window under 15 bits. One narrow variant serves them all, since a
    /// stream made with a smaller window is valid for any larger one.
    Narrow,
}

impl Window {
    fn bits(self) -> u8 {
        match self {
            Window::Wide => 15,
            Window::Narrow => 9,
        }
    }

    /// Index of this window's variant in a frame's cache.
    pub(crate) fn index(self) -> usize {
        match self {
            Window::Wide => 0,
            Window::Narrow => 1,
        }
    }
}

/// What the server agreed to for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    /// The client's `server_max_window_bits`, echoed in the answer.
    pub server_max_window_bits: Option<u8>,
    /// The client's `client_max_window_bits` value, echoed in the answer:
    /// the largest window its messages use (none: 15 bits).
    pub client_max_window_bits: Option<u8>,
    /// The client compresses every message on its own.
    pub client_no_context_takeover: bool,
    /// The server's settings.
    pub settings: Compression,
}

impl Agreed {
    /// The `Sec-WebSocket-Extensions` value answering the offer.
    pub fn response(&self) -> String {
        let mut out = format!("{EXTENSION}; server_no_context_takeover");
        if let Some(bits) = self.server_max_window_bits {
            out.push_str(&format!("; server_max_window_bits={bits}"));
        }
        if self.client_no_context_takeover {
            out.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.client_max_window_bits {
            out.push_str(&format!("; client_max_window_bits={bits}"));
        }
        out
    }

    /// The window outgoing messages are compressed with.
    pub fn window(&self) -> Window {
        match self.server_max_window_bits {
            Some(bits) if bits < 15 => Window::Narrow,
            _ => Window::Wide,
        }
    }

    /// The window the inflater needs: the client's, but at least 9 bits
    /// (zlib's smallest; a larger window reads a smaller one's stream).
    fn inflate_window_bits(&self) -> u8 {
        self.client_max_window_bits.unwrap_or(15).max(9)
    }
}

/// One client offer of permessage-deflate (or a server's answer, which has
/// the same parameters), as parsed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_max_window_bits: Option<u8>,
    /// Present without a value: `Some(None)`.
    pub(crate) client_max_window_bits: Option<Option<u8>>,
}

/// Picks the first acceptable permessage-deflate offer from the
/// `Sec-WebSocket-Extensions` header values, in the client's order; `None`
/// if there is none. A malformed offer (unknown or repeated parameter, bad
/// value, broken syntax) is declined, as RFC 7692 section 5 says, and the
/// next one considered.
pub fn negotiate<'a>(
    header_values: impl IntoIterator<Item = &'a [u8]>,
    settings: &Compression,
) -> Option<Agreed> {
    header_values
        .into_iter()
        .flat_map(|value| split_outside_quotes(value, b','))
        .filter_map(parse_offer)
        .find_map(|offer| accept(offer, settings))
}

fn accept(offer: Offer, settings: &Compression) -> Option<Agreed> {
    // flate2 cannot compress with 256 bytes of window.
    if offer.server_max_window_bits == Some(8) {
        return None;
    }
    Some(Agreed {
        server_max_window_bits: offer.server_max_window_bits,
        client_max_window_bits: offer.client_max_window_bits.flatten(),
        client_no_context_takeover: settings.client_no_context_takeover,
        settings: *settings,
    })
}

/// Parses one extension of the list: `None` if it is not
/// permessage-deflate or is malformed.
pub(crate) fn parse_offer(extension: &[u8]) -> Option<Offer> {
    let mut parts = split_outside_quotes(extension, b';');
    let name = parts.next()?.trim_ascii();
    if !name.eq_ignore_ascii_case(EXTENSION.as_bytes()) {
        return None;
    }
    let mut offer = Offer::default();
    for param in parts {
        let (key, value) = match param.iter().position(|&b| b == b'=') {
            Some(eq) => (
                param[..eq].trim_ascii(),
                Some(unquote(param[eq + 1..].trim_ascii())?),
            ),
            None => (param.trim_ascii(), None),
        };
        match key {
            b"server_no_context_takeover" if !offer.server_no_context_takeover => {
                value.is_none().then_some(())?;
                offer.server_no_context_takeover = true;
            }
            b"client_no_context_takeover" if !offer.client_no_context_takeover => {
                value.is_none().then_some(())?;
                offer.client_no_context_takeover = true;
            }
            b"server_max_window_bits" if offer.server_max_window_bits.is_none() => {
                offer.server_max_window_bits = Some(window_bits(&value?)?);
            }
            b"client_max_window_bits" if offer.client_max_window_bits.is_none() => {
                offer.client_max_window_bits = Some(match value {
                    Some(value) => Some(window_bits(&value)?),
                    None => None,
                });
            }
            // Unknown, or repeated.
            _ => return None,
        }
    }
    Some(offer)
}

/// A window-bits value: a decimal 8 to 15, without leading zeros.
fn window_bits(value: &[u8]) -> Option<u8> {
    match value {
        [d @ b'8'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'5'] => Some(10 + d - b'0'),
        _ => None,
    }
}

/// A parameter value: a token, or a quoted string (RFC 7230) whose content
/// must then be a token. `None` if malformed.
fn unquote(value: &[u8]) -> Option<Vec<u8>> {
    let Some(inner) = value.strip_prefix(b"\"") else {
        return (!value.is_empty() && value.iter().all(|&b| is_token(b))).then(|| value.to_vec());
    };
    let inner = inner.strip_suffix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        let b = if b == b'\\' { *bytes.next()? } else { b };
        if !is_token(b) {
            return None;
        }
        out.push(b);
    }
    (!out.is_empty()).then_some(out)
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits on `sep` outside double-quoted strings; an unterminated quote
/// runs to the end (and fails to parse later).
pub(crate) fn split_outside_quotes(bytes: &[u8], sep: u8) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let s = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (i, &b) in s.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ if b == sep && !quoted => {
                    rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
    .filter(|part| !part.trim_ascii().is_empty())
}

thread_local! {
    /// One compressor per window per worker thread, reset for every
    /// message (no context takeover): no connection holds one.
    static COMPRESSORS: RefCell<[Option<(u32, Compress)>; 2]> = const { RefCell::new([None, None]) };
}

/// Compresses one message's payload as a permessage-deflate payload (the
/// sync-flush tail stripped); `None` if the compressor failed.
pub fn deflate(payload: &[u8], window: Window, level: u32) -> Option<Vec<u8>> {
    // zlib refuses levels past 9 (and flate2 would panic on it).
    let level = level.min(9);
    // A thread being torn down has no compressor: the frame goes as is.
    let deflated = COMPRESSORS.try_with(|compressors| {
        let mut compressors = compressors.borrow_mut();
        let slot = &mut compressors[window.index()];
        let compress = match slot {
            Some((l, compress)) if *l == level => {
                compress.reset();
                compress
            }
            _ => {
                let compress = Compress::new_with_window_bits(
                    flate2::Compression::new(level),
                    false,
                    window.bits(),
                );
                &mut slot.insert((level, compress)).1
            }
        };
        deflate_with(compress, payload)
    });
    deflated.ok().flatten()
}

pub(crate) fn deflate_with(compress: &mut Compress, payload: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(payload.len() / 2 + 64);
    let start = compress.total_in();
    loop {
        let consumed = (compress.total_in() - start) as usize;
        compress
            .compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync)
            .ok()?;
        let consumed = (compress.total_in() - start) as usize;
        // zlib has finished the flush when it leaves output room with all
        // input taken; otherwise it filled the buffer and wants more.
        if consumed == payload.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    out.strip_suffix(&TAIL)?;
    out.truncate(out.len() - TAIL.len());
    Some(out)
}

/// Why a compressed message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// It inflates past the size limit (1009).
    #[error("message too big")]
    TooBig,
    /// It is not valid deflate data (1007).
    #[error("invalid compressed data")]
    Invalid,
}

/// The smallest growth of a message's inflated bytes; it doubles from
/// there, up to the limit.
const MIN_STEP: usize = 4 * 1024;

/// Inflates one connection's compressed messages, keeping the client's
/// window between them unless `client_no_context_takeover` was agreed (then
/// the state is dropped after each message and an idle connection holds
/// none).
#[derive(Debug)]
pub struct Inflater {
    window_bits: u8,
    keep_context: bool,
    state: Option<Box<Decompress>>,
    /// A final block ended the current stream.
    ended: bool,
}

impl Inflater {
    /// The inflater for what was agreed.
    pub fn new(agreed: &Agreed) -> Self {
        Self::with_window(
            agreed.inflate_window_bits(),
            !agreed.client_no_context_takeover,
        )
    }

    /// An inflater for a peer compressing with at most `window_bits`
    /// (raised to zlib's smallest, 9), keeping its window between messages
    /// when `keep_context`.
    pub(crate) fn with_window(window_bits: u8, keep_context: bool) -> Self {
        Inflater {
            window_bits: window_bits.clamp(9, 15),
            keep_context,
            state: None,
            ended: false,
        }
    }

    /// Inflates one frame's payload of a compressed message onto `out`
    /// (`fin`: the message's last frame). Fails once `out` would pass
    /// `limit` bytes; `out` never grows past `limit + 1`.
    pub fn inflate(
        &mut self,
        payload: &[u8],
        fin: bool,
        out: &mut Vec<u8>,
        limit: usize,
    ) -> Result<(), InflateError> {
        let bits = self.window_bits;
        let state = self
            .state
            .get_or_insert_with(|| Box::new(Decompress::new_with_window_bits(false, bits)));
        let mut result = inflate_into(state, payload, out, limit);
        if fin && result == Ok(false) {
            result = inflate_into(state, &TAIL, out, limit);
        }
        match result {
            Ok(ended) => {
                self.ended |= ended;
                // A stream ended by a final block cannot go on: the next
                // message starts a new one.
                if fin && (self.ended || !self.keep_context) {
                    self.state = None;
                    self.ended = false;
                }
                Ok(())
            }
            Err(error) => {
                // Nothing follows a failed message: the connection closes.
                self.state = None;
                Err(error)
            }
        }
    }
}

/// Inflates `input` onto `out`; `true` if a final block ended the stream.
fn inflate_into(
    state: &mut Decompress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<bool, InflateError> {
    loop {
        let start = out.len();
        if out.capacity() == start {
            // Doubling, as `Vec` does, but never past the limit (plus the
            // one byte that shows it is crossed).
            let target = (start * 2).max(start + MIN_STEP).min(limit + 1);
            out.reserve_exact(target - start);
        }
        let room = out.capacity() - start;
        let (before_in, before_out) = (state.total_in(), state.total_out());
        // Writes into the spare capacity only: nothing is zeroed first,
        // which matters for messages sent in many small frames.
        let status = state.decompress_vec(input, out, FlushDecompress::Sync);
        let consumed = (state.total_in() - before_in) as usize;
        let produced = (state.total_out() - before_out) as usize;
        let status = status.map_err(|_| InflateError::Invalid)?;
        if out.len() > limit {
            return Err(InflateError::TooBig);
        }
        input = &input[consumed..];
        if status == Status::StreamEnd {
            return Ok(true);
        }
        // Done when all input is in and the output had room to spare, or
        // when no progress is possible without more input.
        if (input.is_empty() && produced < room) || (consumed == 0 && produced == 0) {
            return Ok(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agreed(offer: &str) -> Option<Agreed> {
        negotiate([offer.as_bytes()], &Compression::default())
    }

    #[test]
    fn offers_accepted_with_their_parameters() {
        let a = agreed("permessage-deflate").expect("plain offer");
        assert_eq!(
            a.response(),
            "permessage-deflate; server_no_context_takeover"
        );
        assert_eq!((a.window(), a.inflate_window_bits()), (Window::Wide, 15));

        let a = agreed(
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=10; \
             server_no_context_takeover; server_max_window_bits=12",
        )
        .expect("every parameter");
        assert_eq!(
            a.response(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; \
             client_max_window_bits=10"
        );
        assert_eq!((a.window(), a.inflate_window_bits()), (Window::Narrow, 10));

        let a = agreed("permessage-deflate; client_max_window_bits=\"8\"").expect("quoted value");
        assert_eq!(a.client_max_window_bits, Some(8));
        assert_eq!(
            a.inflate_window_bits(),
            9,
            "zlib's smallest reads an 8-bit stream"
        );

        let a = agreed("x-webkit-deflate-frame, PerMessage-Deflate ;server_max_window_bits=15")
            .expect("other extensions skipped, name case-insensitive");
        assert_eq!(a.window(), Window::Wide);

        let settings = Compression::default().client_no_context_takeover(true);
        let a = negotiate([b"permessage-deflate".as_slice()], &settings).expect("accepted");
        assert_eq!(
            a.response(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn malformed_offers_are_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits=1a",
            "permessage-deflate; client_max_window_bits=",
            "permessage-deflate; client_max_window_bits=\"1 0\"",
            "permessage-deflate; client_max_window_bits=\"10",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; unknown_param",
            "permessage-deflate; =",
            "deflate-frame",
            "",
            ",,;",
        ] {
            assert_eq!(agreed(bad), None, "{bad:?}");
            if bad.matches('"').count() % 2 == 1 {
                // An open quote runs to the end of the header.
                continue;
            }
            let second = format!("{bad}, permessage-deflate; client_max_window_bits=11");
            assert_eq!(
                agreed(&second).and_then(|a| a.client_max_window_bits),
                Some(11),
                "{second:?}"
            );
        }
        // Valid, but zlib cannot compress with an 8-bit window.
        assert_eq!(agreed("permessage-deflate; server_max_window_bits=8"), None);
        let headers: [&[u8]; 2] = [
            b"permessage-deflate; server_max_window_bits=8",
            b"permessage-deflate; server_no_context_takeover",
        ];
        assert!(
            negotiate(headers, &Compression::default()).is_some(),
            "offers across header lines"
        );
    }

    fn inflate_all(
        inflater: &mut Inflater,
        payload: &[u8],
        limit: usize,
    ) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        inflater
            .inflate(payload, true, &mut out, limit)
            .map(|()| out)
    }

    #[test]
    fn deflate_round_trip_both_windows() {
        let text = "the quick brown fox jumps over the lazy dog; ".repeat(200);
        for (window, offer) in [
            (Window::Wide, "permessage-deflate"),
            (
                Window::Narrow,
                "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
            ),
        ] {
            let deflated = deflate(text.as_bytes(), window, 6).expect("compressible");
            assert!(
                deflated.len() < text.len() / 10,
                "{window:?}: {}",
                deflated.len()
            );
            assert!(!deflated.ends_with(&TAIL));
            let mut inflater = Inflater::new(&agreed(offer).expect("accepted"));
            assert_eq!(
                inflate_all(&mut inflater, &deflated, 1 << 20).as_deref(),
                Ok(text.as_bytes())
            );
            // Independent messages: the same payload again inflates alike.
            assert_eq!(
                inflate_all(&mut inflater, &deflated, 1 << 20).as_deref(),
                Ok(text.as_bytes())
            );
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let random: Vec<u8> = (0..1000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let deflated = deflate(&random, Window::Wide, 6).expect("compressed anyway");
        assert!(
            deflated.len() <= random.len() + 8,
            "stored: {} bytes",
            deflated.len()
        );
        let mut inflater = Inflater::new(&agreed("permessage-deflate").expect("accepted"));
        assert_eq!(inflate_all(&mut inflater, &deflated, 1 << 20), Ok(random));
        assert_eq!(
            deflate(b"", Window::Wide, 6).as_deref(),
            Some(&[0u8][..]),
            "RFC 7692, 7.2.3.6"
        );
    }

    /// A client's compressor with context takeover: each message may
    /// refer to the ones before.
    #[test]
    fn client_context_is_kept_unless_agreed_otherwise() {
        let mut client = Compress::new_with_window_bits(flate2::Compression::default(), false, 15);
        let message = b"hello hello hello context takeover".repeat(4);
        let mut messages = Vec::new();
        for _ in 0..3 {
            let mut out = Vec::with_capacity(1024);
            client
                .compress_vec(&message, &mut out, FlushCompress::Sync)
                .expect("deflate");
            out.truncate(out.len() - 4);
            messages.push(out);
        }
        assert!(
            messages[1].len() < messages[0].len(),
            "the second refers to the first"
        );
        let mut inflater = Inflater::new(&agreed("permessage-deflate").expect("accepted"));
        for m in &messages {
            assert_eq!(
                inflate_all(&mut inflater, m, 1 << 16).as_deref(),
                Ok(&message[..])
            );
        }
        let settings = Compression::default().client_no_context_takeover(true);
        let agreed = negotiate([b"permessage-deflate".as_slice()], &settings).expect("accepted");
        let mut inflater = Inflater::new(&agreed);
        assert_eq!(
            inflate_all(&mut inflater, &messages[0], 1 << 16).as_deref(),
            Ok(&message[..])
        );
        assert!(inflater.state.is_none(), "no state kept between messages");
        assert_eq!(
            inflate_all(&mut inflater, &messages[1], 1 << 16),
            Err(InflateError::Invalid)
        );
    }

    #[test]
    fn inflation_stops_at_the_limit() {
        let zeros = vec![0u8; 4 << 20];
        let bomb = deflate(&zeros, Window::Wide, 9).expect("compressible");
        assert!(
            bomb.len() < 20 * 1024,
            "4 MiB of zeros in {} bytes",
            bomb.len()
        );
        let mut inflater = Inflater::new(&agreed("permessage-deflate").expect("accepted"));
        let mut out = Vec::new();
        assert_eq!(
            inflater.inflate(&bomb, true, &mut out, 64 * 1024),
            Err(InflateError::TooBig)
        );
        assert!(out.capacity() <= 64 * 1024 + 1, "{}", out.capacity());
        // Exactly at the limit is fine, fed frame by frame.
        let exact = deflate(&zeros[..64 * 1024], Window::Wide, 6).expect("compressible");
        let mut out = Vec::new();
        let (a, b) = exact.split_at(exact.len() / 2);
        inflater
            .inflate(a, false, &mut out, 64 * 1024)
            .expect("first frame");
        inflater
            .inflate(b, true, &mut out, 64 * 1024)
            .expect("last frame");
        assert_eq!(out.len(), 64 * 1024);
        assert_eq!(
            inflate_all(&mut inflater, &[0xFF, 0xFF, 0xFF], 1024),
            Err(InflateError::Invalid)
        );
    }
}
