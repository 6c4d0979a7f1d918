//! Harness for multi-node tests: a small router, servers on 127.0.0.1 port 0
//! each with its own adapter connection, typed clients, and the brokers
//! (the machine's Redis / NATS, or ones this harness starts).
//!
//! Brokers: the machine's (127.0.0.1:6379, 127.0.0.1:4222) if they answer,
//! else a `redis-server` / `nats-server` started on a free port if the
//! binary exists, else the test is skipped with a message — unless
//! `ZOCKET_REQUIRE_BROKERS=1`, which CI sets: then it fails.

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rand::Rng;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::{timeout, Instant};
use zocket::adapter::AdapterStats;
use zocket::client::Messages;
use zocket_nats::{NatsAdapter, NatsConfig};
use zocket_redis::{RedisAdapter, RedisConfig};

/// The test router: rooms, talk with a per-sender sequence number, private
/// messages by id, broadcasts.
#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        #[zocket(default = "anon")]
        pub name: String,
    }

    pub mod room {
        #[incoming]
        pub struct Join {
            pub room: String,
        }
        #[incoming]
        pub struct Leave {
            pub room: String,
        }
        /// Talk in `room`; `except_self` leaves the speaker out.
        #[incoming]
        pub struct Say {
            pub room: String,
            pub seq: u64,
            pub except_self: bool,
        }
        #[incoming]
        pub struct Whisper {
            pub to: String,
            pub seq: u64,
        }
        #[incoming]
        pub struct Shout {
            pub seq: u64,
        }

        /// The joiner's acknowledgement, carrying its client id.
        #[outgoing]
        pub struct Joined {
            pub room: String,
            pub id: String,
        }
        #[outgoing]
        pub struct Said {
            pub room: String,
            pub from: String,
            pub seq: u64,
        }
        #[outgoing]
        pub struct Whispered {
            pub from: String,
            pub seq: u64,
        }
        #[outgoing]
        pub struct Shouted {
            pub from: String,
            pub seq: u64,
        }
    }
}

pub use app::room::{Joined, Said, Shouted, Whispered};

/// The test application.
pub struct App;

impl app::Server for App {
    type Context = ();
    async fn on_connect(
        &self,
        _headers: app::Headers,
        _id: &zocket::ClientId,
    ) -> Result<(), zocket::Reject> {
        Ok(())
    }
}

impl app::room::Handlers for App {
    async fn join(&self, cx: &app::Ctx<()>, m: app::room::Join) {
        if cx.rooms().join(&m.room).is_ok() {
            cx.send()
                .room()
                .joined(Joined {
                    room: m.room,
                    id: cx.client_id().to_string(),
                })
                .to([cx.client_id()]);
        }
    }

    async fn leave(&self, cx: &app::Ctx<()>, m: app::room::Leave) {
        let _was_member = cx.rooms().leave(&m.room);
    }

    async fn say(&self, cx: &app::Ctx<()>, m: app::room::Say) {
        let out = cx.send().room().said(Said {
            room: m.room.clone(),
            from: cx.client_id().to_string(),
            seq: m.seq,
        });
        if m.except_self {
            out.except_self().to_room([&m.room]);
        } else {
            out.to_room([&m.room]);
        }
    }

    async fn whisper(&self, cx: &app::Ctx<()>, m: app::room::Whisper) {
        cx.send()
            .room()
            .whispered(Whispered {
                from: cx.client_id().to_string(),
                seq: m.seq,
            })
            .to([&m.to]);
    }

    async fn shout(&self, cx: &app::Ctx<()>, m: app::room::Shout) {
        cx.send()
            .room()
            .shouted(Shouted {
                from: cx.client_id().to_string(),
                seq: m.seq,
            })
            .broadcast();
    }
}

/// Longest wait for any single expected event.
pub const WAIT: Duration = Duration::from_secs(10);

/// Either adapter, so scenarios run on both.
#[derive(Clone)]
pub enum Bus {
    Redis(RedisAdapter),
    Nats(NatsAdapter),
}

impl Bus {
    pub async fn ready(&self, within: Duration) -> bool {
        match self {
            Bus::Redis(a) => a.ready(within).await,
            Bus::Nats(a) => a.ready(within).await,
        }
    }
    pub fn stats(&self) -> AdapterStats {
        match self {
            Bus::Redis(a) => a.stats(),
            Bus::Nats(a) => a.stats(),
        }
    }
    /// Simulates a crash of this node's cluster side.
    pub fn abort(&self) {
        match self {
            Bus::Redis(a) => a.abort(),
            Bus::Nats(a) => a.abort(),
        }
    }
}

/// Which broker, where, and with which key/subject prefix.
#[derive(Clone, Debug)]
pub enum BusKind {
    Redis { url: String, prefix: String },
    Nats { url: String, prefix: String },
}

