#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming]
        pub struct Join {}

        #[outgoing(rename = "join")]
        pub struct Joined {}
    }
}

fn main() {}
