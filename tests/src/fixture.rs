//! A test router covering what the original's test scenarios use: a ping
//! with a default, validation, middleware-guarded admin messages, private
//! messages, multi-room sends and sends from `on_disconnect`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use zocket::{ClientId, Refusal, Reject};

#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        #[zocket(default = "anon")]
        pub user_name: String,
        #[zocket(default)]
        pub admin: bool,
    }

    pub mod basic {
        #[incoming]
        pub struct Ping {
            #[zocket(default = "ping")]
            pub message: String,
        }

        #[outgoing]
        pub struct Pong {
            pub reply: String,
        }

        /// Asks the server for this connection's id.
        #[incoming]
        pub struct WhoAmI {}

        #[outgoing]
        pub struct You {
            pub client_id: String,
        }
    }

    pub mod validated {
        #[incoming]
        #[zocket(validate = adult)]
        pub struct Person {
            #[zocket(validate = zocket::validate::not_empty)]
            pub name: String,
            #[zocket(default = 18)]
            pub age: u32,
        }

        #[outgoing]
        pub struct Accepted {
            pub name: String,
            pub age: u32,
        }

        fn adult(p: &Person) -> Result<(), zocket::ValidationError> {
            if p.age < 18 || p.age > 150 {
                return Err(zocket::ValidationError::new("age", "must be 18 to 150"));
            }
            Ok(())
        }
    }

    pub mod admin {
        #[incoming]
        pub struct Announce {
            pub text: String,
        }

        #[outgoing]
        pub struct Announcement {
            pub text: String,
        }
    }

    pub mod talk {
        #[incoming]
        pub struct Join {
            pub room: String,
        }

        #[incoming]
        pub struct Leave {
            pub room: String,
        }

        /// A message to several rooms at once.
        #[incoming]
        pub struct Say {
            pub rooms: Vec<String>,
            pub text: String,
            #[zocket(default)]
            pub except_self: bool,
            #[zocket(default)]
            pub except: Vec<String>,
        }

        #[incoming]
        pub struct Private {
            pub to: String,
            pub text: String,
        }

        #[outgoing]
        pub struct Said {
            pub from: String,
            pub text: String,
        }

        #[outgoing]
        pub struct Joined {
            pub room: String,
            pub members: usize,
        }
    }
}

use app::{admin, basic, talk, validated};

/// The test application; counts what reached its handlers.
#[derive(Default, Clone)]
pub struct App {
    pub accepted: Arc<AtomicUsize>,
    pub announced: Arc<AtomicUsize>,
}

#[derive(Debug)]
pub struct Conn {
    pub name: String,
    pub admin: bool,
}

impl app::Server for App {
    type Context = Conn;

    async fn on_connect(&self, headers: app::Headers, _id: &ClientId) -> Result<Conn, Reject> {
        match headers.user_name.as_str() {
            "nobody" => Err(Reject::unauthorized("who are you?")),
            "banned" => Err(Reject::forbidden("banned")),
            _ => Ok(Conn {
                name: headers.user_name,
                admin: headers.admin,
            }),
        }
    }

    async fn on_disconnect(&self, cx: &app::Ctx<Conn>) {
        let rooms = cx.rooms().current();
        cx.send()
            .talk()
            .said(talk::Said {
                from: cx.name.clone(),
                text: format!("bye from {}", cx.name),
            })
            .except_self()
            .to_room(&rooms);
    }
}

impl basic::Handlers for App {
    async fn ping(&self, cx: &app::Ctx<Conn>, message: basic::Ping) {
        cx.send()
            .basic()
            .pong(basic::Pong {
                reply: format!("pong: {}", message.message),
            })
            .to([cx.client_id()]);
    }

    async fn who_am_i(&self, cx: &app::Ctx<Conn>, _message: basic::WhoAmI) {
        cx.send()
            .basic()
            .you(basic::You {
                client_id: cx.client_id().to_string(),
            })
            .to([cx.client_id()]);
    }
}

impl validated::Handlers for App {
    async fn person(&self, cx: &app::Ctx<Conn>, message: validated::Person) {
        self.accepted.fetch_add(1, Ordering::SeqCst);
        cx.send()
            .validated()
            .accepted(validated::Accepted {
                name: message.name,
                age: message.age,
            })
            .to([cx.client_id()]);
    }
}

impl admin::Handlers for App {
    /// Only admins may use the admin namespace.
    async fn before(&self, cx: &app::Ctx<Conn>, _message: &admin::Incoming) -> Result<(), Refusal> {
        if cx.admin {
            Ok(())
        } else {
            Err(Refusal::new("admins only"))
        }
    }

    async fn announce(&self, cx: &app::Ctx<Conn>, message: admin::Announce) {
        self.announced.fetch_add(1, Ordering::SeqCst);
        cx.send()
            .admin()
            .announcement(admin::Announcement { text: message.text })
            .broadcast();
    }
}

impl talk::Handlers for App {
    async fn join(&self, cx: &app::Ctx<Conn>, message: talk::Join) {
        if cx.rooms().join(&message.room).is_ok() {
            cx.send()
                .talk()
                .joined(talk::Joined {
                    members: cx.rooms().len(&message.room),
                    room: message.room,
                })
                .to([cx.client_id()]);
        }
    }

    async fn leave(&self, cx: &app::Ctx<Conn>, message: talk::Leave) {
        // Leaving a room one is not in is a no-op in this fixture.
        let _was_member = cx.rooms().leave(&message.room);
    }

    async fn say(&self, cx: &app::Ctx<Conn>, message: talk::Say) {
        let mut out = cx
            .send()
            .talk()
            .said(talk::Said {
                from: cx.name.clone(),
                text: message.text,
            })
            .except(message.except);
        if message.except_self {
            out = out.except_self();
        }
        out.to_room(&message.rooms);
    }

    async fn private(&self, cx: &app::Ctx<Conn>, message: talk::Private) {
        cx.send()
            .talk()
            .said(talk::Said {
                from: cx.name.clone(),
                text: message.text,
            })
            .to([message.to]);
    }
}
