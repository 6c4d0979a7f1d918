//! The README's complete app is `examples/hello`, which CI builds: these
//! checks keep the README's copy of its `Cargo.toml` lines and `main.rs`
//! identical to the files, so what a newcomer copies is what compiles.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines between the `README-BEGIN name` and `README-END name` marker
/// lines of `source` (the markers themselves excluded).
fn marked(source: &str, name: &str) -> String {
    let begin = format!("README-BEGIN {name}");
    let end = format!("README-END {name}");
    let mut lines = source.lines().skip_while(|l| !l.contains(&begin));
    assert!(lines.next().is_some(), "no `{begin}` marker");
    let body: Vec<&str> = lines.take_while(|l| !l.contains(&end)).collect();
    assert!(!body.is_empty(), "nothing between `{begin}` and `{end}`");
    body.iter().map(|l| format!("{l}\n")).collect()
}

fn assert_in_readme(file: &str, name: &str, fence: &str) {
    let block = format!("```{fence}\n{}```\n", marked(&read(file), name));
    let readme = read("README.md");
    assert!(
        readme.contains(&block),
        "README.md does not contain {file}'s `{name}` block as written; copy it again:\n{block}"
    );
}

#[test]
fn readme_has_the_hello_cargo_toml_lines() {
    assert_in_readme("examples/hello/Cargo.toml", "dependencies", "toml");
}

#[test]
fn readme_has_the_hello_main() {
    assert_in_readme("examples/hello/src/main.rs", "main", "rust");
}
