//! Client items: the typed `client.send()` and `client.on()` accessors and
//! the `Client` alias. All behind the facade's `client` feature.

use proc_macro2::TokenStream;
use quote::quote;

use crate::attr::Role;
use crate::model::Namespace;

pub fn namespace(_router: &crate::model::Router, ns: &Namespace) -> TokenStream {
    let root = ns.to_root();
    let is_root = ns.path.is_empty();
    let send = (is_root || ns.has(Role::Incoming)).then(|| send_accessor(ns, &root));
    let on = (is_root || ns.has(Role::Outgoing)).then(|| on_accessor(ns, &root));
    let call = (is_root || ns.has(Role::Incoming)).then(|| call_accessor(ns, &root));
    let answer = (is_root || ns.has_answerable()).then(|| answer_accessor(ns, &root));
    let root_items = is_root.then(|| {
        quote! {
            /// A typed client of this router.
            pub type Client = ::zocket::__private::client::Client<Router>;

            impl ::zocket::__private::client::ClientRouter for Router {
                type Send<'a> = __ClientSend<'a>;
                type On<'a> = __ClientOn<'a>;
                type Call<'a> = __ClientCall<'a>;
                type Answer<'a> = __ClientAnswer<'a>;
            }

            impl<'a> ::core::convert::From<&'a ::zocket::__private::client::Core<Router>> for __ClientCall<'a> {
                fn from(core: &'a ::zocket::__private::client::Core<Router>) -> Self {
                    __ClientCall(core)
                }
            }

            impl<'a> ::core::convert::From<&'a ::zocket::__private::client::Core<Router>> for __ClientAnswer<'a> {
                fn from(core: &'a ::zocket::__private::client::Core<Router>) -> Self {
                    __ClientAnswer(core)
                }
            }

            impl<'a> ::core::convert::From<&'a ::zocket::__private::client::Core<Router>> for __ClientSend<'a> {
                fn from(core: &'a ::zocket::__private::client::Core<Router>) -> Self {
                    __ClientSend(core)
                }
            }

            impl<'a> ::core::convert::From<&'a ::zocket::__private::client::Core<Router>> for __ClientOn<'a> {
                fn from(core: &'a ::zocket::__private::client::Core<Router>) -> Self {
                    __ClientOn(core)
                }
            }
        }
    });
    quote! {
        ::zocket::__cfg_client! {
            #send
            #on
            #call
            #answer
            #root_items
        }
    }
}

fn send_accessor(ns: &Namespace, root: &TokenStream) -> TokenStream {
    let methods = ns.messages(Role::Incoming).map(|m| {
        let method = &m.method;
        let ident = &m.ident;
        let doc = format!(
            "Sends `{}` (queued while offline; an error if the queue is full).",
            m.wire
        );
        quote! {
            #[doc = #doc]
            pub fn #method(&self, message: #ident) -> ::core::result::Result<(), ::zocket::__private::client::SendError> {
                self.0.send(&message)
            }
        }
    });
    accessor(
        root,
        "__ClientSend",
        methods,
        ns.children_with(Role::Incoming),
    )
}

fn on_accessor(ns: &Namespace, root: &TokenStream) -> TokenStream {
    let methods = ns.messages(Role::Outgoing).map(|m| {
        let method = &m.method;
        let ident = &m.ident;
        let doc = format!(
            "Listens for `{}`. The listener stays until its subscription is unsubscribed or the client goes.",
            m.wire
        );
        quote! {
            #[doc = #doc]
            pub fn #method<F>(&self, listener: F) -> ::zocket::__private::client::Subscription
            where
                F: ::core::ops::Fn(&#ident) + ::core::marker::Send + ::core::marker::Sync + 'static,
            {
                self.0.on::<#ident, F>(listener)
            }
        }
    });
    accessor(
        root,
        "__ClientOn",
        methods,
        ns.children_with(Role::Outgoing),
    )
}

fn call_accessor(ns: &Namespace, root: &TokenStream) -> TokenStream {
    let methods = ns.messages(Role::Incoming).map(|m| {
        let method = &m.method;
        let ident = &m.ident;
        let doc = format!(
            "Sends `{}` as a request; await the result for the handler's reply (queued while offline, failing at the timeout or when the connection drops).",
            m.wire
        );
        quote! {
            #[doc = #doc]
            pub fn #method(&self, message: #ident) -> ::zocket::__private::client::Call<#ident> {
                self.0.call(&message)
            }
        }
    });
    accessor(
        root,
        "__ClientCall",
        methods,
        ns.children_with(Role::Incoming),
    )
}

fn answer_accessor(ns: &Namespace, root: &TokenStream) -> TokenStream {
    let methods = ns
        .messages(Role::Outgoing)
        .filter(|m| m.is_request())
        .map(|m| {
            let method = &m.method;
            let ident = &m.ident;
            let output = crate::gen::server::handler_output(m);
            let doc = format!(
                "Answers the server's `{}` requests with what `answerer` returns. The answerer stays until its subscription is unsubscribed or the client goes.",
                m.wire
            );
            let outcome = if m.error.is_some() {
                quote!(fut.await)
            } else {
                quote!(::core::result::Result::Ok(fut.await))
            };
            quote! {
                #[doc = #doc]
                pub fn #method<F, Fut>(&self, answerer: F) -> ::zocket::__private::client::Subscription
                where
                    F: ::core::ops::Fn(#ident) -> Fut + ::core::marker::Send + ::core::marker::Sync + 'static,
                    Fut: ::core::future::Future<Output = #output> + ::core::marker::Send + 'static,
                {
                    self.0.answer::<#ident, _, _>(move |message| {
                        let fut = answerer(message);
                        async move { #outcome }
                    })
                }
            }
        });
    accessor(
        root,
        "__ClientAnswer",
        methods,
        ns.children.iter().filter(|c| c.has_answerable()),
    )
}

/// One accessor level of the client (`send()`, `on()`, `call()`,
/// `answer()`): a borrowed `Core` with a method per message of this
/// namespace and one per child namespace that has any.
fn accessor<'n>(
    root: &TokenStream,
    name: &str,
    methods: impl Iterator<Item = TokenStream>,
    children: impl Iterator<Item = &'n Namespace>,
) -> TokenStream {
    let name = quote::format_ident!("{name}");
    let children = children.map(|c| {
        let module = &c.ident;
        quote! {
            pub fn #module(&self) -> #module::#name<'a> {
                #module::#name(self.0)
            }
        }
    });
    quote! {
        #[doc(hidden)]
        #[derive(::core::clone::Clone, ::core::marker::Copy)]
        pub struct #name<'a>(pub &'a ::zocket::__private::client::Core<#root::Router>);

        impl<'a> #name<'a> {
            #(#methods)*
            #(#children)*
        }
    }
}
