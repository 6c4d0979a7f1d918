#[zocket::incoming]
pub struct Join {}

#[zocket::router]
pub mod app {
    pub mod rooms;
}

fn main() {}
