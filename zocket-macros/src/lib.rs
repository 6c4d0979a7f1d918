//! The `#[zocket::router]` attribute macro. Use it through the `zocket`
//! crate; its documentation describes the DSL.
//!
//! The macro reads the module into a small model (`parse`, `model`),
//! checks it as a whole (`check`), reporting every mistake at once under
//! the offending token, then generates code from the model (`gen`).

mod attr;
mod case;
mod check;
mod ctxt;
mod data;
mod gen;
mod model;
mod parse;
mod rate;

use proc_macro::TokenStream;
use syn::parse_macro_input;

/// Turns a module of message structs into a typed zocket router. See the
/// `zocket` crate's documentation.
#[proc_macro_attribute]
pub fn router(args: TokenStream, input: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let mut module = parse_macro_input!(input as syn::ItemMod);
    let cx = ctxt::Ctxt::default();
    if !args.is_empty() {
        cx.error(&args, "#[zocket::router] takes no arguments");
    }
    let router = parse::parse(&cx, &mut module);
    check::check(&cx, &router);
    match cx.check() {
        Ok(()) => gen::expand(&router, module).into(),
        // The module itself (its zocket attributes taken off) still goes
        // out, so that code naming its structs does not add "unresolved
        // module" errors to the ones that matter.
        Err(e) => {
            let errors = e.to_compile_error();
            quote::quote!(#errors #module).into()
        }
    }
}

/// Gives a type used inside messages (a nested struct, an enum) what router
/// structs get: serde's derives through zocket's re-export (no serde
/// dependency needed), `Debug`, `Clone`, `TS`, and camelCase names on the
/// wire. See the `zocket` crate's documentation.
#[proc_macro_attribute]
pub fn data(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = parse_macro_input!(input as syn::Item);
    data::expand(args.into(), item).into()
}

macro_rules! outside_router {
    ($name:ident) => {
        #[doc = concat!("Marks a struct inside a `#[zocket::router]` module. Alone it is an error: `#[", stringify!($name), "]` only means something inside a router.")]
        #[proc_macro_attribute]
        pub fn $name(_args: TokenStream, input: TokenStream) -> TokenStream {
            let input = proc_macro2::TokenStream::from(input);
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                concat!(
                    "`#[",
                    stringify!($name),
                    "]` only works on a struct inside a `#[zocket::router]` module"
                ),
            )
            .to_compile_error();
            quote::quote!(#error #input).into()
        }
    };
}

outside_router!(incoming);
outside_router!(outgoing);
outside_router!(headers);

/// Stands in for `ts_rs::TS` when zocket's `typescript` feature is off: the
/// router macro derives `TS` on every message struct either way, so
/// `#[ts(..)]` attributes are accepted (and ignored) without the feature.
#[doc(hidden)]
#[proc_macro_derive(TS, attributes(ts))]
pub fn no_typescript(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
