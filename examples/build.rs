//! Embeds the web page (`web/public/` and the built `web/dist/`) in the
//! chat binary: writes `$OUT_DIR/web_assets.rs`, a list of
//! `(url path, content type, contents)`.

use std::path::{Path, PathBuf};

fn main() {
    let web = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("web");
    println!("cargo:rerun-if-changed=web/public");
    println!("cargo:rerun-if-changed=web/dist");
    let mut files = Vec::new();
    for dir in ["public", "dist"] {
        collect(&web.join(dir), &web.join(dir), &mut files);
    }
    files.sort();
    let mut out = String::from("&[\n");
    for (url, path) in &files {
        let ty = match path.extension().and_then(|e| e.to_str()) {
            Some("html") => "text/html; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("svg") => "image/svg+xml",
            Some("json") => "application/json",
            _ => continue,
        };
        out.push_str(&format!(
            "    ({url:?}, {ty:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push(']');
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("web_assets.rs");
    std::fs::write(dest, out).unwrap();
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(root, &path, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let url = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            out.push((url, path));
        }
    }
}
