//! An in-process bus for the cluster module's tests: it records what the
//! worker asks of it, so order, counting and reconnects can be watched
//! without a broker (the real buses are tested in `cluster-tests`).

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};
use zocket_core::ClientId;

use std::sync::Arc;

use crate::adapter::{Adapter, AdapterError, Forward, ForwardTarget, LocalNode};
use crate::cluster::{
    Bus, BusOptions, Cluster, ClusterConfig, Context, Failure, Op, Overflow, Route, Session,
};

/// An in-process bus that records what the worker asks of it, so the
/// worker's order, counting and reconnects can be watched.
#[derive(Clone, Default)]
pub(crate) struct Probe(pub(crate) Arc<ProbeState>);

#[derive(Default)]
pub(crate) struct ProbeState {
    events: Mutex<Option<mpsc::UnboundedSender<String>>>,
    /// Connects still to fail (lost), before one succeeds.
    pub(crate) failing: AtomicU32,
    pub(crate) fatal: AtomicBool,
    /// Breaks the current session.
    pub(crate) break_link: Notify,
}

impl fmt::Debug for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Probe")
    }
}

impl BusOptions for Probe {
    const QUERY_TIMEOUT: Duration = Duration::from_secs(5);
}

impl Probe {
    fn log(&self, event: impl Into<String>) {
        if let Some(tx) = &*self.0.events.lock() {
            let _ = tx.send(event.into());
        }
    }
}

pub(crate) struct TestBus(Probe);

pub(crate) struct TestSession(Probe);

impl Bus for TestBus {
    type Options = Probe;
    type Error = std::io::Error;
    type Session = TestSession;
    const NAME: &'static str = "test";
    const OVERFLOW: Overflow = Overflow::Resync;

    fn open(config: &ClusterConfig<Probe>) -> Result<Self, Self::Error> {
        Ok(TestBus(config.options.clone()))
    }

    async fn connect(cx: &Arc<Context<Self>>) -> Result<TestSession, Failure> {
        let probe = cx.bus().0.clone();
        probe.log("connect");
        if probe.0.fatal.load(Ordering::SeqCst) {
            return Err(Failure::fatal("bad url"));
        }
        if probe
            .0
            .failing
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Failure::lost("refused"));
        }
        cx.set_connected();
        Ok(TestSession(probe))
    }

    async fn remote_members(_: &Context<Self>, room: &str) -> Result<Vec<ClientId>, AdapterError> {
        Ok(vec![ClientId::from(room)])
    }

    fn disconnect(&self) {
        self.0.log("disconnect");
    }
}

impl Session<TestBus> for TestSession {
    async fn recv(&mut self, _: &Arc<Context<TestBus>>) -> Result<(), Failure> {
        self.0 .0.break_link.notified().await;
        Err(Failure::lost("link broken"))
    }

    async fn apply(
        &mut self,
        _: &Arc<Context<TestBus>>,
        ops: &mut Vec<Op>,
    ) -> Result<u64, Failure> {
        let mut published = 0;
        for op in ops.drain(..) {
            match op {
                Op::Publish {
                    route: Route::Room(room),
                    ..
                } => {
                    published += 1;
                    self.0.log(format!("publish {room}"));
                }
                Op::Publish {
                    route: Route::All, ..
                } => {
                    published += 1;
                    self.0.log("publish all");
                }
                Op::Join { room, client } => self.0.log(format!("join {room} {client}")),
                Op::Leave { room, client } => self.0.log(format!("leave {room} {client}")),
            }
        }
        Ok(published)
    }

    async fn heartbeat(&mut self, _: &Arc<Context<TestBus>>) -> Result<(), Failure> {
        self.0.log("beat");
        Ok(())
    }

    async fn leave(&mut self, _: &Arc<Context<TestBus>>) -> Result<(), Failure> {
        self.0.log("bye");
        Ok(())
    }
}

pub(crate) fn start(probe: &Probe) -> (Cluster<TestBus>, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    *probe.0.events.lock() = Some(tx);
    let config = ClusterConfig::<Probe>::new("test://")
        .heartbeat(Duration::from_secs(3600), Duration::from_secs(7200))
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
        .options(|_| probe.clone());
    let cluster = Cluster::<TestBus>::new(config).expect("valid");
    cluster.bind(LocalNode::detached());
    (cluster, rx)
}

pub(crate) async fn next(events: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event in time")
        .expect("the probe is alive")
}

pub(crate) fn room_send<'a>(rooms: &'a [&'a str]) -> Forward<'a> {
    Forward {
        target: ForwardTarget::Rooms(rooms),
        except: &[],
        except_origin: None,
        volatile: false,
        frame: "{}",
    }
}
