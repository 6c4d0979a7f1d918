//! Where an outgoing message is fanned out: targets (rooms, ids, everyone),
//! exclusions, and the one serialisation per send.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use zocket_core::{wire, CallError, ClientId, Outgoing, Request, Router};

use crate::adapter::{Forward, ForwardTarget, Inbound, InboundTarget};
use crate::delivery::Delivery;
use crate::hub::Hub;
use crate::outbox::PushError;
use crate::peer::Peer;
use crate::requests;
use crate::ws::WireFrame;

/// The server half of a router: the typed `ctx.send()` accessor.
pub trait ServerRouter: Router {
    /// The generated root of `cx.send()`: one accessor per namespace.
    type Send<'a>: From<Sender<'a>>;
}

/// The untyped sending half the generated `ctx.send()` accessors wrap.
/// Holds the id of the connection that sends, if any, for `except_self`.
#[derive(Clone, Copy)]
pub struct Sender<'a> {
    hub: &'a Hub,
    origin: Option<&'a ClientId>,
}

impl<'a> Sender<'a> {
    pub(crate) fn new(hub: &'a Hub, origin: Option<&'a ClientId>) -> Self {
        Sender { hub, origin }
    }

    /// Starts a typed send; pick the recipients with a method of
    /// [`Outbound`].
    pub fn message<M: Outgoing>(self, message: M) -> Outbound<'a, M> {
        Outbound {
            sender: self,
            ty: M::TYPE,
            payload: message,
            except: Vec::new(),
            except_self: false,
            volatile: false,
        }
    }

    /// Starts an untyped send of `payload` as message type `ty`.
    pub fn raw<T: Serialize>(self, ty: &'a str, payload: T) -> Outbound<'a, T> {
        Outbound {
            sender: self,
            ty,
            payload,
            except: Vec::new(),
            except_self: false,
            volatile: false,
        }
    }
}

/// A message on its way out: refine with [`except_self`](Self::except_self),
/// [`except`](Self::except) or [`volatile`](Self::volatile), then send with
/// [`to_room`](Self::to_room), [`to`](Self::to) or
/// [`broadcast`](Self::broadcast). Each returns a [`Delivery`]: how many
/// local connections it was queued for.
///
/// ```
/// # #[zocket::router]
/// # pub mod chat {
/// #     #[headers]
/// #     pub struct Headers { #[zocket(default = "Anonymous")] pub user_name: String }
/// #     pub mod rooms {
/// #         #[incoming] pub struct Join { pub room_id: String }
/// #         #[incoming] pub struct Say { pub room_id: String, pub text: String }
/// #         #[outgoing] pub struct Said { pub room_id: String, pub user_name: String, pub text: String }
/// #     }
/// # }
/// # struct App;
/// # struct User { name: String }
/// # impl chat::Server for App {
/// #     type Context = User;
/// #     async fn on_connect(&self, h: chat::Headers, _: &zocket::ClientId) -> Result<User, zocket::Reject> {
/// #         Ok(User { name: h.user_name })
/// #     }
/// # }
/// # fn said(text: &str) -> chat::rooms::Said {
/// #     chat::rooms::Said { room_id: "lobby".into(), user_name: "Ann".into(), text: text.into() }
/// # }
/// impl chat::rooms::Handlers for App {
///     async fn join(&self, cx: &chat::Ctx<User>, m: chat::rooms::Join) {
///         cx.rooms().join(&m.room_id).ok();
///         // Everyone else in the room hears of the join…
///         cx.send().rooms().said(said("joined")).except_self().to_room([&m.room_id]);
///         // …and the joiner alone gets a welcome.
///         cx.send().rooms().said(said("welcome")).to([cx.client_id().clone()]);
///     }
///     async fn say(&self, cx: &chat::Ctx<User>, m: chat::rooms::Say) {
///         // Several rooms at once: a member of two hears it once.
///         cx.send().rooms().said(said(&m.text)).to_room([m.room_id.as_str(), "all"]);
///         // Every connection, minus some; dropped where a queue is full
///         // instead of closing that connection.
///         let delivery = cx.send().rooms().said(said("typing…")).except([cx.client_id().clone()]).volatile().broadcast();
///         tracing::trace!(?delivery);
///     }
/// }
/// # let _ = chat::Router::server(App);
/// ```
#[must_use = "a message is sent only by .to_room(), .to() or .broadcast()"]
pub struct Outbound<'a, M> {
    sender: Sender<'a>,
    ty: &'a str,
    payload: M,
    except: Vec<ClientId>,
    except_self: bool,
    volatile: bool,
}

