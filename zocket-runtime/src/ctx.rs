//! What a handler sees of its connection: id, state, rooms, and the typed
//! send accessor.

use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use zocket_core::error::{ErrorCode, ErrorPayload};
use zocket_core::ClientId;

use crate::adapter::AdapterError;
use crate::delivery::Delivery;
use crate::handle::Handle;
use crate::hub::{Hub, RoomError};
use crate::peer::Peer;
use crate::send::{Sender, ServerRouter};

/// The context of one connection, passed to every handler, middleware and
/// `on_disconnect`. Dereferences to the state `on_connect` returned, so
/// `cx.user_name` reads a field of that state.
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
/// impl chat::rooms::Handlers for App {
///     async fn join(&self, cx: &chat::Ctx<User>, m: chat::rooms::Join) {
///         match cx.rooms().join(&m.room_id) {
///             // Announce only a join that happened.
///             Ok(true) => {
///                 let said = chat::rooms::Said {
///                     room_id: m.room_id.clone(),
///                     user_name: cx.name.clone(), // a field of `User`
///                     text: format!("joined; {} here", cx.rooms().len(&m.room_id)),
///                 };
///                 cx.send().rooms().said(said).to_room([&m.room_id]);
///             }
///             Ok(false) => {} // already a member
///             // A room cap: the client was sent a `room_limit` error frame.
///             Err(refused) => tracing::info!(id = %cx.client_id(), %refused, "join refused"),
///         }
///     }
///     async fn say(&self, cx: &chat::Ctx<User>, m: chat::rooms::Say) {
///         if !cx.rooms().has(&m.room_id) {
///             // Answered to the sender as a `zocket.error` frame.
///             cx.reply_error(zocket::ErrorCode::Refused, "join the room first");
///             return;
///         }
///         let said = chat::rooms::Said { room_id: m.room_id.clone(), user_name: cx.name.clone(), text: m.text };
///         cx.send().rooms().said(said).except_self().to_room([&m.room_id]);
///     }
/// }
/// # let _ = chat::Router::server(App);
/// ```
pub struct Ctx<R, C> {
    peer: Arc<Peer>,
    hub: Arc<Hub>,
    state: C,
    handling: Mutex<Handling>,
    router: PhantomData<fn() -> R>,
}

/// The message being handled.
#[derive(Default)]
struct Handling {
    /// Its wire type, for the `for` field of error frames sent on the
    /// handler's behalf.
    ty: Option<&'static str>,
    /// Its `rpcId` until it is answered: the first answer takes it, so a
    /// request is answered once.
    rpc: Option<Box<str>>,
}

impl<R: ServerRouter, C> Ctx<R, C> {
    pub(crate) fn new(peer: Arc<Peer>, hub: Arc<Hub>, state: C) -> Self {
        Ctx {
            peer,
            hub,
            state,
            handling: Mutex::new(Handling::default()),
            router: PhantomData,
        }
    }

    /// This connection's id: what `.to([id])` and `.except([id])` take.
    pub fn client_id(&self) -> &ClientId {
        &self.peer.id
    }

    /// The state `on_connect` returned.
    pub fn state(&self) -> &C {
        &self.state
    }

    /// Typed sends: `cx.send().rooms().on_join(msg).to_room([room])`.
    pub fn send(&self) -> R::Send<'_> {
        R::Send::from(self.sender())
    }

    /// The untyped sender behind [`send`](Self::send).
    pub fn sender(&self) -> Sender<'_> {
        Sender::new(&self.hub, Some(&self.peer.id))
    }

    /// This connection's rooms, and membership queries on any room.
    pub fn rooms(&self) -> Rooms<'_> {
        Rooms {
            peer: &self.peer,
            hub: &self.hub,
            handling: self.handling.lock().ty,
        }
    }

    /// The server's handle: for work that outlives this message (timers,
    /// spawned tasks that send later, requests to other clients).
    pub fn handle(&self) -> Handle<R> {
        Handle::new(self.hub.clone())
    }

    /// Whether the message being handled is a request (carries an `rpcId`)
    /// not answered yet: what the handler returns goes back to the caller.
    /// For handlers that also answer plain messages the old way.
    pub fn is_request(&self) -> bool {
        self.handling.lock().rpc.is_some()
    }

    /// Sends this connection a `zocket.error` frame (`for` names the
    /// message being handled). For failures the client should learn about,
    /// e.g. `cx.reply_error(ErrorCode::HandlerError, "no such user")`. It
    /// does not answer a request: the handler's return value does (declare
    /// an `error` type on the message to fail a request with typed data).
    pub fn reply_error(&self, code: ErrorCode, message: impl Into<String>) {
        let mut error = ErrorPayload::new(code, message);
        error.for_type = self.handling.lock().ty.map(str::to_owned);
        self.peer.send_error(&error);
    }

    /// Closes this connection with a close code and reason once the frames
    /// already queued for it are written.
    pub fn close(&self, code: u16, reason: &'static str) {
        self.peer.close(code, reason);
    }
}

