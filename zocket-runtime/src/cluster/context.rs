//! What a node's bus adapter shares between the send paths, the worker,
//! the bus' own tasks and membership queries.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, OnceLock};

use parking_lot::Mutex;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::queue::{Op, Queue};
use super::{Bus, ClusterConfig};
use crate::adapter::{AdapterMetrics, Inbound, LocalNode, NodeId};

/// The local node before the adapter is bound: every call a no-op.
static UNBOUND: LazyLock<LocalNode> = LazyLock::new(LocalNode::detached);

/// The state of one node's adapter, as a [`Bus`] and its [`Session`](super::Session)s
/// see it.
pub struct Context<B: Bus> {
    pub(crate) bus: B,
    config: ClusterConfig<B::Options>,
    node: NodeId,
    pub(crate) queue: Queue,
    metrics: AdapterMetrics,
    ready: watch::Sender<bool>,
    /// The worker and every task the bus spawned: aborted on close.
    tasks: Mutex<Vec<JoinHandle<()>>>,
    closed: AtomicBool,
    local: OnceLock<LocalNode>,
}

impl<B: Bus> Context<B> {
    pub(crate) fn new(bus: B, config: ClusterConfig<B::Options>) -> Self {
        Context {
            bus,
            queue: Queue::new(config.buffer),
            config,
            node: NodeId::generate(),
            metrics: AdapterMetrics::default(),
            ready: watch::Sender::new(false),
            tasks: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            local: OnceLock::new(),
        }
    }

    /// The bus.
    pub fn bus(&self) -> &B {
        &self.bus
    }

    /// The settings.
    pub fn config(&self) -> &ClusterConfig<B::Options> {
        &self.config
    }

    /// This node's id.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// The counters behind [`AdapterStats`](crate::adapter::AdapterStats).
    pub fn metrics(&self) -> &AdapterMetrics {
        &self.metrics
    }

    /// This node's connections and rooms.
    pub fn local(&self) -> &LocalNode {
        self.local.get().unwrap_or(&UNBOUND)
    }

    pub(crate) fn bind(&self, node: LocalNode) -> bool {
        self.local.set(node).is_ok()
    }

    /// Decodes a send from the bus and delivers it to local members,
    /// unless this node sent it (it delivered locally already). Counted as
    /// received, or as a bad message when it does not decode.
    pub fn receive(&self, payload: &[u8]) {
        match Inbound::decode(payload) {
            Ok(inbound) if inbound.origin == self.node => {}
            Ok(inbound) => {
                self.local().deliver(&inbound);
                self.metrics.count_received();
            }
            Err(error) => {
                AdapterMetrics::incr(&self.metrics.bad_messages);
                tracing::warn!(%error, bus = B::NAME, "undecodable message on the bus; ignored");
            }
        }
    }

    /// The node is connected and registered: sends cross the bus again and
    /// `ready` returns.
    pub fn set_connected(&self) {
        self.metrics.connected.store(true, Ordering::Relaxed);
        self.ready.send_replace(true);
    }

    /// The connection is gone. True if it was up (then counted as an
    /// outage).
    pub fn set_disconnected(&self) -> bool {
        let was = self.metrics.connected.swap(false, Ordering::Relaxed);
        if was {
            AdapterMetrics::incr(&self.metrics.outages);
        }
        self.ready.send_replace(false);
        was
    }

    /// Runs `task` until the adapter closes or aborts.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        self.tasks.lock().push(handle);
    }

    /// Whether `close` or `abort` was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_closed(&self) -> bool {
        self.closed.swap(true, Ordering::SeqCst)
    }

    pub(crate) fn push_task(&self, task: JoinHandle<()>) {
        self.tasks.lock().push(task);
    }

    /// Stops every task and forgets the connection, without a word to the
    /// other nodes.
    pub(crate) fn stop(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        self.bus.disconnect();
        self.metrics.connected.store(false, Ordering::Relaxed);
    }

    pub(crate) fn ready_receiver(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }

    pub(crate) fn enqueue(&self, op: Op) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        self.queue.push(op, B::OVERFLOW, &self.metrics, B::NAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{Forward, ForwardTarget};
    use crate::cluster::test_bus::{Probe, TestBus};

    fn context() -> Context<TestBus> {
        let config = ClusterConfig::<Probe>::new("test://");
        let bus = TestBus::open(&config).expect("valid");
        Context::new(bus, config)
    }

    fn frame(origin: &NodeId) -> Vec<u8> {
        Forward {
            target: ForwardTarget::All,
            except: &[],
            except_origin: None,
            volatile: false,
            frame: "{}",
        }
        .encode(origin)
    }

    #[test]
    fn receive_counts_other_nodes_sends_and_bad_messages_but_not_its_own() {
        let cx = context();
        cx.receive(&frame(cx.node()));
        assert_eq!(cx.metrics().snapshot().received, 0);
        cx.receive(&frame(&NodeId::from("node_other")));
        cx.receive(b"not a bus frame");
        let stats = cx.metrics().snapshot();
        assert_eq!(stats.received, 1);
        assert_eq!(stats.bad_messages, 1);
    }

    #[test]
    fn an_outage_is_counted_only_when_the_node_was_connected() {
        let cx = context();
        let ready = cx.ready_receiver();
        assert!(!cx.set_disconnected());
        assert_eq!(cx.metrics().snapshot().outages, 0);
        cx.set_connected();
        assert!(*ready.borrow());
        assert!(cx.metrics().snapshot().connected);
        assert!(cx.set_disconnected());
        assert!(!*ready.borrow());
        assert_eq!(cx.metrics().snapshot().outages, 1);
    }

    #[test]
    fn nothing_is_queued_once_closed() {
        let cx = context();
        let mut rx = cx.queue.take_receiver().expect("receiver");
        cx.enqueue(Op::Publish {
            route: crate::cluster::Route::All,
            payload: Vec::new(),
        });
        assert!(!cx.mark_closed());
        assert!(cx.mark_closed(), "already closed");
        assert!(cx.is_closed());
        cx.enqueue(Op::Publish {
            route: crate::cluster::Route::All,
            payload: Vec::new(),
        });
        assert!(rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn binding_happens_once() {
        let cx = context();
        assert!(!cx.local().is_alive());
        assert!(cx.bind(LocalNode::detached()));
        assert!(!cx.bind(LocalNode::detached()));
    }
}
