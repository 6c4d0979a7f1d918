//! zocket benchmark load generator.
//!
//! One thread, one mio event loop, its own client-side WebSocket framing:
//! masked text frames out, unmasked server frames parsed in place out of a
//! shared scratch buffer (no allocation per frame), the sequence number and
//! send timestamp found by byte search (`"s=<publisher>:<seq>;t=<nanos>;`).
//!
//! Client `i` joins room `i % rooms`; publisher `j` is client `j` and sends to
//! its room; publishers take turns in an open-loop schedule at a fixed
//! aggregate rate (given in deliveries per second and divided by the mean room
//! size). Every member of a room, the sender included, must receive every
//! message published to that room exactly once and in order per publisher.
//!
//! Modes: fanout (B), echo (A), all2all (C), idle (D), slow (E), churn (F).
//! Output: one JSON line per measured step on stdout (plus a summary line per
//! run), a human-readable row per step on stderr. `loadgen report FILE...`
//! turns the summary lines of JSON files into a markdown table.
//!
//! Connects only to loopback addresses; every loop is bounded in count and
//! time and the program stops by itself.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use memchr::memmem;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Proto {
    /// zocket JSON envelopes (`{"type":"rooms.join","payload":{...}}`)
    Zocket,
    /// Engine.IO v4 / Socket.IO v5 over a websocket
    Socketio,
    /// the Bun baseline: same JSON as zocket
    Bun,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// B: N clients over R rooms, P publishers (default P = R)
    Fanout,
    /// A: every client alone in its own room, every client publishing
    Echo,
    /// C: every client in one room, every client publishing
    All2all,
    /// D: open N connections, join, report server RSS per connection
    Idle,
    /// E: one client stops reading part way; others' latency and server RSS over time
    Slow,
    /// F: connect, join, leave, disconnect in a loop; server RSS at start and end
    Churn,
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "loadgen",
    about = "zocket benchmark load generator (loopback only). `loadgen report FILE...` prints a table."
)]
struct Args {
    #[arg(long, value_enum, default_value = "fanout")]
    mode: Mode,
    #[arg(long, value_enum, default_value = "zocket")]
    proto: Proto,
    /// server address; must be a loopback address
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// request path for zocket/bun (socketio always uses /socket.io/)
    #[arg(long, default_value = "/")]
    path: String,
    /// server process id, for CPU seconds and RSS from /proc
    #[arg(long)]
    server_pid: Option<u32>,
    /// more servers of the same cluster (multi-node runs): client i connects
    /// to the i-th address of [--addr, --also-addr...], round robin
    #[arg(long)]
    also_addr: Vec<SocketAddr>,
    /// their process ids: server CPU is summed over every given pid
    #[arg(long)]
    also_pid: Vec<u32>,
    /// server label used in the output
    #[arg(long, default_value = "server")]
    server: String,
    /// scenario label used in the output (default: derived from the options)
    #[arg(long)]
    scenario: Option<String>,
    /// client connections (churn: connections in flight at once)
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// rooms; client i joins room i % rooms (echo: forced to clients, all2all: 1)
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// publishers: clients 0..P (default: rooms; echo/all2all: clients)
    #[arg(long)]
    publishers: Option<usize>,
    /// approximate size in bytes of each published client frame's JSON text
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// target deliveries per second (aggregate over all receivers)
    #[arg(long, default_value_t = 100_000.0)]
    rate: f64,
    /// seconds of publishing per step
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// step the rate up by --step-factor until a step is not sustained
    #[arg(long)]
    step: bool,
    #[arg(long, default_value_t = 1.5)]
    step_factor: f64,
    #[arg(long, default_value_t = 20)]
    max_steps: usize,
    /// stop stepping above this rate
    #[arg(long, default_value_t = 50_000_000.0)]
    max_rate: f64,
    /// seconds to wait after publishing stops for the last deliveries
    #[arg(long, default_value_t = 3.0)]
    drain: f64,
    /// p99 limit for a step to count as sustained (ms)
    #[arg(long, default_value_t = 50.0)]
    p99_limit_ms: f64,
    /// connections being opened at once during setup
    #[arg(long, default_value_t = 128)]
    connect_concurrency: usize,
    /// seconds allowed to open and join all connections
    #[arg(long, default_value_t = 120.0)]
    setup_timeout: f64,
    /// idle: seconds to wait after all joined before reading RSS
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// slow: fraction of the duration after which the slow client stops reading
    #[arg(long, default_value_t = 0.3)]
    stall_at: f64,
    /// no human-readable rows on stderr
    #[arg(long)]
    quiet: bool,
    /// free text added to every JSON line as "note" (e.g. that the machine was busy);
    /// `report` marks such cells with †
    #[arg(long)]
    note: Option<String>,
    /// offer permessage-deflate (RFC 7692, `server_no_context_takeover`) and
    /// inflate compressed frames; the loadgen's own frames stay uncompressed
    #[arg(long)]
    deflate: bool,
}

// ---------------------------------------------------------------- limits

static NOTE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

const MAX_CLIENTS: usize = 60_000;
const MAX_DURATION: f64 = 600.0;
const MAX_FRAME: u64 = 64 << 20;
const SCRATCH: usize = 256 << 10;
const READS_PER_EVENT: usize = 32;
const TIMER: Token = Token(usize::MAX - 1);
/// What pads published messages to `--size`: ordinary prose (no JSON
/// escapes), long enough that a 1 KiB message does not repeat itself.
const PAD_TEXT: &[u8] = b" Anyone seen the release notes for tonight? I think the build on the \
staging box is still red because the migration script expects the old column names, and \
Priya said she would look at it after lunch but her calendar is packed until four. If nobody \
objects I will roll back the schema change, rerun the integration suite, and post the numbers \
here before the standup tomorrow morning. Also: the coffee machine on the third floor is \
finally fixed, so there is no excuse for being late to the retro. Does anyone remember whether \
we agreed to move the demo to Thursday, or was that only for the mobile team? I have a draft of \
the slides with the latency charts from last week, the ones where the p99 dropped after we \
switched the cache eviction policy, and I would like a second pair of eyes on the wording of \
the summary before it goes to the whole department. Happy to pair on it this afternoon.";

// ---------------------------------------------------------------- connection

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Connecting,
    Upgrading,
    SioOpen,
    SioConnect,
    Joining,
    Ready,
    Closing,
    Dead,
}

struct Conn {
    sock: TcpStream,
    st: St,
    /// client index (user name `u<idx>`)
    idx: usize,
    room: u32,
    /// offset of this receiver's (publisher, receiver) pairs
    track: usize,
    /// this receiver is left out of the accounting (the slow consumer)
    excluded: bool,
    /// stop reading (slow consumer)
    stalled: bool,
    partial: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    dirty: bool,
    started: Instant,
    join_sent: Instant,
}

#[derive(Clone, Copy, Default)]
struct Pair {
    /// highest sequence number seen + 1 (0: none yet)
    hi: u64,
    /// bit i: sequence number hi-1-i has been seen
    win: u64,
}

/// Counters of one measured step.
struct StepStats {
    unique: u64,
    dup: u64,
    reorder: u64,
    misrouted: u64,
    closed: u64,
    hist: Histogram<u64>,
    /// slow mode: latencies before / after the stall
    hist_before: Histogram<u64>,
    hist_after: Histogram<u64>,
    stall_ns: u64,
    last_recv_ns: u64,
    /// bytes read from the server's sockets (frames and their headers)
    wire_bytes_in: u64,
    /// frames that came compressed (RSV1)
    compressed_frames: u64,
}

