//! Writes a router as a TypeScript module for zocket's TypeScript client
//! (`clients/ts`). The `#[zocket::router]` macro generates
//! `Router::typescript(name)`, which drives a [`Writer`]; payload types come
//! from [ts-rs](https://docs.rs/ts-rs), whose `TS` derive the macro puts on
//! every router struct.
//!
//! The output, for the chat example:
//!
//! ```ts
//! export type Headers = { "user-name"?: string, };
//! export type RoomsJoin = { roomId: string, };
//! // …
//! export type ChatRouter = {
//!   headers: Headers;
//!   incoming: {
//!     rooms: {
//!       join: { $payload: RoomsJoin };
//!     };
//!   };
//!   outgoing: { /* … */ };
//! };
//! ```
//!
//! Field types follow ts-rs: numbers (64-bit ones too, as JSON carries
//! them) are `number`, `zocket::Timestamp` is `string`, `Vec<T>` is `T[]`,
//! an `Option<T>` the client may leave out is `key?: T | null`. A field of
//! your own type needs `#[derive(zocket::ts_rs::TS)]` with
//! `#[ts(crate = "zocket::ts_rs")]`, or `#[ts(type = "..")]` on the field.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt::Write as _;

use ts_rs::{Config, TypeVisitor, TS};

/// Lays out one router file. Not public API: called by generated code.
#[doc(hidden)]
pub struct Writer {
    name: String,
    router: &'static str,
    cfg: Config,
    headers: String,
    /// Exported declarations, in order: headers, payloads, then the types
    /// payloads refer to.
    decls: Vec<String>,
    /// Exported names and what declared them (for clashes).
    names: HashMap<String, String>,
    /// Types declared under their own (ts-rs) name, as dependencies.
    seen: Vec<TypeId>,
    /// Message types and the router's name for each (`RoomsOnMembers`), so
    /// that a reply that is a message refers to it rather than to a copy.
    messages: HashMap<TypeId, String>,
    tree: String,
    depth: usize,
}

impl Writer {
    pub fn new(name: &str, router: &'static str) -> Self {
        let mut w = Writer {
            name: name.to_owned(),
            router,
            cfg: Config::new().with_large_int("number"),
            headers: "{}".to_owned(),
            decls: Vec::new(),
            names: HashMap::new(),
            seen: Vec::new(),
            messages: HashMap::new(),
            tree: String::new(),
            depth: 1,
        };
        w.claim(name, "the router type");
        w
    }

