//! Reads a `#[zocket::router]` module into the [`model`](crate::model).
//! The only change it makes to the input is taking zocket's own attributes
//! off (the compiler must not see them); what the wire format needs is added
//! by [`gen`](crate::gen) from the model.

use syn::{Expr, Fields, Ident, Item, ItemMod, ItemStruct, LitStr};

use crate::attr::{self, Role};
use crate::case;
use crate::ctxt::Ctxt;
use crate::model::{Field, Headers, Message, Namespace, Router, UserDerives};
use crate::rate;

pub fn parse(cx: &Ctxt, module: &mut ItemMod) -> Router {
    let mut headers: Option<(Headers, Ident)> = None;
    let ident = module.ident.clone();
    let root = match &mut module.content {
        Some((_, items)) => namespace(cx, items, Vec::new(), ident.clone(), None, &mut headers),
        None => {
            cx.error(
                &*module,
                "#[zocket::router] needs the module's body here: `pub mod name { ... }`",
            );
            empty_namespace(ident)
        }
    };
    Router {
        headers: headers.map(|(h, _)| h),
        root,
    }
}

fn empty_namespace(ident: Ident) -> Namespace {
    Namespace {
        path: Vec::new(),
        variant: ident.clone(),
        wire: String::new(),
        ident,
        messages: Vec::new(),
        children: Vec::new(),
    }
}

fn namespace(
    cx: &Ctxt,
    items: &mut Vec<Item>,
    path: Vec<Ident>,
    ident: Ident,
    wire_prefix: Option<String>,
    headers: &mut Option<(Headers, Ident)>,
) -> Namespace {
    let is_root = wire_prefix.is_none();
    let mut ns = Namespace {
        variant: Ident::new(&case::upper_camel(&case::unraw(&ident)), ident.span()),
        path: path.clone(),
        wire: wire_prefix.clone().unwrap_or_default(),
        ident,
        messages: Vec::new(),
        children: Vec::new(),
    };
    for item in items.iter_mut() {
        match item {
            Item::Struct(s) => {
                let attrs = attr::take_struct_attrs(cx, &mut s.attrs);
                let Some((role, role_attr)) = attrs.role else {
                    continue;
                };
                if !check_shape(cx, s, role) {
                    continue;
                }
                match role {
                    Role::Headers => {
                        if !is_root {
                            cx.error(&role_attr, "`#[headers]` belongs at the top level of the router module, not inside a namespace");
                            continue;
                        }
                        if let Some((_, first)) = headers {
                            let mut e = syn::Error::new_spanned(
                                &s.ident,
                                "headers declared twice: a router has one headers struct",
                            );
                            e.combine(syn::Error::new_spanned(&*first, "first declared here"));
                            cx.syn_error(e);
                            continue;
                        }
                        let fields = fields(cx, s, role, case::kebab);
                        let derives = user_derives(cx, &s.attrs);
                        *headers = Some((
                            Headers {
                                ident: s.ident.clone(),
                            },
                            s.ident.clone(),
                        ));
                        ns.messages.push(Message {
                            role,
                            ident: s.ident.clone(),
                            wire: String::new(),
                            method: s.ident.clone(),
                            fields,
                            validate: attrs.validate,
                            reply: None,
                            error: None,
                            rate: None,
                            derives,
                        });
                    }
                    Role::Incoming | Role::Outgoing => {
                        let Some(prefix) = &wire_prefix else {
                            cx.error(
                                &s.ident,
                                format!(
                                    "`#[{}]` messages must be inside a namespace module (e.g. `pub mod rooms {{ ... }}`): the wire type is `namespace.message`",
                                    role.attr_name()
                                ),
                            );
                            continue;
                        };
                        let name = match &attrs.rename {
                            Some(lit) => checked_wire_name(cx, lit),
                            None => case::lower_camel(&case::unraw(&s.ident)),
                        };
                        let fields = fields(cx, s, role, case::lower_camel);
                        let derives = user_derives(cx, &s.attrs);
                        let rate = rate::rate(cx, role, attrs.rate.as_ref(), attrs.burst.as_ref());
                        ns.messages.push(Message {
                            role,
                            ident: s.ident.clone(),
                            wire: format!("{prefix}.{name}"),
                            method: case::method_ident(
                                &case::snake(&case::unraw(&s.ident)),
                                s.ident.span(),
                            ),
                            fields,
                            validate: attrs.validate,
                            reply: attrs.reply,
                            error: attrs.error,
                            rate,
                            derives,
                        });
                    }
                }
            }
            Item::Mod(m) => {
                let rename = attr::take_mod_attrs(cx, &mut m.attrs);
                let name = match &rename {
                    Some(lit) => checked_wire_name(cx, lit),
                    None => case::lower_camel(&case::unraw(&m.ident)),
                };
                let prefix = match &wire_prefix {
                    Some(p) => format!("{p}.{name}"),
                    None => name,
                };
                let Some((_, sub_items)) = &mut m.content else {
                    cx.error(
                        &*m,
                        "namespace modules inside a router must be written inline: `pub mod name { ... }`",
                    );
                    continue;
                };
                let mut sub_path = path.clone();
                sub_path.push(m.ident.clone());
                let child = namespace(
                    cx,
                    sub_items,
                    sub_path,
                    m.ident.clone(),
                    Some(prefix),
                    headers,
                );
                ns.children.push(child);
            }
            Item::Enum(e) => attr::reject_roles(cx, &mut e.attrs, "an enum"),
            Item::Union(u) => attr::reject_roles(cx, &mut u.attrs, "a union"),
            Item::Fn(f) => attr::reject_roles(cx, &mut f.attrs, "a function"),
            Item::Type(t) => attr::reject_roles(cx, &mut t.attrs, "a type alias"),
            Item::Trait(t) => attr::reject_roles(cx, &mut t.attrs, "a trait"),
            Item::Impl(i) => attr::reject_roles(cx, &mut i.attrs, "an impl block"),
            Item::Const(c) => attr::reject_roles(cx, &mut c.attrs, "a const"),
            Item::Static(s) => attr::reject_roles(cx, &mut s.attrs, "a static"),
            Item::Use(u) => attr::reject_roles(cx, &mut u.attrs, "a use declaration"),
            _ => {}
        }
    }
    // Reported above; left in, a file module would add a "file not found".
    items.retain(|item| !matches!(item, Item::Mod(m) if m.content.is_none()));
    ns
}

