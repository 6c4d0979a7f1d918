//! permessage-deflate (RFC 7692) end to end: a server with
//! `Config::compression` on, raw clients that offer the extension and speak
//! the wire format themselves (deflating with flate2 directly, not through
//! zocket's codec), and zocket's Rust client, which offers it by default
//! (through zocket's codec): compressed when both ends agree, plain when
//! either does not, counted on the wire by a proxy.

mod hardening_support;

use std::time::Duration;

use flate2::{Compress, Decompress, FlushCompress, FlushDecompress};
use hardening_support::{app, Server, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use zocket::client::{ClientCompression, ClientConfig, CloseInfo, State};
use zocket::{Compression, Config};
use zocket_tests::proxy::Proxy;

const OFFER: &str = "permessage-deflate; client_max_window_bits";
const ANSWER: &str = "permessage-deflate; server_no_context_takeover";

/// One frame from the server.
#[derive(Debug)]
struct Frame {
    compressed: bool,
    opcode: u8,
    payload: Vec<u8>,
}

/// A WebSocket client over a bare TCP stream, compressing what it sends
/// when the server accepted its offer.
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The server's `Sec-WebSocket-Extensions` answer, if any.
    extensions: Option<String>,
    /// The client's own compressor (context kept between messages, as the
    /// server allowed).
    deflate: Compress,
}

