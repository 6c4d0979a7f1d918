//! The byte streams a connection runs on, once upgraded.
//!
//! Whatever served the HTTP (zocket's accept loop, a router mounted under
//! `axum::serve`, anything else hyper runs), the upgraded connection is
//! turned back into the TCP stream when it is one ([`tcp`]: reads into a
//! per-thread buffer, writes straight from the flush pass), and otherwise
//! kept as any `AsyncRead + AsyncWrite` ([`io`]: a TLS stream, a test
//! duplex; a writer task does the writes). Either way the same decoder,
//! outbox and connection loop run on it.

mod io;
mod tcp;
mod timed;

pub(crate) use timed::TimedStream;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::peer::Peer;
use crate::ws::decode::Decoder;
use crate::ws::deflate::{Agreed, Inflater};
use crate::ws::Event;

/// Any stream a WebSocket can run on.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// An upgraded connection.
pub(crate) enum Transport {
    Tcp(TcpStream),
    Io(Box<dyn Stream>),
}

/// A transport and the bytes hyper read past the request head (frames a
/// client sent right behind its upgrade request).
pub(crate) struct Upgraded {
    pub transport: Transport,
    pub read_ahead: Bytes,
    /// permessage-deflate, if negotiated.
    pub deflate: Option<Agreed>,
}

impl Upgraded {
    /// Recovers the TCP stream from hyper's upgraded connection: as
    /// zocket's accept loop and hyper's own http1 server leave it, or as
    /// hyper-util's auto server (what `axum::serve` runs) wraps it.
    pub fn from_hyper(upgraded: hyper::upgrade::Upgraded) -> Self {
        type Tcp = TokioIo<TcpStream>;
        let upgraded = match upgraded.downcast::<TokioIo<TimedStream>>() {
            Ok(parts) => return Self::tcp(parts.io.into_inner().into_inner(), parts.read_buf),
            Err(upgraded) => upgraded,
        };
        let upgraded = match upgraded.downcast::<Tcp>() {
            Ok(parts) => return Self::tcp(parts.io.into_inner(), parts.read_buf),
            Err(upgraded) => upgraded,
        };
        match hyper_util::server::conn::auto::upgrade::downcast::<Tcp>(upgraded) {
            Ok(parts) => Self::tcp(parts.io.into_inner(), parts.read_buf),
            Err(upgraded) => Upgraded {
                transport: Transport::Io(Box::new(TokioIo::new(upgraded))),
                read_ahead: Bytes::new(),
                deflate: None,
            },
        }
    }

    fn tcp(stream: TcpStream, read_ahead: Bytes) -> Self {
        // Realtime traffic: the flush pass already batches, so Nagle's
        // delay would only add latency.
        let _ = stream.set_nodelay(true);
        Upgraded {
            transport: Transport::Tcp(stream),
            read_ahead,
            deflate: None,
        }
    }

    /// Sets what permessage-deflate negotiated (nothing if `None`).
    pub fn deflate(mut self, agreed: Option<Agreed>) -> Self {
        self.deflate = agreed;
        self
    }

    /// Starts the writer task for `peer` and returns the reader.
    pub fn start(
        self,
        peer: &Arc<Peer>,
        max_message_size: usize,
        write_timeout: Duration,
    ) -> (Reader, JoinHandle<()>) {
        let (source, writer) = match self.transport {
            Transport::Tcp(stream) => {
                let stream = Arc::new(stream);
                peer.attach(stream.clone());
                let writer =
                    tokio::spawn(tcp::write_loop(peer.clone(), stream.clone(), write_timeout));
                (Source::Tcp(stream), writer)
            }
            Transport::Io(stream) => {
                let (read, write) = tokio::io::split(stream);
                let writer = tokio::spawn(io::write_loop(peer.clone(), write, write_timeout));
                (Source::Io(io::Reader::new(read)), writer)
            }
        };
        let decoder = match &self.deflate {
            Some(agreed) => {
                peer.compress_with(agreed);
                Decoder::with_inflater(max_message_size, Inflater::new(agreed))
            }
            None => Decoder::new(max_message_size),
        };
        let mut reader = Reader {
            source,
            decoder,
            events: VecDeque::new(),
        };
        if !self.read_ahead.is_empty() {
            let mut decoded = Vec::new();
            reader.decoder.feed(&self.read_ahead, &mut decoded);
            reader.events.extend(decoded);
        }
        (reader, writer)
    }
}

enum Source {
    Tcp(Arc<TcpStream>),
    Io(io::Reader),
}

/// The reading half: bytes from the transport through the decoder.
pub(crate) struct Reader {
    source: Source,
    decoder: Decoder,
    events: VecDeque<Event>,
}

impl Reader {
    /// Whether an event is decoded and waiting (no read needed).
    pub fn buffered(&self) -> bool {
        !self.events.is_empty()
    }

    /// The next event; `None` at the end of the stream or on a read error.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                if self.events.is_empty() {
                    // An idle connection keeps no event buffer.
                    self.events = VecDeque::new();
                }
                return Some(event);
            }
            if self.decoder.is_done() {
                return None;
            }
            let mut decoded = Vec::new();
            let read = match &mut self.source {
                Source::Tcp(stream) => tcp::read(stream, &mut self.decoder, &mut decoded).await,
                Source::Io(reader) => reader.read(&mut self.decoder, &mut decoded).await,
            };
            match read {
                Ok(true) => self.events.extend(decoded),
                Ok(false) | Err(_) => return None,
            }
        }
    }

    /// After the server's close: reads and drops what the client still
    /// sends until it closes too, goes quiet for a moment, or `linger`
    /// passes, so that closing the socket does not reset it under the
    /// close frame. `true` if the client's close frame arrived.
    pub async fn linger(&mut self, linger: Duration) -> bool {
        let until = tokio::time::Instant::now() + linger;
        loop {
            if self.decoder.is_done() && self.events.is_empty() {
                // A protocol failure: nothing more is decoded; drain raw.
                let quiet = Duration::from_millis(100);
                match &mut self.source {
                    Source::Tcp(stream) => tcp::discard(stream, quiet, until).await,
                    Source::Io(reader) => reader.discard(quiet, until).await,
                }
                return false;
            }
            match tokio::time::timeout_at(until, self.next()).await {
                Ok(Some(Event::Close(..))) => return true,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return false,
            }
        }
    }
}