    pub fn headers<H: TS + 'static>(&mut self, name: &str) {
        self.declare::<H>(name);
        self.headers = name.to_owned();
    }

    pub fn no_headers(&mut self) {
        self.headers = "{}".to_owned();
    }

    /// Opens `incoming`, `outgoing` or a namespace.
    pub fn begin(&mut self, key: &str) {
        self.line(&format!("{}: {{", ts_key(key)));
        self.depth += 1;
    }

    pub fn end(&mut self) {
        self.depth -= 1;
        self.line("};");
    }

    /// A message: `key: { $payload: TypeName };`, and `TypeName`'s
    /// declaration.
    pub fn message<M: TS + 'static>(&mut self, key: &str, type_name: &str) {
        self.declare::<M>(type_name);
        self.line(&format!("{}: {{ $payload: {type_name} }};", ts_key(key)));
    }

    /// A message declared with a reply or an error type:
    /// `key: { $payload: TypeName; $reply: R; $error: E };` (`$reply: null`
    /// for no reply type, no `$error` for no error type).
    pub fn request<M: TS + 'static, R: TS + 'static, E: TS + 'static>(
        &mut self,
        key: &str,
        type_name: &str,
        has_reply: bool,
        has_error: bool,
    ) {
        self.declare::<M>(type_name);
        let reply = if has_reply {
            self.refer::<R>()
        } else {
            "null".to_owned()
        };
        let error = if has_error {
            format!(" $error: {};", self.refer::<E>())
        } else {
            String::new()
        };
        self.line(&format!(
            "{}: {{ $payload: {type_name}; $reply: {reply};{error} }};",
            ts_key(key)
        ));
    }

    pub fn finish(self) -> String {
        let mut out = format!(
            "// The `{}` zocket router, for zocket's TypeScript client (clients/ts).\n\
             // Generated from the Rust definitions by `{}::Router::typescript`: do not edit.\n",
            self.router, self.router
        );
        for decl in &self.decls {
            out.push('\n');
            out.push_str(decl);
            out.push('\n');
        }
        let _ = write!(
            out,
            "\nexport type {} = {{\n  headers: {};\n{}}};\n",
            self.name, self.headers, self.tree
        );
        out
    }

    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.tree.push_str("  ");
        }
        self.tree.push_str(text);
        self.tree.push('\n');
    }

    fn claim(&mut self, name: &str, what: &str) {
        if let Some(first) = self.names.insert(name.to_owned(), what.to_owned()) {
            panic!(
                "TypeScript for the `{}` router: `{name}` names both {first} and {what}; \
                 rename one (`#[ts(rename = \"..\")]` on a type of your own)",
                self.router
            );
        }
    }

    /// `export type Name = <T inlined>;`, then the types it refers to.
    fn declare<T: TS + 'static>(&mut self, name: &str) {
        self.claim(name, &format!("`{}`", std::any::type_name::<T>()));
        self.messages.insert(TypeId::of::<T>(), name.to_owned());
        // Already declared under its own name (a reply referred to it
        // first): one shape, two names.
        if self.seen.contains(&TypeId::of::<T::WithoutGenerics>()) {
            let mut decl = T::docs().unwrap_or_default();
            let _ = write!(decl, "export type {name} = {};", T::ident(&self.cfg));
            self.decls.push(decl);
            return;
        }
        let mut decl = T::docs().unwrap_or_default();
        let _ = write!(
            decl,
            "export type {name} = {};",
            pretty(&T::inline(&self.cfg))
        );
        self.decls.push(decl);
        self.dependencies::<T>();
    }

    fn dependencies<T: TS + 'static + ?Sized>(&mut self) {
        struct Visit<'a>(&'a mut Writer);
        impl TypeVisitor for Visit<'_> {
            fn visit<U: TS + 'static + ?Sized>(&mut self) {
                self.0.dependency::<U>();
            }
        }
        T::visit_dependencies(&mut Visit(self));
    }

    /// Declares a type a payload (or a reply) refers to, once, then the
    /// types it refers to.
    fn dependency<U: TS + 'static + ?Sized>(&mut self) {
        // Primitives and the like have no declaration of their own.
        if U::output_path().is_none() {
            return;
        }
        let id = TypeId::of::<U::WithoutGenerics>();
        if self.seen.contains(&id) {
            return;
        }
        self.seen.push(id);
        let name = U::ident(&self.cfg);
        self.claim(&name, &format!("`{}`", std::any::type_name::<U>()));
        let mut decl = U::docs().unwrap_or_default();
        let full = U::WithoutGenerics::decl(&self.cfg);
        match full.split_once(" = ") {
            Some((head, body)) => {
                let body = body.trim().strip_suffix(';').unwrap_or(body);
                let _ = write!(decl, "export {head} = {};", pretty(body));
            }
            None => {
                let _ = write!(decl, "export {full}");
            }
        }
        self.decls.push(decl);
        self.dependencies::<U::WithoutGenerics>();
    }

    /// The TypeScript name of a reply or error type, declared if it is a
    /// named type.
    fn refer<T: TS + 'static>(&mut self) -> String {
        if let Some(name) = self.messages.get(&TypeId::of::<T>()) {
            return name.clone();
        }
        self.dependency::<T>();
        self.dependencies::<T>();
        T::name(&self.cfg)
    }
}

/// A key as TypeScript wants it: bare when it is an identifier.
fn ts_key(key: &str) -> String {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// Lays out an object type one member a line when it is long or has
/// documented members (ts-rs writes it on one line); anything else is
/// returned as it is.
fn pretty(ty: &str) -> String {
    let ty = ty.trim();
    let Some(members) = object_members(ty) else {
        return ty.to_owned();
    };
    if members.is_empty() {
        return "{}".to_owned();
    }
    let one_line = format!("{{ {} }}", members.join(", "));
    if one_line.len() <= 72 && !one_line.contains('\n') {
        return one_line;
    }
    let mut out = String::from("{\n");
    for member in members {
        for line in member.lines().map(str::trim).filter(|l| !l.is_empty()) {
            out.push_str(if line.starts_with('*') { "   " } else { "  " });
            out.push_str(line);
            out.push('\n');
        }
        // The last line is the member itself.
        out.pop();
        out.push_str(";\n");
    }
    out.push('}');
    out
}

/// The members of `{ a: T, b: U, }` (split at the commas of the top level,
/// outside strings and comments), or `None` when `ty` is not one object.
fn object_members(ty: &str) -> Option<Vec<String>> {
    let inner = ty.strip_prefix('{')?.strip_suffix('}')?;
    let mut members = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                current.push(c);
                while let Some(d) = chars.next() {
                    current.push(d);
                    if d == '\\' {
                        current.extend(chars.next());
                    } else if d == c {
                        break;
                    }
                }
                continue;
            }
            '/' if chars.peek() == Some(&'*') => {
                current.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    current.push(d);
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                continue;
            }
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => {
                depth -= 1;
                // `{ a: T } | { b: U }`: the first brace closes early.
                if depth < 0 {
                    return None;
                }
            }
            '<' => depth += 1,
            '>' if !current.ends_with('=') => depth -= 1,
            ',' if depth == 0 => {
                members.push(std::mem::take(&mut current).trim().to_owned());
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if depth != 0 {
        return None;
    }
    members.push(current.trim().to_owned());
    members.retain(|m| !m.is_empty());
    Some(members)
}
