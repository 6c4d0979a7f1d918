#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming(nmae = "x")]
        pub struct Join {
            #[zocket(defualt = "general")]
            pub room_id: String,
        }

        #[zocket(rename = "y", strict)]
        #[outgoing]
        pub struct OnJoin {}
    }
}

fn main() {}