impl BusKind {
    /// A fresh adapter; fast heartbeats so failure tests are quick.
    pub fn adapter(&self) -> Bus {
        self.adapter_with_buffer(None)
    }

    /// As [`BusKind::adapter`], with an op buffer of `buffer` operations
    /// (the adapter's default when `None`).
    pub fn adapter_with_buffer(&self, buffer: Option<usize>) -> Bus {
        let hb = Duration::from_millis(200);
        let dead = Duration::from_millis(1000);
        let backoff = (Duration::from_millis(50), Duration::from_millis(500));
        match self {
            BusKind::Redis { url, prefix } => {
                let mut config = RedisConfig::new(url.clone())
                    .prefix(prefix.clone())
                    .heartbeat(hb, dead)
                    .backoff(backoff.0, backoff.1);
                if let Some(ops) = buffer {
                    config = config.buffer(ops);
                }
                Bus::Redis(RedisAdapter::new(config).expect("valid redis config"))
            }
            BusKind::Nats { url, prefix } => {
                let mut config = NatsConfig::new(url.clone())
                    .prefix(prefix.clone())
                    .heartbeat(hb, dead)
                    .query_timeout(Duration::from_millis(500))
                    .backoff(backoff.0, backoff.1);
                if let Some(ops) = buffer {
                    config = config.buffer(ops);
                }
                Bus::Nats(NatsAdapter::new(config).expect("valid nats config"))
            }
        }
    }
}

/// A unique prefix so test runs (and tests) never see each other's keys.
pub fn prefix(test: &str) -> String {
    let n: u32 = rand::rng().random();
    format!("zt-{test}-{}-{n:08x}", std::process::id())
}

/// One server with its adapter.
pub struct Node {
    pub url: String,
    pub handle: zocket::Handle<app::Router>,
    pub bus: Bus,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Node {
    pub async fn start(kind: &BusKind) -> Node {
        Node::start_on(kind.adapter()).await
    }

    /// A node on an adapter built by the caller.
    pub async fn start_on(bus: Bus) -> Node {
        // RUST_LOG=zocket_redis=debug,zocket_nats=debug to see the adapters.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = app::Router::server(App);
        let server = match &bus {
            Bus::Redis(a) => server.with_adapter(a.clone()),
            Bus::Nats(a) => server.with_adapter(a.clone()),
        };
        let handle = server.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_with_shutdown(listener, async {
            let _ = stopped.await;
        }));
        assert!(
            bus.ready(WAIT).await,
            "node's adapter did not connect within {WAIT:?}"
        );
        Node {
            url: format!("ws://{addr}/"),
            handle,
            bus,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Graceful shutdown (deregisters from the cluster).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = timeout(WAIT, task).await;
        }
    }

    /// A crash as far as the cluster can tell: the adapter stops at once,
    /// without deregistering, then the server goes away.
    pub async fn crash(mut self) {
        self.bus.abort();
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.handle.shutdown().await;
    }

    pub async fn members(&self, room: &str) -> Option<BTreeSet<String>> {
        self.handle
            .members_all(room)
            .await
            .ok()
            .map(|ids| ids.iter().map(|id| id.to_string()).collect())
    }
}

/// A typed client of the test router.
pub struct Peer {
    pub client: zocket::client::Client<app::Router>,
    messages: Messages<app::Router>,
    pub id: String,
}

impl Peer {
    /// Connects and joins `room`; learns its id from the join
    /// acknowledgement.
    pub async fn join(url: &str, room: &str) -> Peer {
        let client = app::Client::builder(url)
            .headers(app::Headers {
                name: "test".into(),
            })
            .reconnect(None)
            .connect()
            .await
            .expect("connect");
        let messages = client.messages();
        let mut peer = Peer {
            client,
            messages,
            id: String::new(),
        };
        peer.client
            .send()
            .room()
            .join(app::room::Join { room: room.into() })
            .expect("send join");
        let joined = peer
            .next_where(|m| match m {
                app::Outgoing::Room(app::room::Outgoing::Joined(j)) => Some(j),
                _ => None,
            })
            .await
            .expect("join acknowledged");
        peer.id = joined.id;
        peer
    }

    pub fn say(&self, room: &str, seq: u64, except_self: bool) {
        self.client
            .send()
            .room()
            .say(app::room::Say {
                room: room.into(),
                seq,
                except_self,
            })
            .expect("send say");
    }

    pub fn whisper(&self, to: &str, seq: u64) {
        self.client
            .send()
            .room()
            .whisper(app::room::Whisper { to: to.into(), seq })
            .expect("send whisper");
    }

    pub fn shout(&self, seq: u64) {
        self.client
            .send()
            .room()
            .shout(app::room::Shout { seq })
            .expect("send shout");
    }

    pub fn leave(&self, room: &str) {
        self.client
            .send()
            .room()
            .leave(app::room::Leave { room: room.into() })
            .expect("send leave");
    }

