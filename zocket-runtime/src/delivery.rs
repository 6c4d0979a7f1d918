//! What a send did: the counts both local fan-out and cluster adapters
//! report.

/// What a send did on this server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// Connections the frame was queued for.
    pub queued: usize,
    /// Connections whose queue overflowed on this frame: each is closed with
    /// 4008, so neither it nor its peers are left believing it got the frame.
    pub overflowed: usize,
    /// Slow connections a volatile frame was dropped for.
    pub dropped: usize,
    /// The message could not be serialised (logged); nothing was sent.
    pub failed: bool,
    /// Handed to the cluster adapter for the other nodes (their deliveries
    /// are not counted here).
    pub forwarded: bool,
}

impl Delivery {
    pub(crate) fn failed() -> Self {
        Delivery {
            failed: true,
            ..Delivery::default()
        }
    }
}