impl<R, C> Ctx<R, C> {
    pub(crate) fn peer(&self) -> &Arc<Peer> {
        &self.peer
    }

    pub(crate) fn hub(&self) -> &Hub {
        &self.hub
    }

    pub(crate) fn set_handling(&self, ty: Option<&'static str>, rpc: Option<&str>) {
        *self.handling.lock() = Handling {
            ty,
            rpc: rpc.map(Into::into),
        };
    }

    /// The `rpcId` of the message being handled, if it is a request not
    /// answered yet; taking it answers it.
    pub(crate) fn take_rpc(&self) -> Option<Box<str>> {
        self.handling.lock().rpc.take()
    }
}

impl<R, C> Deref for Ctx<R, C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.state
    }
}

impl<R, C: fmt::Debug> fmt::Debug for Ctx<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("client_id", &self.peer.id)
            .field("state", &self.state)
            .finish()
    }
}

/// Room operations of one connection (`cx.rooms()`).
pub struct Rooms<'a> {
    peer: &'a Arc<Peer>,
    hub: &'a Hub,
    handling: Option<&'static str>,
}

impl Rooms<'_> {
    /// Joins `room`. `Ok(false)` if already a member: an app that
    /// announces joins should announce only `Ok(true)`. Refused past the
    /// configured caps on room-name length and rooms per connection; a
    /// refusal also sends this connection a `room_limit` error frame, so
    /// the client learns why even if the handler ignores the error.
    #[must_use = "Ok(false) means already a member, Err a refusal: check before announcing the join"]
    pub fn join(&self, room: impl AsRef<str>) -> Result<bool, RoomError> {
        let result = self.hub.join(self.peer, room.as_ref());
        if let Err(error) = &result {
            let mut payload = ErrorPayload::new(ErrorCode::RoomLimit, error.to_string());
            payload.for_type = self.handling.map(str::to_owned);
            self.peer.send_error(&payload);
        }
        result
    }

    /// Leaves `room`; false if this connection was not in it (an app that
    /// announces leaves should not announce that).
    #[must_use = "false means the connection was not in the room: check before announcing the leave"]
    pub fn leave(&self, room: impl AsRef<str>) -> bool {
        self.hub.leave(self.peer, room.as_ref())
    }

    /// Whether this connection is in `room`.
    pub fn has(&self, room: impl AsRef<str>) -> bool {
        self.peer.rooms.lock().contains(room.as_ref())
    }

    /// The rooms this connection is in, sorted.
    pub fn current(&self) -> BTreeSet<String> {
        self.peer
            .rooms
            .lock()
            .iter()
            .map(|r| r.to_string())
            .collect()
    }

    /// The connections of this server in `room` (any room, not only this
    /// connection's). With a cluster adapter, see
    /// [`members_all`](Self::members_all) for every node's.
    pub fn members(&self, room: impl AsRef<str>) -> Vec<ClientId> {
        self.hub.rooms.members(room.as_ref())
    }

    /// How many connections of this server are in `room`.
    pub fn len(&self, room: impl AsRef<str>) -> usize {
        self.hub.rooms.len(room.as_ref())
    }

    /// The connections in `room` on every node of the cluster (this
    /// server's alone without an adapter). Async: it may ask the bus.
    pub async fn members_all(&self, room: impl AsRef<str>) -> Result<Vec<ClientId>, AdapterError> {
        crate::node::members_all(self.hub, room.as_ref()).await
    }

    /// How many connections are in `room` on every node of the cluster.
    pub async fn len_all(&self, room: impl AsRef<str>) -> Result<usize, AdapterError> {
        Ok(self.members_all(room).await?.len())
    }

    /// Whether `room` has no members (rooms exist only while they do).
    pub fn is_empty(&self, room: impl AsRef<str>) -> bool {
        self.len(room) == 0
    }

    /// Untyped send to a room, as the original's
    /// `ctx.rooms.broadcast(room, "ns.msg", payload)`. Prefer the typed
    /// `cx.send()`.
    pub fn broadcast<T: Serialize>(&self, room: impl AsRef<str>, ty: &str, payload: T) -> Delivery {
        Sender::new(self.hub, Some(&self.peer.id))
            .raw(ty, payload)
            .to_room([room])
    }
}