impl<M: Serialize> Outbound<'_, M> {
    /// Leaves out the connection that is sending (a no-op outside a handler).
    pub fn except_self(mut self) -> Self {
        self.except_self = true;
        self
    }

    /// Leaves out these connections.
    pub fn except<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<ClientId>,
    {
        self.except.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Drops the message for a connection whose queue is full instead of
    /// closing that connection. For messages that a newer one replaces.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    /// Sends to every member of these rooms, once per connection however
    /// many of the rooms it is in. Includes the sender if it is a member
    /// (use [`except_self`](Self::except_self) to leave it out). With a
    /// cluster adapter, members on other nodes get it too.
    pub fn to_room<I>(self, rooms: I) -> Delivery
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let rooms: Vec<I::Item> = rooms.into_iter().collect();
        if rooms.is_empty() {
            return Delivery::default();
        }
        let Some((text, mut delivery)) = self.deliver(|hub, push| room_targets(hub, &rooms, push))
        else {
            return Delivery::failed();
        };
        if self.sender.hub.adapter.get().is_some() {
            let rooms: Vec<&str> = rooms.iter().map(AsRef::as_ref).collect();
            self.forward(&text, ForwardTarget::Rooms(&rooms), &mut delivery);
        }
        delivery
    }

    /// Sends to these connections (ids not connected are skipped; an id
    /// given twice receives the message once). With a cluster adapter, ids
    /// not connected to this server are looked for on the other nodes.
    pub fn to<I>(self, ids: I) -> Delivery
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let ids: Vec<I::Item> = ids.into_iter().collect();
        let clustered = self.sender.hub.adapter.get().is_some();
        let mut elsewhere: Vec<&str> = Vec::new();
        let Some((text, mut delivery)) = self.deliver(|hub, push| {
            let mut seen: HashSet<&str> = HashSet::new();
            for id in &ids {
                if seen.insert(id.as_ref()) {
                    match hub.client(id.as_ref()) {
                        Some(peer) => push(&peer),
                        None if clustered => elsewhere.push(id.as_ref()),
                        None => {}
                    }
                }
            }
        }) else {
            return Delivery::failed();
        };
        if !elsewhere.is_empty() {
            self.forward(&text, ForwardTarget::Clients(&elsewhere), &mut delivery);
        }
        delivery
    }

    /// Sends to every connection of this server, and of every other node
    /// with a cluster adapter.
    pub fn broadcast(self) -> Delivery {
        let Some((text, mut delivery)) = self.deliver(|hub, push| hub.for_each_client(push)) else {
            return Delivery::failed();
        };
        self.forward(&text, ForwardTarget::All, &mut delivery);
        delivery
    }

    fn skip_self(&self) -> Option<&ClientId> {
        if self.except_self {
            self.sender.origin
        } else {
            None
        }
    }

    /// Encodes once and pushes to the local targets; `None` if the message
    /// did not serialise (logged).
    fn deliver(
        &self,
        targets: impl FnOnce(&Hub, &mut dyn FnMut(&Arc<Peer>)),
    ) -> Option<(String, Delivery)> {
        let text = match wire::encode_as(self.ty, &self.payload) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(%error, "outgoing message did not serialise; not sent");
                return None;
            }
        };
        // Framed once: every recipient's queue holds the same bytes.
        let frame = WireFrame::text(&text);
        let skip_self = self.skip_self();
        let mut delivery = Delivery::default();
        let mut push = |peer: &Arc<Peer>| {
            if skip_self == Some(&peer.id) || self.except.contains(&peer.id) {
                return;
            }
            push_one(peer, &frame, self.volatile, &mut delivery);
        };
        targets(self.sender.hub, &mut push);
        self.sender.hub.types.sent(self.ty);
        crate::metrics::delivered(delivery.queued);
        Some((text, delivery))
    }

    /// Hands the already encoded frame to the cluster adapter, if any.
    fn forward(&self, text: &str, target: ForwardTarget<'_>, delivery: &mut Delivery) {
        if let Some(adapter) = self.sender.hub.adapter.get() {
            adapter.forward(&Forward {
                target,
                except: &self.except,
                except_origin: self.skip_self(),
                volatile: self.volatile,
                frame: text,
            });
            delivery.forwarded = true;
        }
    }
}

