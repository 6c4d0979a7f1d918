#[zocket::router]
pub mod app {
    pub mod rooms {
        #[derive(serde::Serialize)]
        #[incoming]
        pub struct Join {}
    }
}

fn main() {}
