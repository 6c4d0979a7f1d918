//! The user's own structs, completed from the model: serde's derives
//! through zocket's re-export (users need no serde dependency), the wire's
//! casing, renames and defaults, and the `TS` derive with the optional keys
//! the TypeScript side should see.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_quote, Attribute, Expr, Fields, Item, ItemStruct, Lit};

use crate::attr::Role;
use crate::model::{Field, Message, Namespace, UserDerives};

/// Completes every message struct of `ns` found in `items` and adds the
/// default-value functions their fields name.
pub fn complete(ns: &Namespace, items: &mut Vec<Item>) {
    let mut extra = Vec::new();
    for item in items.iter_mut() {
        let Item::Struct(s) = item else { continue };
        let Some(m) = ns.messages.iter().find(|m| m.ident == s.ident) else {
            continue;
        };
        complete_struct(m, s, &mut extra);
    }
    items.extend(extra.into_iter().map(Item::Verbatim));
}

fn complete_struct(m: &Message, s: &mut ItemStruct, extra: &mut Vec<TokenStream>) {
    let rename_all = match m.role {
        Role::Headers => "kebab-case",
        Role::Incoming | Role::Outgoing => "camelCase",
    };
    // A missing `Option` field deserializes as `None`: clients may leave it
    // out. The server always writes it (as `null` when `None`).
    let ts: Attribute = if m.role == Role::Outgoing {
        parse_quote!(#[ts(crate = "::zocket::__private::ts_rs")])
    } else {
        parse_quote!(#[ts(crate = "::zocket::__private::ts_rs", optional_fields = nullable)])
    };
    let added = [
        derive_attr(m.derives),
        parse_quote!(#[serde(crate = "::zocket::__private::serde", rename_all = #rename_all)]),
        ts,
    ];
    s.attrs.splice(0..0, added);
    let Fields::Named(named) = &mut s.fields else {
        return;
    };
    for (field, model) in named.named.iter_mut().zip(&m.fields) {
        field_attrs(&s.ident, model, &mut field.attrs, extra);
    }
}

fn field_attrs(
    struct_ident: &syn::Ident,
    f: &Field,
    attrs: &mut Vec<Attribute>,
    extra: &mut Vec<TokenStream>,
) {
    if f.optional {
        attrs.push(parse_quote!(#[ts(optional = nullable)]));
    }
    if let Some(lit) = &f.rename {
        attrs.push(parse_quote!(#[serde(rename = #lit)]));
    }
    match &f.default {
        None => {}
        Some(None) => attrs.push(parse_quote!(#[serde(default)])),
        Some(Some(value)) => {
            let name = format_ident!("__zocket_default_{}_{}", struct_ident, f.ident);
            let ty = &f.ty;
            let is_str = matches!(value, Expr::Lit(l) if matches!(l.lit, Lit::Str(_)));
            let body = if is_str {
                quote!(::core::convert::Into::into(#value))
            } else {
                quote!(#value)
            };
            extra.push(quote! {
                #[doc(hidden)]
                #[allow(non_snake_case)]
                fn #name() -> #ty { #body }
            });
            let path = name.to_string();
            attrs.push(parse_quote!(#[serde(default = #path)]));
        }
    }
}

/// The `#[derive(..)]` zocket adds to a router struct or a
/// `#[zocket::data]` type: serde's two, `Debug` and `Clone` unless the user
/// derived them, and `TS` (ts-rs's with the `typescript` feature, a no-op
/// otherwise, so `#[ts(..)]` attributes are accepted either way).
pub fn derive_attr(user: UserDerives) -> Attribute {
    let wanted = [
        (
            !user.serialize,
            quote!(::zocket::__private::serde::Serialize),
        ),
        (
            !user.deserialize,
            quote!(::zocket::__private::serde::Deserialize),
        ),
        (!user.debug, quote!(::core::fmt::Debug)),
        (!user.clone, quote!(::core::clone::Clone)),
        (true, quote!(::zocket::__private::TS)),
    ];
    let derives = wanted.into_iter().filter(|(add, _)| *add).map(|(_, d)| d);
    parse_quote!(#[derive(#(#derives),*)])
}
