//! Server items: the `Server` trait at the root, a `Handlers` trait per
//! namespace with incoming messages, the dispatch glue, and the typed
//! `ctx.send()` accessors. All behind the facade's `server` feature.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::attr::Role;
use crate::model::{Message, Namespace, Router};

pub fn namespace(router: &Router, ns: &Namespace) -> TokenStream {
    let root = ns.to_root();
    let handlers =
        (!ns.path.is_empty() && ns.has(Role::Incoming)).then(|| handlers_trait(ns, &root));
    let send = (ns.path.is_empty() || ns.has(Role::Outgoing)).then(|| send_accessor(ns));
    let root_items = ns.path.is_empty().then(|| root_items(router, ns));
    quote! {
        ::zocket::__cfg_server! {
            #handlers
            #send
            #root_items
        }
    }
}

fn ctx_of(root: &TokenStream, s: TokenStream) -> TokenStream {
    quote!(#root::Ctx<<#s as #root::Server>::Context>)
}

fn handlers_trait(ns: &Namespace, root: &TokenStream) -> TokenStream {
    let ctx_self = ctx_of(root, quote!(Self));
    let ctx_s = ctx_of(root, quote!(S));
    let incoming: Vec<_> = ns.messages(Role::Incoming).collect();
    let methods = incoming.iter().map(|m| {
        let method = &m.method;
        let ident = &m.ident;
        let doc = match (&m.reply, &m.error) {
            (None, None) => format!(
                "Handles `{}`. A request of it is answered `null` once this returns.",
                m.wire
            ),
            _ => format!(
                "Handles `{}`. What it returns answers a request of it.",
                m.wire
            ),
        };
        let output = handler_output(m);
        // Spanned at the message, so "missing `leave`" points at `Leave`.
        quote_spanned! {m.ident.span()=>
            #[doc = #doc]
            fn #method(
                &self,
                cx: &#ctx_self,
                message: #ident,
            ) -> impl ::core::future::Future<Output = #output> + ::core::marker::Send;
        }
    });
    let arms = incoming.iter().map(|m| {
        let method = &m.method;
        let ident = &m.ident;
        let outcome = if m.error.is_some() {
            quote!(out)
        } else {
            quote!(::core::result::Result::Ok(out))
        };
        quote! {
            Incoming::#ident(message) => {
                let out = <S as Handlers>::#method(app, cx, message).await;
                ::zocket::__private::server::answer::<#ident, _, _>(cx, #outcome);
                ::core::result::Result::Ok(())
            }
        }
    });
    let child_arms = ns.children_with(Role::Incoming).map(|c| {
        let variant = &c.variant;
        let module = &c.ident;
        quote!(Incoming::#variant(message) => #module::__dispatch(app, cx, message).await,)
    });
    let doc = if ns.path.is_empty() {
        "Handlers for the router's top-level incoming messages.".to_owned()
    } else {
        format!(
            "Handlers for the `{}` namespace: one async method per incoming message, plus optional middleware (`before`) for the whole namespace.",
            ns.wire
        )
    };
    let ns_name = &ns.wire;
    let unimplemented = format!("`{{Self}}` does not handle the `{ns_name}` namespace");
    let note = format!(
        "add `impl {}::Handlers for {{Self}}` with one async method per incoming message of `{ns_name}`",
        ns.path.iter().map(crate::case::unraw).collect::<Vec<_>>().join("::")
    );
    quote! {
        #[doc = #doc]
        #[diagnostic::on_unimplemented(message = #unimplemented, note = #note)]
        pub trait Handlers: #root::Server {
            /// Middleware for every message of this namespace (and the ones
            /// nested in it), run after the parent's. Refusing sends the
            /// client a `refused` error frame; the handler does not run.
            fn before(
                &self,
                _cx: &#ctx_self,
                _message: &Incoming,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), ::zocket::__private::server::Refusal>,
            > + ::core::marker::Send {
                async { ::core::result::Result::Ok(()) }
            }

            #(#methods)*
        }

        #[doc(hidden)]
        pub async fn __dispatch<S: #root::Service>(
            app: &S,
            cx: &#ctx_s,
            message: Incoming,
        ) -> ::core::result::Result<(), ::zocket::__private::server::Refusal> {
            <S as Handlers>::before(app, cx, &message).await?;
            match message {
                #(#arms)*
                #(#child_arms)*
            }
        }
    }
}