/// Messages are structs with named fields and no generics.
fn check_shape(cx: &Ctxt, s: &ItemStruct, role: Role) -> bool {
    let mut ok = true;
    if !s.generics.params.is_empty() || s.generics.where_clause.is_some() {
        cx.error(
            &s.generics,
            format!(
                "`#[{}]` structs cannot be generic: each wire type needs one concrete payload type",
                role.attr_name()
            ),
        );
        ok = false;
    }
    if !matches!(s.fields, Fields::Named(_)) {
        cx.error(
            &s.ident,
            format!(
                "`#[{}]` structs need named fields (write `struct {} {{}}` for an empty payload)",
                role.attr_name(),
                s.ident
            ),
        );
        ok = false;
    }
    ok
}

fn checked_wire_name(cx: &Ctxt, lit: &LitStr) -> String {
    let name = lit.value();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        cx.error(
            lit,
            "a wire name is letters, digits, `_` or `-` (the dots between namespaces are added by zocket)",
        );
    }
    name
}

/// Reads the fields into the model, taking their `#[zocket(..)]`
/// attributes off.
fn fields(cx: &Ctxt, s: &mut ItemStruct, role: Role, casing: fn(&str) -> String) -> Vec<Field> {
    let struct_default = serde_keys(&s.attrs).iter().any(|k| k == "default");
    let Fields::Named(named) = &mut s.fields else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for field in named.named.iter_mut() {
        let attrs = attr::take_field_attrs(cx, &mut field.attrs);
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        // A key the receiver may go without: clients may leave out incoming
        // fields and headers that have a default; the server leaves out
        // fields it skips when serializing.
        let serde = serde_keys(&field.attrs);
        let optional = match role {
            Role::Incoming | Role::Headers => {
                struct_default || attrs.default.is_some() || serde.iter().any(|k| k == "default")
            }
            Role::Outgoing => serde
                .iter()
                .any(|k| k == "skip_serializing_if" || k == "skip_serializing"),
        };
        let wire = match &attrs.rename {
            Some(lit) => lit.value(),
            None => casing(&case::unraw(&ident)),
        };
        out.push(Field {
            ident,
            ty: field.ty.clone(),
            wire,
            rename: attrs.rename,
            default: attrs.default,
            optional,
            validate: attrs.validate,
        });
    }
    out
}

/// Reads the derives the user wrote. A serde derive is an error: zocket
/// derives serde through its own re-export.
pub(crate) fn user_derives(cx: &Ctxt, attrs: &[syn::Attribute]) -> UserDerives {
    let mut out = UserDerives::default();
    for attr in attrs {
        if !attr.path().is_ident("derive") {
            continue;
        }
        let _ = attr.parse_nested_meta(|meta| {
            let name = meta.path.segments.last().map(|s| s.ident.to_string());
            match name.as_deref() {
                Some(derive @ ("Serialize" | "Deserialize")) => {
                    cx.error(
                        &meta.path,
                        "zocket derives Serialize and Deserialize for router items and `#[zocket::data]` types; remove this derive",
                    );
                    out.serialize |= derive == "Serialize";
                    out.deserialize |= derive == "Deserialize";
                }
                Some("Debug") => out.debug = true,
                Some("Clone") => out.clone = true,
                _ => {}
            }
            Ok(())
        });
    }
    out
}

/// The keys of a list of `#[serde(..)]` attributes (`default`,
/// `skip_serializing_if`, …), values and nested lists skipped.
fn serde_keys(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(ident) = meta.path.get_ident() {
                keys.push(ident.to_string());
            }
            if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in meta.input);
                content.parse::<proc_macro2::TokenStream>()?;
            }
            Ok(())
        });
    }
    keys
}
