//! Shared by the tests that run the example binaries as child processes
//! (`examples_lifecycle`, `chat_axum`): builds a binary of
//! `zocket-examples` with the cargo running the tests, starts it on
//! 127.0.0.1 port 0, reads its `LISTENING <port>` line and its log, and
//! signals it. Every wait is on an event, bounded by a timeout.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Every wait on a child process is bounded by this.
pub const WAIT: Duration = Duration::from_secs(10);

/// The profile directory the test executable runs from
/// (`<target>/debug/deps/<test>` → `<target>/debug`): the example binaries
/// are built into the same one.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("test executable in <target>/<profile>/deps")
        .to_path_buf()
}

/// The path of example binary `name`, built first. Cargo does not build
/// another package's binaries for a test, and a binary left over from an
/// earlier build would test old code, so this runs `cargo build` once per
/// binary per test process (a no-op when it is fresh).
pub fn example_binary(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let dir = profile_dir();
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    let built = built.get_or_insert_with(HashSet::new);
    if !built.contains(name) {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = std::process::Command::new(cargo);
        command.args(["build", "--quiet", "-p", "zocket-examples", "--bin", name]);
        // What cargo set for this test process describes this package, not
        // the build; build scripts that track such variables (ring's track
        // CARGO_PKG_NAME, OUT_DIR, ...) would see them change and rebuild,
        // here and again in the next plain `cargo test`.
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            let set_by_cargo = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_CRATE_",
                "CARGO_BIN_",
            ]
            .iter()
            .any(|prefix| key.starts_with(prefix))
                || ["OUT_DIR", "CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR"].contains(&key);
            if set_by_cargo {
                command.env_remove(key);
            }
        }
        let target_dir = dir.parent().expect("target dir");
        command.arg("--target-dir").arg(target_dir);
        match dir.file_name().and_then(|p| p.to_str()) {
            Some("debug") => {}
            Some("release") => {
                command.arg("--release");
            }
            Some(profile) => {
                command.args(["--profile", profile]);
            }
            None => panic!("no profile directory in {}", dir.display()),
        }
        let status = command.status().expect("run cargo build");
        assert!(status.success(), "cargo build of {name} failed");
        built.insert(name.to_owned());
    }
    dir.join(name)
}

/// A running example binary; killed when dropped.
pub struct Example {
    pub child: Child,
    pub port: u16,
    /// Every line the child printed so far, stdout and stderr interleaved
    /// as read.
    pub log: Vec<Vec<u8>>,
    lines: mpsc::UnboundedReceiver<Vec<u8>>,
    /// The child's stdin, for [`interactive`](Self::interactive) ones.
    stdin: Option<ChildStdin>,
}

impl Example {
    /// Starts example binary `name` with `--addr 127.0.0.1:0` and `args`,
    /// logging at info, and waits for its `LISTENING <port>` line.
    pub async fn start(name: &str, args: &[&str]) -> Example {
        let mut full = vec!["--addr", "127.0.0.1:0"];
        full.extend_from_slice(args);
        let mut example = Example::spawn(name, &full, "info", Stdio::null());
        let line = example
            .wait_for_line(|line| line.starts_with(b"LISTENING "))
            .await;
        let line = String::from_utf8_lossy(&line);
        example.port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("bad LISTENING line {line:?}"));
        example
    }

    /// Starts example binary `name` with `args` and its stdin piped (a
    /// terminal program: no address, no `LISTENING` line).
    pub async fn interactive(name: &str, args: &[&str]) -> Example {
        Example::spawn(name, args, "warn", Stdio::piped())
    }

    /// Runs the binary with stdout and stderr forwarded, line by line, to
    /// what `wait_for_line` reads.
    fn spawn(name: &str, args: &[&str], log: &str, stdin: Stdio) -> Example {
        let binary = example_binary(name);
        let mut child = Command::new(&binary)
            .args(args)
            .env("RUST_LOG", log)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        let (tx, lines) = mpsc::unbounded_channel();
        forward(child.stdout.take().expect("stdout"), tx.clone());
        forward(child.stderr.take().expect("stderr"), tx);
        let stdin = child.stdin.take();
        Example {
            child,
            port: 0,
            log: Vec::new(),
            lines,
            stdin,
        }
    }

    /// Types `line` (and a newline) into an interactive child.
    pub async fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("an interactive child");
        tokio::time::timeout(WAIT, async {
            stdin.write_all(line.as_bytes()).await?;
            stdin.write_all(b"\n").await?;
            stdin.flush().await
        })
        .await
        .expect("stdin write timed out")
        .expect("write to the child's stdin");
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Reads the child's output until a line matches `wanted` (which is
    /// returned) or [`WAIT`] passes (a failed test).
    pub async fn wait_for_line(&mut self, wanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("no such line within {WAIT:?}; got {}", self.dump()))
                .unwrap_or_else(|| panic!("the child's output ended; got {}", self.dump()));
            self.log.push(line.clone());
            if wanted(&line) {
                return line;
            }
        }
    }

    /// Reads the child's output until it ends (the child closed stdout and
    /// stderr, as on exit), at most [`WAIT`]; every line goes to `log`.
    pub async fn read_to_end(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("output still open after {WAIT:?}; got {}", self.dump())
                });
            match line {
                Some(line) => self.log.push(line),
                None => return,
            }
        }
    }

    /// Everything read so far, for failure messages.
    pub fn dump(&self) -> String {
        self.log
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Sends the child SIGTERM, as a service manager stopping it would.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("child still running");
        let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid this test spawned and still owns (not
        // yet reaped, so the pid cannot have been reused).
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Waits for the child to exit, at most [`WAIT`].
    pub async fn wait_exit(&mut self) -> ExitStatus {
        tokio::time::timeout(WAIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("still running after {WAIT:?}; log: {}", self.dump()))
            .expect("wait for child")
    }
}

/// Whether `needle` occurs in the log line `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Sends each line of `from` (newline stripped, bytes as printed) to `to`.
fn forward(from: impl AsyncRead + Unpin + Send + 'static, to: mpsc::UnboundedSender<Vec<u8>>) {
    tokio::spawn(async move {
        let mut from = BufReader::new(from);
        loop {
            let mut line = Vec::new();
            match from.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if to.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

/// A plain HTTP/1.1 GET on `addr`: (status code, body).
pub async fn http_get(addr: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write request");
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut response))
        .await
        .expect("response timed out")
        .expect("read response");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    (status, body.to_owned())
}

/// The chat's join notice for `user` in `room`, as a raw client reads it.
pub fn on_join(room: &str, user: &str) -> serde_json::Value {
    serde_json::json!({"type": "rooms.onJoin", "payload": {"roomId": room, "userName": user}})
}

/// The next frame, which must be `user`'s chat message `content` in
/// `general` (its timestamp aside).
pub async fn expect_message(c: &mut zocket_tests::RawClient, user: &str, content: &str) {
    let mut frame = c.recv_json().await;
    frame["payload"]
        .as_object_mut()
        .and_then(|p| p.remove("timestamp"))
        .unwrap_or_else(|| panic!("expected a message, got {frame}"));
    assert_eq!(
        frame,
        serde_json::json!({"type": "rooms.onMessage", "payload": {"roomId": "general", "userName": user, "content": content}})
    );
}
