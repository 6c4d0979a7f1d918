//! The router as the generators see it: namespaces, messages, fields, with
//! wire names already worked out.

use syn::{Expr, Ident, LitStr, Path, Type};

use crate::attr::Role;

pub struct Router {
    pub headers: Option<Headers>,
    pub root: Namespace,
}

pub struct Headers {
    pub ident: Ident,
}

pub struct Namespace {
    /// Module idents from the router's root (empty for the root).
    pub path: Vec<Ident>,
    /// The module ident (the router module's for the root).
    pub ident: Ident,
    /// Variant name in the parent's message enums.
    pub variant: Ident,
    /// The wire prefix of this namespace's messages (`rooms`, `admin.users`;
    /// empty for the root).
    pub wire: String,
    pub messages: Vec<Message>,
    pub children: Vec<Namespace>,
}

pub struct Message {
    pub role: Role,
    pub ident: Ident,
    /// Full wire type, e.g. `rooms.onJoin`.
    pub wire: String,
    /// Handler / accessor method name, e.g. `on_join`.
    pub method: Ident,
    pub fields: Vec<Field>,
    pub validate: Option<Path>,
    /// `reply = Type`: what a request of this message answers.
    pub reply: Option<Type>,
    /// `error = Type`: the handler's typed failure.
    pub error: Option<Type>,
    /// `rate = "..", burst = ..`: the per-connection limit of an incoming
    /// message.
    pub rate: Option<crate::rate::Rate>,
    pub derives: UserDerives,
}

impl Message {
    /// Whether it can be sent as a request: every incoming message can (an
    /// ack without a reply type); an outgoing one when it declares what
    /// answers it.
    pub fn is_request(&self) -> bool {
        match self.role {
            Role::Incoming => true,
            Role::Outgoing => self.reply.is_some() || self.error.is_some(),
            Role::Headers => false,
        }
    }
}

pub struct Field {
    pub ident: Ident,
    pub ty: Type,
    /// The name on the wire, used in validation error paths.
    pub wire: String,
    /// `#[zocket(rename = "..")]`, which the wire name already reflects.
    pub rename: Option<LitStr>,
    /// `Some(None)` for `#[zocket(default)]`, `Some(Some(expr))` for a value.
    pub default: Option<Option<Expr>>,
    /// Whether the receiver may go without the key (TypeScript `key?:`).
    pub optional: bool,
    pub validate: Option<Path>,
}

/// Derives the user wrote on a message struct, so that zocket adds only the
/// others.
#[derive(Clone, Copy, Default)]
pub struct UserDerives {
    pub debug: bool,
    pub clone: bool,
    /// A serde derive is an error (reported while parsing); not doubled.
    pub serialize: bool,
    pub deserialize: bool,
}

impl Namespace {
    pub fn messages(&self, role: Role) -> impl Iterator<Item = &Message> {
        self.messages.iter().filter(move |m| m.role == role)
    }

    /// Whether this namespace or one below it declares a message of `role`.
    pub fn has(&self, role: Role) -> bool {
        self.messages(role).next().is_some() || self.children.iter().any(|c| c.has(role))
    }

    /// Whether this namespace or one below it declares an outgoing message
    /// that clients answer.
    pub fn has_answerable(&self) -> bool {
        self.messages(Role::Outgoing).any(Message::is_request)
            || self.children.iter().any(Namespace::has_answerable)
    }

    /// Children that declare messages of `role`.
    pub fn children_with(&self, role: Role) -> impl Iterator<Item = &Namespace> {
        self.children.iter().filter(move |c| c.has(role))
    }

    /// Every wire type of `role` in this subtree.
    pub fn wire_types(&self, role: Role, out: &mut Vec<String>) {
        out.extend(self.messages(role).map(|m| m.wire.clone()));
        for c in &self.children {
            c.wire_types(role, out);
        }
    }

    /// Every namespace of this subtree, this one first.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a Namespace>) {
        out.push(self);
        for c in &self.children {
            c.walk(out);
        }
    }

    /// `super::super` from this namespace's module to the router's root.
    pub fn to_root(&self) -> proc_macro2::TokenStream {
        if self.path.is_empty() {
            quote::quote!(self)
        } else {
            let supers = self.path.iter().map(|_| quote::quote!(super));
            quote::quote!(#(#supers)::*)
        }
    }

    /// The path of this namespace's module from the root, e.g. `rooms::sub`.
    pub fn module_path(&self) -> proc_macro2::TokenStream {
        let path = &self.path;
        if path.is_empty() {
            quote::quote!(self)
        } else {
            quote::quote!(#(#path)::*)
        }
    }
}
