//! The client's WebSocket over a plain TCP stream, on zocket's own codec
//! (`zocket-ws`, the one the server speaks): the upgrade request written by
//! hand, the answer read with a bound, then masked frames out and the
//! server's frames decoded, permessage-deflate included.

use std::collections::VecDeque;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, SEC_WEBSOCKET_EXTENSIONS};
use http::{HeaderMap, Uri};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use zocket_ws::client_handshake;
use zocket_ws::decode::Decoder;
use zocket_ws::header::encode_masked;
use zocket_ws::offer::{Deflater, OFFER};
use zocket_ws::{opcode, Event};

use crate::config::ClientCompression;
use crate::error::ConnectError;

/// The response head may be this long; a longer one is refused.
const MAX_HEAD: usize = 16 * 1024;
/// Headers in the response head, at most.
const MAX_HEADERS: usize = 64;
/// A refusal's body is kept up to this many bytes.
const MAX_BODY: usize = 16 * 1024;
/// How long a refusal's body may take to arrive once its head has.
const BODY_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;

/// What to connect to and with.
pub(crate) struct Options<'a> {
    pub url: &'a str,
    /// Extra request headers (the header transports', the subprotocols).
    pub headers: &'a [(String, String)],
    pub compression: Option<ClientCompression>,
    pub max_received_size: usize,
}

/// An open WebSocket connection.
pub(crate) struct Socket {
    stream: TcpStream,
    decoder: Decoder,
    /// Decoded but not yet taken by [`Socket::next`].
    events: VecDeque<Event>,
    read_buf: Box<[u8]>,
    /// Frames written but not flushed.
    out: Vec<u8>,
    /// Set when permessage-deflate was agreed.
    deflater: Option<(Deflater, usize)>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket")
            .field("compressed", &self.deflater.is_some())
            .finish_non_exhaustive()
    }
}

/// Where a `ws://` URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// As the `Host` header (and the address to connect to).
    host: String,
    port: u16,
    /// Path and query: the request target.
    path: String,
}

fn parse_url(url: &str) -> Result<Target, ConnectError> {
    let invalid = || ConnectError::InvalidUrl(url.to_owned());
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("ws") => {}
        Some("wss") => return Err(ConnectError::TlsUnsupported),
        _ => return Err(invalid()),
    }
    let authority = uri.authority().ok_or_else(invalid)?;
    if authority.as_str().contains('@') {
        return Err(invalid());
    }
    let host = authority.host();
    if host.is_empty() {
        return Err(invalid());
    }
    // `Authority::port_u16` is `None` for an out-of-range port too.
    let port = match authority.as_str().strip_prefix(host) {
        Some("") => 80,
        Some(rest) => rest
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)?,
        None => return Err(invalid()),
    };
    let path = match uri.path_and_query() {
        Some(p) if p.as_str().starts_with('/') => p.as_str().to_owned(),
        Some(p) => format!("/{}", p.as_str()),
        None => "/".to_owned(),
    };
    Ok(Target {
        host: host.to_owned(),
        port,
        path,
    })
}

/// The request's extra headers, checked to be sendable.
fn request_headers(
    headers: &[(String, String)],
    compression: bool,
) -> Result<HeaderMap, ConnectError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ConnectError::InvalidHeader(name.clone()))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ConnectError::InvalidHeader(name.to_string()))?;
        map.insert(name, value);
    }
    if compression {
        map.insert(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_static(OFFER));
    }
    Ok(map)
}

/// A parsed response head.
struct Head {
    status: u16,
    headers: HeaderMap,
    /// Content-Length, when given.
    content_length: Option<usize>,
    /// Its length in the buffer it was read into.
    len: usize,
}

/// Parses a response head from the start of `buf`; `None` while
/// incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ConnectError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => {
            return Err(ConnectError::BadResponse(format!(
                "response head over {MAX_HEAD} bytes"
            )))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(ConnectError::BadResponse(error.to_string())),
    };
    let bad = |what: &str| ConnectError::BadResponse(what.to_owned());
    let status = response.code.ok_or_else(|| bad("no status"))?;
    let mut headers = HeaderMap::new();
    for header in response.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes())
            .map_err(|_| bad("invalid header name"))?;
        let value =
            HeaderValue::from_bytes(header.value).map_err(|_| bad("invalid header value"))?;
        headers.append(name, value);
    }
    let content_length = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    Ok(Some(Head {
        status,
        headers,
        content_length,
        len,
    }))
}

