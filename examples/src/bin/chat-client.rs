//! A terminal chat client on the typed client:
//! `cargo run -p zocket-examples --bin chat-client -- --name Alice --room general`.
//! Type a line to talk in the current room; `/join ROOM`, `/leave [ROOM]`,
//! `/who`, `/help`, `/quit` (the commands are read by
//! `zocket_examples::terminal`: mistakes are refused here, never sent).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, BufReader};
use zocket::client::State;
use zocket_examples::chat::{self, rooms};
use zocket_examples::terminal::{disconnected, Command, Rooms, HELP};

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
    let connected = chat::Client::connect(
        args.url.as_str(),
        chat::Headers {
            user_name: args.name.clone(),
        },
    )
    .await;
    let client = match connected {
        Ok(client) => client,
        Err(e) => {
            eprintln!("! could not connect to {}: {e}", args.url);
            std::process::exit(1);
        }
    };
    println!("{HELP}");

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

    // Unless this client closed, it reconnects by itself. The close the
    // user asked for (/quit, end of input) is not news: it says bye instead.
    let quitting = Arc::new(AtomicBool::new(false));
    client.on_close({
        let quitting = quitting.clone();
        move |info| {
            if !quitting.load(Ordering::Acquire) {
                eprintln!("{}", disconnected(info));
            }
        }
    });

    // A server that forgets rooms when a connection drops needs a rejoin
    // on every connection. `on_open` runs at once for this one (open since
    // `connect` returned), then after every reconnect, and what it sends
    // goes out before lines typed while offline. A server that keeps
    // sessions (the chat does, unless started with `--no-resume`) says so
    // in its first frame (the client then knows its `client_id`), and after
    // a reconnect whether the session was recovered: rooms and missed messages kept, or a new
    // session that must rejoin.
    let rooms_in = Arc::new(Mutex::new(Rooms::new(&args.room)));
    let rejoin: Arc<dyn Fn() + Send + Sync> = {
        let client = client.clone();
        let rooms_in = rooms_in.clone();
        Arc::new(move || {
            let all = rooms(&rooms_in).all();
            for room_id in all {
                let _ = client.send().rooms().join(rooms::Join { room_id });
            }
        })
    };
    let first = AtomicBool::new(true);
    client.on_open({
        let client = client.clone();
        let rejoin = rejoin.clone();
        move || {
            let first = first.swap(false, Ordering::Relaxed);
            if !first {
                eprintln!("* connected again");
            }
            if first || client.client_id().is_none() {
                rejoin();
            }
        }
    });
    client.on_resumed(move |resumed| {
        if resumed.recovered {
            eprintln!("* resumed: same rooms, nothing missed");
        } else {
            eprintln!("* new session: rejoining rooms (messages sent meanwhile are lost)");
            rejoin();
        }
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let current = rooms(&rooms_in).current().map(str::to_owned);
        match Command::parse(&line) {
            Command::Nothing => {}
            Command::Help => println!("{HELP}"),
            Command::Quit => break,
            Command::Refused(why) => eprintln!("! {why}"),
            Command::Join(room) => {
                let new = rooms(&rooms_in).join(&room);
                if !new {
                    println!("* you are in {room} already; talking there now");
                    continue;
                }
                // A request: the server answers with the room's size or says
                // why it refused.
                let joined = client.call().rooms().join(rooms::Join {
                    room_id: room.clone(),
                });
                match joined.await {
                    Ok(j) => println!("* you joined {} ({} here)", j.room_id, j.members),
                    Err(e) => {
                        rooms(&rooms_in).leave(&room);
                        eprintln!("! join {room}: {e}");
                    }
                }
            }
            Command::Leave(room) => {
                let Some(room) = room.or(current) else {
                    eprintln!("! you are in no room");
                    continue;
                };
                let mut rooms_now = rooms(&rooms_in);
                if !rooms_now.leave(&room) {
                    eprintln!("! you are not in {room}");
                    continue;
                }
                let next = rooms_now.current().map(str::to_owned);
                drop(rooms_now);
                if let Err(e) = client.send().rooms().leave(rooms::Leave { room_id: room }) {
                    eprintln!("! not sent: {e}");
                }
                match next {
                    Some(next) => println!("* lines now go to {next}"),
                    None => println!("* you are in no room; /join one to talk"),
                }
            }
            Command::Who => {
                let Some(room) = current else {
                    eprintln!("! you are in no room");
                    continue;
                };
                let who = client
                    .call()
                    .rooms()
                    .members(rooms::Members { room_id: room });
                match who.await {
                    Ok(m) => println!("* in {}: {}", m.room_id, m.members.join(", ")),
                    Err(e) => eprintln!("! who: {e}"),
                }
            }
            Command::Say(content) => {
                let Some(room) = current else {
                    eprintln!("! you are in no room; /join one to talk");
                    continue;
                };
                let sent = client.send().rooms().message(rooms::Message {
                    room_id: room,
                    content,
                });
                if let Err(e) = sent {
                    eprintln!("! not sent: {e}");
                }
            }
        }
    }
    quitting.store(true, Ordering::Release);
    client.close();
    println!("* bye");
    tokio::time::timeout(
        std::time::Duration::from_secs(2),
        client.wait_for(State::Closed),
    )
    .await
    .ok();
    Ok(())
}

/// The rooms this client is in, whatever a panicking holder left: they are
/// plain data, never half-updated.
fn rooms(shared: &Mutex<Rooms>) -> MutexGuard<'_, Rooms> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
