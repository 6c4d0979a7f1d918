//! Code generation from the model: each stage adds items to the namespace
//! modules it concerns. Generated code calls zocket only through
//! `::zocket::__private`, so users depend on the one crate.

mod client;
pub mod items;
mod server;
mod typescript;
mod wire;

use proc_macro2::TokenStream;
use syn::{Item, ItemMod};

use crate::model::{Namespace, Router};

pub fn expand(router: &Router, mut module: ItemMod) -> TokenStream {
    if let Some((_, items)) = &mut module.content {
        insert(router, &router.root, items);
    }
    quote::quote!(#module)
}

fn insert(router: &Router, ns: &Namespace, items: &mut Vec<Item>) {
    items::complete(ns, items);
    let generated = [
        wire::namespace(router, ns),
        server::namespace(router, ns),
        client::namespace(router, ns),
    ];
    items.extend(generated.into_iter().map(Item::Verbatim));
    if ns.path.is_empty() {
        items.push(Item::Verbatim(typescript::root(router, ns)));
    }
    for child in &ns.children {
        for item in items.iter_mut() {
            if let Item::Mod(m) = item {
                if m.ident == child.ident {
                    if let Some((_, sub)) = &mut m.content {
                        insert(router, child, sub);
                    }
                }
            }
        }
    }
}
