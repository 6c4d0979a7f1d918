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
        /// Every room id a client sends is checked before a handler runs:
        /// not empty, and no longer than the server's room-name cap, so an
        /// oversized id is refused with an `invalid_payload` frame naming
        /// `roomId` before it is logged, looked up or broadcast.
        fn room_id(id: &str) -> Result<(), String> {
            zocket::validate::not_empty(id)?;
            zocket::validate::max_len::<{ crate::MAX_ROOM_ID_LEN }>(id)
        }

        /// As a request, answered with the room and its member count, or a
        /// typed `ChatError` (already a member, refused).
        #[incoming(reply = crate::Joined, error = crate::ChatError)]
        pub struct Join {
            #[zocket(validate = room_id)]
            pub room_id: String,
        }

        #[incoming]
        pub struct Leave {
            #[zocket(validate = room_id)]
            pub room_id: String,
        }

        #[incoming]
        pub struct Message {
            #[zocket(validate = room_id)]
            pub room_id: String,
            pub content: String,
        }

        /// Asks who is in a room the sender has joined. As a request (with an
        /// `rpcId`) the reply is the member list; sent as a plain message it
        /// is answered with `rooms.onMembers` to the sender alone, as before.
        #[incoming(reply = OnMembers, error = crate::ChatError)]
        pub struct Members {
            #[zocket(validate = room_id)]
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

pub mod cli;
pub mod ops;
pub mod terminal;
pub mod web;

/// The reply to a `rooms.join` request.
#[zocket::data]
#[derive(PartialEq, Eq)]
pub struct Joined {
    pub room_id: String,
    /// Members of the room on this server, the joiner included.
    pub members: usize,
}

/// Why the chat did not do what a client asked: the typed error of its
/// requests, in the error frame's `data` (`{"kind":"notMember"}`).
#[zocket::data]
#[derive(PartialEq, Eq)]
#[serde(tag = "kind")]
pub enum ChatError {
    /// The room is not one the sender joined.
    NotMember,
    /// A join of a room the sender is in already.
    AlreadyMember,
    /// zocket refused the join: the room id is too long, or the connection
    /// is in as many rooms as it may be.
    Refused { reason: String },
}

impl std::fmt::Display for ChatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatError::NotMember => f.write_str(server::NOT_A_MEMBER),
            ChatError::AlreadyMember => f.write_str(server::ALREADY_A_MEMBER),
            ChatError::Refused { reason } => write!(f, "join refused: {reason}"),
        }
    }
}

/// The longest room id the chat accepts, in bytes: zocket's default
/// `Config::max_room_name_len`. Checked on every message that names a room
/// (not only on join, where zocket would refuse it anyway) so that a peer
/// cannot make the server log or echo kilobytes of room id.
pub const MAX_ROOM_ID_LEN: usize = 255;

/// How many characters of a peer-supplied string [`shown`] keeps.
pub const SHOWN_CHARS: usize = 64;

/// A peer-supplied string made safe for a log line: Debug-quoted, so a
/// `\n` cannot start a forged line and an `ESC [` sequence cannot reach the
/// operator's terminal, and cut to [`SHOWN_CHARS`] characters (then `…`
/// after the closing quote, outside what the peer sent) so one client
/// cannot flood the log. Use it as `tracing::info!(user = ?shown(name))`.
pub fn shown(s: &str) -> Shown<'_> {
    Shown(s)
}

/// See [`shown`].
#[derive(Clone, Copy)]
pub struct Shown<'a>(&'a str);

impl std::fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}…", &self.0[..cut]),
        }
    }
}

