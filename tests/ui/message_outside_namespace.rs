#[zocket::router]
pub mod app {
    #[incoming]
    pub struct Ping {}
}

fn main() {}
