//! A library crate that denies missing docs: what the router macro
//! generates is documented, so only the user's own items need docs.
#![deny(missing_docs)]

/// The router.
#[zocket::router]
pub mod app {
    /// Connection headers.
    #[headers]
    pub struct Headers {
        /// Who connects.
        #[zocket(default = "Anonymous")]
        pub user_name: String,
    }

    /// Rooms.
    pub mod rooms {
        /// Joins a room.
        #[incoming(reply = u32)]
        pub struct Join {
            /// Which.
            pub room_id: String,
        }
        /// Someone joined.
        #[outgoing]
        pub struct OnJoin {
            /// Where.
            pub room_id: String,
        }
        /// Nested namespaces too.
        pub mod admin {
            /// Asks a client to confirm.
            #[outgoing(reply = bool)]
            pub struct Confirm {
                /// What.
                pub what: String,
            }
        }
    }
}

fn main() {}
