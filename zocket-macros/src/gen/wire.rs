//! Wire-level items: `Message` and `Validate` impls for every struct, the
//! `Incoming`/`Outgoing` enums of every namespace, and the root `Router`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::attr::Role;
use crate::model::{Message, Namespace, Router};

pub fn namespace(router: &Router, ns: &Namespace) -> TokenStream {
    let messages = ns.messages.iter().map(message_impls);
    let is_root = ns.path.is_empty();
    let enums = [Role::Incoming, Role::Outgoing]
        .into_iter()
        .filter(|role| is_root || ns.has(*role))
        .map(|role| message_enum(ns, role));
    let root = is_root.then(|| root_items(router, ns));
    quote! {
        #(#messages)*
        #(#enums)*
        #root
    }
}

fn message_impls(m: &Message) -> TokenStream {
    let ident = &m.ident;
    let field_checks = m.fields.iter().filter_map(|f| {
        let hook = f.validate.as_ref()?;
        let name = &f.ident;
        let wire = &f.wire;
        Some(quote! {
            if let ::core::result::Result::Err(e) = #hook(&self.#name) {
                return ::core::result::Result::Err(
                    ::zocket::__private::ValidationError::from(e).under(#wire),
                );
            }
        })
    });
    let struct_check = m.validate.as_ref().map(|hook| {
        quote! {
            #hook(self).map_err(::zocket::__private::ValidationError::from)?;
        }
    });
    let validate = quote! {
        impl ::zocket::__private::Validate for #ident {
            fn validate(&self) -> ::core::result::Result<(), ::zocket::__private::ValidationError> {
                #(#field_checks)*
                #struct_check
                ::core::result::Result::Ok(())
            }
        }
    };
    if m.role == Role::Headers {
        return validate;
    }
    let wire = &m.wire;
    let marker = match m.role {
        Role::Incoming => quote!(Incoming),
        _ => quote!(Outgoing),
    };
    let request = m.is_request().then(|| {
        // Spanned at the declared types, so a reply or error type that does
        // not serialise (or an error without `Display`) is reported there.
        let reply = match &m.reply {
            Some(ty) => quote_spanned!(ty.span()=> type Reply = #ty;),
            None => quote!(
                type Reply = ();
            ),
        };
        let error = match &m.error {
            Some(ty) => quote_spanned!(ty.span()=> type Error = #ty;),
            None => quote!(
                type Error = ::zocket::__private::NoError;
            ),
        };
        quote! {
            impl ::zocket::__private::Request for #ident {
                #reply
                #error
            }
        }
    });
    quote! {
        #validate
        impl ::zocket::__private::Message for #ident {
            const TYPE: &'static str = #wire;
        }
        impl ::zocket::__private::#marker for #ident {}
        #request
    }
}

pub fn enum_name(role: Role) -> syn::Ident {
    match role {
        Role::Incoming => format_ident!("Incoming"),
        _ => format_ident!("Outgoing"),
    }
}

fn message_enum(ns: &Namespace, role: Role) -> TokenStream {
    let name = enum_name(role);
    let direction = if role == Role::Incoming {
        "sent by clients"
    } else {
        "sent by the server"
    };
    let doc = if ns.wire.is_empty() {
        format!("Every message {direction}.")
    } else {
        format!("The messages of `{}` {direction}.", ns.wire)
    };
    let messages: Vec<&Message> = ns.messages(role).collect();
    let children: Vec<&Namespace> = ns.children_with(role).collect();
    let msg_idents: Vec<_> = messages.iter().map(|m| &m.ident).collect();
    let msg_wires: Vec<_> = messages.iter().map(|m| &m.wire).collect();
    let child_variants: Vec<_> = children.iter().map(|c| &c.variant).collect();
    let child_mods: Vec<_> = children.iter().map(|c| &c.ident).collect();
    let child_prefixes: Vec<_> = children.iter().map(|c| format!("{}.", c.wire)).collect();
    // Documented, so a user crate with `#![warn(missing_docs)]` is warned
    // only about its own items.
    let msg_docs: Vec<_> = msg_wires.iter().map(|w| format!("`{w}`")).collect();
    let child_docs: Vec<_> = children
        .iter()
        .map(|c| format!("The messages of `{}`.", c.wire))
        .collect();
    let empty = messages.is_empty() && children.is_empty();
    let (ty_body, any_body) = if empty {
        (quote!(match *self {}), quote!(match *self {}))
    } else {
        (
            quote! {
                match self {
                    #(Self::#msg_idents(_) => <#msg_idents as ::zocket::__private::Message>::TYPE,)*
                    #(Self::#child_variants(m) => m.ty(),)*
                }
            },
            quote! {
                match self {
                    #(Self::#msg_idents(m) => m,)*
                    #(Self::#child_variants(m) => m.__as_any(),)*
                }
            },
        )
    };
    quote! {
        #[doc = #doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone)]
        pub enum #name {
            #(#[doc = #msg_docs] #msg_idents(#msg_idents),)*
            #(#[doc = #child_docs] #child_variants(#child_mods::#name),)*
        }

        impl #name {
            /// The wire type of this message.
            pub fn ty(&self) -> &'static str {
                #ty_body
            }

            #[doc(hidden)]
            pub fn __as_any(&self) -> &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync) {
                #any_body
            }

            #[doc(hidden)]
            pub fn __decode(
                ty: &str,
                payload: &str,
            ) -> ::core::option::Option<::core::result::Result<Self, ::zocket::__private::FrameError>> {
                match ty {
                    #(#msg_wires => ::core::option::Option::Some(
                        ::zocket::__private::decode_payload::<#msg_idents>(ty, payload).map(Self::#msg_idents),
                    ),)*
                    _ => {
                        #(
                            if ty.starts_with(#child_prefixes) {
                                return #child_mods::#name::__decode(ty, payload)
                                    .map(|r| r.map(Self::#child_variants));
                            }
                        )*
                        let _ = payload;
                        ::core::option::Option::None
                    }
                }
            }
        }
    }
}

fn root_items(router: &Router, ns: &Namespace) -> TokenStream {
    let headers = match &router.headers {
        Some(h) => {
            let ident = &h.ident;
            quote!(#ident)
        }
        None => quote!(::zocket::__private::NoHeaders),
    };
    let sets = [Role::Incoming, Role::Outgoing].map(|role| {
        let name = enum_name(role);
        let mut types = Vec::new();
        ns.wire_types(role, &mut types);
        quote! {
            impl ::zocket::__private::MessageSet for #name {
                const TYPES: &'static [&'static str] = &[#(#types),*];
                fn decode(ty: &str, payload: &str) -> ::core::result::Result<Self, ::zocket::__private::FrameError> {
                    Self::__decode(ty, payload).unwrap_or_else(|| {
                        ::core::result::Result::Err(::zocket::__private::FrameError::UnknownType(ty.into()))
                    })
                }
                fn ty(&self) -> &'static str {
                    #name::ty(self)
                }
                fn as_any(&self) -> &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync) {
                    self.__as_any()
                }
            }
        }
    });
    let router_doc = format!(
        "The `{}` router: pass it to `zocket::Zocket` (server) or `zocket::client::Client` (client).",
        ns.ident
    );
    quote! {
        #[doc = #router_doc]
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default)]
        pub struct Router;

        impl ::zocket::__private::Router for Router {
            type Headers = #headers;
            type Incoming = Incoming;
            type Outgoing = Outgoing;
        }

        #(#sets)*
    }
}
