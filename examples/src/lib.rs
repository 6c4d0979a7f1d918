//! The chat router shared by the `chat` server and the `chat-client`
//! binary: the seed's Chat Rooms example, in Rust.

/// Chat rooms: join, leave, talk; everyone in a room hears about it.
#[zocket::router]
pub mod chat {
    /// Sent as the `user-name` HTTP header or query parameter.
    #[headers]
    pub struct Headers {
        #[zocket(default = "Anonymous", validate = zocket::validate::max_len::<64>)]
        pub user_name: String,
    }

    pub mod rooms {
        #[incoming]
        pub struct Join {
            #[zocket(validate = zocket::validate::not_empty)]
            pub room_id: String,
        }

        #[incoming]
        pub struct Leave {
            pub room_id: String,
        }

        #[incoming]
        pub struct Message {
            pub room_id: String,
            pub content: String,
        }

        /// Asks who is in a room the sender has joined; answered with
        /// `rooms.onMembers` to the sender alone.
        #[incoming]
        pub struct Members {
            pub room_id: String,
        }

        #[outgoing]
        pub struct OnJoin {
            pub room_id: String,
            pub user_name: String,
        }

        #[outgoing]
        pub struct OnLeave {
            pub room_id: String,
            pub user_name: String,
        }

        #[outgoing]
        pub struct OnMessage {
            pub room_id: String,
            pub user_name: String,
            pub content: String,
            pub timestamp: zocket::Timestamp,
        }

        /// The names of the connections in a room, sorted.
        #[outgoing]
        pub struct OnMembers {
            pub room_id: String,
            pub members: Vec<String>,
        }
    }
}

pub mod web;

/// Where the chat router's TypeScript lives in the repository, relative to
/// the workspace root.
pub const TYPESCRIPT_PATH: &str = "examples/web/src/chat-router.ts";

/// The chat router as TypeScript (`ChatRouter`), as committed at
/// [`TYPESCRIPT_PATH`]. `cargo run -p zocket-examples --bin export-ts`
/// writes it; a test fails when the committed file is stale.
pub fn typescript() -> String {
    format!(
        "// Regenerate: cargo run -p zocket-examples --bin export-ts\n{}",
        chat::Router::typescript("ChatRouter")
    )
}

/// The chat server's behaviour, as the seed describes it.
pub mod server {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};

    use super::chat::{self, rooms};
    use zocket::{ClientId, Reject};

    /// The chat application. Rooms live in zocket's room map, which knows
    /// connections by id; the names behind the ids are in [`NAMES`].
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Chat;

    /// The name of every connected client, for `rooms.members`. Global so
    /// that `Chat` stays a plain value; client ids are unique in a process,
    /// so several servers in one process (the tests) can share it.
    static NAMES: LazyLock<Mutex<HashMap<ClientId, String>>> = LazyLock::new(Default::default);

    fn names() -> std::sync::MutexGuard<'static, HashMap<ClientId, String>> {
        NAMES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What a connection carries: the name it gave.
    #[derive(Debug)]
    pub struct User {
        pub user_name: String,
    }

    impl chat::Server for Chat {
        type Context = User;

        async fn on_connect(
            &self,
            headers: chat::Headers,
            client_id: &ClientId,
        ) -> Result<User, Reject> {
            tracing::info!(%client_id, user = %headers.user_name, "connected");
            names().insert(client_id.clone(), headers.user_name.clone());
            Ok(User {
                user_name: headers.user_name,
            })
        }

        async fn on_disconnect(&self, cx: &chat::Ctx<User>) {
            // Gone from member lists from now on, though the room map
            // still has this connection until on_disconnect returns.
            names().remove(cx.client_id());
            // Unlike the original, on_disconnect can still send: tell each
            // room this user was in that they left.
            let rooms = cx.rooms().current();
            for room_id in &rooms {
                cx.send()
                    .rooms()
                    .on_leave(rooms::OnLeave {
                        room_id: room_id.clone(),
                        user_name: cx.user_name.clone(),
                    })
                    .except_self()
                    .to_room([room_id]);
            }
            let rooms: Vec<&str> = rooms.iter().map(String::as_str).collect();
            tracing::info!(
                user = %cx.user_name,
                client_id = %cx.client_id(),
                rooms = %if rooms.is_empty() { "none".to_owned() } else { rooms.join(", ") },
                "disconnected"
            );
        }
    }

    impl rooms::Handlers for Chat {
        async fn join(&self, cx: &chat::Ctx<User>, message: rooms::Join) {
            if let Err(error) = cx.rooms().join(&message.room_id) {
                tracing::info!(user = %cx.user_name, %error, "join refused");
                return;
            }
            cx.send()
                .rooms()
                .on_join(rooms::OnJoin {
                    room_id: message.room_id.clone(),
                    user_name: cx.user_name.clone(),
                })
                .to_room([&message.room_id]);
        }

        async fn leave(&self, cx: &chat::Ctx<User>, message: rooms::Leave) {
            // Leave first, so that a member list asked for on this notice
            // no longer has the leaver; then tell the room and the leaver.
            if !cx.rooms().leave(&message.room_id) {
                return;
            }
            let notice = rooms::OnLeave {
                room_id: message.room_id.clone(),
                user_name: cx.user_name.clone(),
            };
            cx.send()
                .rooms()
                .on_leave(notice.clone())
                .to_room([&message.room_id]);
            cx.send().rooms().on_leave(notice).to([cx.client_id()]);
        }

        async fn members(&self, cx: &chat::Ctx<User>, message: rooms::Members) {
            if !cx.rooms().has(&message.room_id) {
                tracing::info!(user = %cx.user_name, room = %message.room_id, "members of a room not joined");
                return;
            }
            let ids = cx.rooms().members(&message.room_id);
            let mut members: Vec<String> = {
                let names = names();
                ids.iter().filter_map(|id| names.get(id).cloned()).collect()
            };
            members.sort_by_key(|name| name.to_lowercase());
            cx.send()
                .rooms()
                .on_members(rooms::OnMembers {
                    room_id: message.room_id,
                    members,
                })
                .to([cx.client_id()]);
        }

        async fn message(&self, cx: &chat::Ctx<User>, message: rooms::Message) {
            if !cx.rooms().has(&message.room_id) {
                tracing::info!(user = %cx.user_name, room = %message.room_id, "message to a room not joined");
                return;
            }
            cx.send()
                .rooms()
                .on_message(rooms::OnMessage {
                    room_id: message.room_id.clone(),
                    user_name: cx.user_name.clone(),
                    content: message.content,
                    timestamp: zocket::chrono::Utc::now(),
                })
                .to_room([&message.room_id]);
        }
    }
}
