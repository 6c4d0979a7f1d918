//! `Router::typescript(name)`: the router as a TypeScript module in the
//! encoding of `clients/ts` (see `clients/ts/src/router.ts`).
//!
//! The payload types come from ts-rs (every router struct derives `TS`, see
//! `parse::decorate`); this stage only lays out the router tree: the
//! headers type, and for each direction the namespaces and messages by
//! their wire names. Behind the facade's `typescript` feature.

use proc_macro2::TokenStream;
use quote::quote;

use crate::attr::Role;
use crate::case;
use crate::model::{Namespace, Router};

pub fn root(router: &Router, ns: &Namespace) -> TokenStream {
    let headers = match &router.headers {
        Some(h) => {
            let ident = &h.ident;
            // `ChatHeaders`: a bare `Headers` would shadow the DOM's.
            let name = format!("{}{}", case::upper_camel(&case::unraw(&ns.ident)), ident);
            quote!(ts.headers::<#ident>(#name);)
        }
        None => quote!(ts.no_headers();),
    };
    let incoming = tree(ns, Role::Incoming);
    let outgoing = tree(ns, Role::Outgoing);
    let router_name = case::unraw(&ns.ident);
    let doc = format!(
        "The `{router_name}` router as a TypeScript module for zocket's TypeScript client \
         (`clients/ts`): one exported type per payload, and `export type {{name}}` giving \
         the headers and, for each direction, every namespace and message by its wire name. \
         Use it as `createZocketClient<{{name}}>(url, {{ headers }})`."
    );
    quote! {
        ::zocket::__cfg_typescript! {
            impl Router {
                #[doc = #doc]
                pub fn typescript(name: &str) -> ::std::string::String {
                    let mut ts = ::zocket::__private::typescript::Writer::new(name, #router_name);
                    #headers
                    ts.begin("incoming");
                    #incoming
                    ts.end();
                    ts.begin("outgoing");
                    #outgoing
                    ts.end();
                    ts.finish()
                }
            }
        }
    }
}

/// The calls that write `ns`'s messages of `role` and its children's.
fn tree(ns: &Namespace, role: Role) -> TokenStream {
    let module = ns.module_path();
    let prefix: String = ns
        .path
        .iter()
        .map(|p| case::upper_camel(&case::unraw(p)))
        .collect();
    let messages = ns.messages(role).map(|m| {
        let ident = &m.ident;
        let short = m.wire.rsplit('.').next().unwrap_or(&m.wire);
        let type_name = format!("{prefix}{ident}");
        if m.reply.is_none() && m.error.is_none() {
            return quote!(ts.message::<#module::#ident>(#short, #type_name););
        }
        let (has_reply, has_error) = (m.reply.is_some(), m.error.is_some());
        // The declared types as written, resolved in the namespace module.
        let unit = quote!(());
        let reply = m.reply.as_ref().map(|t| quote!(#t)).unwrap_or(unit.clone());
        let error = m.error.as_ref().map(|t| quote!(#t)).unwrap_or(unit);
        quote! {{
            use #module::*;
            ts.request::<#ident, #reply, #error>(#short, #type_name, #has_reply, #has_error);
        }}
    });
    let children = ns.children_with(role).map(|c| {
        let segment = c.wire.rsplit('.').next().unwrap_or(&c.wire);
        let inner = tree(c, role);
        quote! {
            ts.begin(#segment);
            #inner
            ts.end();
        }
    });
    quote! {
        #(#messages)*
        #(#children)*
    }
}
