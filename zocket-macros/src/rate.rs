//! `#[incoming(rate = "5/s", burst = 10)]`: reading a per-message-type rate
//! limit into the model, and the table the generated code hands the runtime.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{LitInt, LitStr};

use crate::attr::Role;
use crate::ctxt::Ctxt;
use crate::model::Namespace;

/// A checked rate: `count` messages per `per_secs` seconds, at most `burst`
/// at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per_secs: u32,
    pub burst: u32,
}

/// Checks `rate` and `burst` as written on a message of `role`; every
/// mistake is reported, under the token that makes it.
pub fn rate(cx: &Ctxt, role: Role, rate: Option<&LitStr>, burst: Option<&LitInt>) -> Option<Rate> {
    if role != Role::Incoming {
        let span = rate.map(LitStr::span).or_else(|| burst.map(LitInt::span));
        if let Some(span) = span {
            cx.syn_error(syn::Error::new(
                span,
                "a rate limit goes on an `#[incoming]` message: the server limits what clients send, not what it sends",
            ));
        }
        return None;
    }
    let Some(rate) = rate else {
        if let Some(burst) = burst {
            cx.error(
                burst,
                "`burst` needs a `rate` (e.g. `rate = \"5/s\", burst = 10`)",
            );
        }
        return None;
    };
    let parsed = match parse_rate(&rate.value()) {
        Ok(parsed) => Some(parsed),
        Err(why) => {
            cx.error(rate, why);
            None
        }
    };
    let burst = match burst.map(LitInt::base10_parse::<u32>) {
        None => parsed.map(|(count, _)| count),
        Some(Ok(0)) => {
            cx.error(
                burst,
                "`burst` is at least 1: a burst of 0 would refuse every message",
            );
            None
        }
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            cx.error(burst, "`burst` is a whole number from 1 to 4294967295");
            None
        }
    };
    let ((count, per_secs), burst) = (parsed?, burst?);
    Some(Rate {
        count,
        per_secs,
        burst,
    })
}

/// `"5/s"` → `(5, 1)`, `"30/m"` → `(30, 60)`, `"100/h"` → `(100, 3600)`.
fn parse_rate(text: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!("`{text}` is not a rate; write messages per second, minute or hour: `\"5/s\"`, `\"30/m\"`, `\"100/h\"`")
    };
    let (count, unit) = text.split_once('/').ok_or_else(bad)?;
    let per_secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(bad()),
    };
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    if count == 0 {
        return Err(format!(
            "a rate of `{text}` would refuse every message; leave `rate` out for no limit"
        ));
    }
    Ok((count, per_secs))
}

/// The router's per-type limits, one entry per incoming wire type in the
/// order of `Incoming::TYPES` (so the runtime indexes its buckets by the
/// type's position); `None` when no message declares a rate, so routers
/// without limits carry no table at all.
pub fn table(root: &Namespace) -> Option<TokenStream> {
    let mut rates = Vec::new();
    collect(root, &mut rates);
    if rates.iter().all(Option::is_none) {
        return None;
    }
    let entries = rates.iter().map(|rate| match rate {
        None => quote!(::core::option::Option::None),
        Some(Rate {
            count,
            per_secs,
            burst,
        }) => quote! {
            ::core::option::Option::Some(::zocket::__private::server::TypeRate {
                count: #count,
                per_secs: #per_secs,
                burst: #burst,
            })
        },
    });
    Some(quote! {
        const TYPE_RATES: &'static [::core::option::Option<::zocket::__private::server::TypeRate>] =
            &[#(#entries),*];
    })
}

/// Same walk as [`Namespace::wire_types`], so the orders match.
fn collect(ns: &Namespace, out: &mut Vec<Option<Rate>>) {
    out.extend(ns.messages(Role::Incoming).map(|m| m.rate));
    for c in &ns.children {
        collect(c, out);
    }
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("5/s"), Ok((5, 1)));
        assert_eq!(parse_rate("30/m"), Ok((30, 60)));
        assert_eq!(parse_rate("100/h"), Ok((100, 3600)));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("5").is_err());
        assert!(parse_rate("5/d").is_err());
        assert!(parse_rate("-5/s").is_err());
        assert!(parse_rate("five/s").is_err());
    }
}