impl<M: Request + Outgoing> Outbound<'_, M> {
    /// Sends the message as a request to connection `id` of this server and
    /// waits for its answer, at most [`Config::request_timeout`](crate::Config::request_timeout).
    /// A client on another node of a cluster is not reached: this answers
    /// [`CallError::NotConnected`] for it (requests do not travel over the
    /// adapters yet).
    pub async fn request(self, id: impl AsRef<str>) -> Result<M::Reply, CallError<M::Error>> {
        let timeout = self.sender.hub.config.request_timeout;
        self.request_within(id, timeout).await
    }

    /// [`request`](Self::request) with its own timeout.
    pub async fn request_within(
        self,
        id: impl AsRef<str>,
        timeout: Duration,
    ) -> Result<M::Reply, CallError<M::Error>> {
        requests::request(self.sender.hub, id.as_ref(), &self.payload, timeout).await
    }

    /// Sends the message as a request to every member of `rooms` on this
    /// server (each once; `except`/`except_self` apply) and collects the
    /// answers that come within `timeout`; the others are
    /// [`CallError::Timeout`]. In the order of the room's members.
    pub async fn request_room<I>(
        self,
        rooms: I,
        timeout: Duration,
    ) -> Vec<(ClientId, Result<M::Reply, CallError<M::Error>>)>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let rooms: Vec<I::Item> = rooms.into_iter().collect();
        let hub = self.sender.hub;
        let skip_self = self.skip_self();
        let mut targets: Vec<ClientId> = Vec::new();
        room_targets(hub, &rooms, &mut |peer: &Arc<Peer>| {
            if skip_self != Some(&peer.id) && !self.except.contains(&peer.id) {
                targets.push(peer.id.clone());
            }
        });
        let payload = &self.payload;
        let calls = targets.into_iter().map(|id| async move {
            let answer = requests::request(hub, id.as_ref(), payload, timeout).await;
            (id, answer)
        });
        futures_util::future::join_all(calls).await
    }
}

/// Members of `rooms`, each once.
fn room_targets<S: AsRef<str>>(hub: &Hub, rooms: &[S], push: &mut dyn FnMut(&Arc<Peer>)) {
    match rooms {
        [] => {}
        [room] => hub.rooms.for_each_member(room.as_ref(), push),
        many => {
            let mut seen: HashSet<*const Peer> = HashSet::new();
            let mut targets: Vec<Arc<Peer>> = Vec::new();
            for room in many {
                hub.rooms.for_each_member(room.as_ref(), |p| {
                    if seen.insert(Arc::as_ptr(p)) {
                        targets.push(p.clone());
                    }
                });
            }
            targets.iter().for_each(push);
        }
    }
}

fn push_one(peer: &Arc<Peer>, frame: &WireFrame, volatile: bool, delivery: &mut Delivery) {
    let pushed = if volatile {
        peer.push_volatile(frame)
    } else {
        peer.push(frame)
    };
    match pushed {
        Ok(()) => delivery.queued += 1,
        Err(PushError::Dropped) => delivery.dropped += 1,
        Err(PushError::Overflow) => {
            tracing::warn!(client = %peer.id, "outgoing queue overflow; closing with 4008");
            delivery.overflowed += 1;
        }
        Err(PushError::Closed) => {}
    }
}

/// Fans a send from another node out to this node's connections.
pub(crate) fn deliver_inbound(hub: &Hub, inbound: &Inbound) -> Delivery {
    let frame = inbound.wire_frame();
    let mut delivery = Delivery::default();
    let mut push = |peer: &Arc<Peer>| {
        if inbound.except.contains(&peer.id) {
            return;
        }
        push_one(peer, frame, inbound.volatile, &mut delivery);
    };
    match &inbound.target {
        InboundTarget::Rooms(rooms) => room_targets(hub, rooms, &mut push),
        InboundTarget::Clients(ids) => {
            let mut seen: HashSet<&str> = HashSet::new();
            for id in ids {
                if seen.insert(id) {
                    if let Some(peer) = hub.client(id) {
                        push(&peer);
                    }
                }
            }
        }
        InboundTarget::All => hub.for_each_client(&mut push),
    }
    crate::metrics::delivered(delivery.queued);
    delivery
}
