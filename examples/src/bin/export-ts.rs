//! Writes the chat router's TypeScript to `examples/web/src/chat-router.ts`:
//! `cargo run -p zocket-examples --bin export-ts` (`--check` only compares,
//! and fails when the file is stale).

use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(zocket_examples::TYPESCRIPT_PATH);
    let fresh = zocket_examples::typescript();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::args().any(|a| a == "--check") {
        if current == fresh {
            println!("{} is up to date", zocket_examples::TYPESCRIPT_PATH);
            return std::process::ExitCode::SUCCESS;
        }
        eprintln!(
            "{} is stale: run `cargo run -p zocket-examples --bin export-ts`",
            zocket_examples::TYPESCRIPT_PATH
        );
        return std::process::ExitCode::FAILURE;
    }
    if current == fresh {
        println!("{} unchanged", zocket_examples::TYPESCRIPT_PATH);
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the generated/ directory");
        }
        std::fs::write(&path, fresh).expect("write the TypeScript file");
        println!("wrote {}", zocket_examples::TYPESCRIPT_PATH);
    }
    std::process::ExitCode::SUCCESS
}
