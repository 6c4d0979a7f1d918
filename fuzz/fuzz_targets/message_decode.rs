//! Incoming-frame decoding as the server does it: envelope, type lookup,
//! payload parse, defaults and validation; then the error frame built from
//! any failure. Also the client's decoding of outgoing frames.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zocket::MessageSet;
use zocket_core::{wire, FrameError};

fn short(s: &String) -> Result<(), String> {
    zocket::validate::max_len::<16>(s)
}

#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        #[zocket(default = "anon")]
        pub user_name: String,
    }

    pub mod rooms {
        #[incoming]
        pub struct Join {
            #[zocket(validate = zocket::validate::not_empty)]
            pub room_id: String,
        }

        #[incoming]
        pub struct Message {
            #[zocket(validate = crate::short)]
            pub room_id: String,
            #[zocket(default = "ping")]
            pub content: String,
            #[zocket(default)]
            pub tags: Vec<String>,
            #[zocket(default)]
            pub priority: Option<u8>,
            #[zocket(default)]
            pub at: Option<zocket::Timestamp>,
        }

        pub mod admin {
            #[incoming]
            pub struct Kick {
                pub client_id: String,
                pub ban_seconds: u64,
                pub reason: Option<String>,
            }
        }

        #[outgoing]
        pub struct OnMessage {
            pub room_id: String,
            pub content: String,
            pub timestamp: zocket::Timestamp,
            pub score: f64,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let decoded = wire::Envelope::parse(text).and_then(|env| {
        let ty = env.ty.as_ref();
        if !<app::Incoming as MessageSet>::TYPES.contains(&ty) {
            return Err(FrameError::UnknownType(ty.to_owned()));
        }
        <app::Incoming as MessageSet>::decode(ty, env.payload_str())
    });
    match decoded {
        Ok(message) => {
            assert!(<app::Incoming as MessageSet>::TYPES.contains(&message.ty()));
        }
        Err(error) => {
            let frame = wire::encode_error(&error.to_payload());
            let back: serde_json::Value = serde_json::from_str(&frame).expect("error frames are JSON");
            assert_eq!(back["type"], wire::ERROR_TYPE);
        }
    }
    if let Ok(env) = wire::Envelope::parse(text) {
        if let Ok(message) = <app::Outgoing as MessageSet>::decode(&env.ty, env.payload_str()) {
            let _ = message.ty();
        }
    }
});
