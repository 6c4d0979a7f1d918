//! A terminal chat client on the typed client:
//! `cargo run -p zocket-examples --bin chat-client -- --name Alice --room general`.
//! Type a line to talk in the current room; `/join R`, `/leave R`, `/who`
//! (members of the current room), `/quit`.

use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};
use zocket::client::State;
use zocket_examples::chat::{self, rooms};

#[derive(Parser)]
#[command(about = "zocket chat rooms terminal client")]
struct Args {
    #[arg(long, default_value = "ws://127.0.0.1:3000/")]
    url: String,
    #[arg(long, default_value = "Anonymous")]
    name: String,
    #[arg(long, default_value = "general")]
    room: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let client = chat::Client::connect(
        args.url.as_str(),
        chat::Headers {
            user_name: args.name.clone(),
        },
    )
    .await?;

    // Listeners stay until the client goes (or `.unsubscribe()`).
    let on = client.on();
    on.rooms()
        .on_join(|m| println!("* {} joined {}", m.user_name, m.room_id));
    on.rooms()
        .on_leave(|m| println!("* {} left {}", m.user_name, m.room_id));
    on.rooms().on_message(|m| {
        println!(
            "[{}] {} {}: {}",
            m.room_id,
            m.timestamp.format("%H:%M:%S"),
            m.user_name,
            m.content
        )
    });
    client.on_error(|e| eprintln!("! server error {}: {}", e.code.as_str(), e.message));

    // The server forgets rooms when a connection drops: rejoin on every
    // (re)connect, starting with this one.
    let current = std::sync::Arc::new(std::sync::Mutex::new(vec![args.room.clone()]));
    let rejoin = {
        let client = client.clone();
        let current = current.clone();
        move || {
            let rooms = current.lock().map(|r| r.clone()).unwrap_or_default();
            for room_id in rooms {
                let _ = client.send().rooms().join(rooms::Join { room_id });
            }
        }
    };
    rejoin();
    client.on_open(rejoin);

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut room = args.room.clone();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if let Some(r) = line.strip_prefix("/join ") {
            room = r.trim().to_owned();
            if let Ok(mut c) = current.lock() {
                c.push(room.clone());
            }
            // A request: the server answers with the room's size or says
            // why it refused.
            let joined = client.call().rooms().join(rooms::Join {
                room_id: room.clone(),
            });
            match joined.await {
                Ok(j) => println!("* you joined {} ({} here)", j.room_id, j.members),
                Err(e) => eprintln!("! join {room}: {e}"),
            }
        } else if let Some(r) = line.strip_prefix("/leave ") {
            let r = r.trim().to_owned();
            if let Ok(mut c) = current.lock() {
                c.retain(|x| *x != r);
            }
            if let Err(e) = client.send().rooms().leave(rooms::Leave { room_id: r }) {
                eprintln!("! not sent: {e}");
            }
        } else if line == "/who" {
            let who = client.call().rooms().members(rooms::Members {
                room_id: room.clone(),
            });
            match who.await {
                Ok(m) => println!("* in {}: {}", m.room_id, m.members.join(", ")),
                Err(e) => eprintln!("! who: {e}"),
            }
        } else if line == "/quit" {
            break;
        } else if !line.is_empty() {
            let sent = client.send().rooms().message(rooms::Message {
                room_id: room.clone(),
                content: line.to_owned(),
            });
            if let Err(e) = sent {
                eprintln!("! not sent: {e}");
            }
        }
    }
    client.close();
    tokio::time::timeout(
        std::time::Duration::from_secs(2),
        client.wait_for(State::Closed),
    )
    .await
    .ok();
    Ok(())
}
