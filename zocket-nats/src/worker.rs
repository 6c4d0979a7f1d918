//! The NATS client as the cluster worker drives it. The client reconnects
//! by itself and restores subscriptions, so one session lasts the node's
//! life: its events set the connection state, and the session publishes
//! and (un)subscribes in order over the client's single connection.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::JoinHandle;
use zocket_runtime::cluster::{Context, Failure, Op};

use crate::{liveness, membership, Nats};

/// The client, with a reader task per room subscription.
pub struct Session {
    client: Client,
    /// Room subscriptions, each read by its own task; dropping one
    /// unsubscribes.
    rooms: HashMap<String, JoinHandle<()>>,
}

/// Connects (retrying in the background until NATS answers), subscribes
/// to the cluster subjects and every local room, and says hello.
pub(crate) async fn connect(cx: &Arc<Context<Nats>>) -> Result<Session, Failure> {
    let config = cx.config();
    let backoff = config.reconnect_backoff();
    let events = Arc::downgrade(cx);
    let options = ConnectOptions::new()
        .name(format!("zocket {}", cx.node()))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(config.query_timeout.max(Duration::from_secs(1)))
        .reconnect_delay_callback(move |attempts| {
            backoff.delay(u32::try_from(attempts).unwrap_or(u32::MAX))
        })
        .event_callback(move |event| {
            let cx = events.clone();
            async move { on_event(&cx, event) }
        });
    // Only a URL it can't use fails here: connecting is retried inside.
    let client = options
        .connect(config.url.as_str())
        .await
        .map_err(Failure::fatal)?;
    *cx.bus().client.lock() = Some(client.clone());
    let mut session = Session {
        client,
        rooms: HashMap::new(),
    };
    session.start(cx).await.map_err(Failure::fatal)?;
    Ok(session)
}

fn on_event(cx: &Weak<Context<Nats>>, event: Event) {
    let Some(cx) = cx.upgrade() else {
        return;
    };
    match event {
        Event::Connected => {
            // The client restores subscriptions before it reports this.
            cx.set_connected();
            tracing::info!(node = %cx.node(), "connected to NATS");
        }
        Event::Disconnected => {
            cx.set_disconnected();
            tracing::warn!(node = %cx.node(), "lost NATS; serving local clients only, reconnecting");
        }
        Event::SlowConsumer(sid) => {
            tracing::warn!(node = %cx.node(), sid, "NATS subscription too slow; messages dropped");
        }
        other => tracing::info!(node = %cx.node(), event = %other, "NATS event"),
    }
}

/// Hands every send on `subscriber` to the local node.
async fn read_sends(cx: Arc<Context<Nats>>, mut subscriber: Subscriber) {
    while let Some(message) = subscriber.next().await {
        cx.receive(&message.payload);
    }
}

impl Session {
    async fn start(&mut self, cx: &Arc<Context<Nats>>) -> Result<(), async_nats::SubscribeError> {
        let subjects = &cx.bus().subjects;
        let all = self.client.subscribe(subjects.all.clone()).await?;
        let beats = self.client.subscribe(subjects.heartbeat.clone()).await?;
        let queries = self.client.subscribe(subjects.query.clone()).await?;
        cx.spawn(read_sends(cx.clone(), all));
        cx.spawn(liveness::read(cx.clone(), self.client.clone(), beats));
        cx.spawn(membership::serve(cx.clone(), self.client.clone(), queries));
        for (room, _) in cx.local().snapshot() {
            self.subscribe_room(cx, room).await?;
        }
        // Subscriptions are in place once the server has seen them.
        let _ = self.client.flush().await;
        self.beat(cx, false).await;
        if self.client.connection_state() == async_nats::connection::State::Connected {
            cx.set_connected();
        }
        Ok(())
    }

    async fn subscribe_room(
        &mut self,
        cx: &Arc<Context<Nats>>,
        room: String,
    ) -> Result<(), async_nats::SubscribeError> {
        if self.rooms.contains_key(&room) {
            return Ok(());
        }
        let subscriber = self.client.subscribe(cx.bus().subjects.room(&room)).await?;
        let reader = tokio::spawn(read_sends(cx.clone(), subscriber));
        self.rooms.insert(room, reader);
        Ok(())
    }

    async fn beat(&self, cx: &Context<Nats>, bye: bool) {
        let _ = self
            .client
            .publish(
                cx.bus().subjects.heartbeat.clone(),
                liveness::beat(cx.node(), bye),
            )
            .await;
    }
}

impl zocket_runtime::cluster::Session<Nats> for Session {
    async fn apply(&mut self, cx: &Arc<Context<Nats>>, ops: &mut Vec<Op>) -> Result<u64, Failure> {
        let mut published = 0u64;
        for op in ops.drain(..) {
            match op {
                Op::Publish { route, payload } => {
                    let subject = cx.bus().subjects.route(&route);
                    match self.client.publish(subject, Bytes::from(payload)).await {
                        Ok(()) => published += 1,
                        Err(error) => {
                            cx.metrics().count_dropped();
                            tracing::debug!(%error, "NATS publish failed");
                        }
                    }
                }
                Op::Join { room, .. } => {
                    if let Err(error) = self.subscribe_room(cx, room).await {
                        tracing::warn!(%error, "NATS subscribe failed");
                    } else {
                        // The room's traffic reaches us from when the server
                        // has the subscription, which a flush confirms.
                        let _ = self.client.flush().await;
                    }
                }
                Op::Leave { room, .. } => {
                    if !cx.local().has_room(&room) {
                        if let Some(reader) = self.rooms.remove(&room) {
                            reader.abort();
                        }
                    }
                }
            }
        }
        Ok(published)
    }

    async fn heartbeat(&mut self, cx: &Arc<Context<Nats>>) -> Result<(), Failure> {
        self.beat(cx, false).await;
        Ok(())
    }

    /// Subscribes to every local room and drops the subscriptions of rooms
    /// with no local member left, whichever joins and leaves were lost.
    async fn resync(&mut self, cx: &Arc<Context<Nats>>) -> Result<(), Failure> {
        let local: std::collections::HashSet<String> = cx
            .local()
            .snapshot()
            .into_iter()
            .map(|(room, _)| room)
            .collect();
        self.rooms.retain(|room, reader| {
            let keep = local.contains(room);
            if !keep {
                reader.abort();
            }
            keep
        });
        for room in local {
            if let Err(error) = self.subscribe_room(cx, room).await {
                tracing::warn!(%error, "NATS subscribe failed");
            }
        }
        let _ = self.client.flush().await;
        Ok(())
    }

    async fn leave(&mut self, cx: &Arc<Context<Nats>>) -> Result<(), Failure> {
        self.beat(cx, true).await;
        let _ = self.client.flush().await;
        for (_, reader) in self.rooms.drain() {
            reader.abort();
        }
        Ok(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for (_, reader) in self.rooms.drain() {
            reader.abort();
        }
    }
}
