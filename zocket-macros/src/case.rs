//! Name casing: Rust names to wire names and method names.

/// `OnMessage` → `onMessage`, `admin_tools` → `adminTools`, `HTTPError` →
/// `httpError`: a leading acronym is lowercased as one word.
pub fn lower_camel(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    // The leading run of capitals, but the last one of a run followed by a
    // lowercase letter starts the next word (`HTTPError`: `HTTP`, `Error`).
    let mut lead = chars.iter().take_while(|c| c.is_uppercase()).count();
    if lead > 1 && chars.get(lead).is_some_and(|c| c.is_lowercase()) {
        lead -= 1;
    }
    let lead = lead.max(1);
    let mut out = String::with_capacity(name.len());
    let mut upper_next = false;
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            upper_next = !out.is_empty();
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else if i < lead || out.is_empty() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `OnMessage` → `on_message`, `GetXP` → `get_xp`, `HTTPError` →
/// `http_error`: an acronym is one word.
pub fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) => p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of an identifier as the user wrote it, without `r#`: what wire
/// names, paths and messages use.
pub fn unraw(ident: &syn::Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}

/// A method name that may be a Rust keyword (a message `struct Move` gives
/// `move`): a raw identifier then. `self`, `super`, `crate` and `Self`
/// cannot be raw; the checks refuse those names.
pub fn method_ident(name: &str, span: proc_macro2::Span) -> syn::Ident {
    if is_keyword(name) {
        syn::Ident::new_raw(name, span)
    } else {
        syn::Ident::new(name, span)
    }
}

/// Rust's strict and reserved keywords (2021 edition and later) that can be
/// raw identifiers.
fn is_keyword(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do",
        "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in",
        "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
        "return", "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe",
        "unsized", "use", "virtual", "where", "while", "yield",
    ];
    KEYWORDS.contains(&name)
}

/// `admin_tools` → `AdminTools`.
pub fn upper_camel(name: &str) -> String {
    let camel = lower_camel(name);
    let mut chars = camel.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => camel,
    }
}

/// `user_name` → `user-name`.
pub fn kebab(name: &str) -> String {
    name.replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casing() {
        assert_eq!(lower_camel("OnMessage"), "onMessage");
        assert_eq!(lower_camel("Join"), "join");
        assert_eq!(lower_camel("admin_tools"), "adminTools");
        assert_eq!(lower_camel("room_id"), "roomId");
        assert_eq!(snake("OnMessage"), "on_message");
        assert_eq!(snake("Join"), "join");
        assert_eq!(upper_camel("admin_tools"), "AdminTools");
        assert_eq!(upper_camel("rooms"), "Rooms");
        assert_eq!(kebab("user_name"), "user-name");
        assert_eq!(snake("GetXP"), "get_xp");
        assert_eq!(snake("HTTPError"), "http_error");
        assert_eq!(snake("IOStats2"), "io_stats2");
        assert_eq!(snake("Player2Move"), "player2_move");
        assert_eq!(lower_camel("HTTPError"), "httpError");
        assert_eq!(lower_camel("GetXP"), "getXP");
        assert_eq!(lower_camel("XP"), "xp");
        assert_eq!(lower_camel("A"), "a");
        assert_eq!(
            method_ident("move", proc_macro2::Span::call_site()).to_string(),
            "r#move"
        );
        assert_eq!(
            method_ident("join", proc_macro2::Span::call_site()).to_string(),
            "join"
        );
    }
}