impl StepStats {
    fn new() -> Self {
        let h = || Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).expect("static bounds");
        StepStats {
            unique: 0,
            dup: 0,
            reorder: 0,
            misrouted: 0,
            closed: 0,
            hist: h(),
            hist_before: h(),
            hist_after: h(),
            stall_ns: u64::MAX,
            last_recv_ns: 0,
            wire_bytes_in: 0,
            compressed_frames: 0,
        }
    }
}

/// Everything the frame handlers touch besides the connection itself.
struct Ctx {
    proto: Proto,
    marker: memmem::Finder<'static>,
    on_join: memmem::Finder<'static>,
    pairs: Vec<Pair>,
    pub_room: Vec<u32>,
    pub_local: Vec<u32>,
    pub_seq: Vec<u64>,
    stats: StepStats,
    now_ns: u64,
    ready: usize,
    /// connections that reached Ready and were then closed or failed
    lost_conns: u64,
    setup_errors: u64,
    /// joins sent again because no onJoin came back within 2 s
    join_retries: u64,
    churn_done: u64,
    mask_state: u64,
    rooms_total: u32,
    /// raw inflate state, reset per message: the server compresses every
    /// message on its own (`server_no_context_takeover`)
    inflater: flate2::Decompress,
    inflated: Vec<u8>,
}

impl Ctx {
    fn next_mask(&mut self) -> [u8; 4] {
        // xorshift64*
        let mut x = self.mask_state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.mask_state = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32).to_le_bytes()[..4]
            .try_into()
            .unwrap_or([1, 2, 3, 4])
    }
}

/// Appends one masked client frame (FIN set) to `out`.
fn put_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    for (i, b) in out[start..].iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

fn send_text(conn: &mut Conn, ctx: &mut Ctx, text: &[u8]) {
    let m = ctx.next_mask();
    put_frame(&mut conn.out, 0x1, text, m);
    conn.dirty = true;
}

fn send_join(conn: &mut Conn, ctx: &mut Ctx) {
    let msg = match ctx.proto {
        Proto::Socketio => format!("42[\"join\",\"r{}\"]", conn.room),
        _ => format!(
            "{{\"type\":\"rooms.join\",\"payload\":{{\"roomId\":\"r{}\"}}}}",
            conn.room
        ),
    };
    send_text(conn, ctx, msg.as_bytes());
    conn.join_sent = Instant::now();
}

fn send_leave_and_close(conn: &mut Conn, ctx: &mut Ctx) {
    let msg = match ctx.proto {
        Proto::Socketio => format!("42[\"leave\",\"r{}\"]", conn.room),
        _ => format!(
            "{{\"type\":\"rooms.leave\",\"payload\":{{\"roomId\":\"r{}\"}}}}",
            conn.room
        ),
    };
    send_text(conn, ctx, msg.as_bytes());
    let m = ctx.next_mask();
    put_frame(&mut conn.out, 0x8, &1000u16.to_be_bytes(), m);
    conn.dirty = true;
    conn.st = St::Closing;
}

fn parse_u64(b: &[u8], mut i: usize) -> Option<(u64, usize)> {
    let start = i;
    let mut v: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() && i - start < 20 {
        v = v.wrapping_mul(10).wrapping_add((b[i] - b'0') as u64);
        i += 1;
    }
    if i == start {
        None
    } else {
        Some((v, i))
    }
}

/// Finds `"s=<p>:<seq>;t=<nanos>` in a frame and records the delivery.
fn on_message(conn: &Conn, ctx: &mut Ctx, payload: &[u8]) {
    let Some(at) = ctx.marker.find(payload) else {
        return;
    };
    let b = payload;
    let Some((p, i)) = parse_u64(b, at + 3) else {
        return;
    };
    if b.get(i) != Some(&b':') {
        return;
    }
    let Some((seq, i)) = parse_u64(b, i + 1) else {
        return;
    };
    if b.get(i..i + 3) != Some(b";t=") {
        return;
    }
    let Some((t, _)) = parse_u64(b, i + 3) else {
        return;
    };
    if conn.excluded {
        return;
    }
    let st = &mut ctx.stats;
    let p = p as usize;
    if p >= ctx.pub_room.len() || ctx.pub_room[p] != conn.room {
        st.misrouted += 1;
        return;
    }
    let pair = &mut ctx.pairs[conn.track + ctx.pub_local[p] as usize];
    if seq >= pair.hi {
        let shift = seq + 1 - pair.hi;
        pair.win = if shift >= 64 { 0 } else { pair.win << shift };
        pair.win |= 1;
        pair.hi = seq + 1;
    } else {
        let d = pair.hi - 1 - seq;
        if d < 64 {
            if pair.win & (1 << d) != 0 {
                st.dup += 1;
                return;
            }
            pair.win |= 1 << d;
        }
        st.reorder += 1;
    }
    st.unique += 1;
    let lat_us = (ctx.now_ns.saturating_sub(t) / 1000).max(1);
    st.hist.saturating_record(lat_us);
    if st.stall_ns != u64::MAX {
        if ctx.now_ns < st.stall_ns {
            st.hist_before.saturating_record(lat_us);
        } else {
            st.hist_after.saturating_record(lat_us);
        }
    }
}

/// Handles one complete text (or binary/continuation) frame.
fn on_text(conn: &mut Conn, ctx: &mut Ctx, payload: &[u8]) {
    if ctx.proto == Proto::Socketio {
        if payload == b"2" {
            send_text(conn, ctx, b"3");
            return;
        }
        if payload.starts_with(b"41") || payload == b"1" {
            // socket.io disconnect / engine.io close from the server
            conn_lost(conn, ctx);
            return;
        }
    }
    match conn.st {
        St::Ready => on_message(conn, ctx, payload),
        St::SioOpen if payload.first() == Some(&b'0') => {
            send_text(conn, ctx, b"40");
            conn.st = St::SioConnect;
        }
        St::SioConnect if payload.starts_with(b"40") => {
            conn.st = St::Joining;
            send_join(conn, ctx);
        }
        St::SioConnect if payload.starts_with(b"44") => conn_lost(conn, ctx),
        St::Joining if ctx.on_join.find(payload).is_some() => {
            let name = format!("\"u{}\"", conn.idx);
            if memmem::find(payload, name.as_bytes()).is_some() {
                conn.st = St::Ready;
                ctx.ready += 1;
            }
        }
        _ => {}
    }
}

fn conn_lost(conn: &mut Conn, ctx: &mut Ctx) {
    match conn.st {
        St::Ready => {
            ctx.lost_conns += 1;
            // its missing deliveries show up as lost
            ctx.stats.closed += 1;
        }
        St::Closing => ctx.churn_done += 1,
        St::Dead => {}
        _ => ctx.setup_errors += 1,
    }
    conn.st = St::Dead;
}

