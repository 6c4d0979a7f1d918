// `#[incoming(rate = "..", burst = ..)]`: every mistake reported at once,
// under the token that makes it.
#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming(rate = "5 per second")]
        pub struct BadUnit {}

        #[incoming(rate = "0/s")]
        pub struct ZeroRate {}

        #[incoming(rate = "5/s", burst = 0)]
        pub struct ZeroBurst {}

        #[incoming(burst = 3)]
        pub struct BurstAlone {}

        #[incoming(rate = "5/s", rate = "6/s")]
        pub struct TwoRates {}

        #[outgoing(rate = "5/s")]
        pub struct Sent {}
    }
}

fn main() {}
