// `Move` becomes the raw method `r#move`; `Crate` and `Super` cannot.
#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming]
        pub struct Move {}

        #[incoming]
        pub struct Crate {}

        #[outgoing]
        pub struct Super {}
    }
}

fn main() {}
