//! A resumable session's replay buffer: the last frames it was sent, so
//! that a client coming back can be given every frame after the last one
//! it saw, whether it was lost in flight (written to a socket that died) or
//! sent while the session was suspended.
//!
//! Frames are numbered by their position in the session (the first is 1);
//! the client reports how many it received (PROTOCOL.md, section 12). The
//! buffer holds frames as the connection's queue would: the bytes fan-out
//! made once for every recipient, shared, not copied. It is bounded in
//! frames and bytes; what falls out of it cannot be replayed, and a client
//! that missed it starts a fresh session.

use std::collections::VecDeque;

use crate::ws::WireFrame;

#[derive(Debug)]
pub(crate) struct Replay {
    frames: VecDeque<WireFrame>,
    bytes: usize,
    /// Frames of the session so far: the position of the newest.
    sent: u64,
    max_frames: usize,
    max_bytes: usize,
}

impl Replay {
    pub fn new(max_frames: usize, max_bytes: usize) -> Self {
        Replay {
            frames: VecDeque::new(),
            bytes: 0,
            sent: 0,
            max_frames,
            max_bytes,
        }
    }

    /// The session was sent `frame`; the oldest frames fall out past the
    /// bounds.
    pub fn record(&mut self, frame: WireFrame) {
        self.sent += 1;
        self.bytes += frame.len();
        self.frames.push_back(frame);
        while self.frames.len() > self.max_frames || self.bytes > self.max_bytes {
            match self.frames.pop_front() {
                Some(old) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    /// Every frame after `position`, oldest first; `None` if some of them
    /// fell out, or `position` is past what was sent (not a position of
    /// this session).
    pub fn after(&self, position: u64) -> Option<impl Iterator<Item = &WireFrame>> {
        let oldest = self.sent - self.frames.len() as u64;
        if position > self.sent || position < oldest {
            return None;
        }
        let skip = usize::try_from(position - oldest).ok()?;
        Some(self.frames.iter().skip(skip))
    }

    /// Frames of the session so far.
    #[cfg(test)]
    pub fn sent(&self) -> u64 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(frames: impl Iterator<Item = &'a WireFrame>) -> Vec<Vec<u8>> {
        frames.map(|f| f.as_bytes()[2..].to_vec()).collect()
    }

    #[test]
    fn gives_every_frame_after_a_position() {
        let mut replay = Replay::new(10, 1000);
        for s in ["a", "b", "c"] {
            replay.record(WireFrame::text(s));
        }
        assert_eq!(replay.sent(), 3);
        assert_eq!(
            texts(replay.after(0).expect("all kept")),
            [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(texts(replay.after(2).expect("kept")), [b"c".to_vec()]);
        assert_eq!(replay.after(3).expect("nothing missed").count(), 0);
        assert!(replay.after(4).is_none(), "a position never reached");
    }

    #[test]
    fn frames_that_fell_out_cannot_be_replayed() {
        let mut replay = Replay::new(2, 1000);
        for s in ["a", "b", "c"] {
            replay.record(WireFrame::text(s));
        }
        assert!(replay.after(0).is_none(), "`a` is gone");
        assert_eq!(
            texts(replay.after(1).expect("b and c kept")),
            [b"b".to_vec(), b"c".to_vec()]
        );
        // Bounded by bytes too: 3 bytes per frame, 7 allowed.
        let mut replay = Replay::new(100, 7);
        for s in ["a", "b", "c"] {
            replay.record(WireFrame::text(s));
        }
        assert!(replay.after(0).is_none());
        assert_eq!(replay.after(1).expect("two fit").count(), 2);
        // A frame larger than the whole bound is not kept either.
        replay.record(WireFrame::text("far too long"));
        assert!(replay.after(3).is_none());
        assert_eq!(replay.after(4).expect("up to date").count(), 0);
    }
}