    /// The next message (any), within [`WAIT`].
    pub async fn next(&mut self) -> Option<app::Outgoing> {
        self.next_within(WAIT).await
    }

    /// The next message (any), within `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<app::Outgoing> {
        timeout(within, self.messages.next()).await.ok().flatten()
    }

    /// Skips messages until `pick` matches one, within [`WAIT`] overall.
    pub async fn next_where<T>(&mut self, pick: impl Fn(app::Outgoing) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + WAIT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.messages.next())
                .await
                .ok()
                .flatten()?;
            if let Some(found) = pick(message) {
                return Some(found);
            }
        }
    }

    /// The next `Said`, failing on anything else.
    pub async fn next_said(&mut self) -> Option<Said> {
        match self.next().await? {
            app::Outgoing::Room(app::room::Outgoing::Said(s)) => Some(s),
            other => panic!("expected Said, got {other:?}"),
        }
    }
}

/// Polls `check` until it is true or `within` passes (membership has no
/// event to wait on: it lives in the broker). True if it became true.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until every node reports exactly `expected` as the members of
/// `room`.
pub async fn converge(nodes: &[&Node], room: &str, expected: &BTreeSet<String>) -> bool {
    eventually(WAIT, || async {
        for node in nodes {
            if node.members(room).await.as_ref() != Some(expected) {
                return false;
            }
        }
        true
    })
    .await
}

// ---- brokers ---------------------------------------------------------------

/// A broker this harness started; killed on drop.
pub struct OwnedBroker {
    pub port: u16,
    kind: &'static str,
    child: Option<Child>,
    _dir: Option<PathBuf>,
}

impl OwnedBroker {
    /// Starts `redis-server` or `nats-server` on `port` (0: a free one).
    pub async fn start(kind: &'static str, port: u16) -> Option<OwnedBroker> {
        let port = if port == 0 { free_port().await } else { port };
        let binary = find_binary(kind)?;
        let mut command = Command::new(&binary);
        let dir = std::env::temp_dir().join(format!("zocket-{kind}-{port}"));
        let _ = std::fs::create_dir_all(&dir);
        match kind {
            "redis" => {
                command.args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                ]);
                command.arg(&dir);
            }
            _ => {
                command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let child = command.spawn().ok()?;
        let broker = OwnedBroker {
            port,
            kind,
            child: Some(child),
            _dir: Some(dir),
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let up = eventually(WAIT, || async { TcpStream::connect(addr).await.is_ok() }).await;
        up.then_some(broker)
    }

    pub fn url(&self) -> String {
        match self.kind {
            "redis" => format!("redis://127.0.0.1:{}", self.port),
            _ => format!("nats://127.0.0.1:{}", self.port),
        }
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients) and waits for
    /// it to exit.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

fn find_binary(kind: &str) -> Option<PathBuf> {
    let name = format!("{kind}-server");
    let candidates = ["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"];
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(candidates.iter().map(PathBuf::from))
        .map(|dir| dir.join(&name))
        .find(|path| path.is_file())
}

async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A broker to run against: the machine's, or one started here.
pub struct Broker {
    pub url: String,
    _owned: Option<OwnedBroker>,
}

/// Finds a broker (`"redis"` or `"nats"`), or explains why the test is
/// skipped (`None`). Panics instead when `ZOCKET_REQUIRE_BROKERS=1`.
pub async fn broker(kind: &'static str) -> Option<Broker> {
    let (port, scheme) = match kind {
        "redis" => (6379, "redis"),
        _ => (4222, "nats"),
    };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    if timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .is_ok_and(|r| r.is_ok())
    {
        return Some(Broker {
            url: format!("{scheme}://127.0.0.1:{port}"),
            _owned: None,
        });
    }
    if let Some(owned) = OwnedBroker::start(kind, 0).await {
        return Some(Broker {
            url: owned.url(),
            _owned: Some(owned),
        });
    }
    skip(&format!(
        "no {kind} at 127.0.0.1:{port} and no {kind}-server binary to start"
    ));
    None
}

/// Starts a broker this test owns (for restarts), or skips.
pub async fn owned_broker(kind: &'static str) -> Option<OwnedBroker> {
    let owned = OwnedBroker::start(kind, 0).await;
    if owned.is_none() {
        skip(&format!(
            "no {kind}-server binary to start a test-owned {kind}"
        ));
    }
    owned
}

fn skip(why: &str) {
    if std::env::var("ZOCKET_REQUIRE_BROKERS").is_ok_and(|v| v == "1") {
        panic!("ZOCKET_REQUIRE_BROKERS=1 but {why}");
    }
    eprintln!("SKIPPED: {why} (set ZOCKET_REQUIRE_BROKERS=1 to make this a failure)");
}

pub mod scenarios;
