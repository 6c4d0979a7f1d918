use zocket::{ClientId, Reject};

#[derive(Debug, serde::Serialize, serde::Deserialize, zocket::ts_rs::TS)]
#[ts(crate = "zocket::ts_rs")]
pub struct Roster {
    pub members: Vec<String>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize, zocket::ts_rs::TS)]
#[ts(crate = "zocket::ts_rs")]
pub struct NotMember;

impl std::fmt::Display for NotMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a member")
    }
}

#[zocket::router]
pub mod app {
    pub mod rooms {
        #[incoming(reply = crate::Roster, error = crate::NotMember)]
        pub struct Members {}

        #[incoming(reply = u32)]
        pub struct Count {}
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
    // Returns the reply without the declared error.
    async fn members(&self, _cx: &app::Ctx<()>, _m: app::rooms::Members) -> Roster {
        Roster { members: vec![] }
    }

    // Returns nothing although a reply is declared.
    async fn count(&self, _cx: &app::Ctx<()>, _m: app::rooms::Count) {}
}

fn main() {}
