//! The flush pass: each worker thread keeps a list of the connections that
//! got frames ("dirty"), and one task per thread writes them all once per
//! runtime tick, each with one vectored write.
//!
//! This is what makes fan-out cheap. A 1000-client, 10-room benchmark
//! spends most of its time in the kernel's send path, and that cost is per
//! syscall, not per byte (targets.md: one frame per `send()` is 0.26-0.46 M
//! deliveries/s on this machine, 8 frames per `send()` 2.2-3.6 M). Writing
//! at the end of each publish batch, as zocket did before, wrote about one
//! frame per syscall with ~100 recipients per publish; deferring the
//! write to the end of the tick lets every publish handled in that tick
//! add to the same write. The flush task waits with `yield_now`, which
//! tokio runs after the other ready tasks and the I/O driver's poll: one
//! tick later, whatever else the thread had to do.
//!
//! Sends from outside a runtime (a plain thread holding a `Handle`) write
//! at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::peer::Peer;

#[derive(Default)]
struct Dirty {
    peers: Mutex<Vec<Arc<Peer>>>,
    /// A flush task has been spawned and has not taken the list yet.
    scheduled: AtomicBool,
}

thread_local! {
    static DIRTY: Arc<Dirty> = Arc::default();
}

/// Marks `peer` as having frames to write; they are written at the end of
/// this thread's tick.
pub(crate) fn mark(peer: Arc<Peer>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        peer.flush();
        return;
    };
    let spawn = DIRTY.try_with(|dirty| {
        dirty.peers.lock().push(peer.clone());
        (!dirty.scheduled.swap(true, Ordering::AcqRel)).then(|| dirty.clone())
    });
    match spawn {
        Ok(Some(dirty)) => {
            runtime.spawn(flush_later(dirty));
        }
        Ok(None) => {}
        // The thread is exiting: nothing would flush its list.
        Err(_) => peer.flush(),
    }
}

async fn flush_later(dirty: Arc<Dirty>) {
    tokio::task::yield_now().await;
    dirty.scheduled.store(false, Ordering::Release);
    let mut peers = std::mem::take(&mut *dirty.peers.lock());
    for peer in peers.drain(..) {
        peer.flush();
    }
    // The buffer goes back for the next tick unless a burst made it big.
    if peers.capacity() <= 4096 {
        let mut list = dirty.peers.lock();
        if list.is_empty() {
            *list = peers;
        }
    }
}
