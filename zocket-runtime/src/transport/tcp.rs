//! The TCP transport: reads into one buffer per worker thread (an idle
//! connection holds none), and writes come from the flush pass directly;
//! the writer task only finishes what a full socket refused.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;
use zocket_core::close;

use crate::outbox::Written;
use crate::peer::Peer;
use crate::ws::decode::Decoder;
use crate::ws::Event;

thread_local! {
    /// The read buffer of every connection this worker thread runs.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; 64 * 1024].into_boxed_slice());
}

/// Reads what is there and decodes it into `out`; `false` at EOF.
pub(super) async fn read(
    stream: &TcpStream,
    decoder: &mut Decoder,
    out: &mut Vec<Event>,
) -> io::Result<bool> {
    loop {
        let read = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = stream.try_read(&mut scratch)?;
            decoder.feed(&scratch[..n], out);
            Ok::<_, io::Error>(n)
        });
        match read {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => stream.readable().await?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Reads and drops until EOF, `quiet` without data, or `until`.
pub(super) async fn discard(stream: &TcpStream, quiet: Duration, until: Instant) {
    loop {
        let read = SCRATCH.with(|scratch| stream.try_read(&mut scratch.borrow_mut()));
        match read {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let deadline = until.min(Instant::now() + quiet);
                match tokio::time::timeout_at(deadline, stream.readable()).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
            Err(_) => return,
        }
    }
}

/// Writes what the flush pass could not: waits for the socket to take
/// more, up to the write timeout (then closes with 4008 and drops TCP).
pub(super) async fn write_loop(peer: Arc<Peer>, stream: Arc<TcpStream>, timeout: Duration) {
    loop {
        match peer.write_direct(&stream) {
            Written::All => peer.wait().await,
            Written::Closed => return,
            Written::Failed => {
                tracing::debug!(client = %peer.id, "write failed");
                return;
            }
            // Boxed: only a blocked socket needs the timer, so an idle
            // writer task stays small.
            Written::Blocked => {
                match Box::pin(tokio::time::timeout(timeout, stream.writable())).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::debug!(client = %peer.id, %error, "write failed");
                        return;
                    }
                    Err(_) => {
                        tracing::warn!(client = %peer.id, "write stalled past the write timeout; dropping");
                        peer.close(close::SLOW_CONSUMER, "write timeout");
                        return;
                    }
                }
            }
        }
    }
}