/// Parses complete frames (and, while upgrading, the HTTP response) from
/// `buf`; returns how many bytes were consumed.
fn process(conn: &mut Conn, ctx: &mut Ctx, buf: &mut [u8]) -> usize {
    let mut pos = 0;
    if conn.st == St::Upgrading {
        let Some(end) = memmem::find(buf, b"\r\n\r\n") else {
            if buf.len() > 16 << 10 {
                conn_lost(conn, ctx);
            }
            return 0;
        };
        if !buf.starts_with(b"HTTP/1.1 101") {
            if ctx.setup_errors == 0 {
                let head = String::from_utf8_lossy(&buf[..end.min(200)]).into_owned();
                eprintln!("upgrade refused: {head}");
            }
            conn_lost(conn, ctx);
            return buf.len();
        }
        pos = end + 4;
        if ctx.proto == Proto::Socketio {
            conn.st = St::SioOpen;
        } else {
            conn.st = St::Joining;
            send_join(conn, ctx);
        }
    }
    while conn.st != St::Dead {
        let rem = buf.len() - pos;
        if rem < 2 {
            break;
        }
        let b0 = buf[pos];
        let b1 = buf[pos + 1];
        let mut hl = 2usize;
        let mut len = (b1 & 0x7f) as u64;
        if len == 126 {
            if rem < 4 {
                break;
            }
            len = u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]) as u64;
            hl = 4;
        } else if len == 127 {
            if rem < 10 {
                break;
            }
            let mut a = [0u8; 8];
            a.copy_from_slice(&buf[pos + 2..pos + 10]);
            len = u64::from_be_bytes(a);
            hl = 10;
        }
        if len > MAX_FRAME {
            conn_lost(conn, ctx);
            return buf.len();
        }
        let masked = b1 & 0x80 != 0;
        let mask_at = pos + hl;
        if masked {
            hl += 4;
        }
        let total = hl + len as usize;
        if rem < total {
            break;
        }
        if masked {
            let m = [
                buf[mask_at],
                buf[mask_at + 1],
                buf[mask_at + 2],
                buf[mask_at + 3],
            ];
            for (i, b) in buf[pos + hl..pos + total].iter_mut().enumerate() {
                *b ^= m[i & 3];
            }
        }
        let payload = &buf[pos + hl..pos + total];
        match b0 & 0x0f {
            0x0..=0x2 if b0 & 0x40 != 0 => {
                ctx.stats.compressed_frames += 1;
                let mut out = std::mem::take(&mut ctx.inflated);
                if inflate(&mut ctx.inflater, payload, &mut out) {
                    on_text(conn, ctx, &out);
                } else {
                    conn_lost(conn, ctx);
                }
                ctx.inflated = out;
            }
            0x0..=0x2 => on_text(conn, ctx, payload),
            0x8 => conn_lost(conn, ctx),
            0x9 => {
                let m = ctx.next_mask();
                put_frame(&mut conn.out, 0xA, payload, m);
                conn.dirty = true;
            }
            _ => {}
        }
        pos += total;
    }
    pos
}

/// Inflates one whole compressed message (RFC 7692 § 7.2.2: the sender
/// dropped the final `00 00 ff ff`, put back here) into `out`. False on
/// corrupt data or an output past `MAX_FRAME`.
fn inflate(inflater: &mut flate2::Decompress, payload: &[u8], out: &mut Vec<u8>) -> bool {
    const TAIL: [u8; 4] = [0, 0, 0xff, 0xff];
    inflater.reset(false);
    out.clear();
    out.reserve(payload.len() * 4);
    for input in [payload, &TAIL[..]] {
        let mut consumed = 0;
        while consumed < input.len() {
            if out.len() == out.capacity() {
                if out.len() as u64 >= MAX_FRAME {
                    return false;
                }
                out.reserve(out.len().max(1024));
            }
            let before = inflater.total_in();
            match inflater.decompress_vec(&input[consumed..], out, flate2::FlushDecompress::Sync) {
                Ok(_) => consumed += (inflater.total_in() - before) as usize,
                Err(_) => return false,
            }
        }
    }
    true
}

// ---------------------------------------------------------------- the driver

struct Lg {
    args: Args,
    poll: Poll,
    events: Events,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    ctx: Ctx,
    scratch: Vec<u8>,
    dirty: Vec<usize>,
    again: Vec<usize>,
    evbuf: Vec<(usize, bool, bool, bool)>,
    epoch: Instant,
    timer: Option<OwnedFd>,
}