impl Raw {
    async fn connect(server: &Server, offer: Option<&str>) -> Raw {
        let mut stream = tokio::time::timeout(WAIT, TcpStream::connect(server.addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        let extension = offer
            .map(|o| format!("Sec-WebSocket-Extensions: {o}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET /?user-name=raw HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\n\
             Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extension}\r\n",
            server.addr
        );
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Raw {
            stream,
            buf: Vec::new(),
            extensions: None,
            deflate: Compress::new(flate2::Compression::default(), false),
        };
        let head = loop {
            if let Some(end) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(raw.buf[..end].to_vec()).expect("UTF-8 head");
                raw.buf.drain(..end + 4);
                break head;
            }
            raw.read_more().await;
        };
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.extensions = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_owned())
        });
        raw
    }

    async fn read_more(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("nothing from the server in time")
            .expect("read");
        assert!(n > 0, "the server closed the TCP connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Sends a masked frame: `rsv1` with `payload` already compressed.
    async fn send_frame(&mut self, opcode: u8, rsv1: bool, payload: &[u8]) {
        let mask = [0x37, 0xFA, 0x21, 0x3D];
        let mut out = vec![0x80 | if rsv1 { 0x40 } else { 0 } | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&out).await.expect("write");
    }

    /// Sends a text message, compressed with the client's context.
    async fn send_compressed(&mut self, text: &str) {
        let payload = compress(&mut self.deflate, text.as_bytes());
        self.send_frame(0x1, true, &payload).await;
    }

    async fn send_json(&mut self, value: Value) {
        self.send_compressed(&value.to_string()).await;
    }

    /// The next frame that is not a ping.
    async fn frame(&mut self) -> Frame {
        loop {
            if let Some((frame, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                if frame.opcode == 0x9 {
                    continue;
                }
                return frame;
            }
            self.read_more().await;
        }
    }

    /// The next data frame, inflated if compressed, as JSON.
    async fn json(&mut self) -> (bool, Value) {
        let frame = self.frame().await;
        assert_eq!(frame.opcode, 0x1, "expected text, got {frame:?}");
        let bytes = if frame.compressed {
            inflate(&frame.payload)
        } else {
            frame.payload
        };
        (
            frame.compressed,
            serde_json::from_slice(&bytes).expect("JSON"),
        )
    }

    /// The server's close code.
    async fn close_code(&mut self) -> u16 {
        loop {
            let frame = self.frame().await;
            if frame.opcode == 0x8 {
                return u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
            }
        }
    }
}

/// A server frame from the start of `buf` and its length on the wire.
fn parse(buf: &[u8]) -> Option<(Frame, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    assert_eq!(b1 & 0x80, 0, "server frames are not masked");
    assert_eq!(b0 & 0x80, 0x80, "the server does not fragment");
    let (len, at) = match b1 & 0x7F {
        126 => (
            usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(buf.get(2..10)?);
            (u64::from_be_bytes(be) as usize, 10)
        }
        n => (usize::from(n), 2),
    };
    let payload = buf.get(at..at + len)?.to_vec();
    let frame = Frame {
        compressed: b0 & 0x40 != 0,
        opcode: b0 & 0x0F,
        payload,
    };
    Some((frame, at + len))
}

/// One permessage-deflate payload: sync flush, tail stripped.
fn compress(deflate: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    deflate
        .compress_vec(data, &mut out, FlushCompress::Sync)
        .expect("deflate");
    assert!(
        out.len() < out.capacity(),
        "room left: the flush is complete"
    );
    assert!(out.ends_with(&[0, 0, 0xFF, 0xFF]));
    out.truncate(out.len() - 4);
    out
}

/// Inflates a server message on its own, as server_no_context_takeover
/// promises it can be.
fn inflate(payload: &[u8]) -> Vec<u8> {
    let mut inflater = Decompress::new(false);
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    let mut out = Vec::with_capacity(1 << 20);
    inflater
        .decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .expect("inflate");
    assert_eq!(inflater.total_in() as usize, input.len(), "all input used");
    out
}

async fn recv<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("in time")
        .expect("open")
}

fn compressing() -> Config {
    Config::default().compression(Some(Compression::default()))
}

fn said(pad: &str, seq: u64) -> Value {
    json!({"type":"room.said","payload":{"roomId":"r","seq":seq,"pad":pad}})
}

#[tokio::test]
async fn compressed_both_ways_and_a_fan_out_frame_compressed_once() {
    let server = Server::start(compressing()).await;
    let mut alice = Raw::connect(&server, Some(OFFER)).await;
    assert_eq!(alice.extensions.as_deref(), Some(ANSWER));
    let mut carol = Raw::connect(
        &server,
        Some(
            "x-unknown, permessage-deflate; server_max_window_bits=8, \
         permessage-deflate; server_max_window_bits=10; client_max_window_bits=12",
        ),
    )
    .await;
    assert_eq!(
        carol.extensions.as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=12"
        ),
        "the first offer the server can honour"
    );
    // A Rust client that offers nothing gets plain frames.
    let bob = app::Client::builder(server.url())
        .headers(app::Headers {
            user_name: "bob".into(),
            token: String::new(),
        })
        .config(ClientConfig {
            compression: None,
            ..ClientConfig::default()
        })
        .connect()
        .await
        .expect("connect");
    let (tx, mut bob_said) = mpsc::unbounded_channel();
    let _listener = bob
        .on()
        .room()
        .said(move |m| drop(tx.send((m.seq, m.pad.clone()))));
    let (tx, mut bob_joined) = mpsc::unbounded_channel();
    let _joined = bob
        .on()
        .room()
        .joined(move |m| drop(tx.send(m.room_id.clone())));
    bob.send()
        .room()
        .join(app::room::Join {
            room_id: "r".into(),
        })
        .expect("send");
    assert_eq!(recv(&mut bob_joined).await, "r");

    for raw in [&mut alice, &mut carol] {
        // A compressed message in; a short answer comes back as is.
        raw.send_json(json!({"type":"room.join","payload":{"roomId":"r"}}))
            .await;
        assert_eq!(
            raw.json().await,
            (
                false,
                json!({"type":"room.joined","payload":{"roomId":"r"}})
            ),
            "under min_size: uncompressed"
        );
    }
    // Context takeover: Alice's second message refers to her first.
    let pad = "all work and no play makes jack a dull boy ".repeat(50);
    for seq in 1..=2 {
        alice
            .send_json(json!({"type":"room.say","payload":{"roomId":"r","seq":seq,"pad":pad}}))
            .await;
        let (a_compressed, a) = alice.json().await;
        let (c_compressed, c) = carol.json().await;
        assert!(a_compressed && c_compressed, "RSV1 on the fan-out frame");
        assert_eq!((a, c), (said(&pad, seq), said(&pad, seq)));
        assert_eq!(
            recv(&mut bob_said).await,
            (seq, pad.clone()),
            "bob: uncompressed"
        );
    }

    // From the Rust client to the raw ones: compressed once for both
    // windows, each inflating on its own.
    bob.send()
        .room()
        .say(app::room::Say {
            room_id: "r".into(),
            seq: 3,
            pad: pad.clone(),
        })
        .expect("send");
    let wide = alice.frame().await;
    let narrow = carol.frame().await;
    assert!(wide.compressed && narrow.compressed);
    assert!(
        wide.payload.len() < pad.len() / 10,
        "{} bytes",
        wide.payload.len()
    );
    for frame in [&wide, &narrow] {
        assert_eq!(
            serde_json::from_slice::<Value>(&inflate(&frame.payload)).unwrap(),
            said(&pad, 3)
        );
    }
    assert_eq!(recv(&mut bob_said).await, (3, pad.clone()));
}

