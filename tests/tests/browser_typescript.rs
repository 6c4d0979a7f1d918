//! TypeScript generation: the committed chat router file is up to date,
//! and what each kind of field becomes. Both generated files are committed
//! under `clients/ts`, whose type tests compile them against the client;
//! these tests fail when a committed file differs from what the macro
//! generates now. `ZOCKET_BLESS=1` rewrites them instead.

use std::path::PathBuf;

fn check_committed(relative: &str, fresh: &str, regenerate: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    if std::env::var_os("ZOCKET_BLESS").is_some() {
        std::fs::write(&path, fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        panic!(
            "{relative} is stale (first difference at line {}): {regenerate}, and commit it.\n\
             --- generated now ---\n{fresh}",
            first + 1
        );
    }
}

#[test]
fn committed_chat_router_is_fresh() {
    check_committed(
        zocket_examples::TYPESCRIPT_PATH,
        &zocket_examples::typescript(),
        "run `cargo run -p zocket-examples --bin export-ts`",
    );
}

/// A type of the application's own, used in a payload.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, zocket::ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(crate = "zocket::ts_rs")]
pub struct Settings {
    pub max_players: u8,
    pub private: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, zocket::ts_rs::TS)]
#[serde(rename_all = "lowercase")]
#[ts(crate = "zocket::ts_rs")]
pub enum Vote {
    Yes,
    No,
}

#[zocket::router]
pub mod game {
    #[headers]
    pub struct Headers {
        pub token: String,
        #[zocket(default)]
        pub client_version: Option<String>,
        #[zocket(default = 3)]
        pub retries: u32,
    }

    pub mod lobby {
        /// Opens a lobby.
        #[incoming]
        pub struct Create {
            /// Shown to everyone.
            pub name: String,
            pub settings: super::super::Settings,
            pub password: Option<String>,
            #[zocket(default)]
            pub tags: Vec<String>,
            #[zocket(rename = "seed")]
            pub random_seed: u64,
        }

        #[incoming]
        pub struct Ping {}

        #[outgoing]
        pub struct OnUpdate {
            pub players: Vec<String>,
            pub host: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub winner: Option<String>,
            pub at: zocket::Timestamp,
        }

        pub mod chat {
            #[incoming(rename = "cast-vote")]
            pub struct Vote {
                pub vote: super::super::super::Vote,
                #[ts(type = "`#${string}`")]
                pub channel: String,
            }
        }
    }
}

/// `clients/ts/test/types/game-router.ts` holds what this router becomes;
/// the type tests there use it. In short: incoming `Option` fields and
/// fields with a default may be left out (`password?: string | null`,
/// `tags?: Array<string>`), outgoing `Option`s are always there
/// (`host: string | null`) unless skipped when `None`; 64-bit numbers are
/// `number`; timestamps `string`; docs become JSDoc; `#[ts(..)]` works on
/// fields; wire renames and nested namespaces appear as on the wire.
#[test]
fn field_types_optionality_and_names() {
    check_committed(
        "clients/ts/test/types/game-router.ts",
        &game::Router::typescript("GameRouter"),
        "run `ZOCKET_BLESS=1 cargo test -p zocket-tests --test browser_typescript`",
    );
}
