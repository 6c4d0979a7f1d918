use zocket::{ClientId, Reject};

#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming]
        pub struct Join {}
    }
}

struct App;

impl app::Server for App {
    type Context = ();
    async fn on_connect(&self, _: zocket::NoHeaders, _: &ClientId) -> Result<(), Reject> {
        Ok(())
    }
}

fn main() {
    let _server = app::Router::server(App);
}