impl Lg {
    fn new(args: Args) -> std::io::Result<Self> {
        Ok(Lg {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            conns: Vec::new(),
            free: Vec::new(),
            ctx: Ctx {
                proto: args.proto,
                marker: memmem::Finder::new(b"\"s=").into_owned(),
                on_join: memmem::Finder::new(b"onJoin").into_owned(),
                pairs: Vec::new(),
                pub_room: Vec::new(),
                pub_local: Vec::new(),
                pub_seq: Vec::new(),
                stats: StepStats::new(),
                now_ns: 0,
                ready: 0,
                lost_conns: 0,
                setup_errors: 0,
                join_retries: 0,
                churn_done: 0,
                mask_state: 0x9E37_79B9_7F4A_7C15,
                rooms_total: 1,
                inflater: flate2::Decompress::new(false),
                inflated: Vec::new(),
            },
            scratch: vec![0u8; SCRATCH],
            dirty: Vec::new(),
            again: Vec::new(),
            evbuf: Vec::new(),
            epoch: Instant::now(),
            timer: None,
            args,
        })
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Starts a non-blocking connect for client `idx`; returns its slot.
    fn server_addr(&self, idx: usize) -> SocketAddr {
        let extra = &self.args.also_addr;
        match idx % (extra.len() + 1) {
            0 => self.args.addr,
            i => extra[i - 1],
        }
    }

    fn open(&mut self, idx: usize, room: u32, track: usize) -> Option<usize> {
        let addr = self.server_addr(idx);
        let mut sock = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                if self.ctx.setup_errors == 0 {
                    eprintln!("connect {addr}: {e}");
                }
                self.ctx.setup_errors += 1;
                return None;
            }
        };
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.conns.push(None);
                self.conns.len() - 1
            }
        };
        if self
            .poll
            .registry()
            .register(
                &mut sock,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            )
            .is_err()
        {
            self.ctx.setup_errors += 1;
            self.free.push(slot);
            return None;
        }
        self.conns[slot] = Some(Conn {
            sock,
            st: St::Connecting,
            idx,
            room,
            track,
            excluded: false,
            stalled: false,
            partial: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
            dirty: false,
            started: Instant::now(),
            join_sent: Instant::now(),
        });
        Some(slot)
    }

    fn close_slot(&mut self, slot: usize) {
        if let Some(mut c) = self.conns[slot].take() {
            let _ = self.poll.registry().deregister(&mut c.sock);
            self.free.push(slot);
        }
    }

    fn upgrade_request(&self, idx: usize) -> String {
        let path = match self.args.proto {
            Proto::Socketio => format!("/socket.io/?EIO=4&transport=websocket&user-name=u{idx}"),
            _ => {
                let sep = if self.args.path.contains('?') {
                    '&'
                } else {
                    '?'
                };
                format!("{}{sep}user-name=u{idx}", self.args.path)
            }
        };
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{}\r\n",
            self.server_addr(idx),
            if self.args.deflate {
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"
            } else {
                ""
            }
        )
    }

    fn flush(&mut self, slot: usize) {
        let Some(conn) = self.conns[slot].as_mut() else {
            return;
        };
        conn.dirty = false;
        if conn.st == St::Connecting {
            return;
        }
        while conn.out_pos < conn.out.len() {
            match conn.sock.write(&conn.out[conn.out_pos..]) {
                Ok(0) => {
                    conn_lost(conn, &mut self.ctx);
                    break;
                }
                Ok(n) => conn.out_pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    conn_lost(conn, &mut self.ctx);
                    break;
                }
            }
        }
        if conn.out_pos == conn.out.len() {
            conn.out.clear();
            conn.out_pos = 0;
        }
    }

    fn flush_dirty(&mut self) {
        let mut d = std::mem::take(&mut self.dirty);
        for &slot in &d {
            self.flush(slot);
        }
        d.clear();
        self.dirty = d;
    }

    /// Reads what the socket has; returns false when the read budget ran out.
    fn read_slot(&mut self, slot: usize, to_eof: bool) -> bool {
        let Some(conn) = self.conns[slot].as_mut() else {
            return true;
        };
        if conn.stalled || conn.st == St::Connecting || conn.st == St::Dead {
            return true;
        }
        for _ in 0..READS_PER_EVENT {
            let k = conn.partial.len();
            if self.scratch.len() < k + SCRATCH / 2 {
                self.scratch.resize(k + SCRATCH, 0);
            }
            self.scratch[..k].copy_from_slice(&conn.partial);
            let space = self.scratch.len() - k;
            match conn.sock.read(&mut self.scratch[k..]) {
                Ok(0) => {
                    conn_lost(conn, &mut self.ctx);
                    return true;
                }
                Ok(n) => {
                    self.ctx.stats.wire_bytes_in += n as u64;
                    conn.partial.clear();
                    self.ctx.now_ns = self.epoch.elapsed().as_nanos() as u64;
                    let end = k + n;
                    let used = process(conn, &mut self.ctx, &mut self.scratch[..end]);
                    if used < end && conn.st != St::Dead {
                        conn.partial.extend_from_slice(&self.scratch[used..end]);
                    }
                    if conn.st == St::Ready {
                        self.ctx.stats.last_recv_ns = self.ctx.now_ns;
                    }
                    if conn.dirty {
                        self.dirty.push(slot);
                    }
                    if conn.st == St::Dead {
                        return true;
                    }
                    // A short read drained the socket: with edge-triggered
                    // epoll, data arriving later raises a new event, so the
                    // extra read that would return EAGAIN is skipped.
                    if n < space && !to_eof {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    conn_lost(conn, &mut self.ctx);
                    return true;
                }
            }
        }
        false
    }

    fn on_writable(&mut self, slot: usize) {
        let req = {
            let Some(conn) = self.conns[slot].as_mut() else {
                return;
            };
            if conn.st != St::Connecting {
                None
            } else {
                match conn.sock.take_error() {
                    Ok(None) => {}
                    _ => {
                        conn_lost(conn, &mut self.ctx);
                        return;
                    }
                }
                if conn.sock.peer_addr().is_err() {
                    return; // not connected yet
                }
                let _ = conn.sock.set_nodelay(true);
                Some(conn.idx)
            }
        };
        if let Some(idx) = req {
            let r = self.upgrade_request(idx);
            if let Some(conn) = self.conns[slot].as_mut() {
                conn.out.extend_from_slice(r.as_bytes());
                conn.st = St::Upgrading;
            }
        }
        self.flush(slot);
    }

    /// One poll round: waits up to `timeout`, handles events, flushes.
    fn turn(&mut self, timeout: Duration) {
        let again = std::mem::take(&mut self.again);
        let timeout = if again.is_empty() {
            timeout
        } else {
            Duration::ZERO
        };
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
            if e.kind() != ErrorKind::Interrupted {
                eprintln!("poll: {e}");
            }
        }
        let mut events = std::mem::take(&mut self.evbuf);
        events.clear();
        events.extend(self.events.iter().map(|e| {
            (
                e.token().0,
                e.is_readable() || e.is_read_closed() || e.is_error(),
                e.is_writable(),
                e.is_read_closed() || e.is_error(),
            )
        }));
        for slot in again {
            if !self.read_slot(slot, true) {
                self.again.push(slot);
            }
        }
        for &(slot, readable, writable, closed) in &events {
            if Token(slot) == TIMER {
                if let Some(fd) = &self.timer {
                    let mut buf = [0u8; 8];
                    // SAFETY: reading 8 bytes from a timerfd into a local buffer.
                    unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                }
                continue;
            }
            if slot >= self.conns.len() {
                continue;
            }
            if writable {
                self.on_writable(slot);
            }
            if readable {
                let stalled = self.conns[slot].as_ref().is_some_and(|c| c.stalled);
                if stalled {
                    if closed {
                        if let Some(c) = self.conns[slot].as_mut() {
                            if c.st != St::Dead {
                                c.st = St::Dead;
                                self.ctx.lost_conns += 1;
                            }
                        }
                    }
                } else if !self.read_slot(slot, closed) {
                    self.again.push(slot);
                }
            }
        }
        self.evbuf = events;
        self.flush_dirty();
    }

    fn set_timer(&mut self, interval: Option<Duration>) {
        if self.timer.is_none() {
            // SAFETY: plain syscall; the fd is owned right after.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                return;
            }
            // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            let raw = owned.as_raw_fd();
            if self
                .poll
                .registry()
                .register(&mut SourceFd(&raw), TIMER, Interest::READABLE)
                .is_err()
            {
                return;
            }
            self.timer = Some(owned);
        }
        let Some(fd) = &self.timer else { return };
        let ts = |d: Duration| libc::timespec {
            tv_sec: d.as_secs() as libc::time_t,
            tv_nsec: d.subsec_nanos() as libc::c_long,
        };
        let d = interval.unwrap_or(Duration::ZERO);
        let spec = libc::itimerspec {
            it_interval: ts(d),
            it_value: ts(d),
        };
        // SAFETY: valid fd and pointers to locals.
        unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }

    // ------------------------------------------------------------ setup

    /// Opens and joins clients `0..n`; client i in room i % rooms.
    fn setup(&mut self, n: usize, rooms: usize) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs_f64(self.args.setup_timeout);
        let cc = self.args.connect_concurrency.max(1);
        let mut next = 0usize;
        self.conns.reserve(n);
        // tracking offsets: each receiver tracks the publishers of its room
        let mut pubs_in_room = vec![0usize; rooms];
        for &r in &self.ctx.pub_room {
            pubs_in_room[r as usize] += 1;
        }
        let mut offs = Vec::with_capacity(n);
        let mut total = 0usize;
        for i in 0..n {
            offs.push(total);
            total += pubs_in_room[i % rooms];
        }
        self.ctx.pairs = vec![Pair::default(); total];
        let mut last_report = Instant::now();
        while self.ctx.ready < n {
            while next < n && next - self.ctx.ready < cc {
                let room = (next % rooms) as u32;
                if self.open(next, room, offs[next]).is_none() {
                    return Err(format!("could not open connection {next}"));
                }
                next += 1;
            }
            self.turn(Duration::from_millis(50));
            if self.ctx.setup_errors > 0 || self.ctx.lost_conns > 0 {
                return Err(format!(
                    "setup failed: {} connection errors, {} ready of {n}",
                    self.ctx.setup_errors + self.ctx.lost_conns,
                    self.ctx.ready
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "setup timed out: {} of {n} connections joined",
                    self.ctx.ready
                ));
            }
            if last_report.elapsed() > Duration::from_secs(1) {
                // a join whose onJoin never came back (a server that drops
                // messages when a queue is full) is sent again
                self.retry_joins();
                if !self.args.quiet {
                    eprintln!("  setup: {} of {n} joined", self.ctx.ready);
                }
                last_report = Instant::now();
            }
        }
        Ok(())
    }

    fn retry_joins(&mut self) {
        for slot in 0..self.conns.len() {
            let Some(c) = self.conns[slot].as_mut() else {
                continue;
            };
            if c.st == St::Joining && c.join_sent.elapsed() > Duration::from_secs(2) {
                send_join(c, &mut self.ctx);
                self.ctx.join_retries += 1;
                self.dirty.push(slot);
            }
        }
        self.flush_dirty();
    }

    /// Keeps reading for `d` (answering pings), without measuring.
    fn idle_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        let mut i = 0u64;
        while Instant::now() < end && i < 10_000_000 {
            let left = end.saturating_duration_since(Instant::now());
            self.turn(left.min(Duration::from_millis(50)));
            i += 1;
        }
    }
}

