#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming]
        pub struct Join<T> {
            pub room: T,
        }

        #[outgoing]
        pub enum OnJoin {
            A,
        }

        #[incoming]
        pub struct Leave(String);

        #[incoming]
        pub fn handler() {}
    }
}

fn main() {}