/// At most `max` of `items` through [`shown`], then how many were left
/// out: for lists a peer controls the length of (the rooms it joined).
pub fn shown_list<'a>(
    items: impl IntoIterator<Item = &'a str>,
    max: usize,
) -> impl std::fmt::Debug + 'a {
    struct List<'a> {
        head: Vec<Shown<'a>>,
        more: usize,
    }
    impl std::fmt::Debug for List<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let mut list = f.debug_list();
            list.entries(&self.head);
            if self.more > 0 {
                list.entry(&format_args!("… {} more", self.more));
            }
            list.finish()
        }
    }
    let mut items = items.into_iter();
    let head = items.by_ref().take(max).map(shown).collect();
    List {
        head,
        more: items.count(),
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM: zocket's own, which installs
/// its handlers when called (call it before binding or printing).
pub use zocket::shutdown_signal;

/// The examples' log set-up: `RUST_LOG` (default `info`) to stdout, with
/// colours only on a terminal, so that logs piped to a file or a collector
/// hold no escape sequences of our own.
pub fn init_tracing() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}

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
    use super::{shown, shown_list, ChatError, Joined};
    use zocket::{ClientId, ErrorCode, Reject};

    /// The chat application. Rooms live in zocket's room map, which knows
    /// connections by id; the names behind the ids are in `NAMES`.
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
            tracing::info!(%client_id, user = ?shown(&headers.user_name), "connected");
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
            tracing::info!(
                user = ?shown(&cx.user_name),
                client_id = %cx.client_id(),
                rooms = ?shown_list(rooms.iter().map(String::as_str), 8),
                "disconnected"
            );
        }
    }

    /// Refuses a message about a room the sender is not in, with a typed
    /// error frame so the client learns why nothing happened. Without the
    /// check a client could post (`message`), read member lists
    /// (`members`) or announce its name (`leave`) in any room.
    fn require_member(cx: &chat::Ctx<User>, room_id: &str, what: &'static str) -> bool {
        if cx.rooms().has(room_id) {
            return true;
        }
        tracing::info!(user = ?shown(&cx.user_name), room = ?shown(room_id), "{what} of a room not joined");
        cx.reply_error(ErrorCode::HandlerError, NOT_A_MEMBER);
        false
    }

    /// The typed form of [`require_member`], for handlers that answer
    /// requests.
    fn member_of(cx: &chat::Ctx<User>, room_id: &str, what: &'static str) -> Result<(), ChatError> {
        if cx.rooms().has(room_id) {
            return Ok(());
        }
        tracing::info!(user = ?shown(&cx.user_name), room = ?shown(room_id), "{what} of a room not joined");
        Err(ChatError::NotMember)
    }

    /// The `message` of the error frame for a room the sender is not in.
    pub const NOT_A_MEMBER: &str = "not a member of this room";
    /// The `message` of the error frame for joining a room twice.
    pub const ALREADY_A_MEMBER: &str = "already a member of this room";

    impl rooms::Handlers for Chat {
        async fn join(
            &self,
            cx: &chat::Ctx<User>,
            message: rooms::Join,
        ) -> Result<Joined, ChatError> {
            match cx.rooms().join(&message.room_id) {
                Ok(true) => {}
                // Already in: the room heard about this user once; a second
                // onJoin would let a client spam the room with notices.
                Ok(false) => return Err(ChatError::AlreadyMember),
                // zocket has sent the client a room_limit frame too.
                Err(error) => {
                    tracing::info!(user = ?shown(&cx.user_name), %error, "join refused");
                    return Err(ChatError::Refused {
                        reason: error.to_string(),
                    });
                }
            }
            cx.send()
                .rooms()
                .on_join(rooms::OnJoin {
                    room_id: message.room_id.clone(),
                    user_name: cx.user_name.clone(),
                })
                .to_room([&message.room_id]);
            let members = cx.rooms().len(&message.room_id);
            Ok(Joined {
                room_id: message.room_id,
                members,
            })
        }

        async fn leave(&self, cx: &chat::Ctx<User>, message: rooms::Leave) {
            // Leave first, so that a member list asked for on this notice
            // no longer has the leaver; then tell the room and the leaver.
            // Only a member's leave is news to anyone.
            if !cx.rooms().leave(&message.room_id) {
                require_member(cx, &message.room_id, "leave");
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

        async fn members(
            &self,
            cx: &chat::Ctx<User>,
            message: rooms::Members,
        ) -> Result<rooms::OnMembers, ChatError> {
            member_of(cx, &message.room_id, "members")?;
            let ids = cx.rooms().members(&message.room_id);
            let mut members: Vec<String> = {
                let names = names();
                ids.iter().filter_map(|id| names.get(id).cloned()).collect()
            };
            members.sort_by_key(|name| name.to_lowercase());
            let roster = rooms::OnMembers {
                room_id: message.room_id,
                members,
            };
            // Sent as a plain message (no rpcId), the answer is a message
            // to the sender, as before requests existed.
            if !cx.is_request() {
                cx.send()
                    .rooms()
                    .on_members(roster.clone())
                    .to([cx.client_id()]);
            }
            Ok(roster)
        }

        async fn message(&self, cx: &chat::Ctx<User>, message: rooms::Message) {
            if !require_member(cx, &message.room_id, "message") {
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

#[cfg(test)]
mod tests {
    use super::{shown, shown_list, SHOWN_CHARS};

    #[test]
    fn shown_escapes_control_characters() {
        assert_eq!(
            format!("{:?}", shown("a\nFORGED\x1b[2J\"")),
            r#""a\nFORGED\u{1b}[2J\"""#
        );
    }

    #[test]
    fn shown_cuts_at_a_character_boundary_outside_the_quotes() {
        let exact = "é".repeat(SHOWN_CHARS);
        assert_eq!(format!("{:?}", shown(&exact)), format!("\"{exact}\""));
        let long = format!("{exact}tail");
        assert_eq!(format!("{:?}", shown(&long)), format!("\"{exact}\"…"));
    }

    #[test]
    fn shown_list_says_how_many_it_left_out() {
        let rooms = ["a", "b\n", "c"];
        assert_eq!(
            format!("{:?}", shown_list(rooms, 8)),
            r#"["a", "b\n", "c"]"#
        );
        assert_eq!(format!("{:?}", shown_list(rooms, 1)), r#"["a", … 2 more]"#);
    }
}