// ---------------------------------------------------------------- measurement

struct Snap {
    t: Instant,
    server_cpu: Option<f64>,
    self_cpu: f64,
}

fn snap(args: &Args) -> Snap {
    // Every server of a multi-node run counts: a delivery costs CPU on the
    // publisher's node and on the receiver's.
    let server_cpu = args.server_pid.map(|first| {
        std::iter::once(first)
            .chain(args.also_pid.iter().copied())
            .filter_map(zocket_bench::proc_cpu_seconds)
            .sum()
    });
    Snap {
        t: Instant::now(),
        server_cpu,
        self_cpu: zocket_bench::self_cpu_seconds(),
    }
}

fn q(h: &Histogram<u64>, p: f64) -> Value {
    if h.is_empty() {
        Value::Null
    } else {
        json!(h.value_at_quantile(p))
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1} k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

struct Plan {
    n: usize,
    rooms: usize,
    pubs: usize,
    /// room of each client
    room_size: Vec<u64>,
    scenario: String,
}

fn plan(args: &Args) -> Plan {
    let n = args.clients.clamp(1, MAX_CLIENTS);
    let rooms = match args.mode {
        Mode::Echo => n,
        Mode::All2all => 1,
        _ => args.rooms.clamp(1, n),
    };
    let pubs = match args.mode {
        Mode::Echo | Mode::All2all => args.publishers.unwrap_or(n),
        _ => args.publishers.unwrap_or(rooms),
    }
    .clamp(1, n);
    let mut room_size = vec![0u64; rooms];
    for i in 0..n {
        room_size[i % rooms] += 1;
    }
    let size = if args.size >= 1024 && args.size.is_multiple_of(1024) {
        format!("{}KiB", args.size / 1024)
    } else {
        format!("{}B", args.size)
    };
    let scenario = args.scenario.clone().unwrap_or_else(|| match args.mode {
        Mode::Idle => format!("idle n={n} r={rooms}"),
        Mode::Churn => format!("churn c={n}"),
        m => format!(
            "{} n={n} r={rooms} p={pubs} {size}",
            format!("{m:?}").to_lowercase()
        ),
    });
    Plan {
        n,
        rooms,
        pubs,
        room_size,
        scenario,
    }
}

/// Runs one step at `rate` deliveries/s; returns the JSON line.
fn run_step(lg: &mut Lg, pl: &Plan, rate: f64, payload_pad: usize, stall: Option<usize>) -> Value {
    let args = lg.args.clone();
    let duration = args.duration.clamp(0.1, MAX_DURATION);
    // expected deliveries per publish, per publisher (the slow client left out)
    let mut fan: Vec<u64> = (0..pl.pubs).map(|p| pl.room_size[p % pl.rooms]).collect();
    if let Some(s) = stall {
        for (p, f) in fan.iter_mut().enumerate() {
            if p % pl.rooms == s % pl.rooms {
                *f -= 1;
            }
        }
    }
    let mean_fan = fan.iter().sum::<u64>() as f64 / pl.pubs as f64;
    let pub_rate = (rate / mean_fan.max(1.0)).max(0.1);
    let total_pubs = ((pub_rate * duration).round() as u64).max(1);
    let tick = Duration::from_secs_f64((1.0 / pub_rate).clamp(100e-6, 10e-3));

    lg.ctx.stats = StepStats::new();
    let before = snap(&args);
    let start_ns = lg.now_ns();
    if let Some(s) = stall {
        lg.ctx.stats.stall_ns = start_ns + (duration * args.stall_at * 1e9) as u64;
        let _ = s;
    }
    let start = Instant::now();
    let send_end = start + Duration::from_secs_f64(duration);
    lg.set_timer(Some(tick));
    let mut sent: u64 = 0;
    let mut expected: u64 = 0;
    let mut skipped: u64 = 0;
    let mut max_lag = Duration::ZERO;
    let mut rss_samples: Vec<(f64, u64)> = Vec::new();
    let mut next_rss = start;
    let mut stalled = false;
    let mut text: Vec<u8> = Vec::with_capacity(args.size + 128);
    let mut guard = 0u64;

    while sent < total_pubs && guard < 100_000_000 {
        guard += 1;
        let now = Instant::now();
        let el = now.duration_since(start).as_secs_f64();
        let due = ((el * pub_rate) as u64 + 1).min(total_pubs);
        if due > sent + 1 {
            let sched = Duration::from_secs_f64(sent as f64 / pub_rate);
            max_lag = max_lag.max(now.duration_since(start).saturating_sub(sched));
        }
        let t_ns = lg.now_ns();
        while sent < due {
            let p = (sent % pl.pubs as u64) as usize;
            sent += 1;
            let Some(conn) = lg.conns[p].as_mut() else {
                skipped += 1;
                continue;
            };
            if conn.st != St::Ready {
                skipped += 1;
                continue;
            }
            let seq = lg.ctx.pub_seq_next(p);
            text.clear();
            match args.proto {
                Proto::Socketio => {
                    let _ = write!(
                        text,
                        "42[\"message\",{{\"roomId\":\"r{}\",\"content\":\"s={p}:{seq};t={t_ns};",
                        conn.room
                    );
                }
                _ => {
                    let _ = write!(
                        text,
                        "{{\"type\":\"rooms.message\",\"payload\":{{\"roomId\":\"r{}\",\"content\":\"s={p}:{seq};t={t_ns};",
                        conn.room
                    );
                }
            }
            let tail: &[u8] = if args.proto == Proto::Socketio {
                b"\"}]"
            } else {
                b"\"}}"
            };
            let pad = payload_pad.saturating_sub(text.len() + tail.len());
            // Chat-like text rather than one repeated byte, so that
            // compression (`--deflate`) sees what a real message gives it.
            text.extend(PAD_TEXT.iter().cycle().take(pad));
            text.extend_from_slice(tail);
            let m = lg.ctx.next_mask();
            put_frame(&mut conn.out, 0x1, &text, m);
            if !conn.dirty {
                conn.dirty = true;
                lg.dirty.push(p);
            }
            expected += fan[p];
        }
        lg.flush_dirty();
        if let (Some(s), false) = (stall, stalled) {
            if lg.now_ns() >= lg.ctx.stats.stall_ns {
                if let Some(c) = lg.conns[s].as_mut() {
                    c.stalled = true;
                }
                stalled = true;
            }
        }
        if stall.is_some() && now >= next_rss {
            if let Some(kb) = args.server_pid.and_then(zocket_bench::proc_rss_kb) {
                rss_samples.push((now.duration_since(start).as_secs_f64(), kb));
            }
            next_rss = now + Duration::from_millis(500);
        }
        if sent >= total_pubs {
            break;
        }
        if now > send_end + Duration::from_secs(30) {
            break; // hopelessly behind: give up sending
        }
        lg.turn(Duration::from_millis(10));
    }
    lg.set_timer(None);
    let sent_end = Instant::now();
    // drain: until everything expected arrived or the drain time ran out
    let drain_end = Instant::now() + Duration::from_secs_f64(args.drain.clamp(0.0, 60.0));
    let mut guard = 0u64;
    while lg.ctx.stats.unique < expected && Instant::now() < drain_end && guard < 10_000_000 {
        lg.turn(Duration::from_millis(5));
        guard += 1;
        if stall.is_some() && Instant::now() >= next_rss {
            if let Some(kb) = args.server_pid.and_then(zocket_bench::proc_rss_kb) {
                rss_samples.push((start.elapsed().as_secs_f64(), kb));
            }
            next_rss = Instant::now() + Duration::from_millis(500);
        }
    }
    let after = snap(&args);
    let st = &lg.ctx.stats;
    let wall = after.t.duration_since(before.t).as_secs_f64();
    let recv_span = (st.last_recv_ns.saturating_sub(start_ns) as f64 / 1e9).max(duration.min(wall));
    let delivered_per_s = st.unique as f64 / recv_span.max(1e-9);
    let lost = expected.saturating_sub(st.unique);
    let server_cpu = match (before.server_cpu, after.server_cpu) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let self_cpu = after.self_cpu - before.self_cpu;
    let self_util = self_cpu / wall.max(1e-9);
    let loadgen_bound = self_util >= 0.9;
    let p99_us = if st.hist.is_empty() {
        u64::MAX
    } else {
        st.hist.value_at_quantile(0.99)
    };
    let send_rate = expected as f64 / sent_end.duration_since(start).as_secs_f64().max(1e-9);
    let mut why: Vec<&str> = Vec::new();
    if lost > 0 {
        why.push("loss");
    }
    if st.dup > 0 {
        why.push("duplicates");
    }
    if st.reorder > 0 {
        why.push("reordering");
    }
    if st.misrouted > 0 {
        why.push("misrouted");
    }
    if st.closed > 0 {
        why.push("connections closed");
    }
    if p99_us as f64 > args.p99_limit_ms * 1000.0 {
        why.push("p99 over limit");
    }
    if st.unique == 0 {
        why.push("nothing delivered");
    }
    if skipped > 0 {
        why.push("publishers gone");
    }
    let sustained = why.is_empty();
    let cpu_per_m = server_cpu.map(|c| c / (st.unique as f64 / 1e6).max(1e-12));
    let mut v = json!({
        "kind": "step",
        "setup_join_retries": lg.ctx.join_retries,
        "server": args.server,
        "proto": format!("{:?}", args.proto).to_lowercase(),
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "scenario": pl.scenario,
        "clients": pl.n,
        "rooms": pl.rooms,
        "publishers": pl.pubs,
        "size": args.size,
        "target_rate": rate,
        "publish_rate": pub_rate,
        "duration_s": duration,
        "sent": sent - skipped,
        "expected": expected,
        "received": st.unique,
        "lost": lost,
        "dup": st.dup,
        "reorder": st.reorder,
        "misrouted": st.misrouted,
        "closed_by_server": st.closed,
        "offered_per_s": send_rate,
        "delivered_per_s": delivered_per_s,
        "p50_us": q(&st.hist, 0.5),
        "p99_us": q(&st.hist, 0.99),
        "p999_us": q(&st.hist, 0.999),
        "max_us": if st.hist.is_empty() { Value::Null } else { json!(st.hist.max()) },
        "wall_s": wall,
        "server_cpu_s": server_cpu,
        "server_cpu_util": server_cpu.map(|c| c / wall.max(1e-9)),
        "deliveries_per_server_cpu_s": server_cpu.map(|c| if c > 0.0 { st.unique as f64 / c } else { 0.0 }),
        "server_cpu_s_per_m": cpu_per_m,
        "loadgen_cpu_s": self_cpu,
        "loadgen_cpu_util": self_util,
        "loadgen_bound": loadgen_bound,
        "send_lag_max_ms": max_lag.as_secs_f64() * 1e3,
        "sustained": sustained,
        "not_sustained_because": why,
    });
    v["deflate"] = json!(args.deflate);
    v["wire_bytes_in"] = json!(st.wire_bytes_in);
    v["wire_bytes_per_delivery"] = if st.unique > 0 {
        json!(st.wire_bytes_in as f64 / st.unique as f64)
    } else {
        Value::Null
    };
    v["compressed_frames"] = json!(st.compressed_frames);
    if stall.is_some() {
        v["p99_before_stall_us"] = q(&st.hist_before, 0.99);
        v["p99_after_stall_us"] = q(&st.hist_after, 0.99);
        v["p50_before_stall_us"] = q(&st.hist_before, 0.5);
        v["p50_after_stall_us"] = q(&st.hist_after, 0.5);
        v["server_rss_kb"] = json!(rss_samples);
        v["slow_client_closed_by_server"] = json!(lg.ctx.lost_conns > st.closed);
    }
    if !args.quiet {
        let us = |x: &Value| {
            x.as_u64()
                .map(|u| format!("{:.2}ms", u as f64 / 1e3))
                .unwrap_or("-".into())
        };
        eprintln!(
            "{:<12} {:<28} target {:>9}/s delivered {:>9}/s lost {} dup {} reorder {} closed {} p50 {} p99 {} p99.9 {} srv-cpu {} per-cpu-s {} lg-cpu {:.0}%{}{}",
            args.server,
            pl.scenario,
            fmt_rate(rate),
            fmt_rate(delivered_per_s),
            lost,
            st.dup,
            st.reorder,
            st.closed,
            us(&v["p50_us"]),
            us(&v["p99_us"]),
            us(&v["p999_us"]),
            server_cpu.map(|c| format!("{c:.2}s")).unwrap_or("-".into()),
            v["deliveries_per_server_cpu_s"].as_f64().map(fmt_rate).unwrap_or("-".into()),
            self_util * 100.0,
            if loadgen_bound { " LOADGEN-BOUND" } else { "" },
            if sustained { "" } else { " NOT-SUSTAINED" },
        );
    }
    v
}

impl Ctx {
    fn pub_seq_next(&mut self, p: usize) -> u64 {
        let s = &mut self.pub_seq[p];
        let v = *s;
        *s += 1;
        v
    }
}

fn emit(v: &Value) {
    let mut v = v.clone();
    if let Some(n) = NOTE.get() {
        v["note"] = json!(n);
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

fn run_measure(args: Args) -> Result<bool, String> {
    let pl = plan(&args);
    let mut lg = Lg::new(args.clone()).map_err(|e| e.to_string())?;
    lg.ctx.pub_room = (0..pl.pubs).map(|p| (p % pl.rooms) as u32).collect();
    lg.ctx.pub_local = (0..pl.pubs).map(|p| (p / pl.rooms) as u32).collect();
    lg.ctx.pub_seq = vec![0; pl.pubs];
    lg.ctx.rooms_total = pl.rooms as u32;
    let t0 = Instant::now();
    lg.setup(pl.n, pl.rooms)?;
    if !args.quiet {
        eprintln!(
            "  {}: {} clients joined {} rooms in {:.2}s ({} joins sent again)",
            args.server,
            pl.n,
            pl.rooms,
            t0.elapsed().as_secs_f64(),
            lg.ctx.join_retries
        );
    }
    // let the onJoin broadcasts settle
    lg.idle_for(Duration::from_millis(300));
    let stall = if args.mode == Mode::Slow {
        // the last client that is not a publisher (else the last client)
        let s = pl.n - 1;
        if let Some(c) = lg.conns[s].as_mut() {
            c.excluded = true;
        }
        Some(s)
    } else {
        None
    };
    let mut rate = args.rate.max(1.0);
    let steps = if args.step {
        args.max_steps.clamp(1, 60)
    } else {
        1
    };
    let mut best: Option<Value> = None;
    let mut fail: Option<Value> = None;
    let mut down = 0u32;
    for _ in 0..steps {
        let v = run_step(&mut lg, &pl, rate, args.size, stall);
        emit(&v);
        let ok = v["sustained"].as_bool().unwrap_or(false);
        if ok {
            best = Some(v);
        } else if args.step && best.is_none() && down < 4 && rate / 2.0 >= 1000.0 {
            // the first rate was already too high: step down first
            down += 1;
            fail = Some(v);
            rate /= 2.0;
            lg.idle_for(Duration::from_millis(1000));
            continue;
        } else {
            fail = Some(v);
            break;
        }
        if down > 0 {
            // stepping down found a sustained rate: the failure above it stands
            break;
        }
        rate *= args.step_factor.clamp(1.05, 10.0);
        if rate > args.max_rate {
            break;
        }
        // settle between steps
        lg.idle_for(Duration::from_millis(300));
    }
    let last = best
        .as_ref()
        .or(fail.as_ref())
        .cloned()
        .unwrap_or(Value::Null);
    let summary = if args.step {
        let (cell, max) = match &best {
            Some(b) => {
                let d = b["delivered_per_s"].as_f64().unwrap_or(0.0);
                let bound = b["loadgen_bound"].as_bool().unwrap_or(false)
                    || fail
                        .as_ref()
                        .is_some_and(|f| f["loadgen_bound"].as_bool().unwrap_or(false));
                let ge = if bound || fail.is_none() { "≥ " } else { "" };
                (
                    format!(
                        "{ge}{} ({:.2} s CPU/M){}",
                        fmt_rate(d),
                        b["server_cpu_s_per_m"].as_f64().unwrap_or(f64::NAN),
                        if bound { " LG-bound" } else { "" }
                    ),
                    d,
                )
            }
            None => ("not sustained at the first step".to_string(), 0.0),
        };
        json!({
            "kind": "max",
            "server": args.server,
            "scenario": pl.scenario,
            "max_sustained_delivered_per_s": max,
            "max_sustained_target_rate": best.as_ref().map(|b| b["target_rate"].clone()),
            "at_max": best,
            "first_failed": fail.as_ref().map(|f| json!({
                "target_rate": f["target_rate"], "because": f["not_sustained_because"],
                "delivered_per_s": f["delivered_per_s"], "p99_us": f["p99_us"],
                "lost": f["lost"], "loadgen_bound": f["loadgen_bound"]})),
            "cell": cell,
        })
    } else if args.mode == Mode::Slow {
        let rss: Vec<u64> = last["server_rss_kb"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x[1].as_u64()).collect())
            .unwrap_or_default();
        let first = rss.first().copied().unwrap_or(0);
        let maxr = rss.iter().copied().max().unwrap_or(0);
        let endr = rss.last().copied().unwrap_or(0);
        let ms = |x: &Value| {
            x.as_u64()
                .map(|u| format!("{:.2}", u as f64 / 1e3))
                .unwrap_or("-".into())
        };
        json!({
            "kind": "slow",
            "server": args.server,
            "scenario": pl.scenario,
            "p99_before_stall_us": last["p99_before_stall_us"],
            "p99_after_stall_us": last["p99_after_stall_us"],
            "rss_first_kb": first, "rss_max_kb": maxr, "rss_end_kb": endr,
            "lost_others": last["lost"],
            "slow_client_closed_by_server": last["slow_client_closed_by_server"],
            "cell": format!(
                "p99 {} → {} ms, RSS {:.1} → {:.1} MB{}{}",
                ms(&last["p99_before_stall_us"]), ms(&last["p99_after_stall_us"]),
                first as f64 / 1024.0, maxr as f64 / 1024.0,
                if last["lost"].as_u64().unwrap_or(0) > 0 { ", others lost msgs" } else { "" },
                if last["slow_client_closed_by_server"].as_bool().unwrap_or(false) { ", slow client closed" } else { "" }
            ),
        })
    } else {
        let cell = format!(
            "{} per CPU-s ({}/s, p99 {})",
            last["deliveries_per_server_cpu_s"]
                .as_f64()
                .map(fmt_rate)
                .unwrap_or("-".into()),
            last["delivered_per_s"]
                .as_f64()
                .map(fmt_rate)
                .unwrap_or("-".into()),
            last["p99_us"]
                .as_u64()
                .map(|u| format!("{:.2} ms", u as f64 / 1e3))
                .unwrap_or("-".into()),
        ) + if last["sustained"].as_bool().unwrap_or(false) {
            ""
        } else {
            " NOT SUSTAINED"
        } + if last["loadgen_bound"].as_bool().unwrap_or(false) {
            " LG-bound"
        } else {
            ""
        };
        json!({"kind": "fixed", "server": args.server, "scenario": pl.scenario, "result": last, "cell": cell})
    };
    emit(&summary);
    Ok(best.is_some())
}

fn run_idle(args: Args) -> Result<bool, String> {
    let pl = plan(&args);
    let mut lg = Lg::new(args.clone()).map_err(|e| e.to_string())?;
    lg.ctx.pub_seq = Vec::new();
    let pid = args.server_pid;
    let rss0 = pid.and_then(zocket_bench::proc_rss_kb);
    let t0 = Instant::now();
    lg.setup(pl.n, pl.rooms)?;
    let setup_s = t0.elapsed().as_secs_f64();
    lg.idle_for(Duration::from_secs_f64(args.settle.clamp(0.0, 120.0)));
    let rss1 = pid.and_then(zocket_bench::proc_rss_kb);
    let open = lg
        .conns
        .iter()
        .filter(|c| c.as_ref().is_some_and(|c| c.st == St::Ready))
        .count();
    let per = match (rss0, rss1) {
        (Some(a), Some(b)) => Some((b as f64 - a as f64) / pl.n as f64),
        _ => None,
    };
    let v = json!({
        "kind": "idle",
        "server": args.server,
        "scenario": pl.scenario,
        "clients": pl.n,
        "rooms": pl.rooms,
        "setup_s": setup_s,
        "setup_join_retries": lg.ctx.join_retries,
        "rss_before_kb": rss0,
        "rss_after_kb": rss1,
        "kb_per_conn": per,
        "open_at_end": open,
        "cell": per.map(|p| format!("{p:.1} KB/conn")).unwrap_or("-".into()),
    });
    if !args.quiet {
        eprintln!(
            "{:<12} {:<28} {} connections: RSS {:?} → {:?} KB = {} KB per connection ({} still open)",
            args.server,
            pl.scenario,
            pl.n,
            rss0,
            rss1,
            per.map(|p| format!("{p:.2}")).unwrap_or("-".into()),
            open
        );
    }
    emit(&v);
    Ok(open == pl.n)
}

fn run_churn(args: Args) -> Result<bool, String> {
    let pl = plan(&args);
    let mut lg = Lg::new(args.clone()).map_err(|e| e.to_string())?;
    let pid = args.server_pid;
    let conc = pl.n.min(2000);
    let rooms = args.rooms.max(1);
    let duration = Duration::from_secs_f64(args.duration.clamp(0.5, MAX_DURATION));
    let rss0 = pid.and_then(zocket_bench::proc_rss_kb);
    let cpu0 = snap(&args);
    let start = Instant::now();
    let warm_at = start + duration / 10;
    let mut rss_warm: Option<u64> = None;
    let mut next_idx = 0usize;
    let mut live = 0usize;
    let mut timeouts = 0u64;
    let mut guard = 0u64;
    while guard < 50_000_000 {
        guard += 1;
        let now = Instant::now();
        let sending = now < start + duration;
        if sending {
            while live < conc {
                let room = (next_idx % rooms) as u32;
                if lg.open(next_idx, room, 0).is_some() {
                    live += 1;
                }
                next_idx += 1;
                if lg.ctx.setup_errors > 1000 {
                    break;
                }
            }
        }
        lg.turn(Duration::from_millis(20));
        if rss_warm.is_none() && now >= warm_at {
            rss_warm = pid.and_then(zocket_bench::proc_rss_kb);
        }
        // advance: Ready → leave + close; Dead → free; stuck → time out
        for slot in 0..lg.conns.len() {
            let (st, age) = match lg.conns[slot].as_ref() {
                Some(c) => (c.st, c.started.elapsed()),
                None => continue,
            };
            match st {
                St::Ready => {
                    if let Some(c) = lg.conns[slot].as_mut() {
                        lg.ctx.ready = lg.ctx.ready.saturating_sub(1);
                        send_leave_and_close(c, &mut lg.ctx);
                    }
                    lg.flush(slot);
                }
                St::Dead => {
                    lg.close_slot(slot);
                    live -= 1;
                }
                _ if age > Duration::from_secs(10) => {
                    if st == St::Closing {
                        lg.ctx.churn_done += 1;
                    } else {
                        timeouts += 1;
                    }
                    lg.close_slot(slot);
                    live -= 1;
                }
                _ => {}
            }
        }
        if !sending && live == 0 {
            break;
        }
        if now > start + duration + Duration::from_secs(15) {
            break;
        }
        if lg.ctx.setup_errors > 1000 {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu1 = snap(&args);
    lg.idle_for(Duration::from_secs(1));
    let rss_end = pid.and_then(zocket_bench::proc_rss_kb);
    let cycles = lg.ctx.churn_done;
    let server_cpu = match (cpu0.server_cpu, cpu1.server_cpu) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let errors = lg.ctx.setup_errors + timeouts;
    let v = json!({
        "kind": "churn",
        "server": args.server,
        "scenario": pl.scenario,
        "concurrency": conc,
        "cycles": cycles,
        "cycles_per_s": cycles as f64 / elapsed,
        "errors": errors,
        "timeouts": timeouts,
        "rss_before_kb": rss0,
        "rss_warm_kb": rss_warm,
        "rss_end_kb": rss_end,
        "server_cpu_s": server_cpu,
        "loadgen_cpu_util": (cpu1.self_cpu - cpu0.self_cpu) / elapsed,
        "cell": format!("{} cycles/s, RSS {:.1} → {:.1} → {:.1} MB{}",
            fmt_rate(cycles as f64 / elapsed),
            rss0.unwrap_or(0) as f64 / 1024.0,
            rss_warm.unwrap_or(0) as f64 / 1024.0,
            rss_end.unwrap_or(0) as f64 / 1024.0,
            if errors > 0 { format!(", {errors} errors") } else { String::new() }),
    });
    if !args.quiet {
        eprintln!(
            "{:<12} {:<28} {cycles} connect/join/leave/close cycles in {elapsed:.1}s, {errors} errors; server RSS {:?} → {:?} (after 10%) → {:?} KB (end)",
            args.server, pl.scenario, rss0, rss_warm, rss_end
        );
    }
    emit(&v);
    Ok(errors == 0 && cycles > 0)
}

// ---------------------------------------------------------------- report

fn report(files: &[String]) -> Result<(), String> {
    // scenario -> server -> cell, in first-seen order
    let mut scen: Vec<String> = Vec::new();
    let mut servers: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(String, String), String> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if v["kind"] == "step" || v["cell"].is_null() {
                continue;
            }
            let s = v["scenario"].as_str().unwrap_or("?").to_string();
            let srv = v["server"].as_str().unwrap_or("?").to_string();
            if !scen.contains(&s) {
                scen.push(s.clone());
            }
            if !servers.contains(&srv) {
                servers.push(srv.clone());
            }
            let mut cell = v["cell"].as_str().unwrap_or("").to_string();
            if v["note"].as_str().is_some_and(|n| !n.is_empty()) {
                cell.push_str(" †");
            }
            cells.insert((s, srv), cell);
        }
    }
    println!("| scenario | {} |", servers.join(" | "));
    println!("|---|{}", "---|".repeat(servers.len()));
    for s in &scen {
        let row: Vec<String> = servers
            .iter()
            .map(|srv| {
                cells
                    .get(&(s.clone(), srv.clone()))
                    .cloned()
                    .unwrap_or_else(|| "-".into())
            })
            .collect();
        println!("| {s} | {} |", row.join(" | "));
    }
    Ok(())
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("report") {
        if let Err(e) = report(&argv[2..]) {
            eprintln!("report: {e}");
            std::process::exit(1);
        }
        return;
    }
    let args = Args::parse();
    if let Some(n) = args.note.clone().filter(|n| !n.is_empty()) {
        let _ = NOTE.set(n);
    }
    for addr in std::iter::once(&args.addr).chain(&args.also_addr) {
        let loopback = match addr.ip() {
            IpAddr::V4(ip) => ip.is_loopback(),
            IpAddr::V6(ip) => ip.is_loopback(),
        };
        if !loopback {
            eprintln!("loadgen connects only to loopback addresses, not {addr}");
            std::process::exit(2);
        }
    }
    let nofile = zocket_bench::raise_nofile();
    if (nofile as usize) < args.clients + 64 && args.mode != Mode::Churn {
        eprintln!(
            "RLIMIT_NOFILE is {nofile}: too low for {} clients",
            args.clients
        );
        std::process::exit(2);
    }
    let r = match args.mode {
        Mode::Idle => run_idle(args),
        Mode::Churn => run_churn(args),
        _ => run_measure(args),
    };
    match r {
        Ok(true) => {}
        Ok(false) => std::process::exit(3),
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}
