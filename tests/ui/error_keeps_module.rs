// On an error the module is still emitted: code naming its structs gets no
// "unresolved module" errors on top of the one that matters.
#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming(nmae = "x")]
        pub struct Join {
            pub room_id: String,
        }
    }
}

fn room_of(join: &app::rooms::Join) -> &str {
    &join.room_id
}

fn main() {
    let _ = room_of;
}
