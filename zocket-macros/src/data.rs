//! `#[zocket::data]`: what a router struct gets (serde through zocket's
//! re-export, `Debug`, `Clone`, `TS`, camelCase on the wire), for the types
//! used inside messages: nested structs and enums.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{parse_quote, Item};

use crate::ctxt::Ctxt;

pub fn expand(args: TokenStream, mut item: Item) -> TokenStream {
    let cx = Ctxt::default();
    if !args.is_empty() {
        cx.error(&args, "#[zocket::data] takes no arguments");
    }
    let (attrs, serde): (_, syn::Attribute) = match &mut item {
        Item::Struct(s) => (
            &mut s.attrs,
            parse_quote!(#[serde(crate = "::zocket::__private::serde", rename_all = "camelCase")]),
        ),
        // Variant names and the fields of struct variants, both camelCase,
        // as message fields are.
        Item::Enum(e) => (
            &mut e.attrs,
            parse_quote!(#[serde(
                crate = "::zocket::__private::serde",
                rename_all = "camelCase",
                rename_all_fields = "camelCase"
            )]),
        ),
        other => {
            cx.error(
                &*other,
                "`#[zocket::data]` goes on a struct or an enum used inside messages",
            );
            let other = quote!(#other);
            return finish(cx, other);
        }
    };
    let derive = crate::gen::items::derive_attr(crate::parse::user_derives(&cx, attrs));
    attrs.insert(0, derive);
    attrs.insert(1, serde);
    attrs.insert(2, parse_quote!(#[ts(crate = "::zocket::__private::ts_rs")]));
    finish(cx, quote!(#item))
}

/// The item, with every error found, so that code using it does not also
/// fail to resolve it.
fn finish(cx: Ctxt, item: TokenStream) -> TokenStream {
    match cx.check() {
        Ok(()) => item,
        Err(e) => {
            let errors = e.to_compile_error();
            quote!(#errors #item)
        }
    }
}