/// What a handler returns: the declared reply, in a `Result` when an error
/// type is declared.
pub fn handler_output(m: &Message) -> TokenStream {
    match (&m.reply, &m.error) {
        (None, None) => quote!(()),
        (Some(reply), None) => quote!(#reply),
        (None, Some(error)) => quote!(::core::result::Result<(), #error>),
        (Some(reply), Some(error)) => quote!(::core::result::Result<#reply, #error>),
    }
}

fn send_accessor(ns: &Namespace) -> TokenStream {
    let methods = ns.messages(Role::Outgoing).map(|m| {
        let method = &m.method;
        let ident = &m.ident;
        let doc = if m.is_request() {
            format!("Sends `{}`; choose the recipients next, or ask clients for their replies with `.request(id)` / `.request_room(..)`.", m.wire)
        } else {
            format!("Sends `{}`; choose the recipients next.", m.wire)
        };
        quote! {
            #[doc = #doc]
            pub fn #method(&self, message: #ident) -> ::zocket::__private::server::Outbound<'a, #ident> {
                self.0.message(message)
            }
        }
    });
    let children = ns.children_with(Role::Outgoing).map(|c| {
        let module = &c.ident;
        quote! {
            pub fn #module(&self) -> #module::__Send<'a> {
                #module::__Send(self.0)
            }
        }
    });
    quote! {
        #[doc(hidden)]
        #[derive(::core::clone::Clone, ::core::marker::Copy)]
        pub struct __Send<'a>(pub ::zocket::__private::server::Sender<'a>);

        impl<'a> __Send<'a> {
            #(#methods)*
            #(#children)*
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
    let mut all = Vec::new();
    ns.walk(&mut all);
    let handler_traits: Vec<TokenStream> = all
        .iter()
        .filter(|n| !n.path.is_empty() && n.has(Role::Incoming))
        .map(|n| {
            let path = n.module_path();
            quote!(#path::Handlers)
        })
        .collect();
    // The note names every trait, since the compiler's own help says only
    // "`Handlers` is not implemented" without the namespace.
    let router_name = crate::case::unraw(&ns.ident);
    let required: Vec<String> = std::iter::once(format!("`{router_name}::Server`"))
        .chain(
            all.iter()
                .filter(|n| !n.path.is_empty() && n.has(Role::Incoming))
                .map(|n| {
                    let path: Vec<String> = n.path.iter().map(crate::case::unraw).collect();
                    format!("`{router_name}::{}::Handlers`", path.join("::"))
                }),
        )
        .collect();
    let service_note = format!(
        "a server of `{router_name}` implements each of {}",
        required.join(", ")
    );
    let child_arms = ns.children_with(Role::Incoming).map(|c| {
        let variant = &c.variant;
        let module = &c.ident;
        quote!(Incoming::#variant(message) => #module::__dispatch(app, cx, message).await,)
    });
    let dispatch_body = quote!(match message { #(#child_arms)* });
    let type_rates = crate::rate::table(ns);
    quote! {
        /// What the application implements: connection lifecycle and
        /// middleware for every message. The handlers live in each
        /// namespace's `Handlers` trait.
        pub trait Server: ::core::marker::Send + ::core::marker::Sync + ::core::marker::Sized + 'static {
            /// Per-connection state, returned by `on_connect`; handlers see
            /// it through `cx` (`Ctx` dereferences to it).
            type Context: ::core::marker::Send + ::core::marker::Sync + 'static;

            /// Runs before the upgrade. Returning a `Reject` answers HTTP
            /// 401/403 and the connection never exists.
            fn on_connect(
                &self,
                headers: #headers,
                client_id: &::zocket::__private::ClientId,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<Self::Context, ::zocket::__private::server::Reject>,
            > + ::core::marker::Send;

            /// Runs once the connection has ended, while it is still in its
            /// rooms; it can send. Afterwards it leaves every room. With
            /// `Config::resume`, once the session has ended: a clean close,
            /// or a drop not resumed within the window.
            fn on_disconnect(
                &self,
                _cx: &Ctx<Self::Context>,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                async {}
            }

            /// With `Config::resume`: the connection dropped and the
            /// session (id, context, rooms) waits for its client to resume.
            fn on_suspend(
                &self,
                _cx: &Ctx<Self::Context>,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                async {}
            }

            /// With `Config::resume`: the client resumed its suspended
            /// session on a new connection.
            fn on_resume(
                &self,
                _cx: &Ctx<Self::Context>,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                async {}
            }

            /// Middleware for every incoming message, run first.
            fn before(
                &self,
                _cx: &Ctx<Self::Context>,
                _message: &Incoming,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), ::zocket::__private::server::Refusal>,
            > + ::core::marker::Send {
                async { ::core::result::Result::Ok(()) }
            }
        }

        /// A handler's view of its connection.
        pub type Ctx<C> = ::zocket::__private::server::Ctx<Router, C>;

        /// Implemented for every type that implements `Server` and every
        /// namespace's `Handlers`: what a server needs.
        #[diagnostic::on_unimplemented(
            message = "`{Self}` is not a complete server for this router",
            note = #service_note
        )]
        pub trait Service: Server #(+ #handler_traits)* {}
        impl<S: Server #(+ #handler_traits)*> Service for S {}

        impl ::zocket::__private::server::ServerRouter for Router {
            type Send<'a> = __Send<'a>;
        }

        impl<'a> ::core::convert::From<::zocket::__private::server::Sender<'a>> for __Send<'a> {
            fn from(sender: ::zocket::__private::server::Sender<'a>) -> Self {
                __Send(sender)
            }
        }

        impl<S: Service> ::zocket::__private::server::Dispatch<S> for Router {
            type Context = <S as Server>::Context;
            #type_rates

            fn on_connect(
                app: &S,
                headers: #headers,
                client_id: &::zocket::__private::ClientId,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<Self::Context, ::zocket::__private::server::Reject>,
            > + ::core::marker::Send {
                <S as Server>::on_connect(app, headers, client_id)
            }

            fn on_disconnect(
                app: &S,
                cx: &Ctx<Self::Context>,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                <S as Server>::on_disconnect(app, cx)
            }

            fn on_suspend(
                app: &S,
                cx: &Ctx<Self::Context>,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                <S as Server>::on_suspend(app, cx)
            }

            fn on_resume(
                app: &S,
                cx: &Ctx<Self::Context>,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send {
                <S as Server>::on_resume(app, cx)
            }

            async fn dispatch(
                app: &S,
                cx: &Ctx<Self::Context>,
                message: Incoming,
            ) -> ::core::result::Result<(), ::zocket::__private::server::Refusal> {
                <S as Server>::before(app, cx, &message).await?;
                #dispatch_body
            }
        }

        impl Router {
            /// A server running this router on `app`.
            pub fn server<S: Service>(app: S) -> ::zocket::__private::server::Zocket<Router, S> {
                ::zocket::__private::server::Zocket::new(app)
            }
        }
    }
}
