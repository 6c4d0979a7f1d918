#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        pub user_name: String,
    }

    #[headers]
    pub struct MoreHeaders {
        pub token: String,
    }

    pub mod rooms {
        #[headers]
        pub struct NestedHeaders {}
    }
}

fn main() {}
