//! A complete zocket app: the router, the server, and (with `--client`) a
//! typed client that joins a room and says hello.
//!
//! `cargo run -p hello-zocket` serves on 127.0.0.1:3000;
//! `cargo run -p hello-zocket -- --client` talks to it.

// README-BEGIN main
#[zocket::router]
pub mod hello {
    #[headers]
    pub struct Headers {
        #[zocket(default = "Anonymous")]
        pub user_name: String,
    }

    pub mod rooms {
        #[incoming]
        pub struct Join {
            pub room_id: String,
        }
        #[incoming]
        pub struct Say {
            pub room_id: String,
            pub text: String,
        }
        #[outgoing]
        pub struct Said {
            pub room_id: String,
            pub user_name: String,
            pub text: String,
        }
    }
}

use hello::rooms::{Join, Said, Say};

struct App;
struct User {
    name: String,
}

impl hello::Server for App {
    type Context = User;
    async fn on_connect(
        &self,
        h: hello::Headers,
        _id: &zocket::ClientId,
    ) -> Result<User, zocket::Reject> {
        Ok(User { name: h.user_name })
    }
}

impl hello::rooms::Handlers for App {
    async fn join(&self, cx: &hello::Ctx<User>, m: Join) {
        if let Err(e) = cx.rooms().join(&m.room_id) {
            tracing::warn!("join refused: {e}");
        }
    }
    async fn say(&self, cx: &hello::Ctx<User>, m: Say) {
        let said = Said {
            room_id: m.room_id.clone(),
            user_name: cx.name.clone(),
            text: m.text,
        };
        cx.send().rooms().said(said).to_room([&m.room_id]);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if std::env::args().any(|a| a == "--client") {
        return client().await;
    }
    // Ctrl-C or SIGTERM shuts down gracefully.
    hello::Router::server(App).serve("127.0.0.1:3000").await?;
    Ok(())
}

async fn client() -> Result<(), Box<dyn std::error::Error>> {
    let headers = hello::Headers {
        user_name: "Alice".into(),
    };
    let client = hello::Client::connect("ws://127.0.0.1:3000/", headers).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _sub = client.on().rooms().said(move |m: &Said| {
        let _ = tx.send(m.clone());
    });
    client.send().rooms().join(Join {
        room_id: "lobby".into(),
    })?;
    client.send().rooms().say(Say {
        room_id: "lobby".into(),
        text: "hello".into(),
    })?;
    if let Some(m) = rx.recv().await {
        println!("{} in {}: {}", m.user_name, m.room_id, m.text);
    }
    Ok(())
}
// README-END main
