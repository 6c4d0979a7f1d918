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

impl app::rooms::Handlers for App {
    async fn join(&self, _cx: &app::Ctx<()>, _message: String) {}
}

fn main() {}