impl Socket {
    /// Connects, upgrades, and checks the answer. The caller bounds the
    /// time it takes.
    pub(crate) async fn connect(options: Options<'_>) -> Result<Socket, ConnectError> {
        let target = parse_url(options.url)?;
        let sent = request_headers(options.headers, options.compression.is_some())?;
        let address = target.host.trim_start_matches('[').trim_end_matches(']');
        let mut stream = TcpStream::connect((address, target.port)).await?;
        stream.set_nodelay(true)?;
        let key = client_handshake::key(rand::random());
        let host = match target.port {
            80 => target.host.clone(),
            port => format!("{}:{port}", target.host),
        };
        let request = client_handshake::request(&host, &target.path, &key, &sent);
        stream.write_all(&request).await?;

        let mut buf = Vec::with_capacity(1024);
        let head = loop {
            if let Some(head) = parse_head(&buf)? {
                break head;
            }
            if read_more(&mut stream, &mut buf, MAX_HEAD).await? == 0 {
                return Err(ConnectError::BadResponse(
                    "connection closed before the response head".into(),
                ));
            }
        };
        let rest = buf.split_off(head.len);
        if head.status != 101 {
            let body = read_body(&mut stream, rest, head.content_length).await;
            return Err(ConnectError::Rejected {
                status: head.status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let accepted = client_handshake::check_response(&sent, &key, &head.headers)?;
        let (decoder, deflater) = match (accepted.deflate, options.compression) {
            (Some(agreement), Some(settings)) => (
                Decoder::client(options.max_received_size, Some(agreement.inflater())),
                Some((Deflater::new(&agreement, settings.level), settings.min_size)),
            ),
            _ => (Decoder::client(options.max_received_size, None), None),
        };
        tracing::debug!(
            compressed = deflater.is_some(),
            protocol = accepted.protocol.as_deref(),
            "connected"
        );
        let mut socket = Socket {
            stream,
            decoder,
            events: VecDeque::new(),
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            out: Vec::new(),
            deflater,
        };
        // Frames the server sent right after its answer.
        socket.decode(&rest);
        Ok(socket)
    }

    fn decode(&mut self, data: &[u8]) {
        let mut events = Vec::new();
        self.decoder.feed(data, &mut events);
        self.events.extend(events);
    }

    /// The next event from the server; `None` once the connection closed.
    /// Cancel-safe: bytes read are decoded before anything else awaits.
    pub(crate) async fn next(&mut self) -> Option<std::io::Result<Event>> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(Ok(event));
            }
            if self.decoder.is_done() {
                return None;
            }
            match self.stream.read(&mut self.read_buf).await {
                Ok(0) => return None,
                Ok(n) => {
                    let mut events = Vec::new();
                    self.decoder.feed(&self.read_buf[..n], &mut events);
                    self.events.extend(events);
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// Queues a text message, compressed when agreed and long enough.
    pub(crate) fn text(&mut self, text: &str) {
        let mask = rand::random();
        if let Some((deflater, min_size)) = &mut self.deflater {
            if text.len() >= (*min_size).max(1) {
                if let Some(payload) = deflater.deflate(text.as_bytes()) {
                    let start = self.out.len();
                    encode_masked(opcode::TEXT, true, &payload, mask, &mut self.out);
                    // RSV1: a compressed message (RFC 7692, section 6).
                    self.out[start] |= 0x40;
                    return;
                }
            }
        }
        encode_masked(opcode::TEXT, true, text.as_bytes(), mask, &mut self.out);
    }

    /// Queues the pong answering a ping with `payload`.
    pub(crate) fn pong(&mut self, payload: &[u8]) {
        encode_masked(opcode::PONG, true, payload, rand::random(), &mut self.out);
    }

    /// Queues a close frame (empty for 1005, which is never sent).
    pub(crate) fn close(&mut self, code: u16, reason: &str) {
        let payload = zocket_ws::close::payload(code, reason);
        encode_masked(opcode::CLOSE, true, &payload, rand::random(), &mut self.out);
    }

    /// Writes what was queued.
    pub(crate) async fn flush(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let result = self.stream.write_all(&self.out).await;
        self.out.clear();
        if self.out.capacity() > 64 * 1024 {
            self.out = Vec::new();
        }
        result
    }
}

/// Reads once onto `buf`, keeping it under `cap` bytes; 0 at EOF (or when
/// full).
async fn read_more(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<usize> {
    let room = cap.saturating_sub(buf.len()).min(READ_CHUNK);
    if room == 0 {
        return Ok(0);
    }
    let start = buf.len();
    buf.resize(start + room, 0);
    let result = stream.read(&mut buf[start..]).await;
    let n = *result.as_ref().unwrap_or(&0);
    buf.truncate(start + n);
    result
}

/// A refusal's body: `Content-Length` bytes (or up to EOF), at most
/// [`MAX_BODY`], whatever arrived within [`BODY_TIMEOUT`].
async fn read_body(stream: &mut TcpStream, mut body: Vec<u8>, length: Option<usize>) -> Vec<u8> {
    let want = length.unwrap_or(MAX_BODY).min(MAX_BODY);
    let _ = timeout(BODY_TIMEOUT, async {
        while body.len() < want {
            match read_more(stream, &mut body, want).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    body.truncate(want);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let t = parse_url("ws://127.0.0.1:9000/chat?user=bo").expect("valid");
        assert_eq!(
            t,
            Target {
                host: "127.0.0.1".into(),
                port: 9000,
                path: "/chat?user=bo".into()
            }
        );
        let t = parse_url("WS://example.com").expect("valid");
        assert_eq!((t.port, t.path.as_str()), (80, "/"));
        let t = parse_url("ws://[::1]:8080?a=1").expect("valid");
        assert_eq!((t.host.as_str(), t.path.as_str()), ("[::1]", "/?a=1"));
        assert!(matches!(
            parse_url("wss://example.com/"),
            Err(ConnectError::TlsUnsupported)
        ));
        for bad in [
            "http://example.com/",
            "example.com",
            "ws://",
            "ws://user@host/",
            "ws://host:99999/",
            "ws://host/a b",
        ] {
            assert!(
                matches!(parse_url(bad), Err(ConnectError::InvalidUrl(_))),
                "{bad}"
            );
        }
        assert_eq!(
            ConnectError::TlsUnsupported.to_string(),
            "`wss://` is not supported: this client speaks plain ws:// only"
        );
    }

    #[test]
    fn headers_are_checked() {
        let map = request_headers(&[("x-user".into(), "bo".into())], true).expect("valid");
        assert_eq!(map.get("x-user").map(|v| v.as_bytes()), Some(&b"bo"[..]));
        assert_eq!(
            map.get("sec-websocket-extensions").map(|v| v.as_bytes()),
            Some(OFFER.as_bytes())
        );
        assert!(request_headers(&[], false).expect("valid").is_empty());
        assert!(matches!(
            request_headers(&[("bad name".into(), "v".into())], false),
            Err(ConnectError::InvalidHeader(_))
        ));
        assert!(matches!(
            request_headers(&[("x".into(), "line\r\nbreak".into())], false),
            Err(ConnectError::InvalidHeader(_))
        ));
    }

    /// A one-shot server on 127.0.0.1 that reads the request head and
    /// answers with `answer(key)`; returns the URL and the request it read.
    async fn answering(
        answer: impl FnOnce(&str) -> Vec<u8> + Send + 'static,
    ) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("ws://{}/path?q=1", listener.local_addr().expect("addr"));
        let served = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8];
                tcp.read_exact(&mut byte).await.expect("request");
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).expect("ascii");
            let key = head
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .expect("a key")
                .to_owned();
            tcp.write_all(&answer(&key)).await.expect("answer");
            // Hold the connection until the client is done with it.
            let _ = tcp.read(&mut [0u8; 64]).await;
            head
        });
        (url, served)
    }

    fn options(url: &str, compression: bool) -> Options<'_> {
        Options {
            url,
            headers: &[],
            compression: compression.then(ClientCompression::default),
            max_received_size: 1 << 20,
        }
    }

    fn switching(key: &str, extra: &str) -> Vec<u8> {
        let accept = zocket_ws::handshake::accept_key(key.as_bytes());
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn a_refusal_carries_its_status_and_body() {
        let (url, served) = answering(|_| {
            b"HTTP/1.1 403 Forbidden\r\ncontent-length: 14\r\n\r\norigin refused".to_vec()
        })
        .await;
        match Socket::connect(options(&url, true)).await {
            Err(ConnectError::Rejected { status, body }) => {
                assert_eq!((status, body.as_str()), (403, "origin refused"))
            }
            other => panic!("{other:?}"),
        }
        let request = served.await.expect("served");
        assert!(request.starts_with("GET /path?q=1 HTTP/1.1\r\nHost: 127.0.0.1:"));
        assert!(request.contains(
            "\r\nsec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"
        ));
    }

    #[tokio::test]
    async fn a_wrong_answer_fails_the_handshake() {
        use zocket_ws::client_handshake::ResponseError;
        use zocket_ws::offer::ExtensionError;
        let (url, _served) = answering(|_| switching("not the key", "")).await;
        assert!(matches!(
            Socket::connect(options(&url, false)).await,
            Err(ConnectError::Handshake(ResponseError::WrongAccept))
        ));
        let (url, _served) = answering(|key| {
            switching(key, "Sec-WebSocket-Extensions: permessage-deflate; x=1\r\n")
        })
        .await;
        match Socket::connect(options(&url, true)).await {
            Err(
                error @ ConnectError::Handshake(ResponseError::Extension(
                    ExtensionError::InvalidParameters(_),
                )),
            ) => assert_eq!(
                error.to_string(),
                "WebSocket handshake failed: the server's permessage-deflate parameters are \
                 invalid: `permessage-deflate; x=1`"
            ),
            other => panic!("{other:?}"),
        }
        let (url, _served) =
            answering(|key| switching(key, "Sec-WebSocket-Extensions: permessage-deflate\r\n"))
                .await;
        assert!(matches!(
            Socket::connect(options(&url, false)).await,
            Err(ConnectError::Handshake(ResponseError::Extension(
                ExtensionError::NotOffered(_)
            )))
        ));
        let (url, _served) = answering(|_| b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()).await;
        assert!(matches!(
            Socket::connect(options(&url, false)).await,
            Err(ConnectError::BadResponse(_))
        ));
    }

    #[tokio::test]
    async fn frames_right_after_the_answer_are_decoded() {
        let (url, _served) = answering(|key| {
            let mut answer = switching(
                key,
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
            );
            let text = "compressed in the same packet as the answer; ".repeat(10);
            let deflated =
                zocket_ws::deflate::deflate(text.as_bytes(), zocket_ws::deflate::Window::Wide, 6)
                    .expect("compressed");
            answer.extend_from_slice(zocket_ws::WireFrame::text(&text).as_bytes());
            let compressed = zocket_ws::WireFrame::text(&text)
                .deflated(zocket_ws::deflate::Window::Wide, &Default::default());
            assert_eq!(compressed.payload(), &deflated[..]);
            answer.extend_from_slice(compressed.as_bytes());
            answer
        })
        .await;
        let mut socket = Socket::connect(options(&url, true))
            .await
            .expect("connected");
        assert!(socket.deflater.is_some(), "agreed");
        let text = "compressed in the same packet as the answer; ".repeat(10);
        for _ in 0..2 {
            match socket.next().await {
                Some(Ok(Event::Message(zocket_ws::Message::Text(t)))) => assert_eq!(t, text),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn response_heads() {
        let wire = b"HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\n\r\nforbidden";
        for cut in 0..wire.len() - 9 {
            assert!(parse_head(&wire[..cut]).expect("valid so far").is_none());
        }
        let head = parse_head(wire).expect("valid").expect("complete");
        assert_eq!((head.status, head.content_length), (403, Some(9)));
        assert_eq!(&wire[head.len..], b"forbidden");
        assert!(matches!(
            parse_head(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(ConnectError::BadResponse(_))
        ));
        let endless = [b"HTTP/1.1 101 OK\r\n".as_slice(), &[b'x'; MAX_HEAD]].concat();
        assert!(matches!(
            parse_head(&endless),
            Err(ConnectError::BadResponse(_))
        ));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
        let many = format!("HTTP/1.1 101 OK\r\n{many}\r\n");
        assert!(matches!(
            parse_head(many.as_bytes()),
            Err(ConnectError::BadResponse(_))
        ));
    }
}
