// Every repeated attribute is reported (not the last one silently kept).
#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming(reply = u32, reply = u64)]
        pub struct Count {}

        #[incoming(rename = "a")]
        #[zocket(rename = "b")]
        pub struct Size {
            #[zocket(default = 1, default = 2)]
            pub n: u32,
            #[zocket(rename = "x")]
            #[zocket(rename = "y")]
            pub m: u32,
        }

        #[incoming(reply)]
        pub struct Empty {}
    }
}

fn main() {}
