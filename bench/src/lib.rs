//! Shared pieces of the zocket benchmark kit: the chat wire format spoken by
//! the baseline servers, the `--addr` / `PORT` convention, and readers for a
//! process's CPU time and resident memory from `/proc`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// An incoming chat message: `{"type":"rooms.join","payload":{"roomId":"r0"}}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum Incoming {
    #[serde(rename = "rooms.join")]
    Join {
        #[serde(rename = "roomId")]
        room_id: String,
    },
    #[serde(rename = "rooms.leave")]
    Leave {
        #[serde(rename = "roomId")]
        room_id: String,
    },
    #[serde(rename = "rooms.message")]
    Message {
        #[serde(rename = "roomId")]
        room_id: String,
        content: String,
    },
}

/// `{roomId, userName}`: the payload of `rooms.onJoin` and `rooms.onLeave`.
#[derive(Debug, Serialize)]
pub struct MemberEvent<'a> {
    #[serde(rename = "roomId")]
    pub room_id: &'a str,
    #[serde(rename = "userName")]
    pub user_name: &'a str,
}

/// `{roomId, userName, content, timestamp}`: the payload of `rooms.onMessage`.
#[derive(Debug, Serialize)]
pub struct ChatMessage<'a> {
    #[serde(rename = "roomId")]
    pub room_id: &'a str,
    #[serde(rename = "userName")]
    pub user_name: &'a str,
    pub content: &'a str,
    pub timestamp: String,
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    payload: T,
}

/// Serialises one outgoing frame: `{"type":kind,"payload":payload}`.
pub fn envelope<T: Serialize>(kind: &str, payload: T) -> String {
    serde_json::to_string(&Envelope { kind, payload }).unwrap_or_else(|_| String::from("{}"))
}

/// The current time as an RFC 3339 string with millisecond precision.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Reads `user-name` from a query string (`a=1&user-name=Alice`), percent
/// decoding is not needed for the benchmark's names (`u123`).
pub fn user_name_from_query(query: Option<&str>) -> String {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("user-name="))
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map(str::to_owned)
        .unwrap_or_else(|| String::from("anonymous"))
}

/// The address a server binds: `--addr HOST:PORT` on the command line, else
/// `127.0.0.1:$PORT`, else `127.0.0.1:0` (an ephemeral port).
pub fn server_addr() -> SocketAddr {
    let mut args = std::env::args().skip(1);
    let mut addr: Option<String> = None;
    while let Some(a) = args.next() {
        if a == "--addr" {
            addr = args.next();
        } else if let Some(v) = a.strip_prefix("--addr=") {
            addr = Some(v.to_owned());
        }
    }
    let addr = addr
        .or_else(|| std::env::var("PORT").ok().map(|p| format!("127.0.0.1:{p}")))
        .unwrap_or_else(|| String::from("127.0.0.1:0"));
    match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bad --addr {addr:?}: {e}");
            std::process::exit(2);
        }
    }
}

/// Prints `LISTENING <port>` on stdout (and flushes) so scripts find the port.
pub fn announce(addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "LISTENING {}", addr.port());
    let _ = out.flush();
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        let mut rl = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) != 0 {
            return 0;
        }
        if rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit {
                rlim_cur: rl.rlim_max,
                rlim_max: rl.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        rl.rlim_cur
    }
}

/// Clock ticks per second used by `/proc/<pid>/stat`.
pub fn clk_tck() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of a process (all its threads) in seconds, from `/proc/<pid>/stat`.
pub fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let mut f = rest.split_ascii_whitespace();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((utime + stime) as f64 / clk_tck())
}

/// Resident set size of a process in KiB (`VmRSS` in `/proc/<pid>/status`).
pub fn proc_rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_ascii_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU seconds (user + system) used by this process so far.
pub fn self_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills a zeroed local struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) != 0 {
            return 0.0;
        }
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        tv(ru.ru_utime) + tv(ru.ru_stime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_incoming() {
        let m: Incoming = serde_json::from_str(
            r#"{"type":"rooms.message","payload":{"roomId":"r1","content":"hi"}}"#,
        )
        .unwrap();
        assert!(
            matches!(m, Incoming::Message { ref room_id, ref content } if room_id == "r1" && content == "hi")
        );
        assert!(serde_json::from_str::<Incoming>(r#"{"type":"nope","payload":{}}"#).is_err());
    }

    #[test]
    fn serialises_envelope() {
        let s = envelope(
            "rooms.onJoin",
            MemberEvent {
                room_id: "r",
                user_name: "u1",
            },
        );
        assert_eq!(
            s,
            r#"{"type":"rooms.onJoin","payload":{"roomId":"r","userName":"u1"}}"#
        );
    }

    #[test]
    fn query_user_name() {
        assert_eq!(user_name_from_query(Some("a=1&user-name=u7")), "u7");
        assert_eq!(user_name_from_query(None), "anonymous");
    }

    #[test]
    fn reads_own_proc() {
        let pid = std::process::id();
        assert!(proc_cpu_seconds(pid).is_some());
        assert!(proc_rss_kb(pid).unwrap_or(0) > 0);
    }
}
