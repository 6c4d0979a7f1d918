//! Checks on the whole router that no single item can see: wire types used
//! twice, names that clash with what the macro generates.

use std::collections::HashMap;

use syn::Ident;

use crate::attr::Role;
use crate::ctxt::Ctxt;
use crate::model::{Namespace, Router};

/// Items the macro generates in every namespace module.
const RESERVED: &[&str] = &[
    "Incoming", "Outgoing", "Handlers", "Router", "Server", "Service", "Ctx", "Client", "Before",
];

pub fn check(cx: &Ctxt, router: &Router) {
    let mut all = Vec::new();
    router.root.walk(&mut all);
    let mut wires: HashMap<&str, &Ident> = HashMap::new();
    for ns in &all {
        for m in &ns.messages {
            let name = crate::case::unraw(&m.ident);
            if m.role != Role::Headers
                && (RESERVED.contains(&name.as_str()) || name.starts_with("__"))
            {
                cx.error(
                    &m.ident,
                    format!("`{name}` is a name the router macro generates in this module; rename the struct (keep its wire name with `#[{}(rename = \"..\")]`)", m.role.attr_name()),
                );
            }
            if m.role == Role::Headers {
                continue;
            }
            let method = m.method.to_string();
            if ["crate", "self", "super"].contains(&method.as_str()) {
                cx.error(
                    &m.ident,
                    format!("`{name}` would give its accessor the name `{method}`, which Rust does not allow even as a raw identifier; rename the struct (keep its wire name with `#[{}(rename = \"..\")]`)", m.role.attr_name()),
                );
            }
            if let Some(first) = wires.insert(&m.wire, &m.ident) {
                let mut e = syn::Error::new_spanned(
                    &m.ident,
                    format!(
                        "duplicate wire type `{}`: `{first}` already uses it",
                        m.wire
                    ),
                );
                e.combine(syn::Error::new_spanned(
                    first,
                    format!("`{}` first used here", m.wire),
                ));
                cx.syn_error(e);
            }
        }
        check_variants(cx, ns);
    }
}

/// Messages and child namespaces share the variant names of a namespace's
/// message enums and the method names of its accessors.
fn check_variants(cx: &Ctxt, ns: &Namespace) {
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    let names = ns
        .messages
        .iter()
        .filter(|m| m.role != Role::Headers)
        .map(|m| (&m.ident, crate::case::unraw(&m.ident)))
        .chain(
            ns.children
                .iter()
                .map(|c| (&c.ident, c.variant.to_string())),
        );
    for (ident, variant) in names {
        if let Some(first) = seen.insert(variant.clone(), ident) {
            cx.error(
                ident,
                format!("`{ident}` and `{first}` would both be `{variant}` in this namespace's message enum; rename one"),
            );
        }
    }
}
