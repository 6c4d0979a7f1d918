//! The transport for any `AsyncRead + AsyncWrite` (a TLS stream, a test
//! duplex, an upgraded connection hyper could not hand back as TCP): a
//! read buffer of its own, and a writer task that writes each batch.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::time::Instant;
use zocket_core::close;

use super::Stream;
use crate::peer::Peer;
use crate::ws::decode::Decoder;
use crate::ws::{Event, WireFrame};

const READ_BUFFER: usize = 4 * 1024;

pub(super) struct Reader {
    read: ReadHalf<Box<dyn Stream>>,
    buf: Box<[u8]>,
}

impl Reader {
    pub fn new(read: ReadHalf<Box<dyn Stream>>) -> Self {
        Reader {
            read,
            buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
        }
    }

    /// Reads once and decodes into `out`; `false` at EOF.
    pub async fn read(&mut self, decoder: &mut Decoder, out: &mut Vec<Event>) -> io::Result<bool> {
        let n = self.read.read(&mut self.buf).await?;
        decoder.feed(&self.buf[..n], out);
        Ok(n > 0)
    }

    /// Reads and drops until EOF, `quiet` without data, or `until`.
    pub async fn discard(&mut self, quiet: Duration, until: Instant) {
        loop {
            let deadline = until.min(Instant::now() + quiet);
            match tokio::time::timeout_at(deadline, self.read.read(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
        }
    }
}

/// Writes every batch the outbox holds, one write per batch, each within
/// the write timeout.
pub(super) async fn write_loop(
    peer: Arc<Peer>,
    mut write: WriteHalf<Box<dyn Stream>>,
    timeout: Duration,
) {
    let mut frames: Vec<WireFrame> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    loop {
        let closing = peer.drain(&mut frames);
        if frames.is_empty() {
            if closing {
                break;
            }
            peer.wait().await;
            continue;
        }
        for frame in frames.drain(..) {
            bytes.extend_from_slice(frame.as_bytes());
        }
        let written = tokio::time::timeout(timeout, async {
            write.write_all(&bytes).await?;
            write.flush().await
        })
        .await;
        bytes.clear();
        if bytes.capacity() > 64 * 1024 {
            bytes = Vec::new();
        }
        match written {
            Ok(Ok(())) if closing => break,
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::debug!(client = %peer.id, %error, "write failed");
                peer.fail();
                return;
            }
            Err(_) => {
                tracing::warn!(client = %peer.id, "write stalled past the write timeout; dropping");
                peer.close(close::SLOW_CONSUMER, "write timeout");
                peer.fail();
                return;
            }
        }
    }
    let _ = tokio::time::timeout(timeout, write.shutdown()).await;
}
