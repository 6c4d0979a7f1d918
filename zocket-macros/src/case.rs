//! Name casing: Rust names to wire names and method names.

/// `OnMessage` → `onMessage`, `admin_tools` → `adminTools`.
pub fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper_next = false;
    for (i, c) in name.chars().enumerate() {
        if c == '_' {
            upper_next = !out.is_empty();
        } else if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else if i == 0 || out.is_empty() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `OnMessage` → `on_message`.
pub fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i != 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
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
    }
}