#[tokio::test]
async fn a_compression_bomb_closes_with_1009_and_spares_the_others() {
    let server = Server::start(compressing().max_message_size(64 * 1024)).await;
    let mut victim = Raw::connect(&server, Some(OFFER)).await;
    let mut bomber = Raw::connect(&server, Some(OFFER)).await;
    // 16 MiB of spaces, valid JSON padding, in a few KiB on the wire.
    let mut bomb = Compress::new(flate2::Compression::best(), false);
    let payload = compress(&mut bomb, &vec![b' '; 16 << 20]);
    assert!(
        payload.len() < 64 * 1024,
        "{} bytes on the wire",
        payload.len()
    );
    bomber.send_frame(0x1, true, &payload).await;
    assert_eq!(bomber.close_code().await, 1009);

    victim
        .send_json(json!({"type":"room.ping","payload":{"message":"still here"}}))
        .await;
    assert_eq!(
        victim.json().await.1,
        json!({"type":"room.pong","payload":{"reply":"raw: still here"}})
    );
}

#[tokio::test]
async fn broken_compressed_frames_close_the_connection() {
    let server = Server::start(compressing()).await;
    // Not deflate data: 1007.
    let mut raw = Raw::connect(&server, Some(OFFER)).await;
    raw.send_frame(0x1, true, &[0xFF, 0xFF, 0xFF, 0xFF]).await;
    assert_eq!(raw.close_code().await, 1007);
    // RSV1 on a control frame: 1002.
    let mut raw = Raw::connect(&server, Some(OFFER)).await;
    raw.send_frame(0x9, true, b"").await;
    assert_eq!(raw.close_code().await, 1002);
    // Uncompressed messages are still fine on a compressed connection.
    let mut raw = Raw::connect(&server, Some(OFFER)).await;
    let ping = json!({"type":"room.ping","payload":{"message":"plain"}}).to_string();
    raw.send_frame(0x1, false, ping.as_bytes()).await;
    assert_eq!(raw.json().await.1["payload"]["reply"], "raw: plain");
}

#[tokio::test]
async fn off_by_default_no_extension_even_when_offered() {
    let server = Server::start(Config::default()).await;
    let mut raw = Raw::connect(&server, Some(OFFER)).await;
    assert_eq!(raw.extensions, None, "no Sec-WebSocket-Extensions answer");
    let big = "z".repeat(4096);
    let ping = json!({"type":"room.ping","payload":{"message":big}}).to_string();
    raw.send_frame(0x1, false, ping.as_bytes()).await;
    let frame = tokio::time::timeout(Duration::from_secs(10), raw.frame())
        .await
        .expect("in time");
    assert!(!frame.compressed, "a large frame goes uncompressed");
    // RSV1 without the extension negotiated: a protocol error.
    let mut deflate = Compress::new(flate2::Compression::default(), false);
    raw.send_frame(0x1, true, &compress(&mut deflate, ping.as_bytes()))
        .await;
    assert_eq!(raw.close_code().await, 1002);
}

/// A Rust client through a counting proxy, joined to room `r`, with its
/// `room.said` messages in a channel.
struct Rust {
    client: app::Client,
    said: mpsc::UnboundedReceiver<(u64, String)>,
    /// `room.joined`: once per connection, as `on_open` rejoins.
    joined: mpsc::UnboundedReceiver<String>,
    closes: mpsc::UnboundedReceiver<CloseInfo>,
    proxy: Proxy,
}

