//! Connection-header parsing as the upgrade does it: HTTP header pairs,
//! query parameters and the `zocket.auth.` subprotocol entry, merged and
//! parsed into a headers struct with defaults and validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zocket_core::protocol::decode_auth_protocol;

#[zocket::router]
pub mod app {
    #[headers]
    pub struct Headers {
        #[zocket(default = "anon", validate = zocket::validate::max_len::<64>)]
        pub user_name: String,
        #[zocket(default)]
        pub age: Option<u32>,
        #[zocket(default)]
        pub admin: bool,
        #[zocket(default)]
        pub ratio: f32,
    }

    pub mod ns {
        #[incoming]
        pub struct Noop {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // First line: the subprotocol entry; then `name: value` header lines
    // until an empty line; the rest is a query string.
    let mut lines = text.split('\n');
    let protocol = lines.next().unwrap_or("");
    let mut http = Vec::new();
    for line in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            http.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let rest: Vec<&str> = lines.collect();
    let query = rest.join("\n");
    let mut extra: Vec<(String, String)> = form_pairs(&query);
    match decode_auth_protocol(protocol) {
        Ok(Some(pairs)) => extra.extend(pairs),
        Ok(None) => {}
        Err(error) => {
            let _ = error.body();
            return;
        }
    }
    match zocket_core::parse_headers::<app::Headers, _, _, _, _>(http, extra) {
        Ok(headers) => assert!(headers.user_name.len() <= 64),
        Err(error) => {
            let body: serde_json::Value = serde_json::from_str(&error.body()).expect("JSON body");
            assert_eq!(body["error"], "Invalid headers");
        }
    }
});

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
