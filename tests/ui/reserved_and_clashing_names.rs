#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming]
        pub struct Incoming {}

        #[outgoing]
        pub struct Lobby {}

        pub mod lobby {
            #[incoming]
            pub struct Enter {}
        }
    }
}

fn main() {}