impl Rust {
    async fn join(server: &Server, config: ClientConfig) -> Rust {
        let proxy = Proxy::start(server.addr).await;
        let client = app::Client::builder(proxy.url())
            .headers(app::Headers {
                user_name: "rust".into(),
                token: String::new(),
            })
            .config(config)
            .connect()
            .await
            .expect("connect");
        let (tx, said) = mpsc::unbounded_channel();
        client
            .on()
            .room()
            .said(move |m| drop(tx.send((m.seq, m.pad.clone()))));
        let (tx, closes) = mpsc::unbounded_channel();
        client.on_close(move |info| drop(tx.send(info.clone())));
        let (tx, mut joined) = mpsc::unbounded_channel();
        let rejoin = client.clone();
        client.on_open(move || {
            let _ = rejoin.send().room().join(app::room::Join {
                room_id: "r".into(),
            });
        });
        client
            .on()
            .room()
            .joined(move |m| drop(tx.send(m.room_id.clone())));
        assert_eq!(recv(&mut joined).await, "r");
        Rust {
            client,
            said,
            joined,
            closes,
            proxy,
        }
    }

    fn say(&self, seq: u64, pad: &str) {
        self.client
            .send()
            .room()
            .say(app::room::Say {
                room_id: "r".into(),
                seq,
                pad: pad.to_owned(),
            })
            .expect("send");
    }
}

/// A raw client without compression in room `r`, to see what the Rust
/// client's messages became on the server.
async fn plain_member(server: &Server) -> Raw {
    let mut raw = Raw::connect(server, None).await;
    raw.send_frame(
        0x1,
        false,
        json!({"type":"room.join","payload":{"roomId":"r"}})
            .to_string()
            .as_bytes(),
    )
    .await;
    assert_eq!(raw.json().await.1["type"], "room.joined");
    raw
}

fn said_pad(value: &Value) -> (u64, String) {
    assert_eq!(value["type"], "room.said", "{value}");
    let payload = &value["payload"];
    (
        payload["seq"].as_u64().expect("seq"),
        payload["pad"].as_str().expect("pad").to_owned(),
    )
}

#[tokio::test]
async fn the_rust_client_compresses_both_ways_when_the_server_agrees() {
    let server = Server::start(compressing()).await;
    let mut rust = Rust::join(&server, ClientConfig::default()).await;
    let mut alice = plain_member(&server).await;

    // Out: the client's message, deflated on the wire, reaches the room
    // intact; in: the fan-out frame comes back compressed.
    let pad = "the rust client compresses what it sends; ".repeat(400);
    let (up, down) = rust.proxy.bytes();
    rust.say(1, &pad);
    let (compressed, value) = alice.json().await;
    assert!(!compressed, "alice offered nothing");
    assert_eq!(said_pad(&value), (1, pad.clone()));
    assert_eq!(recv(&mut rust.said).await, (1, pad.clone()));
    let (up2, down2) = rust.proxy.bytes();
    assert!(
        (up2 - up) * 10 < pad.len() as u64,
        "{} bytes sent for a {}-byte message",
        up2 - up,
        pad.len()
    );
    assert!(
        (down2 - down) * 10 < pad.len() as u64,
        "{} bytes received for a {}-byte message",
        down2 - down,
        pad.len()
    );

    // A burst of fan-out frames from another member, and a short message
    // (under min_size, sent plain) between compressed ones.
    alice
        .send_frame(
            0x1,
            false,
            json!({"type":"room.blast","payload":{"roomId":"r","count":5,"size":20000}})
                .to_string()
                .as_bytes(),
        )
        .await;
    for seq in 0..5 {
        assert_eq!(recv(&mut rust.said).await, (seq, "x".repeat(20000)));
    }
    let (_, down3) = rust.proxy.bytes();
    assert!(down3 - down2 < 20000, "{} bytes for 100 KB", down3 - down2);
    rust.say(2, "short");
    assert_eq!(said_pad(&alice.json().await.1), (2, "short".into()));
    assert_eq!(recv(&mut rust.said).await, (2, "short".into()));
    rust.say(3, &pad);
    assert_eq!(said_pad(&alice.json().await.1), (3, pad.clone()));
    assert_eq!(recv(&mut rust.said).await, (3, pad.clone()));
}

