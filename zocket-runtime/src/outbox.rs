//! One connection's outgoing queue: bounded, holding pre-built frames,
//! doing no I/O of its own.
//!
//! Fan-out pushes here under whatever locks it holds (a room shard's) and
//! learns only whether the queue just became non-empty, in which case the
//! connection is marked dirty ([`crate::flush`]); the bytes reach the socket
//! later, once per batch, through [`Outbox::write_with`] (a socket that
//! takes writes without waiting) or [`Outbox::drain`] (any async stream).
//! Keeping the queue free of I/O keeps syscalls out of every lock but this
//! queue's own and lets its policy be tested without sockets.

use std::collections::VecDeque;
use std::io::{self, IoSlice};

use zocket_core::close;

use crate::ws::WireFrame;

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue was full: the connection is now closing with 4008 (a slow
    /// consumer must not make the server hold unbounded memory, nor have
    /// its rooms believe it got messages it will never read).
    Overflow,
    /// The connection is already closing.
    Closed,
    /// A volatile frame did not fit and was dropped; the connection stays.
    Dropped,
}

/// What a write pass left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Everything queued is written; the connection is open.
    All,
    /// The socket took no more: write again when it is writable.
    Blocked,
    /// The close frame is written (or the queue closed without one): the
    /// connection's sending side is done.
    Closed,
    /// The socket failed; nothing more will be written.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Closing {
    code: u16,
    /// The close frame was sent by the server first (not an answer to the
    /// client's).
    by_server: bool,
}

/// The bounded queue. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Outbox {
    frames: VecDeque<WireFrame>,
    /// Bytes queued, the close frame excluded.
    bytes: usize,
    max_frames: usize,
    max_bytes: usize,
    /// Bytes of the front frame already written.
    offset: usize,
    closing: Option<Closing>,
    failed: bool,
}

/// Frames per vectored write: Linux takes up to 1024 slices; 64 frames of
/// chat messages are already a full socket buffer's worth on loopback.
const BATCH: usize = 64;

impl Outbox {
    pub fn new(max_frames: usize, max_bytes: usize) -> Self {
        Outbox {
            frames: VecDeque::new(),
            bytes: 0,
            max_frames,
            max_bytes,
            offset: 0,
            closing: None,
            failed: false,
        }
    }

    /// An empty, open queue with this one's bounds: for the new
    /// connection of a resumed session.
    pub fn reopened(&self) -> Outbox {
        Outbox::new(self.max_frames, self.max_bytes)
    }

    /// Queues a frame; `Ok(true)` when the queue was empty before (the
    /// connection needs a flush). A full queue starts closing with 4008.
    pub fn push(&mut self, frame: WireFrame) -> Result<bool, PushError> {
        if self.closing.is_some() {
            return Err(PushError::Closed);
        }
        if !self.fits(frame.len()) {
            self.close(close::SLOW_CONSUMER, "outgoing queue overflow");
            return Err(PushError::Overflow);
        }
        Ok(self.enqueue(frame))
    }

    /// As [`push`](Self::push), but a frame that does not fit is dropped
    /// and the connection kept: for messages a newer one replaces.
    pub fn push_volatile(&mut self, frame: WireFrame) -> Result<bool, PushError> {
        if self.closing.is_some() {
            return Err(PushError::Closed);
        }
        if !self.fits(frame.len()) {
            return Err(PushError::Dropped);
        }
        Ok(self.enqueue(frame))
    }

    /// Queues a control frame (ping, pong) outside the caps: they are
    /// small and bounded by the client's own pings, which the rate limit
    /// and the read loop pace.
    pub fn push_control(&mut self, frame: WireFrame) -> bool {
        if self.closing.is_some() {
            return false;
        }
        self.enqueue_uncounted(frame)
    }

    fn fits(&self, len: usize) -> bool {
        self.frames.len() < self.max_frames && self.bytes + len <= self.max_bytes
    }

    fn enqueue(&mut self, frame: WireFrame) -> bool {
        self.bytes += frame.len();
        self.enqueue_uncounted(frame)
    }

    fn enqueue_uncounted(&mut self, frame: WireFrame) -> bool {
        let first = self.frames.is_empty();
        self.frames.push_back(frame);
        first
    }