#[tokio::test]
async fn a_compressed_message_past_the_clients_limit_is_refused_and_the_client_reconnects() {
    let server = Server::start(compressing()).await;
    let config = ClientConfig {
        max_received_size: 16 * 1024,
        ..ClientConfig::default()
    };
    let mut rust = Rust::join(&server, config).await;
    let mut alice = plain_member(&server).await;
    // 1 MB of `x`: a few KB on the wire, inflated by the client only up
    // to its limit.
    alice
        .send_frame(
            0x1,
            false,
            json!({"type":"room.blast","payload":{"roomId":"r","count":1,"size":1_000_000}})
                .to_string()
                .as_bytes(),
        )
        .await;
    let closed = recv(&mut rust.closes).await;
    assert_eq!(
        closed,
        CloseInfo {
            code: None,
            reason: "message too big (closed with 1009)".into()
        }
    );
    assert!(
        rust.proxy.bytes().1 < 64 * 1024,
        "the bomb was small on the wire"
    );
    // Back (after the first backoff delay), rejoined by on_open, and
    // messages under the limit pass.
    let rejoined = tokio::time::timeout(WAIT * 3, rust.joined.recv())
        .await
        .expect("reconnected in time");
    assert_eq!(rejoined.as_deref(), Some("r"));
    assert_eq!(rust.client.state(), State::Open);
    let pad = "y".repeat(10_000);
    rust.say(7, &pad);
    assert_eq!(recv(&mut rust.said).await, (7, pad.clone()));
    assert_eq!(said_pad(&alice.json().await.1), (7, pad));
}

/// A Rust client on `client` against a server on `server` whose
/// negotiation must end uncompressed: a long line goes up and comes back
/// down with at least its own length in bytes each way.
async fn assert_plain_both_ways(server: Config, client: ClientConfig, pad: &str) {
    let server = Server::start(server).await;
    let mut rust = Rust::join(&server, client).await;
    let mut alice = plain_member(&server).await;
    let (up, down) = rust.proxy.bytes();
    rust.say(1, pad);
    assert_eq!(said_pad(&alice.json().await.1), (1, pad.to_owned()));
    assert_eq!(recv(&mut rust.said).await, (1, pad.to_owned()));
    let (up2, down2) = rust.proxy.bytes();
    assert!(up2 - up > pad.len() as u64, "sent plain: {}", up2 - up);
    assert!(
        down2 - down > pad.len() as u64,
        "received plain: {}",
        down2 - down
    );
}

#[tokio::test]
async fn the_rust_client_speaks_plain_to_a_server_without_compression() {
    let pad = "offered, declined, sent plain; ".repeat(400);
    assert_plain_both_ways(Config::default(), ClientConfig::default(), &pad).await;
}

#[tokio::test]
async fn a_rust_client_without_compression_gets_plain_frames_from_a_compressing_server() {
    let config = ClientConfig {
        compression: None,
        ..ClientConfig::default()
    };
    let pad = "not offered, so never compressed; ".repeat(400);
    assert_plain_both_ways(compressing(), config, &pad).await;
}

#[tokio::test]
async fn a_client_may_compress_none_of_its_own_messages_and_still_inflate_the_servers() {
    let pad = "sent plain, received compressed; ".repeat(400);
    let server = Server::start(compressing()).await;
    let config = ClientConfig {
        compression: Some(ClientCompression::default().min_size(usize::MAX)),
        ..ClientConfig::default()
    };
    let mut rust = Rust::join(&server, config).await;
    let mut alice = plain_member(&server).await;
    let (up, down) = rust.proxy.bytes();
    rust.say(1, &pad);
    assert_eq!(said_pad(&alice.json().await.1), (1, pad.clone()));
    assert_eq!(recv(&mut rust.said).await, (1, pad.clone()));
    let (up2, down2) = rust.proxy.bytes();
    assert!(up2 - up > pad.len() as u64, "sent plain: {}", up2 - up);
    assert!(
        (down2 - down) * 10 < pad.len() as u64,
        "received compressed: {}",
        down2 - down
    );
}