    /// The server closes: the close frame goes out after what is queued
    /// (except for 4008, where the queue is what overflowed and is
    /// dropped). The first close wins; `true` if this call started it.
    pub fn close(&mut self, code: u16, reason: &str) -> bool {
        if self.closing.is_some() {
            return false;
        }
        if code == close::SLOW_CONSUMER {
            self.drop_queued();
        }
        self.closing = Some(Closing {
            code,
            by_server: true,
        });
        self.enqueue_uncounted(WireFrame::close(code, reason));
        true
    }

    /// The client closed with `code`: nothing may follow its close, so
    /// what is queued is dropped and only the echo of its close goes out.
    pub fn answer_close(&mut self, code: u16) {
        if self.closing.is_some() {
            return;
        }
        self.drop_queued();
        self.closing = Some(Closing {
            code,
            by_server: false,
        });
        self.enqueue_uncounted(WireFrame::close(code, ""));
    }

    /// Drops queued frames but a partly written front one: the stream would
    /// be corrupt without its end.
    fn drop_queued(&mut self) {
        let keep = usize::from(self.offset > 0).min(self.frames.len());
        self.frames.truncate(keep);
        self.bytes = self.frames.iter().map(WireFrame::len).sum();
    }

    /// Whether the server started closing (its close frame is queued or
    /// written), with the code.
    pub fn closed_by_server(&self) -> Option<u16> {
        self.closing.filter(|c| c.by_server).map(|c| c.code)
    }

    #[cfg(test)]
    pub fn is_closing(&self) -> bool {
        self.closing.is_some()
    }

    fn settled(&mut self) -> Written {
        if self.failed {
            Written::Failed
        } else if !self.frames.is_empty() {
            Written::Blocked
        } else {
            // An idle connection keeps no queue buffer.
            self.frames = VecDeque::new();
            self.bytes = 0;
            if self.closing.is_some() {
                Written::Closed
            } else {
                Written::All
            }
        }
    }

    /// Writes what is queued through `write` (a non-blocking vectored
    /// write: `WouldBlock` means the socket is full), as many frames per
    /// call as fit, until the queue is empty or the socket refuses.
    pub fn write_with(
        &mut self,
        mut write: impl FnMut(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> Written {
        while !self.failed && !self.frames.is_empty() {
            let mut slices = [IoSlice::new(&[]); BATCH];
            let mut count = 0;
            for (i, frame) in self.frames.iter().take(BATCH).enumerate() {
                let skip = if i == 0 { self.offset } else { 0 };
                slices[i] = IoSlice::new(&frame.as_bytes()[skip..]);
                count += 1;
            }
            match write(&slices[..count]) {
                Ok(0) => self.failed = true,
                Ok(n) => self.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Written::Blocked,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.failed = true,
            }
        }
        self.settled()
    }

    /// Marks `n` bytes from the front as written.
    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.frames.front() else {
                return;
            };
            let left = front.len() - self.offset;
            if n < left {
                self.offset += n;
                return;
            }
            n -= left;
            self.offset = 0;
            if let Some(frame) = self.frames.pop_front() {
                self.bytes = self.bytes.saturating_sub(frame.len());
            }
        }
    }

    /// Moves every queued frame into `out`, for a writer that writes them
    /// asynchronously; what it returns after the write: whether the close
    /// frame was among them.
    pub fn drain(&mut self, out: &mut Vec<WireFrame>) -> bool {
        debug_assert_eq!(self.offset, 0, "drain and write_with are not mixed");
        out.extend(self.frames.drain(..));
        self.bytes = 0;
        self.closing.is_some()
    }

    /// The async writer could not write: nothing more will be.
    pub fn fail(&mut self) {
        self.failed = true;
        self.frames = VecDeque::new();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> WireFrame {
        WireFrame::text(s)
    }

    /// A socket that takes at most `room` bytes per call, then refuses.
    fn writer<'a>(
        wire: &'a mut Vec<u8>,
        room: &'a mut usize,
    ) -> impl FnMut(&[IoSlice<'_>]) -> io::Result<usize> + 'a {
        move |slices| {
            if *room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut n = 0;
            for s in slices {
                let take = s.len().min(*room - n);
                wire.extend_from_slice(&s[..take]);
                n += take;
                if n == *room {
                    break;
                }
            }
            *room -= n;
            Ok(n)
        }
    }

    #[test]
    fn reports_the_first_frame_only() {
        let mut o = Outbox::new(10, 1000);
        assert_eq!(o.push(text("a")), Ok(true));
        assert_eq!(o.push(text("b")), Ok(false));
        let (mut wire, mut room) = (Vec::new(), usize::MAX);
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::All);
        assert_eq!(wire, [0x81, 1, b'a', 0x81, 1, b'b']);
        assert_eq!(o.push(text("c")), Ok(true), "empty again");
    }

    #[test]
    fn partial_writes_resume_mid_frame() {
        let mut o = Outbox::new(10, 1000);
        for s in ["hello", "world", "!"] {
            o.push(text(s)).expect("fits");
        }
        let mut wire = Vec::new();
        let mut room = 4;
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::Blocked);
        room = 5;
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::Blocked);
        room = 100;
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::All);
        let mut expected = Vec::new();
        for s in ["hello", "world", "!"] {
            expected.extend_from_slice(text(s).as_bytes());
        }
        assert_eq!(wire, expected);
    }

    #[test]
    fn overflow_by_frames_or_bytes_closes_with_4008_and_drops_the_queue() {
        let mut o = Outbox::new(2, 1000);
        o.push(text("a")).expect("fits");
        o.push(text("b")).expect("fits");
        assert_eq!(o.push(text("c")), Err(PushError::Overflow));
        assert_eq!(o.push(text("d")), Err(PushError::Closed));
        assert_eq!(o.closed_by_server(), Some(4008));
        let (mut wire, mut room) = (Vec::new(), usize::MAX);
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::Closed);
        assert_eq!(
            wire,
            WireFrame::close(4008, "outgoing queue overflow").as_bytes()
        );

        let mut o = Outbox::new(100, 5);
        o.push(text("abc")).expect("5 bytes on the wire");
        assert_eq!(o.push(text("d")), Err(PushError::Overflow));
    }

    #[test]
    fn overflow_keeps_a_partly_written_frame() {
        let mut o = Outbox::new(2, 1000);
        o.push(text("hello")).expect("fits");
        o.push(text("world")).expect("fits");
        let mut wire = Vec::new();
        let mut room = 3;
        o.write_with(writer(&mut wire, &mut room));
        assert_eq!(o.push(text("x")), Err(PushError::Overflow));
        let mut room = usize::MAX;
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::Closed);
        let mut expected = text("hello").as_bytes().to_vec();
        expected.extend_from_slice(WireFrame::close(4008, "outgoing queue overflow").as_bytes());
        assert_eq!(
            wire, expected,
            "the front frame is finished, the rest dropped"
        );
    }

    #[test]
    fn volatile_drops_without_closing() {
        let mut o = Outbox::new(1, 1000);
        assert_eq!(o.push_volatile(text("a")), Ok(true));
        assert_eq!(o.push_volatile(text("b")), Err(PushError::Dropped));
        assert!(!o.is_closing());
    }

    #[test]
    fn close_goes_after_queued_frames_and_answers_echo() {
        let mut o = Outbox::new(10, 1000);
        o.push(text("a")).expect("fits");
        assert!(o.close(1001, "bye"));
        assert!(!o.close(1000, ""), "the first close wins");
        assert!(!o.push_control(WireFrame::ping()));
        let mut drained = Vec::new();
        assert!(o.drain(&mut drained));
        assert_eq!(drained, vec![text("a"), WireFrame::close(1001, "bye")]);

        let mut o = Outbox::new(10, 1000);
        o.push(text("a")).expect("fits");
        o.answer_close(1005);
        assert_eq!(o.closed_by_server(), None);
        let (mut wire, mut room) = (Vec::new(), usize::MAX);
        assert_eq!(o.write_with(writer(&mut wire, &mut room)), Written::Closed);
        assert_eq!(wire, [0x88, 0], "queued frames dropped, empty close echoed");
    }

    #[test]
    fn a_failed_socket_stays_failed() {
        let mut o = Outbox::new(10, 1000);
        o.push(text("a")).expect("fits");
        assert_eq!(
            o.write_with(|_| Err(io::ErrorKind::BrokenPipe.into())),
            Written::Failed
        );
        assert_eq!(o.write_with(|s| Ok(s.len())), Written::Failed);
    }
}
